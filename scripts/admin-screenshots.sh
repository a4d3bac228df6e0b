#!/usr/bin/env bash
# Screenshots of every admin UI page, for the docs: a real daemon and anvil with some data
# (tests/admin-ui/harness.js), logged in through the page, each page saved full-page as
# docs/admin/<page>-<width>.png at 1280x800 and 390x844.
#
#   scripts/admin-screenshots.sh [OUT_DIR]               (default: docs/admin)
#
# Needs node (>= 20) with npm, cargo, and Chromium at /usr/bin/chromium (or $WAIAAS_CHROMIUM).
# Builds the daemon (with the UI inside) and the node harness, and installs playwright-core
# into ~/.cache/waiaas/admin-ui like scripts/test-admin-ui.sh. CARGO_TARGET_DIR is honoured.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TARGET_DIR="$TARGET"
CHROMIUM="${WAIAAS_CHROMIUM:-/usr/bin/chromium}"
OUT="${1:-$ROOT/docs/admin}"

say() { printf '==> %s\n' "$*" >&2; }

[ -x "$CHROMIUM" ] || { echo "error: no chromium at $CHROMIUM (apt-get install chromium, or set WAIAAS_CHROMIUM)" >&2; exit 1; }
command -v node >/dev/null || { echo "error: node not found (Node.js >= 20 is required)" >&2; exit 2; }

say "building the waiaas daemon and the waiaas-testnodes harness"
(cd "$ROOT" && cargo build --quiet -p waiaas-daemon --bin waiaas -p waiaas-testnodes --bin waiaas-testnodes)

say "installing playwright-core (tests/admin-ui/package-lock.json)"
HARNESS="$(bash "$ROOT/scripts/npm-harness.sh" "$ROOT/tests/admin-ui" admin-ui playwright-core)"

export WAIAAS_BIN="${WAIAAS_BIN:-$TARGET/debug/waiaas}"
export WAIAAS_TESTNODES_BIN="${WAIAAS_TESTNODES_BIN:-$TARGET/debug/waiaas-testnodes}"
export WAIAAS_CHROMIUM="$CHROMIUM"
export WAIAAS_REPO="$ROOT"
export NODE_PATH="$HARNESS/node_modules${NODE_PATH:+:$NODE_PATH}"

say "taking the screenshots into $OUT"
node "$ROOT/tests/admin-ui/screenshots.js" "$OUT"
