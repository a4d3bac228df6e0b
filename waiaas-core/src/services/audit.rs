//! The audit log service: every other service records what it did here. A failing audit
//! write is logged, never fatal to the caller.

use crate::clock::Clock;
use crate::store::{AuditEntry, AuditStore};
use std::sync::Arc;

/// Appends to the audit log (the notifiers read it back as their event feed).
pub struct Audit {
    store: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
}

impl Audit {
    pub fn new(store: Arc<dyn AuditStore>, clock: Arc<dyn Clock>) -> Audit {
        Audit { store, clock }
    }

    /// Append one entry stamped now.
    #[allow(clippy::too_many_arguments)] // one audit row's columns
    pub async fn record(
        &self,
        event_type: &str,
        actor: &str,
        wallet_id: Option<&str>,
        session_id: Option<&str>,
        details: Option<serde_json::Value>,
        severity: &str,
        ip: Option<&str>,
    ) {
        self.append(self.entry(event_type, actor, wallet_id, session_id, details, severity, ip)).await
    }

    /// The entry [`Audit::record`] appends, stamped now, for a caller that writes it together
    /// with other rows (an incoming transfer and its announcement).
    #[allow(clippy::too_many_arguments, reason = "the audit entry's own fields")]
    pub(crate) fn entry(
        &self,
        event_type: &str,
        actor: &str,
        wallet_id: Option<&str>,
        session_id: Option<&str>,
        details: Option<serde_json::Value>,
        severity: &str,
        ip: Option<&str>,
    ) -> AuditEntry {
        AuditEntry {
            id: 0,
            timestamp: self.clock.now(),
            event_type: event_type.into(),
            actor: actor.into(),
            wallet_id: wallet_id.map(Into::into),
            session_id: session_id.map(Into::into),
            tx_id: None,
            details: details.map(|d| d.to_string()),
            severity: severity.into(),
            ip_address: ip.map(Into::into),
        }
    }

    /// Append an action on one transaction.
    pub async fn record_tx(&self, event_type: &str, actor: &str, wallet_id: &str, tx_id: &str, details: Option<serde_json::Value>, severity: &str) {
        let e = AuditEntry {
            id: 0,
            timestamp: self.clock.now(),
            event_type: event_type.into(),
            actor: actor.into(),
            wallet_id: Some(wallet_id.into()),
            tx_id: Some(tx_id.into()),
            details: details.map(|d| d.to_string()),
            severity: severity.into(),
            ..Default::default()
        };
        self.append(e).await
    }

    async fn append(&self, e: AuditEntry) {
        if let Err(err) = self.store.append_audit(&e).await {
            tracing::error!(event_type = %e.event_type, error = %err, "audit write failed");
        }
    }
}
