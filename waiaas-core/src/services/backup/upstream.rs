//! Recognizing which schema a restored database has, and translating an upstream one into ours.

use super::format::{corrupted, invalid_format};
use super::restore::{write_private, UpstreamImport};
use crate::error::{Error, Result};
use crate::network::{Chain, Environment, Network};
use rusqlite::{params, Connection, OpenFlags};
use std::fs;
use std::path::Path;

pub(super) enum Flavor {
    /// Our schema at this version.
    Ours(i64),
    /// Upstream's schema (wallets without a `network` column).
    Upstream,
}

fn columns(c: &Connection, schema: &str, table: &str) -> Result<Vec<String>> {
    let mut st = c.prepare(&format!("PRAGMA {schema}.table_info({table})"))?;
    let cols = st.query_map([], |r| r.get::<_, String>(1))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols)
}

/// Integrity check, then which schema this is.
pub(super) fn db_flavor(db: &Path) -> Result<Flavor> {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| corrupted(format!("the backup's database is not a readable SQLite database: {e}")))?;
    if check != "ok" {
        return Err(corrupted(format!("the backup's database fails its integrity check: {check}")));
    }
    let wallet_cols = columns(&c, "main", "wallets")?;
    if wallet_cols.is_empty() {
        return Err(invalid_format("the backup's database has no wallets table: not a WAIaaS database".into()));
    }
    if wallet_cols.iter().any(|c| c == "network") {
        let v: i64 = c.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?;
        Ok(Flavor::Ours(v))
    } else {
        Ok(Flavor::Upstream)
    }
}

/// Select `col` from an upstream table, or `default` (SQL) when that upstream version lacks it.
struct Cols(Vec<String>);

impl Cols {
    fn or(&self, col: &str, default: &str) -> String {
        if self.0.iter().any(|c| c == col) {
            col.to_string()
        } else {
            default.to_string()
        }
    }
}

/// The network a key file was created on, when it fits the wallet; else the default.
fn wallet_network(keystore_dir: &Path, id: &str, chain: Chain, env: Environment) -> String {
    let from_file = fs::read(keystore_dir.join(format!("{id}.json")))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("network").and_then(|n| n.as_str()).map(str::to_string))
        .and_then(|n| Network::parse(&n).ok())
        .filter(|n| n.check_belongs(chain, env).is_ok());
    from_file.unwrap_or_else(|| Network::default_for(chain, env)).id().to_string()
}

/// Build our database at `ours` from an upstream one at `up`.
pub(super) fn import_upstream(up: &Path, ours: &Path, keystore_dir: &Path) -> Result<UpstreamImport> {
    // An empty 0600 file first: SQLite keeps its mode and gives it to the -wal/-shm files.
    write_private(ours, b"")?;
    drop(crate::store::sqlite::SqliteStore::open(ours)?);
    let mut c = Connection::open(ours)?;
    c.execute_batch("PRAGMA foreign_keys=ON;")?;
    c.execute("ATTACH DATABASE ?1 AS up", [up.to_str().ok_or_else(|| Error::internal("path is not UTF-8"))?])?;
    let mut r = UpstreamImport::default();
    let has = |c: &Connection, t: &str| -> Result<bool> { Ok(!columns(c, "up", t)?.is_empty()) };
    let count = |c: &Connection, sql: &str| -> Result<u64> { Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64) };
    let tx = c.transaction()?;

    // Wallets.
    let wc = Cols(columns(&tx, "up", "wallets")?);
    let sql = format!(
        "SELECT id, name, chain, environment, public_key, status, {}, {}, created_at, {}, {}, {}, {}, {} FROM up.wallets ORDER BY created_at, id",
        wc.or("owner_address", "NULL"),
        wc.or("owner_verified", "0"),
        wc.or("updated_at", "created_at"),
        wc.or("suspended_at", "NULL"),
        wc.or("suspension_reason", "NULL"),
        wc.or("monitor_incoming", "0"),
        wc.or("account_type", "'eoa'"),
    );
    type UpWallet = (String, String, String, String, String, String, Option<String>, i64, i64, i64, Option<i64>, Option<String>, i64, String);
    let rows: Vec<UpWallet> = {
        let mut st = tx.prepare(&sql)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get::<_, Option<String>>(13)?.unwrap_or_else(|| "eoa".into()),
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    };
    for (id, name, chain, env, public_key, status, owner, owner_verified, created, updated, suspended_at, reason, monitor, account) in rows {
        let (Ok(ch), Ok(en)) = (chain.parse::<Chain>(), env.parse::<Environment>()) else {
            r.skipped.push(format!("wallet {id} ({name}): chain '{chain}' is not supported here"));
            continue;
        };
        if account != "eoa" {
            r.skipped.push(format!("wallet {id} ({name}): {account} accounts are not supported here"));
            continue;
        }
        let status = match status.as_str() {
            "ACTIVE" | "SUSPENDED" | "TERMINATED" => status,
            "TERMINATING" => "TERMINATED".into(),
            other => {
                r.skipped.push(format!("wallet {id} ({name}): left in state {other} by upstream"));
                continue;
            }
        };
        let network = wallet_network(keystore_dir, &id, ch, en);
        tx.execute(
            "INSERT INTO wallets (id, name, chain, environment, network, public_key, status, owner_address, owner_verified, monitor_incoming, created_at, updated_at, suspended_at, suspension_reason)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
            params![id, name, ch.as_str(), en.as_str(), network, public_key, status, owner, owner_verified != 0, monitor != 0, created, updated, suspended_at, reason],
        )?;
        r.wallets += 1;
    }

    // Sessions linked to an imported wallet, and their links (first linked = default).
    if has(&tx, "sessions")? && has(&tx, "session_wallets")? {
        let sc = Cols(columns(&tx, "up", "sessions")?);
        let source = sc.or("source", "'api'");
        r.sessions = tx.execute(
            &format!(
                "INSERT INTO sessions (id, token_hash, expires_at, constraints, revoked_at, renewal_count, max_renewals, last_renewed_at, absolute_expires_at, created_at, source, token_issued_count)
                 SELECT id, token_hash, expires_at, {}, {}, {}, {}, {}, {}, created_at, CASE WHEN {source} IN ('api','mcp') THEN {source} ELSE 'api' END, {}
                 FROM up.sessions WHERE id IN (SELECT session_id FROM up.session_wallets WHERE wallet_id IN (SELECT id FROM main.wallets))",
                sc.or("constraints", "NULL"),
                sc.or("revoked_at", "NULL"),
                sc.or("renewal_count", "0"),
                sc.or("max_renewals", "0"),
                sc.or("last_renewed_at", "NULL"),
                sc.or("absolute_expires_at", "0"),
                sc.or("token_issued_count", "1"),
            ),
            [],
        )? as u64;
        tx.execute(
            "INSERT INTO session_wallets (session_id, wallet_id, position, created_at)
             SELECT session_id, wallet_id, ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY created_at, rowid) - 1, created_at
             FROM up.session_wallets
             WHERE wallet_id IN (SELECT id FROM main.wallets) AND session_id IN (SELECT id FROM main.sessions)",
            [],
        )?;
        let all = count(&tx, "SELECT COUNT(*) FROM up.sessions")?;
        if all > r.sessions {
            r.skipped.push(format!("{} session(s) of wallets not imported", all - r.sessions));
        }
    }

    // Policies (global or of an imported wallet, not of a Ripple network).
    if has(&tx, "policies")? {
        let pc = Cols(columns(&tx, "up", "policies")?);
        let network = pc.or("network", "NULL");
        r.policies = tx.execute(
            &format!(
                "INSERT INTO policies (id, wallet_id, type, rules, priority, enabled, network, created_at, updated_at)
                 SELECT id, wallet_id, type, rules, {}, {}, {network}, created_at, {} FROM up.policies
                 WHERE (wallet_id IS NULL OR wallet_id IN (SELECT id FROM main.wallets)) AND ({network} IS NULL OR {network} NOT LIKE 'xrpl-%')",
                pc.or("priority", "0"),
                pc.or("enabled", "1"),
                pc.or("updated_at", "created_at"),
            ),
            [],
        )? as u64;
        let all = count(&tx, "SELECT COUNT(*) FROM up.policies")?;
        if all > r.policies {
            r.skipped.push(format!("{} policy(ies) of wallets or networks not imported", all - r.policies));
        }
    }

    // Custom tokens (the built-in ones are ours already).
    if has(&tx, "token_registry")? {
        let tc = Cols(columns(&tx, "up", "token_registry")?);
        r.tokens = tx.execute(
            &format!(
                "INSERT OR IGNORE INTO token_registry (id, network, address, symbol, name, decimals, created_at)
                 SELECT id, network, address, symbol, name, decimals, created_at FROM up.token_registry
                 WHERE {} = 'custom' AND network NOT LIKE 'xrpl-%'",
                tc.or("source", "'custom'")
            ),
            [],
        )? as u64;
    }

    // The audit log, ids kept.
    if has(&tx, "audit_log")? {
        let ac = Cols(columns(&tx, "up", "audit_log")?);
        r.audit_entries = tx.execute(
            &format!(
                "INSERT INTO audit_log (id, timestamp, event_type, actor, wallet_id, session_id, tx_id, details, severity, ip_address)
                 SELECT id, timestamp, event_type, actor, wallet_id, session_id, {}, details,
                        CASE WHEN severity IN ('info','warning','critical') THEN severity ELSE 'info' END, {}
                 FROM up.audit_log ORDER BY id",
                ac.or("tx_id", "NULL"),
                ac.or("ip_address", "NULL"),
            ),
            [],
        )? as u64;
    }

    // Master password hash, JWT secrets (same JSON shape), kill switch.
    if has(&tx, "key_value_store")? {
        let kc = Cols(columns(&tx, "up", "key_value_store")?);
        tx.execute(
            &format!(
                "INSERT OR REPLACE INTO key_value_store (key, value, updated_at)
                 SELECT key, value, {} FROM up.key_value_store
                 WHERE key IN ('master_password_hash','jwt_secret_current','jwt_secret_previous','kill_switch_state','kill_switch_activated_at','kill_switch_activated_by')",
                kc.or("updated_at", "0")
            ),
            [],
        )?;
    }

    // What has no counterpart here.
    for (table, what) in [
        ("transactions", "transaction(s) (history) not imported"),
        ("webhooks", "webhook(s) not imported (their secrets are encrypted with upstream's settings key): create them again"),
        ("settings", "Admin Settings row(s) not imported (config.toml is restored as is)"),
        ("pending_approvals", "pending approval(s) not imported"),
        ("incoming_transactions", "incoming transaction record(s) not imported"),
    ] {
        if has(&tx, table)? {
            let n = count(&tx, &format!("SELECT COUNT(*) FROM up.{table}"))?;
            if n > 0 {
                r.skipped.push(format!("{n} {what}"));
            }
        }
    }
    tx.commit()?;
    c.execute_batch("DETACH DATABASE up; PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(r)
}
