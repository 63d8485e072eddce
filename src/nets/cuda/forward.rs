//! The forward and backward passes of a shared-torso actor-critic on the device (the paper's Atari
//! network, appendix A.1, and any torso of [`LayerSpec`]s): the first piece of the CUDA
//! actor-critic (issue 15). Parameters come from the CPU engine's network in K-FAC block
//! order (torso layers, value head, policy head: `cpu::ActorCritic::declare`), so both
//! engines start from the same weights and the CPU engine is the reference the device
//! tests compare against. The backward pass gives every block's gradient from the output
//! gradients, and its K-FAC statistics. Not yet here: the losses themselves on the device,
//! separate networks and Gaussian heads, the `ActorCriticNet` implementation.
//!
//! Layouts are the CPU engine's: images NCHW, conv weights `out x (in*k*k)` with columns in
//! `(ci, ky, kx)` order (PyTorch's), flattening in C,H,W order.

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

use super::{err, Device};
use crate::nets::{Activation, BlockValues, LayerGrads, LayerKind, LayerSpec, LayerStats, NetError};

/// One layer's geometry on the device.
#[derive(Debug, Clone, Copy)]
enum Geometry {
    Linear { input: usize, output: usize },
    /// `c x h x w` in, `out x oh x ow` out, square kernel `k`, stride `s`, no padding.
    Conv { c: usize, h: usize, w: usize, out: usize, k: usize, s: usize, oh: usize, ow: usize },
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
}

/// The torso and both heads on the device.
pub struct DeviceActorCritic {
    torso: Vec<DeviceLayer>,
    value: DeviceLayer,
    policy: DeviceLayer,
}

/// Each layer's geometry, activation and parameters (torso layers, then the value head,
/// then the policy head), checked against `params`: the host half of
/// [`DeviceActorCritic::upload`].
fn plan<'a>(input: &[usize], torso: &[LayerSpec], params: &'a [BlockValues]) -> Result<Vec<(Geometry, Option<Activation>, &'a BlockValues)>, NetError> {
    let mut shape: Vec<usize> = input.to_vec();
    let mut out = Vec::new();
    let mut p = params.iter();
    let mut next = |what: &str, w_len: usize, b_len: Option<usize>| -> Result<&'a BlockValues, NetError> {
        let v = p.next().ok_or_else(|| NetError::Shape(format!("no parameters for {what}")))?;
        let w = v.weight.as_ref().ok_or_else(|| NetError::Shape(format!("{what}: a block without a weight")))?;
        let b_len = b_len.unwrap_or(v.bias.len());
        if w.len() != w_len * b_len || v.bias.len() != b_len {
            return Err(NetError::Shape(format!(
                "{what}: weight {} and bias {} values, expected {} and {b_len}",
                w.len(),
                v.bias.len(),
                w_len * b_len
            )));
        }
        Ok(v)
    };
    for (i, l) in torso.iter().enumerate() {
        match *l {
            LayerSpec::Linear { input, output, activation } => {
                if shape.iter().product::<usize>() != input {
                    return Err(NetError::Shape(format!("torso layer {i}: a linear layer of {input} inputs on {shape:?}")));
                }
                let v = next(&format!("torso layer {i}"), input, Some(output))?;
                out.push((Geometry::Linear { input, output }, activation, v));
                shape = vec![output];
            }
            LayerSpec::Conv2d { in_channels, out_channels, kernel, stride, padding, activation } => {
                let [c, h, w] = shape[..] else {
                    return Err(NetError::Shape(format!("torso layer {i}: a convolution on {shape:?}")));
                };
                if c != in_channels || h < kernel || w < kernel {
                    return Err(NetError::Shape(format!("torso layer {i}: a {in_channels}-channel {kernel}x{kernel} convolution on {shape:?}")));
                }
                if padding != 0 {
                    return Err(NetError::Engine(format!("`cuda`: torso layer {i}: padded convolutions are not implemented")));
                }
                let (oh, ow) = ((h - kernel) / stride + 1, (w - kernel) / stride + 1);
                let v = next(&format!("torso layer {i}"), c * kernel * kernel, Some(out_channels))?;
                out.push((Geometry::Conv { c, h, w, out: out_channels, k: kernel, s: stride, oh, ow }, activation, v));
                shape = vec![out_channels, oh, ow];
            }
            LayerSpec::Flatten => shape = vec![shape.iter().product()],
        }
    }
    let features: usize = shape.iter().product();
    let v = next("value head", features, Some(1))?;
    out.push((Geometry::Linear { input: features, output: 1 }, None, v));
    let v = next("policy head", features, None)?;
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

fn grid(n: usize) -> LaunchConfig {
    LaunchConfig::for_num_elems(u32::try_from(n).expect("fewer than 2^32 elements per launch"))
}

impl DeviceActorCritic {
    /// Uploads a shared actor-critic: `torso` as the CPU engine builds it for `input`
    /// (`Architecture::layers`), `params` its blocks' values in declaration order (one per
    /// torso layer, then the value head, then the categorical policy head).
    pub fn upload(dev: &Device, input: &[usize], torso: &[LayerSpec], params: &[BlockValues]) -> Result<DeviceActorCritic, NetError> {
        let mut layers = Vec::new();
        for (geometry, act, v) in plan(input, torso, params)? {
            let weight = dev.upload(v.weight.as_ref().expect("checked by plan"))?;
            layers.push(DeviceLayer { geometry, weight, bias: dev.upload(&v.bias)?, act });
        }
        let policy = layers.pop().expect("plan returns the heads");
        let value = layers.pop().expect("plan returns the heads");
        Ok(DeviceActorCritic { torso: layers, value, policy })
    }

    /// The policy's logits (`batch x actions`) and the values (`batch`) of `batch`
    /// observations (the network's input, after the data pipeline).
    pub fn forward(&self, dev: &Device, obs: &[f32], batch: usize) -> Result<(Vec<f32>, Vec<f32>), NetError> {
        let tape = self.forward_traced(dev, obs, batch)?;
        Ok((dev.download(&tape.logits)?, dev.download(&tape.values)?))
    }

    /// [`Self::forward`], keeping on the device what [`Self::backward`] needs.
    pub fn forward_traced(&self, dev: &Device, obs: &[f32], batch: usize) -> Result<Tape, NetError> {
        let first = self.torso.first().map(DeviceLayer::in_len).unwrap_or(self.value.in_len());
        if batch == 0 || obs.len() != batch * first {
            return Err(NetError::Shape(format!("{} observation values for {batch} rows of {first}", obs.len())));
        }
        let mut x = dev.upload(obs)?;
        let mut layers = Vec::new();
        for l in &self.torso {
            let (y, cols) = layer_forward(dev, l, &x, batch)?;
            layers.push(Saved { input: x, cols });
            x = y;
        }
        let (logits, _) = layer_forward(dev, &self.policy, &x, batch)?;
        let (values, _) = layer_forward(dev, &self.value, &x, batch)?;
        Ok(Tape { batch, layers, features: x, logits, values })
    }

    /// Every block's gradient (torso layers, value head, policy head: K-FAC's declaration
    /// order) from the loss's gradients with respect to the logits (`batch x actions`) and
    /// the values (`batch`), by the chain rule through the traced pass.
    pub fn backward(&self, dev: &Device, tape: &Tape, d_logits: &[f32], d_values: &[f32]) -> Result<Vec<LayerGrads>, NetError> {
        Ok(self.backward_with_stats(dev, tape, d_logits, d_values, false)?.0)
    }

    /// [`Self::backward`], and with `stats` every block's K-FAC statistics on the host, in
    /// the CPU engine's layout (`LayerStats`: inputs `a`, patches for a conv layer with
    /// rows `(example, position)`; pre-activation gradients `g`, NHWC rows for a conv layer),
    /// so the CPU engine's K-FAC can take them while its device half is not written.
    pub fn backward_with_stats(
        &self,
        dev: &Device,
        tape: &Tape,
        d_logits: &[f32],
        d_values: &[f32],
        stats: bool,
    ) -> Result<(Vec<LayerGrads>, Vec<LayerStats>), NetError> {
        let batch = tape.batch;
        let mut stats_rev: Vec<LayerStats> = Vec::new();
        if d_logits.len() != batch * self.policy.out_len() || d_values.len() != batch {
            return Err(NetError::Shape(format!("output gradients of {} and {} values for {batch} rows", d_logits.len(), d_values.len())));
        }
        let (dl, dv) = (dev.upload(d_logits)?, dev.upload(d_values)?);
        let mut grads_rev = Vec::new();
        // The heads: both read the features; their input gradients add up.
        let features = self.value.in_len();
        let mut dx = dev.zeros(batch * features)?;
        let pg = linear_backward(dev, &self.policy, &tape.features, &dl, batch, Some((&mut dx, 0.0)))?;
        let vg = linear_backward(dev, &self.value, &tape.features, &dv, batch, Some((&mut dx, 1.0)))?;
        for (i, l) in self.torso.iter().enumerate().rev() {
            let saved = &tape.layers[i];
            // Through the activation: `dx` is the gradient of the layer's output.
            let y = if i + 1 < self.torso.len() { &tape.layers[i + 1].input } else { &tape.features };
            let dpre = match l.act {
                None => dx,
                Some(act) => {
                    let mut d = dev.zeros(batch * l.out_len())?;
                    dev.launch_elementwise(activation_backward_kernel(act), &mut d, &[&dx, y], batch * l.out_len())?;
                    d
                }
            };
            let want_input = i > 0;
            let mut dprev = if want_input { Some(dev.zeros(batch * l.in_len())?) } else { None };
            let g = match l.geometry {
                Geometry::Linear { input, output } => {
                    if stats {
                        let (a, g) = (dev.download(&saved.input)?, dev.download(&dpre)?);
                        stats_rev.push(LayerStats { kind: LayerKind::Linear, batch, a, in_dim: input, g, out_dim: output });
                    }
                    linear_backward(dev, l, &saved.input, &dpre, batch, dprev.as_mut().map(|d| (d, 0.0)))?
                }
                Geometry::Conv { c, out, k, oh, ow, .. } => {
                    let (g, dnhwc) = conv_backward(dev, l, saved, &dpre, batch, dprev.as_mut())?;
                    if stats {
                        let a = dev.download(saved.cols.as_ref().expect("a conv layer saves its columns"))?;
                        let kind = LayerKind::Conv { spatial: oh * ow };
                        stats_rev.push(LayerStats { kind, batch, a, in_dim: c * k * k, g: dev.download(&dnhwc)?, out_dim: out });
                    }
                    g
                }
            };
            grads_rev.push(g);
            dx = match dprev {
                Some(d) => d,
                None => dev.zeros(1)?,
            };
        }
        let mut out: Vec<LayerGrads> = grads_rev.into_iter().rev().collect();
        out.push(vg);
        out.push(pg);
        let mut st: Vec<LayerStats> = stats_rev.into_iter().rev().collect();
        if stats {
            let a = dev.download(&tape.features)?;
            st.push(LayerStats { kind: LayerKind::Linear, batch, a: a.clone(), in_dim: features, g: d_values.to_vec(), out_dim: 1 });
            let actions = self.policy.out_len();
            st.push(LayerStats { kind: LayerKind::Linear, batch, a, in_dim: features, g: d_logits.to_vec(), out_dim: actions });
        }
        Ok((out, st))
    }
}

/// One torso layer's saved forward values.
pub struct Saved {
    /// The layer's input (the previous layer's output after its activation).
    input: CudaSlice<f32>,
    /// A conv layer's unfolded input (`batch*oh*ow x c*k*k`).
    cols: Option<CudaSlice<f32>>,
}

/// What a traced forward pass keeps on the device.
pub struct Tape {
    batch: usize,
    layers: Vec<Saved>,
    /// The torso's output, which both heads read.
    features: CudaSlice<f32>,
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
) -> Result<LayerGrads, NetError> {
    let Geometry::Linear { input, output } = l.geometry else { unreachable!("a linear layer") };
    let mut dw = dev.zeros(output * input)?;
    dev.gemm(output, input, batch, ds, true, x, false, &mut dw, 1.0, 0.0)?;
    let db = column_sums(dev, ds, batch, output)?;
    if let Some((dx, beta)) = dx {
        dev.gemm(batch, input, output, ds, false, &l.weight, false, dx, 1.0, beta)?;
    }
    Ok(LayerGrads { weight: Some(to_f64(dev, &dw)?), bias: Some(to_f64(dev, &db)?) })
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
) -> Result<(LayerGrads, CudaSlice<f32>), NetError> {
    let Geometry::Conv { c, h, w, out, k, s, oh, ow } = l.geometry else { unreachable!("a conv layer") };
    let cols = saved.cols.as_ref().expect("a conv layer saves its columns");
    let (rows, width) = (batch * oh * ow, c * k * k);
    let mut dnhwc = dev.zeros(rows * out)?;
    let f = dev.kernel("nchw_to_nhwc")?;
    let (n, hw, ch) = (batch as i32, (oh * ow) as i32, out as i32);
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&mut dnhwc).arg(ds).arg(&n).arg(&hw).arg(&ch);
    // SAFETY: nchw_to_nhwc(float* out, const float* in, int n, int hw, int c) on n*hw*c floats.
    unsafe { b.launch(grid(rows * out)) }.map_err(|e| err("launching `nchw_to_nhwc`", e))?;
    let mut dw = dev.zeros(out * width)?;
    dev.gemm(out, width, rows, &dnhwc, true, cols, false, &mut dw, 1.0, 0.0)?;
    let db = column_sums(dev, &dnhwc, rows, out)?;
    if let Some(dx) = dx {
        let mut dcols = dev.zeros(rows * width)?;
        dev.gemm(rows, width, out, &dnhwc, false, &l.weight, false, &mut dcols, 1.0, 0.0)?;
        let f = dev.kernel("col2im")?;
        let dims = [batch, c, h, w, k, s, oh, ow].map(|v| v as i32);
        let mut b = dev.stream.launch_builder(&f);
        b.arg(dx).arg(&dcols);
        for d in &dims {
            b.arg(d);
        }
        // SAFETY: col2im(float* dx, const float* dcols, int n, c, h, w, k, s, oh, ow) with
        // `dx` batch x c x h x w and `dcols` rows x width floats.
        unsafe { b.launch(grid(batch * c * h * w)) }.map_err(|e| err("launching `col2im`", e))?;
    }
    Ok((LayerGrads { weight: Some(to_f64(dev, &dw)?), bias: Some(to_f64(dev, &db)?) }, dnhwc))
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
        Geometry::Conv { c, h, w, out, k, s, oh, ow } => {
            let (rows, width) = (batch * oh * ow, c * k * k);
            let mut cols = dev.zeros(rows * width)?;
            let dims = [batch, c, h, w, k, s, oh, ow].map(|v| v as i32);
            let f = dev.kernel("im2col")?;
            let mut b = dev.stream.launch_builder(&f);
            b.arg(&mut cols).arg(x);
            for d in &dims {
                b.arg(d);
            }
            // SAFETY: im2col(float* cols, const float* x, int n, c, h, w, k, s, oh, ow) with
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
                "Conv { c: 4, h: 84, w: 84, out: 32, k: 8, s: 4, oh: 20, ow: 20 }",
                "Conv { c: 32, h: 20, w: 20, out: 64, k: 4, s: 2, oh: 9, ow: 9 }",
                "Conv { c: 64, h: 9, w: 9, out: 32, k: 3, s: 1, oh: 7, ow: 7 }",
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
        let (got, got_stats) = gpu.backward_with_stats(&dev, &tape, &d_logits, &d_values, true).unwrap();
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
