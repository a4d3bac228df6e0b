//! The owner's decisions on transactions waiting for approval (`POST
//! /v1/transactions/{id}/approve|reject`): the owner's signed proof (checked by the owners
//! service, [`crate::services::owners`]), then the QUEUED row goes on to execution or is
//! cancelled with its reservation released.

use crate::api::types::{TxApproveResponse, TxRejectResponse};
use crate::auth::owner::{OwnerAction, OwnerProof};
use crate::engine::{wallet_not_found, Engine};
use crate::error::{Error, ErrorCode, Result};
use crate::store::tx::{TxPatch, TxRecord, TxStatus};
use crate::store::WalletRecord;
use serde_json::{json, Value};

impl Engine {
    /// `POST /v1/transactions/{id}/approve` (owner alone): a QUEUED APPROVAL transaction goes on
    /// to execution. Approving also proves the owner (GRACE → LOCKED).
    pub async fn approve_transaction(&self, tx_id: &str, proof: &OwnerProof) -> Result<TxApproveResponse> {
        let approved_at = self.owner_decision(tx_id, proof, true).await?;
        Ok(TxApproveResponse { id: tx_id.to_string(), status: "EXECUTING".into(), approved_at })
    }

    /// `POST /v1/transactions/{id}/reject` (owner alone): a QUEUED transaction is cancelled and
    /// its reservation released.
    pub async fn reject_transaction(&self, tx_id: &str, proof: &OwnerProof) -> Result<TxRejectResponse> {
        let rejected_at = self.owner_decision(tx_id, proof, false).await?;
        Ok(TxRejectResponse { id: tx_id.to_string(), status: "CANCELLED".into(), rejected_at })
    }

    /// Apply the owner's decision proven by a signed owner message (REST); returns when it
    /// was taken.
    async fn owner_decision(&self, tx_id: &str, proof: &OwnerProof, approve: bool) -> Result<i64> {
        let (tx, w) = self.tx_and_wallet(tx_id).await?;
        let action = if approve { OwnerAction::Approve(tx.id.clone()) } else { OwnerAction::Reject(tx.id.clone()) };
        let owner = self.inner.owners.accept_proof(&self.owner_domain(), &w, proof, &action).await?;
        self.apply_owner_decision(&tx, &w, &owner, approve, None).await
    }

    async fn tx_and_wallet(&self, tx_id: &str) -> Result<(TxRecord, WalletRecord)> {
        let tx = self.inner.store.get_tx(tx_id).await?.ok_or_else(|| Error::new(ErrorCode::TX_NOT_FOUND, format!("Transaction '{tx_id}' not found")))?;
        let w = self.inner.store.get_wallet(&tx.wallet_id).await?.ok_or_else(|| wallet_not_found(&tx.wallet_id))?;
        Ok((tx, w))
    }

    /// The owner's decision on `tx_id`, already proven through `channel` (a sign request
    /// answered from the owner's wallet app, [`crate::signing_sdk`]): the same
    /// decision as the REST routes, audited with the actor `owner:<addr> via <channel>`.
    pub(crate) async fn owner_decision_via(&self, tx_id: &str, owner: &str, approve: bool, channel: &str) -> Result<i64> {
        let (tx, w) = self.tx_and_wallet(tx_id).await?;
        if w.owner_address.as_deref() != Some(owner) {
            return Err(Error::new(ErrorCode::SIGNER_ADDRESS_MISMATCH, "The signer is not the wallet's owner"));
        }
        self.apply_owner_decision(&tx, &w, owner, approve, Some(channel)).await
    }

    /// The decision itself, once the owner is proven: the QUEUED row goes on to execution or
    /// is cancelled (compare-and-swap), one audit entry.
    async fn apply_owner_decision(&self, tx: &TxRecord, w: &WalletRecord, owner: &str, approve: bool, channel: Option<&str>) -> Result<i64> {
        let tx_id = tx.id.as_str();
        let meta: Value = tx.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
        let awaiting_approval = meta.get("approvalRequired").and_then(Value::as_bool) == Some(true);
        if tx.status() != TxStatus::Queued || (approve && !awaiting_approval) {
            return Err(Error::new(
                ErrorCode::APPROVAL_NOT_FOUND,
                format!("Transaction '{tx_id}' is not waiting for the owner's approval (status {})", tx.status),
            ));
        }
        let now = self.now();
        if approve && meta.get("approvalExpiresAt").and_then(Value::as_i64).is_some_and(|e| e <= now) {
            self.process_queue().await?;
            return Err(Error::new(ErrorCode::APPROVAL_TIMEOUT, "The approval window of this transaction has closed"));
        }
        let mut meta = meta;
        let key = if approve { "approvedAt" } else { "rejectedAt" };
        meta[key] = now.into();
        meta["decidedBy"] = owner.into();
        if let Some(c) = channel {
            meta["approvalChannel"] = c.into();
        }
        let patch = if approve {
            TxPatch { metadata: Some(meta.to_string()), ..Default::default() }
        } else {
            TxPatch { metadata: Some(meta.to_string()), error: Some("Rejected by the owner".into()), release_reservation: true, ..Default::default() }
        };
        let to = if approve { TxStatus::Executing } else { TxStatus::Cancelled };
        if !self.inner.store.transition_tx(tx_id, &[TxStatus::Queued], to, &patch, now).await? {
            return Err(Error::new(ErrorCode::TX_ALREADY_PROCESSED, "The transaction changed state concurrently"));
        }
        self.inner.metrics.transaction(to, tx.tier.as_deref());
        let action = if approve { OwnerAction::Approve(tx.id.clone()) } else { OwnerAction::Reject(tx.id.clone()) };
        let via = channel.map(str::to_string).unwrap_or_else(|| action.request_id());
        self.inner.owners.mark_verified(&w.id, owner, Some(json!({"via": via}))).await?;
        let actor = match channel {
            Some(c) => format!("owner:{owner} via {c}"),
            None => owner.to_string(),
        };
        self.audit_tx(if approve { "TX_APPROVED" } else { "TX_REJECTED" }, &actor, &w.id, tx_id, None, "info").await;
        if approve {
            self.spawn_run(tx_id.to_string());
        }
        Ok(now)
    }
}
