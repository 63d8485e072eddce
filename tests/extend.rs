//! A finished cell keeps its final state, and a cell of the same lineage with a longer
//! budget (the spec's full run after a profile's short one) continues from it to the same
//! logs as a run from the start; a cell whose schedules anneal over a different horizon does
//! not.

mod common;

use std::path::Path;

use common::{acktr, cell_dirs};

/// A2C and ACKTR on CartPole with baselines' linear learning-rate schedules; the `half`
/// profile is the full run cut short (its schedules keep the full budget's horizon).
const SPEC: &str = "title: Extend
reproduces: none
envs: [CartPole-v1]
algorithms:
  - name: A2C
    a2c: {lr_schedule: linear}
  - name: ACKTR
    acktr: {kfac: {lr_schedule: linear}}
seeds: [0]
budget:
  total_timesteps: 4000
  num_envs: 4
  steps_per_update: 5
profiles:
  half:
    total_timesteps: 2000
";

/// The same cells at 2000 timesteps as a spec of their own: schedules over 2000 timesteps.
fn short_spec() -> String {
    let full = SPEC.replace("title: Extend", "title: Short").replace("total_timesteps: 4000", "total_timesteps: 2000");
    full[..full.find("profiles:").expect("the spec has profiles")].to_string()
}

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("specs")).unwrap();
    std::fs::write(d.path().join("specs/ext.yaml"), SPEC).unwrap();
    std::fs::write(d.path().join("specs/short.yaml"), short_spec()).unwrap();
    d
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = acktr(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{args:?}: {stderr}");
    stderr + &String::from_utf8_lossy(&out.stdout)
}

fn frames(cell: &Path) -> Vec<polars::prelude::DataFrame> {
    ["episodes.parquet", "updates.parquet"]
        .iter()
        .map(|f| {
            acktr::run::logs::read_parquet(&cell.join(f))
                .unwrap()
                .drop("wall_seconds")
                .unwrap()
        })
        .collect()
}

fn files_starting(dir: &Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

#[test]
fn a_longer_cell_continues_a_finished_shorter_one_to_the_logs_of_a_run_from_the_start() {
    // Continued: the profile first, then the full spec.
    let continued = setup();
    let c = continued.path();
    run(
        c,
        &[
            "reproduce",
            "ext",
            "--profile",
            "half",
            "--jobs",
            "1",
            "--no-progress",
        ],
    );
    let finals = files_starting(&c.join("results/ext"), ".final-");
    assert_eq!(
        finals.len(),
        2,
        "one final state per finished cell: {finals:?}"
    );
    assert!(
        finals.iter().all(|n| n.ends_with("-2000.bin")),
        "{finals:?}"
    );
    let status = run(c, &["status", "ext"]);
    assert_eq!(
        status
            .matches("to do (continues a finished cell's 2000 timesteps)")
            .count(),
        2,
        "{status}"
    );
    let log = run(c, &["reproduce", "ext", "--jobs", "1", "--no-progress"]);
    assert_eq!(log.matches("continuing finished cell").count(), 2, "{log}");
    assert!(files_starting(&c.join("results/ext"), ".ckpt-").is_empty());

    // From the start, after a spec whose cells anneal over 2000 timesteps has finished and
    // kept its final states: they are not the same computation, so nothing continues them.
    let fresh = setup();
    let f = fresh.path();
    run(f, &["reproduce", "short", "--jobs", "1", "--no-progress"]);
    assert_eq!(files_starting(&f.join("results/short"), ".final-").len(), 2);
    let log = run(f, &["reproduce", "ext", "--jobs", "1", "--no-progress"]);
    assert!(!log.contains("continuing"), "{log}");

    let short_cells: Vec<String> = cell_dirs(&c.join("results/ext"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    let full = cell_dirs(&f.join("results/ext"));
    assert_eq!(full.len(), 2);
    for cell in &full {
        let name = cell.file_name().unwrap();
        let twin = c.join("results/ext").join(name);
        for (a, b) in frames(&twin).iter().zip(frames(cell)) {
            assert!(
                a.equals_missing(&b),
                "{}: a continued cell's logs differ from a run from the start:\n{a}\n{b}",
                name.to_string_lossy()
            );
        }
        let prov: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(twin.join("provenance.json")).unwrap())
                .unwrap();
        let from = prov["continued_from"]["cell"]
            .as_str()
            .expect("provenance names the cell it continued");
        assert!(
            short_cells.iter().any(|h| h == from),
            "{from} is not one of {short_cells:?}"
        );
        assert_eq!(prov["continued_from"]["timesteps"], 2000);
        let prov: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(cell.join("provenance.json")).unwrap())
                .unwrap();
        assert!(prov.get("continued_from").is_none());
    }
}

/// With constant learning rates a cell computes the same whatever its schedules' horizon, so
/// the full spec continues the finished cells of the spec that runs 2000 timesteps as its own.
#[test]
fn cells_with_constant_rates_continue_whatever_their_horizon() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("specs")).unwrap();
    let constant = |s: &str| s.replace("a2c: {lr_schedule: linear}", "a2c: {lr_schedule: constant}").replace("acktr: {kfac: {lr_schedule: linear}}", "acktr: {kfac: {lr_schedule: constant}}");
    std::fs::write(d.path().join("specs/ext.yaml"), constant(SPEC)).unwrap();
    std::fs::write(d.path().join("specs/short.yaml"), constant(&short_spec())).unwrap();
    run(d.path(), &["reproduce", "short", "--jobs", "1", "--no-progress"]);
    let log = run(d.path(), &["reproduce", "ext", "--jobs", "1", "--no-progress"]);
    assert_eq!(log.matches("continuing finished cell").count(), 2, "{log}");
}
