//! Weight initialisations. Orthogonal initialisation, as openai/baselines `a2c/utils.py::ortho_init` (and
//! ikostrikov's `init(module, nn.init.orthogonal_, ...)`): a Gaussian matrix made
//! orthogonal, times a gain. Baselines takes the SVD's `u` or `v`; we take the Q factor of
//! a QR decomposition with the signs of R's diagonal folded in, which draws from the same
//! (Haar) distribution. The random stream is ours and seeded.

use faer::Mat;
use rand::Rng;
use rand_distr::StandardNormal;

/// A `rows x cols` matrix (row-major) with orthonormal rows or columns (whichever are
/// fewer), scaled by `gain`.
pub fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut impl Rng) -> Vec<f32> {
    // Work on the tall orientation: r >= c.
    let (r, c, transpose) = if rows >= cols { (rows, cols, false) } else { (cols, rows, true) };
    let a = Mat::<f64>::from_fn(r, c, |_, _| rng.sample::<f64, _>(StandardNormal));
    let qr = a.qr();
    let q = qr.compute_thin_Q();
    let rr = qr.thin_R();
    let mut out = vec![0.0f32; rows * cols];
    for i in 0..r {
        for j in 0..c {
            let sign = if rr[(j, j)] < 0.0 { -1.0 } else { 1.0 };
            let v = (gain * sign * q[(i, j)]) as f32;
            if transpose {
                out[j * cols + i] = v;
            } else {
                out[i * cols + j] = v;
            }
        }
    }
    out
}

/// A `rows x cols` matrix (row-major, PyTorch's `(out, in)`) of Gaussian entries with
/// each row scaled to norm `std`: baselines `common/tf_util.py::normc_initializer`, which
/// normalises each column of TF's `(in, out)` kernel, i.e. each output unit's weights.
pub fn normc(rows: usize, cols: usize, std: f64, rng: &mut impl Rng) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        let row: Vec<f64> = (0..cols).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
        let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
        out.extend(row.iter().map(|x| (x * std / norm) as f32));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn normc_rows_have_norm_std() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let w = normc(4, 7, 0.1, &mut rng);
        for r in w.chunks(7) {
            let n = r.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            assert!((n - 0.1).abs() < 1e-6, "row norm {n}");
        }
    }

    fn gram(w: &[f32], rows: usize, cols: usize, by_rows: bool) -> Vec<f64> {
        let n = if by_rows { rows } else { cols };
        let mut g = vec![0.0; n * n];
        for a in 0..n {
            for b in 0..n {
                let mut s = 0.0;
                for k in 0..(if by_rows { cols } else { rows }) {
                    let (x, y) = if by_rows {
                        (w[a * cols + k], w[b * cols + k])
                    } else {
                        (w[k * cols + a], w[k * cols + b])
                    };
                    s += f64::from(x) * f64::from(y);
                }
                g[a * n + b] = s;
            }
        }
        g
    }

    #[test]
    fn rows_or_columns_are_orthonormal_times_gain() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for &(rows, cols, by_rows) in &[(8usize, 3usize, false), (3, 8, true), (5, 5, true)] {
            let w = orthogonal(rows, cols, 2.0, &mut rng);
            let n = rows.min(cols);
            let g = gram(&w, rows, cols, by_rows);
            for a in 0..n {
                for b in 0..n {
                    let e = if a == b { 4.0 } else { 0.0 };
                    assert!((g[a * n + b] - e).abs() < 1e-5, "{rows}x{cols}: gram[{a},{b}] = {}", g[a * n + b]);
                }
            }
        }
    }
}
