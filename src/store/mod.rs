//! The SQLite store: one writer connection and a pool of readers, all on the
//! same database file in WAL mode, all with litewire's functions registered.
//!
//! SQLite has one writer. The writer connection sits behind an async mutex; a
//! session that writes takes the lock (waiting at most its `lock_timeout`, then
//! 55P03) and holds the guard until its transaction ends, so SQLite itself never
//! sees two writers and "database is locked" never reaches a client. Readers run
//! on pooled connections and never wait for the writer (WAL snapshots).
//! SQLite calls run on blocking threads ([`blocking`]), never on the executor.

pub mod advisory;
pub mod alter;
mod datetime_functions;
mod enums;
pub mod exec;
mod functions;
mod introspect;
mod math_functions;
mod rows;
pub mod schema;
mod sequences;
mod text_functions;

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

pub use functions::{PresenceSource, SessionSettings, StatementContext};

use crate::catalog::Catalog;
use crate::error::{Error, Result, SqlState};

/// A SQLite connection with litewire's functions and the statement context
/// they read.
pub struct Conn {
    pub sqlite: Connection,
    pub context: StatementContext,
    /// Interrupts the statement running on `sqlite` (a client's CancelRequest).
    pub interrupt: Arc<rusqlite::InterruptHandle>,
}

/// The writer, held for the length of a write transaction.
pub type WriterGuard = OwnedMutexGuard<Conn>;

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub readers: usize,
    /// `PRAGMA synchronous`: FULL makes every commit survive power loss / kill -9.
    pub synchronous: &'static str,
}

pub struct Store {
    path: PathBuf,
    presence: PresenceSource,
    bell: Arc<Bell>,
    writer: Arc<tokio::sync::Mutex<Conn>>,
    /// Callers waiting for the writer right now (reported by `/health`).
    writer_waits: AtomicUsize,
    readers: Arc<ReaderPool>,
    catalog: RwLock<Arc<Catalog>>,
    /// Advisory locks of every session; a session frees its own when it ends.
    advisory: Arc<advisory::AdvisoryLocks>,
}

struct ReaderPool {
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
}

/// A pooled reader; returned to the pool on drop.
pub struct ReaderGuard {
    conn: Option<Conn>,
    pool: Arc<ReaderPool>,
    _permit: OwnedSemaphorePermit,
}

impl Deref for ReaderGuard {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("reader present until drop")
    }
}

impl DerefMut for ReaderGuard {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("reader present until drop")
    }
}

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
    }
}

fn open_conn(
    path: &Path,
    synchronous: &str,
    writer: bool,
    presence: &PresenceSource,
    sequences: &sequences::Memory,
    advisory: &Arc<advisory::AdvisoryLocks>,
) -> Result<Conn> {
    let sqlite = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Another process may hold the write lock briefly; wait rather than fail.
    sqlite.busy_timeout(Duration::from_secs(5))?;
    sqlite.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; \
         PRAGMA case_sensitive_like = ON; PRAGMA recursive_triggers = ON;"
    ))?;
    sqlite.set_prepared_statement_cache_capacity(512);
    let context = StatementContext::default();
    functions::register(&sqlite, context.clone(), presence.clone())?;
    introspect::register(&sqlite)?;
    enums::register(&sqlite)?;
    rows::register(&sqlite)?;
    sequences::register(&sqlite, context.clone(), sequences.clone())?;
    advisory::register(&sqlite, context.clone(), advisory.clone())?;
    // The pg_catalog views are this connection's own (TEMP), so they are
    // created before a reader turns read-only.
    sqlite.execute_batch(crate::catalog::relations::views_sql())?;
    if !writer {
        sqlite.execute_batch("PRAGMA query_only = ON;")?;
    }
    let interrupt = Arc::new(sqlite.get_interrupt_handle());
    Ok(Conn {
        sqlite,
        context,
        interrupt,
    })
}

impl Store {
    /// Opens (creating if needed) the database and installs litewire's tables.
    pub fn open(config: &StoreConfig) -> Result<Store> {
        let presence = PresenceSource::default();
        // Shared by all connections: what nextval handed out is never taken back.
        let sequences = sequences::Memory::default();
        // Shared by all connections: a lock is the session's, whichever
        // connection its statement ran on.
        let advisory = Arc::new(advisory::AdvisoryLocks::default());
        let writer = open_conn(
            &config.path,
            config.synchronous,
            true,
            &presence,
            &sequences,
            &advisory,
        )?;
        writer.sqlite.execute_batch(schema::BOOTSTRAP)?;
        let catalog = schema::load_catalog(&writer.sqlite)?;
        // Tables that exist in a file made elsewhere get captured too.
        exec::in_write_transaction(&writer, |conn| {
            Ok(schema::sync_capture(&conn.sqlite, &catalog)?)
        })?;
        let readers = (0..config.readers.max(1))
            .map(|_| {
                open_conn(
                    &config.path,
                    config.synchronous,
                    false,
                    &presence,
                    &sequences,
                    &advisory,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let permits = Arc::new(Semaphore::new(readers.len()));
        Ok(Store {
            path: config.path.clone(),
            presence,
            bell: Arc::new(Bell::default()),
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            writer_waits: AtomicUsize::new(0),
            readers: Arc::new(ReaderPool {
                idle: Mutex::new(readers),
                permits,
            }),
            catalog: RwLock::new(Arc::new(catalog)),
            advisory,
        })
    }

    /// Makes `litewire.presence` read from `rows` (a JSON array of
    /// `{channel, key, state, joined_at}`); the first source set stays.
    pub fn set_presence_source(&self, rows: impl Fn() -> String + Send + Sync + 'static) {
        let _ = self.presence.set(Box::new(rows));
    }

    /// The database file, for connections of litewire's own (the change
    /// stream's dispatcher) that need no SQL functions.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The advisory locks (`pg_advisory_lock`) of all sessions.
    pub fn advisory(&self) -> &advisory::AdvisoryLocks {
        &self.advisory
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the schema through `conn` (the writer, so a transaction's own
    /// uncommitted DDL is visible to its later statements).
    pub fn reload_catalog(&self, conn: &Conn) -> Result<()> {
        let catalog = schema::load_catalog(&conn.sqlite)?;
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(catalog);
        Ok(())
    }

    /// After DDL, inside the DDL's transaction: brings the capture triggers up
    /// to date with the new schema and reloads the catalog.
    pub fn schema_changed(&self, conn: &Conn) -> Result<()> {
        for (table, change) in conn.context.take_alterations() {
            let change = serde_json::from_str(&change)
                .map_err(|e| Error::internal(format!("bad table change {change}: {e}")))?;
            alter::apply(&conn.sqlite, &table, &change)?;
        }
        let catalog = schema::load_catalog(&conn.sqlite)?;
        schema::sync_capture(&conn.sqlite, &catalog)?;
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(catalog);
        Ok(())
    }

    /// Rings the commit bell: litewire committed a write, so the change stream
    /// should look for new changes now rather than at its next poll.
    pub fn committed(&self) {
        self.bell.ring();
    }

    /// The commit bell the change stream waits on.
    pub fn bell(&self) -> Arc<Bell> {
        self.bell.clone()
    }

    /// Takes the writer, waiting at most `timeout` (then 55P03, as Postgres's
    /// `lock_timeout`). A transaction left open by a session that died is rolled
    /// back before the writer is handed on.
    pub async fn writer(&self, timeout: Duration) -> Result<WriterGuard> {
        let lock = self.writer.clone().lock_owned();
        let waiting = Waiting::new(&self.writer_waits);
        let guard = if timeout.is_zero() {
            lock.await
        } else {
            tokio::time::timeout(timeout, lock).await.map_err(|_| {
                Error::new(
                    SqlState::LockNotAvailable,
                    "canceling statement due to lock timeout",
                )
                .with_detail("another session holds the database writer lock")
            })?
        };
        drop(waiting);
        let (guard, result) = blocking(guard, |conn| {
            if !conn.sqlite.is_autocommit() {
                conn.sqlite.execute_batch("ROLLBACK")?;
            }
            Ok::<_, Error>(())
        })
        .await;
        result?;
        Ok(guard)
    }

    /// How many callers are waiting for the writer now.
    pub fn writer_waits(&self) -> usize {
        self.writer_waits.load(Ordering::Relaxed)
    }

    pub async fn reader(&self) -> ReaderGuard {
        let permit = self
            .readers
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("reader semaphore is never closed");
        let conn = self
            .readers
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        ReaderGuard {
            conn: Some(conn.expect("a permit guarantees an idle reader")),
            pool: self.readers.clone(),
            _permit: permit,
        }
    }

    /// Rolls back whatever is open and checkpoints the WAL into the database
    /// file; called once at shutdown after the sessions are gone.
    pub async fn close(&self) -> Result<()> {
        let guard = self.writer.clone().lock_owned().await;
        let (_guard, result) = blocking(guard, |conn| {
            if !conn.sqlite.is_autocommit() {
                conn.sqlite.execute_batch("ROLLBACK")?;
            }
            conn.sqlite
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
            Ok::<_, Error>(())
        })
        .await;
        result
    }
}

/// One caller counted as waiting for the writer while this lives, also when
/// its wait is abandoned (a timeout, a cancelled request).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!(crate::metrics::WRITER_WAITS).increment(1.0);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!(crate::metrics::WRITER_WAITS).decrement(1.0);
    }
}

/// Runs `f` with the connection behind `guard`, and gives the guard back: the
/// caller keeps holding the writer across statements.
///
/// On a single-threaded runtime `f` runs inline. The wire door gives every
/// connection such a runtime on a thread of its own (`frontend`), so blocking
/// there stalls only that connection, as a Postgres backend blocks only itself,
/// and saves the hand-off to another thread that is most of a point query's
/// cost. On a shared multi-threaded runtime `f` goes to the blocking pool.
pub async fn blocking<G, R, F>(mut guard: G, f: F) -> (G, R)
where
    G: DerefMut<Target = Conn> + Send + 'static,
    R: Send + 'static,
    F: FnOnce(&mut Conn) -> R + Send + 'static,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::current().runtime_flavor() == RuntimeFlavor::CurrentThread {
        let result = f(&mut guard);
        return (guard, result);
    }
    tokio::task::spawn_blocking(move || {
        let result = f(&mut guard);
        (guard, result)
    })
    .await
    .expect("SQLite task panicked")
}

/// A wake-up from committing sessions to the change stream's dispatcher
/// thread: a counter under a mutex with a condition variable, so a ring is
/// never lost between the dispatcher's check and its wait.
#[derive(Default)]
pub struct Bell {
    rings: Mutex<u64>,
    cond: std::sync::Condvar,
}

impl Bell {
    pub fn ring(&self) {
        *self.rings.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cond.notify_all();
    }

    /// Waits until the count differs from `seen` or `timeout` passes; returns
    /// the current count.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let rings = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        let (rings, _) = self
            .cond
            .wait_timeout_while(rings, timeout, |r| *r == seen)
            .unwrap_or_else(|e| e.into_inner());
        *rings
    }
}
