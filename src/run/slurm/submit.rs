//! Submitting a spec's unfinished cells as job arrays and a report job.

use super::*;

/// The cluster's `MaxArraySize` (`scontrol show config`), or Slurm's default.
pub(super) fn max_array_size() -> usize {
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

pub(super) fn absolute(flag: &str, p: &Path) -> Result<PathBuf, SlurmError> {
    std::fs::canonicalize(p).map_err(|e| SlurmError::BadArgument {
        flag: flag.into(),
        value: p.display().to_string(),
        why: e.to_string(),
    })
}

pub(super) fn unix_now() -> u64 {
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
    let active = if opts.no_submit { BTreeMap::new() } else { active_tasks(&records, spec, &ctx.plan_digest)? };
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
    let stamp = fresh_stamp(&sdir, spec);
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
    sub.report = Some(submit_report(&root, spec, &ctx, &mut records, &sub, script)?);
    Ok(sub)
}

/// Tasks of this plan's earlier submissions that are still queued or running, by cell
/// index, as `JOB_TASK` (asked before the cells' files, so a task that ends in between is
/// seen as finished).
fn active_tasks(records: &[JobRecord], spec: &Spec, plan_digest: &str) -> Result<BTreeMap<usize, String>, SlurmError> {
    let mut active: BTreeMap<usize, String> = BTreeMap::new();
    let ours: Vec<&JobRecord> = records
        .iter()
        .filter(|r| r.kind == JobKind::Array && r.profile == spec.profile && r.plan_digest == plan_digest)
        .collect();
    if !ours.is_empty() {
        let ids: Vec<String> = ours.iter().map(|r| r.job_id.clone()).collect();
        for t in queued_tasks(&ids)? {
            if let Some(r) = ours.iter().find(|r| r.job_id == t.job_id) {
                active.insert(r.offset + t.task_id, format!("{}_{}", t.job_id, t.task_id));
            }
        }
    }
    Ok(active)
}

/// A stamp for this submission's scripts that no earlier submission used.
fn fresh_stamp(sdir: &Path, spec: &Spec) -> u64 {
    let mut stamp = unix_now();
    while sdir.join(format!("{}-{}-{stamp}-report.sbatch", spec.name, spec.profile)).exists() {
        stamp += 1;
    }
    stamp
}

/// Submits the report's job, after every array of this submission and the tasks of
/// earlier ones still in the queue, and records it.
fn submit_report(
    root: &Path,
    spec: &Spec,
    ctx: &ScriptContext,
    records: &mut Vec<JobRecord>,
    sub: &Submission,
    script: PathBuf,
) -> Result<(String, PathBuf), SlurmError> {
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
    save_records(root, spec, records)?;
    Ok((job_id, script))
}

/// `sbatch --parsable [extra] SCRIPT`, returning the job id.
pub(super) fn sbatch(script: &Path, extra: &[&str]) -> Result<String, SlurmError> {
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
