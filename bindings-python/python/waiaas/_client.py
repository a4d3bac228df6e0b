"""The asyncio classes: ``Client`` (agent), ``AdminClient`` (operator) and ``Wallets``
(the embedded engine, an ``AdminClient`` over a data dir in this process)."""

from __future__ import annotations

import functools
import inspect
import json
import os
from typing import Any, Callable, Type, TypeVar, Union

from . import _native
from ._ops import _AdminOps, _AgentOps, _dumps

_C = TypeVar("_C")


def _coroutines(ops: type) -> Callable[[Type[_C]], Type[_C]]:
    """Give the decorated class an ``async def`` for every operation of ``ops``, so that
    ``inspect.iscoroutinefunction`` holds for each (agent frameworks check it to decide how
    to call a tool)."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return await fn(self, *args, **kwargs)

        return method

    def decorate(cls: Type[_C]) -> Type[_C]:
        for name, fn in vars(ops).items():
            if not name.startswith("_") and inspect.isfunction(fn) and name not in vars(cls):
                setattr(cls, name, wrap(fn))
        return cls

    return decorate


@_coroutines(_AgentOps)

class Client(_AgentOps):
    """An agent. ``Client(base_url, session_token)`` talks to a daemon over HTTP;
    ``Wallets.agent(session_token)`` returns one backed by the embedded engine. Both have the
    same methods, results (dicts, the REST JSON bodies) and errors (``WAIaaSError``).

    Every method is a coroutine::

        async with waiaas.Client("http://127.0.0.1:3100", "wai_sess_...") as client:
            balance = await client.get_balance()
    """

    def __init__(self, base_url: str, session_token: str) -> None:
        self._native = _native.Agent.remote(base_url, session_token)

    @classmethod
    def _wrap(cls, native: Any) -> "Client":
        obj = cls.__new__(cls)
        obj._native = native
        return obj

    async def _invoke(self, method: str, **args: Any) -> Any:
        return json.loads(await self._native.call(method, _dumps(args)))

    async def close(self) -> None:
        """Nothing to release (kept for the upstream SDK's interface)."""

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


@_coroutines(_AdminOps)
class AdminClient(_AdminOps):
    """The operator of a daemon: ``AdminClient(base_url, master_password)``."""

    def __init__(self, base_url: str, master_password: str) -> None:
        self._native = _native.Admin.remote(base_url, master_password)

    @classmethod
    def _wrap(cls, native: Any) -> Any:
        obj = cls.__new__(cls)
        obj._native = native
        return obj

    async def _invoke(self, method: str, **args: Any) -> Any:
        return json.loads(await self._native.call(method, _dumps(args)))

    def agent(self, session_token: str) -> Client:
        """An agent of the same daemon presenting ``session_token``."""
        return Client._wrap(self._native.agent(session_token))

    async def close(self) -> None:
        """Nothing to release."""

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class Wallets(AdminClient):
    """The WAIaaS engine embedded in this process, over a data dir::

        wallets = await waiaas.Wallets.open("~/.waiaas-agent", master_password)
        created = await wallets.create_wallet("agent", chain="ethereum", environment="testnet")
        agent = wallets.agent(created["session"]["token"])   # give only this to the model

    The data dir is locked (no daemon or other process may open it while this process
    runs), its config.toml is loaded like the daemon loads it, and unfinished transactions,
    DELAY queues and confirmations progress in the background of this process.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("use `await waiaas.Wallets.open(data_dir, master_password)`")

    @classmethod
    async def open(cls, data_dir: Union[str, "os.PathLike[str]"], master_password: str) -> "Wallets":
        """Open (creating it if missing) ``data_dir`` with ``master_password``."""
        path = os.path.expanduser(os.fspath(data_dir))
        return cls._wrap(await _native.Admin.open(path, master_password))

    @property
    def data_dir(self) -> str:
        return os.fspath(self._native.data_dir)

    def agent(self, session_token: str) -> Client:
        """An in-process agent presenting ``session_token``: it reaches only the agent
        operations, and every call is checked against the session (revoked, expired,
        rotated tokens fail)."""
        return Client._wrap(self._native.agent(session_token))
