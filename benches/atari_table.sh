#!/usr/bin/env bash
# The Atari actor-critic's speed, every figure of README "Performance: Atari" from one run of
# commands in a row on this machine (a quiet one: nothing else running):
#
#  1. end to end on Pong, 32 copies x 20 steps (batch 640), on 1 and on 2 threads
#     (`--threads`): the wrapped environment alone, A2C and ACKTR (`baselines_atari`) with the
#     paper's conv net (appendix A.1), each as a share of the environment's own rate;
#  2. one update at batch 640 (criterion, `cargo bench --bench update`): A2C's first-order
#     update and ACKTR's, on 1 and 2 threads, and where an ACKTR update's time goes;
#  3. PyTorch's forward + backward of the same network and loss on one thread
#     (benches/torch_atari_update.py), when a python with torch is given.
#
#   benches/atari_table.sh [PYTHON_WITH_TORCH]     (needs `cargo build --release --benches`)
#
# Prints Markdown with the machine's CPU model and the date.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:-}"
bin=target/release/acktr
[ -x "$bin" ] || { echo "atari_table.sh: build first: cargo build --release --benches" >&2; exit 2; }
rate() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["steps_per_sec"])'; }
bench() { "$bin" bench --env PongNoFrameskip-v4 --num-envs 32 --steps-per-update 20 "$@" | rate; }
pct() { python3 -c "print(f'{100*$1/$2:.1f}%')"; }
declare -A r
for t in 1 2; do
  r[none$t]=$(bench --algo none --threads "$t" --steps 32000)
  r[a2c$t]=$(bench --algo a2c --network atari_acktr --threads "$t" --steps 12800)
  # 30 updates: 10 cold-start updates, then K-FAC with its pipelined decompositions.
  r[acktr$t]=$(bench --algo acktr:baselines_atari --network atari_acktr --threads "$t" --steps 19200)
done
crit=$(ACKTR_BENCH_QUICK=1 cargo bench --bench update -- 'atari_update|atari_parts|atari_kfac_host' 2>/dev/null \
  | python3 -c '
import re, sys
name = None
for line in sys.stdin:
    m = re.match(r"^(atari\S+)", line)
    if m:
        name = m.group(1)
    m = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+)", line)
    if m and name:
        v = float(m.group(1)) * {"s": 1.0, "ms": 1e-3, "µs": 1e-6}[m.group(2)]
        print(f"{name} {v}")
        name = None
')
get() { echo "$crit" | awk -v k="$1" '$1 == k {print $2}'; }
torch=""
if [ -n "$py" ]; then
  torch=$("$py" benches/torch_atari_update.py --reps 10 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["forward_backward_s_median"])')
fi
echo "Measured $(date -u +%Y-%m-%d) on $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), \`benches/atari_table.sh\`."
echo
echo "| Pong, 32 x 20 | 1 thread | share of env-only | 2 threads | share of env-only |"
echo "|---|---:|---:|---:|---:|"
for k in none a2c acktr; do
  label=$(case $k in none) echo "environment alone";; a2c) echo "A2C, paper's conv net";; acktr) echo "ACKTR \`baselines_atari\`";; esac)
  printf '| %s | %.0f | %s | %.0f | %s |\n' "$label" "${r[${k}1]}" "$(pct "${r[${k}1]}" "${r[none1]}")" "${r[${k}2]}" "$(pct "${r[${k}2]}" "${r[none2]}")"
done
fo=$(get atari_update_batch640/first_order_rmsprop)
kf=$(get atari_update_batch640/kfac)
fo2=$(get atari_update_batch640/first_order_rmsprop_2_threads)
kf2=$(get atari_update_batch640/kfac_2_threads)
echo
echo "| one update, batch 640 | seconds | ratio |"
echo "|---|---:|---:|"
[ -n "$torch" ] && printf '| PyTorch forward + backward, 1 thread | %.3f | 1 |\n' "$torch"
if [ -n "$torch" ]; then fr=$(python3 -c "print(f'{$fo/$torch:.2f}x PyTorch')"); else fr=""; fi
printf '| ours, first-order update (forward, backward, RMSProp), 1 thread | %.3f | %s |\n' "$fo" "$fr"
printf '| ours, ACKTR update, 1 thread | %.3f | %s |\n' "$kf" "$(python3 -c "print(f'{$kf/$fo:.2f}x first-order')")"
printf '| ours, first-order update, 2 threads | %.3f | |\n' "$fo2"
printf '| ours, ACKTR update, 2 threads | %.3f | %s |\n' "$kf2" "$(python3 -c "print(f'{$kf2/$fo:.2f}x the 1-thread first-order')")"
echo
echo "Where one ACKTR update's time goes (1 thread):"
echo
echo "| part | seconds |"
echo "|---|---:|"
printf '| forward pass (batch 640) | %.3f |\n' "$(get atari_parts_batch640/forward)"
printf '| the loss: forward and backward passes | %.3f |\n' "$(get atari_parts_batch640/loss_forward_backward)"
lf=$(get atari_parts_batch640/loss_and_fisher_with_statistics)
st=$(get atari_parts_batch640/statistics)
printf '| the loss and the Fisher loss, with the K-FAC statistics | %.3f |\n' "$lf"
printf '| of which the K-FAC statistics (Gram products of every layer'"'"'s inputs and output gradients, timed alone) | %.3f |\n' "$st"
printf '| of which the Fisher loss'"'"'s backward pass (the rest, less the loss'"'"'s passes) | %.3f |\n' "$(python3 -c "print($lf - $st - $(get atari_parts_batch640/loss_forward_backward))")"
printf '| K-FAC step with its eigendecompositions | %.3f |\n' "$(get atari_kfac_host_step_batch640/with_eigendecompositions)"
printf '| K-FAC step without them (preconditioning, trust region) | %.3f |\n' "$(get atari_kfac_host_step_batch640/without)"
