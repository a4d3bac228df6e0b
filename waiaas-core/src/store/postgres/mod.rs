//! PostgreSQL store (issue "PostgreSQL and several daemons on one database"): every store of
//! the SQLite backend on one database shared by any number of daemons (replicas). The schema
//! has SQLite's versions, migrated once under an advisory lock (`schema`); transactions, the
//! policy decision and the audit log are in `transactions`, the other stores in `rest`, how
//! replicas share the work (transaction holds, nonce locks, the lead) in `replicas`, the copy
//! from SQLite in `copy`. Tested against a real PostgreSQL with the same suite as SQLite
//! (`store::backend_tests`).
//!
//! Across replicas nothing is cached here: a session revoked through one daemon is refused by
//! the next read of any other (SQLite's store keeps a session cache, correct only because it is
//! the one process on its file). Writes that check before they write lock what they check
//! (`insert_session` locks its wallets' rows, so two replicas cannot both pass a session limit).
//!
//! Connections: `deadpool-postgres` over `tokio-postgres`. `sslmode=require` in the URL means
//! TLS (rustls with ring, like every other outbound connection), the server's certificate
//! verified for the URL's host against the system's roots, or only against
//! `database.postgres_ca_file` when set; a server without TLS is then refused, never
//! downgraded. Without `sslmode=require` the connection is plaintext (a local socket or a
//! private network).

use super::*;
use crate::error::{Error, ErrorCode};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Row};

mod copy;
mod incoming;
mod replicas;
mod rest;
mod schema;
mod transactions;
pub use copy::{copy_from_sqlite, CopyReport};
pub use schema::{LATEST_SCHEMA_VERSION, MIGRATIONS};

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::internal(format!("database error: {e}")).caused_by(e)
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Error::new(ErrorCode::INTERNAL_ERROR, format!("database unavailable: {e}")).caused_by(e)
    }
}

/// The PostgreSQL store (see the module documentation for what is built).
pub struct PgStore {
    pool: Pool,
    /// This replica's holds (see `replicas`).
    replica: replicas::Replica,
}

const WALLET_COLS: &str = "id, name, chain, environment, network, public_key, status, owner_address, owner_verified, monitor_incoming, created_at, updated_at, suspended_at, suspension_reason";
const SESSION_COLS: &str = "id, token_hash, expires_at, constraints, revoked_at, renewal_count, max_renewals, last_renewed_at, absolute_expires_at, created_at, source, token_issued_count";

/// Queries through the connection's statement cache (deadpool's `prepare_cached`): each
/// statement is parsed once per connection, so a query is one round trip instead of two.
#[async_trait]
pub(super) trait Cached: deadpool_postgres::GenericClient {
    async fn exec(&self, sql: &str, p: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<u64> {
        let st = self.prepare_cached(sql).await?;
        Ok(deadpool_postgres::GenericClient::execute(self, &st, p).await?)
    }
    async fn rows(&self, sql: &str, p: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<Vec<Row>> {
        let st = self.prepare_cached(sql).await?;
        Ok(deadpool_postgres::GenericClient::query(self, &st, p).await?)
    }
    async fn row(&self, sql: &str, p: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<Row> {
        let st = self.prepare_cached(sql).await?;
        Ok(deadpool_postgres::GenericClient::query_one(self, &st, p).await?)
    }
    async fn row_opt(&self, sql: &str, p: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<Option<Row>> {
        let st = self.prepare_cached(sql).await?;
        Ok(deadpool_postgres::GenericClient::query_opt(self, &st, p).await?)
    }
}

impl<T: deadpool_postgres::GenericClient> Cached for T {}

fn corrupt(what: &str, value: &str) -> Error {
    Error::internal(format!("stored {what} is invalid: {value}"))
}

fn wallet_from_row(r: &Row) -> Result<WalletRecord> {
    let (chain, environment, status): (String, String, String) = (r.try_get(2)?, r.try_get(3)?, r.try_get(6)?);
    Ok(WalletRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        chain: chain.parse().map_err(|_| corrupt("chain", &chain))?,
        environment: environment.parse().map_err(|_| corrupt("environment", &environment))?,
        network: r.try_get(4)?,
        public_key: r.try_get(5)?,
        status: WalletStatus::parse(&status).ok_or_else(|| corrupt("wallet status", &status))?,
        owner_address: r.try_get(7)?,
        owner_verified: r.try_get(8)?,
        monitor_incoming: r.try_get(9)?,
        created_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
        suspended_at: r.try_get(12)?,
        suspension_reason: r.try_get(13)?,
    })
}

fn session_from_row(r: &Row) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.try_get(0)?,
        token_hash: r.try_get(1)?,
        expires_at: r.try_get(2)?,
        constraints: r.try_get(3)?,
        revoked_at: r.try_get(4)?,
        renewal_count: r.try_get(5)?,
        max_renewals: r.try_get(6)?,
        last_renewed_at: r.try_get(7)?,
        absolute_expires_at: r.try_get(8)?,
        created_at: r.try_get(9)?,
        source: r.try_get(10)?,
        token_issued_count: r.try_get(11)?,
        wallet_ids: vec![],
    })
}

/// The rustls connector of `sslmode=require`: the system's roots, or only the certificates of
/// `ca_file` (PEM).
fn tls_connector(ca_file: Option<&std::path::Path>) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(crate::tls::client_config(ca_file, "database.postgres_ca_file")?))
}

/// The connection settings of a store.
#[derive(Debug, Clone, Default)]
pub struct PgOptions {
    pub max_connections: usize,
    /// PEM roots for `sslmode=require` instead of the system's.
    pub ca_file: Option<std::path::PathBuf>,
}

impl PgOptions {
    /// The `[database]` settings of a data dir (`postgres_ca_file` relative to it).
    pub fn from_config(db: &crate::config::DatabaseConfig, data_dir: &std::path::Path) -> PgOptions {
        PgOptions {
            max_connections: db.postgres_pool_size as usize,
            ca_file: Some(db.postgres_ca_file.as_str()).filter(|f| !f.is_empty()).map(|f| data_dir.join(f)),
        }
    }
}

fn parse_url(url: &str) -> Result<tokio_postgres::Config> {
    url.parse().map_err(|e| Error::validation("database.postgres_url", format!("not a PostgreSQL URL: {e}")))
}

fn requires_tls(cfg: &tokio_postgres::Config) -> bool {
    cfg.get_ssl_mode() == tokio_postgres::config::SslMode::Require
}

impl PgStore {
    /// Connect to `url` (`postgres://user[:password]@host[:port]/db`) with a pool of at most
    /// `max_connections`, and migrate the schema to the latest version.
    pub async fn connect(url: &str, max_connections: usize) -> Result<PgStore> {
        PgStore::connect_with(url, &PgOptions { max_connections, ca_file: None }).await
    }

    /// [`PgStore::connect`] with TLS roots (see the module documentation).
    pub async fn connect_with(url: &str, opts: &PgOptions) -> Result<PgStore> {
        let cfg = parse_url(url)?;
        let mc = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager =
            if requires_tls(&cfg) { Manager::from_config(cfg, tls_connector(opts.ca_file.as_deref())?, mc) } else { Manager::from_config(cfg, NoTls, mc) };
        let max_connections = opts.max_connections;
        let pool = Pool::builder(manager).max_size(max_connections.max(1)).build().map_err(Error::internal_from)?;
        let store = PgStore { pool, replica: Default::default() };
        store.migrate(LATEST_SCHEMA_VERSION).await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// Bring the schema to `target`, one transaction per step under an advisory lock (replicas
    /// starting together apply each step once). Returns the version reached.
    pub async fn migrate(&self, target: i64) -> Result<i64> {
        let mut c = self.client().await?;
        loop {
            let tx = c.transaction().await?;
            tx.exec("SELECT pg_advisory_xact_lock($1)", &[&schema::MIGRATION_LOCK]).await?;
            // Under the lock: `IF NOT EXISTS` alone races between two first starts. (Without
            // the server's notice that it exists, logged at every start otherwise.)
            tx.batch_execute("SET LOCAL client_min_messages = warning").await?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL, description TEXT NOT NULL)")
                .await?;
            let current: i64 = tx.row("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).await?.try_get(0)?;
            if current > LATEST_SCHEMA_VERSION {
                return Err(Error::new(
                    ErrorCode::SCHEMA_INCOMPATIBLE,
                    format!("database schema version {current} is newer than this build ({LATEST_SCHEMA_VERSION})"),
                ));
            }
            if current >= target.min(LATEST_SCHEMA_VERSION) {
                tx.commit().await?;
                return Ok(current);
            }
            let (desc, sql) = MIGRATIONS[current as usize];
            tx.batch_execute(sql).await?;
            tx.exec("INSERT INTO schema_version (version, applied_at, description) VALUES ($1, $2, $3)", &[&(current + 1), &crate::now(), &desc]).await?;
            tx.commit().await?;
        }
    }

    async fn session_wallet_ids(c: &impl deadpool_postgres::GenericClient, session_id: &str) -> Result<Vec<String>> {
        let rows = c.rows("SELECT wallet_id FROM session_wallets WHERE session_id = $1 ORDER BY position", &[&session_id]).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    async fn load_sessions(&self, sql: &str, p: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<Vec<SessionRecord>> {
        let c = self.client().await?;
        let mut out = c.rows(sql, p).await?.iter().map(session_from_row).collect::<Result<Vec<_>>>()?;
        for s in &mut out {
            s.wallet_ids = Self::session_wallet_ids(&c, &s.id).await?;
        }
        Ok(out)
    }
}

#[async_trait]
impl KvStore for PgStore {
    fn latest_schema_version(&self) -> i64 {
        LATEST_SCHEMA_VERSION
    }

    async fn schema_version(&self) -> Result<i64> {
        Ok(self.client().await?.row("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).await?.try_get(0)?)
    }

    async fn kv_get(&self, key: &str) -> Result<Option<String>> {
        let row = self.client().await?.row_opt("SELECT value FROM key_value_store WHERE key = $1", &[&key]).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn kv_set(&self, key: &str, value: &str, now: i64) -> Result<()> {
        self.client()
            .await?
            .exec(
                "INSERT INTO key_value_store (key, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                &[&key, &value, &now],
            )
            .await?;
        Ok(())
    }

    async fn kv_cas(&self, key: &str, expected: Option<&str>, new: &str, now: i64) -> Result<bool> {
        let c = self.client().await?;
        let n = match expected {
            None => {
                c.exec("INSERT INTO key_value_store (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING", &[&key, &new, &now]).await?
            }
            Some(exp) => c.exec("UPDATE key_value_store SET value = $2, updated_at = $3 WHERE key = $1 AND value = $4", &[&key, &new, &now, &exp]).await?,
        };
        Ok(n == 1)
    }
}

#[async_trait]
impl WalletStore for PgStore {
    async fn insert_wallet(&self, w: &WalletRecord) -> Result<()> {
        self.client()
            .await?
            .exec(
                &format!("INSERT INTO wallets ({WALLET_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"),
                &[
                    &w.id,
                    &w.name,
                    &w.chain.as_str(),
                    &w.environment.as_str(),
                    &w.network,
                    &w.public_key,
                    &w.status.as_str(),
                    &w.owner_address,
                    &w.owner_verified,
                    &w.monitor_incoming,
                    &w.created_at,
                    &w.updated_at,
                    &w.suspended_at,
                    &w.suspension_reason,
                ],
            )
            .await?;
        Ok(())
    }

    async fn get_wallet(&self, id: &str) -> Result<Option<WalletRecord>> {
        let row = self.client().await?.row_opt(&format!("SELECT {WALLET_COLS} FROM wallets WHERE id = $1"), &[&id]).await?;
        row.as_ref().map(wallet_from_row).transpose()
    }

    async fn list_wallets(&self, ids: Option<&[String]>) -> Result<Vec<WalletRecord>> {
        let c = self.client().await?;
        let rows = match ids {
            None => c.rows(&format!("SELECT {WALLET_COLS} FROM wallets ORDER BY id DESC"), &[]).await?,
            Some(ids) => c.rows(&format!("SELECT {WALLET_COLS} FROM wallets WHERE id = ANY($1) ORDER BY id DESC"), &[&ids]).await?,
        };
        rows.iter().map(wallet_from_row).collect()
    }

    async fn rename_wallet(&self, id: &str, name: &str, now: i64) -> Result<bool> {
        Ok(self.client().await?.exec("UPDATE wallets SET name = $2, updated_at = $3 WHERE id = $1", &[&id, &name, &now]).await? == 1)
    }

    async fn set_monitor_incoming(&self, id: &str, on: bool, now: i64) -> Result<bool> {
        Ok(self.client().await?.exec("UPDATE wallets SET monitor_incoming = $2, updated_at = $3 WHERE id = $1", &[&id, &on, &now]).await? == 1)
    }

    async fn transition_wallet(&self, id: &str, from: WalletStatus, to: WalletStatus, reason: Option<&str>, now: i64) -> Result<bool> {
        let (suspended_at, reason) = match to {
            WalletStatus::Suspended => (Some(now), reason),
            _ => (None, None),
        };
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = tx
            .exec(
                "UPDATE wallets SET status = $3, updated_at = $4, suspended_at = $5, suspension_reason = $6 WHERE id = $1 AND status = $2",
                &[&id, &from.as_str(), &to.as_str(), &now, &suspended_at, &reason],
            )
            .await?;
        if n == 1 && to == WalletStatus::Terminated {
            // Sessions whose only wallet this is can do nothing any more.
            tx.exec(
                "UPDATE sessions SET revoked_at = $2 WHERE revoked_at IS NULL AND id IN (
                    SELECT session_id FROM session_wallets GROUP BY session_id
                    HAVING COUNT(*) = 1 AND MAX(wallet_id) = $1)",
                &[&id, &now],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn purge_wallet(&self, id: &str) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let status: Option<String> = tx.row_opt("SELECT status FROM wallets WHERE id = $1 FOR UPDATE", &[&id]).await?.map(|r| r.try_get(0)).transpose()?;
        if status.as_deref() != Some("TERMINATED") {
            return Ok(false);
        }
        tx.exec("DELETE FROM session_wallets WHERE wallet_id = $1", &[&id]).await?;
        tx.exec("DELETE FROM wallets WHERE id = $1", &[&id]).await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn insert_session(&self, s: &SessionRecord, max_per_wallet: i64, now: i64) -> Result<SessionInsert> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Lock the wallets first: a replica inserting a session for one of them waits here, so
        // two cannot both pass the limit.
        let mut ids = s.wallet_ids.clone();
        ids.sort();
        tx.exec("SELECT id FROM wallets WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&ids]).await?;
        for wid in &s.wallet_ids {
            let live: i64 = tx
                .row(
                    "SELECT COUNT(*) FROM sessions s JOIN session_wallets sw ON sw.session_id = s.id
                     WHERE sw.wallet_id = $1 AND s.revoked_at IS NULL AND (s.expires_at = 0 OR s.expires_at > $2)",
                    &[wid, &now],
                )
                .await?
                .try_get(0)?;
            if live >= max_per_wallet {
                return Ok(SessionInsert::LimitExceeded { wallet_id: wid.clone() });
            }
        }
        tx.exec(
            &format!("INSERT INTO sessions ({SESSION_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"),
            &[
                &s.id,
                &s.token_hash,
                &s.expires_at,
                &s.constraints,
                &s.revoked_at,
                &s.renewal_count,
                &s.max_renewals,
                &s.last_renewed_at,
                &s.absolute_expires_at,
                &s.created_at,
                &s.source,
                &s.token_issued_count,
            ],
        )
        .await?;
        for (i, wid) in s.wallet_ids.iter().enumerate() {
            tx.exec("INSERT INTO session_wallets (session_id, wallet_id, position, created_at) VALUES ($1, $2, $3, $4)", &[&s.id, wid, &(i as i64), &now])
                .await?;
        }
        tx.commit().await?;
        Ok(SessionInsert::Inserted)
    }

    async fn get_session(&self, id: &str) -> Result<Option<SessionRecord>> {
        let c = self.client().await?;
        let Some(row) = c.row_opt(&format!("SELECT {SESSION_COLS} FROM sessions WHERE id = $1"), &[&id]).await? else {
            return Ok(None);
        };
        let mut s = session_from_row(&row)?;
        s.wallet_ids = Self::session_wallet_ids(&c, id).await?;
        Ok(Some(s))
    }

    async fn list_sessions(&self, wallet_id: Option<&str>) -> Result<Vec<SessionRecord>> {
        match wallet_id {
            None => self.load_sessions(&format!("SELECT {SESSION_COLS} FROM sessions WHERE revoked_at IS NULL ORDER BY id DESC"), &[]).await,
            Some(w) => {
                self.load_sessions(
                    &format!(
                        "SELECT {SESSION_COLS} FROM sessions WHERE revoked_at IS NULL AND id IN
                         (SELECT session_id FROM session_wallets WHERE wallet_id = $1) ORDER BY id DESC"
                    ),
                    &[&w],
                )
                .await
            }
        }
    }

    async fn revoke_session(&self, id: &str, now: i64) -> Result<Option<bool>> {
        let c = self.client().await?;
        if c.exec("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &[&id, &now]).await? == 1 {
            return Ok(Some(true));
        }
        Ok(c.row_opt("SELECT 1 FROM sessions WHERE id = $1", &[&id]).await?.map(|_| false))
    }

    async fn swap_session_token(&self, id: &str, expected_hash: &str, new_hash: &str, expires_at: i64, renewed: bool, now: i64) -> Result<bool> {
        let c = self.client().await?;
        let n = if renewed {
            c.exec(
                "UPDATE sessions SET token_hash = $3, expires_at = $4, renewal_count = renewal_count + 1, last_renewed_at = $5,
                 token_issued_count = token_issued_count + 1 WHERE id = $1 AND token_hash = $2 AND revoked_at IS NULL",
                &[&id, &expected_hash, &new_hash, &expires_at, &now],
            )
            .await?
        } else {
            c.exec(
                "UPDATE sessions SET token_hash = $3, expires_at = $4, token_issued_count = token_issued_count + 1
                 WHERE id = $1 AND token_hash = $2 AND revoked_at IS NULL",
                &[&id, &expected_hash, &new_hash, &expires_at],
            )
            .await?
        };
        Ok(n == 1)
    }

    async fn link_wallet(&self, session_id: &str, wallet_id: &str, now: i64) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The session's row orders concurrent links (positions stay distinct).
        tx.exec("SELECT id FROM sessions WHERE id = $1 FOR UPDATE", &[&session_id]).await?;
        let pos: i64 = tx.row("SELECT COALESCE(MAX(position) + 1, 0) FROM session_wallets WHERE session_id = $1", &[&session_id]).await?.try_get(0)?;
        let n = tx
            .exec(
                "INSERT INTO session_wallets (session_id, wallet_id, position, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&session_id, &wallet_id, &pos, &now],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn unlink_wallet(&self, session_id: &str, wallet_id: &str) -> Result<Unlink> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.exec("SELECT id FROM sessions WHERE id = $1 FOR UPDATE", &[&session_id]).await?;
        let ids = Self::session_wallet_ids(&tx, session_id).await?;
        if !ids.iter().any(|w| w == wallet_id) {
            return Ok(Unlink::NotLinked);
        }
        if ids.len() == 1 {
            return Ok(Unlink::LastWallet);
        }
        tx.exec("DELETE FROM session_wallets WHERE session_id = $1 AND wallet_id = $2", &[&session_id, &wallet_id]).await?;
        tx.commit().await?;
        Ok(Unlink::Removed)
    }

    async fn delete_expired_sessions(&self, now: i64) -> Result<usize> {
        let n = self.client().await?.exec("DELETE FROM sessions WHERE revoked_at IS NULL AND expires_at > 0 AND expires_at < $1", &[&now]).await?;
        Ok(n as usize)
    }

    async fn revoke_all_sessions(&self, now: i64) -> Result<usize> {
        Ok(self.client().await?.exec("UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL", &[&now]).await? as usize)
    }
}

#[cfg(test)]
mod tests;
