//! What K-FAC sees of a network, in engine-neutral terms: the layers it preconditions
//! ("blocks": a weight with its bias, or a bare bias), declared by the network in the order
//! its traced forward pass records them, the statistics a trace yields (`a` and `g` of paper
//! section 3.1), and gradients or updates per block.
//!
//! The declaration is the contract between a network and its K-FAC: the glue
//! (`crate::kfac::glue`) checks every trace against it and refuses a mismatch with the
//! layer named, in release builds too.

/// What kind of layer a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// `s = a W^T + b`, one row per example.
    Linear,
    /// A convolution seen as a linear map on patches: `spatial` rows (output positions)
    /// per example.
    Conv { spatial: usize },
    /// A bias with no weight, added to every row (e.g. a Gaussian policy's log standard
    /// deviation, ikostrikov's `AddBias`): one block with `A = [[1]]`.
    Bias,
    /// A parameter vector with no Kronecker factor: its update is its gradient, inside the
    /// trust region and momentum like every other block. This is how openai/baselines
    /// `acktr/kfac.py` treats variables its factor search does not find (the Gaussian
    /// policy's `logstd`: `getKfacPrecondUpdates` leaves their gradient as is, l. 627-634,
    /// 777-797). `g` is ignored.
    Unfactored,
}

impl LayerKind {
    /// True for blocks with a weight matrix (linear and convolution layers).
    pub fn has_weight(self) -> bool {
        matches!(self, LayerKind::Linear | LayerKind::Conv { .. })
    }
}

/// A layer's statistics for one update: inputs `a` and Fisher-loss gradients `g` of the
/// pre-activations, row-major, `rows = batch * spatial`; or, from an engine that reduces
/// them where they were computed (the CUDA engine), their sums of products ([`LayerGrams`]),
/// with `a` and `g` empty.
#[derive(Debug, Clone)]
pub struct LayerStats {
    pub kind: LayerKind,
    pub batch: usize,
    /// `rows x in_dim` (empty for [`LayerKind::Bias`], and with `grams`).
    pub a: Vec<f32>,
    pub in_dim: usize,
    /// `rows x out_dim` (empty with `grams`).
    pub g: Vec<f32>,
    pub out_dim: usize,
    /// The rows already reduced: what K-FAC's factors are made of, before their scale.
    pub grams: Option<LayerGrams>,
}

/// A layer's statistics reduced to unscaled sums of products over its rows, in float64:
/// what `crate::kfac` builds its factors from (scaling them by the batch and the spatial
/// size: `docs/src/formats/kfac-case.md`). An engine whose statistics live on a GPU
/// sends these (a few MB) instead of the rows (hundreds of MB for the first Atari
/// convolution at batch 640).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerGrams {
    /// `[A 1]^T [A 1]`, `(in_dim + 1)^2` row-major: the inputs with a ones column appended
    /// (its entries are the column sums and the row count). Empty for a bias block.
    pub a: Vec<f64>,
    /// `G^T G`, `out_dim^2`.
    pub g: Vec<f64>,
    /// A convolution's `S^T S`, where row `b` of `S` is the sum of example `b`'s rows of
    /// `G` over its positions (`out_dim^2`; its bias block's factor). Empty otherwise.
    pub g_summed: Vec<f64>,
}

impl LayerStats {
    /// The rows reduced on the host, in float64, as an engine would send them (the
    /// reference the device reduction is tested against; statistics already reduced are
    /// returned as they are).
    pub fn reduced(&self) -> LayerStats {
        if self.grams.is_some() {
            return self.clone();
        }
        let spatial = match self.kind {
            LayerKind::Conv { spatial } => spatial,
            _ => 1,
        };
        let rows = self.g.len() / self.out_dim.max(1);
        let gram = |x: &[f64], rows: usize, cols: usize| -> Vec<f64> {
            let mut out = vec![0.0f64; cols * cols];
            for r in x.chunks_exact(cols).take(rows) {
                for i in 0..cols {
                    for j in 0..cols {
                        out[i * cols + j] += r[i] * r[j];
                    }
                }
            }
            out
        };
        let a = if self.kind.has_weight() {
            let c = self.in_dim + 1;
            let wide: Vec<f64> = self.a.chunks_exact(self.in_dim).flat_map(|r| r.iter().map(|&v| f64::from(v)).chain(std::iter::once(1.0))).collect();
            gram(&wide, rows, c)
        } else {
            Vec::new()
        };
        let g64: Vec<f64> = self.g.iter().map(|&v| f64::from(v)).collect();
        let g = gram(&g64, rows, self.out_dim);
        let g_summed = if spatial > 1 {
            let summed: Vec<f64> = (0..self.batch)
                .flat_map(|b| {
                    let g64 = &g64;
                    (0..self.out_dim).map(move |j| (0..spatial).map(|t| g64[(b * spatial + t) * self.out_dim + j]).sum::<f64>())
                })
                .collect();
            gram(&summed, self.batch, self.out_dim)
        } else {
            Vec::new()
        };
        LayerStats { kind: self.kind, batch: self.batch, a: Vec::new(), in_dim: self.in_dim, g: Vec::new(), out_dim: self.out_dim, grams: Some(LayerGrams { a, g, g_summed }) }
    }
}

/// A layer's gradient (or update): weight `out x in` row-major and bias `out`.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LayerGrads {
    pub weight: Option<Vec<f64>>,
    pub bias: Option<Vec<f64>>,
}

/// A block's current parameter values.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockValues {
    pub weight: Option<Vec<f32>>,
    pub bias: Vec<f32>,
}

/// Which network a block belongs to (separate networks get separate optimizers; a shared
/// network's blocks are all [`Group::Policy`], one joint Fisher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Policy,
    Value,
}

/// One K-FAC block as the network declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSpec {
    /// Where it sits, for error messages (`policy torso layer 1 (linear 17 -> 64)`).
    pub name: String,
    pub group: Group,
    pub kind: LayerKind,
    /// Inputs per row (patch size for a convolution; 0 for a bare bias).
    pub in_dim: usize,
    pub out_dim: usize,
}

impl BlockSpec {
    /// Scalars in the block (weight and bias).
    pub fn numel(&self) -> usize {
        if self.kind.has_weight() {
            self.out_dim * self.in_dim + self.out_dim
        } else {
            self.out_dim
        }
    }
}

/// Float64 linear algebra an engine offers K-FAC in place of the host's (the CUDA engine:
/// cuSOLVER's `Dsyevd` and cuBLAS's DGEMM on the device; `crate::kfac` uses faer
/// otherwise): the factors' eigendecompositions and the natural gradient's products. Same
/// contract as the host's: the same factors give the same step to float64 rounding.
/// Matrices are column-major (faer's and cuBLAS's layout, so neither side transposes).
pub trait KfacLinalg: Send + Sync {
    /// Eigenvalues (ascending) and eigenvectors of the symmetric `n x n` matrix `m`: the
    /// eigenvectors `n x n`, eigenvector `i` in column `i`.
    fn eigh(&self, m: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>), super::NetError>;
    /// `op(l) m op(r)`, where `op(x)` is `x` or, when its flag is set, `x^T`; `l` is stored
    /// `l_shape` (rows, columns), `m` `m_shape`, `r` `r_shape`. The natural gradient's
    /// `Q_G^T D Q_A` and `Q_G S Q_A^T`.
    #[allow(clippy::too_many_arguments)]
    fn product3(
        &self,
        l: &[f64],
        l_shape: (usize, usize),
        l_t: bool,
        m: &[f64],
        m_shape: (usize, usize),
        r: &[f64],
        r_shape: (usize, usize),
        r_t: bool,
    ) -> Result<Vec<f64>, super::NetError>;
}

/// A network as K-FAC drives it: declared blocks, their values, and updates added to them.
pub trait KfacBlocks {
    /// Every block, in the order a traced forward pass records them.
    fn blocks(&self) -> &[BlockSpec];
    /// Block `i`'s parameters.
    fn block_values(&self, i: usize) -> BlockValues;
    /// Adds a float64 change (a K-FAC step) to block `i`'s parameters, rounding once to
    /// float32 per element.
    fn add_to_block(&mut self, i: usize, delta: &LayerGrads) -> Result<(), super::NetError>;
    /// The engine's linear algebra for K-FAC, if it has its own (else the host's).
    fn kfac_linalg(&self) -> Option<std::sync::Arc<dyn KfacLinalg>> {
        None
    }
}
