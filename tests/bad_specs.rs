//! Bad specs exit with code 2 and one message naming the file, the line (where it can be
//! found) and the field path, and leave `results/` untouched.

mod common;

use common::{acktr, snapshot_tree};

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
paper:
  - env: CartPole-v1
    algorithm: A2C
    values:
      final_return: 500
";

/// GOOD with a second row `B` and one claim on `metric` ending in `body` (the claim's
/// `says` is on line 27, `metric` on 29, `body` from 30).
fn claim(metric: &str, body: &str) -> String {
    let two = GOOD.replace("seeds: [0, 1]\n", "  - name: B\n    a2c:\n      lr: 0.001\nseeds: [0, 1]\n");
    format!("{two}claims:\n  - says: s\n    source: section 1\n    metric: {metric}\n{body}")
}

/// (what, edit of GOOD, extra CLI args, expected pieces of the message)
fn cases() -> Vec<(&'static str, String, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        ("yaml syntax", GOOD.replace("seeds: [0, 1]", "seeds: [0, 1]]"), vec![], vec!["bad.yaml:9:14:", "(YAML syntax)", "did not find expected key"]),
        ("unclosed quote", GOOD.replace("title: T", "title: \"T"), vec![], vec!["bad.yaml:1:8:", "end of stream", "quoted scalar"]),
        ("unclosed brace", GOOD.replace("    a2c:\n      lr: 0.0007", "    a2c: {lr: 0.0007"), vec![], vec!["bad.yaml:7:", "flow mapping"]),
        ("tab indentation", GOOD.replace("  num_envs: 2", "\tnum_envs: 2"), vec![], vec!["bad.yaml:12:", "tab character"]),
        ("deeply nested paper values", GOOD.replace("paper:\n", &format!("paper: {}{}\nx:\n", "[".repeat(300_000), "]".repeat(300_000))), vec![], vec!["bad.yaml:18:", "(YAML syntax)", "nested deeper than 128"]),
        ("deeply nested grid values", GOOD.replace("      lr: 0.0007", &format!("      lr: 0.0007\n    grid: {{lr: {}{}}}", "[".repeat(200_000), "]".repeat(200_000))), vec![], vec!["bad.yaml:9:", "nested deeper than 128"]),
        ("bad indentation", GOOD.replace("  num_envs: 2", " num_envs: 2"), vec![], vec!["bad.yaml:11:3:", "budget", "missing field `num_envs`"]),
        ("unknown field", GOOD.replace("  num_envs: 2", "  num_envz: 2"), vec![], vec!["bad.yaml:12:", "budget", "unknown field `num_envz`"]),
        ("unknown environment", GOOD.replace("  - CartPole-v1\nalg", "  - CartPol-v1\nalg"), vec![], vec!["bad.yaml:4", "envs[0]", "unknown environment `CartPol-v1`", "CartPole-v1"]),
        ("unknown algorithm", GOOD.replace("    a2c:\n      lr", "    ppo:\n      lr"), vec![], vec!["bad.yaml:7:", "algorithms[0]", "unknown field `ppo`"]),
        ("no algorithm configuration", GOOD.replace("    a2c:\n      lr: 0.0007\n", ""), vec![], vec!["bad.yaml:6", "algorithms[0]", "exactly one algorithm"]),
        ("wrong type", GOOD.replace("total_timesteps: 1000", "total_timesteps: lots"), vec![], vec!["bad.yaml:11:", "budget.total_timesteps", "invalid type"]),
        ("negative budget", GOOD.replace("total_timesteps: 1000", "total_timesteps: -5"), vec![], vec!["bad.yaml:11", "budget.total_timesteps", "positive", "-5"]),
        ("empty seed list", GOOD.replace("seeds: [0, 1]", "seeds: []"), vec![], vec!["bad.yaml:9", "seeds", "empty"]),
        ("bad hyperparameter", GOOD.replace("lr: 0.0007", "lr: -0.1"), vec![], vec!["bad.yaml:8", "algorithms[0].a2c.lr", "positive", "-0.1"]),
        ("unknown hyperparameter", GOOD.replace("lr: 0.0007", "learning_rate: 0.1"), vec![], vec!["bad.yaml:8:", "algorithms[0].a2c", "unknown field `learning_rate`"]),
        ("unknown profile", GOOD.to_string(), vec!["--profile", "huge"], vec!["bad.yaml", "no profile `huge`", "paper"]),
        ("paper row for an unknown metric", GOOD.replace("      final_return: 500", "      finalreturn: 500"), vec![], vec!["bad.yaml:22", "paper[0].values.finalreturn", "not one of the spec's metrics"]),
        ("missing field", GOOD.replace("reproduces: none\n", ""), vec![], vec!["bad.yaml", "missing field `reproduces`"]),
        ("unknown acktr preset", GOOD.replace("    a2c:\n      lr: 0.0007", "    acktr:\n      preset: baselines_go"), vec![], vec!["bad.yaml:8", "algorithms[0].acktr.preset", "baselines_go", "baselines_mujoco"]),
        ("separate-network field on a shared network", GOOD.replace("    a2c:\n      lr: 0.0007", "    acktr:\n      value_epochs: 25"), vec![], vec!["bad.yaml:8", "algorithms[0].acktr.value_epochs", "separate policy and value networks only", "shared"]),
        ("critic K-FAC on a shared network", GOOD.replace("    a2c:\n      lr: 0.0007", "    acktr:\n      network: {shared: true}\n      value_kfac: {lr: 0.1}"), vec![], vec!["bad.yaml:9", "algorithms[0].acktr.value_kfac", "shared"]),
        ("value activation on a shared network", GOOD.replace("lr: 0.0007", "network: {value_activation: elu}"), vec![], vec!["bad.yaml:8", "algorithms[0].a2c.network.value_activation", "shared"]),
        ("conv torso on vector observations", GOOD.replace("lr: 0.0007", "network: {architecture: atari_acktr}"), vec![], vec!["bad.yaml", "algorithms[0].a2c.network.architecture", "atari_acktr", "CartPole-v1"]),
        ("bad K-FAC value", GOOD.replace("    a2c:\n      lr: 0.0007", "    acktr:\n      kfac:\n        kl_clip: -1"), vec![], vec!["bad.yaml:9", "algorithms[0].acktr.kfac.kl_clip", "positive", "-1"]),
        ("schedule horizon shorter than the run", GOOD.replace("  steps_per_update: 5", "  steps_per_update: 5\n  schedule_timesteps: 500"), vec![], vec!["bad.yaml:14", "budget.schedule_timesteps", "runs 1000 timesteps", "500"]),
        ("a row on an environment the spec lacks", GOOD.replace("    a2c:\n", "    envs: [Pendulum-v1]\n    a2c:\n"), vec![], vec!["bad.yaml:7", "algorithms[0].envs[0]", "`Pendulum-v1` is not one of the spec's envs"]),
        ("a row on no environment", GOOD.replace("    a2c:\n", "    envs: []\n    a2c:\n"), vec![], vec!["bad.yaml:7", "algorithms[0].envs", "empty"]),
        ("a negative minimum effect", GOOD.replace("      episodes: 10\n", "      episodes: 10\n    min_effect: -1\n"), vec![], vec!["bad.yaml:18", "metrics[0].min_effect", "non-negative", "-1"]),
        ("a minimum effect missing an environment", GOOD.replace("      episodes: 10\n", "      episodes: 10\n    min_effect: {Pendulum-v1: 1}\n"), vec![], vec!["bad.yaml:18", "metrics[0].min_effect", "no value for `CartPole-v1`"]),
        ("a row's schedule horizon shorter than its run", GOOD.replace("      lr: 0.0007", "      lr: 0.0007\n    budget: {schedule_timesteps: 999}"), vec![], vec!["bad.yaml:9", "algorithms[0].budget.schedule_timesteps", "999"]),
        ("negative inverse lag", GOOD.replace("    a2c:\n      lr: 0.0007", "    acktr:\n      kfac:\n        inverse_lag: -2"), vec![], vec!["bad.yaml:9", "algorithms[0].acktr.kfac.inverse_lag", "-2"]),
        ("fractional inverse lag", GOOD.replace("    a2c:\n      lr: 0.0007", "    acktr:\n      kfac:\n        inverse_lag: 1.5"), vec![], vec!["bad.yaml:9", "algorithms[0].acktr.kfac.inverse_lag", "1.5"]),
        ("timing-dependent inverses", GOOD.replace("    a2c:\n      lr: 0.0007", "    acktr:\n      kfac:\n        asynchronous_inverses: true"), vec![], vec!["bad.yaml:9", "asynchronous_inverses", "inverse_lag"]),
        ("unknown K-FAC field", GOOD.replace("    a2c:\n      lr: 0.0007", "    acktr:\n      kfac:\n        klclip: 1"), vec![], vec!["bad.yaml:9", "algorithms[0].acktr.kfac.klclip", "unknown field `klclip`"]),
        ("euclidean critic on a shared network", GOOD.replace("    a2c:\n      lr: 0.0007", "    acktr:\n      critic: euclidean"), vec![], vec!["bad.yaml:8", "algorithms[0].acktr.critic", "separate"]),
        ("two algorithm configurations", GOOD.replace("      lr: 0.0007", "      lr: 0.0007\n    acktr: {}"), vec![], vec!["bad.yaml:6", "algorithms[0]", "not several"]),
        ("a threshold missing for an environment", GOOD.replace("    last_episodes_mean:\n      episodes: 10", "    episodes_to_threshold:\n      window: 10\n      thresholds:\n        Pendulum-v1: 3"), vec![], vec!["bad.yaml:18:", "metrics[0].episodes_to_threshold.thresholds", "no threshold for `CartPole-v1`"]),
        ("a threshold that is not a number", GOOD.replace("    last_episodes_mean:\n      episodes: 10", "    episodes_to_threshold:\n      window: 10\n      thresholds:\n        CartPole-v1: high"), vec![], vec!["bad.yaml:19:", "metrics[0].episodes_to_threshold.thresholds", "invalid type"]),
        ("two metric definitions", GOOD.replace("      episodes: 10", "      episodes: 10\n    best_window_mean:\n      window: 3"), vec![], vec!["bad.yaml:15:", "metrics[0]", "not several"]),
        ("unknown metric", GOOD.replace("    last_episodes_mean:\n      episodes: 10", "    last_episode_mean:\n      episodes: 10"), vec![], vec!["bad.yaml:16", "metrics[0].last_episode_mean", "unknown field", "last_episodes_mean"]),
        ("metric parameter out of range", GOOD.replace("      episodes: 10", "      episodes: 0"), vec![], vec!["bad.yaml:17", "metrics[0].last_episodes_mean.episodes", "positive"]),
        ("first episodes out of range", GOOD.replace("    last_episodes_mean:\n      episodes: 10", "    first_episodes_mean:\n      episodes: -3"), vec![], vec!["bad.yaml:17", "metrics[0].first_episodes_mean.episodes", "positive"]),
        ("unknown metric parameter", GOOD.replace("      episodes: 10", "      episode: 10"), vec![], vec!["bad.yaml", "metrics[0].last_episodes_mean", "unknown field `episode`"]),
        ("NaN paper value", GOOD.replace("final_return: 500", "final_return: .nan"), vec![], vec!["bad.yaml:22", "paper[0].values.final_return", "not a finite number"]),
        ("infinite paper value", GOOD.replace("final_return: 500", "final_return: -.inf"), vec![], vec!["bad.yaml:22", "paper[0].values.final_return", "not a finite number"]),
        ("more best seeds than seeds", GOOD.replace("      episodes: 10", "      episodes: 10\n    best_seeds: 3"), vec![], vec!["bad.yaml:18", "metrics[0].best_seeds", "at most 2"]),
        ("trpo on a shared network", GOOD.replace("    a2c:\n      lr: 0.0007", "    trpo:\n      network: {shared: true}"), vec![], vec!["bad.yaml:8", "algorithms[0].trpo.network.shared", "separate"]),
        ("an algorithm budget of zero timesteps", GOOD.replace("      lr: 0.0007", "      lr: 0.0007\n    budget:\n      total_timesteps: 0"), vec![], vec!["bad.yaml:10", "algorithms[0].budget.total_timesteps", "positive"]),
        ("an unknown algorithm budget field", GOOD.replace("      lr: 0.0007", "      lr: 0.0007\n    budget:\n      num_env: 3"), vec![], vec!["bad.yaml", "num_env"]),
        ("a broken profile that is not selected", GOOD.replace("paper:\n", "profiles:\n  quick:\n    total_timesteps: -3\npaper:\n"), vec![], vec!["bad.yaml:20", "profiles.quick.total_timesteps", "positive"]),
        ("a batch too large for memory", GOOD.replace("num_envs: 2", "num_envs: 1000000000000"), vec![], vec!["bad.yaml:12", "budget.num_envs", "GiB", "more than this machine"]),
        ("a batch too large for memory (steps)", GOOD.replace("steps_per_update: 5", "steps_per_update: 1000000000000"), vec![], vec!["bad.yaml:12", "budget.num_envs", "steps_per_update 1000000000000", "GiB"]),
        ("a profile batch too large for memory", GOOD.replace("paper:\n", "profiles:\n  big:\n    num_envs: 100000000000\npaper:\n"), vec![], vec!["bad.yaml:20", "profiles.big.num_envs", "GiB"]),
        ("zero best seeds", GOOD.replace("      episodes: 10", "      episodes: 10\n    best_seeds: 0"), vec![], vec!["bad.yaml:18:", "metrics[0].best_seeds", "positive"]),
        ("trpo beside another configuration", GOOD.replace("      lr: 0.0007", "      lr: 0.0007\n    trpo: {}"), vec![], vec!["bad.yaml:6:", "algorithms[0]", "not several"]),
        ("an unknown engine", format!("engine: tpu\n{GOOD}"), vec![], vec!["bad.yaml:1", "engine", "unknown variant `tpu`", "`cpu` or `cuda`"]),
        ("pixels of a task that is not MuJoCo", format!("pixels: {{size: 42, visuals: fast}}\n{GOOD}"), vec![], vec!["bad.yaml:1", "pixels", "CartPole-v1", "MuJoCo tasks only"]),
        ("pixels of no size", format!("pixels: {{size: 0, visuals: fast}}\n{}", GOOD.replace("CartPole-v1", "Reacher-v5")), vec![], vec!["bad.yaml:1", "pixels.size", "positive"]),
        ("unknown pixel visuals", format!("pixels: {{size: 42, visuals: pretty}}\n{GOOD}"), vec![], vec!["bad.yaml:1", "pixels.visuals", "unknown variant `pretty`", "`default` or `fast`"]),
        ("a camera the model lacks", format!("pixels: {{size: 42, visuals: fast, cameras: {{Reacher-v5: track}}}}\n{}", GOOD.replace("CartPole-v1", "Reacher-v5")), vec![], vec!["bad.yaml:1", "pixels.cameras.Reacher-v5", "no camera `track`", "`free`"]),
        ("a camera for an env the spec lacks", format!("pixels: {{size: 42, visuals: fast, cameras: {{Hopper-v5: track}}}}\n{}", GOOD.replace("CartPole-v1", "Reacher-v5")), vec![], vec!["bad.yaml:1", "pixels.cameras.Hopper-v5", "not one of the spec's envs"]),
        ("a frame too small for the conv net", format!("pixels: {{size: 4, visuals: fast}}\n{}", GOOD.replace("CartPole-v1", "Reacher-v5").replace("      lr: 0.0007", "      lr: 0.0007\n      network: {architecture: pixel_mujoco}")), vec![], vec!["bad.yaml:10", "network.architecture", "does not fit", "Reacher-v5"]),
        ("a reference line below zero on a log axis", GOOD.replace("paper:\n", "update_curves:\n  columns: [policy_loss]\n  log_y: true\n  lines:\n    - {value: -0.01, label: radius}\npaper:\n"), vec![], vec!["bad.yaml:22", "update_curves.lines[0].value", "-0.01", "positive"]),
        ("a reference line without a label", GOOD.replace("paper:\n", "update_curves:\n  columns: [policy_loss]\n  lines:\n    - {value: 0.01, label: \" \"}\npaper:\n"), vec![], vec!["bad.yaml", "update_curves.lines[0].label", "empty"]),
        ("a profile with an env the spec lacks", GOOD.replace("paper:\n", "profiles:\n  one:\n    envs: [Pendulum-v1]\npaper:\n"), vec![], vec!["bad.yaml:20", "profiles.one.envs[0]", "Pendulum-v1", "not one of the spec's envs"]),
        ("a profile with no envs", GOOD.replace("paper:\n", "profiles:\n  one:\n    envs: []\npaper:\n"), vec![], vec!["bad.yaml:20", "profiles.one.envs", "at least one"]),
        ("a profile given twice", GOOD.replace("paper:\n", "profiles:\n  quick:\n    total_timesteps: 100\n  quick:\n    total_timesteps: 200\npaper:\n"), vec![], vec!["bad.yaml:21", "profiles.quick", "given twice", "lines 19 and 21"]),
        ("a paper value given twice", GOOD.replace("      final_return: 500\n", "      final_return: 500\n      final_return: 400\n"), vec![], vec!["bad.yaml:23", "paper[0].values.final_return", "given twice", "lines 22 and 23"]),
        ("an update column no row logs", GOOD.replace("paper:\n", "update_curves:\n  columns: [exact_kll]\npaper:\n"), vec![], vec!["bad.yaml:19", "update_curves.columns[0]", "no row of the spec logs `exact_kll`", "policy_loss"]),
        ("a claim on an unknown metric", claim("final", "    ahead: {row: A2C, vs: [B]}\n"), vec![], vec!["bad.yaml:29", "claims[0].metric", "`final` is not one of the spec's metrics"]),
        ("a claim about an unknown row", claim("final_return", "    ahead: {row: A2D, vs: [B]}\n"), vec![], vec!["bad.yaml:30", "claims[0].ahead.row", "`A2D` is not one of the spec's rows", "A2C, B"]),
        ("a claim without a check", claim("final_return", ""), vec![], vec!["bad.yaml:27", "claims[0]", "no check", "exactly one of"]),
        ("a claim with two checks", claim("final_return", "    ahead: {row: A2C, vs: [B]}\n    within: {row: A2C, range: [0, 1]}\n"), vec![], vec!["bad.yaml:27", "claims[0]", "several checks (ahead, within)"]),
        ("a claim on par without a margin", claim("final_return", "    on_par: {row: A2C, vs: [B]}\n"), vec![], vec!["bad.yaml:30", "claims[0].on_par.margin", "needs a margin"]),
        ("a claim's range upside down", claim("final_return", "    within: {row: A2C, range: [2, 1]}\n"), vec![], vec!["bad.yaml:30", "claims[0].within.range", "not a range"]),
        ("a claim's margin missing an environment", claim("final_return", "    not_behind: {row: A2C, vs: [B], margin: {Pendulum-v1: 1}}\n"), vec![], vec!["bad.yaml:30", "claims[0].not_behind.margin", "no value for `CartPole-v1`", "of the claim"]),
        ("a claim on an environment the spec lacks", claim("final_return", "    envs: [Pendulum-v1]\n    ahead: {row: A2C, vs: [B]}\n"), vec![], vec!["bad.yaml:30", "claims[0].envs[0]", "not one of the spec's envs"]),
        ("a row compared with itself", claim("final_return", "    ahead: {row: A2C, vs: [A2C]}\n"), vec![], vec!["bad.yaml:30", "claims[0].ahead.vs[0]", "appears twice"]),
        ("an update statistic of a column no row logs", GOOD.replace("    last_episodes_mean:\n      episodes: 10", "    update_statistic: {column: exact_kll, statistic: median}"), vec![], vec!["bad.yaml:16", "metrics[0].update_statistic", "no row of the spec logs `exact_kll`", "policy_loss"]),
        ("an unknown update statistic", GOOD.replace("    last_episodes_mean:\n      episodes: 10", "    update_statistic: {column: policy_loss, statistic: mode}"), vec![], vec!["bad.yaml:16", "metrics[0].update_statistic", "unknown variant `mode`"]),
        ("an empty batch-size grid", GOOD.replace("      lr: 0.0007", "      lr: 0.0007\n    grid:\n      steps_per_update: []"), vec![], vec!["bad.yaml:10:", "algorithms[0].grid.steps_per_update", "empty"]),
    ]
}

/// Asking a build without the `cuda` feature for the CUDA engine, in each of the three places.
#[cfg(not(feature = "cuda"))]
fn cuda_cases() -> Vec<(&'static str, String, Vec<&'static str>, Vec<&'static str>)> {
    let how = "cargo build --release --features cuda";
    vec![
        ("the spec's engine: cuda", format!("engine: cuda\n{GOOD}"), vec![], vec!["bad.yaml:1", "engine", "without the `cuda` feature", how]),
        ("a row's network engine: cuda", GOOD.replace("lr: 0.0007", "network: {engine: cuda}"), vec![], vec!["bad.yaml:8", "algorithms[0].a2c.network.engine", how]),
        ("--engine cuda", GOOD.to_string(), vec!["--engine", "cuda"], vec!["bad.yaml", "--engine", "without the `cuda` feature", how]),
    ]
}

#[cfg(feature = "cuda")]
fn cuda_cases() -> Vec<(&'static str, String, Vec<&'static str>, Vec<&'static str>)> {
    vec![]
}

#[test]
fn the_good_spec_is_accepted() {
    let spec = acktr::spec::parse(GOOD, std::path::Path::new("good.yaml"), "paper").expect("valid");
    assert_eq!(spec.cells().len(), 2);
}

#[test]
fn every_kind_of_bad_spec_exits_2_with_a_located_message_and_touches_no_results() {
    for (what, text, extra, expected) in cases().into_iter().chain(cuda_cases()) {
        let dir = tempfile::tempdir().unwrap();
        let specs = dir.path().join("specs");
        std::fs::create_dir_all(&specs).unwrap();
        std::fs::write(specs.join("bad.yaml"), &text).unwrap();
        // Existing results that must survive untouched.
        let results = dir.path().join("results");
        std::fs::create_dir_all(results.join("bad/0123456789abcdef")).unwrap();
        std::fs::write(results.join("bad/0123456789abcdef/episodes.parquet"), b"earlier results").unwrap();
        std::fs::write(results.join("bad/report.md"), b"earlier report").unwrap();
        let before = snapshot_tree(&results);
        for cmd in ["reproduce", "plan", "report"] {
            let mut args = vec![cmd, "bad"];
            args.extend(&extra);
            let out = acktr(dir.path(), &args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what} ({cmd}): exit {:?}, stderr: {stderr}", out.status.code());
            assert_eq!(stderr.lines().count(), 1, "{what} ({cmd}): one line expected, got: {stderr}");
            for piece in &expected {
                assert!(stderr.contains(piece), "{what} ({cmd}): `{piece}` missing from: {stderr}");
            }
            assert_eq!(snapshot_tree(&results), before, "{what} ({cmd}): results changed");
        }
    }
}

#[test]
fn an_unknown_spec_name_lists_the_known_ones() {
    let out = acktr(&common::repo(), &["plan", "no-such-spec"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no-such-spec") && stderr.contains("smoke"), "{stderr}");
}
