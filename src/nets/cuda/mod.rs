//! The CUDA engine (cargo feature `cuda`, off by default; README "GPU engine").
//!
//! Written on cudarc 0.19 with every CUDA library loaded at run time ([`libs`]), so the
//! build needs no CUDA toolkit. What is here: the libraries' discovery and the errors for
//! their absence, the kernels and their NVRTC compilation ([`kernels`]), the device
//! ([`Device`]: context, its own stream, cuBLAS, the kernels loaded from a CUBIN for its
//! architecture), row-major GEMMs on it, the forward and backward passes of a shared
//! actor-critic ([`forward`]), the engine seam's network on top of them ([`net`]: what
//! `engine: cuda` builds), and K-FAC's pieces on the device ([`kfac`]: the statistics
//! reduced to float64 sums of products, which the network hands `crate::kfac`; factors,
//! eigendecompositions and the natural gradient in float32, tested, not yet driving the
//! optimizer: K-FAC's eigendecompositions and preconditioning still run on the host).

pub mod forward;
pub mod kernels;
pub mod libs;
pub mod linalg;
pub mod net;
pub mod stats;

use std::sync::Arc;

use cudarc::cublas::{CudaBlas, Gemm, GemmConfig};
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use rand::Rng;

use super::{ActorCriticNet, ActorCriticSpec, NetError};
use crate::env::ActionSpace;

fn err(what: &str, e: impl std::fmt::Debug) -> NetError {
    NetError::Engine(format!("`cuda`: {what}: {e:?}"))
}

/// One GPU with its stream, cuBLAS handle and our kernels.
pub struct Device {
    pub ctx: Arc<CudaContext>,
    pub stream: Arc<CudaStream>,
    pub blas: CudaBlas,
    pub module: Arc<CudaModule>,
    /// `NVIDIA H200`, ...
    pub name: String,
    /// `(9, 0)` for Hopper.
    pub compute_capability: (i32, i32),
}

impl Device {
    /// Opens GPU `ordinal`: the driver, the libraries (cuBLAS, NVRTC), a context, and our
    /// kernels compiled for its architecture. Every absence is an error saying what is
    /// missing, never cudarc's panic.
    pub fn open(ordinal: usize) -> Result<Device, NetError> {
        if !libs::driver_present() {
            return Err(NetError::Engine(
                "`cuda`: no CUDA driver on this machine (libcuda.so.1 does not load); the CUDA engine needs an NVIDIA GPU and its driver".into(),
            ));
        }
        let count = CudaContext::device_count().map_err(|e| err("cuInit / cuDeviceGetCount", e))?;
        if count as usize <= ordinal {
            return Err(NetError::Engine(format!("`cuda`: no CUDA device {ordinal} (this machine has {count})")));
        }
        libs::preload()
            .require(&[libs::NVRTC_BUILTINS, libs::NVRTC, libs::CUBLASLT, libs::CUBLAS])
            .map_err(|e| NetError::Engine(format!("`cuda`: {e}")))?;
        let ctx = CudaContext::new(ordinal).map_err(|e| err("creating a context", e))?;
        let name = ctx.name().map_err(|e| err("device name", e))?;
        let compute_capability = ctx.compute_capability().map_err(|e| err("compute capability", e))?;
        // A stream (and cuBLAS handle) of its own: cells running side by side in one
        // process each open their device and do not serialise on the default stream.
        let stream = ctx.new_stream().map_err(|e| err("creating a stream", e))?;
        let blas = CudaBlas::new(stream.clone()).map_err(|e| err("cublasCreate", e))?;
        let arch = format!("sm_{}{}", compute_capability.0, compute_capability.1);
        let cubin = cubin_for(&arch)?;
        let module = ctx.load_module(cudarc::nvrtc::Ptx::from_binary(cubin)).map_err(|e| err("loading the kernels' CUBIN", e))?;
        Ok(Device { ctx, stream, blas, module, name, compute_capability })
    }

    /// A cuSOLVER handle on the device's stream (K-FAC's eigendecompositions), once the
    /// libraries it needs are loaded: their absence is an error, not cudarc's panic.
    pub fn solver(&self) -> Result<cudarc::cusolver::safe::DnHandle, NetError> {
        libs::preload()
            .require(&[libs::NVJITLINK, libs::CUBLASLT, libs::CUBLAS, libs::CUSPARSE, libs::CUSOLVER])
            .map_err(|e| NetError::Engine(format!("`cuda`: {e}")))?;
        cudarc::cusolver::safe::DnHandle::new(self.stream.clone()).map_err(|e| err("cusolverDnCreate", e))
    }

    /// One of [`kernels::KERNELS`].
    pub fn kernel(&self, name: &str) -> Result<CudaFunction, NetError> {
        self.module.load_function(name).map_err(|e| err(&format!("kernel `{name}`"), e))
    }

    /// Host data onto the device.
    pub fn upload(&self, host: &[f32]) -> Result<CudaSlice<f32>, NetError> {
        self.stream.clone_htod(host).map_err(|e| err("copy to the device", e))
    }

    /// Device data back to the host (waits for the stream).
    pub fn download(&self, dev: &CudaSlice<f32>) -> Result<Vec<f32>, NetError> {
        self.stream.clone_dtoh(dev).map_err(|e| err("copy from the device", e))
    }

    /// Zeros on the device.
    pub fn zeros(&self, n: usize) -> Result<CudaSlice<f32>, NetError> {
        self.stream.alloc_zeros(n).map_err(|e| err("allocation", e))
    }

    /// Row-major `c = alpha a . b + beta c` (`a` m x k, `b` k x n; `trans_a`/`trans_b` take
    /// `a`/`b` as stored transposed, i.e. `a` k x m, `b` n x k), through cuBLAS's
    /// column-major GEMM: a row-major matrix is its transpose column-major, so
    /// `c^T = b^T a^T`.
    /// Float32 (`cublasSgemm`) or float64 (`cublasDgemm`: K-FAC's statistics).
    #[allow(clippy::too_many_arguments)]
    pub fn gemm<T: cudarc::driver::DeviceRepr>(
        &self,
        m: usize,
        n: usize,
        k: usize,
        a: &CudaSlice<T>,
        trans_a: bool,
        b: &CudaSlice<T>,
        trans_b: bool,
        c: &mut CudaSlice<T>,
        alpha: T,
        beta: T,
    ) -> Result<(), NetError>
    where
        CudaBlas: Gemm<T>,
    {
        use cudarc::cublas::sys::cublasOperation_t::{CUBLAS_OP_N, CUBLAS_OP_T};
        let op = |t: bool| if t { CUBLAS_OP_T } else { CUBLAS_OP_N };
        let cfg = GemmConfig {
            transa: op(trans_b),
            transb: op(trans_a),
            m: n as i32,
            n: m as i32,
            k: k as i32,
            alpha,
            lda: if trans_b { k } else { n } as i32,
            ldb: if trans_a { m } else { k } as i32,
            beta,
            ldc: n as i32,
        };
        assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm shapes");
        // SAFETY: the slices hold m*k, k*n and m*n floats (asserted above).
        unsafe { self.blas.gemm(cfg, b, a, c) }.map_err(|e| err("cublas gemm", e))
    }

    /// Launches an elementwise kernel `name(out, in..., n)` over `n` elements.
    pub fn launch_elementwise(&self, name: &str, out: &mut CudaSlice<f32>, inputs: &[&CudaSlice<f32>], n: usize) -> Result<(), NetError> {
        let f = self.kernel(name)?;
        let n32 = n as i32;
        let mut b = self.stream.launch_builder(&f);
        b.arg(out);
        for x in inputs {
            b.arg(*x);
        }
        b.arg(&n32);
        // SAFETY: the kernel's signature is (float*, const float*..., int), matching the
        // arguments pushed; every buffer holds at least `n` floats.
        unsafe { b.launch(LaunchConfig::for_num_elems(n as u32)) }.map_err(|e| err(&format!("launching `{name}`"), e))?;
        Ok(())
    }
}

/// The kernels' CUBIN for `arch`, compiled once per process (NVRTC takes about a second).
fn cubin_for(arch: &str) -> Result<Vec<u8>, NetError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = cache.get(arch) {
        return Ok(c.clone());
    }
    let cubin = kernels::compile_cubin(arch).map_err(|e| NetError::Engine(format!("`cuda`: {e}")))?;
    cache.insert(arch.to_string(), cubin.clone());
    Ok(cubin)
}

/// The actor-critic on GPU 0 ([`net::CudaActorCritic`]): the shared network with a
/// categorical policy; anything else is refused with the engine to use.
pub fn build(spec: &ActorCriticSpec, input: &[usize], actions: &ActionSpace, rng: &mut impl Rng) -> Result<Box<dyn ActorCriticNet>, NetError> {
    Ok(Box::new(net::CudaActorCritic::new(spec, input, actions, rng)?))
}

#[cfg(test)]
mod tests {
    //! Device tests: each runs where a CUDA device is, and prints "skipped: no CUDA device"
    //! (the reason) elsewhere.
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    pub(super) fn device() -> Option<Device> {
        match Device::open(0) {
            Ok(d) => {
                println!("CUDA device: {} (sm_{}{})", d.name, d.compute_capability.0, d.compute_capability.1);
                Some(d)
            }
            Err(e) => {
                println!("skipped: no CUDA device ({e})");
                None
            }
        }
    }

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-2.0f32..2.0)).collect()
    }

    pub(super) fn close(got: &[f32], want: &[f32], tol: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}[{i}]: {g} vs {w}");
        }
    }

    #[test]
    fn without_a_device_the_engine_says_why_instead_of_panicking() {
        if libs::driver_present() {
            println!("skipped: this machine has a CUDA driver");
            return;
        }
        let spec = ActorCriticSpec {
            architecture: crate::nets::Architecture::Mlp64x64,
            layout: crate::nets::Layout::Shared { activation: crate::nets::Activation::Tanh },
            init: crate::nets::Init::Orthogonal,
        };
        let acts = ActionSpace::Discrete { n: 2 };
        let e = build(&spec, &[4], &acts, &mut ChaCha8Rng::seed_from_u64(0)).err().expect("no device here");
        assert!(e.to_string().contains("no CUDA driver"), "{e}");
    }

    #[test]
    fn the_elementwise_kernels_match_their_cpu_definitions() {
        let Some(d) = device() else { return };
        let n = 1000;
        let x = random(n, 1);
        let dy = random(n, 2);
        let (dx_dev, dy_dev) = (d.upload(&x).unwrap(), d.upload(&dy).unwrap());
        type F = fn(f32) -> f32;
        type B = fn(f32, f32) -> f32;
        let cases: [(&str, &str, F, B); 3] = [
            ("relu_fwd", "relu_bwd", |x| x.max(0.0), |dy, y| if y > 0.0 { dy } else { 0.0 }),
            ("tanh_fwd", "tanh_bwd", f32::tanh, |dy, y| dy * (1.0 - y * y)),
            ("elu_fwd", "elu_bwd", |x| if x > 0.0 { x } else { x.exp_m1() }, |dy, y| if y > 0.0 { dy } else { dy * (y + 1.0) }),
        ];
        for (fwd, bwd, f, g) in cases {
            let mut y = d.zeros(n).unwrap();
            d.launch_elementwise(fwd, &mut y, &[&dx_dev], n).unwrap();
            let yh = d.download(&y).unwrap();
            close(&yh, &x.iter().map(|&v| f(v)).collect::<Vec<_>>(), 1e-6, fwd);
            let mut dx = d.zeros(n).unwrap();
            d.launch_elementwise(bwd, &mut dx, &[&dy_dev, &y], n).unwrap();
            let want: Vec<f32> = dy.iter().zip(&yh).map(|(&a, &b)| g(a, b)).collect();
            close(&d.download(&dx).unwrap(), &want, 1e-6, bwd);
        }
    }

    #[test]
    fn gemm_is_row_major_in_all_four_transposes() {
        let Some(d) = device() else { return };
        let (m, n, k) = (5, 7, 3);
        let a = random(m * k, 3);
        let b = random(k * n, 4);
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect(); // k x m
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect(); // n x k
        let mut want = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                want[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let ad = d.upload(if ta { &at } else { &a }).unwrap();
            let bd = d.upload(if tb { &bt } else { &b }).unwrap();
            let mut c = d.zeros(m * n).unwrap();
            d.gemm(m, n, k, &ad, ta, &bd, tb, &mut c, 1.0, 0.0).unwrap();
            close(&d.download(&c).unwrap(), &want, 1e-5, &format!("gemm ta={ta} tb={tb}"));
        }
    }

    #[test]
    fn im2col_and_col2im_are_adjoint_and_match_a_direct_convolution() {
        let Some(d) = device() else { return };
        // The first Atari conv's geometry, small: 2 images, 3 channels, 12x12, k 4, stride 2;
        // and the same with a zero padding of 1.
        for pad in [0usize, 1] {
            let (n, c, h, w, k, s) = (2usize, 3usize, 12usize, 12usize, 4usize, 2usize);
            let (oh, ow) = ((h + 2 * pad - k) / s + 1, (w + 2 * pad - k) / s + 1);
            let x = random(n * c * h * w, 5);
            let width = c * k * k;
            let rows = n * oh * ow;
            let xd = d.upload(&x).unwrap();
            let mut cols = d.zeros(rows * width).unwrap();
            let f = d.kernel("im2col").unwrap();
            let a = [n, c, h, w, k, s, pad, oh, ow].map(|v| v as i32);
            let mut b = d.stream.launch_builder(&f);
            b.arg(&mut cols).arg(&xd);
            for v in &a {
                b.arg(v);
            }
            unsafe { b.launch(LaunchConfig::for_num_elems((rows * width) as u32)) }.unwrap();
            let colsh = d.download(&cols).unwrap();
            for row in 0..rows {
                let (bi, oy, ox) = (row / (oh * ow), (row / ow) % oh, row % ow);
                for ci in 0..c {
                    for ky in 0..k {
                        for kx in 0..k {
                            let (yy, xx) = ((oy * s + ky) as isize - pad as isize, (ox * s + kx) as isize - pad as isize);
                            let inside = (0..h as isize).contains(&yy) && (0..w as isize).contains(&xx);
                            let want = if inside { x[((bi * c + ci) * h + yy as usize) * w + xx as usize] } else { 0.0 };
                            assert_eq!(colsh[row * width + (ci * k + ky) * k + kx], want, "pad {pad}");
                        }
                    }
                }
            }
            // Adjointness: <im2col(x), g> = <x, col2im(g)>.
            let g = random(rows * width, 6);
            let gd = d.upload(&g).unwrap();
            let mut dx = d.zeros(n * c * h * w).unwrap();
            let f = d.kernel("col2im").unwrap();
            let mut b = d.stream.launch_builder(&f);
            b.arg(&mut dx).arg(&gd);
            for v in &a {
                b.arg(v);
            }
            unsafe { b.launch(LaunchConfig::for_num_elems((n * c * h * w) as u32)) }.unwrap();
            let dxh = d.download(&dx).unwrap();
            let lhs: f64 = colsh.iter().zip(&g).map(|(&p, &q)| p as f64 * q as f64).sum();
            let rhs: f64 = x.iter().zip(&dxh).map(|(&p, &q)| p as f64 * q as f64).sum();
            assert!((lhs - rhs).abs() <= 1e-4 * (1.0 + lhs.abs()), "pad {pad}: {lhs} vs {rhs}");
        }
    }
}
