//! The change stream: every committed change to a user table, in LSN (= commit)
//! order, from `_lw_changes` (written by the capture triggers in the writing
//! transaction, `sql/change_triggers.sql`).
//!
//! A dispatcher thread owns a plain SQLite connection and reads new changes
//! after each commit: litewire's sessions ring the store's [`Bell`], and
//! `PRAGMA data_version` is polled every few milliseconds so writes by another
//! process on the same file are picked up too. Each read becomes a
//! [`ChangeBatch`] broadcast to live subscribers. A subscriber reads through a
//! [`Cursor`], which replays history from the table when it starts behind (a
//! `since` LSN) or falls behind (broadcast lag), then follows the live
//! broadcast, so it sees every change exactly once and in order.
//!
//! While no cursor is open the dispatcher only moves the head to the newest
//! LSN: reading and parsing every change for nobody was a quarter of the cost
//! of a captured autocommit write. Followers ([`follow`]) therefore hold a
//! cursor only while they have subscribers.
//!
//! Retention ([`ChangeStream::compact`]) deletes changes older than the window;
//! resuming from before it fails with [`ChangeError::Compacted`].

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde_json::Value as Json;
use tokio::sync::broadcast;

pub mod filter;

use crate::error::{Error, SqlState};
use crate::store::{Bell, Conn, Store, blocking, exec};

/// How often the dispatcher looks for writes made outside litewire.
const POLL: Duration = Duration::from_millis(10);
/// Most changes read (and broadcast) at once.
const READ_LIMIT: i64 = 2_000;
/// Batches a live subscriber may fall behind before it replays from the table.
const BROADCAST_CAPACITY: usize = 1_024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    fn parse(text: &str) -> Op {
        match text {
            "insert" => Op::Insert,
            "update" => Op::Update,
            _ => Op::Delete,
        }
    }
}

/// One changed row. `row` is the new row (insert, update), `old` the previous
/// one (update, delete); values are in their Postgres form as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub lsn: i64,
    pub txid: i64,
    pub table: String,
    pub op: Op,
    pub pk: Json,
    pub row: Option<Json>,
    pub old: Option<Json>,
    pub committed_at: String,
}

impl Change {
    /// The change as the doors send it:
    /// `{"lsn","table","op","pk","row","old","commit_time"}`.
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "lsn": self.lsn,
            "txid": self.txid,
            "table": self.table,
            "op": self.op.as_str(),
            "pk": self.pk,
            "row": self.row,
            "old": self.old,
            "commit_time": self.committed_at,
        })
    }
}

/// Changes of one or more whole transactions, in LSN order.
pub type ChangeBatch = Arc<Vec<Change>>;

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(
        "changes after LSN {since} are no longer kept (retained from LSN {oldest}); resnapshot"
    )]
    Compacted { since: i64, oldest: i64 },
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<ChangeError> for Error {
    fn from(e: ChangeError) -> Error {
        match e {
            ChangeError::Store(e) => e,
            compacted @ ChangeError::Compacted { .. } => Error::new(
                SqlState::ObjectNotInPrerequisiteState,
                compacted.to_string(),
            )
            .with_hint("must-resnapshot: take a fresh snapshot and follow from its LSN"),
        }
    }
}

impl From<rusqlite::Error> for ChangeError {
    fn from(e: rusqlite::Error) -> Self {
        ChangeError::Store(e.into())
    }
}

/// How long changes are kept: at least `age`, and at least the latest `rows`.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub age: Duration,
    pub rows: i64,
}

pub struct ChangeStream {
    store: Arc<Store>,
    live: broadcast::Sender<ChangeBatch>,
    /// The last LSN broadcast.
    head: AtomicI64,
    retention: Retention,
    stop: AtomicBool,
    /// The connection the newest committed LSN is read through, locked while
    /// a cursor is opened "from now" and while the dispatcher, finding no
    /// cursor open, moves the head there without broadcasting: a cursor
    /// opened now then misses nothing committed after it. (The head itself
    /// may lag a commit the dispatcher has not read yet; a cursor started
    /// there would deliver a change committed before it was opened, as
    /// LISTEN must not.)
    newest: Mutex<Connection>,
}

const SELECT_CHANGES: &str = "SELECT lsn, txid, tbl, op, pk, row, old, committed_at \
     FROM _lw_changes WHERE lsn > ?1 ORDER BY lsn LIMIT ?2";

fn read_changes(conn: &Connection, after: i64, limit: i64) -> rusqlite::Result<Vec<Change>> {
    let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
    let mut stmt = conn.prepare_cached(SELECT_CHANGES)?;
    let rows = stmt.query_map(rusqlite::params![after, limit], |r| {
        Ok(Change {
            lsn: r.get(0)?,
            txid: r.get(1)?,
            table: r.get(2)?,
            op: Op::parse(&r.get::<_, String>(3)?),
            pk: json(r.get(4)?).unwrap_or(Json::Null),
            row: json(r.get(5)?),
            old: json(r.get(6)?),
            committed_at: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// The newest LSN committed (retention always keeps it, so it never goes back).
fn newest_lsn(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(lsn), 0) FROM _lw_changes")?
        .query_row([], |r| r.get(0))
}

/// A plain read-only connection to the database file, outside the store's
/// pools (the dispatcher's thread and cursor opening never wait on them).
fn open_reader(store: &Store) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        store.path(),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch("PRAGMA query_only = ON")?;
    Ok(conn)
}

fn compacted_through(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT coalesce((SELECT value FROM _lw_state WHERE key = 'compacted_through'), 0)",
    )?
    .query_row([], |r| r.get(0))
}

impl ChangeStream {
    /// Starts the dispatcher thread, following on from the last change in the
    /// database (history stays readable through cursors with `since`).
    pub fn start(store: Arc<Store>, retention: Retention) -> Result<Arc<ChangeStream>, Error> {
        let conn = open_reader(&store)?;
        let newest = open_reader(&store)?;
        let head = newest_lsn(&newest)?;
        let (live, _) = broadcast::channel(BROADCAST_CAPACITY);
        let stream = Arc::new(ChangeStream {
            store,
            live,
            head: AtomicI64::new(head),
            retention,
            stop: AtomicBool::new(false),
            newest: Mutex::new(newest),
        });
        let dispatcher = stream.clone();
        std::thread::Builder::new()
            .name("litewire-changes".into())
            .spawn(move || dispatcher.dispatch(conn))
            .map_err(|e| Error::internal(format!("cannot start the change dispatcher: {e}")))?;
        Ok(stream)
    }

    /// The last LSN handed to subscribers.
    pub fn head(&self) -> i64 {
        self.head.load(Ordering::Acquire)
    }

    /// How many cursors follow the stream now (for stats and tests).
    pub fn followers(&self) -> usize {
        self.live.receiver_count()
    }

    /// Stops the dispatcher (at its next wake-up, within [`POLL`]).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.store.committed();
    }

    fn dispatch(&self, conn: Connection) {
        let bell: Arc<Bell> = self.store.bell();
        let mut rung = 0;
        let mut version = None;
        while !self.stop.load(Ordering::Acquire) {
            let seen = rung;
            rung = bell.wait(rung, POLL);
            // A ring is a commit by litewire; only a quiet poll has to ask
            // whether another process wrote (after a ring the version it
            // remembers is stale, which costs one empty read at most).
            if rung == seen {
                let current = conn
                    .prepare_cached("PRAGMA data_version")
                    .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
                    .ok();
                if current.is_some() && current == version {
                    continue;
                }
                version = current;
            }
            if let Err(e) = self.drain(&conn) {
                tracing::warn!(error = %e, "reading the change log failed; retrying");
                version = None;
            }
        }
    }

    /// Broadcasts everything committed after the head, or, with no cursor
    /// open, moves the head past it.
    fn drain(&self, conn: &Connection) -> rusqlite::Result<()> {
        if self.skip_unfollowed()? {
            return Ok(());
        }
        loop {
            let changes = read_changes(conn, self.head(), READ_LIMIT)?;
            let Some(last) = changes.last().map(|c| c.lsn) else {
                return Ok(());
            };
            let full = changes.len() as i64 == READ_LIMIT;
            metrics::counter!(crate::metrics::CHANGES).increment(changes.len() as u64);
            metrics::gauge!(crate::metrics::CHANGE_LSN).set(last as f64);
            // No receiver is fine: nobody is following right now.
            let _ = self.live.send(Arc::new(changes));
            self.head.store(last, Ordering::Release);
            if !full {
                return Ok(());
            }
        }
    }

    /// With no cursor open, moves the head to the newest change (counted as
    /// dispatched) and says so; the changes themselves stay in the table for
    /// any cursor that asks for them with `since`.
    fn skip_unfollowed(&self) -> rusqlite::Result<bool> {
        let conn = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        if self.live.receiver_count() > 0 {
            return Ok(false);
        }
        let newest = newest_lsn(&conn)?;
        let head = self.head();
        if newest > head {
            // LSNs are consecutive row ids, so the difference is the count.
            metrics::counter!(crate::metrics::CHANGES).increment((newest - head) as u64);
            metrics::gauge!(crate::metrics::CHANGE_LSN).set(newest as f64);
            self.head.store(newest, Ordering::Release);
        }
        Ok(true)
    }

    /// Follows the stream: from `since` (replaying what came after it), or from
    /// now when `None`: after the newest committed change, even one the
    /// dispatcher has not read yet (the head, should the file be unreadable).
    pub fn cursor(self: &Arc<Self>, since: Option<i64>) -> Cursor {
        let newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        let live = self.live.subscribe();
        let last = since.unwrap_or_else(|| newest_lsn(&newest).unwrap_or_else(|_| self.head()));
        Cursor {
            stream: self.clone(),
            live,
            last,
            replaying: since.is_some(),
        }
    }

    /// Up to `limit` committed changes after `since`, from the table.
    pub async fn read_since(&self, since: i64, limit: i64) -> Result<Vec<Change>, ChangeError> {
        let reader = self.store.reader().await;
        blocking(reader, move |conn: &mut Conn| {
            let oldest = compacted_through(&conn.sqlite)?;
            if since < oldest {
                return Err(ChangeError::Compacted { since, oldest });
            }
            Ok(read_changes(&conn.sqlite, since, limit)?)
        })
        .await
        .1
    }

    /// Deletes changes outside the retention window (older than its age and
    /// beyond its row count) and records how far history now reaches.
    pub async fn compact(&self, now: chrono::DateTime<chrono::Utc>) -> Result<i64, Error> {
        let cutoff = (now - chrono::Duration::from_std(self.retention.age).unwrap_or_default())
            .format("%Y-%m-%d %H:%M:%S%.3f+00")
            .to_string();
        let rows = self.retention.rows;
        let guard = self.store.writer(Duration::ZERO).await?;
        blocking(guard, move |conn: &mut Conn| {
            exec::in_write_transaction(conn, |conn| {
                let cut: i64 = conn.sqlite.query_row(
                    "SELECT coalesce(min((SELECT max(lsn) FROM _lw_changes) - ?1, \
                       (SELECT max(lsn) FROM _lw_changes WHERE committed_at < ?2)), 0)",
                    rusqlite::params![rows, cutoff],
                    |r| r.get(0),
                )?;
                let through = cut.max(compacted_through(&conn.sqlite)?);
                conn.sqlite
                    .execute("DELETE FROM _lw_changes WHERE lsn <= ?1", [through])?;
                conn.sqlite.execute(
                    "INSERT OR REPLACE INTO _lw_state (key, value) VALUES ('compacted_through', ?1)",
                    [through],
                )?;
                Ok(through)
            })
        })
        .await
        .1
    }
}

/// A subscriber's position in the stream; see the module doc.
pub struct Cursor {
    stream: Arc<ChangeStream>,
    live: broadcast::Receiver<ChangeBatch>,
    last: i64,
    replaying: bool,
}

impl Cursor {
    /// The last LSN this cursor returned (or started after).
    pub fn position(&self) -> i64 {
        self.last
    }

    /// The next changes after [`Cursor::position`], waiting for a commit when
    /// there are none. `None` when the stream has stopped.
    pub async fn next(&mut self) -> Option<Result<ChangeBatch, ChangeError>> {
        loop {
            if self.replaying {
                match self.stream.read_since(self.last, READ_LIMIT).await {
                    Err(e) => return Some(Err(e)),
                    Ok(changes) if changes.is_empty() => self.replaying = false,
                    Ok(changes) => {
                        self.last = changes.last().map_or(self.last, |c| c.lsn);
                        return Some(Ok(Arc::new(changes)));
                    }
                }
            }
            match self.live.recv().await {
                Ok(batch) => {
                    if batch.last().is_none_or(|c| c.lsn <= self.last) {
                        continue;
                    }
                    let batch = if batch.first().is_some_and(|c| c.lsn <= self.last) {
                        Arc::new(
                            batch
                                .iter()
                                .filter(|c| c.lsn > self.last)
                                .cloned()
                                .collect(),
                        )
                    } else {
                        batch
                    };
                    self.last = batch.last().map_or(self.last, |c| c.lsn);
                    return Some(Ok(batch));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.replaying = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// A follower's hold on the stream: the cursor it reads through while it has
/// subscribers, `None` while it has none (so the dispatcher reads nothing
/// for it).
pub struct Following {
    stream: Arc<ChangeStream>,
    cursor: Option<Cursor>,
}

impl Following {
    /// Idle until the first subscriber asks for [`Following::position`].
    pub fn new(stream: Arc<ChangeStream>) -> Following {
        Following {
            stream,
            cursor: None,
        }
    }

    pub fn stream(&self) -> &Arc<ChangeStream> {
        &self.stream
    }

    /// Where a subscriber added now starts following: the cursor's position,
    /// opening the cursor from now if the follower was idle.
    pub fn position(&mut self) -> i64 {
        let stream = &self.stream;
        self.cursor
            .get_or_insert_with(|| stream.cursor(None))
            .position()
    }

    /// Takes `cursor` unless one is open (the open one is older, so it
    /// already covers it).
    pub fn open(&mut self, cursor: Cursor) {
        self.cursor.get_or_insert(cursor);
    }

    /// Stops following: the follower has no subscribers left.
    fn close(&mut self) {
        self.cursor = None;
    }

    /// Follows on from now (after the cursor fell behind retention).
    pub fn restart(&mut self) {
        self.cursor = Some(self.stream.cursor(None));
    }

    /// The next batch; never, while idle.
    async fn next(&mut self) -> Option<Result<ChangeBatch, ChangeError>> {
        match &mut self.cursor {
            Some(cursor) => cursor.next().await,
            None => std::future::pending().await,
        }
    }
}

/// A task that follows the stream for many subscribers (table feeds, live
/// queries, the change channels): it takes commands from its doors and
/// handles each batch of changes in order, through its [`Following`].
/// Driven by [`follow`].
pub trait Follower {
    type Command;

    fn following(&mut self) -> &mut Following;

    /// Whether the follower has no subscribers left (its cursor is then
    /// closed until the next one comes).
    fn is_idle(&self) -> bool;

    fn command(&mut self, command: Self::Command) -> impl Future<Output = ()> + Send;

    fn batch(&mut self, batch: ChangeBatch) -> impl Future<Output = ()> + Send;

    /// The follower's own cursor fell behind retention (it cannot while it
    /// keeps up): its subscribers must resnapshot.
    fn fell_behind(&mut self, error: ChangeError);
}

/// Runs `follower` until shutdown or until its doors drop their command
/// senders. Commands come first, so a subscription added before a batch is
/// in place when the batch is handled.
pub async fn follow<F: Follower>(
    mut follower: F,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<F::Command>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            command = commands.recv() => match command {
                None => return,
                Some(command) => follower.command(command).await,
            },
            batch = follower.following().next() => match batch {
                None => return,
                Some(Ok(batch)) => follower.batch(batch).await,
                Some(Err(e)) => {
                    tracing::error!(error = %e, "a change stream follower fell behind the change log");
                    follower.fell_behind(e);
                }
            },
        }
        if follower.is_idle() {
            follower.following().close();
        }
    }
}
