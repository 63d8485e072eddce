#!/usr/bin/env bash
# What a GPU machine needs to run the CUDA engine's device tests (README "GPU
# engine"): those machines have the NVIDIA driver and CUDA 13 pip wheels but no Rust
# toolchain, and one call to them carries at most 64 MiB. Builds here, into
# target/gpu-bundle/: the `acktr` binary and the library's test binary, both with
# `--features cuda`, stripped and xz-compressed, `libmujoco.so.3.17.0` (the binaries'
# RUNPATH points into this machine's target/, so run.sh puts the bundle first on
# LD_LIBRARY_PATH), the Pong ROM (the GPU machine reaches no package index; md5-checked
# there as everywhere), and run.sh, which runs the device tests and the K-FAC conformance
# cases on the GPU, then `acktr bench` of A2C and ACKTR on Pong with the CUDA engine (the
# paper's Table 3):
#
#   benches/gpu_bundle.sh            (here; prints the bundle's size)
#   bash target/gpu-bundle/run.sh    (there; or here, where every device test says skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/gpu-bundle
rm -rf "$out"
mkdir -p "$out"
cargo build --release --features cuda --bin acktr
tests=$(cargo test --release --features cuda --lib --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m["target"]["kind"] == ["lib"]:
        print(m["executable"])')
[ -x "$tests" ] || { echo "gpu_bundle.sh: no library test binary" >&2; exit 1; }
cp target/release/acktr "$out/acktr"
cp "$tests" "$out/acktr-lib-tests"
strip "$out/acktr" "$out/acktr-lib-tests"
xz -T0 -6 "$out/acktr" "$out/acktr-lib-tests"
cp target/mujoco-3.17.0/lib/libmujoco.so.3.17.0 "$out/"
mkdir -p "$out/roms" "$out/kfac-cases"
cp target/ale-py-0.12.1/roms/pong.bin "$out/roms/"
cp golden/kfac/*.json "$out/kfac-cases/"
if [ -d ../shared/kfac-conformance/cases ]; then cp ../shared/kfac-conformance/cases/*.json "$out/kfac-cases/"; fi
# The newest glibc symbol version the binaries need (the GPU machine's glibc must be newer).
need=$(xz -dc "$out/acktr.xz" > "$out/.probe" && objdump -T "$out/.probe" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1; rm -f "$out/.probe")
echo "$need" > "$out/glibc-needed"
cat > "$out/run.sh" <<'EOF'
#!/usr/bin/env bash
# Runs the CUDA engine's tests on this machine (see benches/gpu_bundle.sh).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
xz -dc "$here/acktr.xz" > "$work/acktr" && xz -dc "$here/acktr-lib-tests.xz" > "$work/acktr-lib-tests"
chmod +x "$work/acktr" "$work/acktr-lib-tests"
export LD_LIBRARY_PATH="$here${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${ACKTR_CUDA_LIB_DIR:-}" ]; then
  # NVIDIA's CUDA 13 wheels: site-packages/nvidia/cu13/lib of whichever python3 has them.
  d=$(python3 -c 'import importlib.util, os
s = importlib.util.find_spec("nvidia")
for p in (list(s.submodule_search_locations) if s else []):
    if os.path.isdir(os.path.join(p, "cu13", "lib")):
        print(os.path.join(p, "cu13", "lib")); break' 2>/dev/null || true)
  [ -n "$d" ] && export ACKTR_CUDA_LIB_DIR="$d"
fi
echo "glibc here: $(ldd --version 2>&1 | head -1); the binaries need $(cat "$here/glibc-needed")"
echo "ACKTR_CUDA_LIB_DIR=${ACKTR_CUDA_LIB_DIR:-}"
command -v nvidia-smi >/dev/null && nvidia-smi -L
"$work/acktr" --version || exit 1
export ACKTR_ATARI_ROMS="$here/roms" KFAC_CASES="$here/kfac-cases"
# The lib tests look for golden/kfac under the build's source tree; KFAC_CASES carries them.
"$work/acktr-lib-tests" nets::cuda conformance::kfac --nocapture --test-threads 1
rc=$?
# Table 3 (batch 640 = 32 copies x 20 steps; the paper: ACKTR 852, A2C 1162 timesteps/s).
threads=$(nproc)
for algo in a2c acktr:baselines_atari; do
  for engine in cuda; do
    echo "== bench $algo --engine $engine --threads $threads"
    timeout 240 "$work/acktr" --engine "$engine" bench --env PongNoFrameskip-v4 --algo "$algo" --network atari_acktr \
      --num-envs 32 --steps-per-update 20 --threads "$threads" --steps "${BENCH_STEPS:-25600}" || rc=1
  done
done
echo "== bench none (the environment alone) --threads $threads"
"$work/acktr" bench --env PongNoFrameskip-v4 --algo none --num-envs 32 --threads "$threads" --steps 64000 || rc=1
exit $rc
EOF
chmod +x "$out/run.sh"
du -sh "$out"
ls -la "$out"
