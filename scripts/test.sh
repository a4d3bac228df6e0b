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
# Lints before any test (fail fast): formatting (rustfmt.toml), then clippy with warnings
# denied (the workspace lints deny unwrap/expect/panic outside tests). Clippy runs after the
# build so that it reuses the build's proc-macros and build-script outputs.
cargo fmt --all -- --check
# No import cycles between the core's modules (nor hidden ones through impl Engine methods).
python3 scripts/module-cycles.py --methods
cargo build --workspace --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
# What the tests drive (anvil, the MCP SDK venv, Chromium), installed once and cached.
bash scripts/install-test-tools.sh
bash scripts/cargo-test-parallel.sh
# The host-language suites install the bindings as a user would (wheel into a fresh venv,
# npm tarball into a fresh directory) and run against the same real local chains.
bash scripts/test-python.sh -q
bash scripts/test-node.sh
# The admin web UI in Debian's headless Chromium (playwright-core, cached in ~/.cache/waiaas/admin-ui).
bash scripts/test-admin-ui.sh
# Upstream's own SDKs and MCP server (vendored in tests/compat/vendor) against our daemon.
bash scripts/test-compat.sh
# Upstream's wallet SDK (npm @waiaas/wallet-sdk 2.12.0, cached in ~/.cache/waiaas/wallet-sdk) against our push relay.
bash waiaas-relay/tests/compat/run.sh
# The container test (docker/ in a real dockerd) needs root and, unless docker.io is already
# installed, apt-get. It reuses the suite's debug build (WAIAAS_DOCKER_PROFILE=debug) instead
# of a release build; `bash scripts/test-docker.sh` alone tests the release binary.
if [ "$(id -u)" != 0 ]; then
    echo "container test skipped: not root (scripts/test-docker.sh starts its own dockerd)"
elif ! command -v dockerd >/dev/null && ! command -v apt-get >/dev/null; then
    echo "container test skipped: no dockerd, and no apt-get to install Debian's docker.io"
else
    rc=0
    WAIAAS_DOCKER_PROFILE=debug bash scripts/test-docker.sh || rc=$?
    if [ $rc -eq 77 ]; then
        echo "container test skipped: see the SKIP reason above"
    elif [ $rc -ne 0 ]; then
        exit $rc
    fi
fi
