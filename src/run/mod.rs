//! The executor: runs a spec's unfinished cells on `--jobs` threads and writes each cell's
//! results under `results/<spec>/<cell hash>/` atomically.
//!
//! A cell is written into `results/<spec>/.tmp-<host>~<pid>-<hash>/` and renamed to
//! `results/<spec>/<hash>/` once all its files are complete, so a killed run leaves either
//! a finished cell or a temporary directory that the next run removes; finished cells are
//! never run twice.

pub mod bench;
pub mod checkpoint;
pub mod lock;
pub mod logs;
pub mod provenance;
pub mod slurm;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::algo::{self, AlgoError};
use crate::env::{self, VecEnv};
use crate::spec::{Cell, Spec};
use logs::CellLog;

/// Files that make a cell finished.
pub const CELL_FILES: &[&str] = &["episodes.parquet", "updates.parquet", "provenance.json"];

/// Errors while running cells.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cell {hash} ({env}, {algorithm}, seed {seed}): {source}")]
    Cell { hash: String, env: String, algorithm: String, seed: u64, source: AlgoError },
    #[error("{}: cannot write Parquet: {source}", path.display())]
    Parquet { path: PathBuf, source: polars::error::PolarsError },
    /// Another process holds the cell's lock ([`lock`]): it is running the cell.
    #[error("cell {hash} is being run by {owner}; left to it")]
    Busy { hash: String, owner: String },
    /// A stop signal arrived: the running cells wrote their checkpoints and stopped.
    #[error("stopped by a signal: {cells} running cell(s) checkpointed; run again to continue")]
    Stopped { cells: usize },
}

/// The exit code of a run stopped by SIGTERM or SIGUSR1 after checkpointing its running
/// cells (what a Slurm task's script requeues on).
pub const EXIT_STOPPED: u8 = 3;

fn stop_flag() -> &'static std::sync::Arc<std::sync::atomic::AtomicBool> {
    static STOP: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> = std::sync::OnceLock::new();
    STOP.get_or_init(Default::default)
}

/// From now on SIGTERM and SIGUSR1 ask running cells to stop: each writes its checkpoint
/// after the update in progress and the run ends with [`RunError::Stopped`] (exit code
/// [`EXIT_STOPPED`]). Slurm sends SIGTERM on `scancel`, `scontrol requeue` and at the time
/// limit; the generated array script forwards its `--signal` (SIGUSR1) to the cell.
pub fn stop_on_signals() -> std::io::Result<()> {
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGUSR1] {
        signal_hook::flag::register(sig, std::sync::Arc::clone(stop_flag()))?;
    }
    Ok(())
}

/// Whether a stop signal has arrived.
pub fn stop_requested() -> bool {
    stop_flag().load(Ordering::SeqCst)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io { path: path.into(), source }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Root of all results (`results/`).
    pub results_root: PathBuf,
    /// Cells run at once.
    pub jobs: usize,
    /// Threads each cell uses: its environment copies ([`VecEnv::set_threads`]), its
    /// network and optimizers ([`algo::Algorithm::set_threads`]); results do not depend on it.
    pub threads: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Write a running cell's checkpoint after the first update at least this long after
    /// the last one (`Some(0)`: after every update; `None`: never).
    pub checkpoint_every: Option<std::time::Duration>,
}

/// The default checkpoint interval of `reproduce` (`--checkpoint-minutes`).
pub const DEFAULT_CHECKPOINT_MINUTES: f64 = 5.0;

/// The directory of a spec's results.
pub fn spec_dir(root: &Path, spec: &Spec) -> PathBuf {
    root.join(&spec.name)
}

/// The directory of a cell's results.
pub fn cell_dir(root: &Path, cell: &Cell) -> PathBuf {
    root.join(&cell.spec).join(&cell.hash)
}

/// Where a cell stands on disk.
#[derive(Debug, Clone, PartialEq)]
pub enum CellState {
    /// No directory.
    Missing,
    /// Its three files read back and agree with its hash and budget.
    Finished,
    /// A directory that is not a finished cell, and why.
    Damaged(String),
}

/// Checks a cell's directory: `provenance.json` parses and names this cell's hash and at
/// least its budget of timesteps, and both Parquet logs read back with the numbers of rows
/// it records.
pub fn cell_state(root: &Path, cell: &Cell) -> CellState {
    let dir = cell_dir(root, cell);
    if !dir.exists() {
        return CellState::Missing;
    }
    match verify(&dir, cell) {
        Ok(()) => CellState::Finished,
        Err(why) => CellState::Damaged(why),
    }
}

fn verify(dir: &Path, cell: &Cell) -> Result<(), String> {
    for f in CELL_FILES {
        if !dir.join(f).is_file() {
            return Err(format!("{f} is missing"));
        }
    }
    let text = std::fs::read_to_string(dir.join("provenance.json")).map_err(|e| format!("provenance.json: {e}"))?;
    let prov: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("provenance.json does not parse: {e}"))?;
    if prov["cell"]["hash"].as_str() != Some(cell.hash.as_str()) {
        return Err(format!("provenance.json names cell {}, not this one", prov["cell"]["hash"]));
    }
    let timesteps = prov["timesteps"].as_u64().ok_or("provenance.json has no timesteps")?;
    if timesteps < cell.budget.total_timesteps {
        return Err(format!("{timesteps} timesteps recorded, the budget is {}", cell.budget.total_timesteps));
    }
    for (file, key) in [("episodes.parquet", "episodes"), ("updates.parquet", "updates")] {
        let df = logs::read_parquet(&dir.join(file)).map_err(|e| format!("{file} does not read back: {e}"))?;
        let want = prov[key].as_u64().ok_or(format!("provenance.json has no {key}"))?;
        if df.height() as u64 != want {
            return Err(format!("{file} has {} rows, provenance.json records {want}", df.height()));
        }
    }
    Ok(())
}

/// True when the cell's files read back and agree with it ([`cell_state`]).
pub fn is_finished(root: &Path, cell: &Cell) -> bool {
    cell_state(root, cell) == CellState::Finished
}

/// Moves a damaged cell's directory aside (`.damaged-<hash>-<unix seconds>`, kept for
/// inspection), and says so in one line.
fn set_aside(root: &Path, cell: &Cell, why: &str) -> Result<(), RunError> {
    let dir = cell_dir(root, cell);
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut aside = root.join(&cell.spec).join(format!(".damaged-{}-{secs}", cell.hash));
    for k in 2.. {
        if !aside.exists() {
            break;
        }
        aside = root.join(&cell.spec).join(format!(".damaged-{}-{secs}-{k}", cell.hash));
    }
    std::fs::rename(&dir, &aside).map_err(io(&dir))?;
    eprintln!(
        "cell {} ({}, {}, seed {}) is damaged ({why}); moved to {} and run again",
        cell.hash,
        cell.env,
        cell.row_label(),
        cell.seed,
        aside.display()
    );
    Ok(())
}

/// What a reproduction did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub cells_total: usize,
    pub cells_already_finished: usize,
    /// Cells copied from another spec's results (same hash: the same computation).
    pub cells_reused: usize,
    pub cells_run: usize,
    pub timesteps_run: u64,
    /// Cells left to another process that was running them ([`lock`]).
    pub cells_elsewhere: usize,
}

/// Who owns a temporary: `<host>~<pid>`, written right after `.tmp-` in every temporary's
/// name, so runs on several nodes sharing one results directory (Slurm) never take each
/// other's in-flight work for leftovers.
pub fn temp_owner() -> String {
    format!("{}~{}", this_host(), std::process::id())
}

/// Writes `path` atomically: into `<path>.tmp-<host>~<pid>` beside it, then renamed over
/// it (the temporary is a leftover [`remove_stale_temporaries`] recognises).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = path.with_file_name(format!("{name}.tmp-{}", temp_owner()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// This machine's host name, reduced to letters, digits, `-` and `.`.
fn this_host() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .unwrap_or_else(|_| "localhost".into());
        let h: String = raw.trim().chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')).collect();
        if h.is_empty() { "localhost".into() } else { h }
    })
    .clone()
}

/// The owner a temporary's name carries: `(host, pid)` for `.tmp-<host>~<pid>...`, `(None,
/// pid)` for the older `.tmp-<hash>-<pid>` and `<name>.tmp-<pid>...` forms; `None` for a
/// name that is not a temporary.
fn temporary_owner(name: &str) -> Option<(Option<String>, Option<u32>)> {
    let at = name.find(".tmp-")?;
    let rest = &name[at + 5..];
    let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse::<u32>().ok();
    if let Some((host, after)) = rest.split_once('~') {
        return Some((Some(host.to_string()), digits(after)));
    }
    if at == 0 {
        // `.tmp-<hash>-<pid>`
        return Some((None, rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok())));
    }
    Some((None, digits(rest)))
}

/// How long another node's temporary may sit untouched before it counts as a leftover: a
/// live run holds a temporary only while it publishes a cell, a report or a checkpoint.
const FOREIGN_TEMPORARY_AGE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Removes temporaries (cell directories, report and figure files, checkpoint files) left
/// by runs that are no longer alive: on this host, when their process is gone; from
/// another host, when untouched for [`FOREIGN_TEMPORARY_AGE`].
pub fn remove_stale_temporaries(dir: &Path) -> Result<(), RunError> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Ok(()) };
    let host = this_host();
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some((owner_host, pid)) = temporary_owner(&name) else { continue };
        let path = entry.path();
        let stale = match owner_host {
            Some(h) if h != host => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > FOREIGN_TEMPORARY_AGE),
            _ => !pid.is_some_and(|p| p != std::process::id() && Path::new("/proc").join(p.to_string()).exists()),
        };
        if stale {
            if path.is_dir() {
                std::fs::remove_dir_all(&path).map_err(io(&path))?;
            } else {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
    }
    Ok(())
}

/// Copies a finished cell with the same hash from another spec's results directory (the
/// hash covers the environment, the algorithm's row name and resolved configuration, the
/// grid point, the seed and the budget, so it is the same computation), atomically; the
/// copy keeps that cell's provenance. False when there is none.
fn reuse_from_other_spec(root: &Path, cell: &Cell) -> Result<bool, RunError> {
    let Ok(rd) = std::fs::read_dir(root) else { return Ok(false) };
    let mut sources: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path().join(&cell.hash))
        .filter(|d| !d.starts_with(root.join(&cell.spec)) && verify(d, cell).is_ok())
        .collect();
    sources.sort();
    let Some(source) = sources.first() else { return Ok(false) };
    let tmp = root.join(&cell.spec).join(format!(".tmp-{}-{}", temp_owner(), cell.hash));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    for f in CELL_FILES {
        std::fs::copy(source.join(f), tmp.join(f)).map_err(io(&source.join(f)))?;
    }
    let dest = cell_dir(root, cell);
    std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
    Ok(true)
}

/// Runs every unfinished cell of `spec`, copying those another spec has already run.
pub fn reproduce(spec: &Spec, opts: &RunOptions) -> Result<RunSummary, RunError> {
    let dir = spec_dir(&opts.results_root, spec);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    remove_stale_temporaries(&dir)?;
    let cells = spec.cells();
    let (todo, reused) = cells_to_run(&cells, &opts.results_root)?;
    let total_steps: u64 = todo.iter().map(|c| c.budget.total_timesteps).sum();
    let summary = RunSummary {
        cells_total: cells.len(),
        cells_already_finished: cells.len() - todo.len() - reused,
        cells_reused: reused,
        cells_run: todo.len(),
        timesteps_run: total_steps,
        cells_elsewhere: 0,
    };
    if todo.is_empty() {
        return Ok(summary);
    }
    let pb = progress_bar(total_steps, opts.progress);
    let done = AtomicUsize::new(summary.cells_already_finished);
    pb.set_message(format!("{}/{}", summary.cells_already_finished, cells.len()));
    let (commit, dirty) = provenance::git_state(spec.path.parent().unwrap_or(Path::new(".")));
    let spec_file = spec.path.display().to_string();
    // `jobs` plain threads take the next cell until none is left. Not a rayon pool: a rayon
    // worker waiting on Polars' own pool (the Parquet write) would take another cell in the
    // meantime and publish the finished one only when that returns (README "Results").
    let next = AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<(u64, Result<(), RunError>)>> = std::sync::Mutex::new(Vec::new());
    let jobs = opts.jobs.max(1).min(todo.len());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                if stop_requested() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(cell) = todo.get(i) else { break };
                let r = run_cell(cell, spec, opts, &pb, (&commit, dirty), &spec_file);
                if r.is_ok() {
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    pb.set_message(format!("{n}/{}", cells.len()));
                    if !opts.progress {
                        eprintln!("cell {n}/{} done: {} {} seed {} ({})", cells.len(), cell.env, cell.row_label(), cell.seed, cell.hash);
                    }
                }
                if let Err(e @ RunError::Busy { .. }) = &r {
                    eprintln!("{e}");
                }
                results.lock().expect("no thread panicked holding the lock").push((cell.budget.total_timesteps, r));
            });
        }
    });
    let results = results.into_inner().expect("no thread panicked holding the lock");
    pb.finish_and_clear();
    let mut stopped = 0;
    let (mut elsewhere, mut elsewhere_steps) = (0, 0);
    for (steps, r) in results {
        match r {
            Ok(()) => {}
            Err(RunError::Stopped { cells }) => stopped += cells,
            Err(RunError::Busy { .. }) => {
                elsewhere += 1;
                elsewhere_steps += steps;
            }
            Err(e) => return Err(e),
        }
    }
    if stopped > 0 || (stop_requested() && next.load(Ordering::SeqCst) < todo.len()) {
        return Err(RunError::Stopped { cells: stopped });
    }
    Ok(RunSummary {
        cells_run: summary.cells_run - elsewhere,
        timesteps_run: summary.timesteps_run - elsewhere_steps,
        cells_elsewhere: elsewhere,
        ..summary
    })
}

/// The cells still to run, in plan order, and how many were copied from another spec's
/// results instead: a damaged cell is set aside first and run again.
fn cells_to_run<'a>(cells: &'a [Cell], results_root: &Path) -> Result<(Vec<&'a Cell>, usize), RunError> {
    let mut todo = Vec::new();
    let mut reused = 0;
    for c in cells {
        match cell_state(results_root, c) {
            CellState::Finished => continue,
            CellState::Missing => {}
            CellState::Damaged(why) => set_aside(results_root, c, &why)?,
        }
        if reuse_from_other_spec(results_root, c)? {
            reused += 1;
        } else {
            todo.push(c);
        }
    }
    Ok((todo, reused))
}

/// The run's progress bar over `total_steps` timesteps (hidden without `--progress`).
fn progress_bar(total_steps: u64, visible: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total_steps), if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} cells {msg} | {human_pos}/{human_len} steps | {rate} | ETA {eta}",
        )
        .expect("valid template")
        .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} steps/s", state.per_sec());
        }),
    );
    pb
}

/// What [`run_one`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellOutcome {
    AlreadyFinished,
    /// Copied from another spec's results.
    Reused,
    Ran,
}

/// Runs the cell at `index` of `spec`'s plan (what one Slurm array task does; also useful
/// by hand): nothing if it is finished, a copy if another spec has it, else a run from its
/// checkpoint if it has one; published atomically.
pub fn run_one(spec: &Spec, opts: &RunOptions, index: usize) -> Result<CellOutcome, RunError> {
    let cells = spec.cells();
    let cell = &cells[index];
    let dir = spec_dir(&opts.results_root, spec);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    remove_stale_temporaries(&dir)?;
    match cell_state(&opts.results_root, cell) {
        CellState::Finished => return Ok(CellOutcome::AlreadyFinished),
        CellState::Damaged(why) => set_aside(&opts.results_root, cell, &why)?,
        CellState::Missing => {}
    }
    if reuse_from_other_spec(&opts.results_root, cell)? {
        return Ok(CellOutcome::Reused);
    }
    let pb = ProgressBar::hidden();
    let (commit, dirty) = provenance::git_state(spec.path.parent().unwrap_or(Path::new(".")));
    run_cell(cell, spec, opts, &pb, (&commit, dirty), &spec.path.display().to_string())?;
    Ok(CellOutcome::Ran)
}

/// Trains one cell (from its checkpoint, if it has one), checkpoints it as it goes, and
/// writes its files atomically.
pub fn run_cell(
    cell: &Cell,
    spec: &Spec,
    opts: &RunOptions,
    pb: &ProgressBar,
    git: (&str, bool),
    spec_file: &str,
) -> Result<(), RunError> {
    let root = opts.results_root.as_path();
    // One process per cell: the lock is held until the cell is published or stops.
    let lock = lock::try_take(root, cell)?.map_err(|owner| RunError::Busy { hash: cell.hash.clone(), owner })?;
    if is_finished(root, cell) {
        // Finished by the process that held the lock before this one took it.
        lock.release_published();
        return Ok(());
    }
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let cell_err = |source: AlgoError| cell_error(cell, source);
    let (mut algorithm, mut training) = build(cell, opts)?;
    let ckpt_path = checkpoint::path(root, cell);
    // The log so far and the wall-clock seconds of the cell before this process took it up.
    let Resumed { mut log, wall_seconds: offset, continued_from } = resume(cell, &ckpt_path, algorithm.as_mut(), &mut training, opts, pb)?;
    let mut last_step = training.collector.global_step();
    let mut last_checkpoint = Instant::now();
    algo::train_from(
        algorithm.as_mut(),
        &mut training,
        cell.budget.steps_per_update,
        cell.budget.total_timesteps,
        cell.budget.schedule_horizon(),
        |update, episodes, state, algorithm| {
            let wall = offset + started.elapsed().as_secs_f64();
            log.record(update, episodes, wall);
            pb.inc(update.global_step.min(cell.budget.total_timesteps) - last_step.min(cell.budget.total_timesteps));
            last_step = update.global_step;
            let due = opts.checkpoint_every.is_some_and(|every| last_checkpoint.elapsed() >= every);
            let stop = stop_requested();
            if (due || stop) && update.global_step < cell.budget.total_timesteps {
                let ck = checkpoint::Checkpoint::new(cell, state, algorithm, &log, wall)?;
                checkpoint::write(&ckpt_path, &ck).map_err(|e| AlgoError::Checkpoint(e.to_string()))?;
                last_checkpoint = Instant::now();
                if stop {
                    eprintln!(
                        "cell {} ({}, {}, seed {}): stop signal; checkpoint written at update {} ({} timesteps)",
                        cell.hash,
                        cell.env,
                        cell.row_label(),
                        cell.seed,
                        state.update,
                        update.global_step
                    );
                    return Err(AlgoError::Stopped);
                }
            }
            Ok(())
        },
    )
    .map_err(|e| match e {
        AlgoError::Stopped => RunError::Stopped { cells: 1 },
        e => cell_err(e),
    })?;
    let wall_seconds = offset + started.elapsed().as_secs_f64();
    let prov = provenance::Provenance {
        cell,
        spec_file: spec_file.to_string(),
        profile: &spec.profile,
        engine: cell.config.engine().name(),
        accelerator: algorithm.policy().accelerator(),
        git_commit: git.0.to_string(),
        git_dirty: git.1,
        build_commit: provenance::BUILD_COMMIT,
        build_dirty: provenance::BUILD_DIRTY,
        spec_sha256: spec.source_sha256.clone(),
        build_id: provenance::build_id(),
        acktr_version: env!("CARGO_PKG_VERSION"),
        rustc: env!("ACKTR_RUSTC_VERSION"),
        dependencies: provenance::dependencies(),
        machine: provenance::machine(),
        started_unix,
        wall_seconds,
        timesteps: last_step,
        updates: log.updates(),
        episodes: log.episodes(),
        continued_from,
    };
    let tmp = write_files(root, cell, &log, &prov)?;
    if opts.checkpoint_every.is_some() {
        // The final state, for a longer cell of this lineage to continue from.
        let ck = checkpoint::Checkpoint::new(cell, &training, algorithm.as_ref(), &log, wall_seconds).map_err(cell_err)?;
        checkpoint::write(&checkpoint::final_path(root, cell, last_step), &ck)?;
    }
    install(root, cell, &tmp, &ckpt_path)?;
    lock.release_published();
    Ok(())
}

/// Where a cell starts: the log so far, the wall-clock seconds already spent, and the
/// finished cell it continues, if it continues one.
struct Resumed {
    log: CellLog,
    wall_seconds: f64,
    continued_from: Option<provenance::ContinuedFrom>,
}

/// The error of one cell, naming it.
fn cell_error(cell: &Cell, source: AlgoError) -> RunError {
    RunError::Cell { hash: cell.hash.clone(), env: cell.env.clone(), algorithm: cell.row_label(), seed: cell.seed, source }
}

/// A cell's environment copies and algorithm, freshly built from its seed.
fn build(cell: &Cell, opts: &RunOptions) -> Result<(Box<dyn algo::Algorithm>, algo::Training), RunError> {
    let cell_err = |source: AlgoError| cell_error(cell, source);
    let mut venv = VecEnv::new(cell.budget.num_envs, cell.seed, || env::make_observed(&cell.env, &cell.observe)).map_err(|e| cell_err(e.into()))?;
    venv.set_threads(opts.threads).map_err(|e| cell_err(e.into()))?;
    let mut algorithm = cell
        .config
        .build(&venv.observation_space(), &venv.action_space(), cell.seed)
        .map_err(cell_err)?;
    algorithm.set_threads(opts.threads);
    Ok((algorithm, algo::Training::new(venv, cell.seed)))
}

/// Restores the cell's checkpoint into `algorithm` and `training` when there is one, else
/// the final checkpoint of a shorter finished cell of its lineage when there is one
/// ([`checkpoint::continuable`]); an empty log and 0 seconds without either.
fn resume(
    cell: &Cell,
    ckpt_path: &Path,
    algorithm: &mut dyn algo::Algorithm,
    training: &mut algo::Training,
    opts: &RunOptions,
    pb: &ProgressBar,
) -> Result<Resumed, RunError> {
    let (ck, continued_from) = match checkpoint::load(ckpt_path, cell) {
        Some(ck) => (ck, None),
        None => {
            let Some(ck) = checkpoint::continuable(&opts.results_root, cell).and_then(|(_, path)| checkpoint::load_final(&path, cell)) else {
                return Ok(Resumed { log: CellLog::default(), wall_seconds: 0.0, continued_from: None });
            };
            let from = provenance::ContinuedFrom { cell: ck.hash().to_string(), timesteps: ck.collector.global_step() };
            (ck, Some(from))
        }
    };
    let cell_err = |source: AlgoError| cell_error(cell, source);
    algorithm.restore(&ck.algorithm).map_err(cell_err)?;
    training.collector.restore(&ck.collector).map_err(cell_err)?;
    training.update = ck.update;
    pb.inc(training.collector.global_step().min(cell.budget.total_timesteps));
    if !opts.progress {
        let how = match &continued_from {
            None => "resuming from its checkpoint".to_string(),
            Some(from) => format!("continuing finished cell {} (budget {})", from.cell, ck.total_timesteps()),
        };
        eprintln!(
            "cell {} ({}, {}, seed {}): {how} at update {} ({} timesteps)",
            cell.hash,
            cell.env,
            cell.row_label(),
            cell.seed,
            ck.update,
            training.collector.global_step()
        );
    }
    Ok(Resumed { log: ck.log, wall_seconds: ck.wall_seconds, continued_from })
}

/// Writes the cell's logs and provenance into a fresh temporary directory beside its final
/// one, and returns it.
fn write_files(root: &Path, cell: &Cell, log: &CellLog, prov: &provenance::Provenance) -> Result<PathBuf, RunError> {
    let tmp = root.join(&cell.spec).join(format!(".tmp-{}-{}", temp_owner(), cell.hash));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    for (name, frame) in [("episodes.parquet", log.episodes_frame()), ("updates.parquet", log.updates_frame())] {
        let path = tmp.join(name);
        let mut df = frame.map_err(|source| RunError::Parquet { path: path.clone(), source })?;
        logs::write_parquet(&mut df, &path).map_err(|source| RunError::Parquet { path: path.clone(), source })?;
    }
    let path = tmp.join("provenance.json");
    let json = serde_json::to_string_pretty(prov).expect("provenance serialises");
    std::fs::write(&path, json).map_err(io(&path))?;
    Ok(tmp)
}

/// Renames the written `tmp` into the cell's directory (unless another process finished the
/// cell first) and removes the checkpoint that has served.
fn install(root: &Path, cell: &Cell, tmp: &Path, ckpt_path: &Path) -> Result<(), RunError> {
    let final_dir = cell_dir(root, cell);
    if final_dir.exists() {
        // A damaged directory, or another process finished it first.
        if is_finished(root, cell) {
            std::fs::remove_dir_all(tmp).map_err(io(tmp))?;
            return Ok(());
        }
        std::fs::remove_dir_all(&final_dir).map_err(io(&final_dir))?;
    }
    std::fs::rename(tmp, &final_dir).map_err(io(&final_dir))?;
    if ckpt_path.exists() {
        std::fs::remove_file(ckpt_path).map_err(io(ckpt_path))?;
    }
    Ok(())
}
