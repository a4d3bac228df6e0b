"""Real local chains and a real daemon for the waiaas Python tests (no mocks).

- anvil comes from the shared node harness, the `waiaas-testnodes anvil <chain-id>` binary
  (tests/nodes: installs anvil into ~/.cache/waiaas on first use, prints one JSON line
  `{"rpc": ...}`, and stops when its stdin closes);
- a daemon is the `waiaas` binary started on a temp data dir the way the Rust harness
  (tests/src/lib.rs) starts it: `init`, then `start` with WAIAAS_MASTER_PASSWORD, an
  ephemeral port, price oracles and rate limits off, and the node's RPC URL.

Binaries: $WAIAAS_BIN / $WAIAAS_TESTNODES_BIN, else $CARGO_TARGET_DIR/debug/..., else
<repo>/target/debug/... (scripts/test-python.sh builds them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "py-test-password-12345"
SEPOLIA = 11155111
ETH = 10**18
# anvil's well-known dev accounts (mnemonic "test test ... junk").
DEV_ACCOUNTS = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
]


def _binary(env: str, name: str) -> Path:
    if os.environ.get(env):
        p = Path(os.environ[env])
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        p = target / "debug" / name
    if not p.exists():
        pytest.exit(f"{p} not found: build it (scripts/test-python.sh does) or set {env}", returncode=2)
    return p


def waiaas_bin() -> Path:
    return _binary("WAIAAS_BIN", "waiaas")


class Anvil:
    """A running anvil posing as ethereum-sepolia, via the shared harness binary."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(_binary("WAIAAS_TESTNODES_BIN", "waiaas-testnodes")), "anvil", str(SEPOLIA)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"waiaas-testnodes anvil exited ({self.proc.wait()}) without printing its URL")
        self.url: str = json.loads(line)["rpc"]

    def rpc(self, method: str, params: List[Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            res = json.loads(r.read())
        if "error" in res:
            raise RuntimeError(f"anvil {method}: {res['error']}")
        return res["result"]

    def fund(self, address: str, wei: int) -> None:
        self.rpc("anvil_setBalance", [address, hex(wei)])

    def balance(self, address: str) -> int:
        return int(self.rpc("eth_getBalance", [address, "latest"]), 16)

    def nonce(self, address: str) -> int:
        return int(self.rpc("eth_getTransactionCount", [address, "latest"]), 16)

    def tx(self, tx_hash: str) -> Dict[str, Any]:
        return self.rpc("eth_getTransactionByHash", [tx_hash])

    def receipt(self, tx_hash: str) -> Optional[Dict[str, Any]]:
        return self.rpc("eth_getTransactionReceipt", [tx_hash])

    def stop(self) -> None:
        stop_by_stdin(self.proc)


def stop_by_stdin(proc: "subprocess.Popen[str]") -> None:
    """Stop a harness child that exits when its stdin closes (killed after 10 s)."""
    if proc.stdin:
        proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Daemon:
    """A real `waiaas start` on `data_dir`; stopped (SIGTERM) by `stop()`."""

    def __init__(self, data_dir: Path, rpc: str, extra_env: Optional[Dict[str, str]] = None) -> None:
        self.data_dir = data_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAIAAS_")}
        env.update(
            {
                "WAIAAS_MASTER_PASSWORD": PASSWORD,
                "WAIAAS_DAEMON_PORT": "0",
                "WAIAAS_ORACLE_ENABLED": "false",
                "WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM": "0",
                "WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM": "0",
                "WAIAAS_SECURITY_RATE_LIMIT_TX_RPM": "0",
                "WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA": rpc,
                "WAIAAS_PRICES_ETH": "2000",
            }
        )
        env.update(extra_env or {})
        if not (data_dir / "config.toml").exists():
            subprocess.run([str(waiaas_bin()), "init", "--data-dir", str(data_dir)], env=env, check=True, capture_output=True)
        self.proc = subprocess.Popen(
            [str(waiaas_bin()), "start", "--data-dir", str(data_dir)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.log: List[str] = []
        deadline = time.monotonic() + 30
        self.base_url = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log.append(line)
            if "ready on http://" in line:
                addr = line.split("ready on http://", 1)[1].split()[0]
                self.base_url = f"http://127.0.0.1:{addr.rsplit(':', 1)[1]}"
                break
        if not self.base_url:
            self.proc.kill()
            rest = self.proc.stdout.read() if self.proc.stdout else ""
            raise RuntimeError("daemon did not start:\n" + "".join(self.log) + rest)
        # Keep draining its output so it never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.log.append(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_embedded_config(data_dir: Path, rpc: str, extra: str = "") -> Path:
    """An embedded data dir whose config.toml points at the node (what an operator writes)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "config.toml").write_text(
        f'[rpc]\nevm_ethereum_sepolia = "{rpc}"\n\n[oracle]\nenabled = false\n\n[prices]\neth = 2000\n\n{extra}'
    )
    return data_dir


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    node = Anvil()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def daemon(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = Daemon(tmp_path_factory.mktemp("daemon") / "data", anvil.url)
    yield d
    d.stop()


def python_exe() -> str:
    return sys.executable
