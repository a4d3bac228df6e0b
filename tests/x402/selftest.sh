#!/usr/bin/env bash
# Run the x402 harness self-tests: selftest.mjs (anvil + Eip3009Token + server.mjs + the
# reference EVM client), then selftest_svm.mjs (solana-test-validator + SPL Token and Token-2022
# mints + server.mjs + the reference Solana client; skipped when no validator is installed).
# Installs the pinned packages into the cache first (install.sh).
# Needs node >= 20 and anvil (cargo run -p waiaas-testnodes --bin waiaas-testnodes -- install-anvil);
# for Solana, ~/.cache/waiaas/solana/bin/solana-test-validator (scripts/install-solana-validator.sh).
# X402_ONLY=evm|svm runs one of them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
X402_MODULES="$("$here/install.sh")"
export X402_MODULES
rc=0
if [ "${X402_ONLY:-evm}" = evm ]; then node "$here/selftest.mjs" "$@" || rc=1; fi
if [ "${X402_ONLY:-svm}" = svm ]; then node "$here/selftest_svm.mjs" "$@" || rc=1; fi
exit $rc
