#!/usr/bin/env bash
# MuJoCo from pixels (the book's "MuJoCo from pixels", Figure 4): frames/s of the pixel
# observation (42x42, fast and default visuals) and training timesteps/s of A2C and ACKTR
# from pixels (the `pixel_mujoco` torso, batch 8000 as 8 copies x 1000 steps), each against
# the state-based environment's own rate measured in the same run (env-only first and last,
# their mean the row's rate, since this shared VM drifts). One thread. Prints the machine,
# the date and a Markdown table.
#
#   benches/pixels_table.sh [TASK...]      (default Reacher-v5; needs `cargo build --release`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/acktr
[ -x "$bin" ] || { echo "pixels_table.sh: build first: cargo build --release" >&2; exit 2; }
tasks=("$@")
[ ${#tasks[@]} -gt 0 ] || tasks=(Reacher-v5)
rate() { "$bin" bench "$@" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["steps_per_sec"])'; }
pct() { python3 -c "print(f'{100*$1/$2:.2f}%')"; }
num() { python3 -c "print(f'{$1:,.0f}')"; }
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores; $(date -u +%Y-%m-%d)"
echo
echo "| task | state env only (first, last) | pixels, fast | pixels, default | A2C from pixels | ACKTR from pixels |"
echo "|---|---:|---:|---:|---:|---:|"
for env in "${tasks[@]}"; do
  n1=$(rate --env "$env" --algo none --steps 20000)
  fast=$(rate --env "$env" --algo none --steps 3000 --pixels 42 --visuals fast)
  slow=$(rate --env "$env" --algo none --steps 300 --pixels 42 --visuals default)
  a=$(rate --env "$env" --algo a2c --network pixel_mujoco --pixels 42 --num-envs 8 --steps-per-update 1000 --steps 16000)
  b=$(rate --env "$env" --algo acktr --network pixel_mujoco --pixels 42 --num-envs 8 --steps-per-update 1000 --steps 16000)
  n2=$(rate --env "$env" --algo none --steps 20000)
  n=$(python3 -c "print(($n1+$n2)/2)")
  echo "| $env | $(num "$n1"), $(num "$n2") | $(num "$fast") ($(pct "$fast" "$n")) | $(num "$slow") ($(pct "$slow" "$n")) | $(num "$a") ($(pct "$a" "$n")) | $(num "$b") ($(pct "$b" "$n")) |"
done
