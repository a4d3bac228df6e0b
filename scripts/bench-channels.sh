#!/usr/bin/env bash
# Does a notification channel that is down slow the transaction pipeline? Send latency on a
# real anvil (tests/src/bin/send-latency.rs: sequential sends, accept and send->CONFIRMED
# medians) with no channel configured, then with Telegram, Discord, Slack and email all
# configured and all refusing connections (a port nothing listens on), runs alternated.
# Usage: scripts/bench-channels.sh [sends-per-run] [rounds]   (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-200}"
ROUNDS="${2:-3}"
cargo build --release --locked -p waiaas-daemon -p waiaas-e2e --bins --quiet
BIN="${CARGO_TARGET_DIR:-target}/release"
# A port nothing listens on: bound, then closed.
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
failing=(
  WAIAAS_NOTIFICATIONS_ENABLED=true
  WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE=true
  WAIAAS_NOTIFICATIONS_RATE_LIMIT_RPM=0
  WAIAAS_TELEGRAM_BOT_TOKEN=123456:bench-token
  WAIAAS_NOTIFICATIONS_TELEGRAM_CHAT_ID=42
  WAIAAS_TELEGRAM_API_BASE_URL="http://127.0.0.1:$DEAD"
  WAIAAS_NOTIFICATIONS_DISCORD_WEBHOOK_URL="http://127.0.0.1:$DEAD/api/webhooks/1/bench"
  WAIAAS_NOTIFICATIONS_SLACK_WEBHOOK_URL="http://127.0.0.1:$DEAD/services/T/B/bench"
  WAIAAS_NOTIFICATIONS_SMTP_HOST=127.0.0.1
  WAIAAS_NOTIFICATIONS_SMTP_PORT="$DEAD"
  WAIAAS_NOTIFICATIONS_SMTP_SECURITY=none
  WAIAAS_NOTIFICATIONS_SMTP_FROM=wallet@example.com
  WAIAAS_NOTIFICATIONS_SMTP_TO=owner@example.com
)
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r: no channel"
  WAIAAS_BIN="$BIN/waiaas" "$BIN/send-latency" evm "$COUNT"
  echo "== round $r: four channels, all refusing connections"
  env "${failing[@]}" WAIAAS_BIN="$BIN/waiaas" "$BIN/send-latency" evm "$COUNT"
done
