"""The Python classes offer exactly the client methods of the core's operation table
(`waiaas_core::api::OPERATIONS`, read through `waiaas._native.client_methods()`): every
declared method is a coroutine method of the asyncio class and a plain one of its sync twin,
and every name the classes send to the native dispatcher is declared."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import waiaas
from waiaas import _native


def invoked_names() -> set:
    src = (Path(waiaas.__file__).parent / "_ops.py").read_text()
    return set(re.findall(r'_invoke\(\s*"([a-z0-9_]+)"', src))


def test_every_declared_method_is_offered() -> None:
    agent, admin = _native.client_methods()
    assert "send_token" in agent and "create_wallet" in admin
    for cls, sync, names in ((waiaas.Client, waiaas.SyncClient, agent), (waiaas.AdminClient, waiaas.SyncAdminClient, admin)):
        for name in names:
            assert inspect.iscoroutinefunction(getattr(cls, name, None)), f"{cls.__name__}.{name} is declared but missing"
            fn = getattr(sync, name, None)
            assert callable(fn) and not inspect.iscoroutinefunction(fn), f"{sync.__name__}.{name}"


def test_every_dispatched_name_is_declared() -> None:
    agent, admin = _native.client_methods()
    used = invoked_names()
    assert len(used) > 30, used
    assert used <= set(agent) | set(admin), used - set(agent) - set(admin)
    # And every declared name is used by some method (no declared operation left unreachable).
    assert set(agent) | set(admin) <= used, (set(agent) | set(admin)) - used
