//! Direct delivery: the publishing thread writes a notification straight to an
//! idle wire session's socket.
//!
//! Every wire session runs on a thread of its own (see `frontend`). Queuing a
//! notification for it means waking that thread (an eventfd write by the
//! publisher, a context switch and an epoll round on the listener's side)
//! before its single `send`; profiling a 100-listener fan-out put those
//! wake-ups at about 40 % of the server's CPU. While a session is idle, that
//! is, after ReadyForQuery went out and before the next client message, nothing
//! else writes to its socket, so the publisher can write the already encoded
//! NotificationResponse itself and skip the wake-up.
//!
//! The session *arms* its [`DirectSocket`] when it goes idle with nothing
//! queued, and *disarms* it before it writes anything. Both happen under the
//! same lock as the publisher's write, so their bytes never interleave, and a
//! notification queued while disarmed is always sent before the session arms
//! again, so order is kept.
//!
//! The hub only *holds* a notification for an armed socket, in commit order;
//! the publisher writes what is held (see [`Fanout`]) when it flushes its own
//! reply: outside the hub's lock, one write per socket for all of a
//! transaction's notifications, and a later publisher's write takes along
//! what an earlier one still holds, so order is kept across publishers too.
//! A write the socket does not take whole leaves its remainder in a backlog
//! for the session to send first; everything after it is queued. A socket
//! that takes nothing (its client stopped reading) disarms it and the session
//! sends what is held itself; the queue's bound then cuts a client that never
//! catches up, as before.

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};

use super::Notification;

/// The most notifications held for one socket between writes; a burst past
/// it (one statement notifying thousands of times) goes through the session's
/// bounded queue, so memory stays bounded by the queue's size.
const HELD_LIMIT: usize = 64;

impl Notification {
    /// The NotificationResponse message (type, length, pid, channel, payload),
    /// encoded once for every socket it is written to.
    fn encoded(&self) -> &[u8] {
        self.wire.get_or_init(|| {
            let body = 4 + self.channel.len() + 1 + self.payload.len() + 1;
            let mut bytes = Vec::with_capacity(1 + 4 + body);
            bytes.push(b'A');
            bytes.extend_from_slice(&((4 + body) as i32).to_be_bytes());
            bytes.extend_from_slice(&self.pid.to_be_bytes());
            for text in [&self.channel, &self.payload] {
                bytes.extend_from_slice(text.as_bytes());
                bytes.push(0);
            }
            bytes
        })
    }
}

/// A wire session's socket as the hub sees it.
pub struct DirectSocket {
    state: Mutex<State>,
    /// Rung when a direct write left a backlog or held notifications: the
    /// session must send them.
    backlog_ready: Notify,
}

struct State {
    /// A duplicate of the session's plain TCP socket (non-blocking, as the
    /// session's own); `None` once the session ends.
    socket: Option<TcpStream>,
    armed: bool,
    /// Notifications held for a direct write, in order.
    held: Vec<Arc<Notification>>,
    /// The unsent end of a message the socket took only in part.
    backlog: Vec<u8>,
}

/// How a socket took a notification.
pub enum Taken {
    /// Held: the publisher's [`Fanout`] must write it.
    Held,
    Queued,
    /// The queue is full or gone.
    Refused,
}

/// What the session finds when it takes its socket back: bytes to write
/// first, then notifications to send, before anything else.
pub struct Reclaimed {
    pub backlog: Vec<u8>,
    pub held: Vec<Arc<Notification>>,
}

/// The sockets a publisher holds notifications for. It writes them with
/// [`Fanout::write`] as it flushes its reply; dropping it writes them too, so
/// nothing held is left behind.
#[derive(Default)]
pub struct Fanout {
    sockets: Vec<Arc<DirectSocket>>,
    /// The same sockets' addresses: a transaction's several notifications
    /// reach a socket several times, and a thousand listeners must not cost
    /// a scan each.
    seen: HashSet<usize>,
}

impl Fanout {
    pub fn hold(&mut self, socket: &Arc<DirectSocket>) {
        if self.seen.insert(Arc::as_ptr(socket) as usize) {
            self.sockets.push(socket.clone());
        }
    }

    pub fn write(&mut self) {
        self.seen.clear();
        for socket in self.sockets.drain(..) {
            socket.write_held();
        }
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        self.write();
    }
}

impl DirectSocket {
    /// Shares `socket` (a duplicate of the session's) with the hub, disarmed.
    pub fn new(socket: TcpStream) -> Arc<DirectSocket> {
        Arc::new(DirectSocket {
            state: Mutex::new(State {
                socket: Some(socket),
                armed: false,
                held: Vec::new(),
                backlog: Vec::new(),
            }),
            backlog_ready: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `n`: held for a direct write when the session is armed and `n`
    /// needs no per-session treatment (a durable message is numbered for its
    /// consumer by the session), else put on `queue`.
    pub fn deliver(&self, n: &Arc<Notification>, queue: &mpsc::Sender<Arc<Notification>>) -> Taken {
        let mut state = self.state();
        if state.armed && n.id.is_none() && state.held.len() < HELD_LIMIT {
            state.held.push(n.clone());
            return Taken::Held;
        }
        if state.armed && !state.held.is_empty() {
            // What is held goes first: the session sends it, then the queue.
            self.backlog_ready.notify_one();
        }
        state.armed = false;
        match queue.try_send(n.clone()) {
            Ok(()) => Taken::Queued,
            Err(_) => Taken::Refused,
        }
    }

    /// Writes the held notifications in one write, if the session is still
    /// idle (otherwise it sends them itself).
    fn write_held(&self) {
        let mut state = self.state();
        if !state.armed || state.held.is_empty() {
            return;
        }
        // One notification (the common case) is written from its encoding.
        let written = match state.held.as_slice() {
            [one] => {
                let one = one.clone();
                state.write(one.encoded())
            }
            many => {
                let bytes: Vec<u8> = many.iter().flat_map(|n| n.encoded()).copied().collect();
                state.write(&bytes)
            }
        };
        match written {
            Written::Whole => state.held.clear(),
            Written::Part => {
                state.held.clear();
                state.armed = false;
                self.backlog_ready.notify_one();
            }
            Written::Nothing => {
                state.armed = false;
                self.backlog_ready.notify_one();
            }
        }
    }

    /// Marks the session idle, unless something is still waiting for it
    /// (`false`: send that first, then arm again).
    pub fn arm(&self, queue: &mpsc::Receiver<Arc<Notification>>) -> bool {
        let mut state = self.state();
        state.armed = state.socket.is_some()
            && state.backlog.is_empty()
            && state.held.is_empty()
            && queue.is_empty();
        state.armed
    }

    /// Stops direct writes before the session writes itself.
    pub fn disarm(&self) -> Reclaimed {
        let mut state = self.state();
        state.armed = false;
        Reclaimed {
            backlog: std::mem::take(&mut state.backlog),
            held: std::mem::take(&mut state.held),
        }
    }

    /// Resolves when a direct write left something for the session to send.
    pub async fn backlog_ready(&self) {
        self.backlog_ready.notified().await
    }

    /// The session ended: the duplicate socket is closed.
    pub fn close(&self) {
        let mut state = self.state();
        state.armed = false;
        state.socket = None;
    }
}

enum Written {
    Whole,
    Part,
    Nothing,
}

impl State {
    fn write(&mut self, bytes: &[u8]) -> Written {
        let Some(socket) = &self.socket else {
            return Written::Nothing;
        };
        let mut sent = 0;
        while sent < bytes.len() {
            match (&*socket).write(&bytes[sent..]) {
                Ok(0) => break,
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        match sent {
            0 => Written::Nothing,
            n if n == bytes.len() => Written::Whole,
            n => {
                self.backlog.extend_from_slice(&bytes[n..]);
                Written::Part
            }
        }
    }
}
