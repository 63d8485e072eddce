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

/// What `--slurm` was given.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// `--time`, as Slurm writes it (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`).
    pub time: Option<String>,
    pub cpus_per_task: u32,
    /// `--mem`, e.g. `4G`.
    pub mem: Option<String>,
    /// The array's `%K` throttle.
    pub max_parallel: Option<u32>,
    /// Further `sbatch` options, one `#SBATCH` argument each (e.g. `--account=rl`).
    pub sbatch_args: Vec<String>,
    /// `run-cell --checkpoint-minutes` in the tasks.
    pub checkpoint_minutes: f64,
    /// Write the scripts but do not submit them.
    pub no_submit: bool,
}

impl SlurmOptions {
    /// Checks every user-supplied value; the error names the flag and the value.
    pub fn check(&self) -> Result<(), SlurmError> {
        let bad = |flag: &str, value: &str, why: &str| SlurmError::BadArgument {
            flag: flag.into(),
            value: value.into(),
            why: why.into(),
        };
        if let Some(p) = &self.partition {
            if p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ','))
            {
                return Err(bad("--partition", p, "a partition name (or a comma-separated list) of letters, digits, `-`, `_` and `.`"));
            }
        }
        if let Some(t) = &self.time {
            if !valid_time(t) {
                return Err(bad(
                    "--time",
                    t,
                    "Slurm's time format: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS",
                ));
            }
        }
        if self.cpus_per_task == 0 {
            return Err(bad("--cpus-per-task", "0", "at least 1"));
        }
        if let Some(m) = &self.mem {
            let digits = m.trim_end_matches(['K', 'M', 'G', 'T']);
            if digits.is_empty()
                || digits.len() + 1 < m.len()
                || !digits.chars().all(|c| c.is_ascii_digit())
            {
                return Err(bad("--mem", m, "a size such as 4000, 4000M or 4G"));
            }
        }
        if self.max_parallel == Some(0) {
            return Err(bad("--max-parallel", "0", "at least 1"));
        }
        for a in &self.sbatch_args {
            if !a.starts_with('-') {
                return Err(bad(
                    "--sbatch-arg",
                    a,
                    "an sbatch option, starting with `-` (e.g. --sbatch-arg=--account=rl)",
                ));
            }
            sbatch_word(a).map_err(|why| bad("--sbatch-arg", a, &why))?;
            for own in [
                "--array",
                "-a",
                "--output",
                "-o",
                "--error",
                "-e",
                "--signal",
                "--open-mode",
                "--dependency",
                "-d",
                "--parsable",
            ] {
                if a == own
                    || a.starts_with(&format!("{own}="))
                    || (own.len() == 2 && a.starts_with(own) && a.len() > 2 && !a.starts_with("--"))
                {
                    return Err(bad("--sbatch-arg", a, "set by the harness itself (the array, its logs, its signal and dependency)"));
                }
            }
        }
        Ok(())
    }
}

/// Slurm's `--time` formats.
fn valid_time(t: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.len() <= 6 && s.chars().all(|c| c.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    if days.is_some_and(|d| !num(d)) {
        return false;
    }
    let parts: Vec<&str> = rest.split(':').collect();
    parts.iter().all(|p| num(p)) && (1..=3).contains(&parts.len())
}

/// A value as one bash word: single-quoted, with each `'` written `'\''`.
pub fn bash_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A value as one argument of an `#SBATCH` line: double-quoted, with `\` and `"` escaped
/// (Slurm's `_get_argument` in `src/sbatch/opt.c` groups quoted text, takes the character
/// after a backslash literally, and ends the line at an unquoted `#`). Line breaks, other
/// control characters and `packjob` (which sbatch blanks out of every `#SBATCH` line)
/// cannot be carried. (A path in a file-name pattern has its `%` doubled by the caller.)
pub fn sbatch_word(s: &str) -> Result<String, String> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "contains the control character {c:?}, which an #SBATCH line cannot carry"
        ));
    }
    if s.to_ascii_lowercase().contains("packjob") {
        return Err("contains `packjob`, which sbatch removes from #SBATCH lines".into());
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// A path as text, or a bad-input error naming the flag.
fn path_text<'a>(flag: &str, p: &'a Path) -> Result<&'a str, SlurmError> {
    p.to_str().ok_or_else(|| SlurmError::BadArgument {
        flag: flag.into(),
        value: p.display().to_string(),
        why: "not valid UTF-8".into(),
    })
}

/// Sorted, distinct indices as Slurm's array expression (`0-3,5,7-9`).
pub fn array_expression(ids: &[usize]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if end == start {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
        i += 1;
    }
    out
}

/// Splits sorted plan indices into arrays whose task ids (index minus the chunk's first
/// index, its offset) stay below `max_array_size`: `(offset, indices)` per array.
pub fn split_arrays(indices: &[usize], max_array_size: usize) -> Vec<(usize, Vec<usize>)> {
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for &i in indices {
        match out.last_mut() {
            Some((offset, v)) if i - *offset < max_array_size.max(1) => v.push(i),
            _ => out.push((i, vec![i])),
        }
    }
    out
}

/// A digest of the plan (its cells' hashes in order): a task refuses to run when the spec
/// has changed since its array was submitted, so an index never names another cell.
pub fn plan_digest(cells: &[Cell]) -> String {
    let mut h = Sha256::new();
    for c in cells {
        h.update(c.hash.as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Everything a script names: absolute paths and the spec's identity.
#[derive(Debug, Clone)]
pub struct ScriptContext {
    pub spec_name: String,
    pub profile: String,
    pub spec_file: PathBuf,
    pub results_root: PathBuf,
    pub exe: PathBuf,
    pub log_dir: PathBuf,
    pub plan_digest: String,
    /// `--engine` as given to `reproduce` (passed on to the tasks and the report, whose
    /// plan it changes); None without one.
    pub engine: Option<crate::nets::Engine>,
}

fn header(
    s: &mut String,
    ctx: &ScriptContext,
    opts: &SlurmOptions,
    job_name: &str,
    output: &str,
) -> Result<(), SlurmError> {
    let log_dir = path_text("--results", &ctx.log_dir)?;
    let line = |s: &mut String, opt: &str, value: &str| -> Result<(), SlurmError> {
        let w = sbatch_word(value).map_err(|why| SlurmError::BadArgument {
            flag: opt.into(),
            value: value.into(),
            why,
        })?;
        let _ = writeln!(s, "#SBATCH {opt}={w}");
        Ok(())
    };
    line(s, "--job-name", job_name)?;
    // The directory's own `%` doubled; the pattern's (`%A_%a`, `%j`) kept.
    line(
        s,
        "--output",
        &format!("{}/{output}", log_dir.replace('%', "%%")),
    )?;
    let _ = writeln!(s, "#SBATCH --open-mode=append");
    let _ = writeln!(s, "#SBATCH --cpus-per-task={}", opts.cpus_per_task);
    if let Some(p) = &opts.partition {
        line(s, "--partition", p)?;
    }
    if let Some(t) = &opts.time {
        line(s, "--time", t)?;
    }
    if let Some(m) = &opts.mem {
        line(s, "--mem", m)?;
    }
    for a in &opts.sbatch_args {
        let w = sbatch_word(a).map_err(|why| SlurmError::BadArgument {
            flag: "--sbatch-arg".into(),
            value: a.clone(),
            why,
        })?;
        let _ = writeln!(s, "#SBATCH {w}");
    }
    Ok(())
}

fn body_vars(s: &mut String, ctx: &ScriptContext) -> Result<(), SlurmError> {
    let _ = writeln!(
        s,
        "acktr={}",
        bash_word(path_text("acktr executable", &ctx.exe)?)
    );
    let _ = writeln!(
        s,
        "spec={}",
        bash_word(path_text("spec file", &ctx.spec_file)?)
    );
    let _ = writeln!(
        s,
        "results={}",
        bash_word(path_text("--results", &ctx.results_root)?)
    );
    let _ = writeln!(s, "profile={}", bash_word(&ctx.profile));
    Ok(())
}

/// `--engine NAME ` when `reproduce` was given one, else nothing.
fn engine_flag(ctx: &ScriptContext) -> String {
    ctx.engine.map(|e| format!("--engine {} ", e.name())).unwrap_or_default()
}

/// What an array task runs, after its `#SBATCH` lines and variables (`{offset}`,
/// `{minutes}`, `{exit_stopped}` and `{max_requeues}` filled in).
const TASK_BODY: &str = r#"index=$(({offset} + SLURM_ARRAY_TASK_ID))
task="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
export POLARS_MAX_THREADS="${SLURM_CPUS_PER_TASK:-1}"
echo "acktr: task $task (cell $index) on $(hostname), attempt $((${SLURM_RESTART_COUNT:-0} + 1))"
# USR1 (the time limit is near) and TERM (scancel, requeue): the cell checkpoints and stops.
signal= child=
forward() { signal=$1; [ -n "$child" ] && kill -"$1" "$child" 2>/dev/null; }
trap 'forward USR1' USR1
trap 'forward TERM' TERM
"$acktr" --results "$results" {engine}run-cell "$spec" --profile "$profile" --index "$index" --plan-digest "$plan" --checkpoint-minutes {minutes} --threads "${SLURM_CPUS_PER_TASK:-1}" &
child=$!
while :; do
  wait "$child"; rc=$?
  # a trapped signal interrupts wait: wait again for the cell's own exit
  if [ "$rc" -gt 128 ] && kill -0 "$child" 2>/dev/null; then continue; fi
  break
done
echo "acktr: task $task (cell $index) exit $rc"
if [ "$rc" = {exit_stopped} ] && [ "$signal" = USR1 ] && [ "${SLURM_RESTART_COUNT:-0}" -lt {max_requeues} ]; then
  echo "acktr: checkpointed before the time limit; requeueing $task"
  scontrol requeue "$task"
fi
exit "$rc"
"#;

/// The array script for the cells `indices` (plan indices, sorted), as task ids
/// `index - offset`.
pub fn array_script(
    ctx: &ScriptContext,
    opts: &SlurmOptions,
    offset: usize,
    indices: &[usize],
) -> Result<String, SlurmError> {
    let ids: Vec<usize> = indices.iter().map(|i| i - offset).collect();
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# Generated by `acktr reproduce {} --profile {} --slurm` (acktr {}).",
        ctx.spec_name,
        ctx.profile,
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        s,
        "# Array task T runs cell {offset}+T of the plan (`acktr plan`); {} cells.",
        indices.len()
    );
    let throttle = opts
        .max_parallel
        .map(|k| format!("%{k}"))
        .unwrap_or_default();
    let _ = writeln!(s, "#SBATCH --array={}{throttle}", array_expression(&ids));
    header(
        &mut s,
        ctx,
        opts,
        &format!("acktr-{}", ctx.spec_name),
        "%A_%a.out",
    )?;
    let _ = writeln!(s, "#SBATCH --signal=B:USR1@{SIGNAL_LEAD_SECONDS}");
    let _ = writeln!(s, "#SBATCH --requeue");
    let _ = writeln!(s, "set -u");
    body_vars(&mut s, ctx)?;
    let _ = writeln!(s, "plan={}", bash_word(&ctx.plan_digest));
    let body = TASK_BODY
        .replace("{offset}", &offset.to_string())
        .replace("{minutes}", &opts.checkpoint_minutes.to_string())
        .replace("{engine}", &engine_flag(ctx))
        .replace("{exit_stopped}", &super::EXIT_STOPPED.to_string())
        .replace("{max_requeues}", &MAX_REQUEUES.to_string());
    s.push_str(&body);
    Ok(s)
}

/// The report job's script (submitted with `--dependency=afterany:` on the arrays).
pub fn report_script(ctx: &ScriptContext, opts: &SlurmOptions) -> Result<String, SlurmError> {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(s, "# Generated by `acktr reproduce {} --profile {} --slurm`: the report, once the arrays end.", ctx.spec_name, ctx.profile);
    let report_opts = SlurmOptions {
        max_parallel: None,
        ..opts.clone()
    };
    header(
        &mut s,
        ctx,
        &SlurmOptions {
            cpus_per_task: 1,
            ..report_opts
        },
        &format!("acktr-{}-report", ctx.spec_name),
        "report-%j.out",
    )?;
    let _ = writeln!(s, "set -u");
    body_vars(&mut s, ctx)?;
    let _ = writeln!(s, "export POLARS_MAX_THREADS=1");
    let _ = writeln!(
        s,
        "exec \"$acktr\" --results \"$results\" {}report \"$spec\" --profile \"$profile\"",
        engine_flag(ctx)
    );
    Ok(s)
}

/// What a submitted job runs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// The array of cells (one task per cell).
    Array,
    /// The report job that runs after the array.
    Report,
}

/// One submitted job, as `jobs.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobRecord {
    pub job_id: String,
    /// `array` or `report` in `jobs.json`.
    pub kind: JobKind,
    pub profile: String,
    pub plan_digest: String,
    /// Task `T` runs plan cell `offset + T`.
    pub offset: usize,
    /// Plan indices of its tasks (empty for the report job).
    pub cells: Vec<usize>,
    pub script: PathBuf,
    pub submitted_unix: u64,
}

/// The directory of a spec's Slurm scripts, logs and job records.
pub fn slurm_dir(root: &Path, spec: &Spec) -> PathBuf {
    spec_dir(root, spec).join("slurm")
}

fn records_path(root: &Path, spec: &Spec) -> PathBuf {
    slurm_dir(root, spec).join("jobs.json")
}

/// The jobs submitted for this spec (all profiles).
pub fn load_records(root: &Path, spec: &Spec) -> Vec<JobRecord> {
    std::fs::read_to_string(records_path(root, spec))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn save_records(root: &Path, spec: &Spec, records: &[JobRecord]) -> Result<(), SlurmError> {
    let path = records_path(root, spec);
    let text = serde_json::to_string_pretty(records).expect("records serialise");
    Ok(write_atomic(&path, text.as_bytes())?)
}

fn run_command(program: &str, args: &[&str]) -> Result<String, SlurmError> {
    let shown = || {
        std::iter::once(program)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| SlurmError::Missing {
            command: program.into(),
            source,
        })?;
    if !out.status.success() {
        return Err(SlurmError::Failed {
            command: shown(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// A task as the queue shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedTask {
    pub job_id: String,
    pub task_id: usize,
    /// `PENDING`, `RUNNING`, `REQUEUED`, ...
    pub state: String,
    /// The node list when running, the reason when pending.
    pub where_or_why: String,
}

/// The tasks of `job_ids` that `squeue` still lists (pending, running, requeued, ...), one
/// per array element (`-r`; `%F` the array's job id, `%K` the task id).
pub fn queued_tasks(job_ids: &[String]) -> Result<Vec<QueuedTask>, SlurmError> {
    if job_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for id in job_ids {
        // One job at a time: squeue fails as a whole when a listed job has aged out.
        let text = match run_command("squeue", &["-h", "-r", "-j", id, "-o", "%F|%K|%T|%R"]) {
            Ok(t) => t,
            Err(SlurmError::Failed { stderr, .. }) if stderr.contains("Invalid job id") => continue,
            Err(e) => return Err(e),
        };
        for line in text.lines() {
            let f: Vec<&str> = line.splitn(4, '|').collect();
            if f.len() < 4 {
                continue;
            }
            let Ok(task_id) = f[1].trim().parse::<usize>() else {
                continue;
            };
            out.push(QueuedTask {
                job_id: f[0].trim().into(),
                task_id,
                state: f[2].trim().into(),
                where_or_why: f[3].trim().into(),
            });
        }
    }
    Ok(out)
}

/// Ended tasks `scontrol` still remembers (`MinJobAge`): `(job, task) -> (state, exit code)`.
pub fn ended_tasks(job_id: &str) -> BTreeMap<(String, usize), (String, String)> {
    let Ok(text) = run_command("scontrol", &["-o", "show", "job", job_id]) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .map(str::to_string)
        };
        let (Some(job), Some(task), Some(state)) = (
            field("ArrayJobId="),
            field("ArrayTaskId="),
            field("JobState="),
        ) else {
            continue;
        };
        let Ok(task) = task.parse::<usize>() else {
            continue;
        };
        out.insert((job, task), (state, field("ExitCode=").unwrap_or_default()));
    }
    out
}

/// The cluster's `MaxArraySize` (`scontrol show config`), or Slurm's default.
fn max_array_size() -> usize {
    run_command("scontrol", &["show", "config"])
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "MaxArraySize")
                    .then(|| v.trim().parse::<usize>().ok())
                    .flatten()
            })
        })
        .unwrap_or(DEFAULT_MAX_ARRAY_SIZE)
}

/// What a submission did.
#[derive(Debug, Default)]
pub struct Submission {
    /// Array jobs submitted: `(job id, script, cells)`.
    pub arrays: Vec<(String, PathBuf, usize)>,
    /// The report job, if one was submitted.
    pub report: Option<(String, PathBuf)>,
    /// Scripts written without submitting (`--no-submit`).
    pub written: Vec<PathBuf>,
    /// Cells already finished (or copied from another spec).
    pub finished: usize,
    /// Cells left alone because a task of an earlier submission is pending or running.
    pub already_queued: Vec<(usize, String)>,
}

fn absolute(flag: &str, p: &Path) -> Result<PathBuf, SlurmError> {
    std::fs::canonicalize(p).map_err(|e| SlurmError::BadArgument {
        flag: flag.into(),
        value: p.display().to_string(),
        why: e.to_string(),
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Writes and (unless `no_submit`) submits the arrays for `spec`'s unfinished cells and the
/// report job after them.
pub fn submit(
    spec: &Spec,
    results_root: &Path,
    opts: &SlurmOptions,
) -> Result<Submission, SlurmError> {
    opts.check()?;
    let dir = spec_dir(results_root, spec);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let root = absolute("--results", results_root)?;
    let sdir = slurm_dir(&root, spec);
    let log_dir = sdir.join("logs");
    std::fs::create_dir_all(&log_dir).map_err(io(&log_dir))?;
    let cells = spec.cells();
    let ctx = ScriptContext {
        spec_name: spec.name.clone(),
        profile: spec.profile.clone(),
        spec_file: absolute("spec", &spec.path)?,
        results_root: root.clone(),
        exe: std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .map_err(io(Path::new("acktr executable")))?,
        log_dir,
        plan_digest: plan_digest(&cells),
        engine: spec.engine_flag,
    };
    let mut records = load_records(&root, spec);
    let mut sub = Submission::default();
    // Tasks of this plan's earlier submissions that are still queued or running (asked
    // before the cells' files, so a task that ends in between is seen as finished).
    let mut active: BTreeMap<usize, String> = BTreeMap::new();
    let ours: Vec<&JobRecord> = records
        .iter()
        .filter(|r| {
            r.kind == JobKind::Array && r.profile == spec.profile && r.plan_digest == ctx.plan_digest
        })
        .collect();
    if !opts.no_submit && !ours.is_empty() {
        let ids: Vec<String> = ours.iter().map(|r| r.job_id.clone()).collect();
        for t in queued_tasks(&ids)? {
            if let Some(r) = ours.iter().find(|r| r.job_id == t.job_id) {
                active.insert(r.offset + t.task_id, format!("{}_{}", t.job_id, t.task_id));
            }
        }
    }
    let mut todo = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        if cell_state(&root, c) == CellState::Finished || reuse_from_other_spec(&root, c)? {
            sub.finished += 1;
        } else if let Some(task) = active.get(&i) {
            sub.already_queued.push((i, task.clone()));
        } else {
            todo.push(i);
        }
    }
    if todo.is_empty() {
        return Ok(sub);
    }
    let max = if opts.no_submit {
        DEFAULT_MAX_ARRAY_SIZE
    } else {
        max_array_size()
    };
    // Scripts of one submission share a stamp no earlier submission used.
    let mut stamp = unix_now();
    while sdir
        .join(format!(
            "{}-{}-{stamp}-report.sbatch",
            spec.name, spec.profile
        ))
        .exists()
    {
        stamp += 1;
    }
    for (k, (offset, indices)) in split_arrays(&todo, max).into_iter().enumerate() {
        let script = sdir.join(format!("{}-{}-{stamp}-{k}.sbatch", spec.name, spec.profile));
        write_atomic(
            &script,
            array_script(&ctx, opts, offset, &indices)?.as_bytes(),
        )?;
        if opts.no_submit {
            sub.written.push(script);
            continue;
        }
        let job_id = sbatch(&script, &[])?;
        records.push(JobRecord {
            job_id: job_id.clone(),
            kind: JobKind::Array,
            profile: spec.profile.clone(),
            plan_digest: ctx.plan_digest.clone(),
            offset,
            cells: indices.clone(),
            script: script.clone(),
            submitted_unix: unix_now(),
        });
        save_records(&root, spec, &records)?;
        sub.arrays.push((job_id, script, indices.len()));
    }
    let script = sdir.join(format!(
        "{}-{}-{stamp}-report.sbatch",
        spec.name, spec.profile
    ));
    write_atomic(&script, report_script(&ctx, opts)?.as_bytes())?;
    if opts.no_submit {
        sub.written.push(script);
        return Ok(sub);
    }
    // The report waits for every array of this submission and for tasks of earlier ones
    // still in the queue.
    let mut after: BTreeSet<String> = sub.arrays.iter().map(|a| a.0.clone()).collect();
    after.extend(
        sub.already_queued
            .iter()
            .filter_map(|(_, t)| t.split('_').next().map(str::to_string)),
    );
    let dependency = format!(
        "--dependency=afterany:{}",
        after.into_iter().collect::<Vec<_>>().join(":")
    );
    let job_id = sbatch(&script, &[&dependency, "--kill-on-invalid-dep=no"])?;
    records.push(JobRecord {
        job_id: job_id.clone(),
        kind: JobKind::Report,
        profile: spec.profile.clone(),
        plan_digest: ctx.plan_digest.clone(),
        offset: 0,
        cells: Vec::new(),
        script: script.clone(),
        submitted_unix: unix_now(),
    });
    save_records(&root, spec, &records)?;
    sub.report = Some((job_id, script));
    Ok(sub)
}

/// `sbatch --parsable [extra] SCRIPT`, returning the job id.
fn sbatch(script: &Path, extra: &[&str]) -> Result<String, SlurmError> {
    let script_text = path_text("script", script)?;
    let mut args = vec!["--parsable"];
    args.extend_from_slice(extra);
    args.push(script_text);
    let out = run_command("sbatch", &args)?;
    // `--parsable` prints `<id>` or `<id>;<cluster>`.
    let id = out.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(SlurmError::Failed {
            command: format!("sbatch --parsable {script_text}"),
            status: "ok".into(),
            stderr: format!("unexpected output {:?}", out.trim()),
        });
    }
    Ok(id)
}

/// Where one cell stands, on disk and in the queue.
#[derive(Debug, Clone, PartialEq)]
pub enum CellStatus {
    Finished,
    Damaged(String),
    /// In the queue: `(task, state, node list or reason)`.
    Queued {
        task: String,
        state: String,
        detail: String,
    },
    /// Its task ended without finishing the cell: `(task, state and exit code, log)`.
    Failed {
        task: String,
        how: String,
        log: PathBuf,
    },
    /// Not running, with a checkpoint.
    Interrupted,
    ToDo,
}

/// Each cell's status, with its checkpoint progress `(updates, timesteps)` if it has one;
/// and a note when the queue could not be asked.
pub fn status(
    spec: &Spec,
    results_root: &Path,
) -> (Vec<(CellStatus, Option<(u64, u64)>)>, Option<String>) {
    let cells = spec.cells();
    let digest = plan_digest(&cells);
    let records = load_records(results_root, spec);
    let ours: Vec<&JobRecord> = records
        .iter()
        .filter(|r| r.kind == JobKind::Array && r.profile == spec.profile && r.plan_digest == digest)
        .collect();
    let mut note = None;
    let mut queued: BTreeMap<usize, QueuedTask> = BTreeMap::new();
    let mut queue_known = true;
    if !ours.is_empty() {
        match queued_tasks(&ours.iter().map(|r| r.job_id.clone()).collect::<Vec<_>>()) {
            Ok(tasks) => {
                for t in tasks {
                    if let Some(r) = ours.iter().find(|r| r.job_id == t.job_id) {
                        queued.insert(r.offset + t.task_id, t);
                    }
                }
            }
            Err(e) => {
                queue_known = false;
                note = Some(format!(
                    "the queue could not be read ({e}); showing the results directory only"
                ))
            }
        }
    }
    // `scontrol show job`, asked once per job and only for jobs with a task that ended
    // without finishing its cell.
    let mut ended: BTreeMap<String, BTreeMap<(String, usize), (String, String)>> = BTreeMap::new();
    let log_dir = slurm_dir(results_root, spec).join("logs");
    let mut out = Vec::with_capacity(cells.len());
    for (i, c) in cells.iter().enumerate() {
        let progress = checkpoint::progress(&checkpoint::path(results_root, c));
        let submitted = ours.iter().rev().find(|r| r.cells.contains(&i)).filter(|_| queue_known);
        let st = match (cell_state(results_root, c), queued.get(&i)) {
            (CellState::Finished, _) => CellStatus::Finished,
            (_, Some(t)) => CellStatus::Queued {
                task: format!("{}_{}", t.job_id, t.task_id),
                state: t.state.clone(),
                detail: t.where_or_why.clone(),
            },
            (CellState::Damaged(why), None) => CellStatus::Damaged(why),
            (CellState::Missing, None) => match submitted {
                Some(r) => {
                    let task = i - r.offset;
                    let known = ended.entry(r.job_id.clone()).or_insert_with(|| ended_tasks(&r.job_id));
                    let how = match known.get(&(r.job_id.clone(), task)) {
                        Some((state, code)) => format!("{state}, exit code {code}"),
                        None => "ended; Slurm no longer remembers how".into(),
                    };
                    CellStatus::Failed {
                        task: format!("{}_{task}", r.job_id),
                        how,
                        log: log_dir.join(format!("{}_{task}.out", r.job_id)),
                    }
                }
                None if progress.is_some() => CellStatus::Interrupted,
                None => CellStatus::ToDo,
            },
        };
        out.push((st, progress));
    }
    (out, note)
}
