"""examples/python-agent/agent.py runs as a user would run it, against a daemon and with the
embedded engine, and does what it says: a send under the limit confirms, a DELAY send is
held and cancelled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import waiaas
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, REPO, Anvil, Daemon, write_embedded_config

EXAMPLE = Path(os.environ.get("WAIAAS_EXAMPLES_DIR", REPO / "examples")) / "python-agent" / "agent.py"
LIMITS = {"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60}

# The operator's side, as a script: a wallet, its spending limit and a session for the agent.
PROVISION = """
import json, sys, waiaas
admin = waiaas.sync.Wallets.open(sys.argv[1], sys.argv[2]) if sys.argv[3] == "embedded" else waiaas.sync.AdminClient(sys.argv[1], sys.argv[2])
w = admin.create_wallet("example", chain="ethereum", environment="testnet", create_session=False)
admin.create_policy("SPENDING_LIMIT", json.loads(sys.argv[4]), wallet_id=w["id"])
s = admin.create_session(w["id"])
print(json.dumps({"address": w["publicKey"], "token": s["token"]}))
"""


def provision(where: str, mode: str) -> Dict[str, Any]:
    # A separate process: the embedded data dir is released when it exits, for the agent.
    out = subprocess.run(
        [sys.executable, "-c", PROVISION, where, PASSWORD, mode, json.dumps(LIMITS)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_example(args: list, env_extra: Dict[str, str]) -> Dict[str, Any]:
    env = dict(os.environ, **env_extra)
    p = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, env=env, timeout=180)
    assert p.returncode == 0, f"agent.py failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    print(p.stdout)
    return json.loads(p.stdout.strip().splitlines()[-1])


def check(summary: Dict[str, Any], anvil: Anvil, mode: str, recipient_before: int) -> None:
    assert summary["mode"] == mode
    assert summary["balance"] == str(10 * ETH)
    assert (summary["sent"]["status"], summary["sent"]["tier"]) == ("CONFIRMED", "INSTANT")
    assert anvil.receipt(summary["sent"]["txHash"])["status"] == "0x1"
    assert summary["delayed"] == {"id": summary["delayed"]["id"], "queued": "QUEUED", "tier": "DELAY", "final": "CANCELLED"}
    # Only the small send moved money.
    assert anvil.balance(DEV_ACCOUNTS[3]) - recipient_before == 10**12


def test_the_example_agent_against_a_daemon(anvil: Anvil, daemon: Daemon) -> None:
    p = provision(daemon.base_url, "remote")
    anvil.fund(p["address"], 10 * ETH)
    before = anvil.balance(DEV_ACCOUNTS[3])
    summary = run_example(["--url", daemon.base_url, "--token", p["token"], "--to", DEV_ACCOUNTS[3]], {})
    check(summary, anvil, "remote", before)


def test_the_example_agent_embedded(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = write_embedded_config(tmp_path_factory.mktemp("example") / "data", anvil.url)
    p = provision(str(data_dir), "embedded")
    anvil.fund(p["address"], 10 * ETH)
    before = anvil.balance(DEV_ACCOUNTS[3])
    summary = run_example(
        ["--data-dir", str(data_dir), "--to", DEV_ACCOUNTS[3]], {"WAIAAS_MASTER_PASSWORD": PASSWORD, "WAIAAS_SESSION_TOKEN": p["token"]}
    )
    check(summary, anvil, "embedded", before)
