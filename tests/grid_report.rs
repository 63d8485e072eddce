//! Grid rankings and update curves on fixed synthetic logs (insta snapshots under
//! `golden/snapshots/`): one algorithm with a three-point grid over a configuration path on
//! two environments (a clear winner on one, overlapping intervals on the other), a row
//! without a grid, the combined ranking across environments, and the per-update figure with
//! a row that does not log the figure's columns.

mod common;

use std::path::Path;

use acktr::run::{self, logs};
use polars::prelude::*;

const SPEC: &str = "title: Synthetic grid
reproduces: Figure 0
envs: [CartPole-v1, Pendulum-v1]
algorithms:
  - name: ACKTR
    acktr: {}
    grid:
      kfac.kl_clip: [0.001, 0.01, 0.1]
  - name: A2C
    a2c: {}
seeds: [0, 1, 2]
budget:
  total_timesteps: 1000
  num_envs: 2
  steps_per_update: 5
metrics:
  - name: episodes
    episodes_to_threshold:
      window: 2
      thresholds:
        CartPole-v1: 40
        Pendulum-v1: 1000
  - name: last3
    last_episodes_mean:
      episodes: 3
grid_ranking:
  metric: last3
";

/// Writes a finished cell: episodes whose last three returns are `level`, and updates with
/// `columns` (each update's value: `scale` / (update + 1)).
fn write_cell(root: &Path, cell: &acktr::spec::Cell, level: f64, columns: &[&str], scale: f64) {
    let dir = run::cell_dir(root, cell);
    std::fs::create_dir_all(&dir).unwrap();
    let returns = [level - 5.0, level, level, level];
    let n = returns.len() as u64;
    let mut df = DataFrame::new(returns.len(), vec![
        Column::new("global_step".into(), (1..=n).map(|i| i * 100).collect::<Vec<u64>>()),
        Column::new("episode".into(), (0..n).collect::<Vec<u64>>()),
        Column::new("env_index".into(), vec![0u32; returns.len()]),
        Column::new("return".into(), returns.to_vec()),
        Column::new("length".into(), vec![100u64; returns.len()]),
        Column::new("wall_seconds".into(), (1..=n).map(|i| i as f64 * 0.5).collect::<Vec<f64>>()),
    ])
    .unwrap();
    logs::write_parquet(&mut df, &dir.join("episodes.parquet")).unwrap();
    let u = 10u64;
    let mut cols = vec![
        Column::new("update".into(), (0..u).collect::<Vec<u64>>()),
        Column::new("global_step".into(), (1..=u).map(|i| i * 10).collect::<Vec<u64>>()),
        Column::new("wall_seconds".into(), (1..=u).map(|i| i as f64).collect::<Vec<f64>>()),
    ];
    for c in columns {
        cols.push(Column::new((*c).into(), (0..u).map(|i| scale / (i + 1) as f64).collect::<Vec<f64>>()));
    }
    let mut up = DataFrame::new(u as usize, cols).unwrap();
    logs::write_parquet(&mut up, &dir.join("updates.parquet")).unwrap();
    common::write_provenance(&dir, cell, n, u);
}

/// The level of seed `s` at grid point `p` (index into the kl_clip list) on `env`:
/// CartPole 10 / 50 / 20 + s (0.01 clearly best), Pendulum 10 / 12 / 11 + 3 s (overlapping).
fn level(env: &str, p: usize, s: f64) -> f64 {
    if env == "CartPole-v1" {
        [10.0, 50.0, 20.0][p] + s
    } else {
        [10.0, 12.0, 11.0][p] + 3.0 * s
    }
}

fn synthetic(text: &str) -> (acktr::spec::Spec, tempfile::TempDir) {
    let spec = acktr::spec::parse(text, Path::new("specs/synthetic.yaml"), "paper").unwrap();
    let root = tempfile::tempdir().unwrap();
    for cell in spec.cells() {
        let s = cell.seed as f64;
        if cell.algorithm == "A2C" {
            write_cell(root.path(), &cell, 30.0 + s, &["policy_loss"], 1.0);
        } else {
            let p = ["kfac.kl_clip=0.001", "kfac.kl_clip=0.01", "kfac.kl_clip=0.1"].iter().position(|l| *l == cell.grid.label()).unwrap();
            write_cell(root.path(), &cell, level(&cell.env, p, s), &["exact_kl", "quadratic_kl"], 0.01 * (p + 1) as f64);
        }
    }
    (spec, root)
}

#[test]
fn grid_points_are_ranked_per_environment_and_across() {
    let (spec, root) = synthetic(SPEC);
    let report = acktr::report::build(&spec, root.path()).unwrap();
    let g = report.grid_rankings.as_ref().expect("a grid of three points is ranked");
    assert_eq!(g.metric, "last3");
    // One ranking per environment for ACKTR; A2C has no grid.
    assert_eq!(g.per_env.len(), 2);
    let cart = &g.per_env[0];
    let order: Vec<&str> = cart.points.iter().map(|p| p.point.as_str()).collect();
    // Means 11, 51, 21: 0.01, then 0.1, then 0.001.
    assert_eq!(order, ["kfac.kl_clip=0.01", "kfac.kl_clip=0.1", "kfac.kl_clip=0.001"]);
    assert!((cart.points[0].agg.value.unwrap() - 51.0).abs() < 1e-12);
    assert_eq!(cart.best_vs_runner_up, Some(acktr::report::ranking::Separation::Distinct));
    // Pendulum: means 13, 15, 14 with seeds 3 apart: the intervals overlap.
    let pend = &g.per_env[1];
    assert_eq!(pend.points[0].point, "kfac.kl_clip=0.01");
    assert_eq!(pend.best_vs_runner_up, Some(acktr::report::ranking::Separation::Overlap));
    // Across: 0.01 ranks 1 and 1; 0.1 ranks 2 and 2; 0.001 ranks 3 and 3.
    let c = &g.combined[0];
    let got: Vec<(&str, f64)> = c.points.iter().map(|p| (p.point.as_str(), p.mean_rank)).collect();
    assert_eq!(got, [("kfac.kl_clip=0.01", 1.0), ("kfac.kl_clip=0.1", 2.0), ("kfac.kl_clip=0.001", 3.0)]);
    // The grid value is in the row label and in the cell's resolved configuration.
    assert!(report.rows.iter().any(|r| r.algorithm == "ACKTR [kfac.kl_clip=0.01]"));
}

#[test]
fn without_grid_ranking_the_first_metric_ranks_and_na_ranks_last() {
    let text = SPEC.replace("grid_ranking:\n  metric: last3\n", "");
    let (spec, root) = synthetic(&text);
    let report = acktr::report::build(&spec, root.path()).unwrap();
    let g = report.grid_rankings.as_ref().unwrap();
    assert_eq!(g.metric, "episodes");
    assert!(!g.higher_is_better);
    // Pendulum's threshold (1000) is never reached: every point is N/A, none is best, and
    // the environment does not count across environments.
    assert!(!g.per_env[1].has_best());
    assert!(g.combined[0].points.iter().all(|p| p.ranks.len() == 1));
}

#[test]
fn grid_ranking_renders_in_markdown_csv_and_latex() {
    let (spec, root) = synthetic(SPEC);
    let report = acktr::report::build(&spec, root.path()).unwrap();
    insta::with_settings!({snapshot_path => "../golden/snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("grid_report_markdown", acktr::report::render_markdown(&report));
        insta::assert_snapshot!("grid_report_csv", acktr::report::render_grid_csv(&report).unwrap());
        insta::assert_snapshot!("grid_report_latex", acktr::report::render_latex(&report));
    });
}

#[test]
fn update_curves_are_drawn_and_missing_columns_noted() {
    let text = format!("{SPEC}update_curves:\n  columns: [exact_kl, quadratic_kl]\n  log_y: true\n");
    let (spec, root) = synthetic(&text);
    let (report, md) = acktr::report::write(&spec, root.path()).unwrap();
    let dir = md.parent().unwrap();
    for f in ["updates_exact_kl_quadratic_kl.png", "updates_exact_kl_quadratic_kl.svg"] {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        assert!(bytes.len() > 1000, "{f} is {} bytes", bytes.len());
        assert!(report.figures.contains(&f.to_string()));
    }
    let svg = std::fs::read_to_string(dir.join("updates_exact_kl_quadratic_kl.svg")).unwrap();
    assert!(svg.contains("ACKTR [kfac.kl_clip=0.01]: exact_kl") && svg.contains("Pendulum-v1"), "legend and panels");
    let md_text = std::fs::read_to_string(&md).unwrap();
    assert!(md_text.contains("](updates_exact_kl_quadratic_kl.png)"), "{md_text}");
    // A2C logs neither column: noted, not an error.
    assert!(md_text.contains("`exact_kl` is not a column of updates.parquet for A2C on CartPole-v1 (seed 0, 1, 2)"), "{md_text}");
    assert!(dir.join("grid_ranking.csv").exists());
    // The lines: mean over seeds of 0.02 / (update + 1) for kl_clip=0.01.
    let lines = acktr::report::updates::update_lines(&spec, spec.update_curves.as_ref().unwrap(), &acktr::report::read_cells(&spec, root.path()).unwrap()).unwrap().0;
    let l = lines[0].1.iter().find(|l| l.label == "ACKTR [kfac.kl_clip=0.01]: exact_kl").unwrap();
    assert_eq!(l.points.len(), 10);
    assert!((l.points[1].1 - 0.01).abs() < 1e-15 && l.points[1].0 == 1.0);
}
