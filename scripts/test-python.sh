#!/usr/bin/env bash
# Build the `waiaas` Python wheel (maturin) and run its pytest suite against real local
# chains, the way a user installs it: the wheel goes into a FRESH virtualenv.
#
#   scripts/test-python.sh [pytest args...]
#
# Needs python3 (>= 3.9, with venv), cargo, and npm the first time (anvil, installed by the
# shared node harness into ~/.cache/waiaas). Build tools (maturin, pytest, mypy) live in a reused
# virtualenv under ~/.cache/waiaas/py-tools; CARGO_TARGET_DIR is honoured.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${WAIAAS_CACHE_DIR:-$HOME/.cache/waiaas}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TARGET_DIR="$TARGET"
PY="${PYTHON:-python3}"
MATURIN_SPEC="maturin>=1.16,<2"
PYTEST_SPEC="pytest>=7"
MYPY_SPEC="mypy>=1.10,<3"

say() { printf '==> %s\n' "$*" >&2; }

command -v "$PY" >/dev/null || { echo "error: $PY not found (set PYTHON=...)" >&2; exit 2; }
"$PY" - <<'EOF' || { echo "error: Python >= 3.9 with the venv module is required" >&2; exit 2; }
import sys, venv  # noqa: F401
sys.exit(0 if sys.version_info >= (3, 9) else 1)
EOF

# 1. Build tools, reused across runs.
TOOLS="$CACHE/py-tools"
if [ ! -x "$TOOLS/bin/python" ]; then
    say "creating the build-tools virtualenv $TOOLS"
    mkdir -p "$CACHE"
    "$PY" -m venv "$TOOLS"
fi
if ! "$TOOLS/bin/python" -c 'import maturin, pytest, mypy' 2>/dev/null; then
    say "installing $MATURIN_SPEC, $PYTEST_SPEC and $MYPY_SPEC into $TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --upgrade pip
    "$TOOLS/bin/python" -m pip install --quiet "$MATURIN_SPEC" "$PYTEST_SPEC" "$MYPY_SPEC"
fi

# 2. The binaries the suite runs: the daemon and the node harness.
say "building the waiaas daemon and the waiaas-testnodes harness"
(cd "$ROOT" && cargo build --quiet -p waiaas-daemon --bin waiaas -p waiaas-testnodes --bin waiaas-testnodes)

# 3. The wheel (abi3, CPython >= 3.9), into an empty directory.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/waiaas-py.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say "building the wheel with maturin"
"$TOOLS/bin/maturin" build --quiet --manifest-path "$ROOT/bindings-python/Cargo.toml" \
    --interpreter "$TOOLS/bin/python" --out "$WORK/wheels" >&2
WHEEL="$(ls "$WORK"/wheels/waiaas-*.whl)"
say "built $(basename "$WHEEL")"

# 4. A fresh virtualenv with only the wheel and pytest, as a user would install it.
say "installing the wheel into a fresh virtualenv"
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL" "$PYTEST_SPEC"

# 5. The suite, from a directory where the source tree's package cannot shadow the wheel.
export WAIAAS_BIN="${WAIAAS_BIN:-$TARGET/debug/waiaas}"
export WAIAAS_TESTNODES_BIN="${WAIAAS_TESTNODES_BIN:-$TARGET/debug/waiaas-testnodes}"
export WAIAAS_EXAMPLES_DIR="$ROOT/examples"
# test_typing.py runs mypy --strict (a build tool, not installed by any test) on sample agents.
export WAIAAS_MYPY="$TOOLS/bin/mypy"
cd "$WORK"
"$WORK/venv/bin/python" -c 'import waiaas, sys; print("waiaas", waiaas.__version__, "from", waiaas.__file__, file=sys.stderr)'
"$WORK/venv/bin/python" -m pytest -p no:cacheprovider --rootdir "$ROOT/bindings-python" "$ROOT/bindings-python/tests" "$@"
