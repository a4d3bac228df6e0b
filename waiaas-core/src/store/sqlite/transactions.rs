//! Transaction rows: their columns and decoder, the usage windows a policy decision sees
//! (the decide/reserve path), and applying a patch with its nonce commit.

use super::*;

pub(super) const TX_COLS: &str = "id, wallet_id, session_id, chain, network, type, status, tier, amount, to_address, token_address, request, original_request, amount_usd, reserved_usd, nonce, unsigned_tx, signed_tx, tx_hash, error, error_code, idempotency_key, metadata, queued_at, executed_at, created_at, updated_at, decision";

pub(super) fn tx_from_row(r: &Row) -> rusqlite::Result<TxRecord> {
    // A value this build does not know is an error, never a guess (a silent FAILED once).
    let unknown = |col: usize, what: &str, v: &str| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, format!("unknown transaction {what} '{v}'").into())
    };
    let tx_type: String = r.get(5)?;
    let status: String = r.get(6)?;
    Ok(TxRecord {
        id: r.get(0)?,
        wallet_id: r.get(1)?,
        session_id: r.get(2)?,
        chain: r.get(3)?,
        network: r.get(4)?,
        tx_type: crate::store::tx::TxType::parse(&tx_type).ok_or_else(|| unknown(5, "type", &tx_type))?,
        status: crate::store::tx::TxStatus::parse(&status).ok_or_else(|| unknown(6, "status", &status))?,
        tier: r.get(7)?,
        amount: r.get(8)?,
        to_address: r.get(9)?,
        token_address: r.get(10)?,
        request: r.get(11)?,
        original_request: r.get(12)?,
        amount_usd: r.get(13)?,
        reserved_usd: r.get(14)?,
        nonce: r.get(15)?,
        unsigned_tx: r.get(16)?,
        signed_tx: r.get(17)?,
        tx_hash: r.get(18)?,
        error: r.get(19)?,
        error_code: r.get(20)?,
        idempotency_key: r.get(21)?,
        metadata: r.get(22)?,
        queued_at: r.get(23)?,
        executed_at: r.get(24)?,
        created_at: r.get(25)?,
        updated_at: r.get(26)?,
        decision: r.get(27)?,
    })
}

/// Usage windows of a wallet, excluding transaction `exclude` (the one being decided).
/// Everything that passed the gate and has not ended without moving funds counts.
/// One pass over the live rows of the longest window (index entries only:
/// `idx_transactions_usage`), then the reserved amounts (`idx_transactions_reserved`).
pub(super) fn usage_in(c: &Connection, wallet_id: &str, exclude: &str, network: &str, token: Option<&str>, windows: &[u64], now: i64) -> Result<UsageRow> {
    const DAY: i64 = 86_400;
    const MONTH: i64 = 2_592_000;
    let ago = |w: u64| now.saturating_sub(i64::try_from(w).unwrap_or(i64::MAX));
    let since = windows.iter().map(|w| ago(*w)).fold(now - MONTH, i64::min);
    let mut sql = String::from(
        "SELECT COALESCE(SUM(CASE WHEN created_at >= ?4 THEN amount_usd END), 0), COALESCE(SUM(CASE WHEN created_at >= ?5 THEN amount_usd END), 0)",
    );
    let mut args: Vec<rusqlite::types::Value> =
        vec![wallet_id.to_string().into(), exclude.to_string().into(), since.into(), (now - DAY).into(), (now - MONTH).into()];
    for w in windows {
        args.push(ago(*w).into());
        sql.push_str(&format!(", COUNT(CASE WHEN created_at > ?{} THEN 1 END)", args.len()));
    }
    sql.push_str(
        " FROM transactions INDEXED BY idx_transactions_usage WHERE wallet_id = ?1 AND created_at >= ?3 AND id != ?2
          AND tier IS NOT NULL AND status NOT IN ('FAILED','CANCELLED','EXPIRED')",
    );
    let (spent_usd_day, spent_usd_month, requests_in_window) = c.prepare_cached(&sql)?.query_row(rusqlite::params_from_iter(args), |r| {
        let mut counts = Vec::with_capacity(windows.len());
        for (i, w) in windows.iter().enumerate() {
            counts.push((*w, r.get::<_, i64>(2 + i)?.max(0) as u64));
        }
        Ok((r.get::<_, f64>(0)?, r.get::<_, f64>(1)?, counts))
    })?;
    let mut reserved_raw: u128 = 0;
    let mut st = c.prepare_cached(
        "SELECT amount FROM transactions INDEXED BY idx_transactions_reserved WHERE wallet_id = ?1 AND network = ?3
         AND status IN ('PENDING','QUEUED','EXECUTING','GAS_WAITING') AND token_address IS ?4 AND tier IS NOT NULL AND id != ?2",
    )?;
    for a in st.query_map(params![wallet_id, exclude, network, token], |r| r.get::<_, Option<String>>(0))? {
        reserved_raw = reserved_raw.saturating_add(a?.and_then(|v| v.parse::<u128>().ok()).unwrap_or(0));
    }
    Ok(UsageRow { spent_usd_day, spent_usd_month, reserved_raw, requests_in_window })
}

/// Apply a patch (and the nonce commit) to a row inside a transaction.
pub(super) fn apply_patch(tx: &rusqlite::Transaction, id: &str, p: &TxPatch, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE transactions SET
            tier = COALESCE(?2, tier),
            nonce = CASE WHEN ?17 THEN NULL ELSE COALESCE(?3, nonce) END,
            unsigned_tx = CASE WHEN ?17 THEN NULL ELSE COALESCE(?4, unsigned_tx) END,
            signed_tx = CASE WHEN ?17 THEN NULL ELSE COALESCE(?5, signed_tx) END,
            tx_hash = CASE WHEN ?17 THEN NULL ELSE COALESCE(?6, tx_hash) END, error = COALESCE(?7, error),
            error_code = COALESCE(?8, error_code), queued_at = COALESCE(?9, queued_at), executed_at = COALESCE(?10, executed_at),
            metadata = COALESCE(?11, metadata), amount_usd = COALESCE(?12, amount_usd),
            reserved_usd = CASE WHEN ?13 THEN 0 ELSE COALESCE(?15, reserved_usd) END, updated_at = ?14,
            decision = COALESCE(?16, decision)
         WHERE id = ?1",
        params![
            id,
            p.tier,
            p.nonce,
            p.unsigned_tx,
            p.signed_tx,
            p.tx_hash,
            p.error,
            p.error_code,
            p.queued_at,
            p.executed_at,
            p.metadata,
            p.amount_usd,
            p.release_reservation,
            now,
            p.reserved_usd,
            p.decision,
            p.forget_signed
        ],
    )?;
    if p.commit_nonce {
        tx.execute(
            "INSERT INTO nonces (wallet_id, network, next_nonce)
             SELECT wallet_id, network, nonce + 1 FROM transactions WHERE id = ?1 AND nonce IS NOT NULL
             ON CONFLICT(wallet_id, network) DO UPDATE SET next_nonce = MAX(next_nonce, excluded.next_nonce)",
            [id],
        )?;
    }
    Ok(())
}
