//! K-FAC conformance: every case under `golden/kfac/` and, when set, every case in the
//! directory named by `KFAC_CASES` (format kfac-case/1). One line per case; fails on any
//! mismatch. A plain `main` (harness = false) so the lines always print.

use std::path::PathBuf;
use std::process::ExitCode;

use acktr::kfac::conformance::{case_files, load_case, run_case};

fn main() -> ExitCode {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/kfac")];
    match std::env::var("KFAC_CASES") {
        Ok(extra) if !extra.is_empty() => dirs.push(PathBuf::from(extra)),
        _ => println!("kfac conformance: KFAC_CASES is not set; running golden/kfac only"),
    }
    let (mut ok, mut failed) = (0, 0);
    for dir in &dirs {
        let files = match case_files(dir) {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => {
                println!("kfac conformance: no cases in {}", dir.display());
                failed += 1;
                continue;
            }
            Err(e) => {
                println!("kfac conformance: {e}");
                failed += 1;
                continue;
            }
        };
        for file in files {
            match load_case(&file).and_then(|case| run_case(&case).map(|()| case.name.clone()).map_err(|e| format!("{}: {e}", case.name))) {
                Ok(name) => {
                    println!("kfac case {name}: ok");
                    ok += 1;
                }
                Err(msg) => {
                    println!("kfac case {msg}");
                    failed += 1;
                }
            }
        }
    }
    println!("kfac-conformance: {ok} passed, {failed} failed");
    if failed == 0 && ok > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
