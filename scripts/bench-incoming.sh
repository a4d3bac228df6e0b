#!/usr/bin/env bash
# The incoming-monitor bench (issue 20): one watcher following 1,000 monitored wallets on a
# real anvil, on a release build (tests/src/bin/incoming-bench.rs). Not a test: it prints the
# time from a block to its records and the node calls per block (README "Performance").
#
#   scripts/bench-incoming.sh                              # 1,000 wallets, 20 blocks x 50 transfers
#   scripts/bench-incoming.sh --wallets 100 --blocks 5     # a custom run
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p waiaas-daemon --bin waiaas -p waiaas-e2e --bin incoming-bench
T="${CARGO_TARGET_DIR:-target}/release"
export WAIAAS_BIN="$T/waiaas"
exec "$T/incoming-bench" "$@"
