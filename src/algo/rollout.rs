//! The one rollout loop every algorithm shares (stable-baselines3's `OnPolicyAlgorithm`
//! shape): step N environment copies for T steps with the current policy, store what
//! happened, and hand the batch to the algorithm's update.
//!
//! Storage is row-major with row `t * num_envs + e`; observations are float32 vectors of
//! the space's `flat_dim` (stacked frames are stored scaled to [0, 1], see
//! [`crate::env::Observation::write_f32`]).

use rand_chacha::ChaCha8Rng;

use crate::env::{EnvError, VecEnv};
use crate::nets::{ActionBatch, DistParams};

/// What an algorithm exposes to the rollout loop: acting and valuing (no tape).
pub trait Policy {
    /// Distribution parameters and value estimates for `rows` observations.
    fn act(&self, obs: &[f32], rows: usize) -> (DistParams, Vec<f32>);
    /// Value estimates for `rows` observations.
    fn values(&self, obs: &[f32], rows: usize) -> Vec<f32>;
}

/// One batch of experience: `steps` steps of `num_envs` copies.
#[derive(Debug, Clone, Default)]
pub struct Rollout {
    pub num_envs: usize,
    pub steps: usize,
    pub obs_dim: usize,
    pub act_dim: usize,
    /// `s_t`, `steps * num_envs * obs_dim`.
    pub obs: Vec<f32>,
    /// `a_t` as stored (index for discrete actions), `steps * num_envs * act_dim`.
    pub actions: Vec<f32>,
    /// `r_t`.
    pub rewards: Vec<f32>,
    /// The episode reached a terminal state at step t.
    pub terminated: Vec<bool>,
    /// The episode was cut by the time limit at step t.
    pub truncated: Vec<bool>,
    /// `V(s_t)` when the step was taken.
    pub values: Vec<f32>,
    /// `V(s_{t+1})` of the last observation of a truncated episode (0 elsewhere).
    pub truncation_values: Vec<f32>,
    /// `V(s_T)` for each copy, to bootstrap the returns.
    pub last_values: Vec<f32>,
    /// The policy's distribution at every row when the step was taken (the "old" policy
    /// of this batch), if the collector kept it.
    pub dist: Option<DistParams>,
}

impl Rollout {
    /// Number of rows (`steps * num_envs`).
    pub fn len(&self) -> usize {
        self.steps * self.num_envs
    }

    /// True when the rollout holds no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The actions as the network's loss wants them.
    pub fn action_batch(&self, discrete: bool) -> ActionBatch<'_> {
        if discrete {
            ActionBatch::Discrete(&self.actions)
        } else {
            ActionBatch::Continuous { values: &self.actions, dim: self.act_dim }
        }
    }
}

/// A finished episode with the global timestep at which it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeEvent {
    pub global_step: u64,
    pub env_index: usize,
    pub ret: f64,
    pub length: usize,
}

/// Steps a [`VecEnv`] with a policy and fills [`Rollout`]s.
pub struct Collector {
    venv: VecEnv,
    obs: Vec<f32>,
    obs_dim: usize,
    act_dim: usize,
    rng: ChaCha8Rng,
    global_step: u64,
}

impl Collector {
    /// Wraps `venv`; actions are sampled from `rng`.
    pub fn new(venv: VecEnv, rng: ChaCha8Rng) -> Self {
        let obs_dim = venv.observation_space().flat_dim();
        let act_dim = venv.action_space().stored_dim();
        let mut c = Self { obs: vec![0.0; venv.len() * obs_dim], venv, obs_dim, act_dim, rng, global_step: 0 };
        c.refresh_obs();
        c
    }

    fn refresh_obs(&mut self) {
        for (o, row) in self.venv.observations().iter().zip(self.obs.chunks_mut(self.obs_dim)) {
            o.write_f32(row);
        }
    }

    /// Timesteps taken so far (all copies).
    pub fn global_step(&self) -> u64 {
        self.global_step
    }

    /// The environments.
    pub fn venv(&self) -> &VecEnv {
        &self.venv
    }

    /// Runs `steps` steps of every copy with `policy`; returns the batch and the episodes
    /// that ended meanwhile.
    pub fn collect(&mut self, policy: &dyn Policy, steps: usize) -> Result<(Rollout, Vec<EpisodeEvent>), EnvError> {
        let n = self.venv.len();
        let rows = steps * n;
        let mut r = Rollout {
            num_envs: n,
            steps,
            obs_dim: self.obs_dim,
            act_dim: self.act_dim,
            obs: Vec::with_capacity(rows * self.obs_dim),
            actions: Vec::with_capacity(rows * self.act_dim),
            rewards: Vec::with_capacity(rows),
            terminated: Vec::with_capacity(rows),
            truncated: Vec::with_capacity(rows),
            values: Vec::with_capacity(rows),
            truncation_values: vec![0.0; rows],
            last_values: Vec::new(),
            dist: None,
        };
        let mut episodes = Vec::new();
        let mut final_rows = Vec::new();
        for t in 0..steps {
            let (dist, values) = policy.act(&self.obs, n);
            let (actions, stored) = dist.sample(&mut self.rng);
            match &mut r.dist {
                None => r.dist = Some(dist),
                Some(all) => all.extend(&dist),
            }
            r.obs.extend_from_slice(&self.obs);
            r.actions.extend_from_slice(&stored);
            r.values.extend_from_slice(&values);
            let step = self.venv.step(&actions)?;
            self.global_step += n as u64;
            r.rewards.extend(step.rewards.iter().map(|&x| x as f32));
            r.terminated.extend_from_slice(&step.terminated);
            r.truncated.extend_from_slice(&step.truncated);
            // Bootstrap values for truncated episodes, from their last observation.
            final_rows.clear();
            let mut final_obs = Vec::new();
            for (e, fo) in step.final_obs.iter().enumerate() {
                if let (Some(o), true) = (fo, step.truncated[e]) {
                    let mut row = vec![0.0; self.obs_dim];
                    o.write_f32(&mut row);
                    final_obs.extend_from_slice(&row);
                    final_rows.push(t * n + e);
                }
            }
            if !final_rows.is_empty() {
                let v = policy.values(&final_obs, final_rows.len());
                for (row, v) in final_rows.iter().zip(v) {
                    r.truncation_values[*row] = v;
                }
            }
            for ep in step.episodes {
                episodes.push(EpisodeEvent {
                    global_step: self.global_step,
                    env_index: ep.env_index,
                    ret: ep.ret,
                    length: ep.length,
                });
            }
            self.refresh_obs();
        }
        r.last_values = policy.values(&self.obs, n);
        Ok((r, episodes))
    }
}
