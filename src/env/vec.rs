//! N copies of one environment stepped in lockstep, resetting a copy as soon as its episode
//! ends, as openai/baselines' `SubprocVecEnv`/`DummyVecEnv` do (the observation returned for
//! a finished copy is the first one of its next episode; the last observation of the
//! finished episode is kept in [`VecStep::final_obs`] for bootstrapping on truncation).
//!
//! Copy `i` draws its reset noise from its own stream seeded from `(seed, i)`, so a run is a
//! pure function of the seed.
//!
//! With [`VecEnv::set_threads`] the copies step side by side on a thread pool of their own
//! (the GPU engine's rollouts: N ALE copies in parallel while the policy runs
//! batched on the device). Only the steps themselves run in parallel; each copy's step reads
//! and writes its own state alone, and the bookkeeping and resets run afterwards in copy
//! order, so the results are bit-identical to stepping them one after another.

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
    /// Steps the copies in parallel ([`Self::set_threads`]); `None` steps them in order.
    pool: Option<rayon::ThreadPool>,
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
        Ok(Self { envs, rngs, obs, ep_return: vec![0.0; n], ep_length: vec![0; n], pool: None })
    }

    /// Steps the copies on `threads` threads of a pool of their own (1: in order on the
    /// caller's thread, the default). The results do not depend on it.
    pub fn set_threads(&mut self, threads: usize) -> Result<(), EnvError> {
        self.pool = match threads {
            0 | 1 => None,
            t => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t.min(self.envs.len().max(1)))
                    .thread_name(|i| format!("env-step-{i}"))
                    .build()
                    .map_err(|e| EnvError::Engine { env: self.envs[0].id().to_string(), why: format!("a pool of {t} environment threads: {e}") })?,
            ),
        };
        Ok(())
    }

    /// Threads the copies step on.
    pub fn threads(&self) -> usize {
        self.pool.as_ref().map_or(1, |p| p.current_num_threads())
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
        if actions.len() != n {
            return Err(EnvError::Engine { env: self.envs[0].id().to_string(), why: format!("{} actions for {n} copies", actions.len()) });
        }
        let steps: Vec<Result<super::Step, EnvError>> = match &self.pool {
            None => self.envs.iter_mut().zip(actions).map(|(e, a)| e.step(a)).collect(),
            Some(pool) => {
                use rayon::prelude::*;
                let envs = &mut self.envs;
                pool.install(|| envs.par_iter_mut().zip(actions.par_iter()).map(|(e, a)| e.step(a)).collect())
            }
        };
        for (i, step) in steps.into_iter().enumerate() {
            let step = step?;
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

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    /// Stepping on a pool gives the sequential run bit for bit: rewards, ends, episodes and
    /// every copy's state, over many resets.
    #[test]
    fn threaded_stepping_is_bit_identical_to_stepping_in_order() {
        let make = || super::super::make("CartPole-v1");
        let (mut seq, mut par) = (VecEnv::new(8, 5, make).unwrap(), VecEnv::new(8, 5, make).unwrap());
        par.set_threads(4).unwrap();
        assert_eq!((seq.threads(), par.threads()), (1, 4));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut episodes = 0;
        for _ in 0..400 {
            let actions: Vec<Action> = (0..8).map(|_| Action::Discrete(rng.gen_range(0..2))).collect();
            let (a, b) = (seq.step(&actions).unwrap(), par.step(&actions).unwrap());
            assert_eq!((&a.rewards, &a.terminated, &a.truncated), (&b.rewards, &b.terminated, &b.truncated));
            assert_eq!(a.episodes.len(), b.episodes.len());
            for (x, y) in a.episodes.iter().zip(&b.episodes) {
                assert_eq!((x.env_index, x.ret, x.length), (y.env_index, y.ret, y.length));
            }
            episodes += a.episodes.len();
        }
        assert!(episodes > 20, "the copies reset many times ({episodes} episodes)");
        assert_eq!(seq.snapshot(), par.snapshot());
        let e = par.step(&[Action::Discrete(0)]).err().unwrap();
        assert!(e.to_string().contains("1 actions for 8 copies"), "{e}");
    }
}
