"""The same agent scenario through the embedded engine (`waiaas.Wallets`) and through a real
daemon (`waiaas.AdminClient` + `waiaas.Client`), against one real anvil: a send that
confirms, a policy denial, a DELAY send that is cancelled, the balance. Both modes must give
the same results, fields and error codes."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Dict

import pytest
import waiaas
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, Anvil, Daemon, write_embedded_config

SMALL_WEI = "1000000000000"  # $0.000002 at 2000 USD/ETH: INSTANT under a $1 instant limit
TEN_USD_WEI = "5000000000000000"  # $10: DELAY between the $1 notify and the $1000 delay limits
ALLOWED = DEV_ACCOUNTS[4]
NOT_ALLOWED = DEV_ACCOUNTS[7]
UNKNOWN_TX = "01900000-0000-7000-8000-000000000000"
MODES = ["embedded", "remote"]


async def error_of(call: Awaitable[Any]) -> Dict[str, Any]:
    try:
        result = await call
    except waiaas.WAIaaSError as e:
        return {"code": e.code, "status": e.status, "retryable": e.retryable, "message": e.message}
    raise AssertionError(f"expected a WAIaaSError, got {result!r}")


async def scenario(admin: Any, anvil: Anvil) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    w = await admin.create_wallet("agent", chain="ethereum", environment="testnet", create_session=False)
    address = w["publicKey"]
    anvil.fund(address, 100 * ETH)
    await admin.create_policy("WHITELIST", {"allowed_addresses": [ALLOWED]}, wallet_id=w["id"])
    limits = {"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60}
    out["policy"] = await admin.create_policy("SPENDING_LIMIT", limits, wallet_id=w["id"])
    session = await admin.create_session(w["id"])
    agent = admin.agent(session["token"])
    out["mode"] = agent.mode

    out["balance"] = await agent.get_balance()
    out["address"] = await agent.get_address()
    out["chain_balance"] = anvil.balance(address)

    # A send under the limit confirms, and the amount arrives on the chain.
    out["simulate"] = await agent.simulate(ALLOWED, SMALL_WEI, type="TRANSFER")
    before = anvil.balance(ALLOWED)
    out["send"] = await agent.send_token(ALLOWED, SMALL_WEI, type="TRANSFER")
    out["confirmed"] = await agent.wait_for_transaction(out["send"]["id"], timeout=60)
    out["received"] = anvil.balance(ALLOWED) - before
    out["receipt"] = anvil.receipt(out["confirmed"]["txHash"])

    # A policy denial: simulate explains it, the send ends CANCELLED, nothing is broadcast.
    out["simulate_denied"] = await agent.simulate(NOT_ALLOWED, SMALL_WEI, type="TRANSFER")
    nonce_before = anvil.nonce(address)
    denied = await agent.send_token(NOT_ALLOWED, SMALL_WEI, type="TRANSFER")
    out["denied"] = await agent.wait_for_transaction(denied["id"], timeout=30)
    out["broadcast_after_denial"] = anvil.nonce(address) - nonce_before

    # A DELAY send waits QUEUED, is listed as pending, and is cancelled.
    queued = await agent.send_token(ALLOWED, TEN_USD_WEI, type="TRANSFER")
    out["queued"] = await agent.wait_for_transaction(queued["id"], timeout=30)
    out["pending"] = await agent.list_pending_transactions()
    out["cancel"] = await agent.cancel_transaction(queued["id"])
    out["cancel_again"] = await error_of(agent.cancel_transaction(queued["id"]))
    out["cancelled"] = await agent.get_transaction(queued["id"])
    out["transactions"] = await agent.list_transactions()

    # Errors raised before anything is recorded.
    out["unknown_tx"] = await error_of(agent.get_transaction(UNKNOWN_TX))
    out["bad_address"] = await error_of(agent.send_token("0x12", "1", type="TRANSFER"))
    out["foreign_wallet"] = await error_of(agent.get_balance(wallet_id="01900000-0000-7000-8000-000000000001"))
    out["other_session_renew"] = await error_of(agent.renew_session("01900000-0000-7000-8000-000000000002"))
    out["unlimited_renew"] = await error_of(agent.renew_session())
    out["sign_message"] = await agent.sign_message("hello")
    out["calldata"] = await agent.encode_calldata(
        [{"type": "function", "name": "approve", "inputs": [{"name": "s", "type": "address"}, {"name": "v", "type": "uint256"}], "outputs": []}],
        "approve",
        [ALLOWED, "5"],
    )

    # The operator revokes the session: the agent's token stops working at once.
    await admin.revoke_session(session["id"])
    out["revoked"] = await error_of(agent.get_balance())
    return out


@pytest.fixture(scope="module")
def runs(anvil: Anvil, daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    embedded_dir = write_embedded_config(tmp_path_factory.mktemp("embedded") / "data", anvil.url)

    async def embedded() -> Dict[str, Any]:
        wallets = await waiaas.Wallets.open(embedded_dir, PASSWORD)
        return await scenario(wallets, anvil)

    async def remote() -> Dict[str, Any]:
        return await scenario(waiaas.AdminClient(daemon.base_url, PASSWORD), anvil)

    # One after the other: both pay the same recipient.
    return {"embedded": asyncio.run(embedded()), "remote": asyncio.run(remote()), "embedded_dir": embedded_dir}


@pytest.mark.parametrize("mode", MODES)
def test_balance_is_read_from_the_chain(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    assert r["mode"] == mode
    assert r["balance"]["balance"] == str(100 * ETH) == str(r["chain_balance"])
    assert r["balance"]["symbol"] == "ETH" and r["balance"]["network"] == "ethereum-sepolia"
    assert r["address"]["address"] == r["balance"]["address"]


@pytest.mark.parametrize("mode", MODES)
def test_a_send_under_the_limit_confirms_on_chain(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    assert r["simulate"]["policy"]["tier"] == "INSTANT" and r["simulate"]["policy"]["allowed"] is True
    assert r["send"]["status"] == "PENDING"
    assert r["confirmed"]["status"] == "CONFIRMED" and r["confirmed"]["tier"] == "INSTANT"
    assert r["received"] == int(SMALL_WEI)
    assert r["receipt"]["status"] == "0x1"


@pytest.mark.parametrize("mode", MODES)
def test_a_policy_denial_never_reaches_the_chain(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    assert r["simulate_denied"]["policy"]["allowed"] is False
    assert r["simulate_denied"]["policy"]["errorCode"] == "WHITELIST_DENIED"
    assert r["denied"]["status"] == "CANCELLED" and r["denied"]["errorCode"] == "WHITELIST_DENIED"
    assert r["denied"]["txHash"] is None
    assert r["broadcast_after_denial"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_delay_send_waits_and_is_cancelled(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    assert (r["queued"]["status"], r["queued"]["tier"]) == ("QUEUED", "DELAY")
    assert [t["id"] for t in r["pending"]["items"]] == [r["queued"]["id"]]
    assert r["cancel"] == {"id": r["queued"]["id"], "status": "CANCELLED"}
    assert r["cancel_again"]["code"] == "TX_ALREADY_PROCESSED" and r["cancel_again"]["status"] == 409
    assert r["cancelled"]["status"] == "CANCELLED" and r["cancelled"]["txHash"] is None
    assert [t["status"] for t in r["transactions"]["items"]] == ["CANCELLED", "CANCELLED", "CONFIRMED"]


@pytest.mark.parametrize("mode", MODES)
def test_errors_carry_the_upstream_codes(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    assert r["unknown_tx"]["code"] == "TX_NOT_FOUND" and r["unknown_tx"]["status"] == 404
    assert r["bad_address"]["code"] == "INVALID_ADDRESS" and r["bad_address"]["retryable"] is False
    assert r["foreign_wallet"]["code"] == "WALLET_ACCESS_DENIED"
    assert r["other_session_renew"]["code"] == "SESSION_NOT_FOUND"
    assert r["unlimited_renew"]["code"] == "RENEWAL_NOT_REQUIRED"
    assert r["revoked"]["code"] == "SESSION_REVOKED" and r["revoked"]["status"] == 401


def shape(v: Any) -> Any:
    """Keys (ids used as keys count as one), element shapes and scalar types."""
    if isinstance(v, dict):
        return {("<id>" if len(k) == 36 and k.count("-") == 4 else k): shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    return type(v).__name__


SAME_VALUES = ["status", "tier", "errorCode", "type", "amount", "network", "chain", "symbol", "decimals", "allowed", "code"]


def same_values(a: Any, b: Any, path: str) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in SAME_VALUES:
            if k in a and k in b and not isinstance(a[k], (dict, list)):
                assert a[k] == b[k], f"{path}.{k}: {a[k]!r} != {b[k]!r}"
        for k in a.keys() & b.keys():
            same_values(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same_values(x, y, f"{path}[{i}]")


def test_both_modes_return_the_same_fields_values_and_errors(runs: Dict[str, Any]) -> None:
    e, r = runs["embedded"], runs["remote"]
    assert e.keys() == r.keys()
    for step in e:
        if step in ("mode", "receipt"):
            continue
        assert shape(e[step]) == shape(r[step]), f"{step}: fields differ\nembedded: {e[step]}\nremote:   {r[step]}"
        same_values(e[step], r[step], step)
    for step in ["cancel_again", "unknown_tx", "bad_address", "foreign_wallet", "other_session_renew", "unlimited_renew", "revoked"]:
        assert e[step] == r[step], f"{step}: {e[step]} != {r[step]}"


def test_a_daemon_cannot_open_a_data_dir_the_embedded_engine_holds(runs: Dict[str, Any], anvil: Anvil) -> None:
    with pytest.raises(RuntimeError, match="SYSTEM_LOCKED"):
        Daemon(runs["embedded_dir"], anvil.url)


def test_the_agent_interface_has_no_admin_operations(runs: Dict[str, Any], daemon: Daemon) -> None:
    async def go() -> None:
        wallets = await waiaas.Wallets.open(runs["embedded_dir"], PASSWORD)
        w = await wallets.create_wallet("scoped", chain="ethereum", environment="testnet")
        agent = wallets.agent(w["session"]["token"])
        for name in ["create_wallet", "create_policy", "delete_policy", "create_session", "suspend_wallet", "activate_kill_switch"]:
            assert not hasattr(agent, name), name
        # A session token is not a master password.
        bad = waiaas.AdminClient(daemon.base_url, w["session"]["token"])
        err = await error_of(bad.list_wallets())
        assert (err["code"], err["status"]) == ("INVALID_MASTER_PASSWORD", 401)
        # The wrong master password cannot open the data dir, even in this process.
        err = await error_of(waiaas.Wallets.open(runs["embedded_dir"], "wrong-password"))
        assert err["code"] == "INVALID_MASTER_PASSWORD"

    asyncio.run(go())


def test_the_kill_switch_stops_embedded_agents(runs: Dict[str, Any]) -> None:
    async def go() -> None:
        wallets = await waiaas.Wallets.open(runs["embedded_dir"], PASSWORD)
        w = await wallets.create_wallet("ks", chain="ethereum", environment="testnet")
        agent = wallets.agent(w["session"]["token"])
        await agent.get_address()
        await wallets.activate_kill_switch()
        try:
            err = await error_of(agent.get_address())
            assert (err["code"], err["status"], err["retryable"]) == ("SYSTEM_LOCKED", 503, False)
            assert (await wallets.get_kill_switch_status())["state"] == "SUSPENDED"
        finally:
            await wallets.recover_kill_switch()
        assert (await agent.get_address())["address"] == w["publicKey"]

    asyncio.run(go())


def test_error_objects() -> None:
    e = waiaas.WAIaaSError("POLICY_DENIED", "no", status=403, retryable=False, details={"a": 1}, hint="h")
    assert (e.code, e.message, e.status, e.status_code, e.retryable, e.details, e.hint) == ("POLICY_DENIED", "no", 403, 403, False, {"a": 1}, "h")
    assert str(e) == "POLICY_DENIED: no"
    with pytest.raises(waiaas.WAIaaSError) as info:
        waiaas.Client("not a url", "wai_sess_x")
    assert info.value.code == "ACTION_VALIDATION_FAILED"
