#!/usr/bin/env bash
# The regression gate's power, shown: a copy of specs/regression.yaml with one harmful change
# of the size of results/ablation_reacher's (ACKTR's Reacher row with its log std left
# unpreconditioned), checked against the committed reference. Prints the check's table and
# its exit code (1: the gate fails, as it should). The copy's other rows reuse the
# reference build's cells when this build made them.
# Usage: scripts/planted_regression.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed 's/acktr: {preset: baselines_mujoco}/acktr: {preset: baselines_mujoco, log_std: unpreconditioned}/' specs/regression.yaml > "$tmp/regression.yaml"
grep -q 'log_std: unpreconditioned' "$tmp/regression.yaml"
cargo build --release --quiet
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "Planted regression, \`acktr check\` of specs/regression.yaml with ACKTR's Reacher log std unpreconditioned ($(git rev-parse --short HEAD), $cpu, $(date -u +%Y-%m-%d)):"
echo
set +e
target/release/acktr check "$tmp/regression.yaml" --no-progress 2>/dev/null | sed -n '/^| Environment/,/^$/p'
code=${PIPESTATUS[0]}
set -e
echo "exit code $code"
