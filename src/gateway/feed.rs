//! Table feeds: one task follows the change stream for every subscription of
//! every socket. Per change it finds the subscriptions of the change's table,
//! applies each one's predicate (the subscription's filter AND the role's row
//! filter) to see the change as that subscriber does (an update leaving the
//! filter is a delete), and queues the diff on the socket's outbox. One task
//! instead of one per subscription: fanning a change out to 10,000 sockets
//! then costs no task wake-ups besides the sockets' writers, and a diff's JSON
//! is built once per change and only its `sub` differs per subscriber.
//!
//! A subscription that resumes from an LSN (`since`) is caught up by this same
//! task before it joins the live set, from the change log up to the position
//! the task has reached; nothing can slip between the replay and the live
//! stream, and nothing is sent twice. A resume point older than retention gets
//! an error telling the client to resnapshot.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use serde_json::Value as Json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::connection::Outbox;
use super::protocol;
use crate::changes::filter::Predicate;
use crate::changes::{Change, ChangeBatch, ChangeError, ChangeStream, Follower, Following, follow};
use crate::error::Error;

/// Changes read per step while catching a subscription up.
const REPLAY_CHUNK: i64 = 1_000;

/// A new table feed.
pub struct Subscription {
    pub conn: u64,
    pub sub: String,
    pub table: String,
    pub predicate: Predicate,
    /// Resume after this LSN; `None`: from now.
    pub since: Option<i64>,
    pub outbox: Outbox,
    /// The subscribe request's id, for the ack the feed task sends.
    pub request: Json,
}

enum Command {
    Add(Box<Subscription>),
    /// One subscription of a socket, or all of them (`None`).
    Remove {
        conn: u64,
        sub: Option<String>,
    },
}

/// The handle sockets use to add and remove their feeds.
#[derive(Clone)]
pub struct Feeds {
    commands: mpsc::UnboundedSender<Command>,
}

impl Feeds {
    pub fn start(changes: Arc<ChangeStream>, shutdown: CancellationToken) -> Feeds {
        let (commands, rx) = mpsc::unbounded_channel();
        let hub = Hub {
            following: Following::new(changes),
            live: HashMap::new(),
        };
        tokio::spawn(follow(hub, rx, shutdown));
        Feeds { commands }
    }

    /// Starts a feed; the feed task acks it (with its start LSN) before any diff.
    pub fn add(&self, subscription: Subscription) {
        let _ = self.commands.send(Command::Add(Box::new(subscription)));
    }

    pub fn remove(&self, conn: u64, sub: Option<String>) {
        let _ = self.commands.send(Command::Remove { conn, sub });
    }
}

struct Live {
    conn: u64,
    sub: String,
    predicate: Predicate,
    outbox: Outbox,
}

struct Hub {
    following: Following,
    /// Live subscriptions by table.
    live: HashMap<String, Vec<Live>>,
}

impl Follower for Hub {
    type Command = Command;

    fn following(&mut self) -> &mut Following {
        &mut self.following
    }

    fn is_idle(&self) -> bool {
        self.live.is_empty()
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Add(s) => self.add(*s).await,
            Command::Remove { conn, sub } => self.remove(conn, sub.as_deref()),
        }
    }

    async fn batch(&mut self, batch: ChangeBatch) {
        self.deliver(&batch);
    }

    fn fell_behind(&mut self, error: ChangeError) {
        self.fail_all(error);
    }
}

impl Hub {
    fn remove(&mut self, conn: u64, sub: Option<&str>) {
        for subs in self.live.values_mut() {
            subs.retain(|l| l.conn != conn || sub.is_some_and(|s| s != l.sub));
        }
        self.live.retain(|_, subs| !subs.is_empty());
    }

    fn fail_all(&mut self, error: ChangeError) {
        let error = Error::from(error);
        for live in self.live.drain().flat_map(|(_, subs)| subs) {
            live.outbox
                .push(protocol::sub_error(&live.sub, &error).into());
        }
    }

    async fn add(&mut self, s: Subscription) {
        let position = self.following.position();
        let start = s.since.unwrap_or(position);
        let ack = protocol::ack(
            &s.request,
            protocol::fields(&[("sub", s.sub.clone().into()), ("lsn", start.into())]),
        );
        if !s.outbox.push(ack.into()) {
            return;
        }
        let live = Live {
            conn: s.conn,
            sub: s.sub,
            predicate: s.predicate,
            outbox: s.outbox,
        };
        let mut from = start;
        while from < position {
            let changes = match self.following.stream().read_since(from, REPLAY_CHUNK).await {
                Ok(changes) => changes,
                Err(e) => {
                    live.outbox
                        .push(protocol::sub_error(&live.sub, &Error::from(e)).into());
                    return;
                }
            };
            let Some(last) = changes.last().map(|c| c.lsn) else {
                break;
            };
            for change in changes
                .iter()
                .filter(|c| c.lsn <= position && c.table == s.table)
            {
                if !send(&live, change, &mut Frames::default()) {
                    return;
                }
            }
            from = last;
        }
        self.live.entry(s.table).or_default().push(live);
    }

    fn deliver(&mut self, batch: &[Change]) {
        for change in batch {
            let Some(subs) = self.live.get_mut(&change.table) else {
                continue;
            };
            let mut frames = Frames::default();
            subs.retain(|live| send(live, change, &mut frames));
        }
        self.live.retain(|_, subs| !subs.is_empty());
    }
}

/// The JSON of one change's diff, built once for every subscriber that sees
/// the change whole (the common case); only `sub` is spliced in per socket.
#[derive(Default)]
struct Frames {
    whole: Option<String>,
}

/// Queues `change` for `live` if it sees it; `false` when the socket is gone
/// or too slow (the subscription is then dropped).
fn send(live: &Live, change: &Change, frames: &mut Frames) -> bool {
    let Some(seen) = live.predicate.view(change) else {
        return true;
    };
    let frame = if seen.is_whole(change) {
        let rest = frames
            .whole
            .get_or_insert_with(|| protocol::diff_fields(change, &seen));
        format!(
            "{{\"type\":\"diff\",\"sub\":{},{rest}",
            Json::from(live.sub.as_str())
        )
    } else {
        format!(
            "{{\"type\":\"diff\",\"sub\":{},{}",
            Json::from(live.sub.as_str()),
            protocol::diff_fields(change, &seen)
        )
    };
    live.outbox.push(Utf8Bytes::from(frame))
}
