//! K-FAC conformance: every case under `golden/kfac/` and, when set, every case in the
//! directory named by `KFAC_CASES` (format kfac-case/1). One line per case; fails on any
//! mismatch. A plain `main` (harness = false) so the lines always print.

use std::path::PathBuf;
use std::process::ExitCode;

use acktr::conformance::kfac::{load_case, run_case, run_suite};

fn main() -> ExitCode {
    let builtin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/kfac");
    let passed = run_suite("kfac", builtin, "KFAC_CASES", |file| {
        load_case(file).and_then(|case| run_case(&case).map(|()| case.name.clone()).map_err(|e| format!("{}: {e}", case.name)))
    });
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
