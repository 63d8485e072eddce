#!/usr/bin/env bash
# The binary's allocator (the book's Performance, "How the CPU engine saves time"): training
# timesteps/s and peak resident memory of A2C and ACKTR from pixels (Reacher, 42x42, batch
# 8000 as 8 copies x 1000 steps, one thread), with jemalloc keeping freed memory for reuse
# (the binary's setting) against jemalloc returning it to the system at once
# (`_RJEM_MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0`: every large buffer mapped and
# zeroed afresh, as glibc does for blocks over 32 MB). Both in one run, alternating, so the
# ratio is of one machine's state. Prints the machine, the date and a Markdown table.
#
#   benches/allocator_table.sh          (needs `cargo build --release` and GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/acktr
[ -x "$bin" ] || { echo "allocator_table.sh: build first: cargo build --release" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "allocator_table.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# steps/s and peak resident GB of one bench, under the allocator configuration $1.
measure() {
  local conf=$1; shift
  _RJEM_MALLOC_CONF=$conf /usr/bin/time -f "%M" -o "$out" "$bin" bench "$@" 2>/dev/null |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["steps_per_sec"])'
  python3 -c "print($(cat "$out") / 1024 / 1024)"
}
keep="dirty_decay_ms:-1,muzzy_decay_ms:-1"
give="dirty_decay_ms:0,muzzy_decay_ms:0"
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores; $(date -u +%Y-%m-%d)"
echo
echo "| from pixels | kept: timesteps/s | kept: peak GB | returned: timesteps/s | returned: peak GB | speed ratio |"
echo "|---|---:|---:|---:|---:|---:|"
for algo in a2c acktr; do
  args=(--env Reacher-v5 --algo "$algo" --network pixel_mujoco --pixels 42 --num-envs 8 --steps-per-update 1000 --steps 16000)
  mapfile -t k < <(measure "$keep" "${args[@]}")
  mapfile -t g < <(measure "$give" "${args[@]}")
  python3 -c "print(f'| {\"$algo\".upper()} | {${k[0]}:,.0f} | {${k[1]}:.1f} | {${g[0]}:,.0f} | {${g[1]}:.1f} | {${k[0]}/${g[0]}:.2f}x |')"
done
