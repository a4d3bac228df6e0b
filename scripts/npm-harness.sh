#!/usr/bin/env bash
# Install a test harness's npm packages once into a cache outside the repo and print that
# directory (it holds node_modules/ and copies of the EXTRA files).
#
#   scripts/npm-harness.sh DIR NAME MARKER [EXTRA...]
#
# DIR holds package.json and package-lock.json (the whole tree pinned); NAME names the cache
# (${WAIAAS_CACHE:-~/.cache/waiaas}/NAME); MARKER is the package whose version, with a hash of
# package-lock.json, names the install (`NAME/<version>-<12 hex>`), so checkouts with different
# lock files (branches) each keep their own install instead of reinstalling over each other. An
# install goes to a temporary directory renamed into place when complete, so a concurrent run
# never sees a half-installed tree. EXTRA files of DIR are copied beside node_modules/ (and
# refreshed when they change).
set -euo pipefail
dir="$(cd "$1" && pwd)"; name="$2"; marker="$3"; shift 3
command -v node >/dev/null || { echo "node is required" >&2; exit 1; }
version="$(node -p "require('$dir/package.json').dependencies['$marker']")"
lockhash="$(sha256sum "$dir/package-lock.json" | cut -c1-12)"
root="${WAIAAS_CACHE:-$HOME/.cache/waiaas}/$name"
cache="$root/$version-$lockhash"
if [ ! -f "$cache/node_modules/$marker/package.json" ]; then
    command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
    mkdir -p "$root"
    tmp="$(mktemp -d "$cache.tmp.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    cp "$dir/package.json" "$dir/package-lock.json" "$tmp/"
    (cd "$tmp" && npm ci --no-audit --no-fund --silent >&2)
    # Another run may have finished first: then its tree stays and this one is removed.
    mv -T "$tmp" "$cache" 2>/dev/null || true
fi
for f in "$@"; do
    cmp -s "$dir/$f" "$cache/$f" || cp "$dir/$f" "$cache/$f"
done
echo "$cache"
