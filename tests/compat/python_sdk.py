"""Upstream Python SDK (`waiaas` 1.7.0, python-sdk/), unchanged, against our daemon.

Run with the compat venv's python (scripts/test-compat.sh): that venv holds the UPSTREAM
package `waiaas`, not our bindings (same import name). The SDK validates every response with
its own pydantic models (model_validate), so a call that returns is a call whose fields matched
the SDK's types; a few extra checks make sure the values are right too.

Environment: WAIAAS_BASE_URL, WAIAAS_SESSION_TOKEN, WAIAAS_WALLET_ID, WAIAAS_WALLET_ADDRESS,
ANVIL_RPC, WAIAAS_NETWORK.
"""

import asyncio
import json
import os
import sys
import time
import urllib.request

import waiaas
from waiaas import WAIaaSClient, WAIaaSError

BASE = os.environ["WAIAAS_BASE_URL"]
TOKEN = os.environ["WAIAAS_SESSION_TOKEN"]
WALLET_ID = os.environ["WAIAAS_WALLET_ID"]
WALLET_ADDR = os.environ["WAIAAS_WALLET_ADDRESS"]
ANVIL = os.environ["ANVIL_RPC"]
NETWORK = os.environ.get("WAIAAS_NETWORK", "ethereum-sepolia")
DEST = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"  # anvil dev account 4

counts = {"PASS": 0, "FAIL": 0, "QUIRK": 0, "DIFF": 0, "INFO": 0}


def line(kind, op, detail=""):
    counts[kind] += 1
    print(f"{kind:<5} py-sdk {op}{': ' + detail if detail else ''}", flush=True)


def rpc(method, params):
    req = urllib.request.Request(ANVIL, data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        j = json.loads(r.read())
    if "error" in j:
        raise RuntimeError(f"{method}: {j['error']}")
    return j["result"]


# Minimal RLP for an unsigned EIP-1559 transaction.
def _rlp_len(n, off):
    if n < 56:
        return bytes([off + n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([off + 55 + len(b)]) + b


def _rlp(x):
    if isinstance(x, list):
        body = b"".join(_rlp(i) for i in x)
        return _rlp_len(len(body), 0xC0) + body
    if len(x) == 1 and x[0] < 0x80:
        return x
    return _rlp_len(len(x), 0x80) + x


def _int(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""


def unsigned_eip1559(chain_id, nonce, to, value):
    fields = [_int(chain_id), _int(nonce), _int(1_000_000_000), _int(20_000_000_000), _int(21000), bytes.fromhex(to[2:]), _int(value), b"", []]
    return "0x02" + _rlp(fields).hex()


async def call(op, coro, *, expect_error=None, quirk_on_error=None):
    try:
        res = await coro
    except WAIaaSError as e:
        codes = [expect_error] if isinstance(expect_error, str) else (expect_error or [])
        detail = f"{e.status_code} {e.code}: {e.message}"
        if e.code in codes:
            line("PASS", op, f"expected error {detail}")
        elif quirk_on_error:
            line("QUIRK", op, f"{quirk_on_error} -> {detail}")
        else:
            line("FAIL", op, f"raised {detail}")
        return None
    except Exception as e:  # pydantic ValidationError: the SDK's model did not accept our body
        line("FAIL", op, f"raised {type(e).__name__}: {str(e)[:600]}")
        return None
    if expect_error:
        line("FAIL", op, f"expected error {expect_error}, got {res!r}"[:400])
    else:
        line("PASS", op)
    return res


async def wait_tx(client, tx_id, done=("CONFIRMED", "FAILED", "CANCELLED"), secs=30):
    end = time.time() + secs
    tx = None
    while time.time() < end:
        tx = await client.get_transaction(tx_id)
        if tx.status in done:
            return tx
        await asyncio.sleep(0.25)
    return tx


async def main():
    line("INFO", "package", f"waiaas from {waiaas.__file__}")
    if "site-packages" not in waiaas.__file__:
        line("FAIL", "package", "not the installed upstream SDK")
    async with WAIaaSClient(BASE, TOKEN) as client:
        addr = await call("get_address", client.get_address())
        if addr and addr.address.lower() != WALLET_ADDR.lower():
            line("FAIL", "get_address", f"address {addr.address}")
        bal = await call("get_balance(network)", client.get_balance(network=NETWORK))
        if bal and not int(bal.balance) > 0:
            line("FAIL", "get_balance(network)", f"balance {bal.balance}")
        await call("get_balance()", client.get_balance(), quirk_on_error="EVM wallet without network")
        await call("get_assets(network)", client.get_assets(network=NETWORK))
        await call("get_all_balances", client.get_all_balances())
        await call("get_all_assets", client.get_all_assets())
        info = await call("get_wallet_info", client.get_wallet_info())
        if info is not None:
            if not any(n.network == NETWORK for n in info.networks):
                line("FAIL", "get_wallet_info", f"networks {info.networks} lack {NETWORK}")
            if not info.environment:
                line("FAIL", "get_wallet_info", "environment empty (read from GET /v1/wallets/{id}/networks `environment`)")
        ci = await call("get_connect_info", client.get_connect_info())
        if ci and not any(w.id == WALLET_ID for w in ci.wallets):
            line("FAIL", "get_connect_info", "the session's wallet is not listed")
        enc = await call("encode_calldata", client.encode_calldata(
            [{"type": "function", "name": "transfer", "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}], "outputs": [{"type": "bool"}], "stateMutability": "nonpayable"}],
            "transfer", [DEST, "1000"]))
        if enc and enc.selector != "0xa9059cbb":
            line("FAIL", "encode_calldata", f"selector {enc.selector}")

        sent = await call("send_token", client.send_token(DEST, "1000000000000000", type="TRANSFER", network=NETWORK))
        if sent:
            tx = await wait_tx(client, sent.id)
            if tx is None or tx.status != "CONFIRMED":
                line("FAIL", "send_token", f"ended {tx and tx.status} ({tx and tx.error})")
            else:
                rcpt = rpc("eth_getTransactionReceipt", [tx.tx_hash])
                if rcpt and rcpt["status"] == "0x1":
                    line("PASS", "send_token (confirmed on anvil)", tx.tx_hash)
                else:
                    line("FAIL", "send_token", f"receipt {rcpt}")
            await call("get_transaction", client.get_transaction(sent.id))
            lst = await call("list_transactions", client.list_transactions(limit=10))
            if lst and not any(i.id == sent.id for i in lst.items):
                line("FAIL", "list_transactions", f"{sent.id} not listed")
        await call("list_pending_transactions", client.list_pending_transactions())
        await call("get_transaction (unknown id)", client.get_transaction("01900000-0000-7000-8000-000000000000"), expect_error="TX_NOT_FOUND")

        nonce = int(rpc("eth_getTransactionCount", [WALLET_ADDR, "pending"]), 16)
        signed = await call("sign_transaction", client.sign_transaction(unsigned_eip1559(11155111, nonce, DEST, 999), network=NETWORK))
        if signed:
            h = rpc("eth_sendRawTransaction", [signed.signed_transaction])
            if h != signed.tx_hash:
                line("FAIL", "sign_transaction", f"anvil hash {h} != {signed.tx_hash}")
            else:
                line("PASS", "sign_transaction (broadcast by anvil)", h)

        # The session made by the runner is unlimited: renewal is not required.
        await call("renew_session (unlimited)", client.renew_session(os.environ.get("WAIAAS_SESSION_ID", "x")), expect_error="RENEWAL_NOT_REQUIRED")
        await call("send_token (bad address)", client.send_token("not-an-address", "1", type="TRANSFER", network=NETWORK), expect_error=["INVALID_ADDRESS", "ACTION_VALIDATION_FAILED"])

    async with WAIaaSClient(BASE, "wai_sess_bad.token.here") as bad:
        await call("get_address (bad token)", bad.get_address(), expect_error="INVALID_TOKEN")


try:
    asyncio.run(main())
except Exception as e:  # noqa: BLE001
    line("FAIL", "driver", repr(e))
print(f"SUMMARY py-sdk: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['DIFF']} diff, {counts['QUIRK']} quirk, {counts['INFO']} info")
sys.exit(1 if counts["FAIL"] else 0)
