//! Live queries over the wire: `SELECT * FROM litewire.subscribe(sql,
//! params)` registers the query with the live engine and answers with its
//! snapshot — one row per result row (`op` = `snapshot`) and a final `ready`
//! row carrying the LSN the snapshot reflects, each naming the
//! subscription's channel. The session LISTENs on that channel first, so the
//! diffs (`{"lsn","op","key","row","old"}` notifications) reach this client
//! like any NOTIFY and no driver needs new code; other sessions may LISTEN
//! too. `litewire.unsubscribe(channel)` or closing the session ends it.

use std::sync::{Arc, Mutex};

use rusqlite::types::Value;
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;

use super::{Described, ListenChange, Outcome, Session};
use crate::error::{Error, Result};
use crate::live::{LiveEvent, Sink};
use crate::notify::{Notification, NotifyHub};
use crate::translate::MAX_PAYLOAD;
use crate::translate::live::{LiveArg, LiveParams};
use crate::types::PgType;

/// How long a subscription may take to produce its snapshot.
const SNAPSHOT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Hands the snapshot to the waiting session, then publishes diffs on the
/// subscription's channel.
struct WireSink {
    channel: String,
    pid: i32,
    hub: Arc<NotifyHub>,
    snapshot: Mutex<Option<oneshot::Sender<LiveEvent>>>,
}

impl WireSink {
    fn publish(&self, payload: Json) {
        let mut text = payload.to_string();
        if text.len() > MAX_PAYLOAD {
            text = json!({
                "lsn": payload["lsn"], "op": payload["op"], "key": payload["key"], "truncated": true
            })
            .to_string();
        }
        self.hub.publish(vec![Notification::new(
            self.channel.clone(),
            text,
            self.pid,
        )]);
    }
}

impl Sink for WireSink {
    fn send(&self, event: LiveEvent) -> bool {
        let waiting = self
            .snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(waiting) = waiting {
            let alive = !matches!(event, LiveEvent::Failed(_));
            return waiting.send(event).is_ok() && alive;
        }
        match event {
            LiveEvent::Diff(diff) => {
                self.publish(diff.to_json());
                true
            }
            LiveEvent::Failed(e) => {
                self.publish(json!({"op": "error", "code": e.code().code(), "message": e.message}));
                false
            }
            // Never sent without `since`, which the wire door does not use.
            LiveEvent::Snapshot { .. } | LiveEvent::Resnapshot { .. } => true,
        }
    }
}

/// Bound parameter values as text, the way the live functions read them.
pub(super) fn bound_text(params: &[Value]) -> Vec<Option<String>> {
    params
        .iter()
        .map(|v| match v {
            Value::Null => None,
            Value::Integer(i) => Some(i.to_string()),
            Value::Real(f) => Some(f.to_string()),
            Value::Text(t) => Some(t.clone()),
            Value::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
        })
        .collect()
}

/// The result columns of `litewire.subscribe`.
pub fn subscribe_columns() -> Vec<Described> {
    [
        ("channel", PgType::Text),
        ("lsn", PgType::Int8),
        ("op", PgType::Text),
        ("row", PgType::Jsonb),
    ]
    .into_iter()
    .map(|(name, ty)| Described::plain(name, ty))
    .collect()
}

pub fn unsubscribe_columns() -> Vec<Described> {
    vec![Described::plain("unsubscribe", PgType::Bool)]
}

impl Session {
    pub(super) async fn subscribe_live(
        &mut self,
        query: &LiveArg,
        params: &LiveParams,
        bound: &[Value],
    ) -> Result<Outcome> {
        let bound = bound_text(bound);
        let sql = match query.resolve(&bound)? {
            Json::String(sql) => sql,
            other => return Err(Error::syntax(format!("a live query is text, not {other}"))),
        };
        let params = params.resolve(&bound)?;
        self.next_live += 1;
        let channel = format!("litewire_live_{}_{}", self.pid, self.next_live);
        let (tx, rx) = oneshot::channel();
        let sink = Arc::new(WireSink {
            channel: channel.clone(),
            pid: self.pid,
            hub: self.hub.clone(),
            snapshot: Mutex::new(Some(tx)),
        });
        let ticket = self.live.prepare(&sql, &params, None, sink)?;
        // Listening before the engine starts: no diff can go out unheard.
        self.apply_listening(ListenChange::Listen(channel.clone()));
        let id = self.live.begin(ticket);
        self.live_queries.insert(channel.clone(), id);
        let snapshot = match tokio::time::timeout(SNAPSHOT_TIMEOUT, rx).await {
            Ok(Ok(event)) => event,
            _ => LiveEvent::Failed(Error::internal("the live query produced no snapshot")),
        };
        let LiveEvent::Snapshot { lsn, rows, .. } = snapshot else {
            self.end_live(&channel);
            return Err(match snapshot {
                LiveEvent::Failed(e) => e,
                _ => Error::internal("unexpected live query event"),
            });
        };
        let row = |op: &str, json: Option<String>| {
            vec![
                Value::Text(channel.clone()),
                Value::Integer(lsn),
                Value::Text(op.into()),
                json.map_or(Value::Null, Value::Text),
            ]
        };
        let mut out: Vec<Vec<Value>> = rows
            .into_iter()
            .map(|r| {
                row(
                    "snapshot",
                    Some(crate::types::json::to_jsonb_text(&Json::Object(r))),
                )
            })
            .collect();
        out.push(row("ready", None));
        Ok(Outcome::Rows {
            columns: Arc::new(subscribe_columns()),
            tag: format!("SELECT {}", out.len()),
            rows: out,
        })
    }

    pub(super) fn unsubscribe_live(
        &mut self,
        channel: &LiveArg,
        bound: &[Value],
    ) -> Result<Outcome> {
        let channel = match channel.resolve(&bound_text(bound))? {
            Json::String(c) => c,
            other => other.to_string(),
        };
        let ended = self.end_live(&channel);
        Ok(Outcome::Rows {
            columns: Arc::new(unsubscribe_columns()),
            rows: vec![vec![Value::Integer(ended as i64)]],
            tag: "SELECT 1".into(),
        })
    }

    /// Ends the live query on `channel` and stops listening there.
    fn end_live(&mut self, channel: &str) -> bool {
        let Some(id) = self.live_queries.remove(channel) else {
            return false;
        };
        self.live.unsubscribe(id);
        self.apply_listening(ListenChange::Unlisten(channel.to_string()));
        true
    }

    /// Ends every live query of the session (it is closing).
    pub(super) fn end_all_live(&mut self) {
        for (_, id) in self.live_queries.drain() {
            self.live.unsubscribe(id);
        }
    }
}

/// Hands a live query's events to a streaming COPY; `false` once the COPY
/// has ended or fell too far behind.
struct StreamSink(tokio::sync::mpsc::Sender<LiveEvent>);

impl Sink for StreamSink {
    fn send(&self, event: LiveEvent) -> bool {
        self.0.try_send(event).is_ok()
    }
}

/// Events a `COPY (SUBSCRIBE ...)` may have unsent before it is ended.
const STREAM_QUEUE: usize = 10_000;

impl Session {
    /// Starts a live query whose events a streaming COPY sends itself.
    pub fn stream_live(
        &mut self,
        sql: &str,
    ) -> Result<(crate::live::LiveId, tokio::sync::mpsc::Receiver<LiveEvent>)> {
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_QUEUE);
        let ticket = self
            .live
            .prepare(sql, &[], None, Arc::new(StreamSink(tx)))?;
        Ok((self.live.begin(ticket), rx))
    }

    pub fn end_stream(&mut self, id: crate::live::LiveId) {
        self.live.unsubscribe(id);
    }
}
