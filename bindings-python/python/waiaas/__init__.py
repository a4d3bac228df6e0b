"""WAIaaS: a self-hosted wallet for AI agents, from Python.

Two ways to reach the same engine, with the same methods, results and errors:

- ``waiaas.Client(base_url, session_token)``: an agent of a running daemon (HTTP);
- ``await waiaas.Wallets.open(data_dir, master_password)``: the Rust engine embedded in
  this process; ``wallets.agent(session_token)`` is an agent with the same methods.

Operator methods are on ``waiaas.AdminClient(base_url, master_password)`` and on
``Wallets``. Every method of those classes is a coroutine; ``waiaas.sync`` has blocking
twins (``SyncClient``, ``SyncAdminClient``, ``SyncWallets``). Failures raise
``waiaas.WAIaaSError`` with ``code``, ``message``, ``retryable``, ``status`` and
``request_id``.

Results are plain dicts, typed for mypy and pyright by the ``TypedDict`` classes of
``waiaas.types`` (also importable from ``waiaas``: ``from waiaas import TransactionResponse``).
"""

from ._client import AdminClient, Client, Wallets
from ._errors import WAIaaSError
from ._native import __version__, owner_message
from . import sync, types
from ._types import *  # noqa: F401,F403
from . import _types
from .sync import AdminClient as SyncAdminClient
from .sync import Client as SyncClient
from .sync import Wallets as SyncWallets

__all__ = [
    "Client",
    "AdminClient",
    "Wallets",
    "SyncClient",
    "SyncAdminClient",
    "SyncWallets",
    "WAIaaSError",
    "owner_message",
    "sync",
    "types",
    "__version__",
]
__all__ += _types.__all__
