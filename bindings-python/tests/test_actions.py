"""DeFi actions through the binding, embedded and against a daemon: `list_action_providers`
shows the enabled provider with its input schema, `execute_action` stakes ETH with
`lido_staking` (a payable call to a stETH contract on anvil) under the wallet's policies, the
dry run explains the decision without recording anything, and bad input raises the daemon's
error codes. Both modes must give the same results."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict

import pytest
import waiaas
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, REPO, Anvil, Daemon, write_embedded_config
from test_declared_types import problems
from test_x402 import _mined, token_balance
from waiaas import types as T

STAKE = ETH // 100  # $20 at 2000 USD/ETH: NOTIFY, the action's default tier
MODES = ["embedded", "remote"]


async def error_of(call: Any) -> Dict[str, Any]:
    try:
        result = await call
    except waiaas.WAIaaSError as e:
        return {"code": e.code, "status": e.status}
    raise AssertionError(f"expected a WAIaaSError, got {result!r}")


async def scenario(admin: Any, anvil: Anvil, steth: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    w = await admin.create_wallet("staker", chain="ethereum", environment="testnet", create_session=False)
    anvil.fund(w["publicKey"], ETH)
    await admin.create_policy("CONTRACT_WHITELIST", {"contracts": [{"address": steth}]}, wallet_id=w["id"])
    agent = admin.agent((await admin.create_session(w["id"]))["token"])
    out["providers"] = await agent.list_action_providers()
    out["dry"] = await agent.execute_action("lido_staking", "stake", {"amount": str(STAKE)}, dry_run=True)
    out["after_dry"] = await agent.list_transactions()
    out["accepted"] = await agent.execute_action("lido_staking", "stake", {"amount": str(STAKE)})
    out["staked"] = await agent.wait_for_transaction(out["accepted"]["id"], timeout=60)
    out["steth"] = token_balance(anvil, steth, w["publicKey"])
    out["bad_amount"] = await error_of(agent.execute_action("lido_staking", "stake", {"amount": "-1"}))
    out["unknown"] = await error_of(agent.execute_action("nope", "stake", {}))
    return out


@pytest.fixture(scope="module")
def runs(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    code = json.loads((REPO / "tests/contracts/build/StakedEther.json").read_text())["bytecode"]
    steth = _mined(anvil, {"from": DEV_ACCOUNTS[0], "data": code})["contractAddress"]
    settings = {"WAIAAS_ACTIONS_LIDO_STAKING_ENABLED": "true", "WAIAAS_ACTIONS_LIDO_STAKING_STETH_ADDRESS": steth}
    embedded_dir = write_embedded_config(
        tmp_path_factory.mktemp("actions-embedded") / "data",
        anvil.url,
        f'[actions]\nlido_staking_enabled = true\nlido_staking_steth_address = "{steth}"\n',
    )
    daemon = Daemon(tmp_path_factory.mktemp("actions") / "data", anvil.url, settings)

    async def embedded() -> Dict[str, Any]:
        return await scenario(await waiaas.Wallets.open(embedded_dir, PASSWORD), anvil, steth)

    async def remote() -> Dict[str, Any]:
        return await scenario(waiaas.AdminClient(daemon.base_url, PASSWORD), anvil, steth)

    try:
        return {"embedded": asyncio.run(embedded()), "remote": asyncio.run(remote())}
    finally:
        daemon.stop()


@pytest.mark.parametrize("mode", MODES)
def test_the_enabled_provider_is_listed_with_its_input_schema(runs: Dict[str, Any], mode: str) -> None:
    lido = next(p for p in runs[mode]["providers"]["providers"] if p["name"] == "lido_staking")
    assert lido["isEnabled"] is True and lido["category"] == "Staking"
    stake = lido["actions"][0]
    assert (stake["name"], stake["defaultTier"]) == ("stake", "NOTIFY")
    assert stake["inputSchema"]["required"] == ["amount"]
    others = [p for p in runs[mode]["providers"]["providers"] if p["name"] != "lido_staking"]
    assert others and all(p["isEnabled"] is False and p["actions"] == [] for p in others)


@pytest.mark.parametrize("mode", MODES)
def test_a_stake_runs_under_the_policies_and_mints_steth(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    assert r["dry"]["dryRun"] is True and r["dry"]["decision"]["allowed"] is True and r["dry"]["decision"]["tier"] == "NOTIFY"
    assert r["dry"]["steps"][0]["value"] == str(STAKE)
    assert r["after_dry"]["items"] == [], "a dry run records nothing"
    assert r["accepted"]["status"] == "PENDING" and "pipeline" not in r["accepted"]
    staked = r["staked"]
    assert (staked["status"], staked["type"], staked["tier"]) == ("CONFIRMED", "CONTRACT_CALL", "NOTIFY")
    assert (staked["action"]["provider"], staked["action"]["action"]) == ("lido_staking", "stake")
    assert r["steth"] == STAKE


@pytest.mark.parametrize("mode", MODES)
def test_answers_are_the_declared_types(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    assert problems(T.ActionProvidersResponse, r["providers"], "ActionProvidersResponse") == []
    assert problems(T.ActionResponse, r["dry"], "ActionResponse") == []
    assert problems(T.ActionResponse, r["accepted"], "ActionResponse") == []
    assert problems(T.TransactionResponse, r["staked"], "TransactionResponse") == []


@pytest.mark.parametrize("mode", MODES)
def test_bad_actions_raise_the_daemons_codes(runs: Dict[str, Any], mode: str) -> None:
    assert runs[mode]["bad_amount"] == {"code": "ACTION_VALIDATION_FAILED", "status": 400}
    assert runs[mode]["unknown"] == {"code": "ACTION_NOT_FOUND", "status": 404}
