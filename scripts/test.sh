#!/usr/bin/env bash
# The whole test suite, from a clean clone. Real nodes only:
#  - anvil (EVM) is installed from npm on first use into ~/.cache/waiaas by the test harness;
#  - solana-test-validator is built once (about 30 minutes on 2 cores) into ~/.cache/waiaas
#    by scripts/install-solana-validator.sh, then reused.
# The end-to-end tests drive the real `waiaas` binary, so the workspace is built first.
# Python >= 3.9 (venv) and Node >= 18 are needed for the bindings' suites and the MCP client test.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
command -v npm >/dev/null || { echo "npm is required (anvil ships in the npm package @foundry-rs/anvil)"; exit 1; }
bash scripts/install-solana-validator.sh
cargo build --workspace --locked
cargo test --workspace --locked
# The host-language suites install the bindings as a user would (wheel into a fresh venv,
# npm tarball into a fresh directory) and run against the same real local chains.
bash scripts/test-python.sh -q
bash scripts/test-node.sh
# Upstream's own SDKs and MCP server (vendored in tests/compat/vendor) against our daemon.
bash scripts/test-compat.sh
