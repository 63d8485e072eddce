//! The command line: `acktr reproduce | check | plan | report | list | status | bench | run-cell`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::nets::Engine;
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
    /// Run every network on this engine (`cpu`, or `cuda` in a build with `--features
    /// cuda`), over the spec's `engine:`; it changes the cells' keys (README "GPU engine").
    #[arg(long, global = true, value_parser = Engine::parse)]
    pub engine: Option<Engine>,
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
        #[arg(long, value_parser = at_least_one_job)]
        jobs: Option<usize>,
        /// Threads each cell uses: its environment copies, its network's products, K-FAC's
        /// statistics and pipelined eigendecompositions (default 1; the results are the same
        /// bits for every count).
        #[arg(long, visible_alias = "env-threads", default_value_t = 1, value_parser = at_least_one)]
        threads: usize,
        /// Do not draw a progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Checkpoint each running cell every this many minutes of wall time (0: after every
        /// update; a negative value: never).
        #[arg(long, default_value_t = run::DEFAULT_CHECKPOINT_MINUTES, allow_negative_numbers = true)]
        checkpoint_minutes: f64,
        #[command(flatten)]
        slurm: SlurmArgs,
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
        /// Refuse to run unless the plan's digest (`acktr plan` prints it) is this one: an
        /// array task names its cell by index, so an edited spec must not shift it.
        #[arg(long)]
        plan_digest: Option<String>,
        /// As for `reproduce`.
        #[arg(long, default_value_t = run::DEFAULT_CHECKPOINT_MINUTES, allow_negative_numbers = true)]
        checkpoint_minutes: f64,
        /// As for `reproduce`.
        #[arg(long, visible_alias = "env-threads", default_value_t = 1, value_parser = at_least_one)]
        threads: usize,
    },
    /// Where each cell stands: finished, damaged, queued or running on Slurm, failed (with
    /// its task's log), interrupted (with its checkpoint's progress) or to do.
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
    /// Run a spec's cells into a fresh directory and compare them with reference results,
    /// row by row: identical, same, better or worse. Exit 0 when no row is worse, 1 when
    /// one is, 2 on bad input (README "Regression checks").
    Check {
        spec: String,
        #[arg(long, default_value = spec::PAPER_PROFILE)]
        profile: String,
        /// Root directory of the reference results (default: --results).
        #[arg(long)]
        against: Option<PathBuf>,
        /// Where the new run goes: OUT/<build id>/<spec>/ (the build id is a digest of this
        /// executable, so a finished cell is reused only by the build that made it).
        #[arg(long, default_value = "target/acktr-check")]
        out: PathBuf,
        /// Cells run in parallel (default: the number of CPUs).
        #[arg(long, value_parser = at_least_one_job)]
        jobs: Option<usize>,
        /// As for `reproduce`.
        #[arg(long, visible_alias = "env-threads", default_value_t = 1, value_parser = at_least_one)]
        threads: usize,
        /// Shift every seed by this much (new cells: how often a check flags a row when
        /// nothing changed, its false-alarm rate).
        #[arg(long, default_value_t = 0)]
        seed_offset: u64,
        /// Make the new run the reference, after printing the comparison: its cells replace
        /// the reference's, and the reference's report is rewritten.
        #[arg(long)]
        bless: bool,
        /// Do not draw a progress bar.
        #[arg(long)]
        no_progress: bool,
    },
    /// Rebuild a spec's report from whatever results exist.
    Report {
        spec: String,
        #[arg(long, default_value = spec::PAPER_PROFILE)]
        profile: String,
    },
    /// Write the book's reproductions page and the README's status table from the specs and
    /// the committed results (with `--check`: only say whether they are up to date; exit 1
    /// when not).
    Reproductions {
        /// Compare instead of writing.
        #[arg(long)]
        check: bool,
        /// The page.
        #[arg(long, default_value = "docs/src/reproductions.md")]
        page: PathBuf,
        /// The README whose status table is rewritten.
        #[arg(long, default_value = "README.md")]
        readme: PathBuf,
    },
    /// List the specs and their profiles.
    List,
    /// Time environment stepping or training (one thread unless `--threads`); prints one JSON line.
    Bench {
        /// Gymnasium id.
        #[arg(long)]
        env: String,
        #[arg(long, help = run::bench::algo_help())]
        algo: String,
        /// Timesteps to run.
        #[arg(long, default_value_t = 100_000)]
        steps: u64,
        /// Environment copies.
        #[arg(long, default_value_t = 1)]
        num_envs: usize,
        /// Threads the run uses: the copies, the network's products, K-FAC's statistics and
        /// pipelined eigendecompositions (results do not depend on it).
        #[arg(long, visible_alias = "env-threads", default_value_t = 1, value_parser = at_least_one)]
        threads: usize,
        /// Steps of every copy per update (batch = num_envs x steps_per_update).
        #[arg(long, default_value_t = 2500)]
        steps_per_update: usize,
        /// The torso to train with (`mlp64x64`, `atari_acktr`, `nature`, `atari_trpo`,
        /// `pixel_mujoco`), over the configuration's own; Atari games and `--pixels` need a
        /// conv torso.
        #[arg(long)]
        network: Option<String>,
        /// Observe the MuJoCo task through frames of this many pixels a side (the book's
        /// "MuJoCo from pixels"), with `--camera` and `--visuals`.
        #[arg(long, value_parser = at_least_one)]
        pixels: Option<usize>,
        /// With `--pixels`: `free` (Gymnasium's default camera) or a camera of the model.
        #[arg(long, default_value = "free", requires = "pixels")]
        camera: String,
        /// With `--pixels`: `fast` (no multisampling, shadows or reflections) or `default`.
        #[arg(long, default_value = "fast", value_parser = ["fast", "default"], requires = "pixels")]
        visuals: String,
    },
}

/// `reproduce --slurm` and its options (README "Running on a cluster").
#[derive(Debug, clap::Args)]
pub struct SlurmArgs {
    /// Submit the unfinished cells as a Slurm job array (one task per cell) and a report job
    /// after it, instead of running them here.
    #[arg(long)]
    slurm: bool,
    /// Slurm partition.
    #[arg(long, requires = "slurm")]
    partition: Option<String>,
    /// Time limit of each task (HH:MM:SS, D-HH:MM:SS, ...); tasks checkpoint and requeue
    /// themselves shortly before it.
    #[arg(long, requires = "slurm")]
    time: Option<String>,
    /// CPUs per task.
    #[arg(long, requires = "slurm", default_value_t = 1)]
    cpus_per_task: u32,
    /// Memory per task (e.g. 4G).
    #[arg(long, requires = "slurm")]
    mem: Option<String>,
    /// Tasks of the array running at once (the array's %K throttle).
    #[arg(long, requires = "slurm")]
    max_parallel: Option<u32>,
    /// Another sbatch option, one per use (e.g. --sbatch-arg=--account=rl).
    #[arg(long = "sbatch-arg", requires = "slurm", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Write the scripts under results/<spec>/slurm/ without submitting them.
    #[arg(long, requires = "slurm")]
    no_submit: bool,
}

fn load(cli: &Cli, name: &str, profile: &str) -> Result<spec::Spec, spec::SpecError> {
    let path = spec::resolve_path(name, &cli.specs_dir)?;
    let s = spec::load(&path, profile)?;
    match cli.engine {
        None => Ok(s),
        Some(engine) => s.with_engine(engine).map_err(|why| spec::SpecError::Invalid {
            file: path.clone(),
            line: None,
            column: None,
            field: "--engine".into(),
            message: why.to_string(),
        }),
    }
}

/// A count of threads: 1 or more (clap reports anything else, exit code 2).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a number of threads (1 or more)")),
    }
}

/// A count of cells run at once: 1 or more (clap reports anything else, exit code 2).
fn at_least_one_job(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a number of cells to run at once (1 or more)")),
    }
}

/// Bad input on the command line that clap cannot see: exit code 2, one line naming the
/// flag and its value.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {value}: {why}")]
pub struct BadFlag {
    pub flag: &'static str,
    pub value: String,
    pub why: String,
}

/// An error and its causes on one line, each cause once (a cause whose text the message
/// already carries is not repeated).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !line.contains(&c) {
            line.push_str(": ");
            line.push_str(&c);
        }
    }
    line
}

/// `--checkpoint-minutes`: negative (or not a number) means never.
fn checkpoint_every(minutes: f64) -> Option<std::time::Duration> {
    (minutes >= 0.0 && minutes.is_finite()).then(|| std::time::Duration::from_secs_f64(minutes.min(1e12) * 60.0))
}

/// Runs the command line; errors from bad input exit with code 2, others with 1, each as
/// one line on stderr.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if cli.results.exists() && !cli.results.is_dir() {
        eprintln!("error: {}", BadFlag { flag: "--results", value: cli.results.display().to_string(), why: "not a directory".into() });
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    match dispatch(&cli) {
        Ok(code) => Ok(code),
        Err(e)
            if e.downcast_ref::<spec::SpecError>().is_some()
                || e.downcast_ref::<BadFlag>().is_some()
                || e.downcast_ref::<run::bench::BenchError>().is_some_and(run::bench::BenchError::is_bad_input)
                || e.downcast_ref::<run::slurm::SlurmError>().is_some_and(run::slurm::SlurmError::is_bad_input)
                || e.downcast_ref::<report::check::CheckError>().is_some_and(report::check::CheckError::is_bad_input)
                || e.downcast_ref::<report::reproductions::ReproductionsError>().is_some_and(report::reproductions::ReproductionsError::is_bad_input) =>
        {
            eprintln!("error: {}", one_line(&e));
            Ok(ExitCode::from(EXIT_BAD_INPUT))
        }
        Err(e) if matches!(e.downcast_ref::<run::RunError>(), Some(run::RunError::Stopped { .. })) => {
            eprintln!("{e}");
            Ok(ExitCode::from(run::EXIT_STOPPED))
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            Ok(ExitCode::FAILURE)
        }
    }
}

fn dispatch(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Bench { env, algo, steps, num_envs, threads, steps_per_update, network, pixels, camera, visuals } => {
            let observe = match pixels {
                None => crate::env::Observe::State,
                Some(size) => crate::env::Observe::Pixels(crate::env::PixelSettings {
                    size: *size,
                    camera: crate::env::PixelCamera::from(camera.clone()),
                    visuals: if visuals == "fast" { crate::env::Visuals::Fast } else { crate::env::Visuals::Default },
                }),
            };
            let r = run::bench::bench(&run::bench::BenchOptions {
                env: env.clone(),
                algo: algo.clone(),
                network: network.clone(),
                steps: *steps,
                num_envs: *num_envs,
                threads: *threads,
                steps_per_update: *steps_per_update,
                engine: cli.engine,
                observe,
            })?;
            println!("{}", serde_json::to_string(&r)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Reproductions { check, page, readme } => reproductions(cli, *check, page, readme),
        Command::List => {
            list(cli);
            Ok(ExitCode::SUCCESS)
        }
        Command::RunCell { spec: name, profile, index, plan_digest, checkpoint_minutes, threads } => {
            run_cell(cli, &load(cli, name, profile)?, *index, plan_digest.as_deref(), *checkpoint_minutes, *threads)
        }
        Command::Status { spec: name, profile } => {
            print_status(&load(cli, name, profile)?, &cli.results);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan { spec: name, profile } => {
            print_plan(&load(cli, name, profile)?, &cli.results);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { spec: name, profile, against, out, jobs, threads, seed_offset, bless, no_progress } => {
            let s = load(cli, name, profile)?.with_seed_offset(*seed_offset);
            let reference_root = against.clone().unwrap_or_else(|| cli.results.clone());
            let opts = run::RunOptions {
                results_root: out.join(run::provenance::build_id()),
                jobs: jobs.unwrap_or_else(cpus),
                threads: *threads,
                progress: !no_progress && std::io::stderr().is_terminal(),
                checkpoint_every: checkpoint_every(run::DEFAULT_CHECKPOINT_MINUTES),
            };
            check(&s, &reference_root, &opts, *bless)
        }
        Command::Report { spec: name, profile } => {
            write_report(&load(cli, name, profile)?, &cli.results)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reproduce { spec: name, profile, jobs, threads, no_progress, checkpoint_minutes, slurm } => {
            let s = load(cli, name, profile)?;
            if slurm.slurm {
                return submit_slurm(&s, &cli.results, slurm, *checkpoint_minutes);
            }
            let opts = run::RunOptions {
                results_root: cli.results.clone(),
                jobs: jobs.unwrap_or_else(cpus),
                threads: *threads,
                progress: !no_progress && std::io::stderr().is_terminal(),
                checkpoint_every: checkpoint_every(*checkpoint_minutes),
            };
            reproduce(&s, &cli.results, &opts)
        }
    }
}

/// The number of CPUs (the default of `--jobs`).
fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// A command-line flag that does not fit the spec `s` (exit code 2, naming the spec's file).
fn spec_flag_error(s: &spec::Spec, flag: &str, message: String) -> anyhow::Error {
    spec::SpecError::Invalid { file: s.path.clone(), line: None, column: None, field: flag.into(), message }.into()
}

/// `acktr reproduce` (locally): the unfinished cells, then the report.
fn reproduce(s: &spec::Spec, results: &std::path::Path, opts: &run::RunOptions) -> anyhow::Result<ExitCode> {
    run::stop_on_signals()?;
    let summary = run::reproduce(s, opts)?;
    eprintln!(
        "{}: {} cells, {} already finished, {} run ({} timesteps), {} copied from other specs{}",
        s.name,
        summary.cells_total,
        summary.cells_already_finished,
        summary.cells_run,
        summary.timesteps_run,
        summary.cells_reused,
        match summary.cells_elsewhere {
            0 => String::new(),
            n => format!(", {n} left to the other process running them (`acktr status {}` follows them)", s.name),
        }
    );
    write_report(s, results)
}

/// Writes the report and says where.
fn write_report(s: &spec::Spec, results: &std::path::Path) -> anyhow::Result<ExitCode> {
    let (r, path) = report::write(s, results)?;
    println!("wrote {} ({}/{} cells finished)", path.display(), r.cells_finished, r.cells_total);
    Ok(ExitCode::SUCCESS)
}

/// `acktr run-cell`: one cell of the plan, by index, from its checkpoint if it has one.
fn run_cell(cli: &Cli, s: &spec::Spec, index: usize, plan_digest: Option<&str>, checkpoint_minutes: f64, threads: usize) -> anyhow::Result<ExitCode> {
    let cells = s.cells();
    let total = cells.len();
    if let Some(want) = plan_digest {
        let have = run::slurm::plan_digest(&cells);
        if have != want {
            return Err(spec_flag_error(
                s,
                "--plan-digest",
                format!("the plan's digest is {have}, not {want}: the spec (or profile) changed since this cell's index was given; submit again"),
            ));
        }
    }
    if index >= total {
        return Err(spec_flag_error(s, "--index", format!("the plan has {total} cells (indices 0 to {}), got {index}", total.saturating_sub(1))));
    }
    let opts = run::RunOptions { results_root: cli.results.clone(), jobs: 1, threads, progress: false, checkpoint_every: checkpoint_every(checkpoint_minutes) };
    run::stop_on_signals()?;
    let outcome = run::run_one(s, &opts, index)?;
    let cell = &cells[index];
    let what = match outcome {
        run::CellOutcome::AlreadyFinished => "already finished",
        run::CellOutcome::Reused => "copied from another spec",
        run::CellOutcome::Ran => "done",
    };
    println!("cell {index}/{total} {what}: {} {} seed {} ({})", cell.env, cell.row_label(), cell.seed, cell.hash);
    Ok(ExitCode::SUCCESS)
}

/// `acktr list`.
fn list(cli: &Cli) {
    for name in spec::list_specs(&cli.specs_dir) {
        let path = cli.specs_dir.join(format!("{name}.yaml"));
        match spec::load(&path, spec::PAPER_PROFILE) {
            Ok(s) => println!("{name:<12} {} [{}] profiles: {}", s.title, s.reproduces, s.profiles.join(", ")),
            Err(e) => println!("{name:<12} (invalid: {e})"),
        }
    }
}

/// `acktr plan`: the cells, their budgets and whether they are finished.
fn print_plan(s: &spec::Spec, results: &std::path::Path) {
    let cells = s.cells();
    println!("# {} — profile `{}`", s.title, s.profile);
    println!("{:<18} {:<16} {:<24} {:>6} {:>12} {:>9}  status", "hash", "env", "algorithm", "seed", "timesteps", "batch");
    let mut total = 0u64;
    for c in &cells {
        let status = match run::cell_state(results, c) {
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
    println!("{} cells, {} timesteps in total; plan digest {}", cells.len(), total, run::slurm::plan_digest(&cells));
}

/// `acktr reproductions [--check]`.
fn reproductions(cli: &Cli, check: bool, page: &PathBuf, readme: &PathBuf) -> anyhow::Result<ExitCode> {
    if !check {
        let changed = report::reproductions::write(&cli.specs_dir, &cli.results, page, readme)?;
        println!("{} {} and the status table of {}", if changed { "wrote" } else { "unchanged:" }, page.display(), readme.display());
        return Ok(ExitCode::SUCCESS);
    }
    let pages = report::reproductions::render(&cli.specs_dir, &cli.results)?;
    let current = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let spliced = report::reproductions::splice_readme(&current(readme), readme, &pages.status)?;
    let stale: Vec<String> = [(page, pages.page == current(page)), (readme, spliced == current(readme))]
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(p, _)| p.display().to_string())
        .collect();
    if stale.is_empty() {
        println!("up to date: {} and the status table of {}", page.display(), readme.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!("out of date: {}; run `acktr reproductions`", stale.join(", "));
    Ok(ExitCode::from(1))
}

/// `acktr check`: every input checked before anything runs or is written.
fn check(s: &spec::Spec, reference_root: &std::path::Path, opts: &run::RunOptions, bless: bool) -> anyhow::Result<ExitCode> {
    use report::check::{self, CheckError};
    if s.seeds.len() < 2 {
        return Err(CheckError::TooFewSeeds { file: s.path.clone(), profile: s.profile.clone(), n: s.seeds.len() }.into());
    }
    let reference = match check::read_reference(s, reference_root) {
        Ok(r) => Some(r),
        Err(CheckError::NoReference { .. }) if bless => None,
        Err(e) => return Err(e.into()),
    };
    run::stop_on_signals()?;
    let summary = run::reproduce(s, opts)?;
    eprintln!(
        "{}: {} cells under {}, {} already finished, {} run",
        s.name,
        summary.cells_total,
        run::spec_dir(&opts.results_root, s).display(),
        summary.cells_already_finished,
        summary.cells_run
    );
    report::write(s, &opts.results_root)?;
    let now = check::read_plan_cells(s, &opts.results_root)?;
    let run_dir = run::spec_dir(&opts.results_root, s);
    let mut worse = 0;
    if let Some(reference) = reference {
        let c = check::compare(s, &reference, &now, &run::spec_dir(reference_root, s), &run_dir)?;
        check::write(&c, &run_dir)?;
        print!("{}", check::render_markdown(&c));
        println!("wrote {}", run_dir.join(check::CHECK_FILES[0]).display());
        worse = c.worse().len();
    } else {
        println!("no reference under {}: the new run becomes it", run::spec_dir(reference_root, s).display());
    }
    if bless {
        let b = check::bless(s, &opts.results_root, reference_root)?;
        let dest = run::spec_dir(reference_root, s);
        println!(
            "blessed {}: {} cells added, {} replaced, {} removed; report rewritten",
            dest.display(),
            b.added.len(),
            b.replaced.len(),
            b.removed.len()
        );
        for h in &b.removed {
            println!("  removed {}", dest.join(h).display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    Ok(if worse > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn submit_slurm(
    s: &spec::Spec,
    results: &std::path::Path,
    a: &SlurmArgs,
    checkpoint_minutes: f64,
) -> anyhow::Result<ExitCode> {
    let opts = run::slurm::SlurmOptions {
        partition: a.partition.clone(),
        time: a.time.clone(),
        cpus_per_task: a.cpus_per_task,
        mem: a.mem.clone(),
        max_parallel: a.max_parallel,
        sbatch_args: a.sbatch_args.clone(),
        checkpoint_minutes,
        no_submit: a.no_submit,
    };
    let sub = run::slurm::submit(s, results, &opts)?;
    let total = s.cells().len();
    for (cell, task) in &sub.already_queued {
        eprintln!("cell {cell}: already queued or running as task {task}; not submitted again");
    }
    for p in &sub.written {
        println!("wrote {}", p.display());
    }
    for (id, script, n) in &sub.arrays {
        println!("submitted job {id}: {n} cells ({})", script.display());
    }
    if let Some((id, script)) = &sub.report {
        println!(
            "submitted job {id}: the report, after the arrays ({})",
            script.display()
        );
    }
    let submitted: usize = sub.arrays.iter().map(|a| a.2).sum();
    if a.no_submit {
        eprintln!("{}: {total} cells, {} finished; scripts written, not submitted (`sbatch --parsable SCRIPT`)", s.name, sub.finished);
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "{}: {total} cells, {} finished, {} already queued, {submitted} submitted; `acktr status {}{}` follows them",
        s.name,
        sub.finished,
        sub.already_queued.len(),
        s.name,
        if s.profile == spec::PAPER_PROFILE { String::new() } else { format!(" --profile {}", s.profile) }
    );
    if sub.finished == total {
        let (r, path) = report::write(s, results)?;
        println!(
            "every cell is finished; wrote {} ({}/{} cells finished)",
            path.display(),
            r.cells_finished,
            r.cells_total
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `acktr status`: one line per cell, then the counts.
fn print_status(s: &spec::Spec, results: &std::path::Path) {
    use run::slurm::CellStatus;
    let cells = s.cells();
    let (states, note) = run::slurm::status(s, results);
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for (i, (c, (st, progress))) in cells.iter().zip(&states).enumerate() {
        let ck = progress
            .map(|p| {
                let recent = match p.recent_mean {
                    Some(m) => format!(
                        ", mean of the last {} {m:.2}",
                        p.episodes.min(run::checkpoint::PROGRESS_WINDOW as u64)
                    ),
                    None => String::new(),
                };
                format!(
                    "checkpoint at update {}, {}/{} timesteps, {} episodes{recent}",
                    p.updates, p.timesteps, c.budget.total_timesteps, p.episodes
                )
            })
            .unwrap_or_default();
        let with_ck = |text: String| {
            if ck.is_empty() {
                text
            } else {
                format!("{text}; {ck}")
            }
        };
        let (key, text) = match st {
            CellStatus::Finished => ("finished", "finished".to_string()),
            CellStatus::Damaged(why) => ("damaged", format!("damaged ({why})")),
            CellStatus::Queued {
                task,
                state,
                detail,
            } if state == "RUNNING" || state == "COMPLETING" => (
                "running",
                with_ck(format!("running (task {task} on {detail})")),
            ),
            CellStatus::Queued {
                task,
                state,
                detail,
            } => (
                "pending",
                with_ck(format!("{} (task {task}: {detail})", state.to_lowercase())),
            ),
            CellStatus::Failed { task, how, log } => (
                "failed",
                with_ck(format!(
                    "failed (task {task}: {how}; log {})",
                    log.display()
                )),
            ),
            CellStatus::Running { owner } => ("running", with_ck(format!("running (process {owner})"))),
            CellStatus::Interrupted => ("interrupted", ck.clone()),
            CellStatus::ToDo => (
                "to do",
                match run::checkpoint::continuable(results, c) {
                    Some((t, _)) => format!("to do (continues a finished cell's {t} timesteps)"),
                    None => "to do".to_string(),
                },
            ),
        };
        *counts.entry(key).or_default() += 1;
        println!(
            "{i:>5} {:<18} {:<16} {:<24} {:>6}  {text}",
            c.hash,
            c.env,
            c.row_label(),
            c.seed
        );
    }
    if let Some(n) = note {
        println!("note: {n}");
    }
    let order = [
        "finished",
        "running",
        "pending",
        "failed",
        "interrupted",
        "damaged",
        "to do",
    ];
    let parts: Vec<String> = order
        .iter()
        .map(|k| format!("{} {k}", counts.get(k).copied().unwrap_or(0)))
        .collect();
    println!("{} cells: {}", cells.len(), parts.join(", "));
}
