"""Blocking classes for scripts: the same methods as ``waiaas.Client``, ``waiaas.AdminClient``
and ``waiaas.Wallets``, returning their results directly (the GIL is released while a call
waits)::

    from waiaas.sync import Client, Wallets

    client = Client("http://127.0.0.1:3100", "wai_sess_...")
    print(client.get_balance())

Also exported as ``waiaas.SyncClient``, ``waiaas.SyncAdminClient`` and ``waiaas.SyncWallets``.
Do not call them from inside a running asyncio event loop (they block it); use the async
classes there.
"""

from __future__ import annotations

import json
import os
from typing import Any, Union

from . import _native
from ._ops import _AdminOps, _AgentOps, _dumps

__all__ = ["Client", "AdminClient", "Wallets"]


class Client(_AgentOps):
    """A blocking agent: ``Client(base_url, session_token)`` or ``Wallets.agent(token)``."""

    def __init__(self, base_url: str, session_token: str) -> None:
        self._native = _native.Agent.remote(base_url, session_token)

    @classmethod
    def _wrap(cls, native: Any) -> "Client":
        obj = cls.__new__(cls)
        obj._native = native
        return obj

    def _invoke(self, method: str, **args: Any) -> Any:
        return json.loads(self._native.call_blocking(method, _dumps(args)))

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AdminClient(_AdminOps):
    """A blocking operator of a daemon: ``AdminClient(base_url, master_password)``."""

    def __init__(self, base_url: str, master_password: str) -> None:
        self._native = _native.Admin.remote(base_url, master_password)

    @classmethod
    def _wrap(cls, native: Any) -> Any:
        obj = cls.__new__(cls)
        obj._native = native
        return obj

    def _invoke(self, method: str, **args: Any) -> Any:
        return json.loads(self._native.call_blocking(method, _dumps(args)))

    def agent(self, session_token: str) -> Client:
        return Client._wrap(self._native.agent(session_token))

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Wallets(AdminClient):
    """The embedded engine, blocking: ``Wallets.open(data_dir, master_password)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("use `waiaas.sync.Wallets.open(data_dir, master_password)`")

    @classmethod
    def open(cls, data_dir: Union[str, "os.PathLike[str]"], master_password: str) -> "Wallets":
        path = os.path.expanduser(os.fspath(data_dir))
        return cls._wrap(_native.Admin.open_blocking(path, master_password))

    @property
    def data_dir(self) -> str:
        return os.fspath(self._native.data_dir)

    def agent(self, session_token: str) -> Client:
        return Client._wrap(self._native.agent(session_token))
