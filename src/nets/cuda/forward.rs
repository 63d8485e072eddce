//! The forward and backward passes on the device: a stack of layers ([`DeviceSeq`]: a
//! torso, or a K-FAC conformance case's network) and the shared-torso actor-critic built
//! on one ([`DeviceActorCritic`]: the paper's Atari network, appendix A.1, and any torso of
//! [`LayerSpec`]s). Parameters come from the CPU engine's network in K-FAC block order
//! (torso layers, value head, policy head: `cpu::ActorCritic::declare`), so both engines
//! start from the same weights and the CPU engine is the reference the device tests
//! compare against. The backward pass gives every block's gradient from the output
//! gradients, and its K-FAC statistics ([`Stats`]). The losses and the engine seam are in
//! [`super::net`].
//!
//! Layouts are the CPU engine's: images NCHW, conv weights `out x (in*k*k)` with columns in
//! `(ci, ky, kx)` order (PyTorch's), flattening in C,H,W order.

use cudarc::driver::{CudaSlice, PushKernelArg};

use super::kernels::grid;
use super::stats::{gram64, summed_gram64};
use super::{err, Device};
use crate::nets::{Activation, BlockValues, LayerGrads, LayerGrams, LayerKind, LayerSpec, LayerStats, NetError};

/// One layer's geometry on the device.
#[derive(Debug, Clone, Copy)]
enum Geometry {
    Linear { input: usize, output: usize },
    /// `c x h x w` in, `out x oh x ow` out, square kernel `k`, stride `s`, zero padding `p`.
    Conv { c: usize, h: usize, w: usize, out: usize, k: usize, s: usize, p: usize, oh: usize, ow: usize },
}

/// A linear or conv layer with its parameters on the device.
pub struct DeviceLayer {
    geometry: Geometry,
    weight: CudaSlice<f32>,
    bias: CudaSlice<f32>,
    act: Option<Activation>,
}

impl DeviceLayer {
    /// Outputs per example.
    fn out_len(&self) -> usize {
        match self.geometry {
            Geometry::Linear { output, .. } => output,
            Geometry::Conv { out, oh, ow, .. } => out * oh * ow,
        }
    }

    /// Inputs per example.
    fn in_len(&self) -> usize {
        match self.geometry {
            Geometry::Linear { input, .. } => input,
            Geometry::Conv { c, h, w, .. } => c * h * w,
        }
    }

    fn upload(dev: &Device, geometry: Geometry, act: Option<Activation>, v: &BlockValues) -> Result<DeviceLayer, NetError> {
        let weight = dev.upload(v.weight.as_ref().expect("checked by the plan"))?;
        Ok(DeviceLayer { geometry, weight, bias: dev.upload(&v.bias)?, act })
    }

    /// Overwrites the parameters from the host's values.
    fn write(&mut self, dev: &Device, i: usize, v: &BlockValues) -> Result<(), NetError> {
        let w = v.weight.as_deref().unwrap_or_default();
        if w.len() != self.weight.len() || v.bias.len() != self.bias.len() {
            return Err(NetError::Block {
                index: i,
                name: "?".into(),
                why: format!("{} weights and {} biases for a device layer of {} and {}", w.len(), v.bias.len(), self.weight.len(), self.bias.len()),
            });
        }
        dev.stream.memcpy_htod(w, &mut self.weight).map_err(|e| err("copy to the device", e))?;
        dev.stream.memcpy_htod(&v.bias[..], &mut self.bias).map_err(|e| err("copy to the device", e))?;
        Ok(())
    }
}

/// A stack of layers on the device (a torso; a K-FAC conformance case's network): one
/// K-FAC block per linear or conv layer, in order.
pub struct DeviceSeq {
    layers: Vec<DeviceLayer>,
    /// Values per example at the input (with no layers, also at the output).
    input_len: usize,
}

/// One layer's geometry, activation and parameters, checked against the parameters given.
type Planned<'a> = (Geometry, Option<Activation>, &'a BlockValues);

/// The next block's parameters, checked to be a `w_len x b_len` weight and `b_len` biases
/// (`None`: as many biases as given).
fn take<'a>(p: &mut std::slice::Iter<'a, BlockValues>, what: &str, w_len: usize, b_len: Option<usize>) -> Result<&'a BlockValues, NetError> {
    let v = p.next().ok_or_else(|| NetError::Shape(format!("no parameters for {what}")))?;
    let w = v.weight.as_ref().ok_or_else(|| NetError::Shape(format!("{what}: a block without a weight")))?;
    let b_len = b_len.unwrap_or(v.bias.len());
    if w.len() != w_len * b_len || v.bias.len() != b_len {
        return Err(NetError::Shape(format!("{what}: weight {} and bias {} values, expected {} and {b_len}", w.len(), v.bias.len(), w_len * b_len)));
    }
    Ok(v)
}

/// Each layer of `layers` on inputs of `input`, its parameters taken from `p` in order;
/// with the output shape. `what` names the layers in errors.
fn plan_layers<'a>(input: &[usize], layers: &[LayerSpec], p: &mut std::slice::Iter<'a, BlockValues>, what: &str) -> Result<(Vec<Planned<'a>>, Vec<usize>), NetError> {
    let mut shape: Vec<usize> = input.to_vec();
    let mut out = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        match *l {
            LayerSpec::Linear { input, output, activation } => {
                if shape.iter().product::<usize>() != input {
                    return Err(NetError::Shape(format!("{what} {i}: a linear layer of {input} inputs on {shape:?}")));
                }
                let v = take(p, &format!("{what} {i}"), input, Some(output))?;
                out.push((Geometry::Linear { input, output }, activation, v));
                shape = vec![output];
            }
            LayerSpec::Conv2d { in_channels, out_channels, kernel, stride, padding, activation } => {
                let [c, h, w] = shape[..] else {
                    return Err(NetError::Shape(format!("{what} {i}: a convolution on {shape:?}")));
                };
                if c != in_channels || h + 2 * padding < kernel || w + 2 * padding < kernel || stride == 0 {
                    return Err(NetError::Shape(format!("{what} {i}: a {in_channels}-channel {kernel}x{kernel} convolution on {shape:?}")));
                }
                let (oh, ow) = ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1);
                let v = take(p, &format!("{what} {i}"), c * kernel * kernel, Some(out_channels))?;
                out.push((Geometry::Conv { c, h, w, out: out_channels, k: kernel, s: stride, p: padding, oh, ow }, activation, v));
                shape = vec![out_channels, oh, ow];
            }
            LayerSpec::Flatten => shape = vec![shape.iter().product()],
        }
    }
    Ok((out, shape))
}

/// The torso's layers, then the value head, then the policy head, checked against
/// `params` (the CPU engine's blocks in declaration order): the host half of
/// [`DeviceActorCritic::upload`].
fn plan<'a>(input: &[usize], torso: &[LayerSpec], params: &'a [BlockValues]) -> Result<Vec<Planned<'a>>, NetError> {
    let mut p = params.iter();
    let (mut out, shape) = plan_layers(input, torso, &mut p, "torso layer")?;
    let features: usize = shape.iter().product();
    let v = take(&mut p, "value head", features, Some(1))?;
    out.push((Geometry::Linear { input: features, output: 1 }, None, v));
    let v = take(&mut p, "policy head", features, None)?;
    out.push((Geometry::Linear { input: features, output: v.bias.len() }, None, v));
    if p.next().is_some() {
        return Err(NetError::Shape("more parameter blocks than a shared categorical actor-critic has (a Gaussian's log std?)".into()));
    }
    Ok(out)
}

fn activation_kernel(act: Activation) -> &'static str {
    match act {
        Activation::Relu => "relu_fwd",
        Activation::Tanh => "tanh_fwd",
        Activation::Elu => "elu_fwd",
    }
}

impl DeviceSeq {
    /// Uploads `layers` on inputs of `input` with one block of `params` per linear or conv
    /// layer (weights `out x in*k*k`, PyTorch layouts), all of them used.
    pub fn upload(dev: &Device, input: &[usize], layers: &[LayerSpec], params: &[BlockValues]) -> Result<DeviceSeq, NetError> {
        let mut p = params.iter();
        let (planned, _) = plan_layers(input, layers, &mut p, "layer")?;
        if p.next().is_some() {
            return Err(NetError::Shape(format!("{} parameter blocks for {} layers with parameters", params.len(), planned.len())));
        }
        Self::from_plan(dev, input.iter().product(), planned)
    }

    fn from_plan(dev: &Device, input_len: usize, planned: Vec<Planned<'_>>) -> Result<DeviceSeq, NetError> {
        let layers = planned.into_iter().map(|(g, a, v)| DeviceLayer::upload(dev, g, a, v)).collect::<Result<_, _>>()?;
        Ok(DeviceSeq { layers, input_len })
    }

    /// Values per example at the input.
    pub fn in_len(&self) -> usize {
        self.input_len
    }

    /// Values per example at the output.
    pub fn out_len(&self) -> usize {
        self.layers.last().map_or(self.input_len, DeviceLayer::out_len)
    }

    /// Blocks (linear and conv layers).
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True without layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Overwrites block `i`'s parameters.
    pub fn write_block(&mut self, dev: &Device, i: usize, v: &BlockValues) -> Result<(), NetError> {
        let n = self.layers.len();
        let l = self.layers.get_mut(i).ok_or_else(|| NetError::Block { index: i, name: "?".into(), why: format!("not a device block ({n} blocks)") })?;
        l.write(dev, i, v)
    }

    /// The forward pass of `batch` rows `x` (on the device), keeping what the backward pass
    /// needs.
    pub fn forward_traced(&self, dev: &Device, x: CudaSlice<f32>, batch: usize) -> Result<SeqTape, NetError> {
        let mut x = x;
        let mut layers = Vec::new();
        for l in &self.layers {
            let (y, cols) = layer_forward(dev, l, &x, batch)?;
            layers.push(Saved { input: x, cols });
            x = y;
        }
        Ok(SeqTape { batch, layers, output: x })
    }

    /// Every block's gradient (without `grads`: none) and K-FAC statistics ([`Stats`]),
    /// in order, from the gradient `d_out` of the output (after the last activation).
    pub fn backward(&self, dev: &Device, tape: &SeqTape, d_out: CudaSlice<f32>, stats: Stats, grads: bool) -> Result<(Vec<LayerGrads>, Vec<LayerStats>), NetError> {
        let batch = tape.batch;
        let (mut grads_rev, mut stats_rev) = (Vec::new(), Vec::new());
        let mut dx = d_out;
        for (i, l) in self.layers.iter().enumerate().rev() {
            let saved = &tape.layers[i];
            // Through the activation: `dx` is the gradient of the layer's output.
            let y = if i + 1 < self.layers.len() { &tape.layers[i + 1].input } else { &tape.output };
            let dpre = match l.act {
                None => dx,
                Some(act) => {
                    let mut d = dev.zeros(batch * l.out_len())?;
                    dev.launch_elementwise(activation_backward_kernel(act), &mut d, &[&dx, y], batch * l.out_len())?;
                    d
                }
            };
            let mut dprev = if i > 0 { Some(dev.zeros(batch * l.in_len())?) } else { None };
            let g = match l.geometry {
                Geometry::Linear { input, output } => {
                    stats_rev.extend(stats.of(dev, LayerKind::Linear, batch, (&saved.input, input), (&dpre, output))?);
                    linear_backward(dev, l, &saved.input, &dpre, batch, dprev.as_mut().map(|d| (d, 0.0)), grads)?
                }
                Geometry::Conv { c, out, k, oh, ow, .. } => {
                    let (g, dnhwc) = conv_backward(dev, l, saved, &dpre, batch, dprev.as_mut(), grads)?;
                    let cols = saved.cols.as_ref().expect("a conv layer saves its columns");
                    stats_rev.extend(stats.of(dev, LayerKind::Conv { spatial: oh * ow }, batch, (cols, c * k * k), (&dnhwc, out))?);
                    g
                }
            };
            grads_rev.extend(g);
            dx = match dprev {
                Some(d) => d,
                None => dev.zeros(1)?,
            };
        }
        Ok((grads_rev.into_iter().rev().collect(), stats_rev.into_iter().rev().collect()))
    }
}

/// A [`DeviceSeq`]'s traced forward pass.
pub struct SeqTape {
    batch: usize,
    layers: Vec<Saved>,
    /// The last layer's output (the input itself without layers).
    output: CudaSlice<f32>,
}

impl SeqTape {
    /// The output, on the host.
    pub fn output(&self, dev: &Device) -> Result<Vec<f32>, NetError> {
        dev.download(&self.output)
    }
}

/// The torso and both heads on the device.
pub struct DeviceActorCritic {
    torso: DeviceSeq,
    value: DeviceLayer,
    policy: DeviceLayer,
}

impl DeviceActorCritic {
    /// Uploads a shared actor-critic: `torso` as the CPU engine builds it for `input`
    /// (`Architecture::layers`), `params` its blocks' values in declaration order (one per
    /// torso layer, then the value head, then the categorical policy head).
    pub fn upload(dev: &Device, input: &[usize], torso: &[LayerSpec], params: &[BlockValues]) -> Result<DeviceActorCritic, NetError> {
        let mut planned = plan(input, torso, params)?;
        let (g, a, v) = planned.pop().expect("plan returns the heads");
        let policy = DeviceLayer::upload(dev, g, a, v)?;
        let (g, a, v) = planned.pop().expect("plan returns the heads");
        let value = DeviceLayer::upload(dev, g, a, v)?;
        let torso = DeviceSeq::from_plan(dev, input.iter().product(), planned)?;
        Ok(DeviceActorCritic { torso, value, policy })
    }

    /// Overwrites block `i`'s parameters (K-FAC's declaration order: torso layers, value
    /// head, policy head) from the host's values.
    pub fn write_block(&mut self, dev: &Device, i: usize, v: &BlockValues) -> Result<(), NetError> {
        let n = self.torso.len();
        match i {
            _ if i < n => self.torso.write_block(dev, i, v),
            _ if i == n => self.value.write(dev, i, v),
            _ if i == n + 1 => self.policy.write(dev, i, v),
            _ => Err(NetError::Block { index: i, name: "?".into(), why: format!("not a device block ({} blocks)", n + 2) }),
        }
    }

    /// Actions of the categorical policy head.
    pub fn actions(&self) -> usize {
        self.policy.out_len()
    }

    /// Input values per observation.
    pub fn input_len(&self) -> usize {
        self.torso.in_len()
    }

    /// The policy's logits (`batch x actions`) and the values (`batch`) of `batch`
    /// observations (the network's input, after the data pipeline).
    pub fn forward(&self, dev: &Device, obs: &[f32], batch: usize) -> Result<(Vec<f32>, Vec<f32>), NetError> {
        self.forward_traced(dev, obs, batch)?.outputs(dev)
    }

    /// [`Self::forward`], keeping on the device what [`Self::backward`] needs.
    pub fn forward_traced(&self, dev: &Device, obs: &[f32], batch: usize) -> Result<Tape, NetError> {
        let first = self.input_len();
        if batch == 0 || obs.len() != batch * first {
            return Err(NetError::Shape(format!("{} observation values for {batch} rows of {first}", obs.len())));
        }
        let torso = self.torso.forward_traced(dev, dev.upload(obs)?, batch)?;
        let (logits, _) = layer_forward(dev, &self.policy, &torso.output, batch)?;
        let (values, _) = layer_forward(dev, &self.value, &torso.output, batch)?;
        Ok(Tape { torso, logits, values })
    }

    /// Every block's gradient (torso layers, value head, policy head: K-FAC's declaration
    /// order; without `grads`, none: a sampled Fisher loss's pass) and K-FAC statistics
    /// ([`Stats`]), from the loss's gradients with respect to the logits (`batch x actions`)
    /// and the values (`batch`), by the chain rule through the traced pass.
    pub fn backward(
        &self,
        dev: &Device,
        tape: &Tape,
        d_logits: &[f32],
        d_values: &[f32],
        stats: Stats,
        grads: bool,
    ) -> Result<(Vec<LayerGrads>, Vec<LayerStats>), NetError> {
        let batch = tape.torso.batch;
        if d_logits.len() != batch * self.policy.out_len() || d_values.len() != batch {
            return Err(NetError::Shape(format!("output gradients of {} and {} values for {batch} rows", d_logits.len(), d_values.len())));
        }
        let (dl, dv) = (dev.upload(d_logits)?, dev.upload(d_values)?);
        // The heads: both read the features; their input gradients add up.
        let features = self.value.in_len();
        let x = &tape.torso.output;
        let mut dx = dev.zeros(batch * features)?;
        let pg = linear_backward(dev, &self.policy, x, &dl, batch, Some((&mut dx, 0.0)), grads)?;
        let vg = linear_backward(dev, &self.value, x, &dv, batch, Some((&mut dx, 1.0)), grads)?;
        let (mut out, mut st) = self.torso.backward(dev, &tape.torso, dx, stats, grads)?;
        out.extend(vg);
        out.extend(pg);
        // Both heads read the features: their input statistic is computed once.
        if let Some(value) = stats.of(dev, LayerKind::Linear, batch, (x, features), (&dv, 1))? {
            let policy = stats.with_input_of(dev, &value, &dl, self.actions())?;
            st.extend([value, policy]);
        }
        Ok((out, st))
    }
}

/// Which K-FAC statistics a backward pass returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stats {
    None,
    /// The rows themselves, in the CPU engine's layout (`LayerStats`: inputs `a`, patches
    /// for a conv layer with rows `(example, position)`; pre-activation gradients `g`, NHWC
    /// rows for a conv layer): hundreds of MB for the Atari network at batch 640; what the
    /// device tests compare.
    Rows,
    /// Reduced on the device to float64 sums of products ([`crate::nets::LayerGrams`]),
    /// a few MB: what the CUDA network sends K-FAC.
    Reduced,
}

impl Stats {
    /// The statistics of a linear block that reads the same inputs as `like` (already
    /// computed, in this form), from its pre-activation gradients `g` (`rows x out_dim`).
    fn with_input_of(self, dev: &Device, like: &LayerStats, g: &CudaSlice<f32>, out_dim: usize) -> Result<LayerStats, NetError> {
        let rows = like.batch;
        let (g, grams) = match (self, &like.grams) {
            (Stats::Reduced, Some(gr)) => {
                let grams = LayerGrams { a: gr.a.clone(), g: gram64(dev, g, rows, out_dim, false)?, g_summed: Vec::new() };
                (Vec::new(), Some(grams))
            }
            _ => {
                let mut g = dev.download(g)?;
                g.truncate(rows * out_dim);
                (g, None)
            }
        };
        Ok(LayerStats { kind: LayerKind::Linear, batch: rows, a: like.a.clone(), in_dim: like.in_dim, g, out_dim, grams })
    }

    /// One block's statistics from its inputs `a` (`rows x in`) and pre-activation
    /// gradients `g` (`rows x out`) on the device.
    fn of(
        self,
        dev: &Device,
        kind: LayerKind,
        batch: usize,
        (a, in_dim): (&CudaSlice<f32>, usize),
        (g, out_dim): (&CudaSlice<f32>, usize),
    ) -> Result<Option<LayerStats>, NetError> {
        let spatial = match kind {
            LayerKind::Conv { spatial } => spatial,
            _ => 1,
        };
        let rows = batch * spatial;
        Ok(match self {
            Stats::None => None,
            Stats::Rows => {
                let (mut a, mut g) = (dev.download(a)?, dev.download(g)?);
                a.truncate(rows * in_dim);
                g.truncate(rows * out_dim);
                Some(LayerStats { kind, batch, a, in_dim, g, out_dim, grams: None })
            }
            Stats::Reduced => {
                let grams = LayerGrams {
                    a: gram64(dev, a, rows, in_dim, true)?,
                    g: gram64(dev, g, rows, out_dim, false)?,
                    g_summed: if spatial > 1 { summed_gram64(dev, g, batch, spatial, out_dim)? } else { Vec::new() },
                };
                Some(LayerStats { kind, batch, a: Vec::new(), in_dim, g: Vec::new(), out_dim, grams: Some(grams) })
            }
        })
    }
}

/// One layer's saved forward values.
pub struct Saved {
    /// The layer's input (the previous layer's output after its activation).
    input: CudaSlice<f32>,
    /// A conv layer's unfolded input (`batch*oh*ow x c*k*k`).
    cols: Option<CudaSlice<f32>>,
}

impl Tape {
    /// The traced pass's logits (`batch x actions`) and values, on the host.
    pub fn outputs(&self, dev: &Device) -> Result<(Vec<f32>, Vec<f32>), NetError> {
        Ok((dev.download(&self.logits)?, dev.download(&self.values)?))
    }
}

/// What a traced forward pass of the actor-critic keeps on the device.
pub struct Tape {
    /// The torso's pass; its output is the features both heads read.
    torso: SeqTape,
    logits: CudaSlice<f32>,
    values: CudaSlice<f32>,
}

fn activation_backward_kernel(act: Activation) -> &'static str {
    match act {
        Activation::Relu => "relu_bwd",
        Activation::Tanh => "tanh_bwd",
        Activation::Elu => "elu_bwd",
    }
}

fn to_f64(dev: &Device, x: &CudaSlice<f32>) -> Result<Vec<f64>, NetError> {
    Ok(dev.download(x)?.into_iter().map(f64::from).collect())
}

/// `out[c] = sum_r x[r, c]` on the device.
pub(super) fn column_sums(dev: &Device, x: &CudaSlice<f32>, rows: usize, cols: usize) -> Result<CudaSlice<f32>, NetError> {
    let mut out = dev.zeros(cols)?;
    let f = dev.kernel("sum_rows")?;
    let (r, c) = (rows as i32, cols as i32);
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&mut out).arg(x).arg(&r).arg(&c);
    // SAFETY: sum_rows(float* out, const float* x, int rows, int cols) on rows x cols floats.
    unsafe { b.launch(grid(cols)) }.map_err(|e| err("launching `sum_rows`", e))?;
    Ok(out)
}

/// A linear layer's weight and bias gradients from its pre-activation gradient `ds`
/// (`batch x out`) and input `x`; with `dx`, also `dx = beta dx + ds W`.
fn linear_backward(
    dev: &Device,
    l: &DeviceLayer,
    x: &CudaSlice<f32>,
    ds: &CudaSlice<f32>,
    batch: usize,
    dx: Option<(&mut CudaSlice<f32>, f32)>,
    grads: bool,
) -> Result<Option<LayerGrads>, NetError> {
    let Geometry::Linear { input, output } = l.geometry else { unreachable!("a linear layer") };
    if let Some((dx, beta)) = dx {
        dev.gemm(batch, input, output, ds, false, &l.weight, false, dx, 1.0, beta)?;
    }
    if !grads {
        return Ok(None);
    }
    let mut dw = dev.zeros(output * input)?;
    dev.gemm(output, input, batch, ds, true, x, false, &mut dw, 1.0, 0.0)?;
    let db = column_sums(dev, ds, batch, output)?;
    Ok(Some(LayerGrads { weight: Some(to_f64(dev, &dw)?), bias: Some(to_f64(dev, &db)?) }))
}

/// A conv layer's gradients from its pre-activation gradient `ds` (NCHW); with `dx`, its
/// input's gradient through `col2im`.
fn conv_backward(
    dev: &Device,
    l: &DeviceLayer,
    saved: &Saved,
    ds: &CudaSlice<f32>,
    batch: usize,
    dx: Option<&mut CudaSlice<f32>>,
    grads: bool,
) -> Result<(Option<LayerGrads>, CudaSlice<f32>), NetError> {
    let Geometry::Conv { c, h, w, out, k, s, p, oh, ow } = l.geometry else { unreachable!("a conv layer") };
    let cols = saved.cols.as_ref().expect("a conv layer saves its columns");
    let (rows, width) = (batch * oh * ow, c * k * k);
    let mut dnhwc = dev.zeros(rows * out)?;
    let f = dev.kernel("nchw_to_nhwc")?;
    let (n, hw, ch) = (batch as i32, (oh * ow) as i32, out as i32);
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&mut dnhwc).arg(ds).arg(&n).arg(&hw).arg(&ch);
    // SAFETY: nchw_to_nhwc(float* out, const float* in, int n, int hw, int c) on n*hw*c floats.
    unsafe { b.launch(grid(rows * out)) }.map_err(|e| err("launching `nchw_to_nhwc`", e))?;
    if let Some(dx) = dx {
        let mut dcols = dev.zeros(rows * width)?;
        dev.gemm(rows, width, out, &dnhwc, false, &l.weight, false, &mut dcols, 1.0, 0.0)?;
        let f = dev.kernel("col2im")?;
        let dims = [batch, c, h, w, k, s, p, oh, ow].map(|v| v as i32);
        let mut b = dev.stream.launch_builder(&f);
        b.arg(dx).arg(&dcols);
        for d in &dims {
            b.arg(d);
        }
        // SAFETY: col2im(float* dx, const float* dcols, int n, c, h, w, k, s, p, oh, ow) with
        // `dx` batch x c x h x w and `dcols` rows x width floats.
        unsafe { b.launch(grid(batch * c * h * w)) }.map_err(|e| err("launching `col2im`", e))?;
    }
    if !grads {
        return Ok((None, dnhwc));
    }
    let mut dw = dev.zeros(out * width)?;
    dev.gemm(out, width, rows, &dnhwc, true, cols, false, &mut dw, 1.0, 0.0)?;
    let db = column_sums(dev, &dnhwc, rows, out)?;
    Ok((Some(LayerGrads { weight: Some(to_f64(dev, &dw)?), bias: Some(to_f64(dev, &db)?) }), dnhwc))
}

/// `act(x W^T + b)` for a linear layer; for a conv layer the same on `im2col(x)`, shuffled
/// back to NCHW.
fn layer_forward(dev: &Device, l: &DeviceLayer, x: &CudaSlice<f32>, batch: usize) -> Result<(CudaSlice<f32>, Option<CudaSlice<f32>>), NetError> {
    let n_out = batch * l.out_len();
    let mut pre = dev.zeros(n_out)?;
    let mut saved_cols = None;
    match l.geometry {
        Geometry::Linear { input, output } => {
            dev.gemm(batch, output, input, x, false, &l.weight, true, &mut pre, 1.0, 0.0)?;
            let f = dev.kernel("add_bias_rows")?;
            let (rows, cols) = (batch as i32, output as i32);
            let mut b = dev.stream.launch_builder(&f);
            b.arg(&mut pre).arg(&l.bias).arg(&rows).arg(&cols);
            // SAFETY: add_bias_rows(float* y, const float* b, int rows, int cols) on rows x
            // cols floats and `cols` biases.
            unsafe { b.launch(grid(n_out)) }.map_err(|e| err("launching `add_bias_rows`", e))?;
        }
        Geometry::Conv { c, h, w, out, k, s, p, oh, ow } => {
            let (rows, width) = (batch * oh * ow, c * k * k);
            let mut cols = dev.zeros(rows * width)?;
            let dims = [batch, c, h, w, k, s, p, oh, ow].map(|v| v as i32);
            let f = dev.kernel("im2col")?;
            let mut b = dev.stream.launch_builder(&f);
            b.arg(&mut cols).arg(x);
            for d in &dims {
                b.arg(d);
            }
            // SAFETY: im2col(float* cols, const float* x, int n, c, h, w, k, s, p, oh, ow) with
            // `cols` rows x width and `x` batch x c x h x w floats.
            unsafe { b.launch(grid(rows * width)) }.map_err(|e| err("launching `im2col`", e))?;
            let mut nhwc = dev.zeros(n_out)?;
            dev.gemm(rows, out, width, &cols, false, &l.weight, true, &mut nhwc, 1.0, 0.0)?;
            let f = dev.kernel("nhwc_to_nchw_bias")?;
            let (n, hw, ch) = (batch as i32, (oh * ow) as i32, out as i32);
            let mut b = dev.stream.launch_builder(&f);
            b.arg(&mut pre).arg(&nhwc).arg(&l.bias).arg(&n).arg(&hw).arg(&ch);
            // SAFETY: nhwc_to_nchw_bias(float* out, const float* in, const float* bias, int
            // n, int hw, int c) on n*hw*c floats and c biases.
            unsafe { b.launch(grid(n_out)) }.map_err(|e| err("launching `nhwc_to_nchw_bias`", e))?;
            saved_cols = Some(cols);
        }
    }
    let y = match l.act {
        None => pre,
        Some(act) => {
            let mut y = dev.zeros(n_out)?;
            dev.launch_elementwise(activation_kernel(act), &mut y, &[&pre], n_out)?;
            y
        }
    };
    Ok((y, saved_cols))
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::env::ActionSpace;
    use crate::nets::{ActorCriticSpec, Architecture, DistParams, Engine, Init, Layout};

    fn atari() -> (ActorCriticSpec, [usize; 3], Vec<LayerSpec>, Vec<BlockValues>, Box<dyn crate::nets::ActorCriticNet>) {
        let input = [4usize, 84, 84];
        let spec = ActorCriticSpec { architecture: Architecture::AtariAcktr, layout: Layout::Shared { activation: Activation::Relu }, init: Init::Orthogonal };
        let cpu = spec.build(Engine::Cpu, &input, &ActionSpace::Discrete { n: 6 }, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        let params: Vec<BlockValues> = (0..cpu.blocks().len()).map(|i| cpu.block_values(i)).collect();
        let torso = spec.architecture.layers(&input, Activation::Relu).unwrap();
        (spec, input, torso, params, cpu)
    }

    /// The host half of the upload, without a device: the paper's Atari geometry from the
    /// CPU engine's blocks, and mismatched parameters refused.
    #[test]
    fn the_atari_network_plans_onto_the_device_layers_from_the_cpu_engines_blocks() {
        let (_, input, torso, params, _) = atari();
        let plan = plan(&input, &torso, &params).unwrap();
        let shapes: Vec<String> = plan.iter().map(|(g, _, _)| format!("{g:?}")).collect();
        assert_eq!(
            shapes,
            [
                "Conv { c: 4, h: 84, w: 84, out: 32, k: 8, s: 4, p: 0, oh: 20, ow: 20 }",
                "Conv { c: 32, h: 20, w: 20, out: 64, k: 4, s: 2, p: 0, oh: 9, ow: 9 }",
                "Conv { c: 64, h: 9, w: 9, out: 32, k: 3, s: 1, p: 0, oh: 7, ow: 7 }",
                "Linear { input: 1568, output: 512 }",
                "Linear { input: 512, output: 1 }",
                "Linear { input: 512, output: 6 }",
            ]
        );
        assert!(plan[..4].iter().all(|(_, a, _)| *a == Some(Activation::Relu)) && plan[4..].iter().all(|(_, a, _)| a.is_none()));
        let mut short = params.clone();
        short[1].bias.pop();
        let e = super::plan(&input, &torso, &short).err().unwrap();
        assert!(e.to_string().contains("torso layer 1"), "{e}");
        assert!(super::plan(&input, &torso, &params[..5]).err().unwrap().to_string().contains("policy head"));
    }

    /// The paper's Atari actor-critic (shared torso, 6 actions) on the device against the
    /// CPU engine with the same weights: logits and values agree to float32 rounding.
    #[test]
    fn the_atari_forward_pass_matches_the_cpu_engine() {
        let Some(dev) = super::super::tests::device() else { return };
        let (_, input, torso, params, cpu) = atari();
        let gpu = DeviceActorCritic::upload(&dev, &input, &torso, &params).unwrap();
        let batch = 5;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let obs: Vec<f32> = (0..batch * 4 * 84 * 84).map(|_| rng.gen_range(0.0f32..1.0)).collect();
        let (logits, values) = gpu.forward(&dev, &obs, batch).unwrap();
        let (dist, want_values) = cpu.act(&obs, &vec![0; batch], batch).unwrap();
        let DistParams::Categorical { logits: want_logits, .. } = dist else { panic!("a categorical policy") };
        super::super::tests::close(&logits, &want_logits, 1e-4, "logits");
        super::super::tests::close(&values, &want_values, 1e-4, "values");
    }

    /// The backward pass against the CPU engine's gradients of the same loss: A2C's
    /// `sum_r w_r log pi(a_r|s_r) + c_v mean((V - y)^2)` (no entropy term), whose output
    /// gradients are `w_r (onehot(a_r) - softmax_r)` and `2 c_v (V_r - y_r) / N`.
    #[test]
    fn the_atari_backward_pass_matches_the_cpu_engines_gradients_and_kfac_statistics() {
        use crate::nets::{ActionBatch, GradsWanted, LossQuery, Parts, ValueTarget};
        let Some(dev) = super::super::tests::device() else { return };
        let (_, input, torso, params, cpu) = atari();
        let gpu = DeviceActorCritic::upload(&dev, &input, &torso, &params).unwrap();
        let batch = 4;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let obs: Vec<f32> = (0..batch * 4 * 84 * 84).map(|_| rng.gen_range(0.0f32..1.0)).collect();
        let actions: Vec<f32> = (0..batch).map(|_| rng.gen_range(0..6) as f32).collect();
        let weights: Vec<f32> = (0..batch).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let targets: Vec<f32> = (0..batch).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let value_coef = 0.5;
        let blocks: Vec<usize> = (0..params.len()).collect();
        // The CPU engine's gradients and K-FAC statistics of the same loss, in its layout.
        let cpu_out = cpu
            .loss(&LossQuery {
                obs: &obs,
                rows: batch,
                value_obs: None,
                actions: ActionBatch::Discrete(&actions),
                parts: Parts::ALL,
                logp_weights: &weights,
                entropy_coef: 0.0,
                value_coef,
                target: ValueTarget::Fixed(&targets),
                grads: GradsWanted::Blocks(&blocks),
                kfac_stats: true,
                fisher: None,
            })
            .unwrap();
        let (want, want_stats) = (cpu_out.blocks, cpu_out.stats);
        let tape = gpu.forward_traced(&dev, &obs, batch).unwrap();
        let logits = dev.download(&tape.logits).unwrap();
        let values = dev.download(&tape.values).unwrap();
        let mut d_logits = vec![0.0f32; batch * 6];
        for r in 0..batch {
            let row = &logits[r * 6..(r + 1) * 6];
            let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let z: f32 = row.iter().map(|l| (l - m).exp()).sum();
            for j in 0..6 {
                let p = (row[j] - m).exp() / z;
                d_logits[r * 6 + j] = weights[r] * (f32::from(j == actions[r] as usize) - p);
            }
        }
        let d_values: Vec<f32> = (0..batch).map(|r| 2.0 * value_coef as f32 * (values[r] - targets[r]) / batch as f32).collect();
        let (got, got_stats) = gpu.backward(&dev, &tape, &d_logits, &d_values, Stats::Rows, true).unwrap();
        assert_eq!(got_stats.len(), want_stats.len());
        for (i, (g, w)) in got_stats.iter().zip(&want_stats).enumerate() {
            assert_eq!((g.kind, g.batch, g.in_dim, g.out_dim), (w.kind, w.batch, w.in_dim, w.out_dim), "block {i}");
            for (part, gv, wv) in [("a", &g.a, &w.a), ("g", &g.g, &w.g)] {
                assert_eq!(gv.len(), wv.len(), "block {i} {part}");
                let scale = wv.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
                for (k, (x, y)) in gv.iter().zip(wv).enumerate() {
                    assert!((x - y).abs() <= 1e-3 * scale, "block {i} {part}[{k}]: device {x}, cpu {y}");
                }
            }
        }
        // The statistics reduced on the device against the CPU engine's rows reduced on the
        // host (float64 sums of float32 rows that agree to 1e-3 of their scale).
        let (_, reduced) = gpu.backward(&dev, &tape, &d_logits, &d_values, Stats::Reduced, false).unwrap();
        for (i, (g, w)) in reduced.iter().zip(want_stats.iter().map(LayerStats::reduced)).enumerate() {
            let (g, w) = (g.grams.as_ref().unwrap(), w.grams.unwrap());
            for (part, gv, wv) in [("A", &g.a, &w.a), ("G", &g.g, &w.g), ("G summed", &g.g_summed, &w.g_summed)] {
                assert_eq!(gv.len(), wv.len(), "block {i} {part}");
                let scale = wv.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
                for (k, (x, y)) in gv.iter().zip(wv).enumerate() {
                    assert!((x - y).abs() <= 2e-3 * scale, "block {i} {part}[{k}]: device {x}, host {y}");
                }
            }
        }
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            for (part, (gv, wv)) in [("weight", (&g.weight, &w.weight)), ("bias", (&g.bias, &w.bias))] {
                let (gv, wv) = (gv.as_ref().unwrap(), wv.as_ref().unwrap());
                assert_eq!(gv.len(), wv.len(), "block {i} {part}");
                let scale = wv.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
                for (k, (a, b)) in gv.iter().zip(wv).enumerate() {
                    assert!((a - b).abs() <= 1e-3 * scale, "block {i} {part}[{k}]: device {a}, cpu {b} (max |cpu| {scale})");
                }
            }
        }
    }
}
