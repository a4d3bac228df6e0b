"""A failed remote call's WAIaaSError carries the daemon's request id (to find the request in
its log); an embedded call has none. Both keep the upstream code and status."""

from __future__ import annotations

import re

import pytest
import waiaas
from conftest import PASSWORD, Anvil, Daemon, write_embedded_config

UNKNOWN_WALLET = "01900000-0000-7000-8000-00000000abcd"


def test_remote_errors_carry_the_daemons_request_id(daemon: Daemon) -> None:
    admin = waiaas.sync.AdminClient(daemon.base_url, PASSWORD)
    with pytest.raises(waiaas.WAIaaSError) as e:
        admin.get_wallet(UNKNOWN_WALLET)
    assert (e.value.code, e.value.status) == ("WALLET_NOT_FOUND", 404)
    assert e.value.request_id and re.fullmatch(r"[0-9a-f-]{36}", e.value.request_id), e.value.request_id
    # Two failures, two ids.
    with pytest.raises(waiaas.WAIaaSError) as again:
        admin.get_wallet(UNKNOWN_WALLET)
    assert again.value.request_id != e.value.request_id


def test_embedded_errors_have_no_request_id(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> None:
    wallets = waiaas.sync.Wallets.open(str(write_embedded_config(tmp_path_factory.mktemp("errors") / "data", anvil.url)), PASSWORD)
    with pytest.raises(waiaas.WAIaaSError) as e:
        wallets.get_wallet(UNKNOWN_WALLET)
    assert (e.value.code, e.value.request_id) == ("WALLET_NOT_FOUND", None)
