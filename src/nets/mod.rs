//! Networks: the one actor-critic interface every algorithm uses ([`ActorCriticNet`]), the
//! configuration an actor-critic is assembled from (a torso, heads, shared or separate
//! policy and value networks), and the engines that implement it ([`cpu`]: dfdx 0.13 on
//! the CPU; a CUDA engine plugs in beside it, see README "Architecture").
//!
//! Everything an algorithm exchanges with a network is engine-neutral: observations,
//! actions and weights as `&[f32]` rows, distributions as [`DistParams`], gradients and
//! K-FAC statistics per declared block ([`blocks`]). No tensor type crosses the seam.
//!
//! Paper appendix A: continuous control uses a 64-64 tanh policy with a state-independent
//! log standard deviation and a separate 64-64 ELU value network (A.2); Atari uses a shared
//! conv torso, 32 8x8/4, 64 4x4/2, 32 3x3/1, fc 512, with a softmax policy and a linear
//! value output (A.1). Initialisation follows openai/baselines (`a2c/utils.py::fc`,
//! `common/policies.py`; or `acktr/policies.py`'s normc). Layouts follow PyTorch
//! (`weight: (out, in)`), so parameters line up with the K-FAC conformance cases
//! (`docs/src/formats/kfac-case.md`).

pub mod blocks;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod dist;
pub mod init;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::env::ActionSpace;

pub use blocks::{BlockSpec, BlockValues, Group, KfacBlocks, LayerGrads, LayerGrams, LayerKind, LayerStats, KfacLinalg};
pub use dist::{value_features, ActionBatch, DistParams};

/// How weights are initialised (biases are 0, the log std 0, in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Orthogonal, gain sqrt 2 in torsos, 0.01 for the policy head, 1 for the value head
    /// (baselines `a2c/utils.py::ortho_init`).
    #[default]
    Orthogonal,
    /// Row-normalised Gaussian, norm 1 in torsos and the value head, 0.1 for the Gaussian
    /// mean head (baselines `acktr/policies.py` l. 18-20, `acktr/value_functions.py` l. 14-16:
    /// `normc_initializer`).
    Normc,
    /// Row-normalised Gaussian, norm 1 in torsos and the value head, 0.01 for the policy
    /// head (openai/baselines `ppo1/mlp_policy.py`, `trpo_mpi/nosharing_cnn_policy.py`: the
    /// networks TRPO runs). baselines draws its conv kernels uniform in
    /// `±sqrt(6 / (fan_in + fan_out))` (`tf_util.py::conv2d`); here they are normc too.
    NormcTrpo,
}

impl Init {
    /// Gains (or normc norms) of the torso, the policy head and the value head.
    pub fn gains(self) -> (f64, f64, f64) {
        match self {
            Init::Orthogonal => (std::f64::consts::SQRT_2, 0.01, 1.0),
            Init::Normc => (1.0, 0.1, 1.0),
            Init::NormcTrpo => (1.0, 0.01, 1.0),
        }
    }

    /// A `rows x cols` weight matrix, row-major.
    pub fn weights(self, rows: usize, cols: usize, gain: f64, rng: &mut impl Rng) -> Vec<f32> {
        match self {
            Init::Orthogonal => init::orthogonal(rows, cols, gain, rng),
            Init::Normc | Init::NormcTrpo => init::normc(rows, cols, gain, rng),
        }
    }
}

/// What the value network reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueInput {
    /// The policy's input.
    #[default]
    Observation,
    /// baselines `acktr/value_functions.py::_preproc` (l. 34-39): the policy's input, the
    /// acting distribution's mean and standard deviation, the step within the episode / 10,
    /// and a constant 1 ([`value_features`]).
    ObservationDistTime,
}

/// Element-wise nonlinearity after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Tanh,
    Relu,
    /// ELU with alpha 1 (the value network of paper appendix A.2).
    Elu,
}

/// One layer of a torso.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerSpec {
    Linear { input: usize, output: usize, activation: Option<Activation> },
    Conv2d { in_channels: usize, out_channels: usize, kernel: usize, stride: usize, padding: usize, activation: Option<Activation> },
    Flatten,
}

/// A torso, by name: the paper's networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Two hidden layers of 64 (baselines `mlp`, paper appendix A.2).
    #[default]
    Mlp64x64,
    /// ACKTR's Atari torso (paper appendix A.1): conv 32 8x8/4, 64 4x4/2, 32 3x3/1, fc 512.
    AtariAcktr,
    /// A2C's Atari torso, the Nature DQN network (appendix A.1, "the same architecture as
    /// in [17]"; baselines `common/models.py::nature_cnn`): conv 32 8x8/4, 64 4x4/2,
    /// 64 3x3/1, fc 512.
    Nature,
    /// Continuous control from pixels (appendix A.2): conv 32 3x3/2, 32 3x3/2, fc 256.
    PixelMujoco,
    /// TRPO's smaller Atari torso (appendix A.1; baselines `trpo_mpi/nosharing_cnn_policy.py`):
    /// conv 8 8x8/4, 16 4x4/2, fc 128.
    AtariTrpo,
}

impl Architecture {
    /// Floats one batch row holds per pass through the torso, summed over its layers: a
    /// linear layer's input and output, a convolution's patches (the receptive field of every
    /// output position) and outputs. The spec checker's memory estimate scales it by what a
    /// row keeps of each (activations, trace, gradients).
    pub fn floats_per_row(self, input: &[usize], activation: Activation) -> Result<u128, NetError> {
        let (mut h, mut w) = match input {
            [_, h, w] => (*h, *w),
            _ => (1, 1),
        };
        Ok(self
            .layers(input, activation)?
            .iter()
            .map(|l| match l {
                LayerSpec::Linear { input, output, .. } => (input + output) as u128,
                LayerSpec::Conv2d { in_channels, out_channels, kernel, stride, padding, .. } => {
                    let out = |x: usize| (x + 2 * padding).saturating_sub(*kernel) / stride.max(&1) + 1;
                    (h, w) = (out(h), out(w));
                    (h * w) as u128 * (in_channels * kernel * kernel + out_channels) as u128
                }
                LayerSpec::Flatten => 0,
            })
            .sum())
    }

    /// The torso's layers for inputs of `input` (`[D]` or `[C, H, W]`), each followed by
    /// `activation`.
    pub fn layers(self, input: &[usize], activation: Activation) -> Result<Vec<LayerSpec>, NetError> {
        let act = Some(activation);
        let image = |name: &str| match input {
            [c, h, w] => Ok((*c, *h, *w)),
            _ => Err(NetError::Shape(format!("the {name} torso needs image observations [C, H, W], got {input:?}"))),
        };
        let convs = |c: usize, h: usize, w: usize, layers: &[(usize, usize, usize)], fc: usize| {
            let (mut ch, mut hh, mut ww) = (c, h, w);
            let mut out = Vec::new();
            for &(filters, kernel, stride) in layers {
                if hh < kernel || ww < kernel {
                    return Err(NetError::Shape(format!("a {kernel}x{kernel} convolution does not fit a {hh}x{ww} input")));
                }
                out.push(LayerSpec::Conv2d { in_channels: ch, out_channels: filters, kernel, stride, padding: 0, activation: act });
                (ch, hh, ww) = (filters, (hh - kernel) / stride + 1, (ww - kernel) / stride + 1);
            }
            out.push(LayerSpec::Flatten);
            out.push(LayerSpec::Linear { input: ch * hh * ww, output: fc, activation: act });
            Ok(out)
        };
        match self {
            Architecture::Mlp64x64 => {
                let d: usize = input.iter().product();
                if input.len() != 1 {
                    return Err(NetError::Shape(format!("the mlp64x64 torso needs vector observations, got {input:?}")));
                }
                Ok(vec![
                    LayerSpec::Linear { input: d, output: 64, activation: act },
                    LayerSpec::Linear { input: 64, output: 64, activation: act },
                ])
            }
            Architecture::AtariAcktr => {
                let (c, h, w) = image("atari_acktr")?;
                convs(c, h, w, &[(32, 8, 4), (64, 4, 2), (32, 3, 1)], 512)
            }
            Architecture::Nature => {
                let (c, h, w) = image("nature")?;
                convs(c, h, w, &[(32, 8, 4), (64, 4, 2), (64, 3, 1)], 512)
            }
            Architecture::PixelMujoco => {
                let (c, h, w) = image("pixel_mujoco")?;
                convs(c, h, w, &[(32, 3, 2), (32, 3, 2)], 256)
            }
            Architecture::AtariTrpo => {
                let (c, h, w) = image("atari_trpo")?;
                convs(c, h, w, &[(8, 8, 4), (16, 4, 2)], 128)
            }
        }
    }
}

/// Shared or separate policy and value networks: what differs between the two is in the
/// type, so a separate network's value settings cannot be set on a shared one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layout {
    /// One torso feeding both heads (baselines' Atari policies; paper appendix A.1).
    Shared { activation: Activation },
    /// Separate policy and value torsos (paper appendix A.2).
    Separate { policy_activation: Activation, value_activation: Activation, value_input: ValueInput },
}

/// How to assemble an actor-critic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActorCriticSpec {
    pub architecture: Architecture,
    pub layout: Layout,
    pub init: Init,
}

/// The tensor engine a network runs on (spec `engine:`, CLI `--engine`; README "GPU engine").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// dfdx 0.13 on the CPU, single-threaded, bit-reproducible: the reference engine.
    #[default]
    Cpu,
    /// CUDA through cudarc 0.19 (cargo feature `cuda`, off by default).
    Cuda,
}

impl Engine {
    /// Every engine, in the order `--engine` lists them.
    pub const ALL: [Engine; 2] = [Engine::Cpu, Engine::Cuda];

    /// The spec's and the command line's name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Cpu => "cpu",
            Engine::Cuda => "cuda",
        }
    }

    /// Parses `cpu` or `cuda`; the error names the known engines.
    pub fn parse(name: &str) -> Result<Engine, UnknownEngine> {
        Engine::ALL.into_iter().find(|e| e.name() == name).ok_or_else(|| UnknownEngine {
            name: name.to_string(),
            known: Engine::ALL.iter().map(|e| e.name()).collect::<Vec<_>>().join(", "),
        })
    }

    /// The reference engine (not written into cell keys, so CPU cells keep their hashes).
    pub fn is_cpu(&self) -> bool {
        *self == Engine::Cpu
    }

    /// Whether this binary was built with the engine: `Err` says how to build one that is.
    pub fn compiled_in(self) -> Result<(), NetError> {
        match self.not_compiled_in() {
            None => Ok(()),
            Some(why) => Err(NetError::Engine(why.into())),
        }
    }

    /// Whether this binary can run the actor-critic `spec` on this engine with `actions`
    /// (`None`: not known yet, only the network is checked): `Err` says why not and what
    /// to do instead. The one place that knows each engine's limits; the spec checker and
    /// the algorithms ask here. The CUDA engine (README "GPU engine") runs the shared
    /// actor-critic of the Atari experiments with a categorical policy.
    pub fn supports(self, spec: &ActorCriticSpec, actions: Option<&ActionSpace>) -> Result<(), &'static str> {
        if let Some(why) = self.not_compiled_in() {
            return Err(why);
        }
        match self {
            Engine::Cpu => Ok(()),
            Engine::Cuda => match (&spec.layout, actions) {
                (Layout::Separate { .. }, _) => Err(
                    "the CUDA engine runs the shared actor-critic of the Atari experiments (network: {shared: true}); separate networks run on `--engine cpu`",
                ),
                (_, Some(ActionSpace::Continuous { .. })) => {
                    Err("the CUDA engine has a categorical policy only; continuous actions run on `--engine cpu`")
                }
                _ => Ok(()),
            },
        }
    }

    /// Why this binary cannot run the engine (how to build one that can), if it cannot.
    pub fn not_compiled_in(self) -> Option<&'static str> {
        match self {
            Engine::Cpu => None,
            Engine::Cuda if cfg!(feature = "cuda") => None,
            Engine::Cuda => Some(NOT_BUILT_WITH_CUDA),
        }
    }
}

/// What a build without the `cuda` feature says when asked for the CUDA engine.
pub const NOT_BUILT_WITH_CUDA: &str = "`cuda` is not in this binary (built without the `cuda` feature); build it with \
     `cargo build --release --features cuda` (needs no CUDA toolkit; at run time the CUDA 13 libraries, \
     README \"GPU engine\")";

impl ActorCriticSpec {
    /// Builds the actor-critic for inputs of shape `input` (`[D]` or `[C, H, W]`: the
    /// network's input, after the data pipeline) and `actions`, its weights drawn from `rng`.
    pub fn build(&self, engine: Engine, input: &[usize], actions: &ActionSpace, rng: &mut impl Rng) -> Result<Box<dyn ActorCriticNet>, NetError> {
        engine.compiled_in()?;
        match engine {
            Engine::Cpu => Ok(Box::new(cpu::ActorCritic::new(self, input, actions, rng)?)),
            Engine::Cuda => cuda_build(self, input, actions, rng),
        }
    }
}

#[cfg(feature = "cuda")]
fn cuda_build(spec: &ActorCriticSpec, input: &[usize], actions: &ActionSpace, rng: &mut impl Rng) -> Result<Box<dyn ActorCriticNet>, NetError> {
    cuda::build(spec, input, actions, rng)
}

#[cfg(not(feature = "cuda"))]
fn cuda_build(_: &ActorCriticSpec, _: &[usize], _: &ActionSpace, _: &mut impl Rng) -> Result<Box<dyn ActorCriticNet>, NetError> {
    Err(NetError::Engine(NOT_BUILT_WITH_CUDA.into()))
}

/// Separate networks with the given policy on `engine`: torso layers with their parameters
/// (`(weight out x in(*k*k), bias)` per linear/conv layer, PyTorch layouts), a linear head
/// `(weight, bias)` giving logits, or a Gaussian's mean when `log_std` is given, and an
/// all-zero value network of the same torso. What the TRPO conformance cases replay.
pub fn with_policy(
    engine: Engine,
    input: &[usize],
    torso: &[LayerSpec],
    torso_params: &[(Vec<f32>, Vec<f32>)],
    head: (Vec<f32>, Vec<f32>),
    log_std: Option<Vec<f32>>,
) -> Result<Box<dyn ActorCriticNet>, NetError> {
    engine.compiled_in()?;
    match engine {
        Engine::Cpu => Ok(Box::new(cpu::ActorCritic::with_policy(input, torso, torso_params, head, log_std)?)),
        Engine::Cuda => Err(NetError::Engine("`cuda`: policies given as parameters (the TRPO conformance replay) run on the CPU engine only".into())),
    }
}

/// Which outputs an evaluation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub policy: bool,
    pub value: bool,
}

impl Parts {
    /// Policy and value.
    pub const ALL: Parts = Parts { policy: true, value: true };
    /// Policy only.
    pub const POLICY: Parts = Parts { policy: true, value: false };
    /// Value only.
    pub const VALUE: Parts = Parts { policy: false, value: true };
}

/// The regression target `y` of a [`LossQuery`].
#[derive(Debug, Clone, Copy)]
pub enum ValueTarget<'a> {
    /// Given targets (returns).
    Fixed(&'a [f32]),
    /// `sg(V(s)) + sigma eps` from this very forward pass (the Fisher loss's sample).
    Noisy { noise: &'a [f32], sigma: f32 },
}

/// Which gradients a [`LossQuery`] returns.
#[derive(Debug, Clone, Copy)]
pub enum GradsWanted<'a> {
    /// All parameters as one flat float32 vector (order of [`ActorCriticNet::params`]).
    Flat,
    /// The listed blocks' gradients in float64 (what K-FAC works in).
    Blocks(&'a [usize]),
    /// None (a Fisher pass that only needs the trace).
    None,
}

/// A weighted actor-critic loss over a batch:
///
/// `L = sum_r w_r log pi(a_r|s_r) - c_e mean(H) + c_v mean((V(s) - y)^2)`.
///
/// A2C uses `w = -A/B`; ACKTR's sampled Fisher loss uses `w = -1/B` with actions drawn
/// from the current policy and `c_v < 0` with `y` a noisy copy of `V` (paper section 3.1).
#[derive(Debug, Clone)]
pub struct LossQuery<'a> {
    /// The policy's input, `rows` rows.
    pub obs: &'a [f32],
    pub rows: usize,
    /// The value network's input when it differs from the policy's ([`value_features`]).
    pub value_obs: Option<&'a [f32]>,
    pub actions: ActionBatch<'a>,
    /// What is not asked for is returned as zeros and not computed when the networks are
    /// separate.
    pub parts: Parts,
    pub logp_weights: &'a [f32],
    pub entropy_coef: f64,
    pub value_coef: f64,
    pub target: ValueTarget<'a>,
    pub grads: GradsWanted<'a>,
    /// Record K-FAC statistics of every block the forward pass runs.
    pub kfac_stats: bool,
    /// Instead of this loss's statistics, those of a sampled Fisher loss on the same rows
    /// ([`FisherQuery`]), from the same forward pass where the engine can share it
    /// (`kfac_stats` must then be false). ACKTR asks for its loss gradients and its Fisher
    /// statistics in one query.
    pub fisher: Option<FisherQuery<'a>>,
}

/// The sampled Fisher loss `sum_r w_r log pi(a~_r|s_r) + c_v mean((V(s) - sg(V(s) + sigma eps))^2)`
/// (paper section 3.1; see `crate::algo::acktr`) whose K-FAC statistics a [`LossQuery`]
/// wants beside its own gradients. Its gradients are not returned.
#[derive(Debug, Clone)]
pub struct FisherQuery<'a> {
    /// Actions drawn from the current policy.
    pub actions: ActionBatch<'a>,
    pub logp_weights: &'a [f32],
    pub value_coef: f64,
    /// `eps ~ N(0, 1)` per row.
    pub noise: &'a [f32],
    pub sigma: f32,
}

/// What a [`LossQuery`] gives back.
#[derive(Debug, Clone, Default)]
pub struct LossOutput {
    /// [`GradsWanted::Flat`]'s gradients (else empty).
    pub flat: Vec<f32>,
    /// [`GradsWanted::Blocks`]'s gradients, in the order asked (else empty).
    pub blocks: Vec<LayerGrads>,
    /// K-FAC statistics of the blocks the pass ran, in declaration order (else empty): of
    /// the loss itself (`kfac_stats`) or of [`LossQuery::fisher`].
    pub stats: Vec<LayerStats>,
    /// `sum_r w_r log pi(a_r|s_r)`.
    pub policy_term: f64,
    /// `mean((V - y)^2)`.
    pub value_term: f64,
    /// `mean(H)`.
    pub entropy: f64,
}

/// Per-column normalisation of the observation rows, inside the network and before its
/// torso(s): `clip((x - mean) / std, -clip, clip)` (openai/baselines `ppo1/mlp_policy.py`:
/// the policy's `ob_rms`, which both its policy and value networks read; TRPO's MuJoCo
/// pipeline). The owner of the statistics (the algorithm) sets it between updates.
#[derive(Debug, Clone, PartialEq)]
pub struct InputNorm {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub clip: f32,
}

impl InputNorm {
    /// Rows of `mean.len()` columns, normalised and clipped.
    pub fn apply(&self, obs: &[f32]) -> Vec<f32> {
        let cols = self.mean.len();
        obs.iter().enumerate().map(|(i, &x)| ((x - self.mean[i % cols]) / self.std[i % cols]).clamp(-self.clip, self.clip)).collect()
    }
}

/// Errors of a network: a shape that cannot be built, a broken contract, an engine
/// failure.
/// A name that is no engine ([`Engine::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no engine `{name}` (known: {known})")]
pub struct UnknownEngine {
    pub name: String,
    pub known: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("network shape: {0}")]
    Shape(String),
    #[error("K-FAC block {index} ({name}): {why}")]
    Block { index: usize, name: String, why: String },
    #[error("engine: {0}")]
    Engine(String),
}

/// What TRPO needs of a network beyond [`ActorCriticNet`] (openai/baselines
/// `trpo_mpi/trpo_mpi.py`): the policy's parameters set on their own, and exact
/// Fisher-vector products of the policy's KL. An engine offers it through
/// [`ActorCriticNet::into_trpo`].
pub trait TrpoNet: ActorCriticNet {
    /// Overwrites the policy's parameters from one flat vector in
    /// [`ActorCriticNet::policy_params`] order.
    fn set_policy_params(&mut self, flat: &[f32]) -> Result<(), NetError>;
    /// The exact Fisher-vector product of the policy's mean KL over a batch,
    /// `F v = (1/N) sum_r J_r^T M_r J_r v`, where `J_r` is the Jacobian of row `r`'s
    /// distribution parameters with respect to the policy's parameters
    /// ([`ActorCriticNet::policy_params`] order) and `M_r` the Fisher of the output
    /// distribution (categorical logits: `diag(p) - p p^T`; Gaussian mean:
    /// `diag(1/sigma^2)`, its state-independent log std: `2 I`). This is the Hessian of
    /// `mean KL(old || new)` at `new = old` that openai/baselines `trpo_mpi` differentiates
    /// twice. Separate networks only. In float64: conjugate gradient amplifies the rounding
    /// of its products.
    fn policy_fvp(&self, obs: &[f32], rows: usize, v: &[f64]) -> Result<Vec<f64>, NetError>;
}

/// The one actor-critic interface: what A2C and ACKTR (and later TRPO) use, and all they
/// see of a network.
///
/// `episode_steps[r]` is the index of row `r`'s observation within its episode (0 at a
/// reset), which a value function with time features reads (baselines
/// `acktr/value_functions.py`).
pub trait ActorCriticNet: KfacBlocks + Send {
    /// Shared or separate networks.
    fn layout(&self) -> Layout;
    /// Distribution parameters and value estimates for `rows` observations (acting).
    fn act(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> Result<(DistParams, Vec<f32>), NetError>;
    /// Value estimates for `rows` observations; with time features, under the current
    /// policy's distribution.
    fn values(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> Result<Vec<f32>, NetError>;
    /// Distribution parameters of a batch (only the policy network runs when separate).
    fn policy_dist(&self, obs: &[f32], rows: usize) -> Result<DistParams, NetError>;
    /// A traced forward and backward pass of a weighted loss.
    fn loss(&self, query: &LossQuery) -> Result<LossOutput, NetError>;
    /// Every parameter as one flat vector, in a fixed order.
    fn params(&self) -> Vec<f32>;
    /// Overwrites every parameter from one flat vector.
    fn set_params(&mut self, flat: &[f32]) -> Result<(), NetError>;
    /// A copy (for snapshots and tests).
    fn boxed_clone(&self) -> Box<dyn ActorCriticNet>;
    /// Sets or clears the normalisation of observation rows ([`InputNorm`]; policy-input
    /// observations only, so not with value features).
    fn set_input_norm(&mut self, norm: Option<InputNorm>) -> Result<(), NetError>;
    /// This network as TRPO drives it ([`TrpoNet`]), or why its engine cannot.
    fn into_trpo(self: Box<Self>) -> Result<Box<dyn TrpoNet>, NetError>;

    /// Threads the engine may use for one call (its products and K-FAC statistics); the
    /// results are the same bits for every count. 1 unless set.
    fn set_threads(&mut self, _threads: usize) {}

    /// The device the network runs on when it is not the host's CPU (`NVIDIA H200
    /// (sm_90)`), for the cell's provenance.
    fn accelerator(&self) -> Option<String> {
        None
    }

    /// The policy's parameters as one flat vector: the blocks of [`Group::Policy`] in
    /// declaration order, each weight (row-major) then bias (with separate networks: the
    /// policy torso's layers, the policy head, then a Gaussian's log std).
    fn policy_params(&self) -> Vec<f32> {
        let mut out = Vec::new();
        for i in self.group_blocks(Group::Policy) {
            let b = self.block_values(i);
            out.extend(b.weight.unwrap_or_default());
            out.extend(b.bias);
        }
        out
    }

    /// True when policy and value share a torso (one joint Fisher).
    fn is_shared(&self) -> bool {
        matches!(self.layout(), Layout::Shared { .. })
    }
    /// What the value network reads.
    fn value_input(&self) -> ValueInput {
        match self.layout() {
            Layout::Shared { .. } => ValueInput::Observation,
            Layout::Separate { value_input, .. } => value_input,
        }
    }
    /// The value network's input rows for policy inputs `obs` under the acting
    /// distributions `dist`, or `None` when it reads the policy's input.
    fn value_features(&self, obs: &[f32], dist: &DistParams, episode_steps: &[u32], rows: usize) -> Option<Vec<f32>> {
        match self.value_input() {
            ValueInput::Observation => None,
            ValueInput::ObservationDistTime => value_features(obs, dist, episode_steps, rows),
        }
    }
    /// Indices of the blocks of `group`.
    fn group_blocks(&self, group: Group) -> Vec<usize> {
        self.blocks().iter().enumerate().filter(|(_, b)| b.group == group).map(|(i, _)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_per_row_walk_the_convolutions() {
        // ACKTR's Atari torso on 4 x 84 x 84: conv 8x8/4 -> 20x20 (400 x (4*64 + 32)),
        // 4x4/2 -> 9x9 (81 x (32*16 + 64)), 3x3/1 -> 7x7 (49 x (64*9 + 32)), fc 1568 -> 512.
        let atari = Architecture::AtariAcktr.floats_per_row(&[4, 84, 84], Activation::Relu).unwrap();
        assert_eq!(atari, 400 * 288 + 81 * 576 + 49 * 608 + (1568 + 512));
        // Two layers of 64 on 11 inputs.
        assert_eq!(Architecture::Mlp64x64.floats_per_row(&[11], Activation::Tanh).unwrap(), 11 + 64 + 64 + 64);
        assert!(Architecture::Nature.floats_per_row(&[11], Activation::Relu).is_err());
    }
}
