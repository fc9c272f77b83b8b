//! `POST /realtime/v1/notify` (NOTIFY over HTTP: the same channel and payload
//! limits, and every LISTENer — psql, WebSocket, SSE — receives it) and
//! `GET /realtime/v1/stats` (who is connected and listening).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::Rest;
use super::body::JsonBody;
use super::error::{ApiResult, bad_request};
use crate::auth::rules::ChannelAction;
use crate::notify::Notification;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Notify {
    channel: String,
    /// A string is sent as it is; any other JSON as its text.
    #[serde(default)]
    payload: Json,
}

pub async fn notify(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusCode> {
    let who = rest.auth.identify(&headers)?;
    let Notify { channel, payload } = serde_json::from_value(body)
        .map_err(|_| bad_request("the body is {\"channel\": \"...\", \"payload\": ...}"))?;
    let payload = match payload {
        Json::Null => String::new(),
        Json::String(text) => text,
        other => other.to_string(),
    };
    crate::translate::validate_notification(&channel, &payload)?;
    rest.auth
        .check_channel(&who, ChannelAction::Notify, &channel)?;
    let n = vec![Notification::new(channel, payload, 0)];
    crate::notify::durable::publish(&rest.exec.store, &rest.exec.hub, n).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn stats(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
) -> ApiResult<axum::Json<Json>> {
    rest.auth.identify(&headers)?;
    Ok(axum::Json(json!({
        "connections": {
            "websocket": (rest.websockets)(),
            "sse": rest.sse_streams.load(Ordering::Relaxed),
        },
        "channels": rest.exec.hub.channel_counts(),
        "presence": rest.presence.counts(),
        "change_stream": {
            "lsn": rest.changes.head(),
            "followers": rest.changes.followers(),
        },
    })))
}
