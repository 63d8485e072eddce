#!/usr/bin/env bash
# Regression check: README's first command (Table 2 at the smoke profile) finishes from a
# fresh checkout (MuJoCo provisioned by the build), and its report has, for every MuJoCo task,
# a finished ACKTR, A2C and TRPO row with a reward, and the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
cargo run --release --quiet -- --results "$results" reproduce table2 --profile smoke --no-progress
dir="$results/table2"
for f in report.md report.csv report.tex curves_timesteps.png curves_timesteps.svg curves_wallclock.png curves_wallclock.svg; do
  test -s "$dir/$f" || { echo "ci/table2_smoke.sh: missing $dir/$f" >&2; exit 1; }
done
cat "$dir/report.md"
for env in Ant-v5 HalfCheetah-v5 Hopper-v5 InvertedPendulum-v5 InvertedDoublePendulum-v5 Reacher-v5 Swimmer-v5 Walker2d-v5; do
  for algo in ACKTR A2C TRPO; do
    grep -qE "^\| $env \| $algo \| 2/2 \| [^|]* \| -?[0-9]" "$dir/report.md" \
      || { echo "ci/table2_smoke.sh: no finished $algo row with a value for $env" >&2; exit 1; }
  done
done
echo "ci/table2_smoke.sh: ok"
