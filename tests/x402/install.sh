#!/usr/bin/env bash
# Install the x402 reference packages (@x402/core, @x402/evm, @x402/svm, @x402/express, @x402/fetch,
# viem, @solana/kit and the @solana-program clients, express; exact versions in package.json, the
# whole tree pinned by package-lock.json) once into ~/.cache/waiaas/x402 (scripts/npm-harness.sh)
# and print that directory (it holds node_modules/ and a copy of deps.mjs, which server.mjs and
# selftest.mjs import by absolute path: ESM ignores NODE_PATH). Env: WAIAAS_CACHE.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../../scripts/npm-harness.sh" "$here" x402 @x402/core deps.mjs
