//! The wallet owner: registration (master), verification, and the owner's decisions on
//! transactions waiting for approval. Every owner action is a signed message checked by
//! [`crate::auth::owner::check_proof`] and bound to a single-use nonce from [`Engine::nonce`].
//!
//! Owner states (derived): NONE (no owner), GRACE (registered by the operator, not yet
//! proven), LOCKED (the owner proved control with a signature; only then is the owner fixed).

use crate::auth::owner::{check_proof, normalize_owner_address, OwnerAction, OwnerProof};
use crate::engine::{wallet_not_found, Engine};
use crate::error::{Error, ErrorCode, Result};
use crate::store::WalletRecord;
use crate::tx::{TxPatch, TxStatus};
use serde::Serialize;
use serde_json::{json, Value};

/// `GET /v1/nonce`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NonceResponse {
    pub nonce: String,
    pub expires_at: i64,
}

/// Live nonces allowed at once (the route is public; this bounds what it can store).
const MAX_LIVE_NONCES: i64 = 10_000;

impl Engine {
    /// Issue a nonce for an owner signature: stored, single use, `security.nonce_ttl_sec`.
    pub async fn nonce(&self) -> Result<NonceResponse> {
        let mut b = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        let nonce = hex::encode(b);
        let now = crate::now();
        let expires_at = now + self.inner.config.security.nonce_ttl_sec;
        if !self.inner.store.insert_owner_nonce(&nonce, expires_at, now, MAX_LIVE_NONCES).await? {
            return Err(Error::new(ErrorCode::RATE_LIMITED, "Too many unused nonces; retry in a few minutes"));
        }
        Ok(NonceResponse { nonce, expires_at })
    }

    /// Check an owner's proof for `action` against `owner` of a wallet on `chain`, then use
    /// its nonce (a replay fails here with INVALID_NONCE).
    async fn accept_proof(&self, w: &WalletRecord, proof: &OwnerProof, action: &OwnerAction) -> Result<String> {
        let domain = self.owner_domain();
        let owner = w.owner_address.clone().ok_or_else(|| Error::new(ErrorCode::OWNER_NOT_CONNECTED, format!("Wallet '{}' has no owner", w.id)))?;
        let now = crate::now();
        let result = check_proof(w.chain, &owner, proof, &domain, action, now, self.inner.config.security.owner_message_max_ttl_sec);
        let nonce = match result {
            Ok(n) => n,
            Err(e) => {
                self.audit("OWNER_AUTH_FAILED", &proof.address, Some(&w.id), None, Some(json!({"action": action.request_id(), "reason": e.message})), "warning", None).await;
                return Err(e);
            }
        };
        if !self.inner.store.consume_owner_nonce(&nonce, now).await? {
            self.audit("OWNER_AUTH_FAILED", &owner, Some(&w.id), None, Some(json!({"action": action.request_id(), "reason": "nonce unknown, used or expired"})), "warning", None).await;
            return Err(Error::new(ErrorCode::INVALID_NONCE, "The message's nonce is unknown, already used or expired: get a new one from GET /v1/nonce"));
        }
        Ok(owner)
    }

    /// `PUT /v1/wallets/{id}/owner` (master): register or replace the owner while NONE/GRACE.
    pub async fn set_owner(&self, wallet_id: &str, owner_address: &str) -> Result<Value> {
        let w = self.inner.store.get_wallet(wallet_id).await?.ok_or_else(|| wallet_not_found(wallet_id))?;
        let addr = normalize_owner_address(w.chain, owner_address.trim())?;
        if w.owner_verified {
            return Err(Error::new(ErrorCode::OWNER_ALREADY_CONNECTED, "The owner is verified (LOCKED) and cannot be changed"));
        }
        if !self.inner.store.set_owner(wallet_id, Some(&addr), crate::now()).await? {
            return Err(Error::new(ErrorCode::OWNER_ALREADY_CONNECTED, "The owner was verified concurrently and cannot be changed"));
        }
        self.audit("OWNER_REGISTERED", "master", Some(wallet_id), None, Some(json!({"ownerAddress": addr})), "info", None).await;
        let w = self.inner.store.get_wallet(wallet_id).await?.ok_or_else(|| wallet_not_found(wallet_id))?;
        Ok(json!({
            "id": w.id, "name": w.name, "chain": w.chain, "network": w.network, "environment": w.environment,
            "publicKey": w.public_key, "status": w.status, "ownerAddress": w.owner_address, "ownerVerified": w.owner_verified,
            "ownerState": crate::wallets::owner_state(&w), "approvalMethod": null, "walletType": null, "warning": null, "updatedAt": w.updated_at,
        }))
    }

    /// `POST /v1/wallets/{id}/owner/verify` (owner): GRACE → LOCKED.
    pub async fn verify_owner(&self, wallet_id: &str, proof: &OwnerProof) -> Result<Value> {
        let w = self.inner.store.get_wallet(wallet_id).await?.ok_or_else(|| wallet_not_found(wallet_id))?;
        let owner = self.accept_proof(&w, proof, &OwnerAction::Verify(w.id.clone())).await?;
        if self.inner.store.mark_owner_verified(&w.id, &owner, crate::now()).await? {
            self.audit("OWNER_VERIFIED", &owner, Some(&w.id), None, None, "info", None).await;
        }
        Ok(json!({"ownerState": "LOCKED", "ownerAddress": owner, "ownerVerified": true}))
    }

    /// `POST /v1/transactions/{id}/approve` (owner alone): a QUEUED APPROVAL transaction goes on
    /// to execution. Approving also proves the owner (GRACE → LOCKED).
    pub async fn approve_transaction(&self, tx_id: &str, proof: &OwnerProof) -> Result<Value> {
        self.owner_decision(tx_id, proof, true).await
    }

    /// `POST /v1/transactions/{id}/reject` (owner alone): a QUEUED transaction is cancelled and
    /// its reservation released.
    pub async fn reject_transaction(&self, tx_id: &str, proof: &OwnerProof) -> Result<Value> {
        self.owner_decision(tx_id, proof, false).await
    }

    async fn owner_decision(&self, tx_id: &str, proof: &OwnerProof, approve: bool) -> Result<Value> {
        let tx = self.inner.store.get_tx(tx_id).await?.ok_or_else(|| Error::new(ErrorCode::TX_NOT_FOUND, format!("Transaction '{tx_id}' not found")))?;
        let w = self.inner.store.get_wallet(&tx.wallet_id).await?.ok_or_else(|| wallet_not_found(&tx.wallet_id))?;
        let action = if approve { OwnerAction::Approve(tx.id.clone()) } else { OwnerAction::Reject(tx.id.clone()) };
        let owner = self.accept_proof(&w, proof, &action).await?;
        let meta: Value = tx.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
        let awaiting_approval = meta.get("approvalRequired").and_then(Value::as_bool) == Some(true);
        if tx.status() != TxStatus::Queued || (approve && !awaiting_approval) {
            return Err(Error::new(
                ErrorCode::APPROVAL_NOT_FOUND,
                format!("Transaction '{tx_id}' is not waiting for the owner's approval (status {})", tx.status),
            ));
        }
        let now = crate::now();
        if approve && meta.get("approvalExpiresAt").and_then(Value::as_i64).is_some_and(|e| e <= now) {
            self.process_queue().await?;
            return Err(Error::new(ErrorCode::APPROVAL_TIMEOUT, "The approval window of this transaction has closed"));
        }
        let mut meta = meta;
        let key = if approve { "approvedAt" } else { "rejectedAt" };
        meta[key] = now.into();
        meta["decidedBy"] = owner.clone().into();
        let patch = if approve {
            TxPatch { metadata: Some(meta.to_string()), ..Default::default() }
        } else {
            TxPatch { metadata: Some(meta.to_string()), error: Some("Rejected by the owner".into()), release_reservation: true, ..Default::default() }
        };
        let to = if approve { TxStatus::Executing } else { TxStatus::Cancelled };
        if !self.inner.store.transition_tx(tx_id, &[TxStatus::Queued], to, &patch, now).await? {
            return Err(Error::new(ErrorCode::TX_ALREADY_PROCESSED, "The transaction changed state concurrently"));
        }
        if self.inner.store.mark_owner_verified(&w.id, &owner, now).await? {
            self.audit("OWNER_VERIFIED", &owner, Some(&w.id), None, Some(json!({"via": action.request_id()})), "info", None).await;
        }
        self.audit_tx(if approve { "TX_APPROVED" } else { "TX_REJECTED" }, &owner, &w.id, tx_id, None, "info").await;
        if approve {
            self.spawn_run(tx_id.to_string());
            Ok(json!({"id": tx_id, "status": "EXECUTING", "approvedAt": now}))
        } else {
            Ok(json!({"id": tx_id, "status": "CANCELLED", "rejectedAt": now}))
        }
    }

    /// The owner(s) registered with `address` (either chain's spelling), for owner actions
    /// that are not about one wallet (the kill switch).
    pub(crate) async fn wallets_owned_by(&self, address: &str) -> Result<Vec<WalletRecord>> {
        let addr = address.trim();
        Ok(self
            .inner
            .store
            .list_wallets(None)
            .await?
            .into_iter()
            .filter(|w| w.owner_address.is_some() && normalize_owner_address(w.chain, addr).ok() == w.owner_address)
            .collect())
    }

    /// Accept an owner's proof for a daemon-wide action: the signer must own some wallet.
    pub(crate) async fn accept_any_owner(&self, proof: &OwnerProof, action: &OwnerAction) -> Result<String> {
        let owned = self.wallets_owned_by(&proof.address).await?;
        let Some(w) = owned.first() else {
            return Err(Error::new(ErrorCode::INVALID_SIGNATURE, "X-Owner-Address is not the owner of any wallet"));
        };
        self.accept_proof(w, proof, action).await
    }
}
