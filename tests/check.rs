//! `acktr check`: an identical rerun is `identical`; new seeds (numbers that change without
//! mattering) are `same` and pass; a planted harmful change is `worse` and exits 1; bad
//! input exits 2 and writes nothing under the reference.

mod common;

use std::path::Path;

use common::{acktr, repo, snapshot_tree};

/// A2C on CartPole, 6 seeds of 20k timesteps (about a second each): `lr` is the planted
/// knob (0.004 learns; 1e-6 does not move).
fn spec(dir: &Path, lr: &str, seeds: &str) -> String {
    let text = format!(
        "title: check test\nreproduces: none\nenvs: [CartPole-v1]\nalgorithms:\n  - name: A2C\n    a2c: {{lr: {lr}, max_grad_norm: 10.0, network: {{shared: false}}}}\nseeds: {seeds}\nbudget: {{total_timesteps: 20000, num_envs: 8, steps_per_update: 20}}\nmetrics:\n  - name: final_return\n    last_episodes_mean: {{episodes: 20}}\n    min_effect: 10\nprofiles:\n  one_seed: {{seeds: [0]}}\n"
    );
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("gate.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

struct Dirs {
    _tmp: tempfile::TempDir,
    reference: String,
    out: String,
    root: std::path::PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    Dirs {
        reference: root.join("ref").to_str().unwrap().into(),
        out: root.join("out").to_str().unwrap().into(),
        root,
        _tmp: tmp,
    }
}

fn check(d: &Dirs, spec: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["check", spec, "--against", &d.reference, "--out", &d.out, "--no-progress"];
    args.extend_from_slice(extra);
    let out = acktr(&repo(), &args);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// The verdict column of the row of `metric` in the printed table.
fn verdicts(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("| CartPole-v1"))
        .map(|l| l.trim_end_matches('|').rsplit('|').next().unwrap().trim().to_string())
        .collect()
}

#[test]
fn identical_same_and_worse() {
    let d = dirs();
    let good = spec(&d.root.join("good"), "0.004", "[0, 1, 2, 3, 4, 5]");
    // No reference yet: --bless makes one.
    let (code, stdout, stderr) = check(&d, &good, &["--bless"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("6 cells added"), "{stdout}");
    assert!(Path::new(&d.reference).join("gate/report.md").is_file());
    // Provenance names the build (commit and dirty flag recorded when it was built, and a
    // digest of the executable) and the spec text; the report lists who made its cells.
    let cell = std::fs::read_dir(Path::new(&d.reference).join("gate")).unwrap().map(|e| e.unwrap().path()).find(|p| p.join("provenance.json").is_file()).unwrap();
    let prov: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(cell.join("provenance.json")).unwrap()).unwrap();
    let hex = |v: &serde_json::Value, n: usize| v.as_str().is_some_and(|s| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(hex(&prov["build_id"], 16) && hex(&prov["spec_sha256"], 16), "{prov}");
    assert!(hex(&prov["build_commit"], 40) || prov["build_commit"] == "unknown", "{prov}");
    assert!(["true", "false", "unknown"].contains(&prov["build_dirty"].as_str().unwrap()), "{prov}");
    let report = std::fs::read_to_string(Path::new(&d.reference).join("gate/report.md")).unwrap();
    assert!(report.contains("Cells made by: build ") && report.contains("(6)."), "{report}");

    // The same build and spec again: the cells are reused and their logs are the same.
    let (code, stdout, stderr) = check(&d, &good, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(verdicts(&stdout), ["identical"], "{stdout}");
    let written = std::fs::read_dir(&d.out).unwrap().next().unwrap().unwrap().path().join("gate");
    assert!(written.join("check.md").is_file() && written.join("check.csv").is_file());

    // Other seeds: every number changes, learning does not.
    let (code, stdout, stderr) = check(&d, &good, &["--seed-offset", "100"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(verdicts(&stdout), ["same"], "{stdout}");

    // A planted regression: the learning rate 4000 times too small.
    let bad = spec(&d.root.join("bad"), "0.000001", "[0, 1, 2, 3, 4, 5]");
    let before = snapshot_tree(Path::new(&d.reference));
    let (code, stdout, stderr) = check(&d, &bad, &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(verdicts(&stdout), ["**worse**"], "{stdout}");
    assert!(stdout.contains("1 row(s) worse: CartPole-v1 A2C final_return"), "{stdout}");
    assert_eq!(snapshot_tree(Path::new(&d.reference)), before, "a check without --bless wrote under the reference");

    // Blessing the bad run replaces the reference's cells and says so.
    let (code, stdout, _) = check(&d, &bad, &["--bless"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("6 cells added, 0 replaced, 6 removed"), "{stdout}");
}

#[test]
fn bad_input_exits_2_and_writes_nothing_under_the_reference() {
    let d = dirs();
    let good = spec(&d.root.join("good"), "0.004", "[0, 1]");
    std::fs::create_dir_all(&d.reference).unwrap();
    let before = snapshot_tree(Path::new(&d.reference));
    // A reference directory without the spec's cells.
    let (code, _, stderr) = check(&d, &good, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds no finished cells of spec `gate`"), "{stderr}");
    // A profile with one seed: nothing to compare.
    let (code, _, stderr) = check(&d, &good, &["--profile", "one_seed"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("profile `one_seed` has 1 seed(s)"), "{stderr}");
    // An unknown spec.
    let (code, _, stderr) = check(&d, "no_such_spec", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unknown spec `no_such_spec`"), "{stderr}");
    assert_eq!(snapshot_tree(Path::new(&d.reference)), before);
    assert!(!Path::new(&d.out).exists(), "nothing ran");
}
