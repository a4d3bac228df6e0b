"""The stubs shipped in the wheel type real agent code: ``mypy --strict`` accepts a typed
sample agent (typed_agent.py), and rejects one that reads ``tx["txHsh"]`` and passes a
misspelled keyword argument (misspelled_agent.py), naming both. The typed agent also runs
against a real daemon.

mypy is a build tool: scripts/test-python.sh installs it into its build-tools virtualenv and
exports ``WAIAAS_MYPY``; it is checked against this interpreter's site-packages (where the
wheel is installed), never the source tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest
import waiaas
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, Anvil, Daemon

HERE = Path(__file__).resolve().parent
MYPY = os.environ.get("WAIAAS_MYPY")


def mypy(file: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if not MYPY:
        pytest.skip("WAIAAS_MYPY is not set: run the suite with scripts/test-python.sh, which installs mypy")
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    cmd: List[str] = [
        MYPY,
        "--strict",
        "--no-error-summary",
        "--show-error-codes",
        "--python-executable",
        sys.executable,
        "--cache-dir",
        str(tmp_path / "mypy-cache"),
        str(HERE / file),
    ]
    # From an empty directory: no config file or source tree of the package is picked up.
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def test_the_wheel_ships_the_stubs() -> None:
    pkg = Path(waiaas.__file__).parent
    for name in ("py.typed", "_client.pyi", "sync.pyi", "_native.pyi", "_types.py", "types.py"):
        assert (pkg / name).is_file(), name
    assert "site-packages" in str(pkg), f"the suite must test the installed wheel, not {pkg}"


def test_mypy_strict_accepts_the_typed_agent(tmp_path: Path) -> None:
    r = mypy("typed_agent.py", tmp_path)
    assert r.returncode == 0, f"mypy --strict rejected typed_agent.py:\n{r.stdout}{r.stderr}"


def test_mypy_strict_rejects_the_misspelled_agent(tmp_path: Path) -> None:
    r = mypy("misspelled_agent.py", tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 1, f"mypy should have failed with type errors:\n{out}"
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert any('"txHsh"' in e and "TransactionResponse" in e and "[typeddict-item]" in e for e in errors), out
    assert any('"idempotency_kye"' in e and "send_token" in e and "[call-arg]" in e for e in errors), out
    assert len(errors) == 2, out


def test_the_typed_agent_pays_against_a_real_daemon(anvil: Anvil, daemon: Daemon) -> None:
    admin = waiaas.sync.AdminClient(daemon.base_url, PASSWORD)
    w = admin.create_wallet("typed-agent", chain="ethereum", environment="testnet")
    anvil.fund(w["publicKey"], ETH)
    session = w["session"]
    assert session is not None
    to, amount = DEV_ACCOUNTS[3], "1000000000000"
    r = subprocess.run(
        [sys.executable, str(HERE / "typed_agent.py"), daemon.base_url, session["token"], to, amount],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout)
    assert result["status"] == "CONFIRMED" and result["txHash"], result
    assert anvil.receipt(result["txHash"]) is not None


def test_every_method_of_the_stubs_returns_a_declared_type() -> None:
    """No ``Dict[str, Any]`` result is left, and the blocking twins return the same types."""
    import re

    pkg = Path(waiaas.__file__).parent
    returns: Dict[str, Dict[str, Set[str]]] = {}
    for stub in ("_client.pyi", "sync.pyi"):
        text = (pkg / stub).read_text()
        assert "-> Dict[str, Any]" not in text, stub
        current = ""
        found: Dict[str, Set[str]] = {}
        for line in text.splitlines():
            m = re.match(r"class (\w+)", line)
            if m:
                current = m.group(1)
            m = re.match(r"\s+(?:async )?def (\w+)\(.*\) -> (\w+): \.\.\.", line)
            if m and not m.group(1).startswith("_"):
                found.setdefault(f"{current}.{m.group(1)}", set()).add(m.group(2))
        returns[stub] = found
    assert returns["_client.pyi"] == returns["sync.pyi"]
    for name, types in returns["_client.pyi"].items():
        for t in types:
            assert t in waiaas.types.__all__ or t in {"Client", "AdminClient", "Wallets", "None", "str"}, f"{name} -> {t}"
    assert returns["_client.pyi"]["Client.wait_for_transaction"] == {"TransactionResponse"}
    assert returns["_client.pyi"]["Client.get_balance"] == {"BalanceResponse", "MultiNetworkBalanceResponse"}
