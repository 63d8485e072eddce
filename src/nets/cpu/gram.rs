//! Gram products of float32 rows with float64 accumulation: K-FAC's sums of outer products
//! `[X 1]^T [X 1]` (paper section 3.1; `docs/src/formats/kfac-case.md` scales them).
//!
//! The rows are cut into blocks of [`BLOCK_ROWS`]; each block's product is a float32
//! symmetric rank-k update (its lower triangle, faer's triangular product), widened and
//! added into a float64 sum. So the float32 rounding is that of sums of at most
//! [`BLOCK_ROWS`] terms, and the sum over blocks (hundreds for the first Atari convolution's
//! 256,000 patches) is float64. The blocks are grouped by a rule of the row count alone
//! ([`GROUPS`] groups of consecutive blocks), each group summed in order, then the groups
//! in order, so the result is the same bits on any number of threads.
//!
//! openai/baselines `acktr/kfac.py` forms the same products in float32 on the GPU
//! (`tf.matmul(fpropFactor, fpropFactor, transpose_a=True)`), one product over all rows.

use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, MatRef, Par};

/// Rows per float32 block.
pub const BLOCK_ROWS: usize = 1024;
/// Groups of blocks summed independently (then in order): the parallelism available.
pub const GROUPS: usize = 16;

/// `[X 1]^T [X 1]` (the ones column only when `extra_one`; its entries are the column sums
/// and the row count) of row-major float32 rows `x` (`rows x cols`), as a full symmetric
/// `(cols + extra_one)^2` float64 matrix (row-major, which for a symmetric matrix is also
/// column-major), on up to `threads` threads.
pub fn gram(x: &[f32], rows: usize, cols: usize, extra_one: bool, threads: usize) -> Vec<f64> {
    assert!(x.len() >= rows * cols, "gram: {} values for {rows} x {cols}", x.len());
    let n = cols + usize::from(extra_one);
    let blocks = rows.div_ceil(BLOCK_ROWS);
    let groups = blocks.clamp(1, GROUPS);
    // Group g sums blocks [g * blocks / groups, (g + 1) * blocks / groups).
    let group = |g: usize| -> Vec<f64> {
        let mut acc = vec![0.0f64; n * n];
        let mut tri = Mat::<f32>::zeros(cols, cols);
        for b in g * blocks / groups..(g + 1) * blocks / groups {
            let r0 = b * BLOCK_ROWS;
            let r1 = (r0 + BLOCK_ROWS).min(rows);
            let xm = MatRef::from_row_major_slice(&x[r0 * cols..r1 * cols], r1 - r0, cols);
            matmul(tri.as_mut(), BlockStructure::TriangularLower, Accum::Replace, xm.transpose(), BlockStructure::Rectangular, xm, BlockStructure::Rectangular, 1.0f32, Par::Seq);
            for j in 0..cols {
                let col = tri.col_as_slice(j);
                for i in j..cols {
                    acc[i * n + j] += f64::from(col[i]);
                }
            }
            if extra_one {
                for row in x[r0 * cols..r1 * cols].chunks_exact(cols) {
                    for (s, &v) in acc[cols * n..cols * n + cols].iter_mut().zip(row) {
                        *s += f64::from(v);
                    }
                }
                acc[n * n - 1] += (r1 - r0) as f64;
            }
        }
        acc
    };
    let partials: Vec<Vec<f64>> = if threads > 1 && groups > 1 {
        let per = groups.div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..groups).step_by(per).map(|g0| s.spawn(move || (g0..(g0 + per).min(groups)).map(group).collect::<Vec<_>>())).collect();
            handles.into_iter().flat_map(|h| h.join().expect("a gram thread panicked")).collect()
        })
    } else {
        (0..groups).map(group).collect()
    };
    let mut out = vec![0.0f64; n * n];
    for p in &partials {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    // Mirror the lower triangle (the ones row included) to the upper.
    for i in 0..n {
        for j in i + 1..n {
            out[i * n + j] = out[j * n + i];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn exact(x: &[f32], rows: usize, cols: usize, extra_one: bool) -> Vec<f64> {
        let n = cols + usize::from(extra_one);
        let mut out = vec![0.0f64; n * n];
        for r in x.chunks_exact(cols).take(rows) {
            let row: Vec<f64> = r.iter().map(|&v| f64::from(v)).chain(extra_one.then_some(1.0)).collect();
            for i in 0..n {
                for j in 0..n {
                    out[i * n + j] += row[i] * row[j];
                }
            }
        }
        out
    }

    #[test]
    fn blocked_float32_products_match_float64_and_every_thread_count_gives_the_same_bits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for (rows, cols) in [(1usize, 3usize), (700, 9), (5000, 33), (3 * BLOCK_ROWS * GROUPS + 17, 5)] {
            let x: Vec<f32> = (0..rows * cols).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
            for extra_one in [false, true] {
                let want = exact(&x, rows, cols, extra_one);
                let got = gram(&x, rows, cols, extra_one, 1);
                let scale = rows as f64;
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() <= 1e-6 * scale, "{rows} x {cols}: {g} vs {w}");
                }
                for t in [2, 3, 8] {
                    assert!(gram(&x, rows, cols, extra_one, t) == got, "{t} threads, {rows} x {cols}");
                }
            }
        }
    }
}
