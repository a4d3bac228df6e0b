//! Column lists and row decoders of wallets, sessions (with their wallet links) and policies.

use super::*;

pub(super) const WALLET_COLS: &str = "id, name, chain, environment, network, public_key, status, owner_address, owner_verified, monitor_incoming, created_at, updated_at, suspended_at, suspension_reason";

pub(super) fn wallet_from_row(r: &Row) -> rusqlite::Result<WalletRecord> {
    let bad = |i: usize, what: &str| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.to_string().into());
    Ok(WalletRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        chain: r.get::<_, String>(2)?.parse().map_err(|_| bad(2, "chain"))?,
        environment: r.get::<_, String>(3)?.parse().map_err(|_| bad(3, "environment"))?,
        network: r.get(4)?,
        public_key: r.get(5)?,
        status: WalletStatus::parse(&r.get::<_, String>(6)?).ok_or_else(|| bad(6, "status"))?,
        owner_address: r.get(7)?,
        owner_verified: r.get(8)?,
        monitor_incoming: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        suspended_at: r.get(12)?,
        suspension_reason: r.get(13)?,
    })
}

pub(super) const SESSION_COLS: &str = "id, token_hash, expires_at, constraints, revoked_at, renewal_count, max_renewals, last_renewed_at, absolute_expires_at, created_at, source, token_issued_count";

pub(super) fn session_from_row(r: &Row) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.get(0)?,
        token_hash: r.get(1)?,
        expires_at: r.get(2)?,
        constraints: r.get(3)?,
        revoked_at: r.get(4)?,
        renewal_count: r.get(5)?,
        max_renewals: r.get(6)?,
        last_renewed_at: r.get(7)?,
        absolute_expires_at: r.get(8)?,
        created_at: r.get(9)?,
        source: r.get(10)?,
        token_issued_count: r.get(11)?,
        wallet_ids: vec![],
    })
}

pub(super) fn session_wallet_ids(c: &Connection, session_id: &str) -> Result<Vec<String>> {
    let mut st = c.prepare_cached("SELECT wallet_id FROM session_wallets WHERE session_id = ?1 ORDER BY position")?;
    let ids = st.query_map([session_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}

pub(super) fn load_sessions(c: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<SessionRecord>> {
    let mut st = c.prepare_cached(sql)?;
    let mut out = st.query_map(p, session_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    for s in &mut out {
        s.wallet_ids = session_wallet_ids(c, &s.id)?;
    }
    Ok(out)
}

pub(super) const POLICY_COLS: &str = "id, wallet_id, type, rules, priority, enabled, network, created_at, updated_at";

pub(super) fn policy_from_row(r: &Row) -> rusqlite::Result<PolicyRow> {
    Ok(PolicyRow {
        id: r.get(0)?,
        wallet_id: r.get(1)?,
        policy_type: r.get(2)?,
        // Unparseable stored rules are kept as a string: the evaluator denies them as corrupt.
        rules: {
            let raw: String = r.get(3)?;
            serde_json::from_str(&raw).unwrap_or(serde_json::Value::String(raw))
        },
        priority: r.get(4)?,
        enabled: r.get(5)?,
        network: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}
