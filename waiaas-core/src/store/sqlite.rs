//! SQLite store: WAL mode, one writer connection (every write is a `BEGIN IMMEDIATE`
//! transaction) and a small pool of reader connections. Blocking calls run on tokio's
//! blocking pool.

use super::*;
use crate::error::Error;
use crate::policy::{PolicyRecord, PolicyType};
use crate::tx::{TxPatch, TxRecord, TxStatus};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Versioned migrations: `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "wallets, sessions, key/value store",
        r#"
        CREATE TABLE key_value_store (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
        CREATE TABLE wallets (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            chain TEXT NOT NULL CHECK (chain IN ('solana','ethereum')),
            environment TEXT NOT NULL CHECK (environment IN ('testnet','mainnet')),
            network TEXT NOT NULL,
            public_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('ACTIVE','SUSPENDED','TERMINATED')),
            owner_address TEXT,
            owner_verified INTEGER NOT NULL DEFAULT 0,
            monitor_incoming INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            suspended_at INTEGER,
            suspension_reason TEXT
        );
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            constraints TEXT,
            revoked_at INTEGER,
            renewal_count INTEGER NOT NULL DEFAULT 0,
            max_renewals INTEGER NOT NULL DEFAULT 0,
            last_renewed_at INTEGER,
            absolute_expires_at INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api','mcp')),
            token_issued_count INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE session_wallets (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            wallet_id TEXT NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (session_id, wallet_id)
        );
        CREATE INDEX idx_session_wallets_wallet ON session_wallets(wallet_id);
        "#,
    ),
    (
        "audit log",
        r#"
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            timestamp INTEGER NOT NULL,
            event_type TEXT NOT NULL,
            actor TEXT NOT NULL,
            wallet_id TEXT,
            session_id TEXT,
            tx_id TEXT,
            details TEXT,
            severity TEXT NOT NULL DEFAULT 'info' CHECK (severity IN ('info','warning','critical')),
            ip_address TEXT
        );
        CREATE INDEX idx_audit_log_timestamp ON audit_log(timestamp);
        CREATE INDEX idx_audit_log_wallet ON audit_log(wallet_id);
        "#,
    ),
    (
        "transactions, nonces, token registry",
        r#"
        CREATE TABLE transactions (
            id TEXT PRIMARY KEY,
            wallet_id TEXT NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
            session_id TEXT,
            chain TEXT NOT NULL,
            network TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('PENDING','QUEUED','EXECUTING','SUBMITTED','CONFIRMED','FAILED','CANCELLED','EXPIRED','PARTIAL_FAILURE','SIGNED','GAS_WAITING')),
            tier TEXT CHECK (tier IS NULL OR tier IN ('INSTANT','NOTIFY','DELAY','APPROVAL')),
            amount TEXT,
            to_address TEXT,
            token_address TEXT,
            request TEXT NOT NULL,
            original_request TEXT,
            amount_usd REAL,
            reserved_usd REAL,
            nonce INTEGER,
            unsigned_tx BLOB,
            signed_tx BLOB,
            tx_hash TEXT UNIQUE,
            error TEXT,
            error_code TEXT,
            idempotency_key TEXT,
            metadata TEXT,
            queued_at INTEGER,
            executed_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_transactions_wallet ON transactions(wallet_id, id);
        CREATE INDEX idx_transactions_status ON transactions(status);
        CREATE UNIQUE INDEX idx_transactions_idempotency ON transactions(wallet_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE TABLE nonces (
            wallet_id TEXT NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
            network TEXT NOT NULL,
            next_nonce INTEGER NOT NULL,
            PRIMARY KEY (wallet_id, network)
        );
        CREATE TABLE token_registry (
            id TEXT PRIMARY KEY,
            network TEXT NOT NULL,
            address TEXT NOT NULL,
            symbol TEXT NOT NULL,
            name TEXT NOT NULL,
            decimals INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (network, address)
        );
        "#,
    ),
    (
        "policies",
        r#"
        CREATE TABLE policies (
            id TEXT PRIMARY KEY,
            wallet_id TEXT REFERENCES wallets(id) ON DELETE CASCADE,
            type TEXT NOT NULL,
            rules TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            enabled INTEGER NOT NULL DEFAULT 1,
            network TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_policies_wallet ON policies(wallet_id);
        ALTER TABLE transactions ADD COLUMN decision TEXT;
        "#,
    ),
    (
        "owner nonces, webhooks, audit indexes",
        r#"
        CREATE TABLE owner_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
        CREATE INDEX idx_owner_nonces_expiry ON owner_nonces(expires_at);
        CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT NOT NULL,
            description TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE webhook_logs (
            id TEXT PRIMARY KEY,
            webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            event_type TEXT NOT NULL,
            audit_id INTEGER,
            status TEXT NOT NULL CHECK (status IN ('success','failed')),
            http_status INTEGER,
            attempt INTEGER NOT NULL,
            error TEXT,
            request_duration INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX idx_webhook_logs_webhook ON webhook_logs(webhook_id, created_at);
        CREATE INDEX idx_audit_log_tx ON audit_log(tx_id);
        CREATE INDEX idx_audit_log_event ON audit_log(event_type, id);
        "#,
    ),
];

pub const LATEST_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
         PRAGMA busy_timeout=5000; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;",
    )?;
    Ok(conn)
}

/// Bring a database to `target` (normally [`LATEST_SCHEMA_VERSION`]); each step is one transaction.
pub fn migrate(conn: &mut Connection, target: i64) -> Result<i64> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL);")?;
    let current: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?;
    if current > LATEST_SCHEMA_VERSION {
        return Err(Error::new(
            crate::error::ErrorCode::SCHEMA_INCOMPATIBLE,
            format!("database schema version {current} is newer than this build ({LATEST_SCHEMA_VERSION})"),
        ));
    }
    for v in current..target.min(LATEST_SCHEMA_VERSION) {
        let (desc, sql) = MIGRATIONS[v as usize];
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.execute("INSERT INTO schema_version (version, applied_at, description) VALUES (?1, ?2, ?3)", params![v + 1, crate::now(), desc])?;
        tx.commit()?;
    }
    Ok(conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?)
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    path: PathBuf,
}

impl SqliteStore {
    /// Open (creating if needed) and migrate to the latest schema.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = open_conn(path)?;
        migrate(&mut writer, LATEST_SCHEMA_VERSION)?;
        let readers = (0..4).map(|_| open_conn(path).map(Mutex::new)).collect::<Result<Vec<_>>>()?;
        Ok(SqliteStore { inner: Arc::new(Inner { writer: Mutex::new(writer), readers, next: AtomicUsize::new(0) }), path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let n = inner.readers.len();
            let start = inner.next.fetch_add(1, Ordering::Relaxed);
            for i in 0..n {
                if let Ok(c) = inner.readers[(start + i) % n].try_lock() {
                    return f(&c);
                }
            }
            let c = inner.readers[start % n].lock().unwrap_or_else(|e| e.into_inner());
            f(&c)
        })
        .await
        .map_err(|e| Error::internal(format!("store task: {e}")))?
    }

    /// Run `f` in one `BEGIN IMMEDIATE` transaction; it commits only if `f` returns Ok.
    async fn write<T: Send + 'static>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // A panic inside a closure rolls its transaction back on unwind; the connection stays usable.
            let mut c = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
        .map_err(|e| Error::internal(format!("store task: {e}")))?
    }
}

const WALLET_COLS: &str = "id, name, chain, environment, network, public_key, status, owner_address, owner_verified, monitor_incoming, created_at, updated_at, suspended_at, suspension_reason";

fn wallet_from_row(r: &Row) -> rusqlite::Result<WalletRecord> {
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

const SESSION_COLS: &str = "id, token_hash, expires_at, constraints, revoked_at, renewal_count, max_renewals, last_renewed_at, absolute_expires_at, created_at, source, token_issued_count";

fn session_from_row(r: &Row) -> rusqlite::Result<SessionRecord> {
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

fn session_wallet_ids(c: &Connection, session_id: &str) -> Result<Vec<String>> {
    let mut st = c.prepare_cached("SELECT wallet_id FROM session_wallets WHERE session_id = ?1 ORDER BY position")?;
    let ids = st.query_map([session_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}

fn load_sessions(c: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<SessionRecord>> {
    let mut st = c.prepare_cached(sql)?;
    let mut out = st.query_map(p, session_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    for s in &mut out {
        s.wallet_ids = session_wallet_ids(c, &s.id)?;
    }
    Ok(out)
}

const TX_COLS: &str = "id, wallet_id, session_id, chain, network, type, status, tier, amount, to_address, token_address, request, original_request, amount_usd, reserved_usd, nonce, unsigned_tx, signed_tx, tx_hash, error, error_code, idempotency_key, metadata, queued_at, executed_at, created_at, updated_at, decision";

fn tx_from_row(r: &Row) -> rusqlite::Result<TxRecord> {
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
        tx_type: crate::tx::TxType::parse(&tx_type).ok_or_else(|| unknown(5, "type", &tx_type))?,
        status: crate::tx::TxStatus::parse(&status).ok_or_else(|| unknown(6, "status", &status))?,
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

const POLICY_COLS: &str = "id, wallet_id, type, rules, priority, enabled, network, created_at, updated_at";

fn policy_from_row(r: &Row) -> rusqlite::Result<PolicyRecord> {
    let bad = |what: &str| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, what.to_string().into());
    Ok(PolicyRecord {
        id: r.get(0)?,
        wallet_id: r.get(1)?,
        policy_type: PolicyType::parse(&r.get::<_, String>(2)?).ok_or_else(|| bad("policy type"))?,
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

/// Usage windows of a wallet, excluding transaction `exclude` (the one being decided).
/// Everything that passed the gate and has not ended without moving funds counts.
fn usage_in(c: &Connection, wallet_id: &str, exclude: &str, network: &str, token: Option<&str>, windows: &[u64], now: i64) -> Result<crate::policy::Usage> {
    let live = "wallet_id = ?1 AND id != ?2 AND tier IS NOT NULL AND status NOT IN ('FAILED','CANCELLED','EXPIRED')";
    let spent = |since: i64| -> rusqlite::Result<f64> {
        c.query_row(
            &format!("SELECT COALESCE(SUM(amount_usd), 0) FROM transactions WHERE {live} AND created_at >= ?3"),
            params![wallet_id, exclude, since],
            |r| r.get(0),
        )
    };
    let mut requests = vec![];
    for w in windows {
        let n: i64 =
            c.query_row(&format!("SELECT COUNT(*) FROM transactions WHERE {live} AND created_at > ?3"), params![wallet_id, exclude, now - *w as i64], |r| {
                r.get(0)
            })?;
        requests.push((*w, n as u64));
    }
    let mut reserved_raw: u128 = 0;
    let mut st = c.prepare_cached(
        "SELECT amount FROM transactions WHERE wallet_id = ?1 AND id != ?2 AND tier IS NOT NULL AND network = ?3
         AND status IN ('PENDING','QUEUED','EXECUTING','GAS_WAITING') AND token_address IS ?4",
    )?;
    for a in st.query_map(params![wallet_id, exclude, network, token], |r| r.get::<_, Option<String>>(0))? {
        reserved_raw = reserved_raw.saturating_add(a?.and_then(|v| v.parse::<u128>().ok()).unwrap_or(0));
    }
    Ok(crate::policy::Usage {
        spent_usd_day: spent(now - 86_400)?,
        spent_usd_month: spent(now - 2_592_000)?,
        reserved_raw,
        requests_in_window: requests,
        ..Default::default()
    })
}

/// Apply a patch (and the nonce commit) to a row inside a transaction.
fn apply_patch(tx: &rusqlite::Transaction, id: &str, p: &TxPatch, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE transactions SET
            tier = COALESCE(?2, tier), nonce = COALESCE(?3, nonce), unsigned_tx = COALESCE(?4, unsigned_tx),
            signed_tx = COALESCE(?5, signed_tx), tx_hash = COALESCE(?6, tx_hash), error = COALESCE(?7, error),
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
            p.decision
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

#[async_trait]
impl Store for SqliteStore {
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
        self.write(move |tx| {
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
        self.write(move |tx| {
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

    async fn insert_session(&self, s: &SessionRecord, max_per_wallet: i64, now: i64) -> Result<SessionInsert> {
        let s = s.clone();
        self.write(move |tx| {
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
        let id = id.to_string();
        self.read(move |c| {
            let s = c.prepare_cached(&format!("SELECT {SESSION_COLS} FROM sessions WHERE id = ?1"))?.query_row([&id], session_from_row).optional()?;
            match s {
                None => Ok(None),
                Some(mut s) => {
                    s.wallet_ids = session_wallet_ids(c, &id)?;
                    Ok(Some(s))
                }
            }
        })
        .await
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
        self.write(move |tx| {
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
        self.write(move |tx| {
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
        self.write(move |tx| {
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
        self.write(move |tx| {
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
        self.write(move |tx| Ok(tx.execute("DELETE FROM sessions WHERE revoked_at IS NULL AND expires_at > 0 AND expires_at < ?1", [now])?)).await
    }

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

    async fn insert_policy(&self, p: &PolicyRecord) -> Result<()> {
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

    async fn get_policy(&self, id: &str) -> Result<Option<PolicyRecord>> {
        let id = id.to_string();
        self.read(move |c| Ok(c.prepare_cached(&format!("SELECT {POLICY_COLS} FROM policies WHERE id = ?1"))?.query_row([id], policy_from_row).optional()?))
            .await
    }

    async fn list_policies(&self, wallet_id: Option<&str>) -> Result<Vec<PolicyRecord>> {
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

    async fn update_policy(&self, p: &PolicyRecord) -> Result<bool> {
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

    async fn usage(&self, wallet_id: &str, network: &str, token: Option<&str>, windows: &[u64], now: i64) -> Result<crate::policy::Usage> {
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
            let needs = crate::policy::usage_needs(&policies, &row.wallet_id, &row.network);
            let usage = usage_in(tx, &row.wallet_id, &tx_id, &row.network, row.token_address.as_deref(), &needs.rate_windows, now)?;
            let (to, patch) = decide(&row, &policies, &usage);
            tx.execute("UPDATE transactions SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'PENDING'", params![tx_id, to.as_str(), now])?;
            apply_patch(tx, &tx_id, &patch, now)?;
            audit_tx(tx, &tx_id, Some("PENDING"), to, &patch, now)?;
            Ok(Some(to))
        })
        .await
    }

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

    async fn revoke_all_sessions(&self, now: i64) -> Result<usize> {
        self.write(move |tx| Ok(tx.execute("UPDATE sessions SET revoked_at = ?1 WHERE revoked_at IS NULL", [now])?)).await
    }

    async fn count_txs_since(&self, wallet_id: &str, since: i64) -> Result<i64> {
        let w = wallet_id.to_string();
        self.read(move |c| Ok(c.query_row("SELECT COUNT(*) FROM transactions WHERE wallet_id = ?1 AND created_at >= ?2", params![w, since], |r| r.get(0))?))
            .await
    }

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

const AUDIT_COLS: &str = "id, timestamp, event_type, actor, wallet_id, session_id, tx_id, details, severity, ip_address";

fn audit_from_row(r: &Row) -> rusqlite::Result<AuditEntry> {
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

fn insert_audit(tx: &rusqlite::Transaction, e: &AuditEntry) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit_log (timestamp, event_type, actor, wallet_id, session_id, tx_id, details, severity, ip_address)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    )?
    .execute(params![e.timestamp, e.event_type, e.actor, e.wallet_id, e.session_id, e.tx_id, e.details, e.severity, e.ip_address])?;
    Ok(())
}

/// The audit row of a transaction's status change, written in the same store transaction.
fn audit_tx(tx: &rusqlite::Transaction, id: &str, from: Option<&str>, to: TxStatus, patch: &TxPatch, now: i64) -> Result<()> {
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

#[cfg(test)]
mod tests;
