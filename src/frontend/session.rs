//! One client session: its transaction state, settings and prepared plans, and
//! the rules for where each statement runs.
//!
//! Where a statement runs (see `store`): a session that holds the writer runs
//! everything there (it must see its own writes); otherwise reads go to a pooled
//! reader (each statement a fresh snapshot: READ COMMITTED, Postgres's default)
//! and the first write takes the writer, opening the SQLite transaction with
//! `BEGIN IMMEDIATE` if the session is inside BEGIN ... COMMIT.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use tokio::sync::{mpsc, watch};

use crate::catalog::{Catalog, SearchPath};
use crate::error::{Error, Result, SqlState};
use crate::live::{LiveEngine, LiveId};
use crate::notify::direct::{DirectSocket, Fanout};
use crate::notify::{ListenChange, Listener, Notification, NotifyHub, Pending};
use crate::store::exec::{self, ColumnMeta, Output};
use crate::store::{Conn, Store, WriterGuard, advisory, blocking};
use crate::translate::{self, Access, Notice, Plan, SqlPlan, Then};
use crate::types::{ColumnType, PgType};

use super::settings::Settings;

mod cursor;
mod durable;
mod live;

/// A result column as sent in RowDescription.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    pub name: String,
    pub ty: PgType,
    pub typmod: i32,
    /// The type's oid: `ty`'s, or an enum's (whose values are `ty` text).
    pub oid: u32,
}

impl Described {
    /// A column of a built-in type without modifier.
    pub fn plain(name: impl Into<String>, ty: PgType) -> Described {
        Described {
            name: name.into(),
            ty,
            typmod: -1,
            oid: ty.oid(),
        }
    }
}

/// A transaction block. The writer guard, when held, is the SQLite write
/// transaction: dropping it without COMMIT leaves the transaction to be rolled
/// back by the next taker (`Store::writer`).
struct Tx {
    /// An implicit transaction spans one extended-protocol batch (up to Sync) or
    /// one multi-statement simple query; it ends there unless BEGIN made it explicit.
    implicit: bool,
    /// Whether the transaction ran DDL: ending it must then reload the catalog
    /// (a rollback undoes the schema change).
    changed_schema: bool,
    writer: Option<WriterGuard>,
    started: DateTime<Utc>,
    /// The settings as the transaction began (back to them at ROLLBACK).
    settings_at_start: Arc<Settings>,
    /// The settings as they will be after COMMIT: its SETs without its SET
    /// LOCALs, as in Postgres.
    settings_at_commit: Arc<Settings>,
    savepoints: Vec<Savepoint>,
    /// NOTIFYs and LISTEN changes, applied only if the transaction commits.
    pending: Pending,
    /// Live cursors (`DECLARE ... CURSOR FOR SUBSCRIBE`), ended with the transaction.
    cursors: HashMap<String, cursor::LiveCursor>,
}

/// What ROLLBACK TO goes back to.
struct Savepoint {
    name: String,
    /// How much was pending (see [`Pending::mark`]).
    pending: (usize, usize),
    settings: Arc<Settings>,
    settings_at_commit: Arc<Settings>,
}

impl Tx {
    fn new(implicit: bool, settings: &Arc<Settings>) -> Tx {
        Tx {
            implicit,
            changed_schema: false,
            writer: None,
            started: Utc::now(),
            settings_at_start: settings.clone(),
            settings_at_commit: settings.clone(),
            savepoints: Vec::new(),
            pending: Pending::default(),
            cursors: HashMap::new(),
        }
    }
}

/// Postgres's transaction states, as ReadyForQuery reports them (I/T/E).
enum TxState {
    Idle,
    Active(Tx),
    Failed(Tx),
}

/// What a statement returned to the client.
pub enum Outcome {
    Rows {
        columns: Arc<Vec<Described>>,
        rows: Vec<Vec<Value>>,
        tag: String,
    },
    Command {
        tag: String,
    },
    Empty,
}

/// Whether a message of `severity` reaches a client whose
/// `client_min_messages` is `minimum` (Postgres's order of levels).
fn reaches(severity: &str, minimum: &str) -> bool {
    const LEVELS: [&str; 10] = [
        "debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error",
        "fatal",
    ];
    let rank = |level: &str| {
        LEVELS
            .iter()
            .position(|l| l.eq_ignore_ascii_case(level.trim()))
    };
    match (rank(severity), rank(minimum)) {
        (Some(s), Some(m)) => s >= m,
        _ => true,
    }
}

/// Where a session publishes the SQLite connection it is running a statement on,
/// so a CancelRequest (arriving on another connection) can interrupt it.
/// Empty between statements; a stray interrupt of an idle connection is a
/// no-op in SQLite.
#[derive(Clone, Default)]
pub struct CancelSlot {
    running: Arc<std::sync::Mutex<Option<Arc<rusqlite::InterruptHandle>>>>,
    /// Wakes a statement that waits rather than runs SQL (a streaming
    /// `COPY (SUBSCRIBE ...)`).
    waiting: Arc<tokio::sync::Notify>,
}

impl CancelSlot {
    fn set(&self, handle: Option<Arc<rusqlite::InterruptHandle>>) {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = handle;
    }

    /// Interrupts the running statement, if any (it fails with 57014).
    pub fn cancel(&self) {
        if let Some(handle) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            handle.interrupt();
        }
        self.waiting.notify_waiters();
    }

    /// Resolves when a CancelRequest arrives for this session.
    pub async fn cancelled(&self) {
        self.waiting.notified().await;
    }
}

pub struct Session {
    store: Arc<Store>,
    hub: Arc<NotifyHub>,
    /// This session's queue in the hub; the connection holds its receiver.
    listener: Arc<Listener>,
    /// The channels it LISTENs on (committed), for `pg_listening_channels()`.
    listening: std::collections::BTreeSet<String>,
    pub cancel: CancelSlot,
    pub pid: i32,
    tx: TxState,
    /// Shared with the statements that read them (`current_setting`);
    /// changed copy-on-write.
    pub settings: Arc<Settings>,
    /// `search_path`, parsed from `settings` whenever they change.
    search_path: SearchPath,
    pub notices: Vec<Notice>,
    /// Translations by query text, valid while the catalog is the same one.
    plans: HashMap<String, (Arc<Catalog>, Arc<Vec<Plan>>)>,
    live: Arc<LiveEngine>,
    /// This session's live queries by channel.
    live_queries: HashMap<String, LiveId>,
    next_live: u32,
    /// Durable consumers by channel, and missed messages still to send.
    durable: HashMap<String, durable::Consumer>,
    replay: Vec<Arc<Notification>>,
    /// Notifications this session published, held for idle listeners until
    /// it flushes its reply (see `notify::direct`).
    pub fanout: Fanout,
    /// Who connected, to which database (`current_user`, `current_database()`).
    identity: Arc<(String, String)>,
}

const PLAN_CACHE_LIMIT: usize = 1024;

impl Session {
    /// A session and the receiving end of its notification queue.
    pub fn new(
        store: Arc<Store>,
        hub: Arc<NotifyHub>,
        live: Arc<LiveEngine>,
        pid: i32,
        identity: (String, String),
        direct: Option<Arc<DirectSocket>>,
    ) -> (Self, mpsc::Receiver<Arc<Notification>>) {
        let (listener, notifications) = match direct {
            Some(socket) => hub.direct_listener(pid, socket),
            None => hub.listener(pid),
        };
        let session = Session {
            store,
            hub,
            listener,
            listening: Default::default(),
            pid,
            tx: TxState::Idle,
            settings: Arc::new(Settings::default()),
            search_path: SearchPath::default(),
            cancel: CancelSlot::default(),
            notices: Vec::new(),
            plans: HashMap::new(),
            live,
            live_queries: HashMap::new(),
            next_live: 0,
            durable: HashMap::new(),
            replay: Vec::new(),
            fanout: Fanout::default(),
            identity: Arc::new(identity),
        };
        (session, notifications)
    }

    /// The schema as of now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.store.catalog()
    }

    /// The status byte of ReadyForQuery.
    pub fn status(&self) -> u8 {
        match self.tx {
            TxState::Idle => b'I',
            TxState::Active(_) => b'T',
            TxState::Failed(_) => b'E',
        }
    }

    /// Translates `sql`, reusing the plan of an identical earlier query when the
    /// schema has not changed since.
    pub fn plan(&mut self, sql: &str) -> Result<Arc<Vec<Plan>>> {
        self.cached_plan(sql, sql, &[])
    }

    /// Plans a simple-protocol query with its literals taken out as parameters
    /// (see `translate::normalize`), so queries that differ only in their values
    /// share one translation and one SQLite prepared statement. Returns the
    /// plans and the literals bound as parameter values.
    pub fn plan_simple(&mut self, sql: &str) -> Result<(Arc<Vec<Plan>>, Vec<Value>)> {
        let Some(normalized) = translate::normalize::normalize(sql) else {
            return Ok((self.plan(sql)?, Vec::new()));
        };
        let hints: Vec<PgType> = normalized.literals.iter().map(|l| l.ty).collect();
        let plans = match self.cached_plan(&normalized.cache_key(), &normalized.sql, &hints) {
            Ok(plans) => plans,
            // A shape the translator refuses with parameters (a literal where
            // only a constant will do): the query as written decides.
            Err(_) => return Ok((self.plan(sql)?, Vec::new())),
        };
        let Some(Plan::Sql(sql_plan)) = plans.first() else {
            return Ok((self.plan(sql)?, Vec::new()));
        };
        let values = normalized
            .literals
            .iter()
            .zip(&sql_plan.params)
            .map(|(literal, inferred)| {
                let ty = inferred
                    .filter(|t| t.ty != PgType::Unknown)
                    .unwrap_or(ColumnType::plain(PgType::Text));
                crate::types::input::from_text(ty, &literal.text)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((plans, values))
    }

    /// The session's settings as the startup packet set them.
    pub fn start_with(&mut self, settings: Settings) {
        let _ = self.change_settings(|s| {
            *s = settings;
            Ok(())
        });
    }

    /// Changes the settings through `change`. A new `search_path`
    /// invalidates the cached plans, whose relation names were resolved
    /// along the old one.
    fn change_settings(&mut self, change: impl FnOnce(&mut Settings) -> Result<()>) -> Result<()> {
        change(Arc::make_mut(&mut self.settings))?;
        self.settings_changed();
        Ok(())
    }

    fn settings_changed(&mut self) {
        let path = self.settings.search_path();
        if path != self.search_path {
            self.search_path = path;
            self.plans.clear();
        }
    }

    /// A change that outlives the transaction it is made in, if that
    /// commits (SET, RESET ALL).
    fn change_lasting(&mut self, change: impl Fn(&mut Settings) -> Result<()>) -> Result<()> {
        self.change_settings(&change)?;
        if let TxState::Active(tx) | TxState::Failed(tx) = &mut self.tx {
            change(Arc::make_mut(&mut tx.settings_at_commit))?;
        }
        Ok(())
    }

    /// SET [LOCAL]: inside a transaction a SET lasts if the transaction
    /// commits and a SET LOCAL until it ends; outside one SET LOCAL only warns,
    /// as in Postgres.
    fn set(&mut self, name: &str, value: Option<String>, local: bool) -> Result<()> {
        match (local, self.in_transaction()) {
            (false, _) => self.change_lasting(|s| s.set(name, value.clone())),
            (true, true) => self.change_settings(|s| s.set(name, value)),
            (true, false) => {
                self.warn(
                    SqlState::NoActiveSqlTransaction,
                    "SET LOCAL can only be used in transaction blocks",
                );
                Ok(())
            }
        }
    }

    /// Puts back settings saved at a transaction's start or a savepoint.
    fn restore_settings(&mut self, saved: Arc<Settings>) {
        if !Arc::ptr_eq(&self.settings, &saved) {
            self.settings = saved;
            self.settings_changed();
        }
    }

    /// Commits or rolls back `tx`; the settings become what the transaction
    /// leaves behind.
    async fn end(&mut self, tx: Tx, commit: bool) -> Result<()> {
        let (at_commit, at_start) = (tx.settings_at_commit.clone(), tx.settings_at_start.clone());
        let ended = finish(tx, commit, &self.store).await;
        let committed = commit && ended.is_ok();
        self.restore_settings(if committed { at_commit } else { at_start });
        ended
    }

    fn cached_plan(&mut self, key: &str, sql: &str, params: &[PgType]) -> Result<Arc<Vec<Plan>>> {
        let catalog = self.store.catalog();
        if let Some((cat, plans)) = self.plans.get(key)
            && Arc::ptr_eq(cat, &catalog)
        {
            return Ok(plans.clone());
        }
        let plans = Arc::new(translate::translate_with_params(
            sql,
            &catalog,
            params,
            &self.search_path,
        )?);
        if self.plans.len() >= PLAN_CACHE_LIMIT {
            self.plans.clear();
        }
        self.plans.insert(key.to_string(), (catalog, plans.clone()));
        Ok(plans)
    }

    fn failed_guard(&self, plan: &Plan) -> Result<()> {
        let allowed = matches!(
            plan,
            Plan::Rollback | Plan::Commit | Plan::RollbackTo(_) | Plan::Empty
        );
        if matches!(self.tx, TxState::Failed(_)) && !allowed {
            return Err(Error::in_failed_transaction());
        }
        Ok(())
    }

    /// Marks the open transaction failed after an error (Postgres's 'E' state).
    pub fn on_error(&mut self) {
        self.tx = match std::mem::replace(&mut self.tx, TxState::Idle) {
            TxState::Active(tx) | TxState::Failed(tx) => TxState::Failed(tx),
            TxState::Idle => TxState::Idle,
        };
    }

    pub fn in_transaction(&self) -> bool {
        !matches!(self.tx, TxState::Idle)
    }

    /// Runs one plan. Errors leave an open transaction in the failed state.
    pub async fn execute(
        &mut self,
        plan: &Plan,
        params: Vec<Value>,
        described: Option<Arc<Vec<Described>>>,
    ) -> Result<Outcome> {
        self.failed_guard(plan)?;
        let result = self.execute_inner(plan, params, described).await;
        if result.is_err() {
            self.on_error();
        }
        if !self.in_transaction() {
            self.store.advisory().end_transaction(self.pid);
        }
        result
    }

    async fn execute_inner(
        &mut self,
        plan: &Plan,
        params: Vec<Value>,
        described: Option<Arc<Vec<Described>>>,
    ) -> Result<Outcome> {
        let command = |tag: &str| {
            Ok(Outcome::Command {
                tag: tag.to_string(),
            })
        };
        match plan {
            Plan::Empty => Ok(Outcome::Empty),
            Plan::Accepted(tag) => command(tag),
            Plan::Copy(_) | Plan::Deallocate(_) | Plan::Prepare { .. } | Plan::Execute { .. } => {
                Err(Error::internal(
                    "COPY and prepared statements are run by the connection",
                ))
            }
            Plan::Begin => {
                match &mut self.tx {
                    TxState::Active(tx) if tx.implicit => tx.implicit = false,
                    TxState::Active(_) | TxState::Failed(_) => self.warn(
                        SqlState::ActiveSqlTransaction,
                        "there is already a transaction in progress",
                    ),
                    TxState::Idle => self.tx = TxState::Active(Tx::new(false, &self.settings)),
                }
                command("BEGIN")
            }
            Plan::Commit => self.commit().await,
            Plan::Rollback => {
                if !self.in_transaction() {
                    self.warn(
                        SqlState::NoActiveSqlTransaction,
                        "there is no transaction in progress",
                    );
                }
                self.rollback().await?;
                command("ROLLBACK")
            }
            Plan::Savepoint(name) => {
                if !self.in_transaction() {
                    return Err(Error::new(
                        SqlState::NoActiveSqlTransaction,
                        "SAVEPOINT can only be used in transaction blocks",
                    ));
                }
                self.run_on_writer(format!("SAVEPOINT \"{name}\"")).await?;
                if let TxState::Active(tx) = &mut self.tx {
                    tx.savepoints.push(Savepoint {
                        name: name.clone(),
                        pending: tx.pending.mark(),
                        settings: self.settings.clone(),
                        settings_at_commit: tx.settings_at_commit.clone(),
                    });
                }
                command("SAVEPOINT")
            }
            Plan::Release(name) => {
                self.check_savepoint(name)?;
                self.run_on_writer(format!("RELEASE \"{name}\"")).await?;
                if let TxState::Active(tx) = &mut self.tx {
                    let pos = tx
                        .savepoints
                        .iter()
                        .rposition(|s| s.name == *name)
                        .unwrap_or(0);
                    tx.savepoints.truncate(pos);
                }
                command("RELEASE")
            }
            Plan::RollbackTo(name) => {
                self.check_savepoint(name)?;
                // Back to a savepoint revives a failed transaction.
                self.tx = match std::mem::replace(&mut self.tx, TxState::Idle) {
                    TxState::Failed(tx) | TxState::Active(tx) => TxState::Active(tx),
                    TxState::Idle => TxState::Idle,
                };
                self.run_on_writer(format!("ROLLBACK TO \"{name}\""))
                    .await?;
                let mut restore = None;
                if let TxState::Active(tx) = &mut self.tx {
                    let pos = tx
                        .savepoints
                        .iter()
                        .rposition(|s| s.name == *name)
                        .unwrap_or(0);
                    let savepoint = &tx.savepoints[pos];
                    tx.pending.truncate(savepoint.pending);
                    tx.settings_at_commit = savepoint.settings_at_commit.clone();
                    restore = Some(savepoint.settings.clone());
                    tx.savepoints.truncate(pos + 1);
                }
                if let Some(settings) = restore {
                    self.restore_settings(settings);
                }
                command("ROLLBACK")
            }
            Plan::Set { name, value, local } => {
                self.set(name, value.clone(), *local)?;
                command("SET")
            }
            Plan::Show(name) => self.show(name),
            Plan::ResetAll => {
                self.change_lasting(|s| {
                    s.reset_all();
                    Ok(())
                })?;
                command("RESET")
            }
            Plan::DiscardAll => {
                if self.in_transaction() {
                    return Err(Error::new(
                        SqlState::ActiveSqlTransaction,
                        "DISCARD ALL cannot run inside a transaction block",
                    ));
                }
                self.change_settings(|s| {
                    s.reset_all();
                    Ok(())
                })?;
                self.apply_listening(ListenChange::UnlistenAll);
                command("DISCARD ALL")
            }
            Plan::Sql(sql) => self.run_sql(sql.clone(), params, described).await,
            Plan::Noticed { notices, then } => {
                for notice in notices {
                    self.warn(notice.state, &notice.message);
                }
                match then {
                    Then::Nothing(tag) => command(tag),
                    Then::Sql(plan) => self.run_sql(plan.clone(), params, described).await,
                }
            }
            Plan::Lock(tables) => {
                if !matches!(&self.tx, TxState::Active(tx) if !tx.implicit) {
                    return Err(Error::new(
                        SqlState::NoActiveSqlTransaction,
                        "LOCK TABLE can only be used in transaction blocks",
                    ));
                }
                let catalog = self.store.catalog();
                if let Some(missing) = tables
                    .iter()
                    .find(|t| catalog.table(crate::catalog::unqualified(t)).is_none())
                {
                    return Err(Error::new(
                        SqlState::UndefinedTable,
                        format!("relation \"{missing}\" does not exist"),
                    ));
                }
                self.ensure_writer().await?;
                command("LOCK TABLE")
            }
            Plan::Explain(sql) => self.explain(sql, params).await,
            Plan::Subscribe {
                query,
                params: args,
            } => self.subscribe_live(query, args, &params).await,
            Plan::Unsubscribe(channel) => self.unsubscribe_live(channel, &params),
            Plan::ListenDurable { channel, consumer } => {
                self.listen_durable(channel, consumer, &params).await
            }
            Plan::Ack { consumer, id } => self.ack(consumer, id, &params).await,
            Plan::DeclareSubscribe { cursor, query } => self.declare_subscribe(cursor, query).await,
            Plan::Fetch(fetch) => self.fetch(fetch).await,
            Plan::CloseCursor(name) => self.close_cursor(name.as_deref()),
            Plan::Listen(channel) => {
                self.change_listening(ListenChange::Listen(channel.clone()));
                command("LISTEN")
            }
            Plan::Unlisten(channel) => {
                self.change_listening(match channel {
                    Some(c) => ListenChange::Unlisten(c.clone()),
                    None => ListenChange::UnlistenAll,
                });
                command("UNLISTEN")
            }
            Plan::Notify { channel, payload } => {
                self.notify(channel.clone(), payload.clone()).await?;
                command("NOTIFY")
            }
        }
    }

    /// Queues a NOTICE or WARNING for the client, unless its
    /// `client_min_messages` is above that level.
    fn warn(&mut self, state: SqlState, message: &str) {
        let notice = Notice::new(state, message);
        let minimum = self.settings.get("client_min_messages");
        if minimum.is_none_or(|m| reaches(notice.severity(), &m)) {
            self.notices.push(notice);
        }
    }

    fn check_savepoint(&self, name: &str) -> Result<()> {
        let known = match &self.tx {
            TxState::Active(tx) | TxState::Failed(tx) => {
                tx.savepoints.iter().any(|s| s.name == *name)
            }
            TxState::Idle => {
                return Err(Error::new(
                    SqlState::NoActiveSqlTransaction,
                    "ROLLBACK TO SAVEPOINT can only be used in transaction blocks",
                ));
            }
        };
        if known {
            Ok(())
        } else {
            Err(Error::new(
                SqlState::InvalidSavepointSpecification,
                format!("savepoint \"{name}\" does not exist"),
            ))
        }
    }

    fn show(&self, name: &str) -> Result<Outcome> {
        let key = match name {
            "time zone" => "timezone",
            "transaction isolation level" => "transaction_isolation",
            other => other,
        };
        let value = self.settings.get(key).ok_or_else(|| {
            Error::new(
                SqlState::UndefinedObject,
                format!("unrecognized configuration parameter \"{name}\""),
            )
        })?;
        let columns = Arc::new(vec![Described::plain(key, PgType::Text)]);
        Ok(Outcome::Rows {
            columns,
            rows: vec![vec![Value::Text(value)]],
            tag: "SHOW".into(),
        })
    }

    async fn commit(&mut self) -> Result<Outcome> {
        match std::mem::replace(&mut self.tx, TxState::Idle) {
            TxState::Idle => {
                self.warn(
                    SqlState::NoActiveSqlTransaction,
                    "there is no transaction in progress",
                );
                Ok(Outcome::Command {
                    tag: "COMMIT".into(),
                })
            }
            TxState::Failed(tx) => {
                self.end(tx, false).await?;
                Ok(Outcome::Command {
                    tag: "ROLLBACK".into(),
                })
            }
            TxState::Active(mut tx) => {
                let mut notifications = tx.pending.take_notifications(self.pid);
                let listens = std::mem::take(&mut tx.pending.listens);
                let durable = self.hub.durable_channels();
                if notifications.iter().any(|n| durable.contains(&n.channel)) {
                    // Durable messages are written in the committing transaction.
                    let guard = match tx.writer.take() {
                        Some(guard) => guard,
                        None => {
                            let guard = self.store.writer(self.settings.lock_timeout()).await?;
                            let (guard, begun) =
                                on_conn(&self.cancel, guard, |conn| exec::begin_write(conn)).await;
                            begun?;
                            guard
                        }
                    };
                    let (guard, recorded) = on_conn(&self.cancel, guard, move |conn| {
                        let result =
                            crate::notify::durable::record(conn, &durable, &mut notifications);
                        result.map(|_| notifications)
                    })
                    .await;
                    tx.writer = Some(guard);
                    notifications = recorded?;
                }
                self.end(tx, true).await?;
                // Committed: LISTEN changes take effect, notifications go out.
                for change in listens {
                    self.apply_listening(change);
                }
                self.hub.publish_held(notifications, &mut self.fanout);
                Ok(Outcome::Command {
                    tag: "COMMIT".into(),
                })
            }
        }
    }

    /// NOTIFY / pg_notify: held until commit inside a transaction, sent at once
    /// otherwise.
    async fn notify(&mut self, channel: String, payload: String) -> Result<()> {
        match &mut self.tx {
            TxState::Active(tx) | TxState::Failed(tx) => {
                tx.pending.notify(channel, payload);
                Ok(())
            }
            TxState::Idle => {
                let n = vec![Notification::new(channel, payload, self.pid)];
                let (store, hub) = (&self.store, &self.hub);
                crate::notify::durable::publish_held(store, hub, n, &mut self.fanout).await
            }
        }
    }

    /// LISTEN / UNLISTEN: inside a transaction they take effect at commit.
    fn change_listening(&mut self, change: ListenChange) {
        match &mut self.tx {
            TxState::Active(tx) | TxState::Failed(tx) => tx.pending.listens.push(change),
            TxState::Idle => self.apply_listening(change),
        }
    }

    fn apply_listening(&mut self, change: ListenChange) {
        match change {
            ListenChange::Listen(c) => {
                self.hub.listen(&c, &self.listener);
                self.listening.insert(c);
            }
            ListenChange::Unlisten(c) => {
                self.hub.unlisten(&c, &self.listener);
                self.listening.remove(&c);
            }
            ListenChange::UnlistenAll => {
                self.hub.unlisten_all(&self.listener);
                self.listening.clear();
            }
        }
    }

    /// Ends the session: an open transaction is rolled back, LISTENs dropped.
    pub async fn close(&mut self) {
        let _ = self.rollback().await;
        self.end_all_live();
        self.hub.unlisten_all(&self.listener);
    }

    /// Whether the hub cut this session off for not reading its notifications.
    pub fn lagging(&self) -> bool {
        self.listener.is_lagging()
    }

    /// Opens an implicit transaction if none is open (see [`Tx::implicit`]).
    pub fn begin_implicit(&mut self) {
        if !self.in_transaction() {
            self.tx = TxState::Active(Tx::new(true, &self.settings));
        }
    }

    /// Ends an implicit transaction: committed if it succeeded, rolled back if it
    /// failed. An explicit transaction is left open.
    pub async fn end_implicit(&mut self) -> Result<()> {
        let (implicit, failed) = match &self.tx {
            TxState::Active(tx) => (tx.implicit, false),
            TxState::Failed(tx) => (tx.implicit, true),
            TxState::Idle => (false, false),
        };
        let ended = match (implicit, failed) {
            (true, false) => self.commit().await.map(|_| ()),
            (true, true) => self.rollback().await,
            (false, _) => return Ok(()),
        };
        self.store.advisory().end_transaction(self.pid);
        ended
    }

    /// Ends any open transaction without committing (ROLLBACK, or connection end).
    pub async fn rollback(&mut self) -> Result<()> {
        match std::mem::replace(&mut self.tx, TxState::Idle) {
            TxState::Idle => Ok(()),
            TxState::Active(tx) | TxState::Failed(tx) => self.end(tx, false).await,
        }
    }

    /// Makes sure the open transaction holds the writer (for SAVEPOINT and writes).
    async fn ensure_writer(&mut self) -> Result<()> {
        let timeout = self.settings.lock_timeout();
        let (TxState::Active(tx) | TxState::Failed(tx)) = &mut self.tx else {
            return Ok(());
        };
        if tx.writer.is_none() {
            let guard = self.store.writer(timeout).await?;
            let (guard, result) =
                on_conn(&self.cancel, guard, |conn| exec::begin_write(conn)).await;
            result?;
            tx.writer = Some(guard);
        }
        Ok(())
    }

    async fn run_on_writer(&mut self, sql: String) -> Result<()> {
        self.ensure_writer().await?;
        let (TxState::Active(tx) | TxState::Failed(tx)) = &mut self.tx else {
            unreachable!("checked by caller")
        };
        let guard = tx.writer.take().expect("ensure_writer took it");
        let (guard, result) = on_conn(&self.cancel, guard, move |conn| {
            conn.sqlite.execute_batch(&sql)
        })
        .await;
        tx.writer = Some(guard);
        result.map_err(Error::from)
    }

    /// Runs translated SQL where it belongs (see the module doc) and types its
    /// result columns.
    async fn run_sql(
        &mut self,
        plan: Arc<SqlPlan>,
        params: Vec<Value>,
        described: Option<Arc<Vec<Described>>>,
    ) -> Result<Outcome> {
        let need_meta = described.is_none() && returns_rows(&plan) && !exec::fully_typed(&plan);
        // now() is the transaction's start, or this statement's outside one.
        let now = match &self.tx {
            TxState::Active(tx) | TxState::Failed(tx) => tx.started,
            TxState::Idle => Utc::now(),
        };
        let pid = self.pid;
        let listening: Vec<String> = self.listening.iter().cloned().collect();
        let identity = self.identity.clone();
        let settings = self.settings.clone();
        let holds_writer =
            matches!(&self.tx, TxState::Active(tx) | TxState::Failed(tx) if tx.writer.is_some());
        // A write outside a transaction block is a transaction of its own.
        let autocommit = !self.in_transaction() && plan.access != Access::Read;
        let work = {
            let plan = plan.clone();
            let store = self.store.clone();
            move |conn: &mut Conn| -> Result<StatementResult> {
                conn.context.begin_statement(now, pid, listening);
                conn.context.set_identity(&identity.0, &identity.1);
                conn.context.set_settings(settings);
                let meta = if need_meta {
                    Some(exec::describe(conn, &plan.sql)?.0)
                } else {
                    None
                };
                let run = |conn: &Conn| {
                    let output = exec::execute(conn, &plan.sql, &plan.after, &params)?;
                    if plan.access == Access::Schema {
                        store.schema_changed(conn)?;
                    }
                    Ok(output)
                };
                let result = if autocommit {
                    exec::in_write_transaction(conn, run)
                } else {
                    run(conn)
                };
                Ok(StatementResult {
                    output: result?,
                    meta,
                    notifications: conn.context.take_notifications(),
                    set_configs: conn.context.take_set_configs(),
                })
            }
        };
        // A statement that meets an advisory lock another session holds runs
        // again once some lock is freed (see `store::advisory`).
        let started = tokio::time::Instant::now();
        let StatementResult {
            output,
            meta,
            notifications,
            set_configs,
        } = loop {
            let mut released = self.store.advisory().released();
            match self.dispatch(&plan, holds_writer, work.clone()).await {
                Err(e) if advisory::is_busy(&e) => {
                    self.wait_for_advisory(&mut released, started).await?
                }
                result => break result?,
            }
        };
        for (channel, payload) in notifications {
            self.notify(channel, payload).await?;
        }
        for (name, value, local) in set_configs {
            self.set(&name, Some(value), local)?;
        }
        if !returns_rows(&plan) {
            return Ok(Outcome::Command {
                tag: command_tag(&plan, output.changes),
            });
        }
        let columns = match described {
            Some(d) => d,
            None => Arc::new(self.resolve_columns(&plan, meta.as_deref(), output.rows.first())),
        };
        let tag = command_tag(&plan, output.rows.len() as u64);
        Ok(Outcome::Rows {
            columns,
            rows: output.rows,
            tag,
        })
    }

    /// Runs `work` where `plan` belongs: on the writer for writes and for a
    /// transaction that holds it (an autocommit write commits on its own),
    /// else on a reader.
    async fn dispatch<F>(
        &mut self,
        plan: &SqlPlan,
        holds_writer: bool,
        work: F,
    ) -> Result<StatementResult>
    where
        F: FnOnce(&mut Conn) -> Result<StatementResult> + Send + 'static,
    {
        if holds_writer || plan.access != Access::Read {
            if self.in_transaction() {
                self.ensure_writer().await?;
                let TxState::Active(tx) = &mut self.tx else {
                    return Err(Error::in_failed_transaction());
                };
                let guard = tx.writer.take().expect("ensure_writer took it");
                tx.changed_schema |= plan.access == Access::Schema;
                let (guard, result) = on_conn(&self.cancel, guard, work).await;
                tx.writer = Some(guard);
                result
            } else {
                let guard = self.store.writer(self.settings.lock_timeout()).await?;
                let result = on_conn(&self.cancel, guard, work).await.1?;
                self.store.committed();
                Ok(result)
            }
        } else {
            let reader = self.store.reader().await;
            on_conn(&self.cancel, reader, work).await.1
        }
    }

    /// Waits until some advisory lock is freed (`released` moved since this
    /// try of the statement began), the client cancels, or a `lock_timeout`
    /// the client chose passes since the statement `started` (litewire's
    /// default bounds waits for the writer; advisory locks wait for ever by
    /// default, as in Postgres).
    async fn wait_for_advisory(
        &self,
        released: &mut watch::Receiver<u64>,
        started: tokio::time::Instant,
    ) -> Result<()> {
        let timeout = Some(self.settings.lock_timeout())
            .filter(|t| self.settings.chosen("lock_timeout") && !t.is_zero());
        let expired = async {
            match timeout {
                Some(t) => tokio::time::sleep_until(started + t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = released.changed() => {
                changed.map_err(|_| Error::internal("advisory locks dropped"))
            }
            () = self.cancel.cancelled() => Err(Error::new(
                SqlState::QueryCanceled,
                "canceling statement due to user request",
            )),
            () = expired => Err(Error::new(
                SqlState::LockNotAvailable,
                "canceling statement due to lock timeout",
            )),
        }
    }

    /// Describes a statement's result columns without running it.
    pub async fn describe(&mut self, plan: &Plan) -> Result<Option<Arc<Vec<Described>>>> {
        let sql = match plan {
            Plan::Sql(sql) if returns_rows(sql) => sql,
            Plan::Show(name) => {
                return Ok(Some(Arc::new(vec![Described::plain(
                    name.clone(),
                    PgType::Text,
                )])));
            }
            Plan::Subscribe { .. } => return Ok(Some(Arc::new(live::subscribe_columns()))),
            Plan::ListenDurable { .. } => return Ok(Some(Arc::new(durable::listen_columns()))),
            Plan::Ack { .. } => return Ok(Some(Arc::new(durable::ack_columns()))),
            Plan::Fetch(fetch) => return Ok(Some(Arc::new(self.cursor_columns(&fetch.cursor)?))),
            Plan::Unsubscribe(_) => return Ok(Some(Arc::new(live::unsubscribe_columns()))),
            Plan::Explain(_) => return Ok(Some(Arc::new(explain_columns()))),
            _ => return Ok(None),
        };
        if exec::fully_typed(sql) {
            return Ok(Some(Arc::new(self.resolve_columns(sql, None, None))));
        }
        let text = sql.sql.clone();
        let meta = self
            .inspect(move |conn| exec::describe(conn, &text))
            .await?;
        Ok(Some(Arc::new(self.resolve_columns(
            sql,
            Some(&meta.0),
            None,
        ))))
    }

    /// Runs `f` where this session sees the schema: on the writer it holds
    /// (its uncommitted DDL included), else on a reader.
    async fn inspect<R, F>(&mut self, f: F) -> R
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> R + Send + 'static,
    {
        match &mut self.tx {
            TxState::Active(tx) | TxState::Failed(tx) if tx.writer.is_some() => {
                let guard = tx.writer.take().expect("checked");
                let (guard, result) = on_conn(&self.cancel, guard, f).await;
                tx.writer = Some(guard);
                result
            }
            _ => {
                let reader = self.store.reader().await;
                on_conn(&self.cancel, reader, f).await.1
            }
        }
    }

    /// `EXPLAIN`: SQLite's plan of the translated statement, without running it.
    async fn explain(&mut self, plan: &SqlPlan, params: Vec<Value>) -> Result<Outcome> {
        let text = plan.sql.clone();
        let lines = self
            .inspect(move |conn| exec::explain(conn, &text, &params))
            .await?;
        Ok(Outcome::Rows {
            columns: Arc::new(explain_columns()),
            tag: format!("EXPLAIN {}", lines.len()),
            rows: lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
        })
    }

    /// Types each result column: the translator's type, else the origin
    /// column's declared type, else SQLite's declared type, else the first
    /// row's value, else text.
    fn resolve_columns(
        &self,
        plan: &SqlPlan,
        meta: Option<&[ColumnMeta]>,
        first: Option<&Vec<Value>>,
    ) -> Vec<Described> {
        exec::column_types(plan, meta, &self.store.catalog(), first)
            .into_iter()
            .map(|(name, ct)| Described {
                name,
                ty: ct.ty,
                typmod: ct.typmod(),
                oid: ct.oid(),
            })
            .collect()
    }
}

/// A session's advisory locks end with it, however its connection ended.
impl Drop for Session {
    fn drop(&mut self) {
        self.store.advisory().end_session(self.pid);
    }
}

/// What running a statement produced.
struct StatementResult {
    output: Output,
    /// SQLite's column metadata, when asked for.
    meta: Option<Vec<ColumnMeta>>,
    /// What `pg_notify()` queued: (channel, payload).
    notifications: Vec<(String, String)>,
    /// What `set_config()` changed: (name, value, is_local).
    set_configs: Vec<(String, String, bool)>,
}

/// [`blocking`] with the connection published in `slot` while `f` runs.
async fn on_conn<G, R, F>(slot: &CancelSlot, guard: G, f: F) -> (G, R)
where
    G: std::ops::DerefMut<Target = Conn> + Send + 'static,
    R: Send + 'static,
    F: FnOnce(&mut Conn) -> R + Send + 'static,
{
    let slot = slot.clone();
    blocking(guard, move |conn| {
        slot.set(Some(conn.interrupt.clone()));
        let result = f(conn);
        slot.set(None);
        result
    })
    .await
}

async fn finish(tx: Tx, commit: bool, store: &Arc<Store>) -> Result<()> {
    let Some(guard) = tx.writer else {
        return Ok(());
    };
    let changed_schema = tx.changed_schema;
    let catalog_store = store.clone();
    let (_guard, result) = blocking(guard, move |conn| {
        let result = if commit {
            exec::commit_write(conn)
        } else {
            conn.sqlite.execute_batch("ROLLBACK").map_err(Error::from)
        };
        if result.is_err() && !conn.sqlite.is_autocommit() {
            let _ = conn.sqlite.execute_batch("ROLLBACK");
        }
        if changed_schema {
            // DDL may have been undone; the catalog must follow.
            let _ = catalog_store.reload_catalog(conn);
        }
        result
    })
    .await;
    if result.is_ok() && commit {
        store.committed();
    }
    result
}

/// EXPLAIN's one result column, as Postgres names it.
fn explain_columns() -> Vec<Described> {
    vec![Described::plain("QUERY PLAN", PgType::Text)]
}

fn returns_rows(plan: &SqlPlan) -> bool {
    plan.tag == "SELECT" || plan.columns.is_some()
}

/// `INSERT 0 n`, `UPDATE n`, `SELECT n`, `CREATE TABLE`, ...
fn command_tag(plan: &SqlPlan, count: u64) -> String {
    match plan.tag {
        "INSERT" => format!("INSERT 0 {count}"),
        "SELECT" | "UPDATE" | "DELETE" => format!("{} {count}", plan.tag),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod notice_tests {
    use super::reaches;

    #[test]
    fn client_min_messages_filters_by_level() {
        assert!(reaches("NOTICE", "notice"));
        assert!(reaches("WARNING", "notice"));
        assert!(!reaches("NOTICE", "warning"));
        assert!(reaches("WARNING", "WARNING"));
        assert!(!reaches("WARNING", "error"));
        assert!(reaches("NOTICE", "debug1"));
    }
}
