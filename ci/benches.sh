#!/usr/bin/env bash
# The benchmarks (benches/, README "Performance") build: `cargo test` does not compile them,
# and the bench scripts (benches/*.sh) need them.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --benches
echo "ci/benches.sh: ok"
