//! A cell killed at any moment resumes from its checkpoint and ends with the same
//! `episodes.parquet` and `updates.parquet` (apart from the wall-clock columns) as an
//! uninterrupted run, on a MuJoCo task and a classic one, for ACKTR (the paper's MuJoCo
//! preset: filter, K-FAC factors and eigendecompositions, cold start, adaptive step size),
//! A2C (RMSProp) and TRPO (running observation sums, Adam, the minibatch shuffle stream).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{acktr, cell_dirs};

const SPEC: &str = "title: Checkpoints
reproduces: none
envs: [Pendulum-v1, Reacher-v5]
algorithms:
  - name: ACKTR
    acktr: {preset: baselines_mujoco}
  - name: A2C
    a2c: {preset: mujoco_pipeline}
  - name: TRPO
    trpo: {preset: baselines_mujoco}
seeds: [0]
budget:
  total_timesteps: 12000
  num_envs: 1
  steps_per_update: 1000
";

fn frames(cell: &Path) -> Vec<polars::prelude::DataFrame> {
    ["episodes.parquet", "updates.parquet"]
        .iter()
        .map(|f| {
            let df = acktr::run::logs::read_parquet(&cell.join(f)).unwrap();
            df.drop("wall_seconds").unwrap()
        })
        .collect()
}

#[test]
fn killed_cells_resume_from_checkpoints_to_identical_logs() {
    let reference = tempfile::tempdir().unwrap();
    let killed = tempfile::tempdir().unwrap();
    for d in [&reference, &killed] {
        std::fs::create_dir_all(d.path().join("specs")).unwrap();
        std::fs::write(d.path().join("specs/ck.yaml"), SPEC).unwrap();
    }
    let out = acktr(reference.path(), &["reproduce", "ck", "--jobs", "1", "--no-progress", "--checkpoint-minutes", "-1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Kill -9 at growing moments, resume each time, until the run ends by itself.
    let mut resumes = 0;
    let mut kills = 0;
    for attempt in 0..60 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_acktr"))
            .args(["reproduce", "ck", "--jobs", "1", "--no-progress", "--checkpoint-minutes", "0"])
            .current_dir(killed.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_millis(400 + 150 * (attempt % 5));
        let mut finished = None;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if finished.is_none() {
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
        }
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        resumes += stderr.matches("resuming from its checkpoint").count();
        assert!(!stderr.contains("not used"), "a checkpoint was unusable: {stderr}");
        if let Some(status) = finished {
            assert!(status.success(), "{stderr}");
            break;
        }
    }
    assert!(kills >= 3 && resumes >= 3, "the test must interrupt cells: {kills} kills, {resumes} resumes");

    let a = cell_dirs(&reference.path().join("results/ck"));
    let b = cell_dirs(&killed.path().join("results/ck"));
    assert_eq!(a.len(), 6);
    assert_eq!(a.iter().map(|p| p.file_name()).collect::<Vec<_>>(), b.iter().map(|p| p.file_name()).collect::<Vec<_>>());
    for (x, y) in a.iter().zip(&b) {
        for (fx, fy) in frames(x).iter().zip(frames(y)) {
            assert!(fx.equals_missing(&fy), "{}: logs differ after resuming:\n{fx}\n{fy}", x.display());
        }
    }
    // No checkpoint outlives its published cell.
    let left: Vec<_> = std::fs::read_dir(killed.path().join("results/ck"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".ckpt-"))
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
