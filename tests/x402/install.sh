#!/usr/bin/env bash
# Install the x402 reference packages (@x402/core, @x402/evm, @x402/express, @x402/fetch, viem,
# express; exact versions in package.json, the whole tree pinned by package-lock.json) once into a
# cache outside the repo and print that directory (it holds node_modules/ and a copy of deps.mjs,
# which server.mjs and selftest.mjs import by absolute path: ESM ignores NODE_PATH).
# Env: WAIAAS_CACHE (default ~/.cache/waiaas). The cache dir is named after the @x402/core
# version and holds a copy of the lock file; a different lock file reinstalls.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(node -p "require('$here/package.json').dependencies['@x402/core']")"
cache="${WAIAAS_CACHE:-$HOME/.cache/waiaas}/x402/$version"
command -v node >/dev/null || { echo "node is required" >&2; exit 1; }
if [ ! -f "$cache/node_modules/@x402/core/package.json" ] || ! cmp -s "$here/package-lock.json" "$cache/package-lock.json"; then
    command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
    mkdir -p "$cache"
    cp "$here/package.json" "$here/package-lock.json" "$cache/"
    (cd "$cache" && npm ci --no-audit --no-fund --silent >&2)
fi
cmp -s "$here/deps.mjs" "$cache/deps.mjs" || cp "$here/deps.mjs" "$cache/deps.mjs"
echo "$cache"
