#!/usr/bin/env bash
# The regression gate's false-alarm rate, measured: `acktr check SPEC --seed-offset K` for
# K = 1000, 2000, ..., N x 1000 against the committed reference. New seeds change every number
# and nothing else, so every row flagged `better` or `worse` is a false alarm. Prints a
# Markdown table (one line per offset) and the totals, with the machine and the date.
# Usage: scripts/false_alarms.sh [N (default 6)] [SPEC (default regression)]
# Not run by .ci/run (N full runs of the spec); README "Regression checks" quotes its output.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-6}"
spec="${2:-regression}"
cargo build --release --quiet
bin=target/release/acktr
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "False alarms of \`acktr check $spec\`: $n runs with new seeds against results/$spec ($(git rev-parse --short HEAD), $cpu, $(date -u +%Y-%m-%d))"
echo
echo "| seed offset | rows tested | same | better | worse | identical |"
echo "|---:|---:|---:|---:|---:|---:|"
tested=0; flagged=0
for k in $(seq 1 "$n"); do
  off=$((k * 1000))
  set +e
  "$bin" check "$spec" --seed-offset "$off" --no-progress > /dev/null 2>&1
  code=$?
  set -e
  if [ "$code" -gt 1 ]; then echo "check failed with exit code $code at offset $off" >&2; exit "$code"; fi
  csv="$(ls -t target/acktr-check/*/"$spec"/check.csv | head -1)"
  count() { awk -F, -v v="$1" 'NR > 1 && $NF == v' "$csv" | wc -l; }
  same=$(count same); better=$(count better); worse=$(count worse); ident=$(count identical)
  rows=$((same + better + worse))
  tested=$((tested + rows)); flagged=$((flagged + better + worse))
  echo "| $off | $rows | $same | $better | $worse | $ident |"
done
echo
echo "$flagged of $tested rows flagged over $n runs (each run's chance of any flag is at most 0.05 by Holm's correction)."
