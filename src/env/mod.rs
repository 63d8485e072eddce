//! Environments: the [`Env`] trait, the registry of environments by Gymnasium id, the
//! Gymnasium `TimeLimit` wrapper and the vectorised [`VecEnv`].
//!
//! The interface follows Gymnasium 1.x (`reset(seed)`, `step(action)` returning
//! `(obs, reward, terminated, truncated)`): `terminated` means the MDP reached a terminal
//! state, `truncated` means the episode was cut by the time limit. Observations are kept
//! in float64 so that conformance against Gymnasium can be checked exactly
//! (`docs/src/formats/env-case.md`); stacked image observations (Atari, later) are
//! bytes. Both are turned into the network's float32 input by [`Observation::write_f32`].

#[cfg(feature = "atari")]
pub mod atari;
pub mod cartpole;
pub mod mujoco;
pub mod observe;
pub mod pendulum;
#[cfg(feature = "pixels")]
pub mod pixels;
pub mod vec;

use rand_chacha::ChaCha8Rng;

pub use observe::{Observe, PixelCamera, PixelSettings, Visuals};
pub use vec::{EpisodeRecord, VecEnv, VecStep};

/// A random stream owned by one environment copy; seeded, so runs are reproducible.
pub type EnvRng = ChaCha8Rng;

/// The shape and kind of observations an environment emits.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationSpace {
    /// A real vector of `dim` entries (classic control, MuJoCo).
    Vector { dim: usize },
    /// A stack of `channels` greyscale frames of `height` x `width` bytes (Atari,
    /// paper appendix A.1: 4x84x84), scaled to [0, 1] for the network as in
    /// openai/baselines `common/models.py` (`X / 255.`).
    Frames { channels: usize, height: usize, width: usize },
}

impl ObservationSpace {
    /// Number of scalars the network sees per observation.
    pub fn flat_dim(&self) -> usize {
        match *self {
            ObservationSpace::Vector { dim } => dim,
            ObservationSpace::Frames { channels, height, width } => channels * height * width,
        }
    }
}

/// The actions an environment accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpace {
    /// `n` discrete actions `0..n`.
    Discrete { n: usize },
    /// A box of `dim` reals with the given bounds (the policy samples unbounded values;
    /// the environment clips, as Gymnasium's own environments do).
    Continuous { dim: usize, low: Vec<f64>, high: Vec<f64> },
}

impl ActionSpace {
    /// Number of scalars stored per action in a rollout (1 for discrete actions).
    pub fn stored_dim(&self) -> usize {
        match self {
            ActionSpace::Discrete { .. } => 1,
            ActionSpace::Continuous { dim, .. } => *dim,
        }
    }
}

/// One observation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Observation {
    /// Real-valued vector, float64 as Gymnasium returns it (float32 values widened
    /// exactly where Gymnasium returns float32, e.g. CartPole).
    Vector(Vec<f64>),
    /// Stacked frames, channel-major bytes.
    Frames(Vec<u8>),
}

impl Observation {
    /// Writes the network's float32 view of this observation into `out`
    /// (`out.len()` must equal the space's `flat_dim`).
    pub fn write_f32(&self, out: &mut [f32]) {
        match self {
            Observation::Vector(v) => {
                for (o, x) in out.iter_mut().zip(v) {
                    *o = *x as f32;
                }
            }
            Observation::Frames(f) => {
                for (o, x) in out.iter_mut().zip(f) {
                    *o = f32::from(*x) / 255.0;
                }
            }
        }
    }

    /// The vector view, if this is a vector observation.
    pub fn as_vector(&self) -> Option<&[f64]> {
        match self {
            Observation::Vector(v) => Some(v),
            Observation::Frames(_) => None,
        }
    }
}

/// One action, as passed to [`Env::step`].
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Discrete(usize),
    Continuous(Vec<f64>),
}

/// What one step returned (Gymnasium's `(obs, reward, terminated, truncated)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub obs: Observation,
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
}

/// A whole game that ended, as baselines' `Monitor` records it below the episodic-life
/// wrapper (Atari): its unclipped score, its length in agent steps, and the sum of the
/// (clipped) rewards the learner saw during it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GameEnd {
    pub score: f64,
    pub steps: usize,
    pub learner_return: f64,
}

/// A state to restore, as conformance cases give it (`initial_state`).
#[derive(Debug, Clone, PartialEq)]
pub enum EnvState {
    /// Classic control: the environment's internal state vector.
    Classic(Vec<f64>),
    /// MuJoCo: generalised positions and velocities.
    Mujoco { qpos: Vec<f64>, qvel: Vec<f64> },
}

/// Everything an environment needs to continue exactly where it was (a checkpoint's part):
/// its numbers and its counters.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct EnvSnapshot {
    pub values: Vec<f64>,
    pub counters: Vec<u64>,
}

/// Errors raised by environments.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("unknown environment `{id}` (known: {known})")]
    UnknownEnv { id: String, known: String },
    #[error("environment `{env}` cannot take state {state:?}: {why}")]
    BadState { env: String, state: EnvState, why: String },
    #[error("environment `{env}`: {why}")]
    Engine { env: String, why: String },
    /// The environment cannot be observed through frames as asked (not a MuJoCo task, a
    /// camera its model lacks, no frame size, a build without rendering): bad input.
    #[error("environment `{env}`: {why}")]
    NoPixels { env: String, why: String },
    #[error("environment `{env}` rejected action {action:?}: {why}")]
    BadAction { env: String, action: Action, why: String },
}

/// A single environment (Gymnasium's `Env`).
///
/// `reset` must be called before the first `step`; after a step returns `terminated` or
/// `truncated`, the caller resets before stepping again ([`VecEnv`] does this itself).
pub trait Env: Send {
    /// The Gymnasium id, e.g. `CartPole-v1`.
    fn id(&self) -> &str;
    /// What observations look like.
    fn observation_space(&self) -> ObservationSpace;
    /// What actions look like.
    fn action_space(&self) -> ActionSpace;
    /// Starts a new episode with the environment's reset noise drawn from `rng`.
    fn reset(&mut self, rng: &mut EnvRng) -> Observation;
    /// Advances one step.
    fn step(&mut self, action: &Action) -> Result<Step, EnvError>;
    /// Sets the internal state right after a reset (Gymnasium's `set_state` for MuJoCo,
    /// `env.unwrapped.state = ...` for classic control) and returns its observation.
    fn set_state(&mut self, state: &EnvState) -> Result<Observation, EnvError>;
    /// The environment's full state, to continue exactly from it ([`Env::restore`]).
    fn snapshot(&self) -> EnvSnapshot;
    /// Continues from a [`Env::snapshot`] of the same environment.
    fn restore(&mut self, snapshot: &EnvSnapshot) -> Result<(), EnvError>;
    /// True when the environment's episodes are not the statistics' episodes (Atari: the
    /// learner's episodes are lives, the statistics are whole games); then the episode
    /// statistics come from [`Env::take_game_end`].
    fn reports_games(&self) -> bool {
        false
    }
    /// The game that ended during the last step or reset, once.
    fn take_game_end(&mut self) -> Option<GameEnd> {
        None
    }
}

/// Gymnasium's `TimeLimit` wrapper: `truncated` once `max_episode_steps` steps have been
/// taken since the last reset (`gymnasium/wrappers/common.py`).
pub struct TimeLimit<E> {
    inner: E,
    max_episode_steps: usize,
    elapsed: usize,
}

impl<E: Env> TimeLimit<E> {
    /// Wraps `inner` with the registered time limit.
    pub fn new(inner: E, max_episode_steps: usize) -> Self {
        Self { inner, max_episode_steps, elapsed: 0 }
    }
}

impl<E: Env> Env for TimeLimit<E> {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn observation_space(&self) -> ObservationSpace {
        self.inner.observation_space()
    }
    fn action_space(&self) -> ActionSpace {
        self.inner.action_space()
    }
    fn reset(&mut self, rng: &mut EnvRng) -> Observation {
        self.elapsed = 0;
        self.inner.reset(rng)
    }
    fn step(&mut self, action: &Action) -> Result<Step, EnvError> {
        let mut step = self.inner.step(action)?;
        self.elapsed += 1;
        if self.elapsed >= self.max_episode_steps {
            step.truncated = true;
        }
        Ok(step)
    }
    fn set_state(&mut self, state: &EnvState) -> Result<Observation, EnvError> {
        self.inner.set_state(state)
    }
    fn snapshot(&self) -> EnvSnapshot {
        let mut s = self.inner.snapshot();
        s.counters.push(self.elapsed as u64);
        s
    }
    fn restore(&mut self, snapshot: &EnvSnapshot) -> Result<(), EnvError> {
        let mut s = snapshot.clone();
        let elapsed = s.counters.pop().ok_or_else(|| bad_snapshot(self.id(), "no time-limit counter"))?;
        self.inner.restore(&s)?;
        self.elapsed = elapsed as usize;
        Ok(())
    }
    fn reports_games(&self) -> bool {
        self.inner.reports_games()
    }
    fn take_game_end(&mut self) -> Option<GameEnd> {
        self.inner.take_game_end()
    }
}

/// The error for a snapshot that does not fit the environment.
pub fn bad_snapshot(env: &str, why: &str) -> EnvError {
    EnvError::Engine { env: env.to_string(), why: format!("cannot restore a checkpoint: {why}") }
}

/// One registry entry: a Gymnasium id and how to build it.
pub struct EnvEntry {
    /// Gymnasium id.
    pub id: &'static str,
    /// Registered `max_episode_steps` (Gymnasium's `envs/__init__.py`).
    pub max_episode_steps: usize,
    /// Builds the unwrapped environment.
    pub make: fn() -> Result<Box<dyn Env>, EnvError>,
}

/// Every environment this build knows, by Gymnasium id. Adding an environment is one file
/// and one line here.
pub const REGISTRY: &[EnvEntry] = &[
    EnvEntry { id: "CartPole-v1", max_episode_steps: 500, make: cartpole::CartPole::boxed },
    EnvEntry { id: "Pendulum-v1", max_episode_steps: 200, make: pendulum::Pendulum::boxed },
    // MuJoCo tasks (Gymnasium 1.4.0 `envs/__init__.py`: Reacher 50 steps, the others 1000).
    EnvEntry { id: "Ant-v5", max_episode_steps: 1000, make: || mujoco::MujocoEnv::boxed(mujoco::Task::Ant) },
    EnvEntry {
        id: "HalfCheetah-v5",
        max_episode_steps: 1000,
        make: || mujoco::MujocoEnv::boxed(mujoco::Task::HalfCheetah),
    },
    EnvEntry { id: "Hopper-v5", max_episode_steps: 1000, make: || mujoco::MujocoEnv::boxed(mujoco::Task::Hopper) },
    EnvEntry {
        id: "InvertedPendulum-v5",
        max_episode_steps: 1000,
        make: || mujoco::MujocoEnv::boxed(mujoco::Task::InvertedPendulum),
    },
    EnvEntry {
        id: "InvertedDoublePendulum-v5",
        max_episode_steps: 1000,
        make: || mujoco::MujocoEnv::boxed(mujoco::Task::InvertedDoublePendulum),
    },
    EnvEntry { id: "Reacher-v5", max_episode_steps: 50, make: || mujoco::MujocoEnv::boxed(mujoco::Task::Reacher) },
    EnvEntry { id: "Swimmer-v5", max_episode_steps: 1000, make: || mujoco::MujocoEnv::boxed(mujoco::Task::Swimmer) },
    EnvEntry {
        id: "Walker2d-v5",
        max_episode_steps: 1000,
        make: || mujoco::MujocoEnv::boxed(mujoco::Task::Walker2d),
    },
];

/// Every registry: the entries above and, when built with the `atari` feature, the Atari games.
pub fn entries() -> impl Iterator<Item = &'static EnvEntry> {
    #[cfg(feature = "atari")]
    let atari = atari::REGISTRY;
    #[cfg(not(feature = "atari"))]
    let atari: &[EnvEntry] = &[];
    REGISTRY.iter().chain(atari)
}

/// Ids of the registered environments, comma separated (for error messages).
pub fn known_ids() -> String {
    entries().map(|e| e.id).collect::<Vec<_>>().join(", ")
}

/// Looks an id up in the registry.
pub fn lookup(id: &str) -> Result<&'static EnvEntry, EnvError> {
    #[cfg(not(feature = "atari"))]
    if id.ends_with("NoFrameskip-v4") {
        return Err(EnvError::Engine {
            env: id.to_string(),
            why: "this build has no Atari: build with the default features (`atari`, which needs cmake and a C++ compiler; README \"Atari\")".into(),
        });
    }
    entries()
        .find(|e| e.id == id)
        .ok_or_else(|| EnvError::UnknownEnv { id: id.to_string(), known: known_ids() })
}

/// Builds `id` with its registered time limit, as `gymnasium.make(id)` does.
pub fn make(id: &str) -> Result<Box<dyn Env>, EnvError> {
    let entry = lookup(id)?;
    let inner = (entry.make)()?;
    Ok(Box::new(TimeLimit::new(inner, entry.max_episode_steps)))
}

/// Builds `id` observed as `observe` says, with its registered time limit: [`make`] for the
/// task's own observation; for pixels, the MuJoCo task drawn by [`pixels::PixelMujoco`]
/// (feature `pixels`).
pub fn make_observed(id: &str, observe: &Observe) -> Result<Box<dyn Env>, EnvError> {
    let settings = match observe {
        Observe::State => return make(id),
        Observe::Pixels(settings) => settings,
    };
    let entry = lookup(id)?;
    let Some(task) = mujoco::Task::ALL.into_iter().find(|t| t.id() == id) else {
        return Err(EnvError::NoPixels { env: id.to_string(), why: "pixel observations are drawn for the MuJoCo tasks only".into() });
    };
    pixel_task(task, settings).map(|inner| Box::new(TimeLimit::new(inner, entry.max_episode_steps)) as Box<dyn Env>)
}

#[cfg(feature = "pixels")]
fn pixel_task(task: mujoco::Task, settings: &PixelSettings) -> Result<Box<dyn Env>, EnvError> {
    Ok(Box::new(pixels::PixelMujoco::new(task, settings.clone())?))
}

#[cfg(not(feature = "pixels"))]
fn pixel_task(task: mujoco::Task, _: &PixelSettings) -> Result<Box<dyn Env>, EnvError> {
    Err(EnvError::NoPixels {
        env: task.id().to_string(),
        why: "this build cannot draw pixel observations: build with the default features (`pixels`; at run time it needs EGL, \
              on Debian `apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1`; the book's \"MuJoCo from pixels\")"
            .into(),
    })
}

impl Env for Box<dyn Env> {
    fn id(&self) -> &str {
        (**self).id()
    }
    fn observation_space(&self) -> ObservationSpace {
        (**self).observation_space()
    }
    fn action_space(&self) -> ActionSpace {
        (**self).action_space()
    }
    fn reset(&mut self, rng: &mut EnvRng) -> Observation {
        (**self).reset(rng)
    }
    fn step(&mut self, action: &Action) -> Result<Step, EnvError> {
        (**self).step(action)
    }
    fn set_state(&mut self, state: &EnvState) -> Result<Observation, EnvError> {
        (**self).set_state(state)
    }
    fn snapshot(&self) -> EnvSnapshot {
        (**self).snapshot()
    }
    fn restore(&mut self, snapshot: &EnvSnapshot) -> Result<(), EnvError> {
        (**self).restore(snapshot)
    }
    fn reports_games(&self) -> bool {
        (**self).reports_games()
    }
    fn take_game_end(&mut self) -> Option<GameEnd> {
        (**self).take_game_end()
    }
}
