//! Environment conformance: every case under `golden/envs/` and, when set, every case in
//! the directory named by `ENV_CASES` (format env-case/1). Prints one line per case
//! (`env case NAME: ok`, `skipped` with the reason, or the first mismatch) and fails on any
//! mismatch. Cases whose environment is not built are reported as skipped, not passed.
//!
//! A plain `main` (harness = false in Cargo.toml) so the per-case lines always print.

use std::path::PathBuf;
use std::process::ExitCode;

use acktr::env::conformance::{case_files, load_case, run_case, Verdict};

fn main() -> ExitCode {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/envs")];
    match std::env::var("ENV_CASES") {
        Ok(extra) if !extra.is_empty() => dirs.push(PathBuf::from(extra)),
        _ => println!("env conformance: ENV_CASES is not set; running golden/envs only"),
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
