//! A network whose layers are chosen at run time: linear layers, 2-D convolutions
//! (im2col through [`super::ops::gather`] + matmul) and flatten, with the activations of
//! `../shared/kfac-conformance/FORMAT.md`. It runs the K-FAC conformance cases and the
//! Atari network of paper appendix A.1 (conv 32 8x8/4, 64 4x4/2, 32 3x3/1, fc 512) in
//! benchmarks; its forward pass records each layer's input and pre-activation for K-FAC.

use std::sync::Arc;

use dfdx::prelude::*;

use super::ops::{flatten_index, gather, im2col_index, Layout};
use super::{Activation, Dev, ParamTensor, TraceEntry};
use crate::kfac::LayerKind;

/// One layer as described by a case or a builder.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerSpec {
    Linear { input: usize, output: usize, activation: Option<Activation> },
    Conv2d { in_channels: usize, out_channels: usize, kernel: usize, stride: usize, padding: usize, activation: Option<Activation> },
    Flatten,
}

#[derive(Debug, Clone)]
enum Layer {
    Linear { w: Tensor<(usize, usize), f32, Dev>, b: Tensor<(usize,), f32, Dev>, act: Option<Activation> },
    Conv {
        w: Tensor<(usize, usize), f32, Dev>,
        b: Tensor<(usize,), f32, Dev>,
        act: Option<Activation>,
        index: Arc<Vec<u32>>,
        in_stride: usize,
        spatial: usize,
    },
    Flatten { index: Option<Arc<Vec<u32>>>, in_stride: usize },
}

/// Errors building a [`SeqNet`].
#[derive(Debug, thiserror::Error)]
pub enum SeqError {
    #[error("layer {layer}: {why}")]
    Shape { layer: usize, why: String },
}

/// A sequential network with run-time shapes.
#[derive(Debug, Clone)]
pub struct SeqNet {
    layers: Vec<Layer>,
    dev: Dev,
    input_dim: usize,
}

impl SeqNet {
    /// Builds the layers for inputs of `input_shape` (`[D]` or `[C, H, W]`), with the given
    /// parameters per linear/conv layer as `(weight out x in(*k*k), bias)` row-major.
    pub fn new(input_shape: &[usize], specs: &[LayerSpec], params: &[(Vec<f32>, Vec<f32>)]) -> Result<Self, SeqError> {
        let dev = Dev::default();
        let mut layout = match input_shape {
            [c, h, w] => Some(Layout::Chw { c: *c, h: *h, w: *w }),
            _ => None,
        };
        let input_dim: usize = input_shape.iter().product();
        let mut width = input_dim;
        let mut layers = Vec::new();
        let mut p = params.iter();
        for (i, s) in specs.iter().enumerate() {
            let err = |why: String| SeqError::Shape { layer: i, why };
            match s {
                LayerSpec::Linear { input, output, activation } => {
                    if *input != width || layout.is_some() {
                        return Err(err(format!("linear expects {input} inputs, gets {width} (flatten images first)")));
                    }
                    let (w, b) = p.next().ok_or_else(|| err("missing parameters".into()))?;
                    if w.len() != input * output || b.len() != *output {
                        return Err(err("parameter shapes do not match".into()));
                    }
                    layers.push(Layer::Linear {
                        w: dev.tensor_from_vec(w.clone(), (*output, *input)),
                        b: dev.tensor_from_vec(b.clone(), (*output,)),
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
                    layers.push(Layer::Conv {
                        w: dev.tensor_from_vec(w.clone(), (*out_channels, fan_in)),
                        b: dev.tensor_from_vec(b.clone(), (*out_channels,)),
                        act: *activation,
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
        Ok(Self { layers, dev, input_dim })
    }

    /// Input width per example.
    pub fn input_dim(&self) -> usize {
        self.input_dim
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
                    let s = h.matmul(w.retaped::<T>().permute::<_, Axes2<1, 0>>());
                    let shape = *s.shape();
                    let s = s + b.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
                    if let (Some(t), Some(a)) = (trace.as_deref_mut(), a) {
                        t.push(TraceEntry::new(LayerKind::Linear, batch, a, w.shape().1, w.shape().0, &s));
                    }
                    apply(s, *act)
                }
                Layer::Conv { w, b, act, index, in_stride, spatial } => {
                    let patches = gather(h, batch, *in_stride, index, *spatial);
                    let a = trace.as_ref().map(|_| patches.as_vec());
                    let s = patches.matmul(w.retaped::<T>().permute::<_, Axes2<1, 0>>());
                    let shape = *s.shape();
                    let s = s + b.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape);
                    if let (Some(t), Some(a)) = (trace.as_deref_mut(), a) {
                        t.push(TraceEntry::new(LayerKind::Conv { spatial: *spatial }, batch, a, w.shape().1, w.shape().0, &s));
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

fn apply<T: Tape<f32, Dev>>(s: Tensor<(usize, usize), f32, Dev, T>, act: Option<Activation>) -> Tensor<(usize, usize), f32, Dev, T> {
    match act {
        Some(a) => a.apply(s),
        None => s,
    }
}
