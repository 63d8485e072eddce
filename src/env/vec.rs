//! N copies of one environment stepped in lockstep, resetting a copy as soon as its episode
//! ends, as openai/baselines' `SubprocVecEnv`/`DummyVecEnv` do (the observation returned for
//! a finished copy is the first one of its next episode; the last observation of the
//! finished episode is kept in [`VecStep::final_obs`] for bootstrapping on truncation).
//!
//! Copy `i` draws its reset noise from its own stream seeded from `(seed, i)`, so a run is a
//! pure function of the seed.

use rand::SeedableRng;

use super::{Action, ActionSpace, Env, EnvError, EnvRng, EnvSnapshot, Observation, ObservationSpace};

/// Every copy's full state, its reset stream, current observation and running episode
/// (a checkpoint's part).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VecEnvSnapshot {
    envs: Vec<EnvSnapshot>,
    rngs: Vec<EnvRng>,
    obs: Vec<Observation>,
    ep_return: Vec<f64>,
    ep_length: Vec<usize>,
}

/// One finished episode (what `episodes.parquet` records).
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeRecord {
    /// Which copy it ran in.
    pub env_index: usize,
    /// Undiscounted sum of the environment's rewards; for Atari the unclipped score of a
    /// whole game (all lives), as baselines' `Monitor` records it.
    pub ret: f64,
    /// Number of steps (Atari: agent steps of the game, those inside resets included, as
    /// `Monitor` counts them).
    pub length: usize,
    /// The sum of the rewards the learner saw over the same episode (Atari: clipped, over
    /// the game's lives; elsewhere equal to `ret`).
    pub learner_return: f64,
}

impl EpisodeRecord {
    /// A whole game of copy `env_index`, as the environment reported it.
    fn game(env_index: usize, g: super::GameEnd) -> Self {
        Self { env_index, ret: g.score, length: g.steps, learner_return: g.learner_return }
    }
}

/// The result of stepping all copies once.
#[derive(Debug, Clone)]
pub struct VecStep {
    /// Rewards, one per copy.
    pub rewards: Vec<f64>,
    /// `terminated` flags.
    pub terminated: Vec<bool>,
    /// `truncated` flags (time limit), false where `terminated` is true.
    pub truncated: Vec<bool>,
    /// For each copy whose episode just ended: its last observation before the reset.
    pub final_obs: Vec<Option<Observation>>,
    /// Episodes that ended on this step.
    pub episodes: Vec<EpisodeRecord>,
}

/// A vector of environment copies.
pub struct VecEnv {
    envs: Vec<Box<dyn Env>>,
    rngs: Vec<EnvRng>,
    obs: Vec<Observation>,
    ep_return: Vec<f64>,
    ep_length: Vec<usize>,
}

impl VecEnv {
    /// Builds `n` copies with `make` and resets them, copy `i` seeded from `(seed, i)`.
    pub fn new(
        n: usize,
        seed: u64,
        mut make: impl FnMut() -> Result<Box<dyn Env>, EnvError>,
    ) -> Result<Self, EnvError> {
        let mut envs = Vec::with_capacity(n);
        let mut rngs = Vec::with_capacity(n);
        let mut obs = Vec::with_capacity(n);
        for i in 0..n {
            let mut env = make()?;
            let mut rng = EnvRng::seed_from_u64(seed);
            rng.set_stream(i as u64 + 1);
            obs.push(env.reset(&mut rng));
            envs.push(env);
            rngs.push(rng);
        }
        Ok(Self { envs, rngs, obs, ep_return: vec![0.0; n], ep_length: vec![0; n] })
    }

    /// Number of copies.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// True when there are no copies.
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// Observation space shared by all copies.
    pub fn observation_space(&self) -> ObservationSpace {
        self.envs[0].observation_space()
    }

    /// Action space shared by all copies.
    pub fn action_space(&self) -> ActionSpace {
        self.envs[0].action_space()
    }

    /// Current observation of every copy.
    pub fn observations(&self) -> &[Observation] {
        &self.obs
    }

    /// The state of every copy, to continue exactly from it.
    pub fn snapshot(&self) -> VecEnvSnapshot {
        VecEnvSnapshot {
            envs: self.envs.iter().map(|e| e.snapshot()).collect(),
            rngs: self.rngs.clone(),
            obs: self.obs.clone(),
            ep_return: self.ep_return.clone(),
            ep_length: self.ep_length.clone(),
        }
    }

    /// Continues from a [`Self::snapshot`] of copies of the same environment.
    pub fn restore(&mut self, s: &VecEnvSnapshot) -> Result<(), EnvError> {
        let n = self.envs.len();
        if [s.envs.len(), s.rngs.len(), s.obs.len(), s.ep_return.len(), s.ep_length.len()].iter().any(|&k| k != n) {
            return Err(super::bad_snapshot(self.envs[0].id(), &format!("a checkpoint of {} copies, not {n}", s.envs.len())));
        }
        for (e, snap) in self.envs.iter_mut().zip(&s.envs) {
            e.restore(snap)?;
        }
        self.rngs = s.rngs.clone();
        self.obs = s.obs.clone();
        self.ep_return = s.ep_return.clone();
        self.ep_length = s.ep_length.clone();
        Ok(())
    }

    /// Steps every copy with its action; resets the copies whose episode ended.
    pub fn step(&mut self, actions: &[Action]) -> Result<VecStep, EnvError> {
        let n = self.envs.len();
        let mut out = VecStep {
            rewards: Vec::with_capacity(n),
            terminated: Vec::with_capacity(n),
            truncated: Vec::with_capacity(n),
            final_obs: Vec::with_capacity(n),
            episodes: Vec::new(),
        };
        for (i, action) in actions.iter().enumerate() {
            let step = self.envs[i].step(action)?;
            self.ep_return[i] += step.reward;
            self.ep_length[i] += 1;
            let done = step.terminated || step.truncated;
            out.rewards.push(step.reward);
            out.terminated.push(step.terminated);
            out.truncated.push(step.truncated && !step.terminated);
            let games = self.envs[i].reports_games();
            if games {
                out.episodes.extend(self.envs[i].take_game_end().map(|g| EpisodeRecord::game(i, g)));
            }
            if done {
                if !games {
                    out.episodes.push(EpisodeRecord {
                        env_index: i,
                        ret: self.ep_return[i],
                        length: self.ep_length[i],
                        learner_return: self.ep_return[i],
                    });
                }
                self.ep_return[i] = 0.0;
                self.ep_length[i] = 0;
                self.obs[i] = self.envs[i].reset(&mut self.rngs[i]);
                if games {
                    // A game can end inside a reset too (FireReset's steps).
                    out.episodes.extend(self.envs[i].take_game_end().map(|g| EpisodeRecord::game(i, g)));
                }
                out.final_obs.push(Some(step.obs));
            } else {
                out.final_obs.push(None);
                self.obs[i] = step.obs;
            }
        }
        Ok(out)
    }
}
