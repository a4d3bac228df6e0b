"""A small WAIaaS agent in Python: check the balance, send under a spending limit, and show a
DELAY transaction being held and cancelled.

The agent holds a session token, never a key. It runs either against a daemon or with the
engine embedded in this process:

    # a running daemon (waiaas start)
    python agent.py --url http://127.0.0.1:3100 --token wai_sess_... --to 0xRecipient

    # the engine in this process, on a data dir the daemon is NOT running on
    WAIAAS_MASTER_PASSWORD=... python agent.py --data-dir ~/.waiaas-agent --token wai_sess_... --to 0xRecipient

The operator (master password) creates the wallet, its SPENDING_LIMIT policy and the
session beforehand, e.g. with waiaas.AdminClient / waiaas.Wallets or the REST API. With a
limit like {"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000,
"delay_seconds": 60} and ETH at $2000, the default --small amount executes at once and the
default --large amount ($10) is held as DELAY.

The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any, Dict

import waiaas


async def run(agent: Any, to: str, small: str, large: str) -> Dict[str, Any]:
    balance = await agent.get_balance()
    print(f"[{agent.mode}] balance: {balance['balanceFormatted']} {balance['symbol']} on {balance['network']} ({balance['address']})")

    # Ask the policy engine first: what tier would this send get?
    sim = await agent.simulate(to, small, type="TRANSFER")
    print(f"simulate {small} wei -> tier {sim['policy']['tier']} (allowed: {sim['policy']['allowed']})")
    sent = await agent.send_token(to, small, type="TRANSFER")
    tx = await agent.wait_for_transaction(sent["id"], timeout=60)
    print(f"sent {tx['amountFormatted']} {tx['amountSymbol']}: {tx['status']} tier {tx['tier']} hash {tx['txHash']}")

    # A bigger amount is held for the delay: it can be cancelled before it executes.
    sim = await agent.simulate(to, large, type="TRANSFER")
    print(f"simulate {large} wei -> tier {sim['policy']['tier']}, delay {sim['policy']['delaySeconds']} s")
    held = await agent.send_token(to, large, type="TRANSFER")
    queued = await agent.wait_for_transaction(held["id"], timeout=30)
    print(f"held: {queued['status']} tier {queued['tier']}")
    pending = await agent.list_pending_transactions()
    print(f"pending: {[t['id'] for t in pending['items']]}")
    cancelled = await agent.cancel_transaction(held["id"])
    print(f"cancelled: {cancelled['status']}")
    final = await agent.get_transaction(held["id"])
    return {
        "mode": agent.mode,
        "balance": balance["balance"],
        "sent": {"id": tx["id"], "status": tx["status"], "tier": tx["tier"], "txHash": tx["txHash"]},
        "delayed": {"id": held["id"], "queued": queued["status"], "tier": queued["tier"], "final": final["status"]},
    }


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="base URL of a running daemon")
    where.add_argument("--data-dir", help="open this data dir in-process (master password from WAIAAS_MASTER_PASSWORD)")
    p.add_argument("--token", default=os.environ.get("WAIAAS_SESSION_TOKEN"), help="session token (or WAIAAS_SESSION_TOKEN)")
    p.add_argument("--to", required=True, help="recipient address")
    p.add_argument("--small", default="1000000000000", help="amount in wei sent at once (default 1e12)")
    p.add_argument("--large", default="5000000000000000", help="amount in wei held by the DELAY tier (default 5e15)")
    a = p.parse_args()
    if not a.token:
        p.error("a session token is required (--token or WAIAAS_SESSION_TOKEN)")

    if a.url:
        agent = waiaas.Client(a.url, a.token)
    else:
        password = os.environ.get("WAIAAS_MASTER_PASSWORD")
        if not password:
            p.error("--data-dir needs WAIAAS_MASTER_PASSWORD")
        wallets = await waiaas.Wallets.open(a.data_dir, password)
        # Only this agent object goes to the model: it has no admin operations.
        agent = wallets.agent(a.token)
    try:
        summary = await run(agent, a.to, a.small, a.large)
    except waiaas.WAIaaSError as e:
        print(f"error {e.code} (HTTP {e.status}, retryable={e.retryable}): {e.message}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
