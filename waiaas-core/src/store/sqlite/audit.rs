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

/// The audit row of a transaction's status change ([`crate::store::tx::status_change_entry`]),
/// written in the same store transaction.
pub(super) fn audit_tx(tx: &rusqlite::Transaction, id: &str, from: Option<&str>, to: TxStatus, patch: &TxPatch, now: i64) -> Result<()> {
    let (wallet_id, session_id, tier, metadata): (String, Option<String>, Option<String>, Option<String>) =
        tx.query_row("SELECT wallet_id, session_id, tier, metadata FROM transactions WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let row = crate::store::tx::StatusChange { id, wallet_id, session_id, tier, metadata, from, to };
    insert_audit(tx, &crate::store::tx::status_change_entry(row, patch, now))
}
