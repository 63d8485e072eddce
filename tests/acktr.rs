//! ACKTR end to end: a snapshot of a short deterministic run (so any change to the
//! numerics shows up in review), and robustness to a NaN in the batch.

use acktr::algo::{self, AlgorithmConfig, Collector, Progress};
use acktr::env::{self, VecEnv};
use rand::SeedableRng;

fn config(yaml: &str) -> AlgorithmConfig {
    config_on("CartPole-v1", yaml)
}

/// The configuration as a spec on `env` resolves it (the checker refuses networks that
/// cannot run on the environment's spaces).
fn config_on(env: &str, yaml: &str) -> AlgorithmConfig {
    let spec = format!(
        "title: t\nreproduces: none\nenvs: [{env}]\nalgorithms:\n  - name: X\n    acktr: {yaml}\nseeds: [0]\nbudget: {{total_timesteps: 1, num_envs: 1, steps_per_update: 1}}\n"
    );
    acktr::spec::parse(&spec, std::path::Path::new("t.yaml"), "paper").unwrap().algorithms[0].config.clone()
}

/// Runs `updates` updates and renders the per-update statistics, every bit (Rust's `{:e}`
/// prints the shortest decimal that reads back as the same f64), then a digest of the
/// trained parameters' bits: "unchanged" means unchanged.
fn run(env_id: &str, cfg: &AlgorithmConfig, envs: usize, steps: usize, updates: usize) -> String {
    let venv = VecEnv::new(envs, 3, || env::make(env_id)).unwrap();
    let mut algo = cfg.build(&venv.observation_space(), &venv.action_space(), 3).unwrap();
    let mut out = String::new();
    algo::train(algo.as_mut(), venv, 3, steps, (envs * steps * updates) as u64, |u, _| {
        out.push_str(&format!("update {}:", u.update));
        for (k, v) in &u.stats.0 {
            out.push_str(&format!(" {k}={v:e}"));
        }
        out.push('\n');
    })
    .unwrap();
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in algo.policy().params() {
        h.update(p.to_bits().to_le_bytes());
    }
    let digest: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    out.push_str(&format!("parameters sha256 {digest}\n"));
    out
}

#[test]
fn short_acktr_runs_are_pinned() {
    let shared = run("CartPole-v1", &config("{preset: baselines_atari}"), 4, 5, 14);
    // The MuJoCo preset runs whole episodes of one copy (Pendulum: 200 steps, > 150).
    // Pinned before the preset's log std became baselines' batch-summed block: with the old
    // log-std rule named explicitly, every other step of the preset is unchanged bit for bit.
    let separate = run("Pendulum-v1", &config_on("Pendulum-v1", "{preset: baselines_mujoco, value_epochs: 3, log_std: unpreconditioned}"), 1, 150, 6);
    let preset = run("Pendulum-v1", &config_on("Pendulum-v1", "{preset: baselines_mujoco, value_epochs: 3}"), 1, 150, 6);
    insta::with_settings!({snapshot_path => "../golden/snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("acktr_cartpole_baselines_atari", shared);
        insta::assert_snapshot!("acktr_pendulum_baselines_mujoco", separate);
        insta::assert_snapshot!("acktr_pendulum_baselines_mujoco_batch_summed_log_std", preset);
    });
}

#[test]
fn a_nan_in_the_batch_skips_the_update_without_touching_parameters() {
    let venv = VecEnv::new(4, 0, || env::make("CartPole-v1")).unwrap();
    let cfg = config("{}");
    let (obs, act) = (venv.observation_space(), venv.action_space());
    let AlgorithmConfig::Acktr(c) = cfg else { unreachable!() };
    let net = c.network.actor_critic_spec().build(acktr::nets::Engine::Cpu, &[4], &act, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)).unwrap();
    let pipeline = acktr::algo::Pipeline::new(c.pipeline, &obs, &act);
    let mut a = acktr::algo::Acktr::new(c, net, pipeline, true, 0).unwrap();
    let mut collector = Collector::new(venv, rand_chacha::ChaCha8Rng::seed_from_u64(1));
    let progress = Progress { timesteps_done: 0, schedule_timesteps: 1000 };
    let (mut rollout, _) = collector.collect(&mut a, 5).unwrap();
    rollout.rewards[3] = f32::NAN;
    let before = a.net().params();
    let stats = algo::Algorithm::update(&mut a, &rollout, progress).unwrap();
    let event = stats.0.iter().find(|(k, _)| *k == "kfac_event").unwrap().1;
    assert_eq!(event, 2.0, "a non-finite batch is recorded as skipped: {stats:?}");
    assert_eq!(a.net().params(), before, "parameters changed");
    // The next, clean batch trains as usual.
    let (rollout, _) = collector.collect(&mut a, 5).unwrap();
    let stats = algo::Algorithm::update(&mut a, &rollout, progress).unwrap();
    assert_eq!(stats.0.iter().find(|(k, _)| *k == "kfac_event").unwrap().1, 0.0);
    assert_ne!(a.net().params(), before);
}

#[test]
fn every_critic_option_trains_with_finite_statistics() {
    for yaml in [
        "{critic: euclidean, network: {shared: false}}",
        "{critic: adaptive_gauss_newton}",
        "{critic: adaptive_gauss_newton, network: {shared: false}, value_epochs: 2}",
        "{kfac: {damping_form: factored_pi, bias: homogeneous}}",
    ] {
        let out = run("Pendulum-v1", &config(yaml), 2, 10, 5);
        assert!(!out.contains("policy_loss=NaN") && !out.contains("exact_kl=NaN"), "{yaml}:\n{out}");
        let last = out.lines().filter(|l| l.starts_with("update")).last().unwrap();
        assert!(last.contains("kfac_event=0e0"), "{yaml}: {last}");
    }
}
