#!/usr/bin/env bash
# Build the daemon and run it on the default data dir (~/.waiaas, or $WAIAAS_DATA_DIR).
# A fresh data dir is provisioned with a random master password in <data>/recovery.key.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p waiaas-daemon
BIN="${CARGO_TARGET_DIR:-target}/release/waiaas"
export WAIAAS_AUTO_PROVISION="${WAIAAS_AUTO_PROVISION:-true}"
exec "$BIN" start "$@"
