//! One update, K-FAC versus first order, on the paper's networks (issue: K-FAC and ACKTR,
//! "Performance"):
//!
//! (a) MuJoCo: separate 64-64 tanh policy and 64-64 ELU value MLPs (paper appendix A.2),
//!     HalfCheetah's sizes (17 observations, 6 actions), batch 2500: A2C's RMSProp update
//!     versus ACKTR's (one policy and one value K-FAC step; and the `baselines_mujoco`
//!     preset's 25 value steps).
//! (b) Atari: conv 32 8x8/4, 64 4x4/2, 32 3x3/1, fc 512 on 4x84x84 inputs (appendix A.1),
//!     7 outputs (6 action logits + value), batch 640: forward/backward + RMSProp versus
//!     forward/backward + traced Fisher pass + K-FAC step.
//!
//! Run: `cargo bench --bench update` (criterion; set `ACKTR_BENCH_QUICK=1` for fewer
//! samples).

use criterion::{criterion_group, criterion_main, Criterion};
use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use acktr::algo::{AlgorithmConfig, Progress, Rollout};
use acktr::env::{ActionSpace, ObservationSpace};
use acktr::kfac::{KfacConfig, LayerGrads};
use acktr::nets::seq::{LayerSpec, SeqNet};
use acktr::nets::{Activation, Dev};
use acktr::optim::RmsPropConfig;

fn mujoco_rollout(rng: &mut ChaCha8Rng, od: usize) -> Rollout {
    let (n, steps, ad) = (1, 2500, 6);
    let rows = n * steps;
    Rollout {
        num_envs: n,
        steps,
        obs_dim: od,
        act_dim: ad,
        obs: (0..rows * od).map(|_| rng.sample(StandardNormal)).collect(),
        actions: (0..rows * ad).map(|_| rng.sample(StandardNormal)).collect(),
        rewards: (0..rows).map(|_| rng.gen_range(-1.0..1.0)).collect(),
        terminated: (0..rows).map(|i| i % 1000 == 999).collect(),
        truncated: vec![false; rows],
        values: (0..rows).map(|_| rng.sample(StandardNormal)).collect(),
        truncation_values: vec![0.0; rows],
        episode_steps: (0..rows).map(|i| (i % 1000) as u32).collect(),
        last_values: vec![0.0; n],
        dist: Some(acktr::nets::DistParams::Gaussian {
            mean: (0..rows * ad).map(|_| rng.sample::<f32, _>(StandardNormal) * 0.1).collect(),
            log_std: vec![0.0; ad],
        }),
    }
}

fn algo(yaml: &str) -> AlgorithmConfig {
    let text = format!(
        "title: b\nreproduces: none\nenvs: [Pendulum-v1]\nalgorithms:\n  - name: X\n    {yaml}\nseeds: [0]\nbudget: {{total_timesteps: 1, num_envs: 1, steps_per_update: 1}}\n"
    );
    acktr::spec::parse(&text, std::path::Path::new("b.yaml"), "paper").unwrap().algorithms[0].config.clone()
}

fn mujoco(c: &mut Criterion) {
    let obs = ObservationSpace::Vector { dim: 17 };
    let act = ActionSpace::Continuous { dim: 6, low: vec![-1.0; 6], high: vec![1.0; 6] };
    let progress = Progress { timesteps_done: 0, total_timesteps: 1_000_000 };
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
        let rollout = mujoco_rollout(&mut ChaCha8Rng::seed_from_u64(0), od);
        // Past the cold start, so the K-FAC path is what is measured.
        for _ in 0..60 {
            a.update(&rollout, progress);
        }
        g.bench_function(name, |b| b.iter(|| a.update(&rollout, progress)));
    }
    g.finish();
}

fn atari_net(rng: &mut ChaCha8Rng) -> SeqNet {
    let specs = [
        LayerSpec::Conv2d { in_channels: 4, out_channels: 32, kernel: 8, stride: 4, padding: 0, activation: Some(Activation::Relu) },
        LayerSpec::Conv2d { in_channels: 32, out_channels: 64, kernel: 4, stride: 2, padding: 0, activation: Some(Activation::Relu) },
        LayerSpec::Conv2d { in_channels: 64, out_channels: 32, kernel: 3, stride: 1, padding: 0, activation: Some(Activation::Relu) },
        LayerSpec::Flatten,
        LayerSpec::Linear { input: 32 * 7 * 7, output: 512, activation: Some(Activation::Relu) },
        LayerSpec::Linear { input: 512, output: 7, activation: None },
    ];
    let shapes = [(32, 4 * 64), (64, 32 * 16), (32, 64 * 9), (512, 32 * 49), (7, 512)];
    let params: Vec<(Vec<f32>, Vec<f32>)> = shapes
        .iter()
        .map(|&(o, i)| ((0..o * i).map(|_| rng.sample::<f32, _>(StandardNormal) / (i as f32).sqrt()).collect(), vec![0.0; o]))
        .collect();
    SeqNet::new(&[4, 84, 84], &specs, &params).unwrap()
}

fn atari(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut net = atari_net(&mut rng);
    let batch = 640;
    let dev: Dev = Default::default();
    let x = dev.tensor_from_vec((0..batch * 4 * 84 * 84).map(|_| rng.gen::<f32>()).collect(), (batch, 4 * 84 * 84));
    let w = dev.tensor_from_vec((0..batch * 7).map(|_| rng.sample::<f32, _>(StandardNormal) / batch as f32).collect(), (batch, 7));
    let n_params: usize = net.layer_params_mut().iter().map(|(a, b)| a.numel() + b.numel()).sum();
    let mut rms = RmsPropConfig::default().build(n_params);
    let mut kfac = KfacConfig::default().build();
    let mut g = c.benchmark_group("atari_update_batch640");
    g.sample_size(10);
    g.bench_function("first_order_rmsprop", |b| {
        b.iter(|| {
            let mut grads = (net.forward(x.clone().retaped::<OwnedTape<f32, Dev>>(), None) * w.clone()).sum().backward();
            let mut flat = Vec::with_capacity(n_params);
            let mut pflat = Vec::with_capacity(n_params);
            for (wt, bt) in net.layer_params_mut() {
                flat.extend(wt.grad(&mut grads));
                flat.extend(bt.grad(&mut grads));
                pflat.extend(wt.read());
                pflat.extend(bt.read());
            }
            rms.step(&mut pflat, &flat, 1e-4);
            let mut at = 0;
            for (wt, bt) in net.layer_params_mut() {
                for t in [wt, bt] {
                    let n = t.numel();
                    t.write(&pflat[at..at + n]);
                    at += n;
                }
            }
        })
    });
    g.bench_function("kfac", |b| {
        b.iter(|| {
            let mut grads = (net.forward(x.clone().retaped::<OwnedTape<f32, Dev>>(), None) * w.clone()).sum().backward();
            let lg: Vec<LayerGrads> = net
                .layer_params_mut()
                .into_iter()
                .map(|(wt, bt)| LayerGrads {
                    weight: Some(wt.grad_f64(&mut grads)),
                    bias: Some(bt.grad_f64(&mut grads)),
                })
                .collect();
            let mut trace = Vec::new();
            let mut fg = (net.forward(x.clone().retaped::<OwnedTape<f32, Dev>>(), Some(&mut trace)) * w.clone()).sum().backward();
            let stats: Vec<_> = trace.into_iter().map(|t| t.stats(&mut fg)).collect();
            let step = kfac.step(&stats, &lg, 0.01);
            for ((wt, bt), d) in net.layer_params_mut().into_iter().zip(&step.deltas) {
                for (t, dv) in [(wt, &d.weight), (bt, &d.bias)] {
                    if let Some(dv) = dv {
                        t.add_f64(dv);
                    }
                }
            }
        })
    });
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

criterion_group! { name = benches; config = config(); targets = mujoco, atari }
criterion_main!(benches);
