//! Environment conformance: every case under `golden/envs/` (and `golden/atari/` with the
//! `atari` feature) and, when set, every case in
//! the directories named by `ENV_CASES` and `ATARI_CASES` (format env-case/1; a case with a
//! `wrappers` field is an Atari case, FORMAT.md "Atari cases"; each variable may list several
//! directories separated by `:`). Prints one line per case
//! (`env case NAME: ok`, `skipped` with the reason, or the first mismatch) and fails on any
//! mismatch. Cases whose environment is not built are reported as skipped, not passed.
//!
//! A plain `main` (harness = false in Cargo.toml) so the per-case lines always print.

use std::path::PathBuf;
use std::process::ExitCode;

use acktr::conformance::env::{case_files, load_case, run_case, Verdict};

fn main() -> ExitCode {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/envs")];
    // Our own Atari cases (golden/gen/atari_cases.py, recorded from ale-py 0.12.1): seven
    // games, both wrapper kinds, life losses and game overs.
    if cfg!(feature = "atari") {
        dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/atari"));
    }
    for var in ["ENV_CASES", "ATARI_CASES"] {
        match std::env::var(var) {
            Ok(extra) if !extra.is_empty() => dirs.extend(extra.split(':').filter(|d| !d.is_empty()).map(PathBuf::from)),
            _ => println!("env conformance: {var} is not set"),
        }
    }
    let (mut ok, mut skipped, mut failed) = (0, 0, 0);
    for dir in &dirs {
        let files = match case_files(dir) {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => {
                println!("env conformance: no cases in {}", dir.display());
                failed += 1;
                continue;
            }
            Err(e) => {
                println!("env conformance: {e}");
                failed += 1;
                continue;
            }
        };
        for file in files {
            if is_atari_case(&file) {
                match run_atari(&file) {
                    Ok((name, Verdict::Ok)) => {
                        println!("env case {name}: ok");
                        ok += 1;
                    }
                    Ok((name, Verdict::Skipped(why))) => {
                        println!("env case {name}: skipped ({why})");
                        skipped += 1;
                    }
                    Ok((name, Verdict::Mismatch(msg))) => {
                        println!("env case {name}: MISMATCH {msg}");
                        failed += 1;
                    }
                    Err(e) => {
                        println!("env case {}: unreadable: {e}", file.display());
                        failed += 1;
                    }
                }
                continue;
            }
            let case = match load_case(&file) {
                Ok(c) => c,
                Err(e) => {
                    println!("env case {}: unreadable: {e}", file.display());
                    failed += 1;
                    continue;
                }
            };
            match run_case(&case, acktr::env::make) {
                Verdict::Ok => {
                    println!("env case {}: ok", case.name);
                    ok += 1;
                }
                Verdict::Skipped(why) => {
                    println!("env case {}: skipped ({why})", case.name);
                    skipped += 1;
                }
                Verdict::Mismatch(msg) => {
                    println!("env case {}: MISMATCH {msg}", case.name);
                    failed += 1;
                }
            }
        }
    }
    println!("env-conformance: {ok} passed, {failed} failed, {skipped} skipped");
    if failed == 0 && ok > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// An Atari case has the field `wrappers` (FORMAT.md "Atari cases").
fn is_atari_case(file: &std::path::Path) -> bool {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("wrappers").is_some())
}

#[cfg(feature = "atari")]
fn run_atari(file: &std::path::Path) -> Result<(String, Verdict), String> {
    use acktr::conformance::atari::{replay, AtariCase};
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let case: AtariCase = serde_json::from_str(&text).map_err(|e| format!("not an Atari env-case/1 file: {e}"))?;
    let verdict = match replay(&case) {
        Ok(()) => Verdict::Ok,
        Err(m) => Verdict::Mismatch(m),
    };
    Ok((case.name, verdict))
}

#[cfg(not(feature = "atari"))]
fn run_atari(file: &std::path::Path) -> Result<(String, Verdict), String> {
    let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok((name, Verdict::Skipped("built without the `atari` feature".into())))
}
