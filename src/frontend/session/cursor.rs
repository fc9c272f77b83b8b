//! Materialize-style live cursors: `DECLARE c CURSOR FOR SUBSCRIBE (SELECT
//! ...)` inside a transaction block, then `FETCH ALL c [WITH (timeout =
//! '1s')]` returns what is available: first the snapshot, then each change,
//! as rows `(mz_timestamp, mz_diff, columns...)` (+1 a row enters, -1 it
//! leaves). FETCH waits (up to its timeout) for at least one row. The cursor
//! belongs to the transaction: COMMIT, ROLLBACK or CLOSE end it.

use std::collections::VecDeque;
use std::sync::Arc;

use rusqlite::types::Value;
use serde_json::{Map, Value as Json};
use tokio::sync::mpsc;

use super::{Described, Outcome, Session, TxState};
use crate::error::{Error, Result, SqlState};
use crate::live::{LiveEngine, LiveEvent, LiveId};
use crate::translate::live::Fetch;
use crate::types::PgType;

/// A live cursor: its subscription, the result columns, and rows not fetched yet.
pub(super) struct LiveCursor {
    engine: Arc<LiveEngine>,
    id: LiveId,
    events: mpsc::Receiver<LiveEvent>,
    columns: Vec<String>,
    ready: VecDeque<Vec<Value>>,
}

impl Drop for LiveCursor {
    fn drop(&mut self) {
        self.engine.unsubscribe(self.id);
    }
}

/// A row of the query as text values, after its timestamp and diff.
fn row(lsn: i64, diff: i64, columns: &[String], values: &Map<String, Json>) -> Vec<Value> {
    let mut out = vec![Value::Integer(lsn), Value::Integer(diff)];
    out.extend(columns.iter().map(|c| match values.get(c) {
        None | Some(Json::Null) => Value::Null,
        Some(Json::String(s)) => Value::Text(s.clone()),
        Some(Json::Bool(b)) => Value::Text(if *b { "t" } else { "f" }.into()),
        Some(n @ Json::Number(_)) => Value::Text(n.to_string()),
        Some(json) => Value::Text(crate::types::json::to_jsonb_text(json)),
    }));
    out
}

impl LiveCursor {
    /// Queues the rows an event stands for; an error ends the cursor.
    fn take(&mut self, event: LiveEvent) -> Result<()> {
        match event {
            LiveEvent::Diff(diff) => {
                for (values, sign) in [(diff.old, -1), (diff.row, 1)] {
                    if let Some(Json::Object(values)) = values {
                        self.ready
                            .push_back(row(diff.lsn, sign, &self.columns, &values));
                    }
                }
                Ok(())
            }
            LiveEvent::Failed(e) => Err(e),
            LiveEvent::Snapshot { .. } | LiveEvent::Resnapshot { .. } => Ok(()),
        }
    }

    fn described(&self) -> Vec<Described> {
        let column = Described::plain;
        let mut columns = vec![
            column("mz_timestamp", PgType::Int8),
            column("mz_diff", PgType::Int8),
        ];
        columns.extend(self.columns.iter().map(|c| column(c, PgType::Text)));
        columns
    }
}

impl Session {
    pub(super) async fn declare_subscribe(&mut self, cursor: &str, query: &str) -> Result<Outcome> {
        if !matches!(&self.tx, TxState::Active(tx) if !tx.implicit) {
            return Err(Error::new(
                SqlState::NoActiveSqlTransaction,
                "DECLARE CURSOR can only be used in transaction blocks",
            ));
        }
        let (id, mut events) = self.stream_live(query)?;
        let mut cursor_state = LiveCursor {
            engine: self.live.clone(),
            id,
            events: mpsc::channel(1).1,
            columns: Vec::new(),
            ready: VecDeque::new(),
        };
        match events.recv().await {
            Some(LiveEvent::Snapshot {
                lsn, columns, rows, ..
            }) => {
                cursor_state.ready = rows.iter().map(|r| row(lsn, 1, &columns, r)).collect();
                cursor_state.columns = columns;
            }
            Some(LiveEvent::Failed(e)) => return Err(e),
            _ => return Err(Error::internal("the subscription produced no snapshot")),
        }
        cursor_state.events = events;
        let TxState::Active(tx) = &mut self.tx else {
            unreachable!("checked above")
        };
        if tx
            .cursors
            .insert(cursor.to_string(), cursor_state)
            .is_some()
        {
            return Err(Error::new(
                SqlState::DuplicateCursor,
                format!("cursor \"{cursor}\" already exists"),
            ));
        }
        Ok(Outcome::Command {
            tag: "DECLARE CURSOR".into(),
        })
    }

    fn cursor(&mut self, name: &str) -> Result<&mut LiveCursor> {
        let found = match &mut self.tx {
            TxState::Active(tx) => tx.cursors.get_mut(name),
            _ => None,
        };
        found.ok_or_else(|| {
            Error::new(
                SqlState::InvalidCursorName,
                format!("cursor \"{name}\" does not exist"),
            )
        })
    }

    /// `CLOSE name` / `CLOSE ALL`.
    pub(super) fn close_cursor(&mut self, name: Option<&str>) -> Result<Outcome> {
        let cursors = match &mut self.tx {
            TxState::Active(tx) | TxState::Failed(tx) => Some(&mut tx.cursors),
            TxState::Idle => None,
        };
        match (name, cursors) {
            (None, Some(cursors)) => cursors.clear(),
            (None, None) => {}
            (Some(name), cursors) => {
                if cursors.and_then(|c| c.remove(name)).is_none() {
                    return Err(Error::new(
                        SqlState::InvalidCursorName,
                        format!("cursor \"{name}\" does not exist"),
                    ));
                }
            }
        }
        Ok(Outcome::Command {
            tag: "CLOSE CURSOR".into(),
        })
    }

    /// The columns a FETCH on `name` returns.
    pub(super) fn cursor_columns(&mut self, name: &str) -> Result<Vec<Described>> {
        Ok(self.cursor(name)?.described())
    }

    pub(super) async fn fetch(&mut self, fetch: &Fetch) -> Result<Outcome> {
        let cursor = self.cursor(&fetch.cursor)?;
        if cursor.ready.is_empty() {
            let first = match fetch.timeout {
                Some(timeout) => tokio::time::timeout(timeout, cursor.events.recv())
                    .await
                    .ok()
                    .flatten(),
                None => cursor.events.recv().await,
            };
            if let Some(event) = first {
                cursor.take(event)?;
            }
        }
        while let Ok(event) = cursor.events.try_recv() {
            cursor.take(event)?;
        }
        let limit = fetch.count.map_or(usize::MAX, |n| n as usize);
        let rows: Vec<Vec<Value>> = (0..limit).map_while(|_| cursor.ready.pop_front()).collect();
        Ok(Outcome::Rows {
            columns: Arc::new(cursor.described()),
            tag: format!("FETCH {}", rows.len()),
            rows,
        })
    }
}
