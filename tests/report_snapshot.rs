//! The rendered report on fixed synthetic logs (insta snapshots under `golden/snapshots/`):
//! Markdown, CSV and LaTeX, with a grid, best-seed aggregation, a threshold metric, a row
//! for an algorithm that is not built (TRPO) and unfinished cells (a partial report).

mod common;

use std::path::Path;

use acktr::report::Verdict;
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
  - name: TRPO
    trpo: {}
seeds: [0, 1, 2]
budget:
  total_timesteps: 1000
  num_envs: 2
  steps_per_update: 5
metrics:
  - name: last3
    last_episodes_mean:
      episodes: 3
  - name: best2of3
    best_window_mean:
      window: 2
    best_seeds: 2
  - name: episodes
    episodes_to_threshold:
      window: 2
      thresholds:
        CartPole-v1: 25
        Pendulum-v1: 1000
paper:
  - env: CartPole-v1
    algorithm: A2C
    values:
      last3: 500
      best2of3: 30
      episodes: 3
  - env: Pendulum-v1
    algorithm: A2C
    values:
      last3: 30
      episodes: N/A
  - env: CartPole-v1
    algorithm: TRPO
    values:
      last3: 400
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
        Column::new("wall_seconds".into(), (1..=n).map(|i| i as f64 * 0.5).collect::<Vec<f64>>()),
    ])
    .unwrap();
    logs::write_parquet(&mut df, &dir.join("episodes.parquet")).unwrap();
    let mut up = DataFrame::new(0, vec![
        Column::new("update".into(), Vec::<u64>::new()),
        Column::new("global_step".into(), Vec::<u64>::new()),
        Column::new("wall_seconds".into(), Vec::<f64>::new()),
    ])
    .unwrap();
    logs::write_parquet(&mut up, &dir.join("updates.parquet")).unwrap();
    common::write_provenance(&dir, cell, n, 0);
}

fn synthetic() -> (acktr::spec::Spec, tempfile::TempDir) {
    let spec = acktr::spec::parse(SPEC, Path::new("specs/synthetic.yaml"), "paper").unwrap();
    let root = tempfile::tempdir().unwrap();
    // TRPO's cells never finish (its rows show no value and the paper's number).
    let cells: Vec<_> = spec.cells().into_iter().filter(|c| c.algorithm != "TRPO").collect();
    // Every other cell but the last three (Pendulum, Tuned lr=0.01) finishes. Seed s of report
    // row r (cells come in rows of 3 seeds) has returns
    // [-100, 10 + s + 10 r, 20 + 2 s + 10 r, 30 + 3 s + 10 r].
    for (k, cell) in cells.iter().enumerate().take(cells.len() - 3) {
        let (s, r) = (cell.seed as f64, (k / 3) as f64);
        write_cell(root.path(), cell, &[-100.0, 10.0 + s + 10.0 * r, 20.0 + 2.0 * s + 10.0 * r, 30.0 + 3.0 * s + 10.0 * r]);
    }
    (spec, root)
}

#[test]
fn report_metrics_are_worked_out_by_hand() {
    let (spec, root) = synthetic();
    let report = acktr::report::build(&spec, root.path()).unwrap();
    // CartPole A2C (row 0), seed s: returns [-100, 10+s, 20+2s, 30+3s].
    let row = &report.rows[0];
    assert_eq!((row.env.as_str(), row.algorithm.as_str()), ("CartPole-v1", "A2C"));
    // last3 = mean(10+s, 20+2s, 30+3s) = 20 + 2s -> 20, 22, 24: mean 22, sample std 2.
    let m = &row.metrics[0].agg;
    assert!((m.value.unwrap() - 22.0).abs() < 1e-12 && (m.std.unwrap() - 2.0).abs() < 1e-12);
    // Paper 500 lies above the interval (which stays within [20, 24]).
    assert_eq!(row.metrics[0].verdict, Verdict::Below);
    // best2of3: best window of 2 = (20+2s + 30+3s)/2 = 25 + 2.5s -> 25, 27.5, 30; best 2
    // seeds: 30 and 27.5 -> 28.75.
    assert!((row.metrics[1].agg.value.unwrap() - 28.75).abs() < 1e-12);
    // episodes (threshold 25, window 2): windows -45+s/2, 15+1.5s, 25+2.5s -> the third
    // window (episodes 3..4) for every seed: N = 3, all seeds.
    assert_eq!(row.metrics[2].agg.value, Some(3.0));
    assert_eq!(row.metrics[2].agg.std, Some(0.0));
    // TRPO rows: built, but none of their cells finished: no value, nothing to compare, the
    // paper's number kept.
    let trpo = report.rows.iter().find(|r| r.algorithm == "TRPO" && r.env == "CartPole-v1").unwrap();
    assert_eq!(trpo.metrics[0].agg.n_seeds, 0);
    assert_eq!(trpo.metrics[0].verdict, Verdict::Nothing);
    // Pendulum A2C: threshold 1000 never reached, paper N/A -> agrees.
    let pend = report.rows.iter().find(|r| r.algorithm == "A2C" && r.env == "Pendulum-v1").unwrap();
    assert_eq!(pend.metrics[2].agg.value, None);
    assert_eq!(pend.metrics[2].verdict, Verdict::Within);
    assert!(report.partial());
    // Across tasks: A2C on last3 has paper numbers for both tasks.
    let a2c = report.across_tasks.iter().find(|a| a.algorithm == "A2C" && a.metric == "last3").unwrap();
    assert_eq!((a2c.tasks, a2c.runs), (2, 6));
}

#[test]
fn report_renders_markdown_csv_and_latex() {
    let (spec, root) = synthetic();
    let report = acktr::report::build(&spec, root.path()).unwrap();
    insta::with_settings!({snapshot_path => "../golden/snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("report_markdown", acktr::report::render_markdown(&report));
        insta::assert_snapshot!("report_csv", acktr::report::render_csv(&report));
        insta::assert_snapshot!("report_latex", acktr::report::render_latex(&report));
    });
}

#[test]
fn a_smaller_profile_budget_is_not_comparable() {
    let text = format!("{SPEC}profiles:\n  small:\n    total_timesteps: 100\n");
    let spec = acktr::spec::parse(&text, Path::new("specs/synthetic.yaml"), "small").unwrap();
    let root = tempfile::tempdir().unwrap();
    for cell in spec.cells() {
        write_cell(root.path(), &cell, &[1.0, 2.0, 3.0]);
    }
    let report = acktr::report::build(&spec, root.path()).unwrap();
    assert_eq!(report.rows[0].metrics[0].verdict, Verdict::NotComparable);
    assert!(acktr::report::render_markdown(&report).contains("Not the paper's budget"));
}

#[test]
fn figures_are_written_as_png_and_svg() {
    let text = format!("{SPEC}curves:\n  smoothing_episodes: 2\n  points: 10\n");
    let spec = acktr::spec::parse(&text, Path::new("specs/synthetic.yaml"), "paper").unwrap();
    let root = tempfile::tempdir().unwrap();
    for cell in spec.cells() {
        write_cell(root.path(), &cell, &[1.0, 2.0, 3.0, 5.0]);
    }
    let (report, md) = acktr::report::write(&spec, root.path()).unwrap();
    let dir = md.parent().unwrap();
    for f in ["curves_timesteps.png", "curves_timesteps.svg", "curves_wallclock.png", "curves_wallclock.svg"] {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        assert!(bytes.len() > 1000, "{f} is {} bytes", bytes.len());
        assert!(report.figures.contains(&f.to_string()));
    }
    assert!(std::fs::read(dir.join("curves_timesteps.png")).unwrap().starts_with(b"\x89PNG"));
    let svg = std::fs::read_to_string(dir.join("curves_timesteps.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("CartPole-v1") && svg.contains("A2C"));
    let md_text = std::fs::read_to_string(&md).unwrap();
    assert!(md_text.contains("](curves_timesteps.png)"));
    assert!(dir.join("report.tex").exists() && dir.join("report.csv").exists());
    // Nothing temporary left behind.
    assert!(std::fs::read_dir(dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains(".tmp-")));
}

#[test]
fn a_grid_row_takes_its_own_paper_number_before_its_algorithms() {
    // Table 3 gives one number per batch size: `paper:` may name a grid row's label.
    let text = SPEC.replace(
        "  - env: CartPole-v1\n    algorithm: TRPO\n",
        "  - env: CartPole-v1\n    algorithm: \"Tuned [lr=0.1]\"\n    values:\n      last3: 7\n  - env: CartPole-v1\n    algorithm: Tuned\n    values:\n      last3: 9\n  - env: CartPole-v1\n    algorithm: TRPO\n",
    );
    let spec = acktr::spec::parse(&text, Path::new("specs/synthetic.yaml"), "paper").unwrap();
    let root = tempfile::tempdir().unwrap();
    for cell in spec.cells() {
        write_cell(root.path(), &cell, &[1.0, 2.0, 3.0]);
    }
    let report = acktr::report::build(&spec, root.path()).unwrap();
    let paper = |label: &str| {
        let row = report.rows.iter().find(|r| r.env == "CartPole-v1" && r.algorithm == label).unwrap();
        row.metrics[0].paper.clone()
    };
    assert_eq!(paper("Tuned [lr=0.1]"), Some(acktr::spec::PaperValue::Number(7.0)));
    assert_eq!(paper("Tuned [lr=0.01]"), Some(acktr::spec::PaperValue::Number(9.0)), "falls back to the algorithm's");
    // A label that is no row is refused.
    let bad = text.replace("\"Tuned [lr=0.1]\"", "\"Tuned [lr=0.3]\"");
    let err = acktr::spec::parse(&bad, Path::new("specs/synthetic.yaml"), "paper").unwrap_err().to_string();
    assert!(err.contains("paper[2].algorithm") && err.contains("grid rows"), "{err}");
}

#[test]
fn claims_are_decided_seed_by_seed() {
    let text = format!(
        "{SPEC}claims:
  - {{says: tuning helps, source: nowhere, metric: last3, envs: [CartPole-v1], ahead: {{row: \"Tuned [lr=0.1]\", vs: [A2C]}}}}
  - {{says: tuning hurts, source: nowhere, metric: last3, envs: [CartPole-v1], ahead: {{row: A2C, vs: [\"Tuned [lr=0.1]\"]}}}}
  - {{says: the other point helps too, source: nowhere, metric: last3, ahead: {{row: \"Tuned [lr=0.01]\", vs: [A2C]}}}}
  - {{says: the default is near 22, source: nowhere, metric: last3, envs: [CartPole-v1], within: {{row: A2C, range: [19, 25]}}}}
  - {{says: the default is near 10, source: nowhere, metric: last3, envs: [CartPole-v1], within: {{row: A2C, range: [5, 15]}}}}
"
    );
    let spec = acktr::spec::parse(&text, Path::new("specs/synthetic.yaml"), "paper").unwrap();
    let (_, root) = synthetic();
    let report = acktr::report::build(&spec, root.path()).unwrap();
    use acktr::report::claims::ClaimVerdict::*;
    let verdicts: Vec<_> = report.claims.iter().map(|c| c.verdict).collect();
    // last3 = 20 + 2s + 10r for report row r: A2C (r 0) 20, 22, 24; Tuned lr=0.1 (r 1) 30,
    // 32, 34, apart from A2C's: p = 1/20 either way. Tuned lr=0.01 is ahead on CartPole but
    // its Pendulum cells never finished. A2C's interval lies within [20, 24].
    assert_eq!(verdicts, vec![Holds, DoesNotHold, NoResults, Holds, DoesNotHold]);
    assert_eq!(report.claims[0].parts[0].p_for, Some(0.05));
    assert_eq!(report.claims[2].parts.iter().map(|p| p.verdict).collect::<Vec<_>>(), vec![Holds, NoResults]);
    let md = acktr::report::render_markdown(&report);
    assert!(md.contains("## The paper's claims") && md.contains("| 1 | tuning helps | nowhere | Tuned [lr=0.1] ahead of A2C on `last3` | **holds** |"), "{md}");
    let csv = acktr::report::render::render_claims_csv(&report);
    assert_eq!(csv.lines().count(), 1 + 1 + 1 + 2 + 1 + 1);
}
