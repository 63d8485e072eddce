//! The one rollout loop every algorithm shares (stable-baselines3's `OnPolicyAlgorithm`
//! shape): step N environment copies for T steps with the current policy, store what
//! happened, and hand the batch to the algorithm's update.
//!
//! Storage is row-major with row `t * num_envs + e`; observations are float32 vectors of
//! the space's `flat_dim` (stacked frames are stored scaled to [0, 1], see
//! [`crate::env::Observation::write_f32`]).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::{AlgoError, Algorithm};
use crate::env::{ActionSpace, VecEnv};
use crate::nets::{ActionBatch, DistParams};

/// One batch of experience: `steps` steps of `num_envs` copies.
#[derive(Debug, Clone, Default)]
pub struct Rollout {
    pub num_envs: usize,
    pub steps: usize,
    /// Network inputs per row (after the algorithm's [`super::pipeline::Pipeline`]).
    pub obs_dim: usize,
    pub act_dim: usize,
    /// The network's input for `s_t`, `steps * num_envs * obs_dim`.
    pub obs: Vec<f32>,
    /// `a_t` as the policy sampled it (index for discrete actions; before any action
    /// mapping), `steps * num_envs * act_dim`.
    pub actions: Vec<f32>,
    /// `r_t`, the environment's own reward.
    pub rewards: Vec<f32>,
    /// The episode reached a terminal state at step t.
    pub terminated: Vec<bool>,
    /// The episode was cut by the time limit at step t.
    pub truncated: Vec<bool>,
    /// Index of `s_t` within its episode.
    pub episode_steps: Vec<u32>,
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
    /// A batch of random data of the right shapes (for benchmarks and tests of an update):
    /// observations uniform in [0, 1), valid random actions, rewards in [-1, 1), an episode
    /// end every 1000 steps, and, for continuous actions, a recorded acting distribution.
    pub fn synthetic(rng: &mut impl Rng, num_envs: usize, steps: usize, obs_dim: usize, actions: &ActionSpace) -> Self {
        let rows = num_envs * steps;
        let act_dim = actions.stored_dim();
        let stored: Vec<f32> = match actions {
            ActionSpace::Discrete { n } => (0..rows).map(|_| rng.gen_range(0..*n) as f32).collect(),
            ActionSpace::Continuous { dim, .. } => (0..rows * dim).map(|_| rng.sample(StandardNormal)).collect(),
        };
        let dist = match actions {
            ActionSpace::Discrete { .. } => None,
            ActionSpace::Continuous { dim, .. } => Some(DistParams::Gaussian {
                mean: (0..rows * dim).map(|_| rng.sample::<f32, _>(StandardNormal) * 0.1).collect(),
                log_std: vec![0.0; *dim],
            }),
        };
        Rollout {
            num_envs,
            steps,
            obs_dim,
            act_dim,
            obs: (0..rows * obs_dim).map(|_| rng.gen::<f32>()).collect(),
            actions: stored,
            rewards: (0..rows).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            terminated: (0..rows).map(|i| (i / num_envs) % 1000 == 999).collect(),
            truncated: vec![false; rows],
            values: (0..rows).map(|_| rng.sample(StandardNormal)).collect(),
            truncation_values: vec![0.0; rows],
            episode_steps: (0..rows).map(|i| ((i / num_envs) % 1000) as u32).collect(),
            last_values: vec![0.0; num_envs],
            dist,
        }
    }

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
    /// What the learner saw of the same episode (Atari: clipped rewards; else `ret`).
    pub learner_return: f64,
}

/// What a [`Collector`] carries between batches (a checkpoint's part).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CollectorState {
    venv: crate::env::vec::VecEnvSnapshot,
    obs: Vec<f32>,
    episode_steps: Vec<u32>,
    rng: ChaCha8Rng,
    global_step: u64,
}

impl CollectorState {
    /// Timesteps taken when the state was saved.
    pub fn global_step(&self) -> u64 {
        self.global_step
    }
}

/// Steps a [`VecEnv`] with an algorithm's policy, through its pipeline, and fills
/// [`Rollout`]s.
pub struct Collector {
    venv: VecEnv,
    /// The network's input for every copy's current observation (empty until the first
    /// collection passes the first observations through the pipeline).
    obs: Vec<f32>,
    episode_steps: Vec<u32>,
    act_dim: usize,
    rng: ChaCha8Rng,
    global_step: u64,
    /// A used batch whose buffers the next collection refills ([`Self::recycle`]).
    spare: Option<Rollout>,
}

/// `v` emptied, its capacity kept.
fn emptied<T>(mut v: Vec<T>) -> Vec<T> {
    v.clear();
    v
}

impl Collector {
    /// Wraps `venv`; actions are sampled from `rng`.
    pub fn new(venv: VecEnv, rng: ChaCha8Rng) -> Self {
        let act_dim = venv.action_space().stored_dim();
        let n = venv.len();
        Self { obs: Vec::new(), episode_steps: vec![0; n], venv, act_dim, rng, global_step: 0, spare: None }
    }

    /// The environments' and the sampler's state, to continue from.
    pub fn state(&self) -> CollectorState {
        CollectorState {
            venv: self.venv.snapshot(),
            obs: self.obs.clone(),
            episode_steps: self.episode_steps.clone(),
            rng: self.rng.clone(),
            global_step: self.global_step,
        }
    }

    /// Continues from a [`Self::state`] of a collector over the same environments.
    pub fn restore(&mut self, s: &CollectorState) -> Result<(), AlgoError> {
        self.venv.restore(&s.venv)?;
        self.obs = s.obs.clone();
        self.episode_steps = s.episode_steps.clone();
        self.rng = s.rng.clone();
        self.global_step = s.global_step;
        Ok(())
    }

    /// Timesteps taken so far (all copies).
    pub fn global_step(&self) -> u64 {
        self.global_step
    }

    /// The environments.
    pub fn venv(&self) -> &VecEnv {
        &self.venv
    }

    /// Hands back a batch this collector made, once the update is done with it: the next
    /// collection writes into its buffers instead of allocating (and page-faulting in) new
    /// ones. Optional; the batches are the same either way.
    pub fn recycle(&mut self, used: Rollout) {
        self.spare = Some(used);
    }

    /// Runs `steps` steps of every copy with `algo`'s policy; returns the batch and the
    /// episodes that ended meanwhile.
    pub fn collect(&mut self, algo: &mut dyn Algorithm, steps: usize) -> Result<(Rollout, Vec<EpisodeEvent>), AlgoError> {
        self.run(algo, steps, |t, _| t >= steps)
    }

    /// Runs whole episodes of the one copy until the batch holds more than `min_steps`
    /// timesteps (baselines `acktr/acktr_cont.py` l. 83-92).
    pub fn collect_episodes(&mut self, algo: &mut dyn Algorithm, min_steps: usize) -> Result<(Rollout, Vec<EpisodeEvent>), AlgoError> {
        assert_eq!(self.venv.len(), 1, "whole-episode batches run one environment copy");
        self.run(algo, min_steps + 1, |t, episode_ended| t > min_steps && episode_ended)
    }

    /// Steps until `done(steps taken, the last step ended an episode of copy 0)`; the batch's
    /// buffers are sized for `expected` steps up front (an Atari batch of 640 frames is 72 MB
    /// of observations: grown by doubling, it was copied and page-faulted in again every
    /// update).
    fn run(&mut self, algo: &mut dyn Algorithm, expected: usize, done: impl Fn(usize, bool) -> bool) -> Result<(Rollout, Vec<EpisodeEvent>), AlgoError> {
        let n = self.venv.len();
        let obs_dim = algo.pipeline_mut().input_dim();
        if self.obs.is_empty() {
            self.obs = vec![0.0; n * obs_dim];
            let pipeline = algo.pipeline_mut();
            for (e, (o, row)) in self.venv.observations().iter().zip(self.obs.chunks_mut(obs_dim)).enumerate() {
                pipeline.observe(e, o, true, row);
            }
        }
        let mut r = Rollout::reusing(self.spare.take().unwrap_or_default(), n, obs_dim, self.act_dim, expected);
        let mut episodes = Vec::new();
        let mut t = 0;
        loop {
            let (dist, values) = algo.policy().act(&self.obs, &self.episode_steps, n)?;
            let (actions, stored) = dist.sample(&mut self.rng);
            match &mut r.dist {
                None => r.dist = Some(dist),
                Some(all) => all.extend(&dist),
            }
            r.obs.extend_from_slice(&self.obs);
            r.actions.extend_from_slice(&stored);
            r.values.extend_from_slice(&values);
            r.episode_steps.extend_from_slice(&self.episode_steps);
            let actions = algo.pipeline_mut().env_actions(actions);
            let step = self.venv.step(&actions)?;
            self.global_step += n as u64;
            r.rewards.extend(step.rewards.iter().map(|&x| x as f32));
            r.terminated.extend_from_slice(&step.terminated);
            r.truncated.extend_from_slice(&step.truncated);
            r.truncation_values.extend(std::iter::repeat(0.0).take(n));
            self.value_truncations(algo, &step, &mut r.truncation_values[t * n..])?;
            let mut first_ended = false;
            for ep in step.episodes {
                first_ended |= ep.env_index == 0;
                episodes.push(EpisodeEvent {
                    global_step: self.global_step,
                    env_index: ep.env_index,
                    ret: ep.ret,
                    length: ep.length,
                    learner_return: ep.learner_return,
                });
            }
            let pipeline = algo.pipeline_mut();
            for (e, (o, row)) in self.venv.observations().iter().zip(self.obs.chunks_mut(obs_dim)).enumerate() {
                let start = step.final_obs[e].is_some();
                self.episode_steps[e] = if start { 0 } else { self.episode_steps[e] + 1 };
                pipeline.observe(e, o, start, row);
            }
            t += 1;
            if done(t, first_ended) {
                break;
            }
        }
        r.steps = t;
        r.last_values = algo.policy().values(&self.obs, &self.episode_steps, n)?;
        Ok((r, episodes))
    }

    /// The last observation of each episode that ended in this step goes through the
    /// pipeline (the filter sees every observation); a truncated one is valued for
    /// bootstrapping, into `values[e]` (the step's row of copy `e`).
    fn value_truncations(&mut self, algo: &mut dyn Algorithm, step: &crate::env::VecStep, values: &mut [f32]) -> Result<(), AlgoError> {
        let mut final_obs = Vec::new();
        let mut final_steps = Vec::new();
        let mut final_rows = Vec::new();
        for (e, fo) in step.final_obs.iter().enumerate() {
            if let Some(o) = fo {
                let input = algo.pipeline_mut().observe_final(e, o);
                if step.truncated[e] {
                    final_obs.extend_from_slice(&input);
                    final_steps.push(self.episode_steps[e] + 1);
                    final_rows.push(e);
                }
            }
        }
        if !final_rows.is_empty() {
            let v = algo.policy().values(&final_obs, &final_steps, final_rows.len())?;
            for (row, v) in final_rows.iter().zip(v) {
                values[*row] = v;
            }
        }
        Ok(())
    }
}

impl Rollout {
    /// An empty batch of `n` copies for `steps` steps, in the buffers of a used one (their
    /// capacity kept, reserved up front for the observations, actions and values).
    fn reusing(spare: Rollout, n: usize, obs_dim: usize, act_dim: usize, steps: usize) -> Rollout {
        let rows = steps * n;
        let buffer = |v: Vec<f32>, len: usize| {
            let mut v = emptied(v);
            v.reserve(len);
            v
        };
        Rollout {
            num_envs: n,
            steps: 0,
            obs_dim,
            act_dim,
            obs: buffer(spare.obs, rows * obs_dim),
            actions: buffer(spare.actions, rows * act_dim),
            rewards: buffer(spare.rewards, rows),
            terminated: emptied(spare.terminated),
            truncated: emptied(spare.truncated),
            episode_steps: emptied(spare.episode_steps),
            values: buffer(spare.values, rows),
            truncation_values: buffer(spare.truncation_values, rows),
            last_values: Vec::new(),
            dist: None,
        }
    }
}
