#!/usr/bin/env bash
# Run the x402 harness self-test (selftest.mjs): anvil + Eip3009Token + server.mjs + the
# reference client. Installs the pinned packages into the cache first (install.sh).
# Needs node >= 20 and anvil (cargo run -p waiaas-testnodes --bin waiaas-testnodes -- install-anvil).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
X402_MODULES="$("$here/install.sh")"
export X402_MODULES
exec node "$here/selftest.mjs" "$@"
