#!/usr/bin/env bash
# The whole test suite, from a clean clone: builds the workspace (the end-to-end tests
# drive the real `waiaas` binary) and runs every Rust test.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
cargo build --workspace --locked
cargo test --workspace --locked
