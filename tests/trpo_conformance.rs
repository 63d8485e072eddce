//! TRPO conformance: every case under `golden/trpo/` and, when set, every case in the
//! directory named by `TRPO_CASES` (format trpo-case/1, `golden/trpo/FORMAT.md`). One line
//! per case; fails on any mismatch. A plain `main` (harness = false) so the lines always print.

use std::path::PathBuf;
use std::process::ExitCode;

use acktr::conformance::trpo::{load_case, run_case};
use acktr::conformance::kfac::run_suite;

fn main() -> ExitCode {
    let builtin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/trpo");
    let passed = run_suite("trpo", builtin, "TRPO_CASES", |file| {
        load_case(file).and_then(|case| run_case(&case).map(|()| case.name.clone()).map_err(|e| format!("{}: {e}", case.name)))
    });
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
