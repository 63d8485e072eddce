//! What the queue says: `squeue` and `sacct`.

use super::*;

pub(super) fn run_command(program: &str, args: &[&str]) -> Result<String, SlurmError> {
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
