//! Several daemons on one database ([`Replicas`] for [`PgStore`]).
//!
//! Every hold is a PostgreSQL *session* advisory lock, so a replica that dies (SIGKILL, a lost
//! machine) gives back everything it held the moment the server sees its connections close:
//! no lease to wait out, no clock to trust.
//! - A transaction is held ([`Replicas::claim_tx`]) on the replica's own lock connection, taken
//!   out of the pool for good, with `pg_try_advisory_lock` on a key made from its id.
//! - The nonces of a (wallet, network) are locked ([`Replicas::lock_nonces`]) on the lock
//!   connection too, tried again after a short pause while another replica holds them (a
//!   blocking lock would hold a pool connection while it waits, and enough waiters would
//!   starve the holders of the connections they need to finish), and the lock's last holder is
//!   written under it (key/value `nonce_holder:<wallet>:<network>`): a replica trusts the next
//!   nonce it remembers only if it was the last holder. Within a replica the engine's nonce
//!   owner lets one task at a time ask for a (wallet, network) (session locks are re-entrant).
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
    lock: tokio::sync::OnceCell<Arc<deadpool_postgres::ClientWrapper>>,
    leading: AtomicBool,
}

impl Default for Replica {
    fn default() -> Self {
        Replica { name: uuid::Uuid::new_v4().to_string(), lock: Default::default(), leading: AtomicBool::new(false) }
    }
}

impl PgStore {
    /// The replica's lock connection (taken out of the pool the first time).
    pub(super) async fn lock_conn(&self) -> Result<&Arc<deadpool_postgres::ClientWrapper>> {
        self.replica.lock.get_or_try_init(|| async { Ok::<_, Error>(Arc::new(deadpool_postgres::Object::take(self.client().await?))) }).await
    }

    /// `SELECT <lock function>($1)` for `key` on the lock connection (statement cached).
    async fn on_lock_conn(&self, sql: &str, key: i64) -> Result<bool> {
        lock_call(self.lock_conn().await?, sql, key).await
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

/// `SELECT <lock function>($1)` for `key` on a lock connection (statement cached).
async fn lock_call(c: &deadpool_postgres::ClientWrapper, sql: &str, key: i64) -> Result<bool> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query_one(&st, &[&key]).await?.try_get(0)?)
}

/// A held nonce lock, unlocked on drop.
struct NonceHold {
    conn: Arc<deadpool_postgres::ClientWrapper>,
    key: i64,
}

impl Drop for NonceHold {
    fn drop(&mut self) {
        // Without a runtime the process is ending: its connection closes, which unlocks.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (conn, key) = (self.conn.clone(), self.key);
            rt.spawn(async move {
                if let Err(e) = lock_call(&conn, "SELECT pg_advisory_unlock($1)", key).await {
                    tracing::warn!("cannot give back a nonce lock: {e}");
                }
            });
        }
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
        let key = key(&format!("nonce:{wallet_id}:{network}"));
        let conn = self.lock_conn().await?.clone();
        let mut pause = std::time::Duration::from_millis(1);
        while !lock_call(&conn, "SELECT pg_try_advisory_lock($1)", key).await? {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(8));
        }
        let hold = NonceHold { conn, key };
        let before: Option<String> = self
            .client()
            .await?
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
