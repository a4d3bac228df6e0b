#!/usr/bin/env bash
# Upstream's wallet SDK (npm @waiaas/wallet-sdk, installed once into a cache outside the repo)
# against our relay binary: device lifecycle and the sign-response mailbox (wallet-sdk.mjs).
# Env: WAIAAS_RELAY_BIN (default: build waiaas-relay and use it from the target dir),
#      WALLET_SDK_VERSION (default 2.12.0), WAIAAS_CACHE (default ~/.cache/waiaas).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
version="${WALLET_SDK_VERSION:-2.12.0}"
cache="$("$here/install.sh")"
bin="${WAIAAS_RELAY_BIN:-}"
if [ -z "$bin" ]; then
    (cd "$root" && cargo build -q -p waiaas-relay --locked)
    bin="${CARGO_TARGET_DIR:-$root/target}/debug/waiaas-relay"
fi
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# Upstream's e2e settings: provider pushwoosh with fake credentials, api_key e2e-test-api-key.
cat > "$work/config.toml" <<TOML
[relay.server]
port = 0
host = "127.0.0.1"
api_key = "e2e-test-api-key"
[relay.push]
provider = "pushwoosh"
[relay.push.pushwoosh]
api_token = "fake-token"
application_code = "FAKE-00000"
TOML
RELAY_CONFIG="$work/config.toml" RELAY_DB="$work/relay.db" "$bin" > "$work/out" 2> "$work/log" &
pid=$!
url=""
for _ in $(seq 100); do
    url="$(sed -n 's/^waiaas-relay ready on \(http[^ ]*\).*/\1/p' "$work/out")"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { echo "the relay did not start"; cat "$work/log"; exit 1; }
RELAY_URL="$url" RELAY_API_KEY=e2e-test-api-key WALLET_SDK_DIR="$cache" WALLET_SDK_VERSION="$version" node "$here/wallet-sdk.mjs"
