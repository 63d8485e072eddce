//! ACKTR (paper section 3): the actor-critic loss of A2C, optimised with K-FAC
//! ([`crate::kfac`]) for both actor and critic, with Fisher statistics from a sampled
//! Fisher loss:
//!
//! `L_F = -mean(log pi(a~|s)) - c_F mean((V(s) - sg(V(s) + sigma eps))^2) / sigma^2`,
//! `a~ ~ pi(.|s)`, `eps ~ N(0, 1)` (openai/baselines `acktr/acktr.py`: `pg_fisher_loss`,
//! `vf_fisher_loss` with `vf_fisher_coef = 1`, sigma = 1; the `1/sigma^2` makes sigma the
//! Gaussian observation model of section 3.1, and equals the reference at sigma = 1).
//!
//! A shared network uses the joint Fisher of `p(a, v | s)` and one K-FAC. Separate
//! networks (paper appendix A.2) get one K-FAC each with its own learning rate and trust
//! region: the policy's on the policy loss and `-log pi(a~|s)`, the critic's on the value
//! loss and the value term, `value_epochs` times per batch (baselines' value function takes
//! 25 K-FAC steps per batch). Critic options (paper section 5.3, appendix D):
//! `gauss_newton` (above), `euclidean` (first-order RMSProp critic; K-FAC actor only) and
//! `adaptive_gauss_newton` (sigma^2 a running average of the batch's squared Bellman error).
//!
//! The `baselines_mujoco` preset is openai/baselines' continuous-control ACKTR end to end
//! (`acktr/acktr_cont.py`, `policies.py`, `value_functions.py`, `utils.py`, `kfac.py`,
//! `run_mujoco.py` at commit c6c0f45), see [`Preset::BaselinesMujoco`] for every step and
//! its source, and README "ACKTR on MuJoCo" for the departures that remain.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::a2c::{rollout_value_features, weighted_loss, ValueTarget};
use super::pipeline::{Pipeline, PipelineConfig};
use super::returns::{gae, nstep_returns, TimeLimitHandling};
use super::rollout::{Policy, Rollout};
use super::{Algorithm, NetworkConfig, Progress, UpdateStats};
use crate::kfac::{BiasMode, Kfac, KfacConfig, KfacEvent, KfacStep, LayerGrads, LayerKind, LayerStats};
use crate::nets::{ActorCritic, DistParams, Group, Parts, TraceEntry};
use crate::optim::{RmsProp, RmsPropConfig};

/// How the critic is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Critic {
    /// K-FAC with the Gauss-Newton (Gaussian output, fixed sigma) Fisher.
    #[default]
    GaussNewton,
    /// First-order (RMSProp) critic; K-FAC for the actor only. Needs separate networks.
    Euclidean,
    /// K-FAC with sigma^2 a running estimate of the Bellman-error variance.
    AdaptiveGaussNewton,
}

/// Advantage estimator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Advantage {
    /// n-step returns (baselines `a2c`/`acktr` for Atari).
    NStep,
    /// GAE(lambda) (baselines `acktr_cont`: 0.97).
    Gae { lambda: f64 },
}

/// Step-size rule for the policy's K-FAC learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepSize {
    /// The configured rate (and schedule).
    Fixed,
    /// baselines `acktr_cont`: after each update, divide the rate by 1.5 when the exact KL
    /// exceeds twice `target`, multiply by 1.5 below half of it, within [1e-8, 1].
    AdaptiveKl { target: f64 },
}

/// How the Gaussian policy's state-independent log standard deviation is updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStdUpdate {
    /// Its own K-FAC bias block, `A = [[1]]`, `G` from the sampled Fisher loss
    /// (ikostrikov's `AddBias` under K-FAC).
    #[default]
    Factored,
    /// Its plain gradient inside the trust region and momentum: baselines `acktr/kfac.py`
    /// finds no factor for `logstd` and leaves its gradient unpreconditioned (l. 627-634).
    Unpreconditioned,
}

/// What the critic regresses on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueTargets {
    /// The advantage estimator's returns (n-step returns, or GAE's `A + V`).
    #[default]
    Estimator,
    /// Discounted returns, bootstrapped only where a batch cuts an episode (with whole
    /// episodes, Monte-Carlo returns: baselines `acktr_cont.py` l. 97-100,
    /// `common.discount(rew_t, gamma)`).
    DiscountedReturns,
}

/// ACKTR hyperparameters. Defaults: openai/baselines Atari ACKTR (`acktr/acktr.py::learn`
/// and its `KfacOptimizer` call); see also the presets in [`Preset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcktrConfig {
    /// K-FAC of the policy (or of the whole network when shared).
    pub kfac: KfacConfig,
    /// K-FAC of the value network (separate networks only).
    pub value_kfac: KfacConfig,
    /// Discount: 0.99.
    pub gamma: f64,
    /// `nstep` or `{gae: {lambda}}` (a map with one key, as specs write enums with data).
    #[serde(with = "serde_yaml::with::singleton_map")]
    pub advantage: Advantage,
    /// Standardise advantages per batch (baselines `acktr_cont` does; Atari does not).
    pub normalize_advantages: bool,
    /// Entropy coefficient: 0.01.
    pub entropy_coef: f64,
    /// Value-loss coefficient: 0.5.
    pub value_coef: f64,
    pub critic: Critic,
    /// Weight of the value term of the Fisher loss: 1.0 (`vf_fisher_coef`).
    pub value_fisher_coef: f64,
    /// sigma of the Gaussian value model: 1.0.
    pub value_noise_std: f64,
    /// Decay of the Bellman-error variance estimate (`adaptive_gauss_newton`): 0.99.
    pub bellman_variance_decay: f64,
    /// Value updates per batch (separate networks): 1 (baselines `acktr_cont`: 25).
    pub value_epochs: usize,
    /// RMSProp settings and rate of the `euclidean` critic.
    pub critic_rmsprop: RmsPropConfig,
    pub critic_lr: f64,
    /// `fixed` or `{adaptive_kl: {target}}`.
    #[serde(with = "serde_yaml::with::singleton_map")]
    pub step_size: StepSize,
    pub time_limit: TimeLimitHandling,
    pub network: NetworkConfig,
    /// Observation filter, action mapping and batch layout ([`super::pipeline`]).
    pub pipeline: PipelineConfig,
    /// L2 coefficient `c` of `c/2 |W|^2` over the value network's weights, added to the
    /// value loss (baselines `value_functions.py` l. 18-19: `tf.nn.l2_loss(w) * 3e-4`). 0.
    pub value_l2: f64,
    pub log_std: LogStdUpdate,
    pub value_targets: ValueTargets,
}

impl Default for AcktrConfig {
    fn default() -> Self {
        Self {
            kfac: KfacConfig::default(),
            value_kfac: KfacConfig::default(),
            gamma: 0.99,
            advantage: Advantage::NStep,
            normalize_advantages: false,
            entropy_coef: 0.01,
            value_coef: 0.5,
            critic: Critic::GaussNewton,
            value_fisher_coef: 1.0,
            value_noise_std: 1.0,
            bellman_variance_decay: 0.99,
            value_epochs: 1,
            critic_rmsprop: RmsPropConfig::default(),
            critic_lr: 7e-4,
            step_size: StepSize::Fixed,
            time_limit: TimeLimitHandling::Terminal,
            network: NetworkConfig::default(),
            pipeline: PipelineConfig::default(),
            value_l2: 0.0,
            log_std: LogStdUpdate::Factored,
            value_targets: ValueTargets::Estimator,
        }
    }
}

/// Named hyperparameter sets, after their sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// openai/baselines `acktr/acktr.py` (Atari): lr 0.25 linear decay, momentum 0.9,
    /// kl_clip 0.001, damping 0.01, stat decay 0.99, eigendecomposition every update
    /// (`kfac_update=1`), cold start 10 updates at lr 0.01 with gradients clipped to 0.5,
    /// entropy 0.01, value 0.5, shared network. Run with 32 envs x 20 steps.
    BaselinesAtari,
    /// openai/baselines' continuous-control ACKTR (commit c6c0f45), step by step:
    /// - data ([`super::pipeline`]): `ZFilter` on every observation (clip 10), policy
    ///   input `[y_t, y_{t-1}]`, action `clip(low + (a + 1)(high - low)/2)`, batches of
    ///   whole episodes until more than `steps_per_update` (2500, `run_mujoco.py` l. 22)
    ///   timesteps (`acktr_cont.py` l. 12-46, 51, 83-92);
    /// - policy (`policies.py`): 64-64 tanh, Gaussian mean head, state-independent log std
    ///   0; normc init (1.0, 1.0, mean head 0.1); loss `-mean(A log pi)` (no entropy);
    ///   K-FAC (`acktr_cont.py` l. 54-58): lr 0.03 adapted after every update to a mean
    ///   KL of 0.002 (/1.5 above 2x, x1.5 below 0.5x, in [1e-8, 1], l. 119-130), momentum
    ///   0.9, `kfac_update` 2, damping 0.01 plus weight decay 3e-4 on weights
    ///   (`utils.py::dense`, `kfac.py` l. 731), stat decay 0.99, `cold_iter` 1 (cold
    ///   momentum SGD while `sgd_step <= cold_iter`: 2 updates) at 0.1 x lr, kl_clip 0.01
    ///   (`KfacOptimizer`'s default), no gradient clipping, biases in homogeneous
    ///   coordinates (`blockdiag_bias=False`), the log std unpreconditioned;
    /// - value function (`value_functions.py`): input `[policy input, mean, std, t/10, 1]`,
    ///   64-64 ELU, normc 1.0, loss `mean((V - R)^2) + 3e-4 l2(W)` on discounted Monte-Carlo
    ///   returns `R`, 25 K-FAC steps per batch *before* the policy update (as `vf.fit` runs
    ///   first), K-FAC lr 0.001, momentum 0.9, kl_clip 0.3, damping 0.1 plus weight decay
    ///   3e-4, stat decay 0.95, `kfac_update` 2, `cold_iter` 50 (51 cold steps) at 1e-4,
    ///   Fisher sample `V + N(0, 1)`;
    /// - advantages (`acktr_cont.py` l. 94-114): GAE(0.99, 0.97) with the value function
    ///   of before the fit, `V = 0` after the last step of every path (a time-limit end is
    ///   terminal in gym's `TimeLimit`), standardised per batch.
    BaselinesMujoco,
}

impl Preset {
    /// The full configuration.
    pub fn config(self) -> AcktrConfig {
        use crate::kfac::ColdStart;
        match self {
            Preset::BaselinesAtari => AcktrConfig {
                kfac: KfacConfig {
                    inverse_every: 1,
                    cold_start: Some(ColdStart { iterations: 10, lr: 0.01, max_grad_norm: Some(0.5) }),
                    ..KfacConfig::default()
                },
                ..AcktrConfig::default()
            },
            Preset::BaselinesMujoco => AcktrConfig {
                kfac: KfacConfig {
                    lr: 0.03,
                    lr_schedule: super::LrSchedule::Constant,
                    kl_clip: 0.01,
                    damping: 0.01,
                    stat_decay: 0.99,
                    inverse_every: 2,
                    cold_start: Some(ColdStart { iterations: 2, lr: 0.03 * (1.0 - 0.9), max_grad_norm: None }),
                    bias: BiasMode::Homogeneous,
                    weight_decay: 3e-4,
                    ..KfacConfig::default()
                },
                value_kfac: KfacConfig {
                    lr: 0.001,
                    lr_schedule: super::LrSchedule::Constant,
                    kl_clip: 0.3,
                    damping: 0.1,
                    stat_decay: 0.95,
                    inverse_every: 2,
                    cold_start: Some(ColdStart { iterations: 51, lr: 0.001 * (1.0 - 0.9), max_grad_norm: None }),
                    bias: BiasMode::Homogeneous,
                    weight_decay: 3e-4,
                    ..KfacConfig::default()
                },
                advantage: Advantage::Gae { lambda: 0.97 },
                normalize_advantages: true,
                entropy_coef: 0.0,
                value_coef: 1.0,
                value_epochs: 25,
                step_size: StepSize::AdaptiveKl { target: 0.002 },
                network: NetworkConfig::baselines_mujoco(),
                pipeline: PipelineConfig::baselines_mujoco(),
                value_l2: 3e-4,
                log_std: LogStdUpdate::Unpreconditioned,
                value_targets: ValueTargets::DiscountedReturns,
                ..AcktrConfig::default()
            },
        }
    }
}

/// Which parameters one K-FAC pass updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Shared network: everything, joint Fisher.
    Joint,
    Policy,
    Value,
}

impl Phase {
    fn includes(self, g: Group) -> bool {
        match self {
            Phase::Joint => true,
            Phase::Policy => g == Group::Policy,
            Phase::Value => g == Group::Value,
        }
    }
}

/// ACKTR state.
pub struct Acktr {
    cfg: AcktrConfig,
    net: ActorCritic<64>,
    pipeline: Pipeline,
    kfac: Kfac,
    value_kfac: Kfac,
    critic_opt: Option<RmsProp>,
    discrete: bool,
    rng: ChaCha8Rng,
    bellman_variance: Option<f64>,
}

/// Mean KL(old || new) over a batch.
pub fn mean_kl(old: &DistParams, new: &DistParams) -> f64 {
    match (old, new) {
        (DistParams::Categorical { logits: a, n }, DistParams::Categorical { logits: b, .. }) => {
            let rows = a.len() / n;
            let lsm = |x: &[f32]| {
                let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let z = x.iter().map(|v| f64::from(v - m).exp()).sum::<f64>().ln();
                x.iter().map(|v| f64::from(v - m) - z).collect::<Vec<f64>>()
            };
            let mut kl = 0.0;
            for (ra, rb) in a.chunks(*n).zip(b.chunks(*n)) {
                let (la, lb) = (lsm(ra), lsm(rb));
                kl += la.iter().zip(&lb).map(|(x, y)| x.exp() * (x - y)).sum::<f64>();
            }
            kl / rows as f64
        }
        (DistParams::Gaussian { mean: ma, log_std: sa }, DistParams::Gaussian { mean: mb, log_std: sb }) => {
            let dim = sa.len();
            let rows = ma.len() / dim;
            let mut kl = 0.0;
            for (ra, rb) in ma.chunks(dim).zip(mb.chunks(dim)) {
                for j in 0..dim {
                    let (la, lb) = (f64::from(sa[j]), f64::from(sb[j]));
                    let d = f64::from(ra[j]) - f64::from(rb[j]);
                    kl += lb - la + ((2.0 * la).exp() + d * d) / (2.0 * (2.0 * lb).exp()) - 0.5;
                }
            }
            kl / rows as f64
        }
        _ => f64::NAN,
    }
}

impl Acktr {
    /// Wraps a freshly initialised network; `seed` seeds the Fisher sampling.
    pub fn new(cfg: AcktrConfig, mut net: ActorCritic<64>, pipeline: Pipeline, discrete: bool, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(3);
        let critic_opt = (cfg.critic == Critic::Euclidean).then(|| {
            let n: usize = net.kfac_params_mut().iter().filter(|p| p.group == Group::Value).map(|p| p.bias.numel() + p.weight.as_ref().map_or(0, |w| w.numel())).sum();
            cfg.critic_rmsprop.build(n)
        });
        Self {
            kfac: cfg.kfac.build(),
            value_kfac: cfg.value_kfac.build(),
            cfg,
            net,
            pipeline,
            critic_opt,
            discrete,
            rng,
            bellman_variance: None,
        }
    }

    /// The network.
    pub fn net(&self) -> &ActorCritic<64> {
        &self.net
    }

    /// Gradients of the K-FAC layers of `phase` from `grads`.
    fn layer_grads(&mut self, phase: Phase, grads: &mut dfdx::prelude::Gradients<f32, dfdx::prelude::Cpu>) -> Vec<LayerGrads> {
        self.net
            .kfac_params_mut()
            .into_iter()
            .filter(|p| phase.includes(p.group))
            .map(|p| LayerGrads {
                weight: p.weight.map(|w| w.grad_f64(grads)),
                bias: Some(p.bias.grad_f64(grads)),
            })
            .collect()
    }

    fn apply(&mut self, phase: Phase, deltas: &[LayerGrads]) {
        let layers = self.net.kfac_params_mut().into_iter().filter(|p| phase.includes(p.group));
        for (p, d) in layers.zip(deltas) {
            if let (Some(w), Some(dw)) = (p.weight, &d.weight) {
                w.add_f64(dw);
            }
            if let Some(db) = &d.bias {
                p.bias.add_f64(db);
            }
        }
    }

    /// One K-FAC (or, for a Euclidean critic, RMSProp) pass over the layers of `phase`.
    #[allow(clippy::too_many_arguments)]
    fn pass(
        &mut self,
        phase: Phase,
        rollout: &Rollout,
        value_obs: Option<&[f32]>,
        logp_weights: &[f32],
        targets: &[f32],
        sampled: &[f32],
        noise: &[f32],
        sigma: f64,
        lr: f64,
    ) -> (KfacStep, f64, f64, f64) {
        let rows = rollout.len();
        let actions = rollout.action_batch(self.discrete);
        let (pw, vw) = match phase {
            Phase::Joint => (1.0, 1.0),
            Phase::Policy => (1.0, 0.0),
            Phase::Value => (0.0, 1.0),
        };
        let parts = match phase {
            Phase::Joint => Parts::ALL,
            Phase::Policy => Parts::POLICY,
            Phase::Value => Parts::VALUE,
        };
        let weights: Vec<f32> = logp_weights.iter().map(|w| w * pw).collect();
        let ec = self.cfg.entropy_coef * pw as f64;
        let vc = self.cfg.value_coef * vw as f64;
        let mut loss =
            weighted_loss(&self.net, &rollout.obs, value_obs, &actions, parts, &weights, ec, vc, ValueTarget::Fixed(targets), None);
        let mut grads = self.layer_grads(phase, &mut loss.grads);
        if phase == Phase::Value && self.cfg.value_l2 > 0.0 {
            // d/dW of (c/2)|W|^2 on the value network's weights (not biases).
            let c = self.cfg.value_l2;
            let layers = self.net.kfac_params_mut().into_iter().filter(|p| p.group == Group::Value);
            for (p, g) in layers.zip(grads.iter_mut()) {
                if let (Some(w), Some(gw)) = (p.weight, g.weight.as_mut()) {
                    for (gi, wi) in gw.iter_mut().zip(w.read()) {
                        *gi += c * f64::from(wi);
                    }
                }
            }
        }
        if phase == Phase::Value && self.cfg.critic == Critic::Euclidean {
            let mut flat: Vec<f32> = grads.iter().flat_map(|g| g.weight.iter().chain(g.bias.iter()).flatten().map(|&x| x as f32)).collect();
            let mut params: Vec<f32> = Vec::with_capacity(flat.len());
            for p in self.net.kfac_params_mut().into_iter().filter(|p| p.group == Group::Value) {
                if let Some(w) = p.weight {
                    params.extend(w.read());
                }
                params.extend(p.bias.read());
            }
            let opt = self.critic_opt.as_mut().expect("euclidean critic has an optimizer");
            let before = params.clone();
            opt.step(&mut params, &flat, self.cfg.critic_lr);
            for (d, (a, b)) in flat.iter_mut().zip(params.iter().zip(&before)) {
                *d = a - b;
            }
            let mut at = 0;
            let deltas: Vec<LayerGrads> = grads
                .iter()
                .map(|g| {
                    let mut take = |v: &Option<Vec<f64>>| {
                        v.as_ref().map(|v| {
                            let out = flat[at..at + v.len()].iter().map(|&x| f64::from(x)).collect();
                            at += v.len();
                            out
                        })
                    };
                    LayerGrads { weight: take(&g.weight), bias: take(&g.bias) }
                })
                .collect();
            self.apply(phase, &deltas);
            let step = KfacStep { deltas, vfv: f64::NAN, nu: f64::NAN, lr: self.cfg.critic_lr, event: None, blocks: vec![] };
            return (step, loss.policy_term, loss.value_term, loss.entropy);
        }
        // Sampled Fisher loss.
        let fisher_w: Vec<f32> = vec![-(pw as f32) / rows as f32; rows];
        let fc = -self.cfg.value_fisher_coef / (sigma * sigma) * vw as f64;
        let fisher_actions = if self.discrete {
            crate::nets::ActionBatch::Discrete(sampled)
        } else {
            crate::nets::ActionBatch::Continuous { values: sampled, dim: rollout.act_dim }
        };
        let mut trace: Vec<TraceEntry> = Vec::new();
        let target = ValueTarget::Noisy { noise, sigma: sigma as f32 };
        let mut fisher = weighted_loss(
            &self.net,
            &rollout.obs,
            value_obs,
            &fisher_actions,
            parts,
            &fisher_w,
            0.0,
            fc,
            target,
            Some(&mut trace),
        );
        // The trace holds exactly this phase's layers, in kfac_params_mut order.
        let mut stats: Vec<LayerStats> = trace.into_iter().map(|t| t.stats(&mut fisher.grads)).collect();
        if self.cfg.log_std == LogStdUpdate::Unpreconditioned {
            // The Gaussian log std is the one weightless bias block.
            for s in stats.iter_mut().filter(|s| s.kind == LayerKind::Bias) {
                s.kind = LayerKind::Unfactored;
            }
        }
        debug_assert_eq!(stats.len(), grads.len());
        let kfac = if phase == Phase::Value { &mut self.value_kfac } else { &mut self.kfac };
        let step = kfac.step(&stats, &grads, lr);
        self.apply(phase, &step.deltas);
        (step, loss.policy_term, loss.value_term, loss.entropy)
    }
}

impl Policy for Acktr {
    fn act(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> (DistParams, Vec<f32>) {
        self.net.forward(obs, episode_steps, rows)
    }
    fn values(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> Vec<f32> {
        self.net.values(obs, episode_steps, rows)
    }
}

fn event_code(e: Option<KfacEvent>) -> f64 {
    match e {
        None => 0.0,
        Some(KfacEvent::ColdStart) => 1.0,
        Some(KfacEvent::SkippedNonFinite) => 2.0,
        Some(KfacEvent::SkippedEigenFailure) => 3.0,
    }
}

impl Algorithm for Acktr {
    fn policy(&self) -> &dyn Policy {
        self
    }

    fn update(&mut self, rollout: &Rollout, progress: Progress) -> UpdateStats {
        let rows = rollout.len();
        let (mut adv, targets) = match self.cfg.advantage {
            Advantage::NStep => {
                let r = nstep_returns(rollout, self.cfg.gamma, self.cfg.time_limit);
                (r.iter().zip(&rollout.values).map(|(r, v)| r - v).collect::<Vec<f32>>(), r)
            }
            Advantage::Gae { lambda } => gae(rollout, self.cfg.gamma, lambda, self.cfg.time_limit),
        };
        let targets = match self.cfg.value_targets {
            ValueTargets::Estimator => targets,
            ValueTargets::DiscountedReturns => nstep_returns(rollout, self.cfg.gamma, self.cfg.time_limit),
        };
        let value_obs = rollout_value_features(&self.net, rollout);
        let value_obs = value_obs.as_deref();
        if self.cfg.normalize_advantages && rows > 1 {
            let mean = adv.iter().map(|&a| f64::from(a)).sum::<f64>() / rows as f64;
            let var = adv.iter().map(|&a| (f64::from(a) - mean).powi(2)).sum::<f64>() / rows as f64;
            let sd = var.sqrt() + 1e-8;
            for a in adv.iter_mut() {
                *a = ((f64::from(*a) - mean) / sd) as f32;
            }
        }
        let logp_weights: Vec<f32> = adv.iter().map(|a| -a / rows as f32).collect();
        // Bellman-error variance for the adaptive Gauss-Newton critic.
        let batch_var = targets.iter().zip(&rollout.values).map(|(t, v)| f64::from(t - v).powi(2)).sum::<f64>() / rows as f64;
        let d = self.cfg.bellman_variance_decay;
        let var = match self.bellman_variance {
            None => batch_var,
            Some(v) if batch_var.is_finite() => d * v + (1.0 - d) * batch_var,
            Some(v) => v, // a non-finite batch must not poison the estimate
        };
        if var.is_finite() {
            self.bellman_variance = Some(var);
        }
        let sigma = match self.cfg.critic {
            Critic::AdaptiveGaussNewton => var.sqrt().max(1e-3),
            _ => self.cfg.value_noise_std,
        };
        // Fisher samples: actions from the current policy, value noise.
        let old_dist = match &rollout.dist {
            Some(d) => d.clone(),
            None => self.net.policy_dist(&rollout.obs, rows),
        };
        let (_, sampled) = old_dist.sample(&mut self.rng);
        let noise: Vec<f32> = (0..rows).map(|_| self.rng.sample::<f32, _>(StandardNormal)).collect();
        let lr = self.cfg.kfac.lr_schedule.at(self.kfac.config().lr, progress);
        let (step, policy_loss, mut value_loss, entropy, mut value_step) = if self.net.is_shared() {
            let (s, p, v, e) = self.pass(Phase::Joint, rollout, value_obs, &logp_weights, &targets, &sampled, &noise, sigma, lr);
            (s, p, v, e, None)
        } else {
            let (s, p, _, e) = self.pass(Phase::Policy, rollout, value_obs, &logp_weights, &targets, &sampled, &noise, sigma, lr);
            (s, p, f64::NAN, e, None)
        };
        if !self.net.is_shared() {
            let vlr = self.cfg.value_kfac.lr_schedule.at(self.value_kfac.config().lr, progress);
            for epoch in 0..self.cfg.value_epochs.max(1) {
                let noise: Vec<f32> = (0..rows).map(|_| self.rng.sample::<f32, _>(StandardNormal)).collect();
                let (s, _, v, _) = self.pass(Phase::Value, rollout, value_obs, &logp_weights, &targets, &sampled, &noise, sigma, vlr);
                if epoch == 0 {
                    value_loss = v;
                }
                value_step = Some(s);
            }
        }
        let new_dist = self.net.policy_dist(&rollout.obs, rows);
        let kl = mean_kl(&old_dist, &new_dist);
        if let StepSize::AdaptiveKl { target } = self.cfg.step_size {
            let lr = self.kfac.lr_mut();
            if kl > 2.0 * target {
                *lr = (*lr / 1.5).max(1e-8);
            } else if kl < target / 2.0 {
                *lr = (*lr * 1.5).min(1.0);
            }
        }
        let vs = value_step.as_ref();
        UpdateStats(vec![
            ("policy_loss", policy_loss),
            ("value_loss", value_loss),
            ("entropy", entropy),
            ("lr", step.lr),
            ("nu", step.nu),
            ("quadratic_kl", step.approx_kl()),
            ("vfv", step.vfv),
            ("exact_kl", kl),
            ("kfac_event", event_code(step.event)),
            ("value_nu", vs.map_or(f64::NAN, |s| s.nu)),
            ("value_kfac_event", vs.map_or(f64::NAN, |s| event_code(s.event))),
            ("value_noise_std", sigma),
        ])
    }

    fn pipeline_mut(&mut self) -> &mut Pipeline {
        &mut self.pipeline
    }
}
