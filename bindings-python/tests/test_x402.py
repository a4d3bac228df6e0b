"""x402 through the binding: `Client.x402_fetch` pays for a resource served by the real x402
reference packages (tests/x402/server.mjs: `@x402/express` resource server and `@x402/core`
facilitator settling on the shared anvil) in an EIP-3009 token compiled from
tests/contracts/Eip3009Token.sol. The payee's balance rises by the price on chain and the
payment is a CONFIRMED `X402_PAYMENT` transaction holding the settlement's hash."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import waiaas
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, REPO, Anvil, Daemon, stop_by_stdin
from test_declared_types import problems
from waiaas import types as T

PAYEE = "0x00000000000000000000000000000000000Fee01"
PRICE = 10_000  # $0.01 of a 6-decimals token


def _word(n: int) -> str:
    return f"{n:064x}"


def _string_tail(s: str) -> str:
    data = s.encode().hex()
    return _word(len(s.encode())) + data + "0" * (-len(data) % 64)


def _mined(anvil: Anvil, tx: Dict[str, Any]) -> Dict[str, Any]:
    """Send from an unlocked dev account and wait for the receipt (the shared anvil may be busy
    mining other tests' transactions: the receipt is not always there at once)."""
    tx_hash = anvil.rpc("eth_sendTransaction", [tx])
    deadline = time.monotonic() + 30
    receipt = anvil.receipt(tx_hash)
    while receipt is None and time.monotonic() < deadline:
        time.sleep(0.05)
        receipt = anvil.receipt(tx_hash)
    assert receipt and receipt["status"] == "0x1", receipt
    return receipt


def deploy_eip3009(anvil: Anvil, name: str, symbol: str, decimals: int, supply: int) -> str:
    art = json.loads((REPO / "tests/contracts/build/Eip3009Token.json").read_text())
    name_t, symbol_t = _string_tail(name), _string_tail(symbol)
    args = _word(0x80) + _word(0x80 + len(name_t) // 2) + _word(decimals) + _word(supply) + name_t + symbol_t
    return _mined(anvil, {"from": DEV_ACCOUNTS[0], "data": art["bytecode"] + args})["contractAddress"]


def token_balance(anvil: Anvil, token: str, who: str) -> int:
    return int(anvil.rpc("eth_call", [{"to": token, "data": "0x70a08231" + _word(int(who, 16))}, "latest"]), 16)


class X402Server:
    """tests/x402/server.mjs as a child process (stops when its stdin closes)."""

    def __init__(self, *args: str) -> None:
        modules = os.environ.get("X402_MODULES") or subprocess.run(
            ["bash", str(REPO / "tests/x402/install.sh")], check=True, capture_output=True, text=True
        ).stdout.strip()
        self.proc = subprocess.Popen(
            ["node", str(REPO / "tests/x402/server.mjs"), *args],
            env={**os.environ, "X402_MODULES": modules},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            raise RuntimeError(f"server.mjs exited ({self.proc.wait()}) before it was ready")
        self.ready: Dict[str, Any] = json.loads(line)

    def url(self, path: str) -> str:
        return self.ready["url"] + path

    def stop(self) -> None:
        stop_by_stdin(self.proc)


@pytest.fixture(scope="module")
def world(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    token = deploy_eip3009(anvil, "Test USD Coin", "TUSDC", 6, 10**15)
    server = X402Server("--rpc-url", anvil.url, "--token", token, "--pay-to", PAYEE, "--price", str(PRICE))
    daemon = Daemon(
        tmp_path_factory.mktemp("x402") / "data",
        anvil.url,
        {"WAIAAS_X402_ALLOW_INSECURE_HOSTS": "127.0.0.1", f"WAIAAS_PRICES_{token}": "1"},
    )
    yield {"token": token, "server": server, "daemon": daemon}
    daemon.stop()
    server.stop()


def test_a_paid_fetch_settles_on_chain(world: Dict[str, Any], anvil: Anvil) -> None:
    token, server, daemon = world["token"], world["server"], world["daemon"]

    async def go() -> Dict[str, Any]:
        admin = waiaas.AdminClient(daemon.base_url, PASSWORD)
        w = await admin.create_wallet("x402-agent", chain="ethereum", environment="testnet", create_session=False)
        anvil.fund(w["publicKey"], ETH)
        _mined(anvil, {"from": DEV_ACCOUNTS[0], "to": token, "data": "0xa9059cbb" + _word(int(w["publicKey"], 16)) + _word(10**8)})
        await admin.create_policy("X402_ALLOWED_DOMAINS", {"domains": ["127.0.0.1"]}, wallet_id=w["id"])
        await admin.create_policy("ALLOWED_TOKENS", {"tokens": [{"address": token}]}, wallet_id=w["id"])
        agent = admin.agent((await admin.create_session(w["id"]))["token"])
        before = token_balance(anvil, token, PAYEE)
        fetched = await agent.x402_fetch(server.url("/paid"))
        tx = await agent.get_transaction(fetched["payment"]["txId"])
        return {"fetched": fetched, "tx": tx, "received": token_balance(anvil, token, PAYEE) - before}

    out = asyncio.run(go())
    fetched, tx = out["fetched"], out["tx"]
    assert problems(T.X402FetchResponse, fetched, "X402FetchResponse") == []
    assert fetched["status"] == 200
    assert json.loads(fetched["body"])["data"] == "premium"
    assert fetched["payment"]["status"] == "CONFIRMED" and fetched["payment"]["amount"] == str(PRICE)
    assert out["received"] == PRICE
    assert (tx["type"], tx["status"], tx["txHash"]) == ("X402_PAYMENT", "CONFIRMED", fetched["payment"]["txHash"])
    assert anvil.receipt(tx["txHash"])["status"] == "0x1"
