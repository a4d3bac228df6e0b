//! One interface for every caller: the agent operations ([`AgentApi`]) and the operator
//! operations ([`AdminApi`]), each implemented twice with the same names, the same JSON
//! results and the same errors:
//! - in-process over an [`Engine`](crate::Engine) (`embedded`): a Rust, Python or Node agent
//!   embeds the wallet; every agent call still presents its session token, which is checked
//!   exactly as the daemon checks it (revoked, rotated, expired, wallet scope);
//! - over HTTP to a daemon (`remote`): the upstream `/v1` REST API.
//!
//! Results are the JSON bodies the REST API returns (`serde_json::Value`), so an embedded and
//! a remote caller see byte-identical shapes. Errors are [`crate::Error`] with the upstream
//! `code` (a remote error body is parsed back into the same code).

pub mod dispatch;
pub mod embedded;
pub mod remote;

pub use embedded::{EmbeddedAdmin, EmbeddedAgent};
pub use remote::{RemoteAdmin, RemoteAgent};

use crate::error::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Which wallet and network an agent query is about (both optional: the session's default
/// wallet and the wallet's default network).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WalletQuery {
    pub wallet_id: Option<String>,
    pub network: Option<String>,
}

/// `GET /v1/transactions` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TxListQuery {
    pub wallet_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub use crate::auth::owner::OwnerProof;

/// Transaction statuses after which nothing more happens, or that wait on a human.
pub const SETTLED_STATUSES: &[&str] = &["CONFIRMED", "FAILED", "CANCELLED", "EXPIRED", "SIGNED", "PARTIAL_FAILURE", "QUEUED"];

/// What an agent may do (session token). Method names follow the upstream SDKs.
#[async_trait]
pub trait AgentApi: Send + Sync {
    /// `GET /v1/wallet/address`
    async fn get_address(&self, q: WalletQuery) -> Result<Value>;
    /// `GET /v1/wallet/balance`
    async fn get_balance(&self, q: WalletQuery) -> Result<Value>;
    /// `GET /v1/wallet/assets`
    async fn get_assets(&self, q: WalletQuery) -> Result<Value>;
    /// `GET /v1/connect-info`
    async fn connect_info(&self) -> Result<Value>;
    /// `POST /v1/transactions/send` → `{id, status}`
    async fn send_transaction(&self, request: Value, idempotency_key: Option<String>) -> Result<Value>;
    /// `POST /v1/transactions/simulate`
    async fn simulate_transaction(&self, request: Value) -> Result<Value>;
    /// `POST /v1/transactions/sign`
    async fn sign_transaction(&self, request: Value) -> Result<Value>;
    /// `POST /v1/transactions/sign-message`
    async fn sign_message(&self, request: Value) -> Result<Value>;
    /// `POST /v1/x402/fetch`
    async fn x402_fetch(&self, request: Value) -> Result<Value>;
    /// `GET /v1/actions/providers` → `{providers}`
    async fn list_action_providers(&self) -> Result<Value>;
    /// `POST /v1/actions/{provider}/{action}[?dryRun=true]` (`request`: `{params, network?, walletId?}`)
    async fn execute_action(&self, provider: String, action: String, request: Value, dry_run: bool) -> Result<Value>;
    /// `GET /v1/transactions/{id}`
    async fn get_transaction(&self, id: String) -> Result<Value>;
    /// `GET /v1/transactions`
    async fn list_transactions(&self, q: TxListQuery) -> Result<Value>;
    /// `GET /v1/transactions/pending`
    async fn list_pending_transactions(&self, wallet_id: Option<String>) -> Result<Value>;
    /// `GET /v1/wallet/incoming` → `{data, nextCursor, hasMore}`
    async fn list_incoming_transactions(&self, q: crate::api::types::IncomingList) -> Result<Value>;
    /// `GET /v1/wallet/incoming/summary` → `{period, entries}`
    async fn get_incoming_summary(&self, q: crate::api::types::IncomingSummaryQuery) -> Result<Value>;
    /// `POST /v1/transactions/{id}/cancel`
    async fn cancel_transaction(&self, id: String) -> Result<Value>;
    /// `POST /v1/utils/encode-calldata`
    async fn encode_calldata(&self, request: Value) -> Result<Value>;
    /// `GET /v1/nonce`
    async fn get_nonce(&self) -> Result<Value>;
    /// `PUT /v1/sessions/{id}/renew`; the client keeps the new token.
    async fn renew_session(&self) -> Result<Value>;
    /// The session token this client presents now.
    fn session_token(&self) -> String;

    /// Poll a transaction until it is settled (final, or QUEUED waiting on a delay or an
    /// owner), or `timeout` passes (then the last seen state is returned).
    async fn wait_for_transaction(&self, id: String, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut wait = Duration::from_millis(20);
        loop {
            let tx = self.get_transaction(id.clone()).await?;
            let status = tx.get("status").and_then(Value::as_str).unwrap_or_default();
            if SETTLED_STATUSES.contains(&status) || tokio::time::Instant::now() >= deadline {
                return Ok(tx);
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 3 / 2).min(Duration::from_millis(500));
        }
    }
}

/// What the operator may do (master password). Bodies and results are the REST ones.
#[async_trait]
pub trait AdminApi: Send + Sync {
    /// `POST /v1/wallets`
    async fn create_wallet(&self, request: Value) -> Result<Value>;
    /// `GET /v1/wallets`
    async fn list_wallets(&self) -> Result<Value>;
    /// `GET /v1/wallets/{id}`
    async fn get_wallet(&self, id: String) -> Result<Value>;
    /// `PATCH /v1/wallets/{id}` (`{name?, monitorIncoming?}`)
    async fn update_wallet(&self, id: String, request: Value) -> Result<Value>;
    /// `POST /v1/wallets/{id}/suspend`
    async fn suspend_wallet(&self, id: String, reason: Option<String>) -> Result<Value>;
    /// `POST /v1/wallets/{id}/resume`
    async fn resume_wallet(&self, id: String) -> Result<Value>;
    /// `DELETE /v1/wallets/{id}`
    async fn terminate_wallet(&self, id: String) -> Result<Value>;
    /// `GET /v1/wallets/{id}/networks`
    async fn wallet_networks(&self, id: String) -> Result<Value>;
    /// `POST /v1/sessions`
    async fn create_session(&self, request: Value) -> Result<Value>;
    /// `GET /v1/sessions`
    async fn list_sessions(&self, wallet_id: Option<String>) -> Result<Value>;
    /// `DELETE /v1/sessions/{id}`
    async fn revoke_session(&self, id: String) -> Result<Value>;
    /// `POST /v1/policies`
    async fn create_policy(&self, request: Value) -> Result<Value>;
    /// `GET /v1/policies`
    async fn list_policies(&self, wallet_id: Option<String>) -> Result<Value>;
    /// `PUT /v1/policies/{id}`
    async fn update_policy(&self, id: String, request: Value) -> Result<Value>;
    /// `DELETE /v1/policies/{id}`
    async fn delete_policy(&self, id: String) -> Result<Value>;
    /// `GET /v1/admin/kill-switch`
    async fn kill_switch_status(&self) -> Result<Value>;
    /// `POST /v1/admin/kill-switch`
    async fn activate_kill_switch(&self) -> Result<Value>;
    /// `POST /v1/admin/recover`
    async fn recover_kill_switch(&self) -> Result<Value>;

    // Operations added for the CLI (issue 8). Their default bodies answer "not available"
    // (an `UNKNOWN_ERROR` with `details.remoteStatus = 404`, what a daemon without the route
    // answers) until the embedded and remote clients implement them.

    /// `PUT /v1/wallets/{id}/owner` (body `{owner_address}`, snake_case as upstream)
    async fn set_owner(&self, id: String, owner_address: String) -> Result<Value> {
        let _ = (id, owner_address);
        Err(not_available("PUT /v1/wallets/{id}/owner"))
    }
    /// `POST /v1/wallets/{id}/owner/verify` with the owner's signed message.
    async fn verify_owner(&self, id: String, proof: OwnerProof) -> Result<Value> {
        let _ = (id, proof);
        Err(not_available("POST /v1/wallets/{id}/owner/verify"))
    }
    /// `GET /v1/nonce` (a single-use nonce for an owner message).
    async fn get_nonce(&self) -> Result<Value> {
        Err(not_available("GET /v1/nonce"))
    }
    /// `PUT /v1/admin/master-password` (`{newPassword}`)
    async fn change_master_password(&self, new_password: String) -> Result<Value> {
        let _ = new_password;
        Err(not_available("PUT /v1/admin/master-password"))
    }
    /// `POST /v1/admin/backup`
    async fn create_backup(&self) -> Result<Value> {
        Err(not_available("POST /v1/admin/backup"))
    }
    /// `GET /v1/admin/backups`
    async fn list_backups(&self) -> Result<Value> {
        Err(not_available("GET /v1/admin/backups"))
    }

    // The owner's decisions (issue 7). Over HTTP these carry the owner's signed message
    // alone (`X-Owner-Address`, `X-Owner-Message`, `X-Owner-Signature`), never the master
    // password: the operator relays a decision, it cannot make one. The message must name
    // [`AdminApi::owner_domain`] and carry a nonce from [`AdminApi::get_nonce`].

    /// `POST /v1/transactions/{id}/approve`: a QUEUED APPROVAL transaction goes on to execution.
    async fn approve_transaction(&self, id: String, proof: OwnerProof) -> Result<Value> {
        let _ = (id, proof);
        Err(not_available("POST /v1/transactions/{id}/approve"))
    }
    /// `POST /v1/transactions/{id}/reject`: a QUEUED transaction is cancelled.
    async fn reject_transaction(&self, id: String, proof: OwnerProof) -> Result<Value> {
        let _ = (id, proof);
        Err(not_available("POST /v1/transactions/{id}/reject"))
    }
    /// `POST /v1/owner/kill-switch`: an owner (of any wallet) engages the kill switch.
    async fn owner_activate_kill_switch(&self, proof: OwnerProof) -> Result<Value> {
        let _ = proof;
        Err(not_available("POST /v1/owner/kill-switch"))
    }
    /// The domain an owner message sent through this client must name: the daemon's
    /// `host:port` as this client reaches it (remote), or the configured
    /// `"{daemon.hostname}:{daemon.port}"` of the data dir (embedded).
    fn owner_domain(&self) -> Option<String> {
        None
    }
}

/// The action an owner message authorizes, from its `Request ID` text: `approve:<txId>`,
/// `reject:<txId>`, `verify:<walletId>`, `kill-switch:activate` or `kill-switch:recover`.
pub fn owner_action(request_id: &str) -> Result<crate::auth::owner::OwnerAction> {
    use crate::auth::owner::OwnerAction;
    let bad = || {
        crate::Error::validation(
            "action",
            format!("'{request_id}' is not approve:<txId>, reject:<txId>, verify:<walletId>, kill-switch:activate or kill-switch:recover"),
        )
    };
    match request_id.split_once(':') {
        Some(("approve", id)) if !id.is_empty() => Ok(OwnerAction::Approve(id.into())),
        Some(("reject", id)) if !id.is_empty() => Ok(OwnerAction::Reject(id.into())),
        Some(("verify", id)) if !id.is_empty() => Ok(OwnerAction::Verify(id.into())),
        Some(("kill-switch", "activate")) => Ok(OwnerAction::KillSwitchActivate),
        Some(("kill-switch", "recover")) => Ok(OwnerAction::KillSwitchRecover),
        _ => Err(bad()),
    }
}

/// The text an owner signs (EIP-191 for `chain` `"ethereum"`, Ed25519 for `"solana"`) to
/// authorize `action` (see [`owner_action`]) through a client whose
/// [`AdminApi::owner_domain`] is `domain`, with a nonce from [`AdminApi::get_nonce`], valid
/// `ttl_secs` from now: what the bindings' `owner_message` helpers return.
pub fn owner_message(chain: &str, domain: &str, address: &str, nonce: &str, action: &str, ttl_secs: i64) -> Result<String> {
    let chain: crate::network::Chain = chain.parse().map_err(|_| crate::Error::validation("chain", "must be 'ethereum' or 'solana'"))?;
    let action = owner_action(action)?;
    for (field, v) in [("domain", domain), ("address", address), ("nonce", nonce)] {
        if v.trim().is_empty() {
            return Err(crate::Error::validation(field, "is required"));
        }
    }
    if ttl_secs <= 0 {
        return Err(crate::Error::validation("ttlSeconds", "must be positive"));
    }
    Ok(crate::auth::owner::owner_message(chain, domain, address, nonce, &action, crate::now(), ttl_secs))
}

/// The error of an operation this client does not implement yet: the same shape as a
/// daemon that lacks the route (`UNKNOWN_ERROR`, `details.remoteStatus = 404`).
pub fn not_available(route: &str) -> crate::Error {
    crate::Error::new(crate::ErrorCode::UNKNOWN_ERROR, format!("{route} is not available through this client yet"))
        .with_details(serde_json::json!({"remoteStatus": 404, "route": route}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::owner::{OwnerAction, SiweMessage};

    #[test]
    fn owner_actions_and_messages() {
        assert_eq!(owner_action("approve:tx-1").unwrap(), OwnerAction::Approve("tx-1".into()));
        assert_eq!(owner_action("kill-switch:recover").unwrap(), OwnerAction::KillSwitchRecover);
        for bad in ["approve:", "approve", "steal:all", "kill-switch:pause", ""] {
            assert_eq!(owner_action(bad).unwrap_err().code, crate::ErrorCode::ACTION_VALIDATION_FAILED, "{bad}");
        }
        let text = owner_message("ethereum", "127.0.0.1:3100", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "n1", "reject:tx-2", 60).unwrap();
        let m = SiweMessage::parse(&text).unwrap();
        assert_eq!((m.domain.as_str(), m.account_kind.as_str(), m.nonce.as_str()), ("127.0.0.1:3100", "Ethereum", "n1"));
        assert_eq!(m.request_id.as_deref(), Some("reject:tx-2"));
        assert_eq!(m.expiration_time.unwrap() - m.issued_at, 60);
        assert_eq!(owner_message("bitcoin", "d", "a", "n", "approve:x", 60).unwrap_err().code, crate::ErrorCode::ACTION_VALIDATION_FAILED);
        assert_eq!(owner_message("solana", "d", "a", " ", "approve:x", 60).unwrap_err().code, crate::ErrorCode::ACTION_VALIDATION_FAILED);
        assert_eq!(owner_message("solana", "d", "a", "n", "approve:x", 0).unwrap_err().code, crate::ErrorCode::ACTION_VALIDATION_FAILED);
    }
}
