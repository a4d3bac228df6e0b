#!/usr/bin/env bash
# Re-vendor the Scalar API reference bundle served at GET /reference/standalone.js.
#
# The daemon must serve its API reference with no internet (no CDN), and the build must work
# offline, so the single-file browser bundle of the npm package @scalar/api-reference is kept
# in the repository, gzip-compressed (4.9 MB -> 1.4 MB), and embedded with include_bytes!.
# This script is the only way it changes: it fetches the package with npm into
# ~/.cache/waiaas/scalar, recompresses dist/browser/standalone.js deterministically (gzip -9n)
# and records its SHA-256 and length. Then update SCALAR_VERSION in waiaas-daemon/src/openapi.rs.
#
#   scripts/update-scalar.sh [VERSION]   (default 1.76.0)
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${1:-1.76.0}"
CACHE="${HOME}/.cache/waiaas/scalar/${VERSION}"
mkdir -p "$CACHE"
if [ ! -f "$CACHE/package/dist/browser/standalone.js" ]; then
  (cd "$CACHE" && npm pack --silent "@scalar/api-reference@${VERSION}" >/dev/null && tar xzf "scalar-api-reference-${VERSION}.tgz")
fi
JS="$CACHE/package/dist/browser/standalone.js"
gzip -9 -n -c "$JS" > waiaas-daemon/assets/scalar-standalone.js.gz
echo "$(sha256sum "$JS" | cut -d' ' -f1) $(stat -c %s "$JS")" > waiaas-daemon/assets/scalar-standalone.js.sha256
cp "$CACHE/package/LICENSE" waiaas-daemon/assets/scalar-LICENSE 2>/dev/null || true
echo "vendored @scalar/api-reference@${VERSION}: $(cat waiaas-daemon/assets/scalar-standalone.js.sha256)"
