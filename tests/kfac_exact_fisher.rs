//! Where theory says K-FAC is exact, it must equal the Fisher computed densely by brute
//! force. For one linear layer `s = W a` with a unit-variance Gaussian output model, the
//! output Fisher `E_y[(s - y)(s - y)^T] = I` does not depend on the input, so the Fisher
//! of `vec(W)` is exactly `E_a[a a^T] (x) I`. The expectation over outputs is taken exactly
//! with the symmetric quadrature `y - s in {+-sqrt(d) e_i}` (2d equally weighted points,
//! whose second moment is exactly I).

use dfdx::prelude::*;

use acktr::kfac::{KfacConfig, LayerGrads};
use acktr::nets::cpu::SeqNet;
use acktr::nets::LayerSpec;
use acktr::nets::cpu::Dev;

#[test]
fn kfac_block_equals_the_exact_fisher_of_a_gaussian_linear_layer() {
    let (inp, out, batch) = (3usize, 2usize, 5usize);
    let w: Vec<f32> = vec![0.3, -0.7, 0.2, 0.5, 0.1, -0.4];
    let b: Vec<f32> = vec![0.05, -0.1];
    let x: Vec<f32> = vec![0.9, -1.2, 0.4, 0.1, 0.8, -0.3, -0.5, 0.2, 1.1, 1.4, -0.6, 0.0, -0.2, -0.9, 0.7];
    let mut net = SeqNet::new(&[inp], &[LayerSpec::Linear { input: inp, output: out, activation: None }], &[(w, b)]).unwrap();
    let dev: Dev = Default::default();
    let q = 2 * out; // quadrature points per example
    let deltas: Vec<Vec<f32>> = (0..out)
        .flat_map(|i| {
            [1.0f32, -1.0].map(|sign| {
                let mut d = vec![0.0; out];
                d[i] = sign * (out as f32).sqrt();
                d
            })
        })
        .collect();

    // K-FAC: every example replicated once per quadrature point, each row carrying its
    // Fisher-loss gradient dL_F/ds = delta / N (a mean over the N rows).
    let n = batch * q;
    let mut xr = Vec::new();
    let mut gr = Vec::new();
    for e in 0..batch {
        for d in &deltas {
            xr.extend_from_slice(&x[e * inp..(e + 1) * inp]);
            gr.extend(d.iter().map(|v| v / n as f32));
        }
    }
    let mut trace = Vec::new();
    let y = net.forward(dev.tensor_from_vec(xr, (n, inp)).retaped::<OwnedTape<f32, Dev>>(), Some(&mut trace));
    let mut grads = (y * dev.tensor_from_vec(gr, (n, out))).sum().backward();
    let stats: Vec<_> = trace.into_iter().map(|t| t.stats(&mut grads)).collect();
    let zero = LayerGrads { weight: Some(vec![0.0; out * inp]), bias: Some(vec![0.0; out]) };
    let step = KfacConfig::default().build().step(&stats, &[zero], 0.1);
    let (a, g) = (&step.blocks[0].a, &step.blocks[0].g);

    // Brute force: per (example, output) gradient of -log p by autodiff, dense outer products.
    let dim = out * inp;
    let mut fisher = vec![0.0f64; dim * dim];
    for e in 0..batch {
        for d in &deltas {
            let xe = dev.tensor_from_vec(x[e * inp..(e + 1) * inp].to_vec(), (1, inp));
            let s = net.forward(xe.retaped::<OwnedTape<f32, Dev>>(), None);
            // -log N(y; s, I) = 0.5 |s - y|^2 + c with y = s - delta: gradient delta.
            let mut gw = (s * dev.tensor_from_vec(d.clone(), (1, out))).sum().backward();
            let (wt, _) = net.layer_params_mut().into_iter().next().unwrap();
            let v: Vec<f64> = wt.grad_f64(&mut gw);
            for i in 0..dim {
                for j in 0..dim {
                    fisher[i * dim + j] += v[i] * v[j] / (batch * q) as f64;
                }
            }
        }
    }
    // vec(W) is row-major (out, in): F[(o,i),(p,j)] = G[o,p] A[i,j].
    let mut worst = 0.0f64;
    for o in 0..out {
        for i in 0..inp {
            for p in 0..out {
                for j in 0..inp {
                    let kron = g[(o, p)] * a[(i, j)];
                    let exact = fisher[(o * inp + i) * dim + p * inp + j];
                    worst = worst.max((kron - exact).abs());
                }
            }
        }
    }
    let scale = fisher.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(worst <= 1e-5 * scale, "K-FAC block differs from the exact Fisher by {worst:e} (scale {scale:e})");
    // And G is the identity, as theory says.
    for o in 0..out {
        for p in 0..out {
            let e = if o == p { 1.0 } else { 0.0 };
            assert!((g[(o, p)] - e).abs() < 1e-5, "G[{o},{p}] = {}", g[(o, p)]);
        }
    }
}
