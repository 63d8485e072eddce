//! Plain float32 kernels for a whole [`super::SeqNet`] torso with convolutions (the conv
//! stacks of paper appendix A.1): a forward pass that keeps what the backward passes and
//! K-FAC need, once, in buffers reused from update to update, and a backward pass that
//! returns each layer's pre-activation gradient (K-FAC's `g`) and, when asked, its weight
//! and bias gradients. No tape, no tensors: row-major slices and the `gemm` crate, through
//! the three products of [`super::dense`].
//!
//! A convolution is a linear map on patches (im2col, patches ordered (channel, kh, kw) as
//! PyTorch's `weight.view(out, -1)`): `S = P W^T + b` with `P` the `(B T) x (C k k)` patch
//! matrix of [`super::ops::im2col_index`], one row per example and output position, and its
//! output stays position-major `(B, T, out)` for the next layer's gather (as the dfdx
//! engine's [`super::SeqNet::forward`]). Backward: `dW = G^T P`, `db = sum_rows G`,
//! `dP = G W`, then `dP` scattered back onto the input (col2im, the adjoint of the gather).
//! The first layer's input gradient is never formed.
//!
//! The forward pass is the dfdx engine's bit for bit (the same gather, the same `gemm` call
//! with dfdx's strides, the bias and activation element by element: tested below), so
//! acting through it leaves every rollout unchanged. The backward pass computes dfdx's
//! quantities in another order of float32 operations and agrees to float32 rounding.
//!
//! Products run on `threads` threads (`gemm`'s own parallelism splits the output, not the
//! sums, so every thread count gives the same bits: tested below).

use crate::nets::Activation;

use super::dense::DenseLayer;
use super::ops::PAD;

/// One layer of a plain torso, borrowing the network's parameters and indices.
#[derive(Debug, Clone, Copy)]
pub enum PlainLayer<'a> {
    /// `s = x W^T + b`, one row per example.
    Linear(DenseLayer<'a>),
    /// A convolution: gather `index` (per example, `spatial` rows of `layer.input`) from rows
    /// of `in_stride` values (`runs`: the same index as [`runs_of`] compresses it), then a
    /// linear map.
    Conv { layer: DenseLayer<'a>, index: &'a [u32], runs: &'a [Run], in_stride: usize, spatial: usize },
    /// A reordering of each example's `in_stride` values by `index` (position-major to
    /// PyTorch's C-order flatten).
    Flatten { index: &'a [u32], in_stride: usize },
}

impl PlainLayer<'_> {
    /// The affine map, for layers that have one.
    pub fn dense(&self) -> Option<&DenseLayer<'_>> {
        match self {
            PlainLayer::Linear(l) | PlainLayer::Conv { layer: l, .. } => Some(l),
            PlainLayer::Flatten { .. } => None,
        }
    }
}

/// What one layer keeps from the forward pass: its input rows (patches for a convolution:
/// K-FAC's `a`) and its output after the activation (from which `act'(s)` is read).
#[derive(Debug, Clone, Default)]
pub struct PlainCache {
    /// Input rows, `rows x in` (`rows = batch * spatial`); empty for a flatten.
    pub a: Vec<f32>,
    /// Output `act(s)`, `rows x out` (a flatten's reordered values).
    pub z: Vec<f32>,
    /// Rows of `a` and `z`.
    pub rows: usize,
}

/// Buffers reused from pass to pass: one cache per layer, and the backward pass's working
/// gradients.
#[derive(Debug, Default)]
pub struct PlainWork {
    pub caches: Vec<PlainCache>,
    pub bufs: PlainBuffers,
}

impl PlainWork {
    /// Empties the caches (their buffers are kept).
    pub fn clear(&mut self) {
        for c in &mut self.caches {
            c.a.clear();
            c.z.clear();
            c.rows = 0;
        }
    }
}

/// The backward pass's working gradients: the gradient flowing down, and the patch
/// gradient of a convolution.
#[derive(Debug, Default)]
pub struct PlainBuffers {
    grad: Vec<f32>,
    grad_next: Vec<f32>,
    patch_grad: Vec<f32>,
}

/// One layer's gradients from [`backward`] (empty vectors for what was not asked for, and
/// for a flatten).
#[derive(Debug, Clone, Default)]
pub struct PlainGrads {
    /// `dL/ds`, `rows x out`.
    pub g: Vec<f32>,
    /// `dL/dW`, `out x in` (when `params`).
    pub weight: Vec<f32>,
    /// `dL/db` (when `params`).
    pub bias: Vec<f32>,
}

/// Resizes `v` to `n` values without keeping (or zeroing) what was there when it grows in
/// place; callers overwrite every value.
fn sized(v: &mut Vec<f32>, n: usize) {
    v.clear();
    v.resize(n, 0.0);
}

/// `gemm` products of this module on `threads` threads.
pub(crate) fn parallelism(threads: usize) -> gemm::Parallelism {
    if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    }
}

/// A stretch of a gather index that reads consecutive sources: `out[dst + i] = x[src + i]`
/// for `i < len` (zeros where `src` is [`PAD`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub dst: u32,
    pub src: u32,
    pub len: u32,
}

/// `index` as runs of consecutive sources (and of padding). A convolution on a channel-major
/// image (the first layer of an Atari net: 4x84x84 frames) reads its patches in runs of the
/// kernel's width, so its gather copies slices instead of single values.
pub fn runs_of(index: &[u32]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (k, &src) in index.iter().enumerate() {
        if let Some(r) = runs.last_mut() {
            let next = if r.src == PAD { PAD } else { r.src + r.len };
            if src == next {
                r.len += 1;
                continue;
            }
        }
        runs.push(Run { dst: k as u32, src, len: 1 });
    }
    runs
}

/// [`gather_into`] through `runs` (the runs of `index`) when they are long enough to pay:
/// the same values.
fn gather_runs_into(x: &[f32], batch: usize, in_stride: usize, index: &[u32], runs: &[Run], out: &mut Vec<f32>) {
    if runs.len() * 4 > index.len() {
        return gather_into(x, batch, in_stride, index, out);
    }
    let per = index.len();
    let start = out.len();
    out.resize(start + batch * per, 0.0);
    for (b, dst) in out[start..].chunks_exact_mut(per).enumerate() {
        let src = &x[b * in_stride..(b + 1) * in_stride];
        for r in runs {
            let (d, n) = (r.dst as usize, r.len as usize);
            if r.src == PAD {
                dst[d..d + n].fill(0.0);
            } else {
                dst[d..d + n].copy_from_slice(&src[r.src as usize..r.src as usize + n]);
            }
        }
    }
}

/// Appends `out[b, k] = x[b * in_stride + index[k]]` (0 for [`PAD`]) to `out`, `batch`
/// examples.
fn gather_into(x: &[f32], batch: usize, in_stride: usize, index: &[u32], out: &mut Vec<f32>) {
    let per = index.len();
    let start = out.len();
    out.resize(start + batch * per, 0.0);
    for (b, dst) in out[start..].chunks_exact_mut(per).enumerate() {
        let src = &x[b * in_stride..(b + 1) * in_stride];
        for (o, &k) in dst.iter_mut().zip(index) {
            *o = if k == PAD { 0.0 } else { src[k as usize] };
        }
    }
}

/// The adjoint of [`gather_into`]: `out[b * in_stride + index[k]] += g[b, k]`.
fn scatter_into(g: &[f32], batch: usize, in_stride: usize, index: &[u32], out: &mut Vec<f32>) {
    let per = index.len();
    sized(out, batch * in_stride);
    for (b, src) in g.chunks_exact(per).enumerate().take(batch) {
        let dst = &mut out[b * in_stride..(b + 1) * in_stride];
        for (v, &k) in src.iter().zip(index) {
            if k != PAD {
                dst[k as usize] += v;
            }
        }
    }
}

/// `s += b` per row, then `act` in place (dfdx's scalar functions: see [`super::dense`]).
fn bias_and_activation(s: &mut [f32], b: &[f32], act: Option<Activation>) {
    for row in s.chunks_exact_mut(b.len()) {
        for (v, b) in row.iter_mut().zip(b) {
            *v += b;
        }
    }
    match act {
        None => {}
        Some(Activation::Relu) => s.iter_mut().for_each(|x| *x = if *x > 0.0 { *x } else { 0.0 }),
        Some(Activation::Tanh) => super::elementary::tanh_in_place(s),
        Some(Activation::Elu) => super::elementary::elu_in_place(s),
    }
}

/// `g *= act'(s)`, read from the output `z = act(s)` (relu: 1 where `z > 0`; tanh:
/// `1 - z^2`; ELU: 1 where `z > 0`, else `z + 1`).
fn times_derivative(g: &mut [f32], z: &[f32], act: Option<Activation>) {
    match act {
        None => {}
        Some(Activation::Relu) => g.iter_mut().zip(z).for_each(|(g, &z)| *g = if z > 0.0 { *g } else { 0.0 }),
        Some(Activation::Tanh) => g.iter_mut().zip(z).for_each(|(g, &z)| *g *= 1.0 - z * z),
        Some(Activation::Elu) => g.iter_mut().zip(z).for_each(|(g, &z)| *g *= if z > 0.0 { 1.0 } else { z + 1.0 }),
    }
}

/// The forward pass of `layers` on `batch` rows of `x`, filling `work.caches` (one per
/// layer); returns the last layer's output (`work.caches.last().z`).
pub fn forward<'w>(layers: &[PlainLayer], x: &[f32], batch: usize, work: &'w mut PlainWork, threads: usize) -> &'w [f32] {
    work.clear();
    forward_append(layers, x, batch, work, threads)
}

/// [`forward`] on `batch` more rows: appends each layer's rows to `work.caches` (so the
/// caches of several calls are those of one call on all their rows, in order: every row's
/// products are the same bits whatever the number of rows, tested below); returns the last
/// layer's output for these rows.
pub fn forward_append<'w>(layers: &[PlainLayer], x: &[f32], batch: usize, work: &'w mut PlainWork, threads: usize) -> &'w [f32] {
    work.caches.resize_with(layers.len(), PlainCache::default);
    let mut input_start = 0;
    for (k, l) in layers.iter().enumerate() {
        let (done, rest) = work.caches.split_at_mut(k);
        let input: &[f32] = if k == 0 { x } else { &done[k - 1].z[input_start..] };
        let c = &mut rest[0];
        input_start = c.z.len();
        match l {
            PlainLayer::Linear(d) | PlainLayer::Conv { layer: d, .. } => {
                let a_start = c.a.len();
                let rows = match l {
                    PlainLayer::Conv { index, runs, in_stride, spatial, .. } => {
                        gather_runs_into(input, batch, *in_stride, index, runs, &mut c.a);
                        batch * spatial
                    }
                    _ => {
                        c.a.extend_from_slice(&input[..batch * d.input]);
                        batch
                    }
                };
                c.rows += rows;
                c.z.resize(input_start + rows * d.output, 0.0);
                let z = &mut c.z[input_start..];
                super::dense::matmul_nt_par(&c.a[a_start..], rows, d.input, d.w, d.output, z, parallelism(threads));
                bias_and_activation(z, d.b, d.act);
            }
            PlainLayer::Flatten { index, in_stride } => {
                c.a.clear();
                gather_into(input, batch, *in_stride, index, &mut c.z);
                c.rows += batch;
            }
        }
    }
    &work.caches.last().expect("a torso has layers").z[input_start..]
}

/// Back-propagates `grad_out` (`batch x out` of the last layer) through a [`forward`] pass
/// whose caches are `caches`: per layer (in order) `dL/ds` and, with `params`, `dL/dW` and
/// `dL/db`; `dL/dx` of the network's input is not formed. The caches are only read, so
/// several backward passes (the loss's and the Fisher loss's) share one forward pass.
pub fn backward(layers: &[PlainLayer], caches: &[PlainCache], bufs: &mut PlainBuffers, grad_out: &[f32], batch: usize, params: bool, threads: usize) -> Vec<PlainGrads> {
    assert_eq!(layers.len(), caches.len(), "backward: one cache per layer");
    let par = parallelism(threads);
    let mut out = vec![PlainGrads::default(); layers.len()];
    let PlainBuffers { grad, grad_next, patch_grad } = bufs;
    grad.clear();
    grad.extend_from_slice(grad_out);
    for (k, l) in layers.iter().enumerate().rev() {
        let c = &caches[k];
        match l {
            PlainLayer::Flatten { index, in_stride } => {
                scatter_into(grad, batch, *in_stride, index, grad_next);
                std::mem::swap(grad, grad_next);
            }
            PlainLayer::Linear(d) | PlainLayer::Conv { layer: d, .. } => {
                let rows = c.rows;
                assert_eq!(grad.len(), rows * d.output, "backward: gradient rows");
                times_derivative(grad, &c.z, d.act);
                if params {
                    let mut gw = vec![0.0f32; d.output * d.input];
                    super::dense::matmul_tn_par(grad, &c.a, rows, d.output, d.input, &mut gw, par);
                    let mut gb = vec![0.0f32; d.output];
                    for row in grad.chunks_exact(d.output) {
                        for (s, v) in gb.iter_mut().zip(row) {
                            *s += v;
                        }
                    }
                    out[k].weight = gw;
                    out[k].bias = gb;
                }
                if k > 0 {
                    match l {
                        PlainLayer::Conv { index, in_stride, .. } => {
                            sized(patch_grad, rows * d.input);
                            super::dense::matmul_nn_par(grad, rows, d.output, d.w, d.input, patch_grad, par);
                            scatter_into(patch_grad, batch, *in_stride, index, grad_next);
                        }
                        _ => {
                            sized(grad_next, rows * d.input);
                            super::dense::matmul_nn_par(grad, rows, d.output, d.w, d.input, grad_next, par);
                        }
                    }
                    out[k].g = std::mem::replace(grad, std::mem::take(grad_next));
                } else {
                    out[k].g = std::mem::take(grad);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{SeqNet, Dev};
    use super::*;
    use crate::nets::LayerSpec;
    use dfdx::prelude::*;
    use rand::{Rng, SeedableRng};

    fn rand_vec(rng: &mut impl Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    /// A small conv torso: 3x9x9 input, conv 4 3x3/2 pad 1, conv 5 2x2/1, flatten, fc 6.
    fn torso(act: Activation, rng: &mut impl Rng) -> SeqNet {
        let a = Some(act);
        let specs = [
            LayerSpec::Conv2d { in_channels: 3, out_channels: 4, kernel: 3, stride: 2, padding: 1, activation: a },
            LayerSpec::Conv2d { in_channels: 4, out_channels: 5, kernel: 2, stride: 1, padding: 0, activation: a },
            LayerSpec::Flatten,
            LayerSpec::Linear { input: 5 * 4 * 4, output: 6, activation: a },
        ];
        let params = vec![
            (rand_vec(rng, 4 * 27), rand_vec(rng, 4)),
            (rand_vec(rng, 5 * 16), rand_vec(rng, 5)),
            (rand_vec(rng, 6 * 80), rand_vec(rng, 6)),
        ];
        SeqNet::new(&[3, 9, 9], &specs, &params).unwrap()
    }

    #[test]
    fn the_forward_pass_is_the_dfdx_engines_bit_for_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for act in [Activation::Relu, Activation::Tanh, Activation::Elu] {
            let net = torso(act, &mut rng);
            for batch in [1usize, 5] {
                let x = rand_vec(&mut rng, batch * 243);
                let want = net.forward(Dev::default().tensor_from_vec(x.clone(), (batch, 243)), None).as_vec();
                let mut work = PlainWork::default();
                let got = forward(&net.plain_layers(), &x, batch, &mut work, 1).to_vec();
                assert_eq!(got, want, "{act:?}, batch {batch}");
            }
        }
    }

    #[test]
    fn the_backward_pass_matches_the_dfdx_tape() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        for act in [Activation::Relu, Activation::Tanh] {
            let net = torso(act, &mut rng);
            let batch = 7;
            let x = rand_vec(&mut rng, batch * 243);
            let gy = rand_vec(&mut rng, batch * 6);
            let dev = Dev::default();
            let mut trace = Vec::new();
            let y = net.forward(dev.tensor_from_vec(x.clone(), (batch, 243)).retaped::<OwnedTape<f32, _>>(), Some(&mut trace));
            let mut grads = (y * dev.tensor_from_vec(gy.clone(), (batch, 6))).sum().backward();
            let params = net.layer_params();
            let layers = net.plain_layers();
            let mut work = PlainWork::default();
            forward(&layers, &x, batch, &mut work, 1);
            let got: Vec<PlainGrads> = backward(&layers, &work.caches, &mut work.bufs, &gy, batch, true, 1).into_iter().filter(|g| !g.g.is_empty()).collect();
            let close = |a: &[f32], b: &[f32], what: &str| {
                assert_eq!(a.len(), b.len(), "{what}");
                for (x, y) in a.iter().zip(b) {
                    assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{what}: {x} vs {y}");
                }
            };
            assert_eq!(got.len(), 3);
            for (k, (t, g)) in trace.into_iter().zip(&got).enumerate() {
                let (w, b) = params[k];
                close(&g.weight, &w.grad(&mut grads), "weight");
                close(&g.bias, &b.grad(&mut grads), "bias");
                close(&g.g, &t.stats(&mut grads).g, "pre-activation");
            }
        }
    }

    #[test]
    fn gathering_by_runs_gives_the_values_of_the_index() {
        use super::super::ops::{im2col_index, Layout};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
        // An 8x8 stride-4 kernel on a channel-major image (the Atari net's first layer, in
        // small), with and without padding: runs of 8 and runs of padding.
        for (input, k, stride, pad) in [(Layout::Chw { c: 2, h: 20, w: 20 }, 8, 4, 0), (Layout::Chw { c: 2, h: 20, w: 20 }, 8, 4, 3)] {
            let (index, _, _) = im2col_index(input, k, stride, pad);
            let runs = runs_of(&index);
            assert!(runs.len() * 4 <= index.len(), "the runs path is taken");
            let expanded: Vec<u32> = runs.iter().flat_map(|r| (0..r.len).map(move |i| if r.src == PAD { PAD } else { r.src + i })).collect();
            assert_eq!(&expanded, &*index, "the runs are the index");
            let (batch, stride_in) = (3, 2 * 20 * 20);
            let x = rand_vec(&mut rng, batch * stride_in);
            let (mut by_value, mut by_runs) = (Vec::new(), Vec::new());
            gather_into(&x, batch, stride_in, &index, &mut by_value);
            gather_runs_into(&x, batch, stride_in, &index, &runs, &mut by_runs);
            assert_eq!(by_value, by_runs, "pad {pad}");
        }
    }

    #[test]
    fn forward_passes_appended_row_by_row_are_one_pass_on_all_rows() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
        let net = torso(Activation::Relu, &mut rng);
        let layers = net.plain_layers();
        let (chunk, chunks) = (4, 5);
        let x = rand_vec(&mut rng, chunk * chunks * 243);
        let mut whole = PlainWork::default();
        let y = forward(&layers, &x, chunk * chunks, &mut whole, 1).to_vec();
        let mut parts = PlainWork::default();
        // a stale pass first: `forward` starts afresh
        forward(&layers, &x[..243], 1, &mut parts, 1);
        let mut ys = forward(&layers, &x[..chunk * 243], chunk, &mut parts, 1).to_vec();
        for c in 1..chunks {
            ys.extend_from_slice(forward_append(&layers, &x[c * chunk * 243..(c + 1) * chunk * 243], chunk, &mut parts, 2));
        }
        assert_eq!(ys, y);
        for (a, b) in whole.caches.iter().zip(&parts.caches) {
            assert_eq!((a.rows, &a.a, &a.z), (b.rows, &b.a, &b.z));
        }
    }

    #[test]
    fn every_thread_count_gives_the_same_bits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let net = torso(Activation::Relu, &mut rng);
        let batch = 40;
        let x = rand_vec(&mut rng, batch * 243);
        let gy = rand_vec(&mut rng, batch * 6);
        let layers = net.plain_layers();
        let run = |threads: usize| {
            let mut work = PlainWork::default();
            let y = forward(&layers, &x, batch, &mut work, threads).to_vec();
            let g = backward(&layers, &work.caches, &mut work.bufs, &gy, batch, true, threads);
            (y, g.into_iter().map(|g| (g.g, g.weight, g.bias)).collect::<Vec<_>>())
        };
        let one = run(1);
        for t in [2, 3] {
            assert!(one == run(t), "{t} threads");
        }
    }
}
