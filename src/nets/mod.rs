//! Networks on dfdx 0.13 (CPU): linear layers, MLP torsos with their hidden widths in the
//! type, categorical and diagonal-Gaussian policy heads, a value head, and the
//! actor-critic that joins them (shared torso or separate policy and value torsos).
//!
//! Paper appendix A.2: continuous control uses a 64-64 tanh policy with a
//! state-independent log standard deviation and a separate 64-64 ELU value network.
//! Initialisation follows openai/baselines (`a2c/utils.py::fc`, `common/policies.py`):
//! orthogonal weights with gain sqrt(2) in the torso, 0.01 for the policy head, 1 for the
//! value head, zero biases, log std initialised to 0.
//!
//! Layouts follow PyTorch (`weight: (out, in)`), so parameters line up with the K-FAC
//! conformance cases (`../shared/kfac-conformance/FORMAT.md`).

pub mod init;
pub mod ops;
pub mod seq;

use dfdx::prelude::*;
use rand::Rng;
use rand_distr::StandardNormal;

use crate::env::{Action, ActionSpace};
use crate::kfac::{LayerKind, LayerStats};

/// The device every network runs on (CPU; dfdx's cudarc backend later).
pub type Dev = Cpu;
/// A batch of rows with `C` columns.
pub type Batch<C, T = NoneTape> = Tensor<(usize, C), f32, Dev, T>;
/// A batch of scalars.
pub type Column<T = NoneTape> = Tensor<(usize,), f32, Dev, T>;

/// ln(2 pi).
const LN_2PI: f32 = 1.837_877_1;

/// How weights are initialised (biases are 0, the log std 0, in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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
}

impl Init {
    fn gains(self) -> (f64, f64, f64) {
        match self {
            Init::Orthogonal => (std::f64::consts::SQRT_2, 0.01, 1.0),
            Init::Normc => (1.0, 0.1, 1.0),
        }
    }
}

/// What the value network reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueInput {
    /// The policy's input.
    #[default]
    Observation,
    /// baselines `acktr/value_functions.py::_preproc` (l. 34-39): the policy's input, the
    /// acting distribution's mean and standard deviation, the step within the episode / 10,
    /// and a constant 1 (`ob_dim*2 + ac_dim*2 + 2` columns there).
    ObservationDistTime,
}

/// Element-wise nonlinearity after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Tanh,
    Relu,
    /// ELU with alpha 1 (the value network of paper appendix A.2).
    Elu,
}

impl Activation {
    /// Applies the nonlinearity, recording it on the tape.
    pub fn apply<S: Shape, T: Tape<f32, Dev>>(self, x: Tensor<S, f32, Dev, T>) -> Tensor<S, f32, Dev, T> {
        match self {
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::Elu => ops::elu(x),
        }
    }
}

/// A fully connected layer `s = x W^T + b` with `W: (O, I)`.
#[derive(Debug, Clone)]
pub struct Linear<I: Dim, O: Dim> {
    pub weight: Tensor<(O, I), f32, Dev>,
    pub bias: Tensor<(O,), f32, Dev>,
}

impl<I: Dim, O: Dim> Linear<I, O> {
    /// Orthogonal weights times `gain`, zero bias (baselines `ortho_init`).
    pub fn new(dev: &Dev, input: I, output: O, gain: f64, rng: &mut impl Rng) -> Self {
        Self::with_init(dev, input, output, Init::Orthogonal, gain, rng)
    }

    /// Weights by `init` at `gain` (orthogonal gain or normc norm), zero bias.
    pub fn with_init(dev: &Dev, input: I, output: O, init: Init, gain: f64, rng: &mut impl Rng) -> Self {
        let w = match init {
            Init::Orthogonal => init::orthogonal(output.size(), input.size(), gain, rng),
            Init::Normc => init::normc(output.size(), input.size(), gain, rng),
        };
        Self { weight: dev.tensor_from_vec(w, (output, input)), bias: dev.zeros_like(&(output,)) }
    }

    /// `x W^T + b` for a batch `x: (B, I)`.
    pub fn forward<T: Tape<f32, Dev>>(&self, x: Batch<I, T>) -> Batch<O, T> {
        self.forward_traced(x, None)
    }

    /// As [`Self::forward`], recording the input and pre-activation for K-FAC.
    pub fn forward_traced<T: Tape<f32, Dev>>(&self, x: Batch<I, T>, trace: Option<&mut Vec<TraceEntry>>) -> Batch<O, T> {
        let a = trace.as_ref().map(|_| x.as_vec());
        let batch = x.shape().0;
        let y = x.matmul(self.weight.retaped::<T>().permute::<(I, O), Axes2<1, 0>>());
        let shape = *y.shape();
        let s = y + self.bias.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
        if let (Some(t), Some(a)) = (trace, a) {
            t.push(TraceEntry::new(LayerKind::Linear, batch, a, self.weight.shape().1.size(), self.weight.shape().0.size(), &s));
        }
        s
    }

    fn visit<'a>(&'a mut self, out: &mut Vec<&'a mut dyn ParamTensor>) {
        out.push(&mut self.weight);
        out.push(&mut self.bias);
    }
}

/// Two hidden layers of widths `H1` and `H2` (fixed in the type) over a run-time input.
#[derive(Debug, Clone)]
pub struct Mlp<const H1: usize, const H2: usize> {
    pub l1: Linear<usize, Const<H1>>,
    pub l2: Linear<Const<H1>, Const<H2>>,
    pub activation: Activation,
}

impl<const H1: usize, const H2: usize> Mlp<H1, H2> {
    /// Builds the torso with baselines' gain sqrt(2).
    pub fn new(dev: &Dev, input: usize, activation: Activation, rng: &mut impl Rng) -> Self {
        Self::with_init(dev, input, activation, Init::Orthogonal, rng)
    }

    /// Builds the torso with `init`'s torso gain.
    pub fn with_init(dev: &Dev, input: usize, activation: Activation, init: Init, rng: &mut impl Rng) -> Self {
        let g = init.gains().0;
        Self {
            l1: Linear::with_init(dev, input, Const, init, g, rng),
            l2: Linear::with_init(dev, Const, Const, init, g, rng),
            activation,
        }
    }

    /// `act(l2(act(l1(x))))`, recording both layers when `trace` is given.
    pub fn forward<T: Tape<f32, Dev>>(&self, x: Batch<usize, T>, mut trace: Option<&mut Vec<TraceEntry>>) -> Batch<Const<H2>, T> {
        let h = self.activation.apply(self.l1.forward_traced(x, trace.as_deref_mut()));
        self.activation.apply(self.l2.forward_traced(h, trace))
    }

    fn visit<'a>(&'a mut self, out: &mut Vec<&'a mut dyn ParamTensor>) {
        self.l1.visit(out);
        self.l2.visit(out);
    }
}

/// Whether policy and value share a torso.
#[derive(Debug, Clone)]
pub enum Torsos<const H: usize> {
    /// One torso feeding both heads (baselines' Atari policies).
    Shared(Mlp<H, H>),
    /// Separate policy and value torsos (paper appendix A.2).
    Separate { policy: Mlp<H, H>, value: Mlp<H, H> },
}

/// The policy's distribution head.
#[derive(Debug, Clone)]
pub enum PolicyHead<const H: usize> {
    /// Logits of a categorical distribution.
    Categorical(Linear<Const<H>, usize>),
    /// Mean of a diagonal Gaussian with a state-independent log standard deviation.
    Gaussian { mean: Linear<Const<H>, usize>, log_std: Tensor<(usize,), f32, Dev> },
}

/// A batch of actions as stored in a rollout.
#[derive(Debug, Clone)]
pub enum ActionBatch<'a> {
    /// One index per row.
    Discrete(&'a [f32]),
    /// `dim` reals per row, row-major.
    Continuous { values: &'a [f32], dim: usize },
}

/// Per-row log-probability, entropy and value of a batch, with the tape that produced them
/// carried separately so a loss can combine the three.
pub struct Evaluation<T> {
    pub log_prob: Column,
    pub entropy: Column,
    pub value: Column,
    pub tape: T,
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

/// Distribution parameters of a batch, for acting.
#[derive(Debug, Clone)]
pub enum DistParams {
    Categorical { logits: Vec<f32>, n: usize },
    Gaussian { mean: Vec<f32>, log_std: Vec<f32> },
}

/// A parameter tensor seen as a flat float32 vector (for first-order optimizers).
pub trait ParamTensor {
    /// Number of scalars.
    fn numel(&self) -> usize;
    /// Its values, row-major.
    fn read(&self) -> Vec<f32>;
    /// Overwrites its values.
    fn write(&mut self, values: &[f32]);
    /// Its gradient in `grads` (zeros when the loss did not touch it).
    fn grad(&self, grads: &mut Gradients<f32, Dev>) -> Vec<f32>;
    /// Its gradient widened to float64 (what K-FAC works in).
    fn grad_f64(&self, grads: &mut Gradients<f32, Dev>) -> Vec<f64> {
        self.grad(grads).into_iter().map(f64::from).collect()
    }
    /// Adds a float64 change (a K-FAC step) to its values.
    fn add_f64(&mut self, delta: &[f64]) {
        let v: Vec<f32> = self.read().iter().zip(delta).map(|(x, d)| (f64::from(*x) + d) as f32).collect();
        self.write(&v);
    }
}

impl<S: Shape> ParamTensor for Tensor<S, f32, Dev> {
    fn numel(&self) -> usize {
        self.shape().num_elements()
    }
    fn read(&self) -> Vec<f32> {
        self.as_vec()
    }
    fn write(&mut self, values: &[f32]) {
        self.copy_from(values);
    }
    fn grad(&self, grads: &mut Gradients<f32, Dev>) -> Vec<f32> {
        grads.try_alloc_for(self).expect("cpu allocation");
        grads.get(self).as_vec()
    }
}

/// One layer's record from a traced forward pass: its input rows `a` and a handle on its
/// pre-activation `s`, whose gradient (after a backward pass) is K-FAC's `g`.
pub struct TraceEntry {
    pub kind: LayerKind,
    pub batch: usize,
    pub a: Vec<f32>,
    pub in_dim: usize,
    pub out_dim: usize,
    s: Box<dyn ParamTensor>,
}

impl TraceEntry {
    /// Records a layer; `s` is kept by id (no copy of its data).
    pub fn new<S: Shape, T>(kind: LayerKind, batch: usize, a: Vec<f32>, in_dim: usize, out_dim: usize, s: &Tensor<S, f32, Dev, T>) -> Self {
        Self { kind, batch, a, in_dim, out_dim, s: Box::new(s.retaped::<NoneTape>()) }
    }

    /// K-FAC statistics, taking `g = dL/ds` from `grads`.
    pub fn stats(self, grads: &mut Gradients<f32, Dev>) -> LayerStats {
        LayerStats { kind: self.kind, batch: self.batch, a: self.a, in_dim: self.in_dim, g: self.s.grad(grads), out_dim: self.out_dim }
    }
}

/// Which network a K-FAC layer belongs to (separate networks get separate optimizers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Policy,
    Value,
}

/// A K-FAC layer's parameters: weight `(out, in)` (absent for a bare bias) and bias.
pub struct KfacParams<'a> {
    pub group: Group,
    pub weight: Option<&'a mut dyn ParamTensor>,
    pub bias: &'a mut dyn ParamTensor,
}

/// Policy and value network (paper section 3, appendix A).
#[derive(Debug, Clone)]
pub struct ActorCritic<const H: usize> {
    pub torsos: Torsos<H>,
    pub head: PolicyHead<H>,
    pub value: Linear<Const<H>, Const<1>>,
    value_input: ValueInput,
    dev: Dev,
}

/// How to build an [`ActorCritic`].
#[derive(Debug, Clone, Copy)]
pub struct ActorCriticConfig {
    /// Shared or separate torsos.
    pub shared: bool,
    /// Policy torso nonlinearity.
    pub policy_activation: Activation,
    /// Value torso nonlinearity (used when separate).
    pub value_activation: Activation,
    /// Weight initialisation.
    pub init: Init,
    /// What the value network reads (separate torsos only).
    pub value_input: ValueInput,
}

impl<const H: usize> ActorCritic<H> {
    /// Builds the network for `obs_dim` inputs and the given action space. A
    /// [`ValueInput::ObservationDistTime`] value torso reads `obs_dim + 2 act_dim + 2`
    /// columns (separate torsos, continuous actions).
    pub fn new(obs_dim: usize, actions: &ActionSpace, cfg: ActorCriticConfig, rng: &mut impl Rng) -> Self {
        let dev = Dev::default();
        let (_, head_gain, value_gain) = cfg.init.gains();
        let value_dim = match (cfg.value_input, actions) {
            (ValueInput::ObservationDistTime, ActionSpace::Continuous { dim, .. }) if !cfg.shared => obs_dim + 2 * dim + 2,
            (ValueInput::ObservationDistTime, _) => panic!("observation_dist_time needs separate torsos and continuous actions"),
            (ValueInput::Observation, _) => obs_dim,
        };
        let torsos = if cfg.shared {
            Torsos::Shared(Mlp::with_init(&dev, obs_dim, cfg.policy_activation, cfg.init, rng))
        } else {
            Torsos::Separate {
                policy: Mlp::with_init(&dev, obs_dim, cfg.policy_activation, cfg.init, rng),
                value: Mlp::with_init(&dev, value_dim, cfg.value_activation, cfg.init, rng),
            }
        };
        let head = match actions {
            ActionSpace::Discrete { n } => PolicyHead::Categorical(Linear::with_init(&dev, Const, *n, cfg.init, head_gain, rng)),
            ActionSpace::Continuous { dim, .. } => PolicyHead::Gaussian {
                mean: Linear::with_init(&dev, Const, *dim, cfg.init, head_gain, rng),
                log_std: dev.zeros_like(&(*dim,)),
            },
        };
        let value = Linear::with_init(&dev, Const, Const, cfg.init, value_gain, rng);
        Self { torsos, head, value, value_input: cfg.value_input, dev }
    }

    /// What the value network reads.
    pub fn value_input(&self) -> ValueInput {
        self.value_input
    }

    /// The value network's input rows for policy inputs `obs`, the acting distributions
    /// `dist` and the steps within the episode: `[obs, mean, std, t / 10, 1]`
    /// ([`ValueInput::ObservationDistTime`]), or `None` when it reads the observation.
    pub fn value_features(&self, obs: &[f32], dist: &DistParams, episode_steps: &[u32], rows: usize) -> Option<Vec<f32>> {
        if self.value_input == ValueInput::Observation {
            return None;
        }
        let DistParams::Gaussian { mean, log_std } = dist else {
            panic!("observation_dist_time needs a Gaussian policy");
        };
        let od = obs.len() / rows.max(1);
        let ad = log_std.len();
        let std: Vec<f32> = log_std.iter().map(|l| l.exp()).collect();
        let mut out = Vec::with_capacity(rows * (od + 2 * ad + 2));
        for r in 0..rows {
            out.extend_from_slice(&obs[r * od..(r + 1) * od]);
            out.extend_from_slice(&mean[r * ad..(r + 1) * ad]);
            out.extend_from_slice(&std);
            out.push(episode_steps[r] as f32 / 10.0);
            out.push(1.0);
        }
        Some(out)
    }

    /// The device.
    pub fn device(&self) -> &Dev {
        &self.dev
    }

    /// Every parameter, in a fixed order.
    pub fn params_mut(&mut self) -> Vec<&mut dyn ParamTensor> {
        let mut out: Vec<&mut dyn ParamTensor> = Vec::new();
        match &mut self.torsos {
            Torsos::Shared(m) => m.visit(&mut out),
            Torsos::Separate { policy, value } => {
                policy.visit(&mut out);
                value.visit(&mut out);
            }
        }
        match &mut self.head {
            PolicyHead::Categorical(l) => l.visit(&mut out),
            PolicyHead::Gaussian { mean, log_std } => {
                mean.visit(&mut out);
                out.push(log_std);
            }
        }
        self.value.visit(&mut out);
        out
    }

    /// All parameters as one flat vector (order of [`Self::params_mut`]).
    pub fn flat_params(&mut self) -> Vec<f32> {
        self.params_mut().iter().flat_map(|p| p.read()).collect()
    }

    /// Overwrites all parameters from one flat vector.
    pub fn set_flat_params(&mut self, flat: &[f32]) {
        let mut at = 0;
        for p in self.params_mut() {
            let n = p.numel();
            p.write(&flat[at..at + n]);
            at += n;
        }
        assert_eq!(at, flat.len(), "flat parameter vector has the wrong length");
    }

    /// All gradients as one flat vector (order of [`Self::params_mut`]).
    pub fn flat_grads(&mut self, grads: &mut Gradients<f32, Dev>) -> Vec<f32> {
        self.params_mut().iter().flat_map(|p| p.grad(grads)).collect()
    }

    /// Turns a row-major observation buffer into a batch tensor.
    pub fn obs_tensor(&self, obs: &[f32], rows: usize) -> Batch<usize> {
        let cols = obs.len() / rows.max(1);
        self.dev.tensor_from_vec(obs.to_vec(), (rows, cols))
    }

    /// K-FAC layers in the order a traced [`Self::evaluate`] records them: torso(s)
    /// (policy, then value), value head, policy head, then the Gaussian log std.
    pub fn kfac_params_mut(&mut self) -> Vec<KfacParams<'_>> {
        fn lin<'a, I: Dim, O: Dim>(l: &'a mut Linear<I, O>, group: Group) -> KfacParams<'a> {
            KfacParams { group, weight: Some(&mut l.weight), bias: &mut l.bias }
        }
        let shared = self.is_shared();
        let mut out = Vec::new();
        match &mut self.torsos {
            Torsos::Shared(m) => {
                out.push(lin(&mut m.l1, Group::Policy));
                out.push(lin(&mut m.l2, Group::Policy));
            }
            Torsos::Separate { policy, value } => {
                out.push(lin(&mut policy.l1, Group::Policy));
                out.push(lin(&mut policy.l2, Group::Policy));
                out.push(lin(&mut value.l1, Group::Value));
                out.push(lin(&mut value.l2, Group::Value));
            }
        }
        out.push(lin(&mut self.value, if shared { Group::Policy } else { Group::Value }));
        match &mut self.head {
            PolicyHead::Categorical(l) => out.push(lin(l, Group::Policy)),
            PolicyHead::Gaussian { mean, log_std } => {
                out.push(lin(mean, Group::Policy));
                out.push(KfacParams { group: Group::Policy, weight: None, bias: log_std });
            }
        }
        out
    }

    /// True when policy and value share a torso (one joint Fisher).
    pub fn is_shared(&self) -> bool {
        matches!(self.torsos, Torsos::Shared(_))
    }

    fn torso_outputs<T: Tape<f32, Dev>>(
        &self,
        obs: Batch<usize, T>,
        value_obs: Option<Batch<usize>>,
        parts: Parts,
        mut trace: Option<&mut Vec<TraceEntry>>,
    ) -> (Option<Batch<Const<H>>>, Option<Batch<Const<H>>>, T) {
        let (obs, tape) = obs.split_tape();
        match &self.torsos {
            Torsos::Shared(m) => {
                let (h, tape) = m.forward(obs.put_tape(tape), trace).split_tape();
                (parts.policy.then(|| h.clone()), parts.value.then_some(h), tape)
            }
            Torsos::Separate { policy, value } => {
                let (hp, tape) = if parts.policy {
                    let (h, t) = policy.forward(obs.clone().put_tape(tape), trace.as_deref_mut()).split_tape();
                    (Some(h), t)
                } else {
                    (None, tape)
                };
                let (hv, tape) = if parts.value {
                    let (h, t) = value.forward(value_obs.unwrap_or(obs).put_tape(tape), trace).split_tape();
                    (Some(h), t)
                } else {
                    (None, tape)
                };
                (hp, hv, tape)
            }
        }
    }

    /// Log-probabilities of `actions`, entropies and values for a batch of observations,
    /// all recorded on one tape.
    pub fn evaluate<T: Tape<f32, Dev>>(&self, obs: Batch<usize, T>, actions: &ActionBatch) -> Evaluation<T> {
        self.evaluate_traced(obs, None, actions, Parts::ALL, None)
    }

    /// As [`Self::evaluate`] for the chosen `parts` (what is not asked for is returned as
    /// zeros and not computed when the torsos are separate), recording every K-FAC layer it
    /// runs (order of [`Self::kfac_params_mut`]) when `trace` is given. `value_obs` is
    /// the value network's input when it differs from the policy's
    /// ([`Self::value_features`]).
    pub fn evaluate_traced<T: Tape<f32, Dev>>(
        &self,
        obs: Batch<usize, T>,
        value_obs: Option<&[f32]>,
        actions: &ActionBatch,
        parts: Parts,
        mut trace: Option<&mut Vec<TraceEntry>>,
    ) -> Evaluation<T> {
        let rows = obs.shape().0;
        let zeros = || -> Column { self.dev.zeros_like(&(rows,)) };
        let value_obs = value_obs.map(|v| self.obs_tensor(v, rows));
        let (h_pi, h_v, tape) = self.torso_outputs(obs, value_obs, parts, trace.as_deref_mut());
        let (value, tape) = match h_v {
            Some(h_v) => self.value.forward_traced(h_v.put_tape(tape), trace.as_deref_mut()).sum::<(usize,), Axis<1>>().split_tape(),
            None => (zeros(), tape),
        };
        let Some(h_pi) = h_pi else {
            return Evaluation { log_prob: zeros(), entropy: zeros(), value, tape };
        };
        match (&self.head, actions) {
            (PolicyHead::Categorical(logits), ActionBatch::Discrete(idx)) => {
                let n = logits.bias.shape().0;
                let (lsm, tape) = logits.forward_traced(h_pi.put_tape(tape), trace).log_softmax::<Axis<1>>().split_tape();
                let mut onehot = vec![0.0f32; rows * n];
                for (r, a) in idx.iter().enumerate() {
                    onehot[r * n + *a as usize] = 1.0;
                }
                let onehot = self.dev.tensor_from_vec(onehot, (rows, n));
                let (log_prob, tape) = (lsm.clone().put_tape(tape) * onehot).sum::<(usize,), Axis<1>>().split_tape();
                let (entropy, tape) =
                    (lsm.clone().put_tape(tape).exp() * lsm).sum::<(usize,), Axis<1>>().negate().split_tape();
                Evaluation { log_prob, entropy, value, tape }
            }
            (PolicyHead::Gaussian { mean, log_std }, ActionBatch::Continuous { values, dim }) => {
                let mu = mean.forward_traced(h_pi.put_tape(tape), trace.as_deref_mut());
                let shape = *mu.shape();
                let mut lsb = log_std.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
                if let Some(t) = trace {
                    // K-FAC needs each row's gradient. A broadcast tensor shares one row of
                    // storage, so its gradient reads as the batch's summed gradient on every
                    // row (which made G ~B^2 mean(g)^2, about 1000x too large on MuJoCo
                    // batches, and froze a factored log std: issue 16). Adding zeros
                    // materialises one value per row; the forward values are unchanged.
                    lsb = lsb + self.dev.zeros_like(&shape);
                    t.push(TraceEntry::new(LayerKind::Bias, rows, Vec::new(), 0, shape.1, &lsb));
                }
                let (lsb, t2) = lsb.split_tape();
                let inv_var = (lsb.clone().put_tape(t2) * -2.0).exp();
                let a = self.dev.tensor_from_vec(values.to_vec(), (rows, *dim));
                let quad = (mu - a).square() * inv_var;
                let elem = quad * -0.5 - lsb.clone() - 0.5 * LN_2PI;
                let (log_prob, tape) = elem.sum::<(usize,), Axis<1>>().split_tape();
                let ent = (lsb.put_tape(tape) + 0.5 * (1.0 + LN_2PI)).sum::<(usize,), Axis<1>>();
                let (entropy, tape) = ent.split_tape();
                Evaluation { log_prob, entropy, value, tape }
            }
            _ => panic!("action batch does not match the policy head"),
        }
    }

    /// Distribution parameters and values of a batch (no tape); `episode_steps` feed a
    /// value network with time features.
    pub fn forward(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> (DistParams, Vec<f32>) {
        if self.value_input != ValueInput::Observation {
            let dist = self.policy_dist(obs, rows);
            let values = self.values_under(obs, &dist, episode_steps, rows);
            return (dist, values);
        }
        let (h_pi, h_v, _) = self.torso_outputs(self.obs_tensor(obs, rows), None, Parts::ALL, None);
        let (h_pi, h_v) = (h_pi.expect("asked for"), h_v.expect("asked for"));
        let values = self.value.forward(h_v).as_vec();
        let dist = self.dist_of(h_pi);
        (dist, values)
    }

    /// Distribution parameters of a batch (no tape; only the policy torso runs when the
    /// torsos are separate).
    pub fn policy_dist(&self, obs: &[f32], rows: usize) -> DistParams {
        let (h_pi, _, _) = self.torso_outputs(self.obs_tensor(obs, rows), None, Parts::POLICY, None);
        self.dist_of(h_pi.expect("asked for"))
    }

    fn dist_of(&self, h_pi: Batch<Const<H>>) -> DistParams {
        match &self.head {
            PolicyHead::Categorical(l) => DistParams::Categorical { logits: l.forward(h_pi).as_vec(), n: l.bias.shape().0 },
            PolicyHead::Gaussian { mean, log_std } => {
                DistParams::Gaussian { mean: mean.forward(h_pi).as_vec(), log_std: log_std.as_vec() }
            }
        }
    }

    /// Values of a batch (no tape); with time features, under the current policy's
    /// distribution.
    pub fn values(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> Vec<f32> {
        match self.value_input {
            ValueInput::Observation => self.values_under_features(obs, None, rows),
            ValueInput::ObservationDistTime => self.values_under(obs, &self.policy_dist(obs, rows), episode_steps, rows),
        }
    }

    /// Values under an acting distribution already computed for these rows (the rollout
    /// loop's, so the policy torso runs once per step).
    fn values_under(&self, obs: &[f32], dist: &DistParams, episode_steps: &[u32], rows: usize) -> Vec<f32> {
        self.values_under_features(obs, self.value_features(obs, dist, episode_steps, rows), rows)
    }

    fn values_under_features(&self, obs: &[f32], features: Option<Vec<f32>>, rows: usize) -> Vec<f32> {
        let value_obs = features.map(|f| self.obs_tensor(&f, rows));
        let (_, h_v, _) = self.torso_outputs(self.obs_tensor(obs, rows), value_obs, Parts::VALUE, None);
        self.value.forward(h_v.expect("asked for")).as_vec()
    }
}

impl DistParams {
    /// Appends the rows of `other` (same kind of distribution).
    pub fn extend(&mut self, other: &DistParams) {
        match (self, other) {
            (DistParams::Categorical { logits, .. }, DistParams::Categorical { logits: l, .. }) => logits.extend_from_slice(l),
            (DistParams::Gaussian { mean, .. }, DistParams::Gaussian { mean: m, .. }) => mean.extend_from_slice(m),
            _ => panic!("cannot join different distributions"),
        }
    }

    /// Samples one action per row: the environment's action and its stored form.
    pub fn sample(&self, rng: &mut impl Rng) -> (Vec<Action>, Vec<f32>) {
        match self {
            DistParams::Categorical { logits, n } => {
                let rows = logits.len() / n;
                let mut actions = Vec::with_capacity(rows);
                let mut stored = Vec::with_capacity(rows);
                for row in logits.chunks(*n) {
                    let a = sample_categorical(row, rng);
                    actions.push(Action::Discrete(a));
                    stored.push(a as f32);
                }
                (actions, stored)
            }
            DistParams::Gaussian { mean, log_std } => {
                let dim = log_std.len();
                let mut actions = Vec::with_capacity(mean.len() / dim);
                let mut stored = Vec::with_capacity(mean.len());
                for row in mean.chunks(dim) {
                    let a: Vec<f32> = row
                        .iter()
                        .zip(log_std)
                        .map(|(m, ls)| m + ls.exp() * rng.sample::<f32, _>(StandardNormal))
                        .collect();
                    actions.push(Action::Continuous(a.iter().map(|&x| f64::from(x)).collect()));
                    stored.extend_from_slice(&a);
                }
                (actions, stored)
            }
        }
    }
}

/// Inverse-CDF sample from softmax(logits).
fn sample_categorical(logits: &[f32], rng: &mut impl Rng) -> usize {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let w: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
    let total: f64 = w.iter().sum();
    let mut u = rng.gen::<f64>() * total;
    for (i, wi) in w.iter().enumerate() {
        if u < *wi {
            return i;
        }
        u -= wi;
    }
    w.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// `sum(0.7 logp - 0.3 entropy + 0.5 value)`, with or without a tape.
    fn loss_value(net: &ActorCritic<64>, obs: &[f32], rows: usize, actions: &ActionBatch) -> f32 {
        let ev = net.evaluate(net.obs_tensor(obs, rows), actions);
        let l = ev.log_prob.as_vec().into_iter().zip(ev.entropy.as_vec()).zip(ev.value.as_vec());
        l.map(|((lp, e), v)| 0.7 * lp - 0.3 * e + 0.5 * v).sum()
    }

    fn check_gradients(shared: bool, actions_space: ActionSpace) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let cfg = ActorCriticConfig {
            shared,
            policy_activation: Activation::Tanh,
            value_activation: Activation::Elu,
            init: Init::Orthogonal,
            value_input: ValueInput::Observation,
        };
        let mut net = ActorCritic::<64>::new(3, &actions_space, cfg, &mut rng);
        // Larger head weights than the 0.01 init so every path carries signal.
        let mut p = net.flat_params();
        for x in p.iter_mut() {
            *x += 0.1 * rng.sample::<f32, _>(StandardNormal);
        }
        net.set_flat_params(&p);
        let rows = 5;
        let obs: Vec<f32> = (0..rows * 3).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let stored: Vec<f32> = match &actions_space {
            ActionSpace::Discrete { n } => (0..rows).map(|i| (i % n) as f32).collect(),
            ActionSpace::Continuous { dim, .. } => (0..rows * dim).map(|_| rng.sample::<f32, _>(StandardNormal)).collect(),
        };
        let actions = match &actions_space {
            ActionSpace::Discrete { .. } => ActionBatch::Discrete(&stored),
            ActionSpace::Continuous { dim, .. } => ActionBatch::Continuous { values: &stored, dim: *dim },
        };
        let ev = net.evaluate(net.obs_tensor(&obs, rows).retaped::<OwnedTape<f32, Dev>>(), &actions);
        let dev = net.device().clone();
        let w = |x: f32| dev.tensor_from_vec(vec![x; rows], (rows,));
        let (a, tape) = (ev.log_prob.put_tape(ev.tape) * w(0.7)).sum().split_tape();
        let (b, tape) = (ev.entropy.put_tape(tape) * w(-0.3)).sum().split_tape();
        let loss = (ev.value.put_tape(tape) * w(0.5)).sum() + a + b;
        let mut grads = loss.backward();
        let g = net.flat_grads(&mut grads);
        let base = net.flat_params();
        let gmax = g.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let eps = 1e-2f32;
        for i in (0..base.len()).step_by(7) {
            let mut q = base.clone();
            q[i] += eps;
            net.set_flat_params(&q);
            let up = loss_value(&net, &obs, rows, &actions);
            q[i] -= 2.0 * eps;
            net.set_flat_params(&q);
            let down = loss_value(&net, &obs, rows, &actions);
            let fd = (up - down) / (2.0 * eps);
            assert!((fd - g[i]).abs() <= 2e-2 * gmax + 2e-3, "param {i}: autodiff {} vs finite difference {fd}", g[i]);
        }
        net.set_flat_params(&base);
    }

    #[test]
    fn gradients_match_finite_differences_categorical_shared() {
        check_gradients(true, ActionSpace::Discrete { n: 3 });
    }

    #[test]
    fn gradients_match_finite_differences_gaussian_separate() {
        check_gradients(false, ActionSpace::Continuous { dim: 2, low: vec![-1.0; 2], high: vec![1.0; 2] });
    }

    #[test]
    fn the_log_std_trace_holds_each_rows_gradient() {
        // For L = -mean_r log pi(a_r), dL/d(log std_j) at row r is -(z_rj^2 - 1) / B.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let cfg = ActorCriticConfig {
            shared: false,
            policy_activation: Activation::Tanh,
            value_activation: Activation::Tanh,
            init: Init::Orthogonal,
            value_input: ValueInput::Observation,
        };
        let space = ActionSpace::Continuous { dim: 2, low: vec![-1.0; 2], high: vec![1.0; 2] };
        let net = ActorCritic::<64>::new(3, &space, cfg, &mut rng);
        let rows = 6;
        let obs: Vec<f32> = (0..rows * 3).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let acts: Vec<f32> = (0..rows * 2).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let actions = ActionBatch::Continuous { values: &acts, dim: 2 };
        let mut trace = Vec::new();
        let ev = net.evaluate_traced(net.obs_tensor(&obs, rows).retaped::<OwnedTape<f32, Dev>>(), None, &actions, Parts::POLICY, Some(&mut trace));
        let w = net.device().tensor_from_vec(vec![-1.0 / rows as f32; rows], (rows,));
        let mut grads = (ev.log_prob.put_tape(ev.tape) * w).sum().backward();
        let DistParams::Gaussian { mean, log_std } = net.policy_dist(&obs, rows) else { unreachable!() };
        let stats = trace.pop().expect("the log std is traced last").stats(&mut grads);
        assert_eq!(stats.kind, LayerKind::Bias);
        for r in 0..rows {
            for j in 0..2 {
                let z = (acts[r * 2 + j] - mean[r * 2 + j]) / log_std[j].exp();
                let expected = -(z * z - 1.0) / rows as f32;
                assert!((stats.g[r * 2 + j] - expected).abs() < 1e-5, "row {r} dim {j}: {} vs {expected}", stats.g[r * 2 + j]);
            }
        }
    }

    #[test]
    fn elu_matches_its_definition() {
        let dev = Dev::default();
        let x = dev.tensor_from_vec(vec![-2.0f32, -0.5, 0.0, 0.5, 3.0], (5,));
        let y = Activation::Elu.apply(x.clone()).as_vec();
        for (xi, yi) in x.as_vec().iter().zip(y) {
            let e = if *xi > 0.0 { *xi } else { xi.exp() - 1.0 };
            assert!((yi - e).abs() < 1e-6);
        }
    }
}
