//! Bad grids, grid rankings and update curves exit with code 2 and one message naming the
//! file, the line and the field path (as `bad_specs.rs` does for the rest of the spec), and
//! good path grids resolve into the cells' configurations.

mod common;

use common::acktr;

const GOOD: &str = "title: T
reproduces: none
envs:
  - CartPole-v1
algorithms:
  - name: A2C
    a2c:
      lr: 0.0007
seeds: [0, 1]
budget:
  total_timesteps: 1000
  num_envs: 2
  steps_per_update: 5
metrics:
  - name: final_return
    last_episodes_mean:
      episodes: 10
";

/// GOOD with an A2C grid: `grid:` on line 9, its first key on line 10.
fn a2c_grid(grid: &str) -> String {
    GOOD.replace("      lr: 0.0007\n", &format!("      lr: 0.0007\n    grid:\n{grid}"))
}

/// GOOD with an ACKTR row instead (default configuration): `grid:` on line 8, its first key
/// on line 9.
fn acktr_grid(grid: &str) -> String {
    GOOD.replace("    a2c:\n      lr: 0.0007\n", &format!("    acktr: {{}}\n    grid:\n{grid}"))
}

/// GOOD with an ACKTR row on separate networks (`grid:` on line 9).
fn separate(grid: &str) -> String {
    GOOD.replace("    a2c:\n      lr: 0.0007\n", &format!("    acktr:\n      network: {{shared: false}}\n    grid:\n{grid}"))
}

/// As [`separate`], with the Euclidean critic (`grid:` on line 10).
fn separate_euclidean(grid: &str) -> String {
    GOOD.replace("    a2c:\n      lr: 0.0007\n", &format!("    acktr:\n      network: {{shared: false}}\n      critic: euclidean\n    grid:\n{grid}"))
}

/// (what, spec text, expected pieces of the message)
fn cases() -> Vec<(&'static str, String, Vec<&'static str>)> {
    vec![
        ("a path that is not a field", acktr_grid("      kfac.kl_clp: [0.1]\n"), vec!["bad.yaml:9:", "algorithms[0].grid.kfac.kl_clp", "no such field in the acktr configuration", "kfac.kl_clip"]),
        ("a top-level path that is not a field", a2c_grid("      entropy: [0.1]\n"), vec!["bad.yaml:10:", "algorithms[0].grid.entropy", "no such field in the a2c configuration", "entropy_coef", "steps_per_update"]),
        ("a path through a value", acktr_grid("      gamma.x: [0.1]\n"), vec!["bad.yaml:9:", "algorithms[0].grid.gamma.x", "`gamma` is a single value"]),
        ("a path through an unset group", acktr_grid("      kfac.cold_start.lr: [0.1]\n"), vec!["bad.yaml:9:", "algorithms[0].grid.kfac.cold_start.lr", "`kfac.cold_start` is not set"]),
        ("a value of the wrong type", acktr_grid("      kfac.inverse_every: [1, 2.5]\n"), vec!["bad.yaml:9:", "algorithms[0].grid.kfac.inverse_every[1]", "cannot be 2.5", "invalid type"]),
        ("an unknown enum value", acktr_grid("      critic: [gauss_newton, newton]\n"), vec!["bad.yaml:9:", "algorithms[0].grid.critic[1]", "unknown variant `newton`"]),
        ("a value the field's check rejects", acktr_grid("      kfac.kl_clip: [0.01, -1]\n"), vec!["bad.yaml:9:", "algorithms[0].grid.kfac.kl_clip[1]", "positive", "-1"]),
        ("a value its field's own check rejects", acktr_grid("      critic: [euclidean]\n"), vec!["bad.yaml:9:", "algorithms[0].grid.critic[0]", "separate"]),
        ("a value another field's check rejects", separate_euclidean("      network.shared: [false, true]\n"), vec!["bad.yaml:11:", "algorithms[0].grid.network.shared[1]", "with network.shared=true: algorithms[0].acktr.critic", "separate"]),
        ("an A2C value out of range", a2c_grid("      gamma: [0.9, 1.5]\n"), vec!["bad.yaml:10:", "algorithms[0].grid.gamma[1]", "[0, 1]", "1.5"]),
        ("a combination the checks reject", separate("      network.shared: [false, true]\n      critic: [gauss_newton, euclidean]\n"), vec!["bad.yaml:9:", "algorithms[0].grid", "point [network.shared=true, critic=euclidean]", "separate"]),
        ("not a list", a2c_grid("      entropy_coef: 0.1\n"), vec!["bad.yaml:10:", "algorithms[0].grid.entropy_coef", "give a list"]),
        ("a value that is not a scalar", a2c_grid("      entropy_coef: [[0.1]]\n"), vec!["bad.yaml:10:", "algorithms[0].grid.entropy_coef[0]", "numbers, strings or booleans"]),
        ("a value twice", a2c_grid("      lr: [0.1, 0.1]\n"), vec!["bad.yaml:10:", "algorithms[0].grid.lr[1]", "appears twice"]),
        ("lr and its field together", acktr_grid("      lr: [0.1]\n      kfac.lr: [0.2]\n"), vec!["bad.yaml:10:", "algorithms[0].grid.kfac.lr", "alias"]),
        ("a negative lr", a2c_grid("      lr: [0.1, -0.5]\n"), vec!["bad.yaml:10:", "algorithms[0].grid.lr[1]", "positive", "-0.5"]),
        ("a fractional batch", a2c_grid("      steps_per_update: [5, 2.5]\n"), vec!["bad.yaml:10:", "algorithms[0].grid.steps_per_update[1]", "positive integer", "2.5"]),
        ("an empty path grid", a2c_grid("      entropy_coef: []\n"), vec!["bad.yaml:10:", "algorithms[0].grid.entropy_coef", "empty"]),
        ("ranking on an unknown metric", format!("{GOOD}grid_ranking:\n  metric: reward\n"), vec!["bad.yaml:19:", "grid_ranking.metric", "`reward` is not one of the spec's metrics", "final_return"]),
        ("update curves without columns", format!("{GOOD}update_curves:\n  columns: []\n"), vec!["bad.yaml:19:", "update_curves.columns", "no columns"]),
        ("update curves on an unknown axis", format!("{GOOD}update_curves:\n  columns: [nu]\n  x: time\n"), vec!["bad.yaml:20:", "update_curves.x", "unknown variant `time`", "`update` or `global_step`"]),
        ("an unknown update curves field", format!("{GOOD}update_curves:\n  columns: [nu]\n  log_x: true\n"), vec!["bad.yaml:20:", "update_curves", "unknown field `log_x`"]),
    ]
}

#[test]
fn every_kind_of_bad_grid_exits_2_with_a_located_message() {
    for (what, text, expected) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let specs = dir.path().join("specs");
        std::fs::create_dir_all(&specs).unwrap();
        std::fs::write(specs.join("bad.yaml"), &text).unwrap();
        let out = acktr(dir.path(), &["plan", "bad"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: exit {:?}, stderr: {stderr}", out.status.code());
        assert_eq!(stderr.lines().count(), 1, "{what}: one line expected, got: {stderr}");
        for piece in &expected {
            assert!(stderr.contains(piece), "{what}: `{piece}` missing from: {stderr}");
        }
        assert!(!dir.path().join("results").exists(), "{what}: results written");
    }
}

#[test]
fn a_path_grid_changes_the_resolved_config_hash_and_label() {
    // Separate networks: `value_kfac` does not apply to a shared one (tests/bad_specs.rs).
    let text = separate("      kfac.kl_clip: [0.01, 0.02]\n      value_kfac.damping: [0.1]\n      network.policy_activation: [tanh, relu]\n");
    let spec = acktr::spec::parse(&text, std::path::Path::new("g.yaml"), "paper").unwrap();
    let cells = spec.cells();
    // 2 x 1 x 2 points x 2 seeds, in the order of the keys, then the values.
    assert_eq!(cells.len(), 8);
    let labels: Vec<String> = cells.iter().step_by(2).map(|c| c.row_label()).collect();
    assert_eq!(labels, [
        "A2C [kfac.kl_clip=0.01, value_kfac.damping=0.1, network.policy_activation=tanh]",
        "A2C [kfac.kl_clip=0.01, value_kfac.damping=0.1, network.policy_activation=relu]",
        "A2C [kfac.kl_clip=0.02, value_kfac.damping=0.1, network.policy_activation=tanh]",
        "A2C [kfac.kl_clip=0.02, value_kfac.damping=0.1, network.policy_activation=relu]",
    ]);
    for c in &cells {
        let acktr::algo::AlgorithmConfig::Acktr(cfg) = &c.config else { panic!("acktr") };
        let want = if c.grid.label().contains("kl_clip=0.02") { 0.02 } else { 0.01 };
        assert_eq!(cfg.kfac.kl_clip, want);
        assert_eq!(cfg.value_kfac.damping, 0.1);
        let relu = c.grid.label().ends_with("relu");
        assert_eq!(cfg.network.policy_activation == acktr::nets::Activation::Relu, relu);
        // Everything else is the base configuration's.
        let acktr::algo::AlgorithmConfig::Acktr(base) = &spec.algorithms[0].config else { panic!() };
        assert_eq!((cfg.kfac.lr, cfg.kfac.damping, cfg.value_kfac.kl_clip), (base.kfac.lr, base.kfac.damping, base.value_kfac.kl_clip));
    }
    let mut hashes: Vec<&str> = cells.iter().map(|c| c.hash.as_str()).collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), cells.len());
}

#[test]
fn lr_and_steps_per_update_keep_their_labels_and_hashes() {
    let with_grid = a2c_grid("      lr: [0.0007, 0.01]\n");
    let spec = acktr::spec::parse(&with_grid, std::path::Path::new("g.yaml"), "paper").unwrap();
    let cells = spec.cells();
    assert_eq!(cells[0].row_label(), "A2C [lr=0.0007]");
    // The lr alias reaches the same field as `lr:` in the configuration; only the grid key
    // in the hash differs from an unsorted spec, so compare against a plain grid-less spec's
    // config.
    let plain = acktr::spec::parse(GOOD, std::path::Path::new("g.yaml"), "paper").unwrap();
    assert_eq!(cells[0].config, plain.cells()[0].config);
    let batch = acktr::spec::parse(&a2c_grid("      steps_per_update: [5, 20]\n"), std::path::Path::new("g.yaml"), "paper").unwrap();
    let c = batch.cells();
    assert_eq!(c[2].row_label(), "A2C [steps_per_update=20]");
    assert_eq!(c[2].budget.steps_per_update, 20);
}
