//! The store sub-traits for SqliteStore: every query of the store. Each sub-trait is one impl
//! block, so the queries stay together here; the row decoders and helpers they use live in
//! the sibling modules.

use super::audit::*;
use super::rows::*;
use super::transactions::*;
use super::*;

/// One process on its file (the data dir lock): alone, every default holds.
impl Replicas for SqliteStore {}

#[async_trait]
impl KvStore for SqliteStore {
    fn latest_schema_version(&self) -> i64 {
        LATEST_SCHEMA_VERSION
    }

    async fn schema_version(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("SELECT COALESCE(MAX(version),0) FROM schema_version", [], |r| r.get(0))?)).await
    }

    async fn kv_get(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_string();
        self.read(move |c| Ok(c.prepare_cached("SELECT value FROM key_value_store WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?)).await
    }

    async fn kv_set(&self, key: &str, value: &str, now: i64) -> Result<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO key_value_store (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![key, value, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn kv_cas(&self, key: &str, expected: Option<&str>, new: &str, now: i64) -> Result<bool> {
        let (key, expected, new) = (key.to_string(), expected.map(str::to_string), new.to_string());
        self.write(move |tx| {
            let n = match expected {
                None => {
                    tx.execute("INSERT INTO key_value_store (key, value, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT(key) DO NOTHING", params![key, new, now])?
                }
                Some(exp) => tx.execute("UPDATE key_value_store SET value = ?2, updated_at = ?3 WHERE key = ?1 AND value = ?4", params![key, new, now, exp])?,
            };
            Ok(n == 1)
        })
        .await
    }
}

#[async_trait]
impl WalletStore for SqliteStore {
    async fn insert_wallet(&self, w: &WalletRecord) -> Result<()> {
        let w = w.clone();
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO wallets ({WALLET_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"),
                params![
                    w.id,
                    w.name,
                    w.chain.as_str(),
                    w.environment.as_str(),
                    w.network,
                    w.public_key,
                    w.status.as_str(),
                    w.owner_address,
                    w.owner_verified,
                    w.monitor_incoming,
                    w.created_at,
                    w.updated_at,
                    w.suspended_at,
                    w.suspension_reason
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_wallet(&self, id: &str) -> Result<Option<WalletRecord>> {
        let id = id.to_string();
        self.read(move |c| Ok(c.prepare_cached(&format!("SELECT {WALLET_COLS} FROM wallets WHERE id = ?1"))?.query_row([id], wallet_from_row).optional()?))
            .await
    }

    async fn list_wallets(&self, ids: Option<&[String]>) -> Result<Vec<WalletRecord>> {
        let ids = ids.map(|i| i.to_vec());
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!("SELECT {WALLET_COLS} FROM wallets ORDER BY id DESC"))?;
            let all = st.query_map([], wallet_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(match ids {
                None => all,
                Some(ids) => all.into_iter().filter(|w| ids.contains(&w.id)).collect(),
            })
        })
        .await
    }

    async fn rename_wallet(&self, id: &str, name: &str, now: i64) -> Result<bool> {
        let (id, name) = (id.to_string(), name.to_string());
        self.write(move |tx| Ok(tx.execute("UPDATE wallets SET name = ?2, updated_at = ?3 WHERE id = ?1", params![id, name, now])? == 1)).await
    }

    async fn set_monitor_incoming(&self, id: &str, on: bool, now: i64) -> Result<bool> {
        let id = id.to_string();
        self.write(move |tx| Ok(tx.execute("UPDATE wallets SET monitor_incoming = ?2, updated_at = ?3 WHERE id = ?1", params![id, on, now])? == 1)).await
    }

    async fn transition_wallet(&self, id: &str, from: WalletStatus, to: WalletStatus, reason: Option<&str>, now: i64) -> Result<bool> {
        let (id, reason) = (id.to_string(), reason.map(str::to_string));
        self.write_sessions(move |tx| {
            let (suspended_at, reason) = match to {
                WalletStatus::Suspended => (Some(now), reason),
                _ => (None, None),
            };
            let n = tx.execute(
                "UPDATE wallets SET status = ?3, updated_at = ?4, suspended_at = ?5, suspension_reason = ?6 WHERE id = ?1 AND status = ?2",
                params![id, from.as_str(), to.as_str(), now, suspended_at, reason],
            )?;
            if n == 1 && to == WalletStatus::Terminated {
                // Sessions whose only wallet this is can do nothing any more.
                tx.execute(
                    "UPDATE sessions SET revoked_at = ?2 WHERE revoked_at IS NULL AND id IN (
                        SELECT session_id FROM session_wallets GROUP BY session_id
                        HAVING COUNT(*) = 1 AND MAX(wallet_id) = ?1)",
                    params![id, now],
                )?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn purge_wallet(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write_sessions(move |tx| {
            let status: Option<String> = tx.query_row("SELECT status FROM wallets WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
            if status.as_deref() != Some("TERMINATED") {
                return Ok(false);
            }
            tx.execute("DELETE FROM session_wallets WHERE wallet_id = ?1", [&id])?;
            tx.execute("DELETE FROM wallets WHERE id = ?1", [&id])?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &SessionRecord, max_per_wallet: i64, now: i64) -> Result<SessionInsert> {
        let s = s.clone();
        self.write_sessions(move |tx| {
            for wid in &s.wallet_ids {
                let live: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM sessions s JOIN session_wallets sw ON sw.session_id = s.id
                     WHERE sw.wallet_id = ?1 AND s.revoked_at IS NULL AND (s.expires_at = 0 OR s.expires_at > ?2)",
                    params![wid, now],
                    |r| r.get(0),
                )?;
                if live >= max_per_wallet {
                    return Ok(SessionInsert::LimitExceeded { wallet_id: wid.clone() });
                }
            }
            tx.execute(
                &format!("INSERT INTO sessions ({SESSION_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"),
                params![
                    s.id,
                    s.token_hash,
                    s.expires_at,
                    s.constraints,
                    s.revoked_at,
                    s.renewal_count,
                    s.max_renewals,
                    s.last_renewed_at,
                    s.absolute_expires_at,
                    s.created_at,
                    s.source,
                    s.token_issued_count
                ],
            )?;
            for (i, wid) in s.wallet_ids.iter().enumerate() {
                tx.execute(
                    "INSERT INTO session_wallets (session_id, wallet_id, position, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![s.id, wid, i as i64, now],
                )?;
            }
            Ok(SessionInsert::Inserted)
        })
        .await
    }

    async fn get_session(&self, id: &str) -> Result<Option<SessionRecord>> {
        if let Some(s) = self.inner.sessions.get(id) {
            return Ok(Some(s));
        }
        let generation = self.inner.sessions.generation.load(Ordering::SeqCst);
        let id = id.to_string();
        let found = self
            .read(move |c| {
                let s = c.prepare_cached(&format!("SELECT {SESSION_COLS} FROM sessions WHERE id = ?1"))?.query_row([&id], session_from_row).optional()?;
                match s {
                    None => Ok(None),
                    Some(mut s) => {
                        s.wallet_ids = session_wallet_ids(c, &id)?;
                        Ok(Some(s))
                    }
                }
            })
            .await?;
        if let Some(s) = &found {
            self.inner.sessions.keep(generation, s);
        }
        Ok(found)
    }

    async fn list_sessions(&self, wallet_id: Option<&str>) -> Result<Vec<SessionRecord>> {
        let wallet_id = wallet_id.map(str::to_string);
        self.read(move |c| match wallet_id {
            None => load_sessions(c, &format!("SELECT {SESSION_COLS} FROM sessions WHERE revoked_at IS NULL ORDER BY id DESC"), &[]),
            Some(w) => load_sessions(
                c,
                &format!(
                    "SELECT {SESSION_COLS} FROM sessions WHERE revoked_at IS NULL AND id IN
                     (SELECT session_id FROM session_wallets WHERE wallet_id = ?1) ORDER BY id DESC"
                ),
                &[&w],
            ),
        })
        .await
    }

    async fn revoke_session(&self, id: &str, now: i64) -> Result<Option<bool>> {
        let id = id.to_string();
        self.write_sessions(move |tx| {
            let n = tx.execute("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![id, now])?;
            if n == 1 {
                return Ok(Some(true));
            }
            let exists: Option<i64> = tx.query_row("SELECT 1 FROM sessions WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
            Ok(exists.map(|_| false))
        })
        .await
    }

    async fn swap_session_token(&self, id: &str, expected_hash: &str, new_hash: &str, expires_at: i64, renewed: bool, now: i64) -> Result<bool> {
        let (id, expected, new) = (id.to_string(), expected_hash.to_string(), new_hash.to_string());
        self.write_sessions(move |tx| {
            let sql = if renewed {
                "UPDATE sessions SET token_hash = ?3, expires_at = ?4, renewal_count = renewal_count + 1, last_renewed_at = ?5,
                 token_issued_count = token_issued_count + 1 WHERE id = ?1 AND token_hash = ?2 AND revoked_at IS NULL"
            } else {
                "UPDATE sessions SET token_hash = ?3, expires_at = ?4, token_issued_count = token_issued_count + 1
                 WHERE id = ?1 AND token_hash = ?2 AND revoked_at IS NULL AND ?5 = ?5"
            };
            Ok(tx.execute(sql, params![id, expected, new, expires_at, now])? == 1)
        })
        .await
    }

    async fn link_wallet(&self, session_id: &str, wallet_id: &str, now: i64) -> Result<bool> {
        let (sid, wid) = (session_id.to_string(), wallet_id.to_string());
        self.write_sessions(move |tx| {
            let pos: i64 = tx.query_row("SELECT COALESCE(MAX(position) + 1, 0) FROM session_wallets WHERE session_id = ?1", [&sid], |r| r.get(0))?;
            Ok(tx.execute(
                "INSERT INTO session_wallets (session_id, wallet_id, position, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![sid, wid, pos, now],
            )? == 1)
        })
        .await
    }

    async fn unlink_wallet(&self, session_id: &str, wallet_id: &str) -> Result<Unlink> {
        let (sid, wid) = (session_id.to_string(), wallet_id.to_string());
        self.write_sessions(move |tx| {
            let ids = session_wallet_ids(tx, &sid)?;
            if !ids.contains(&wid) {
                return Ok(Unlink::NotLinked);
            }
            if ids.len() == 1 {
                return Ok(Unlink::LastWallet);
            }
            tx.execute("DELETE FROM session_wallets WHERE session_id = ?1 AND wallet_id = ?2", params![sid, wid])?;
            Ok(Unlink::Removed)
        })
        .await
    }

    async fn delete_expired_sessions(&self, now: i64) -> Result<usize> {
        self.write_sessions(move |tx| Ok(tx.execute("DELETE FROM sessions WHERE revoked_at IS NULL AND expires_at > 0 AND expires_at < ?1", [now])?)).await
    }

    async fn revoke_all_sessions(&self, now: i64) -> Result<usize> {
        self.write_sessions(move |tx| Ok(tx.execute("UPDATE sessions SET revoked_at = ?1 WHERE revoked_at IS NULL", [now])?)).await
    }
}

#[async_trait]
impl TxStore for SqliteStore {
    async fn insert_tx(&self, t: &TxRecord) -> Result<Option<TxRecord>> {
        let t = t.clone();
        self.write(move |tx| {
            if let Some(key) = &t.idempotency_key {
                let existing = tx
                    .prepare_cached(&format!("SELECT {TX_COLS} FROM transactions WHERE wallet_id = ?1 AND idempotency_key = ?2"))?
                    .query_row(params![t.wallet_id, key], tx_from_row)
                    .optional()?;
                if existing.is_some() {
                    return Ok(existing);
                }
            }
            tx.execute(
                &format!("INSERT INTO transactions ({TX_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28)"),
                params![
                    t.id, t.wallet_id, t.session_id, t.chain, t.network, t.tx_type.as_str(), t.status.as_str(), t.tier, t.amount, t.to_address,
                    t.token_address, t.request, t.original_request, t.amount_usd, t.reserved_usd, t.nonce, t.unsigned_tx,
                    t.signed_tx, t.tx_hash, t.error, t.error_code, t.idempotency_key, t.metadata, t.queued_at, t.executed_at,
                    t.created_at, t.updated_at,
                    // Only the policy gate (decide_tx) writes a decision; never an insert.
                    Option::<String>::None
                ],
            )?;
            Ok(None)
        })
        .await
    }

    async fn get_tx(&self, id: &str) -> Result<Option<TxRecord>> {
        let id = id.to_string();
        self.read(move |c| Ok(c.prepare_cached(&format!("SELECT {TX_COLS} FROM transactions WHERE id = ?1"))?.query_row([id], tx_from_row).optional()?)).await
    }

    async fn list_txs(&self, wallet_ids: &[String], statuses: Option<&[TxStatus]>, before: Option<&str>, limit: i64) -> Result<Vec<TxRecord>> {
        let wallets = serde_json::to_string(wallet_ids).map_err(Error::internal_from)?;
        let statuses = statuses.map(|s| serde_json::to_string(&s.iter().map(|x| x.as_str()).collect::<Vec<_>>()).unwrap_or_default());
        let before = before.map(str::to_string);
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {TX_COLS} FROM transactions
                 WHERE wallet_id IN (SELECT value FROM json_each(?1))
                   AND (?2 IS NULL OR status IN (SELECT value FROM json_each(?2)))
                   AND (?3 IS NULL OR id < ?3)
                 ORDER BY id DESC LIMIT ?4"
            ))?;
            let rows = st.query_map(params![wallets, statuses, before, limit], tx_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn transition_tx(&self, id: &str, from: &[TxStatus], to: TxStatus, patch: &TxPatch, now: i64) -> Result<bool> {
        for f in from {
            if !f.can_go_to(to) {
                return Err(Error::new(
                    crate::error::ErrorCode::INVALID_STATE_TRANSITION,
                    format!("illegal transaction transition {} -> {}", f.as_str(), to.as_str()),
                ));
            }
        }
        let (id, patch) = (id.to_string(), patch.clone());
        let from = serde_json::to_string(&from.iter().map(|x| x.as_str()).collect::<Vec<_>>()).unwrap_or_default();
        self.write(move |tx| {
            let prev: Option<String> = tx.query_row("SELECT status FROM transactions WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
            let n = tx.execute(
                "UPDATE transactions SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status IN (SELECT value FROM json_each(?4))",
                params![id, to.as_str(), now, from],
            )?;
            if n == 1 {
                apply_patch(tx, &id, &patch, now)?;
                audit_tx(tx, &id, prev.as_deref(), to, &patch, now)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn patch_tx(&self, id: &str, status: TxStatus, patch: &TxPatch, now: i64) -> Result<bool> {
        let (id, patch) = (id.to_string(), patch.clone());
        self.write(move |tx| {
            let cur: Option<String> = tx.query_row("SELECT status FROM transactions WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
            if cur.as_deref() != Some(status.as_str()) {
                return Ok(false);
            }
            apply_patch(tx, &id, &patch, now)?;
            Ok(true)
        })
        .await
    }

    async fn patch_txs(&self, status: TxStatus, patches: &[(String, TxPatch)], now: i64) -> Result<Vec<String>> {
        let patches = patches.to_vec();
        self.write(move |tx| {
            let mut gone = vec![];
            {
                let mut st = tx.prepare_cached("SELECT status FROM transactions WHERE id = ?1")?;
                for (id, _) in &patches {
                    if st.query_row([id], |r| r.get::<_, String>(0)).optional()?.as_deref() != Some(status.as_str()) {
                        gone.push(id.clone());
                    }
                }
            }
            if gone.is_empty() {
                for (id, patch) in &patches {
                    apply_patch(tx, id, patch, now)?;
                }
            }
            Ok(gone)
        })
        .await
    }

    async fn txs_in_status(&self, statuses: &[TxStatus]) -> Result<Vec<TxRecord>> {
        let statuses = serde_json::to_string(&statuses.iter().map(|x| x.as_str()).collect::<Vec<_>>()).unwrap_or_default();
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!("SELECT {TX_COLS} FROM transactions WHERE status IN (SELECT value FROM json_each(?1)) ORDER BY id"))?;
            let rows = st.query_map([statuses], tx_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn next_nonce(&self, wallet_id: &str, network: &str) -> Result<Option<u64>> {
        let (w, n) = (wallet_id.to_string(), network.to_string());
        self.read(move |c| {
            let v: Option<i64> =
                c.prepare_cached("SELECT next_nonce FROM nonces WHERE wallet_id = ?1 AND network = ?2")?.query_row(params![w, n], |r| r.get(0)).optional()?;
            Ok(v.map(|v| v as u64))
        })
        .await
    }

    async fn count_txs_since(&self, wallet_id: &str, since: i64) -> Result<i64> {
        let w = wallet_id.to_string();
        self.read(move |c| Ok(c.query_row("SELECT COUNT(*) FROM transactions WHERE wallet_id = ?1 AND created_at >= ?2", params![w, since], |r| r.get(0))?))
            .await
    }

    async fn tx_counts_since(&self, since: i64) -> Result<Vec<(String, i64, f64)>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT status, COUNT(*), COALESCE(SUM(amount_usd), 0.0) FROM transactions WHERE created_at >= ?1 GROUP BY status ORDER BY status",
            )?;
            let rows = st.query_map(params![since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn list_tokens(&self, network: &str) -> Result<Vec<TokenRow>> {
        let network = network.to_string();
        self.read(move |c| {
            let mut st =
                c.prepare_cached("SELECT id, network, address, symbol, name, decimals, created_at FROM token_registry WHERE network = ?1 ORDER BY symbol")?;
            let rows = st
                .query_map([network], |r| {
                    Ok(TokenRow {
                        id: r.get(0)?,
                        network: r.get(1)?,
                        address: r.get(2)?,
                        symbol: r.get(3)?,
                        name: r.get(4)?,
                        decimals: r.get(5)?,
                        created_at: r.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn insert_token(&self, t: &TokenRow) -> Result<bool> {
        let t = t.clone();
        self.write(move |tx| {
            Ok(tx.execute(
                "INSERT INTO token_registry (id, network, address, symbol, name, decimals, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT DO NOTHING",
                params![t.id, t.network, t.address, t.symbol, t.name, t.decimals, t.created_at],
            )? == 1)
        })
        .await
    }

    async fn delete_token(&self, network: &str, address: &str) -> Result<bool> {
        let (n, a) = (network.to_string(), address.to_string());
        self.write(move |tx| Ok(tx.execute("DELETE FROM token_registry WHERE network = ?1 AND address = ?2", params![n, a])? == 1)).await
    }
}

#[async_trait]
impl PolicyStore for SqliteStore {
    async fn insert_policy(&self, p: &PolicyRow) -> Result<()> {
        let p = p.clone();
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO policies ({POLICY_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"),
                params![p.id, p.wallet_id, p.policy_type.as_str(), p.rules.to_string(), p.priority, p.enabled, p.network, p.created_at, p.updated_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_policy(&self, id: &str) -> Result<Option<PolicyRow>> {
        let id = id.to_string();
        self.read(move |c| Ok(c.prepare_cached(&format!("SELECT {POLICY_COLS} FROM policies WHERE id = ?1"))?.query_row([id], policy_from_row).optional()?))
            .await
    }

    async fn list_policies(&self, wallet_id: Option<&str>) -> Result<Vec<PolicyRow>> {
        let wallet_id = wallet_id.map(str::to_string);
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {POLICY_COLS} FROM policies WHERE ?1 IS NULL OR wallet_id = ?1 OR wallet_id IS NULL ORDER BY priority DESC, id"
            ))?;
            let rows = st.query_map([wallet_id], policy_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn update_policy(&self, p: &PolicyRow) -> Result<bool> {
        let p = p.clone();
        self.write(move |tx| {
            Ok(tx.execute(
                "UPDATE policies SET rules = ?2, priority = ?3, enabled = ?4, updated_at = ?5 WHERE id = ?1",
                params![p.id, p.rules.to_string(), p.priority, p.enabled, p.updated_at],
            )? == 1)
        })
        .await
    }

    async fn delete_policy(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |tx| Ok(tx.execute("DELETE FROM policies WHERE id = ?1", [id])? == 1)).await
    }

    async fn usage(&self, wallet_id: &str, network: &str, token: Option<&str>, windows: &[u64], now: i64) -> Result<UsageRow> {
        let (w, n, t, win) = (wallet_id.to_string(), network.to_string(), token.map(str::to_string), windows.to_vec());
        self.read(move |c| usage_in(c, &w, "", &n, t.as_deref(), &win, now)).await
    }

    async fn decide_tx(&self, tx_id: &str, now: i64, decide: DecideFn) -> Result<Option<TxStatus>> {
        let tx_id = tx_id.to_string();
        self.write(move |tx| {
            let Some(row) = tx.prepare_cached(&format!("SELECT {TX_COLS} FROM transactions WHERE id = ?1"))?.query_row([&tx_id], tx_from_row).optional()?
            else {
                return Ok(None);
            };
            if row.status() != TxStatus::Pending {
                return Ok(None);
            }
            let policies = tx
                .prepare_cached(&format!("SELECT {POLICY_COLS} FROM policies WHERE enabled = 1 AND (wallet_id IS NULL OR wallet_id = ?1)"))?
                .query_map([&row.wallet_id], policy_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut decide = decide;
            let windows = decide.windows(&row, &policies)?;
            let usage = usage_in(tx, &row.wallet_id, &tx_id, &row.network, row.token_address.as_deref(), &windows, now)?;
            let (to, patch) = decide.decide(&row, usage)?;
            tx.execute("UPDATE transactions SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'PENDING'", params![tx_id, to.as_str(), now])?;
            apply_patch(tx, &tx_id, &patch, now)?;
            audit_tx(tx, &tx_id, Some("PENDING"), to, &patch, now)?;
            Ok(Some(to))
        })
        .await
    }
}

#[async_trait]
impl OwnerStore for SqliteStore {
    async fn set_owner(&self, wallet_id: &str, address: Option<&str>, now: i64) -> Result<bool> {
        let (w, a) = (wallet_id.to_string(), address.map(str::to_string));
        self.write(move |tx| {
            Ok(tx.execute(
                "UPDATE wallets SET owner_address = ?2, owner_verified = 0, updated_at = ?3 WHERE id = ?1 AND owner_verified = 0",
                params![w, a, now],
            )? == 1)
        })
        .await
    }

    async fn mark_owner_verified(&self, wallet_id: &str, address: &str, now: i64) -> Result<bool> {
        let (w, a) = (wallet_id.to_string(), address.to_string());
        self.write(move |tx| {
            Ok(tx.execute(
                "UPDATE wallets SET owner_verified = 1, updated_at = ?3 WHERE id = ?1 AND owner_address = ?2 AND owner_verified = 0",
                params![w, a, now],
            )? == 1)
        })
        .await
    }

    async fn use_owner_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool> {
        let n = nonce.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM owner_nonces WHERE expires_at <= ?1", [now])?;
            Ok(tx.execute("INSERT OR IGNORE INTO owner_nonces (nonce, expires_at) VALUES (?1, ?2)", params![n, expires_at])? == 1)
        })
        .await
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        let e = e.clone();
        self.write(move |tx| insert_audit(tx, &e)).await
    }

    async fn query_audit(&self, q: &AuditQuery) -> Result<(Vec<AuditEntry>, Option<i64>)> {
        let q = q.clone();
        self.read(move |c| {
            let mut wh = vec!["1=1".to_string()];
            let mut p: Vec<rusqlite::types::Value> = vec![];
            let mut add = |cond: &str, v: rusqlite::types::Value| {
                p.push(v);
                wh.push(cond.replace('?', &format!("?{}", p.len())));
            };
            if let Some(v) = &q.wallet_id {
                add("wallet_id = ?", v.clone().into());
            }
            if let Some(v) = &q.event_type {
                add("event_type = ?", v.clone().into());
            }
            if let Some(v) = &q.severity {
                add("severity = ?", v.clone().into());
            }
            if let Some(v) = q.from {
                add("timestamp >= ?", v.into());
            }
            if let Some(v) = q.to {
                add("timestamp <= ?", v.into());
            }
            if let Some(v) = &q.tx_id {
                add("tx_id = ?", v.clone().into());
            }
            let filter = wh.join(" AND ");
            let total = if q.include_total {
                Some(c.query_row(&format!("SELECT COUNT(*) FROM audit_log WHERE {filter}"), rusqlite::params_from_iter(p.iter()), |r| r.get(0))?)
            } else {
                None
            };
            let mut wh2 = filter.clone();
            let mut p2 = p.clone();
            if let Some(cur) = q.cursor {
                p2.push(cur.into());
                wh2.push_str(&format!(" AND id < ?{}", p2.len()));
            }
            p2.push(q.limit.into());
            let sql = format!("SELECT {AUDIT_COLS} FROM audit_log WHERE {wh2} ORDER BY id DESC LIMIT ?{}", p2.len());
            let rows = c.prepare(&sql)?.query_map(rusqlite::params_from_iter(p2.iter()), audit_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((rows, total))
        })
        .await
    }

    async fn audit_after(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        self.read(move |c| {
            let rows = c
                .prepare_cached(&format!("SELECT {AUDIT_COLS} FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2"))?
                .query_map(params![after, limit], audit_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_webhook(&self, w: &WebhookRecord) -> Result<()> {
        let w = w.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO webhooks (id, url, secret, events, description, enabled, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                params![w.id, w.url, w.secret, serde_json::to_string(&w.events).unwrap_or_default(), w.description, w.enabled, w.created_at, w.updated_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>> {
        self.read(move |c| {
            let rows = c
                .prepare_cached("SELECT id, url, secret, events, description, enabled, created_at, updated_at FROM webhooks ORDER BY created_at, id")?
                .query_map([], |r| {
                    Ok(WebhookRecord {
                        id: r.get(0)?,
                        url: r.get(1)?,
                        secret: r.get(2)?,
                        events: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                        description: r.get(4)?,
                        enabled: r.get(5)?,
                        created_at: r.get(6)?,
                        updated_at: r.get(7)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |tx| Ok(tx.execute("DELETE FROM webhooks WHERE id = ?1", [id])? == 1)).await
    }

    async fn insert_webhook_log(&self, l: &WebhookLog) -> Result<()> {
        let l = l.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO webhook_logs (id, webhook_id, event_type, audit_id, status, http_status, attempt, error, request_duration, created_at)
                 SELECT ?1,?2,?3,?4,?5,?6,?7,?8,?9,?10 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?2)",
                params![l.id, l.webhook_id, l.event_type, l.audit_id, l.status, l.http_status, l.attempt, l.error, l.request_duration, l.created_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_webhook_logs(&self, webhook_id: &str, status: Option<&str>, event_type: Option<&str>, limit: i64) -> Result<Vec<WebhookLog>> {
        let (w, st, ev) = (webhook_id.to_string(), status.map(str::to_string), event_type.map(str::to_string));
        self.read(move |c| {
            let rows = c
                .prepare_cached(
                    "SELECT id, webhook_id, event_type, audit_id, status, http_status, attempt, error, request_duration, created_at FROM webhook_logs
                     WHERE webhook_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR event_type = ?3) ORDER BY created_at DESC, id DESC LIMIT ?4",
                )?
                .query_map(params![w, st, ev, limit], |r| {
                    Ok(WebhookLog {
                        id: r.get(0)?,
                        webhook_id: r.get(1)?,
                        event_type: r.get(2)?,
                        audit_id: r.get(3)?,
                        status: r.get(4)?,
                        http_status: r.get(5)?,
                        attempt: r.get(6)?,
                        error: r.get(7)?,
                        request_duration: r.get(8)?,
                        created_at: r.get(9)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}
