//! The forward pass of a shared-torso actor-critic on the device (the paper's Atari
//! network, appendix A.1, and any torso of [`LayerSpec`]s): the first piece of the CUDA
//! actor-critic (issue 15). Parameters come from the CPU engine's network in K-FAC block
//! order (torso layers, value head, policy head: `cpu::ActorCritic::declare`), so both
//! engines start from the same weights and the CPU engine is the reference the device
//! test compares against. Not yet here: the backward pass, the K-FAC statistics, the
//! `ActorCriticNet` implementation.
//!
//! Layouts are the CPU engine's: images NCHW, conv weights `out x (in*k*k)` with columns in
//! `(ci, ky, kx)` order (PyTorch's), flattening in C,H,W order.

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

use super::{err, Device};
use crate::nets::{Activation, BlockValues, LayerSpec, NetError};

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
        let first = self.torso.first().map(DeviceLayer::in_len).unwrap_or(self.value.in_len());
        if obs.len() != batch * first {
            return Err(NetError::Shape(format!("{} observation values for {batch} rows of {first}", obs.len())));
        }
        let mut x = dev.upload(obs)?;
        for l in &self.torso {
            x = layer_forward(dev, l, &x, batch)?;
        }
        let logits = layer_forward(dev, &self.policy, &x, batch)?;
        let values = layer_forward(dev, &self.value, &x, batch)?;
        Ok((dev.download(&logits)?, dev.download(&values)?))
    }
}

/// `act(x W^T + b)` for a linear layer; for a conv layer the same on `im2col(x)`, shuffled
/// back to NCHW.
fn layer_forward(dev: &Device, l: &DeviceLayer, x: &CudaSlice<f32>, batch: usize) -> Result<CudaSlice<f32>, NetError> {
    let n_out = batch * l.out_len();
    let mut pre = dev.zeros(n_out)?;
    match l.geometry {
        Geometry::Linear { input, output } => {
            dev.gemm(batch, output, input, x, false, &l.weight, true, &mut pre, 0.0)?;
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
            dev.gemm(rows, out, width, &cols, false, &l.weight, true, &mut nhwc, 0.0)?;
            let f = dev.kernel("nhwc_to_nchw_bias")?;
            let (n, hw, ch) = (batch as i32, (oh * ow) as i32, out as i32);
            let mut b = dev.stream.launch_builder(&f);
            b.arg(&mut pre).arg(&nhwc).arg(&l.bias).arg(&n).arg(&hw).arg(&ch);
            // SAFETY: nhwc_to_nchw_bias(float* out, const float* in, const float* bias, int
            // n, int hw, int c) on n*hw*c floats and c biases.
            unsafe { b.launch(grid(n_out)) }.map_err(|e| err("launching `nhwc_to_nchw_bias`", e))?;
        }
    }
    match l.act {
        None => Ok(pre),
        Some(act) => {
            let mut y = dev.zeros(n_out)?;
            dev.launch_elementwise(activation_kernel(act), &mut y, &[&pre], n_out)?;
            Ok(y)
        }
    }
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
        let close = |got: &[f32], want: &[f32], what: &str| {
            assert_eq!(got.len(), want.len(), "{what}");
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{what}[{i}]: device {g}, cpu {w}");
            }
        };
        close(&logits, &want_logits, "logits");
        close(&values, &want_values, "values");
    }
}
