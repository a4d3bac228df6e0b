#!/usr/bin/env bash
# Upstream-client compatibility run: the upstream WAIaaS clients, unchanged, against OUR daemon.
#
#   scripts/test-compat.sh            install the clients if missing, then run every driver
#   scripts/test-compat.sh --install  only install the clients
#
# Clients (upstream v2.15.0; python-sdk 1.7.0), installed once into ~/.cache/waiaas/compat
# (WAIAAS_CACHE_DIR overrides ~/.cache/waiaas):
#   - the TypeScript SDK `@waiaas/sdk` and the MCP server `@waiaas/mcp`: from the npm registry
#     when published there, else built from upstream's source (tsc, as upstream's own build does)
#     and installed from `npm pack` tarballs, like a published package would be;
#   - the Python SDK `waiaas`: from PyPI when published, else `pip install python-sdk/` from
#     upstream's source. It lives in its own venv (compat/py-venv): OUR Python bindings use the
#     same import name `waiaas`.
# Upstream's source is read from a git directory holding the tag v2.15.0:
# WAIAAS_UPSTREAM_GIT (a clone or mirror of upstream's repository minhoyoo-iotrust/WAIaaS), else the mirror
# at /work/.mirror/minhoyoo-iotrust+WAIaaS/repo, else WAIAAS_UPSTREAM_SRC (a plain checkout of
# v2.15.0). With none of these and nothing installed, the run is skipped (exit 0, "SKIPPED").
#
# The run: anvil posing as ethereum-sepolia (waiaas-testnodes), our daemon on a temp data dir
# with an ephemeral port, an EVM wallet + session made with curl (master password), the wallet
# funded from anvil dev account 0, then the drivers in tests/compat/:
#   sdk.mjs (TS SDK + owner client), mcp.mjs (MCP client -> @waiaas/mcp over stdio),
#   python_sdk.py (Python SDK). Each prints one line per call "PASS|FAIL|QUIRK|DIFF client op: ...".
# FAIL = an SDK call threw, or its result lacked a field the client's own types declare; DIFF =
# our raw response differs from upstream's OpenAPI document (or upstream's documented behaviour)
# in a way the client tolerates; QUIRK = the upstream client disagrees with upstream's own server
# (it would fail against upstream too). Exit status: non-zero when any driver reports FAIL.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${WAIAAS_CACHE_DIR:-$HOME/.cache/waiaas}"
COMPAT="$CACHE/compat"
# Upstream's MIT-licensed clients at v2.15.0, built once from its source (npm pack / source
# tarball) and kept in the repo: neither is published, and CI cannot reach GitHub.
VENDOR="$ROOT/tests/compat/vendor"
UPSTREAM_TAG="v2.15.0"
SDK_VERSION="2.15.0"
PYSDK_VERSION="1.7.0"
# What upstream's pnpm-lock.yaml resolves at v2.15.0 for the MCP server's build.
MCP_SDK_VERSION="1.26.0"
ZOD_VERSION="3.25.76"
TS_VERSION="5.9.3"
NOBLE_CURVES_VERSION="1.9.7"
NOBLE_HASHES_VERSION="1.8.0"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TARGET_DIR="$TARGET"

say() { printf '==> %s\n' "$*" >&2; }

node_ok() { [ -f "$COMPAT/node/node_modules/@waiaas/sdk/dist/index.js" ] && [ -f "$COMPAT/node/node_modules/@waiaas/mcp/dist/index.js" ] \
    && [ -f "$COMPAT/node/node_modules/@modelcontextprotocol/sdk/package.json" ] && [ -d "$COMPAT/node/node_modules/@noble/curves" ]; }
py_ok() { [ -x "$COMPAT/py-venv/bin/python" ] && "$COMPAT/py-venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('waiaas') != '$PYSDK_VERSION')" 2>/dev/null; }

# Upstream's source tree at $UPSTREAM_TAG, extracted into $COMPAT/src. Returns 1 when there is none.
upstream_src() {
    [ -f "$COMPAT/src/.tag-$UPSTREAM_TAG" ] && return 0
    local git="${WAIAAS_UPSTREAM_GIT:-}"
    if [ -z "$git" ] && [ -d /work/.mirror/minhoyoo-iotrust+WAIaaS/repo ]; then git=/work/.mirror/minhoyoo-iotrust+WAIaaS/repo; fi
    rm -rf "$COMPAT/src" && mkdir -p "$COMPAT/src"
    if [ -n "$git" ] && git --git-dir="$git" rev-parse -q --verify "$UPSTREAM_TAG^{commit}" >/dev/null 2>&1; then
        say "extracting upstream $UPSTREAM_TAG sources from $git"
        git --git-dir="$git" archive "$UPSTREAM_TAG" packages/sdk packages/mcp python-sdk tsconfig.base.json | tar -x -C "$COMPAT/src"
    elif [ -n "${WAIAAS_UPSTREAM_SRC:-}" ] && [ -d "$WAIAAS_UPSTREAM_SRC/packages/sdk" ]; then
        say "copying upstream sources from $WAIAAS_UPSTREAM_SRC"
        mkdir -p "$COMPAT/src/packages"
        cp -r "$WAIAAS_UPSTREAM_SRC/packages/sdk" "$WAIAAS_UPSTREAM_SRC/packages/mcp" "$COMPAT/src/packages/"
        cp -r "$WAIAAS_UPSTREAM_SRC/python-sdk" "$WAIAAS_UPSTREAM_SRC/tsconfig.base.json" "$COMPAT/src/"
    else
        rm -rf "$COMPAT/src"
        return 1
    fi
    rm -rf "$COMPAT/src/packages"/*/src/__tests__ "$COMPAT/src/python-sdk/tests"
    touch "$COMPAT/src/.tag-$UPSTREAM_TAG"
}

install_node() {
    command -v npm >/dev/null || { echo "npm is required" >&2; return 1; }
    mkdir -p "$COMPAT/node"
    local sdk_spec mcp_spec
    if [ -f "$VENDOR/waiaas-sdk-$SDK_VERSION.tgz" ] && [ -f "$VENDOR/waiaas-mcp-$SDK_VERSION.tgz" ]; then
        say "installing @waiaas/sdk and @waiaas/mcp $SDK_VERSION from the vendored tarballs in tests/compat/vendor"
        sdk_spec="$VENDOR/waiaas-sdk-$SDK_VERSION.tgz"; mcp_spec="$VENDOR/waiaas-mcp-$SDK_VERSION.tgz"
    elif npm view "@waiaas/sdk@$SDK_VERSION" version >/dev/null 2>&1 && npm view "@waiaas/mcp@$SDK_VERSION" version >/dev/null 2>&1; then
        say "installing @waiaas/sdk and @waiaas/mcp $SDK_VERSION from the npm registry"
        sdk_spec="@waiaas/sdk@$SDK_VERSION"; mcp_spec="@waiaas/mcp@$SDK_VERSION"
    else
        say "@waiaas/sdk@$SDK_VERSION is not on the npm registry: building it and @waiaas/mcp from upstream's source"
        upstream_src || return 3
        local b="$COMPAT/build"
        rm -rf "$b" && mkdir -p "$b/packages"
        cp -r "$COMPAT/src/packages/sdk" "$COMPAT/src/packages/mcp" "$b/packages/"
        cp "$COMPAT/src/tsconfig.base.json" "$b/"
        cat > "$b/package.json" <<EOF
{"name": "waiaas-compat-build", "private": true, "type": "module",
 "dependencies": {"typescript": "$TS_VERSION", "@types/node": "^22", "@modelcontextprotocol/sdk": "$MCP_SDK_VERSION", "zod": "$ZOD_VERSION"}}
EOF
        (cd "$b" && npm install --silent --no-audit --no-fund >&2)
        (cd "$b/packages/sdk" && ../../node_modules/.bin/tsc -p tsconfig.build.json >&2)
        (cd "$b/packages/mcp" && ../../node_modules/.bin/tsc -p tsconfig.build.json --noCheck >&2)
        mkdir -p "$COMPAT/tarballs"
        (cd "$b/packages/sdk" && npm pack --silent --pack-destination "$COMPAT/tarballs" >&2)
        (cd "$b/packages/mcp" && npm pack --silent --pack-destination "$COMPAT/tarballs" >&2)
        sdk_spec="$COMPAT/tarballs/waiaas-sdk-$SDK_VERSION.tgz"; mcp_spec="$COMPAT/tarballs/waiaas-mcp-$SDK_VERSION.tgz"
    fi
    cat > "$COMPAT/node/package.json" <<EOF
{"name": "waiaas-compat-clients", "private": true, "type": "module"}
EOF
    # The MCP client side is the same @modelcontextprotocol/sdk the server uses; zod is what the
    # published @waiaas/mcp imports without declaring (hoisted from the MCP SDK); the noble
    # libraries only sign owner messages for the owner-client check.
    (cd "$COMPAT/node" && npm install --silent --no-audit --no-fund --engine-strict=false "$sdk_spec" "$mcp_spec" \
        "@modelcontextprotocol/sdk@$MCP_SDK_VERSION" "zod@$ZOD_VERSION" \
        "@noble/curves@$NOBLE_CURVES_VERSION" "@noble/hashes@$NOBLE_HASHES_VERSION" >&2)
}

install_py() {
    local py="${PYTHON:-python3}"
    command -v "$py" >/dev/null || { echo "python3 (>= 3.10) is required" >&2; return 1; }
    rm -rf "$COMPAT/py-venv"
    "$py" -m venv "$COMPAT/py-venv"
    local pip=("$COMPAT/py-venv/bin/python" -m pip install --quiet --disable-pip-version-check)
    if [ -f "$VENDOR/waiaas-python-sdk-$PYSDK_VERSION.tar.gz" ]; then
        say "installing upstream's python-sdk $PYSDK_VERSION from the vendored source in tests/compat/vendor"
        local d; d="$(mktemp -d)"
        tar xzf "$VENDOR/waiaas-python-sdk-$PYSDK_VERSION.tar.gz" -C "$d"
        "${pip[@]}" "$d/python-sdk"
        rm -rf "$d"
    elif "${pip[@]}" "waiaas==$PYSDK_VERSION" 2>/dev/null; then
        say "installed the Python SDK waiaas==$PYSDK_VERSION from PyPI"
    else
        say "waiaas==$PYSDK_VERSION is not on PyPI: installing upstream's python-sdk/ from source"
        upstream_src || return 3
        "${pip[@]}" "$COMPAT/src/python-sdk"
    fi
}

install_all() {
    mkdir -p "$COMPAT"
    local rc=0
    node_ok || install_node || rc=$?
    [ $rc -eq 0 ] || return $rc
    py_ok || install_py || rc=$?
    return $rc
}

set +e
install_all
rc=$?
set -e
if [ $rc -eq 3 ]; then
    echo "SKIPPED: the upstream clients are neither published nor available as source (set WAIAAS_UPSTREAM_GIT)" >&2
    exit 0
elif [ $rc -ne 0 ]; then
    echo "error: installing the upstream clients failed" >&2
    exit $rc
fi
[ "${1:-}" = "--install" ] && { say "clients installed in $COMPAT"; exit 0; }


# --- The run --------------------------------------------------------------------------------

command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }
if [ -n "${WAIAAS_BIN:-}" ]; then
    TESTNODES="${WAIAAS_TESTNODES_BIN:-$TARGET/debug/waiaas-testnodes}"
else
    say "building the waiaas daemon and the waiaas-testnodes harness (no-op when fresh)"
    (cd "$ROOT" && cargo build --quiet -p waiaas-daemon --bin waiaas -p waiaas-testnodes --bin waiaas-testnodes)
    WAIAAS_BIN="$TARGET/debug/waiaas"
    TESTNODES="$TARGET/debug/waiaas-testnodes"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/waiaas-compat.XXXXXX")"
ANVIL_PID=""; DAEMON_PID=""
cleanup() {
    local rc=$?
    set +e
    if [ -n "$DAEMON_PID" ]; then kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; fi
    exec 7>&- 2>/dev/null
    if [ -n "$ANVIL_PID" ]; then kill "$ANVIL_PID" 2>/dev/null; wait "$ANVIL_PID" 2>/dev/null; fi
    if [ "${KEEP_WORK:-}" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=process.argv[1].split(".").reduce((o,k)=>o==null?o:o[k],JSON.parse(s));process.stdout.write(v==null?"":String(v))})' "$1"; }
wait_for() { # wait_for SECONDS TEST-COMMAND...
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}

# anvil posing as ethereum-sepolia; it lives while fd 7 (its stdin) is open.
mkfifo "$WORK/anvil.in"
"$TESTNODES" anvil 11155111 <"$WORK/anvil.in" >"$WORK/anvil.out" 2>"$WORK/anvil.err" &
ANVIL_PID=$!
exec 7>"$WORK/anvil.in"
wait_for 120 grep -q '"rpc"' "$WORK/anvil.out" || { cat "$WORK/anvil.err" >&2; echo "anvil did not start" >&2; exit 1; }
ANVIL_RPC="$(json rpc <"$WORK/anvil.out")"
say "anvil at $ANVIL_RPC"

# Our daemon, on a temp data dir and an ephemeral port (the env the e2e harness sets).
PW="compat-test-password-12345"
DATA="$WORK/data"
env -u WAIAAS_MASTER_PASSWORD -u WAIAAS_DATA_DIR "$WAIAAS_BIN" init --data-dir "$DATA" >/dev/null
env -u WAIAAS_DATA_DIR WAIAAS_MASTER_PASSWORD="$PW" WAIAAS_DAEMON_PORT=0 WAIAAS_ORACLE_ENABLED=false \
    WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM=0 WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM=0 WAIAAS_SECURITY_RATE_LIMIT_TX_RPM=0 \
    WAIAAS_SECURITY_AUTOSTOP_UNUSUAL_ACTIVITY_THRESHOLD=0 \
    WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA="$ANVIL_RPC" WAIAAS_PRICES_ETH=2000 \
    "$WAIAAS_BIN" start --data-dir "$DATA" </dev/null >"$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_for 30 test -s "$DATA/daemon.addr" || { cat "$WORK/daemon.log" >&2; echo "daemon did not start" >&2; exit 1; }
BASE="http://$(tr -d '[:space:]' <"$DATA/daemon.addr")"
say "daemon at $BASE"

# An EVM wallet with its session (master password), a policy, and 10 ETH from dev account 0.
W="$(curl -sf -X POST "$BASE/v1/wallets" -H 'Content-Type: application/json' -H "X-Master-Password: $PW" \
    -d '{"name": "compat-evm", "chain": "ethereum", "environment": "testnet"}')" || { echo "wallet creation failed" >&2; exit 1; }
WALLET_ID="$(json id <<<"$W")"; WALLET_ADDRESS="$(json publicKey <<<"$W")"
SESSION_TOKEN="$(json session.token <<<"$W")"; SESSION_ID="$(json session.id <<<"$W")"
curl -sf -X POST "$BASE/v1/policies" -H 'Content-Type: application/json' -H "X-Master-Password: $PW" \
    -d "{\"walletId\": \"$WALLET_ID\", \"type\": \"RATE_LIMIT\", \"rules\": {\"max_requests\": 1000, \"window_seconds\": 60}}" >/dev/null \
    || { echo "policy creation failed" >&2; exit 1; }
# The MCP run signs EIP-712 typed data of a (made-up) app contract: typed data that is no
# known authorization needs its verifyingContract on the wallet's CONTRACT_WHITELIST.
curl -sf -X POST "$BASE/v1/policies" -H 'Content-Type: application/json' -H "X-Master-Password: $PW" \
    -d "{\"walletId\": \"$WALLET_ID\", \"type\": \"CONTRACT_WHITELIST\", \"rules\": {\"contracts\": [{\"address\": \"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"}]}}" >/dev/null \
    || { echo "policy creation failed" >&2; exit 1; }
curl -sf -X POST "$ANVIL_RPC" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_sendTransaction\",\"params\":[{\"from\":\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\",\"to\":\"$WALLET_ADDRESS\",\"value\":\"0x8ac7230489e80000\"}]}" >/dev/null \
    || { echo "funding failed" >&2; exit 1; }
say "wallet $WALLET_ID ($WALLET_ADDRESS) funded with 10 ETH"

export WAIAAS_COMPAT_DIR="$COMPAT" WAIAAS_BASE_URL="$BASE" WAIAAS_SESSION_TOKEN="$SESSION_TOKEN" WAIAAS_SESSION_ID="$SESSION_ID" \
    WAIAAS_MASTER_PASSWORD="$PW" WAIAAS_WALLET_ID="$WALLET_ID" WAIAAS_WALLET_ADDRESS="$WALLET_ADDRESS" ANVIL_RPC="$ANVIL_RPC" \
    WAIAAS_NETWORK=ethereum-sepolia WAIAAS_DAEMON_DATA_DIR="$DATA"
unset WAIAAS_DATA_DIR
FAILED=()
run() { # run NAME COMMAND...
    say "driver: $1"
    set +e
    timeout 150 "${@:2}" 2>&1 | tee "$WORK/$1.log"
    local rc=${PIPESTATUS[0]}
    set -e
    [ "$rc" -eq 0 ] || FAILED+=("$1 (exit $rc)")
}
run ts-sdk node "$ROOT/tests/compat/sdk.mjs" agent
run mcp node "$ROOT/tests/compat/mcp.mjs"
run py-sdk "$COMPAT/py-venv/bin/python" "$ROOT/tests/compat/python_sdk.py"
# Last: the owner phase activates and recovers the kill switch.
run ts-owner node "$ROOT/tests/compat/sdk.mjs" owner

echo
grep -h '^SUMMARY' "$WORK"/*.log || true
P=$(cat "$WORK"/*.log | grep -c '^PASS' || true); F=$(cat "$WORK"/*.log | grep -c '^FAIL' || true)
echo "compat: $P passed, $F failed"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "failing drivers: ${FAILED[*]}" >&2
    echo "--- daemon log (tail) ---" >&2; tail -n 40 "$WORK/daemon.log" >&2
    exit 1
fi
