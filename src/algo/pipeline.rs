//! What happens to data between the environment and the networks, as openai/baselines'
//! continuous-control ACKTR does it (the code the paper released, at commit c6c0f45:
//! `baselines/acktr/acktr_cont.py`, `baselines/common/filters.py`,
//! `baselines/common/running_stat.py`):
//!
//! 1. **Observation filter** (`acktr_cont.py` l. 51, 18, 39: `ZFilter(ob_shape)` applied to
//!    every observation the environment returns, reset and terminal ones included, updating
//!    its statistics each time): `y = clip((x - mean) / (std + 1e-8), -10, 10)` with a
//!    running mean and standard deviation in float64 (`RunningStat`, Welford's update;
//!    `var = S / (n - 1)`, and `mean^2` while `n = 1`).
//! 2. **Previous observation** (`acktr_cont.py` l. 17, 29, 35): the policy's input is
//!    `[y_t, y_{t-1}]`, with `y_{-1} = 0` at the start of every episode.
//! 3. **Action mapping** (`acktr_cont.py` l. 36-37): the policy's sample `a` is mapped from
//!    [-1, 1] to the action space's bounds and clipped there,
//!    `clip(low + (a + 1) (high - low) / 2, low, high)`; the rollout keeps `a` itself for the
//!    log-probabilities. Rewards are the environment's own: nothing here touches them.
//! 4. **Batches of whole episodes** (`acktr_cont.py` l. 83-92): paths are collected until the
//!    batch holds *more than* `steps_per_update` timesteps, one environment copy.
//!
//! The filter's state belongs to the algorithm that owns this [`Pipeline`] (it is part of
//! what a checkpoint must save). With the default configuration every stage is off and the
//! network sees the environment's observation as float32, as A2C/ACKTR on Atari do.

use serde::{Deserialize, Serialize};

use crate::env::{Action, ActionSpace, Observation, ObservationSpace};

/// The observation filter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ObservationFilter {
    /// The observation as the environment returns it.
    #[default]
    None,
    /// baselines `common/filters.py::ZFilter` (demean, destd, `clip` 10).
    ZFilter { clip: f64 },
}

/// How the policy's continuous sample becomes the environment's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ActionMap {
    /// The raw sample (the environment applies it as given; Gymnasium's MuJoCo tasks
    /// charge their control cost on it).
    #[default]
    Raw,
    /// `clip(low + (a + 1) (high - low) / 2, low, high)` (baselines `acktr_cont.py` l. 36-37).
    UnitBox,
}

/// How a batch is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BatchLayout {
    /// `num_envs` copies x `steps_per_update` consecutive steps (baselines `a2c/runner.py`).
    #[default]
    Steps,
    /// Whole episodes of one copy until the batch holds more than `steps_per_update`
    /// timesteps (baselines `acktr_cont.py` l. 83-92).
    WholeEpisodes,
}

/// The data pipeline's configuration (part of an algorithm's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// `none` or `{z_filter: {clip}}`.
    #[serde(with = "serde_yaml::with::singleton_map")]
    pub observation_filter: ObservationFilter,
    /// Append the previous (filtered) observation to the policy's input.
    pub previous_observation: bool,
    pub action_map: ActionMap,
    pub batch: BatchLayout,
}

impl PipelineConfig {
    /// The baselines continuous-control pipeline (`acktr_cont.py`): ZFilter (clip 10),
    /// previous observation, [-1, 1] action box, whole-episode batches.
    pub fn baselines_mujoco() -> Self {
        Self {
            observation_filter: ObservationFilter::ZFilter { clip: 10.0 },
            previous_observation: true,
            action_map: ActionMap::UnitBox,
            batch: BatchLayout::WholeEpisodes,
        }
    }

    /// Number of network inputs per row for an environment's observation space.
    pub fn input_dim(&self, space: &ObservationSpace) -> usize {
        space.flat_dim() * if self.previous_observation { 2 } else { 1 }
    }

    /// Whether this pipeline can run on `space` (filters and the previous observation need
    /// vector observations).
    pub fn supports(&self, space: &ObservationSpace) -> bool {
        matches!(space, ObservationSpace::Vector { .. })
            || (self.observation_filter == ObservationFilter::None && !self.previous_observation)
    }
}

/// Running mean and variance of vectors (baselines `common/running_stat.py`, after
/// johndcook.com's Welford update), float64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningStat {
    n: u64,
    mean: Vec<f64>,
    s: Vec<f64>,
}

impl RunningStat {
    /// Empty statistics of `dim`-vectors.
    pub fn new(dim: usize) -> Self {
        Self { n: 0, mean: vec![0.0; dim], s: vec![0.0; dim] }
    }

    /// Adds one vector.
    pub fn push(&mut self, x: &[f64]) {
        self.n += 1;
        if self.n == 1 {
            self.mean.copy_from_slice(x);
        } else {
            let n = self.n as f64;
            for ((m, s), &x) in self.mean.iter_mut().zip(self.s.iter_mut()).zip(x) {
                let old = *m;
                *m = old + (x - old) / n;
                *s += (x - old) * (x - *m);
            }
        }
    }

    /// Vectors seen.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The running mean.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// `S / (n - 1)`, or `mean^2` while fewer than two vectors were seen (as baselines).
    pub fn var(&self, i: usize) -> f64 {
        if self.n > 1 {
            self.s[i] / (self.n - 1) as f64
        } else {
            self.mean[i] * self.mean[i]
        }
    }
}

/// What a [`Pipeline`] carries from step to step (a checkpoint's part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineState {
    stat: RunningStat,
    previous: Vec<Vec<f32>>,
}

/// The pipeline's state: the filter's statistics and each copy's previous observation.
#[derive(Debug, Clone)]
pub struct Pipeline {
    cfg: PipelineConfig,
    raw_dim: usize,
    stat: RunningStat,
    previous: Vec<Vec<f32>>,
    actions: ActionSpace,
}

impl Pipeline {
    /// A fresh pipeline for the given spaces.
    pub fn new(cfg: PipelineConfig, obs: &ObservationSpace, actions: &ActionSpace) -> Self {
        let raw_dim = obs.flat_dim();
        Self { cfg, raw_dim, stat: RunningStat::new(raw_dim), previous: Vec::new(), actions: actions.clone() }
    }

    /// The filter's statistics and previous observations, to continue from.
    pub fn state(&self) -> PipelineState {
        PipelineState { stat: self.stat.clone(), previous: self.previous.clone() }
    }

    /// Continues from a [`Self::state`].
    pub fn restore(&mut self, s: PipelineState) {
        self.stat = s.stat;
        self.previous = s.previous;
    }

    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.cfg
    }

    /// The filter's statistics.
    pub fn filter_stat(&self) -> &RunningStat {
        &self.stat
    }

    /// Network inputs per row.
    pub fn input_dim(&self) -> usize {
        self.raw_dim * if self.cfg.previous_observation { 2 } else { 1 }
    }

    fn filtered(&mut self, obs: &Observation) -> Vec<f32> {
        match (self.cfg.observation_filter, obs.as_vector()) {
            (ObservationFilter::ZFilter { clip }, Some(x)) => {
                self.stat.push(x);
                x.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let y = (v - self.stat.mean[i]) / (self.stat.var(i).sqrt() + 1e-8);
                        y.clamp(-clip, clip) as f32
                    })
                    .collect()
            }
            _ => {
                let mut out = vec![0.0; self.raw_dim];
                obs.write_f32(&mut out);
                out
            }
        }
    }

    /// The network's input for copy `copy`'s current observation, into `out`
    /// (`input_dim` long). `episode_start` marks the first observation of an episode.
    /// Updates the filter.
    pub fn observe(&mut self, copy: usize, obs: &Observation, episode_start: bool, out: &mut [f32]) {
        let y = self.filtered(obs);
        out[..self.raw_dim].copy_from_slice(&y);
        if self.cfg.previous_observation {
            if self.previous.len() <= copy {
                self.previous.resize(copy + 1, vec![0.0; self.raw_dim]);
            }
            let prev = &mut self.previous[copy];
            if episode_start {
                prev.iter_mut().for_each(|x| *x = 0.0);
            }
            out[self.raw_dim..].copy_from_slice(prev);
            *prev = y;
        }
    }

    /// The network's input for the last observation of an episode that just ended (for
    /// bootstrapping a truncated episode). Updates the filter, as baselines filters every
    /// observation the environment returns; the copy's previous observation is left for
    /// the next episode's start to clear.
    pub fn observe_final(&mut self, copy: usize, obs: &Observation) -> Vec<f32> {
        let y = self.filtered(obs);
        let mut out = y;
        if self.cfg.previous_observation {
            let prev = self.previous.get(copy).cloned().unwrap_or_else(|| vec![0.0; self.raw_dim]);
            out.extend_from_slice(&prev);
        }
        out
    }

    /// The environment's actions for the policy's samples.
    pub fn env_actions(&self, actions: Vec<Action>) -> Vec<Action> {
        match (self.cfg.action_map, &self.actions) {
            (ActionMap::UnitBox, ActionSpace::Continuous { low, high, .. }) => actions
                .into_iter()
                .map(|a| match a {
                    Action::Continuous(v) => Action::Continuous(
                        v.iter()
                            .zip(low.iter().zip(high))
                            .map(|(&x, (&lo, &hi))| (lo + (x + 1.0) * 0.5 * (hi - lo)).clamp(lo, hi))
                            .collect(),
                    ),
                    other => other,
                })
                .collect(),
            _ => actions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_stat_matches_numpy_mean_and_sample_variance() {
        let xs = [[1.0, -2.0], [3.0, 0.5], [-4.0, 2.0], [0.25, 7.0]];
        let mut rs = RunningStat::new(2);
        rs.push(&xs[0]);
        // One sample: var = mean^2 (running_stat.py).
        assert_eq!(rs.var(0), 1.0);
        assert_eq!(rs.var(1), 4.0);
        for x in &xs[1..] {
            rs.push(x);
        }
        for j in 0..2 {
            let m = xs.iter().map(|x| x[j]).sum::<f64>() / 4.0;
            let v = xs.iter().map(|x| (x[j] - m).powi(2)).sum::<f64>() / 3.0;
            assert!((rs.mean()[j] - m).abs() < 1e-12 && (rs.var(j) - v).abs() < 1e-12);
        }
    }

    #[test]
    fn zfilter_with_previous_observation_matches_the_reference_loop() {
        // acktr_cont.py: ob = filter(reset); state = [ob, 0]; prev = ob; ob = filter(step) ...
        let cfg = PipelineConfig { observation_filter: ObservationFilter::ZFilter { clip: 1.0 }, previous_observation: true, ..Default::default() };
        let space = ObservationSpace::Vector { dim: 1 };
        let mut p = Pipeline::new(cfg, &space, &ActionSpace::Discrete { n: 2 });
        let mut out = [0.0f32; 2];
        p.observe(0, &Observation::Vector(vec![2.0]), true, &mut out);
        // First observation: (2 - 2) / (|2| + 1e-8) = 0.
        assert_eq!(out, [0.0, 0.0]);
        p.observe(0, &Observation::Vector(vec![4.0]), false, &mut out);
        // mean 3, var (2 - 3)^2 + (4 - 3)^2 = 2 -> std sqrt 2; (4 - 3) / sqrt 2.
        let y1 = (1.0 / 2f64.sqrt()) as f32;
        assert!((out[0] - y1).abs() < 1e-6 && out[1] == 0.0);
        // mean 106/3, sample std ~56.0: z ~1.155, clipped to 1.
        p.observe(0, &Observation::Vector(vec![100.0]), false, &mut out);
        assert_eq!(out[0], 1.0, "clipped");
        assert!((out[1] - y1).abs() < 1e-6, "previous filtered observation");
        // A new episode clears the previous observation.
        p.observe(0, &Observation::Vector(vec![3.0]), true, &mut out);
        assert_eq!(out[1], 0.0);
        assert_eq!(p.filter_stat().count(), 4);
    }

    #[test]
    fn unit_box_maps_and_clips_to_the_bounds() {
        let space = ActionSpace::Continuous { dim: 2, low: vec![-2.0, 0.0], high: vec![2.0, 1.0] };
        let cfg = PipelineConfig { action_map: ActionMap::UnitBox, ..Default::default() };
        let p = Pipeline::new(cfg, &ObservationSpace::Vector { dim: 1 }, &space);
        let a = p.env_actions(vec![Action::Continuous(vec![0.5, 3.0]), Action::Continuous(vec![-1.5, -1.0])]);
        assert_eq!(a, vec![Action::Continuous(vec![1.0, 1.0]), Action::Continuous(vec![-2.0, 0.0])]);
        // Raw leaves the sample alone.
        let p = Pipeline::new(PipelineConfig::default(), &ObservationSpace::Vector { dim: 1 }, &space);
        assert_eq!(p.env_actions(vec![Action::Continuous(vec![3.0, -7.0])]), vec![Action::Continuous(vec![3.0, -7.0])]);
    }
}
