//! The kill switch: the operator or a wallet owner stops everything at once.
//!
//! States ACTIVE → SUSPENDED → LOCKED, changed by compare-and-swap in the store.
//! - Activation (master, or an owner's signed `kill-switch:activate`) cancels every
//!   transaction that has not been signed (PENDING, QUEUED, unsigned EXECUTING) and suspends
//!   every ACTIVE wallet (reason `Kill switch activated`), so nothing signs even if a request
//!   slipped past the HTTP guard; the daemon then refuses every non-admin, non-owner route
//!   with 503 SYSTEM_LOCKED.
//! - Escalation SUSPENDED → LOCKED (master) also revokes every session: agents must be given
//!   new tokens after recovery. While LOCKED the master-only changes that would outlive the
//!   incident, the master password and the runtime settings, are frozen too
//!   ([`KillSwitch::ensure_not_escalated`]): escalation means the operator credential itself may be
//!   in the wrong hands, so it must not be able to replace itself or loosen the limits.
//! - Recovery returns to ACTIVE and resumes the wallets the switch suspended (not those
//!   suspended for other reasons). From SUSPENDED the master password suffices; from LOCKED
//!   the master AND an owner's signed `kill-switch:recover` are needed (unless no wallet has
//!   an owner, in which case there is nobody to ask and the master decides alone).
//!
//! Every change is audited, and so broadcast to the notification channels.
//!
//! [`KillSwitch`] is the service: it holds the key/value rows of its state and, for the
//! cascade, the wallets and sessions services and the transaction rows it cancels (there is
//! no transactions service yet); owner signatures are checked by the caller (the engine)
//! before they reach it.

use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::metrics::Metrics;
use crate::services::audit::Audit;
use crate::services::sessions::Sessions;
use crate::services::wallets::Wallets;
use crate::store::tx::{TxPatch, TxStatus};
use crate::store::{KvStore, TxStore};
use serde::Serialize;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const KV_STATE: &str = "kill_switch_state";
const KV_AT: &str = "kill_switch_activated_at";
const KV_BY: &str = "kill_switch_activated_by";
pub const REASON: &str = "Kill switch activated";

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = KillSwitchResponse))]
pub struct KillSwitchStatus {
    pub state: String,
    pub activated_at: Option<i64>,
    pub activated_by: Option<String>,
}

impl From<KillSwitchStatus> for crate::api::types::KillSwitchActivateResponse {
    /// The answer to an activation (operator's or owner's).
    fn from(st: KillSwitchStatus) -> Self {
        crate::api::types::KillSwitchActivateResponse { state: st.state, activated_at: st.activated_at }
    }
}

/// The kill switch service.
pub struct KillSwitch {
    kv: Arc<dyn KvStore>,
    txs: Arc<dyn TxStore>,
    wallets: Arc<Wallets>,
    sessions: Arc<Sessions>,
    audit: Arc<Audit>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    /// The kill switch is engaged (cached from the store).
    engaged: AtomicBool,
}

impl KillSwitch {
    /// The service, with the engaged flag read from the store.
    pub async fn open(
        kv: Arc<dyn KvStore>,
        txs: Arc<dyn TxStore>,
        wallets: Arc<Wallets>,
        sessions: Arc<Sessions>,
        audit: Arc<Audit>,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
    ) -> Result<KillSwitch> {
        let ks = KillSwitch { kv, txs, wallets, sessions, audit, metrics, clock, engaged: AtomicBool::new(false) };
        ks.refresh().await?;
        Ok(ks)
    }

    /// Set the engaged flag from the stored state (at start, and on a store shared by several
    /// daemons to learn the others' changes).
    pub async fn refresh(&self) -> Result<()> {
        let engaged = self.state().await? != "ACTIVE";
        self.engaged.store(engaged, Ordering::SeqCst);
        Ok(())
    }

    /// The stored state (`ACTIVE` when never activated), read now.
    pub async fn state(&self) -> Result<String> {
        Ok(self.kv.kv_get(KV_STATE).await?.unwrap_or_else(|| "ACTIVE".into()))
    }

    /// Current state (`ACTIVE` when never activated).
    pub async fn status(&self) -> Result<KillSwitchStatus> {
        let kv = &self.kv;
        let state = self.state().await?;
        let active = state == "ACTIVE";
        Ok(KillSwitchStatus {
            activated_at: if active { None } else { kv.kv_get(KV_AT).await?.and_then(|v| v.parse().ok()) },
            activated_by: if active { None } else { kv.kv_get(KV_BY).await? },
            state,
        })
    }

    /// Whether normal operation is allowed (cached for the request guard).
    pub fn engaged(&self) -> bool {
        self.engaged.load(Ordering::SeqCst)
    }

    /// `SYSTEM_LOCKED` while the kill switch is engaged: the guard in front of every agent
    /// and admin operation other than the kill switch itself (REST and embedded alike).
    pub fn ensure_not_locked(&self) -> Result<()> {
        if self.engaged() {
            return Err(Error::new(ErrorCode::SYSTEM_LOCKED, "The kill switch is active: the daemon refuses this request until the operator recovers it"));
        }
        Ok(())
    }

    /// The kill-switch gate of one declared operation, for every face (the daemon's router
    /// and the embedded clients): `SYSTEM_LOCKED` while the kill switch is engaged unless the
    /// operation is declared [`WhenLocked::Served`](crate::api::WhenLocked::Served).
    pub fn admit(&self, op: crate::api::Op) -> Result<()> {
        match op.spec().when_locked {
            crate::api::WhenLocked::Served => Ok(()),
            crate::api::WhenLocked::Refused => self.ensure_not_locked(),
        }
    }

    /// `SYSTEM_LOCKED` while the kill switch is LOCKED: the guard of master password and
    /// settings changes (read from the store, so a change racing an escalation is refused
    /// as soon as the escalation is written). `what` names the refused change.
    pub async fn ensure_not_escalated(&self, what: &str) -> Result<()> {
        if self.kv.kv_get(KV_STATE).await?.as_deref() == Some("LOCKED") {
            return Err(Error::new(
                ErrorCode::SYSTEM_LOCKED,
                format!("The kill switch is LOCKED: {what} is frozen until the kill switch is recovered (master password and an owner's signature)"),
            ));
        }
        Ok(())
    }

    /// SUSPENDED → LOCKED: sessions are revoked as well.
    pub async fn escalate(&self, actor: &str) -> Result<KillSwitchStatus> {
        let now = self.clock.now();
        let current = self.kv.kv_get(KV_STATE).await?;
        if current.as_deref() != Some("SUSPENDED") {
            return Err(Error::new(
                ErrorCode::INVALID_STATE_TRANSITION,
                format!("Only a SUSPENDED kill switch can be escalated (it is {})", current.as_deref().unwrap_or("ACTIVE")),
            ));
        }
        if !self.kv.kv_cas(KV_STATE, Some("SUSPENDED"), "LOCKED", now).await? {
            return Err(Error::new(ErrorCode::INVALID_STATE_TRANSITION, "The kill switch changed concurrently; retry"));
        }
        let revoked = self.sessions.revoke_all(now).await?;
        self.audit.record("KILL_SWITCH_ESCALATED", actor, None, None, Some(serde_json::json!({"sessionsRevoked": revoked})), "critical", None).await;
        tracing::warn!(actor, revoked, "kill switch escalated to LOCKED");
        self.status().await
    }

    /// ACTIVE → SUSPENDED, then the cascade. Returns the new status.
    pub async fn activate(&self, actor: &str) -> Result<KillSwitchStatus> {
        let now = self.clock.now();
        let current = self.kv.kv_get(KV_STATE).await?;
        if current.as_deref().is_some_and(|s| s != "ACTIVE") {
            return Err(Error::new(ErrorCode::KILL_SWITCH_ACTIVE, "The kill switch is already activated"));
        }
        if !self.kv.kv_cas(KV_STATE, current.as_deref(), "SUSPENDED", now).await? {
            return Err(Error::new(ErrorCode::KILL_SWITCH_ACTIVE, "The kill switch was activated concurrently"));
        }
        self.kv.kv_set(KV_AT, &now.to_string(), now).await?;
        self.kv.kv_set(KV_BY, actor, now).await?;
        self.engaged.store(true, Ordering::SeqCst);
        // Nothing unsigned proceeds.
        let cancel =
            TxPatch { error: Some(REASON.into()), error_code: Some(ErrorCode::SYSTEM_LOCKED.as_str().into()), release_reservation: true, ..Default::default() };
        let mut cancelled = 0;
        for tx in self.txs.txs_in_status(&[TxStatus::Pending, TxStatus::Queued, TxStatus::Executing]).await? {
            if tx.status() == TxStatus::Executing && tx.signed_tx.is_some() {
                continue; // already signed: it may be on the chain; the pipeline finishes it.
            }
            if self.txs.transition_tx(&tx.id, &[tx.status()], TxStatus::Cancelled, &cancel, now).await? {
                self.metrics.transaction(TxStatus::Cancelled, tx.tier.as_deref());
                cancelled += 1;
            }
        }
        let suspended = self.wallets.suspend_all_active(REASON, now).await?;
        self.audit
            .record(
                "KILL_SWITCH_ACTIVATED",
                actor,
                None,
                None,
                Some(serde_json::json!({"cancelled": cancelled, "walletsSuspended": suspended})),
                "critical",
                None,
            )
            .await;
        tracing::warn!(actor, cancelled, suspended, "kill switch activated");
        self.status().await
    }

    /// Back to ACTIVE (the caller has passed masterAuth); wallets the switch suspended are
    /// resumed. From LOCKED an owner's signed `kill-switch:recover` is also required:
    /// `owner`, when given, checks that proof and answers the owner's address (it is called
    /// only when the switch is LOCKED).
    pub async fn recover<F, Fut>(&self, actor: &str, owner: Option<F>) -> Result<KillSwitchStatus>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String>>,
    {
        let current = self.kv.kv_get(KV_STATE).await?;
        let mut actor = actor.to_string();
        match current.as_deref() {
            None | Some("ACTIVE") => return Err(Error::new(ErrorCode::KILL_SWITCH_NOT_ACTIVE, "The kill switch is not activated")),
            Some("SUSPENDED") => {}
            Some("LOCKED") => {
                let any_owner = self.wallets.all().await?.iter().any(|w| w.owner_address.is_some());
                match owner {
                    Some(check) => {
                        let o = check().await?;
                        actor = format!("{actor}+owner:{o}");
                    }
                    None if any_owner => {
                        return Err(Error::new(ErrorCode::INVALID_SIGNATURE, "The kill switch is LOCKED: recovery needs the master password and an owner's signed kill-switch:recover message (ownerAddress, message, ownerSignature)"))
                    }
                    None => {}
                }
            }
            Some(other) => return Err(Error::new(ErrorCode::INVALID_STATE_TRANSITION, format!("Unknown kill switch state {other}"))),
        }
        let now = self.clock.now();
        let actor = actor.as_str();
        if !self.kv.kv_cas(KV_STATE, current.as_deref(), "ACTIVE", now).await? {
            return Err(Error::new(ErrorCode::INVALID_STATE_TRANSITION, "The kill switch changed concurrently; retry"));
        }
        self.wallets.resume_all_suspended_for(REASON, now).await?;
        self.engaged.store(false, Ordering::SeqCst);
        self.audit.record("KILL_SWITCH_RECOVERED", actor, None, None, None, "warning", None).await;
        self.status().await
    }
}
