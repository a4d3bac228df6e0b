"""A small typed agent: pay someone if the policy lets it, and report how it ended.

It must pass ``mypy --strict`` against the installed wheel's stubs (test_typing.py checks it,
and runs it against a real daemon):

    python typed_agent.py BASE_URL SESSION_TOKEN TO AMOUNT_WEI
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import FrozenSet, Optional

from waiaas import Client, SimulateResponse, TransactionResponse, TransactionStatus, WAIaaSError
from waiaas.types import BalanceResponse, SendTokenResponse, Tier

SUCCESS: FrozenSet[TransactionStatus] = frozenset({"CONFIRMED"})


async def pay(client: Client, to: str, amount: str) -> TransactionResponse:
    balance: BalanceResponse = await client.get_balance()
    if int(balance["balance"]) < int(amount):
        raise SystemExit(f"only {balance['balanceFormatted']} {balance['symbol']} on {balance['network']}")

    sim: SimulateResponse = await client.simulate(to, amount, type="TRANSFER")
    tier: Tier = sim["policy"]["tier"]
    if not sim["policy"]["allowed"]:
        rules = ", ".join(r["rule"] for r in sim["policy"]["reasons"] if r["denied"])
        raise SystemExit(f"the policy refuses it ({rules})")
    fee = sim["fee"]
    fee_text = f"{fee['estimatedFee']} {fee['feeSymbol']}" if fee is not None else "unknown"
    print(f"tier {tier}, fee {fee_text}", file=sys.stderr)

    sent: SendTokenResponse = await client.send_token(to, amount, type="TRANSFER", idempotency_key=f"pay-{to}-{amount}")
    tx = await client.wait_for_transaction(sent["id"], timeout=60)
    return tx


async def main(base_url: str, token: str, to: str, amount: str) -> int:
    async with Client(base_url, token) as client:
        try:
            tx = await pay(client, to, amount)
        except WAIaaSError as e:
            request_id: Optional[str] = e.request_id
            print(f"{e.code} ({e.status}, retryable={e.retryable}, request {request_id}): {e.message}", file=sys.stderr)
            return 1
    status: TransactionStatus = tx["status"]
    tx_hash: Optional[str] = tx["txHash"]
    print(json.dumps({"id": tx["id"], "status": status, "txHash": tx_hash, "tier": tx["tier"]}))
    return 0 if status in SUCCESS else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
