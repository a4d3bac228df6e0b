//! AutoStop: rules that suspend a wallet by themselves (spec §6), each configurable in
//! `[security]` and audited (`AUTO_STOP_TRIGGERED`, so the notification channels hear it):
//! - `consecutive_failures`: the wallet's last N finished transactions all failed;
//! - `unusual_activity`: the wallet asked for more than N transactions (sends and signatures)
//!   within the window; the request that crosses the line is refused;
//! - `idle_timeout`: a session unused for the timeout raises `SESSION_IDLE` (notification
//!   only, as upstream: an idle agent is not a reason to stop a wallet).
//!
//! A suspended wallet cannot send or sign until the operator resumes it.
//!
//! [`AutoStop`] is the service: the transaction rows it counts, the wallets service (to
//! suspend), the sessions service (last-seen times), the audit log, the clock and the rules.

use crate::clock::Clock;
use crate::config::SecurityConfig;
use crate::error::{Error, ErrorCode, Result};
use crate::services::audit::Audit;
use crate::services::sessions::Sessions;
use crate::services::wallets::Wallets;
use crate::store::tx::TxStatus;
use crate::store::{TxStore, WalletRecord};
use serde_json::json;
use std::sync::Arc;

/// The AutoStop service.
pub struct AutoStop {
    txs: Arc<dyn TxStore>,
    wallets: Arc<Wallets>,
    sessions: Arc<Sessions>,
    audit: Arc<Audit>,
    clock: Arc<dyn Clock>,
    /// `[security]`: `autostop_*`.
    sec: SecurityConfig,
}

impl AutoStop {
    pub fn new(
        txs: Arc<dyn TxStore>,
        wallets: Arc<Wallets>,
        sessions: Arc<Sessions>,
        audit: Arc<Audit>,
        clock: Arc<dyn Clock>,
        sec: SecurityConfig,
    ) -> AutoStop {
        AutoStop { txs, wallets, sessions, audit, clock, sec }
    }

    async fn suspend(&self, wallet_id: &str, reason: &str, details: serde_json::Value) -> Result<bool> {
        let now = self.clock.now();
        let done = self.wallets.suspend_if_active(wallet_id, reason, now).await?;
        if done {
            tracing::warn!(wallet = %wallet_id, reason, "AutoStop: wallet suspended");
            self.audit.record("AUTO_STOP_TRIGGERED", "autostop", Some(wallet_id), None, Some(details), "critical", None).await;
        }
        Ok(done)
    }

    /// Rule `consecutive_failures`, run after a transaction of the wallet failed.
    /// The `consecutive_failures` rule, after transaction `tx_id` ended.
    pub(crate) async fn after_failure(&self, tx_id: &str) -> Result<()> {
        let sec = &self.sec;
        let n = sec.autostop_consecutive_failures_threshold as i64;
        if !sec.autostop_enabled || n == 0 {
            return Ok(());
        }
        let Some(tx) = self.txs.get_tx(tx_id).await? else { return Ok(()) };
        let finished = [TxStatus::Confirmed, TxStatus::Failed, TxStatus::Signed];
        let last = self.txs.list_txs(std::slice::from_ref(&tx.wallet_id), Some(&finished), None, n).await?;
        if last.len() as i64 == n && last.iter().all(|t| t.status() == TxStatus::Failed) {
            self.suspend(&tx.wallet_id, "CONSECUTIVE_FAILURES", json!({"rule": "consecutive_failures", "threshold": n})).await?;
        }
        Ok(())
    }

    /// Rule `unusual_activity`, run before a wallet records a new transaction.
    /// The `unusual_activity` rule, before wallet `w` requests another transaction.
    pub(crate) async fn activity(&self, w: &WalletRecord) -> Result<()> {
        let sec = &self.sec;
        let n = sec.autostop_unusual_activity_threshold as i64;
        if !sec.autostop_enabled || n == 0 {
            return Ok(());
        }
        let window = sec.autostop_unusual_activity_window_sec as i64;
        let recent = self.txs.count_txs_since(&w.id, self.clock.now() - window).await?;
        if recent >= n {
            self.suspend(&w.id, "UNUSUAL_ACTIVITY", json!({"rule": "unusual_activity", "threshold": n, "windowSec": window, "recent": recent})).await?;
            return Err(Error::new(
                ErrorCode::WALLET_SUSPENDED,
                format!("Wallet '{}' was suspended by AutoStop: more than {n} transactions within {window} s", w.id),
            ));
        }
        Ok(())
    }

    /// Rule `idle_timeout`: sessions not used for the timeout (since their last request, or
    /// creation) raise SESSION_IDLE once per idle period. Returns the sessions reported.
    /// The `idle_timeout` rule: sessions idle for the timeout, reported once per idle spell.
    pub async fn idle_check(&self) -> Result<Vec<String>> {
        let sec = &self.sec;
        let timeout = sec.autostop_idle_timeout_sec as i64;
        if !sec.autostop_enabled || timeout == 0 {
            return Ok(vec![]);
        }
        let now = self.clock.now();
        let mut reported = vec![];
        for s in self.sessions.unrevoked().await? {
            let seen = self.sessions.last_seen(&s.id);
            let last = seen.unwrap_or(s.created_at);
            if now - last < timeout {
                continue;
            }
            // Report once: mark the session as seen "now" for the idle clock.
            self.sessions.mark_seen(&s.id, now);
            self.audit
                .record(
                    "SESSION_IDLE",
                    "autostop",
                    s.wallet_ids.first().map(String::as_str),
                    Some(&s.id),
                    Some(json!({"rule": "idle_timeout", "idleSec": now - last})),
                    "warning",
                    None,
                )
                .await;
            reported.push(s.id);
        }
        Ok(reported)
    }
}
