//! The CUDA engine's own kernels, compiled at run time by NVRTC (README "GPU engine").
//!
//! Everything that is not a GEMM (cuBLAS) or an eigendecomposition (cuSOLVER): the
//! activations and their backward passes, biases and their gradients, the conv layers'
//! patch unfolding (`im2col`) and its adjoint (`col2im`, a gather, so its sums run in a
//! fixed order), the NHWC<->NCHW shuffles around a conv GEMM, and K-FAC's statistics
//! widened to float64. Float32 unless named, row-major, with
//! the CPU engine's conventions (PyTorch layouts: weights `out x in*k*k`, images NCHW,
//! flattening in C,H,W order; `src/nets/cpu/`).
//!
//! We compile to a CUBIN for the device's own architecture (not PTX): a PTX from an NVRTC
//! newer than the driver cannot be loaded by that driver.

use std::ffi::{c_char, CStr, CString};

use cudarc::driver::LaunchConfig;

/// A launch of one thread per element over `n` elements (blocks of cudarc's default size).
pub fn grid(n: usize) -> LaunchConfig {
    LaunchConfig::for_num_elems(u32::try_from(n).expect("fewer than 2^32 elements per launch"))
}

/// The source of every kernel.
pub const SOURCE: &str = r#"
extern "C" __global__ void relu_fwd(float* y, const float* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
// dx = dy where the output is positive (dfdx's ReLU: the gradient at 0 is 0).
extern "C" __global__ void relu_bwd(float* dx, const float* dy, const float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
extern "C" __global__ void tanh_fwd(float* y, const float* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = tanhf(x[i]);
}
extern "C" __global__ void tanh_bwd(float* dx, const float* dy, const float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}
// ELU with alpha 1 (baselines acktr/value_functions.py: tf.nn.elu).
extern "C" __global__ void elu_fwd(float* y, const float* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.0f ? x[i] : expm1f(x[i]);
}
extern "C" __global__ void elu_bwd(float* dx, const float* dy, const float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + 1.0f);
}
// y[r, c] += b[c], y rows x cols.
extern "C" __global__ void add_bias_rows(float* y, const float* b, int rows, int cols) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows * cols) y[i] += b[i % cols];
}
// out[c] = sum_r x[r, c]: a linear layer's bias gradient. One thread per column, rows in
// order, so the sum is the same on every run.
extern "C" __global__ void sum_rows(float* out, const float* x, int rows, int cols) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float s = 0.0f;
    for (int r = 0; r < rows; ++r) s += x[r * cols + c];
    out[c] = s;
}
// cols[(b*oh + oy)*ow + ox, (ci*k + ky)*k + kx] = x[b, ci, oy*s + ky - p, ox*s + kx - p]
// (0 in the zero padding p): one row per output position, in the order of a PyTorch
// weight's flattened input.
extern "C" __global__ void im2col(float* cols, const float* x, int n, int c, int h, int w, int k, int s, int p, int oh, int ow) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long width = (long long)c * k * k;
    long long total = (long long)n * oh * ow * width;
    if (i >= total) return;
    int col = (int)(i % width);
    long long row = i / width;
    int kx = col % k, ky = (col / k) % k, ci = col / (k * k);
    int ox = (int)(row % ow), oy = (int)((row / ow) % oh), b = (int)(row / ((long long)ow * oh));
    int yy = oy * s + ky - p, xx = ox * s + kx - p;
    cols[i] = (yy < 0 || yy >= h || xx < 0 || xx >= w) ? 0.0f : x[(((long long)b * c + ci) * h + yy) * w + xx];
}
// The adjoint of im2col: dx[b, ci, y, x] = sum of dcols over every patch holding (y, x), as a
// gather in a fixed order (deterministic, no atomics).
extern "C" __global__ void col2im(float* dx, const float* dcols, int n, int c, int h, int w, int k, int s, int p, int oh, int ow) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long total = (long long)n * c * h * w;
    if (i >= total) return;
    int px = (int)(i % w), py = (int)((i / w) % h), ci = (int)((i / ((long long)w * h)) % c), b = (int)(i / ((long long)w * h * c));
    long long width = (long long)c * k * k;
    float sum = 0.0f;
    for (int ky = 0; ky < k; ++ky) {
        int ty = py + p - ky;
        if (ty < 0 || ty % s != 0 || ty / s >= oh) continue;
        for (int kx = 0; kx < k; ++kx) {
            int tx = px + p - kx;
            if (tx < 0 || tx % s != 0 || tx / s >= ow) continue;
            long long row = ((long long)b * oh + ty / s) * ow + tx / s;
            sum += dcols[row * width + (ci * k + ky) * k + kx];
        }
    }
    dx[i] = sum;
}
// A conv GEMM's output [n*hw, c] (NHWC) to NCHW, plus the channel's bias.
extern "C" __global__ void nhwc_to_nchw_bias(float* out, const float* in, const float* bias, int n, int hw, int c) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long total = (long long)n * hw * c;
    if (i >= total) return;
    int p = (int)(i % hw), ch = (int)((i / hw) % c), b = (int)(i / ((long long)hw * c));
    out[i] = in[((long long)b * hw + p) * c + ch] + bias[ch];
}
// The backward shuffle: NCHW gradients to the GEMM's NHWC rows.
extern "C" __global__ void nchw_to_nhwc(float* out, const float* in, int n, int hw, int c) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long total = (long long)n * hw * c;
    if (i >= total) return;
    int ch = (int)(i % c), p = (int)((i / c) % hw), b = (int)(i / ((long long)c * hw));
    out[i] = in[((long long)b * c + ch) * hw + p];
}
// K-FAC's statistics reduced on the device, in float64 (what the CPU engine's factors are
// made in): x (rows x cols, float32) widened into out (rows x (cols + extra)), with a ones
// column when extra is 1. A cuBLAS DGEMM of out^T out is then [X 1]^T [X 1].
extern "C" __global__ void widen_rows(double* out, const float* x, int rows, int cols, int extra) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    int w = cols + extra;
    if (i >= (long long)rows * w) return;
    int r = (int)(i / w), k = (int)(i % w);
    out[i] = k < cols ? (double)x[(long long)r * cols + k] : 1.0;
}
// A convolution's bias statistic: out[b, j] = sum_t g[(b spatial + t), j] (g NHWC rows,
// float32, summed in float64 in position order).
extern "C" __global__ void sum_positions(double* out, const float* g, int batch, int spatial, int c) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * c) return;
    int b = i / c, j = i % c;
    double s = 0.0;
    for (int t = 0; t < spatial; ++t) s += (double)g[((long long)b * spatial + t) * c + j];
    out[i] = s;
}
"#;

/// Every kernel [`SOURCE`] defines.
pub const KERNELS: [&str; 14] = [
    "relu_fwd",
    "relu_bwd",
    "tanh_fwd",
    "tanh_bwd",
    "elu_fwd",
    "elu_bwd",
    "add_bias_rows",
    "sum_rows",
    "im2col",
    "col2im",
    "nhwc_to_nchw_bias",
    "nchw_to_nhwc",
    "widen_rows",
    "sum_positions",
];

/// NVRTC's options: IEEE float32 (no fast math, no flush to zero), so the kernels follow
/// the CPU engine's arithmetic up to rounding order.
fn options(arch: &str) -> Vec<String> {
    vec![format!("--gpu-architecture={arch}"), "--ftz=false".into(), "--prec-div=true".into(), "--prec-sqrt=true".into(), "--fmad=false".into()]
}

/// NVRTC's version, `(major, minor)`.
pub fn nvrtc_version() -> Result<(i32, i32), String> {
    super::libs::preload().require(&super::libs::COMPILER)?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: the library is loaded (checked above); the pointers are valid.
    unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) }.result().map_err(|e| format!("nvrtcVersion: {e:?}"))?;
    Ok((major, minor))
}

/// [`SOURCE`] compiled to a CUBIN for `arch` (`sm_90` for H100/H200): needs NVRTC, not a
/// GPU. Errors carry NVRTC's log.
pub fn compile_cubin(arch: &str) -> Result<Vec<u8>, String> {
    compile_source(SOURCE, arch)
}

/// `source` compiled to a CUBIN for `arch`.
fn compile_source(source: &str, arch: &str) -> Result<Vec<u8>, String> {
    use cudarc::nvrtc::{result, sys};
    super::libs::preload().require(&super::libs::COMPILER)?;
    let src = CString::new(source).map_err(|_| "a NUL byte in the kernel source".to_string())?;
    let name = CString::new("acktr_kernels.cu").expect("no NUL");
    let prog = result::create_program(&src, Some(&name)).map_err(|e| format!("nvrtcCreateProgram: {e:?}"))?;
    let out = (|| {
        // SAFETY: `prog` was just created and is destroyed below, once.
        if let Err(e) = unsafe { result::compile_program(prog, &options(arch)) } {
            // SAFETY: as above.
            let log = unsafe { result::get_program_log(prog) }.ok().map(|l| {
                // SAFETY: NVRTC's log is NUL-terminated.
                unsafe { CStr::from_ptr(l.as_ptr() as *const c_char) }.to_string_lossy().into_owned()
            });
            return Err(format!("NVRTC could not compile the kernels for {arch}: {e:?}\n{}", log.unwrap_or_default()));
        }
        let mut size = 0usize;
        // SAFETY: `prog` compiled; `size` is a valid pointer.
        unsafe { sys::nvrtcGetCUBINSize(prog, &mut size) }.result().map_err(|e| format!("nvrtcGetCUBINSize: {e:?}"))?;
        let mut cubin = vec![0u8; size];
        // SAFETY: the buffer holds `size` bytes, as NVRTC asked.
        unsafe { sys::nvrtcGetCUBIN(prog, cubin.as_mut_ptr() as *mut c_char) }.result().map_err(|e| format!("nvrtcGetCUBIN: {e:?}"))?;
        Ok(cubin)
    })();
    // SAFETY: created above, destroyed once.
    unsafe { result::destroy_program(prog) }.map_err(|e| format!("nvrtcDestroyProgram: {e:?}"))?;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CI's check of every kernel without a GPU (`pip install nvidia-cuda-nvrtc==13.0.88`,
    /// `ACKTR_CUDA_LIB_DIR`): an sm_90 CUBIN, an ELF holding each kernel's symbol.
    #[test]
    fn every_kernel_compiles_to_an_sm90_cubin() {
        if let Err(e) = super::super::libs::preload().require(&super::super::libs::COMPILER) {
            println!("skipped: no NVRTC ({e})");
            return;
        }
        let (major, minor) = nvrtc_version().unwrap();
        println!("NVRTC {major}.{minor}");
        let cubin = compile_cubin("sm_90").unwrap();
        assert_eq!(&cubin[..4], b"\x7fELF", "a CUBIN is an ELF image");
        for k in KERNELS {
            assert!(cubin.windows(k.len()).any(|w| w == k.as_bytes()), "kernel `{k}` is not in the CUBIN");
        }
    }

    #[test]
    fn a_kernel_that_does_not_compile_is_an_error_with_nvrtcs_log() {
        if super::super::libs::preload().require(&super::super::libs::COMPILER).is_err() {
            println!("skipped: no NVRTC");
            return;
        }
        let e = compile_source("extern \"C\" __global__ void broken(float* y) { y[0] = undeclared; }", "sm_90").unwrap_err();
        assert!(e.contains("NVRTC could not compile") && e.contains("undeclared"), "{e}");
    }
}
