//! The command line: `acktr reproduce | plan | report | list`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::{report, run, spec};

/// Exit code for bad input (a spec that cannot be used).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Reference harness for reproducing ACKTR (Wu et al. 2017).
#[derive(Debug, Parser)]
#[command(name = "acktr", version, about)]
pub struct Cli {
    /// Directory holding the specs named on the command line.
    #[arg(long, global = true, default_value = "specs")]
    pub specs_dir: PathBuf,
    /// Root directory of results.
    #[arg(long, global = true, default_value = "results")]
    pub results: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a spec's unfinished cells, then write its report.
    Reproduce {
        /// Spec name (file under --specs-dir) or path.
        spec: String,
        /// Profile that scales the spec (`paper` runs it as written).
        #[arg(long, default_value = spec::PAPER_PROFILE)]
        profile: String,
        /// Cells run in parallel (default: the number of CPUs).
        #[arg(long)]
        jobs: Option<usize>,
        /// Do not draw a progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Checkpoint each running cell every this many minutes of wall time (0: after every
        /// update; a negative value: never).
        #[arg(long, default_value_t = run::DEFAULT_CHECKPOINT_MINUTES, allow_negative_numbers = true)]
        checkpoint_minutes: f64,
    },
    /// Run one cell of a spec's plan (by its index in `plan`'s order), from its checkpoint
    /// if it has one; what a cluster array task runs.
    RunCell {
        spec: String,
        #[arg(long, default_value = spec::PAPER_PROFILE)]
        profile: String,
        /// The cell's index in the plan (0-based).
        #[arg(long)]
        index: usize,
        /// As for `reproduce`.
        #[arg(long, default_value_t = run::DEFAULT_CHECKPOINT_MINUTES, allow_negative_numbers = true)]
        checkpoint_minutes: f64,
    },
    /// Where each cell stands: finished, damaged, interrupted (with its checkpoint's
    /// progress) or to do.
    Status {
        spec: String,
        #[arg(long, default_value = spec::PAPER_PROFILE)]
        profile: String,
    },
    /// Print a spec's cells and total timesteps without running anything.
    Plan {
        spec: String,
        #[arg(long, default_value = spec::PAPER_PROFILE)]
        profile: String,
    },
    /// Rebuild a spec's report from whatever results exist.
    Report {
        spec: String,
        #[arg(long, default_value = spec::PAPER_PROFILE)]
        profile: String,
    },
    /// List the specs and their profiles.
    List,
    /// Time environment stepping or training, single-threaded; prints one JSON line.
    Bench {
        /// Gymnasium id.
        #[arg(long)]
        env: String,
        /// `none` (environment only), `mujoco` (raw MuJoCo stepping, MuJoCo tasks), `a2c`, `acktr`, `acktr:baselines_atari`, `acktr:baselines_mujoco`.
        #[arg(long)]
        algo: String,
        /// Timesteps to run.
        #[arg(long, default_value_t = 100_000)]
        steps: u64,
        /// Environment copies.
        #[arg(long, default_value_t = 1)]
        num_envs: usize,
        /// Steps of every copy per update (batch = num_envs x steps_per_update).
        #[arg(long, default_value_t = 2500)]
        steps_per_update: usize,
    },
}

fn load(cli: &Cli, name: &str, profile: &str) -> Result<spec::Spec, spec::SpecError> {
    let path = spec::resolve_path(name, &cli.specs_dir)?;
    spec::load(&path, profile)
}

/// `--checkpoint-minutes`: negative (or not a number) means never.
fn checkpoint_every(minutes: f64) -> Option<std::time::Duration> {
    (minutes >= 0.0 && minutes.is_finite()).then(|| std::time::Duration::from_secs_f64(minutes.min(1e12) * 60.0))
}

/// Runs the command line; errors from bad input exit with code 2, others with 1.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match dispatch(&cli) {
        Ok(code) => Ok(code),
        Err(e)
            if e.downcast_ref::<spec::SpecError>().is_some()
                || e.downcast_ref::<run::bench::BenchError>().is_some_and(run::bench::BenchError::is_bad_input) =>
        {
            eprintln!("error: {e}");
            Ok(ExitCode::from(EXIT_BAD_INPUT))
        }
        Err(e) => Err(e),
    }
}

fn dispatch(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Bench { env, algo, steps, num_envs, steps_per_update } => {
            let r = run::bench::bench(env, algo, *steps, *num_envs, *steps_per_update)?;
            println!("{}", serde_json::to_string(&r)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            for name in spec::list_specs(&cli.specs_dir) {
                let path = cli.specs_dir.join(format!("{name}.yaml"));
                match spec::load(&path, spec::PAPER_PROFILE) {
                    Ok(s) => println!("{name:<12} {} [{}] profiles: {}", s.title, s.reproduces, s.profiles.join(", ")),
                    Err(e) => println!("{name:<12} (invalid: {e})"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::RunCell { spec: name, profile, index, checkpoint_minutes } => {
            let s = load(cli, name, profile)?;
            let total = s.cells().len();
            if *index >= total {
                return Err(spec::SpecError::Invalid {
                    file: s.path.clone(),
                    line: None,
                    column: None,
                    field: "--index".into(),
                    message: format!("the plan has {total} cells (indices 0 to {}), got {index}", total.saturating_sub(1)),
                }
                .into());
            }
            let opts = run::RunOptions {
                results_root: cli.results.clone(),
                jobs: 1,
                progress: false,
                checkpoint_every: checkpoint_every(*checkpoint_minutes),
            };
            let outcome = run::run_one(&s, &opts, *index)?;
            let cell = &s.cells()[*index];
            let what = match outcome {
                run::CellOutcome::AlreadyFinished => "already finished",
                run::CellOutcome::Reused => "copied from another spec",
                run::CellOutcome::Ran => "done",
            };
            println!("cell {index}/{total} {what}: {} {} seed {} ({})", cell.env, cell.row_label(), cell.seed, cell.hash);
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { spec: name, profile } => {
            let s = load(cli, name, profile)?;
            let cells = s.cells();
            let mut counts = [0usize; 4];
            for (i, c) in cells.iter().enumerate() {
                let state = match run::cell_state(&cli.results, c) {
                    run::CellState::Finished => {
                        counts[0] += 1;
                        "finished".to_string()
                    }
                    run::CellState::Damaged(why) => {
                        counts[1] += 1;
                        format!("damaged ({why})")
                    }
                    run::CellState::Missing => match run::checkpoint::progress(&run::checkpoint::path(&cli.results, c)) {
                        Some((updates, steps)) => {
                            counts[2] += 1;
                            format!("checkpoint at update {updates}, {steps}/{} timesteps", c.budget.total_timesteps)
                        }
                        None => {
                            counts[3] += 1;
                            "to do".to_string()
                        }
                    },
                };
                println!("{i:>5} {:<18} {:<16} {:<24} {:>6}  {state}", c.hash, c.env, c.row_label(), c.seed);
            }
            println!(
                "{} cells: {} finished, {} damaged, {} interrupted or running (with a checkpoint), {} to do",
                cells.len(),
                counts[0],
                counts[1],
                counts[2],
                counts[3]
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan { spec: name, profile } => {
            let s = load(cli, name, profile)?;
            let cells = s.cells();
            println!("# {} — profile `{}`", s.title, s.profile);
            println!("{:<18} {:<16} {:<24} {:>6} {:>12} {:>9}  status", "hash", "env", "algorithm", "seed", "timesteps", "batch");
            let mut total = 0u64;
            for c in &cells {
                let status = match run::cell_state(&cli.results, c) {
                    run::CellState::Finished => "finished",
                    run::CellState::Missing => "todo",
                    run::CellState::Damaged(_) => "damaged",
                };
                println!(
                    "{:<18} {:<16} {:<24} {:>6} {:>12} {:>4}x{:<4}  {status}",
                    c.hash,
                    c.env,
                    c.row_label(),
                    c.seed,
                    c.budget.total_timesteps,
                    c.budget.num_envs,
                    c.budget.steps_per_update
                );
                total += c.budget.total_timesteps;
            }
            println!("{} cells, {} timesteps in total", cells.len(), total);
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { spec: name, profile } => {
            let s = load(cli, name, profile)?;
            let (r, path) = report::write(&s, &cli.results)?;
            println!("wrote {} ({}/{} cells finished)", path.display(), r.cells_finished, r.cells_total);
            Ok(ExitCode::SUCCESS)
        }
        Command::Reproduce { spec: name, profile, jobs, no_progress, checkpoint_minutes } => {
            let s = load(cli, name, profile)?;
            let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let opts = run::RunOptions {
                results_root: cli.results.clone(),
                jobs,
                progress: !no_progress && std::io::stderr().is_terminal(),
                checkpoint_every: checkpoint_every(*checkpoint_minutes),
            };
            let summary = run::reproduce(&s, &opts)?;
            eprintln!(
                "{}: {} cells, {} already finished, {} run ({} timesteps), {} copied from other specs",
                s.name,
                summary.cells_total,
                summary.cells_already_finished,
                summary.cells_run,
                summary.timesteps_run,
                summary.cells_reused
            );
            let (r, path) = report::write(&s, &cli.results)?;
            println!("wrote {} ({}/{} cells finished)", path.display(), r.cells_finished, r.cells_total);
            Ok(ExitCode::SUCCESS)
        }
    }
}
