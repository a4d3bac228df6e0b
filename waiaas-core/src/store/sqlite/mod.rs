//! SQLite store: WAL mode, one writer connection (every write is a `BEGIN IMMEDIATE`
//! transaction) and a small pool of reader connections. Blocking calls run on tokio's
//! blocking pool.
//!
//! By concept: `schema` (migrations), the row decoders of wallets, sessions and policies
//! (`rows`), of transactions with the decide/reserve helpers (`transactions`) and of the
//! audit log (`audit`); `queries` is the `Store` implementation itself.

use super::*;
use crate::error::Error;
use crate::store::tx::{TxPatch, TxRecord, TxStatus};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

mod audit;
mod queries;
mod rows;
mod schema;
mod signing;
mod transactions;

use schema::open_conn;
pub use schema::{migrate, LATEST_SCHEMA_VERSION, MIGRATIONS};

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    /// Turns at the writer, first come first served, taken before a blocking thread is:
    /// under load (a thousand sends at once) writes queue here in order instead of parking
    /// a blocking thread each on the (unfair) writer mutex, where one write could wait
    /// behind any number of later ones.
    write_turns: tokio::sync::Mutex<()>,
    /// Turns at the readers (one per connection), first come first served, likewise.
    read_turns: tokio::sync::Semaphore,
    next: AtomicUsize,
    sessions: SessionView,
}

/// The sessions sessionAuth reads on every agent request, kept in memory so the common case
/// costs no database round trip, and exact: every write of the `sessions` or
/// `session_wallets` tables goes through [`SqliteStore::write_sessions`], which empties the
/// view after its commit, and a read that raced such a write is not kept (the generation
/// changed under it). Other processes cannot write meanwhile: the data dir lock keeps a
/// second engine out, and a restore runs with the daemon stopped.
#[derive(Default)]
struct SessionView {
    map: Mutex<HashMap<String, SessionRecord>>,
    generation: AtomicU64,
}

impl SessionView {
    fn get(&self, id: &str) -> Option<SessionRecord> {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    /// Keep `s`, read at `generation`, unless a session write committed since.
    fn keep(&self, generation: u64, s: &SessionRecord) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            map.insert(s.id.clone(), s.clone());
        }
    }

    fn invalidate(&self) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        map.clear();
    }
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
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                read_turns: tokio::sync::Semaphore::new(readers.len()),
                readers,
                write_turns: tokio::sync::Mutex::new(()),
                next: AtomicUsize::new(0),
                sessions: SessionView::default(),
            }),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        let _turn = self.inner.read_turns.acquire().await.map_err(Error::internal_from)?;
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
    /// [`SqliteStore::write`] for a transaction that writes sessions or their wallets: the
    /// in-memory session view is emptied once it committed (or failed).
    async fn write_sessions<T: Send + 'static>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T> + Send + 'static) -> Result<T> {
        let out = self.write(f).await;
        self.inner.sessions.invalidate();
        out
    }

    async fn write<T: Send + 'static>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        let _turn = self.inner.write_turns.lock().await;
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

#[cfg(test)]
pub(crate) mod tests;
