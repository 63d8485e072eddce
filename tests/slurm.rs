//! `reproduce --slurm`, `run-cell` and `status` without a cluster: the generated scripts
//! carry hostile values as data (run for real with bash), submissions go to stand-ins for
//! `sbatch`, `squeue` and `scontrol` that record what they were asked, and a stop signal
//! checkpoints a running cell. `ci/slurm.sh` runs the same path against a real Slurm.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{cell_dirs, tiny_spec};

/// The results directory of the hostile tests: every shell and Slurm metacharacter.
const HOSTILE: &str = "res 'q' \"d\" $(touch PWNED1) `touch PWNED2`; #h %A %% \\b &|<>*?";

fn setup(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("specs")).unwrap();
    std::fs::write(dir.path().join("specs/tiny.yaml"), spec).unwrap();
    dir
}

/// Runs acktr in `cwd` with a PATH that starts with `fake` (the Slurm stand-ins).
fn acktr_with(cwd: &Path, fake: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acktr"));
    cmd.args(args).current_dir(cwd);
    if let Some(f) = fake {
        cmd.env(
            "PATH",
            format!(
                "{}:{}",
                f.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("FAKE_SLURM", f);
    }
    cmd.output().expect("run acktr")
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The arguments of an `#SBATCH` line as sbatch reads them: `_get_argument` of Slurm's
/// `src/sbatch/opt.c` (quotes group, a backslash takes the next character literally, an
/// unquoted `#` ends the line).
fn sbatch_arguments(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            return out;
        }
        let (mut arg, mut quoted, mut q, mut escape) = (String::new(), false, '\0', false);
        while i < chars.len() && (quoted || !chars[i].is_whitespace()) {
            let c = chars[i];
            if escape {
                escape = false;
            } else if c == '\\' {
                escape = true;
                i += 1;
                continue;
            } else if quoted {
                if c == q {
                    quoted = false;
                    i += 1;
                    continue;
                }
            } else if c == '"' || c == '\'' {
                quoted = true;
                q = c;
                i += 1;
                continue;
            } else if c == '#' {
                out.push(arg);
                return out;
            }
            arg.push(c);
            i += 1;
        }
        out.push(arg);
    }
}

fn sbatch_lines(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .filter_map(|l| l.strip_prefix("#SBATCH"))
        .map(sbatch_arguments)
        .collect()
}

#[test]
fn hostile_values_reach_slurm_and_bash_as_data() {
    let dir = setup(&tiny_spec(&["CartPole-v1"], &[0, 1], 200));
    let results = dir.path().join(HOSTILE);
    let comment = "--comment=a'b\"c #d;$(touch PWNED3) %x \\e";
    let results_arg = results.to_str().unwrap();
    let out = acktr_with(
        dir.path(),
        None,
        &[
            "--results",
            results_arg,
            "reproduce",
            "tiny",
            "--slurm",
            "--no-submit",
            "--max-parallel",
            "2",
            "--time",
            "0-01:00:00",
            &format!("--sbatch-arg={comment}"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let written: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("wrote "))
        .map(PathBuf::from)
        .collect();
    assert_eq!(written.len(), 2, "{}", text(&out));
    let array = std::fs::read_to_string(&written[0]).unwrap();
    let canonical = std::fs::canonicalize(&results).unwrap();
    // sbatch reads each value back exactly (`%` doubled only in the file-name pattern).
    let lines = sbatch_lines(&array);
    let output = format!(
        "--output={}/tiny/slurm/logs/%A_%a.out",
        canonical.display().to_string().replace('%', "%%")
    );
    assert!(
        lines.contains(&vec![output.clone()]),
        "{output} not among {lines:?}"
    );
    assert!(lines.contains(&vec![comment.to_string()]), "{lines:?}");
    assert!(
        lines.contains(&vec!["--array=0-1%2".to_string()]),
        "{lines:?}"
    );
    assert!(
        lines.contains(&vec!["--time=0-01:00:00".to_string()]),
        "{lines:?}"
    );
    for s in &written {
        let check = Command::new("bash").arg("-n").arg(s).output().unwrap();
        assert!(check.status.success(), "{}", text(&check));
    }
    // Task 1 of the array, run by bash as Slurm would: the cell is published under the
    // hostile directory, and nothing was executed from the values.
    let run = Command::new("bash")
        .arg(&written[0])
        .current_dir(dir.path())
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_JOB_ID", "77")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("cell 1/2 done"),
        "{}",
        text(&run)
    );
    let cells: Vec<PathBuf> = cell_dirs(&results.join("tiny"))
        .into_iter()
        .filter(|d| !d.ends_with("slurm"))
        .collect();
    assert_eq!(cells.len(), 1, "{cells:?}");
    let report = Command::new("bash")
        .arg(&written[1])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", text(&report));
    let md = std::fs::read_to_string(results.join("tiny/report.md")).unwrap();
    assert!(
        md.contains("1/2 cells finished")
            && md.contains("## Missing cells")
            && md.contains("| 0 |"),
        "{md}"
    );
    for p in ["PWNED1", "PWNED2", "PWNED3"] {
        for d in [
            dir.path().to_path_buf(),
            results.clone(),
            std::env::current_dir().unwrap(),
        ] {
            assert!(!d.join(p).exists(), "{} was created", d.join(p).display());
        }
    }
}

/// Stand-ins for `sbatch` (records its arguments, prints ids 101, 102, ...), `squeue` (prints
/// `$FAKE_SLURM/squeue.out`; fails while `$FAKE_SLURM/squeue.down` exists) and `scontrol` (records its arguments; `show config`:
/// MaxArraySize 3; `show job ID`: `$FAKE_SLURM/job-ID.out`).
fn fake_slurm(dir: &Path) -> PathBuf {
    let f = dir.join("fake-slurm");
    std::fs::create_dir_all(&f).unwrap();
    let scripts = [
        ("sbatch", "#!/bin/bash\nn=$(cat \"$FAKE_SLURM/next\" 2>/dev/null || echo 101)\necho $((n + 1)) > \"$FAKE_SLURM/next\"\necho \"$n $*\" >> \"$FAKE_SLURM/sbatch.log\"\necho \"$n\"\n"),
        ("squeue", "#!/bin/bash\nif [ -e \"$FAKE_SLURM/squeue.down\" ]; then echo 'slurm_load_jobs error: Unable to contact slurm controller' >&2; exit 1; fi\ncat \"$FAKE_SLURM/squeue.out\" 2>/dev/null\nexit 0\n"),
        (
            "scontrol",
            "#!/bin/bash\necho \"$*\" >> \"$FAKE_SLURM/scontrol.log\"\nif [ \"$1 $2\" = \"show config\" ]; then echo 'MaxArraySize            = 3'; exit 0; fi\nif [ \"$1 $2 $3\" = \"-o show job\" ]; then cat \"$FAKE_SLURM/job-$4.out\" 2>/dev/null; exit 0; fi\nexit 1\n",
        ),
    ];
    for (name, body) in scripts {
        let p = f.join(name);
        std::fs::write(&p, body).unwrap();
        Command::new("chmod").arg("+x").arg(&p).status().unwrap();
    }
    f
}

fn sbatch_log(fake: &Path) -> Vec<String> {
    std::fs::read_to_string(fake.join("sbatch.log"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn submissions_split_arrays_record_jobs_and_never_queue_a_cell_twice() {
    let dir = setup(&tiny_spec(&["CartPole-v1", "Pendulum-v1"], &[0, 1], 200));
    let fake = fake_slurm(dir.path());
    let out = acktr_with(
        dir.path(),
        Some(&fake),
        &["reproduce", "tiny", "--slurm", "--max-parallel", "2"],
    );
    assert!(out.status.success(), "{}", text(&out));
    // MaxArraySize 3: cells 0-2 as tasks 0-2, cell 3 as task 0 of a second array; then the
    // report after both.
    let log = sbatch_log(&fake);
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log[0].starts_with("101 --parsable ") && log[0].ends_with("-0.sbatch"),
        "{log:?}"
    );
    assert!(
        log[1].starts_with("102 --parsable ") && log[1].ends_with("-1.sbatch"),
        "{log:?}"
    );
    assert!(
        log[2]
            .starts_with("103 --parsable --dependency=afterany:101:102 --kill-on-invalid-dep=no ")
            && log[2].ends_with("-report.sbatch"),
        "{log:?}"
    );
    let script = |line: &str| std::fs::read_to_string(line.rsplit(' ').next().unwrap()).unwrap();
    assert!(
        script(&log[0]).contains("#SBATCH --array=0-2%2\n")
            && script(&log[0]).contains("index=$((0 + SLURM_ARRAY_TASK_ID))")
    );
    assert!(
        script(&log[1]).contains("#SBATCH --array=0%2\n")
            && script(&log[1]).contains("index=$((3 + SLURM_ARRAY_TASK_ID))")
    );
    let records: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("results/tiny/slurm/jobs.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(records.as_array().unwrap().len(), 3);
    assert_eq!(records[1]["offset"], 3);

    // Cell 0 runs, 1 and 3 wait, 2 failed (no longer queued; scontrol remembers it).
    std::fs::write(
        fake.join("squeue.out"),
        "101|0|RUNNING|node7\n101|1|PENDING|(JobArrayTaskLimit)\n102|0|PENDING|(Priority)\n",
    )
    .unwrap();
    std::fs::write(fake.join("job-101.out"), "JobId=104 JobName=acktr-tiny ArrayJobId=101 ArrayTaskId=2 JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0\n").unwrap();
    let status =
        String::from_utf8_lossy(&acktr_with(dir.path(), Some(&fake), &["status", "tiny"]).stdout)
            .to_string();
    let line = |i: usize| {
        status
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{i} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line(0).ends_with("running (task 101_0 on node7)"),
        "{status}"
    );
    assert!(
        line(1).ends_with("pending (task 101_1: (JobArrayTaskLimit))"),
        "{status}"
    );
    assert!(
        line(2).contains("failed (task 101_2: FAILED, exit code 1:0; log ")
            && line(2).ends_with("results/tiny/slurm/logs/101_2.out)"),
        "{status}"
    );
    assert!(
        line(3).ends_with("pending (task 102_0: (Priority))"),
        "{status}"
    );
    assert!(status.contains("4 cells: 0 finished, 1 running, 2 pending, 1 failed, 0 interrupted, 0 damaged, 0 to do"), "{status}");
    // A queue that cannot be read says so and calls no cell failed.
    std::fs::write(fake.join("squeue.down"), "").unwrap();
    let status = String::from_utf8_lossy(&acktr_with(dir.path(), Some(&fake), &["status", "tiny"]).stdout).to_string();
    assert!(status.contains("note: the queue could not be read") && status.contains("Unable to contact slurm controller"), "{status}");
    assert!(status.contains("4 cells: 0 finished, 0 running, 0 pending, 0 failed, 0 interrupted, 0 damaged, 4 to do"), "{status}");
    std::fs::remove_file(fake.join("squeue.down")).unwrap();

    // Submitting again queues only the failed cell, and the report waits for the old arrays too.
    let out = acktr_with(dir.path(), Some(&fake), &["reproduce", "tiny", "--slurm"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("4 cells, 0 finished, 3 already queued, 1 submitted"),
        "{}",
        text(&out)
    );
    let log = sbatch_log(&fake);
    assert_eq!(log.len(), 5, "{log:?}");
    assert!(
        script(&log[3]).contains("#SBATCH --array=0\n")
            && script(&log[3]).contains("index=$((2 + SLURM_ARRAY_TASK_ID))"),
        "{log:?}"
    );
    assert!(
        log[4].contains("--dependency=afterany:101:102:104 "),
        "{log:?}"
    );

    // Everything queued: nothing is submitted.
    std::fs::write(
        fake.join("squeue.out"),
        "101|0|RUNNING|node7\n101|1|RUNNING|node7\n104|0|RUNNING|node8\n102|0|RUNNING|node8\n",
    )
    .unwrap();
    let out = acktr_with(dir.path(), Some(&fake), &["reproduce", "tiny", "--slurm"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("4 already queued, 0 submitted"),
        "{}",
        text(&out)
    );
    assert_eq!(sbatch_log(&fake).len(), 5);

    // Every cell finished (run here): nothing is submitted and the report is written.
    std::fs::write(fake.join("squeue.out"), "").unwrap();
    for i in 0..4 {
        let o = acktr_with(
            dir.path(),
            None,
            &["run-cell", "tiny", "--index", &i.to_string()],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let out = acktr_with(dir.path(), Some(&fake), &["reproduce", "tiny", "--slurm"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("every cell is finished; wrote"),
        "{}",
        text(&out)
    );
    assert_eq!(sbatch_log(&fake).len(), 5);
    let status =
        String::from_utf8_lossy(&acktr_with(dir.path(), Some(&fake), &["status", "tiny"]).stdout)
            .to_string();
    assert!(status.contains("4 cells: 4 finished,"), "{status}");
}

#[test]
fn bad_slurm_arguments_are_refused_with_exit_code_2_and_nothing_written() {
    let dir = setup(&tiny_spec(&["CartPole-v1"], &[0], 200));
    let cases: [(&[&str], &str); 7] = [
        (&["--time", "1:2:3:4"], "--time"),
        (&["--time", "10:00;rm"], "--time"),
        (&["--partition", "a b"], "--partition"),
        (&["--mem", "4GB"], "--mem"),
        (&["--sbatch-arg", "--comment=a\nb"], "control character"),
        (&["--sbatch-arg=--array=0-9"], "set by the harness"),
        (&["--sbatch-arg", "account=rl"], "an sbatch option"),
    ];
    for (args, says) in cases {
        let mut all = vec!["reproduce", "tiny", "--slurm", "--no-submit"];
        all.extend_from_slice(args);
        let out = acktr_with(dir.path(), None, &all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out)
        );
    }
    assert!(!dir.path().join("results/tiny/slurm").exists());
    let out = acktr_with(
        dir.path(),
        None,
        &[
            "run-cell",
            "tiny",
            "--index",
            "0",
            "--plan-digest",
            "0123456789abcdef",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--plan-digest"),
        "{}",
        text(&out)
    );
    assert!(cell_dirs(&dir.path().join("results/tiny")).is_empty());
}

#[test]
fn sigterm_checkpoints_a_running_cell_which_resumes_to_the_same_logs() {
    let spec = tiny_spec(&["CartPole-v1"], &[0], 150_000);
    let stopped = setup(&spec);
    let reference = setup(&spec);
    let out = acktr_with(
        reference.path(),
        None,
        &["run-cell", "tiny", "--index", "0"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let child = Command::new(env!("CARGO_BIN_EXE_acktr"))
        .args([
            "run-cell",
            "tiny",
            "--index",
            "0",
            "--checkpoint-minutes",
            "0",
        ])
        .current_dir(stopped.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Training is under way (and the handler installed) once the first checkpoint exists.
    let spec_dir = stopped.path().join("results/tiny");
    wait_for_checkpoint(&spec_dir);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stop signal; checkpoint written at update"),
        "{}",
        text(&out)
    );
    assert!(cell_dirs(&spec_dir).is_empty());
    let status =
        String::from_utf8_lossy(&acktr_with(stopped.path(), None, &["status", "tiny"]).stdout)
            .to_string();
    assert!(
        status.contains("1 interrupted") && status.contains("checkpoint at update") && status.contains(" episodes"),
        "{status}"
    );
    let out = acktr_with(stopped.path(), None, &["run-cell", "tiny", "--index", "0"]);
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("resuming from its checkpoint"),
        "{}",
        text(&out)
    );
    let frames = |d: &Path| {
        let cell = &cell_dirs(&d.join("results/tiny"))[0];
        ["episodes.parquet", "updates.parquet"].map(|f| {
            acktr::run::logs::read_parquet(&cell.join(f))
                .unwrap()
                .drop("wall_seconds")
                .unwrap()
        })
    };
    assert_eq!(frames(stopped.path()), frames(reference.path()));
}

/// Waits until `spec_dir` holds a checkpoint (training under way, signal handler installed).
fn wait_for_checkpoint(spec_dir: &Path) {
    let started = Instant::now();
    loop {
        let found = std::fs::read_dir(spec_dir)
            .map(|rd| {
                rd.flatten().any(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    name.starts_with(".ckpt-") && name.ends_with(".bin")
                })
            })
            .unwrap_or(false);
        if found {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_time_limit_signal_checkpoints_the_cell_and_the_script_requeues_its_task() {
    let dir = setup(&tiny_spec(&["CartPole-v1"], &[0], 150_000));
    let fake = fake_slurm(dir.path());
    let out = acktr_with(
        dir.path(),
        None,
        &[
            "reproduce",
            "tiny",
            "--slurm",
            "--no-submit",
            "--checkpoint-minutes",
            "0",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let script = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("wrote "))
        .unwrap()
        .to_string();
    let task = |restarts: &str| {
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .current_dir(dir.path())
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    fake.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("FAKE_SLURM", &fake)
            .env("SLURM_ARRAY_JOB_ID", "9")
            .env("SLURM_ARRAY_TASK_ID", "0")
            .env("SLURM_RESTART_COUNT", restarts)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    };
    // Slurm's `--signal=B:USR1@120` signals the batch shell only; the script forwards it.
    let shell = task("0").spawn().unwrap();
    wait_for_checkpoint(&dir.path().join("results/tiny"));
    Command::new("kill")
        .args(["-USR1", &shell.id().to_string()])
        .status()
        .unwrap();
    let out = shell.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("attempt 1") && stdout.contains("requeueing 9_0"),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stop signal; checkpoint written"),
        "{}",
        text(&out)
    );
    assert!(std::fs::read_to_string(fake.join("scontrol.log"))
        .unwrap()
        .lines()
        .any(|l| l == "requeue 9_0"));
    // The requeued task resumes from the checkpoint and finishes.
    let out = task("1").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("attempt 2"),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resuming from its checkpoint"),
        "{}",
        text(&out)
    );
    let cells = cell_dirs(&dir.path().join("results/tiny"))
        .into_iter()
        .filter(|d| !d.ends_with("slurm"))
        .count();
    assert_eq!(cells, 1);
}

#[test]
fn the_engine_flag_reaches_the_tasks_and_the_report_whose_plan_it_is() {
    // `--engine` enters the cells' keys, so the array tasks (which check the plan's digest)
    // and the report job must be given it too; bash runs a task to prove the digest holds.
    let dir = setup(&tiny_spec(&["CartPole-v1"], &[0], 200));
    let out = acktr_with(dir.path(), None, &["--engine", "cpu", "reproduce", "tiny", "--slurm", "--no-submit"]);
    assert!(out.status.success(), "{}", text(&out));
    let written: Vec<PathBuf> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.strip_prefix("wrote ")).map(PathBuf::from).collect();
    assert_eq!(written.len(), 2, "{}", text(&out));
    let array = std::fs::read_to_string(&written[0]).unwrap();
    let report = std::fs::read_to_string(&written[1]).unwrap();
    assert!(array.contains("--engine cpu run-cell"), "{array}");
    assert!(report.contains("--engine cpu report"), "{report}");
    let run = Command::new("bash")
        .arg(&written[0])
        .current_dir(dir.path())
        .env("SLURM_ARRAY_TASK_ID", "0")
        .env("SLURM_ARRAY_JOB_ID", "78")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("cell 0/1 done"), "{}", text(&run));
    let cell = cell_dirs(&dir.path().join("results/tiny")).into_iter().find(|d| !d.ends_with("slurm")).unwrap();
    let prov: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(cell.join("provenance.json")).unwrap()).unwrap();
    assert_eq!(prov["engine"], "cpu", "the engine is in each cell's provenance");
    // Without the flag the scripts carry none.
    let dir = setup(&tiny_spec(&["CartPole-v1"], &[0], 200));
    let out = acktr_with(dir.path(), None, &["reproduce", "tiny", "--slurm", "--no-submit"]);
    let first = String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("wrote ").map(PathBuf::from)).unwrap();
    assert!(!std::fs::read_to_string(first).unwrap().contains("--engine"));
}
