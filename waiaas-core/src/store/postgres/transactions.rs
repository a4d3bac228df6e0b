//! Transactions and the policy decision on PostgreSQL: the same rows, usage windows, patches
//! and audit entries as SQLite's (`store::sqlite::transactions`), and the decision +
//! reservation as one database transaction that holds the wallet's row lock, so decisions of
//! one wallet are serialized across replicas (each sees the others' reservations).

use super::*;
use crate::store::tx::{status_change_entry, StatusChange, TxPatch, TxRecord, TxStatus, TxType};
use deadpool_postgres::GenericClient;

pub(super) const TX_COLS: &str = "id, wallet_id, session_id, chain, network, type, status, tier, amount, to_address, token_address, request, original_request, amount_usd, reserved_usd, nonce, unsigned_tx, signed_tx, tx_hash, error, error_code, idempotency_key, metadata, queued_at, executed_at, created_at, updated_at, decision";
const POLICY_COLS: &str = "id, wallet_id, type, rules, priority, enabled, network, created_at, updated_at";
const AUDIT_COLS: &str = "id, timestamp, event_type, actor, wallet_id, session_id, tx_id, details, severity, ip_address";

pub(super) fn tx_from_row(r: &Row) -> Result<TxRecord> {
    // A value this build does not know is an error, never a guess.
    let (tx_type, status): (String, String) = (r.try_get(5)?, r.try_get(6)?);
    Ok(TxRecord {
        id: r.try_get(0)?,
        wallet_id: r.try_get(1)?,
        session_id: r.try_get(2)?,
        chain: r.try_get(3)?,
        network: r.try_get(4)?,
        tx_type: TxType::parse(&tx_type).ok_or_else(|| corrupt("transaction type", &tx_type))?,
        status: TxStatus::parse(&status).ok_or_else(|| corrupt("transaction status", &status))?,
        tier: r.try_get(7)?,
        amount: r.try_get(8)?,
        to_address: r.try_get(9)?,
        token_address: r.try_get(10)?,
        request: r.try_get(11)?,
        original_request: r.try_get(12)?,
        amount_usd: r.try_get(13)?,
        reserved_usd: r.try_get(14)?,
        nonce: r.try_get(15)?,
        unsigned_tx: r.try_get(16)?,
        signed_tx: r.try_get(17)?,
        tx_hash: r.try_get(18)?,
        error: r.try_get(19)?,
        error_code: r.try_get(20)?,
        idempotency_key: r.try_get(21)?,
        metadata: r.try_get(22)?,
        queued_at: r.try_get(23)?,
        executed_at: r.try_get(24)?,
        created_at: r.try_get(25)?,
        updated_at: r.try_get(26)?,
        decision: r.try_get(27)?,
    })
}

pub(super) fn policy_from_row(r: &Row) -> Result<PolicyRow> {
    let raw: String = r.try_get(3)?;
    Ok(PolicyRow {
        id: r.try_get(0)?,
        wallet_id: r.try_get(1)?,
        policy_type: r.try_get(2)?,
        // Unparseable stored rules are kept as a string: the evaluator denies them as corrupt.
        rules: serde_json::from_str(&raw).unwrap_or(serde_json::Value::String(raw)),
        priority: r.try_get(4)?,
        enabled: r.try_get(5)?,
        network: r.try_get(6)?,
        created_at: r.try_get(7)?,
        updated_at: r.try_get(8)?,
    })
}

pub(super) fn audit_from_row(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.try_get(0)?,
        timestamp: r.try_get(1)?,
        event_type: r.try_get(2)?,
        actor: r.try_get(3)?,
        wallet_id: r.try_get(4)?,
        session_id: r.try_get(5)?,
        tx_id: r.try_get(6)?,
        details: r.try_get(7)?,
        severity: r.try_get(8)?,
        ip_address: r.try_get(9)?,
    })
}

/// Append an audit entry. Its id is taken under a transaction-scoped advisory lock, so ids are
/// committed in increasing order: the outbox workers read the log by id (`audit_after`), and
/// without the lock an entry committed after a higher id had been read would be skipped.
pub(super) async fn insert_audit(c: &impl GenericClient, e: &AuditEntry) -> Result<()> {
    c.exec("SELECT pg_advisory_xact_lock($1)", &[&super::schema::AUDIT_LOCK]).await?;
    c.exec(
        "INSERT INTO audit_log (timestamp, event_type, actor, wallet_id, session_id, tx_id, details, severity, ip_address)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        &[&e.timestamp, &e.event_type, &e.actor, &e.wallet_id, &e.session_id, &e.tx_id, &e.details, &e.severity, &e.ip_address],
    )
    .await?;
    Ok(())
}

/// The audit row of a status change, in the same database transaction.
async fn audit_tx(c: &impl GenericClient, id: &str, from: Option<&str>, to: TxStatus, patch: &TxPatch, now: i64) -> Result<()> {
    let r = c.row("SELECT wallet_id, session_id, tier, metadata FROM transactions WHERE id = $1", &[&id]).await?;
    let change = StatusChange { id, wallet_id: r.try_get(0)?, session_id: r.try_get(1)?, tier: r.try_get(2)?, metadata: r.try_get(3)?, from, to };
    insert_audit(c, &status_change_entry(change, patch, now)).await
}

/// Usage windows of a wallet, excluding transaction `exclude` (see SQLite's `usage_in`: the
/// same rows count).
async fn usage_in(c: &impl GenericClient, wallet_id: &str, exclude: &str, network: &str, token: Option<&str>, windows: &[u64], now: i64) -> Result<UsageRow> {
    const DAY: i64 = 86_400;
    const MONTH: i64 = 2_592_000;
    let ago = |w: u64| now.saturating_sub(i64::try_from(w).unwrap_or(i64::MAX));
    let since = windows.iter().map(|w| ago(*w)).fold(now - MONTH, i64::min);
    let (day, month) = (now - DAY, now - MONTH);
    let starts: Vec<i64> = windows.iter().map(|w| ago(*w)).collect();
    let mut sql = String::from(
        "SELECT COALESCE(SUM(CASE WHEN created_at >= $4 THEN amount_usd END), 0), COALESCE(SUM(CASE WHEN created_at >= $5 THEN amount_usd END), 0)",
    );
    let mut args: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&wallet_id, &exclude, &since, &day, &month];
    for s in &starts {
        args.push(s);
        sql.push_str(&format!(", COUNT(CASE WHEN created_at > ${} THEN 1 END)", args.len()));
    }
    sql.push_str(
        " FROM transactions WHERE wallet_id = $1 AND created_at >= $3 AND id != $2
          AND tier IS NOT NULL AND status NOT IN ('FAILED','CANCELLED','EXPIRED')",
    );
    let r = c.row(&sql, &args).await?;
    let mut requests_in_window = Vec::with_capacity(windows.len());
    for (i, w) in windows.iter().enumerate() {
        requests_in_window.push((*w, r.try_get::<_, i64>(2 + i)?.max(0) as u64));
    }
    let (spent_usd_day, spent_usd_month) = (r.try_get(0)?, r.try_get(1)?);
    let mut reserved_raw: u128 = 0;
    for row in c
        .rows(
            "SELECT amount FROM transactions WHERE wallet_id = $1 AND network = $3
             AND status IN ('PENDING','QUEUED','EXECUTING','GAS_WAITING') AND token_address IS NOT DISTINCT FROM $4 AND tier IS NOT NULL AND id != $2",
            &[&wallet_id, &exclude, &network, &token],
        )
        .await?
    {
        let a: Option<String> = row.try_get(0)?;
        reserved_raw = reserved_raw.saturating_add(a.and_then(|v| v.parse::<u128>().ok()).unwrap_or(0));
    }
    Ok(UsageRow { spent_usd_day, spent_usd_month, reserved_raw, requests_in_window })
}

/// Apply a patch (and the nonce commit) to a row inside a transaction.
async fn apply_patch(c: &impl GenericClient, id: &str, p: &TxPatch, now: i64) -> Result<()> {
    c.exec(
        "UPDATE transactions SET
            tier = COALESCE($2, tier),
            nonce = CASE WHEN $17 THEN NULL ELSE COALESCE($3, nonce) END,
            unsigned_tx = CASE WHEN $17 THEN NULL ELSE COALESCE($4, unsigned_tx) END,
            signed_tx = CASE WHEN $17 THEN NULL ELSE COALESCE($5, signed_tx) END,
            tx_hash = CASE WHEN $17 THEN NULL ELSE COALESCE($6, tx_hash) END, error = COALESCE($7, error),
            error_code = COALESCE($8, error_code), queued_at = COALESCE($9, queued_at), executed_at = COALESCE($10, executed_at),
            metadata = COALESCE($11, metadata), amount_usd = COALESCE($12, amount_usd),
            reserved_usd = CASE WHEN $13 THEN 0 ELSE COALESCE($15, reserved_usd) END, updated_at = $14,
            decision = COALESCE($16, decision)
         WHERE id = $1",
        &[
            &id,
            &p.tier,
            &p.nonce,
            &p.unsigned_tx,
            &p.signed_tx,
            &p.tx_hash,
            &p.error,
            &p.error_code,
            &p.queued_at,
            &p.executed_at,
            &p.metadata,
            &p.amount_usd,
            &p.release_reservation,
            &now,
            &p.reserved_usd,
            &p.decision,
            &p.forget_signed,
        ],
    )
    .await?;
    if p.commit_nonce {
        c.exec(
            "INSERT INTO nonces (wallet_id, network, next_nonce)
             SELECT wallet_id, network, nonce + 1 FROM transactions WHERE id = $1 AND nonce IS NOT NULL
             ON CONFLICT (wallet_id, network) DO UPDATE SET next_nonce = GREATEST(nonces.next_nonce, excluded.next_nonce)",
            &[&id],
        )
        .await?;
    }
    Ok(())
}

fn statuses(s: &[TxStatus]) -> Vec<&'static str> {
    s.iter().map(|x| x.as_str()).collect()
}

/// Run a step of a decision, turning a panic into an error (the transaction is rolled back).
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| Err(Error::internal("the policy decision panicked; nothing was written")))
}

#[async_trait]
impl TxStore for PgStore {
    async fn insert_tx(&self, t: &TxRecord) -> Result<Option<TxRecord>> {
        let c = self.client().await?;
        let n = c
            .exec(
                &format!(
                    "INSERT INTO transactions ({TX_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,NULL)
                     ON CONFLICT (wallet_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
                ),
                &[
                    &t.id,
                    &t.wallet_id,
                    &t.session_id,
                    &t.chain,
                    &t.network,
                    &t.tx_type.as_str(),
                    &t.status.as_str(),
                    &t.tier,
                    &t.amount,
                    &t.to_address,
                    &t.token_address,
                    &t.request,
                    &t.original_request,
                    &t.amount_usd,
                    &t.reserved_usd,
                    &t.nonce,
                    &t.unsigned_tx,
                    &t.signed_tx,
                    &t.tx_hash,
                    &t.error,
                    &t.error_code,
                    &t.idempotency_key,
                    &t.metadata,
                    &t.queued_at,
                    &t.executed_at,
                    &t.created_at,
                    &t.updated_at,
                ],
            )
            .await?;
        if n == 1 {
            return Ok(None);
        }
        // The idempotency key was used (by this replica or another): the first answer.
        let row =
            c.row(&format!("SELECT {TX_COLS} FROM transactions WHERE wallet_id = $1 AND idempotency_key = $2"), &[&t.wallet_id, &t.idempotency_key]).await?;
        Ok(Some(tx_from_row(&row)?))
    }

    async fn get_tx(&self, id: &str) -> Result<Option<TxRecord>> {
        let row = self.client().await?.row_opt(&format!("SELECT {TX_COLS} FROM transactions WHERE id = $1"), &[&id]).await?;
        row.as_ref().map(tx_from_row).transpose()
    }

    async fn list_txs(&self, wallet_ids: &[String], statuses_in: Option<&[TxStatus]>, before: Option<&str>, limit: i64) -> Result<Vec<TxRecord>> {
        let st = statuses_in.map(statuses);
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "SELECT {TX_COLS} FROM transactions WHERE wallet_id = ANY($1) AND ($2::text[] IS NULL OR status = ANY($2))
                     AND ($3::text IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
                ),
                &[&wallet_ids, &st, &before, &limit],
            )
            .await?;
        rows.iter().map(tx_from_row).collect()
    }

    async fn transition_tx(&self, id: &str, from: &[TxStatus], to: TxStatus, patch: &TxPatch, now: i64) -> Result<bool> {
        for f in from {
            if !f.can_go_to(to) {
                return Err(Error::new(ErrorCode::INVALID_STATE_TRANSITION, format!("illegal transaction transition {} -> {}", f.as_str(), to.as_str())));
            }
        }
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let prev: Option<String> = tx.row_opt("SELECT status FROM transactions WHERE id = $1 FOR UPDATE", &[&id]).await?.map(|r| r.try_get(0)).transpose()?;
        let n = tx
            .exec("UPDATE transactions SET status = $2, updated_at = $3 WHERE id = $1 AND status = ANY($4)", &[&id, &to.as_str(), &now, &statuses(from)])
            .await?;
        if n == 1 {
            apply_patch(&tx, id, patch, now).await?;
            audit_tx(&tx, id, prev.as_deref(), to, patch, now).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn patch_tx(&self, id: &str, status: TxStatus, patch: &TxPatch, now: i64) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let cur: Option<String> = tx.row_opt("SELECT status FROM transactions WHERE id = $1 FOR UPDATE", &[&id]).await?.map(|r| r.try_get(0)).transpose()?;
        if cur.as_deref() != Some(status.as_str()) {
            return Ok(false);
        }
        apply_patch(&tx, id, patch, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn patch_txs(&self, status: TxStatus, patches: &[(String, TxPatch)], now: i64) -> Result<Vec<String>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mut ids: Vec<&str> = patches.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort_unstable();
        let rows = tx.rows("SELECT id, status FROM transactions WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&ids]).await?;
        let mut ok = std::collections::HashSet::new();
        for r in &rows {
            if r.try_get::<_, String>(1)? == status.as_str() {
                ok.insert(r.try_get::<_, String>(0)?);
            }
        }
        let gone: Vec<String> = patches.iter().filter(|(id, _)| !ok.contains(id)).map(|(id, _)| id.clone()).collect();
        if gone.is_empty() {
            for (id, patch) in patches {
                apply_patch(&tx, id, patch, now).await?;
            }
            tx.commit().await?;
        }
        Ok(gone)
    }

    async fn txs_in_status(&self, statuses_in: &[TxStatus]) -> Result<Vec<TxRecord>> {
        let rows =
            self.client().await?.rows(&format!("SELECT {TX_COLS} FROM transactions WHERE status = ANY($1) ORDER BY id"), &[&statuses(statuses_in)]).await?;
        rows.iter().map(tx_from_row).collect()
    }

    async fn next_nonce(&self, wallet_id: &str, network: &str) -> Result<Option<u64>> {
        let row = self.client().await?.row_opt("SELECT next_nonce FROM nonces WHERE wallet_id = $1 AND network = $2", &[&wallet_id, &network]).await?;
        Ok(row.map(|r| r.try_get::<_, i64>(0)).transpose()?.map(|v| v as u64))
    }

    async fn count_txs_since(&self, wallet_id: &str, since: i64) -> Result<i64> {
        Ok(self.client().await?.row("SELECT COUNT(*) FROM transactions WHERE wallet_id = $1 AND created_at >= $2", &[&wallet_id, &since]).await?.try_get(0)?)
    }

    async fn tx_counts_since(&self, since: i64) -> Result<Vec<(String, i64, f64)>> {
        let rows = self
            .client()
            .await?
            .rows(
                "SELECT status, COUNT(*), COALESCE(SUM(amount_usd), 0)::DOUBLE PRECISION FROM transactions WHERE created_at >= $1 GROUP BY status ORDER BY status",
                &[&since],
            )
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }
}

#[async_trait]
impl PolicyStore for PgStore {
    async fn insert_policy(&self, p: &PolicyRow) -> Result<()> {
        self.client()
            .await?
            .exec(
                &format!("INSERT INTO policies ({POLICY_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"),
                &[&p.id, &p.wallet_id, &p.policy_type, &p.rules.to_string(), &p.priority, &p.enabled, &p.network, &p.created_at, &p.updated_at],
            )
            .await?;
        Ok(())
    }

    async fn get_policy(&self, id: &str) -> Result<Option<PolicyRow>> {
        let row = self.client().await?.row_opt(&format!("SELECT {POLICY_COLS} FROM policies WHERE id = $1"), &[&id]).await?;
        row.as_ref().map(policy_from_row).transpose()
    }

    async fn list_policies(&self, wallet_id: Option<&str>) -> Result<Vec<PolicyRow>> {
        let rows = self
            .client()
            .await?
            .rows(
                &format!("SELECT {POLICY_COLS} FROM policies WHERE $1::text IS NULL OR wallet_id = $1 OR wallet_id IS NULL ORDER BY priority DESC, id"),
                &[&wallet_id],
            )
            .await?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn update_policy(&self, p: &PolicyRow) -> Result<bool> {
        let n = self
            .client()
            .await?
            .exec(
                "UPDATE policies SET rules = $2, priority = $3, enabled = $4, updated_at = $5 WHERE id = $1",
                &[&p.id, &p.rules.to_string(), &p.priority, &p.enabled, &p.updated_at],
            )
            .await?;
        Ok(n == 1)
    }

    async fn delete_policy(&self, id: &str) -> Result<bool> {
        Ok(self.client().await?.exec("DELETE FROM policies WHERE id = $1", &[&id]).await? == 1)
    }

    async fn usage(&self, wallet_id: &str, network: &str, token: Option<&str>, windows: &[u64], now: i64) -> Result<UsageRow> {
        usage_in(&self.client().await?, wallet_id, "", network, token, windows, now).await
    }

    async fn decide_tx(&self, tx_id: &str, now: i64, decide: DecideFn) -> Result<Option<TxStatus>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let Some(r) = tx.row_opt(&format!("SELECT {TX_COLS} FROM transactions WHERE id = $1"), &[&tx_id]).await? else {
            return Ok(None);
        };
        let wallet_id: String = r.try_get(1)?;
        // Every decision of this wallet, on any replica, waits here for the one before it, then
        // reads the row again: it may have been decided meanwhile.
        tx.exec("SELECT id FROM wallets WHERE id = $1 FOR UPDATE", &[&wallet_id]).await?;
        let row = tx_from_row(&tx.row(&format!("SELECT {TX_COLS} FROM transactions WHERE id = $1 FOR UPDATE"), &[&tx_id]).await?)?;
        if row.status() != TxStatus::Pending {
            return Ok(None);
        }
        let policies = tx
            .rows(&format!("SELECT {POLICY_COLS} FROM policies WHERE enabled AND (wallet_id IS NULL OR wallet_id = $1)"), &[&row.wallet_id])
            .await?
            .iter()
            .map(policy_from_row)
            .collect::<Result<Vec<_>>>()?;
        let mut decide = decide;
        let windows = guarded(|| decide.windows(&row, &policies))?;
        let usage = usage_in(&tx, &row.wallet_id, tx_id, &row.network, row.token_address.as_deref(), &windows, now).await?;
        let (to, patch) = guarded(|| decide.decide(&row, usage))?;
        tx.exec("UPDATE transactions SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'PENDING'", &[&tx_id, &to.as_str(), &now]).await?;
        apply_patch(&tx, tx_id, &patch, now).await?;
        audit_tx(&tx, tx_id, Some("PENDING"), to, &patch, now).await?;
        tx.commit().await?;
        Ok(Some(to))
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        insert_audit(&tx, e).await?;
        Ok(tx.commit().await?)
    }

    async fn query_audit(&self, q: &AuditQuery) -> Result<(Vec<AuditEntry>, Option<i64>)> {
        let filter = "($1::text IS NULL OR wallet_id = $1) AND ($2::text IS NULL OR event_type = $2) AND ($3::text IS NULL OR severity = $3)
             AND ($4::bigint IS NULL OR timestamp >= $4) AND ($5::bigint IS NULL OR timestamp <= $5) AND ($6::text IS NULL OR tx_id = $6)";
        let c = self.client().await?;
        let p: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [&q.wallet_id, &q.event_type, &q.severity, &q.from, &q.to, &q.tx_id];
        let total = if q.include_total { Some(c.row(&format!("SELECT COUNT(*) FROM audit_log WHERE {filter}"), &p).await?.try_get(0)?) } else { None };
        let mut p2 = p.to_vec();
        p2.push(&q.cursor);
        p2.push(&q.limit);
        let rows =
            c.rows(&format!("SELECT {AUDIT_COLS} FROM audit_log WHERE {filter} AND ($7::bigint IS NULL OR id < $7) ORDER BY id DESC LIMIT $8"), &p2).await?;
        Ok((rows.iter().map(audit_from_row).collect::<Result<Vec<_>>>()?, total))
    }

    async fn audit_after(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = self.client().await?.rows(&format!("SELECT {AUDIT_COLS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"), &[&after, &limit]).await?;
        rows.iter().map(audit_from_row).collect()
    }
}
