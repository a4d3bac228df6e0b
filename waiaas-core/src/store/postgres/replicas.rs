//! Several daemons on one database ([`Replicas`] for [`PgStore`]).
//!
//! Every hold is a PostgreSQL *session* advisory lock, so a replica that dies (SIGKILL, a lost
//! machine) gives back everything it held the moment the server sees its connections close:
//! no lease to wait out, no clock to trust.
//! - A transaction is held ([`Replicas::claim_tx`]) on the replica's own lock connection, taken
//!   out of the pool for good, with `pg_try_advisory_lock` on a key made from its id.
//! - The nonces of a (wallet, network) are locked ([`Replicas::lock_nonces`]) with a blocking
//!   `pg_advisory_lock` on a pool connection kept until the lease drops, and the lock's last
//!   holder is written under it (key/value `nonce_holder:<wallet>:<network>`): a replica
//!   trusts the next nonce it remembers only if it was the last holder.
//! - The lead of the one-for-all background work ([`Replicas::lead`]) is a lock on the lock
//!   connection, kept once taken.
//!
//! The lock connection must live as long as the replica: if it closes while the process goes
//! on, its holds are gone while its runners still drive their transactions. The daemon opens
//! its store with [`PgStore::open_replica`], whose watchdog ends the process (exit code 75)
//! when that connection is lost, so a supervisor restarts it and the others take over.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The advisory lock key of `what` (the first 8 bytes of its SHA-256; the other lock keys of
/// the schema are small constants no hash is expected to hit).
fn key(what: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(what.as_bytes());
    i64::from_be_bytes(d[..8].try_into().unwrap_or_default())
}

/// The replica's own side of the store: its name and its lock connection.
pub(super) struct Replica {
    /// This process's name as a nonce lock's holder (random, one per store).
    pub(super) name: String,
    lock: tokio::sync::OnceCell<deadpool_postgres::ClientWrapper>,
    leading: AtomicBool,
}

impl Default for Replica {
    fn default() -> Self {
        Replica { name: uuid::Uuid::new_v4().to_string(), lock: Default::default(), leading: AtomicBool::new(false) }
    }
}

impl PgStore {
    /// The replica's lock connection (taken out of the pool the first time).
    pub(super) async fn lock_conn(&self) -> Result<&deadpool_postgres::ClientWrapper> {
        self.replica.lock.get_or_try_init(|| async { Ok::<_, Error>(deadpool_postgres::Object::take(self.client().await?)) }).await
    }

    /// `SELECT <lock function>($1)` for `key` on the lock connection (statement cached).
    async fn on_lock_conn(&self, sql: &str, key: i64) -> Result<bool> {
        let c = self.lock_conn().await?;
        let st = c.prepare_cached(sql).await?;
        Ok(c.query_one(&st, &[&key]).await?.try_get(0)?)
    }

    /// [`PgStore::connect_with`] for a daemon, one of any number of replicas on the database:
    /// the lock connection is opened now, and a watchdog ends the process (exit code 75) when
    /// it is lost (see the module documentation).
    pub async fn open_replica(url: &str, opts: &PgOptions) -> Result<Arc<PgStore>> {
        let store = Arc::new(PgStore::connect_with(url, opts).await?);
        store.lock_conn().await?;
        let weak = Arc::downgrade(&store);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let Some(store) = weak.upgrade() else { return };
                let alive = match store.replica.lock.get() {
                    Some(c) => !c.is_closed() && c.simple_query("SELECT 1").await.is_ok(),
                    None => true,
                };
                if !alive {
                    tracing::error!("lost the PostgreSQL connection holding this replica's transactions; exiting so that no transaction is driven twice (the other replicas take them over)");
                    eprintln!("waiaas: lost the PostgreSQL lock connection; exiting (75)");
                    std::process::exit(75);
                }
            }
        });
        Ok(store)
    }
}

/// A held nonce lock: its pool connection, unlocked (and given back) on drop.
struct NonceHold {
    conn: Option<deadpool_postgres::Object>,
    key: i64,
}

impl Drop for NonceHold {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            // No runtime left to unlock with: closing the connection unlocks.
            drop(deadpool_postgres::Object::take(conn));
            return;
        };
        let key = self.key;
        rt.spawn(async move {
            // A connection whose unlock did not go through is closed instead (which unlocks).
            if conn.exec("SELECT pg_advisory_unlock($1)", &[&key]).await.is_err() {
                drop(deadpool_postgres::Object::take(conn));
            }
        });
    }
}

#[async_trait]
impl Replicas for PgStore {
    fn shared(&self) -> bool {
        true
    }

    async fn claim_tx(&self, id: &str) -> Result<bool> {
        self.on_lock_conn("SELECT pg_try_advisory_lock($1)", key(&format!("tx:{id}"))).await
    }

    async fn release_tx(&self, id: &str) -> Result<()> {
        self.on_lock_conn("SELECT pg_advisory_unlock($1)", key(&format!("tx:{id}"))).await?;
        Ok(())
    }

    async fn lock_nonces(&self, wallet_id: &str, network: &str) -> Result<NonceLease> {
        let conn = self.client().await?;
        let key = key(&format!("nonce:{wallet_id}:{network}"));
        conn.exec("SELECT pg_advisory_lock($1)", &[&key]).await?;
        let mut hold = NonceHold { conn: Some(conn), key };
        let c = hold.conn.as_mut().ok_or_else(|| Error::internal("nonce lock without a connection"))?;
        let before: Option<String> = c
            .row(
                "WITH prev AS (SELECT value FROM key_value_store WHERE key = $1)
                 INSERT INTO key_value_store (key, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                 RETURNING (SELECT value FROM prev)",
                &[&format!("nonce_holder:{wallet_id}:{network}"), &self.replica.name, &crate::now()],
            )
            .await?
            .try_get(0)?;
        Ok(NonceLease { trusted: before.as_deref() == Some(self.replica.name.as_str()), _held: Some(Box::new(hold)) })
    }

    async fn lead(&self) -> Result<bool> {
        if self.replica.leading.load(Ordering::SeqCst) {
            return Ok(true);
        }
        let held = self.on_lock_conn("SELECT pg_try_advisory_lock($1)", schema::LEAD_LOCK).await?;
        self.replica.leading.store(held, Ordering::SeqCst);
        Ok(held)
    }
}
