//! One WebSocket: a task that selects over the client's frames, its presence
//! events, the heartbeat deadline and shutdown, and a writer task that drains
//! the socket's bounded [`Outbox`]. Notifications (pushed by the hub) and
//! table-feed diffs (queued by the feed task) go straight into the outbox; a
//! client that stops reading fills it and is disconnected with a reason,
//! never left to grow memory or stall publishers.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{Map, Value as Json, json};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::Gateway;
use super::durable::{Admit, Gate};
use super::feed::Subscription;
use super::protocol::{self, Request, Subscribe, fields};
use crate::auth::jwt::Identity;
use crate::auth::rules::{ChannelAction, ReadAccess};
use crate::changes::filter::Predicate;
use crate::error::{Error, Result, SqlState};
use crate::live::dsl::Fields;
use crate::live::{LiveEvent, LiveId, Sink};
use crate::notify::changes::channel_table;
use crate::notify::presence::PresenceEvent;
use crate::notify::{Listener, Notification};

/// WebSocket close codes (RFC 6455).
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;
/// Presence events a connection may have unread before they are dropped.
const PRESENCE_QUEUE: usize = 256;

/// The bounded queue of frames to one client. Frames are shared bytes: a
/// notification fanned out to many sockets is encoded once.
#[derive(Clone)]
pub struct Outbox {
    frames: mpsc::Sender<Utf8Bytes>,
    overflow: Arc<Notify>,
}

impl Outbox {
    /// Queues a frame; `false` (and the connection is told to close) when the
    /// client has fallen too far behind or is gone.
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        match self.frames.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// The last notification encoded as a frame, with the frame: the hub hands
/// one notification to every listener in turn, so all sockets but the first
/// reuse the encoding. Holding the `Arc` keeps the pointer comparison sound.
#[derive(Default)]
pub struct LastFrame(Mutex<Option<(Arc<Notification>, Utf8Bytes)>>);

impl LastFrame {
    fn frame(&self, n: &Arc<Notification>) -> Utf8Bytes {
        let mut last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*last {
            Some((cached, frame)) if Arc::ptr_eq(cached, n) => frame.clone(),
            _ => {
                let frame = Utf8Bytes::from(protocol::notification(n));
                *last = Some((n.clone(), frame.clone()));
                frame
            }
        }
    }
}

/// Why the server ends a connection.
struct Close {
    code: u16,
    reason: String,
    /// Whether frames already queued go out first (not for a client too slow
    /// to take them).
    flush: bool,
}

impl Close {
    fn new(code: u16, reason: impl Into<String>) -> Close {
        Close {
            code,
            reason: reason.into(),
            flush: true,
        }
    }

    fn too_slow(what: &str) -> Close {
        Close {
            code: CLOSE_POLICY,
            reason: format!("too slow: {what}"),
            flush: false,
        }
    }
}

/// What a subscription id of this socket stands for.
enum Subscribed {
    Feed,
    Live(LiveId),
}

/// Sends a live query's events to a socket.
struct LiveSink {
    sub: String,
    outbox: Outbox,
}

impl Sink for LiveSink {
    fn send(&self, event: LiveEvent) -> bool {
        protocol::live_event(&self.sub, event)
            .into_iter()
            .all(|frame| self.outbox.push(frame.into()))
    }
}

struct Connection {
    gateway: Arc<Gateway>,
    conn: u64,
    identity: Option<Identity>,
    outbox: Outbox,
    listener: Arc<Listener>,
    /// Durable channels being replayed (`listen` with `since`).
    gate: Arc<Gate>,
    presence_events: mpsc::Sender<PresenceEvent>,
    subscriptions: HashMap<String, Subscribed>,
    next_sub: u64,
    limiter: DefaultDirectRateLimiter,
}

/// Sends the outbox to the socket until told to close, then says goodbye.
async fn write(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<Utf8Bytes>,
    mut close: tokio::sync::oneshot::Receiver<Close>,
) {
    loop {
        tokio::select! {
            biased;
            close = &mut close => {
                let Ok(close) = close else { return };
                let goodbye = async {
                    if close.flush {
                        while let Ok(text) = frames.try_recv() {
                            sink.send(Message::Text(text)).await?;
                        }
                    }
                    let frame = CloseFrame { code: close.code, reason: close.reason.into() };
                    sink.send(Message::Close(Some(frame))).await
                };
                let _ = tokio::time::timeout(Duration::from_secs(1), goodbye).await;
                return;
            }
            frame = frames.recv() => match frame {
                Some(text) => if sink.send(Message::Text(text)).await.is_err() { return },
                None => return,
            },
        }
    }
}

pub async fn run(socket: WebSocket, gateway: Arc<Gateway>, conn: u64, token: Option<String>) {
    gateway.connections.fetch_add(1, Ordering::Relaxed);
    metrics::gauge!(crate::metrics::WS_CONNECTIONS).increment(1.0);
    let (sink, mut frames) = socket.split();
    let limits = gateway.limits.clone();
    let (frame_tx, frame_rx) = mpsc::channel(limits.outbound_queue);
    let overflow = Arc::new(Notify::new());
    let (close_tx, close_rx) = tokio::sync::oneshot::channel::<Close>();
    let writer = tokio::spawn(write(sink, frame_rx, close_rx));
    let outbox = Outbox {
        frames: frame_tx,
        overflow: overflow.clone(),
    };
    let gate = Arc::new(Gate::default());
    let listener = {
        let (outbox, last, gate) = (outbox.clone(), gateway.last_frame.clone(), gate.clone());
        gateway.hub.push_listener(0, move |n| match gate.admit(n) {
            Admit::Send => outbox.push(last.frame(n)),
            Admit::No => true,
        })
    };
    let (presence_events, mut presence_rx) = mpsc::channel(PRESENCE_QUEUE);
    let quota = Quota::per_second(NonZeroU32::new(limits.rate_per_sec).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(limits.burst).unwrap_or(NonZeroU32::MIN));
    let mut connection = Connection {
        gateway: gateway.clone(),
        conn,
        identity: None,
        outbox,
        listener,
        gate,
        presence_events,
        subscriptions: HashMap::new(),
        next_sub: 1,
        limiter: RateLimiter::direct(quota),
    };
    let heartbeat = Duration::from_secs(limits.heartbeat_timeout_secs.max(1));
    let refused = match gateway.initial_identity(token.as_deref()) {
        Ok(identity) => {
            connection.identity = Some(identity);
            None
        }
        // A bad token ends the connection; a missing one leaves room for `auth`.
        Err(e) if token.is_some() => {
            connection.reply_error(&Json::Null, &e);
            Some(Close::new(CLOSE_POLICY, "invalid token"))
        }
        Err(_) => None,
    };
    let close = match refused {
        Some(close) => close,
        None => {
            let mut deadline = Instant::now() + heartbeat;
            loop {
                tokio::select! {
                    frame = frames.next() => match frame {
                        Some(Ok(Message::Text(text))) => {
                            deadline = Instant::now() + heartbeat;
                            if let Some(close) = connection.on_frame(&text) {
                                break close;
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            deadline = Instant::now() + heartbeat;
                            connection.reply_error(&Json::Null, &Error::protocol("frames are JSON text"));
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => deadline = Instant::now() + heartbeat,
                        Some(Ok(Message::Close(_))) | None => break Close::new(CLOSE_NORMAL, ""),
                        Some(Err(e)) => break Close::new(CLOSE_POLICY, e.to_string()),
                    },
                    Some(event) = presence_rx.recv() => {
                        connection.outbox.push(protocol::presence(event).into());
                    }
                    _ = overflow.notified() => break Close::too_slow("outbound queue full"),
                    _ = tokio::time::sleep_until(deadline) => break Close::new(CLOSE_POLICY, "heartbeat timeout"),
                    _ = gateway.shutdown.cancelled() => break Close::new(CLOSE_GOING_AWAY, "server shutting down"),
                }
            }
        }
    };
    connection.close();
    let _ = close_tx.send(close);
    let _ = writer.await;
    gateway.connections.fetch_sub(1, Ordering::Relaxed);
    metrics::gauge!(crate::metrics::WS_CONNECTIONS).decrement(1.0);
}

fn denied(what: String) -> Error {
    Error::new(
        SqlState::InsufficientPrivilege,
        format!("permission denied: {what}"),
    )
}

impl Connection {
    fn reply(&self, frame: String) {
        self.outbox.push(frame.into());
    }

    fn reply_error(&self, id: &Json, error: &Error) {
        self.reply(protocol::error(id, error));
    }

    /// Handles one text frame; `Some` ends the connection.
    fn on_frame(&mut self, text: &str) -> Option<Close> {
        let (id, request) = protocol::parse(text);
        if self.limiter.check().is_err() {
            self.reply_error(
                &id,
                &Error::new(
                    SqlState::ConfigurationLimitExceeded,
                    "rate limit exceeded; slow down",
                ),
            );
            return None;
        }
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                self.reply_error(&id, &e);
                return None;
            }
        };
        if self.identity.is_none() && !matches!(request, Request::Auth { .. }) {
            let e = self
                .gateway
                .initial_identity(None)
                .expect_err("no identity yet");
            self.reply_error(&id, &e);
            return Some(Close::new(CLOSE_POLICY, "authentication required"));
        }
        match self.handle(request, &id) {
            Ok(Some(fields)) => self.reply(protocol::ack(&id, fields)),
            Ok(None) => {}
            Err(e) => {
                self.reply_error(&id, &e);
                if e.code() == SqlState::InvalidAuthorizationSpecification
                    && self.identity.is_none()
                {
                    return Some(Close::new(CLOSE_POLICY, "invalid token"));
                }
            }
        }
        None
    }

    fn identity(&self) -> &Identity {
        self.identity.as_ref().expect("checked before handling")
    }

    fn check_channel(&self, action: ChannelAction, channel: &str) -> Result<()> {
        let role = &self.identity().role;
        if !self.gateway.guard.rules.allows(role, action, channel) {
            return Err(denied(
                format!("{role} may not {action:?} on channel \"{channel}\"").to_lowercase(),
            ));
        }
        // The change stream's channels carry table rows: reading them needs
        // unrestricted read access to the table(s).
        if let Some(table) = channel_table(channel).filter(|_| action == ChannelAction::Listen)
            && self.gateway.guard.rules.read(role, table) != ReadAccess::All
        {
            return Err(denied(format!(
                "{role} may not read all rows of \"{table}\""
            )));
        }
        Ok(())
    }

    /// Carries out a request; the fields of its ack, or `None` when someone
    /// else acks it (the feed task acks a subscription before its diffs).
    fn handle(&mut self, request: Request, id: &Json) -> Result<Option<Map<String, Json>>> {
        match request {
            Request::Subscribe(subscribe) => self.subscribe(subscribe, id)?,
            // Acked before it goes out, so a socket listening on its own
            // channel sees the ack first (as Postgres delivers a session's own
            // notification after its command completes).
            Request::Notify { channel, payload } => {
                self.check_channel(ChannelAction::Notify, &channel)?;
                crate::translate::validate_notification(&channel, &payload)?;
                self.reply(protocol::ack(id, Map::new()));
                let (store, hub) = (self.gateway.store.clone(), self.gateway.hub.clone());
                let n = vec![Notification::new(channel, payload, 0)];
                if hub.durable_channels().is_empty() {
                    hub.publish(n);
                } else {
                    // Durable channels are recorded first (a write transaction).
                    tokio::spawn(async move {
                        if let Err(e) = crate::notify::durable::publish(&store, &hub, n).await {
                            tracing::warn!(error = %e, "publishing from a socket failed");
                        }
                    });
                }
            }
            // Acked first: the replay of what came after `since` follows the ack.
            Request::Listen {
                channel,
                since: Some(since),
            } => {
                self.check_listen(&channel)?;
                self.reply(protocol::ack(
                    id,
                    fields(&[("channel", channel.clone().into())]),
                ));
                self.listen_since(channel, since);
            }
            request => return self.command(request).map(Some),
        }
        Ok(None)
    }

    fn command(&mut self, request: Request) -> Result<Map<String, Json>> {
        match request {
            Request::Auth { token } => {
                let identity = self.gateway.guard.verify(&token)?;
                let role = identity.role.clone();
                self.identity = Some(identity);
                Ok(fields(&[("role", role.into())]))
            }
            Request::Ping => Ok(fields(&[("pong", true.into())])),
            Request::Listen { channel, since } => {
                self.check_listen(&channel)?;
                debug_assert!(since.is_none(), "handled by `handle`");
                self.gateway.hub.listen(&channel, &self.listener);
                Ok(fields(&[("channel", channel.into())]))
            }
            Request::Unlisten { channel } => {
                match channel.as_deref() {
                    None | Some("*") => self.gateway.hub.unlisten_all(&self.listener),
                    Some(c) => self.gateway.hub.unlisten(c, &self.listener),
                }
                Ok(Map::new())
            }
            Request::Presence {
                channel,
                key,
                state,
                leave,
            } => {
                self.check_channel(ChannelAction::Presence, &channel)?;
                if leave {
                    self.gateway.presence.leave(Some(&channel), self.conn);
                    return Ok(Map::new());
                }
                let key = key
                    .or_else(|| {
                        self.identity()
                            .claim(&["sub".into()])
                            .as_str()
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| format!("conn-{}", self.conn));
                let state = state.unwrap_or_else(|| json!({}));
                if !state.is_object() {
                    return Err(Error::new(
                        SqlState::InvalidParameterValue,
                        "presence state is a JSON object",
                    ));
                }
                self.gateway
                    .presence
                    .join(&channel, &key, self.conn, state, &self.presence_events);
                Ok(fields(&[("key", key.into())]))
            }
            Request::Subscribe(_) | Request::Notify { .. } => unreachable!("handled by `handle`"),
            Request::Unsubscribe { sub } => {
                match self.subscriptions.remove(&sub) {
                    None => {
                        return Err(Error::new(
                            SqlState::UndefinedObject,
                            format!("no subscription \"{sub}\""),
                        ));
                    }
                    Some(Subscribed::Feed) => {
                        self.gateway.feeds.remove(self.conn, Some(sub.clone()))
                    }
                    Some(Subscribed::Live(id)) => self.gateway.live.unsubscribe(id),
                }
                Ok(fields(&[("sub", sub.into())]))
            }
        }
    }

    /// A table feed (handed to the feed task, which acks it) or a live query.
    fn subscribe(&mut self, s: Subscribe, id: &Json) -> Result<()> {
        if self.subscriptions.len() >= self.gateway.limits.max_subscriptions {
            return Err(Error::new(
                SqlState::ProgramLimitExceeded,
                format!(
                    "at most {} subscriptions per connection",
                    self.gateway.limits.max_subscriptions
                ),
            ));
        }
        if let Some(query) = s.query.clone() {
            return self.subscribe_live(s, query, id);
        }
        let Some(table_name) = s.table else {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                "subscribe needs a \"table\"",
            ));
        };
        let catalog = self.gateway.store.catalog();
        let table = catalog.table(&table_name).ok_or_else(|| {
            Error::new(
                SqlState::UndefinedTable,
                format!("relation \"{table_name}\" does not exist"),
            )
        })?;
        let identity = self.identity().clone();
        let role_filter = match self.gateway.guard.rules.read(&identity.role, &table.name) {
            ReadAccess::Denied => {
                return Err(denied(format!(
                    "{} may not read \"{}\"",
                    identity.role, table.name
                )));
            }
            ReadAccess::All => None,
            ReadAccess::Where(sql) => Some(Predicate::row_filter(&sql, &identity)?),
        };
        let predicate = Predicate::table_feed(
            table,
            s.pk.as_ref(),
            s.filter.as_ref(),
            s.where_sql.as_deref(),
            &s.params,
            role_filter,
        )?;
        let sub = self.new_sub(Subscribed::Feed);
        self.gateway.feeds.add(Subscription {
            conn: self.conn,
            sub,
            table: table.name.clone(),
            predicate,
            since: s.since,
            outbox: self.outbox.clone(),
            request: id.clone(),
        });
        Ok(())
    }

    fn check_listen(&self, channel: &str) -> Result<()> {
        self.check_channel(ChannelAction::Listen, channel)?;
        crate::translate::validate_notification(channel, "")
    }

    /// Listens on a durable channel from after message `since`: live
    /// notifications wait while the log is replayed (see `durable::Gate`).
    fn listen_since(&self, channel: String, since: i64) {
        self.gate.start(&channel, since);
        self.gateway.hub.make_durable(&channel);
        self.gateway.hub.listen(&channel, &self.listener);
        let (store, gate, outbox) = (
            self.gateway.store.clone(),
            self.gate.clone(),
            self.outbox.clone(),
        );
        tokio::spawn(async move {
            let replayed =
                match crate::notify::durable::replay(&store, channel.clone(), since).await {
                    Ok(messages) => messages,
                    Err(e) => {
                        outbox.push(protocol::error(&Json::Null, &e).into());
                        Vec::new()
                    }
                };
            gate.finish(&channel, replayed, |n| {
                outbox.push(protocol::notification(n).into())
            });
        });
    }

    fn new_sub(&mut self, kind: Subscribed) -> String {
        let sub = format!("s{}", self.next_sub);
        self.next_sub += 1;
        self.subscriptions.insert(sub.clone(), kind);
        sub
    }

    /// A live query: SQL with `params`, or the JSON DSL on `table`. The role
    /// must read every table it touches without a row filter (row filters on
    /// live queries are not supported yet).
    fn subscribe_live(&mut self, s: Subscribe, query: Json, id: &Json) -> Result<()> {
        let (sql, params) = match (query, &s.table) {
            (Json::String(sql), _) => (sql, s.params),
            (dsl @ Json::Object(_), Some(table)) => {
                // On a document collection the DSL's fields are inside `doc`.
                let collection = self
                    .gateway
                    .store
                    .catalog()
                    .table(table)
                    .is_some_and(|t| t.is_collection());
                let fields = if collection {
                    Fields::Document("doc")
                } else {
                    Fields::Columns
                };
                crate::live::dsl::to_sql_on(table, &dsl, fields)?
            }
            _ => {
                return Err(Error::new(
                    SqlState::InvalidParameterValue,
                    "query is SQL text, or a DSL object with \"table\"",
                ));
            }
        };
        let identity = self.identity().clone();
        let mut filters = Vec::new();
        for table in self.gateway.live.tables(&sql, &params)? {
            match self.gateway.guard.rules.read(&identity.role, &table) {
                ReadAccess::All => {}
                ReadAccess::Denied => {
                    return Err(denied(format!(
                        "{} may not read \"{table}\"",
                        identity.role
                    )));
                }
                ReadAccess::Where(filter) => {
                    let bound = crate::live::restrict::bind_claims(&filter, &identity)?;
                    let predicate = Predicate::row_filter(&filter, &identity)?;
                    filters.push((
                        crate::live::restrict::RowFilter { table, sql: bound },
                        predicate,
                    ));
                }
            }
        }
        let sub = format!("s{}", self.next_sub);
        let sink = Arc::new(LiveSink {
            sub: sub.clone(),
            outbox: self.outbox.clone(),
        });
        let ticket = self
            .gateway
            .live
            .prepare_restricted(&sql, &params, &filters, s.since, sink)?;
        self.new_sub(Subscribed::Live(ticket.id));
        self.reply(protocol::ack(id, fields(&[("sub", sub.into())])));
        self.gateway.live.begin(ticket);
        Ok(())
    }

    /// Leaves everything this connection joined.
    fn close(&mut self) {
        self.gateway.hub.unlisten_all(&self.listener);
        self.gateway.presence.leave(None, self.conn);
        let mut feeds = false;
        for (_, kind) in self.subscriptions.drain() {
            match kind {
                Subscribed::Feed => feeds = true,
                Subscribed::Live(id) => self.gateway.live.unsubscribe(id),
            }
        }
        if feeds {
            self.gateway.feeds.remove(self.conn, None);
        }
    }
}
