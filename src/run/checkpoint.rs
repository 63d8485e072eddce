//! Checkpoints of running cells: everything needed to continue a cell exactly (the
//! algorithm's networks, optimizers, random streams and pipeline; every environment copy's
//! full state, reset stream and running episode; the action sampler's stream; the logs so
//! far and the wall-clock time spent), written atomically to
//! `results/<spec>/.ckpt-<hash>.bin` every `--checkpoint-minutes` and removed once the cell
//! is published. A finished cell keeps its last state as `.final-<lineage>-<timesteps>.bin`
//! beside it, from which a cell of the same lineage and a longer budget continues
//! ([`continuable`]). A run resumed from a checkpoint writes the same `episodes.parquet` and
//! `updates.parquet` as an uninterrupted one, apart from the wall-clock columns
//! (`tests/checkpoint.rs`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::logs::CellLog;
use crate::algo::{AlgoError, Algorithm, CollectorState, Training};
use crate::spec::Cell;

/// The file format's version: a checkpoint of another version is ignored.
/// 2: `CellLog` carries `learner_return` (Atari), Atari environments save their state.
const VERSION: u32 = 2;

/// A running cell's state.
#[derive(Serialize, Deserialize)]
pub struct Checkpoint {
    version: u32,
    hash: String,
    total_timesteps: u64,
    pub update: u64,
    pub collector: CollectorState,
    pub algorithm: Vec<u8>,
    pub log: CellLog,
    pub wall_seconds: f64,
}

impl Checkpoint {
    /// The state of `cell` after `training.update` updates.
    pub fn new(cell: &Cell, training: &Training, algorithm: &dyn Algorithm, log: &CellLog, wall_seconds: f64) -> Result<Self, AlgoError> {
        Ok(Self {
            version: VERSION,
            hash: cell.hash.clone(),
            total_timesteps: cell.budget.total_timesteps,
            update: training.update,
            collector: training.collector.state(),
            algorithm: algorithm.checkpoint()?,
            log: log.clone(),
            wall_seconds,
        })
    }
}

/// Where `cell`'s checkpoint lives.
pub fn path(root: &Path, cell: &Cell) -> PathBuf {
    root.join(&cell.spec).join(format!(".ckpt-{}.bin", cell.hash))
}

/// Writes a checkpoint atomically (temporary file, then rename).
pub fn write(path: &Path, ck: &Checkpoint) -> Result<(), super::RunError> {
    let bytes = bincode::serialize(ck).map_err(|e| super::RunError::Io { path: path.into(), source: std::io::Error::other(e) })?;
    super::write_atomic(path, &bytes)
}

/// The checkpoint of `cell` at `path`, if there is a usable one. An unreadable checkpoint,
/// or one of another cell or version, is set aside (`.bad`) with a one-line message, and the
/// cell starts from the beginning.
pub fn load(path: &Path, cell: &Cell) -> Option<Checkpoint> {
    let bytes = std::fs::read(path).ok()?;
    let why = match bincode::deserialize::<Checkpoint>(&bytes) {
        Ok(ck) if ck.version == VERSION && ck.hash == cell.hash && ck.total_timesteps == cell.budget.total_timesteps => return Some(ck),
        Ok(ck) if ck.version != VERSION => format!("format version {}, this build reads {VERSION}", ck.version),
        Ok(_) => "it belongs to another cell or budget".to_string(),
        Err(e) => format!("it does not read back: {e}"),
    };
    let aside = PathBuf::from(format!("{}.bad", path.display()));
    let _ = std::fs::rename(path, &aside);
    eprintln!("cell {}: checkpoint {} not used ({why}); moved to {} and starting the cell from the beginning", cell.hash, path.display(), aside.display());
    None
}

/// Where a finished cell keeps its final state, for a longer cell of its lineage to
/// continue from: `results/<spec>/.final-<lineage>-<timesteps>.bin` ([`Cell::lineage`]).
pub fn final_path(root: &Path, cell: &Cell, timesteps: u64) -> PathBuf {
    root.join(&cell.spec).join(format!(".final-{}-{timesteps}.bin", cell.lineage()))
}

/// The final checkpoint of a finished cell that `cell` can continue from: same lineage,
/// the most timesteps short of `cell`'s budget, in any spec's directory under `root`
/// (timesteps, path). None when there is none.
pub fn continuable(root: &Path, cell: &Cell) -> Option<(u64, PathBuf)> {
    let prefix = format!(".final-{}-", cell.lineage());
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter_map(|spec_dir| std::fs::read_dir(spec_dir.path()).ok())
        .flat_map(|rd| rd.flatten())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let steps = name.strip_prefix(&prefix)?.strip_suffix(".bin")?.parse::<u64>().ok()?;
            (steps < cell.budget.total_timesteps).then(|| (steps, e.path()))
        })
        .collect();
    // The longest; among equals, the first path (a stable choice).
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.into_iter().next()
}

/// The final checkpoint at `path` if it can start `cell`: this build's format, and a
/// shorter budget than `cell`'s (the lineage is in its name). An unreadable one is left
/// where it is, with a one-line message, and the cell starts from the beginning.
pub fn load_final(path: &Path, cell: &Cell) -> Option<Checkpoint> {
    let why = match std::fs::read(path).map_err(|e| e.to_string()).and_then(|b| bincode::deserialize::<Checkpoint>(&b).map_err(|e| e.to_string())) {
        Ok(ck) if ck.version == VERSION && ck.total_timesteps < cell.budget.total_timesteps => return Some(ck),
        Ok(ck) if ck.version != VERSION => format!("format version {}, this build reads {VERSION}", ck.version),
        Ok(ck) => format!("its budget ({}) is not shorter than this cell's", ck.total_timesteps),
        Err(e) => format!("it does not read back: {e}"),
    };
    eprintln!("cell {}: final checkpoint {} not used ({why}); starting the cell from the beginning", cell.hash, path.display());
    None
}

impl Checkpoint {
    /// The cell this checkpoint belongs to.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The budget of the cell this checkpoint belongs to.
    pub fn total_timesteps(&self) -> u64 {
        self.total_timesteps
    }
}

/// How far a cell's checkpoint got, for `acktr status`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub updates: u64,
    pub timesteps: u64,
    /// Episodes finished so far (whole games on Atari).
    pub episodes: u64,
    /// The mean return of the last [`PROGRESS_WINDOW`] episodes (fewer when fewer have
    /// finished); None before the first.
    pub recent_mean: Option<f64>,
}

/// The episodes [`Progress::recent_mean`] averages: the window of Table 1's Episode column
/// and of the report's default `last_episodes_mean`.
pub const PROGRESS_WINDOW: usize = 100;

/// How far a cell's checkpoint got, if it has a readable one.
pub fn progress(path: &Path) -> Option<Progress> {
    let bytes = std::fs::read(path).ok()?;
    let ck: Checkpoint = bincode::deserialize(&bytes).ok()?;
    Some(Progress {
        updates: ck.update,
        timesteps: ck.collector.global_step(),
        episodes: ck.log.episodes(),
        recent_mean: ck.log.recent_return_mean(PROGRESS_WINDOW),
    })
}
