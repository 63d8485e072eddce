#!/usr/bin/env bash
# The regression gate (README "Regression checks"): runs specs/regression.yaml with this build
# and compares it with the committed reference under results/regression/. Exit 1 when a row
# got worse (the table says which), 2 on bad input.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet -- check regression --no-progress
