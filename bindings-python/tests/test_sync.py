"""The blocking facade (`waiaas.sync` / `waiaas.SyncClient` ...): same operations, direct
results, and the GIL released while a call waits."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import waiaas
from waiaas import sync
from conftest import DEV_ACCOUNTS, ETH, PASSWORD, Anvil, Daemon, write_embedded_config


def test_sync_embedded_and_remote_send_and_query(anvil: Anvil, daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert waiaas.SyncClient is sync.Client and waiaas.SyncWallets is sync.Wallets and waiaas.SyncAdminClient is sync.AdminClient
    data_dir = write_embedded_config(tmp_path_factory.mktemp("sync") / "data", anvil.url)
    for admin in [sync.Wallets.open(data_dir, PASSWORD), sync.AdminClient(daemon.base_url, PASSWORD)]:
        w = admin.create_wallet("script", chain="ethereum", environment="testnet")
        anvil.fund(w["publicKey"], 10 * ETH)
        with admin.agent(w["session"]["token"]) as agent:
            assert agent.get_balance()["balance"] == str(10 * ETH)
            sent = agent.send_token(DEV_ACCOUNTS[5], "12345", type="TRANSFER")
            tx = agent.wait_for_transaction(sent["id"], timeout=60)
            assert tx["status"] == "CONFIRMED", tx
            assert anvil.receipt(tx["txHash"])["status"] == "0x1"
            with pytest.raises(waiaas.WAIaaSError) as info:
                agent.cancel_transaction(sent["id"])
            assert info.value.code == "TX_ALREADY_PROCESSED"
        assert [x["id"] for x in admin.list_wallets()["items"]].count(w["id"]) == 1


def test_a_blocking_call_releases_the_gil() -> None:
    # A local server that accepts, holds the request for a second, then hangs up.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve() -> None:
        conn, _ = srv.accept()
        conn.recv(65536)
        time.sleep(1.0)
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    client = sync.Client(f"http://127.0.0.1:{port}", "wai_sess_x")
    result = {}

    def call() -> None:
        try:
            client.get_balance()
        except waiaas.WAIaaSError as e:
            result["error"] = e

    t = threading.Thread(target=call)
    t.start()
    # This thread keeps running Python while the other waits inside the Rust call.
    spins, start = 0, time.monotonic()
    while t.is_alive():
        spins += 1
    elapsed = time.monotonic() - start
    t.join()
    assert elapsed >= 0.9
    # Held, the GIL would let this loop run only until the other thread entered the call
    # (one switch interval, 5 ms); released, it runs the whole second.
    assert spins > 500_000, f"only {spins} iterations in {elapsed:.2f} s: the GIL was held"
    assert result["error"].code == "NETWORK_ERROR" and result["error"].retryable
