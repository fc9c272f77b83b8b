//! Durable channels. `litewire.listen_durable(channel, consumer)` registers a
//! named consumer (`_lw_consumers`, its position kept in the database) and
//! makes the channel durable: from then on every message published on it is
//! also written to `_lw_messages` in the publishing transaction. A consumer
//! that comes back gets every message after the last one it acknowledged
//! (`litewire.ack(consumer, id)`), in order, then goes live; delivery to it
//! carries each message's id (payload `{"id":..,"payload":".."}`), and
//! messages it already got are skipped at the hand-over.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::direct::Fanout;
use super::{Notification, NotifyHub};
use crate::error::Result;
use crate::store::{Conn, Store, blocking, exec};

/// How long a publisher outside a transaction waits for the writer to record
/// a durable message.
const WRITER_WAIT: Duration = Duration::from_secs(5);

/// Writes the durable ones among `notifications` to `_lw_messages` in the
/// transaction open on `conn`, giving each its id.
pub fn record(
    conn: &Conn,
    durable: &HashSet<String>,
    notifications: &mut [Notification],
) -> Result<()> {
    let mut insert = conn
        .sqlite
        .prepare_cached("INSERT INTO _lw_messages (channel, payload) VALUES (?1, ?2)")?;
    for n in notifications
        .iter_mut()
        .filter(|n| durable.contains(&n.channel))
    {
        insert.execute([&n.channel, &n.payload])?;
        n.id = Some(conn.sqlite.last_insert_rowid());
    }
    Ok(())
}

/// Publishes outside any transaction (the WebSocket and REST doors): durable
/// messages are recorded in a write transaction of their own first.
pub async fn publish(
    store: &Arc<Store>,
    hub: &NotifyHub,
    notifications: Vec<Notification>,
) -> Result<()> {
    publish_held(store, hub, notifications, &mut Fanout::default()).await
}

/// [`publish`] for an autocommit NOTIFY, whose writes to idle sessions wait
/// in `fanout` until the session flushes its reply.
pub async fn publish_held(
    store: &Arc<Store>,
    hub: &NotifyHub,
    mut notifications: Vec<Notification>,
    fanout: &mut Fanout,
) -> Result<()> {
    let durable = hub.durable_channels();
    if notifications.iter().any(|n| durable.contains(&n.channel)) {
        let guard = store.writer(WRITER_WAIT).await?;
        let (_, result) = blocking(guard, move |conn: &mut Conn| {
            let recorded =
                exec::in_write_transaction(conn, |conn| record(conn, &durable, &mut notifications));
            recorded.map(|_| notifications)
        })
        .await;
        notifications = result?;
    }
    hub.publish_held(notifications, fanout);
    Ok(())
}

/// Registers (or moves) `consumer` on `channel` and makes the channel
/// durable; returns the last id the consumer acknowledged.
pub async fn register(
    store: &Arc<Store>,
    hub: &NotifyHub,
    consumer: String,
    channel: String,
) -> Result<i64> {
    let guard = store.writer(WRITER_WAIT).await?;
    let name = channel.clone();
    let (_, acked) = blocking(guard, move |conn: &mut Conn| {
        exec::in_write_transaction(conn, |conn| {
            Ok(conn.sqlite.query_row(
                "INSERT INTO _lw_consumers (name, channel) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET channel = excluded.channel RETURNING acked",
                [&consumer, &name],
                |r| r.get::<_, i64>(0),
            )?)
        })
    })
    .await;
    hub.make_durable(&channel);
    acked
}

/// The messages on `channel` after `after`, in order, as notifications.
pub async fn replay(store: &Arc<Store>, channel: String, after: i64) -> Result<Vec<Notification>> {
    let reader = store.reader().await;
    blocking(reader, move |conn: &mut Conn| {
        let mut stmt = conn.sqlite.prepare_cached(
            "SELECT id, payload FROM _lw_messages WHERE channel = ?1 AND id > ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(rusqlite::params![channel, after], |r| {
            Ok(Notification::durable(channel.clone(), r.get(1)?, r.get(0)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    })
    .await
    .1
}

/// The channels with a registered consumer (at startup).
pub async fn load(store: &Arc<Store>, hub: &NotifyHub) -> Result<()> {
    let reader = store.reader().await;
    let (_, channels) = blocking(reader, |conn: &mut Conn| {
        let mut stmt = conn
            .sqlite
            .prepare("SELECT DISTINCT channel FROM _lw_consumers")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    })
    .await;
    for channel in channels? {
        hub.make_durable(&channel);
    }
    Ok(())
}

/// Deletes messages older than `age` beyond the latest `rows`.
pub async fn compact(
    store: &Arc<Store>,
    now: chrono::DateTime<chrono::Utc>,
    age: Duration,
    rows: i64,
) -> Result<()> {
    let cutoff = (now - chrono::Duration::from_std(age).unwrap_or_default())
        .format("%Y-%m-%d %H:%M:%S%.3f+00")
        .to_string();
    let guard = store.writer(Duration::ZERO).await?;
    blocking(guard, move |conn: &mut Conn| {
        exec::in_write_transaction(conn, |conn| {
            conn.sqlite.execute(
                "DELETE FROM _lw_messages WHERE created_at < ?1 \
                 AND id <= (SELECT max(id) FROM _lw_messages) - ?2",
                rusqlite::params![cutoff, rows],
            )?;
            Ok(())
        })
    })
    .await
    .1
}
