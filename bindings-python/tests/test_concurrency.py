"""100 concurrent sends from asyncio tasks through the embedded engine: every one confirms,
and the wallet's nonces on the chain are exactly 0..99 (one nonce owner per wallet and
network: no gap, no reuse)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
import waiaas
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, Anvil, write_embedded_config

N = 100


def test_100_concurrent_sends_confirm_with_contiguous_nonces(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> None:
    # A bulk sender: the operator turns off AutoStop's unusual-activity rule (by default more
    # than 20 transactions in 5 minutes suspend the wallet).
    extra = "[security]\nautostop_unusual_activity_threshold = 0\n"
    data_dir = write_embedded_config(tmp_path_factory.mktemp("concurrent") / "data", anvil.url, extra)

    async def go() -> List[Dict[str, Any]]:
        wallets = await waiaas.Wallets.open(data_dir, PASSWORD)
        w = await wallets.create_wallet("busy", chain="ethereum", environment="testnet")
        anvil.fund(w["publicKey"], 1000 * ETH)
        agent = wallets.agent(w["session"]["token"])
        # Distinct amounts: every transfer is its own transaction on the chain.
        sent = await asyncio.gather(*(agent.send_token(DEV_ACCOUNTS[6], str(10**12 + i), type="TRANSFER") for i in range(N)))
        assert all(s["status"] == "PENDING" for s in sent)
        assert len({s["id"] for s in sent}) == N
        done = await asyncio.gather(*(agent.wait_for_transaction(s["id"], timeout=180) for s in sent))
        return [dict(t, address=w["publicKey"]) for t in done]

    txs = asyncio.run(go())
    address = txs[0]["address"]
    assert [t["status"] for t in txs] == ["CONFIRMED"] * N, [t for t in txs if t["status"] != "CONFIRMED"][:3]
    # Read back from the node, not from our store.
    chain_nonces = sorted(int(anvil.tx(t["txHash"])["nonce"], 16) for t in txs)
    assert chain_nonces == list(range(N))
    assert anvil.nonce(address) == N
    assert sorted(t["nonce"] for t in txs) == list(range(N))
    for t in txs:
        assert anvil.tx(t["txHash"])["from"].lower() == address.lower()
