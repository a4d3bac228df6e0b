"""The result types are complete and true: for every main agent and operator operation, each
key the daemon (remote) and the embedded engine really return is declared by the method's
``TypedDict`` (``waiaas.types``), nested objects too; every required key is there; and every
value declared as a ``Literal`` (statuses, tiers, chains, ...) is one of its values. The same
scenario as the Node binding's declared-types test."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Literal, Tuple, Union, get_args, get_origin, get_type_hints

import pytest
import waiaas
import waiaas.types as T
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, Anvil, Daemon, write_embedded_config

TO = DEV_ACCOUNTS[5]
SMALL_WEI = "1000000000000"
TEN_USD_WEI = "5000000000000000"


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def problems(tp: Any, value: Any, path: str) -> List[str]:
    """What in ``value`` its declared type ``tp`` does not allow: undeclared keys (as paths,
    ``SimulateResponse.policy.reasons[0].extra``), missing required keys, values outside a
    ``Literal``, and JSON values of the wrong kind; ``[]`` when it conforms."""
    if tp is Any:
        return []
    origin, args = get_origin(tp), get_args(tp)
    if origin is Union:
        if value is None:
            return [] if type(None) in args else [f"{path}: null"]
        (inner,) = [a for a in args if a is not type(None)]
        return problems(inner, value, path)
    if value is None:
        return [f"{path}: null where {tp} is declared"]
    if origin is Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: not a list ({value!r})"]
        return [p for i, item in enumerate(value) for p in problems(args[0], item, f"{path}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: not an object ({value!r})"]
        return [p for k, item in value.items() for p in problems(args[1], item, f"{path}.{k}")]
    if _is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: not an object ({value!r})"]
        hints = get_type_hints(tp)
        out = [f"{path}.{k}" for k in value if k not in hints]
        out += [f"{path}.{k}: missing (required)" for k in sorted(tp.__required_keys__) if k not in value]
        for k, item in value.items():
            if k in hints:
                out += problems(hints[k], item, f"{path}.{k}")
        return out
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, tp)
    return [] if ok else [f"{path}: {value!r} is not a {tp.__name__}"]


async def calls(admin: Any, anvil: Anvil) -> List[Tuple[Any, Any]]:
    """Every main operation once; ``(type, result)`` pairs in call order."""
    seen: List[Tuple[Any, Any]] = []

    async def as_(tp: Any, call: Any) -> Any:
        r = await call
        seen.append((tp, r))
        return r

    # The owner signs with their own wallet: here another wallet of the same engine or daemon.
    owner_wallet = await as_(T.CreateWalletResponse, admin.create_wallet("owner", chain="ethereum", environment="testnet"))
    owner_app = admin.agent(owner_wallet["session"]["token"])

    async def proof(action: str) -> Dict[str, str]:
        nonce = (await as_(T.NonceResponse, admin.get_nonce()))["nonce"]
        text = waiaas.owner_message("ethereum", admin.owner_domain, owner_wallet["publicKey"], nonce, action)
        sig = (await as_(T.SignMessageResponse, owner_app.sign_message(text, sign_type="personal")))["signature"]
        return {"address": owner_wallet["publicKey"], "message": text, "signature": sig}

    w = await as_(T.CreateWalletResponse, admin.create_wallet("typed", chain="ethereum", environment="testnet", create_session=False))
    assert w["session"] is None
    anvil.fund(w["publicKey"], 10 * ETH)
    await as_(T.WalletListResponse, admin.list_wallets())
    await as_(T.WalletDetailResponse, admin.get_wallet(w["id"]))
    await as_(T.WalletDetailResponse, admin.update_wallet(w["id"], name="typed-2", monitor_incoming=False))
    await as_(T.WalletNetworksResponse, admin.wallet_networks(w["id"]))
    await as_(T.WalletStatusResponse, admin.suspend_wallet(w["id"], "a test"))
    await as_(T.WalletStatusResponse, admin.resume_wallet(w["id"]))
    limits = {"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60}
    p = await as_(T.PolicyResponse, admin.create_policy("SPENDING_LIMIT", limits, wallet_id=w["id"]))
    deny = await as_(T.PolicyResponse, admin.create_policy("WHITELIST", {"allowed_addresses": [TO]}, wallet_id=w["id"]))
    await as_(T.PolicyResponse, admin.update_policy(deny["id"], priority=5))
    await as_(T.PolicyListResponse, admin.list_policies(w["id"]))
    s = await as_(T.CreateSessionResponse, admin.create_session(w["id"], ttl=3600, max_renewals=3))
    await as_(T.SessionListResponse, admin.list_sessions(w["id"]))
    agent = admin.agent(s["token"])

    await as_(T.AddressResponse, agent.get_address())
    await as_(T.BalanceResponse, agent.get_balance())
    await as_(T.MultiNetworkBalanceResponse, agent.get_balance(network="all"))
    await as_(T.MultiNetworkBalanceResponse, agent.get_all_balances())
    await as_(T.AssetsResponse, agent.get_assets())
    await as_(T.MultiNetworkAssetsResponse, agent.get_assets(network="all"))
    await as_(T.ConnectInfoResponse, agent.get_connect_info())
    await as_(T.SimulateResponse, agent.simulate(TO, SMALL_WEI, type="TRANSFER"))
    await as_(T.SimulateResponse, agent.simulate(TO, TEN_USD_WEI, type="TRANSFER"))
    await as_(T.SimulateResponse, agent.simulate(DEV_ACCOUNTS[6], SMALL_WEI, type="TRANSFER"))
    sent = await as_(T.SendTokenResponse, agent.send_token(TO, SMALL_WEI, type="TRANSFER"))
    done = await as_(T.TransactionResponse, agent.wait_for_transaction(sent["id"], timeout=60))
    assert done["status"] == "CONFIRMED", done
    await as_(T.TransactionResponse, agent.get_transaction(sent["id"]))
    queued = await as_(T.SendTokenResponse, agent.send_token(TO, TEN_USD_WEI, type="TRANSFER"))
    await as_(T.TransactionResponse, agent.wait_for_transaction(queued["id"], timeout=30))
    pending = await as_(T.PendingTransactionsResponse, agent.list_pending_transactions())
    assert len(pending["items"]) == 1, pending
    await as_(T.CancelTransactionResponse, agent.cancel_transaction(queued["id"]))
    await as_(T.TransactionListResponse, agent.list_transactions(limit=10))
    incoming = await as_(T.IncomingTransactionListResponse, agent.list_incoming_transactions(status="DETECTED", limit=5))
    assert incoming == {"data": [], "nextCursor": None, "hasMore": False}, incoming
    summary = await as_(T.IncomingSummaryResponse, agent.get_incoming_summary(period="weekly"))
    assert summary == {"period": "weekly", "entries": []}, summary
    await as_(T.SignMessageResponse, agent.sign_message("typed"))
    abi = [{"type": "function", "name": "approve", "inputs": [{"name": "s", "type": "address"}, {"name": "v", "type": "uint256"}], "outputs": []}]
    await as_(T.EncodeCalldataResponse, agent.encode_calldata(abi, "approve", [TO, "5"]))
    await as_(T.NonceResponse, agent.get_nonce())

    await as_(T.SetOwnerResponse, admin.set_owner(w["id"], owner_wallet["publicKey"]))
    await as_(T.VerifyOwnerResponse, admin.verify_owner(w["id"], **(await proof(f"verify:{w['id']}"))))
    # An APPROVAL transaction (above the new $3 delay limit), approved; another rejected.
    await as_(T.PolicyResponse, admin.update_policy(p["id"], rules={**limits, "delay_max_usd": 3, "approval_timeout": 600}))
    for decide, tp in [(admin.approve_transaction, T.ApproveTransactionResponse), (admin.reject_transaction, T.RejectTransactionResponse)]:
        tx = await as_(T.SendTokenResponse, agent.send_token(TO, TEN_USD_WEI, type="TRANSFER"))
        waited = await as_(T.TransactionResponse, agent.wait_for_transaction(tx["id"], timeout=30))
        assert (waited["status"], waited["tier"]) == ("QUEUED", "APPROVAL"), waited
        action = "approve" if tp is T.ApproveTransactionResponse else "reject"
        await as_(tp, decide(tx["id"], **(await proof(f"{action}:{tx['id']}"))))
    await as_(T.DeletePolicyResponse, admin.delete_policy(p["id"]))
    await as_(T.KillSwitchStatusResponse, admin.get_kill_switch_status())
    await as_(T.KillSwitchActivateResponse, admin.activate_kill_switch())
    await as_(T.KillSwitchRecoverResponse, admin.recover_kill_switch())
    await as_(T.BackupInfo, admin.create_backup())
    await as_(T.BackupListResponse, admin.list_backups())
    await as_(T.RevokeSessionResponse, admin.revoke_session(s["id"]))
    await as_(T.RevokeSessionResponse, admin.revoke_session(s["id"]))
    await as_(T.WalletStatusResponse, admin.terminate_wallet(w["id"]))
    await as_(T.ChangeMasterPasswordResponse, admin.change_master_password(PASSWORD + "-new"))
    return seen


@pytest.fixture(scope="module")
def runs(anvil: Anvil, daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, List[Tuple[Any, Any]]]:
    embedded_dir = write_embedded_config(tmp_path_factory.mktemp("declared") / "data", anvil.url)

    async def embedded() -> List[Tuple[Any, Any]]:
        return await calls(await waiaas.Wallets.open(embedded_dir, PASSWORD), anvil)

    async def remote() -> List[Tuple[Any, Any]]:
        return await calls(waiaas.AdminClient(daemon.base_url, PASSWORD), anvil)

    return {"embedded": asyncio.run(embedded()), "remote": asyncio.run(remote())}


@pytest.mark.parametrize("mode", ["embedded", "remote"])
def test_every_returned_key_is_declared_by_its_result_type(runs: Dict[str, List[Tuple[Any, Any]]], mode: str) -> None:
    found = [p for tp, result in runs[mode] for p in problems(tp, result, tp.__name__)]
    assert found == [], "results that their TypedDict does not describe:\n" + "\n".join(found)
    covered = {tp.__name__ for tp, _ in runs[mode]}
    results = {n for n in T.__all__ if n.endswith("Response") or n == "BackupInfo"}
    # Only as items of lists; and three operations this scenario does not reach (an external
    # unsigned transaction to sign; a renewal needs half of a session's lifetime to pass; a paid
    # fetch needs an x402 server: test_x402.py checks its result type; so does test_actions.py
    # for the DeFi actions, which need a contract to act on).
    assert results - covered == {
        "WalletResponse",
        "SessionResponse",
        "SignTransactionResponse",
        "RenewSessionResponse",
        "X402FetchResponse",
        "ActionProvidersResponse",
        "ActionResponse",
    }


def test_the_checker_finds_an_undeclared_key_nested_too() -> None:
    assert problems(T.SendTokenResponse, {"id": "x", "status": "PENDING", "txHsh": None}, "SendTokenResponse") == ["SendTokenResponse.txHsh"]
    listed = {"items": [{"id": "x", "extra": 1}], "cursor": None, "hasMore": False}
    found = problems(T.TransactionListResponse, listed, "TransactionListResponse")
    assert "TransactionListResponse.items[0].extra" in found
    assert "TransactionListResponse.items[0].txHash: missing (required)" in found
    assert problems(T.SendTokenResponse, {"id": "x", "status": "DONE"}, "S") == ["S.status: 'DONE' is not one of " + repr(get_args(T.TransactionStatus))]


def test_the_types_are_importable_from_the_package() -> None:
    from waiaas import TransactionResponse
    from waiaas.types import TransactionResponse as Same

    assert TransactionResponse is Same is T.TransactionResponse
    assert "txHash" in get_type_hints(TransactionResponse)
    assert set(waiaas.types.__all__) <= set(waiaas.__all__)
    tx: T.TransactionResponse = {"id": "x"}  # type: ignore[typeddict-item]
    assert isinstance(tx, dict), "a TypedDict result is a plain dict at runtime"
