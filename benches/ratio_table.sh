#!/usr/bin/env bash
# The eight MuJoCo tasks' training rates against the environment's own rate, each row from
# one run of seven `acktr bench` commands in a row: env-only first and last (their mean is the row's env-only rate, since
# this shared VM drifts), then A2C and ACKTR with the same networks, twice: the default
# shared 64-64 network, and the paper's pipeline (`a2c:mujoco_pipeline` beside
# `acktr:baselines_mujoco`, separate 64-64 nets, 25 critic K-FAC steps per batch).
# One copy, batches of 2500 timesteps, one thread. Prints a Markdown table.
#
#   benches/ratio_table.sh [STEPS]        (default 25000; needs `cargo build --release`)
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-25000}"
bin=target/release/acktr
[ -x "$bin" ] || { echo "ratio_table.sh: build first: cargo build --release" >&2; exit 2; }
rate() { "$bin" bench --env "$1" --algo "$2" --steps "$steps" --num-envs 1 --steps-per-update 2500 \
  | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["steps_per_sec"])'; }
pct() { python3 -c "print(f'{100*$1/$2:.0f}%')"; }
k() { python3 -c "print(f'{$1/1000:.1f}k')"; }
ratio() { python3 -c "print(f'{$2/$1:.2f}x')"; }  # time per timestep of $1 over that of $2: rate2/rate1
echo "| task | env only (first, last) | A2C | ACKTR | ACKTR / A2C time per timestep | \`a2c:mujoco_pipeline\` | \`acktr:baselines_mujoco\` | ACKTR / A2C time per timestep |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for env in HalfCheetah-v5 Hopper-v5 Walker2d-v5 Ant-v5 Swimmer-v5 Reacher-v5 InvertedPendulum-v5 InvertedDoublePendulum-v5; do
  n1=$(rate "$env" none)
  a=$(rate "$env" a2c)
  b=$(rate "$env" acktr)
  pa=$(rate "$env" a2c:mujoco_pipeline)
  pb=$(rate "$env" acktr:baselines_mujoco)
  n2=$(rate "$env" none)
  n=$(python3 -c "print(($n1+$n2)/2)")
  echo "| $env | $(k "$n1"), $(k "$n2") | $(k "$a") ($(pct "$a" "$n")) | $(k "$b") ($(pct "$b" "$n")) | $(ratio "$b" "$a") | $(k "$pa") ($(pct "$pa" "$n")) | $(k "$pb") ($(pct "$pb" "$n")) | $(ratio "$pb" "$pa") |"
done
