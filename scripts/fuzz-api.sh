#!/usr/bin/env bash
# Fuzz the REST API from its own OpenAPI document (GET /doc) with schemathesis, against the
# real daemon on a temp data dir. Two runs:
#   1. negative: schema-violating requests. None may answer 5xx and every 4xx must be the
#      upstream error body.
#   2. positive: schema-valid requests (examples, coverage, fuzzing and stateful phases).
#      No 5xx except a chain being unreachable (502 CHAIN_ERROR for networks without a local
#      node), every response must match its documented schema, status and content type.
#   3. the operations that end the fuzzer's own session or wallet (revoke, rotate, reissue,
#      terminate, purge, suspend, link/unlink), both modes, last.
# schemathesis' data-acceptance findings (ST201 schema-violating request accepted, ST202
# schema-valid request rejected: rules a JSON schema cannot state, like address checksums)
# are counted and listed in summary.json, not failed on.
# Then every request that was rejected (4xx) in any run is sent again, in order, between two
# snapshots of the store (every table but the audit log, issued nonces and webhook delivery
# logs, plus every key file): rejected requests must change nothing. Afterwards the daemon
# must still be alive and healthy, and its log free of panics. The reports keep the
# (throwaway) credentials unsanitized so the replay can send them.
#
# EVM sepolia runs on a local anvil (from ~/.cache/waiaas, installed by the e2e harness);
# every other network's RPC points at a closed local port: nothing leaves the machine.
# Webhook creation and the routes that would end the run (shutdown, master password change,
# kill switch activation/escalation, JWT secret rotation) are not fuzzed; the e2e tests
# cover them.
#
#   scripts/fuzz-api.sh                 (FUZZ_MAX_EXAMPLES=40 per operation and mode, FUZZ_SEED=1)
# Reports (HAR, JUnit, summary.json) go to $FUZZ_OUT (default: a temp dir, printed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE="${WAIAAS_CACHE_DIR:-$HOME/.cache/waiaas}"
ST_VERSION=4.32.5
VENV="$CACHE/schemathesis-venv"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-40}"
SEED="${FUZZ_SEED:-1}"
PASSWORD="fuzz-master-password-12345"

if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  echo "installing schemathesis $ST_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$ST_VERSION"
fi

BIN="${WAIAAS_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build -q -p waiaas-daemon --locked
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/waiaas"
fi

WORK="$(mktemp -d /tmp/waiaas-fuzz.XXXXXX)"
OUT="$(realpath -m "${FUZZ_OUT:-$WORK/report}")"
mkdir -p "$OUT"
export PYTHONDONTWRITEBYTECODE=1
DATA="$WORK/data"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Keep the reports only.
  rm -rf "$DATA" "$WORK/.schemathesis"
  case "$OUT" in "$WORK"/*) ;; *) rm -rf "$WORK" ;; esac
}
trap cleanup EXIT

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Every network's RPC at a closed local port, then sepolia on anvil when it is installed.
CLOSED="http://127.0.0.1:$(free_port)"
RPC_ENV=()
while read -r key; do
  RPC_ENV+=("WAIAAS_RPC_${key^^}=$CLOSED")
done < <(grep -o 'net!("[^)]*' waiaas-core/src/network.rs | awk -F'"' '{print $8}')
ANVIL="$(find "$CACHE/anvil" -path '*bin/anvil' -type f 2>/dev/null | head -1 || true)"
if [ -n "$ANVIL" ]; then
  APORT="$(free_port)"
  "$ANVIL" --port "$APORT" --chain-id 11155111 --silent >"$WORK/anvil.log" 2>&1 &
  PIDS+=("$!")
  RPC_ENV+=("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA=http://127.0.0.1:$APORT")
  for _ in $(seq 1 100); do
    curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$APORT" -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' >/dev/null && break
    sleep 0.1
  done
  echo "anvil (ethereum-sepolia) on port $APORT"
else
  echo "anvil not installed (run the e2e tests once): every chain is unreachable"
fi

"$BIN" init --data-dir "$DATA" >/dev/null
env -u WAIAAS_DATA_DIR "${RPC_ENV[@]}" \
  WAIAAS_MASTER_PASSWORD="$PASSWORD" WAIAAS_DAEMON_PORT=0 WAIAAS_ORACLE_ENABLED=false \
  WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM=0 WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM=0 WAIAAS_SECURITY_RATE_LIMIT_TX_RPM=0 \
  WAIAAS_SECURITY_AUTOSTOP_UNUSUAL_ACTIVITY_THRESHOLD=0 WAIAAS_SECURITY_MASTER_PASSWORD_MAX_ATTEMPTS=1000000 \
  WAIAAS_SECURITY_MAX_SESSIONS_PER_WALLET=100000 \
  "$BIN" start --data-dir "$DATA" >"$WORK/daemon.log" 2>&1 </dev/null &
DAEMON=$!
PIDS+=("$DAEMON")
for _ in $(seq 1 300); do
  grep -q "ready on http://" "$WORK/daemon.log" && break
  kill -0 "$DAEMON" 2>/dev/null || { cat "$WORK/daemon.log"; exit 1; }
  sleep 0.1
done
PORT="$(grep -o 'ready on http://[0-9.:]*' "$WORK/daemon.log" | head -1 | grep -o '[0-9]*$')"
BASE="http://127.0.0.1:$PORT"
echo "daemon on $BASE, data $DATA, reports $OUT"

# Fixtures: an EVM wallet (on anvil's sepolia) whose session token the agent routes get, a
# Solana wallet, a policy and a token, so list and detail routes have something to show.
api() { curl -sS -H "X-Master-Password: $PASSWORD" -H 'Content-Type: application/json' "$@"; }
EVM="$(api -X POST "$BASE/v1/wallets" -d '{"name":"fuzz-evm","chain":"ethereum","environment":"testnet"}')"
TOKEN="$("$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["session"]["token"])' <<<"$EVM")"
EVM_ID="$("$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$EVM")"
if [ -n "$ANVIL" ]; then
  # 100 ETH on anvil, so example sends go all the way to a confirmed transaction.
  ADDR="$("$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])' <<<"$EVM")"
  curl -sS -H 'Content-Type: application/json' "http://127.0.0.1:$APORT" \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"anvil_setBalance\",\"params\":[\"$ADDR\",\"0x56bc75e2d63100000\"]}" >/dev/null
fi
api -X POST "$BASE/v1/wallets" -d '{"name":"fuzz-sol","chain":"solana","environment":"testnet","createSession":false}' >/dev/null
api -X POST "$BASE/v1/policies" -d "{\"walletId\":\"$EVM_ID\",\"type\":\"SPENDING_LIMIT\",\"rules\":{\"instant_max_usd\":10}}" >/dev/null
api -X POST "$BASE/v1/tokens" -d '{"network":"ethereum-sepolia","address":"0x5FbDB2315678afecb367f032d93F642f64180aa3","symbol":"FZZ","name":"Fuzz","decimals":18}' >/dev/null

SNAP="$ROOT/scripts/fuzz_api_check.py"
"$VENV/bin/python" "$SNAP" snapshot "$DATA" "$WORK/before.json"

# Not fuzzed (they end or lock the run; covered by the e2e tests): shutdown, master password,
# kill switch activation/escalation, JWT secret rotation, webhook creation (a webhook's URL
# would be called).
EXCLUDE=(
  --exclude-operation-id shutdown --exclude-operation-id changeMasterPassword
  --exclude-operation-id activateKillSwitch --exclude-operation-id escalateKillSwitch
  --exclude-operation-id ownerActivateKillSwitch --exclude-operation-id rotateSecret
  --exclude-operation-id createWebhook --exclude-operation-id adminCreateWebhook
)
# Fuzzed last, on their own: they revoke, rotate or strand the fuzzer's own session.
LAST=(revokeSession rotateSession reissueSession deleteWallet purgeWallet suspendWallet unlinkSessionWallet linkSessionWallet)
EXCLUDE_LAST=(); INCLUDE_LAST=()
for op in "${LAST[@]}"; do EXCLUDE_LAST+=(--exclude-operation-id "$op"); INCLUDE_LAST+=(--include-operation-id "$op"); done
ST=("$VENV/bin/st" run "$BASE/doc" -H "X-Master-Password: $PASSWORD" -H "Authorization: Bearer $TOKEN"
    --seed "$SEED" -n "$MAX_EXAMPLES" --workers 1 --request-timeout 30 --no-color
    --output-sanitize false "${EXCLUDE[@]}")

set +e
cd "$WORK"  # schemathesis keeps its .schemathesis/ cache in the working directory, not in the repo
echo "== negative run"
"${ST[@]}" "${EXCLUDE_LAST[@]}" --mode negative --phases examples,coverage,fuzzing \
  --report har,junit --report-dir "$OUT/negative" >"$OUT/negative.txt" 2>&1
NEG_RC=$?
tail -n 25 "$OUT/negative.txt"
"$VENV/bin/python" "$SNAP" snapshot "$DATA" "$WORK/after-negative.json"
echo "== positive run"
"${ST[@]}" "${EXCLUDE_LAST[@]}" --mode positive --phases examples,coverage,fuzzing,stateful \
  --report har,junit --report-dir "$OUT/positive" >"$OUT/positive.txt" 2>&1
POS_RC=$?
tail -n 25 "$OUT/positive.txt"
echo "== session- and wallet-ending operations"
"${ST[@]}" "${INCLUDE_LAST[@]}" --mode all --phases examples,coverage,fuzzing,stateful \
  --report har,junit --report-dir "$OUT/last" >"$OUT/last.txt" 2>&1
LAST_RC=$?
tail -n 25 "$OUT/last.txt"
set -e

echo "== replaying every rejected request against a snapshot of the store"
"$VENV/bin/python" "$SNAP" snapshot "$DATA" "$WORK/before-replay.json"
"$VENV/bin/python" "$SNAP" replay "$OUT" "$OUT/replay.json"
"$VENV/bin/python" "$SNAP" snapshot "$DATA" "$WORK/after-replay.json"

ALIVE=1
kill -0 "$DAEMON" 2>/dev/null || ALIVE=0
HEALTH="$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health" || true)"
cp "$WORK/daemon.log" "$OUT/daemon.log"
"$VENV/bin/python" "$SNAP" analyze --out "$OUT" --before "$WORK/before.json" --after-negative "$WORK/after-negative.json" \
  --alive "$ALIVE" --health "$HEALTH" --st-rc "negative=$NEG_RC,positive=$POS_RC,last=$LAST_RC" \
  --before-replay "$WORK/before-replay.json" --after-replay "$WORK/after-replay.json" --replay "$OUT/replay.json"
