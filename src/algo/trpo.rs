//! TRPO (Schulman et al. 2015), the paper's third baseline, as openai/baselines `trpo_mpi`
//! runs it (commit 366f486, the last with `trpo_mpi/run_mujoco.py` and `run_atari.py`;
//! files `trpo_mpi/trpo_mpi.py`, `common/cg.py`, `common/mpi_adam.py`,
//! `common/mpi_running_mean_std.py`, `common/dataset.py`, `ppo1/mlp_policy.py`,
//! `trpo_mpi/nosharing_cnn_policy.py`). One update, from a batch of `timesteps_per_batch`
//! consecutive steps (`traj_segment_generator`; here the `steps` batch layout):
//!
//! 1. GAE(gamma, lambda) with the values recorded while acting, `V = 0` after a terminal
//!    step (a time-limit end included, as gym's `TimeLimit` reports it), bootstrapped where the
//!    batch cuts an episode (`add_vtarg_and_adv`); value targets `A + V` (`tdlamret`).
//! 2. Advantages standardised per batch, `(A - mean) / std` (population std).
//! 3. The observation filter's running sums take the batch (`pi.ob_rms.update(ob)`, before
//!    the update), and both networks read `clip((x - mean) / std, -5, 5)` from then on
//!    (`mlp_policy.py`; [`ObservationNorm`]).
//! 4. Policy step ([`policy_step`]): gradient `g` of the surrogate
//!    `mean(exp(logp - logp_old) A) + c_e mean(H)` at the old parameters; `x = CG(F + cg_damping I, g)`
//!    ([`cg`], `cg_iters`, residual tolerance 1e-10) with exact Fisher-vector products on every
//!    5th row (`fvpargs = [arr[::5] ...]`; [`crate::nets::ActorCriticNet::policy_fvp`]);
//!    `shs = x.(F + damping) x / 2`, `lm = sqrt(shs / max_kl)`, full step `x / lm`; a
//!    backtracking line search halves the step at most 10 times, accepting the first step
//!    whose surrogate improves (`improve >= 0`) with mean KL(old || new) `<= 1.5 max_kl` and
//!    finite losses, else restores the old parameters.
//! 5. Value function: `vf_iters` epochs of Adam (`vf_stepsize`) on `mean((V - tdlamret)^2)`
//!    over shuffled minibatches of 64, the last partial one dropped
//!    (`dataset.iterbatches(..., include_final_partial_batch=False, batch_size=64)`).
//!
//! Departures (README "TRPO"): minibatch shuffles come from the cell's own random stream, not
//! numpy's; Adam's moments are float64; the first action of each batch is sampled by the
//! updated policy (baselines samples it before the update and recomputes only its value).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::pipeline::{Pipeline, PipelineConfig};
use super::returns::{gae, TimeLimitHandling};
use super::rollout::Rollout;
use super::{AlgoError, Algorithm, NetworkConfig, Progress, Settings, UpdateStats};
use crate::check::{self, FieldError};
use crate::nets::{ActionBatch, Activation, ActorCriticNet, Architecture, DistParams, GradsWanted, Group, Init, InputNorm, LossQuery, Parts, TrpoNet, ValueTarget};
use crate::optim::Adam;

/// Where the observation statistics live.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ObservationNorm {
    /// The network reads the pipeline's rows as they are.
    #[default]
    None,
    /// baselines `common/mpi_running_mean_std.py` inside the policy (`ppo1/mlp_policy.py`):
    /// running sums in float64 starting at `sum = 0, sumsq = 1e-2, count = 1e-2`, updated with
    /// each batch's observations before its update; `mean = sum / count`,
    /// `std = sqrt(max(sumsq / count - mean^2, 1e-2))`; the networks read
    /// `clip((x - mean) / std, -clip, clip)` (clip 5).
    RunningMeanStd { clip: f64 },
}

/// TRPO hyperparameters. Defaults: baselines `trpo_mpi/run_mujoco.py` (with the paper's
/// 64-64 networks); see [`Preset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrpoConfig {
    /// Trust region: the mean KL the full step is scaled to (`max_kl`): 0.01.
    pub max_kl: f64,
    /// Conjugate-gradient iterations (`cg_iters`): 10.
    pub cg_iters: usize,
    /// `cg_damping`: 0.1 (`F + damping I`).
    pub cg_damping: f64,
    /// CG stops early once `r.r` falls below this (`cg.py`: `residual_tol=1e-10`).
    pub cg_residual_tol: f64,
    /// Fisher-vector products use every k-th row of the batch (`arr[::5]`): 5.
    pub fvp_subsample: usize,
    /// Line-search halvings (`for _ in range(10)`): 10.
    pub line_search_steps: usize,
    /// A step is refused when its mean KL exceeds this times `max_kl` (`kl > max_kl * 1.5`).
    pub accept_kl_ratio: f64,
    /// Discount: 0.99.
    pub gamma: f64,
    /// GAE lambda (`lam`): 0.98.
    pub lambda: f64,
    /// Entropy bonus `entcoeff`: 0.
    pub entropy_coef: f64,
    /// Value-function epochs per batch (`vf_iters`): 5.
    pub vf_iters: usize,
    /// Adam step size of the value function (`vf_stepsize`): 1e-3.
    pub vf_stepsize: f64,
    /// Value-function minibatch size (`batch_size=64`).
    pub vf_batch: usize,
    /// `none` or `{running_mean_std: {clip}}`.
    #[serde(with = "serde_yaml::with::singleton_map")]
    pub observation_norm: ObservationNorm,
    pub time_limit: TimeLimitHandling,
    pub network: NetworkConfig,
    pub pipeline: PipelineConfig,
}

impl Default for TrpoConfig {
    fn default() -> Self {
        Preset::BaselinesMujoco.config()
    }
}

/// Named hyperparameter sets, after their sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// baselines `trpo_mpi/run_mujoco.py`: `max_kl` 0.01, `cg_iters` 10, `cg_damping` 0.1,
    /// gamma 0.99, lambda 0.98, `vf_iters` 5, `vf_stepsize` 1e-3, `entcoeff` 0
    /// (`learn`'s default); `MlpPolicy` (`ppo1/mlp_policy.py`): separate tanh policy and value
    /// networks, normc 1.0 with 0.01 for the policy head, a state-independent log std 0, the
    /// running observation filter clipped at 5, raw Gaussian actions (the simulator clamps
    /// its controls). Two layers of 64 units as the paper says (appendix A.2 and B: "the
    /// same two-layer architecture with 64 hidden units"), where `run_mujoco.py` has
    /// `hid_size=32`. Batch: `timesteps_per_batch` consecutive steps of one copy; the paper
    /// uses 25000 (appendix A.2), set by the spec's budget.
    BaselinesMujoco,
    /// baselines `trpo_mpi/run_atari.py`: `max_kl` 0.001, `cg_iters` 10, `cg_damping` 1e-3,
    /// gamma 0.98, lambda 1.0, `vf_iters` 3, `vf_stepsize` 1e-4, `entcoeff` 0; the
    /// non-shared CNN of `nosharing_cnn_policy.py` (conv 8 8x8/4, 16 4x4/2, fc 128, relu;
    /// paper appendix A.1), no observation filter; batch 512 (appendix A.1).
    BaselinesAtari,
}

impl Preset {
    /// The full configuration.
    pub fn config(self) -> TrpoConfig {
        let mujoco = TrpoConfig {
            max_kl: 0.01,
            cg_iters: 10,
            cg_damping: 0.1,
            cg_residual_tol: 1e-10,
            fvp_subsample: 5,
            line_search_steps: 10,
            accept_kl_ratio: 1.5,
            gamma: 0.99,
            lambda: 0.98,
            entropy_coef: 0.0,
            vf_iters: 5,
            vf_stepsize: 1e-3,
            vf_batch: 64,
            observation_norm: ObservationNorm::RunningMeanStd { clip: 5.0 },
            time_limit: TimeLimitHandling::Terminal,
            network: NetworkConfig {
                architecture: Architecture::Mlp64x64,
                shared: false,
                policy_activation: Activation::Tanh,
                value_activation: Activation::Tanh,
                init: Init::NormcTrpo,
                value_input: crate::nets::ValueInput::Observation,
                engine: crate::nets::Engine::Cpu,
            },
            pipeline: PipelineConfig::default(),
        };
        match self {
            Preset::BaselinesMujoco => mujoco,
            Preset::BaselinesAtari => TrpoConfig {
                max_kl: 0.001,
                cg_damping: 1e-3,
                gamma: 0.98,
                lambda: 1.0,
                vf_iters: 3,
                vf_stepsize: 1e-4,
                observation_norm: ObservationNorm::None,
                network: NetworkConfig {
                    architecture: Architecture::AtariTrpo,
                    policy_activation: Activation::Relu,
                    value_activation: Activation::Relu,
                    ..mujoco.network
                },
                ..mujoco
            },
        }
    }
}

/// The registry's key: `trpo: {preset: ..., ...}`.
pub const KEY: &str = "trpo";

/// The names of its presets ([`Preset`], as a spec writes them).
pub const PRESETS: &[&str] = &["baselines_mujoco", "baselines_atari"];

/// The statistics every update logs, in order (the columns of `updates.parquet`).
pub const COLUMNS: &[&str] = &[
        "surrogate_before",
        "surrogate_improve",
        "expected_improve",
        "mean_kl",
        "line_search_tries",
        "stepped",
        "entropy",
        "value_loss_first_epoch",
        "value_loss_last_epoch",
        "explained_variance_before",
    ];

impl Settings for TrpoConfig {
    super::network_and_pipeline!();

    /// TRPO has no policy learning rate: the grid alias `lr` names its step size, the trust
    /// region `max_kl`.
    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.max_kl
    }

    fn lr_field(&self) -> &'static str {
        "max_kl"
    }

    /// No schedule: the step is bounded by `max_kl` throughout (trpo_mpi).
    fn anneals(&self) -> bool {
        false
    }

    fn check(&self) -> Result<(), FieldError> {
        check::rate("max_kl", self.max_kl)?;
        check::non_negative("cg_damping", self.cg_damping)?;
        check::non_negative("cg_residual_tol", self.cg_residual_tol)?;
        check::rate("accept_kl_ratio", self.accept_kl_ratio)?;
        check::unit("gamma", self.gamma)?;
        check::unit("lambda", self.lambda)?;
        check::non_negative("entropy_coef", self.entropy_coef)?;
        check::rate("vf_stepsize", self.vf_stepsize)?;
        for (field, v) in [("cg_iters", self.cg_iters), ("fvp_subsample", self.fvp_subsample), ("vf_batch", self.vf_batch)] {
            if v == 0 {
                return Err(FieldError::new(field, "must be at least 1"));
            }
        }
        if let ObservationNorm::RunningMeanStd { clip } = self.observation_norm {
            check::rate("observation_norm.running_mean_std.clip", clip)?;
        }
        if self.network.shared {
            return Err(FieldError::new(
                "network.shared",
                "TRPO needs separate policy and value networks (network: {shared: false}): its natural-gradient step and its Adam value fit move different parameters",
            ));
        }
        if self.network.value_input != crate::nets::ValueInput::Observation {
            return Err(FieldError::new("network.value_input", "TRPO's value network reads the observation"));
        }
        if self.pipeline.batch != super::BatchLayout::Steps {
            return Err(FieldError::new("pipeline.batch", "TRPO runs batches of consecutive steps (baselines `traj_segment_generator`): `steps`"));
        }
        Ok(())
    }

    fn build(&self, net: Box<dyn ActorCriticNet>, pipeline: Pipeline, discrete: bool, seed: u64) -> Result<Box<dyn Algorithm>, AlgoError> {
        Ok(Box::new(Trpo::new(self.clone(), net, pipeline, discrete, seed)?))
    }
}

/// Running observation sums (baselines `common/mpi_running_mean_std.py`), float64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningMeanStd {
    sum: Vec<f64>,
    sumsq: Vec<f64>,
    count: f64,
}

impl RunningMeanStd {
    /// `sum = 0`, `sumsq = 1e-2`, `count = 1e-2` (the reference's `epsilon`).
    pub fn new(dim: usize) -> Self {
        Self { sum: vec![0.0; dim], sumsq: vec![1e-2; dim], count: 1e-2 }
    }

    /// Adds `rows` rows of `x`.
    pub fn update(&mut self, x: &[f32], rows: usize) {
        let d = self.sum.len();
        for row in x.chunks(d).take(rows) {
            for ((s, q), &v) in self.sum.iter_mut().zip(self.sumsq.iter_mut()).zip(row) {
                let v = f64::from(v);
                *s += v;
                *q += v * v;
            }
        }
        self.count += rows as f64;
    }

    /// The normalisation the networks read: `mean = sum / count`,
    /// `std = sqrt(max(sumsq / count - mean^2, 1e-2))` (computed in float32 by the reference).
    pub fn norm(&self, clip: f64) -> InputNorm {
        let mean: Vec<f32> = self.sum.iter().map(|s| (s / self.count) as f32).collect();
        let std = self
            .sumsq
            .iter()
            .zip(&mean)
            .map(|(q, &m)| {
                let var = (q / self.count) as f32 - m * m;
                var.max(1e-2).sqrt()
            })
            .collect();
        InputNorm { mean, std, clip: clip as f32 }
    }
}

/// Conjugate gradient for `A x = b` as baselines `common/cg.py` (Demmel p. 312): from
/// `x = 0`, `p = r = b`; each iteration `z = A p`, `v = r.r / p.z`, `x += v p`, `r -= v z`,
/// `p = r + (r'.r' / r.r) p`; stops after `iters` or once `r.r < residual_tol`. Returns `x`
/// and its value after every iteration.
pub fn cg<E>(mut f_ax: impl FnMut(&[f64]) -> Result<Vec<f64>, E>, b: &[f64], iters: usize, residual_tol: f64) -> Result<(Vec<f64>, Vec<Vec<f64>>), E> {
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut p = b.to_vec();
    let mut r = b.to_vec();
    let mut x = vec![0.0; b.len()];
    let mut rdotr = dot(&r, &r);
    let mut iterates = Vec::with_capacity(iters);
    for _ in 0..iters {
        let z = f_ax(&p)?;
        let v = rdotr / dot(&p, &z);
        for i in 0..x.len() {
            x[i] += v * p[i];
            r[i] -= v * z[i];
        }
        let new_rdotr = dot(&r, &r);
        let mu = new_rdotr / rdotr;
        for i in 0..p.len() {
            p[i] = r[i] + mu * p[i];
        }
        rdotr = new_rdotr;
        iterates.push(x.clone());
        if rdotr < residual_tol {
            break;
        }
    }
    Ok((x, iterates))
}

/// What the policy step needs of [`TrpoConfig`] (also a conformance case's `config`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct StepConfig {
    pub max_kl: f64,
    pub cg_iters: usize,
    pub cg_damping: f64,
    pub cg_residual_tol: f64,
    pub fvp_subsample: usize,
    pub line_search_steps: usize,
    pub accept_kl_ratio: f64,
    pub entropy_coef: f64,
}

impl TrpoConfig {
    /// The policy step's settings.
    pub fn step_config(&self) -> StepConfig {
        StepConfig {
            max_kl: self.max_kl,
            cg_iters: self.cg_iters,
            cg_damping: self.cg_damping,
            cg_residual_tol: self.cg_residual_tol,
            fvp_subsample: self.fvp_subsample,
            line_search_steps: self.line_search_steps,
            accept_kl_ratio: self.accept_kl_ratio,
            entropy_coef: self.entropy_coef,
        }
    }
}

/// One batch for the policy step: observation rows (as the network reads them before its
/// own normalisation), actions, and standardised advantages.
pub struct PolicyBatch<'a> {
    pub obs: &'a [f32],
    pub rows: usize,
    pub actions: ActionBatch<'a>,
    pub advantages: &'a [f64],
}

/// Why a line-search try was refused, or that it was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    NonFinite,
    KlViolated,
    NoImprovement,
}

/// One line-search try.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSearchTry {
    pub stepsize: f64,
    pub surrogate: f64,
    pub kl: f64,
    pub improve: f64,
    pub verdict: Verdict,
}

/// Everything one policy step computed (what the conformance cases check).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyStep {
    /// Gradient of the surrogate at the old parameters.
    pub g: Vec<f64>,
    /// The CG solution after every iteration.
    pub cg_iterates: Vec<Vec<f64>>,
    pub stepdir: Vec<f64>,
    /// `stepdir.(F + damping) stepdir / 2`.
    pub shs: f64,
    /// `sqrt(shs / max_kl)`.
    pub lm: f64,
    pub fullstep: Vec<f64>,
    /// `g.fullstep`.
    pub expected_improve: f64,
    /// The surrogate at the old parameters.
    pub surrogate_before: f64,
    pub line_search: Vec<LineSearchTry>,
    /// Whether a step was taken (false: zero gradient, or every try refused).
    pub stepped: bool,
    /// Mean entropy at the old parameters.
    pub entropy: f64,
}

/// The surrogate `mean(exp(logp_new - logp_old) A) + c_e mean(H_new)` and mean
/// KL(old || new), from the batch's distributions.
fn surrogate(old: &DistParams, old_logp: &[f64], new: &DistParams, batch: &PolicyBatch, entropy_coef: f64) -> (f64, f64, f64) {
    let logp = new.log_probs(&batch.actions);
    let n = batch.rows as f64;
    let gain = logp.iter().zip(old_logp).zip(batch.advantages).map(|((l, lo), a)| (l - lo).exp() * a).sum::<f64>() / n;
    let ent = new.entropies().iter().sum::<f64>() / n;
    (gain + entropy_coef * ent, old.mean_kl(new), ent)
}

/// The gradient of the surrogate at the current parameters, in
/// [`ActorCriticNet::policy_params`] order: `mean(A grad logp) + c_e grad mean(H)`.
fn surrogate_gradient(net: &dyn ActorCriticNet, batch: &PolicyBatch, entropy_coef: f64) -> Result<Vec<f64>, AlgoError> {
    let policy = net.group_blocks(Group::Policy);
    let n = batch.rows as f32;
    // The loss is `sum w logp - c_e mean(H)`: with `w = -A / N` it is minus the surrogate.
    let weights: Vec<f32> = batch.advantages.iter().map(|&a| -(a as f32) / n).collect();
    let out = net.loss(&LossQuery {
        obs: batch.obs,
        rows: batch.rows,
        value_obs: None,
        actions: batch.actions.clone(),
        parts: Parts::POLICY,
        logp_weights: &weights,
        entropy_coef,
        value_coef: 0.0,
        target: ValueTarget::Fixed(&vec![0.0; batch.rows]),
        grads: GradsWanted::Blocks(&policy),
        kfac_stats: false,
        fisher: None,
    })?;
    Ok(out.blocks.iter().flat_map(|b| b.weight.iter().flatten().chain(b.bias.iter().flatten())).map(|g| -g).collect())
}

/// One TRPO policy step on `batch` (`trpo_mpi.py`, from `assign_old_eq_new()` to the end of
/// the line search): leaves the network at the accepted parameters, or at the old ones.
pub fn policy_step(net: &mut dyn TrpoNet, batch: &PolicyBatch, cfg: &StepConfig) -> Result<PolicyStep, AlgoError> {
    let old = net.policy_dist(batch.obs, batch.rows)?;
    let old_logp = old.log_probs(&batch.actions);
    let (surrogate_before, _, entropy) = surrogate(&old, &old_logp, &old, batch, cfg.entropy_coef);
    let g = surrogate_gradient(net, batch, cfg.entropy_coef)?;
    let mut out = PolicyStep { surrogate_before, entropy, ..PolicyStep::default() };
    // np.allclose(g, 0): |g| <= 1e-8 everywhere.
    if g.iter().all(|x| x.abs() <= 1e-8) {
        out.g = g;
        return Ok(out);
    }
    // Fisher-vector products on every k-th row (`fvpargs = [arr[::5] for arr in args]`).
    let width = batch.obs.len() / batch.rows;
    let sub: Vec<f32> = batch.obs.chunks(width).step_by(cfg.fvp_subsample).flatten().copied().collect();
    let sub_rows = sub.len() / width;
    let fvp = |p: &[f64]| -> Result<Vec<f64>, AlgoError> {
        let f = net.policy_fvp(&sub, sub_rows, p)?;
        Ok(f.iter().zip(p).map(|(&f, &p)| f + cfg.cg_damping * p).collect())
    };
    let (stepdir, iterates) = cg(fvp, &g, cfg.cg_iters, cfg.cg_residual_tol)?;
    if !stepdir.iter().all(|x| x.is_finite()) {
        return Err(AlgoError::Unsupported { algo: "trpo", why: "the conjugate-gradient step is not finite".into() });
    }
    let shs = 0.5 * stepdir.iter().zip(fvp(&stepdir)?).map(|(a, b)| a * b).sum::<f64>();
    let lm = (shs / cfg.max_kl).sqrt();
    let fullstep: Vec<f64> = stepdir.iter().map(|x| x / lm).collect();
    let expected_improve = g.iter().zip(&fullstep).map(|(a, b)| a * b).sum();
    let before = net.policy_params();
    let mut stepsize = 1.0;
    let mut accepted = false;
    for _ in 0..cfg.line_search_steps {
        let theta: Vec<f32> = before.iter().zip(&fullstep).map(|(&t, &s)| (f64::from(t) + s * stepsize) as f32).collect();
        net.set_policy_params(&theta)?;
        let new = net.policy_dist(batch.obs, batch.rows)?;
        let (surr, kl, ent) = surrogate(&old, &old_logp, &new, batch, cfg.entropy_coef);
        let improve = surr - surrogate_before;
        let verdict = if !(surr.is_finite() && kl.is_finite() && ent.is_finite()) {
            Verdict::NonFinite
        } else if kl > cfg.max_kl * cfg.accept_kl_ratio {
            Verdict::KlViolated
        } else if improve < 0.0 {
            Verdict::NoImprovement
        } else {
            Verdict::Accepted
        };
        out.line_search.push(LineSearchTry { stepsize, surrogate: surr, kl, improve, verdict });
        if verdict == Verdict::Accepted {
            accepted = true;
            break;
        }
        stepsize *= 0.5;
    }
    if !accepted {
        net.set_policy_params(&before)?;
    }
    out.g = g;
    out.cg_iterates = iterates;
    out.stepdir = stepdir;
    out.shs = shs;
    out.lm = lm;
    out.fullstep = fullstep;
    out.expected_improve = expected_improve;
    out.stepped = accepted;
    Ok(out)
}

/// Standardised advantages `(A - mean) / std` (numpy's population std), float64.
pub fn standardise(adv: &[f32]) -> Vec<f64> {
    let n = adv.len() as f64;
    let mean = adv.iter().map(|&a| f64::from(a)).sum::<f64>() / n;
    let var = adv.iter().map(|&a| (f64::from(a) - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    adv.iter().map(|&a| (f64::from(a) - mean) / std).collect()
}

/// TRPO state.
pub struct Trpo {
    cfg: TrpoConfig,
    net: Box<dyn TrpoNet>,
    pipeline: Pipeline,
    discrete: bool,
    adam: Adam,
    obs_stats: Option<RunningMeanStd>,
    rng: ChaCha8Rng,
}

impl Trpo {
    /// Wraps a freshly initialised network and its data pipeline; minibatch shuffles come
    /// from a stream of `seed`.
    pub fn new(cfg: TrpoConfig, net: Box<dyn ActorCriticNet>, pipeline: Pipeline, discrete: bool, seed: u64) -> Result<Self, AlgoError> {
        if !matches!(net.layout(), crate::nets::Layout::Separate { .. }) {
            return Err(AlgoError::Unsupported { algo: "trpo", why: "needs separate policy and value networks".into() });
        }
        let mut net = net.into_trpo()?;
        let values: usize = value_blocks(&*net).iter().map(|&i| block_len(&*net, i)).sum();
        let obs_stats = match cfg.observation_norm {
            ObservationNorm::None => None,
            ObservationNorm::RunningMeanStd { clip } => {
                let s = RunningMeanStd::new(pipeline.input_dim());
                net.set_input_norm(Some(s.norm(clip)))?;
                Some(s)
            }
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(4);
        Ok(Self { cfg, net, pipeline, discrete, adam: Adam::new(values), obs_stats, rng })
    }

    /// The network.
    pub fn net(&self) -> &dyn ActorCriticNet {
        &*self.net
    }

    /// The value function's Adam epochs (`trpo_mpi.py`, `with timed("vf")`): returns the
    /// mean minibatch loss of the first and of the last epoch.
    fn fit_value(&mut self, rollout: &Rollout, targets: &[f32]) -> Result<(f64, f64), AlgoError> {
        let rows = rollout.len();
        let width = rollout.obs.len() / rows;
        let blocks = value_blocks(&*self.net);
        let mut idx: Vec<usize> = (0..rows).collect();
        let (mut first, mut last) = (f64::NAN, f64::NAN);
        for epoch in 0..self.cfg.vf_iters {
            idx.shuffle(&mut self.rng);
            let (mut sum, mut count) = (0.0, 0);
            for mb in idx.chunks_exact(self.cfg.vf_batch) {
                let obs: Vec<f32> = mb.iter().flat_map(|&i| rollout.obs[i * width..(i + 1) * width].iter().copied()).collect();
                let y: Vec<f32> = mb.iter().map(|&i| targets[i]).collect();
                let out = self.net.loss(&LossQuery {
                    obs: &obs,
                    rows: mb.len(),
                    value_obs: None,
                    actions: dummy_actions(self.discrete, &rollout.actions, width, mb.len(), rollout.act_dim),
                    parts: Parts::VALUE,
                    logp_weights: &vec![0.0; mb.len()],
                    entropy_coef: 0.0,
                    value_coef: 1.0,
                    target: ValueTarget::Fixed(&y),
                    grads: GradsWanted::Blocks(&blocks),
                    kfac_stats: false,
                    fisher: None,
                })?;
                sum += out.value_term;
                count += 1;
                let g: Vec<f64> = out.blocks.iter().flat_map(|b| b.weight.iter().flatten().chain(b.bias.iter().flatten()).copied()).collect();
                let step = self.adam.step(&g, self.cfg.vf_stepsize);
                let mut at = 0;
                for (&i, b) in blocks.iter().zip(&out.blocks) {
                    let nw = b.weight.as_ref().map_or(0, Vec::len);
                    let nb = b.bias.as_ref().map_or(0, Vec::len);
                    let delta = crate::nets::LayerGrads {
                        weight: b.weight.as_ref().map(|_| step[at..at + nw].to_vec()),
                        bias: b.bias.as_ref().map(|_| step[at + nw..at + nw + nb].to_vec()),
                    };
                    self.net.add_to_block(i, &delta)?;
                    at += nw + nb;
                }
            }
            let mean = if count > 0 { sum / f64::from(count) } else { f64::NAN };
            if epoch == 0 {
                first = mean;
            }
            last = mean;
        }
        Ok((first, last))
    }
}

/// The value network's blocks (value torso and head).
fn value_blocks(net: &dyn ActorCriticNet) -> Vec<usize> {
    net.group_blocks(Group::Value)
}

fn block_len(net: &dyn ActorCriticNet, i: usize) -> usize {
    let b = net.block_values(i);
    b.weight.map_or(0, |w| w.len()) + b.bias.len()
}

/// Actions for a value-only pass (not read: the policy's part is not computed).
fn dummy_actions<'a>(discrete: bool, actions: &'a [f32], _width: usize, rows: usize, act_dim: usize) -> ActionBatch<'a> {
    if discrete {
        ActionBatch::Discrete(&actions[..rows])
    } else {
        ActionBatch::Continuous { values: &actions[..rows * act_dim], dim: act_dim }
    }
}

/// Explained variance `1 - Var(y - pred) / Var(y)` (baselines `common/math_util.py`).
fn explained_variance(pred: &[f32], y: &[f32]) -> f64 {
    let var = |x: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = x.collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / v.len() as f64
    };
    let vy = var(&mut y.iter().map(|&a| f64::from(a)));
    if vy == 0.0 {
        return f64::NAN;
    }
    1.0 - var(&mut y.iter().zip(pred).map(|(&a, &p)| f64::from(a) - f64::from(p))) / vy
}

impl Algorithm for Trpo {
    fn policy(&self) -> &dyn ActorCriticNet {
        &*self.net
    }

    fn update(&mut self, rollout: &Rollout, _progress: Progress) -> Result<UpdateStats, AlgoError> {
        let (adv, targets) = gae(rollout, self.cfg.gamma, self.cfg.lambda, self.cfg.time_limit);
        let advantages = standardise(&adv);
        if let (Some(stats), ObservationNorm::RunningMeanStd { clip }) = (&mut self.obs_stats, self.cfg.observation_norm) {
            stats.update(&rollout.obs, rollout.len());
            self.net.set_input_norm(Some(stats.norm(clip)))?;
        }
        let batch = PolicyBatch { obs: &rollout.obs, rows: rollout.len(), actions: rollout.action_batch(self.discrete), advantages: &advantages };
        let step = policy_step(&mut *self.net, &batch, &self.cfg.step_config())?;
        let ev_before = explained_variance(&rollout.values, &targets);
        let (vf_first, vf_last) = self.fit_value(rollout, &targets)?;
        let last = step.line_search.last();
        Ok(UpdateStats(vec![
            ("surrogate_before", step.surrogate_before),
            ("surrogate_improve", last.map_or(0.0, |t| if step.stepped { t.improve } else { 0.0 })),
            ("expected_improve", step.expected_improve),
            ("mean_kl", last.map_or(0.0, |t| if step.stepped { t.kl } else { 0.0 })),
            ("line_search_tries", step.line_search.len() as f64),
            ("stepped", if step.stepped { 1.0 } else { 0.0 }),
            ("entropy", step.entropy),
            ("value_loss_first_epoch", vf_first),
            ("value_loss_last_epoch", vf_last),
            ("explained_variance_before", ev_before),
        ]))
    }

    fn pipeline_mut(&mut self) -> &mut Pipeline {
        &mut self.pipeline
    }

    fn checkpoint(&self) -> Result<Vec<u8>, AlgoError> {
        super::encode(&TrpoState {
            params: self.net.params(),
            adam: self.adam.clone(),
            obs_stats: self.obs_stats.clone(),
            rng: self.rng.clone(),
            pipeline: self.pipeline.state(),
        })
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), AlgoError> {
        let s: TrpoState = super::decode(bytes)?;
        self.net.set_params(&s.params)?;
        self.adam = s.adam;
        if let (Some(stats), ObservationNorm::RunningMeanStd { clip }) = (&s.obs_stats, self.cfg.observation_norm) {
            self.net.set_input_norm(Some(stats.norm(clip)))?;
        }
        self.obs_stats = s.obs_stats;
        self.rng = s.rng;
        self.pipeline.restore(s.pipeline);
        Ok(())
    }
}

/// TRPO's checkpoint: parameters, Adam's moments, the observation sums, the shuffle stream,
/// the pipeline.
#[derive(Serialize, Deserialize)]
struct TrpoState {
    params: Vec<f32>,
    adam: Adam,
    obs_stats: Option<RunningMeanStd>,
    rng: ChaCha8Rng,
    pipeline: super::pipeline::PipelineState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_mean_std_starts_at_unit_scale_and_follows_the_reference_sums() {
        let mut s = RunningMeanStd::new(2);
        // sum 0, sumsq = count = 1e-2: mean 0, std 1.
        let n = s.norm(5.0);
        assert_eq!((n.mean, n.std), (vec![0.0, 0.0], vec![1.0, 1.0]));
        s.update(&[1.0, 10.0, 3.0, 10.0], 2);
        let n = s.norm(5.0);
        let count = 2.01f64;
        let mean0 = 4.0 / count;
        let var0 = (10.0 + 1e-2) / count - mean0 * mean0;
        assert!((f64::from(n.mean[0]) - mean0).abs() < 1e-6);
        assert!((f64::from(n.std[0]) - var0.sqrt()).abs() < 1e-6);
        // A constant column: the variance floor 1e-2 gives std 0.1.
        let mean1 = 20.0 / count;
        assert!((f64::from(n.std[1]) - ((200.0 + 1e-2) / count - mean1 * mean1).max(1e-2).sqrt()).abs() < 1e-3);
    }

    #[test]
    fn cg_solves_a_small_spd_system_and_stops_on_the_residual() {
        let a = [[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]];
        let b = [1.0, 2.0, 3.0];
        let f = |p: &[f64]| -> Result<Vec<f64>, ()> { Ok((0..3).map(|i| (0..3).map(|j| a[i][j] * p[j]).sum()).collect()) };
        let (x, its) = cg(f, &b, 10, 1e-10).unwrap();
        assert_eq!(its.len(), 3, "exact in n iterations, then the residual stops it");
        for i in 0..3 {
            let ax: f64 = (0..3).map(|j| a[i][j] * x[j]).sum();
            assert!((ax - b[i]).abs() < 1e-9);
        }
    }

    #[test]
    fn standardised_advantages_have_zero_mean_and_unit_population_std() {
        let a = standardise(&[1.0, 2.0, 3.0, 6.0]);
        let m: f64 = a.iter().sum::<f64>() / 4.0;
        let v: f64 = a.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 4.0;
        assert!(m.abs() < 1e-12 && (v - 1.0).abs() < 1e-12);
    }
}
