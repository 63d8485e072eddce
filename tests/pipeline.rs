//! The MuJoCo data pipeline of openai/baselines' `acktr_cont.py` as the rollout loop runs
//! it: whole-episode batches, steps within the episode, the filter's statistics, the value
//! network's features, and the specs that cannot use it.

mod common;

use acktr::algo::{AlgorithmConfig, Collector};
use acktr::env::{self, VecEnv};
use acktr::nets::DistParams;
use rand::SeedableRng;

fn config(yaml: &str, env_id: &str, num_envs: usize) -> AlgorithmConfig {
    let spec = format!(
        "title: t\nreproduces: none\nenvs: [{env_id}]\nalgorithms:\n  - name: X\n    {yaml}\nseeds: [0]\nbudget: {{total_timesteps: 1, num_envs: {num_envs}, steps_per_update: 1}}\n"
    );
    acktr::spec::parse(&spec, std::path::Path::new("t.yaml"), "paper").unwrap().algorithms[0].config.clone()
}

#[test]
fn whole_episode_batches_end_at_an_episode_end_past_the_minimum() {
    // InvertedPendulum episodes end at random lengths; batches must still close on one.
    let cfg = config("acktr: {preset: baselines_mujoco}", "InvertedPendulum-v5", 1);
    let venv = VecEnv::new(1, 4, || env::make("InvertedPendulum-v5")).unwrap();
    let mut algo = cfg.build(&venv.observation_space(), &venv.action_space(), 4).unwrap();
    let mut collector = Collector::new(venv, rand_chacha::ChaCha8Rng::seed_from_u64(9));
    let mut total = 0;
    for _ in 0..3 {
        let (r, episodes) = collector.collect_episodes(algo.as_mut(), 40).unwrap();
        assert!(r.steps > 40, "{} steps", r.steps);
        assert_eq!(r.len(), r.steps);
        let last = r.steps - 1;
        assert!(r.terminated[last] || r.truncated[last], "the batch ends mid-episode");
        // Steps within the episode count from 0 after every episode end.
        assert_eq!(r.episode_steps[0], 0, "a batch starts with a new episode");
        for t in 1..r.steps {
            let ended = r.terminated[t - 1] || r.truncated[t - 1];
            let expected = if ended { 0 } else { r.episode_steps[t - 1] + 1 };
            assert_eq!(r.episode_steps[t], expected, "row {t}");
        }
        let lengths: usize = episodes.iter().map(|e| e.length).sum();
        assert_eq!(lengths, r.steps, "the batch is exactly its episodes");
        // The policy sees [filtered observation, previous filtered observation]: 4 + 4.
        assert_eq!(r.obs_dim, 8);
        assert!(r.obs.iter().all(|x| x.abs() <= 10.0), "the filter clips at 10");
        // Episode starts see a zero previous observation.
        for t in (0..r.steps).filter(|&t| r.episode_steps[t] == 0) {
            assert!(r.obs[t * 8 + 4..t * 8 + 8].iter().all(|&x| x == 0.0));
        }
        total += r.steps;
    }
    assert_eq!(collector.global_step(), total as u64);
}

#[test]
fn the_value_network_reads_observation_distribution_time_and_a_constant() {
    let cfg = config("acktr: {preset: baselines_mujoco}", "Reacher-v5", 1);
    let AlgorithmConfig::Acktr(c) = cfg else { unreachable!() };
    let act = acktr::env::ActionSpace::Continuous { dim: 2, low: vec![-1.0; 2], high: vec![1.0; 2] };
    let net = c
        .network
        .actor_critic_spec()
        .build(acktr::nets::Engine::Cpu, &[3], &act, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0))
        .unwrap();
    let obs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let dist = DistParams::Gaussian { mean: vec![0.1, 0.2, 0.3, 0.4], log_std: vec![0.0, (0.5f32).ln()] };
    let f = net.value_features(&obs, &dist, &[0, 37], 2).expect("features");
    // [obs (3), mean (2), std (2), t / 10, 1] per row (baselines value_functions.py _preproc).
    assert_eq!(f.len(), 2 * 9);
    assert_eq!(&f[..9], &[1.0, 2.0, 3.0, 0.1, 0.2, 1.0, 0.5, 0.0, 1.0]);
    assert_eq!(&f[9..], &[4.0, 5.0, 6.0, 0.3, 0.4, 1.0, 0.5, 3.7, 1.0]);
    // Values of the live policy agree with values of the same features.
    let v = net.values(&obs, &[0, 37], 2).unwrap();
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|x| x.is_finite()));
}

#[test]
fn specs_that_cannot_use_the_pipeline_are_refused_with_located_errors() {
    let base = "title: T\nreproduces: none\nenvs: [Pendulum-v1]\nalgorithms:\n  - name: X\n    ALGO\nseeds: [0]\nbudget:\n  total_timesteps: 1000\n  num_envs: ENVS\n  steps_per_update: 5\n";
    let cases = [
        ("acktr: {preset: baselines_mujoco}", "2", vec!["bad.yaml", "algorithms[0].acktr.pipeline.batch", "whole_episodes", "num_envs is 2"]),
        ("a2c: {preset: mujoco_pipeline}", "4", vec!["bad.yaml", "algorithms[0].a2c.pipeline.batch", "num_envs is 4"]),
        ("a2c: {preset: mujoco_pipelin}", "1", vec!["bad.yaml:6", "algorithms[0].a2c.preset", "mujoco_pipeline"]),
        (
            "acktr: {preset: baselines_mujoco, network: {shared: true}}",
            "1",
            vec!["bad.yaml", "algorithms[0].acktr.network.value_input", "separate"],
        ),
        (
            "acktr: {pipeline: {observation_filter: {z_filter: {clip: -1}}}}",
            "1",
            vec!["bad.yaml", "algorithms[0].acktr.pipeline.observation_filter.z_filter.clip", "positive"],
        ),
        ("acktr: {kfac: {weight_decay: -0.1}}", "1", vec!["bad.yaml", "algorithms[0].acktr.kfac.weight_decay", "-0.1"]),
        ("acktr: {log_std: natural}", "1", vec!["bad.yaml", "algorithms[0].acktr.log_std", "unpreconditioned"]),
    ];
    for (algo, envs, expected) in cases {
        let text = base.replace("ALGO", algo).replace("ENVS", envs);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("specs")).unwrap();
        std::fs::write(dir.path().join("specs/bad.yaml"), &text).unwrap();
        let out = common::acktr(dir.path(), &["plan", "bad"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{algo}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{algo}: {stderr}");
        for piece in expected {
            assert!(stderr.contains(piece), "{algo}: `{piece}` missing from: {stderr}");
        }
        assert!(!dir.path().join("results").exists(), "{algo}: results written");
    }
}
