//! Audit log rows: columns, decoder, insert, and the row a transaction's status change writes.

use super::*;

pub(super) const AUDIT_COLS: &str = "id, timestamp, event_type, actor, wallet_id, session_id, tx_id, details, severity, ip_address";

pub(super) fn audit_from_row(r: &Row) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        timestamp: r.get(1)?,
        event_type: r.get(2)?,
        actor: r.get(3)?,
        wallet_id: r.get(4)?,
        session_id: r.get(5)?,
        tx_id: r.get(6)?,
        details: r.get(7)?,
        severity: r.get(8)?,
        ip_address: r.get(9)?,
    })
}

pub(super) fn insert_audit(tx: &rusqlite::Transaction, e: &AuditEntry) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit_log (timestamp, event_type, actor, wallet_id, session_id, tx_id, details, severity, ip_address)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    )?
    .execute(params![e.timestamp, e.event_type, e.actor, e.wallet_id, e.session_id, e.tx_id, e.details, e.severity, e.ip_address])?;
    Ok(())
}

/// The audit row of a transaction's status change, written in the same store transaction.
pub(super) fn audit_tx(tx: &rusqlite::Transaction, id: &str, from: Option<&str>, to: TxStatus, patch: &TxPatch, now: i64) -> Result<()> {
    let (wallet_id, session_id, tier, metadata): (String, Option<String>, Option<String>, Option<String>) =
        tx.query_row("SELECT wallet_id, session_id, tier, metadata FROM transactions WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let decided = from == Some("PENDING") && matches!(to, TxStatus::Executing | TxStatus::Queued | TxStatus::Cancelled) && patch.decision.is_some();
    let approval = metadata.as_deref().is_some_and(|m| m.contains("\"approvalRequired\":true"));
    let (event, severity) = match to {
        _ if decided && to == TxStatus::Cancelled => ("POLICY_DENIED", "warning"),
        TxStatus::Executing if decided => ("TX_REQUESTED", "info"),
        TxStatus::Queued if approval => ("TX_APPROVAL_REQUIRED", "warning"),
        TxStatus::Queued => ("TX_QUEUED", "info"),
        TxStatus::Executing => ("TX_EXECUTING", "info"),
        TxStatus::Submitted => ("TX_SUBMITTED", "info"),
        TxStatus::Confirmed => ("TX_CONFIRMED", "info"),
        TxStatus::Failed => ("TX_FAILED", "warning"),
        TxStatus::Cancelled => ("TX_CANCELLED", "info"),
        TxStatus::Expired => ("TX_APPROVAL_EXPIRED", "warning"),
        TxStatus::Signed => ("TX_SIGNED", "info"),
        _ => ("TX_STATUS_CHANGED", "info"),
    };
    let mut details = serde_json::json!({ "from": from, "to": to.as_str() });
    if let Some(t) = tier {
        details["tier"] = t.into();
    }
    if let Some(e) = &patch.error {
        details["error"] = e.clone().into();
    }
    if let Some(c) = &patch.error_code {
        details["errorCode"] = c.clone().into();
    }
    if let Some(h) = &patch.tx_hash {
        details["txHash"] = h.clone().into();
    }
    if let Some(h) = patch.metadata.as_deref().and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok()).and_then(|m| m.get("messageHash").cloned()) {
        details["messageHash"] = h;
    }
    if decided {
        if let Some(d) = patch.decision.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()) {
            details["decision"] = d;
        }
    }
    insert_audit(
        tx,
        &AuditEntry {
            id: 0,
            timestamp: now,
            event_type: event.into(),
            actor: "pipeline".into(),
            wallet_id: Some(wallet_id),
            session_id,
            tx_id: Some(id.to_string()),
            details: Some(details.to_string()),
            severity: severity.into(),
            ip_address: None,
        },
    )
}
