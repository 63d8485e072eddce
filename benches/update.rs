//! One update, K-FAC versus first order, on the paper's networks (issue: K-FAC and ACKTR,
//! "Performance"):
//!
//! (a) MuJoCo: separate 64-64 tanh policy and 64-64 ELU value MLPs (paper appendix A.2),
//!     HalfCheetah's sizes (17 observations, 6 actions), batch 2500: A2C's RMSProp update
//!     versus ACKTR's (one policy and one value K-FAC step; and the `baselines_mujoco`
//!     preset's 25 value steps).
//! (b) Atari: ACKTR's shared actor-critic, conv 32 8x8/4, 64 4x4/2, 32 3x3/1, fc 512 on
//!     4x84x84 inputs (appendix A.1), 6 actions, batch 640: A2C's update (forward/backward
//!     + RMSProp) versus ACKTR's (forward/backward + traced Fisher pass + K-FAC step), both
//!     through the same actor-critic interface the training loop uses.
//!
//! (c) The rollout's batch-1 forward against one environment step, on each MuJoCo task:
//!     `act` of the paper's networks (`acktr:baselines_mujoco`: the 64-64 tanh policy and
//!     the 64-64 ELU value network on its features, both run per step), and one step of the
//!     environment (`VecEnv`, one copy, zero action), measured in the same run.
//!
//! (d) The host's share of an ACKTR update on the CUDA engine (README "GPU engine"): one
//!     `Kfac::step` of the Atari network's blocks from statistics already reduced to
//!     float64 sums of products (what the device sends), batch 640, with its
//!     eigendecompositions on the host (the `baselines_atari` preset refreshes them every
//!     update), without them (the products left), and with an engine's linear algebra
//!     that costs nothing (what stays on the host when the device does both).
//!
//! Run: `cargo bench --bench update` (criterion; set `ACKTR_BENCH_QUICK=1` for fewer
//! samples).

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use acktr::algo::acktr::Preset;
use acktr::algo::{A2cConfig, AcktrConfig, AlgorithmConfig, Architecture, NetworkConfig, Progress, Rollout};
use acktr::nets::Activation;
use acktr::env::{self as env, Action, ActionSpace, ObservationSpace, VecEnv};

fn algo(yaml: &str) -> AlgorithmConfig {
    let text = format!(
        "title: b\nreproduces: none\nenvs: [Pendulum-v1]\nalgorithms:\n  - name: X\n    {yaml}\nseeds: [0]\nbudget: {{total_timesteps: 1, num_envs: 1, steps_per_update: 1}}\n"
    );
    acktr::spec::parse(&text, std::path::Path::new("b.yaml"), "paper").unwrap().algorithms[0].config.clone()
}

fn mujoco(c: &mut Criterion) {
    let obs = ObservationSpace::Vector { dim: 17 };
    let act = ActionSpace::Continuous { dim: 6, low: vec![-1.0; 6], high: vec![1.0; 6] };
    let progress = Progress { timesteps_done: 0, schedule_timesteps: 1_000_000 };
    let mut g = c.benchmark_group("mujoco_update_batch2500");
    for (name, yaml) in [
        ("a2c_rmsprop", "a2c: {network: {shared: false, value_activation: elu}}"),
        ("acktr_1_value_step", "acktr: {preset: baselines_mujoco, value_epochs: 1}"),
        ("acktr_baselines_mujoco_25_value_steps", "acktr: {preset: baselines_mujoco}"),
    ] {
        let cfg = algo(yaml);
        let mut a = cfg.build(&obs, &act, 0).unwrap();
        // The network's input: 17, or 34 with the previous observation (MuJoCo pipeline).
        let od = a.pipeline_mut().input_dim();
        let rollout = Rollout::synthetic(&mut ChaCha8Rng::seed_from_u64(0), 1, 2500, od, &act);
        // Past the cold start, so the K-FAC path is what is measured.
        for _ in 0..60 {
            a.update(&rollout, progress).unwrap();
        }
        g.bench_function(name, |b| b.iter(|| a.update(&rollout, progress).unwrap()));
    }
    g.finish();
}

fn atari(c: &mut Criterion) {
    let obs = ObservationSpace::Frames { channels: 4, height: 84, width: 84 };
    let act = ActionSpace::Discrete { n: 6 };
    let progress = Progress { timesteps_done: 0, schedule_timesteps: 10_000_000 };
    // baselines' Atari ACKTR: 32 copies x 20 steps (`acktr/run_atari.py`, `acktr.py`).
    let rollout = Rollout::synthetic(&mut ChaCha8Rng::seed_from_u64(1), 32, 20, 4 * 84 * 84, &act);
    // Typed configurations: no image environment is registered yet for a spec to name.
    let network = NetworkConfig { architecture: Architecture::AtariAcktr, policy_activation: Activation::Relu, ..Default::default() };
    let a2c = AlgorithmConfig::A2c(A2cConfig { network, ..Default::default() });
    let acktr = AlgorithmConfig::Acktr(AcktrConfig { network, ..Preset::BaselinesAtari.config() });
    let mut g = c.benchmark_group("atari_update_batch640");
    g.sample_size(10);
    for (name, cfg, threads) in [("first_order_rmsprop", a2c.clone(), 1), ("kfac", acktr.clone(), 1), ("first_order_rmsprop_2_threads", a2c, 2), ("kfac_2_threads", acktr, 2)] {
        let mut a = cfg.build(&obs, &act, 0).unwrap();
        a.set_threads(threads);
        // Past the cold start (10 updates) and the pipeline's first decompositions.
        for _ in 0..13 {
            a.update(&rollout, progress).unwrap();
        }
        g.bench_function(name, |b| b.iter(|| a.update(&rollout, progress).unwrap()));
    }
    g.finish();
}

/// Where an ACKTR update of the Atari network spends its time, one thread, batch 640: the
/// forward pass alone, the A2C loss's forward and backward passes, the same with the sampled
/// Fisher loss's backward pass and the K-FAC statistics (float64 sums of float32 products),
/// and (in `atari_kfac_host_step_batch640`) the K-FAC step with and without its
/// eigendecompositions.
fn atari_parts(c: &mut Criterion) {
    use acktr::nets::{ActionBatch, FisherQuery, GradsWanted, LossQuery, Parts, ValueTarget};
    let obs = ObservationSpace::Frames { channels: 4, height: 84, width: 84 };
    let act = ActionSpace::Discrete { n: 6 };
    let rows = 640;
    let rollout = Rollout::synthetic(&mut ChaCha8Rng::seed_from_u64(1), 32, 20, 4 * 84 * 84, &act);
    let network = NetworkConfig { architecture: Architecture::AtariAcktr, policy_activation: Activation::Relu, ..Default::default() };
    let a = AlgorithmConfig::A2c(A2cConfig { network, ..Default::default() }).build(&obs, &act, 0).unwrap();
    let net = a.policy();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let weights: Vec<f32> = (0..rows).map(|_| rng.gen_range(-1e-3..1e-3)).collect();
    let targets: Vec<f32> = (0..rows).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let sampled: Vec<f32> = (0..rows).map(|_| rng.gen_range(0..6) as f32).collect();
    let noise: Vec<f32> = (0..rows).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let fisher_w = vec![-1.0 / rows as f32; rows];
    let query = |fisher: bool| LossQuery {
        obs: &rollout.obs,
        rows,
        value_obs: None,
        actions: rollout.action_batch(true),
        parts: Parts::ALL,
        logp_weights: &weights,
        entropy_coef: 0.01,
        value_coef: 0.5,
        target: ValueTarget::Fixed(&targets),
        grads: GradsWanted::Flat,
        kfac_stats: false,
        fisher: fisher.then(|| FisherQuery { actions: ActionBatch::Discrete(&sampled), logp_weights: &fisher_w, value_coef: -1.0, noise: &noise, sigma: 1.0 }),
    };
    let mut g = c.benchmark_group("atari_parts_batch640");
    g.sample_size(10);
    g.bench_function("forward", |b| b.iter(|| net.policy_dist(&rollout.obs, rows).unwrap()));
    g.bench_function("loss_forward_backward", |b| b.iter(|| net.loss(&query(false)).unwrap()));
    g.bench_function("loss_and_fisher_with_statistics", |b| b.iter(|| net.loss(&query(true)).unwrap()));
    // The K-FAC statistics alone: the same Gram products the Fisher query forms
    // (`src/nets/cpu/actor_critic.rs`), on random rows of the same shapes. Per layer of
    // appendix A.1's net at batch 640, (rows, input width, output width, positions):
    // every patch of every convolution, then the fc layer; then the two heads on the 512
    // hidden units.
    let torso: [(usize, usize, usize, usize); 4] =
        [(rows * 400, 8 * 8 * 4, 32, 400), (rows * 81, 4 * 4 * 32, 64, 81), (rows * 49, 3 * 3 * 64, 32, 49), (rows, 7 * 7 * 32, 512, 1)];
    let widest = torso.iter().map(|&(r, i, o, _)| r * i.max(o)).max().unwrap_or(0);
    let data: Vec<f32> = (0..widest).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let statistics = || {
        use acktr::nets::cpu::gram::gram;
        let mut out = Vec::new();
        for &(r, input, output, spatial) in &torso {
            out.push(gram(&data, r, input, true, 1));
            out.push(gram(&data, r, output, false, 1));
            if spatial > 1 {
                out.push(gram(&data, rows, output, false, 1));
            }
        }
        out.push(gram(&data, rows, 512, true, 1));
        for heads in [1, 6] {
            out.push(gram(&data, rows, heads, false, 1));
        }
        out
    };
    g.bench_function("statistics", |b| b.iter(statistics));
    g.finish();
}

fn atari_kfac_host_step(c: &mut Criterion) {
    use acktr::kfac::{KfacConfig, LayerGrads, LayerKind, LayerStats};
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // The blocks of ACKTR's Atari network at 4x84x84 (conv 32 8x8/4, 64 4x4/2, 32 3x3/1,
    // fc 512, value head, 6-action policy head): (kind, in, out).
    let blocks: [(LayerKind, usize, usize); 6] = [
        (LayerKind::Conv { spatial: 400 }, 256, 32),
        (LayerKind::Conv { spatial: 81 }, 512, 64),
        (LayerKind::Conv { spatial: 49 }, 576, 32),
        (LayerKind::Linear, 1568, 512),
        (LayerKind::Linear, 512, 1),
        (LayerKind::Linear, 512, 6),
    ];
    // Sums of products of a few random rows (the step's cost does not depend on their
    // values), batch 640 for the factors' scales.
    let stats: Vec<LayerStats> = blocks
        .iter()
        .map(|&(kind, i, o)| {
            let rows: usize = 2 * i.max(o);
            let mut r = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect() };
            let spatial = match kind {
                LayerKind::Conv { spatial } => spatial,
                _ => 1,
            };
            let batch = rows.div_ceil(spatial);
            let s = LayerStats { kind, batch, a: r(batch * spatial * i), in_dim: i, g: r(batch * spatial * o), out_dim: o, grams: None };
            LayerStats { batch: 640, ..s.reduced() }
        })
        .collect();
    let grads: Vec<LayerGrads> = blocks
        .iter()
        .map(|&(_, i, o)| LayerGrads {
            weight: Some((0..i * o).map(|_| rng.gen_range(-1e-3..1e-3)).collect()),
            bias: Some((0..o).map(|_| rng.gen_range(-1e-3..1e-3)).collect()),
        })
        .collect();
    /// Linear algebra that costs nothing (identity eigenvectors, zero products): what is
    /// left on the host when an engine does the eigendecompositions and products.
    struct Free;
    impl acktr::kfac::KfacLinalg for Free {
        fn eigh(&self, _: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>), acktr::nets::NetError> {
            let mut identity = vec![0.0; n * n];
            identity.iter_mut().step_by(n + 1).for_each(|x| *x = 1.0);
            Ok((vec![1.0; n], identity))
        }
        fn product3(&self, _: &[f64], l: (usize, usize), lt: bool, _: &[f64], _: (usize, usize), _: &[f64], r: (usize, usize), rt: bool) -> Result<Vec<f64>, acktr::nets::NetError> {
            Ok(vec![0.0; if lt { l.1 } else { l.0 } * if rt { r.0 } else { r.1 }])
        }
    }
    let mut g = c.benchmark_group("atari_kfac_host_step_batch640");
    g.sample_size(10);
    for (name, inverse_every, free) in [("with_eigendecompositions", 1, false), ("without", u64::MAX, false), ("rest_of_the_step", 1, true)] {
        let mut k = KfacConfig { inverse_every, ..KfacConfig::default() }.build();
        if free {
            k.set_linalg(Some(std::sync::Arc::new(Free)));
        }
        // The first step always decomposes.
        k.step(&stats, &grads, 0.1);
        g.bench_function(name, |b| b.iter(|| k.step(&stats, &grads, 0.1)));
    }
    g.finish();
}

fn rollout_batch1(c: &mut Criterion) {
    let mut g = c.benchmark_group("rollout_batch1");
    for id in [
        "HalfCheetah-v5",
        "Hopper-v5",
        "Walker2d-v5",
        "Ant-v5",
        "Swimmer-v5",
        "Reacher-v5",
        "InvertedPendulum-v5",
        "InvertedDoublePendulum-v5",
    ] {
        let mut venv = VecEnv::new(1, 0, || env::make(id)).unwrap();
        let (obs, act) = (venv.observation_space(), venv.action_space());
        let mut a = AlgorithmConfig::Acktr(Preset::BaselinesMujoco.config()).build(&obs, &act, 0).unwrap();
        let input: Vec<f32> = {
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            (0..a.pipeline_mut().input_dim()).map(|_| rng.gen_range(-1.0..1.0)).collect()
        };
        let zero = match &act {
            ActionSpace::Continuous { dim, .. } => Action::Continuous(vec![0.0; *dim]),
            ActionSpace::Discrete { .. } => Action::Discrete(0),
        };
        g.bench_function(format!("{id}/env_step"), |b| b.iter(|| venv.step(std::slice::from_ref(&zero)).unwrap()));
        g.bench_function(format!("{id}/act"), |b| b.iter(|| a.policy().act(&input, &[7], 1).unwrap()));
    }
    g.finish();
}

fn config() -> Criterion {
    let c = Criterion::default().configure_from_args();
    if std::env::var_os("ACKTR_BENCH_QUICK").is_some() {
        c.sample_size(10).warm_up_time(std::time::Duration::from_millis(200)).measurement_time(std::time::Duration::from_secs(2))
    } else {
        c
    }
}

criterion_group! { name = benches; config = config(); targets = mujoco, atari, atari_parts, rollout_batch1, atari_kfac_host_step }
criterion_main!(benches);
