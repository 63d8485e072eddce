//! Algorithms: the [`Algorithm`] seam (`update(&Rollout) -> UpdateStats`), their typed
//! configurations, and the training loop that all of them share.

pub mod a2c;
pub mod acktr;
pub mod pipeline;
pub mod returns;
pub mod rollout;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::env::{ActionSpace, EnvError, ObservationSpace, VecEnv};
use crate::nets::{ActorCriticNet, ActorCriticSpec, Activation, Engine, Init, Layout, NetError, ValueInput};

pub use a2c::{A2c, A2cConfig};
pub use acktr::{Acktr, AcktrConfig};
pub use pipeline::{BatchLayout, Pipeline, PipelineConfig};
pub use returns::TimeLimitHandling;
pub use crate::nets::Architecture;
pub use rollout::{Collector, EpisodeEvent, Rollout};
pub use crate::optim::{LrSchedule, Progress};

/// What one update reports: named scalars in a fixed order (columns of `updates.parquet`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateStats(pub Vec<(&'static str, f64)>);

/// An on-policy algorithm: how it acts, and how it updates from a batch.
pub trait Algorithm {
    /// The actor-critic the rollout loop acts with.
    fn policy(&self) -> &dyn ActorCriticNet;
    /// One update from a batch. An error (an engine failure, a broken network contract)
    /// ends the cell with that error; a non-finite batch is not an error (K-FAC skips it
    /// and says so in the update's statistics).
    fn update(&mut self, rollout: &Rollout, progress: Progress) -> Result<UpdateStats, AlgoError>;
    /// The data pipeline between the environment and the networks (its filter state is
    /// part of the algorithm's state).
    fn pipeline_mut(&mut self) -> &mut Pipeline;
}

/// Network configuration (defaults: openai/baselines `common/models.py::mlp` with a shared
/// latent, tanh).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    pub architecture: Architecture,
    /// One torso for policy and value (true) or two (false; paper appendix A.2).
    pub shared: bool,
    pub policy_activation: Activation,
    pub value_activation: Activation,
    /// Weight initialisation (`orthogonal`, baselines `a2c/utils.py`; or `normc`,
    /// baselines `acktr/policies.py` / `value_functions.py`).
    pub init: Init,
    /// What the value network reads (`observation`, or baselines `acktr_cont`'s
    /// `observation_dist_time`; separate networks only).
    pub value_input: ValueInput,
}

impl NetworkConfig {
    /// The networks of baselines' continuous-control ACKTR (`acktr/policies.py`,
    /// `acktr/value_functions.py`; paper appendix A.2): separate 64-64 tanh policy and ELU
    /// value networks, normc init, value features `[obs, mean, std, t/10, 1]`.
    pub fn baselines_mujoco() -> Self {
        Self {
            shared: false,
            policy_activation: Activation::Tanh,
            value_activation: Activation::Elu,
            init: Init::Normc,
            value_input: ValueInput::ObservationDistTime,
            ..Self::default()
        }
    }
}

impl NetworkConfig {
    /// How to assemble the actor-critic: the YAML's `shared` flag becomes the [`Layout`]
    /// type, which carries only what applies to it (the spec checker refuses separate-network
    /// settings on a shared network).
    pub fn actor_critic_spec(&self) -> ActorCriticSpec {
        let layout = if self.shared {
            Layout::Shared { activation: self.policy_activation }
        } else {
            Layout::Separate {
                policy_activation: self.policy_activation,
                value_activation: self.value_activation,
                value_input: self.value_input,
            }
        };
        ActorCriticSpec { architecture: self.architecture, layout, init: self.init }
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            architecture: Architecture::Mlp64x64,
            shared: true,
            policy_activation: Activation::Tanh,
            value_activation: Activation::Tanh,
            init: Init::Orthogonal,
            value_input: ValueInput::Observation,
        }
    }
}

/// Errors building or running an algorithm.
#[derive(Debug, thiserror::Error)]
pub enum AlgoError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("{algo} does not support observation space {space:?}")]
    UnsupportedObservations { algo: &'static str, space: ObservationSpace },
    #[error("{algo}: {why}")]
    Unsupported { algo: &'static str, why: String },
    #[error(transparent)]
    Net(#[from] NetError),
}

/// Every algorithm, by the name a spec uses. Adding one is a variant here plus its module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlgorithmConfig {
    /// Synchronous advantage actor-critic (openai/baselines `a2c/`).
    A2c(A2cConfig),
    /// Actor-critic with a Kronecker-factored trust region (the paper).
    Acktr(AcktrConfig),
}

impl AlgorithmConfig {
    /// The registry name (`a2c`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            AlgorithmConfig::A2c(_) => "a2c",
            AlgorithmConfig::Acktr(_) => "acktr",
        }
    }

    /// The learning rate (for reports and grids).
    pub fn lr_mut(&mut self) -> &mut f64 {
        match self {
            AlgorithmConfig::A2c(c) => &mut c.lr,
            AlgorithmConfig::Acktr(c) => &mut c.kfac.lr,
        }
    }

    /// Whether this configuration's network can run on the given spaces (what
    /// [`Self::build`] would refuse, without building anything).
    pub fn check_spaces(&self, obs: &ObservationSpace, actions: &ActionSpace) -> Result<(), AlgoError> {
        let (network, pipeline) = match self {
            AlgorithmConfig::A2c(c) => (&c.network, &c.pipeline),
            AlgorithmConfig::Acktr(c) => (&c.network, &c.pipeline),
        };
        network_input(network, pipeline, obs, actions, self.kind()).map(|_| ())
    }

    /// Builds the algorithm for the given spaces, its network initialised from `seed`.
    pub fn build(&self, obs: &ObservationSpace, actions: &ActionSpace, seed: u64) -> Result<Box<dyn Algorithm>, AlgoError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        match self {
            AlgorithmConfig::A2c(c) => {
                let net = build_network(&c.network, &c.pipeline, obs, actions, "a2c", &mut rng)?;
                let pipeline = Pipeline::new(c.pipeline, obs, actions);
                Ok(Box::new(A2c::new(c.clone(), net, pipeline, matches!(actions, ActionSpace::Discrete { .. }))))
            }
            AlgorithmConfig::Acktr(c) => {
                let net = build_network(&c.network, &c.pipeline, obs, actions, "acktr", &mut rng)?;
                let pipeline = Pipeline::new(c.pipeline, obs, actions);
                Ok(Box::new(Acktr::new(c.clone(), net, pipeline, matches!(actions, ActionSpace::Discrete { .. }), seed)?))
            }
        }
    }
}

/// The network's input shape for `obs` after `pipeline`, or why this network cannot run
/// on these spaces (checked before any weight is drawn, and by the spec checker at `plan`).
fn network_input(
    cfg: &NetworkConfig,
    pipeline: &PipelineConfig,
    obs: &ObservationSpace,
    actions: &ActionSpace,
    algo: &'static str,
) -> Result<Vec<usize>, AlgoError> {
    if !pipeline.supports(obs) {
        return Err(AlgoError::UnsupportedObservations { algo, space: obs.clone() });
    }
    if cfg.value_input == ValueInput::ObservationDistTime {
        if cfg.shared {
            return Err(AlgoError::Unsupported { algo, why: "value_input observation_dist_time needs separate networks".into() });
        }
        if !matches!(actions, ActionSpace::Continuous { .. }) {
            return Err(AlgoError::Unsupported { algo, why: "value_input observation_dist_time needs continuous actions".into() });
        }
    }
    let input = match obs {
        ObservationSpace::Vector { .. } => vec![pipeline.input_dim(obs)],
        ObservationSpace::Frames { channels, height, width } => vec![*channels, *height, *width],
    };
    cfg.architecture.layers(&input, cfg.policy_activation)?;
    Ok(input)
}

fn build_network(
    cfg: &NetworkConfig,
    pipeline: &PipelineConfig,
    obs: &ObservationSpace,
    actions: &ActionSpace,
    algo: &'static str,
    rng: &mut ChaCha8Rng,
) -> Result<Box<dyn ActorCriticNet>, AlgoError> {
    let input = network_input(cfg, pipeline, obs, actions, algo)?;
    Ok(cfg.actor_critic_spec().build(Engine::Cpu, &input, actions, rng)?)
}

/// One update's record: where it happened and what the algorithm reported.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateEvent {
    pub update: u64,
    pub global_step: u64,
    pub stats: UpdateStats,
}

/// Runs the shared training loop until `total_timesteps` are collected: collect a batch
/// (`steps_per_update` steps of every copy, or whole episodes until more than
/// `steps_per_update` timesteps, as the algorithm's pipeline says), update, report. `observe` sees every update
/// and the episodes that ended during its rollout.
pub fn train(
    algo: &mut dyn Algorithm,
    venv: VecEnv,
    action_seed: u64,
    steps_per_update: usize,
    total_timesteps: u64,
    mut observe: impl FnMut(&UpdateEvent, &[EpisodeEvent]),
) -> Result<(), AlgoError> {
    let mut rng = ChaCha8Rng::seed_from_u64(action_seed);
    rng.set_stream(2);
    let mut collector = Collector::new(venv, rng);
    let layout = algo.pipeline_mut().config().batch;
    if layout == BatchLayout::WholeEpisodes && collector.venv().len() != 1 {
        return Err(AlgoError::Unsupported { algo: "train", why: "whole-episode batches run one environment copy (num_envs: 1)".into() });
    }
    let mut update = 0u64;
    while collector.global_step() < total_timesteps {
        let progress = Progress { timesteps_done: collector.global_step(), total_timesteps };
        let (rollout, episodes) = match layout {
            BatchLayout::Steps => collector.collect(algo, steps_per_update)?,
            BatchLayout::WholeEpisodes => collector.collect_episodes(algo, steps_per_update)?,
        };
        let stats = algo.update(&rollout, progress)?;
        observe(&UpdateEvent { update, global_step: collector.global_step(), stats }, &episodes);
        update += 1;
    }
    Ok(())
}
