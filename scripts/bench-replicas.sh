#!/usr/bin/env bash
# The replica bench (issue 19): decisions per second, send latency and concurrent sends of one
# wallet on SQLite, PostgreSQL with one daemon and PostgreSQL with three, against a real anvil
# and a real PostgreSQL, on a release build. Not a test: it prints figures (README
# "Performance"). Args go to replica-bench (--decisions N --single S --concurrent C).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p waiaas-daemon --bin waiaas -p waiaas-e2e --bin replica-bench
T="${CARGO_TARGET_DIR:-target}/release"
export WAIAAS_BIN="$T/waiaas"
exec "$T/replica-bench" "$@"
