//! Killing `reproduce` at any moment and running it again finishes the job without redoing
//! finished cells and without corrupt files; a third run does no work and rewrites the
//! same report.

mod common;

use std::time::{Duration, Instant};

use common::{cell_dirs as finished_cells, snapshot_tree, tiny_spec};

#[test]
fn a_killed_reproduction_resumes_without_redoing_or_corrupting_cells() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    // 6 cells, run one at a time so the kill lands between and inside cells.
    std::fs::write(specs.join("tiny.yaml"), tiny_spec(&["CartPole-v1", "Pendulum-v1"], &[0, 1, 2], 6000)).unwrap();
    let results = dir.path().join("results");
    let cell_root = results.join("tiny");

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_acktr"))
        .args(["reproduce", "tiny", "--jobs", "1", "--no-progress"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while finished_cells(&cell_root).len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(120), "no cell finished in time");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("reproduce ended before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before = finished_cells(&cell_root);
    assert!(done_before.len() >= 2 && done_before.len() < 6, "{} cells finished before the kill", done_before.len());
    let files_before: Vec<_> = done_before.iter().map(|d| snapshot_tree(d)).collect();

    let out = common::acktr(dir.path(), &["reproduce", "tiny", "--jobs", "2", "--no-progress"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("{} already finished", done_before.len())), "{stderr}");
    let done_after = finished_cells(&cell_root);
    assert_eq!(done_after.len(), 6);
    // No temporary directories are left, and the cells finished before the kill are the
    // same bytes (wall-clock columns included: they were not run again).
    let leftovers: Vec<_> = std::fs::read_dir(&cell_root)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary directories left: {leftovers:?}");
    for (d, before) in done_before.iter().zip(&files_before) {
        assert_eq!(&snapshot_tree(d), before, "{} changed", d.display());
    }
    for d in &done_after {
        for f in acktr::run::CELL_FILES {
            assert!(d.join(f).is_file(), "{} lacks {f}", d.display());
        }
        let df = acktr::run::logs::read_parquet(&d.join("episodes.parquet")).expect("readable parquet");
        assert!(df.height() > 0);
    }

    // A third run does no work and writes the same report.
    let report = std::fs::read(cell_root.join("report.md")).unwrap();
    let out = common::acktr(dir.path(), &["reproduce", "tiny", "--no-progress"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("6 already finished, 0 run"), "{stderr}");
    assert_eq!(std::fs::read(cell_root.join("report.md")).unwrap(), report);
    assert!(String::from_utf8(report).unwrap().contains("6/6 cells finished"));
}
