//! `GET /realtime/v1/sse`: the WebSocket door's table feeds and channels as
//! Server-Sent Events, for clients that only speak HTTP (`EventSource`).
//!
//! - `?table=orders&filter=<json>&since=<lsn>`: one event per change the
//!   caller sees through the filter and its row rules (`event: insert|update|
//!   delete`, `id: <lsn>`, `data: {"table","op","lsn","txid","pk","row","old",
//!   "commit_time"}`). The first event is `ready` with the LSN the feed starts
//!   after (also as its `id`), so a browser that reconnects sends
//!   `Last-Event-ID` and resumes exactly after the last change it saw. A resume
//!   point older than retention gets `event: error` (55000, hint
//!   `must-resnapshot`) and the stream ends.
//! - `?channel=ch`: `ready`, then `event: notification` with
//!   `{"channel","payload","pid"}` for each NOTIFY on the channel.
//!
//! Streams end at shutdown, so the HTTP server's graceful stop is not held up.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use futures::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Rest;
use super::error::{ApiResult, bad_request};
use super::tables::user_table;
use crate::auth::rules::ChannelAction;
use crate::changes::filter::Predicate;
use crate::changes::{Change, Cursor};
use crate::error::Error;
use crate::notify::{Listener, Notification, NotifyHub};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    table: Option<String>,
    /// A JSON filter (`{"status": "pending"}`), as WebSocket feeds take.
    filter: Option<String>,
    since: Option<i64>,
    channel: Option<String>,
}

type Events = Sse<KeepAliveStream<BoxStream<'static, Result<Event, Infallible>>>>;

pub async fn stream(
    State(rest): State<Arc<Rest>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Events> {
    let who = rest.auth.identify(&headers)?;
    let count = Counted::new(&rest.sse_streams);
    let shutdown = rest.shutdown.clone();
    let events = match (params.table, params.channel) {
        (Some(name), None) => {
            let table = user_table(&rest, &name)?;
            let role_filter = rest.auth.row_filter(&who, &table.name)?;
            let filter = params
                .filter
                .map(|f| serde_json::from_str::<Json>(&f))
                .transpose()
                .map_err(|_| bad_request("filter is a JSON object"))?;
            let predicate =
                Predicate::table_feed(&table, None, filter.as_ref(), None, &[], role_filter)?;
            let resume = headers
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let feed = Feed {
                cursor: rest.changes.cursor(resume.or(params.since)),
                table: table.name,
                predicate,
                pending: VecDeque::new(),
                done: false,
            };
            feed.events(shutdown, count)
        }
        (None, Some(channel)) => {
            crate::translate::validate_notification(&channel, "")?;
            rest.auth
                .check_channel(&who, ChannelAction::Listen, &channel)?;
            Channel::open(rest.exec.hub.clone(), channel).events(shutdown, count)
        }
        _ => return Err(bad_request("give either table= or channel=")),
    };
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Counts open streams for stats; the count drops with the stream.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(counter: &Arc<AtomicUsize>) -> Counted {
        counter.fetch_add(1, Ordering::Relaxed);
        Counted(counter.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn error_event(error: &Error) -> Event {
    Event::default().event("error").data(
        json!({"code": error.code().code(), "message": error.message, "hint": error.hint})
            .to_string(),
    )
}

/// A source of events: `next` gives the next one, `None` when it has ended.
trait Source: Send + 'static {
    fn first(&self) -> Event;
    fn next(&mut self) -> impl Future<Output = Option<Event>> + Send;

    /// The events, ending at shutdown; `count` lives as long as the stream.
    fn events(
        self,
        shutdown: CancellationToken,
        count: Counted,
    ) -> BoxStream<'static, Result<Event, Infallible>>
    where
        Self: Sized,
    {
        let first = stream::once(std::future::ready(Ok(self.first())));
        let rest = stream::unfold(
            (self, shutdown, count),
            |(mut source, shutdown, count)| async move {
                let event = tokio::select! {
                    _ = shutdown.cancelled() => None,
                    event = source.next() => event,
                }?;
                Some((Ok(event), (source, shutdown, count)))
            },
        );
        first.chain(rest).boxed()
    }
}

/// A table feed.
struct Feed {
    cursor: Cursor,
    table: String,
    predicate: Predicate,
    /// Events of the current batch not sent yet.
    pending: VecDeque<Event>,
    /// An error was queued; the stream ends after it.
    done: bool,
}

impl Feed {
    fn change_event(change: &Change, predicate: &Predicate) -> Option<Event> {
        let seen = predicate.view(change)?;
        // The change as the subscriber sees it (an update leaving the filter
        // is a delete).
        let mut data = change.to_json();
        data["op"] = seen.op.as_str().into();
        data["row"] = seen.row.cloned().unwrap_or(Json::Null);
        data["old"] = seen.old.cloned().unwrap_or(Json::Null);
        Some(
            Event::default()
                .event(seen.op.as_str())
                .id(change.lsn.to_string())
                .data(data.to_string()),
        )
    }
}

impl Source for Feed {
    fn first(&self) -> Event {
        let lsn = self.cursor.position();
        Event::default()
            .event("ready")
            .id(lsn.to_string())
            .data(json!({"table": self.table, "lsn": lsn}).to_string())
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            match self.cursor.next().await? {
                Ok(batch) => {
                    let events = batch
                        .iter()
                        .filter(|c| c.table == self.table)
                        .filter_map(|c| Self::change_event(c, &self.predicate));
                    self.pending.extend(events);
                }
                Err(e) => {
                    self.done = true;
                    self.pending.push_back(error_event(&Error::from(e)));
                }
            }
        }
    }
}

/// A channel's notifications; leaves the channel when dropped.
struct Channel {
    hub: Arc<NotifyHub>,
    listener: Arc<Listener>,
    notifications: mpsc::Receiver<Arc<Notification>>,
    channel: String,
    /// The hub cut this stream off for not keeping up, and it said so.
    ended: bool,
}

impl Channel {
    fn open(hub: Arc<NotifyHub>, channel: String) -> Channel {
        let (listener, notifications) = hub.listener(0);
        hub.listen(&channel, &listener);
        Channel {
            hub,
            listener,
            notifications,
            channel,
            ended: false,
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.hub.unlisten_all(&self.listener);
    }
}

impl Source for Channel {
    fn first(&self) -> Event {
        Event::default()
            .event("ready")
            .data(json!({"channel": self.channel}).to_string())
    }

    async fn next(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        // Cut off only ever happens with the queue full, so a stream waiting
        // on an empty queue is not one the hub has dropped.
        if self.notifications.is_empty() && self.listener.is_lagging() {
            self.ended = true;
            return Some(error_event(&Error::new(
                crate::error::SqlState::ProgramLimitExceeded,
                "notification stream fell behind and was cut off; reconnect",
            )));
        }
        let n = self.notifications.recv().await?;
        Some(
            Event::default().event("notification").data(
                json!({"channel": n.channel, "payload": n.payload, "pid": n.pid}).to_string(),
            ),
        )
    }
}
