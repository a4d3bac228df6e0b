"""The one exception type of the waiaas package."""

from __future__ import annotations

from typing import Any, Optional


class WAIaaSError(Exception):
    """A WAIaaS error, raised the same way by the embedded engine and by a daemon client.

    Attributes:
        code: stable upstream error code, e.g. ``"POLICY_DENIED"``, ``"TX_NOT_FOUND"``.
        message: human-readable message.
        retryable: whether the same call may succeed later.
        status: the HTTP status the daemon answers this code with (also for embedded calls).
        details: structured details (e.g. ``{"issues": [{"path": [...], "message": ...}]}``).
        hint: a recovery hint, when there is one.
        request_id: the daemon's id of the failed request (remote mode), to find it in its log.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 0,
        retryable: bool = False,
        details: Optional[Any] = None,
        hint: Optional[str] = None,
        request_id: Optional[str] = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retryable = retryable
        self.details = details
        self.hint = hint
        self.request_id = request_id

    @property
    def status_code(self) -> int:
        """Alias of :attr:`status` (the upstream Python SDK's name)."""
        return self.status

    def __repr__(self) -> str:
        return f"WAIaaSError(code={self.code!r}, message={self.message!r}, status={self.status}, retryable={self.retryable})"

    def __reduce__(self) -> Any:
        return (self.__class__, (self.code, self.message, self.status, self.retryable, self.details, self.hint, self.request_id))
