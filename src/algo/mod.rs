//! Algorithms: the [`Algorithm`] seam (`update(&Rollout) -> UpdateStats`), their typed
//! configurations, and the training loop that all of them share.

pub mod a2c;
pub mod acktr;
pub mod pipeline;
pub mod returns;
pub mod rollout;
pub mod trpo;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::check::{self, FieldError};
use crate::env::{ActionSpace, EnvError, ObservationSpace, VecEnv};
use crate::nets::{ActorCriticNet, ActorCriticSpec, Activation, Engine, Init, Layout, NetError, ValueInput};

pub use a2c::{A2c, A2cConfig};
pub use acktr::{Acktr, AcktrConfig};
pub use pipeline::{BatchLayout, Pipeline, PipelineConfig};
pub use returns::TimeLimitHandling;
pub use crate::nets::Architecture;
pub use rollout::{Collector, CollectorState, EpisodeEvent, Rollout};
pub use trpo::{Trpo, TrpoConfig};
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
    /// Everything needed to continue exactly (network, optimizers, random streams,
    /// pipeline), as bytes for a checkpoint.
    fn checkpoint(&self) -> Result<Vec<u8>, AlgoError>;
    /// Continues from [`Algorithm::checkpoint`]'s bytes of the same configuration.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), AlgoError>;
    /// Threads its network and optimizers may use (`--threads`); the results are the same
    /// bits for every count.
    fn set_threads(&mut self, _threads: usize) {}
}

/// Encodes a checkpoint part.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, AlgoError> {
    bincode::serialize(value).map_err(|e| AlgoError::Checkpoint(e.to_string()))
}

/// Decodes a checkpoint part.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AlgoError> {
    bincode::deserialize(bytes).map_err(|e| AlgoError::Checkpoint(e.to_string()))
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
    /// The tensor engine (`cpu`, `cuda`). Set for every row by the spec's top-level
    /// `engine:` or `--engine`; left out of cell keys when `cpu`, so CPU cells keep their
    /// hashes and a CUDA cell is never mistaken for a CPU one.
    #[serde(skip_serializing_if = "Engine::is_cpu")]
    pub engine: Engine,
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
            engine: Engine::Cpu,
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
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The caller's `after` hook asked training to stop (a stop signal, after it wrote a
    /// checkpoint); not a failure of the algorithm.
    #[error("stopped on request")]
    Stopped,
}

/// What the harness needs of an algorithm's configuration, whatever the algorithm.
pub trait Settings {
    /// The network it trains.
    fn network(&self) -> &NetworkConfig;
    /// The network it trains, to set its engine (spec `engine:`, `--engine`).
    fn network_mut(&mut self) -> &mut NetworkConfig;
    /// Its data pipeline.
    fn pipeline(&self) -> &PipelineConfig;
    /// The learning rate (what the grid alias `lr` and reports name).
    fn lr_mut(&mut self) -> &mut f64;
    /// The dotted path of the field [`Settings::lr_mut`] returns (`lr`, `kfac.lr`): where
    /// the grid alias `lr` points, for messages and the alias check.
    fn lr_field(&self) -> &'static str;
    /// Whether a schedule reads the training's progress ([`Progress`]): only then is the
    /// horizon it anneals over (`budget.schedule_timesteps`) part of what a cell computes.
    fn anneals(&self) -> bool;
    /// Range checks of every field (paths under the algorithm's key).
    fn check(&self) -> Result<(), FieldError>;
    /// The algorithm, around a freshly initialised network and its pipeline.
    fn build(&self, net: Box<dyn ActorCriticNet>, pipeline: Pipeline, discrete: bool, seed: u64) -> Result<Box<dyn Algorithm>, AlgoError>;
}

/// One algorithm a spec can name: `key: {preset: NAME, ...overrides}`.
pub struct AlgorithmEntry {
    /// The key a spec writes (`a2c`).
    pub key: &'static str,
    /// The names of its presets, for messages.
    pub presets: &'static [&'static str],
    /// The defaults.
    pub defaults: fn() -> AlgorithmConfig,
    /// A named preset's configuration (the name as written in the spec).
    pub preset: fn(serde_yaml::Value) -> Result<AlgorithmConfig, serde_yaml::Error>,
    /// Types a full configuration (defaults or preset already merged under the spec's
    /// fields), naming the failing field ([`typed`]).
    pub typed: fn(serde_yaml::Value) -> Result<AlgorithmConfig, FieldError>,
    /// The statistics every update logs ([`UpdateStats`], in order): the columns of
    /// `updates.parquet` after `update`, `global_step` and `wall_seconds` (tested against a
    /// real update; a spec's `update_curves.columns` are checked against them).
    pub columns: &'static [&'static str],
}

/// The registry, one line per algorithm: its variant of [`AlgorithmConfig`], its configuration
/// and preset types, and its module (which holds `KEY`, `PRESETS` and `COLUMNS`). The enum,
/// its `From` conversions, the match arms of [`AlgorithmConfig::kind`] and
/// [`AlgorithmConfig::settings`], and [`ALGORITHMS`] (hence the spec checker's and
/// `bench --algo`'s lists) are generated from it. Adding an algorithm: its module
/// (a configuration with [`Settings`], a preset enum with `config()`, the three constants)
/// and one line here.
macro_rules! registry {
    ($($(#[$doc:meta])* $variant:ident($config:ty, $preset:ty) in $module:ident,)+) => {
        /// Every algorithm's configuration, tagged by the key a spec uses (`a2c: {...}`).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum AlgorithmConfig {
            $($(#[$doc])* $variant($config),)+
        }

        $(impl From<$config> for AlgorithmConfig {
            fn from(c: $config) -> Self {
                AlgorithmConfig::$variant(c)
            }
        })+

        /// Every algorithm, by the key a spec uses, in the registry's order.
        pub static ALGORITHMS: &[AlgorithmEntry] = &[$(AlgorithmEntry {
            key: $module::KEY,
            presets: $module::PRESETS,
            defaults: || AlgorithmConfig::$variant(<$config>::default()),
            preset: |v| serde_yaml::from_value::<$preset>(v).map(|p| AlgorithmConfig::$variant(p.config())),
            typed: |v| typed::<$config>(v).map(AlgorithmConfig::$variant),
            columns: $module::COLUMNS,
        },)+];

        impl AlgorithmConfig {
            /// The registry key (`a2c`, ...).
            pub fn kind(&self) -> &'static str {
                match self {
                    $(AlgorithmConfig::$variant(_) => $module::KEY,)+
                }
            }

            /// The configuration as the harness sees it.
            pub fn settings(&self) -> &dyn Settings {
                match self {
                    $(AlgorithmConfig::$variant(c) => c,)+
                }
            }

            fn settings_mut(&mut self) -> &mut dyn Settings {
                match self {
                    $(AlgorithmConfig::$variant(c) => c,)+
                }
            }
        }
    };
}

registry! {
    /// Synchronous advantage actor-critic (openai/baselines `a2c/`).
    A2c(A2cConfig, a2c::A2cPreset) in a2c,
    /// Actor-critic with a Kronecker-factored trust region (the paper).
    Acktr(AcktrConfig, acktr::Preset) in acktr,
    /// Trust-region policy optimisation (openai/baselines `trpo_mpi/`), the paper's third
    /// baseline.
    Trpo(TrpoConfig, trpo::Preset) in trpo,
}

/// The [`Settings`] accessors of a configuration whose fields `network` and `pipeline` are
/// what their names say (every algorithm's).
macro_rules! network_and_pipeline {
    () => {
        fn network(&self) -> &NetworkConfig {
            &self.network
        }

        fn network_mut(&mut self) -> &mut NetworkConfig {
            &mut self.network
        }

        fn pipeline(&self) -> &PipelineConfig {
            &self.pipeline
        }
    };
}
use network_and_pipeline;

/// Types a configuration from YAML, naming the failing field's path.
pub fn typed<T: serde::de::DeserializeOwned>(v: serde_yaml::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(v).map_err(|e| FieldError::new(e.path().to_string(), e.into_inner().to_string()))
}

/// The entry for `key`.
pub fn lookup(key: &str) -> Option<&'static AlgorithmEntry> {
    ALGORITHMS.iter().find(|e| e.key == key)
}

impl AlgorithmConfig {
    /// The configuration's fields as YAML (without the algorithm's key).
    pub fn inner_yaml(&self) -> serde_yaml::Value {
        match serde_yaml::to_value(self).expect("configurations serialise") {
            // serde_yaml writes an enum's variant as a YAML tag (`!acktr {...}`).
            serde_yaml::Value::Tagged(t) => t.value,
            other => other,
        }
    }

    /// The engine its network runs on.
    pub fn engine(&self) -> Engine {
        self.settings().network().engine
    }

    /// Runs its network on `engine` (spec `engine:`, `--engine`).
    pub fn set_engine(&mut self, engine: Engine) {
        self.settings_mut().network_mut().engine = engine;
    }

    /// The learning rate (for reports and grids).
    pub fn lr_mut(&mut self) -> &mut f64 {
        self.settings_mut().lr_mut()
    }

    /// Range checks of every field, and of the network against its pipeline (paths under
    /// the algorithm's key).
    pub fn check(&self) -> Result<(), FieldError> {
        let s = self.settings();
        check_network(s.network(), s.pipeline())?;
        s.check()
    }

    /// Whether this configuration's network can run on the given spaces (what
    /// [`Self::build`] would refuse, without building anything).
    pub fn check_spaces(&self, obs: &ObservationSpace, actions: &ActionSpace) -> Result<(), AlgoError> {
        self.network_input(obs, actions).map(|_| ())
    }

    /// The network's input shape on these spaces, after the pipeline (`[D]` or `[C, H, W]`),
    /// or why the network cannot run on them.
    pub fn network_input(&self, obs: &ObservationSpace, actions: &ActionSpace) -> Result<Vec<usize>, AlgoError> {
        let s = self.settings();
        network_input(s.network(), s.pipeline(), obs, actions, self.kind())
    }

    /// Builds the algorithm for the given spaces, its network initialised from `seed`.
    pub fn build(&self, obs: &ObservationSpace, actions: &ActionSpace, seed: u64) -> Result<Box<dyn Algorithm>, AlgoError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        let s = self.settings();
        let net = build_network(s.network(), s.pipeline(), obs, actions, self.kind(), &mut rng)?;
        let pipeline = Pipeline::new(*s.pipeline(), obs, actions);
        s.build(net, pipeline, matches!(actions, ActionSpace::Discrete { .. }), seed)
    }
}

/// The checks every algorithm's network and pipeline share.
fn check_network(net: &NetworkConfig, pipe: &PipelineConfig) -> Result<(), FieldError> {
    net.engine.supports(&net.actor_critic_spec(), None).map_err(|why| FieldError::new("network.engine", why))?;
    if let pipeline::ObservationFilter::ZFilter { clip } = pipe.observation_filter {
        check::rate("pipeline.observation_filter.z_filter.clip", clip)?;
    }
    if net.value_input == ValueInput::ObservationDistTime && net.shared {
        return Err(FieldError::new(
            "network.value_input",
            "observation_dist_time needs separate policy and value networks (network: {shared: false})",
        ));
    }
    if net.shared && net.value_activation != NetworkConfig::default().value_activation {
        return Err(separate_only("network.value_activation"));
    }
    Ok(())
}

/// A field that only a separate value network uses, set on a shared one (the network's
/// [`Layout`] has no place for it).
pub(crate) fn separate_only(field: &str) -> FieldError {
    FieldError::new(
        field,
        "applies to separate policy and value networks only, and this network is shared (network: {shared: false} to separate them)",
    )
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
    // Here too, so that an engine set for the whole spec (`engine:`, `--engine`) is refused
    // before anything runs.
    cfg.engine.supports(&cfg.actor_critic_spec(), Some(actions)).map_err(|why| AlgoError::Unsupported { algo, why: why.into() })?;
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
    Ok(cfg.actor_critic_spec().build(cfg.engine, &input, actions, rng)?)
}

/// One update's record: where it happened and what the algorithm reported.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateEvent {
    pub update: u64,
    pub global_step: u64,
    pub stats: UpdateStats,
}

/// Where a training run stands between updates: the collector (environments, sampler)
/// and the number of updates done.
pub struct Training {
    pub collector: Collector,
    pub update: u64,
}

impl Training {
    /// A fresh run on `venv`, actions sampled from a stream of `action_seed`.
    pub fn new(venv: VecEnv, action_seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(action_seed);
        rng.set_stream(2);
        Self { collector: Collector::new(venv, rng), update: 0 }
    }
}

/// Runs the shared training loop until `total_timesteps` are collected (schedules annealing
/// over the same horizon): collect a batch
/// (`steps_per_update` steps of every copy, or whole episodes until more than
/// `steps_per_update` timesteps, as the algorithm's pipeline says), update, report. `observe`
/// sees every update and the episodes that ended during its rollout.
pub fn train(
    algo: &mut dyn Algorithm,
    venv: VecEnv,
    action_seed: u64,
    steps_per_update: usize,
    total_timesteps: u64,
    mut observe: impl FnMut(&UpdateEvent, &[EpisodeEvent]),
) -> Result<(), AlgoError> {
    let mut training = Training::new(venv, action_seed);
    train_from(algo, &mut training, steps_per_update, total_timesteps, total_timesteps, |u, e, _, _| {
        observe(u, e);
        Ok(())
    })
}

/// [`train`] from where `training` stands (a fresh run, or one restored from a checkpoint),
/// its schedules annealing over `schedule_timesteps`. `after` sees every update, the episodes that ended during its rollout, and the state
/// after it (what a checkpoint saves).
pub fn train_from(
    algo: &mut dyn Algorithm,
    training: &mut Training,
    steps_per_update: usize,
    total_timesteps: u64,
    schedule_timesteps: u64,
    mut after: impl FnMut(&UpdateEvent, &[EpisodeEvent], &Training, &dyn Algorithm) -> Result<(), AlgoError>,
) -> Result<(), AlgoError> {
    let layout = algo.pipeline_mut().config().batch;
    if layout == BatchLayout::WholeEpisodes && training.collector.venv().len() != 1 {
        return Err(AlgoError::Unsupported { algo: "train", why: "whole-episode batches run one environment copy (num_envs: 1)".into() });
    }
    while training.collector.global_step() < total_timesteps {
        let progress = Progress { timesteps_done: training.collector.global_step(), schedule_timesteps };
        let (rollout, episodes) = match layout {
            BatchLayout::Steps => training.collector.collect(algo, steps_per_update)?,
            BatchLayout::WholeEpisodes => training.collector.collect_episodes(algo, steps_per_update)?,
        };
        let stats = algo.update(&rollout, progress)?;
        training.collector.recycle(rollout);
        let event = UpdateEvent { update: training.update, global_step: training.collector.global_step(), stats };
        training.update += 1;
        after(&event, &episodes, training, algo)?;
    }
    Ok(())
}

#[cfg(all(test, feature = "cuda"))]
mod cuda_tests {
    use super::*;

    /// What the CUDA engine does not run is refused before anything is built: separate
    /// networks at `network.engine` (the spec checker's field), continuous actions by the
    /// space check `plan` runs.
    #[test]
    fn the_cuda_engine_is_refused_for_what_it_does_not_run() {
        let mut mujoco = (lookup("acktr").unwrap().preset)(serde_yaml::Value::String("baselines_mujoco".into())).unwrap();
        mujoco.set_engine(Engine::Cuda);
        let e = mujoco.check().unwrap_err();
        assert_eq!(e.field, "network.engine", "{}", e.message);
        assert!(e.message.contains("shared: true"), "{}", e.message);
        let mut a2c = (lookup("a2c").unwrap().defaults)();
        a2c.set_engine(Engine::Cuda);
        a2c.check().unwrap();
        let gauss = ActionSpace::Continuous { dim: 2, low: vec![-1.0; 2], high: vec![1.0; 2] };
        let e = a2c.check_spaces(&ObservationSpace::Vector { dim: 3 }, &gauss).unwrap_err();
        assert!(e.to_string().contains("continuous actions run on `--engine cpu`"), "{e}");
        a2c.check_spaces(&ObservationSpace::Vector { dim: 3 }, &ActionSpace::Discrete { n: 2 }).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every algorithm's update logs exactly the statistics its registry entry declares, in
    /// that order (what a spec's `update_curves.columns` are checked against).
    /// The registry's keys are the enum's serde tags, every preset it names parses, and the
    /// keys are distinct.
    #[test]
    fn the_registry_keys_are_the_configurations_tags() {
        let mut keys: Vec<&str> = ALGORITHMS.iter().map(|e| e.key).collect();
        for entry in ALGORITHMS {
            let config = (entry.defaults)();
            assert_eq!(config.kind(), entry.key);
            let serde_yaml::Value::Tagged(t) = serde_yaml::to_value(&config).unwrap() else { panic!("{}: not a tagged value", entry.key) };
            assert_eq!(t.tag, serde_yaml::value::Tag::new(entry.key));
            assert_eq!((entry.typed)(config.inner_yaml()).unwrap(), config, "{}", entry.key);
            for p in entry.presets {
                let preset = (entry.preset)(serde_yaml::Value::String(p.to_string())).unwrap_or_else(|e| panic!("{}: preset {p}: {e}", entry.key));
                assert_eq!(preset.kind(), entry.key);
            }
        }
        keys.dedup();
        assert_eq!(keys.len(), ALGORITHMS.len());
    }

    #[test]
    fn each_algorithm_logs_the_columns_its_entry_declares() {
        for entry in ALGORITHMS {
            let venv = VecEnv::new(1, 0, || crate::env::make("CartPole-v1")).unwrap();
            let mut algo = (entry.defaults)().build(&venv.observation_space(), &venv.action_space(), 0).unwrap();
            let mut logged: Vec<Vec<&'static str>> = Vec::new();
            train(algo.as_mut(), venv, 0, 64, 128, |u, _| logged.push(u.stats.0.iter().map(|(k, _)| *k).collect())).unwrap();
            assert!(!logged.is_empty(), "{}: no update ran", entry.key);
            for names in logged {
                assert_eq!(names, entry.columns, "{}", entry.key);
            }
        }
    }
}
