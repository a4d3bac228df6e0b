"""An agent with two typos that ``mypy --strict`` must reject (test_typing.py checks it does):
a misspelled result key (``txHsh``) and a misspelled keyword argument (``idempotency_kye``).
Never run."""

from __future__ import annotations

from waiaas import Client


async def pay(client: Client, to: str, amount: str) -> None:
    sent = await client.send_token(to, amount, type="TRANSFER", idempotency_kye="pay-1")
    tx = await client.wait_for_transaction(sent["id"])
    print(tx["status"], tx["txHsh"])
