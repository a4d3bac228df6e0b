"""An asyncio program using the package exits cleanly, every time: the tokio threads that
hand results back to Python must not touch an interpreter that is shutting down (they once
crashed it at exit in about one run of twenty with SIGSEGV or SIGABRT). Also: a call whose
awaiting task was cancelled stays cancelled and does not crash when its work ends later."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from typing import Iterator

import pytest

PROGRAM = """
import asyncio, sys, waiaas
async def main():
    client = waiaas.Client(sys.argv[1], "wai_sess_not_a_real_token")
    if sys.argv[2] == "error":
        try:
            await client.get_balance()
        except waiaas.WAIaaSError as e:
            print(e.code)
    else:
        try:
            await asyncio.wait_for(client.get_balance(), 0.05)
        except asyncio.TimeoutError:
            print("TIMEOUT")
asyncio.run(main())
"""

RUNS = 60


@pytest.fixture(scope="module")
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: the call outlives its awaiting task."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


def closed_port() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def run(url: str, mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROGRAM, url, mode], capture_output=True, text=True, timeout=60)


def test_a_failed_call_then_exit_never_crashes() -> None:
    url = closed_port()
    for i in range(RUNS):
        p = run(url, "error")
        assert (p.returncode, p.stdout.strip()) == (0, "NETWORK_ERROR"), f"run {i}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"


def test_a_cancelled_call_then_exit_never_crashes(silent_server: str) -> None:
    for i in range(RUNS // 3):
        p = run(silent_server, "cancel")
        assert (p.returncode, p.stdout.strip()) == (0, "TIMEOUT"), f"run {i}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
