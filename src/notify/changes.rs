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
use crate::changes::{Change, ChangeStream, Cursor, next_batch};
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
/// someone listens on a change channel: the hub hands the bridge a cursor
/// opened when the first one is listened on.
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
            let _ = opened_tx.send(stream.cursor(None));
        });
    }
    follow_for_listeners(stream, hub, opened, shutdown)
}

async fn follow_for_listeners(
    stream: Arc<ChangeStream>,
    hub: Arc<NotifyHub>,
    mut opened: mpsc::UnboundedReceiver<Cursor>,
    shutdown: CancellationToken,
) {
    let mut cursor: Option<Cursor> = None;
    loop {
        let batch = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            Some(fresh) = opened.recv() => {
                // An open cursor is older, so it already covers the new one.
                cursor.get_or_insert(fresh);
                continue;
            }
            batch = next_batch(&mut cursor) => batch,
        };
        match batch {
            None => return,
            Some(Ok(batch)) => publish(&hub, &batch),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "change stream bridge fell behind retention");
                cursor = Some(stream.cursor(None));
            }
        }
        if !hub.has_change_listeners() {
            cursor = None;
        }
    }
}

fn publish(hub: &NotifyHub, batch: &[Change]) {
    let mut notifications = Vec::new();
    for change in batch {
        for channel in [table_channel(&change.table), ALL_TABLES.to_string()] {
            if hub.has_listeners(&channel) {
                notifications.push(Notification::new(channel, payload(change), 0));
            }
        }
    }
    hub.publish(notifications);
}
