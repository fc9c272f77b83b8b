//! The WebSocket protocol (`../shared/DESIGN.md`): one JSON object per text
//! frame. Requests carry an optional `id`, echoed in the `ack` or `error`
//! reply; errors carry a SQLSTATE-style `code`.

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use crate::changes::Change;
use crate::changes::filter::Seen;
use crate::error::{Error, SqlState};
use crate::live::LiveEvent;
use crate::notify::Notification;
use crate::notify::presence::PresenceEvent;

/// A client request, by its `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Auth {
        token: String,
    },
    /// With `since` (a message id) on a durable channel: what came after it
    /// first.
    Listen {
        channel: String,
        #[serde(default)]
        since: Option<i64>,
    },
    /// `channel` `*` (or absent) stops listening on every channel.
    Unlisten {
        #[serde(default)]
        channel: Option<String>,
    },
    Notify {
        channel: String,
        #[serde(default)]
        payload: String,
    },
    Subscribe(Subscribe),
    Unsubscribe {
        sub: String,
    },
    /// Joins (or updates) presence in `channel`; `leave: true` leaves it.
    Presence {
        channel: String,
        #[serde(default)]
        key: Option<String>,
        #[serde(default)]
        state: Option<Json>,
        #[serde(default)]
        leave: bool,
    },
    Ping,
}

/// A table feed: the whole table, one row by primary key (`pk`), or rows
/// matching `filter` (JSON conditions) and/or `where` (SQL with `params`),
/// resuming after LSN `since` when given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub pk: Option<Json>,
    #[serde(default)]
    pub filter: Option<Json>,
    #[serde(default, rename = "where")]
    pub where_sql: Option<String>,
    #[serde(default)]
    pub params: Vec<Json>,
    #[serde(default)]
    pub since: Option<i64>,
    /// A live query instead of a feed: SQL text (with `params`), or the JSON
    /// query DSL (`where`/`orderBy`/`limit`) on `table`.
    #[serde(default)]
    pub query: Option<Json>,
}

/// A parsed frame: the request id (any JSON, echoed back) and the request, or
/// the error to reply with.
pub fn parse(text: &str) -> (Json, Result<Request, Error>) {
    let value: Json = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return (
                Json::Null,
                Err(Error::new(
                    SqlState::InvalidTextRepresentation,
                    format!("malformed JSON: {e}"),
                )),
            );
        }
    };
    let Json::Object(mut fields) = value else {
        return (
            Json::Null,
            Err(Error::protocol(
                "a message is a JSON object with a \"type\"",
            )),
        );
    };
    let id = fields.remove("id").unwrap_or(Json::Null);
    let request = match fields.get("type").and_then(Json::as_str) {
        None => Err(Error::protocol("message has no \"type\"")),
        Some(t) if !KNOWN.contains(&t) => {
            Err(Error::protocol(format!("unknown message type \"{t}\"")))
        }
        Some(_) => serde_json::from_value(Json::Object(fields)).map_err(|e| {
            Error::new(
                SqlState::InvalidParameterValue,
                format!("invalid message: {e}"),
            )
        }),
    };
    (id, request)
}

const KNOWN: [&str; 8] = [
    "auth",
    "listen",
    "unlisten",
    "notify",
    "subscribe",
    "unsubscribe",
    "presence",
    "ping",
];

fn with_id(mut message: Json, id: &Json) -> String {
    if !id.is_null() {
        message["id"] = id.clone();
    }
    message.to_string()
}

/// Reply fields from pairs.
pub fn fields(pairs: &[(&str, Json)]) -> Map<String, Json> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// `{"type":"ack","id":..}` plus `extra` fields.
pub fn ack(id: &Json, extra: Map<String, Json>) -> String {
    let mut message = Map::new();
    message.insert("type".into(), "ack".into());
    message.extend(extra);
    with_id(Json::Object(message), id)
}

pub fn error(id: &Json, error: &Error) -> String {
    let mut message = json!({
        "type": "error",
        "code": error.code().code(),
        "message": error.message,
    });
    if let Some(hint) = &error.hint {
        message["hint"] = hint.clone().into();
    }
    with_id(message, id)
}

/// An error that ends subscription `sub` (outside any request).
pub fn sub_error(sub: &str, error: &Error) -> String {
    let mut frame: Json =
        serde_json::from_str(&self::error(&Json::Null, error)).unwrap_or(json!({}));
    frame["sub"] = sub.into();
    frame.to_string()
}

/// A live query's events: `snapshot` followed by `ready` (with the LSN the
/// snapshot reflects), `diff`s, and `resnapshot` when resuming was impossible.
pub fn live_event(sub: &str, event: LiveEvent) -> Vec<String> {
    match event {
        LiveEvent::Snapshot {
            lsn,
            columns,
            key,
            rows,
        } => vec![
            json!({"type": "snapshot", "sub": sub, "lsn": lsn, "columns": columns, "key": key, "rows": rows})
                .to_string(),
            json!({"type": "ready", "sub": sub, "lsn": lsn}).to_string(),
        ],
        LiveEvent::Diff(diff) => {
            let mut frame = json!({"type": "diff", "sub": sub});
            if let (Json::Object(frame), Json::Object(fields)) = (&mut frame, diff.to_json()) {
                frame.extend(fields);
            }
            vec![frame.to_string()]
        }
        LiveEvent::Resnapshot { reason } => {
            vec![json!({"type": "resnapshot", "sub": sub, "reason": reason}).to_string()]
        }
        LiveEvent::Failed(error) => vec![sub_error(sub, &error)],
    }
}

pub fn pong(id: &Json) -> String {
    with_id(json!({"type": "pong"}), id)
}

pub fn notification(n: &Notification) -> String {
    let mut frame =
        json!({"type": "notification", "channel": n.channel, "payload": n.payload, "pid": n.pid});
    if let Some(id) = n.id {
        frame["id"] = id.into();
    }
    frame.to_string()
}

/// A diff frame without its opening `{"type":"diff","sub":..,`: the part that
/// is the same for every subscriber that sees the change the same way.
pub fn diff_fields(change: &Change, seen: &Seen) -> String {
    let object = json!({
        "table": change.table,
        "op": seen.op.as_str(),
        "lsn": change.lsn,
        "txid": change.txid,
        "pk": change.pk,
        "row": seen.row,
        "old": seen.old,
        "commit_time": change.committed_at,
    })
    .to_string();
    object[1..].to_string()
}

pub fn presence(event: PresenceEvent) -> String {
    match event {
        PresenceEvent::State { channel, presences } => {
            json!({"type": "presence_state", "channel": channel, "presences": presences})
        }
        PresenceEvent::Diff {
            channel,
            joins,
            leaves,
        } => json!({"type": "presence_diff", "channel": channel, "joins": joins, "leaves": leaves}),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_frames_get_coded_errors() {
        let code = |text: &str| parse(text).1.unwrap_err().code().code();
        assert_eq!(code("{nope"), "22P02");
        assert_eq!(code(r#"{"type":"dance"}"#), "08P01");
        assert_eq!(code(r#"{"type":"listen","channel":5}"#), "22023");
        let (id, request) = parse(r#"{"id":7,"type":"listen","channel":"c"}"#);
        assert_eq!(id, json!(7));
        assert!(matches!(request.unwrap(), Request::Listen { channel, .. } if channel == "c"));
    }
}
