//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `acktr` binary with `args` in `cwd`.
pub fn acktr(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acktr"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run acktr")
}

/// Every file under `dir` with its bytes, sorted by path.
pub fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A tiny spec: `envs` x A2C x `seeds`, `steps` timesteps per cell.
pub fn tiny_spec(envs: &[&str], seeds: &[u64], steps: u64) -> String {
    format!(
        "title: Tiny\nreproduces: none\nenvs: [{}]\nalgorithms:\n  - name: A2C\n    a2c: {{}}\nseeds: [{}]\nbudget:\n  total_timesteps: {steps}\n  num_envs: 4\n  steps_per_update: 5\nmetrics:\n  - name: final_return\n    last_episodes_mean:\n      episodes: 5\n",
        envs.join(", "),
        seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
    )
}

/// The cell directories under a spec's results (names not starting with `.`), sorted.
pub fn cell_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return vec![] };
    let mut v: Vec<_> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v
}

/// Writes the `provenance.json` that makes a hand-made cell directory a finished cell: its
/// hash, its budget of timesteps, and the row counts of its two logs (what
/// `acktr::run::cell_state` checks).
pub fn write_provenance(dir: &Path, cell: &acktr::spec::Cell, episodes: u64, updates: u64) {
    let prov = serde_json::json!({
        "cell": {"hash": cell.hash},
        "timesteps": cell.budget.total_timesteps,
        "episodes": episodes,
        "updates": updates,
    });
    std::fs::write(dir.join("provenance.json"), prov.to_string()).unwrap();
}
