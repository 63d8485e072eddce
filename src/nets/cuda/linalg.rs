//! K-FAC's float64 linear algebra on the device ([`DeviceLinalg`], the engine's
//! [`KfacLinalg`]): the Kronecker factors' eigendecompositions with cuSOLVER's `Dsyevd` and
//! the natural gradient's products `Q_G^T D Q_A`, `Q_G S Q_A^T` as two cuBLAS DGEMMs, each
//! the host's formula (`crate::kfac`, faer) to float64 rounding. The running averages, the
//! trust region and momentum stay in `crate::kfac`, on the host.

use cudarc::cusolver::{safe::DnHandle, sys as solver_sys};
use cudarc::driver::{CudaSlice, DevicePtr, DevicePtrMut};

use std::sync::{Arc, Mutex};

use super::{err, Device};
use crate::nets::{KfacLinalg, NetError};

/// cuSOLVER's `syevd` for one precision (`Dsyevd` for float64, the one K-FAC uses).
pub trait Syevd: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits + Copy {
    /// `S` or `D`, for messages.
    const PREFIX: &'static str;
    /// `cusolverDn?syevd_bufferSize`.
    ///
    /// # Safety
    /// `a` holds `n x n` values and `w` `n`, on the handle's device.
    unsafe fn buffer_size(h: solver_sys::cusolverDnHandle_t, n: i32, a: *const Self, w: *const Self, lwork: &mut i32) -> solver_sys::cusolverStatus_t;
    /// `cusolverDn?syevd`.
    ///
    /// # Safety
    /// As [`Self::buffer_size`], with `work` of `lwork` values and `info` of one.
    unsafe fn run(h: solver_sys::cusolverDnHandle_t, n: i32, a: *mut Self, w: *mut Self, work: *mut Self, lwork: i32, info: *mut i32) -> solver_sys::cusolverStatus_t;
}

macro_rules! syevd_impl {
    ($t:ty, $prefix:literal, $size:ident, $run:ident) => {
        impl Syevd for $t {
            const PREFIX: &'static str = $prefix;
            unsafe fn buffer_size(h: solver_sys::cusolverDnHandle_t, n: i32, a: *const Self, w: *const Self, lwork: &mut i32) -> solver_sys::cusolverStatus_t {
                use solver_sys::{cublasFillMode_t::CUBLAS_FILL_MODE_LOWER, cusolverEigMode_t::CUSOLVER_EIG_MODE_VECTOR};
                // SAFETY: the caller's contract.
                unsafe { solver_sys::$size(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, a, n, w, lwork) }
            }
            unsafe fn run(h: solver_sys::cusolverDnHandle_t, n: i32, a: *mut Self, w: *mut Self, work: *mut Self, lwork: i32, info: *mut i32) -> solver_sys::cusolverStatus_t {
                use solver_sys::{cublasFillMode_t::CUBLAS_FILL_MODE_LOWER, cusolverEigMode_t::CUSOLVER_EIG_MODE_VECTOR};
                // SAFETY: the caller's contract.
                unsafe { solver_sys::$run(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, n, a, n, w, work, lwork, info) }
            }
        }
    };
}
syevd_impl!(f64, "D", cusolverDnDsyevd_bufferSize, cusolverDnDsyevd);

/// The eigendecomposition of the symmetric `n x n` matrix in `a` (column-major; row-major
/// is the same for a symmetric matrix), in place: `a` becomes the eigenvectors,
/// column-major, eigenvector `i` in column `i`; returns the eigenvalues, ascending, on the
/// device.
fn syevd<T: Syevd>(dev: &Device, solver: &DnHandle, a: &mut CudaSlice<T>, n: usize) -> Result<CudaSlice<T>, NetError> {
    use solver_sys::cusolverStatus_t::CUSOLVER_STATUS_SUCCESS;
    // Raw cuSOLVER calls do not make the context current (an asynchronous K-FAC inverse runs
    // on a thread of its own).
    dev.ctx.bind_to_thread().map_err(|e| err("binding the context", e))?;
    let p = T::PREFIX;
    let mut w: CudaSlice<T> = dev.stream.alloc_zeros(n).map_err(|e| err("allocation", e))?;
    let mut lwork: i32 = 0;
    let ni = n as i32;
    {
        let (ap, _ra) = a.device_ptr(&dev.stream);
        let (wp, _rw) = w.device_ptr(&dev.stream);
        // SAFETY: `a` holds n x n values, `w` n; cuSOLVER only reads the sizes here.
        let s = unsafe { T::buffer_size(solver.cu(), ni, ap as *const T, wp as *const T, &mut lwork) };
        if s != CUSOLVER_STATUS_SUCCESS {
            return Err(NetError::Engine(format!("`cuda`: cusolverDn{p}syevd_bufferSize: {s:?}")));
        }
    }
    let mut work: CudaSlice<T> = dev.stream.alloc_zeros(lwork.max(1) as usize).map_err(|e| err("allocation", e))?;
    let mut info: CudaSlice<i32> = dev.stream.alloc_zeros(1).map_err(|e| err("allocation", e))?;
    {
        let (ap, _ra) = a.device_ptr_mut(&dev.stream);
        let (wp, _rw) = w.device_ptr_mut(&dev.stream);
        let (kp, _rk) = work.device_ptr_mut(&dev.stream);
        let (ip, _ri) = info.device_ptr_mut(&dev.stream);
        // SAFETY: buffers of the sizes cuSOLVER asked for, on the handle's stream.
        let s = unsafe { T::run(solver.cu(), ni, ap as *mut T, wp as *mut T, kp as *mut T, lwork, ip as *mut i32) };
        if s != CUSOLVER_STATUS_SUCCESS {
            return Err(NetError::Engine(format!("`cuda`: cusolverDn{p}syevd: {s:?}")));
        }
    }
    let info = dev.stream.clone_dtoh(&info).map_err(|e| err("copy from the device", e))?;
    if info[0] != 0 {
        return Err(NetError::Engine(format!("`cuda`: {p}syevd did not converge (info {})", info[0])));
    }
    Ok(w)
}

/// The eigendecomposition of the symmetric `n x n` float64 matrix `m` (column-major, as
/// cuSOLVER reads it) with cuSOLVER's `Dsyevd`: eigenvalues ascending, and the
/// eigenvectors column-major with eigenvector `i` in column `i`, as cuSOLVER writes them.
pub fn eigh64(dev: &Device, solver: &DnHandle, m: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>), NetError> {
    if m.len() != n * n || n == 0 {
        return Err(NetError::Shape(format!("{} values for a {n} x {n} matrix", m.len())));
    }
    dev.ctx.bind_to_thread().map_err(|e| err("binding the context", e))?;
    let mut a: CudaSlice<f64> = dev.stream.clone_htod(m).map_err(|e| err("copy to the device", e))?;
    let w = syevd(dev, solver, &mut a, n)?;
    let vals = dev.stream.clone_dtoh(&w).map_err(|e| err("copy from the device", e))?;
    let vecs = dev.stream.clone_dtoh(&a).map_err(|e| err("copy from the device", e))?;
    Ok((vals, vecs))
}

/// K-FAC's float64 linear algebra on the device, for `crate::kfac` through [`KfacLinalg`]:
/// the factors' eigendecompositions ([`eigh64`]) and the natural gradient's products (two
/// cuBLAS DGEMMs each). What the CUDA network offers its optimizer.
pub struct DeviceLinalg {
    dev: Arc<Device>,
    /// One cuSOLVER handle; its calls are serialised (an asynchronous inverse may run on
    /// another thread).
    solver: Mutex<DnHandle>,
}

impl DeviceLinalg {
    /// A cuSOLVER handle on `dev`'s stream; an error names the missing library.
    pub fn new(dev: Arc<Device>) -> Result<DeviceLinalg, NetError> {
        let solver = dev.solver()?;
        Ok(DeviceLinalg { dev, solver: Mutex::new(solver) })
    }
}

impl KfacLinalg for DeviceLinalg {
    fn eigh(&self, m: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>), NetError> {
        let solver = self.solver.lock().unwrap_or_else(|p| p.into_inner());
        eigh64(&self.dev, &solver, m, n)
    }

    fn product3(
        &self,
        l: &[f64],
        l_shape: (usize, usize),
        l_t: bool,
        m: &[f64],
        m_shape: (usize, usize),
        r: &[f64],
        r_shape: (usize, usize),
        r_t: bool,
    ) -> Result<Vec<f64>, NetError> {
        product3(&self.dev, l, l_shape, l_t, m, m_shape, r, r_shape, r_t)
    }
}

/// `op(l) m op(r)` in float64 on the device (column-major; `op` transposes when its flag
/// is set): the three matrices uploaded, two DGEMMs, the product downloaded. A column-major
/// matrix is its transpose row-major, so with [`Device::gemm`] (row-major) the products
/// are formed transposed: `(op(l) m)^T = m^T op(l)^T`, then `out^T = op(r)^T (op(l) m)^T`.
#[allow(clippy::too_many_arguments)]
pub fn product3(
    dev: &Device,
    l: &[f64],
    (lr, lc): (usize, usize),
    l_t: bool,
    m: &[f64],
    (mr, mc): (usize, usize),
    r: &[f64],
    (rr, rc): (usize, usize),
    r_t: bool,
) -> Result<Vec<f64>, NetError> {
    let (rows, inner) = if l_t { (lc, lr) } else { (lr, lc) };
    let (inner_r, cols) = if r_t { (rc, rr) } else { (rr, rc) };
    if l.len() != lr * lc || m.len() != mr * mc || r.len() != rr * rc || inner != mr || inner_r != mc {
        return Err(NetError::Shape(format!("a product of {lr}x{lc} (t {l_t}), {mr}x{mc} and {rr}x{rc} (t {r_t}) matrices")));
    }
    dev.ctx.bind_to_thread().map_err(|e| err("binding the context", e))?;
    let up = |x: &[f64]| -> Result<CudaSlice<f64>, NetError> { dev.stream.clone_htod(x).map_err(|e| err("copy to the device", e)) };
    let (ld, md, rd) = (up(l)?, up(m)?, up(r)?);
    // Row-major views: `ld` is l^T, `md` m^T, `rd` r^T. (op(l) m)^T (mc x rows) =
    // md . op(l)^T, where op(l)^T is `ld` itself, or transposed when l_t.
    let mut lm: CudaSlice<f64> = dev.stream.alloc_zeros(rows * mc).map_err(|e| err("allocation", e))?;
    dev.gemm(mc, rows, inner, &md, false, &ld, l_t, &mut lm, 1.0f64, 0.0f64)?;
    // out^T (cols x rows) = op(r)^T . lm, where op(r)^T is `rd`, or transposed when r_t.
    let mut out: CudaSlice<f64> = dev.stream.alloc_zeros(rows * cols).map_err(|e| err("allocation", e))?;
    dev.gemm(cols, rows, mc, &rd, r_t, &lm, false, &mut out, 1.0f64, 0.0f64)?;
    dev.stream.clone_dtoh(&out).map_err(|e| err("copy from the device", e))
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use faer::{Mat, Side};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn rows(n: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n * cols).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    /// The host reference in float64: `scale [X 1]^T [X 1]`.
    fn host_gram(x: &[f32], n: usize, cols: usize, extra_one: bool, scale: f64) -> Mat<f64> {
        let c = cols + usize::from(extra_one);
        Mat::from_fn(c, c, |i, j| {
            let v = |r: usize, k: usize| if k < cols { f64::from(x[r * cols + k]) } else { 1.0 };
            scale * (0..n).map(|r| v(r, i) * v(r, j)).sum::<f64>()
        })
    }

    /// cuSOLVER's float64 eigendecomposition, as K-FAC reads it: `Q diag(d) Q^T` gives the
    /// matrix back, `Q` is orthonormal, the eigenvalues are faer's; and the products on
    /// the device against faer's, a mismatched shape refused.
    #[test]
    fn the_float64_eigendecomposition_reconstructs_its_matrix() {
        let Some(dev) = super::super::tests::device() else { return };
        let eig = DeviceLinalg::new(Arc::new(dev)).unwrap();
        let (n, k) = (37, 50);
        let x = rows(k, n, 7);
        let m = host_gram(&x, k, n, false, 1.0 / k as f64);
        // Column-major in and out (KfacLinalg's layout).
        let flat: Vec<f64> = (0..n).flat_map(|j| (0..n).map(move |i| (i, j))).map(|(i, j)| m[(i, j)]).collect();
        let (d, q) = eig.eigh(&flat, n).unwrap();
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "ascending");
        let host = m.self_adjoint_eigen(Side::Lower).unwrap();
        let hs = host.S().column_vector();
        for i in 0..n {
            assert!((d[i] - hs[i]).abs() <= 1e-10 * (1.0 + hs[i].abs()), "eigenvalue {i}: {} vs {}", d[i], hs[i]);
        }
        // q[c * n + r] is component r of eigenvector c.
        for i in 0..n {
            for j in 0..n {
                let back: f64 = (0..n).map(|c| q[c * n + i] * d[c] * q[c * n + j]).sum();
                let dot: f64 = (0..n).map(|r| q[i * n + r] * q[j * n + r]).sum();
                assert!((back - m[(i, j)]).abs() <= 1e-10, "Q D Q^T ({i}, {j})");
                assert!((dot - f64::from(u8::from(i == j))).abs() <= 1e-10, "Q^T Q ({i}, {j})");
            }
        }
        // The natural gradient's products, Q^T D S^T with D n x 5, against faer; a
        // mismatched shape refused.
        let cols = |v: &[f64], r: usize, c: usize| Mat::from_fn(r, c, |i, j| v[j * r + i]);
        let dm: Vec<f64> = rows(5, n, 8).into_iter().map(f64::from).collect();
        let e = eig.product3(&q, (n, n), true, &dm, (n, 5), &flat, (n, n), false).expect_err("an n x 5 middle needs a 5-row right factor");
        assert!(e.to_string().contains("product of"), "{e}");
        let small: Vec<f64> = (0..25).map(|k| (k as f64 * 0.37).sin()).collect();
        let got = eig.product3(&q, (n, n), true, &dm, (n, 5), &small, (5, 5), true).unwrap();
        let want = cols(&q, n, n).transpose() * cols(&dm, n, 5) * cols(&small, 5, 5).transpose();
        for i in 0..n {
            for j in 0..5 {
                assert!((got[j * n + i] - want[(i, j)]).abs() <= 1e-12 * (1.0 + want[(i, j)].abs()), "product ({i}, {j})");
            }
        }
        // And without transposes: Q D.
        let got = eig.product3(&q, (n, n), false, &dm, (n, 5), &small, (5, 5), false).unwrap();
        let want = cols(&q, n, n) * cols(&dm, n, 5) * cols(&small, 5, 5);
        for i in 0..n {
            for j in 0..5 {
                assert!((got[j * n + i] - want[(i, j)]).abs() <= 1e-12 * (1.0 + want[(i, j)].abs()), "product ({i}, {j}), no transposes");
            }
        }
    }
}
