"""The method surface shared by the async and the sync classes.

Each method only shapes its arguments into the REST names and hands them to
``self._invoke(method, **args)``, which the async classes (``waiaas.Client``, ...) implement
as a coroutine and the sync classes (``waiaas.sync.Client``, ...) as a blocking call. The
precise signatures and return types are in ``_client.pyi`` and ``sync.pyi``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, cast


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _clean(fields: Dict[str, Any]) -> Dict[str, Any]:
    """Drop unset (None) fields and camelCase snake_case keys (upstream aliases)."""
    return {_camel(k): v for k, v in fields.items() if v is not None}


def _dumps(args: Dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in args.items() if v is not None})


def _tx(to: Optional[str], amount: Optional[str], extra: Dict[str, Any]) -> Dict[str, Any]:
    body = _clean({"to": to, "amount": amount})
    body.update(_clean(extra))
    return body


class _AgentOps:
    """Agent operations (session token). Method names follow the upstream Python SDK."""

    _native: Any

    def _invoke(self, method: str, **args: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def session_token(self) -> str:
        """The session token presented now (``renew_session`` replaces it)."""
        return cast(str, self._native.session_token)

    @property
    def mode(self) -> str:
        """``"embedded"`` (an engine in this process) or ``"remote"`` (a daemon over HTTP)."""
        return cast(str, self._native.mode)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__qualname__} mode={self.mode}>"

    # Wallet queries -------------------------------------------------------------------

    def get_address(self, *, wallet_id: Optional[str] = None, network: Optional[str] = None) -> Any:
        """``GET /v1/wallet/address``."""
        return self._invoke("get_address", walletId=wallet_id, network=network)

    def get_balance(self, *, network: Optional[str] = None, wallet_id: Optional[str] = None) -> Any:
        """``GET /v1/wallet/balance`` (``network="all"``: every network of the wallet)."""
        return self._invoke("get_balance", walletId=wallet_id, network=network)

    def get_all_balances(self, *, wallet_id: Optional[str] = None) -> Any:
        """``GET /v1/wallet/balance?network=all``."""
        return self._invoke("get_balance", walletId=wallet_id, network="all")

    def get_assets(self, *, network: Optional[str] = None, wallet_id: Optional[str] = None) -> Any:
        """``GET /v1/wallet/assets``: native asset and registered tokens with balances."""
        return self._invoke("get_assets", walletId=wallet_id, network=network)

    def get_connect_info(self) -> Any:
        """``GET /v1/connect-info``: wallets, policies and a prompt describing the rules."""
        return self._invoke("get_connect_info")

    # Transactions ---------------------------------------------------------------------

    def send_token(
        self,
        to: Optional[str] = None,
        amount: Optional[str] = None,
        *,
        memo: Optional[str] = None,
        type: Optional[str] = None,
        token: Optional[Dict[str, Any]] = None,
        network: Optional[str] = None,
        wallet_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        **kwargs: Any,
    ) -> Any:
        """``POST /v1/transactions/send``: ``{"id", "status": "PENDING"}``; the pipeline
        (policy, delay, signing, broadcast, confirmation) continues in the background.

        Extra keyword arguments are sent camelCased (``human_amount`` -> ``humanAmount``,
        ``calldata``, ``spender``, ``instructions``, ...).
        """
        body = _tx(to, amount, dict(memo=memo, type=type, token=token, network=network, wallet_id=wallet_id, **kwargs))
        return self._invoke("send_token", request=body, idempotencyKey=idempotency_key)

    def simulate(
        self,
        to: Optional[str] = None,
        amount: Optional[str] = None,
        *,
        memo: Optional[str] = None,
        type: Optional[str] = None,
        token: Optional[Dict[str, Any]] = None,
        network: Optional[str] = None,
        wallet_id: Optional[str] = None,
        **kwargs: Any,
    ) -> Any:
        """``POST /v1/transactions/simulate``: the policy decision (tier, reason) and the
        fee and chain simulation of a send, recording nothing."""
        body = _tx(to, amount, dict(memo=memo, type=type, token=token, network=network, wallet_id=wallet_id, **kwargs))
        return self._invoke("simulate", request=body)

    def sign_transaction(
        self, transaction: str, *, chain: Optional[str] = None, network: Optional[str] = None, wallet_id: Optional[str] = None
    ) -> Any:
        """``POST /v1/transactions/sign``: sign an external unsigned transaction without broadcasting."""
        return self._invoke("sign_transaction", request=_clean(dict(transaction=transaction, chain=chain, network=network, wallet_id=wallet_id)))

    def sign_message(
        self,
        message: Optional[str] = None,
        *,
        sign_type: Optional[str] = None,
        typed_data: Optional[Dict[str, Any]] = None,
        network: Optional[str] = None,
        wallet_id: Optional[str] = None,
    ) -> Any:
        """``POST /v1/transactions/sign-message`` (``sign_type`` ``"personal"`` or ``"typedData"``)."""
        return self._invoke(
            "sign_message",
            request=_clean(dict(message=message, sign_type=sign_type, typed_data=typed_data, network=network, wallet_id=wallet_id)),
        )

    def x402_fetch(
        self,
        url: str,
        *,
        method: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
        body: Optional[str] = None,
        wallet_id: Optional[str] = None,
    ) -> Any:
        """``POST /v1/x402/fetch``: fetch ``url``; an HTTP 402 (x402) is paid from the wallet
        under its policies. ``{"status", "headers", "body", "payment"?}``."""
        return self._invoke("x402_fetch", request=_clean(dict(url=url, method=method, headers=headers, body=body, wallet_id=wallet_id)))

    def list_action_providers(self) -> Any:
        """``GET /v1/actions/providers``: ``{"providers": [...]}``, each enabled one with its
        actions and their input schemas."""
        return self._invoke("list_action_providers")

    def execute_action(
        self,
        provider: str,
        action: str,
        params: Optional[Dict[str, Any]] = None,
        *,
        network: Optional[str] = None,
        wallet_id: Optional[str] = None,
        dry_run: bool = False,
    ) -> Any:
        """``POST /v1/actions/{provider}/{action}``: the action's steps run as one bundle under
        the wallet's policies. ``{"id", "status", "pipeline"?}``; with ``dry_run`` the policy
        decision of the whole bundle and its steps, nothing recorded."""
        return self._invoke(
            "execute_action",
            provider=provider,
            action=action,
            dryRun=dry_run,
            request=_clean(dict(params=params or {}, network=network, wallet_id=wallet_id)),
        )

    def get_transaction(self, tx_id: str) -> Any:
        """``GET /v1/transactions/{id}``."""
        return self._invoke("get_transaction", id=tx_id)

    def list_transactions(self, *, limit: int = 20, cursor: Optional[str] = None, wallet_id: Optional[str] = None) -> Any:
        """``GET /v1/transactions``: newest first, ``{"items", "cursor", "hasMore"}``."""
        return self._invoke("list_transactions", limit=limit, cursor=cursor, walletId=wallet_id)

    def list_pending_transactions(self, *, wallet_id: Optional[str] = None) -> Any:
        """``GET /v1/transactions/pending``: PENDING and QUEUED transactions."""
        return self._invoke("list_pending_transactions", walletId=wallet_id)

    def list_incoming_transactions(
        self,
        *,
        limit: int = 20,
        cursor: Optional[str] = None,
        status: Optional[str] = None,
        chain: Optional[str] = None,
        network: Optional[str] = None,
        token: Optional[str] = None,
        from_address: Optional[str] = None,
        since: Optional[int] = None,
        until: Optional[int] = None,
        wallet_id: Optional[str] = None,
    ) -> Any:
        """``GET /v1/wallet/incoming``: transfers the incoming monitor recorded, newest first
        (CONFIRMED unless ``status="DETECTED"``), ``{"data", "nextCursor", "hasMore"}``."""
        filters = dict(limit=limit, cursor=cursor, status=status, chain=chain, network=network, token=token)
        filters.update(from_address=from_address, since=since, until=until, wallet_id=wallet_id)
        return self._invoke("list_incoming_transactions", request={k: v for k, v in filters.items() if v is not None})

    def get_incoming_summary(
        self,
        *,
        period: Optional[str] = None,
        chain: Optional[str] = None,
        network: Optional[str] = None,
        since: Optional[int] = None,
        until: Optional[int] = None,
        wallet_id: Optional[str] = None,
    ) -> Any:
        """``GET /v1/wallet/incoming/summary``: confirmed incoming transfers by ``daily``,
        ``weekly`` or ``monthly`` period, ``{"period", "entries"}``."""
        filters = dict(period=period, chain=chain, network=network, since=since, until=until, wallet_id=wallet_id)
        return self._invoke("get_incoming_summary", request={k: v for k, v in filters.items() if v is not None})

    def cancel_transaction(self, tx_id: str) -> Any:
        """``POST /v1/transactions/{id}/cancel``: cancel a QUEUED (DELAY or APPROVAL) transaction."""
        return self._invoke("cancel_transaction", id=tx_id)

    def wait_for_transaction(self, tx_id: str, *, timeout: float = 60.0) -> Any:
        """Poll a transaction until it is settled (CONFIRMED, FAILED, CANCELLED, EXPIRED,
        SIGNED, PARTIAL_FAILURE, or QUEUED waiting on a delay or an owner) or ``timeout``
        seconds pass; returns the last state seen."""
        return self._invoke("wait_for_transaction", id=tx_id, timeout=float(timeout))

    # Utilities and session ------------------------------------------------------------

    def encode_calldata(self, abi: Any, function_name: str, args: Optional[List[Any]] = None) -> Any:
        """``POST /v1/utils/encode-calldata``: ``{"calldata", "selector", "functionName"}``."""
        return self._invoke("encode_calldata", request={"abi": abi, "functionName": function_name, "args": args or []})

    def get_nonce(self) -> Any:
        """``GET /v1/nonce``: a single-use nonce for an owner signature."""
        return self._invoke("get_nonce")

    def renew_session(self, session_id: Optional[str] = None) -> Any:
        """``PUT /v1/sessions/{id}/renew`` for this client's own session; the client keeps
        presenting the new token. ``session_id``, if given, must be this session's id."""
        return self._invoke("renew_session", id=session_id)


class _AdminOps:
    """Operator operations (master password)."""

    _native: Any

    def _invoke(self, method: str, **args: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def mode(self) -> str:
        """``"embedded"`` (an opened data dir) or ``"remote"`` (a daemon over HTTP)."""
        return cast(str, self._native.mode)

    def __repr__(self) -> str:
        where = self._native.data_dir if self.mode == "embedded" else self._native.base_url
        return f"<{type(self).__module__}.{type(self).__qualname__} mode={self.mode} {where}>"

    # Wallets --------------------------------------------------------------------------

    def create_wallet(
        self,
        name: str,
        *,
        chain: Optional[str] = None,
        environment: Optional[str] = None,
        create_session: Optional[bool] = None,
        account_type: Optional[str] = None,
    ) -> Any:
        """``POST /v1/wallets`` (``chain`` ``"solana"`` or ``"ethereum"``, ``environment``
        ``"testnet"`` or ``"mainnet"``); also returns a session unless ``create_session=False``."""
        return self._invoke(
            "create_wallet",
            request=_clean(dict(name=name, chain=chain, environment=environment, create_session=create_session, account_type=account_type)),
        )

    def list_wallets(self) -> Any:
        """``GET /v1/wallets``."""
        return self._invoke("list_wallets")

    def get_wallet(self, wallet_id: str) -> Any:
        """``GET /v1/wallets/{id}``."""
        return self._invoke("get_wallet", id=wallet_id)

    def update_wallet(self, wallet_id: str, *, name: Optional[str] = None, monitor_incoming: Optional[bool] = None) -> Any:
        """Rename and/or set ``monitorIncoming``; returns the wallet's detail."""
        return self._invoke("update_wallet", id=wallet_id, request=_clean(dict(name=name, monitor_incoming=monitor_incoming)))

    def suspend_wallet(self, wallet_id: str, reason: Optional[str] = None) -> Any:
        """``POST /v1/wallets/{id}/suspend``: the wallet cannot sign until resumed."""
        return self._invoke("suspend_wallet", id=wallet_id, reason=reason)

    def resume_wallet(self, wallet_id: str) -> Any:
        """``POST /v1/wallets/{id}/resume``."""
        return self._invoke("resume_wallet", id=wallet_id)

    def terminate_wallet(self, wallet_id: str) -> Any:
        """``DELETE /v1/wallets/{id}``: the wallet never signs again."""
        return self._invoke("terminate_wallet", id=wallet_id)

    def wallet_networks(self, wallet_id: str) -> Any:
        """``GET /v1/wallets/{id}/networks``."""
        return self._invoke("wallet_networks", id=wallet_id)

    # Sessions -------------------------------------------------------------------------

    def create_session(
        self,
        wallet_id: Optional[str] = None,
        *,
        wallet_ids: Optional[List[str]] = None,
        ttl: Optional[int] = None,
        max_renewals: Optional[int] = None,
        absolute_lifetime: Optional[int] = None,
        constraints: Optional[Dict[str, Any]] = None,
    ) -> Any:
        """``POST /v1/sessions``: ``{"id", "token", "expiresAt", ...}``; give ``token`` to the agent."""
        return self._invoke(
            "create_session",
            request=_clean(
                dict(
                    wallet_id=wallet_id,
                    wallet_ids=wallet_ids,
                    ttl=ttl,
                    max_renewals=max_renewals,
                    absolute_lifetime=absolute_lifetime,
                    constraints=constraints,
                )
            ),
        )

    def list_sessions(self, wallet_id: Optional[str] = None) -> Any:
        """``GET /v1/sessions``."""
        return self._invoke("list_sessions", walletId=wallet_id)

    def revoke_session(self, session_id: str) -> Any:
        """``DELETE /v1/sessions/{id}``: its token stops working at once."""
        return self._invoke("revoke_session", id=session_id)

    # Policies -------------------------------------------------------------------------

    def create_policy(
        self,
        type: str,
        rules: Dict[str, Any],
        *,
        wallet_id: Optional[str] = None,
        priority: Optional[int] = None,
        enabled: Optional[bool] = None,
        network: Optional[str] = None,
    ) -> Any:
        """``POST /v1/policies`` (e.g. ``create_policy("SPENDING_LIMIT", {...}, wallet_id=w)``)."""
        return self._invoke(
            "create_policy",
            request=_clean(dict(type=type, rules=rules, wallet_id=wallet_id, priority=priority, enabled=enabled, network=network)),
        )

    def list_policies(self, wallet_id: Optional[str] = None) -> Any:
        """``GET /v1/policies``."""
        return self._invoke("list_policies", walletId=wallet_id)

    def update_policy(
        self, policy_id: str, *, rules: Optional[Dict[str, Any]] = None, priority: Optional[int] = None, enabled: Optional[bool] = None
    ) -> Any:
        """``PUT /v1/policies/{id}``."""
        return self._invoke("update_policy", id=policy_id, request=_clean(dict(rules=rules, priority=priority, enabled=enabled)))

    def delete_policy(self, policy_id: str) -> Any:
        """``DELETE /v1/policies/{id}``."""
        return self._invoke("delete_policy", id=policy_id)

    # Kill switch ----------------------------------------------------------------------

    def get_kill_switch_status(self) -> Any:
        """``GET /v1/admin/kill-switch``."""
        return self._invoke("get_kill_switch_status")

    def activate_kill_switch(self) -> Any:
        """``POST /v1/admin/kill-switch``: cancel unsigned transactions, suspend every
        wallet, refuse every agent call with ``SYSTEM_LOCKED``."""
        return self._invoke("activate_kill_switch")

    def recover_kill_switch(self) -> Any:
        """``POST /v1/admin/recover``."""
        return self._invoke("recover_kill_switch")

    # Master password and backups ------------------------------------------------------

    def change_master_password(self, new_password: str) -> Any:
        """``PUT /v1/admin/master-password``: every key file is re-encrypted (crash-safe)."""
        return self._invoke("change_master_password", newPassword=new_password)

    def create_backup(self) -> Any:
        """``POST /v1/admin/backup``: an encrypted backup in ``<data>/backups``."""
        return self._invoke("create_backup")

    def list_backups(self) -> Any:
        """``GET /v1/admin/backups``: newest first."""
        return self._invoke("list_backups")

    # Owner ------------------------------------------------------------------------------
    #
    # The owner's decisions carry the owner's signed message (``waiaas.owner_message``,
    # signed by the owner's own wallet) and nothing else: over HTTP they are sent without
    # the master password. The message must name ``owner_domain`` and a nonce from
    # ``get_nonce``.

    @property
    def owner_domain(self) -> Optional[str]:
        """The domain an owner message must name through this handle: the daemon's
        ``host:port`` as reached (remote), or the data dir's configured
        ``"{daemon.hostname}:{daemon.port}"`` (embedded; ``127.0.0.1:3100`` by default)."""
        return cast(Optional[str], self._native.owner_domain)

    def set_owner(self, wallet_id: str, owner_address: str) -> Any:
        """``PUT /v1/wallets/{id}/owner``: register the wallet's owner (NONE -> GRACE)."""
        return self._invoke("set_owner", id=wallet_id, ownerAddress=owner_address)

    def get_nonce(self) -> Any:
        """``GET /v1/nonce``: a single-use nonce for an owner message."""
        return self._invoke("get_nonce")

    def verify_owner(self, wallet_id: str, *, address: str, message: str, signature: str) -> Any:
        """``POST /v1/wallets/{id}/owner/verify`` with a signed ``verify:<walletId>`` message (GRACE -> LOCKED)."""
        return self._invoke("verify_owner", id=wallet_id, proof=dict(address=address, message=message, signature=signature))

    def approve_transaction(self, tx_id: str, *, address: str, message: str, signature: str) -> Any:
        """``POST /v1/transactions/{id}/approve`` with a signed ``approve:<txId>`` message."""
        return self._invoke("approve_transaction", id=tx_id, proof=dict(address=address, message=message, signature=signature))

    def reject_transaction(self, tx_id: str, *, address: str, message: str, signature: str) -> Any:
        """``POST /v1/transactions/{id}/reject`` with a signed ``reject:<txId>`` message."""
        return self._invoke("reject_transaction", id=tx_id, proof=dict(address=address, message=message, signature=signature))

    def owner_activate_kill_switch(self, *, address: str, message: str, signature: str) -> Any:
        """``POST /v1/owner/kill-switch`` with a signed ``kill-switch:activate`` message."""
        return self._invoke("owner_activate_kill_switch", proof=dict(address=address, message=message, signature=signature))
