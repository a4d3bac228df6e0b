#!/usr/bin/env bash
# Install the x402 reference packages (@x402/core, @x402/evm, @x402/svm, @x402/express, @x402/fetch,
# viem, @solana/kit and the @solana-program clients, express; exact versions in package.json, the
# whole tree pinned by package-lock.json) once into a
# cache outside the repo and print that directory (it holds node_modules/ and a copy of deps.mjs,
# which server.mjs and selftest.mjs import by absolute path: ESM ignores NODE_PATH).
# Env: WAIAAS_CACHE (default ~/.cache/waiaas). The cache dir is named after the @x402/core
# version and a hash of package-lock.json (`x402/2.27.0-<12 hex>`), so checkouts with different
# lock files (branches) each keep their own install instead of reinstalling over each other;
# an install goes to a temporary directory that is renamed into place when complete, so a
# concurrent run never sees a half-installed tree.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "node is required" >&2; exit 1; }
version="$(node -p "require('$here/package.json').dependencies['@x402/core']")"
lockhash="$(sha256sum "$here/package-lock.json" | cut -c1-12)"
root="${WAIAAS_CACHE:-$HOME/.cache/waiaas}/x402"
cache="$root/$version-$lockhash"
if [ ! -f "$cache/node_modules/@x402/core/package.json" ]; then
    command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
    mkdir -p "$root"
    tmp="$(mktemp -d "$cache.tmp.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    cp "$here/package.json" "$here/package-lock.json" "$here/deps.mjs" "$tmp/"
    (cd "$tmp" && npm ci --no-audit --no-fund --silent >&2)
    # Another run may have finished first: then its tree stays and this one is removed.
    mv -T "$tmp" "$cache" 2>/dev/null || true
fi
cmp -s "$here/deps.mjs" "$cache/deps.mjs" || cp "$here/deps.mjs" "$cache/deps.mjs"
echo "$cache"
