//! SQLite store: WAL mode, one writer connection on a thread of its own (writes waiting
//! together share one `BEGIN IMMEDIATE` transaction, each in its own savepoint: group
//! commit, see [`Writer`]) and a small pool of reader connections, whose blocking calls run
//! on tokio's blocking pool.
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
mod channels;
mod incoming;
mod queries;
mod rows;
mod schema;
mod signing;
mod transactions;

use schema::open_conn;
pub use schema::{migrate, LATEST_SCHEMA_VERSION, MIGRATIONS};

struct Inner {
    /// The writer thread's queue (see [`Writer`]).
    writer: Writer,
    readers: Vec<Mutex<Connection>>,
    /// Turns at the readers (one per connection), first come first served: under load (a
    /// thousand sends at once) reads queue here in order instead of parking a blocking
    /// thread each on a connection's (unfair) mutex.
    read_turns: tokio::sync::Semaphore,
    next: AtomicUsize,
    sessions: SessionView,
}

/// At most this many writes share one store transaction (see [`Writer`]).
const GROUP_MAX: usize = 256;

/// One write as the writer thread runs it: given the open transaction (or why there is
/// none), it runs its closure inside a savepoint and hands back whether it succeeded and
/// how to deliver its outcome once the transaction's fate (commit or not) is known.
type WriteJob = Box<dyn FnOnce(std::result::Result<&rusqlite::Transaction<'_>, &Error>) -> (bool, Deliver) + Send>;
type Deliver = Box<dyn FnOnce(Option<&Error>) + Send>;

/// The one writer connection, owned by a thread of its own, with group commit: the thread
/// takes every write waiting in its queue (first come first served, up to [`GROUP_MAX`]),
/// runs each in a savepoint of one `BEGIN IMMEDIATE` transaction (a write that fails or
/// panics is rolled back to its savepoint alone, so each write is still all or nothing),
/// commits once, and only then answers each caller. Under load, a thousand sends' inserts,
/// decisions and status changes share a few commits (each commit writes every page it
/// touched to the WAL, and the hot pages are the same ones) instead of one commit and one
/// thread hand-off each; alone, a write is committed at once, as before.
struct Writer {
    queue: Mutex<Option<std::sync::mpsc::Sender<WriteJob>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Writer {
    fn start(conn: Connection) -> Result<Writer> {
        let (queue, jobs) = std::sync::mpsc::channel::<WriteJob>();
        let thread = std::thread::Builder::new().name("store-writer".into()).spawn(move || write_loop(conn, jobs))?;
        Ok(Writer { queue: Mutex::new(Some(queue)), thread: Mutex::new(Some(thread)) })
    }

    fn submit(&self, job: WriteJob) -> Result<()> {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.as_ref().ok_or_else(|| Error::internal("store closed"))?.send(job).map_err(|_| Error::internal("store writer stopped"))
    }
}

impl Drop for Writer {
    /// Close the queue and wait for the thread: the writes already queued are committed
    /// and the connection is closed before the store is gone (a reopen sees them).
    fn drop(&mut self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

fn write_loop(mut conn: Connection, jobs: std::sync::mpsc::Receiver<WriteJob>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        write_group(&mut conn, group);
    }
}

/// One transaction for `group` (see [`Writer`]).
fn write_group(conn: &mut Connection, group: Vec<WriteJob>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = Error::from(e);
            for job in group {
                job(Err(&e)).1(None);
            }
            return;
        }
    };
    let mut done: Vec<Deliver> = Vec::with_capacity(group.len());
    let mut broken: Option<Error> = None;
    for job in group {
        if let Some(e) = &broken {
            job(Err(e)).1(None);
            continue;
        }
        if let Err(e) = tx.execute_batch("SAVEPOINT w") {
            let e = Error::from(e);
            job(Err(&e)).1(None);
            broken = Some(e);
            continue;
        }
        let (ok, deliver) = job(Ok(&tx));
        let end = if ok { "RELEASE w" } else { "ROLLBACK TO w; RELEASE w" };
        if let Err(e) = tx.execute_batch(end) {
            broken = Some(Error::from(e));
        }
        done.push(deliver);
    }
    // A savepoint that could not be closed leaves the transaction in an unknown state:
    // nothing of the group is kept, and every write of it is told so.
    let outcome = match broken {
        Some(e) => tx.rollback().map_err(Error::from).and(Err(e)),
        None => tx.commit().map_err(Error::from),
    };
    let failed = outcome.err();
    for deliver in done {
        deliver(failed.as_ref());
    }
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
        let writer = Writer::start(writer)?;
        let readers = (0..4).map(|_| open_conn(path).map(Mutex::new)).collect::<Result<Vec<_>>>()?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer,
                read_turns: tokio::sync::Semaphore::new(readers.len()),
                readers,
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

    /// [`SqliteStore::write`] for a transaction that writes sessions or their wallets: the
    /// in-memory session view is emptied once it committed (or failed).
    async fn write_sessions<T: Send + 'static>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T> + Send + 'static) -> Result<T> {
        let out = self.write(f).await;
        self.inner.sessions.invalidate();
        out
    }

    /// Run `f` as one all-or-nothing write: a savepoint in the writer's next group
    /// transaction ([`Writer`]), kept only if `f` returns Ok; the answer comes after the
    /// commit.
    async fn write<T: Send + 'static>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T> + Send + 'static) -> Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T>>();
        self.inner.writer.submit(Box::new(move |tx| {
            let out = match tx {
                Ok(tx) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(tx)))
                    .unwrap_or_else(|_| Err(Error::internal("store task panicked; its write was rolled back"))),
                Err(e) => Err(e.clone()),
            };
            let ok = out.is_ok();
            let deliver: Deliver = Box::new(move |failed: Option<&Error>| {
                let _ = answer.send(match (out, failed) {
                    (Ok(_), Some(e)) => Err(e.clone()),
                    (out, _) => out,
                });
            });
            (ok, deliver)
        }))?;
        answered.await.map_err(|_| Error::internal("store writer stopped"))?
    }
}

#[cfg(test)]
pub(crate) mod tests;
