//! The change stream on LISTEN/NOTIFY: every committed change is a
//! notification on `litewire.changes.<table>` and on `litewire.changes.*`
//! (every table), with a JSON payload
//! `{"lsn","table","op","pk","row","old"}`, so any Postgres client consumes
//! changes without new code. A payload over the NOTIFY limit carries the LSN
//! and key only (`"truncated":true`); the full change is in
//! `litewire.changes(since_lsn)`.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Notification, NotifyHub};
use crate::changes::{
    Change, ChangeBatch, ChangeError, ChangeStream, Cursor, Follower, Following, follow,
};
use crate::translate::MAX_PAYLOAD;

/// Every change channel's name starts with this.
pub const PREFIX: &str = "litewire.changes.";

/// The channel carrying changes of every table.
pub const ALL_TABLES: &str = "litewire.changes.*";

/// The channel carrying changes of `table`.
pub fn table_channel(table: &str) -> String {
    format!("{PREFIX}{table}")
}

/// The table whose changes `channel` carries (`*` for all), if it is a change
/// channel.
pub fn channel_table(channel: &str) -> Option<&str> {
    channel.strip_prefix(PREFIX)
}

fn payload(change: &Change) -> String {
    let full = json!({
        "lsn": change.lsn,
        "table": change.table,
        "op": change.op.as_str(),
        "pk": change.pk,
        "row": change.row,
        "old": change.old,
    })
    .to_string();
    if full.len() <= MAX_PAYLOAD {
        return full;
    }
    json!({
        "lsn": change.lsn,
        "table": change.table,
        "op": change.op.as_str(),
        "pk": change.pk,
        "truncated": true,
    })
    .to_string()
}

/// Publishes the stream into `hub` until `shutdown`. Payloads are built only
/// for channels someone listens on, and the stream is followed only while
/// someone listens on a change channel: each LISTEN of one opens a cursor
/// from now, which the bridge takes if it has none, and hears the changes
/// after that cursor's position.
///
/// The hub's hook is set here, before the task runs, so no LISTEN can come
/// before it.
pub fn bridge(
    stream: Arc<ChangeStream>,
    hub: Arc<NotifyHub>,
    shutdown: CancellationToken,
) -> impl Future<Output = ()> + Send + 'static {
    let (opened_tx, opened) = mpsc::unbounded_channel();
    {
        let stream = stream.clone();
        hub.on_change_channel(move || {
            let cursor = stream.cursor(None);
            let newest = cursor.position();
            let _ = opened_tx.send(cursor);
            newest
        });
    }
    let bridge = Bridge {
        following: Following::new(stream),
        hub,
    };
    follow(bridge, opened, shutdown)
}

/// The change channels' follower: its commands are the cursors the hub's
/// hook opens, and it is idle while no change channel has a listener.
struct Bridge {
    following: Following,
    hub: Arc<NotifyHub>,
}

impl Follower for Bridge {
    type Command = Cursor;

    fn following(&mut self) -> &mut Following {
        &mut self.following
    }

    fn is_idle(&self) -> bool {
        !self.hub.has_change_listeners()
    }

    async fn command(&mut self, fresh: Cursor) {
        self.following.open(fresh);
    }

    async fn batch(&mut self, batch: ChangeBatch) {
        publish(&self.hub, &batch);
    }

    /// Listeners have no position to resume from: the bridge goes on from now.
    fn fell_behind(&mut self, _: ChangeError) {
        self.following.restart();
    }
}

fn publish(hub: &NotifyHub, batch: &[Change]) {
    let mut notifications = Vec::new();
    for change in batch {
        for channel in [table_channel(&change.table), ALL_TABLES.to_string()] {
            if hub.has_listeners(&channel) {
                notifications.push(Notification::change(channel, payload(change), change.lsn));
            }
        }
    }
    hub.publish(notifications);
}
