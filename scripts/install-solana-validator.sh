#!/usr/bin/env bash
# Install solana-test-validator (crate agave-validator, see VERSION) into the WAIaaS tool
# cache, where the test harness (tests/nodes/src/solana.rs) looks for it:
#   ${WAIAAS_CACHE_DIR:-~/.cache/waiaas}/solana/bin/solana-test-validator
# Does nothing when it is already there. Building takes ~30 min on 2 cores and ~2.5 GB of
# scratch space, which is deleted afterwards. Needs the Debian packages below (installed
# when missing, with sudo when not root).
set -euo pipefail

VERSION=4.2.2
CACHE="${WAIAAS_CACHE_DIR:-$HOME/.cache/waiaas}"
ROOT="$CACHE/solana"
BIN="$ROOT/bin/solana-test-validator"

if [ -x "$BIN" ]; then
    echo "solana-test-validator is already installed: $BIN"
    exit 0
fi

command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }

missing=()
for pkg in libclang-dev clang cmake protobuf-compiler libudev-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "installing build dependencies: ${missing[*]}"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

mkdir -p "$ROOT"
build_dir="$(mktemp -d "${TMPDIR:-/tmp}/agave-build.XXXXXX")"
trap 'rm -rf "$build_dir"' EXIT
echo "building agave-validator $VERSION (solana-test-validator) into $ROOT; this takes about 30 minutes"
CARGO_TARGET_DIR="$build_dir" cargo install --locked "agave-validator@$VERSION" \
    --bin solana-test-validator --root "$ROOT"
"$BIN" --version
