//! A2C, the synchronous advantage actor-critic of openai/baselines `a2c/a2c.py`:
//!
//! `L = -mean(A_t log pi(a_t|s_t)) + c_v mean((V(s_t) - R_t)^2) - c_e mean(H[pi(.|s_t)])`
//! with `A_t = R_t - V_old(s_t)` (no normalisation), n-step returns `R_t`
//! ([`super::returns::nstep_returns`]), global-norm gradient clipping and TF1 RMSProp.
//! Defaults are baselines' `a2c.learn` arguments. The optimizer can be Adam or the paper's
//! trust-region step rule under the Euclidean metric instead ([`A2cOptimizer`]), for choosing
//! the baseline by the paper's tuning protocol (`specs/a2c_protocol.yaml`).

use serde::{Deserialize, Serialize};

use super::pipeline::{Pipeline, PipelineConfig};
use super::returns::{nstep_returns, TimeLimitHandling};
use super::rollout::Rollout;
use super::{AlgoError, Algorithm, LrSchedule, NetworkConfig, Progress, Settings, UpdateStats};
use crate::check::{self, FieldError};
use crate::nets::{ActorCriticNet, GradsWanted, LossQuery, Parts, ValueTarget};
use crate::optim::{clip_by_global_norm, Adam, RmsProp, RmsPropConfig, TrustSgd, TrustSgdConfig};

/// A2C hyperparameters (defaults: openai/baselines `a2c/a2c.py::learn`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct A2cConfig {
    /// Learning rate: 7e-4.
    pub lr: f64,
    /// Schedule of the learning rate: constant (baselines' default; the Atari runs use
    /// `linear`).
    pub lr_schedule: LrSchedule,
    /// Discount: 0.99.
    pub gamma: f64,
    /// Entropy coefficient: 0.01.
    pub entropy_coef: f64,
    /// Value-loss coefficient: 0.5.
    pub value_coef: f64,
    /// Global gradient-norm clip: 0.5.
    pub max_grad_norm: f64,
    /// RMSProp settings.
    pub rmsprop: RmsPropConfig,
    /// The optimizer (default RMSProp; not written into a cell's configuration when it is,
    /// so cells from before the choice existed keep their hashes).
    #[serde(skip_serializing_if = "A2cOptimizer::is_rmsprop")]
    pub optimizer: A2cOptimizer,
    /// Settings of `optimizer: trust_sgd` (not written when they are the defaults).
    #[serde(skip_serializing_if = "is_default_trust_sgd")]
    pub trust_sgd: TrustSgdConfig,
    /// How time-limit truncations enter the returns.
    pub time_limit: TimeLimitHandling,
    /// The network.
    pub network: NetworkConfig,
    /// Observation filter, action mapping and batch layout ([`super::pipeline`]).
    pub pipeline: PipelineConfig,
}

impl Default for A2cConfig {
    fn default() -> Self {
        Self {
            lr: 7e-4,
            lr_schedule: LrSchedule::Constant,
            gamma: 0.99,
            entropy_coef: 0.01,
            value_coef: 0.5,
            max_grad_norm: 0.5,
            rmsprop: RmsPropConfig::default(),
            optimizer: A2cOptimizer::Rmsprop,
            trust_sgd: TrustSgdConfig::default(),
            time_limit: TimeLimitHandling::Terminal,
            network: NetworkConfig::default(),
            pipeline: PipelineConfig::default(),
        }
    }
}

/// A2C's optimizer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum A2cOptimizer {
    /// TF1 RMSProp, as openai/baselines `a2c/a2c.py` (`rmsprop` settings).
    #[default]
    Rmsprop,
    /// Adam with baselines' `MpiAdam` defaults (beta1 0.9, beta2 0.999, epsilon 1e-8).
    Adam,
    /// The paper's trust-region step rule (section 3.2) under the Euclidean metric, as
    /// ACKTR applies it with the Fisher (`trust_sgd` settings; [`crate::optim::trust_sgd`]):
    /// `lr` is the maximum learning rate.
    TrustSgd,
}

impl A2cOptimizer {
    fn is_rmsprop(&self) -> bool {
        *self == A2cOptimizer::Rmsprop
    }
}

fn is_default_trust_sgd(c: &TrustSgdConfig) -> bool {
    *c == TrustSgdConfig::default()
}

/// The optimizer's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum OptimizerState {
    RmsProp(RmsProp),
    Adam(Adam),
    TrustSgd(TrustSgd),
}

impl OptimizerState {
    fn new(cfg: &A2cConfig, n: usize) -> Self {
        match cfg.optimizer {
            A2cOptimizer::Rmsprop => OptimizerState::RmsProp(cfg.rmsprop.build(n)),
            A2cOptimizer::Adam => OptimizerState::Adam(Adam::new(n)),
            A2cOptimizer::TrustSgd => OptimizerState::TrustSgd(cfg.trust_sgd.build(n)),
        }
    }

    /// One step of `params` along `grads` at learning rate `lr`.
    fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f64) {
        match self {
            OptimizerState::RmsProp(o) => o.step(params, grads, lr),
            OptimizerState::Adam(o) => {
                let g: Vec<f64> = grads.iter().map(|&x| f64::from(x)).collect();
                for (p, d) in params.iter_mut().zip(o.step(&g, lr)) {
                    *p = (f64::from(*p) + d) as f32;
                }
            }
            OptimizerState::TrustSgd(o) => {
                o.step(params, grads, lr);
            }
        }
    }
}

/// Named A2C settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum A2cPreset {
    /// A2C on ACKTR's MuJoCo pipeline, as the paper compares them ("ACKTR and the
    /// baselines use the same model architecture", section 5; appendix A.2): the
    /// observation filter, previous observation, action box and whole-episode batches of
    /// baselines `acktr_cont.py`, separate normc-initialised 64-64 tanh policy and ELU
    /// value networks with baselines' value features, no entropy bonus. The optimizer and
    /// loss are A2C's (RMSProp, `value_coef` 0.5, gradient clipping 0.5); the learning
    /// rate is the harness's choice by grid search (`specs/a2c_lr_mujoco.yaml`).
    MujocoPipeline,
}

impl A2cPreset {
    /// The full configuration.
    pub fn config(self) -> A2cConfig {
        match self {
            A2cPreset::MujocoPipeline => A2cConfig {
                entropy_coef: 0.0,
                network: NetworkConfig::baselines_mujoco(),
                pipeline: PipelineConfig::baselines_mujoco(),
                ..A2cConfig::default()
            },
        }
    }
}

/// The registry's key: `a2c: {preset: ..., ...}`.
pub const KEY: &str = "a2c";

/// The names of its presets ([`A2cPreset`], as a spec writes them).
pub const PRESETS: &[&str] = &["mujoco_pipeline"];

/// The statistics every update logs, in order (the columns of `updates.parquet`).
pub const COLUMNS: &[&str] = &["policy_loss", "value_loss", "entropy", "grad_norm", "lr"];

impl Settings for A2cConfig {
    super::network_and_pipeline!();

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn lr_field(&self) -> &'static str {
        "lr"
    }

    fn anneals(&self) -> bool {
        self.lr_schedule != LrSchedule::Constant
    }

    fn check(&self) -> Result<(), FieldError> {
        check::rate("lr", self.lr)?;
        check::unit("gamma", self.gamma)?;
        check::non_negative("entropy_coef", self.entropy_coef)?;
        check::non_negative("value_coef", self.value_coef)?;
        check::rate("max_grad_norm", self.max_grad_norm)?;
        check::unit("rmsprop.alpha", self.rmsprop.alpha)?;
        check::rate("rmsprop.epsilon", self.rmsprop.epsilon)?;
        check::non_negative("rmsprop.initial_mean_square", self.rmsprop.initial_mean_square)?;
        check::rate("trust_sgd.radius", self.trust_sgd.radius)?;
        if !(0.0..1.0).contains(&self.trust_sgd.momentum) {
            return Err(FieldError::new("trust_sgd.momentum", format!("must lie in [0, 1), got {}", self.trust_sgd.momentum)));
        }
        Ok(())
    }

    fn build(&self, net: Box<dyn ActorCriticNet>, pipeline: Pipeline, discrete: bool, _seed: u64) -> Result<Box<dyn Algorithm>, AlgoError> {
        Ok(Box::new(A2c::new(self.clone(), net, pipeline, discrete)))
    }
}

/// A2C state: the network and its optimizer.
pub struct A2c {
    cfg: A2cConfig,
    net: Box<dyn ActorCriticNet>,
    pipeline: Pipeline,
    opt: OptimizerState,
    discrete: bool,
}

impl A2c {
    /// Wraps a freshly initialised network and its data pipeline.
    pub fn new(cfg: A2cConfig, net: Box<dyn ActorCriticNet>, pipeline: Pipeline, discrete: bool) -> Self {
        let n = net.params().len();
        let opt = OptimizerState::new(&cfg, n);
        Self { cfg, net, pipeline, opt, discrete }
    }

    /// The network.
    pub fn net(&self) -> &dyn ActorCriticNet {
        &*self.net
    }
}

/// The value network's input for a rollout (baselines' value features under the acting
/// distribution the rollout recorded), or `None` when it reads the policy's input.
pub(crate) fn rollout_value_features(net: &dyn ActorCriticNet, rollout: &Rollout) -> Option<Vec<f32>> {
    let dist = rollout.dist.as_ref()?;
    net.value_features(&rollout.obs, dist, &rollout.episode_steps, rollout.len())
}

impl Algorithm for A2c {
    fn policy(&self) -> &dyn ActorCriticNet {
        &*self.net
    }

    fn update(&mut self, rollout: &Rollout, progress: Progress) -> Result<UpdateStats, AlgoError> {
        let returns = nstep_returns(rollout, self.cfg.gamma, self.cfg.time_limit);
        let rows = rollout.len() as f32;
        let weights: Vec<f32> = returns.iter().zip(&rollout.values).map(|(r, v)| -(r - v) / rows).collect();
        let value_obs = rollout_value_features(&*self.net, rollout);
        let loss = self.net.loss(&LossQuery {
            obs: &rollout.obs,
            rows: rollout.len(),
            value_obs: value_obs.as_deref(),
            actions: rollout.action_batch(self.discrete),
            parts: Parts::ALL,
            logp_weights: &weights,
            entropy_coef: self.cfg.entropy_coef,
            value_coef: self.cfg.value_coef,
            target: ValueTarget::Fixed(&returns),
            grads: GradsWanted::Flat,
            kfac_stats: false,
            fisher: None,
        })?;
        let mut grads = loss.flat;
        let grad_norm = clip_by_global_norm(&mut grads, self.cfg.max_grad_norm);
        let lr = self.cfg.lr_schedule.at(self.cfg.lr, progress);
        let mut params = self.net.params();
        self.opt.step(&mut params, &grads, lr);
        self.net.set_params(&params)?;
        Ok(UpdateStats(vec![
            ("policy_loss", loss.policy_term),
            ("value_loss", loss.value_term),
            ("entropy", loss.entropy),
            ("grad_norm", grad_norm),
            ("lr", lr),
        ]))
    }

    fn pipeline_mut(&mut self) -> &mut Pipeline {
        &mut self.pipeline
    }

    fn set_threads(&mut self, threads: usize) {
        self.net.set_threads(threads);
    }

    fn checkpoint(&self) -> Result<Vec<u8>, AlgoError> {
        super::encode(&A2cState { params: self.net.params(), opt: self.opt.clone(), pipeline: self.pipeline.state() })
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), AlgoError> {
        let s: A2cState = super::decode(bytes)?;
        self.net.set_params(&s.params)?;
        self.opt = s.opt;
        self.pipeline.restore(s.pipeline);
        Ok(())
    }
}

/// A2C's checkpoint: parameters, the optimizer's state, the pipeline.
#[derive(Serialize, Deserialize)]
struct A2cState {
    params: Vec<f32>,
    opt: OptimizerState,
    pipeline: super::pipeline::PipelineState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_optimizer_leaves_the_configuration_as_it_was() {
        // Cells hash their configuration's JSON: RMSProp with default trust-region settings
        // writes neither field, so cells from before the choice keep their hashes.
        let json = serde_json::to_string(&A2cConfig::default()).unwrap();
        assert!(!json.contains("optimizer") && !json.contains("trust_sgd"), "{json}");
        let adam = A2cConfig { optimizer: A2cOptimizer::Adam, ..A2cConfig::default() };
        assert!(serde_json::to_string(&adam).unwrap().contains("\"optimizer\":\"adam\""));
    }

    #[test]
    fn each_optimizer_steps_downhill() {
        // One step on the gradient (1, -2) from the origin moves against it, whatever the
        // optimizer.
        for optimizer in [A2cOptimizer::Rmsprop, A2cOptimizer::Adam, A2cOptimizer::TrustSgd] {
            let cfg = A2cConfig { optimizer, ..A2cConfig::default() };
            let mut opt = OptimizerState::new(&cfg, 2);
            let mut p = [0.0f32, 0.0];
            opt.step(&mut p, &[1.0, -2.0], 0.01);
            assert!(p[0] < 0.0 && p[1] > 0.0, "{optimizer:?}: {p:?}");
        }
    }

    #[test]
    fn trust_sgd_settings_are_checked() {
        let bad = A2cConfig { trust_sgd: TrustSgdConfig { radius: 0.001, momentum: 1.0 }, ..A2cConfig::default() };
        assert_eq!(bad.check().unwrap_err().field, "trust_sgd.momentum");
        let bad = A2cConfig { trust_sgd: TrustSgdConfig { radius: -1.0, momentum: 0.9 }, ..A2cConfig::default() };
        assert_eq!(bad.check().unwrap_err().field, "trust_sgd.radius");
    }
}
