#!/usr/bin/env bash
# The tools the test suite drives, installed (or found) once and cached, before any test runs:
# tests install nothing themselves.
#  - anvil (npm package @foundry-rs/anvil, pinned) into ~/.cache/waiaas/anvil;
#  - the official MCP Python SDK in a venv, ~/.cache/waiaas/mcp-venv (scripts/test-mcp.sh);
#  - aiosmtpd (pinned) in a venv, ~/.cache/waiaas/smtp-venv: the real SMTP server
#    (tests/fixtures/smtp_server.py) of the email channel's test;
#  - the x402 reference packages (npm @x402/*, pinned by tests/x402/package-lock.json) into
#    ~/.cache/waiaas/x402 (tests/x402/install.sh), the x402 tests' resource server and facilitator;
#  - the DeFi protocols' published artifacts (npm @uniswap/v2-core and v2-periphery, pinned by
#    tests/defi/package-lock.json) into ~/.cache/waiaas/defi (tests/defi/install.sh);
#  - PostgreSQL's server binaries (Debian's postgresql package, with apt-get as root) for the
#    PostgreSQL store's tests (tests/nodes/src/postgres.rs starts a throwaway cluster);
#  - Chromium for the API reference page's headless rendering and the admin UI's browser tests (Debian's package, with
#    apt-get as root; the test says SKIPPED when it cannot be had).
# solana-test-validator has its own script (scripts/install-solana-validator.sh, ~30 min once).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --locked -p waiaas-testnodes --bin waiaas-testnodes -- install-anvil >/dev/null
bash scripts/test-mcp.sh >/dev/null
SMTP_VENV="${WAIAAS_CACHE_DIR:-$HOME/.cache/waiaas}/smtp-venv"
if ! "$SMTP_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('aiosmtpd') != '1.4.6')" 2>/dev/null; then
    python3 -m venv "$SMTP_VENV" >&2
    "$SMTP_VENV/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==1.4.6" >&2
fi
bash tests/x402/install.sh >/dev/null
bash tests/defi/install.sh >/dev/null
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing postgresql (apt-get)" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "PostgreSQL's server binaries are missing (install Debian's postgresql package): the PostgreSQL tests will fail" >&2
    fi
fi
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing chromium (apt-get)" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || echo "chromium could not be installed: its rendering test will say SKIPPED" >&2
    else
        echo "chromium is not installed and cannot be (not root or no apt-get): its rendering test will say SKIPPED" >&2
    fi
fi
