//! Where the Atari ROMs come from (README "Atari"): the 108 ROMs bundled in the ale-py
//! 0.12.1 wheel (`ale_py/roms/*.bin`), which `build.rs` fetches from PyPI and extracts into
//! `target/ale-py-0.12.1/roms/` with the wheel's `md5.json` checked, or a directory of the
//! user's own named by `ACKTR_ATARI_ROMS` (read at run time). Either way a ROM is used only
//! if its md5 is the one of the ale-py 0.12.1 wheel (`assets/atari/ale-py-0.12.1-md5.json`):
//! ALE's `loadROM` ends the process on a bad file, so it is never handed one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use md5::{Digest, Md5};

/// The wheel's `md5.json`, `<rom>.bin` -> md5.
const MD5_JSON: &str = include_str!("../../../assets/atari/ale-py-0.12.1-md5.json");

/// The run-time override of the ROM directory.
pub const ROMS_VAR: &str = "ACKTR_ATARI_ROMS";

fn table() -> &'static BTreeMap<String, String> {
    static T: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    T.get_or_init(|| serde_json::from_str(MD5_JSON).expect("assets/atari md5 table is valid JSON"))
}

/// The expected md5 of ROM `rom` (ale-py id, e.g. `breakout`), if the wheel has it.
pub fn expected_md5(rom: &str) -> Option<&'static str> {
    table().get(&format!("{rom}.bin")).map(String::as_str)
}

/// Lowercase hex md5 of some bytes.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The directory ROMs are read from, and where that choice came from.
pub fn rom_dir() -> (PathBuf, &'static str) {
    match std::env::var(ROMS_VAR) {
        Ok(d) if !d.is_empty() => (PathBuf::from(d), ROMS_VAR),
        _ => (PathBuf::from(env!("ACKTR_ATARI_ROMS_DIR")), "the build (ale-py 0.12.1 wheel)"),
    }
}

/// Finds ROM `rom` and checks its md5; the error says what is wrong and how to fix it.
pub fn locate(rom: &str) -> Result<PathBuf, String> {
    let want = expected_md5(rom).ok_or_else(|| format!("`{rom}` is not one of the ale-py 0.12.1 ROMs"))?;
    let (dir, from) = rom_dir();
    let path = dir.join(format!("{rom}.bin"));
    check(&path, want).map_err(|why| {
        format!(
            "ROM `{rom}`: {why} (ROM directory {} from {from}). Fix: unset {ROMS_VAR} to use the \
             ROMs the build fetched, rebuild (`cargo build --release`) to fetch them again, or set \
             {ROMS_VAR} to a directory holding `{rom}.bin` with md5 {want}.",
            dir.display()
        )
    })?;
    Ok(path)
}

fn check(path: &Path, want: &str) -> Result<(), String> {
    if path.to_str().is_none() {
        return Err(format!("{} is not a UTF-8 path", path.display()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let got = md5_hex(&bytes);
    if got != want {
        return Err(format!("{} has md5 {got}, expected {want}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seven_games_have_the_issue_md5s() {
        for (rom, md5) in [
            ("pong", "60e0ea3cbe0913d39803477945e9e5ec"),
            ("breakout", "f34f08e5eb96e500e851a80be3277a56"),
            ("beam_rider", "79ab4123a83dc11d468fb2108ea09e2e"),
            ("qbert", "484b0076816a104875e00467d431c2d2"),
            ("seaquest", "240bfbac5163af4df5ae713985386f92"),
            ("space_invaders", "72ffbef6504b75e69ee1045af9075f66"),
            ("atlantis", "9ad36e699ef6f45d9eb6c4cf90475c9f"),
        ] {
            assert_eq!(expected_md5(rom), Some(md5), "{rom}");
        }
        assert_eq!(table().len(), 108);
    }

    #[test]
    fn a_wrong_file_is_an_error_not_a_dead_process() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pong.bin"), b"not a rom").unwrap();
        let err = check(&dir.path().join("pong.bin"), expected_md5("pong").unwrap()).unwrap_err();
        assert!(err.contains("has md5"), "{err}");
        let err = check(&dir.path().join("breakout.bin"), expected_md5("breakout").unwrap()).unwrap_err();
        assert!(err.contains("cannot read"), "{err}");
        assert!(locate("no_such_game").unwrap_err().contains("not one of"));
    }
}
