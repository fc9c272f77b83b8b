//! Durable channels on the wire (see `notify::durable`):
//! `SELECT litewire.listen_durable(channel, consumer)` registers the consumer,
//! LISTENs, and queues every message after its last acknowledged one to go
//! out before anything else; from then on messages on the channel reach this
//! client as `{"id":..,"payload":".."}` and none twice.
//! `SELECT litewire.ack(consumer, id)` moves the consumer's position (in the
//! session's transaction, like any write).

use std::sync::Arc;

use rusqlite::types::Value;
use serde_json::{Value as Json, json};

use super::{Described, ListenChange, Outcome, Session};
use crate::error::{Error, Result, SqlState};
use crate::notify::{Notification, durable};
use crate::translate::live::LiveArg;
use crate::translate::{Access, OutColumn, SqlPlan};
use crate::types::{ColumnType, PgType};

/// A durable consumer this session is: its name and the last message id
/// delivered to the client.
pub(super) struct Consumer {
    name: String,
    delivered: i64,
}

fn column(name: &str, ty: PgType) -> Vec<Described> {
    vec![Described::plain(name, ty)]
}

/// The result column of `litewire.listen_durable` (messages replayed).
pub fn listen_columns() -> Vec<Described> {
    column("listen_durable", PgType::Int8)
}

/// The result column of `litewire.ack` (whether the consumer exists).
pub fn ack_columns() -> Vec<Described> {
    column("ack", PgType::Bool)
}

/// An argument as text (what the realtime functions take).
fn text(arg: &LiveArg, bound: &[Option<String>]) -> Result<String> {
    Ok(match arg.resolve(bound)? {
        Json::String(s) => s,
        Json::Null => {
            return Err(Error::new(
                SqlState::NullValueNotAllowed,
                "argument is null",
            ));
        }
        other => other.to_string(),
    })
}

impl Session {
    pub(super) async fn listen_durable(
        &mut self,
        channel: &LiveArg,
        consumer: &LiveArg,
        bound: &[Value],
    ) -> Result<Outcome> {
        if self.in_transaction() {
            return Err(Error::new(
                SqlState::ActiveSqlTransaction,
                "litewire.listen_durable cannot run inside a transaction block",
            ));
        }
        let bound = super::live::bound_text(bound);
        let (channel, consumer) = (text(channel, &bound)?, text(consumer, &bound)?);
        crate::translate::validate_notification(&channel, "")?;
        let acked =
            durable::register(&self.store, &self.hub, consumer.clone(), channel.clone()).await?;
        // Listening before reading what was missed: nothing falls between.
        self.apply_listening(ListenChange::Listen(channel.clone()));
        let missed = durable::replay(&self.store, channel.clone(), acked).await?;
        let count = missed.len() as i64;
        self.durable.insert(
            channel,
            Consumer {
                name: consumer,
                delivered: acked,
            },
        );
        self.replay.extend(missed.into_iter().map(Arc::new));
        Ok(Outcome::Rows {
            columns: Arc::new(listen_columns()),
            rows: vec![vec![Value::Integer(count)]],
            tag: "SELECT 1".into(),
        })
    }

    pub(super) async fn ack(
        &mut self,
        consumer: &LiveArg,
        id: &LiveArg,
        bound: &[Value],
    ) -> Result<Outcome> {
        let bound = super::live::bound_text(bound);
        let consumer = text(consumer, &bound)?;
        let id: i64 = text(id, &bound)?.parse().map_err(|_| {
            Error::new(
                SqlState::InvalidTextRepresentation,
                "message id is a bigint",
            )
        })?;
        let plan = SqlPlan {
            sql: "UPDATE _lw_consumers SET acked = max(acked, ?2) WHERE name = ?1 RETURNING 1"
                .into(),
            after: Vec::new(),
            access: Access::Write,
            tag: "SELECT",
            params: Vec::new(),
            columns: Some(vec![OutColumn {
                name: "ack".into(),
                ty: Some(ColumnType::plain(PgType::Bool)),
            }]),
        };
        let described = Some(Arc::new(ack_columns()));
        self.run_sql(
            Arc::new(plan),
            vec![Value::Text(consumer), Value::Integer(id)],
            described,
        )
        .await
    }

    /// Messages missed by a durable consumer, to go out before anything else.
    pub fn take_replay(&mut self) -> Vec<Arc<Notification>> {
        std::mem::take(&mut self.replay)
    }

    /// The payload this client gets for `n`: with its id on a channel it
    /// consumes durably (`None` when it already had it), else as sent.
    pub fn outgoing(&mut self, n: &Notification) -> Option<String> {
        match (n.id, self.durable.get_mut(&n.channel)) {
            (Some(id), Some(consumer)) => {
                if id <= consumer.delivered {
                    return None;
                }
                consumer.delivered = id;
                Some(json!({"id": id, "consumer": consumer.name, "payload": n.payload}).to_string())
            }
            _ => Some(n.payload.clone()),
        }
    }
}
