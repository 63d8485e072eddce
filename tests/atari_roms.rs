//! `ACKTR_ATARI_ROMS` (README "Atari"): a user's ROM directory is md5-checked; a wrong or
//! missing ROM is an error naming the file, never ALE's `exit(1)`.
#![cfg(feature = "atari")]

use acktr::env;

#[test]
fn a_missing_or_wrong_rom_directory_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pong.bin"), b"not pong").unwrap();
    // The variable is read at each lookup: this file is its own test binary, so no other
    // test reads it meanwhile.
    std::env::set_var(acktr::env::atari::roms::ROMS_VAR, dir.path());
    let err = env::make("PongNoFrameskip-v4").err().expect("a wrong ROM is refused").to_string();
    let missing = env::make("QbertNoFrameskip-v4").err().expect("a missing ROM is refused").to_string();
    std::env::remove_var(acktr::env::atari::roms::ROMS_VAR);
    assert!(err.contains("pong.bin") && err.contains("60e0ea3cbe0913d39803477945e9e5ec"), "{err}");
    assert!(missing.contains("qbert.bin") && missing.contains("cannot read"), "{missing}");
}
