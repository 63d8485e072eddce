//! The rendered report on fixed synthetic logs (insta snapshots under `golden/snapshots/`).

use std::path::Path;

use acktr::run::{self, logs};
use polars::prelude::*;

const SPEC: &str = "title: Synthetic report
reproduces: Table 0
envs: [CartPole-v1, Pendulum-v1]
algorithms:
  - name: A2C
    a2c: {}
  - name: Tuned
    grid:
      lr: [0.1, 0.01]
    a2c: {}
seeds: [0, 1, 2]
budget:
  total_timesteps: 1000
  num_envs: 2
  steps_per_update: 5
metrics:
  - name: last3
    last_episodes_mean:
      episodes: 3
  - name: last1
    last_episodes_mean:
      episodes: 1
paper:
  - env: CartPole-v1
    algorithm: A2C
    values:
      last3: 500
      last1: N/A
";

/// Writes a finished cell whose episode returns are `returns`.
fn write_cell(root: &Path, cell: &acktr::spec::Cell, returns: &[f64]) {
    let dir = run::cell_dir(root, cell);
    std::fs::create_dir_all(&dir).unwrap();
    let n = returns.len() as u64;
    let mut df = DataFrame::new(returns.len(), vec![
        Column::new("global_step".into(), (1..=n).map(|i| i * 100).collect::<Vec<u64>>()),
        Column::new("episode".into(), (0..n).collect::<Vec<u64>>()),
        Column::new("env_index".into(), vec![0u32; returns.len()]),
        Column::new("return".into(), returns),
        Column::new("length".into(), vec![100u64; returns.len()]),
        Column::new("wall_seconds".into(), vec![0.0f64; returns.len()]),
    ])
    .unwrap();
    logs::write_parquet(&mut df, &dir.join("episodes.parquet")).unwrap();
    std::fs::write(dir.join("updates.parquet"), b"").unwrap();
    std::fs::write(dir.join("provenance.json"), b"{}").unwrap();
}

#[test]
fn report_renders_markdown_and_csv() {
    let spec = acktr::spec::parse(SPEC, Path::new("specs/synthetic.yaml"), "paper").unwrap();
    let root = tempfile::tempdir().unwrap();
    let cells = spec.cells();
    // Every cell but the last three (Pendulum, Tuned lr=0.01) finishes. Seed s of report
    // row r (cells come in rows of 3 seeds) has returns
    // [-100, 10 + s + 10 r, 20 + 2 s + 10 r, 30 + 3 s + 10 r].
    for (k, cell) in cells.iter().enumerate().take(cells.len() - 3) {
        let (s, r) = (cell.seed as f64, (k / 3) as f64);
        write_cell(root.path(), cell, &[-100.0, 10.0 + s + 10.0 * r, 20.0 + 2.0 * s + 10.0 * r, 30.0 + 3.0 * s + 10.0 * r]);
    }
    let report = acktr::report::build(&spec, root.path()).unwrap();
    // Worked by hand: CartPole A2C, last3 per seed = mean(10+s, 20+2s, 30+3s) = 20 + 2s
    // -> seeds 0,1,2: 20, 22, 24 -> mean 22, sample std 2; last1 = 30 + 3s -> 33 +/- 3.
    let row = &report.rows[0];
    assert_eq!((row.env.as_str(), row.algorithm.as_str()), ("CartPole-v1", "A2C"));
    assert!((row.metrics[0].mean.unwrap() - 22.0).abs() < 1e-12);
    assert!((row.metrics[0].std.unwrap() - 2.0).abs() < 1e-12);
    assert!((row.metrics[1].mean.unwrap() - 33.0).abs() < 1e-12);
    assert!((row.metrics[1].std.unwrap() - 3.0).abs() < 1e-12);
    insta::with_settings!({snapshot_path => "../golden/snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("report_markdown", acktr::report::render_markdown(&report));
        insta::assert_snapshot!("report_csv", acktr::report::render_csv(&report));
    });
}
