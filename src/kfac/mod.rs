//! K-FAC: Kronecker-factored approximate curvature with a trust region (paper sections
//! 2.2, 3.1, 3.2; Martens & Grosse 2015; Grosse & Martens 2016 for convolutions).
//!
//! For a layer `s = W a (+ b)` with back-propagated Fisher-loss gradients `g = dL_F/ds`,
//! the Fisher block of `vec(W)` is approximated by `A (x) G` with `A = E[a a^T]`,
//! `G = E[g g^T]`. The natural gradient of a gradient matrix `D` (out x in) is, with the
//! eigendecompositions `A = Q_A diag(d_A) Q_A^T`, `G = Q_G diag(d_G) Q_G^T`:
//!
//! `V = Q_G ((Q_G^T D Q_A) / (d_G d_A^T + damping)) Q_A^T`
//!
//! (openai/baselines `acktr/kfac.py`; ikostrikov `algo/kfac.py`), or, with the paper's
//! factored Tikhonov damping, `(d_G + sqrt(damping)/pi)(d_A + pi sqrt(damping))^T` in the
//! denominator, `pi = sqrt((tr A / dim A) / (tr G / dim G))` (Martens & Grosse 2015,
//! section 6.3). The step is scaled into the trust region
//! `nu = min(1, sqrt(kl_clip / (lr^2 sum(V . D))))` (paper section 3.2 with
//! `2 delta = kl_clip`) and applied with heavy-ball momentum:
//! `buf <- momentum buf + nu V`, `theta <- theta - lr (1 - momentum) buf`.
//!
//! Factor scaling is exactly `docs/src/formats/kfac-case.md` (which equals the
//! reference code's): for a batch of `B` examples and `T` spatial positions per example
//! (`T = 1` for linear layers), `A = (1/(B T^2)) sum (a a^T)` over all rows and
//! `G = B T sum (g g^T)` over all rows; a separate bias block has `A = [[1]]` and, for
//! convolutions, `G = B sum_b (sum_t g)(sum_t g)^T`.
//!
//! The factors are float64 sums of float32 products ([`crate::nets::cpu::gram`]: float32
//! symmetric rank-k updates over blocks of rows, accumulated in float64); everything after
//! them is float64.
//!
//! **Pipelined eigendecompositions** ([`KfacConfig::inverse_lag`]). openai/baselines'
//! Atari ACKTR (`acktr_disc.py`: `KfacOptimizer(..., kfac_update=1, async=1)`; `kfac.py`
//! `apply_stats_eigen` behind a `FIFOQueue` run by a `QueueRunner` thread) decomposes the
//! factors on another thread and swaps the new eigenbases in whenever one is ready, so how
//! stale they are depends on timing (typically about two updates). Ours is the
//! deterministic version of that: a decomposition of update `t`'s running factors (every
//! `inverse_every` updates) is computed off the critical path (on a thread of its own when
//! the optimizer has two or more threads, else when it is due) and used from update
//! `t + inverse_lag` on. The results are the same bits on any number of threads, machine or
//! load; the departure from baselines is the fixed lag in place of a timing-dependent one.
//! `inverse_lag: 0` decomposes the current factors before they are used (baselines'
//! `async=0`).

pub mod glue;

use std::sync::Arc;

use faer::{Accum, Mat, Par, Side};
use serde::{Deserialize, Serialize};

use crate::check::{self, FieldError};
pub use crate::nets::{LayerGrads, LayerGrams, LayerKind, LayerStats, KfacLinalg};
use crate::optim::LrSchedule;

/// How biases enter the factorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiasMode {
    /// Each bias is its own block with `A = [[1]]` (ikostrikov's `SplitBias`).
    #[default]
    Separate,
    /// The bias is a trailing homogeneous coordinate of the input: one block per layer.
    Homogeneous,
}

/// The form of Tikhonov damping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DampingForm {
    /// `d_G d_A^T + damping` in the eigenbasis (the reference code).
    #[default]
    EigenSum,
    /// `(d_G + sqrt(damping)/pi)(d_A + pi sqrt(damping))^T` (the paper's factored form).
    FactoredPi,
}

/// openai/baselines' cold start: the first `iterations` updates are momentum SGD on
/// gradients clipped to `max_grad_norm`, with learning rate `lr`, while the statistics
/// accumulate (`acktr/kfac.py`, `coldSGDstart`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColdStart {
    pub iterations: u64,
    pub lr: f64,
    pub max_grad_norm: Option<f64>,
}

/// K-FAC hyperparameters. Defaults: openai/baselines' Atari ACKTR (`acktr/acktr.py`:
/// lr 0.25 with linear decay, momentum 0.9, kl_clip 0.001, damping 0.01, stat decay
/// 0.99) with ikostrikov's refresh of the eigendecomposition every 10 updates
/// (`Tinv=10`) and eigenvalue floor 1e-6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KfacConfig {
    pub lr: f64,
    pub lr_schedule: LrSchedule,
    pub momentum: f64,
    /// Trust-region radius (`2 delta` of the paper).
    pub kl_clip: f64,
    pub damping: f64,
    pub damping_form: DampingForm,
    /// Running-average decay of the factors.
    pub stat_decay: f64,
    /// Refresh the eigendecompositions every this many updates.
    pub inverse_every: u64,
    /// Eigenvalues at or below this are set to 0.
    pub eigen_floor: f64,
    pub bias: BiasMode,
    pub cold_start: Option<ColdStart>,
    /// Written into cell keys as `asynchronous_inverses: false`, the field `inverse_lag`
    /// replaced, so that cells computed before keep their hashes; a spec may only write it
    /// as `false`.
    #[serde(rename = "asynchronous_inverses")]
    pub key_compat: SynchronousMarker,
    /// Updates between the factors a decomposition is computed from and its first use (0:
    /// the current factors; module docs, "Pipelined eigendecompositions"). The first
    /// decomposition is always of the current factors. Not written into a cell's key when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub inverse_lag: u64,
    /// L2 coefficient added to the damping of weight blocks (and of homogeneous
    /// weight-and-bias blocks), not of bias-only blocks: baselines `acktr/kfac.py` l. 695-734
    /// (`damping = epsilon + weight_decay_dict[var]`, 3e-4 for weights and 0 for biases in
    /// `acktr/utils.py::dense`). 0 by default.
    pub weight_decay: f64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Serialises as `false` ([`KfacConfig::key_compat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SynchronousMarker;

impl Serialize for SynchronousMarker {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(false)
    }
}

impl<'de> Deserialize<'de> for SynchronousMarker {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match bool::deserialize(d)? {
            false => Ok(SynchronousMarker),
            true => Err(serde::de::Error::custom(
                "timing-dependent asynchronous inverses are not offered: set `inverse_lag` (decompositions used that many updates late, the same bits on any machine)",
            )),
        }
    }
}

impl Default for KfacConfig {
    fn default() -> Self {
        Self {
            lr: 0.25,
            lr_schedule: LrSchedule::Linear,
            momentum: 0.9,
            kl_clip: 0.001,
            damping: 0.01,
            damping_form: DampingForm::EigenSum,
            stat_decay: 0.99,
            inverse_every: 10,
            eigen_floor: 1e-6,
            bias: BiasMode::Separate,
            cold_start: None,
            key_compat: SynchronousMarker,
            inverse_lag: 0,
            weight_decay: 0.0,
        }
    }
}

impl KfacConfig {
    /// Range checks of every field.
    pub fn check(&self) -> Result<(), FieldError> {
        check::rate("lr", self.lr)?;
        check::rate("kl_clip", self.kl_clip)?;
        check::non_negative("damping", self.damping)?;
        check::unit("stat_decay", self.stat_decay)?;
        check::non_negative("eigen_floor", self.eigen_floor)?;
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(FieldError::new("momentum", format!("must lie in [0, 1), got {}", self.momentum)));
        }
        if self.inverse_every == 0 {
            return Err(FieldError::new("inverse_every", "must be at least 1"));
        }
        if let Some(c) = &self.cold_start {
            check::rate("cold_start.lr", c.lr)?;
        }
        check::non_negative("weight_decay", self.weight_decay)
    }

    /// Builds the optimizer.
    pub fn build(&self) -> Kfac {
        Kfac::new(self.clone())
    }
}

/// Factors and eigendecompositions of one block.
#[derive(Debug, Clone)]
struct Block {
    a: Mat<f64>,
    g: Mat<f64>,
    kind: BlockKind,
}

/// What a block preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum BlockKind {
    /// A weight (or a homogeneous weight-and-bias) block: damping plus weight decay.
    Weight,
    /// A bias-only block.
    Bias,
    /// No preconditioning ([`LayerKind::Unfactored`]).
    Identity,
}

#[derive(Debug, Clone)]
struct Eigen {
    qa: Mat<f64>,
    da: Vec<f64>,
    qg: Mat<f64>,
    dg: Vec<f64>,
}

/// Per-block diagnostics of the last step (what the conformance cases check).
#[derive(Debug, Clone)]
pub struct BlockReport {
    pub a: Mat<f64>,
    pub g: Mat<f64>,
    pub running_a: Mat<f64>,
    pub running_g: Mat<f64>,
    /// `V` before `nu`, `out x in`.
    pub natural_grad: Mat<f64>,
}

/// Why an update was skipped or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KfacEvent {
    /// A factor, gradient or update held NaN or Inf; parameters and statistics untouched.
    SkippedNonFinite,
    /// An eigendecomposition failed; parameters and statistics untouched.
    SkippedEigenFailure,
    /// The engine's linear algebra ([`KfacLinalg`], a GPU's) failed; parameters and
    /// statistics untouched.
    SkippedEngineFailure,
    /// A cold-start (momentum SGD) update.
    ColdStart,
}

/// The result of one step.
#[derive(Debug, Clone)]
pub struct KfacStep {
    /// Parameter changes to add, per layer (zero when skipped).
    pub deltas: Vec<LayerGrads>,
    /// `lr^2 sum(V . D)`: the quadratic model's KL of the unscaled step.
    pub vfv: f64,
    /// Trust-region scale.
    pub nu: f64,
    /// The learning rate used.
    pub lr: f64,
    pub event: Option<KfacEvent>,
    /// Per-block diagnostics (empty for cold-start and skipped steps).
    pub blocks: Vec<BlockReport>,
}

impl KfacStep {
    /// The approximate KL of the applied step, `lr^2 nu^2 V.D` (paper appendix E).
    pub fn approx_kl(&self) -> f64 {
        self.nu * self.nu * self.vfv
    }
}

/// A matrix as a checkpoint stores it (column-major).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MatState {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

/// A saved optimizer state that does not hold together (a checkpoint from another
/// configuration, or damaged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("K-FAC state: a {rows}x{cols} matrix with {values} values")]
pub struct KfacStateError {
    pub rows: usize,
    pub cols: usize,
    pub values: usize,
}

impl MatState {
    fn of(m: &Mat<f64>) -> Self {
        Self { rows: m.nrows(), cols: m.ncols(), data: (0..m.ncols()).flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)])).collect() }
    }

    fn mat(&self) -> Result<Mat<f64>, KfacStateError> {
        if self.data.len() != self.rows * self.cols {
            return Err(KfacStateError { rows: self.rows, cols: self.cols, values: self.data.len() });
        }
        Ok(Mat::from_fn(self.rows, self.cols, |i, j| self.data[j * self.rows + i]))
    }
}

/// One block's eigendecompositions as a checkpoint stores them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EigenState {
    qa: MatState,
    da: Vec<f64>,
    qg: MatState,
    dg: Vec<f64>,
}

/// Everything a [`Kfac`] needs to continue exactly (a checkpoint's part): the running
/// factors, the eigendecompositions in use, the momentum buffers, the counters and the
/// (possibly adapted) learning rate, and the factors of the pipelined decompositions not yet
/// in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KfacState {
    lr: f64,
    running: Vec<(MatState, MatState, BlockKind)>,
    eigen: Option<Vec<EigenState>>,
    stats_steps: u64,
    kfac_steps: u64,
    cold_steps: u64,
    momentum: Vec<LayerGrads>,
    cold_momentum: Vec<LayerGrads>,
    /// Decompositions started and not yet in use: the update they apply from, and the
    /// running factors they decompose.
    #[serde(default)]
    pending: Vec<(u64, Vec<(MatState, MatState, BlockKind)>)>,
}

/// A decomposition started and not yet in use ([`KfacConfig::inverse_lag`]).
struct Pending {
    /// The value of `stats_steps` from which it is used.
    due: u64,
    /// The running factors it decomposes.
    factors: Arc<Vec<Block>>,
    /// Its computation on a thread of its own (else it is computed when due).
    job: Option<std::thread::JoinHandle<Result<Vec<Eigen>, KfacEvent>>>,
    /// Its result, once taken from the job (or computed) by a step not yet committed.
    result: Option<Result<Vec<Eigen>, KfacEvent>>,
}

/// K-FAC optimizer state.
pub struct Kfac {
    cfg: KfacConfig,
    running: Vec<Block>,
    eigen: Option<Vec<Eigen>>,
    stats_steps: u64,
    kfac_steps: u64,
    cold_steps: u64,
    momentum: Vec<LayerGrads>,
    cold_momentum: Vec<LayerGrads>,
    pending: std::collections::VecDeque<Pending>,
    /// The engine's linear algebra ([`Self::set_linalg`]); faer's when `None`.
    linalg: Option<Arc<dyn KfacLinalg>>,
    /// Threads for the factors' products and the pipelined decompositions.
    threads: usize,
}

fn rows_to_mat(x: &[f32], rows: usize, cols: usize, extra_one: bool) -> Mat<f64> {
    let c = cols + usize::from(extra_one);
    Mat::from_fn(rows, c, |i, j| if j < cols { f64::from(x[i * cols + j]) } else { 1.0 })
}

/// `scale * [X 1]^T [X 1]` (without the `1` column unless `extra_one`) for row-major float32
/// rows `x` (`rows x cols`): float32 products over blocks of rows summed in float64
/// ([`crate::nets::cpu::gram`]); the ones column's entries are the columns' sums.
fn gram_rows(x: &[f32], rows: usize, cols: usize, extra_one: bool, scale: f64, threads: usize) -> Mat<f64> {
    let c = cols + usize::from(extra_one);
    mat_of_cols_scaled(&crate::nets::cpu::gram::gram(x, rows, cols, extra_one, threads), c, c, c, scale)
}

/// `scale * X^T X`.
fn gram(x: &Mat<f64>, scale: f64) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(x.ncols(), x.ncols());
    faer::linalg::matmul::matmul(out.as_mut(), Accum::Replace, x.transpose(), x.as_ref(), scale, Par::Seq);
    out
}

fn finite(m: &Mat<f64>) -> bool {
    // Column by column: faer's layout, one pass over memory.
    (0..m.ncols()).all(|j| (0..m.nrows()).all(|i| m[(i, j)].is_finite()))
}

fn eigen_of(b: &Block, floor: f64, linalg: Option<&dyn KfacLinalg>) -> Result<Eigen, KfacEvent> {
    if b.kind == BlockKind::Identity {
        return Ok(Eigen { qa: Mat::identity(1, 1), da: vec![1.0], qg: Mat::identity(1, 1), dg: vec![1.0] });
    }
    let dec = |m: &Mat<f64>| -> Result<(Mat<f64>, Vec<f64>), KfacEvent> {
        let (s, q): (Vec<f64>, Mat<f64>) = match linalg {
            // In float32, as the references decompose their float32 factors (openai/baselines
            // acktr/kfac.py `tf.self_adjoint_eig`; ikostrikov's `torch.symeig`); the factors
            // stay float64 and the eigenvectors come back as float64.
            None => {
                let n = m.nrows();
                let m32 = Mat::<f32>::from_fn(n, n, |i, j| m[(i, j)] as f32);
                let e = m32.self_adjoint_eigen(Side::Lower).map_err(|_| KfacEvent::SkippedEigenFailure)?;
                let (s, u) = (e.S().column_vector(), e.U());
                ((0..n).map(|i| s[i] as f64).collect(), Mat::<f64>::from_fn(n, n, |i, j| u[(i, j)] as f64))
            }
            Some(linalg) => {
                let n = m.nrows();
                let (s, q) = linalg.eigh(&mat_cols(m), n).map_err(|_| KfacEvent::SkippedEigenFailure)?;
                if s.len() != n || q.len() != n * n {
                    return Err(KfacEvent::SkippedEigenFailure);
                }
                (s, mat_of_cols(&q, n, n))
            }
        };
        let d: Vec<f64> = s.iter().map(|&v| if v <= floor { 0.0 } else { v }).collect();
        if d.iter().all(|x| x.is_finite()) && finite(&q) {
            Ok((q, d))
        } else {
            Err(KfacEvent::SkippedEigenFailure)
        }
    };
    let (qa, da) = dec(&b.a)?;
    let (qg, dg) = dec(&b.g)?;
    Ok(Eigen { qa, da, qg, dg })
}

/// A matrix's entries, column-major (faer's own layout: a copy per column).
fn mat_cols(m: &Mat<f64>) -> Vec<f64> {
    let mut out = Vec::with_capacity(m.nrows() * m.ncols());
    for j in 0..m.ncols() {
        out.extend_from_slice(m.col_as_slice(j));
    }
    out
}

/// The `rows x cols` matrix of column-major entries `v`, times `scale`.
fn mat_of_cols_scaled(v: &[f64], stride: usize, rows: usize, cols: usize, scale: f64) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(rows, cols);
    for j in 0..cols {
        for (o, &x) in out.col_as_slice_mut(j).iter_mut().zip(&v[j * stride..j * stride + rows]) {
            *o = scale * x;
        }
    }
    out
}

/// The `rows x cols` matrix of column-major entries `v`.
fn mat_of_cols(v: &[f64], rows: usize, cols: usize) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(rows, cols);
    for j in 0..cols {
        out.col_as_slice_mut(j).copy_from_slice(&v[j * rows..(j + 1) * rows]);
    }
    out
}

fn eigen_all(blocks: &[Block], floor: f64, linalg: Option<&dyn KfacLinalg>) -> Result<Vec<Eigen>, KfacEvent> {
    blocks.iter().map(|b| eigen_of(b, floor, linalg)).collect()
}

impl Kfac {
    /// A fresh optimizer.
    pub fn new(cfg: KfacConfig) -> Self {
        Self {
            cfg,
            running: Vec::new(),
            eigen: None,
            stats_steps: 0,
            kfac_steps: 0,
            cold_steps: 0,
            momentum: Vec::new(),
            cold_momentum: Vec::new(),
            pending: std::collections::VecDeque::new(),
            linalg: None,
            threads: 1,
        }
    }

    /// Threads for the factors' products and the pipelined decompositions (the results do
    /// not depend on it).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Eigendecomposes the factors and forms the natural gradient's products with
    /// `linalg` (an engine's, [`KfacBlocks::kfac_linalg`]; `None`: faer on the host).
    ///
    /// [`KfacBlocks::kfac_linalg`]: crate::nets::KfacBlocks::kfac_linalg
    pub fn set_linalg(&mut self, linalg: Option<Arc<dyn KfacLinalg>>) {
        self.linalg = linalg;
    }

    /// The configuration.
    pub fn config(&self) -> &KfacConfig {
        &self.cfg
    }

    /// The state to continue from ([`Self::restore`]).
    pub fn state(&self) -> KfacState {
        KfacState {
            lr: self.cfg.lr,
            running: self.running.iter().map(|b| (MatState::of(&b.a), MatState::of(&b.g), b.kind)).collect(),
            eigen: self
                .eigen
                .as_ref()
                .map(|es| {
                    es.iter()
                        .map(|e| EigenState { qa: MatState::of(&e.qa), da: e.da.clone(), qg: MatState::of(&e.qg), dg: e.dg.clone() })
                        .collect()
                }),
            stats_steps: self.stats_steps,
            kfac_steps: self.kfac_steps,
            cold_steps: self.cold_steps,
            momentum: self.momentum.clone(),
            cold_momentum: self.cold_momentum.clone(),
            pending: self.pending.iter().map(|p| (p.due, p.factors.iter().map(|b| (MatState::of(&b.a), MatState::of(&b.g), b.kind)).collect())).collect(),
        }
    }

    /// Continues from a [`Self::state`] of an optimizer with the same configuration.
    pub fn restore(&mut self, s: &KfacState) -> Result<(), KfacStateError> {
        let blocks = |fs: &[(MatState, MatState, BlockKind)]| fs.iter().map(|(a, g, kind)| Ok(Block { a: a.mat()?, g: g.mat()?, kind: *kind })).collect::<Result<Vec<_>, KfacStateError>>();
        let running = blocks(&s.running)?;
        // Pipelined decompositions are recomputed from their factors when due: the same bits.
        let pending = s.pending.iter().map(|(due, fs)| Ok(Pending { due: *due, factors: Arc::new(blocks(fs)?), job: None, result: None })).collect::<Result<_, KfacStateError>>()?;
        let eigen = match &s.eigen {
            None => None,
            Some(es) => Some(
                es.iter()
                    .map(|e| Ok(Eigen { qa: e.qa.mat()?, da: e.da.clone(), qg: e.qg.mat()?, dg: e.dg.clone() }))
                    .collect::<Result<Vec<_>, KfacStateError>>()?,
            ),
        };
        self.cfg.lr = s.lr;
        self.running = running;
        self.eigen = eigen;
        self.stats_steps = s.stats_steps;
        self.kfac_steps = s.kfac_steps;
        self.cold_steps = s.cold_steps;
        self.momentum = s.momentum.clone();
        self.cold_momentum = s.cold_momentum.clone();
        self.pending = pending;
        Ok(())
    }

    /// Mutable learning rate (for adaptive step-size schemes).
    pub fn lr_mut(&mut self) -> &mut f64 {
        &mut self.cfg.lr
    }

    /// This step's factors, one or two blocks per layer in order (weight, then bias).
    fn factors(&self, stats: &[LayerStats]) -> Vec<Block> {
        let mut out = Vec::new();
        for s in stats {
            let spatial = match s.kind {
                LayerKind::Conv { spatial } => spatial,
                _ => 1,
            };
            let rows = s.g.len() / s.out_dim.max(1);
            let (b, t) = (s.batch as f64, spatial as f64);
            if s.kind == LayerKind::Unfactored {
                out.push(Block { a: Mat::identity(1, 1), g: Mat::identity(1, 1), kind: BlockKind::Identity });
                continue;
            }
            // Each factor from the rows, or from the sums of products an engine reduced them
            // to (`LayerGrams`: symmetric, read column by column), with the same scales.
            let a_scale = 1.0 / (b * t * t);
            let a_factor = |extra_one: bool| match &s.grams {
                None => gram_rows(&s.a, rows, s.in_dim, extra_one, a_scale, self.threads),
                Some(gr) => {
                    let m = s.in_dim + usize::from(extra_one);
                    mat_of_cols_scaled(&gr.a, s.in_dim + 1, m, m, a_scale)
                }
            };
            let g_weight = match &s.grams {
                None => gram_rows(&s.g, rows, s.out_dim, false, b * t, self.threads),
                Some(gr) => mat_of_cols_scaled(&gr.g, s.out_dim, s.out_dim, s.out_dim, b * t),
            };
            let bias_block = || -> Block {
                let g_bias = match &s.grams {
                    _ if spatial == 1 => g_weight.clone(),
                    Some(gr) => mat_of_cols_scaled(&gr.g_summed, s.out_dim, s.out_dim, s.out_dim, b),
                    None => {
                        // sum over positions per example
                        let g = rows_to_mat(&s.g, rows, s.out_dim, false);
                        let summed = Mat::from_fn(s.batch, s.out_dim, |i, j| (0..spatial).map(|k| g[(i * spatial + k, j)]).sum());
                        gram(&summed, b)
                    }
                };
                Block { a: Mat::from_fn(1, 1, |_, _| 1.0), g: g_bias, kind: BlockKind::Bias }
            };
            match (s.kind, self.cfg.bias) {
                (LayerKind::Unfactored, _) => {
                    out.push(Block { a: Mat::identity(1, 1), g: Mat::identity(1, 1), kind: BlockKind::Identity })
                }
                (LayerKind::Bias, _) => out.push(bias_block()),
                (_, BiasMode::Separate) => {
                    out.push(Block { a: a_factor(false), g: g_weight.clone(), kind: BlockKind::Weight });
                    out.push(bias_block());
                }
                (_, BiasMode::Homogeneous) => {
                    out.push(Block { a: a_factor(true), g: g_weight, kind: BlockKind::Weight });
                }
            }
        }
        out
    }

    /// Gradient matrices per block, matching [`Self::factors`].
    fn grad_mats(&self, stats: &[LayerStats], grads: &[LayerGrads]) -> Vec<Mat<f64>> {
        let mut out = Vec::new();
        for (s, gr) in stats.iter().zip(grads) {
            let bias = gr.bias.as_deref().unwrap_or(&[]);
            let col = |v: &[f64]| Mat::from_fn(s.out_dim, 1, |i, _| v.get(i).copied().unwrap_or(0.0));
            match (s.kind, self.cfg.bias) {
                (LayerKind::Bias | LayerKind::Unfactored, _) => out.push(col(bias)),
                (_, BiasMode::Separate) => {
                    let w = gr.weight.as_deref().unwrap_or(&[]);
                    out.push(Mat::from_fn(s.out_dim, s.in_dim, |i, j| w[i * s.in_dim + j]));
                    out.push(col(bias));
                }
                (_, BiasMode::Homogeneous) => {
                    let w = gr.weight.as_deref().unwrap_or(&[]);
                    out.push(Mat::from_fn(s.out_dim, s.in_dim + 1, |i, j| if j < s.in_dim { w[i * s.in_dim + j] } else { bias[i] }));
                }
            }
        }
        out
    }

    /// Splits per-block matrices back into per-layer weight/bias vectors.
    fn split(&self, stats: &[LayerStats], mats: &[Mat<f64>]) -> Vec<LayerGrads> {
        let mut it = mats.iter();
        let flat = |m: &Mat<f64>, cols: usize| -> Vec<f64> {
            (0..m.nrows()).flat_map(|i| (0..cols).map(move |j| m[(i, j)])).collect()
        };
        stats
            .iter()
            .map(|s| match (s.kind, self.cfg.bias) {
                (LayerKind::Bias | LayerKind::Unfactored, _) => LayerGrads { weight: None, bias: it.next().map(|m| flat(m, 1)) },
                (_, BiasMode::Separate) => {
                    let w = it.next().map(|m| flat(m, s.in_dim));
                    let b = it.next().map(|m| flat(m, 1));
                    LayerGrads { weight: w, bias: b }
                }
                (_, BiasMode::Homogeneous) => {
                    let m = it.next().expect("one block per layer");
                    let w = flat(m, s.in_dim);
                    let b = (0..m.nrows()).map(|i| m[(i, s.in_dim)]).collect();
                    LayerGrads { weight: Some(w), bias: Some(b) }
                }
            })
            .collect()
    }

    #[cfg(test)]
    fn natural(&self, e: &Eigen, d: &Mat<f64>) -> Mat<f64> {
        self.natural_block(e, d, BlockKind::Bias).expect("host products")
    }

    fn natural_block(&self, e: &Eigen, d: &Mat<f64>, kind: BlockKind) -> Result<Mat<f64>, KfacEvent> {
        let damping = match kind {
            BlockKind::Identity => return Ok(d.clone()),
            BlockKind::Weight => self.cfg.damping + self.cfg.weight_decay,
            BlockKind::Bias => self.cfg.damping,
        };
        let tmp = self.product3(&e.qg, true, d, &e.qa, false)?;
        let (pi, sq) = match self.cfg.damping_form {
            DampingForm::EigenSum => (1.0, 0.0),
            DampingForm::FactoredPi => {
                let ta = e.da.iter().sum::<f64>() / e.da.len() as f64;
                let tg = e.dg.iter().sum::<f64>() / e.dg.len() as f64;
                let pi = if ta > 0.0 && tg > 0.0 { (ta / tg).sqrt() } else { 1.0 };
                (pi, damping.sqrt())
            }
        };
        let scaled = Mat::from_fn(tmp.nrows(), tmp.ncols(), |i, j| {
            let denom = match self.cfg.damping_form {
                DampingForm::EigenSum => e.dg[i] * e.da[j] + damping,
                DampingForm::FactoredPi => (e.dg[i] + sq / pi) * (e.da[j] + pi * sq),
            };
            tmp[(i, j)] / denom
        });
        self.product3(&e.qg, false, &scaled, &e.qa, true)
    }

    /// `op(l) m op(r)` (`op`: transposed when its flag is set), on the engine's linear
    /// algebra when it has one.
    fn product3(&self, l: &Mat<f64>, l_t: bool, m: &Mat<f64>, r: &Mat<f64>, r_t: bool) -> Result<Mat<f64>, KfacEvent> {
        let Some(engine) = &self.linalg else {
            let lo = if l_t { l.transpose() } else { l.as_ref() };
            let ro = if r_t { r.transpose() } else { r.as_ref() };
            return Ok(lo * m * ro);
        };
        let rows = if l_t { l.ncols() } else { l.nrows() };
        let cols = if r_t { r.nrows() } else { r.ncols() };
        let out = engine
            .product3(&mat_cols(l), (l.nrows(), l.ncols()), l_t, &mat_cols(m), (m.nrows(), m.ncols()), &mat_cols(r), (r.nrows(), r.ncols()), r_t)
            .map_err(|_| KfacEvent::SkippedEngineFailure)?;
        if out.len() != rows * cols {
            return Err(KfacEvent::SkippedEngineFailure);
        }
        Ok(mat_of_cols(&out, rows, cols))
    }

    fn zero_deltas(&self, grads: &[LayerGrads]) -> Vec<LayerGrads> {
        grads
            .iter()
            .map(|g| LayerGrads {
                weight: g.weight.as_ref().map(|w| vec![0.0; w.len()]),
                bias: g.bias.as_ref().map(|b| vec![0.0; b.len()]),
            })
            .collect()
    }

    fn momentum_update(buf: &mut Vec<LayerGrads>, u: &[LayerGrads], momentum: f64) {
        if buf.is_empty() {
            *buf = u.to_vec();
            return;
        }
        for (b, x) in buf.iter_mut().zip(u) {
            for (bv, xv) in [(&mut b.weight, &x.weight), (&mut b.bias, &x.bias)] {
                if let (Some(bv), Some(xv)) = (bv, xv) {
                    for (p, q) in bv.iter_mut().zip(xv) {
                        *p = momentum * *p + q;
                    }
                }
            }
        }
    }

    fn scaled(buf: &[LayerGrads], k: f64) -> Vec<LayerGrads> {
        buf.iter()
            .map(|b| LayerGrads {
                weight: b.weight.as_ref().map(|w| w.iter().map(|x| k * x).collect()),
                bias: b.bias.as_ref().map(|w| w.iter().map(|x| k * x).collect()),
            })
            .collect()
    }

    fn skipped(&self, grads: &[LayerGrads], lr: f64, event: KfacEvent) -> KfacStep {
        KfacStep { deltas: self.zero_deltas(grads), vfv: f64::NAN, nu: f64::NAN, lr, event: Some(event), blocks: vec![] }
    }

    /// One update from this batch's statistics and loss gradients, at learning rate `lr`.
    /// Returns the parameter changes; on non-finite numbers or a failed
    /// eigendecomposition, nothing changes and the event says why.
    pub fn step(&mut self, stats: &[LayerStats], grads: &[LayerGrads], lr: f64) -> KfacStep {
        let grads_finite = grads.iter().all(|g| {
            g.weight.iter().chain(g.bias.iter()).all(|v| v.iter().all(|x| x.is_finite()))
        });
        let factors = self.factors(stats);
        if !grads_finite || !factors.iter().all(|b| finite(&b.a) && finite(&b.g)) {
            return self.skipped(grads, lr, KfacEvent::SkippedNonFinite);
        }
        // Running averages (committed only when the whole step succeeds).
        let running = self.running_averages(&factors);
        if let Some(cold) = self.cfg.cold_start.filter(|c| self.cold_steps < c.iterations) {
            return self.cold_step(cold, grads, running);
        }
        let choice = match self.refresh_eigen(&running) {
            Ok(c) => c,
            Err(ev) => return self.skipped(grads, lr, ev),
        };
        let eigen = choice.fresh.as_ref().or(self.eigen.as_ref()).expect("an eigendecomposition exists");
        let dmats = self.grad_mats(stats, grads);
        let vs: Vec<Mat<f64>> =
            match eigen.iter().zip(&dmats).zip(&running).map(|((e, d), b)| self.natural_block(e, d, b.kind)).collect() {
                Ok(vs) => vs,
                Err(ev) => return self.skipped(grads, lr, ev),
            };
        let vd: f64 = vs
            .iter()
            .zip(&dmats)
            .map(|(v, d)| (0..v.nrows()).flat_map(|i| (0..v.ncols()).map(move |j| v[(i, j)] * d[(i, j)])).sum::<f64>())
            .sum();
        let (nu, vfv) = trust_region(vd, lr, self.cfg.kl_clip);
        if !vfv.is_finite() || !nu.is_finite() || !vs.iter().all(finite) {
            return self.skipped(grads, lr, KfacEvent::SkippedNonFinite);
        }
        // Commit.
        let u = Self::scaled(&self.split(stats, &vs), nu);
        Self::momentum_update(&mut self.momentum, &u, self.cfg.momentum);
        let deltas = Self::scaled(&self.momentum, -lr * (1.0 - self.cfg.momentum));
        let blocks = factors
            .into_iter()
            .zip(&running)
            .zip(vs)
            .map(|((f, r), v)| BlockReport { a: f.a, g: f.g, running_a: r.a.clone(), running_g: r.g.clone(), natural_grad: v })
            .collect();
        if let Some(e) = choice.fresh {
            self.eigen = Some(e);
        }
        self.pending.drain(..choice.consumed);
        if self.cfg.inverse_lag > 0 && !choice.synchronous && self.stats_steps % self.cfg.inverse_every.max(1) == 0 {
            self.start_pending(&running);
        }
        self.running = running;
        self.stats_steps += 1;
        self.kfac_steps += 1;
        KfacStep { deltas, vfv, nu, lr, event: None, blocks }
    }

    /// The running factors after this step's (`stat_decay`), not yet committed.
    fn running_averages(&self, factors: &[Block]) -> Vec<Block> {
        if self.running.is_empty() {
            return factors.to_vec();
        }
        let d = self.cfg.stat_decay;
        self.running
            .iter()
            .zip(factors)
            .map(|(m, f)| Block { a: &m.a * d + &f.a * (1.0 - d), g: &m.g * d + &f.g * (1.0 - d), kind: f.kind })
            .collect()
    }

    /// A cold-start step: momentum SGD (clipped) while the statistics accumulate.
    fn cold_step(&mut self, cold: ColdStart, grads: &[LayerGrads], running: Vec<Block>) -> KfacStep {
        let mut g = grads.to_vec();
        if let Some(max) = cold.max_grad_norm {
            let norm = g.iter().flat_map(|x| x.weight.iter().chain(x.bias.iter()).flatten()).map(|v| v * v).sum::<f64>().sqrt();
            if norm > max {
                g = Self::scaled(&g, max / norm);
            }
        }
        Self::momentum_update(&mut self.cold_momentum, &g, self.cfg.momentum);
        self.running = running;
        self.stats_steps += 1;
        self.cold_steps += 1;
        // TF's MomentumOptimizer: theta -= lr * accumulation.
        KfacStep {
            deltas: Self::scaled(&self.cold_momentum, -cold.lr),
            vfv: f64::NAN,
            nu: f64::NAN,
            lr: cold.lr,
            event: Some(KfacEvent::ColdStart),
            blocks: vec![],
        }
    }

    /// The eigendecompositions this step uses in place of the current ones, and how many
    /// pipelined ones that consumes. With no lag (or none yet): a new decomposition of
    /// `running` when one is due (every `inverse_every` steps, or the first). With a lag: the
    /// newest pipelined decomposition that is due (a failed one leaves the current one in
    /// use). Nothing is removed from the queue here: [`Self::step`] does that when it
    /// commits, so a skipped step changes nothing.
    fn refresh_eigen(&mut self, running: &[Block]) -> Result<EigenChoice, KfacEvent> {
        let every = self.cfg.inverse_every.max(1);
        if self.cfg.inverse_lag == 0 || self.eigen.is_none() {
            if self.stats_steps % every != 0 && self.eigen.is_some() {
                return Ok(EigenChoice::default());
            }
            let fresh = eigen_all(running, self.cfg.eigen_floor, self.linalg.as_deref())?;
            return Ok(EigenChoice { fresh: Some(fresh), consumed: 0, synchronous: true });
        }
        let mut choice = EigenChoice::default();
        let (floor, linalg) = (self.cfg.eigen_floor, self.linalg.clone());
        for p in self.pending.iter_mut().take_while(|p| p.due <= self.stats_steps) {
            let result = match (p.result.take(), p.job.take()) {
                (Some(r), _) => r,
                (None, Some(job)) => job.join().unwrap_or(Err(KfacEvent::SkippedEigenFailure)),
                (None, None) => eigen_all(&p.factors, floor, linalg.as_deref()),
            };
            if let Ok(e) = &result {
                choice.fresh = Some(e.clone());
            }
            p.result = Some(result);
            choice.consumed += 1;
        }
        Ok(choice)
    }

    /// Queues a decomposition of `running` (this step's committed factors) for use from
    /// update `stats_steps + inverse_lag` on, on a thread of its own when there are two or
    /// more.
    fn start_pending(&mut self, running: &[Block]) {
        let factors = Arc::new(running.to_vec());
        let job = (self.threads > 1).then(|| {
            let (factors, floor, linalg) = (Arc::clone(&factors), self.cfg.eigen_floor, self.linalg.clone());
            std::thread::spawn(move || eigen_all(&factors, floor, linalg.as_deref()))
        });
        self.pending.push_back(Pending { due: self.stats_steps + self.cfg.inverse_lag, factors, job, result: None });
    }
}

/// What [`Kfac::refresh_eigen`] chose.
#[derive(Default)]
struct EigenChoice {
    /// Decompositions to use from this step on (`None`: keep the current ones).
    fresh: Option<Vec<Eigen>>,
    /// Pipelined decompositions this step consumes.
    consumed: usize,
    /// Whether `fresh` was computed from this step's own factors.
    synchronous: bool,
}

/// The trust-region rule used by [`Kfac::step`] (`nu = min(1, sqrt(kl_clip / (lr^2 V.D)))`),
/// shared with the first-order [`crate::optim::TrustSgd`].
pub use crate::optim::trust_region;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::NetError;

    fn stats(seed: u64, poison: bool) -> (Vec<LayerStats>, Vec<LayerGrads>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (b, i, o) = (6, 3, 2);
        let mut g: Vec<f32> = (0..b * o).map(|_| rng.gen_range(-0.1..0.1)).collect();
        if poison {
            g[3] = f32::NAN;
        }
        let st = LayerStats { kind: LayerKind::Linear, batch: b, a: (0..b * i).map(|_| rng.gen_range(-1.0..1.0)).collect(), in_dim: i, g, out_dim: o, grams: None };
        let gr = LayerGrads { weight: Some((0..o * i).map(|_| rng.gen_range(-1.0..1.0)).collect()), bias: Some(vec![0.3, -0.2]) };
        (vec![st], vec![gr])
    }

    #[test]
    fn a_nan_skips_the_update_and_leaves_the_state_untouched() {
        let cfg = KfacConfig { inverse_every: 1, ..KfacConfig::default() };
        let mut poisoned = cfg.build();
        let mut clean = cfg.build();
        let (s0, g0) = stats(1, false);
        let (s1, g1) = stats(2, false);
        let (bad, gbad) = stats(3, true);
        poisoned.step(&s0, &g0, 0.1);
        clean.step(&s0, &g0, 0.1);
        let skipped = poisoned.step(&bad, &gbad, 0.1);
        assert_eq!(skipped.event, Some(KfacEvent::SkippedNonFinite));
        assert!(skipped.deltas.iter().all(|d| d.weight.as_ref().unwrap().iter().all(|x| *x == 0.0)));
        // A NaN in the gradient is caught too.
        let (s2, mut g2) = stats(4, false);
        g2[0].bias = Some(vec![f64::INFINITY, 0.0]);
        assert_eq!(poisoned.step(&s2, &g2, 0.1).event, Some(KfacEvent::SkippedNonFinite));
        let a = poisoned.step(&s1, &g1, 0.1);
        let b = clean.step(&s1, &g1, 0.1);
        assert_eq!(a.event, None);
        assert_eq!(a.deltas, b.deltas, "skipped steps must not change the optimizer's state");
        assert_eq!(a.nu, b.nu);
    }

    /// Statistics reduced where they were computed (the CPU engine's plain kernels and the
    /// CUDA engine send [`LayerGrams`]) give the factors, and so the steps, of the rows
    /// themselves: linear and conv layers, both bias modes, a bare bias block.
    #[test]
    fn reduced_statistics_give_the_steps_of_the_rows() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut r = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect() };
        let (b, sp) = (3, 4);
        let stats = vec![
            LayerStats { kind: LayerKind::Conv { spatial: sp }, batch: b, a: r(b * sp * 5), in_dim: 5, g: r(b * sp * 2), out_dim: 2, grams: None },
            LayerStats { kind: LayerKind::Linear, batch: b, a: r(b * 4), in_dim: 4, g: r(b * 3), out_dim: 3, grams: None },
            LayerStats { kind: LayerKind::Bias, batch: b, a: vec![], in_dim: 0, g: r(b * 3), out_dim: 3, grams: None },
        ];
        let grads = vec![
            LayerGrads { weight: Some(r(10).into_iter().map(f64::from).collect()), bias: Some(vec![0.1, -0.3]) },
            LayerGrads { weight: Some(r(12).into_iter().map(f64::from).collect()), bias: Some(vec![0.2, 0.0, -0.1]) },
            LayerGrads { weight: None, bias: Some(vec![0.5, -0.5, 0.25]) },
        ];
        // Reduced as the CPU engine's plain kernels reduce them: sums of products in
        // [`crate::nets::cpu::gram`]'s arithmetic (the rows' own), a convolution's summed
        // gradients in float64 ([`LayerStats::reduced`]).
        let reduced: Vec<LayerStats> = stats
            .iter()
            .map(|s| {
                let mut r = s.reduced();
                let rows = s.g.len() / s.out_dim;
                let grams = r.grams.as_mut().expect("reduced");
                if s.kind.has_weight() {
                    grams.a = crate::nets::cpu::gram::gram(&s.a, rows, s.in_dim, true, 1);
                }
                grams.g = crate::nets::cpu::gram::gram(&s.g, rows, s.out_dim, false, 1);
                r
            })
            .collect();
        assert!(reduced.iter().all(|s| s.grams.is_some() && s.a.is_empty() && s.g.is_empty()));
        for bias in [BiasMode::Separate, BiasMode::Homogeneous] {
            let cfg = KfacConfig { bias, inverse_every: 1, kl_clip: 1e9, ..KfacConfig::default() };
            let (mut from_rows, mut from_grams) = (cfg.build(), cfg.build());
            for (x, y) in from_rows.factors(&stats).iter().zip(from_grams.factors(&reduced).iter()) {
                for (p, q) in [(&x.a, &y.a), (&x.g, &y.g)] {
                    assert_eq!((p.nrows(), p.ncols()), (q.nrows(), q.ncols()));
                    for i in 0..p.nrows() {
                        for j in 0..p.ncols() {
                            assert!((p[(i, j)] - q[(i, j)]).abs() <= 1e-12 * (1.0 + p[(i, j)].abs()), "{bias:?} factor ({i}, {j})");
                        }
                    }
                }
            }
            for _ in 0..2 {
                let (x, y) = (from_rows.step(&stats, &grads, 0.1), from_grams.step(&reduced, &grads, 0.1));
                assert!(x.event.is_none() && y.event.is_none());
                for (dx, dy) in x.deltas.iter().zip(&y.deltas) {
                    for (p, q) in [(&dx.weight, &dy.weight), (&dx.bias, &dy.bias)] {
                        for (u, v) in p.iter().flatten().zip(q.iter().flatten()) {
                            assert!((u - v).abs() <= 1e-10 * (1.0 + u.abs()), "{bias:?}: {u} vs {v}");
                        }
                    }
                }
            }
        }
    }

    /// An engine's linear algebra (the CUDA engine's cuSOLVER and cuBLAS) plugs in through
    /// [`KfacLinalg`]: one returning a different valid basis (eigenpairs in descending
    /// order, every eigenvector's sign flipped) and its own products gives faer's steps,
    /// and one that fails skips the update, naming which part failed. The test's engine
    /// decomposes in float32 as the host does, so the steps agree to float64 rounding.
    #[test]
    fn an_engines_linear_algebra_gives_the_hosts_steps() {
        struct Reversed;
        impl KfacLinalg for Reversed {
            fn eigh(&self, m: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>), NetError> {
                let e = Mat::<f32>::from_fn(n, n, |i, j| m[j * n + i] as f32).self_adjoint_eigen(Side::Lower).map_err(|e| NetError::Engine(format!("{e:?}")))?;
                let (s, u) = (e.S().column_vector(), e.U());
                let vals = (0..n).rev().map(|i| s[i] as f64).collect();
                // Column-major, eigenvector i (here the (n-1-i)-th of faer's, negated) in column i.
                let vecs = (0..n).flat_map(|i| (0..n).map(move |r| -u[(r, n - 1 - i)] as f64)).collect();
                Ok((vals, vecs))
            }
            fn product3(&self, l: &[f64], ls: (usize, usize), lt: bool, m: &[f64], ms: (usize, usize), r: &[f64], rs: (usize, usize), rt: bool) -> Result<Vec<f64>, NetError> {
                // Plain loops, in another order than faer's; column-major in and out.
                let at = |x: &[f64], s: (usize, usize), t: bool, i: usize, j: usize| if t { x[i * s.0 + j] } else { x[j * s.0 + i] };
                let (rows, inner) = if lt { (ls.1, ls.0) } else { ls };
                let cols = if rt { rs.0 } else { rs.1 };
                let lm: Vec<f64> = (0..rows * ms.1).map(|k| (0..inner).map(|p| at(l, ls, lt, k % rows, p) * m[(k / rows) * ms.0 + p]).sum()).collect();
                Ok((0..rows * cols).map(|k| (0..ms.1).map(|p| lm[p * rows + k % rows] * at(r, rs, rt, p, k / rows)).sum()).collect())
            }
        }
        struct Failing {
            eigh: bool,
        }
        impl KfacLinalg for Failing {
            fn eigh(&self, m: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>), NetError> {
                if self.eigh {
                    return Err(NetError::Engine("no device".into()));
                }
                Reversed.eigh(m, n)
            }
            fn product3(&self, _: &[f64], _: (usize, usize), _: bool, _: &[f64], _: (usize, usize), _: &[f64], _: (usize, usize), _: bool) -> Result<Vec<f64>, NetError> {
                Err(NetError::Engine("no device".into()))
            }
        }
        let cfg = KfacConfig { inverse_every: 1, kl_clip: 1e9, ..KfacConfig::default() };
        let (mut host, mut engine) = (cfg.build(), cfg.build());
        engine.set_linalg(Some(Arc::new(Reversed)));
        for t in 0..3 {
            let (st, gr) = stats(20 + t, false);
            let (x, y) = (host.step(&st, &gr, 0.1), engine.step(&st, &gr, 0.1));
            assert!(x.event.is_none() && y.event.is_none());
            for (dx, dy) in x.deltas.iter().zip(&y.deltas) {
                for (u, v) in dx.weight.iter().chain(dx.bias.iter()).flatten().zip(dy.weight.iter().chain(dy.bias.iter()).flatten()) {
                    assert!((u - v).abs() <= 1e-10 * (1.0 + u.abs()), "step {t}: {u} vs {v}");
                }
            }
        }
        let (st, gr) = stats(30, false);
        for (eigh, event) in [(true, KfacEvent::SkippedEigenFailure), (false, KfacEvent::SkippedEngineFailure)] {
            let mut failing = cfg.build();
            failing.set_linalg(Some(Arc::new(Failing { eigh })));
            let step = failing.step(&st, &gr, 0.1);
            assert_eq!(step.event, Some(event));
            assert!(step.deltas.iter().all(|d| d.weight.iter().chain(d.bias.iter()).flatten().all(|&x| x == 0.0)));
        }
    }

    #[test]
    fn factored_pi_damping_matches_its_definition() {
        // One block with diagonal factors: A = diag(4, 1), G = diag(9), damping 0.04.
        // pi = sqrt((5/2) / 9); denominators (9 + 0.2/pi)(d_A + 0.2 pi).
        let cfg = KfacConfig { damping: 0.04, damping_form: DampingForm::FactoredPi, ..KfacConfig::default() };
        let k = cfg.build();
        let e = Eigen { qa: Mat::identity(2, 2), da: vec![4.0, 1.0], qg: Mat::identity(1, 1), dg: vec![9.0] };
        let d = Mat::from_fn(1, 2, |_, j| [1.0, 2.0][j]);
        let v = k.natural(&e, &d);
        let pi = (2.5f64 / 9.0).sqrt();
        for (j, (da, dj)) in [(4.0, 1.0), (1.0, 2.0)].into_iter().enumerate() {
            let expected = dj / ((9.0 + 0.2 / pi) * (da + 0.2 * pi));
            assert!((v[(0, j)] - expected).abs() < 1e-12, "{} vs {expected}", v[(0, j)]);
        }
        // The reference form: d / (d_G d_A + damping).
        let k = KfacConfig { damping: 0.04, ..KfacConfig::default() }.build();
        let v = k.natural(&e, &d);
        assert!((v[(0, 0)] - 1.0 / 36.04).abs() < 1e-12 && (v[(0, 1)] - 2.0 / 9.04).abs() < 1e-12);
    }

    /// A decomposition pipelined with lag L is the synchronous one of L updates before: the
    /// same steps as an optimizer that decomposes, at each update, the factors of L updates
    /// ago (computed here by hand); the same bits on one thread (computed when due) and on
    /// several (on a thread of its own); and a checkpoint taken with decompositions in
    /// flight continues exactly.
    #[test]
    fn pipelined_decompositions_are_the_synchronous_ones_of_lag_updates_before() {
        for (lag, every) in [(1u64, 1u64), (2, 1), (2, 3)] {
            let cfg = KfacConfig { inverse_every: every, inverse_lag: lag, ..KfacConfig::default() };
            let (mut one, mut many) = (cfg.build(), cfg.build());
            many.set_threads(3);
            let mut resumed: Option<Kfac> = None;
            for t in 0..12u64 {
                let (st, gr) = stats(40 + t, false);
                let (x, y) = (one.step(&st, &gr, 0.1), many.step(&st, &gr, 0.1));
                assert!(x.event.is_none() && x.nu.is_finite());
                assert_eq!(x.deltas, y.deltas, "lag {lag}, every {every}, step {t}: thread counts differ");
                if let Some(r) = resumed.as_mut() {
                    assert_eq!(r.step(&st, &gr, 0.1).deltas, x.deltas, "lag {lag}: resumed, step {t}");
                }
                if t == 4 {
                    let mut r = cfg.build();
                    r.restore(&one.state()).unwrap();
                    resumed = Some(r);
                }
            }
        }
        // Lag 1, every update: step t uses the decomposition of step t-1's running factors.
        // The running factors do not depend on the decompositions, so a synchronous optimizer
        // fed the same statistics gives them; its eigenbases, one step late, give the steps.
        let lagged = KfacConfig { inverse_every: 1, inverse_lag: 1, momentum: 0.0, ..KfacConfig::default() };
        let sync = KfacConfig { inverse_lag: 0, ..lagged.clone() };
        let (mut k, mut s) = (lagged.build(), sync.build());
        let mut previous: Option<Vec<Eigen>> = None;
        for t in 0..6u64 {
            let (st, gr) = stats(60 + t, false);
            let x = k.step(&st, &gr, 0.1);
            s.step(&st, &gr, 0.1);
            if let Some(e) = previous.take() {
                let mut by_hand = sync.build();
                by_hand.restore(&s.state()).unwrap();
                by_hand.eigen = Some(e);
                let dmats = by_hand.grad_mats(&st, &gr);
                let v: Vec<Mat<f64>> = by_hand.eigen.as_ref().unwrap().iter().zip(&dmats).zip(&by_hand.running).map(|((e, d), b)| by_hand.natural_block(e, d, b.kind).unwrap()).collect();
                for (got, want) in x.blocks.iter().zip(&v) {
                    assert_eq!(got.natural_grad, *want, "step {t}");
                }
            }
            previous = s.eigen.clone();
        }
    }

    #[test]
    fn an_unfactored_block_steps_along_its_gradient_inside_the_trust_region() {
        // One linear layer and one unfactored vector (baselines' logstd): the vector's
        // natural gradient is its gradient, and it enters V.grad.
        let cfg = KfacConfig { inverse_every: 1, momentum: 0.0, kl_clip: 1e9, ..KfacConfig::default() };
        let mut k = cfg.build();
        let (mut st, mut gr) = stats(1, false);
        st.push(LayerStats { kind: LayerKind::Unfactored, batch: 6, a: vec![], in_dim: 0, g: vec![0.0; 12], out_dim: 2, grams: None });
        gr.push(LayerGrads { weight: None, bias: Some(vec![0.5, -2.0]) });
        let with = k.step(&st, &gr, 0.1);
        assert_eq!(with.deltas[1].bias, Some(vec![-0.1 * 0.5, 0.1 * 2.0]), "plain gradient step");
        let mut k0 = cfg.build();
        let without = k0.step(&st[..1], &gr[..1], 0.1);
        assert!((with.vfv - without.vfv - 0.01 * (0.25 + 4.0)).abs() < 1e-12, "lr^2 |g|^2 joins vFv");
        assert_eq!(with.deltas[0], without.deltas[0], "the other blocks are unchanged");
    }

    #[test]
    fn weight_decay_damps_weight_blocks_only() {
        let (st, gr) = stats(2, false);
        let run = |wd: f64| {
            let cfg = KfacConfig { inverse_every: 1, momentum: 0.0, kl_clip: 1e9, damping: 0.01, weight_decay: wd, ..KfacConfig::default() };
            cfg.build().step(&st, &gr, 0.1)
        };
        let (a, b) = (run(0.0), run(0.5));
        assert_ne!(a.deltas[0].weight, b.deltas[0].weight, "the weight block is damped more");
        assert_eq!(a.deltas[0].bias, b.deltas[0].bias, "a separate bias block is not");
        // Homogeneous: one block, damped as a weight.
        let cfg = |wd: f64| KfacConfig { bias: BiasMode::Homogeneous, inverse_every: 1, weight_decay: wd, ..KfacConfig::default() };
        let (x, y) = (cfg(0.0).build().step(&st, &gr, 0.1), cfg(0.5).build().step(&st, &gr, 0.1));
        assert_ne!(x.deltas[0].bias, y.deltas[0].bias);
    }

    #[test]
    fn tensorflow_kfac_trust_region_vector() {
        // tensorflow/kfac: grads [[1,2],[3,4]], [[2,3],[4,5]]; preconditioned
        // [[3,4],[5,6]], [[7,8],[9,10]] -> V.grad = 174.
        let g = [1.0, 2.0, 3.0, 4.0, 2.0, 3.0, 4.0, 5.0];
        let v = [3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        let vd: f64 = v.iter().zip(&g).map(|(a, b)| a * b).sum();
        assert_eq!(vd, 174.0);
        let (nu, vfv) = trust_region(vd, 0.1, 10.0);
        assert!((vfv - 1.74).abs() < 1e-12 && nu == 1.0);
        let (nu, vfv) = trust_region(vd, 0.1, 0.5);
        assert!((0.01 * nu * nu * 174.0 - 0.5).abs() < 1e-12, "lr^2 nu^2 174 = {}", nu * nu * vfv);
    }
}
