//! Slurm: a spec's unfinished cells as a job array, one task per cell, with the same results
//! layout, resume and report as a local `reproduce` (README "Running on a cluster").
//!
//! `acktr reproduce SPEC --slurm` writes `results/<spec>/slurm/<spec>-<profile>-<stamp>-<k>.sbatch`
//! (one array per chunk of at most `MaxArraySize` indices; task `T` runs plan cell
//! `OFFSET + T` with `acktr run-cell`), submits it with `sbatch --parsable`, submits a
//! report job that depends on the arrays (`--dependency=afterany`), and records both in
//! `results/<spec>/slurm/jobs.json`. Submitting again skips cells that are finished or whose
//! task is still pending or running (`squeue`), so nothing is queued twice.
//!
//! Every task checkpoints every `--checkpoint-minutes`; `--signal=B:USR1@120` asks the task
//! shortly before its time limit to checkpoint, and its script requeues it
//! (`scontrol requeue`, at most [`MAX_REQUEUES`] times); `scancel` and `scontrol requeue` send
//! SIGTERM, which checkpoints too (`run::stop_on_signals`). A requeued task resumes from the
//! checkpoint, so no cell runs twice to completion.
//!
//! Injection safety: values reach the script body only as single-quoted bash words, and
//! `#SBATCH` lines only as double-quoted, backslash-escaped arguments (the tokenizer of
//! Slurm's `src/sbatch/opt.c`, `_get_argument`), with `%` doubled in file-name patterns;
//! values that neither can carry (line breaks, other control characters, NUL) are refused
//! as bad input. `ci/slurm.sh` submits with a results path full of shell and Slurm
//! metacharacters against a real Slurm.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{cell_state, checkpoint, reuse_from_other_spec, spec_dir, write_atomic, CellState, RunError};
use crate::spec::{Cell, Spec};

mod options;
mod quote;
mod arrays;
mod script;
mod records;
mod queue;
mod submit;
mod status;

pub use options::*;
pub use quote::*;
pub use arrays::*;
pub use script::*;
pub use records::*;
pub use queue::*;
pub use submit::*;
pub use status::*;

/// How many times a task requeues itself after its time-limit signal.
pub const MAX_REQUEUES: u32 = 20;
/// Seconds before the time limit at which Slurm signals the task (`--signal=B:USR1@N`).
/// Slurm may send it up to 60 s early; a cell's update takes seconds on the paper's tasks.
pub const SIGNAL_LEAD_SECONDS: u32 = 120;
/// `MaxArraySize` when `scontrol show config` does not say (Slurm's default).
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// Errors of the Slurm path.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// A user-supplied value that cannot be used (exit code 2).
    #[error("{flag} {value:?}: {why}")]
    BadArgument {
        flag: String,
        value: String,
        why: String,
    },
    #[error("{command} could not be started ({source}); is Slurm installed and on PATH?")]
    Missing {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Run(#[from] RunError),
}

impl SlurmError {
    /// Whether the error is the user's input (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, SlurmError::BadArgument { .. })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SlurmError + '_ {
    move |source| SlurmError::Io {
        path: path.into(),
        source,
    }
}
