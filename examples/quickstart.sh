#!/usr/bin/env bash
# The WAIaaS quick start: four commands from nothing to an MCP-ready wallet pair.
#
#   waiaas init                     data dir + config.toml (+ a generated master password)
#   waiaas start                    the daemon (here in the background: --detach)
#   waiaas quickset --mode testnet  a Solana and an EVM wallet, a starter SPENDING_LIMIT,
#                                   MCP session tokens in <data>/mcp-agents/<walletId>/mcp-tokens/<walletId>
#   waiaas mcp setup --all          registers one MCP server per wallet with Claude Desktop
#
# Environment: WAIAAS (the binary, default `waiaas` on PATH), WAIAAS_DATA_DIR (default
# ~/.waiaas), WAIAAS_MASTER_PASSWORD (else one is generated into <data>/recovery.key), and the
# usual WAIAAS_<SECTION>_<KEY> overrides, e.g. WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA=http://127.0.0.1:8545
# to use a local node. tests/tests/e2e/cli.rs runs this script against anvil.
set -euo pipefail
WAIAAS="${WAIAAS:-waiaas}"
export WAIAAS_DATA_DIR="${WAIAAS_DATA_DIR:-$HOME/.waiaas}"

if [ -n "${WAIAAS_MASTER_PASSWORD:-}" ]; then
  "$WAIAAS" init
else
  "$WAIAAS" init --auto-provision
fi
"$WAIAAS" start --detach
"$WAIAAS" quickset --mode testnet
"$WAIAAS" mcp setup --all
