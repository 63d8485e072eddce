//! Plain float32 kernels for all-linear networks (the 64-64 MLPs of paper appendix A.2): a
//! forward pass, and a backward pass that returns each layer's pre-activation gradients
//! (K-FAC's `g`) and, when asked, its weight and bias gradients. No tape, no tensors:
//! row-major slices and the `gemm` crate (README "Performance").
//!
//! The forward pass is the dfdx engine's bit for bit: the same `gemm` 0.15.5 call with the
//! same strides as dfdx 0.13's CPU matmul (`tensor_ops/matmul/cpu_kernel.rs`), then the
//! bias added and the activation applied element by element with the same scalar
//! functions ([`super::elementary::tanh`], ELU through [`super::elementary::expm1`], as [`super::ops::elu`]). So acting through
//! these kernels leaves every rollout unchanged (tested below and by the pinned snapshots).
//! The backward pass computes the same quantities as dfdx's tape in a different order of
//! float32 operations; it agrees to float32 rounding (tested below), not bit for bit.

use crate::nets::Activation;

/// One linear layer `s = x W^T + b` followed by an optional nonlinearity, as borrowed
/// slices: `w` is `out x in` row-major.
#[derive(Debug, Clone, Copy)]
pub struct DenseLayer<'a> {
    pub w: &'a [f32],
    pub b: &'a [f32],
    pub input: usize,
    pub output: usize,
    pub act: Option<Activation>,
}

/// What the backward pass needs of one layer: its input rows and `act'(s)`.
#[derive(Debug, Clone, Default)]
pub struct DenseCache {
    /// The layer's input, `rows x in` (K-FAC's `a`).
    pub a: Vec<f32>,
    /// `act'(s)`, `rows x out` (empty for a layer without activation: all ones).
    pub deriv: Vec<f32>,
}

/// `dst (m x n, row-major) = lhs (m x k) rhs (k x n)`, each operand given by its row and
/// column strides, on one thread: the one `gemm` call every kernel below makes. The caller
/// bounds every access (asserts in each kernel).
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_rm(m: usize, n: usize, k: usize, dst: &mut [f32], lhs: &[f32], lhs_rs: usize, lhs_cs: usize, rhs: &[f32], rhs_rs: usize, rhs_cs: usize, par: gemm::Parallelism) {
    gemm::gemm(
        m,
        n,
        k,
        dst.as_mut_ptr(),
        1,
        n as isize,
        false,
        lhs.as_ptr(),
        lhs_cs as isize,
        lhs_rs as isize,
        rhs.as_ptr(),
        rhs_cs as isize,
        rhs_rs as isize,
        0.0,
        1.0,
        false,
        false,
        false,
        par,
    )
}

/// `out = x W^T` for `x: rows x k` and `w: n x k`, both row-major; `out: rows x n`.
/// dfdx's forward matmul of `x` by the permuted weight, argument for argument.
pub fn matmul_nt(x: &[f32], rows: usize, k: usize, w: &[f32], n: usize, out: &mut [f32]) {
    matmul_nt_par(x, rows, k, w, n, out, gemm::Parallelism::None)
}

/// [`matmul_nt`] on `par`'s threads (`gemm` splits the output among them, so the bits do
/// not depend on the thread count).
pub fn matmul_nt_par(x: &[f32], rows: usize, k: usize, w: &[f32], n: usize, out: &mut [f32], par: gemm::Parallelism) {
    assert!(x.len() >= rows * k && w.len() >= n * k && out.len() >= rows * n, "matmul_nt: shapes");
    // SAFETY: bounded by the assert: lhs rows x k row-major, rhs w^T (k x n: rs 1, cs k).
    unsafe { gemm_rm(rows, n, k, out, x, k, 1, w, 1, k, par) }
}

/// `out = g W` for `g: rows x n` and `w: n x k` row-major; `out: rows x k`.
pub fn matmul_nn(g: &[f32], rows: usize, n: usize, w: &[f32], k: usize, out: &mut [f32]) {
    matmul_nn_par(g, rows, n, w, k, out, gemm::Parallelism::None)
}

/// [`matmul_nn`] on `par`'s threads.
pub fn matmul_nn_par(g: &[f32], rows: usize, n: usize, w: &[f32], k: usize, out: &mut [f32], par: gemm::Parallelism) {
    assert!(g.len() >= rows * n && w.len() >= n * k && out.len() >= rows * k, "matmul_nn: shapes");
    // SAFETY: bounded by the assert: lhs rows x n, rhs n x k, both row-major.
    unsafe { gemm_rm(rows, k, n, out, g, n, 1, w, k, 1, par) }
}

/// `out = g^T a` for `g: rows x n` and `a: rows x k` row-major; `out: n x k` (a weight
/// gradient).
pub fn matmul_tn(g: &[f32], a: &[f32], rows: usize, n: usize, k: usize, out: &mut [f32]) {
    matmul_tn_par(g, a, rows, n, k, out, gemm::Parallelism::None)
}

/// [`matmul_tn`] on `par`'s threads.
pub fn matmul_tn_par(g: &[f32], a: &[f32], rows: usize, n: usize, k: usize, out: &mut [f32], par: gemm::Parallelism) {
    assert!(g.len() >= rows * n && a.len() >= rows * k && out.len() >= n * k, "matmul_tn: shapes");
    // SAFETY: bounded by the assert: lhs g^T (n x rows: rs 1, cs n), rhs a rows x k row-major.
    unsafe { gemm_rm(n, k, rows, out, g, 1, n, a, k, 1, par) }
}

/// Applies `act` in place to pre-activations `s`, returning `act'(s)` when `deriv`
/// (tanh: `1 - z^2`; relu: 1 where `s > 0`; ELU: 1 or `z + 1`, as the dfdx engine's
/// backward passes compute them).
fn activate_in_place(act: Option<Activation>, s: &mut [f32], deriv: bool) -> Vec<f32> {
    let Some(act) = act else {
        return Vec::new();
    };
    let mut d = if deriv { vec![0.0f32; s.len()] } else { Vec::new() };
    match act {
        Activation::Tanh => {
            super::elementary::tanh_in_place(s);
            for (d, z) in d.iter_mut().zip(s.iter()) {
                *d = 1.0 - z * z;
            }
        }
        Activation::Relu => {
            for (i, x) in s.iter_mut().enumerate() {
                let pos = *x > 0.0;
                *x = if pos { *x } else { 0.0 };
                if deriv {
                    d[i] = if pos { 1.0 } else { 0.0 };
                }
            }
        }
        Activation::Elu => {
            super::elementary::elu_in_place(s);
            for (d, z) in d.iter_mut().zip(s.iter()) {
                *d = if *z > 0.0 { 1.0 } else { z + 1.0 };
            }
        }
    }
    d
}

/// The forward pass of `layers` on `rows` rows of `x`; with `caches`, records each layer's
/// input and `act'(s)` for [`backward`].
pub fn forward(layers: &[DenseLayer], x: &[f32], rows: usize, mut caches: Option<&mut Vec<DenseCache>>) -> Vec<f32> {
    let mut h = x.to_vec();
    for l in layers {
        let mut s = vec![0.0f32; rows * l.output];
        matmul_nt(&h, rows, l.input, l.w, l.output, &mut s);
        for row in s.chunks_exact_mut(l.output) {
            for (v, b) in row.iter_mut().zip(l.b) {
                *v += b;
            }
        }
        let deriv = activate_in_place(l.act, &mut s, caches.is_some());
        if let Some(c) = caches.as_deref_mut() {
            c.push(DenseCache { a: std::mem::replace(&mut h, s), deriv });
        } else {
            h = s;
        }
    }
    h
}

/// One layer's gradients from [`backward`].
#[derive(Debug, Clone, Default)]
pub struct DenseGrads {
    /// `dL/ds`, `rows x out` (K-FAC's `g`).
    pub g: Vec<f32>,
    /// `dL/dW` (`out x in`) and `dL/db`, when asked for.
    pub weight: Option<Vec<f32>>,
    pub bias: Option<Vec<f32>>,
}

/// Back-propagates `dL/dy` (`rows x out` of the last layer) through a [`forward`] pass
/// with caches; per layer (in order) `dL/ds` and, with `params`, `dL/dW` and `dL/db`.
pub fn backward(layers: &[DenseLayer], caches: &[DenseCache], grad_out: Vec<f32>, rows: usize, params: bool) -> Vec<DenseGrads> {
    assert_eq!(layers.len(), caches.len(), "backward: one cache per layer");
    let mut out = vec![DenseGrads::default(); layers.len()];
    let mut g = grad_out;
    for (k, (l, c)) in layers.iter().zip(caches).enumerate().rev() {
        if !c.deriv.is_empty() {
            for (gv, d) in g.iter_mut().zip(&c.deriv) {
                *gv *= d;
            }
        }
        if params {
            let mut gw = vec![0.0f32; l.output * l.input];
            matmul_tn(&g, &c.a, rows, l.output, l.input, &mut gw);
            let mut gb = vec![0.0f32; l.output];
            for row in g.chunks_exact(l.output) {
                for (s, v) in gb.iter_mut().zip(row) {
                    *s += v;
                }
            }
            out[k].weight = Some(gw);
            out[k].bias = Some(gb);
        }
        let next = if k > 0 {
            let mut ga = vec![0.0f32; rows * l.input];
            matmul_nn(&g, rows, l.output, l.w, l.input, &mut ga);
            ga
        } else {
            Vec::new()
        };
        out[k].g = std::mem::replace(&mut g, next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::prelude::*;
    use rand::{Rng, SeedableRng};

    fn rand_vec(rng: &mut impl Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    #[test]
    fn the_forward_pass_is_the_dfdx_engines_bit_for_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for act in [Activation::Tanh, Activation::Relu, Activation::Elu] {
            for rows in [1usize, 7, 300] {
                let (din, dh) = (17, 64);
                let (w1, b1, w2, b2) = (rand_vec(&mut rng, dh * din), rand_vec(&mut rng, dh), rand_vec(&mut rng, 3 * dh), rand_vec(&mut rng, 3));
                let x = rand_vec(&mut rng, rows * din);
                let specs = [
                    crate::nets::LayerSpec::Linear { input: din, output: dh, activation: Some(act) },
                    crate::nets::LayerSpec::Linear { input: dh, output: 3, activation: None },
                ];
                let net = super::super::SeqNet::new(&[din], &specs, &[(w1.clone(), b1.clone()), (w2.clone(), b2.clone())]).unwrap();
                let dev = super::super::Dev::default();
                let want = net.forward(dev.tensor_from_vec(x.clone(), (rows, din)), None).as_vec();
                let layers = [
                    DenseLayer { w: &w1, b: &b1, input: din, output: dh, act: Some(act) },
                    DenseLayer { w: &w2, b: &b2, input: dh, output: 3, act: None },
                ];
                assert_eq!(forward(&layers, &x, rows, None), want, "{act:?}, {rows} rows");
            }
        }
    }

    #[test]
    fn the_backward_pass_matches_the_dfdx_tape() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let (rows, din, dh) = (50, 9, 16);
        for act in [Activation::Tanh, Activation::Elu] {
            let (w1, b1, w2, b2) = (rand_vec(&mut rng, dh * din), rand_vec(&mut rng, dh), rand_vec(&mut rng, 2 * dh), rand_vec(&mut rng, 2));
            let x = rand_vec(&mut rng, rows * din);
            let gy = rand_vec(&mut rng, rows * 2);
            let specs = [
                crate::nets::LayerSpec::Linear { input: din, output: dh, activation: Some(act) },
                crate::nets::LayerSpec::Linear { input: dh, output: 2, activation: None },
            ];
            let net = super::super::SeqNet::new(&[din], &specs, &[(w1.clone(), b1.clone()), (w2.clone(), b2.clone())]).unwrap();
            let dev = super::super::Dev::default();
            let mut trace = Vec::new();
            let y = net.forward(dev.tensor_from_vec(x.clone(), (rows, din)).retaped::<OwnedTape<f32, _>>(), Some(&mut trace));
            let loss = (y * dev.tensor_from_vec(gy.clone(), (rows, 2))).sum();
            let mut grads = loss.backward();
            let params = net.layer_params();
            let layers = [
                DenseLayer { w: &w1, b: &b1, input: din, output: dh, act: Some(act) },
                DenseLayer { w: &w2, b: &b2, input: dh, output: 2, act: None },
            ];
            let mut caches = Vec::new();
            forward(&layers, &x, rows, Some(&mut caches));
            let got = backward(&layers, &caches, gy, rows, true);
            let close = |a: &[f32], b: &[f32], what: &str| {
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(b) {
                    assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{what}: {x} vs {y}");
                }
            };
            for (k, (t, g)) in trace.into_iter().zip(&got).enumerate() {
                let (w, b) = params[k];
                close(g.weight.as_ref().unwrap(), &w.grad(&mut grads), "weight");
                close(g.bias.as_ref().unwrap(), &b.grad(&mut grads), "bias");
                close(&g.g, &t.stats(&mut grads).g, "pre-activation");
            }
        }
    }
}
