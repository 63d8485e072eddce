//! Operations dfdx 0.13 lacks on stable Rust, written on its public tape API.
//!
//! [`gather`] copies elements by index (with zero padding) and scatters gradients back;
//! it is im2col for convolutions (patches ordered (channel, kh, kw) to match PyTorch's
//! `weight.view(out, -1)`) and the layout change of a flatten. dfdx's own `conv2d` needs
//! its `nightly` feature, which stable Rust cannot build.

use std::sync::Arc;

use dfdx::prelude::*;

use super::Dev;

/// Index value meaning "zero" (padding).
pub const PAD: u32 = u32::MAX;

/// For each of `batch` examples, `out[b, k] = x[b * in_stride + index[k]]` (0 where
/// `index[k] == PAD`), returned as `(batch * out_rows, index.len() / out_rows)`.
/// Gradients flow back by scatter-add. `x` must be contiguous.
pub fn gather<T: Tape<f32, Dev>>(
    x: Tensor<(usize, usize), f32, Dev, T>,
    batch: usize,
    in_stride: usize,
    index: &Arc<Vec<u32>>,
    out_rows: usize,
) -> Tensor<(usize, usize), f32, Dev, T> {
    let (x, mut tape) = x.split_tape();
    let src = x.as_vec();
    assert_eq!(src.len(), batch * in_stride, "gather: input is not batch x in_stride");
    let per = index.len();
    let cols = per / out_rows;
    let mut out = vec![0.0f32; batch * per];
    for b in 0..batch {
        let base = b * in_stride;
        for (o, &k) in out[b * per..(b + 1) * per].iter_mut().zip(index.iter()) {
            if k != PAD {
                *o = src[base + k as usize];
            }
        }
    }
    let out = x.device().tensor_from_vec(out, (batch * out_rows, cols));
    let (xc, oc, idx) = (x.clone(), out.clone(), Arc::clone(index));
    tape.add_backward_op(move |grads| {
        grads.try_alloc_for(&oc)?;
        let go = grads.get(&oc).as_vec();
        let gi = grads.get_or_alloc_mut(&xc)?;
        for b in 0..batch {
            let base = b * in_stride;
            for (g, &k) in go[b * per..(b + 1) * per].iter().zip(idx.iter()) {
                if k != PAD {
                    gi[base + k as usize] += *g;
                }
            }
        }
        Ok(())
    });
    out.put_tape(tape)
}

/// Layout of one example's activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Channel-major image `(C, H, W)` flattened (network inputs, PyTorch's NCHW).
    Chw { c: usize, h: usize, w: usize },
    /// Position-major `(H, W, C)`: one row per output position (what a convolution as
    /// patches x weights produces).
    Hwc { c: usize, h: usize, w: usize },
}

impl Layout {
    fn offset(&self, c: usize, y: usize, x: usize) -> usize {
        match *self {
            Layout::Chw { h, w, .. } => (c * h + y) * w + x,
            Layout::Hwc { c: cc, w, .. } => (y * w + x) * cc + c,
        }
    }

    /// (channels, height, width).
    pub fn dims(&self) -> (usize, usize, usize) {
        match *self {
            Layout::Chw { c, h, w } | Layout::Hwc { c, h, w } => (c, h, w),
        }
    }
}

/// im2col indices for one example: `(oh * ow)` rows of `c * k * k` entries ordered
/// (channel, kh, kw); returns the indices and the output height and width.
pub fn im2col_index(input: Layout, k: usize, stride: usize, pad: usize) -> (Arc<Vec<u32>>, usize, usize) {
    let (c, h, w) = input.dims();
    let oh = (h + 2 * pad - k) / stride + 1;
    let ow = (w + 2 * pad - k) / stride + 1;
    let mut idx = Vec::with_capacity(oh * ow * c * k * k);
    for oy in 0..oh {
        for ox in 0..ow {
            for ch in 0..c {
                for ky in 0..k {
                    for kx in 0..k {
                        let y = (oy * stride + ky) as isize - pad as isize;
                        let x = (ox * stride + kx) as isize - pad as isize;
                        if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
                            idx.push(PAD);
                        } else {
                            idx.push(input.offset(ch, y as usize, x as usize) as u32);
                        }
                    }
                }
            }
        }
    }
    (Arc::new(idx), oh, ow)
}

/// Indices that turn one example in `input` layout into PyTorch's C-order flatten
/// `(C, H, W)`.
pub fn flatten_index(input: Layout) -> Arc<Vec<u32>> {
    let (c, h, w) = input.dims();
    let mut idx = Vec::with_capacity(c * h * w);
    for ch in 0..c {
        for y in 0..h {
            for x in 0..w {
                idx.push(input.offset(ch, y, x) as u32);
            }
        }
    }
    Arc::new(idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_forward_and_backward() {
        let dev = Dev::default();
        let x = dev.tensor_from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], (2, 3));
        let idx = Arc::new(vec![2, PAD, 0, 0]);
        let y = gather(x.leaky_trace(), 2, 3, &idx, 2);
        assert_eq!(y.as_vec(), vec![3.0, 0.0, 1.0, 1.0, 6.0, 0.0, 4.0, 4.0]);
        let w = dev.tensor_from_vec(vec![1.0f32, 10.0, 100.0, 1000.0, 1.0, 2.0, 3.0, 4.0], (4, 2));
        let grads = (y * w).sum().backward();
        // example 0: d/dx0 = 100 + 1000, d/dx2 = 1; example 1: 3 + 4, 1
        assert_eq!(grads.get(&x).as_vec(), vec![1100.0, 0.0, 1.0, 7.0, 0.0, 1.0]);
    }

    #[test]
    fn im2col_matches_a_direct_convolution_with_padding() {
        // 1 channel 3x3 input, kernel 2, stride 1, pad 1 -> 4x4 outputs
        let (idx, oh, ow) = im2col_index(Layout::Chw { c: 1, h: 3, w: 3 }, 2, 1, 1);
        assert_eq!((oh, ow), (4, 4));
        // Output (0,0) sees input (-1,-1),(-1,0),(0,-1),(0,0): only (0,0) is inside.
        assert_eq!(&idx[0..4], &[PAD, PAD, PAD, 0]);
        // Output (1,1) sees (0,0),(0,1),(1,0),(1,1).
        let r = (1 * 4 + 1) * 4;
        assert_eq!(&idx[r..r + 4], &[0, 1, 3, 4]);
    }
}

/// tanh as one operation through [`super::elementary::tanh`] (the plain kernels' tanh, so
/// the traced and plain passes agree bit for bit); gradient `1 - y^2`, as dfdx's own tanh.
/// `x` must be contiguous.
pub fn tanh<S: Shape, T: Tape<f32, Dev>>(x: Tensor<S, f32, Dev, T>) -> Tensor<S, f32, Dev, T> {
    pointwise(x, super::elementary::tanh_in_place, |o, y| o * (1.0 - y * y))
}

/// ELU (alpha 1) as one fused operation: `x` where positive, `exp(x) - 1` (as [`super::elementary::expm1`])
/// elsewhere; gradient `1` or `y + 1`. (dfdx 0.13 has no ELU; composing it from relu/exp
/// took seven passes over the data.) `x` must be contiguous.
pub fn elu<S: Shape, T: Tape<f32, Dev>>(x: Tensor<S, f32, Dev, T>) -> Tensor<S, f32, Dev, T> {
    pointwise(x, super::elementary::elu_in_place, |o, y| if y > 0.0 { o } else { o * (y + 1.0) })
}

/// An elementwise function recorded on the tape: `forward` maps the values in place, and
/// the backward pass adds `grad(upstream gradient, output)` to the input's gradient (both
/// activations here have derivatives written in their output).
fn pointwise<S: Shape, T: Tape<f32, Dev>>(
    x: Tensor<S, f32, Dev, T>,
    forward: fn(&mut [f32]),
    grad: fn(f32, f32) -> f32,
) -> Tensor<S, f32, Dev, T> {
    let (x, mut tape) = x.split_tape();
    let mut y: Vec<f32> = x.as_vec();
    forward(&mut y);
    let out = x.device().tensor_from_vec(y, *x.shape());
    let (xc, oc) = (x.clone(), out.clone());
    tape.add_backward_op(move |grads| {
        grads.try_alloc_for(&oc)?;
        let go = grads.get(&oc).as_vec();
        let y = oc.as_vec();
        let gi = grads.get_or_alloc_mut(&xc)?;
        for ((g, o), yv) in gi.iter_mut().zip(go).zip(y) {
            *g += grad(o, yv);
        }
        Ok(())
    });
    out.put_tape(tape)
}
