//! K-FAC's statistics reduced on the device: the float64 sums of products
//! `[X 1]^T [X 1]` of a layer's inputs and `G^T G` of its output gradients, and a
//! convolution's bias statistic, which the CUDA network hands `crate::kfac` as
//! [`LayerGrams`] (the CPU engine's factors, made the same way in float64:
//! `crate::nets::cpu`). The rows are widened to float64 on the device and multiplied by one
//! cuBLAS DGEMM.

use cudarc::driver::{CudaSlice, PushKernelArg};

use super::kernels::grid;
use super::{err, Device};
use crate::nets::NetError;
#[cfg(doc)]
use crate::nets::LayerGrams;

/// `[X 1]^T [X 1]` (the ones column only when `extra_one`) of row-major float32 `x`
/// (`rows x cols`), in float64 as the CPU engine's factors are: the rows widened once on
/// the device, one cuBLAS DGEMM, the `(cols + extra)^2` result copied back. What
/// [`LayerGrams`] holds.
pub fn gram64(dev: &Device, x: &CudaSlice<f32>, rows: usize, cols: usize, extra_one: bool) -> Result<Vec<f64>, NetError> {
    let w = cols + usize::from(extra_one);
    let mut wide: CudaSlice<f64> = dev.stream.alloc_zeros(rows * w).map_err(|e| err("allocation", e))?;
    let f = dev.kernel("widen_rows")?;
    let (r, c, e) = (rows as i32, cols as i32, i32::from(extra_one));
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&mut wide).arg(x).arg(&r).arg(&c).arg(&e);
    // SAFETY: widen_rows(double* out, const float* x, int rows, int cols, int extra) with
    // `out` rows x (cols + extra) doubles and `x` rows x cols floats.
    unsafe { b.launch(grid(rows * w)) }.map_err(|e| err("launching `widen_rows`", e))?;
    let mut out: CudaSlice<f64> = dev.stream.alloc_zeros(w * w).map_err(|e| err("allocation", e))?;
    dev.gemm(w, w, rows, &wide, true, &wide, false, &mut out, 1.0f64, 0.0f64)?;
    dev.stream.clone_dtoh(&out).map_err(|e| err("copy from the device", e))
}

/// `S^T S` in float64, where row `b` of `S` sums example `b`'s `spatial` rows of `g`
/// (NHWC rows, `batch*spatial x c`): a convolution's bias statistic.
pub fn summed_gram64(dev: &Device, g: &CudaSlice<f32>, batch: usize, spatial: usize, c: usize) -> Result<Vec<f64>, NetError> {
    let mut summed: CudaSlice<f64> = dev.stream.alloc_zeros(batch * c).map_err(|e| err("allocation", e))?;
    let f = dev.kernel("sum_positions")?;
    let (b32, s32, c32) = (batch as i32, spatial as i32, c as i32);
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&mut summed).arg(g).arg(&b32).arg(&s32).arg(&c32);
    // SAFETY: sum_positions(double* out, const float* g, int batch, int spatial, int c) with
    // `out` batch x c doubles and `g` batch*spatial x c floats.
    unsafe { b.launch(grid(batch * c)) }.map_err(|e| err("launching `sum_positions`", e))?;
    let mut out: CudaSlice<f64> = dev.stream.alloc_zeros(c * c).map_err(|e| err("allocation", e))?;
    dev.gemm(c, c, batch, &summed, true, &summed, false, &mut out, 1.0f64, 0.0f64)?;
    dev.stream.clone_dtoh(&out).map_err(|e| err("copy from the device", e))
}

#[cfg(test)]
mod tests {
    use faer::Mat;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn rows(n: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n * cols).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    /// The statistics against float64 sums on the host: `[X 1]^T [X 1]`, `G^T G`, and the
    /// summed rows' `S^T S` of a convolution's bias.
    #[test]
    fn the_statistics_are_the_float64_sums_of_products() {
        let Some(dev) = super::super::tests::device() else { return };
        let (n, din, dout, spatial) = (50, 6, 4, 5);
        let a_rows = rows(n, din, 1);
        let g_rows = rows(n, dout, 2);
        let host = |x: &[f32], cols: usize, extra_one: bool| {
            let c = cols + usize::from(extra_one);
            Mat::from_fn(c, c, |i, j| {
                let v = |r: usize, k: usize| if k < cols { f64::from(x[r * cols + k]) } else { 1.0 };
                (0..n).map(|r| v(r, i) * v(r, j)).sum::<f64>()
            })
        };
        let (ad, gd) = (dev.upload(&a_rows).unwrap(), dev.upload(&g_rows).unwrap());
        for (got, want) in [
            (gram64(&dev, &ad, n, din, true).unwrap(), host(&a_rows, din, true)),
            (gram64(&dev, &gd, n, dout, false).unwrap(), host(&g_rows, dout, false)),
        ] {
            assert_eq!(got.len(), want.nrows() * want.ncols());
            for i in 0..want.nrows() {
                for j in 0..want.ncols() {
                    let w = want[(i, j)];
                    assert!((got[i * want.ncols() + j] - w).abs() <= 1e-12 * (1.0 + w.abs()), "factor ({i}, {j}): {} vs {w}", got[i * want.ncols() + j]);
                }
            }
        }
        // 10 examples of 5 positions each: S[b, j] = sum_t g[b * 5 + t, j].
        let batch = n / spatial;
        let got = summed_gram64(&dev, &gd, batch, spatial, dout).unwrap();
        let s = |b: usize, j: usize| (0..spatial).map(|t| f64::from(g_rows[(b * spatial + t) * dout + j])).sum::<f64>();
        for i in 0..dout {
            for j in 0..dout {
                let w: f64 = (0..batch).map(|b| s(b, i) * s(b, j)).sum();
                assert!((got[i * dout + j] - w).abs() <= 1e-12 * (1.0 + w.abs()), "bias statistic ({i}, {j})");
            }
        }
    }
}
