//! A2C, the synchronous advantage actor-critic of openai/baselines `a2c/a2c.py`:
//!
//! `L = -mean(A_t log pi(a_t|s_t)) + c_v mean((V(s_t) - R_t)^2) - c_e mean(H[pi(.|s_t)])`
//! with `A_t = R_t - V_old(s_t)` (no normalisation), n-step returns `R_t`
//! ([`super::returns::nstep_returns`]), global-norm gradient clipping and TF1 RMSProp.
//! Defaults are baselines' `a2c.learn` arguments.

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use super::pipeline::{Pipeline, PipelineConfig};
use super::returns::{nstep_returns, TimeLimitHandling};
use super::rollout::{Policy, Rollout};
use super::{Algorithm, LrSchedule, NetworkConfig, Progress, UpdateStats};
use crate::nets::{ActionBatch, ActorCritic, DistParams, Parts, TraceEntry};
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

/// A2C state: the network and its optimizer.
pub struct A2c {
    cfg: A2cConfig,
    net: ActorCritic<64>,
    pipeline: Pipeline,
    opt: RmsProp,
    discrete: bool,
}

impl A2c {
    /// Wraps a freshly initialised network and its data pipeline.
    pub fn new(cfg: A2cConfig, mut net: ActorCritic<64>, pipeline: Pipeline, discrete: bool) -> Self {
        let n = net.flat_params().len();
        let opt = cfg.rmsprop.build(n);
        Self { cfg, net, pipeline, opt, discrete }
    }

    /// The network.
    pub fn net(&self) -> &ActorCritic<64> {
        &self.net
    }
}

impl Policy for ActorCritic<64> {
    fn act(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> (DistParams, Vec<f32>) {
        self.forward(obs, episode_steps, rows)
    }
    fn values(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> Vec<f32> {
        ActorCritic::values(self, obs, episode_steps, rows)
    }
}

/// The value network's input for a rollout (baselines' value features under the acting
/// distribution the rollout recorded), or `None` when it reads the policy's input.
pub(crate) fn rollout_value_features(net: &ActorCritic<64>, rollout: &Rollout) -> Option<Vec<f32>> {
    let dist = rollout.dist.as_ref()?;
    net.value_features(&rollout.obs, dist, &rollout.episode_steps, rollout.len())
}

/// A weighted actor-critic loss and its gradients (leaky `Gradients`, so traced layers'
/// pre-activation gradients are kept):
///
/// `L = sum_r w_r log pi(a_r|s_r) - c_e mean(H) + c_v mean((V(s) - y)^2)`.
///
/// A2C uses `w = -A/B`; ACKTR's sampled Fisher loss uses `w = -1/B` with actions drawn
/// from the current policy and `c_v < 0` with `y` a noisy copy of `V` (paper section 3.1).
pub(crate) struct WeightedLoss {
    pub grads: Gradients<f32, Cpu>,
    /// `sum_r w_r log pi(a_r|s_r)`.
    pub policy_term: f64,
    /// `mean((V - y)^2)`.
    pub value_term: f64,
    /// `mean(H)`.
    pub entropy: f64,
}

/// The regression target `y` of a [`WeightedLoss`].
pub(crate) enum ValueTarget<'a> {
    /// Given targets (returns).
    Fixed(&'a [f32]),
    /// `sg(V(s)) + sigma eps` from this very forward pass (the Fisher loss's sample).
    Noisy { noise: &'a [f32], sigma: f32 },
}

/// Builds and differentiates a [`WeightedLoss`] over the network `parts` it needs;
/// records K-FAC layers into `trace`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn weighted_loss(
    net: &ActorCritic<64>,
    obs: &[f32],
    value_obs: Option<&[f32]>,
    actions: &ActionBatch,
    parts: Parts,
    logp_weights: &[f32],
    entropy_coef: f64,
    value_coef: f64,
    target: ValueTarget,
    trace: Option<&mut Vec<TraceEntry>>,
) -> WeightedLoss {
    let rows = logp_weights.len();
    let dev = net.device().clone();
    let obs = net.obs_tensor(obs, rows).retaped::<OwnedTape<f32, Cpu>>();
    let ev = net.evaluate_traced(obs, value_obs, actions, parts, trace);
    let w = dev.tensor_from_vec(logp_weights.to_vec(), (rows,));
    let y = match target {
        ValueTarget::Fixed(t) => t.to_vec(),
        ValueTarget::Noisy { noise, sigma } => ev.value.as_vec().iter().zip(noise).map(|(v, e)| v + sigma * e).collect(),
    };
    let y = dev.tensor_from_vec(y, (rows,));
    let (pg, tape) = (ev.log_prob.put_tape(ev.tape) * w).sum().split_tape();
    let (vf, tape) = (ev.value.put_tape(tape) - y).square().mean().split_tape();
    let value_term = vf.array();
    // The coefficient must scale on the tape: a product of the untaped `vf` would be a
    // new tensor the backward pass never connects to `vf`, and the value term would give
    // no gradient at all (it did, before this was found: issue 16, "the critic did not fit").
    let (vf, tape) = (vf.put_tape(tape) * (value_coef as f32)).split_tape();
    let (ent, tape) = ev.entropy.put_tape(tape).mean().split_tape();
    let (policy_term, entropy) = (pg.array(), ent.array());
    let loss = ent.put_tape(tape) * (-entropy_coef as f32) + vf + pg;
    let grads = loss.backward();
    WeightedLoss {
        grads,
        policy_term: f64::from(policy_term),
        value_term: f64::from(value_term),
        entropy: f64::from(entropy),
    }
}

impl Algorithm for A2c {
    fn policy(&self) -> &dyn Policy {
        &self.net
    }

    fn update(&mut self, rollout: &Rollout, progress: Progress) -> UpdateStats {
        let returns = nstep_returns(rollout, self.cfg.gamma, self.cfg.time_limit);
        let rows = rollout.len() as f32;
        let weights: Vec<f32> = returns.iter().zip(&rollout.values).map(|(r, v)| -(r - v) / rows).collect();
        let value_obs = rollout_value_features(&self.net, rollout);
        let mut loss = weighted_loss(
            &self.net,
            &rollout.obs,
            value_obs.as_deref(),
            &rollout.action_batch(self.discrete),
            Parts::ALL,
            &weights,
            self.cfg.entropy_coef,
            self.cfg.value_coef,
            ValueTarget::Fixed(&returns),
            None,
        );
        let mut grads = self.net.flat_grads(&mut loss.grads);
        let grad_norm = clip_by_global_norm(&mut grads, self.cfg.max_grad_norm);
        let lr = self.cfg.lr_schedule.at(self.cfg.lr, progress);
        let mut params = self.net.flat_params();
        self.opt.step(&mut params, &grads, lr);
        self.net.set_flat_params(&params);
        UpdateStats(vec![
            ("policy_loss", loss.policy_term),
            ("value_loss", loss.value_term),
            ("entropy", loss.entropy),
            ("grad_norm", grad_norm),
            ("lr", lr),
        ])
    }

    fn pipeline_mut(&mut self) -> &mut Pipeline {
        &mut self.pipeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::ActionSpace;
    use crate::nets::{Activation, ActorCriticConfig, Init, ParamTensor, ValueInput};
    use rand::SeedableRng;

    #[test]
    fn the_value_term_back_propagates_with_its_coefficient() {
        // d/db of c mean((V - y)^2) for the value head's bias b is 2 c mean(V - y).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let cfg = ActorCriticConfig {
            shared: false,
            policy_activation: Activation::Tanh,
            value_activation: Activation::Elu,
            init: Init::Orthogonal,
            value_input: ValueInput::Observation,
        };
        let net = ActorCritic::<64>::new(3, &ActionSpace::Discrete { n: 2 }, cfg, &mut rng);
        let obs: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
        let actions = [0.0, 1.0, 1.0, 0.0];
        let y = [5.0, -3.0, 2.0, 7.0];
        for c in [0.5f64, 1.0, -2.0] {
            let mut loss = weighted_loss(
                &net,
                &obs,
                None,
                &ActionBatch::Discrete(&actions),
                Parts::ALL,
                &[0.0; 4],
                0.0,
                c,
                ValueTarget::Fixed(&y),
                None,
            );
            let v = net.values(&obs, &[0; 4], 4);
            let expected = 2.0 * c * v.iter().zip(&y).map(|(v, y)| f64::from(v - y)).sum::<f64>() / 4.0;
            let g = net.value.bias.grad(&mut loss.grads)[0];
            assert!((f64::from(g) - expected).abs() < 1e-4 * expected.abs().max(1.0), "c {c}: grad {g} vs {expected}");
        }
    }
}
