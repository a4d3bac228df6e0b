#!/usr/bin/env bash
# The load bench (issue 15): sends against a real anvil, on a release build, then the read
# figures (scripts/bench-daemon.sh: master-auth and session-auth req/s with wrk, launch time,
# idle RSS). Not a test: it prints figures (README "Performance").
#
#   scripts/bench-load.sh                       # 50 single sends; 1 x 300; 1 x 1000; 20 x 50
#   scripts/bench-load.sh --per-wallet 300 --kills 3    # one custom run (args of load-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p waiaas-daemon --bin waiaas -p waiaas-e2e --bin load-bench
T="${CARGO_TARGET_DIR:-target}/release"
export WAIAAS_BIN="$T/waiaas"
if [ $# -gt 0 ]; then
    exec "$T/load-bench" "$@"
fi
# Status polls once a second: each round asks for every unfinished send, and faster rounds
# take the daemon's CPU from the sends themselves ("on chain" is watched on the node).
"$T/load-bench" --single 50 --per-wallet 300 --poll-ms 1000
"$T/load-bench" --single 0 --per-wallet 1000 --poll-ms 1000
"$T/load-bench" --single 0 --wallets 20 --per-wallet 50 --poll-ms 1000
bash scripts/bench-daemon.sh 10
