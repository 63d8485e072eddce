#!/usr/bin/env bash
# The CUDA engine without a GPU (README "GPU engine"): the `cuda` feature builds, and every
# kernel compiles with NVRTC to an sm_90 CUBIN (NVRTC from NVIDIA's pip wheel, 90 MB; no
# driver and no GPU needed). The device tests print "skipped: no CUDA device" here.
set -euo pipefail
cd "$(dirname "$0")/.."
wheel_dir="target/cuda-wheels"
lib_dir="$wheel_dir/nvidia/cu13/lib"
if [ ! -f "$lib_dir/libnvrtc.so.13" ]; then
  echo "ci/cuda_kernels.sh: installing nvidia-cuda-nvrtc==13.0.88 into $wheel_dir"
  python3 -m pip install --quiet --no-deps --target "$wheel_dir" nvidia-cuda-nvrtc==13.0.88
fi
export ACKTR_CUDA_LIB_DIR="$(cd "$lib_dir" && pwd)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
cargo test --release --features cuda --lib -- nets::cuda kfac:: conformance::kfac cuda_tests --nocapture --test-threads 1 2>&1 | tee "$out"
# The compile test must have run, not been skipped: NVRTC was installed above.
grep -q "NVRTC 13\." "$out" || { echo "ci/cuda_kernels.sh: NVRTC was installed but the compile test did not run" >&2; exit 1; }
echo "ci/cuda_kernels.sh: ok"
