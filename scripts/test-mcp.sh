#!/usr/bin/env bash
# Set up the Python venv with the official MCP SDK that tests/tests/e2e/mcp.rs drives
# (`~/.cache/waiaas/mcp-venv`, override with WAIAAS_CACHE_DIR). Idempotent; prints the
# venv's python. scripts/install-test-tools.sh runs it before the tests.
set -euo pipefail
MCP_VERSION="${WAIAAS_MCP_PY_VERSION:-2.3.0}"
CACHE="${WAIAAS_CACHE_DIR:-$HOME/.cache/waiaas}"
VENV="$CACHE/mcp-venv"
PY="$VENV/bin/python"
if [ -x "$PY" ] && "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$MCP_VERSION')" 2>/dev/null; then
  echo "$PY"
  exit 0
fi
command -v python3 >/dev/null || { echo "python3 (>= 3.10) is required for the MCP client test" >&2; exit 1; }
mkdir -p "$CACHE"
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "mcp==$MCP_VERSION" >&2
echo "$PY"
