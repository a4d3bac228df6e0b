#!/usr/bin/env bash
# The admin web UI (/admin) in a real browser: tests/admin-ui/admin.test.js (`node --test`)
# drives the system Chromium through playwright-core against a real daemon and anvil.
#
#   scripts/test-admin-ui.sh [node --test args...]     e.g. --test-name-pattern='CSRF'
#   scripts/test-admin-ui.sh --screenshots OUT_DIR     every page as a PNG instead (scripts/admin-screenshots.sh)
#
# Needs node (>= 20) with npm, cargo, and Chromium at /usr/bin/chromium (or $WAIAAS_CHROMIUM;
# nothing downloads a browser). Without Chromium it fails, unless WAIAAS_ALLOW_SKIP=1: then it
# prints "SKIPPED: no chromium" and succeeds. playwright-core is installed once, pinned by
# tests/admin-ui/package-lock.json, into ~/.cache/waiaas/admin-ui (scripts/npm-harness.sh).
# Builds the daemon and the node harness (a no-op when built); CARGO_TARGET_DIR is honoured.
# Failure screenshots go to $WAIAAS_ADMIN_UI_ARTIFACTS (default /tmp/waiaas-admin-ui-artifacts).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TARGET_DIR="$TARGET"
CHROMIUM="${WAIAAS_CHROMIUM:-/usr/bin/chromium}"

say() { printf '==> %s\n' "$*" >&2; }

if [ ! -x "$CHROMIUM" ]; then
    if [ "${WAIAAS_ALLOW_SKIP:-0}" = "1" ]; then
        echo "SKIPPED: no chromium"
        exit 0
    fi
    echo "error: no chromium at $CHROMIUM (apt-get install chromium, set WAIAAS_CHROMIUM, or WAIAAS_ALLOW_SKIP=1 to skip)" >&2
    exit 1
fi
command -v node >/dev/null || { echo "error: node not found (Node.js >= 20 is required)" >&2; exit 2; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || { echo "error: Node.js >= 20 is required (found $(node --version))" >&2; exit 2; }

say "building the waiaas daemon and the waiaas-testnodes harness"
(cd "$ROOT" && cargo build --quiet -p waiaas-daemon --bin waiaas -p waiaas-testnodes --bin waiaas-testnodes)

say "installing playwright-core (tests/admin-ui/package-lock.json)"
HARNESS="$(bash "$ROOT/scripts/npm-harness.sh" "$ROOT/tests/admin-ui" admin-ui playwright-core)"

export WAIAAS_BIN="${WAIAAS_BIN:-$TARGET/debug/waiaas}"
export WAIAAS_TESTNODES_BIN="${WAIAAS_TESTNODES_BIN:-$TARGET/debug/waiaas-testnodes}"
export WAIAAS_CHROMIUM="$CHROMIUM"
export WAIAAS_REPO="$ROOT"
export NODE_PATH="$HARNESS/node_modules${NODE_PATH:+:$NODE_PATH}"

cd "$ROOT"
if [ "${1:-}" = "--screenshots" ]; then
    say "taking the screenshots into $2"
    exec node tests/admin-ui/screenshots.js "$2"
fi
say "running node --test tests/admin-ui/admin.test.js"
node --test --test-concurrency=1 "$@" tests/admin-ui/admin.test.js
