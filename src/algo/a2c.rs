//! A2C, the synchronous advantage actor-critic of openai/baselines `a2c/a2c.py`:
//!
//! `L = -mean(A_t log pi(a_t|s_t)) + c_v mean((V(s_t) - R_t)^2) - c_e mean(H[pi(.|s_t)])`
//! with `A_t = R_t - V_old(s_t)` (no normalisation), n-step returns `R_t`
//! ([`super::returns::nstep_returns`]), global-norm gradient clipping and TF1 RMSProp.
//! Defaults are baselines' `a2c.learn` arguments.

use serde::{Deserialize, Serialize};

use super::pipeline::{Pipeline, PipelineConfig};
use super::returns::{nstep_returns, TimeLimitHandling};
use super::rollout::Rollout;
use super::{AlgoError, Algorithm, AlgorithmConfig, AlgorithmEntry, LrSchedule, NetworkConfig, Progress, Settings, UpdateStats};
use crate::check::{self, FieldError};
use crate::nets::{ActorCriticNet, GradsWanted, LossQuery, Parts, ValueTarget};
use crate::optim::{clip_by_global_norm, RmsProp, RmsPropConfig};

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
            time_limit: TimeLimitHandling::Terminal,
            network: NetworkConfig::default(),
            pipeline: PipelineConfig::default(),
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

/// The registry's entry: `a2c: {preset: mujoco_pipeline, ...}`.
pub const ENTRY: AlgorithmEntry = AlgorithmEntry {
    key: "a2c",
    presets: &["mujoco_pipeline"],
    defaults: || AlgorithmConfig::A2c(A2cConfig::default()),
    preset: |v| serde_yaml::from_value::<A2cPreset>(v).map(|p| AlgorithmConfig::A2c(p.config())),
    typed: |v| super::typed::<A2cConfig>(v).map(AlgorithmConfig::A2c),
    columns: &["policy_loss", "value_loss", "entropy", "grad_norm", "lr"],
};

impl Settings for A2cConfig {
    fn network(&self) -> &NetworkConfig {
        &self.network
    }

    fn network_mut(&mut self) -> &mut NetworkConfig {
        &mut self.network
    }

    fn pipeline(&self) -> &PipelineConfig {
        &self.pipeline
    }

    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }

    fn check(&self) -> Result<(), FieldError> {
        check::rate("lr", self.lr)?;
        check::unit("gamma", self.gamma)?;
        check::non_negative("entropy_coef", self.entropy_coef)?;
        check::non_negative("value_coef", self.value_coef)?;
        check::rate("max_grad_norm", self.max_grad_norm)?;
        check::unit("rmsprop.alpha", self.rmsprop.alpha)?;
        check::rate("rmsprop.epsilon", self.rmsprop.epsilon)?;
        check::non_negative("rmsprop.initial_mean_square", self.rmsprop.initial_mean_square)
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
    opt: RmsProp,
    discrete: bool,
}

impl A2c {
    /// Wraps a freshly initialised network and its data pipeline.
    pub fn new(cfg: A2cConfig, net: Box<dyn ActorCriticNet>, pipeline: Pipeline, discrete: bool) -> Self {
        let n = net.params().len();
        let opt = cfg.rmsprop.build(n);
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

/// A2C's checkpoint: parameters, RMSProp's mean squares, the pipeline.
#[derive(Serialize, Deserialize)]
struct A2cState {
    params: Vec<f32>,
    opt: RmsProp,
    pipeline: super::pipeline::PipelineState,
}
