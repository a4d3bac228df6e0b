"""Every method of the asyncio classes that does I/O is a real coroutine function (agent
frameworks check `inspect.iscoroutinefunction` to decide how to call a tool), and the blocking
twins in `waiaas.sync` are plain functions."""

from __future__ import annotations

import inspect

import waiaas

# The only public methods of the asyncio classes that do no I/O: they build a handle.
NOT_COROUTINES = {"agent"}


def public_methods(cls: type) -> dict:
    return {n: f for n, f in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_")}


def test_every_async_method_is_a_coroutine_function() -> None:
    for cls in (waiaas.Client, waiaas.AdminClient, waiaas.Wallets):
        methods = public_methods(cls)
        assert len(methods) > 10, cls
        for name, fn in methods.items():
            if name in NOT_COROUTINES:
                continue
            assert inspect.iscoroutinefunction(fn), f"{cls.__name__}.{name} is not a coroutine function"
    assert inspect.iscoroutinefunction(waiaas.Wallets.open)


def test_the_sync_twins_are_plain_functions_with_the_same_names() -> None:
    for a, s in ((waiaas.Client, waiaas.SyncClient), (waiaas.AdminClient, waiaas.SyncAdminClient)):
        async_names, sync_names = set(public_methods(a)), set(public_methods(s))
        assert async_names - {"close"} <= sync_names | {"close"}, async_names - sync_names
        for name, fn in public_methods(s).items():
            assert not inspect.iscoroutinefunction(fn), f"sync {s.__name__}.{name}"


def test_a_wrapped_method_keeps_its_name_doc_and_signature() -> None:
    fn = waiaas.Client.get_balance
    assert fn.__name__ == "get_balance" and "GET /v1/wallet/balance" in (fn.__doc__ or "")
    assert "network" in inspect.signature(fn).parameters
