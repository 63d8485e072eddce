//! Nothing lost, nothing outside `results/`: damaged cells are noticed, set aside and run
//! again; orphaned temporaries are removed; a spec's name cannot leave `--results`; bench
//! arguments are checked.

mod common;

use std::path::Path;

use common::{acktr, cell_dirs, tiny_spec};

fn setup(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("specs")).unwrap();
    std::fs::write(dir.path().join("specs/tiny.yaml"), spec).unwrap();
    dir
}

#[test]
fn a_damaged_cell_is_set_aside_and_run_again() {
    let dir = setup(&tiny_spec(&["CartPole-v1"], &[0, 1], 200));
    let out = acktr(dir.path(), &["reproduce", "tiny", "--jobs", "1", "--no-progress"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let root = dir.path().join("results/tiny");
    let cells = cell_dirs(&root);
    assert_eq!(cells.len(), 2);
    // The episodes apart from their wall-clock column (which a re-run cannot repeat).
    let episodes = |c: &Path| acktr::run::logs::read_parquet(&c.join("episodes.parquet")).unwrap().drop("wall_seconds").unwrap();
    let original = episodes(&cells[0]);
    // Three kinds of damage, one at a time: a truncated log, a corrupt provenance, a
    // provenance from another cell.
    let damage: [(&str, Box<dyn Fn(&Path)>); 3] = [
        ("truncated episodes.parquet", Box::new(|c: &Path| {
            let f = c.join("episodes.parquet");
            let bytes = std::fs::read(&f).unwrap();
            std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
        })),
        ("corrupt provenance.json", Box::new(|c: &Path| std::fs::write(c.join("provenance.json"), "{\"cell\": ").unwrap())),
        ("truncated updates.parquet", Box::new(|c: &Path| std::fs::write(c.join("updates.parquet"), b"PAR1").unwrap())),
    ];
    for (what, f) in damage {
        f(&cells[0]);
        let plan = acktr(dir.path(), &["plan", "tiny"]);
        let plan = String::from_utf8_lossy(&plan.stdout);
        assert_eq!(plan.matches("damaged").count(), 1, "{what}: {plan}");
        let out = acktr(dir.path(), &["reproduce", "tiny", "--jobs", "1", "--no-progress"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{what}: {stderr}");
        assert_eq!(stderr.matches("is damaged").count(), 1, "{what}: {stderr}");
        assert!(stderr.contains("1 run"), "{what}: only the damaged cell runs again: {stderr}");
        // Run again: the same episodes as before the damage.
        assert!(episodes(&cells[0]).equals(&original), "{what}");
        let report = acktr(dir.path(), &["report", "tiny"]);
        assert!(report.status.success(), "{what}: {}", String::from_utf8_lossy(&report.stderr));
    }
    // The damaged directories are kept for inspection.
    let aside = std::fs::read_dir(&root).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".damaged-")).count();
    assert_eq!(aside, 3);
}

#[test]
fn orphaned_temporaries_of_every_kind_are_removed() {
    let dir = setup(&tiny_spec(&["CartPole-v1"], &[0], 100));
    let root = dir.path().join("results/tiny");
    std::fs::create_dir_all(root.join(".tmp-0123456789abcdef-999999999")).unwrap();
    std::fs::write(root.join(".curves_timesteps.png.tmp-999999999.png"), b"half a png").unwrap();
    std::fs::write(root.join("report.tmp-999999999"), b"half a report").unwrap();
    std::fs::write(root.join("notes.txt"), b"a user's file").unwrap();
    // Another node's: kept while it may be live, removed once untouched for hours.
    std::fs::create_dir_all(root.join(".tmp-othernode~4242-0123456789abcdef")).unwrap();
    std::fs::write(root.join(".ckpt-0123456789abcdef.bin.tmp-othernode~4242"), b"old").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86400);
    std::fs::File::options().write(true).open(root.join(".ckpt-0123456789abcdef.bin.tmp-othernode~4242")).unwrap().set_modified(old).unwrap();
    // This node's, of a process that is gone.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    std::fs::create_dir_all(root.join(format!(".tmp-{}~999999999-0123456789abcdef", host.trim()))).unwrap();
    let out = acktr(dir.path(), &["reproduce", "tiny", "--no-progress"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<String> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
    let left: Vec<&String> = names.iter().filter(|n| n.contains(".tmp-")).collect();
    assert_eq!(left, vec![".tmp-othernode~4242-0123456789abcdef"], "only the other node's fresh temporary stays");
    assert!(names.contains(&"notes.txt".to_string()));
}

#[test]
fn a_spec_name_that_would_leave_the_results_directory_is_refused() {
    for name in ["..", ".hidden", "a b", "x$y"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("specs")).unwrap();
        let path = dir.path().join("specs").join(format!("{name}.yaml"));
        std::fs::write(&path, tiny_spec(&["CartPole-v1"], &[0], 100)).unwrap();
        let out = acktr(dir.path(), &["reproduce", path.to_str().unwrap(), "--no-progress"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("(file name)") && stderr.contains("letters, digits"), "{name}: {stderr}");
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(entries, vec![std::ffi::OsString::from("specs")], "{name}: something was written: {entries:?}");
    }
}

#[test]
fn bench_refuses_zero_sizes_as_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        ["--num-envs", "0", "--steps-per-update", "5"],
        ["--num-envs", "1", "--steps-per-update", "0"],
    ] {
        let mut all = vec!["bench", "--env", "CartPole-v1", "--algo", "a2c", "--steps", "100"];
        all.extend_from_slice(&args);
        let out = acktr(dir.path(), &all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn bench_refuses_a_bad_network_or_an_engine_of_another_kind_as_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    for (args, named) in [
        (vec!["--algo", "a2c", "--network", "no_such_torso"], "no_such_torso"),
        (vec!["--algo", "ale"], "--algo ale"),
        // The environment alone runs no network, so it has no engine.
        (vec!["--algo", "none", "--engine", "cuda"], "--engine"),
        // Frames are drawn for the MuJoCo tasks only.
        (vec!["--algo", "none", "--pixels", "42"], "MuJoCo tasks only"),
    ]
    .into_iter()
    // A build without the CUDA engine refuses it for a training algorithm too.
    .chain((!cfg!(feature = "cuda")).then(|| (vec!["--algo", "a2c", "--engine", "cuda"], "--features cuda")))
    {
        let mut all = vec!["bench", "--env", "CartPole-v1", "--steps", "100"];
        all.extend_from_slice(&args);
        let out = acktr(dir.path(), &all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(named), "{stderr}");
    }
}

#[test]
fn a_finished_cell_is_in_place_when_its_line_is_printed_and_survives_a_kill() {
    use std::io::{BufRead, BufReader};
    // Two cells, one at a time; kill as soon as the first says it is done.
    let dir = setup(&tiny_spec(&["CartPole-v1", "Pendulum-v1"], &[0], 20000));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_acktr"))
        .args(["reproduce", "tiny", "--jobs", "1", "--no-progress"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let first = loop {
        let line = lines.next().expect("a line").unwrap();
        if line.contains("done:") {
            break line;
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first.contains("cell 1/2 done"), "{first}");
    let hash = first.rsplit('(').next().unwrap().trim_end_matches(')').to_string();
    let plan = acktr(dir.path(), &["plan", "tiny"]);
    let plan = String::from_utf8_lossy(&plan.stdout);
    let row = plan.lines().find(|l| l.starts_with(&hash)).unwrap_or_else(|| panic!("{hash} not in {plan}"));
    assert!(row.ends_with("finished"), "{row}");
}

#[test]
fn run_cell_runs_one_cell_and_status_tells_where_each_stands() {
    let dir = setup(&tiny_spec(&["CartPole-v1"], &[0, 1], 200));
    let out = acktr(dir.path(), &["run-cell", "tiny", "--index", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("cell 1/2 done: CartPole-v1 A2C seed 1"), "{}", String::from_utf8_lossy(&out.stdout));
    let again = acktr(dir.path(), &["run-cell", "tiny", "--index", "1"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already finished"));
    let status = String::from_utf8_lossy(&acktr(dir.path(), &["status", "tiny"]).stdout).to_string();
    assert!(status.contains("2 cells: 1 finished, 0 running, 0 pending, 0 failed, 0 interrupted, 0 damaged, 1 to do"), "{status}");
    let bad = acktr(dir.path(), &["run-cell", "tiny", "--index", "2"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--index") && stderr.contains("indices 0 to 1"), "{stderr}");
    // `reproduce` runs only the other cell, and the report has both.
    let out = acktr(dir.path(), &["reproduce", "tiny", "--no-progress"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 cells, 1 already finished, 1 run"), "{}", String::from_utf8_lossy(&out.stderr));
}
