//! The notification hub: Postgres LISTEN/NOTIFY between sessions.
//!
//! Sessions register a [`Listener`] under the channels they LISTEN on: a wire
//! session gets a bounded queue it drains when idle; a WebSocket gets a push
//! function that puts the frame straight into its own bounded outbox (one task
//! hop less per delivery, which is what fan-out to thousands of sockets costs).
//! [`NotifyHub::publish`] is called with a committed transaction's
//! notifications, in order, shares each one by `Arc` among its listeners, and
//! never blocks: a listener that cannot take one is cut off (removed from
//! every channel and marked lagging), so a slow or stuck client never stalls
//! publishers or other listeners and never grows memory without bound. Its
//! session sees that, tells the client why and ends the connection.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::mpsc;

pub mod changes;
pub mod direct;
pub mod durable;
pub mod presence;

use direct::{DirectSocket, Fanout, Taken};

/// One delivered notification, as NotificationResponse carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub channel: String,
    pub payload: String,
    /// Backend PID of the sending session.
    pub pid: i32,
    /// The message id on a durable channel (see [`durable`]).
    pub id: Option<i64>,
    /// The change's LSN on a change channel (see [`Subscription`]).
    lsn: Option<i64>,
    /// Its NotificationResponse bytes, encoded once for all the sockets it
    /// is written to directly (see [`direct`]).
    wire: OnceLock<Vec<u8>>,
}

impl Notification {
    pub fn new(channel: String, payload: String, pid: i32) -> Notification {
        Notification {
            channel,
            payload,
            pid,
            id: None,
            lsn: None,
            wire: OnceLock::new(),
        }
    }

    /// A message of a durable channel, numbered `id`.
    pub fn durable(channel: String, payload: String, id: i64) -> Notification {
        Notification {
            id: Some(id),
            ..Notification::new(channel, payload, 0)
        }
    }

    /// The change numbered `lsn`, on a change channel (see [`changes`]).
    pub fn change(channel: String, payload: String, lsn: i64) -> Notification {
        Notification {
            lsn: Some(lsn),
            ..Notification::new(channel, payload, 0)
        }
    }
}

/// How a listener takes a notification; `false` means it cannot keep up.
type Push = Box<dyn Fn(&Arc<Notification>) -> bool + Send + Sync>;

enum Delivery {
    Queue(mpsc::Sender<Arc<Notification>>),
    /// A wire session's queue and, while it is idle, its socket.
    Direct(mpsc::Sender<Arc<Notification>>, Arc<DirectSocket>),
    Push(Push),
}

/// A session's subscription handle. Dropping the last `Arc` (the session's and
/// the hub's) closes its queue.
pub struct Listener {
    pid: i32,
    delivery: Delivery,
    /// Set when the listener could not keep up and the hub dropped it.
    lagging: AtomicBool,
}

impl Listener {
    pub fn is_lagging(&self) -> bool {
        self.lagging.load(Ordering::Acquire)
    }

    /// Hands `n` over; `false` when the listener cannot take it.
    fn deliver(&self, n: &Arc<Notification>, fanout: &mut Fanout) -> bool {
        match &self.delivery {
            Delivery::Queue(queue) => queue.try_send(n.clone()).is_ok(),
            Delivery::Direct(queue, socket) => match socket.deliver(n, queue) {
                Taken::Held => {
                    fanout.hold(socket);
                    true
                }
                Taken::Queued => true,
                Taken::Refused => false,
            },
            Delivery::Push(push) => push(n),
        }
    }
}

/// A listener on one channel. On a change channel it hears only the changes
/// committed after it listened, as LISTEN hears only transactions committed
/// after it in Postgres, although the bridge may still be publishing older
/// ones: `after` is the newest LSN when it listened. Elsewhere `after` is 0
/// and unused, as only change notifications carry an LSN.
struct Subscription {
    listener: Arc<Listener>,
    after: i64,
}

impl Subscription {
    fn hears(&self, n: &Notification) -> bool {
        n.lsn.is_none_or(|lsn| lsn > self.after)
    }
}

#[derive(Default)]
pub struct NotifyHub {
    channels: Mutex<HashMap<String, Vec<Subscription>>>,
    /// How many subscriptions to change channels (`litewire.changes.*`) there
    /// are or are being made: the change bridge follows the stream only
    /// while there are some.
    change_subscriptions: AtomicUsize,
    /// Run on every LISTEN of a change channel, before LISTEN returns (see
    /// [`NotifyHub::on_change_channel`]).
    change_channel_listened: OnceLock<Box<dyn Fn() -> i64 + Send + Sync>>,
    capacity: usize,
    /// Channels with a durable consumer (their messages are recorded).
    durable: Mutex<Arc<HashSet<String>>>,
}

impl NotifyHub {
    /// A hub whose listeners each buffer at most `capacity` notifications.
    pub fn new(capacity: usize) -> Self {
        NotifyHub {
            capacity: capacity.max(1),
            ..NotifyHub::default()
        }
    }

    /// A new listener for session `pid` and the receiving end of its queue.
    pub fn listener(&self, pid: i32) -> (Arc<Listener>, mpsc::Receiver<Arc<Notification>>) {
        let (queue, receiver) = mpsc::channel(self.capacity);
        (Self::with(pid, Delivery::Queue(queue)), receiver)
    }

    /// A listener for a wire session whose socket the hub may write to
    /// directly while the session is idle.
    pub fn direct_listener(
        &self,
        pid: i32,
        socket: Arc<DirectSocket>,
    ) -> (Arc<Listener>, mpsc::Receiver<Arc<Notification>>) {
        let (queue, receiver) = mpsc::channel(self.capacity);
        (Self::with(pid, Delivery::Direct(queue, socket)), receiver)
    }

    /// A listener that takes each notification with `push` (which must not
    /// block; `false` cuts the listener off).
    pub fn push_listener(
        &self,
        pid: i32,
        push: impl Fn(&Arc<Notification>) -> bool + Send + Sync + 'static,
    ) -> Arc<Listener> {
        Self::with(pid, Delivery::Push(Box::new(push)))
    }

    fn with(pid: i32, delivery: Delivery) -> Arc<Listener> {
        Arc::new(Listener {
            pid,
            delivery,
            lagging: AtomicBool::new(false),
        })
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Subscription>>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets what runs on each LISTEN of a change channel, before the listener
    /// is added: the change bridge makes sure it follows the stream
    /// (synchronously, so a change committed after LISTEN returns is never
    /// missed) and says the newest LSN, which the new [`Subscription`] hears
    /// after.
    pub fn on_change_channel(&self, listened: impl Fn() -> i64 + Send + Sync + 'static) {
        let _ = self.change_channel_listened.set(Box::new(listened));
    }

    /// Whether anyone listens on a change channel (or is starting to).
    pub fn has_change_listeners(&self) -> bool {
        self.change_subscriptions.load(Ordering::Acquire) > 0
    }

    /// Uncounts `removed` subscriptions to `channel` if it is a change channel.
    fn unsubscribed(&self, channel: &str, removed: usize) {
        if removed > 0 && changes::channel_table(channel).is_some() {
            self.change_subscriptions
                .fetch_sub(removed, Ordering::AcqRel);
        }
    }

    pub fn listen(&self, channel: &str, listener: &Arc<Listener>) {
        // A change channel's subscription is counted before the bridge is
        // asked to follow, so the bridge never finds itself idle between the
        // two and closes the cursor it was just handed.
        let after = if changes::channel_table(channel).is_some() {
            self.change_subscriptions.fetch_add(1, Ordering::AcqRel);
            self.change_channel_listened
                .get()
                .map_or(0, |listened| listened())
        } else {
            0
        };
        let mut channels = self.channels();
        let list = channels.entry(channel.to_string()).or_default();
        if list.iter().any(|s| Arc::ptr_eq(&s.listener, listener)) {
            // Listening again changes nothing, as in Postgres.
            self.unsubscribed(channel, 1);
        } else {
            list.push(Subscription {
                listener: listener.clone(),
                after,
            });
        }
    }

    pub fn unlisten(&self, channel: &str, listener: &Arc<Listener>) {
        let mut channels = self.channels();
        if let Some(list) = channels.get_mut(channel) {
            let removed = Self::remove(list, listener);
            self.unsubscribed(channel, removed);
            if list.is_empty() {
                channels.remove(channel);
            }
        }
    }

    pub fn unlisten_all(&self, listener: &Arc<Listener>) {
        self.channels().retain(|channel, list| {
            let removed = Self::remove(list, listener);
            self.unsubscribed(channel, removed);
            !list.is_empty()
        });
    }

    /// Removes `listener` from `list`; says how many subscriptions went.
    fn remove(list: &mut Vec<Subscription>, listener: &Arc<Listener>) -> usize {
        let before = list.len();
        list.retain(|s| !Arc::ptr_eq(&s.listener, listener));
        before - list.len()
    }

    /// Delivers a committed transaction's notifications, in order. Never waits.
    pub fn publish(&self, notifications: Vec<Notification>) {
        self.publish_held(notifications, &mut Fanout::default());
    }

    /// Like [`NotifyHub::publish`], but the writes to idle wire sessions
    /// (their order fixed here) are left in `fanout` for the caller to make
    /// as it flushes its reply (see [`direct`]).
    pub fn publish_held(&self, notifications: Vec<Notification>, fanout: &mut Fanout) {
        if notifications.is_empty() {
            return;
        }
        metrics::counter!(crate::metrics::NOTIFICATIONS).increment(notifications.len() as u64);
        let mut overflowed: Vec<Arc<Listener>> = Vec::new();
        {
            let channels = self.channels();
            for n in notifications {
                let Some(list) = channels.get(&n.channel) else {
                    continue;
                };
                let n = Arc::new(n);
                for listener in list.iter().filter(|s| s.hears(&n)).map(|s| &s.listener) {
                    if !listener.deliver(&n, fanout)
                        && !listener.lagging.swap(true, Ordering::AcqRel)
                    {
                        tracing::warn!(pid = listener.pid, channel = %n.channel, "listener queue full; disconnecting it");
                        overflowed.push(listener.clone());
                    }
                }
            }
        }
        for listener in overflowed {
            self.unlisten_all(&listener);
        }
    }

    /// The durable channels now (a cheap snapshot).
    pub fn durable_channels(&self) -> Arc<HashSet<String>> {
        self.durable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn make_durable(&self, channel: &str) {
        let mut durable = self.durable.lock().unwrap_or_else(|e| e.into_inner());
        if !durable.contains(channel) {
            let mut next = (**durable).clone();
            next.insert(channel.to_string());
            *durable = Arc::new(next);
        }
    }

    pub fn has_listeners(&self, channel: &str) -> bool {
        self.channels().contains_key(channel)
    }

    /// Listener counts per channel (for stats and tests).
    pub fn channel_counts(&self) -> HashMap<String, usize> {
        self.channels()
            .iter()
            .map(|(c, l)| (c.clone(), l.len()))
            .collect()
    }
}

/// The notifications a transaction has sent and its pending LISTEN changes,
/// applied at commit and discarded at rollback, as in Postgres.
#[derive(Debug, Default, Clone)]
pub struct Pending {
    notifications: Vec<(String, String)>,
    seen: HashSet<(String, String)>,
    pub listens: Vec<ListenChange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenChange {
    Listen(String),
    Unlisten(String),
    UnlistenAll,
}

impl Pending {
    /// Queues a notification; an identical (channel, payload) already queued in
    /// this transaction is delivered once.
    pub fn notify(&mut self, channel: String, payload: String) {
        if self.seen.insert((channel.clone(), payload.clone())) {
            self.notifications.push((channel, payload));
        }
    }

    /// How much is queued, to roll back to at ROLLBACK TO SAVEPOINT.
    pub fn mark(&self) -> (usize, usize) {
        (self.notifications.len(), self.listens.len())
    }

    pub fn truncate(&mut self, mark: (usize, usize)) {
        for dropped in self.notifications.drain(mark.0..) {
            self.seen.remove(&dropped);
        }
        self.listens.truncate(mark.1);
    }

    pub fn take_notifications(&mut self, pid: i32) -> Vec<Notification> {
        self.seen.clear();
        std::mem::take(&mut self.notifications)
            .into_iter()
            .map(|(channel, payload)| Notification::new(channel, payload, pid))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_listener_is_cut_off_and_others_still_receive() {
        let hub = NotifyHub::new(2);
        let (slow, _slow_rx) = hub.listener(1);
        let (fast, mut fast_rx) = hub.listener(2);
        hub.listen("c", &slow);
        hub.listen("c", &fast);
        let n = |i: usize| Notification::new("c".into(), i.to_string(), 9);
        hub.publish(vec![n(1), n(2)]);
        assert_eq!(fast_rx.try_recv().unwrap().payload, "1");
        assert_eq!(fast_rx.try_recv().unwrap().payload, "2");
        hub.publish(vec![n(3)]);
        assert!(slow.is_lagging());
        assert_eq!(hub.channel_counts()["c"], 1);
        assert_eq!(fast_rx.try_recv().unwrap().payload, "3");
    }

    #[test]
    fn a_change_subscription_hears_changes_after_it_and_is_counted_once() {
        let hub = NotifyHub::new(8);
        let newest = Arc::new(AtomicUsize::new(5));
        let at = newest.clone();
        hub.on_change_channel(move || at.load(Ordering::Acquire) as i64);
        let channel = "litewire.changes.orders";
        let (early, mut early_rx) = hub.listener(1);
        hub.listen(channel, &early);
        newest.store(7, Ordering::Release);
        hub.listen(channel, &early); // again: still hears after 5
        let (late, mut late_rx) = hub.listener(2);
        hub.listen(channel, &late);
        let change = |lsn: i64| Notification::change(channel.into(), lsn.to_string(), lsn);
        hub.publish((5..=8).map(change).collect());
        let heard = |rx: &mut mpsc::Receiver<Arc<Notification>>| {
            std::iter::from_fn(|| rx.try_recv().ok().map(|n| n.payload.clone())).collect::<Vec<_>>()
        };
        assert_eq!(heard(&mut early_rx), ["6", "7", "8"]);
        assert_eq!(heard(&mut late_rx), ["8"]);
        hub.unlisten(channel, &early);
        assert!(hub.has_change_listeners());
        hub.unlisten_all(&late);
        assert!(!hub.has_change_listeners());
    }

    #[test]
    fn duplicates_in_a_transaction_are_delivered_once_and_savepoints_trim() {
        let mut p = Pending::default();
        p.notify("a".into(), "x".into());
        let mark = p.mark();
        p.notify("a".into(), "x".into());
        p.notify("a".into(), "y".into());
        p.truncate(mark);
        p.notify("b".into(), "z".into());
        let got: Vec<_> = p
            .take_notifications(7)
            .into_iter()
            .map(|n| (n.channel, n.payload))
            .collect();
        assert_eq!(
            got,
            vec![("a".into(), "x".into()), ("b".into(), "z".into())]
        );
    }
}
