//! The CPU engine: dfdx 0.13 tensors on one thread, bit-reproducible. Everything here stays
//! behind [`super::ActorCriticNet`]; `algo/` never sees a tensor.

pub mod actor_critic;
pub mod dense;
pub mod elementary;
pub mod gram;
pub mod ops;
pub mod plain;
pub mod seq;

use dfdx::prelude::*;

use super::blocks::{LayerGrads, LayerKind, LayerStats};
use super::Activation;

pub use actor_critic::ActorCritic;
pub use seq::SeqNet;

/// The device every network of this engine runs on.
pub type Dev = Cpu;
/// A batch of rows with `C` columns.
pub type Batch<C, T = NoneTape> = Tensor<(usize, C), f32, Dev, T>;
/// A batch of scalars.
pub type Column<T = NoneTape> = Tensor<(usize,), f32, Dev, T>;

/// Applies the nonlinearity, recording it on the tape.
pub fn activate<S: Shape, T: Tape<f32, Dev>>(a: Activation, x: Tensor<S, f32, Dev, T>) -> Tensor<S, f32, Dev, T> {
    match a {
        Activation::Tanh => ops::tanh(x),
        Activation::Relu => x.relu(),
        Activation::Elu => ops::elu(x),
    }
}

/// A parameter tensor seen as a flat float32 vector.
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

/// A parameter: its dfdx tensor and a host copy of its values (row-major), kept equal by
/// every write, so the plain kernels of [`dense`] read parameters without copying them
/// out of a tensor (dfdx's `as_vec` walks strides element by element).
#[derive(Debug, Clone)]
pub struct Param<S: Shape> {
    pub t: Tensor<S, f32, Dev>,
    host: Vec<f32>,
}

impl<S: Shape> Param<S> {
    pub fn new(t: Tensor<S, f32, Dev>) -> Self {
        let host = t.as_vec();
        Self { t, host }
    }

    /// The values, row-major.
    pub fn host(&self) -> &[f32] {
        &self.host
    }
}

impl<S: Shape> ParamTensor for Param<S> {
    fn numel(&self) -> usize {
        self.host.len()
    }
    fn read(&self) -> Vec<f32> {
        self.host.clone()
    }
    fn write(&mut self, values: &[f32]) {
        self.t.copy_from(values);
        self.host.copy_from_slice(values);
    }
    fn grad(&self, grads: &mut Gradients<f32, Dev>) -> Vec<f32> {
        self.t.grad(grads)
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
        LayerStats { kind: self.kind, batch: self.batch, a: self.a, in_dim: self.in_dim, g: self.s.grad(grads), out_dim: self.out_dim, grams: None }
    }
}

/// A fully connected layer `s = x W^T + b` with `W: (out, in)`, run-time sizes.
#[derive(Debug, Clone)]
pub struct Linear {
    pub weight: Param<(usize, usize)>,
    pub bias: Param<(usize,)>,
}

impl Linear {
    /// A layer from its weight (`out x in`, row-major) and bias.
    pub fn from_values(dev: &Dev, input: usize, output: usize, weight: Vec<f32>, bias: Vec<f32>) -> Self {
        Self { weight: Param::new(dev.tensor_from_vec(weight, (output, input))), bias: Param::new(dev.tensor_from_vec(bias, (output,))) }
    }

    /// Inputs per row.
    pub fn input(&self) -> usize {
        self.weight.t.shape().1
    }

    /// Outputs per row.
    pub fn output(&self) -> usize {
        self.weight.t.shape().0
    }

    /// `x W^T + b` for a batch `x: (B, in)`, recording the input and pre-activation for
    /// K-FAC when `trace` is given.
    pub fn forward<T: Tape<f32, Dev>>(&self, x: Batch<usize, T>, trace: Option<&mut Vec<TraceEntry>>) -> Batch<usize, T> {
        let a = trace.as_ref().map(|_| x.as_vec());
        let batch = x.shape().0;
        let y = x.matmul(self.weight.t.retaped::<T>().permute::<_, Axes2<1, 0>>());
        let shape = *y.shape();
        let s = y + self.bias.t.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
        if let (Some(t), Some(a)) = (trace, a) {
            t.push(TraceEntry::new(LayerKind::Linear, batch, a, self.input(), self.output(), &s));
        }
        s
    }

    /// The layer as the [`dense`] kernels read it.
    pub fn dense(&self, act: Option<Activation>) -> dense::DenseLayer<'_> {
        dense::DenseLayer { w: self.weight.host(), b: self.bias.host(), input: self.input(), output: self.output(), act }
    }

    /// Adds a K-FAC step.
    pub fn add(&mut self, delta: &LayerGrads) {
        if let Some(dw) = &delta.weight {
            self.weight.add_f64(dw);
        }
        if let Some(db) = &delta.bias {
            self.bias.add_f64(db);
        }
    }
}


/// `a b` for row-major float64 matrices `a` (`ar x ac`) and `b` (`ac x bc`, or `bc x ac`
/// when `b_transposed`), row-major out (faer, one thread).
pub fn gemm64(a: &[f64], ar: usize, ac: usize, b: &[f64], bc: usize, b_transposed: bool) -> Vec<f64> {
    use faer::{Accum, MatMut, MatRef, Par};
    let mut out = vec![0.0; ar * bc];
    let am = MatRef::from_row_major_slice(a, ar, ac);
    let bm = if b_transposed { MatRef::from_row_major_slice(b, bc, ac).transpose() } else { MatRef::from_row_major_slice(b, ac, bc) };
    faer::linalg::matmul::matmul(MatMut::from_row_major_slice_mut(&mut out, ar, bc), Accum::Replace, am, bm, 1.0, Par::Seq);
    out
}

/// `a^T b` for row-major float64 `a` (`r x ac`) and `b` (`r x bc`): a `ac x bc` row-major
/// weight gradient.
pub fn gemm64_tn(a: &[f64], b: &[f64], r: usize, ac: usize, bc: usize) -> Vec<f64> {
    use faer::{Accum, MatMut, MatRef, Par};
    let mut out = vec![0.0; ac * bc];
    let am = MatRef::from_row_major_slice(a, r, ac).transpose();
    let bm = MatRef::from_row_major_slice(b, r, bc);
    faer::linalg::matmul::matmul(MatMut::from_row_major_slice_mut(&mut out, ac, bc), Accum::Replace, am, bm, 1.0, Par::Seq);
    out
}

/// An affine map in float64 with its tangent: `s = x W^T + b` and
/// `ds = dx W^T + x dW^T + db` (the R-operator of Pearlmutter 1994 for one layer); `x` and
/// `dx` are `rows x in`, `W`/`dW` are `out x in`, row-major.
pub fn affine_tangent64(x: &[f64], dx: &[f64], rows: usize, w: &[f64], b: &[f64], dw: &[f64], db: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let out = b.len();
    let input = w.len() / out;
    let mut s = gemm64(x, rows, input, w, out, true);
    let mut ds = gemm64(dx, rows, input, w, out, true);
    let xdw = gemm64(x, rows, input, dw, out, true);
    for r in 0..rows {
        for j in 0..out {
            s[r * out + j] += b[j];
            ds[r * out + j] += xdw[r * out + j] + db[j];
        }
    }
    (s, ds)
}

/// A nonlinearity in float64: `z = act(s)` and `act'(s)` (tanh: `1 - z^2`; relu: `1` where
/// `s > 0`, else 0, as TensorFlow's and dfdx's relu gradients; ELU: `1` or `exp(s)`).
pub fn activate64(act: Option<Activation>, s: &[f64]) -> (Vec<f64>, Vec<f64>) {
    s.iter()
        .map(|&s| match act {
            None => (s, 1.0),
            Some(Activation::Tanh) => {
                let z = s.tanh();
                (z, 1.0 - z * z)
            }
            Some(Activation::Relu) => {
                if s > 0.0 {
                    (s, 1.0)
                } else {
                    (0.0, 0.0)
                }
            }
            Some(Activation::Elu) => {
                if s > 0.0 {
                    (s, 1.0)
                } else {
                    (s.exp_m1(), s.exp())
                }
            }
        })
        .unzip()
}
