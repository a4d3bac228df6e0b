//! The kill switch: the operator stops everything at once.
//!
//! States ACTIVE → SUSPENDED, changed by compare-and-swap in the store. Activation cancels
//! every transaction that has not been signed (PENDING, QUEUED, unsigned EXECUTING) and
//! suspends every ACTIVE wallet (reason `Kill switch activated`), so nothing signs even if a
//! request slipped past the HTTP guard; the daemon then refuses every non-admin route with
//! 503 SYSTEM_LOCKED. Recovery returns to ACTIVE and resumes the wallets the switch
//! suspended (not those suspended for other reasons). The LOCKED level and its owner-signed
//! recovery come with owner authentication.

use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::store::WalletStatus;
use crate::tx::{TxPatch, TxStatus};
use serde::Serialize;

const KV_STATE: &str = "kill_switch_state";
const KV_AT: &str = "kill_switch_activated_at";
const KV_BY: &str = "kill_switch_activated_by";
pub const REASON: &str = "Kill switch activated";

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KillSwitchStatus {
    pub state: String,
    pub activated_at: Option<i64>,
    pub activated_by: Option<String>,
}

impl Engine {
    /// Current state (`ACTIVE` when never activated).
    pub async fn kill_switch_status(&self) -> Result<KillSwitchStatus> {
        let store = &self.inner.store;
        let state = store.kv_get(KV_STATE).await?.unwrap_or_else(|| "ACTIVE".into());
        let active = state == "ACTIVE";
        Ok(KillSwitchStatus {
            activated_at: if active { None } else { store.kv_get(KV_AT).await?.and_then(|v| v.parse().ok()) },
            activated_by: if active { None } else { store.kv_get(KV_BY).await? },
            state,
        })
    }

    /// Whether normal operation is allowed (cached for the request guard).
    pub fn kill_switch_engaged(&self) -> bool {
        self.inner.kill_switch.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) async fn load_kill_switch(&self) -> Result<()> {
        let engaged = self.kill_switch_status().await?.state != "ACTIVE";
        self.inner.kill_switch.store(engaged, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// ACTIVE → SUSPENDED, then the cascade. Returns the new status.
    pub async fn activate_kill_switch(&self, actor: &str) -> Result<KillSwitchStatus> {
        let store = &self.inner.store;
        let now = crate::now();
        let current = store.kv_get(KV_STATE).await?;
        if current.as_deref().is_some_and(|s| s != "ACTIVE") {
            return Err(Error::new(ErrorCode::KILL_SWITCH_ACTIVE, "The kill switch is already activated"));
        }
        if !store.kv_cas(KV_STATE, current.as_deref(), "SUSPENDED", now).await? {
            return Err(Error::new(ErrorCode::KILL_SWITCH_ACTIVE, "The kill switch was activated concurrently"));
        }
        store.kv_set(KV_AT, &now.to_string(), now).await?;
        store.kv_set(KV_BY, actor, now).await?;
        self.inner.kill_switch.store(true, std::sync::atomic::Ordering::SeqCst);
        // Nothing unsigned proceeds.
        let cancel = TxPatch { error: Some(REASON.into()), error_code: Some(ErrorCode::SYSTEM_LOCKED.as_str().into()), release_reservation: true, ..Default::default() };
        let mut cancelled = 0;
        for tx in store.txs_in_status(&[TxStatus::Pending, TxStatus::Queued, TxStatus::Executing]).await? {
            if tx.status() == TxStatus::Executing && tx.signed_tx.is_some() {
                continue; // already signed: it may be on the chain; the pipeline finishes it.
            }
            if store.transition_tx(&tx.id, &[tx.status()], TxStatus::Cancelled, &cancel, now).await? {
                cancelled += 1;
            }
        }
        let mut suspended = 0;
        for w in store.list_wallets(None).await? {
            if w.status == WalletStatus::Active && store.transition_wallet(&w.id, WalletStatus::Active, WalletStatus::Suspended, Some(REASON), now).await? {
                suspended += 1;
            }
        }
        self.audit("KILL_SWITCH_ACTIVATED", actor, None, None, Some(serde_json::json!({"cancelled": cancelled, "walletsSuspended": suspended})), "critical", None).await;
        tracing::warn!(actor, cancelled, suspended, "kill switch activated");
        self.kill_switch_status().await
    }

    /// SUSPENDED → ACTIVE; wallets the switch suspended are resumed.
    pub async fn recover_kill_switch(&self, actor: &str) -> Result<KillSwitchStatus> {
        let store = &self.inner.store;
        let now = crate::now();
        let current = store.kv_get(KV_STATE).await?;
        match current.as_deref() {
            None | Some("ACTIVE") => return Err(Error::new(ErrorCode::KILL_SWITCH_NOT_ACTIVE, "The kill switch is not activated")),
            Some("SUSPENDED") => {}
            Some(other) => return Err(Error::new(ErrorCode::INVALID_STATE_TRANSITION, format!("Cannot recover from {other} here"))),
        }
        if !store.kv_cas(KV_STATE, current.as_deref(), "ACTIVE", now).await? {
            return Err(Error::new(ErrorCode::INVALID_STATE_TRANSITION, "The kill switch changed concurrently; retry"));
        }
        for w in store.list_wallets(None).await? {
            if w.status == WalletStatus::Suspended && w.suspension_reason.as_deref() == Some(REASON) {
                store.transition_wallet(&w.id, WalletStatus::Suspended, WalletStatus::Active, None, now).await?;
            }
        }
        self.inner.kill_switch.store(false, std::sync::atomic::Ordering::SeqCst);
        self.audit("KILL_SWITCH_RECOVERED", actor, None, None, None, "warning", None).await;
        self.kill_switch_status().await
    }
}
