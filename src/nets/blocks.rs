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
/// pre-activations, row-major, `rows = batch * spatial`.
#[derive(Debug, Clone)]
pub struct LayerStats {
    pub kind: LayerKind,
    pub batch: usize,
    /// `rows x in_dim` (empty for [`LayerKind::Bias`]).
    pub a: Vec<f32>,
    pub in_dim: usize,
    /// `rows x out_dim`.
    pub g: Vec<f32>,
    pub out_dim: usize,
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

/// A network as K-FAC drives it: declared blocks, their values, and updates added to them.
pub trait KfacBlocks {
    /// Every block, in the order a traced forward pass records them.
    fn blocks(&self) -> &[BlockSpec];
    /// Block `i`'s parameters.
    fn block_values(&self, i: usize) -> BlockValues;
    /// Adds a float64 change (a K-FAC step) to block `i`'s parameters, rounding once to
    /// float32 per element.
    fn add_to_block(&mut self, i: usize, delta: &LayerGrads) -> Result<(), super::NetError>;
}
