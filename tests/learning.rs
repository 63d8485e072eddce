//! Learning: ACKTR and A2C both solve CartPole-v1 in a small budget. "Solve" here: some
//! 20 consecutive episodes average at least 195 (CartPole's classic threshold) within the
//! budget — the paper's Table 2 "episodes to threshold" criterion. Budgets measured on
//! seeds 0-2 with the critic's gradient fixed (issue 16): ACKTR with separate networks
//! crossed by 16.3k timesteps, A2C with separate networks and a global-norm clip of 10 by
//! 61.7k; tolerant by design. (Before the fix no critic learned and these ran with a shared
//! ACKTR network and A2C's clip of 0.5; with a learning critic, CartPole's unnormalised
//! returns make the value gradient dominate a shared torso's trust region, first crossing
//! at 63k-137k, and A2C's 0.5 global-norm clip, 147k or never.)

mod common;

/// TRPO's budget: seed 0 first crossed within 30k timesteps; twice that, tolerant by design.
const TRPO_STEPS: u64 = 60_000;

use acktr::run::{self, logs};

fn best_window_mean(returns: &[f64], window: usize) -> f64 {
    returns.windows(window).map(|w| w.iter().sum::<f64>() / window as f64).fold(f64::NEG_INFINITY, f64::max)
}

fn solves(algorithm: &str, steps: u64) {
    solves_with(algorithm, steps, 8, 20);
}

fn solves_with(algorithm: &str, steps: u64, num_envs: usize, steps_per_update: usize) {
    let text = format!(
        "title: learn\nreproduces: none\nenvs: [CartPole-v1]\nalgorithms:\n  - name: X\n    {algorithm}\nseeds: [0]\nbudget: {{total_timesteps: {steps}, num_envs: {num_envs}, steps_per_update: {steps_per_update}}}\n"
    );
    let spec = acktr::spec::parse(&text, std::path::Path::new("learn.yaml"), "paper").unwrap();
    let root = tempfile::tempdir().unwrap();
    run::reproduce(&spec, &run::RunOptions { results_root: root.path().into(), jobs: 1, threads: 1, progress: false, checkpoint_every: None }).unwrap();
    let cell = &spec.cells()[0];
    let df = logs::read_parquet(&run::cell_dir(root.path(), cell).join("episodes.parquet")).unwrap();
    let returns: Vec<f64> = df.column("return").unwrap().f64().unwrap().into_no_null_iter().collect();
    let best = best_window_mean(&returns, 20);
    println!("{algorithm}: {} episodes, best 20-episode mean {best:.1}", returns.len());
    assert!(best >= 195.0, "{algorithm} did not solve CartPole-v1 in {steps} timesteps: best 20-episode mean {best:.1}");
}

#[test]
fn acktr_solves_cartpole() {
    solves("acktr: {network: {shared: false}}", 40_000);
}

#[test]
fn a2c_solves_cartpole() {
    solves("a2c: {lr: 0.004, max_grad_norm: 10.0, network: {shared: false}}", 150_000);
}

#[test]
fn trpo_solves_cartpole() {
    // baselines' MuJoCo settings (max_kl 0.01, CG 10, damping 0.1, GAE 0.98, Adam value fit)
    // on one copy with batches of 1000 consecutive steps.
    solves_with("trpo: {preset: baselines_mujoco}", TRPO_STEPS, 1, 1000);
}
