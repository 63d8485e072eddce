//! Where each cell stands, on disk and in the queue.

use super::*;

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
    /// Run by a process holding its lock, outside the queue (`reproduce`, `run-cell`):
    /// `<host>~<pid>`.
    Running { owner: String },
    /// Not running, with a checkpoint.
    Interrupted,
    ToDo,
}

/// Each cell's status, with its checkpoint's progress if it has one;
/// and a note when the queue could not be asked.
pub fn status(
    spec: &Spec,
    results_root: &Path,
) -> (Vec<(CellStatus, Option<checkpoint::Progress>)>, Option<String>) {
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
        let state = cell_state(results_root, c);
        let holder = if state == CellState::Finished { None } else { crate::run::lock::holder(results_root, c) };
        let st = match (state, queued.get(&i)) {
            (CellState::Finished, _) => CellStatus::Finished,
            (_, Some(t)) => CellStatus::Queued {
                task: format!("{}_{}", t.job_id, t.task_id),
                state: t.state.clone(),
                detail: t.where_or_why.clone(),
            },
            (_, None) if holder.is_some() => CellStatus::Running { owner: holder.unwrap_or_default() },
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
