#!/usr/bin/env bash
# Load figures for the daemon on this machine: master-auth and session-auth req/s (wrk),
# launch-to-healthy time and idle RSS. Needs wrk (Debian package `wrk`; installed if missing).
# Usage: scripts/bench-daemon.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-10}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
cargo build --release -p waiaas-daemon --quiet
BIN="${CARGO_TARGET_DIR:-target}/release/waiaas"
TMP=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
PW=bench-password-123
"$BIN" init --data-dir "$TMP/d" >/dev/null

start_daemon() {
  WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM=0 WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM=0 WAIAAS_MASTER_PASSWORD=$PW WAIAAS_DAEMON_PORT=0 WAIAAS_DAEMON_LOG_LEVEL=warn "$BIN" start --data-dir "$TMP/d" 2>"$TMP/log" &
  PID=$!
}

# Launch to healthy: spawn to first 200 from /health, 10 runs (the first start also hashes the password).
start_daemon; while [ ! -s "$TMP/d/daemon.addr" ]; do sleep 0.01; done; kill $PID; wait $PID 2>/dev/null || true
TIMES=()
for i in $(seq 1 10); do
  rm -f "$TMP/d/daemon.addr"
  t0=$(date +%s%N)
  start_daemon
  until [ -s "$TMP/d/daemon.addr" ] && curl -sf "http://$(cat "$TMP/d/daemon.addr")/health" >/dev/null; do sleep 0.002; done
  t1=$(date +%s%N)
  TIMES+=($(( (t1 - t0) / 1000000 )))
  kill $PID; wait $PID 2>/dev/null || true
done
echo "launch-to-healthy ms (10 runs): ${TIMES[*]}"
echo "launch-to-healthy median ms: $(printf '%s\n' "${TIMES[@]}" | sort -n | sed -n 5p)"

start_daemon
until [ -s "$TMP/d/daemon.addr" ] && curl -sf "http://$(cat "$TMP/d/daemon.addr")/health" >/dev/null; do sleep 0.01; done
BASE="http://$(cat "$TMP/d/daemon.addr")"
W=$(curl -sf -X POST "$BASE/v1/wallets" -H 'Content-Type: application/json' -H "X-Master-Password: $PW" -d '{"name":"bench","createSession":false}')
WID=$(echo "$W" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
TOK=$(curl -sf -X POST "$BASE/v1/sessions" -H 'Content-Type: application/json' -H "X-Master-Password: $PW" -d "{\"walletId\":\"$WID\"}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
sleep 1
echo "idle RSS kB: $(grep VmRSS /proc/$PID/status | awk '{print $2}')"
echo "--- no auth GET /health (the ceiling the authenticated reads are compared with)"
wrk -t2 -c32 -d"${DUR}s" --latency "$BASE/health" | grep -E 'Requests/sec|50%|99%|Non-2xx'
echo "--- master-auth GET /v1/wallets"
wrk -t2 -c32 -d"${DUR}s" --latency -H "X-Master-Password: $PW" "$BASE/v1/wallets" | grep -E 'Requests/sec|50%|99%|Non-2xx'
echo "--- session-auth GET /v1/wallets/{id}"
wrk -t2 -c32 -d"${DUR}s" --latency -H "Authorization: Bearer $TOK" "$BASE/v1/wallets/$WID" | grep -E 'Requests/sec|50%|99%|Non-2xx'
echo "RSS after load kB: $(grep VmRSS /proc/$PID/status | awk '{print $2}')"
