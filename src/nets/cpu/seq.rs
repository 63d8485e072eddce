//! A network whose layers are chosen at run time: linear layers, 2-D convolutions
//! (im2col through [`super::ops::gather`] + matmul) and flatten, with the activations of
//! `docs/src/formats/kfac-case.md`. It is every actor-critic's torso (the MLPs of
//! paper appendix A.2, the conv stacks of A.1) and the network the K-FAC conformance cases
//! run through; its forward pass records each layer's input and pre-activation for K-FAC.

use std::sync::Arc;

use dfdx::prelude::*;

use rand::Rng;

use super::ops::{flatten_index, gather, im2col_index, Layout, PAD};
use super::dense::DenseLayer;
use super::plain::PlainLayer;
use super::{activate, Dev, Param, ParamTensor, TraceEntry};
use crate::nets::blocks::{BlockSpec, BlockValues, Group, KfacBlocks, LayerGrads, LayerKind};
use crate::nets::{Activation, Init, LayerSpec, NetError};

#[derive(Debug, Clone)]
enum Layer {
    Linear { w: Param<(usize, usize)>, b: Param<(usize,)>, act: Option<Activation> },
    Conv {
        w: Param<(usize, usize)>,
        b: Param<(usize,)>,
        act: Option<Activation>,
        index: Arc<Vec<u32>>,
        /// `index` as [`super::plain::runs_of`] compresses it (for the plain kernels).
        runs: Arc<Vec<super::plain::Run>>,
        in_stride: usize,
        spatial: usize,
    },
    Flatten { index: Option<Arc<Vec<u32>>>, in_stride: usize },
}

/// A sequential network with run-time shapes.
#[derive(Debug, Clone)]
pub struct SeqNet {
    layers: Vec<Layer>,
    dev: Dev,
    input_dim: usize,
    output_dim: usize,
    blocks: Vec<BlockSpec>,
}

impl SeqNet {
    /// Builds the layers for inputs of `input_shape` (`[D]` or `[C, H, W]`), with the given
    /// parameters per linear/conv layer as `(weight out x in(*k*k), bias)` row-major.
    pub fn new(input_shape: &[usize], specs: &[LayerSpec], params: &[(Vec<f32>, Vec<f32>)]) -> Result<Self, NetError> {
        Self::named(input_shape, specs, params, "layer", Group::Policy)
    }

    /// Builds the layers with weights drawn by `init` at `gain` (layer by layer, in order)
    /// and zero biases; its K-FAC blocks are named `{name} layer k` and belong to `group`.
    pub fn init(input_shape: &[usize], specs: &[LayerSpec], init: Init, gain: f64, name: &str, group: Group, rng: &mut impl Rng) -> Result<Self, NetError> {
        let mut params = Vec::new();
        for s in specs {
            let (out, fan_in) = match s {
                LayerSpec::Linear { input, output, .. } => (*output, *input),
                LayerSpec::Conv2d { in_channels, out_channels, kernel, .. } => (*out_channels, in_channels * kernel * kernel),
                LayerSpec::Flatten => continue,
            };
            params.push((init.weights(out, fan_in, gain, rng), vec![0.0; out]));
        }
        Self::named(input_shape, specs, &params, name, group)
    }

    /// [`Self::new`] with blocks named `{name} k` in `group`.
    pub fn named(input_shape: &[usize], specs: &[LayerSpec], params: &[(Vec<f32>, Vec<f32>)], name: &str, group: Group) -> Result<Self, NetError> {
        let dev = Dev::default();
        let mut layout = match input_shape {
            [c, h, w] => Some(Layout::Chw { c: *c, h: *h, w: *w }),
            _ => None,
        };
        let input_dim: usize = input_shape.iter().product();
        let mut width = input_dim;
        let mut layers = Vec::new();
        let mut blocks = Vec::new();
        let mut p = params.iter();
        for (i, s) in specs.iter().enumerate() {
            let err = |why: String| NetError::Shape(format!("{name} {i}: {why}"));
            match s {
                LayerSpec::Linear { input, output, activation } => {
                    if *input != width || layout.is_some() {
                        return Err(err(format!("linear expects {input} inputs, gets {width} (flatten images first)")));
                    }
                    let (w, b) = p.next().ok_or_else(|| err("missing parameters".into()))?;
                    if w.len() != input * output || b.len() != *output {
                        return Err(err("parameter shapes do not match".into()));
                    }
                    blocks.push(BlockSpec {
                        name: format!("{name} {} (linear {input} -> {output})", blocks.len() + 1),
                        group,
                        kind: LayerKind::Linear,
                        in_dim: *input,
                        out_dim: *output,
                    });
                    layers.push(Layer::Linear {
                        w: Param::new(dev.tensor_from_vec(w.clone(), (*output, *input))),
                        b: Param::new(dev.tensor_from_vec(b.clone(), (*output,))),
                        act: *activation,
                    });
                    width = *output;
                }
                LayerSpec::Conv2d { in_channels, out_channels, kernel, stride, padding, activation } => {
                    let l = layout.ok_or_else(|| err("convolution needs an image input".into()))?;
                    let (c, h, w_) = l.dims();
                    if c != *in_channels {
                        return Err(err(format!("expects {in_channels} channels, gets {c}")));
                    }
                    let (index, oh, ow) = im2col_index(l, *kernel, *stride, *padding);
                    let (w, b) = p.next().ok_or_else(|| err("missing parameters".into()))?;
                    let fan_in = in_channels * kernel * kernel;
                    if w.len() != out_channels * fan_in || b.len() != *out_channels {
                        return Err(err("parameter shapes do not match".into()));
                    }
                    blocks.push(BlockSpec {
                        name: format!("{name} {} (conv {in_channels}x{kernel}x{kernel} -> {out_channels}, {oh}x{ow} positions)", blocks.len() + 1),
                        group,
                        kind: LayerKind::Conv { spatial: oh * ow },
                        in_dim: fan_in,
                        out_dim: *out_channels,
                    });
                    layers.push(Layer::Conv {
                        w: Param::new(dev.tensor_from_vec(w.clone(), (*out_channels, fan_in))),
                        b: Param::new(dev.tensor_from_vec(b.clone(), (*out_channels,))),
                        act: *activation,
                        runs: Arc::new(super::plain::runs_of(&index)),
                        index,
                        in_stride: c * h * w_,
                        spatial: oh * ow,
                    });
                    layout = Some(Layout::Hwc { c: *out_channels, h: oh, w: ow });
                    width = out_channels * oh * ow;
                }
                LayerSpec::Flatten => {
                    let index = match layout {
                        Some(l @ Layout::Hwc { .. }) => Some(flatten_index(l)),
                        _ => None, // already C-order
                    };
                    layers.push(Layer::Flatten { index, in_stride: width });
                    layout = None;
                }
            }
        }
        if p.next().is_some() {
            return Err(NetError::Shape(format!("{name}: more parameters than layers")));
        }
        if layout.is_some() {
            return Err(NetError::Shape(format!("{name}: ends on an image; flatten it first")));
        }
        Ok(Self { layers, dev, input_dim, output_dim: width, blocks })
    }

    /// Input width per example.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Output width per example.
    pub fn output_dim(&self) -> usize {
        self.output_dim
    }

    /// The device.
    pub fn device(&self) -> &Dev {
        &self.dev
    }

    /// Forward pass on `(batch, input_dim)`; with `trace`, records every linear/conv
    /// layer's input and pre-activation (in order).
    pub fn forward<T: Tape<f32, Dev>>(
        &self,
        x: Tensor<(usize, usize), f32, Dev, T>,
        mut trace: Option<&mut Vec<TraceEntry>>,
    ) -> Tensor<(usize, usize), f32, Dev, T> {
        let batch = x.shape().0;
        let mut h = x;
        for layer in &self.layers {
            h = match layer {
                Layer::Linear { w, b, act } => {
                    let a = trace.as_ref().map(|_| h.as_vec());
                    let rows = h.shape().0;
                    let s = h.matmul(w.t.retaped::<T>().permute::<_, Axes2<1, 0>>());
                    let shape = *s.shape();
                    let s = s + b.t.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
                    if let (Some(t), Some(a)) = (trace.as_deref_mut(), a) {
                        t.push(TraceEntry::new(LayerKind::Linear, rows, a, w.t.shape().1, w.t.shape().0, &s));
                    }
                    apply(s, *act)
                }
                Layer::Conv { w, b, act, index, in_stride, spatial, .. } => {
                    let patches = gather(h, batch, *in_stride, index, *spatial);
                    let a = trace.as_ref().map(|_| patches.as_vec());
                    let s = patches.matmul(w.t.retaped::<T>().permute::<_, Axes2<1, 0>>());
                    let shape = *s.shape();
                    let s = s + b.t.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
                    if let (Some(t), Some(a)) = (trace.as_deref_mut(), a) {
                        t.push(TraceEntry::new(LayerKind::Conv { spatial: *spatial }, batch, a, w.t.shape().1, w.t.shape().0, &s));
                    }
                    // rows are (example, position): one row per example for the next layer
                    // is made by the next gather, so keep the (batch * spatial, out) matrix.
                    apply(s, *act)
                }
                Layer::Flatten { index, in_stride } => match index {
                    Some(idx) => gather(h, batch, *in_stride, idx, 1),
                    None => {
                        let cols = *in_stride;
                        h.reshape_like(&(batch, cols))
                    }
                },
            };
        }
        h
    }

    /// A float64 forward pass with a tangent: `y = f(x; theta)` and `dy = (df/dtheta) dtheta`
    /// for a parameter direction given per linear/conv layer as `(dW, db)` (the layout of
    /// [`Self::layer_params`]), `x` being `batch` rows; the input carries no tangent. This is
    /// the R-operator (Pearlmutter 1994) that exact Fisher-vector products need (TRPO,
    /// `crate::algo::trpo`): dfdx has no double backward, so `J v` is propagated forward layer
    /// by layer, in float64 because conjugate gradient amplifies the rounding of its products
    /// (see `golden/trpo/FORMAT.md`). Returns `y`, `dy` and what [`Self::backward64`] needs.
    pub fn tangent64(&self, x: Vec<f64>, batch: usize, dtheta: &[(&[f64], &[f64])]) -> Result<(Vec<f64>, Vec<f64>, Vec<Cache64>), NetError> {
        let layers = self.layer_params().len();
        if dtheta.len() != layers {
            return Err(NetError::Shape(format!("a tangent of {} layers for a network of {layers}", dtheta.len())));
        }
        let mut dh = vec![0.0; x.len()];
        let mut h = x;
        let mut caches = Vec::with_capacity(layers);
        let mut k = 0;
        for layer in &self.layers {
            match layer {
                Layer::Linear { w, b, act } | Layer::Conv { w, b, act, .. } => {
                    let (dw, db) = dtheta[k];
                    k += 1;
                    if dw.len() != w.numel() || db.len() != b.numel() {
                        return Err(NetError::Shape(format!("layer {k}: tangent of {} + {} values for {} + {} parameters", dw.len(), db.len(), w.numel(), b.numel())));
                    }
                    let (a, da, rows) = match layer {
                        Layer::Conv { index, in_stride, spatial, .. } => {
                            (gather64(&h, batch, *in_stride, index, *spatial), gather64(&dh, batch, *in_stride, index, *spatial), batch * spatial)
                        }
                        _ => (h, dh, batch),
                    };
                    let wv: Vec<f64> = w.read().into_iter().map(f64::from).collect();
                    let bv: Vec<f64> = b.read().into_iter().map(f64::from).collect();
                    let (s, ds) = super::affine_tangent64(&a, &da, rows, &wv, &bv, dw, db);
                    let (z, deriv) = super::activate64(*act, &s);
                    dh = ds.iter().zip(&deriv).map(|(d, g)| d * g).collect();
                    h = z;
                    caches.push(Cache64 { a, rows, deriv, w: wv });
                }
                Layer::Flatten { index: Some(idx), in_stride } => {
                    h = gather64(&h, batch, *in_stride, idx, 1);
                    dh = gather64(&dh, batch, *in_stride, idx, 1);
                }
                Layer::Flatten { index: None, .. } => {}
            }
        }
        Ok((h, dh, caches))
    }

    /// Back-propagates `g = dL/dy` (float64, `batch` rows) through a [`Self::tangent64`]
    /// pass: each linear/conv layer's `(dL/dW, dL/db)`, in order.
    pub fn backward64(&self, caches: &[Cache64], mut g: Vec<f64>, batch: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
        let mut out = Vec::with_capacity(caches.len());
        let mut k = caches.len();
        for (pos, layer) in self.layers.iter().enumerate().rev() {
            match layer {
                Layer::Linear { .. } | Layer::Conv { .. } => {
                    k -= 1;
                    let c = &caches[k];
                    let out_dim = c.deriv.len() / c.rows;
                    let in_dim = c.a.len() / c.rows;
                    let gs: Vec<f64> = g.iter().zip(&c.deriv).map(|(g, d)| g * d).collect();
                    let gw = super::gemm64_tn(&gs, &c.a, c.rows, out_dim, in_dim);
                    let mut gb = vec![0.0; out_dim];
                    for row in gs.chunks(out_dim) {
                        for (s, v) in gb.iter_mut().zip(row) {
                            *s += v;
                        }
                    }
                    out.push((gw, gb));
                    if pos == 0 {
                        break;
                    }
                    let ga = super::gemm64(&gs, c.rows, out_dim, &c.w, in_dim, false);
                    g = match layer {
                        Layer::Conv { index, in_stride, spatial, .. } => scatter64(&ga, batch, *in_stride, index, *spatial),
                        _ => ga,
                    };
                }
                Layer::Flatten { index: Some(idx), in_stride } => g = scatter64(&g, batch, *in_stride, idx, 1),
                Layer::Flatten { index: None, .. } => {}
            }
        }
        out.reverse();
        out
    }

    /// The layers as the plain float32 kernels of [`super::dense`] read them, when every
    /// layer is linear (an MLP); `None` for a network with convolutions.
    pub fn dense_layers(&self) -> Option<Vec<DenseLayer<'_>>> {
        let mut out = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            match l {
                Layer::Linear { w, b, act } => {
                    let (output, input) = *w.t.shape();
                    out.push(DenseLayer { w: w.host(), b: b.host(), input, output, act: *act });
                }
                Layer::Flatten { index: None, .. } => {}
                Layer::Conv { .. } | Layer::Flatten { index: Some(_), .. } => return None,
            }
        }
        Some(out)
    }

    /// The layers as the plain float32 kernels of [`super::plain`] read them (a flatten that
    /// is already in C order is no layer there).
    pub fn plain_layers(&self) -> Vec<PlainLayer<'_>> {
        fn dense<'a>(w: &'a Param<(usize, usize)>, b: &'a Param<(usize,)>, act: Option<Activation>) -> DenseLayer<'a> {
            let (output, input) = *w.t.shape();
            DenseLayer { w: w.host(), b: b.host(), input, output, act }
        }
        self.layers
            .iter()
            .filter_map(|l| match l {
                Layer::Linear { w, b, act } => Some(PlainLayer::Linear(dense(w, b, *act))),
                Layer::Conv { w, b, act, index, runs, in_stride, spatial } => {
                    Some(PlainLayer::Conv { layer: dense(w, b, *act), index, runs, in_stride: *in_stride, spatial: *spatial })
                }
                Layer::Flatten { index: Some(index), in_stride } => Some(PlainLayer::Flatten { index, in_stride: *in_stride }),
                Layer::Flatten { index: None, .. } => None,
            })
            .collect()
    }

    /// Weight and bias tensors of every linear/conv layer, in order (read-only).
    pub fn layer_params(&self) -> Vec<(&dyn ParamTensor, &dyn ParamTensor)> {
        self.layers
            .iter()
            .filter_map(|l| match l {
                Layer::Linear { w, b, .. } | Layer::Conv { w, b, .. } => Some((w as &dyn ParamTensor, b as &dyn ParamTensor)),
                Layer::Flatten { .. } => None,
            })
            .collect()
    }

    /// Weight and bias tensors of every linear/conv layer, in order.
    pub fn layer_params_mut(&mut self) -> Vec<(&mut dyn ParamTensor, &mut dyn ParamTensor)> {
        self.layers
            .iter_mut()
            .filter_map(|l| match l {
                Layer::Linear { w, b, .. } | Layer::Conv { w, b, .. } => Some((w as &mut dyn ParamTensor, b as &mut dyn ParamTensor)),
                Layer::Flatten { .. } => None,
            })
            .collect()
    }
}

/// One linear/conv layer of a [`SeqNet::tangent64`] pass: its input rows, `act'(s)`, and
/// its weight in float64.
pub struct Cache64 {
    a: Vec<f64>,
    rows: usize,
    deriv: Vec<f64>,
    w: Vec<f64>,
}

/// [`super::ops::gather`] on float64 rows: `out[b, k] = x[b * in_stride + index[k]]`.
fn gather64(x: &[f64], batch: usize, in_stride: usize, index: &[u32], _out_rows: usize) -> Vec<f64> {
    let per = index.len();
    let mut out = vec![0.0; batch * per];
    for b in 0..batch {
        for (o, &k) in out[b * per..(b + 1) * per].iter_mut().zip(index) {
            if k != PAD {
                *o = x[b * in_stride + k as usize];
            }
        }
    }
    out
}

/// The adjoint of [`gather64`] (scatter-add).
fn scatter64(g: &[f64], batch: usize, in_stride: usize, index: &[u32], _out_rows: usize) -> Vec<f64> {
    let per = index.len();
    let mut out = vec![0.0; batch * in_stride];
    for b in 0..batch {
        for (v, &k) in g[b * per..(b + 1) * per].iter().zip(index) {
            if k != PAD {
                out[b * in_stride + k as usize] += v;
            }
        }
    }
    out
}

fn apply<T: Tape<f32, Dev>>(s: Tensor<(usize, usize), f32, Dev, T>, act: Option<Activation>) -> Tensor<(usize, usize), f32, Dev, T> {
    match act {
        Some(a) => activate(a, s),
        None => s,
    }
}

impl KfacBlocks for SeqNet {
    fn blocks(&self) -> &[BlockSpec] {
        &self.blocks
    }

    fn block_values(&self, i: usize) -> BlockValues {
        let (w, b) = self.layer_params()[i];
        BlockValues { weight: Some(w.read()), bias: b.read() }
    }

    fn add_to_block(&mut self, i: usize, delta: &LayerGrads) -> Result<(), NetError> {
        let name = self.blocks.get(i).map(|b| b.name.clone()).unwrap_or_default();
        let Some((w, b)) = self.layer_params_mut().into_iter().nth(i) else {
            return Err(NetError::Block { index: i, name, why: "no such block".into() });
        };
        let wrong = |t: &dyn ParamTensor, d: &Option<Vec<f64>>| d.as_ref().is_some_and(|d| d.len() != t.numel());
        if wrong(&*w, &delta.weight) || wrong(&*b, &delta.bias) {
            return Err(NetError::Block { index: i, name, why: "an update of the wrong size".into() });
        }
        if let Some(dw) = &delta.weight {
            w.add_f64(dw);
        }
        if let Some(db) = &delta.bias {
            b.add_f64(db);
        }
        Ok(())
    }
}
