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

use super::a2c::rollout_value_features;
use super::pipeline::{Pipeline, PipelineConfig};
use super::returns::{gae, nstep_returns, TimeLimitHandling};
use super::rollout::Rollout;
use super::{AlgoError, Algorithm, NetworkConfig, Progress, Settings, UpdateStats};
use crate::check::{self, FieldError};
use crate::kfac::{glue, BiasMode, Kfac, KfacConfig, KfacEvent, KfacStep, LayerGrads, LayerKind};
use crate::nets::{ActionBatch, ActorCriticNet, FisherQuery, GradsWanted, Group, LossQuery, Parts, ValueTarget};
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
    /// Its plain gradient inside the trust region and momentum (no Kronecker factor). This
    /// was the `baselines_mujoco` preset's reading of baselines until the fidelity audit
    /// below; kept as an option and measured in `specs/ablation_reacher.yaml`.
    Unpreconditioned,
    /// What openai/baselines `acktr/kfac.py` actually does with `logstd` (commit c6c0f45):
    /// the graph `logstd -> ExpandDims -> Exp -> Tile` (`policies.py` l. 22-25) puts the
    /// variable's gradient under an `ExpandDims` op, which is not a K-FAC op, so
    /// `searchFactors` takes its "unknown OPs, block approximation" branch (l. 114-123)
    /// and records as the backward factor the input of `Exp_grad/mul` that is a gradient:
    /// `Tile_grad/Sum`, the gradient of the sampled Fisher loss `-mean(log pi(a|s))` with
    /// respect to `std = exp(logstd)`, *summed over the batch* (shape `1 x act_dim`). Its
    /// statistic is then `G = s s^T` with `B = 1` (l. 393-421), running-averaged like any
    /// factor (decay 0.99), eigendecomposed, and the log std's gradient is preconditioned
    /// by `(e_G + damping)^-1` in `G`'s eigenbasis (l. 634-738; no weight decay: `logstd` is
    /// not in `wd_dict`). Since `E|s|^2 = 2/(N sigma^2)` is far below the damping (0.01) at
    /// batch 2,500, this multiplies the log std's raw gradient by about `1/damping` before
    /// the trust-region scale, so the log std moves about as fast as the trust region lets.
    /// Ours: a bias block whose statistics are one row, `s_j = sum_rows g_j / sigma_j`.
    BatchSummed,
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
    /// (`kfac_update=1`) pipelined two updates behind (`async=1`), cold start 10 updates at lr 0.01 with gradients clipped to 0.5,
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
    ///   coordinates (`blockdiag_bias=False`), the log std preconditioned by the
    ///   batch-summed statistic baselines gives it ([`LogStdUpdate::BatchSummed`]);
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
                    // `async=1`: the decompositions off the critical path, used two
                    // updates after the factors they decompose (`crate::kfac`, "Pipelined
                    // eigendecompositions": baselines' staleness depends on timing).
                    inverse_lag: 2,
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
                log_std: LogStdUpdate::BatchSummed,
                value_targets: ValueTargets::DiscountedReturns,
                ..AcktrConfig::default()
            },
        }
    }
}

/// The registry's key: `acktr: {preset: ..., ...}`.
pub const KEY: &str = "acktr";

/// The names of its presets ([`Preset`], as a spec writes them).
pub const PRESETS: &[&str] = &["baselines_atari", "baselines_mujoco"];

/// The statistics every update logs, in order (the columns of `updates.parquet`).
pub const COLUMNS: &[&str] = &[
        "policy_loss",
        "value_loss",
        "entropy",
        "lr",
        "nu",
        "quadratic_kl",
        "vfv",
        "exact_kl",
        "kfac_event",
        "value_nu",
        "value_kfac_event",
        "value_noise_std",
    ];

impl Settings for AcktrConfig {
    super::network_and_pipeline!();

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.kfac.lr
    }

    fn lr_field(&self) -> &'static str {
        "kfac.lr"
    }

    /// The value network's schedule counts only where there is one (a shared network has one
    /// joint K-FAC, `kfac`).
    fn anneals(&self) -> bool {
        self.kfac.lr_schedule != super::LrSchedule::Constant || (!self.network.shared && self.value_kfac.lr_schedule != super::LrSchedule::Constant)
    }

    fn check(&self) -> Result<(), FieldError> {
        self.kfac.check().map_err(|e| e.under("kfac"))?;
        self.value_kfac.check().map_err(|e| e.under("value_kfac"))?;
        check::unit("gamma", self.gamma)?;
        check::non_negative("entropy_coef", self.entropy_coef)?;
        check::non_negative("value_coef", self.value_coef)?;
        check::non_negative("value_fisher_coef", self.value_fisher_coef)?;
        check::rate("value_noise_std", self.value_noise_std)?;
        check::unit("bellman_variance_decay", self.bellman_variance_decay)?;
        check::rate("critic_lr", self.critic_lr)?;
        check::non_negative("value_l2", self.value_l2)?;
        if self.value_epochs == 0 {
            return Err(FieldError::new("value_epochs", "must be at least 1"));
        }
        if let Advantage::Gae { lambda } = self.advantage {
            check::unit("advantage.gae.lambda", lambda)?;
        }
        if let StepSize::AdaptiveKl { target } = self.step_size {
            check::rate("step_size.adaptive_kl.target", target)?;
        }
        if self.critic == Critic::Euclidean && self.network.shared {
            return Err(FieldError::new("critic", "the euclidean critic needs separate policy and value networks (network: {shared: false})"));
        }
        if self.network.shared {
            // What only a separate critic uses (the shared network has one joint K-FAC).
            let d = AcktrConfig::default();
            let set = [
                ("value_kfac", self.value_kfac != d.value_kfac),
                ("value_epochs", self.value_epochs != d.value_epochs),
                ("value_l2", self.value_l2 != d.value_l2),
                ("critic_lr", self.critic_lr != d.critic_lr),
                ("critic_rmsprop", self.critic_rmsprop != d.critic_rmsprop),
            ];
            if let Some((field, _)) = set.iter().find(|(_, differs)| *differs) {
                return Err(super::separate_only(field));
            }
        }
        Ok(())
    }

    fn build(&self, net: Box<dyn ActorCriticNet>, pipeline: Pipeline, discrete: bool, seed: u64) -> Result<Box<dyn Algorithm>, AlgoError> {
        Ok(Box::new(Acktr::new(self.clone(), net, pipeline, discrete, seed)?))
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
    /// Which outputs the pass needs.
    fn parts(self) -> Parts {
        match self {
            Phase::Joint => Parts::ALL,
            Phase::Policy => Parts::POLICY,
            Phase::Value => Parts::VALUE,
        }
    }

    /// Weights of the policy and value terms.
    fn weights(self) -> (f32, f32) {
        match self {
            Phase::Joint => (1.0, 1.0),
            Phase::Policy => (1.0, 0.0),
            Phase::Value => (0.0, 1.0),
        }
    }
}

/// How the networks are optimised: one joint K-FAC for a shared network, or a K-FAC for
/// the policy and a K-FAC (or RMSProp) critic for separate networks.
enum Optimizers {
    Joint { kfac: Kfac, blocks: Vec<usize> },
    Separate { policy: Kfac, policy_blocks: Vec<usize>, value: ValueOptimizer, value_blocks: Vec<usize> },
}

enum ValueOptimizer {
    Kfac(Kfac),
    /// The Euclidean critic (first-order).
    RmsProp(RmsProp),
}

/// One batch's inputs to every pass.
struct PassBatch<'a> {
    rollout: &'a Rollout,
    value_obs: Option<&'a [f32]>,
    logp_weights: &'a [f32],
    targets: &'a [f32],
    /// Actions drawn from the current policy, for the sampled Fisher loss.
    sampled: &'a [f32],
    sigma: f64,
}

/// A pass's loss gradients, Fisher statistics and terms.
struct PassGrads {
    grads: Vec<LayerGrads>,
    stats: Vec<crate::nets::LayerStats>,
    policy_term: f64,
    value_term: f64,
    entropy: f64,
}

/// What one pass reports.
struct PassOut {
    step: KfacStep,
    policy_term: f64,
    value_term: f64,
    entropy: f64,
}

/// ACKTR state.
pub struct Acktr {
    cfg: AcktrConfig,
    net: Box<dyn ActorCriticNet>,
    pipeline: Pipeline,
    opt: Optimizers,
    discrete: bool,
    rng: ChaCha8Rng,
    bellman_variance: Option<f64>,
}

impl Acktr {
    /// Wraps a freshly initialised network; `seed` seeds the Fisher sampling.
    pub fn new(cfg: AcktrConfig, net: Box<dyn ActorCriticNet>, pipeline: Pipeline, discrete: bool, seed: u64) -> Result<Self, AlgoError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(3);
        let mut opt = if net.is_shared() {
            if cfg.critic == Critic::Euclidean {
                return Err(AlgoError::Unsupported { algo: "acktr", why: "critic euclidean needs separate networks".into() });
            }
            Optimizers::Joint { kfac: cfg.kfac.build(), blocks: (0..net.blocks().len()).collect() }
        } else {
            let value_blocks = net.group_blocks(Group::Value);
            let value = match cfg.critic {
                Critic::Euclidean => {
                    let n = value_blocks.iter().map(|&i| net.blocks()[i].numel()).sum();
                    ValueOptimizer::RmsProp(cfg.critic_rmsprop.build(n))
                }
                _ => ValueOptimizer::Kfac(cfg.value_kfac.build()),
            };
            Optimizers::Separate { policy: cfg.kfac.build(), policy_blocks: net.group_blocks(Group::Policy), value, value_blocks }
        };
        // The engine's own linear algebra, where it has one (the CUDA engine's cuSOLVER and
        // cuBLAS).
        let linalg = net.kfac_linalg();
        match &mut opt {
            Optimizers::Joint { kfac, .. } => kfac.set_linalg(linalg),
            Optimizers::Separate { policy, value, .. } => {
                policy.set_linalg(linalg.clone());
                if let ValueOptimizer::Kfac(k) = value {
                    k.set_linalg(linalg);
                }
            }
        }
        Ok(Self { cfg, net, pipeline, opt, discrete, rng, bellman_variance: None })
    }

    /// The network.
    pub fn net(&self) -> &dyn ActorCriticNet {
        &*self.net
    }

    fn blocks(&self, phase: Phase) -> Vec<usize> {
        match (&self.opt, phase) {
            (Optimizers::Joint { blocks, .. }, _) => blocks.clone(),
            (Optimizers::Separate { policy_blocks, .. }, Phase::Policy) => policy_blocks.clone(),
            (Optimizers::Separate { value_blocks, .. }, _) => value_blocks.clone(),
        }
    }

    /// The policy's (or joint) K-FAC.
    fn policy_kfac(&mut self) -> &mut Kfac {
        match &mut self.opt {
            Optimizers::Joint { kfac, .. } | Optimizers::Separate { policy: kfac, .. } => kfac,
        }
    }

    /// Gradients of the actor-critic loss for the blocks `which`, with the pass's terms, and
    /// (with `noise`) the K-FAC statistics of the sampled Fisher loss (module docs) on the
    /// same rows, in one query: the engine shares the forward pass where it can.
    fn loss_grads(&self, phase: Phase, b: &PassBatch, which: &[usize], noise: Option<&[f32]>) -> Result<PassGrads, AlgoError> {
        let rows = b.rollout.len();
        let (pw, vw) = phase.weights();
        let weights: Vec<f32> = b.logp_weights.iter().map(|w| w * pw).collect();
        let fisher_w: Vec<f32> = vec![-pw / rows as f32; rows];
        let fisher = noise.map(|noise| FisherQuery {
            actions: if self.discrete {
                ActionBatch::Discrete(b.sampled)
            } else {
                ActionBatch::Continuous { values: b.sampled, dim: b.rollout.act_dim }
            },
            logp_weights: &fisher_w,
            value_coef: -self.cfg.value_fisher_coef / (b.sigma * b.sigma) * f64::from(vw),
            noise,
            sigma: b.sigma as f32,
        });
        let out = self.net.loss(&LossQuery {
            obs: &b.rollout.obs,
            rows,
            value_obs: b.value_obs,
            actions: b.rollout.action_batch(self.discrete),
            parts: phase.parts(),
            logp_weights: &weights,
            entropy_coef: self.cfg.entropy_coef * f64::from(pw),
            value_coef: self.cfg.value_coef * f64::from(vw),
            target: ValueTarget::Fixed(b.targets),
            grads: GradsWanted::Blocks(which),
            kfac_stats: false,
            fisher,
        })?;
        let stats = if noise.is_some() { self.fisher_stats(which, out.stats) } else { Vec::new() };
        Ok(PassGrads { grads: out.blocks, stats, policy_term: out.policy_term, value_term: out.value_term, entropy: out.entropy })
    }

    /// The log std's treatment ([`LogStdUpdate`]) applied to the Fisher statistics of the
    /// blocks `which`.
    fn fisher_stats(&self, which: &[usize], stats: Vec<crate::nets::LayerStats>) -> Vec<crate::nets::LayerStats> {
        let mut stats = stats;
        // The Gaussian log std is the one weightless bias block.
        match self.cfg.log_std {
            LogStdUpdate::Factored => {}
            LogStdUpdate::Unpreconditioned => {
                for s in stats.iter_mut().filter(|s| s.kind == LayerKind::Bias) {
                    s.kind = LayerKind::Unfactored;
                }
            }
            LogStdUpdate::BatchSummed => {
                for (&i, s) in which.iter().zip(stats.iter_mut()).filter(|(_, s)| s.kind == LayerKind::Bias) {
                    let log_std = self.net.block_values(i).bias;
                    *s = batch_summed_std_stats(s, &log_std);
                }
            }
        }
        stats
    }

    /// Adds `d/dW (c/2)|W|^2` to the gradients of the blocks' weights (not biases).
    fn add_weight_decay(&self, which: &[usize], grads: &mut [LayerGrads], c: f64) {
        for (&i, g) in which.iter().zip(grads.iter_mut()) {
            if let (Some(w), Some(gw)) = (self.net.block_values(i).weight, g.weight.as_mut()) {
                for (gi, wi) in gw.iter_mut().zip(w) {
                    *gi += c * f64::from(wi);
                }
            }
        }
    }

    /// The Euclidean critic's RMSProp step on the value blocks.
    fn euclidean_step(&mut self, which: &[usize], grads: &[LayerGrads]) -> Result<KfacStep, AlgoError> {
        let mut flat: Vec<f32> = grads.iter().flat_map(|g| g.weight.iter().chain(g.bias.iter()).flatten().map(|&x| x as f32)).collect();
        let mut params: Vec<f32> = Vec::with_capacity(flat.len());
        for &i in which {
            let v = self.net.block_values(i);
            params.extend(v.weight.unwrap_or_default());
            params.extend(v.bias);
        }
        let Optimizers::Separate { value: ValueOptimizer::RmsProp(opt), .. } = &mut self.opt else {
            unreachable!("a Euclidean critic has an RMSProp optimizer");
        };
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
        glue::apply(&mut *self.net, which, &deltas)?;
        Ok(KfacStep { deltas, vfv: f64::NAN, nu: f64::NAN, lr: self.cfg.critic_lr, event: None, blocks: vec![] })
    }

    /// One K-FAC (or, for a Euclidean critic, RMSProp) pass over the blocks of `phase`.
    fn pass(&mut self, phase: Phase, b: &PassBatch, noise: &[f32], lr: f64) -> Result<PassOut, AlgoError> {
        let which = self.blocks(phase);
        let euclidean = phase == Phase::Value && matches!(self.opt, Optimizers::Separate { value: ValueOptimizer::RmsProp(_), .. });
        let PassGrads { mut grads, stats, policy_term, value_term, entropy } = self.loss_grads(phase, b, &which, (!euclidean).then_some(noise))?;
        if phase == Phase::Value && self.cfg.value_l2 > 0.0 {
            self.add_weight_decay(&which, &mut grads, self.cfg.value_l2);
        }
        let step = if euclidean {
            self.euclidean_step(&which, &grads)?
        } else {
            let kfac = match (&mut self.opt, phase) {
                (Optimizers::Separate { value: ValueOptimizer::Kfac(k), .. }, Phase::Value) => k,
                (Optimizers::Joint { kfac, .. } | Optimizers::Separate { policy: kfac, .. }, _) => kfac,
            };
            glue::step(&mut *self.net, kfac, &which, &stats, &grads, lr)?
        };
        Ok(PassOut { step, policy_term, value_term, entropy })
    }

    /// Advantages (standardised if configured) and value targets of a batch.
    fn advantages_and_targets(&self, rollout: &Rollout) -> (Vec<f32>, Vec<f32>) {
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
        if self.cfg.normalize_advantages && rows > 1 {
            let mean = adv.iter().map(|&a| f64::from(a)).sum::<f64>() / rows as f64;
            let var = adv.iter().map(|&a| (f64::from(a) - mean).powi(2)).sum::<f64>() / rows as f64;
            // acktr_cont.py: `(adv_n - adv_n.mean()) / (adv_n.std() + 1e-8)` (population std).
            let sd = var.sqrt() + 1e-8;
            for a in adv.iter_mut() {
                *a = ((f64::from(*a) - mean) / sd) as f32;
            }
        }
        (adv, targets)
    }

    /// The Fisher's value-noise scale: fixed, or the adaptive Gauss-Newton critic's running
    /// Bellman-error standard deviation (updated with this batch).
    fn value_noise_std(&mut self, rollout: &Rollout, targets: &[f32]) -> f64 {
        let rows = rollout.len();
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
        match self.cfg.critic {
            Critic::AdaptiveGaussNewton => var.sqrt().max(1e-3),
            _ => self.cfg.value_noise_std,
        }
    }
}

fn event_code(e: Option<KfacEvent>) -> f64 {
    match e {
        None => 0.0,
        Some(KfacEvent::ColdStart) => 1.0,
        Some(KfacEvent::SkippedNonFinite) => 2.0,
        Some(KfacEvent::SkippedEigenFailure) => 3.0,
        Some(KfacEvent::SkippedEngineFailure) => 4.0,
    }
}

impl Algorithm for Acktr {
    fn policy(&self) -> &dyn ActorCriticNet {
        &*self.net
    }

    fn update(&mut self, rollout: &Rollout, progress: Progress) -> Result<UpdateStats, AlgoError> {
        let rows = rollout.len();
        let (adv, targets) = self.advantages_and_targets(rollout);
        let value_obs = rollout_value_features(&*self.net, rollout);
        let logp_weights: Vec<f32> = adv.iter().map(|a| -a / rows as f32).collect();
        let sigma = self.value_noise_std(rollout, &targets);
        // Fisher samples: actions from the current policy, value noise.
        let old_dist = match &rollout.dist {
            Some(d) => d.clone(),
            None => self.net.policy_dist(&rollout.obs, rows)?,
        };
        let (_, sampled) = old_dist.sample(&mut self.rng);
        let noise: Vec<f32> = (0..rows).map(|_| self.rng.sample::<f32, _>(StandardNormal)).collect();
        let batch = PassBatch { rollout, value_obs: value_obs.as_deref(), logp_weights: &logp_weights, targets: &targets, sampled: &sampled, sigma };
        let lr = self.cfg.kfac.lr_schedule.at(self.policy_kfac().config().lr, progress);
        let shared = matches!(self.opt, Optimizers::Joint { .. });
        let first = self.pass(if shared { Phase::Joint } else { Phase::Policy }, &batch, &noise, lr)?;
        let mut value_loss = if shared { first.value_term } else { f64::NAN };
        let mut value_step = None;
        if let Optimizers::Separate { value, .. } = &self.opt {
            let base_lr = match value {
                ValueOptimizer::Kfac(k) => k.config().lr,
                ValueOptimizer::RmsProp(_) => self.cfg.value_kfac.lr,
            };
            let vlr = self.cfg.value_kfac.lr_schedule.at(base_lr, progress);
            for epoch in 0..self.cfg.value_epochs.max(1) {
                let noise: Vec<f32> = (0..rows).map(|_| self.rng.sample::<f32, _>(StandardNormal)).collect();
                let out = self.pass(Phase::Value, &batch, &noise, vlr)?;
                if epoch == 0 {
                    value_loss = out.value_term;
                }
                value_step = Some(out.step);
            }
        }
        let new_dist = self.net.policy_dist(&rollout.obs, rows)?;
        let kl = old_dist.mean_kl(&new_dist);
        if let StepSize::AdaptiveKl { target } = self.cfg.step_size {
            // openai/baselines acktr/acktr_cont.py, `learn`, after each policy update:
            // `if kl > desired_kl * 2: stepsize = max(min_stepsize, stepsize / 1.5)`, `elif kl <
            // desired_kl / 2: stepsize = min(max_stepsize, stepsize * 1.5)`, with
            // `min_stepsize = 1e-8` and `max_stepsize = 1e0`.
            let lr = self.policy_kfac().lr_mut();
            if kl > 2.0 * target {
                *lr = (*lr / 1.5).max(1e-8);
            } else if kl < target / 2.0 {
                *lr = (*lr * 1.5).min(1.0);
            }
        }
        let step = &first.step;
        let vs = value_step.as_ref();
        Ok(UpdateStats(vec![
            ("policy_loss", first.policy_term),
            ("value_loss", value_loss),
            ("entropy", first.entropy),
            ("lr", step.lr),
            ("nu", step.nu),
            ("quadratic_kl", step.approx_kl()),
            ("vfv", step.vfv),
            ("exact_kl", kl),
            ("kfac_event", event_code(step.event)),
            ("value_nu", vs.map_or(f64::NAN, |s| s.nu)),
            ("value_kfac_event", vs.map_or(f64::NAN, |s| event_code(s.event))),
            ("value_noise_std", sigma),
        ]))
    }

    fn pipeline_mut(&mut self) -> &mut Pipeline {
        &mut self.pipeline
    }

    fn set_threads(&mut self, threads: usize) {
        self.net.set_threads(threads);
        match &mut self.opt {
            Optimizers::Joint { kfac, .. } => kfac.set_threads(threads),
            Optimizers::Separate { policy, value, .. } => {
                policy.set_threads(threads);
                if let ValueOptimizer::Kfac(k) = value {
                    k.set_threads(threads);
                }
            }
        }
    }

    fn checkpoint(&self) -> Result<Vec<u8>, AlgoError> {
        let (policy, value) = match &self.opt {
            Optimizers::Joint { kfac, .. } => (kfac.state(), None),
            Optimizers::Separate { policy, value, .. } => (
                policy.state(),
                Some(match value {
                    ValueOptimizer::Kfac(k) => ValueState::Kfac(k.state()),
                    ValueOptimizer::RmsProp(r) => ValueState::RmsProp(r.clone()),
                }),
            ),
        };
        super::encode(&AcktrState {
            params: self.net.params(),
            policy,
            value,
            rng: self.rng.clone(),
            bellman_variance: self.bellman_variance,
            pipeline: self.pipeline.state(),
        })
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), AlgoError> {
        let s: AcktrState = super::decode(bytes)?;
        let bad = |why: String| AlgoError::Checkpoint(why);
        let damaged = |e: crate::kfac::KfacStateError| AlgoError::Checkpoint(e.to_string());
        match (&mut self.opt, &s.value) {
            (Optimizers::Joint { kfac, .. }, None) => kfac.restore(&s.policy).map_err(damaged)?,
            (Optimizers::Separate { policy, value, .. }, Some(v)) => {
                policy.restore(&s.policy).map_err(damaged)?;
                match (value, v) {
                    (ValueOptimizer::Kfac(k), ValueState::Kfac(ks)) => k.restore(ks).map_err(damaged)?,
                    (ValueOptimizer::RmsProp(r), ValueState::RmsProp(rs)) => *r = rs.clone(),
                    _ => return Err(bad("the critic's optimizer differs".into())),
                }
            }
            _ => return Err(bad("shared and separate networks differ".into())),
        }
        self.net.set_params(&s.params)?;
        self.rng = s.rng;
        self.bellman_variance = s.bellman_variance;
        self.pipeline.restore(s.pipeline);
        Ok(())
    }
}

/// The log std's statistics as baselines `kfac.py` forms them ([`LogStdUpdate::BatchSummed`]):
/// one row `s_j = sum_r g_rj / sigma_j`, the batch-summed gradient of the sampled Fisher loss
/// with respect to `sigma = exp(log_std)` (the per-row `g` is with respect to the log std),
/// with `batch = 1`, so that K-FAC's bias statistic (`batch x` the rows' Gram matrix) is
/// `s s^T` (`kfac.py` l. 395-421, where `B = tf.shape(bpropFactor)[0]` is 1).
fn batch_summed_std_stats(s: &crate::nets::LayerStats, log_std: &[f32]) -> crate::nets::LayerStats {
    let dim = s.out_dim;
    let mut sum = vec![0.0f64; dim];
    for row in s.g.chunks_exact(dim) {
        for (acc, &g) in sum.iter_mut().zip(row) {
            *acc += f64::from(g);
        }
    }
    let g = sum.iter().zip(log_std).map(|(&v, &l)| (v / f64::from(l).exp()) as f32).collect();
    crate::nets::LayerStats { kind: LayerKind::Bias, batch: 1, a: Vec::new(), in_dim: s.in_dim, g, out_dim: dim, grams: None }
}

/// ACKTR's checkpoint: parameters, every optimizer's state, the Fisher sampler's stream,
/// the Bellman-error variance, the pipeline.
#[derive(Serialize, Deserialize)]
struct AcktrState {
    params: Vec<f32>,
    policy: crate::kfac::KfacState,
    value: Option<ValueState>,
    rng: ChaCha8Rng,
    bellman_variance: Option<f64>,
    pipeline: super::pipeline::PipelineState,
}

#[derive(Serialize, Deserialize)]
enum ValueState {
    Kfac(crate::kfac::KfacState),
    RmsProp(RmsProp),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::LayerStats;

    #[test]
    fn the_batch_summed_log_std_statistic_is_one_row_of_std_gradients() {
        // Three rows of per-row gradients with respect to the log std (two dimensions).
        let g = vec![0.5f32, -1.0, 0.25, 2.0, -0.75, 1.0];
        let per_row = LayerStats { kind: LayerKind::Bias, batch: 3, a: Vec::new(), in_dim: 0, g, out_dim: 2, grams: None };
        let log_std = [0.0f32, -0.5];
        let s = batch_summed_std_stats(&per_row, &log_std);
        assert_eq!((s.kind, s.batch, s.out_dim, s.g.len()), (LayerKind::Bias, 1, 2, 2));
        // s_j = sum_r g_rj / exp(log_std_j): d/d(std) = d/d(log std) / std.
        let expected = [(0.5 + 0.25 - 0.75) / 1.0, (-1.0 + 2.0 + 1.0) / (-0.5f64).exp()];
        for (got, want) in s.g.iter().zip(expected) {
            assert!((f64::from(*got) - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn the_baselines_mujoco_preset_preconditions_the_log_std_as_baselines_does() {
        assert_eq!(Preset::BaselinesMujoco.config().log_std, LogStdUpdate::BatchSummed);
    }
}
