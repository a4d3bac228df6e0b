#!/usr/bin/env bash
# Screenshots of every admin UI page, for the docs: a real daemon and anvil with some data
# (tests/admin-ui/harness.js), logged in through the page, each page saved full-page as
# docs/admin/<page>-<width>.png at 1280x800 and 390x844.
#
#   scripts/admin-screenshots.sh [OUT_DIR]               (default: docs/admin)
#
# The same setup as the browser tests (scripts/test-admin-ui.sh: Chromium, node, the daemon
# built with the UI inside, playwright-core in ~/.cache/waiaas/admin-ui); a missing Chromium
# fails here whatever WAIAAS_ALLOW_SKIP says.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/docs/admin}" && cd "${1:-$ROOT/docs/admin}" && pwd)"
WAIAAS_ALLOW_SKIP=0 exec bash "$ROOT/scripts/test-admin-ui.sh" --screenshots "$OUT"
