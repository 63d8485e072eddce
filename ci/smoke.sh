#!/usr/bin/env bash
# Regression check: the classic-control smoke spec finishes, and its report has a row with a
# value for every (environment, algorithm) of the spec.
set -euo pipefail
cd "$(dirname "$0")/.."
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
cargo run --release --quiet -- --results "$results" reproduce smoke --no-progress
report="$results/smoke/report.md"
test -f "$report" || { echo "ci/smoke.sh: no report at $report" >&2; exit 1; }
cat "$report"
expected_rows=0
for env in CartPole-v1 Pendulum-v1; do
  for algo in A2C ACKTR; do
    expected_rows=$((expected_rows + 1))
    # | env | algorithm | seeds | paper | ours | ...
    line="$(grep -E "^\| $env \| $algo \| 2/2 \| [^|]* \| -?[0-9]" "$report" || true)"
    if [ -z "$line" ]; then
      echo "ci/smoke.sh: report lacks a finished row for ($env, $algo)" >&2
      exit 1
    fi
  done
done
echo "ci/smoke.sh: ok ($expected_rows rows)"
