//! The actor-critic on the CPU engine: torso(s) ([`SeqNet`]), a categorical or diagonal
//! Gaussian policy head (state-independent log std, paper appendix A.2), and a linear value
//! head; shared or separate policy and value torsos.

use dfdx::prelude::*;
use rand::Rng;

use std::borrow::Cow;

use super::dense;
use super::gram;
use super::plain;
use super::{Batch, Column, Dev, Linear, Param, ParamTensor, SeqNet, TraceEntry};
use crate::env::ActionSpace;
use crate::nets::blocks::{BlockSpec, BlockValues, Group, KfacBlocks, LayerGrads, LayerGrams, LayerKind};
use crate::nets::{
    Activation, LayerSpec, ActionBatch, ActorCriticNet, ActorCriticSpec, DistParams, FisherQuery, GradsWanted, LayerStats, InputNorm, Layout, LossOutput, LossQuery, NetError, Parts,
    TrpoNet, ValueInput, ValueTarget,
};

/// ln(2 pi).
const LN_2PI: f32 = 1.837_877_1;

/// Whether policy and value share a torso.
#[derive(Debug, Clone)]
enum Torsos {
    Shared(SeqNet),
    Separate { policy: SeqNet, value: SeqNet },
}

/// The policy's distribution head.
#[derive(Debug, Clone)]
enum PolicyHead {
    /// Logits of a categorical distribution.
    Categorical(Linear),
    /// Mean of a diagonal Gaussian with a state-independent log standard deviation.
    Gaussian { mean: Linear, log_std: Param<(usize,)> },
}

/// Per-row log-probability, entropy and value of a batch, with the tape that produced them
/// carried separately so a loss can combine the three.
struct Evaluation<T> {
    log_prob: Column,
    entropy: Column,
    value: Column,
    tape: T,
}

/// Policy and value network (paper section 3, appendix A) on the CPU engine.
#[derive(Debug, Clone)]
pub struct ActorCritic {
    torsos: Torsos,
    head: PolicyHead,
    value: Linear,
    layout: Layout,
    blocks: Vec<BlockSpec>,
    dev: Dev,
    /// Normalisation of observation rows before the torso(s) ([`InputNorm`]).
    norm: Option<InputNorm>,
    /// Threads for the plain kernels' products and K-FAC statistics (results do not depend
    /// on it).
    threads: usize,
    scratch: Scratch,
}

/// Refuses a list of wanted blocks ([`GradsWanted::Blocks`]) that names one twice, or one
/// not among the `declared`.
fn check_wanted(which: &[usize], declared: usize) -> Result<(), NetError> {
    for (k, &i) in which.iter().enumerate() {
        if i >= declared || which[..k].contains(&i) {
            return Err(NetError::Block { index: i, name: String::new(), why: "asked for twice or not declared".into() });
        }
    }
    Ok(())
}

/// Float32 values widened to float64 (what K-FAC works in).
fn wide(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// The plain kernels' buffers ([`plain::PlainWork`]), reused from call to call, and the
/// rollout's forward passes ([`RolloutForward`]). Not part of the network's value: a clone
/// starts with empty buffers.
#[derive(Default)]
struct Scratch {
    work: std::sync::Mutex<plain::PlainWork>,
    rollout: std::sync::Mutex<RolloutForward>,
}

impl Scratch {
    fn work(&self) -> std::sync::MutexGuard<'_, plain::PlainWork> {
        self.work.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rollout(&self) -> std::sync::MutexGuard<'_, RolloutForward> {
        self.rollout.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch")
    }
}

/// The forward passes a rollout ran while acting (a shared conv torso through [`plain`]),
/// appended step by step: the update's loss on that batch, with the same parameters, reads
/// them instead of running the forward pass again. Acting on `B` copies for `T` steps with
/// fixed parameters computes the torso on exactly the `T B` rows of the update's batch, in
/// its order, and every row's products are the same bits whatever the number of rows
/// ([`plain::forward_append`]), so the loss is unchanged (tested below). The loss uses them
/// only when the batch's inputs and the torso's parameters are the ones recorded; anything
/// else runs the forward pass as before.
#[derive(Default)]
struct RolloutForward {
    /// The torso's parameters when the passes ran (weights then biases, layer by layer).
    params: Vec<f32>,
    /// The torso's inputs, row by row.
    inputs: Vec<f32>,
    rows: usize,
    work: plain::PlainWork,
    /// A loss has read these passes: the next act starts a new rollout.
    consumed: bool,
}

/// Rows a [`RolloutForward`] keeps at most (an Atari batch is 640); a longer run of acting
/// starts over, and its loss runs its own forward pass.
const ROLLOUT_FORWARD_ROWS: usize = 4096;

/// A plain torso's parameters, flattened (what [`RolloutForward::params`] records).
fn torso_params(layers: &[plain::PlainLayer]) -> Vec<f32> {
    layers.iter().filter_map(|l| l.dense()).flat_map(|d| d.w.iter().chain(d.b).copied()).collect()
}

/// Whether `params` equals [`torso_params`] of `layers`, without building it.
fn same_params(params: &[f32], layers: &[plain::PlainLayer]) -> bool {
    let mut rest = params;
    for d in layers.iter().filter_map(|l| l.dense()) {
        for part in [d.w, d.b] {
            if rest.len() < part.len() || rest[..part.len()] != *part {
                return false;
            }
            rest = &rest[part.len()..];
        }
    }
    rest.is_empty()
}

/// Where a declared block's tensors live.
enum Slot<'a> {
    Layer(&'a mut dyn ParamTensor, &'a mut dyn ParamTensor),
    Bias(&'a mut dyn ParamTensor),
}

/// [`Slot`], read-only.
enum SlotRef<'a> {
    Layer(&'a dyn ParamTensor, &'a dyn ParamTensor),
    Bias(&'a dyn ParamTensor),
}

impl SlotRef<'_> {
    /// The block's tensors, weight first.
    fn tensors(&self) -> Vec<&dyn ParamTensor> {
        match self {
            SlotRef::Layer(w, b) => vec![*w, *b],
            SlotRef::Bias(b) => vec![*b],
        }
    }
}

impl ActorCritic {
    /// Builds the network for inputs of `input` (`[D]` or `[C, H, W]`, after the data
    /// pipeline) and the given action space. Weights are drawn from `rng` in the order
    /// policy (or shared) torso, value torso, policy head, value head.
    pub fn new(spec: &ActorCriticSpec, input: &[usize], actions: &ActionSpace, rng: &mut impl Rng) -> Result<Self, NetError> {
        let dev = Dev::default();
        let (torso_gain, head_gain, value_gain) = spec.init.gains();
        let torso = |input: &[usize], act, name: &str, group, rng: &mut _| {
            let layers = spec.architecture.layers(input, act)?;
            SeqNet::init(input, &layers, spec.init, torso_gain, name, group, rng)
        };
        let torsos = match spec.layout {
            Layout::Shared { activation } => Torsos::Shared(torso(input, activation, "torso layer", Group::Policy, rng)?),
            Layout::Separate { policy_activation, value_activation, value_input } => {
                let value_in = match (value_input, actions, input) {
                    (ValueInput::Observation, _, _) => input.to_vec(),
                    (ValueInput::ObservationDistTime, ActionSpace::Continuous { dim, .. }, [d]) => vec![d + 2 * dim + 2],
                    (ValueInput::ObservationDistTime, _, _) => {
                        return Err(NetError::Shape("value_input observation_dist_time needs vector observations and continuous actions".into()))
                    }
                };
                let policy = torso(input, policy_activation, "policy torso layer", Group::Policy, rng)?;
                let value = torso(&value_in, value_activation, "value torso layer", Group::Value, rng)?;
                Torsos::Separate { policy, value }
            }
        };
        let hidden = match &torsos {
            Torsos::Shared(t) | Torsos::Separate { policy: t, .. } => t.output_dim(),
        };
        let value_hidden = match &torsos {
            Torsos::Shared(t) | Torsos::Separate { value: t, .. } => t.output_dim(),
        };
        let linear = |input: usize, output: usize, gain: f64, rng: &mut _| {
            Linear::from_values(&dev, input, output, spec.init.weights(output, input, gain, rng), vec![0.0; output])
        };
        let head = match actions {
            ActionSpace::Discrete { n } => PolicyHead::Categorical(linear(hidden, *n, head_gain, rng)),
            ActionSpace::Continuous { dim, .. } => {
                PolicyHead::Gaussian { mean: linear(hidden, *dim, head_gain, rng), log_std: Param::new(dev.zeros_like(&(*dim,))) }
            }
        };
        let value = linear(value_hidden, 1, value_gain, rng);
        let mut net = Self { torsos, head, value, layout: spec.layout, blocks: Vec::new(), dev, norm: None, threads: 1, scratch: Scratch::default() };
        net.blocks = net.declare();
        Ok(net)
    }

    /// Separate networks with the given policy: torso layers `torso` with parameters
    /// `torso_params` (`(weight out x in(*k*k), bias)` per linear/conv layer), a linear head
    /// `(weight, bias)` giving logits, or a Gaussian's mean when `log_std` is given; the value
    /// network has the same torso and is all zeros. What TRPO's conformance cases replay.
    pub fn with_policy(
        input: &[usize],
        torso: &[LayerSpec],
        torso_params: &[(Vec<f32>, Vec<f32>)],
        head: (Vec<f32>, Vec<f32>),
        log_std: Option<Vec<f32>>,
    ) -> Result<Self, NetError> {
        let dev = Dev::default();
        let policy = SeqNet::named(input, torso, torso_params, "policy torso layer", Group::Policy)?;
        let zeros: Vec<(Vec<f32>, Vec<f32>)> = torso_params.iter().map(|(w, b)| (vec![0.0; w.len()], vec![0.0; b.len()])).collect();
        let value = SeqNet::named(input, torso, &zeros, "value torso layer", Group::Value)?;
        let hidden = policy.output_dim();
        let out = head.1.len();
        if out == 0 || head.0.len() != out * hidden {
            return Err(NetError::Shape(format!("a head of {} weights and {out} biases after {hidden} features", head.0.len())));
        }
        let linear = Linear::from_values(&dev, hidden, out, head.0, head.1);
        let (head, activation) = match log_std {
            Some(ls) if ls.len() == out => (PolicyHead::Gaussian { mean: linear, log_std: Param::new(dev.tensor_from_vec(ls, (out,))) }, Activation::Tanh),
            Some(ls) => return Err(NetError::Shape(format!("{} log stds for {out} means", ls.len()))),
            None => (PolicyHead::Categorical(linear), Activation::Tanh),
        };
        let value_head = Linear::from_values(&dev, hidden, 1, vec![0.0; hidden], vec![0.0]);
        // The layout's activations are descriptive here: the layers carry their own.
        let layout = Layout::Separate { policy_activation: activation, value_activation: activation, value_input: ValueInput::Observation };
        let mut net = Self { torsos: Torsos::Separate { policy, value }, head, value: value_head, layout, blocks: Vec::new(), dev, norm: None, threads: 1, scratch: Scratch::default() };
        net.blocks = net.declare();
        Ok(net)
    }

    /// The K-FAC blocks in the order a traced forward pass records them: torso(s) (policy,
    /// then value), value head, policy head, then the Gaussian log std.
    fn declare(&self) -> Vec<BlockSpec> {
        let shared = matches!(self.torsos, Torsos::Shared(_));
        let mut out = Vec::new();
        match &self.torsos {
            Torsos::Shared(t) => out.extend_from_slice(t.blocks()),
            Torsos::Separate { policy, value } => {
                out.extend_from_slice(policy.blocks());
                out.extend_from_slice(value.blocks());
            }
        }
        let lin = |name: &str, l: &Linear, group| BlockSpec {
            name: format!("{name} (linear {} -> {})", l.input(), l.output()),
            group,
            kind: LayerKind::Linear,
            in_dim: l.input(),
            out_dim: l.output(),
        };
        out.push(lin("value head", &self.value, if shared { Group::Policy } else { Group::Value }));
        match &self.head {
            PolicyHead::Categorical(l) => out.push(lin("policy head", l, Group::Policy)),
            PolicyHead::Gaussian { mean, log_std } => {
                out.push(lin("policy mean head", mean, Group::Policy));
                let n = log_std.numel();
                out.push(BlockSpec { name: format!("policy log std (bias, {n})"), group: Group::Policy, kind: LayerKind::Bias, in_dim: 0, out_dim: n });
            }
        }
        out
    }

    /// Every block's tensors, in declaration order.
    fn slots(&mut self) -> Vec<Slot<'_>> {
        let mut out = Vec::new();
        match &mut self.torsos {
            Torsos::Shared(t) => out.extend(t.layer_params_mut().into_iter().map(|(w, b)| Slot::Layer(w, b))),
            Torsos::Separate { policy, value } => {
                out.extend(policy.layer_params_mut().into_iter().map(|(w, b)| Slot::Layer(w, b)));
                out.extend(value.layer_params_mut().into_iter().map(|(w, b)| Slot::Layer(w, b)));
            }
        }
        out.push(Slot::Layer(&mut self.value.weight, &mut self.value.bias));
        match &mut self.head {
            PolicyHead::Categorical(l) => out.push(Slot::Layer(&mut l.weight, &mut l.bias)),
            PolicyHead::Gaussian { mean, log_std } => {
                out.push(Slot::Layer(&mut mean.weight, &mut mean.bias));
                out.push(Slot::Bias(log_std));
            }
        }
        out
    }

    /// [`Self::slots`], read-only.
    fn slots_ref(&self) -> Vec<SlotRef<'_>> {
        let mut out = Vec::new();
        match &self.torsos {
            Torsos::Shared(t) => out.extend(t.layer_params().into_iter().map(|(w, b)| SlotRef::Layer(w, b))),
            Torsos::Separate { policy, value } => {
                out.extend(policy.layer_params().into_iter().map(|(w, b)| SlotRef::Layer(w, b)));
                out.extend(value.layer_params().into_iter().map(|(w, b)| SlotRef::Layer(w, b)));
            }
        }
        out.push(SlotRef::Layer(&self.value.weight, &self.value.bias));
        match &self.head {
            PolicyHead::Categorical(l) => out.push(SlotRef::Layer(&l.weight, &l.bias)),
            PolicyHead::Gaussian { mean, log_std } => {
                out.push(SlotRef::Layer(&mean.weight, &mean.bias));
                out.push(SlotRef::Bias(log_std));
            }
        }
        out
    }

    /// The value head's index among the declared blocks: right after the torsos' layers
    /// ([`Self::declare`]).
    fn value_head_block(&self) -> usize {
        match &self.torsos {
            Torsos::Shared(t) => t.blocks().len(),
            Torsos::Separate { policy, value } => policy.blocks().len() + value.blocks().len(),
        }
    }

    /// Block indices in the flat parameter order ([`ActorCriticNet::params`]): torso(s),
    /// policy head (and log std), then the value head, which the declaration puts right
    /// after the torsos.
    fn flat_order(&self) -> Vec<usize> {
        let value_head = self.value_head_block();
        (0..self.blocks.len()).filter(|&i| i != value_head).chain(std::iter::once(value_head)).collect()
    }

    /// Turns a row-major buffer into a batch tensor.
    fn obs_tensor(&self, obs: &[f32], rows: usize) -> Batch<usize> {
        let cols = obs.len() / rows.max(1);
        self.dev.tensor_from_vec(obs.to_vec(), (rows, cols))
    }

    /// Observation rows as the torso reads them: normalised when an [`InputNorm`] is set.
    fn input_tensor(&self, obs: &[f32], rows: usize) -> Batch<usize> {
        self.obs_tensor(&self.input_rows(obs), rows)
    }

    /// The values of [`Self::input_tensor`] as rows.
    fn input_rows<'o>(&self, obs: &'o [f32]) -> Cow<'o, [f32]> {
        match &self.norm {
            None => Cow::Borrowed(obs),
            Some(n) => Cow::Owned(n.apply(obs)),
        }
    }

    fn policy_torso(&self) -> &SeqNet {
        match &self.torsos {
            Torsos::Shared(t) | Torsos::Separate { policy: t, .. } => t,
        }
    }

    fn value_torso(&self) -> &SeqNet {
        match &self.torsos {
            Torsos::Shared(t) | Torsos::Separate { value: t, .. } => t,
        }
    }

    /// The distribution given the policy head's output rows.
    fn dist_from_head(&self, out: Vec<f32>) -> DistParams {
        match &self.head {
            PolicyHead::Categorical(l) => DistParams::Categorical { logits: out, n: l.output() },
            PolicyHead::Gaussian { log_std, .. } => DistParams::Gaussian { mean: out, log_std: log_std.host().to_vec() },
        }
    }

    /// The policy's distribution for torso inputs `x` through the plain kernels of
    /// [`dense`] (the dfdx engine's forward pass bit for bit), when the torso is an MLP.
    fn dense_dist(&self, x: &[f32], rows: usize) -> Option<DistParams> {
        let mut layers = self.policy_torso().dense_layers()?;
        layers.push(self.head_linear().dense(None));
        Some(self.dist_from_head(dense::forward(&layers, x, rows, None)))
    }

    /// Values for value-torso inputs `x` through [`dense`], when the torso is an MLP.
    fn dense_values(&self, x: &[f32], rows: usize) -> Option<Vec<f32>> {
        let mut layers = self.value_torso().dense_layers()?;
        layers.push(self.value.dense(None));
        Some(dense::forward(&layers, x, rows, None))
    }

    /// [`ActorCriticNet::act`] through [`dense`] for policy-input values, when the
    /// torso(s) are MLPs; a shared torso runs once for both heads.
    fn dense_act(&self, x: &[f32], rows: usize) -> Option<(DistParams, Vec<f32>)> {
        match &self.torsos {
            Torsos::Shared(t) => {
                let h = dense::forward(&t.dense_layers()?, x, rows, None);
                let out = dense::forward(&[self.head_linear().dense(None)], &h, rows, None);
                let values = dense::forward(&[self.value.dense(None)], &h, rows, None);
                Some((self.dist_from_head(out), values))
            }
            Torsos::Separate { .. } => Some((self.dense_dist(x, rows)?, self.dense_values(x, rows)?)),
        }
    }

    /// The value pass of separate MLP networks with its Fisher statistics, on one forward
    /// pass through [`dense`] and two backward passes (the loss's, and the sampled Fisher
    /// loss's, which needs only its pre-activation gradients). `None` when the query is not
    /// such a pass (the caller then takes the dfdx engine's two traced passes). This is
    /// where ACKTR with baselines' value function spends most of a batch (25 K-FAC steps of
    /// the critic, `acktr_cont.py`).
    fn dense_value_pass(&self, q: &LossQuery, f: &FisherQuery) -> Result<Option<LossOutput>, NetError> {
        let (Parts::VALUE, Torsos::Separate { value, .. }, ValueTarget::Fixed(targets)) = (q.parts, &self.torsos, q.target) else {
            return Ok(None);
        };
        let which = match q.grads {
            GradsWanted::Blocks(w) => Some(w),
            GradsWanted::None => None,
            GradsWanted::Flat => return Ok(None),
        };
        let Some(mut layers) = value.dense_layers() else {
            return Ok(None);
        };
        layers.push(self.value.dense(None));
        let rows = q.rows;
        if targets.len() != rows || f.noise.len() != rows {
            return Err(NetError::Shape(format!("{} targets and {} noise values for {rows} rows", targets.len(), f.noise.len())));
        }
        let x: Cow<[f32]> = match q.value_obs {
            Some(v) => {
                self.check_rows("value features", v.len(), rows)?;
                Cow::Borrowed(v)
            }
            None => self.input_rows(q.obs),
        };
        let mut caches = Vec::with_capacity(layers.len());
        let v = dense::forward(&layers, &x, rows, Some(&mut caches));
        // d/dV of c mean((V - y)^2) is (d + d) c / B with d = V - y (dfdx's square and mean).
        let n = rows as f32;
        let (cl, cf) = (q.value_coef as f32 / n, f.value_coef as f32 / n);
        let mut sq = 0.0f32;
        let mut gl = Vec::with_capacity(rows);
        let mut gf = Vec::with_capacity(rows);
        for ((&v, &y), &e) in v.iter().zip(targets).zip(f.noise) {
            let d = v - y;
            sq += d * d;
            gl.push((d + d) * cl);
            let df = v - (v + f.sigma * e);
            gf.push((df + df) * cf);
        }
        let loss = dense::backward(&layers, &caches, gl, rows, which.is_some());
        let fisher = dense::backward(&layers, &caches, gf, rows, false);
        let stats = caches
            .into_iter()
            .zip(fisher)
            .zip(&layers)
            .map(|((c, g), l)| LayerStats { kind: LayerKind::Linear, batch: rows, a: c.a, in_dim: l.input, g: g.g, out_dim: l.output, grams: None })
            .collect();
        let mut blocks = Vec::new();
        if let Some(which) = which {
            // The value blocks are the value torso's layers then the value head, in order.
            let value_blocks = self.group_blocks(crate::nets::Group::Value);
            check_wanted(which, self.blocks.len())?;
            for &i in which {
                blocks.push(match value_blocks.iter().position(|&b| b == i) {
                    Some(p) => LayerGrads { weight: loss[p].weight.as_deref().map(wide), bias: loss[p].bias.as_deref().map(wide) },
                    // A policy block: the value loss does not reach it.
                    None => {
                        let b = &self.blocks[i];
                        let weight = (b.kind != LayerKind::Bias).then(|| vec![0.0; b.in_dim * b.out_dim]);
                        LayerGrads { weight, bias: Some(vec![0.0; b.out_dim]) }
                    }
                });
            }
        }
        Ok(Some(LossOutput { flat: Vec::new(), blocks, stats, policy_term: 0.0, value_term: f64::from(sq / n), entropy: 0.0 }))
    }

    /// The shared conv torso's features `h` for torso inputs `x` through the plain kernels
    /// ([`plain`]: the dfdx engine's forward pass bit for bit), or `None` when the torsos
    /// are not one shared network with convolutions (MLPs take [`dense`]).
    fn plain_features(&self, x: &[f32], rows: usize) -> Option<Vec<f32>> {
        let Torsos::Shared(t) = &self.torsos else {
            return None;
        };
        if t.dense_layers().is_some() {
            return None;
        }
        let mut work = self.scratch.work();
        Some(plain::forward(&t.plain_layers(), x, rows, &mut work, self.threads).to_vec())
    }

    /// [`ActorCriticNet::act`] through [`plain`] for a shared conv torso, its forward pass
    /// appended to the rollout's ([`RolloutForward`]).
    fn plain_act(&self, x: &[f32], rows: usize) -> Option<(DistParams, Vec<f32>)> {
        let Torsos::Shared(t) = &self.torsos else {
            return None;
        };
        if t.dense_layers().is_some() {
            return None;
        }
        let layers = t.plain_layers();
        let h = {
            let mut rf = self.scratch.rollout();
            if rf.consumed || rf.rows + rows > ROLLOUT_FORWARD_ROWS || !same_params(&rf.params, &layers) {
                let work = std::mem::take(&mut rf.work);
                *rf = RolloutForward { params: torso_params(&layers), work, ..RolloutForward::default() };
                rf.work.clear();
            }
            rf.inputs.extend_from_slice(x);
            rf.rows += rows;
            plain::forward_append(&layers, x, rows, &mut rf.work, self.threads).to_vec()
        };
        let out = dense::forward(&[self.head_linear().dense(None)], &h, rows, None);
        let values = dense::forward(&[self.value.dense(None)], &h, rows, None);
        Some((self.dist_from_head(out), values))
    }

    /// The loss of a shared conv network with a categorical head (the paper's Atari
    /// actor-critic, appendix A.1) through the plain kernels: one forward pass, the loss's
    /// gradients through the heads on the host, one backward pass for the loss and, with a
    /// [`FisherQuery`], one for the sampled Fisher loss (pre-activation gradients only), and
    /// the K-FAC statistics reduced here to float64 sums of products ([`gram`], as
    /// [`LayerGrams`]). With two or more threads the input statistics (most of the work:
    /// every patch of every convolution) run on their own threads while the backward passes
    /// run. `None` when the query is not such a pass (the dfdx engine's traced passes then
    /// run).
    ///
    /// With `L = sum_r w_r log p(a_r) - c_e mean(H) + c_v mean((V - y)^2)` and
    /// `H = -sum_j p_j log p_j`: `dL/dlogit_rj = w_r (1[j = a_r] - p_rj) + (c_e / B) p_rj
    /// (log p_rj + H_r)` and `dL/dV_r = 2 c_v (V_r - y_r) / B`.
    fn plain_shared_loss(&self, q: &LossQuery) -> Result<Option<LossOutput>, NetError> {
        let (Torsos::Shared(torso), PolicyHead::Categorical(head), ActionBatch::Discrete(actions), ValueTarget::Fixed(targets)) =
            (&self.torsos, &self.head, &q.actions, q.target)
        else {
            return Ok(None);
        };
        if torso.dense_layers().is_some() || q.parts != Parts::ALL || q.value_obs.is_some() || (q.kfac_stats && q.fisher.is_some()) {
            return Ok(None);
        }
        let rows = q.rows;
        let (n, hidden) = (head.output(), head.input());
        let sampled = match &q.fisher {
            Some(FisherQuery { actions: ActionBatch::Discrete(a), noise, .. }) if a.len() == rows && noise.len() == rows => Some(*a),
            Some(_) => return Err(NetError::Shape(format!("the Fisher query's actions or noise do not have {rows} rows"))),
            None => None,
        };
        if actions.len() != rows || targets.len() != rows {
            return Err(NetError::Shape(format!("{} actions and {} targets for {rows} rows", actions.len(), targets.len())));
        }
        if let Some(a) = actions.iter().chain(sampled.into_iter().flatten()).find(|&&a| a < 0.0 || a as usize >= n) {
            return Err(NetError::Shape(format!("action {a} outside the {n} of the policy head")));
        }
        let threads = self.threads;
        let x = self.input_rows(q.obs);
        let layers = torso.plain_layers();
        // The rollout's own forward passes when they are this batch's with these parameters
        // ([`RolloutForward`]), else a forward pass now.
        let mut rollout = self.scratch.rollout();
        let mut scratch;
        let work: &mut plain::PlainWork = if rollout.rows == rows && *rollout.inputs == *x && same_params(&rollout.params, &layers) {
            rollout.consumed = true;
            &mut rollout.work
        } else {
            rollout.consumed = true;
            scratch = self.scratch.work();
            plain::forward(&layers, &x, rows, &mut scratch, threads);
            &mut scratch
        };
        let h = work.caches.last().expect("a torso has layers").z.clone();
        let logits = dense::forward(&[head.dense(None)], &h, rows, None);
        let values = dense::forward(&[self.value.dense(None)], &h, rows, None);
        // log-softmax per row, then the terms and the output gradients.
        let mut logp = logits;
        for row in logp.chunks_exact_mut(n) {
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = m + row.iter().map(|&l| (l - m).exp()).sum::<f32>().ln();
            row.iter_mut().for_each(|l| *l -= lse);
        }
        let b = rows as f32;
        let (ce, cv) = (q.entropy_coef as f32 / b, 2.0 * q.value_coef as f32 / b);
        let (mut policy_term, mut entropy, mut value_term) = (0.0f64, 0.0f64, 0.0f64);
        let mut g_logits = vec![0.0f32; rows * n];
        let mut g_values = vec![0.0f32; rows];
        for r in 0..rows {
            let lp = &logp[r * n..(r + 1) * n];
            let a = actions[r] as usize;
            let h_r: f32 = -lp.iter().map(|&l| l.exp() * l).sum::<f32>();
            policy_term += f64::from(q.logp_weights[r] * lp[a]);
            entropy += f64::from(h_r);
            let d = values[r] - targets[r];
            value_term += f64::from(d * d);
            for (j, (g, &l)) in g_logits[r * n..(r + 1) * n].iter_mut().zip(lp).enumerate() {
                let p = l.exp();
                *g = q.logp_weights[r] * (f32::from(j == a) - p) + ce * p * (l + h_r);
            }
            g_values[r] = cv * d;
        }
        // Through the heads: dW = g^T h, db = sum_rows g, dh = g_logits W_p + g_v W_v.
        let head_back = |gl: &[f32], gv: &[f32], params: bool| {
            let mut dh = vec![0.0f32; rows * hidden];
            dense::matmul_nn_par(gl, rows, n, head.weight.host(), hidden, &mut dh, plain::parallelism(threads));
            let wv = self.value.weight.host();
            for (row, &g) in dh.chunks_exact_mut(hidden).zip(gv) {
                row.iter_mut().zip(wv).for_each(|(d, &w)| *d += g * w);
            }
            let grads = params.then(|| {
                let mut wp = vec![0.0f32; n * hidden];
                dense::matmul_tn_par(gl, &h, rows, n, hidden, &mut wp, plain::parallelism(threads));
                let mut bp = vec![0.0f32; n];
                for row in gl.chunks_exact(n) {
                    bp.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                }
                let mut wvg = vec![0.0f32; hidden];
                dense::matmul_tn(gv, &h, rows, 1, hidden, &mut wvg);
                let bv = vec![gv.iter().sum::<f32>()];
                (wp, bp, wvg, bv)
            });
            (dh, grads)
        };
        let params = !matches!(q.grads, GradsWanted::None);
        let (dh, head_grads) = head_back(&g_logits, &g_values, params);
        // The Fisher loss's output gradients: w~ (1[j = a~] - p) and 2 c_F (V - (V + sigma eps)) / B.
        let fisher_out = match (&q.fisher, sampled) {
            (Some(f), Some(sampled)) => {
                let mut gl = vec![0.0f32; rows * n];
                for (r, row) in gl.chunks_exact_mut(n).enumerate() {
                    let a = sampled[r] as usize;
                    for (j, (g, &l)) in row.iter_mut().zip(&logp[r * n..(r + 1) * n]).enumerate() {
                        *g = f.logp_weights[r] * (f32::from(j == a) - l.exp());
                    }
                }
                let cf = f.value_coef as f32 / b;
                let gv: Vec<f32> = values.iter().zip(f.noise).map(|(&v, &e)| {
                    let d = v - (v + f.sigma * e);
                    (d + d) * cf
                }).collect();
                Some((gl, gv))
            }
            _ => q.kfac_stats.then(|| (g_logits.clone(), g_values.clone())),
        };
        let plain::PlainWork { caches, bufs } = work;
        let caches: &[plain::PlainCache] = caches;
        let torso_specs: Vec<(usize, usize, usize, usize)> = layers
            .iter()
            .zip(caches)
            .filter_map(|(l, c)| l.dense().map(|d| (c.rows, d.input, d.output, c.rows / rows)))
            .collect();
        // The input statistics need only the forward pass: on their own threads, with
        // two or more, while the backward passes run.
        let a_grams = |threads: usize| -> Vec<Vec<f64>> {
            let mut out: Vec<Vec<f64>> = layers
                .iter()
                .zip(caches)
                .filter(|(l, _)| l.dense().is_some())
                .map(|(l, c)| gram::gram(&c.a, c.rows, l.dense().map_or(0, |d| d.input), true, threads))
                .collect();
            out.push(gram::gram(&h, rows, hidden, true, threads));
            out
        };
        let want_stats = fisher_out.is_some();
        let (loss_torso, fisher_torso, a_stats) = std::thread::scope(|s| {
            let pending = (want_stats && threads > 1).then(|| s.spawn(|| a_grams(threads - 1)));
            let back_threads = if pending.is_some() { 1 } else { threads };
            let loss_torso = params.then(|| plain::backward(&layers, caches, bufs, &dh, rows, true, back_threads));
            let fisher_torso = fisher_out.as_ref().map(|(gl, gv)| {
                let (dh_f, _) = head_back(gl, gv, false);
                plain::backward(&layers, caches, bufs, &dh_f, rows, false, back_threads)
            });
            let a_stats = match pending {
                Some(p) => p.join().expect("the statistics thread panicked"),
                None if want_stats => a_grams(threads),
                None => Vec::new(),
            };
            (loss_torso, fisher_torso, a_stats)
        });
        let mut stats = Vec::new();
        if let (Some((gl, gv)), Some(ft)) = (&fisher_out, &fisher_torso) {
            let mut a_stats = a_stats.into_iter();
            let torso_g = ft.iter().filter(|g| !g.g.is_empty());
            for ((rows_k, in_dim, out_dim, spatial), g) in torso_specs.iter().copied().zip(torso_g) {
                let a = a_stats.next().expect("one input statistic per layer");
                let g_summed = if spatial > 1 {
                    let mut summed = vec![0.0f32; rows * out_dim];
                    for (e, chunk) in g.g.chunks_exact(spatial * out_dim).enumerate() {
                        for row in chunk.chunks_exact(out_dim) {
                            summed[e * out_dim..(e + 1) * out_dim].iter_mut().zip(row).for_each(|(s, v)| *s += v);
                        }
                    }
                    gram::gram(&summed, rows, out_dim, false, threads)
                } else {
                    Vec::new()
                };
                let kind = if spatial > 1 { LayerKind::Conv { spatial } } else { LayerKind::Linear };
                let grams = LayerGrams { a, g: gram::gram(&g.g, rows_k, out_dim, false, threads), g_summed };
                stats.push(LayerStats { kind, batch: rows, a: Vec::new(), in_dim, g: Vec::new(), out_dim, grams: Some(grams) });
            }
            let head_a = a_stats.next().expect("the heads' input statistic");
            for (g, out_dim) in [(gv.as_slice(), 1), (gl.as_slice(), n)] {
                let grams = LayerGrams { a: head_a.clone(), g: gram::gram(g, rows, out_dim, false, threads), g_summed: Vec::new() };
                stats.push(LayerStats { kind: LayerKind::Linear, batch: rows, a: Vec::new(), in_dim: hidden, g: Vec::new(), out_dim, grams: Some(grams) });
            }
        }
        // Gradients per block, in declaration order: torso layers, value head, policy head.
        let mut per_block: Vec<(Vec<f32>, Vec<f32>)> = Vec::new();
        if let (Some(lt), Some((wp, bp, wvg, bv))) = (loss_torso, head_grads) {
            per_block.extend(lt.into_iter().filter(|g| !g.g.is_empty()).map(|g| (g.weight, g.bias)));
            per_block.push((wvg, bv));
            per_block.push((wp, bp));
        }
        let (flat, blocks) = match q.grads {
            GradsWanted::None => (Vec::new(), Vec::new()),
            GradsWanted::Flat => (self.flat_order().into_iter().flat_map(|i| per_block[i].0.iter().chain(&per_block[i].1).copied()).collect(), Vec::new()),
            GradsWanted::Blocks(which) => {
                check_wanted(which, per_block.len())?;
                (Vec::new(), which.iter().map(|&i| LayerGrads { weight: Some(wide(&per_block[i].0)), bias: Some(wide(&per_block[i].1)) }).collect())
            }
        };
        Ok(Some(LossOutput { flat, blocks, stats, policy_term, value_term: value_term / f64::from(b), entropy: entropy / f64::from(b) }))
    }

    /// [`ActorCriticNet::loss`] on the dfdx engine's tape (and, for separate MLP networks'
    /// value passes, [`dense`]): every network but a shared conv one with a categorical head
    /// ([`Self::plain_shared_loss`]), and the reference that one is tested against.
    fn traced_loss(&self, q: &LossQuery) -> Result<LossOutput, NetError> {
        let rows = q.rows;
        if let Some(f) = &q.fisher {
            if let Some(out) = self.dense_value_pass(q, f)? {
                return Ok(out);
            }
            // Two traced passes: the loss's gradients, then the Fisher loss's statistics.
            let mut out = self.traced_loss(&LossQuery { fisher: None, ..q.clone() })?;
            out.stats = self
                .traced_loss(&LossQuery {
                    actions: f.actions.clone(),
                    logp_weights: f.logp_weights,
                    entropy_coef: 0.0,
                    value_coef: f.value_coef,
                    target: ValueTarget::Noisy { noise: f.noise, sigma: f.sigma },
                    grads: GradsWanted::None,
                    kfac_stats: true,
                    fisher: None,
                    ..q.clone()
                })?
                .stats;
            return Ok(out);
        }
        let obs = self.input_tensor(q.obs, rows).retaped::<OwnedTape<f32, Dev>>();
        let mut trace = Vec::new();
        let ev = self.evaluate(obs, q.value_obs, &q.actions, q.parts, q.kfac_stats.then_some(&mut trace))?;
        let w = self.dev.tensor_from_vec(q.logp_weights.to_vec(), (rows,));
        let y = match q.target {
            ValueTarget::Fixed(t) => t.to_vec(),
            ValueTarget::Noisy { noise, sigma } => ev.value.as_vec().iter().zip(noise).map(|(v, e)| v + sigma * e).collect(),
        };
        let y = self.dev.tensor_from_vec(y, (rows,));
        let (pg, tape) = (ev.log_prob.put_tape(ev.tape) * w).sum().split_tape();
        let (vf, tape) = (ev.value.put_tape(tape) - y).square().mean().split_tape();
        let value_term = vf.array();
        // The coefficient must scale on the tape: a product of the untaped `vf` would be a
        // new tensor the backward pass never connects to `vf`, and the value term would give
        // no gradient at all, and the critic would not fit.
        let (vf, tape) = (vf.put_tape(tape) * (q.value_coef as f32)).split_tape();
        let (ent, tape) = ev.entropy.put_tape(tape).mean().split_tape();
        let (policy_term, entropy) = (pg.array(), ent.array());
        let loss = ent.put_tape(tape) * (-q.entropy_coef as f32) + vf + pg;
        let mut grads = loss.backward();
        let stats = trace.into_iter().map(|t| t.stats(&mut grads)).collect();
        let slots = self.slots_ref();
        let (flat, blocks) = match q.grads {
            GradsWanted::Flat => {
                let flat = self.flat_order().into_iter().flat_map(|i| slots[i].tensors()).flat_map(|t| t.grad(&mut grads)).collect();
                (flat, Vec::new())
            }
            GradsWanted::Blocks(which) => {
                check_wanted(which, slots.len())?;
                let mut out = Vec::with_capacity(which.len());
                for &i in which {
                    out.push(match &slots[i] {
                        SlotRef::Layer(wt, b) => LayerGrads { weight: Some(wt.grad_f64(&mut grads)), bias: Some(b.grad_f64(&mut grads)) },
                        SlotRef::Bias(b) => LayerGrads { weight: None, bias: Some(b.grad_f64(&mut grads)) },
                    });
                }
                (Vec::new(), out)
            }
            GradsWanted::None => (Vec::new(), Vec::new()),
        };
        Ok(LossOutput {
            flat,
            blocks,
            stats,
            policy_term: f64::from(policy_term),
            value_term: f64::from(value_term),
            entropy: f64::from(entropy),
        })
    }

    /// Overwrites the tensors of `blocks` (in that order, each weight then bias) from `flat`.
    fn write_blocks(&mut self, blocks: &[usize], flat: &[f32], what: &str) -> Result<(), NetError> {
        let mut slots: Vec<Option<Slot>> = self.slots().into_iter().map(Some).collect();
        let mut tensors: Vec<&mut dyn ParamTensor> = Vec::new();
        for &i in blocks {
            match slots[i].take().expect("each block once") {
                Slot::Layer(w, b) => tensors.extend([w, b]),
                Slot::Bias(b) => tensors.push(b),
            }
        }
        let total: usize = tensors.iter().map(|p| p.numel()).sum();
        if total != flat.len() {
            return Err(NetError::Shape(format!("{} parameters given, {what} has {total}", flat.len())));
        }
        let mut at = 0;
        for p in tensors {
            let n = p.numel();
            p.write(&flat[at..at + n]);
            at += n;
        }
        Ok(())
    }

    /// The policy head's linear layer (logits or Gaussian mean).
    fn head_linear(&self) -> &Linear {
        match &self.head {
            PolicyHead::Categorical(l) | PolicyHead::Gaussian { mean: l, .. } => l,
        }
    }

    fn torso_outputs<T: Tape<f32, Dev>>(
        &self,
        obs: Batch<usize, T>,
        value_obs: Option<Batch<usize>>,
        parts: Parts,
        mut trace: Option<&mut Vec<TraceEntry>>,
    ) -> (Option<Batch<usize>>, Option<Batch<usize>>, T) {
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

    /// Log-probabilities of `actions`, entropies and values for the chosen `parts`,
    /// recording every K-FAC block it runs (declaration order) when `trace` is given.
    fn evaluate<T: Tape<f32, Dev>>(
        &self,
        obs: Batch<usize, T>,
        value_obs: Option<&[f32]>,
        actions: &ActionBatch,
        parts: Parts,
        mut trace: Option<&mut Vec<TraceEntry>>,
    ) -> Result<Evaluation<T>, NetError> {
        let rows = obs.shape().0;
        let zeros = || -> Column { self.dev.zeros_like(&(rows,)) };
        let value_obs = value_obs.map(|v| self.obs_tensor(v, rows));
        let (h_pi, h_v, tape) = self.torso_outputs(obs, value_obs, parts, trace.as_deref_mut());
        let (value, tape) = match h_v {
            Some(h_v) => self.value.forward(h_v.put_tape(tape), trace.as_deref_mut()).sum::<(usize,), Axis<1>>().split_tape(),
            None => (zeros(), tape),
        };
        let Some(h_pi) = h_pi else {
            return Ok(Evaluation { log_prob: zeros(), entropy: zeros(), value, tape });
        };
        match (&self.head, actions) {
            (PolicyHead::Categorical(logits), ActionBatch::Discrete(idx)) => {
                let n = logits.output();
                let (lsm, tape) = logits.forward(h_pi.put_tape(tape), trace).log_softmax::<Axis<1>>().split_tape();
                let mut onehot = vec![0.0f32; rows * n];
                for (r, a) in idx.iter().enumerate() {
                    onehot[r * n + *a as usize] = 1.0;
                }
                let onehot = self.dev.tensor_from_vec(onehot, (rows, n));
                let (log_prob, tape) = (lsm.clone().put_tape(tape) * onehot).sum::<(usize,), Axis<1>>().split_tape();
                let (entropy, tape) =
                    (lsm.clone().put_tape(tape).exp() * lsm).sum::<(usize,), Axis<1>>().negate().split_tape();
                Ok(Evaluation { log_prob, entropy, value, tape })
            }
            (PolicyHead::Gaussian { mean, log_std }, ActionBatch::Continuous { values, dim }) => {
                let mu = mean.forward(h_pi.put_tape(tape), trace.as_deref_mut());
                let shape = *mu.shape();
                let mut lsb = log_std.t.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
                if let Some(t) = trace {
                    // K-FAC needs each row's gradient. A broadcast tensor shares one row of
                    // storage, so its gradient reads as the batch's summed gradient on every
                    // row (which made G ~B^2 mean(g)^2, about 1000x too large on MuJoCo
                    // batches, and froze a factored log std). Adding zeros
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
                Ok(Evaluation { log_prob, entropy, value, tape })
            }
            _ => Err(NetError::Shape("the action batch does not match the policy head".into())),
        }
    }

    fn dist_of(&self, h_pi: Batch<usize>) -> DistParams {
        match &self.head {
            PolicyHead::Categorical(l) => DistParams::Categorical { logits: l.forward(h_pi, None).as_vec(), n: l.output() },
            PolicyHead::Gaussian { mean, log_std } => {
                DistParams::Gaussian { mean: mean.forward(h_pi, None).as_vec(), log_std: log_std.host().to_vec() }
            }
        }
    }

    /// Values under an acting distribution already computed for these rows (the rollout
    /// loop's, so the policy torso runs once per step).
    fn values_under(&self, obs: &[f32], dist: &DistParams, episode_steps: &[u32], rows: usize) -> Vec<f32> {
        self.values_of_features(obs, self.value_features(obs, dist, episode_steps, rows), rows)
    }

    fn values_of_features(&self, obs: &[f32], features: Option<Vec<f32>>, rows: usize) -> Vec<f32> {
        let x = match &features {
            Some(f) => Cow::Borrowed(f.as_slice()),
            None => self.input_rows(obs),
        };
        if let Some(v) = self.dense_values(&x, rows) {
            return v;
        }
        if let Some(h) = features.is_none().then(|| self.plain_features(&x, rows)).flatten() {
            return dense::forward(&[self.value.dense(None)], &h, rows, None);
        }
        let value_obs = features.map(|f| self.obs_tensor(&f, rows));
        let (_, h_v, _) = self.torso_outputs(self.input_tensor(obs, rows), value_obs, Parts::VALUE, None);
        self.value.forward(h_v.expect("asked for"), None).as_vec()
    }

    fn check_rows(&self, what: &str, len: usize, rows: usize) -> Result<(), NetError> {
        if rows == 0 || len % rows != 0 {
            return Err(NetError::Shape(format!("{what}: {len} values do not split into {rows} rows")));
        }
        Ok(())
    }
}

impl KfacBlocks for ActorCritic {
    fn blocks(&self) -> &[BlockSpec] {
        &self.blocks
    }

    fn block_values(&self, i: usize) -> BlockValues {
        match &self.slots_ref()[i] {
            SlotRef::Layer(w, b) => BlockValues { weight: Some(w.read()), bias: b.read() },
            SlotRef::Bias(b) => BlockValues { weight: None, bias: b.read() },
        }
    }

    fn add_to_block(&mut self, i: usize, delta: &LayerGrads) -> Result<(), NetError> {
        let name = self.blocks.get(i).map(|b| b.name.clone()).unwrap_or_default();
        let mut slots = self.slots();
        if i >= slots.len() {
            return Err(NetError::Block { index: i, name, why: "no such block".into() });
        }
        let check = |t: &dyn ParamTensor, d: &[f64], what: &str| {
            if t.numel() == d.len() {
                Ok(())
            } else {
                Err(NetError::Block { index: i, name: name.clone(), why: format!("{what} update has {} values, the {what} {}", d.len(), t.numel()) })
            }
        };
        match slots.swap_remove(i) {
            Slot::Layer(w, b) => {
                if let Some(dw) = &delta.weight {
                    check(w, dw, "weight")?;
                    w.add_f64(dw);
                }
                if let Some(db) = &delta.bias {
                    check(b, db, "bias")?;
                    b.add_f64(db);
                }
            }
            Slot::Bias(b) => {
                if delta.weight.is_some() {
                    return Err(NetError::Block { index: i, name, why: "a weight update for a bias-only block".into() });
                }
                if let Some(db) = &delta.bias {
                    check(b, db, "bias")?;
                    b.add_f64(db);
                }
            }
        }
        Ok(())
    }
}

impl ActorCriticNet for ActorCritic {
    fn layout(&self) -> Layout {
        self.layout
    }

    fn act(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> Result<(DistParams, Vec<f32>), NetError> {
        self.check_rows("observations", obs.len(), rows)?;
        if self.value_input() != ValueInput::Observation {
            let dist = self.policy_dist(obs, rows)?;
            let values = self.values_under(obs, &dist, episode_steps, rows);
            return Ok((dist, values));
        }
        let x = self.input_rows(obs);
        if let Some(out) = self.dense_act(&x, rows).or_else(|| self.plain_act(&x, rows)) {
            return Ok(out);
        }
        let (h_pi, h_v, _) = self.torso_outputs(self.input_tensor(obs, rows), None, Parts::ALL, None);
        let (h_pi, h_v) = (h_pi.expect("asked for"), h_v.expect("asked for"));
        let values = self.value.forward(h_v, None).as_vec();
        let dist = self.dist_of(h_pi);
        Ok((dist, values))
    }

    fn values(&self, obs: &[f32], episode_steps: &[u32], rows: usize) -> Result<Vec<f32>, NetError> {
        self.check_rows("observations", obs.len(), rows)?;
        Ok(match self.value_input() {
            ValueInput::Observation => self.values_of_features(obs, None, rows),
            ValueInput::ObservationDistTime => self.values_under(obs, &self.policy_dist(obs, rows)?, episode_steps, rows),
        })
    }

    fn policy_dist(&self, obs: &[f32], rows: usize) -> Result<DistParams, NetError> {
        self.check_rows("observations", obs.len(), rows)?;
        let x = self.input_rows(obs);
        if let Some(d) = self.dense_dist(&x, rows) {
            return Ok(d);
        }
        if let Some(h) = self.plain_features(&x, rows) {
            return Ok(self.dist_from_head(dense::forward(&[self.head_linear().dense(None)], &h, rows, None)));
        }
        let (h_pi, _, _) = self.torso_outputs(self.input_tensor(obs, rows), None, Parts::POLICY, None);
        Ok(self.dist_of(h_pi.expect("asked for")))
    }

    fn loss(&self, q: &LossQuery) -> Result<LossOutput, NetError> {
        let rows = q.rows;
        self.check_rows("observations", q.obs.len(), rows)?;
        if q.logp_weights.len() != rows {
            return Err(NetError::Shape(format!("{} log-probability weights for {rows} rows", q.logp_weights.len())));
        }
        if q.fisher.is_some() && q.kfac_stats {
            return Err(NetError::Shape("a query asks for its own and its Fisher loss's statistics".into()));
        }
        if let Some(out) = self.plain_shared_loss(q)? {
            return Ok(out);
        }
        self.traced_loss(q)
    }

    fn params(&self) -> Vec<f32> {
        let slots = self.slots_ref();
        self.flat_order().into_iter().flat_map(|i| slots[i].tensors()).flat_map(|t| t.read()).collect()
    }

    fn set_params(&mut self, flat: &[f32]) -> Result<(), NetError> {
        let order = self.flat_order();
        self.write_blocks(&order, flat, "the network")
    }

    fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    fn boxed_clone(&self) -> Box<dyn ActorCriticNet> {
        Box::new(self.clone())
    }

    fn set_input_norm(&mut self, norm: Option<InputNorm>) -> Result<(), NetError> {
        if let Some(n) = &norm {
            if self.value_input() != ValueInput::Observation {
                return Err(NetError::Shape("an input normalisation needs a value network that reads the observation".into()));
            }
            let width = match &self.torsos {
                Torsos::Shared(t) | Torsos::Separate { policy: t, .. } => t.input_dim(),
            };
            if n.mean.len() != width || n.std.len() != width {
                return Err(NetError::Shape(format!("an input normalisation of {} / {} columns for {width} inputs", n.mean.len(), n.std.len())));
            }
        }
        self.norm = norm;
        Ok(())
    }

    fn into_trpo(self: Box<Self>) -> Result<Box<dyn TrpoNet>, NetError> {
        Ok(self)
    }
}

impl TrpoNet for ActorCritic {
    fn set_policy_params(&mut self, flat: &[f32]) -> Result<(), NetError> {
        let policy = self.group_blocks(Group::Policy);
        self.write_blocks(&policy, flat, "the policy")
    }

    fn policy_fvp(&self, obs: &[f32], rows: usize, v: &[f64]) -> Result<Vec<f64>, NetError> {
        self.check_rows("observations", obs.len(), rows)?;
        let Torsos::Separate { policy, .. } = &self.torsos else {
            return Err(NetError::Shape("exact Fisher-vector products need separate policy and value networks".into()));
        };
        let head = self.head_linear();
        let layers = policy.layer_params();
        let torso_len: usize = layers.iter().map(|(w, b)| w.numel() + b.numel()).sum();
        let head_len = head.weight.numel() + head.bias.numel();
        let ls_len = match &self.head {
            PolicyHead::Gaussian { log_std, .. } => log_std.numel(),
            PolicyHead::Categorical(_) => 0,
        };
        if v.len() != torso_len + head_len + ls_len {
            return Err(NetError::Shape(format!("a direction of {} values for {} policy parameters", v.len(), torso_len + head_len + ls_len)));
        }
        // J v: the R-operator through the torso and the head, in float64.
        let mut tangent = Vec::with_capacity(layers.len());
        let mut at = 0;
        for (w, b) in &layers {
            let (nw, nb) = (w.numel(), b.numel());
            tangent.push((&v[at..at + nw], &v[at + nw..at + nw + nb]));
            at += nw + nb;
        }
        let x: Vec<f64> = self.input_tensor(obs, rows).as_vec().into_iter().map(f64::from).collect();
        let (h, dh, caches) = policy.tangent64(x, rows, &tangent)?;
        let hidden = head.input();
        let k = head.output();
        let hw: Vec<f64> = head.weight.read().into_iter().map(f64::from).collect();
        let hb: Vec<f64> = head.bias.read().into_iter().map(f64::from).collect();
        let nw = hw.len();
        let (out, dout) = super::affine_tangent64(&h, &dh, rows, &hw, &hb, &v[at..at + nw], &v[at + nw..at + head_len]);
        at += head_len;
        // u = M (J v) / N, row by row.
        let inv_rows = 1.0 / rows as f64;
        let mut u = vec![0.0f64; rows * k];
        let log_std_part: Vec<f64> = match &self.head {
            PolicyHead::Gaussian { log_std, .. } => {
                let inv_var: Vec<f64> = log_std.host().iter().map(|&l| (-2.0 * f64::from(l)).exp()).collect();
                for (i, (ui, &d)) in u.iter_mut().zip(&dout).enumerate() {
                    *ui = d * inv_var[i % k] * inv_rows;
                }
                // The log std is the same for every row: (1/N) sum_r 2 v = 2 v.
                v[at..].iter().map(|&d| 2.0 * d).collect()
            }
            PolicyHead::Categorical(_) => {
                for ((row, drow), urow) in out.chunks(k).zip(dout.chunks(k)).zip(u.chunks_mut(k)) {
                    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = row.iter().map(|&l| (l - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    let pd: f64 = e.iter().zip(drow).map(|(e, d)| e / z * d).sum();
                    for ((uo, ei), &d) in urow.iter_mut().zip(&e).zip(drow) {
                        *uo = ei / z * (d - pd) * inv_rows;
                    }
                }
                Vec::new()
            }
        };
        // J^T u: back-propagation in float64.
        let mut fv = Vec::with_capacity(v.len());
        let g_head_w = super::gemm64_tn(&u, &h, rows, k, hidden);
        let mut g_head_b = vec![0.0; k];
        for row in u.chunks(k) {
            for (s, x) in g_head_b.iter_mut().zip(row) {
                *s += x;
            }
        }
        let g_h = super::gemm64(&u, rows, k, &hw, hidden, false);
        for (gw, gb) in policy.backward64(&caches, g_h, rows) {
            fv.extend(gw);
            fv.extend(gb);
        }
        fv.extend(g_head_w);
        fv.extend(g_head_b);
        fv.extend(log_std_part);
        Ok(fv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::{Activation, Architecture, Init};
    use rand::{Rng, SeedableRng};
    use rand_distr::StandardNormal;

    fn spec(layout: Layout) -> ActorCriticSpec {
        ActorCriticSpec { architecture: Architecture::Mlp64x64, layout, init: Init::Orthogonal }
    }

    const SEPARATE: Layout =
        Layout::Separate { policy_activation: Activation::Tanh, value_activation: Activation::Elu, value_input: ValueInput::Observation };

    fn query<'a>(obs: &'a [f32], rows: usize, actions: ActionBatch<'a>, w: &'a [f32], target: &'a [f32], grads: GradsWanted<'a>) -> LossQuery<'a> {
        LossQuery {
            obs,
            rows,
            value_obs: None,
            actions,
            parts: Parts::ALL,
            logp_weights: w,
            entropy_coef: 0.3,
            value_coef: 0.5,
            target: ValueTarget::Fixed(target),
            grads,
            kfac_stats: false,
            fisher: None,
        }
    }

    /// `sum(w logp) - 0.3 mean(H) + 0.5 mean((V - y)^2)` without a tape.
    fn loss_value(net: &ActorCritic, q: &LossQuery) -> f64 {
        let out = net.loss(&LossQuery { grads: GradsWanted::None, ..q.clone() }).unwrap();
        out.policy_term - 0.3 * out.entropy + 0.5 * out.value_term
    }

    fn check_gradients(layout: Layout, space: ActionSpace) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut net = ActorCritic::new(&spec(layout), &[3], &space, &mut rng).unwrap();
        // Larger head weights than the 0.01 init so every path carries signal.
        let mut p = net.params();
        for x in p.iter_mut() {
            *x += 0.1 * rng.sample::<f32, _>(StandardNormal);
        }
        net.set_params(&p).unwrap();
        let rows = 5;
        let obs: Vec<f32> = (0..rows * 3).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let stored: Vec<f32> = match &space {
            ActionSpace::Discrete { n } => (0..rows).map(|i| (i % n) as f32).collect(),
            ActionSpace::Continuous { dim, .. } => (0..rows * dim).map(|_| rng.sample::<f32, _>(StandardNormal)).collect(),
        };
        let actions = match &space {
            ActionSpace::Discrete { .. } => ActionBatch::Discrete(&stored),
            ActionSpace::Continuous { dim, .. } => ActionBatch::Continuous { values: &stored, dim: *dim },
        };
        let w = [0.7f32; 5];
        let y = [1.0f32, -2.0, 0.5, 3.0, 0.0];
        let q = query(&obs, rows, actions, &w, &y, GradsWanted::Flat);
        let g = net.loss(&q).unwrap().flat;
        let gmax = g.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let eps = 1e-2f32;
        for i in (0..p.len()).step_by(7) {
            let mut q2 = p.clone();
            q2[i] += eps;
            net.set_params(&q2).unwrap();
            let up = loss_value(&net, &q);
            q2[i] -= 2.0 * eps;
            net.set_params(&q2).unwrap();
            let down = loss_value(&net, &q);
            let fd = ((up - down) / (2.0 * f64::from(eps))) as f32;
            assert!((fd - g[i]).abs() <= 2e-2 * gmax + 2e-3, "param {i}: autodiff {} vs finite difference {fd}", g[i]);
        }
        net.set_params(&p).unwrap();
        // The per-block gradients are the flat ones, rearranged.
        let every: Vec<usize> = (0..net.blocks().len()).collect();
        let blocks = net.loss(&LossQuery { grads: GradsWanted::Blocks(&every), ..q.clone() }).unwrap().blocks;
        let n: usize = blocks.iter().map(|b| b.weight.as_ref().map_or(0, Vec::len) + b.bias.as_ref().map_or(0, Vec::len)).sum();
        assert_eq!(n, g.len());
        let mut sorted_flat: Vec<f32> = g.clone();
        let mut sorted_blocks: Vec<f32> = blocks.iter().flat_map(|b| b.weight.iter().chain(b.bias.iter()).flatten().map(|&x| x as f32)).collect();
        sorted_flat.sort_by(f32::total_cmp);
        sorted_blocks.sort_by(f32::total_cmp);
        assert_eq!(sorted_flat, sorted_blocks);
    }

    #[test]
    fn gradients_match_finite_differences_categorical_shared() {
        check_gradients(Layout::Shared { activation: Activation::Tanh }, ActionSpace::Discrete { n: 3 });
    }

    #[test]
    fn gradients_match_finite_differences_gaussian_separate() {
        check_gradients(SEPARATE, ActionSpace::Continuous { dim: 2, low: vec![-1.0; 2], high: vec![1.0; 2] });
    }

    #[test]
    fn the_value_term_back_propagates_with_its_coefficient() {
        // d/db of c mean((V - y)^2) for the value head's bias b is 2 c mean(V - y).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let net = ActorCritic::new(&spec(SEPARATE), &[3], &ActionSpace::Discrete { n: 2 }, &mut rng).unwrap();
        let head = net.value_head_block();
        assert!(net.blocks()[head].name.starts_with("value head"), "{}", net.blocks()[head].name);
        let obs: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
        let actions = [0.0, 1.0, 1.0, 0.0];
        let y = [5.0, -3.0, 2.0, 7.0];
        let v = net.values(&obs, &[0; 4], 4).unwrap();
        let which = [head];
        for c in [0.5f64, 1.0, -2.0] {
            let q = LossQuery { value_coef: c, entropy_coef: 0.0, ..query(&obs, 4, ActionBatch::Discrete(&actions), &[0.0; 4], &y, GradsWanted::Blocks(&which)) };
            let out = net.loss(&q).unwrap();
            let expected = 2.0 * c * v.iter().zip(&y).map(|(v, y)| f64::from(v - y)).sum::<f64>() / 4.0;
            let g = out.blocks[0].bias.as_ref().unwrap()[0];
            assert!((g - expected).abs() < 1e-4 * expected.abs().max(1.0), "c {c}: grad {g} vs {expected}");
        }
    }

    #[test]
    fn the_log_std_trace_holds_each_rows_gradient() {
        // For L = -mean_r log pi(a_r), dL/d(log std_j) at row r is -(z_rj^2 - 1) / B.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let space = ActionSpace::Continuous { dim: 2, low: vec![-1.0; 2], high: vec![1.0; 2] };
        let net = ActorCritic::new(&spec(SEPARATE), &[3], &space, &mut rng).unwrap();
        let rows = 6;
        let obs: Vec<f32> = (0..rows * 3).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let acts: Vec<f32> = (0..rows * 2).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let w = vec![-1.0 / rows as f32; rows];
        let q = LossQuery {
            parts: Parts::POLICY,
            entropy_coef: 0.0,
            value_coef: 0.0,
            kfac_stats: true,
            ..query(&obs, rows, ActionBatch::Continuous { values: &acts, dim: 2 }, &w, &[0.0; 6], GradsWanted::None)
        };
        let mut out = net.loss(&q).unwrap();
        // The policy pass traces exactly the policy blocks, in declaration order.
        let policy: Vec<usize> = net.group_blocks(Group::Policy);
        crate::kfac::glue::check_trace(net.blocks(), &policy, &out.stats).unwrap();
        let DistParams::Gaussian { mean, log_std } = net.policy_dist(&obs, rows).unwrap() else { unreachable!() };
        let stats = out.stats.pop().expect("the log std is traced last");
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
        let y = super::super::activate(Activation::Elu, x.clone()).as_vec();
        for (xi, yi) in x.as_vec().iter().zip(y) {
            let e = if *xi > 0.0 { *xi } else { xi.exp() - 1.0 };
            assert!((yi - e).abs() < 1e-6);
        }
    }

    #[test]
    fn the_paper_atari_network_declares_its_blocks_and_refuses_vector_inputs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let atari = ActorCriticSpec {
            architecture: Architecture::AtariAcktr,
            layout: Layout::Shared { activation: Activation::Relu },
            init: Init::Orthogonal,
        };
        let net = ActorCritic::new(&atari, &[4, 84, 84], &ActionSpace::Discrete { n: 6 }, &mut rng).unwrap();
        let kinds: Vec<(LayerKind, usize, usize)> = net.blocks().iter().map(|b| (b.kind, b.in_dim, b.out_dim)).collect();
        // Paper appendix A.1: 32 8x8/4 (20x20), 64 4x4/2 (9x9), 32 3x3/1 (7x7), fc 512, then
        // the value and policy outputs.
        assert_eq!(
            kinds,
            vec![
                (LayerKind::Conv { spatial: 400 }, 4 * 64, 32),
                (LayerKind::Conv { spatial: 81 }, 32 * 16, 64),
                (LayerKind::Conv { spatial: 49 }, 64 * 9, 32),
                (LayerKind::Linear, 32 * 49, 512),
                (LayerKind::Linear, 512, 1),
                (LayerKind::Linear, 512, 6),
            ]
        );
        let e = ActorCritic::new(&atari, &[17], &ActionSpace::Discrete { n: 6 }, &mut rng).unwrap_err().to_string();
        assert!(e.contains("atari_acktr") && e.contains("image"), "{e}");
        let nature = ActorCriticSpec { architecture: Architecture::Nature, ..atari };
        let n = ActorCritic::new(&nature, &[4, 84, 84], &ActionSpace::Discrete { n: 6 }, &mut rng).unwrap();
        assert_eq!(n.blocks()[2].out_dim, 64);
        let pixels = ActorCriticSpec { architecture: Architecture::PixelMujoco, layout: SEPARATE, init: Init::Orthogonal };
        let space = ActionSpace::Continuous { dim: 6, low: vec![-1.0; 6], high: vec![1.0; 6] };
        let p = ActorCritic::new(&pixels, &[6, 42, 42], &space, &mut rng).unwrap();
        // 42 -> 20 -> 9 positions per side; fc 256; separate torsos, value head, mean, log std.
        assert_eq!(p.blocks()[1].kind, LayerKind::Conv { spatial: 81 });
        assert_eq!(p.blocks()[2].in_dim, 32 * 81);
        assert_eq!(p.blocks().len(), 3 + 3 + 1 + 2);
    }

    /// The plain kernels' pass of a shared conv network (the paper's Atari actor-critic,
    /// here its pixel-MuJoCo cousin at a small size) against the dfdx engine's traced passes:
    /// the terms, the flat and per-block gradients, and the sampled Fisher loss's K-FAC
    /// statistics (sums of products in float64 against the traced rows reduced in float64);
    /// on one thread and on three.
    #[test]
    fn the_plain_conv_pass_matches_the_traced_passes() {
        let spec = ActorCriticSpec { architecture: Architecture::PixelMujoco, layout: Layout::Shared { activation: Activation::Relu }, init: Init::Orthogonal };
        let (input, n, rows) = ([2usize, 11, 11], 4usize, 9usize);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let mut net = ActorCritic::new(&spec, &input, &ActionSpace::Discrete { n }, &mut rng).unwrap();
        // Larger heads than the initialisation's, so every term has a gradient to compare.
        let mut p = net.params();
        p.iter_mut().for_each(|v| *v *= 3.0);
        net.set_params(&p).unwrap();
        let obs: Vec<f32> = (0..rows * 242).map(|_| rng.gen_range(0.0f32..1.0)).collect();
        let actions: Vec<f32> = (0..rows).map(|r| (r % n) as f32).collect();
        let sampled: Vec<f32> = (0..rows).map(|r| ((r * 7 + 1) % n) as f32).collect();
        let w: Vec<f32> = (0..rows).map(|_| rng.gen_range(-0.3f32..0.3)).collect();
        let target: Vec<f32> = (0..rows).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let noise: Vec<f32> = (0..rows).map(|_| rng.sample(StandardNormal)).collect();
        let fisher_w = vec![-1.0 / rows as f32; rows];
        let all: Vec<usize> = (0..net.blocks().len()).collect();
        let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() <= 2e-4 * (1.0 + b.abs()), "{what}: {a} vs {b}");
        for threads in [1, 3] {
            net.set_threads(threads);
            for grads in [GradsWanted::Flat, GradsWanted::Blocks(&all)] {
                let mut q = query(&obs, rows, ActionBatch::Discrete(&actions), &w, &target, grads);
                q.entropy_coef = 0.05;
                q.value_coef = 0.5;
                q.fisher = Some(FisherQuery { actions: ActionBatch::Discrete(&sampled), logp_weights: &fisher_w, value_coef: -1.0, noise: &noise, sigma: 1.0 });
                let plain = net.plain_shared_loss(&q).unwrap().expect("a shared conv network takes the plain kernels");
                let traced = net.traced_loss(&q).unwrap();
                close(plain.policy_term, traced.policy_term, "policy term");
                close(plain.value_term, traced.value_term, "value term");
                close(plain.entropy, traced.entropy, "entropy");
                assert_eq!(plain.flat.len(), traced.flat.len());
                for (a, b) in plain.flat.iter().zip(&traced.flat) {
                    close(f64::from(*a), f64::from(*b), "flat gradient");
                }
                assert_eq!(plain.blocks.len(), traced.blocks.len());
                for (a, b) in plain.blocks.iter().zip(&traced.blocks) {
                    for (x, y) in a.weight.iter().chain(a.bias.iter()).flatten().zip(b.weight.iter().chain(b.bias.iter()).flatten()) {
                        close(*x, *y, "block gradient");
                    }
                }
                assert_eq!(plain.stats.len(), traced.stats.len());
                for (a, b) in plain.stats.iter().zip(traced.stats.iter().map(LayerStats::reduced)) {
                    assert_eq!((a.kind, a.batch, a.in_dim, a.out_dim), (b.kind, b.batch, b.in_dim, b.out_dim));
                    let (ga, gb) = (a.grams.as_ref().unwrap(), b.grams.as_ref().unwrap());
                    for (x, y) in [(&ga.a, &gb.a), (&ga.g, &gb.g), (&ga.g_summed, &gb.g_summed)] {
                        assert_eq!(x.len(), y.len());
                        for (u, v) in x.iter().zip(y.iter()) {
                            close(*u, *v, "statistic");
                        }
                    }
                }
            }
        }
    }

    /// The update's loss reads the rollout's own forward passes ([`RolloutForward`]) and is
    /// the same bits as a loss that runs its own; a batch the passes were not made on, or
    /// parameters changed since, runs its own.
    #[test]
    fn the_loss_on_the_rollouts_forward_passes_is_the_same_bits() {
        let spec = ActorCriticSpec { architecture: Architecture::PixelMujoco, layout: Layout::Shared { activation: Activation::Relu }, init: Init::Orthogonal };
        let (input, n, rows, steps) = ([2usize, 11, 11], 4usize, 12usize, 4usize);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(22);
        let mut net = ActorCritic::new(&spec, &input, &ActionSpace::Discrete { n }, &mut rng).unwrap();
        let obs: Vec<f32> = (0..rows * 242).map(|_| rng.gen_range(0.0f32..1.0)).collect();
        let actions: Vec<f32> = (0..rows).map(|r| (r % n) as f32).collect();
        let sampled: Vec<f32> = (0..rows).map(|r| ((r * 5 + 1) % n) as f32).collect();
        let w: Vec<f32> = (0..rows).map(|_| rng.gen_range(-0.3f32..0.3)).collect();
        let target: Vec<f32> = (0..rows).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let noise: Vec<f32> = (0..rows).map(|_| rng.sample(StandardNormal)).collect();
        let fisher_w = vec![-1.0 / rows as f32; rows];
        let per = rows / steps;
        let act_all = |net: &ActorCritic| {
            for t in 0..steps {
                net.act(&obs[t * per * 242..(t + 1) * per * 242], &vec![0; per], per).unwrap();
            }
        };
        let loss = |net: &ActorCritic, obs: &[f32]| {
            let mut q = query(obs, rows, ActionBatch::Discrete(&actions), &w, &target, GradsWanted::Flat);
            q.fisher = Some(FisherQuery { actions: ActionBatch::Discrete(&sampled), logp_weights: &fisher_w, value_coef: -1.0, noise: &noise, sigma: 1.0 });
            format!("{:?}", net.plain_shared_loss(&q).unwrap().expect("the plain kernels"))
        };
        let fresh = |net: &ActorCritic| loss(&net.clone(), &obs);
        for threads in [1, 2] {
            net.set_threads(threads);
            act_all(&net);
            assert!(net.scratch.rollout().rows == rows, "acting recorded the batch");
            let want = fresh(&net);
            assert_eq!(loss(&net, &obs), want, "{threads} threads");
            if threads == 1 {
                assert!(net.scratch.work().caches.is_empty(), "the loss read the rollout's passes, it ran none of its own");
            }
            // consumed: the next act starts a new rollout
            act_all(&net);
            assert_eq!(net.scratch.rollout().rows, rows);
            // parameters changed after acting: the recorded passes are not used
            let mut p = net.params();
            p.iter_mut().for_each(|v| *v *= 1.5);
            net.set_params(&p).unwrap();
            assert_eq!(loss(&net, &obs), fresh(&net));
            // another batch than the one acted on
            act_all(&net);
            let mut other = obs.clone();
            other[7] += 0.5;
            assert_eq!(loss(&net, &other), loss(&net.clone(), &other));
        }
    }

    #[test]
    fn the_dense_value_pass_matches_the_two_traced_passes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let space = ActionSpace::Continuous { dim: 2, low: vec![-1.0; 2], high: vec![1.0; 2] };
        let mut net = ActorCritic::new(&spec(SEPARATE), &[5], &space, &mut rng).unwrap();
        // A non-zero value head and an input normalisation, so every path is exercised.
        let n = net.params().len();
        let p: Vec<f32> = (0..n).map(|_| rng.sample::<f32, _>(StandardNormal) * 0.3).collect();
        net.set_params(&p).unwrap();
        net.set_input_norm(Some(InputNorm { mean: vec![0.1; 5], std: vec![2.0; 5], clip: 5.0 })).unwrap();
        let rows = 40;
        let obs: Vec<f32> = (0..rows * 5).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let acts: Vec<f32> = (0..rows * 2).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let targets: Vec<f32> = (0..rows).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let noise: Vec<f32> = (0..rows).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        let zeros = vec![0.0f32; rows];
        let value_blocks = net.group_blocks(Group::Value);
        let mut which = value_blocks.clone();
        which.insert(0, 0); // a policy block: zero gradients
        let base = LossQuery {
            parts: Parts::VALUE,
            entropy_coef: 0.0,
            value_coef: 0.7,
            ..query(&obs, rows, ActionBatch::Continuous { values: &acts, dim: 2 }, &zeros, &targets, GradsWanted::Blocks(&which))
        };
        let fisher = FisherQuery { actions: ActionBatch::Continuous { values: &acts, dim: 2 }, logp_weights: &zeros, value_coef: -0.25, noise: &noise, sigma: 2.0 };
        let fused = net.loss(&LossQuery { fisher: Some(fisher), ..base.clone() }).unwrap();
        let grads = net.loss(&base).unwrap();
        let stats = net
            .loss(&LossQuery {
                value_coef: -0.25,
                target: ValueTarget::Noisy { noise: &noise, sigma: 2.0 },
                grads: GradsWanted::None,
                kfac_stats: true,
                ..base.clone()
            })
            .unwrap()
            .stats;
        let close = |a: &[f64], b: &[f64], what: &str| {
            assert_eq!(a.len(), b.len(), "{what}");
            let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-5 * scale + 1e-9, "{what}: {x} vs {y}");
            }
        };
        let wide = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        assert!((fused.value_term - grads.value_term).abs() <= 1e-6 * grads.value_term);
        assert_eq!(fused.blocks.len(), which.len());
        for (k, (f, g)) in fused.blocks.iter().zip(&grads.blocks).enumerate() {
            close(f.weight.as_ref().unwrap(), g.weight.as_ref().unwrap(), &format!("block {k} weight"));
            close(f.bias.as_ref().unwrap(), g.bias.as_ref().unwrap(), &format!("block {k} bias"));
        }
        assert!(fused.blocks[0].weight.as_ref().unwrap().iter().all(|&x| x == 0.0));
        assert_eq!(fused.stats.len(), stats.len());
        assert_eq!(stats.len(), value_blocks.len());
        for (f, s) in fused.stats.iter().zip(&stats) {
            assert_eq!((f.kind, f.batch, f.in_dim, f.out_dim), (s.kind, s.batch, s.in_dim, s.out_dim));
            assert_eq!(f.a, s.a, "the layer inputs are the forward pass's, bit for bit");
            close(&wide(&f.g), &wide(&s.g), "Fisher g");
        }
    }

    #[test]
    fn acting_through_the_dense_kernels_is_bit_identical_to_the_traced_forward() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        for (layout, space) in [
            (SEPARATE, ActionSpace::Continuous { dim: 3, low: vec![-1.0; 3], high: vec![1.0; 3] }),
            (Layout::Shared { activation: Activation::Tanh }, ActionSpace::Discrete { n: 4 }),
        ] {
            let net = ActorCritic::new(&spec(layout), &[6], &space, &mut rng).unwrap();
            for rows in [1usize, 9] {
                let obs: Vec<f32> = (0..rows * 6).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
                let (dist, values) = net.act(&obs, &vec![0; rows], rows).unwrap();
                let (h_pi, h_v, _) = net.torso_outputs(net.input_tensor(&obs, rows), None, Parts::ALL, None);
                assert_eq!(values, net.value.forward(h_v.unwrap(), None).as_vec());
                let want = net.dist_of(h_pi.unwrap());
                match (dist, want) {
                    (DistParams::Gaussian { mean: a, .. }, DistParams::Gaussian { mean: b, .. }) => assert_eq!(a, b),
                    (DistParams::Categorical { logits: a, .. }, DistParams::Categorical { logits: b, .. }) => assert_eq!(a, b),
                    _ => panic!("distribution kinds differ"),
                }
            }
        }
    }

}
