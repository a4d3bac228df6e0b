"""The owner and the operator's key operations through the Python bindings, embedded and
remote, against one real anvil: the operator registers an owner; an APPROVAL transaction is
approved with the owner's signature alone and confirms on the chain; a replayed approval is
refused; another transaction is rejected; backups and a master password change work. Both
modes give the same results and codes.

The owner signs with their own wallet, never with WAIaaS. Any EVM wallet that does EIP-191
``personal_sign`` will do: here the owner's wallet is simply another wallet (of the same
engine or daemon) signing through ``sign_message``, so the test needs no crypto library.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Dict

import pytest
import waiaas
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, Anvil, Daemon, write_embedded_config

TEN_USD_WEI = "5000000000000000"  # $10 at 2000 USD/ETH: APPROVAL above a $3 delay limit
RECIPIENT = DEV_ACCOUNTS[5]
LIMITS = {"instant_max_usd": 1, "notify_max_usd": 2, "delay_max_usd": 3, "delay_seconds": 60, "approval_timeout": 600}
NEW_PASSWORD = "py-test-new-password-678"


async def error_of(call: Awaitable[Any]) -> Dict[str, Any]:
    try:
        result = await call
    except waiaas.WAIaaSError as e:
        return {"code": e.code, "status": e.status, "retryable": e.retryable}
    raise AssertionError(f"expected a WAIaaSError, got {result!r}")


async def owner_flow(admin: Any, anvil: Anvil) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    owner_wallet = await admin.create_wallet("owner", chain="ethereum", environment="testnet")
    owner_address = owner_wallet["publicKey"]
    owner_app = admin.agent(owner_wallet["session"]["token"])

    async def signed(action: str, domain: Any = None) -> Dict[str, str]:
        nonce = (await admin.get_nonce())["nonce"]
        text = waiaas.owner_message("ethereum", domain or admin.owner_domain, owner_address, nonce, action)
        sig = (await owner_app.sign_message(text, sign_type="personal"))["signature"]
        return {"address": owner_address, "message": text, "signature": sig}

    w = await admin.create_wallet("agent", chain="ethereum", environment="testnet", create_session=False)
    anvil.fund(w["publicKey"], 10 * ETH)
    await admin.create_policy("SPENDING_LIMIT", LIMITS, wallet_id=w["id"])
    agent = admin.agent((await admin.create_session(w["id"]))["token"])
    out["set_owner"] = await admin.set_owner(w["id"], owner_address)

    sent = await agent.send_token(RECIPIENT, TEN_USD_WEI, type="TRANSFER")
    out["queued"] = await agent.wait_for_transaction(sent["id"], timeout=30)
    proof = await signed(f"approve:{sent['id']}")
    out["wrong_action"] = await error_of(admin.reject_transaction(sent["id"], **proof))
    out["wrong_domain"] = await error_of(admin.approve_transaction(sent["id"], **(await signed(f"approve:{sent['id']}", "evil.example:1"))))
    before = anvil.balance(RECIPIENT)
    out["approve"] = await admin.approve_transaction(sent["id"], **proof)
    out["replayed"] = await error_of(admin.approve_transaction(sent["id"], **proof))
    out["confirmed"] = await agent.wait_for_transaction(sent["id"], timeout=60)
    out["received"] = anvil.balance(RECIPIENT) - before
    out["locked"] = await admin.get_wallet(w["id"])

    second = await agent.send_token(RECIPIENT, TEN_USD_WEI, type="TRANSFER")
    await agent.wait_for_transaction(second["id"], timeout=30)
    out["reject"] = await admin.reject_transaction(second["id"], **(await signed(f"reject:{second['id']}")))
    out["rejected"] = await agent.get_transaction(second["id"])

    out["backup"] = await admin.create_backup()
    out["backups"] = await admin.list_backups()
    out["password"] = await admin.change_master_password(NEW_PASSWORD)
    return out


@pytest.fixture(scope="module")
def runs(anvil: Anvil, daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    embedded_dir = write_embedded_config(tmp_path_factory.mktemp("owner") / "data", anvil.url)

    async def embedded() -> Dict[str, Any]:
        wallets = await waiaas.Wallets.open(embedded_dir, PASSWORD)
        out = await owner_flow(wallets, anvil)
        out["domain"] = wallets.owner_domain
        # The data dir now opens with the new password only.
        out["old_password"] = await error_of(waiaas.Wallets.open(embedded_dir, PASSWORD))
        out["new_password_wallets"] = len((await (await waiaas.Wallets.open(embedded_dir, NEW_PASSWORD)).list_wallets())["items"])
        return out

    async def remote() -> Dict[str, Any]:
        admin = waiaas.AdminClient(daemon.base_url, PASSWORD)
        out = await owner_flow(admin, anvil)
        out["domain"] = admin.owner_domain
        out["old_password"] = await error_of(admin.list_wallets())
        out["new_password_wallets"] = len((await waiaas.AdminClient(daemon.base_url, NEW_PASSWORD).list_wallets())["items"])
        return out

    return {"embedded": asyncio.run(embedded()), "remote": asyncio.run(remote()), "base_url": daemon.base_url}


@pytest.mark.parametrize("mode", ["embedded", "remote"])
def test_the_owner_approves_with_a_signature_alone(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    assert r["set_owner"]["ownerState"] == "GRACE"
    assert (r["queued"]["status"], r["queued"]["tier"]) == ("QUEUED", "APPROVAL")
    assert r["wrong_action"]["code"] == "INVALID_SIGNATURE"
    assert r["wrong_domain"]["code"] == "INVALID_SIGNATURE"
    assert r["approve"]["status"] == "EXECUTING"
    assert r["replayed"]["code"] == "INVALID_NONCE"
    assert (r["confirmed"]["status"], r["confirmed"]["tier"]) == ("CONFIRMED", "APPROVAL")
    assert r["received"] == int(TEN_USD_WEI)
    assert r["locked"]["ownerState"] == "LOCKED"
    assert r["reject"]["status"] == "CANCELLED"
    assert r["rejected"]["status"] == "CANCELLED" and r["rejected"]["txHash"] is None


@pytest.mark.parametrize("mode", ["embedded", "remote"])
def test_backups_and_the_master_password(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    assert r["backup"]["filename"].endswith(".waiaas-backup")
    assert [b["filename"] for b in r["backups"]["backups"]] == [r["backup"]["filename"]]
    assert r["password"]["walletsReEncrypted"] == 2
    assert r["old_password"]["code"] == "INVALID_MASTER_PASSWORD"
    assert r["new_password_wallets"] == 2


def test_both_modes_agree(runs: Dict[str, Any]) -> None:
    e, r = runs["embedded"], runs["remote"]
    for step in ["wrong_action", "wrong_domain", "replayed", "old_password"]:
        assert e[step] == r[step], step
    for step in ["set_owner", "approve", "reject", "password"]:
        assert sorted(e[step]) == sorted(r[step]), f"{step}: {e[step]} / {r[step]}"
    assert e["domain"] == "127.0.0.1:3100", "embedded: the configured daemon host"
    assert r["domain"] == runs["base_url"].split("://", 1)[1], "remote: the host the client sends"


def test_owner_messages_are_checked_before_signing() -> None:
    text = waiaas.owner_message("ethereum", "127.0.0.1:3100", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "abc", "approve:tx-1", ttl_seconds=60)
    assert text.startswith("127.0.0.1:3100 wants you to sign in with your Ethereum account:\n")
    assert "Request ID: approve:tx-1" in text and "Nonce: abc" in text
    with pytest.raises(waiaas.WAIaaSError) as info:
        waiaas.owner_message("ethereum", "d", "a", "n", "steal:everything")
    assert info.value.code == "ACTION_VALIDATION_FAILED"
