"""DeFi actions through the binding, embedded and against a daemon: `list_action_providers`
shows the enabled providers with their input schemas, `execute_action` stakes ETH with
`lido_staking` (a payable call to a stETH contract on anvil) and swaps a token for ETH with
`uniswap_v2` (approve + swap on Uniswap v2 deployed from its published npm artifacts) under the
wallet's policies, the dry run explains the decision without recording anything, and bad input
raises the daemon's error codes. Both modes must give the same results."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest
import waiaas
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, REPO, Anvil, Daemon, write_embedded_config
from test_declared_types import problems
from test_x402 import _mined, _word, deploy_eip3009, token_balance
from waiaas import types as T

STAKE = ETH // 100  # $20 at 2000 USD/ETH: NOTIFY, the action's default tier
TST = 10**6  # 6 decimals, $1
SWAP = 10 * TST  # $10
MODES = ["embedded", "remote"]
GAS = hex(5_000_000)


def uniswap_v2(anvil: Anvil) -> Dict[str, str]:
    """WETH9, the factory and Router02 as published (tests/defi/install.sh), and a TST/WETH pool
    of 200,000 TST and 100 ETH (2,000 TST per ETH) provided by dev account 0."""
    modules = Path(subprocess.run(["bash", str(REPO / "tests/defi/install.sh")], check=True, capture_output=True, text=True).stdout.strip()) / "node_modules"

    def code(package: str, name: str) -> str:
        art = json.loads((modules / package / "build" / f"{name}.json").read_text())
        return "0x" + (art.get("bytecode") or art["evm"]["bytecode"]["object"]).replace("0x", "")

    owner = DEV_ACCOUNTS[0]
    deploy = lambda data: _mined(anvil, {"from": owner, "data": data, "gas": GAS})["contractAddress"]  # noqa: E731
    weth = deploy(code("@uniswap/v2-periphery", "WETH9"))
    factory = deploy(code("@uniswap/v2-core", "UniswapV2Factory") + _word(int(owner, 16)))
    router = deploy(code("@uniswap/v2-periphery", "UniswapV2Router02") + _word(int(factory, 16)) + _word(int(weth, 16)))
    token = deploy_eip3009(anvil, "Swap Token", "TST", 6, 10_000_000 * TST)
    _mined(anvil, {"from": owner, "to": token, "data": "0x095ea7b3" + _word(int(router, 16)) + _word(200_000 * TST)})
    args = _word(int(token, 16)) + _word(200_000 * TST) + _word(0) + _word(0) + _word(int(owner, 16)) + _word(2**64 - 1)
    _mined(anvil, {"from": owner, "to": router, "value": hex(100 * ETH), "gas": GAS, "data": "0xf305d719" + args})
    return {"weth": weth, "router": router, "token": token}


def amount_out(anvil: Anvil, router: str, amount_in: int, path: List[str]) -> int:
    """The router's quote (`getAmountsOut`): the last of its amounts."""
    data = "0xd06ca61f" + _word(amount_in) + _word(0x40) + _word(len(path)) + "".join(_word(int(a, 16)) for a in path)
    out = anvil.rpc("eth_call", [{"to": router, "data": data}, "latest"])
    return int(out[-64:], 16)


def fee(anvil: Anvil, tx_hash: str) -> int:
    receipt = anvil.receipt(tx_hash)
    assert receipt is not None
    return int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)


async def error_of(call: Any) -> Dict[str, Any]:
    try:
        result = await call
    except waiaas.WAIaaSError as e:
        return {"code": e.code, "status": e.status}
    raise AssertionError(f"expected a WAIaaSError, got {result!r}")


async def scenario(admin: Any, anvil: Anvil, steth: str, uni: Dict[str, str]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    w = await admin.create_wallet("staker", chain="ethereum", environment="testnet", create_session=False)
    me = w["publicKey"]
    anvil.fund(me, ETH)
    _mined(anvil, {"from": DEV_ACCOUNTS[0], "to": uni["token"], "data": "0xa9059cbb" + _word(int(me, 16)) + _word(100 * TST)})
    await admin.create_policy("CONTRACT_WHITELIST", {"contracts": [{"address": steth}, {"address": uni["router"]}]}, wallet_id=w["id"])
    await admin.create_policy("APPROVED_SPENDERS", {"spenders": [{"address": uni["router"]}]}, wallet_id=w["id"])
    agent = admin.agent((await admin.create_session(w["id"]))["token"])
    out["providers"] = await agent.list_action_providers()
    out["dry"] = await agent.execute_action("lido_staking", "stake", {"amount": str(STAKE)}, dry_run=True)
    out["after_dry"] = await agent.list_transactions()
    out["accepted"] = await agent.execute_action("lido_staking", "stake", {"amount": str(STAKE)})
    out["staked"] = await agent.wait_for_transaction(out["accepted"]["id"], timeout=60)
    out["steth"] = token_balance(anvil, steth, w["publicKey"])
    # A token sold for ETH at the pool's quote: approve + swap, one bundle.
    quote = amount_out(anvil, uni["router"], SWAP, [uni["token"], uni["weth"]])
    eth_before, tst_before = anvil.balance(me), token_balance(anvil, uni["token"], me)
    swap = await agent.execute_action("uniswap_v2", "swap", {"tokenIn": uni["token"], "tokenOut": "ETH", "amountIn": str(SWAP)})
    out["swap"] = swap
    out["swap_steps"] = [await agent.wait_for_transaction(s["id"], timeout=60) for s in swap["pipeline"]]
    fees = sum(fee(anvil, t["txHash"]) for t in out["swap_steps"])
    out["swap_moved"] = (anvil.balance(me) - eth_before + fees - quote, tst_before - token_balance(anvil, uni["token"], me))
    out["bad_amount"] = await error_of(agent.execute_action("lido_staking", "stake", {"amount": "-1"}))
    out["unknown"] = await error_of(agent.execute_action("nope", "stake", {}))
    return out


@pytest.fixture(scope="module")
def runs(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    code = json.loads((REPO / "tests/contracts/build/StakedEther.json").read_text())["bytecode"]
    steth = _mined(anvil, {"from": DEV_ACCOUNTS[0], "data": code})["contractAddress"]
    uni = uniswap_v2(anvil)
    settings = {
        "WAIAAS_ACTIONS_LIDO_STAKING_ENABLED": "true",
        "WAIAAS_ACTIONS_LIDO_STAKING_STETH_ADDRESS": steth,
        "WAIAAS_ACTIONS_UNISWAP_V2_ENABLED": "true",
        "WAIAAS_ACTIONS_UNISWAP_V2_ROUTER_ADDRESS": uni["router"],
        f"WAIAAS_PRICES_{uni['token']}": "1",
    }
    embedded_dir = tmp_path_factory.mktemp("actions-embedded") / "data"
    embedded_dir.mkdir(parents=True)
    (embedded_dir / "config.toml").write_text(
        f'[rpc]\nevm_ethereum_sepolia = "{anvil.url}"\n\n[oracle]\nenabled = false\n\n[prices]\neth = 2000\n"{uni["token"]}" = 1\n\n'
        f'[actions]\nlido_staking_enabled = true\nlido_staking_steth_address = "{steth}"\n'
        f'uniswap_v2_enabled = true\nuniswap_v2_router_address = "{uni["router"]}"\n'
    )
    daemon = Daemon(tmp_path_factory.mktemp("actions") / "data", anvil.url, settings)

    async def embedded() -> Dict[str, Any]:
        return await scenario(await waiaas.Wallets.open(embedded_dir, PASSWORD), anvil, steth, uni)

    async def remote() -> Dict[str, Any]:
        return await scenario(waiaas.AdminClient(daemon.base_url, PASSWORD), anvil, steth, uni)

    try:
        return {"embedded": asyncio.run(embedded()), "remote": asyncio.run(remote())}
    finally:
        daemon.stop()


@pytest.mark.parametrize("mode", MODES)
def test_a_token_swap_is_one_bundle_at_the_pools_quote(runs: Dict[str, Any], mode: str) -> None:
    r = runs[mode]
    steps = r["swap_steps"]
    assert [s["status"] for s in r["swap"]["pipeline"]] == ["PENDING", "PENDING"] and r["swap"]["id"] == steps[1]["id"]
    assert [(s["type"], s["status"]) for s in steps] == [("APPROVE", "CONFIRMED"), ("CONTRACT_CALL", "CONFIRMED")]
    assert all(s["action"]["bundleId"] == steps[0]["id"] and s["action"]["provider"] == "uniswap_v2" for s in steps)
    assert r["swap_moved"] == (0, SWAP), "the wallet got exactly the quote and paid exactly the amount"


@pytest.mark.parametrize("mode", MODES)
def test_the_enabled_provider_is_listed_with_its_input_schema(runs: Dict[str, Any], mode: str) -> None:
    lido = next(p for p in runs[mode]["providers"]["providers"] if p["name"] == "lido_staking")
    assert lido["isEnabled"] is True and lido["category"] == "Staking"
    stake = lido["actions"][0]
    assert (stake["name"], stake["defaultTier"]) == ("stake", "NOTIFY")
    assert stake["inputSchema"]["required"] == ["amount"]
    enabled = sorted(p["name"] for p in runs[mode]["providers"]["providers"] if p["isEnabled"])
    assert enabled == ["lido_staking", "uniswap_v2"]
    others = [p for p in runs[mode]["providers"]["providers"] if not p["isEnabled"]]
    assert others and all(p["actions"] == [] for p in others)


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
