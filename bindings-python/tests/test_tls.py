"""The remote client reaches a daemon behind an https proxy whose certificate comes from an
internal CA trusted through SSL_CERT_FILE, and refuses the certificate when the CA is not
trusted. The proxy is a real TLS terminator (Python's ssl) in front of a real daemon; the CA
is made for the test with the openssl command line tool."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import waiaas
from conftest import PASSWORD, Daemon

PROGRAM = """
import asyncio, json, sys, waiaas
async def main():
    client = waiaas.Client(sys.argv[1], sys.argv[2])
    try:
        b = await client.get_balance()
        print(json.dumps({"ok": b["address"]}))
    except waiaas.WAIaaSError as e:
        print(json.dumps({"code": e.code, "message": e.message}))
asyncio.run(main())
"""


def make_certs(d: Path) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=WAIaaS test CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")


def pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture(scope="module")
def https_daemon(daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[str, Path]]:
    """`https://localhost:<port>` in front of the daemon, and the CA that signed it."""
    certs = tmp_path_factory.mktemp("certs")
    make_certs(certs)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / "server.pem", certs / "server.key")
    backend = ("127.0.0.1", int(daemon.base_url.rsplit(":", 1)[1]))
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue

            def handle(conn: socket.socket = conn) -> None:
                try:
                    conn.settimeout(10)
                    tls = ctx.wrap_socket(conn, server_side=True)
                    tls.settimeout(None)
                except (OSError, ssl.SSLError):
                    conn.close()  # a client that does not trust the CA aborts the handshake
                    return
                up = socket.create_connection(backend)
                threading.Thread(target=pipe, args=(up, tls), daemon=True).start()
                pipe(tls, up)

            threading.Thread(target=handle, daemon=True).start()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"https://localhost:{srv.getsockname()[1]}", certs / "ca.pem"
    stop.set()
    t.join()
    srv.close()


def run_client(url: str, token: str, ca: "Path | None") -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    if ca is not None:
        env["SSL_CERT_FILE"] = str(ca)
    p = subprocess.run([sys.executable, "-c", PROGRAM, url, token], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_the_remote_client_speaks_https_to_a_trusted_ca_only(daemon: Daemon, https_daemon: Tuple[str, Path]) -> None:
    url, ca = https_daemon
    admin = waiaas.sync.AdminClient(daemon.base_url, PASSWORD)
    w = admin.create_wallet("tls", chain="ethereum", environment="testnet", create_session=False)
    token = admin.create_session(w["id"])["token"]

    assert run_client(url, token, ca) == {"ok": w["publicKey"]}

    refused = run_client(url, token, None)
    assert refused["code"] == "NETWORK_ERROR", refused
    assert "certificate" in refused["message"].lower(), refused
    assert url in refused["message"], refused  # names the endpoint
