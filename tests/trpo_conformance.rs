//! TRPO conformance: every case under `golden/trpo/` and, when set, every case in the
//! directory named by `TRPO_CASES` (format trpo-case/1, `golden/trpo/FORMAT.md`). One line
//! per case; fails on any mismatch. A plain `main` (harness = false) so the lines always print.

use std::path::PathBuf;
use std::process::ExitCode;

use acktr::algo::trpo_conformance::{load_case, run_case};
use acktr::kfac::conformance::case_files;

fn main() -> ExitCode {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/trpo")];
    match std::env::var("TRPO_CASES") {
        Ok(extra) if !extra.is_empty() => dirs.push(PathBuf::from(extra)),
        _ => println!("trpo conformance: TRPO_CASES is not set; running golden/trpo only"),
    }
    let (mut ok, mut failed) = (0, 0);
    for dir in &dirs {
        let files = match case_files(dir) {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => {
                println!("trpo conformance: no cases in {}", dir.display());
                failed += 1;
                continue;
            }
            Err(e) => {
                println!("trpo conformance: {e}");
                failed += 1;
                continue;
            }
        };
        for file in files {
            match load_case(&file).and_then(|case| run_case(&case).map(|()| case.name.clone()).map_err(|e| format!("{}: {e}", case.name))) {
                Ok(name) => {
                    println!("trpo case {name}: ok");
                    ok += 1;
                }
                Err(msg) => {
                    println!("trpo case {msg}");
                    failed += 1;
                }
            }
        }
    }
    println!("trpo-conformance: {ok} passed, {failed} failed");
    if failed == 0 && ok > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
