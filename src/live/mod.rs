//! Live queries: a client registers a parameterized SELECT once and then
//! holds an always-correct copy of its result — a snapshot at an LSN, then a
//! diff (`insert`, `update`, `delete`, identified by key) for every later
//! commit that changes the result.
//!
//! One engine task follows the change stream for every live query, like the
//! table feeds: it takes a query's snapshot together with the LSN it reflects
//! ([`eval`]) and from then on handles only changes after that LSN, so no
//! commit is missed or repeated around the snapshot. How a query is kept
//! current depends on its shape ([`query`]): single-table filters are
//! decided row by row in memory and indexed by their equality parameter;
//! everything else is re-run (once per batch of commits) and diffed by key.
//! A query that fails is reported to its own subscriber and dropped; the
//! others go on.

pub mod dsl;
pub mod eval;
pub mod query;
pub mod restrict;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value as Json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::catalog::Table;
use crate::changes;
use crate::changes::{
    Change, ChangeBatch, ChangeError, ChangeStream, Follower, Following, Op, follow,
};
use crate::error::{Error, Result};
use crate::store::Store;
use eval::{Prepared, Snapshot};
use query::{Shape, index_key};

/// Changes read per step while replaying a resumed subscription.
const REPLAY_CHUNK: i64 = 1_000;

pub type LiveId = u64;

/// What a subscriber receives, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// The whole result as of `lsn`; `key` names the columns that identify a
    /// row in diffs.
    Snapshot {
        lsn: i64,
        columns: Vec<String>,
        key: Vec<String>,
        rows: Vec<Map<String, Json>>,
    },
    /// Resuming was impossible (history compacted, or a re-run query cannot
    /// replay); a fresh snapshot follows.
    Resnapshot {
        reason: String,
    },
    Diff(Diff),
    /// The query failed; the subscription has ended.
    Failed(Error),
}

/// One row entering, changing in or leaving the result.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    pub lsn: i64,
    pub op: Op,
    /// The row's key columns and their values.
    pub key: Json,
    pub row: Option<Json>,
    pub old: Option<Json>,
}

impl Diff {
    /// `{"lsn","op","key","row","old"}`, as every door sends it.
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "lsn": self.lsn,
            "op": self.op.as_str(),
            "key": self.key,
            "row": self.row,
            "old": self.old,
        })
    }
}

/// Where a subscription's events go. `send` must not block; `false` (the
/// subscriber is gone or too slow) ends the subscription.
pub trait Sink: Send + Sync + 'static {
    fn send(&self, event: LiveEvent) -> bool;
}

enum Command {
    Add(LiveId, Box<Pending>),
    Remove(LiveId),
}

/// A prepared live query, not started yet.
pub struct Ticket {
    pub id: LiveId,
    pending: Box<Pending>,
}

struct Pending {
    prepared: Arc<Prepared>,
    shape: Shape,
    since: Option<i64>,
    sink: Arc<dyn Sink>,
}

pub struct LiveEngine {
    store: Arc<Store>,
    commands: mpsc::UnboundedSender<Command>,
    next: AtomicU64,
}

impl LiveEngine {
    pub fn start(
        store: Arc<Store>,
        changes: Arc<ChangeStream>,
        shutdown: CancellationToken,
    ) -> Arc<LiveEngine> {
        let (commands, rx) = mpsc::unbounded_channel();
        let engine = Engine {
            store: store.clone(),
            following: Following::new(changes),
            subs: HashMap::new(),
            tables: HashMap::new(),
        };
        tokio::spawn(follow(engine, rx, shutdown));
        Arc::new(LiveEngine {
            store,
            commands,
            next: AtomicU64::new(1),
        })
    }

    /// The tables `sql` reads, for the doors' access checks.
    pub fn tables(&self, sql: &str, params: &[Json]) -> Result<Vec<String>> {
        Ok(query::analyze(sql, params, &self.store.catalog())?.tables())
    }

    /// Checks and prepares a live query; errors in the query itself come back
    /// here. Nothing is sent to `sink` until [`LiveEngine::begin`], so a door
    /// can acknowledge the subscription first.
    pub fn prepare(
        &self,
        sql: &str,
        params: &[Json],
        since: Option<i64>,
        sink: Arc<dyn Sink>,
    ) -> Result<Ticket> {
        self.prepare_restricted(sql, params, &[], since, sink)
    }

    /// [`LiveEngine::prepare`] for a caller who reads some tables through row
    /// filters (see [`restrict`]).
    pub fn prepare_restricted(
        &self,
        sql: &str,
        params: &[Json],
        filters: &[(restrict::RowFilter, changes::filter::Predicate)],
        since: Option<i64>,
        sink: Arc<dyn Sink>,
    ) -> Result<Ticket> {
        let mut shape = query::analyze(sql, params, &self.store.catalog())?;
        if let Shape::Incremental {
            table, predicate, ..
        } = &mut shape
            && let Some((_, role)) = filters.iter().find(|(f, _)| f.table == *table)
        {
            *predicate = changes::filter::Predicate::And(vec![predicate.clone(), role.clone()]);
        }
        let row_filters: Vec<restrict::RowFilter> =
            filters.iter().map(|(f, _)| f.clone()).collect();
        let visible = restrict::restrict(sql, &row_filters)?;
        let prepared = Arc::new(Prepared::new(&self.store, &visible, params)?);
        Ok(Ticket {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            pending: Box::new(Pending {
                prepared,
                shape,
                since,
                sink,
            }),
        })
    }

    /// Starts a prepared live query: its snapshot (or replay) and then its
    /// diffs go to its sink.
    pub fn begin(&self, ticket: Ticket) -> LiveId {
        let id = ticket.id;
        let _ = self.commands.send(Command::Add(id, ticket.pending));
        id
    }

    pub fn unsubscribe(&self, id: LiveId) {
        let _ = self.commands.send(Command::Remove(id));
    }
}

struct Sub {
    prepared: Arc<Prepared>,
    shape: Shape,
    sink: Arc<dyn Sink>,
    /// Changes up to this LSN are in what the subscriber has.
    after: i64,
    key: Vec<String>,
    /// A re-run query's last result, by key.
    current: HashMap<String, Map<String, Json>>,
}

/// The live queries on one table.
#[derive(Default)]
struct TableSubs {
    /// Incremental queries by their equality column and value.
    by_value: HashMap<String, HashMap<String, Vec<LiveId>>>,
    /// Incremental queries without an equality conjunct.
    unindexed: Vec<LiveId>,
    rerun: Vec<LiveId>,
}

struct Engine {
    store: Arc<Store>,
    following: Following,
    subs: HashMap<LiveId, Sub>,
    tables: HashMap<String, TableSubs>,
}

impl Follower for Engine {
    type Command = Command;

    fn following(&mut self) -> &mut Following {
        &mut self.following
    }

    fn is_idle(&self) -> bool {
        self.subs.is_empty()
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Add(id, pending) => self.add(id, *pending).await,
            Command::Remove(id) => self.remove(id),
        }
    }

    async fn batch(&mut self, batch: ChangeBatch) {
        self.on_batch(&batch).await;
    }

    fn fell_behind(&mut self, error: ChangeError) {
        let error = Error::from(error);
        for (_, sub) in self.subs.drain() {
            sub.sink.send(LiveEvent::Failed(error.clone()));
        }
        self.tables.clear();
    }
}

impl Engine {
    async fn add(&mut self, id: LiveId, p: Pending) {
        let position = self.following.position();
        let mut sub = Sub {
            prepared: p.prepared,
            shape: p.shape,
            sink: p.sink,
            after: position,
            key: Vec::new(),
            current: HashMap::new(),
        };
        if let Shape::Incremental { table, .. } = &sub.shape {
            sub.key = self
                .store
                .catalog()
                .table(table)
                .map(Table::primary_key)
                .unwrap_or_default();
        }
        let resumed = match (p.since, &sub.shape) {
            (None, _) => false,
            (Some(since), Shape::Incremental { .. }) => {
                match self.replay(&mut sub, since, position).await {
                    Ok(true) => true,
                    Ok(false) => return,
                    Err(reason) => {
                        if !sub.sink.send(LiveEvent::Resnapshot { reason }) {
                            return;
                        }
                        false
                    }
                }
            }
            (Some(_), Shape::Rerun { .. }) => {
                let reason = "a query that is re-run (joins, aggregates, LIMIT, expressions) cannot replay; here is a fresh snapshot".to_string();
                if !sub.sink.send(LiveEvent::Resnapshot { reason }) {
                    return;
                }
                false
            }
        };
        if !resumed {
            let snapshot = match sub.prepared.run(&self.store).await {
                Ok(s) => s,
                Err(e) => {
                    sub.sink.send(LiveEvent::Failed(e));
                    return;
                }
            };
            if !self.start_from(&mut sub, snapshot) {
                return;
            }
        }
        self.index(id, &sub);
        self.subs.insert(id, sub);
        metrics::gauge!(crate::metrics::LIVE_QUERIES).set(self.subs.len() as f64);
    }

    /// Sends the snapshot and sets the subscription to follow from its LSN.
    fn start_from(&self, sub: &mut Sub, snapshot: Snapshot) -> bool {
        if let Shape::Rerun { tables, group_by } = &sub.shape {
            sub.key = rerun_key(&self.store, tables, group_by, &snapshot.columns);
            sub.current = keyed(&sub.key, &snapshot.rows);
        }
        sub.after = snapshot.lsn;
        sub.sink.send(LiveEvent::Snapshot {
            lsn: snapshot.lsn,
            columns: snapshot.columns,
            key: sub.key.clone(),
            rows: snapshot.rows,
        })
    }

    /// Replays changes after `since` up to `position` to an incremental
    /// subscription; `Ok(false)` when its subscriber went away, `Err` (the
    /// reason) when history no longer reaches back to `since`.
    async fn replay(
        &self,
        sub: &mut Sub,
        since: i64,
        position: i64,
    ) -> std::result::Result<bool, String> {
        let mut from = since;
        while from < position {
            let changes = self
                .following
                .stream()
                .read_since(from, REPLAY_CHUNK)
                .await
                .map_err(|e| Error::from(e).message)?;
            let Some(last) = changes.last().map(|c| c.lsn) else {
                break;
            };
            for change in changes.iter().filter(|c| c.lsn <= position) {
                if let Some(event) = incremental(sub, change)
                    && !sub.sink.send(event)
                {
                    return Ok(false);
                }
            }
            from = last;
        }
        sub.after = position;
        Ok(true)
    }

    fn index(&mut self, id: LiveId, sub: &Sub) {
        match &sub.shape {
            Shape::Incremental { table, index, .. } => {
                let subs = self.tables.entry(table.clone()).or_default();
                match index
                    .as_ref()
                    .and_then(|(col, v)| Some((col, index_key(v)?)))
                {
                    Some((col, key)) => subs
                        .by_value
                        .entry(col.clone())
                        .or_default()
                        .entry(key)
                        .or_default()
                        .push(id),
                    None => subs.unindexed.push(id),
                }
            }
            Shape::Rerun { tables, .. } => {
                for table in tables {
                    self.tables.entry(table.clone()).or_default().rerun.push(id);
                }
            }
        }
    }

    fn remove(&mut self, id: LiveId) {
        if self.subs.remove(&id).is_none() {
            return;
        }
        metrics::gauge!(crate::metrics::LIVE_QUERIES).set(self.subs.len() as f64);
        for subs in self.tables.values_mut() {
            subs.unindexed.retain(|s| *s != id);
            subs.rerun.retain(|s| *s != id);
            for values in subs.by_value.values_mut() {
                for ids in values.values_mut() {
                    ids.retain(|s| *s != id);
                }
                values.retain(|_, ids| !ids.is_empty());
            }
        }
    }

    /// The incremental subscriptions `change` can affect: those indexed by a
    /// value the old or new row has, and the unindexed ones.
    fn candidates(subs: &TableSubs, change: &Change) -> BTreeSet<LiveId> {
        let mut ids: BTreeSet<LiveId> = subs.unindexed.iter().copied().collect();
        for (column, values) in &subs.by_value {
            for row in [&change.row, &change.old].into_iter().flatten() {
                if let Some(found) = row
                    .get(column)
                    .and_then(index_key)
                    .and_then(|k| values.get(&k))
                {
                    ids.extend(found);
                }
            }
        }
        ids
    }

    async fn on_batch(&mut self, batch: &[Change]) {
        let mut dirty = BTreeSet::new();
        let mut gone = Vec::new();
        for change in batch {
            let Some(subs) = self.tables.get(&change.table) else {
                continue;
            };
            dirty.extend(
                subs.rerun
                    .iter()
                    .filter(|id| self.subs[*id].after < change.lsn),
            );
            for id in Self::candidates(subs, change) {
                let sub = &self.subs[&id];
                if sub.after >= change.lsn {
                    continue;
                }
                if let Some(event) = incremental(sub, change)
                    && !sub.sink.send(event)
                {
                    gone.push(id);
                }
            }
        }
        for id in dirty {
            if !self.rerun(id).await {
                gone.push(id);
            }
        }
        for id in gone {
            self.remove(id);
        }
    }

    /// Re-runs a query and sends what changed; `false` ends it.
    async fn rerun(&mut self, id: LiveId) -> bool {
        let Some(sub) = self.subs.get_mut(&id) else {
            return true;
        };
        metrics::counter!(crate::metrics::LIVE_RERUNS).increment(1);
        let snapshot = match sub.prepared.run(&self.store).await {
            Ok(s) => s,
            Err(e) => {
                sub.sink.send(LiveEvent::Failed(e));
                return false;
            }
        };
        if snapshot.lsn <= sub.after {
            return true;
        }
        let next = keyed(&sub.key, &snapshot.rows);
        let lsn = snapshot.lsn;
        let diff =
            |op, key: &str, row: Option<&Map<String, Json>>, old: Option<&Map<String, Json>>| {
                LiveEvent::Diff(Diff {
                    lsn,
                    op,
                    key: serde_json::from_str(key.split_once('#').map_or(key, |(k, _)| k))
                        .unwrap_or(Json::Null),
                    row: row.map(|r| Json::Object(r.clone())),
                    old: old.map(|r| Json::Object(r.clone())),
                })
            };
        let mut events = Vec::new();
        for (key, old) in &sub.current {
            match next.get(key) {
                None => events.push(diff(Op::Delete, key, None, Some(old))),
                Some(row) if row != old => events.push(diff(Op::Update, key, Some(row), Some(old))),
                Some(_) => {}
            }
        }
        // Inserted rows, in result order.
        for (key, row) in ordered(&sub.key, &snapshot.rows) {
            if !sub.current.contains_key(&key) {
                events.push(diff(Op::Insert, &key, Some(row), None));
            }
        }
        sub.current = next;
        sub.after = lsn;
        events.into_iter().all(|e| sub.sink.send(e))
    }
}

/// The change as an incremental subscription sees it, projected to its
/// columns; `None` when it does not touch the result.
fn incremental(sub: &Sub, change: &Change) -> Option<LiveEvent> {
    let Shape::Incremental {
        table,
        predicate,
        columns,
        ..
    } = &sub.shape
    else {
        return None;
    };
    if &change.table != table {
        return None;
    }
    let seen = predicate.view(change)?;
    let project = |row: Option<&Json>| {
        row.map(|r| match (columns, r) {
            (Some(cols), Json::Object(all)) => Json::Object(
                cols.iter()
                    .filter_map(|c| all.get_key_value(c))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            (_, r) => r.clone(),
        })
    };
    let (row, old) = (project(seen.row), project(seen.old));
    if seen.op == Op::Update && row == old {
        return None;
    }
    Some(LiveEvent::Diff(Diff {
        lsn: change.lsn,
        op: seen.op,
        key: change.pk.clone(),
        row,
        old,
    }))
}

/// The key columns of a re-run query's result: the table's primary key when it
/// reads one table and returns its key, else the grouping columns, else the
/// whole row.
fn rerun_key(
    store: &Store,
    tables: &BTreeSet<String>,
    group_by: &[String],
    columns: &[String],
) -> Vec<String> {
    let catalog = store.catalog();
    let pk: Vec<String> = match (tables.len(), tables.iter().next()) {
        (1, Some(t)) => catalog.table(t).map(Table::primary_key).unwrap_or_default(),
        _ => Vec::new(),
    };
    let present = |cols: &[String]| !cols.is_empty() && cols.iter().all(|c| columns.contains(c));
    if present(&pk) {
        pk
    } else if present(group_by) {
        group_by.to_vec()
    } else {
        columns.to_vec()
    }
}

/// Rows with their key text, in result order; a key seen again gets `#n`, so
/// duplicate rows stay distinct.
fn ordered<'a>(
    key: &[String],
    rows: &'a [Map<String, Json>],
) -> Vec<(String, &'a Map<String, Json>)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    rows.iter()
        .map(|row| {
            let k: Map<String, Json> = key
                .iter()
                .map(|c| (c.clone(), row.get(c).cloned().unwrap_or(Json::Null)))
                .collect();
            let text = Json::Object(k).to_string();
            let n = seen.entry(text.clone()).or_insert(0);
            *n += 1;
            let text = if *n > 1 { format!("{text}#{n}") } else { text };
            (text, row)
        })
        .collect()
}

fn keyed(key: &[String], rows: &[Map<String, Json>]) -> HashMap<String, Map<String, Json>> {
    ordered(key, rows)
        .into_iter()
        .map(|(k, r)| (k, r.clone()))
        .collect()
}
