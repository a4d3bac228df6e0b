#!/usr/bin/env bash
# Install upstream's wallet SDK (npm @waiaas/wallet-sdk) once into a cache outside the repo and
# print that directory (it holds node_modules/@waiaas/wallet-sdk). Used by run.sh and by the
# daemon's end-to-end phone approvals (tests/tests/e2e/phone_approval.rs).
# Env: WALLET_SDK_VERSION (default 2.12.0), WAIAAS_CACHE (default ~/.cache/waiaas).
set -euo pipefail
version="${WALLET_SDK_VERSION:-2.12.0}"
cache="${WAIAAS_CACHE:-$HOME/.cache/waiaas}/wallet-sdk/$version"
command -v node >/dev/null || { echo "node is required" >&2; exit 1; }
if [ ! -f "$cache/node_modules/@waiaas/wallet-sdk/package.json" ]; then
    command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
    mkdir -p "$cache"
    [ -f "$cache/package.json" ] || echo '{"name":"waiaas-wallet-sdk-cache","private":true}' > "$cache/package.json"
    (cd "$cache" && npm install --no-audit --no-fund --silent "@waiaas/wallet-sdk@$version" >&2)
fi
echo "$cache"
