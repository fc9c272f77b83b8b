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

/// Who writes to the socket. `socket` is a duplicate of the session's plain
/// TCP socket (non-blocking, as the session's own).
enum State {
    /// The session is idle (armed): the hub holds notifications for a direct
    /// write, in order.
    Idle {
        socket: TcpStream,
        held: Vec<Arc<Notification>>,
    },
    /// The session writes (disarmed): the hub queues, and `pending` is what
    /// the session must send before anything else.
    Busy {
        socket: TcpStream,
        pending: Reclaimed,
    },
    /// The session ended; the duplicate is closed.
    Closed,
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
#[derive(Default)]
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
            state: Mutex::new(State::Busy {
                socket,
                pending: Reclaimed::default(),
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
        if let State::Idle { held, .. } = &mut *state {
            if n.id.is_none() && held.len() < HELD_LIMIT {
                held.push(n.clone());
                return Taken::Held;
            }
            // What is held goes first: the session sends it, then the queue.
            let held = std::mem::take(held);
            if !held.is_empty() {
                self.backlog_ready.notify_one();
            }
            state.disarm(Reclaimed {
                backlog: Vec::new(),
                held,
            });
        }
        match queue.try_send(n.clone()) {
            Ok(()) => Taken::Queued,
            Err(_) => Taken::Refused,
        }
    }

    /// Writes the held notifications in one write, if the session is still
    /// idle (otherwise it sends them itself).
    fn write_held(&self) {
        let mut state = self.state();
        let State::Idle { socket, held } = &mut *state else {
            return;
        };
        // One notification (the common case) is written from its encoding.
        let (first, joined);
        let bytes: &[u8] = match held.as_slice() {
            [] => return,
            [one] => {
                first = one.clone();
                first.encoded()
            }
            many => {
                joined = many
                    .iter()
                    .flat_map(|n| n.encoded())
                    .copied()
                    .collect::<Vec<u8>>();
                &joined
            }
        };
        let pending = match write(socket, bytes) {
            sent if sent == bytes.len() => {
                held.clear();
                return;
            }
            // Nothing went: the session sends the notifications themselves.
            0 => Reclaimed {
                backlog: Vec::new(),
                held: std::mem::take(held),
            },
            sent => {
                held.clear();
                Reclaimed {
                    backlog: bytes[sent..].to_vec(),
                    held: Vec::new(),
                }
            }
        };
        state.disarm(pending);
        self.backlog_ready.notify_one();
    }

    /// Marks the session idle, unless something is still waiting for it (the
    /// session sends that first, then arms again).
    pub fn arm(&self, queue: &mpsc::Receiver<Arc<Notification>>) {
        let mut state = self.state();
        if let State::Busy { pending, .. } = &*state
            && pending.is_empty()
            && queue.is_empty()
            && let State::Busy { socket, .. } = std::mem::replace(&mut *state, State::Closed)
        {
            *state = State::Idle {
                socket,
                held: Vec::new(),
            };
        }
    }

    /// Stops direct writes before the session writes itself.
    pub fn disarm(&self) -> Reclaimed {
        let mut state = self.state();
        match &mut *state {
            State::Idle { held, .. } => {
                let held = std::mem::take(held);
                state.disarm(Reclaimed::default());
                Reclaimed {
                    backlog: Vec::new(),
                    held,
                }
            }
            State::Busy { pending, .. } => std::mem::take(pending),
            State::Closed => Reclaimed::default(),
        }
    }

    /// Resolves when a direct write left something for the session to send.
    pub async fn backlog_ready(&self) {
        self.backlog_ready.notified().await
    }

    /// The session ended: the duplicate socket is closed.
    pub fn close(&self) {
        *self.state() = State::Closed;
    }
}

impl Reclaimed {
    fn is_empty(&self) -> bool {
        self.backlog.is_empty() && self.held.is_empty()
    }
}

impl State {
    /// Idle to busy, with what the session must send first.
    fn disarm(&mut self, pending: Reclaimed) {
        if let State::Idle { .. } = self
            && let State::Idle { socket, .. } = std::mem::replace(self, State::Closed)
        {
            *self = State::Busy { socket, pending };
        }
    }
}

/// Writes what the non-blocking `socket` takes of `bytes`; the count sent.
fn write(socket: &TcpStream, bytes: &[u8]) -> usize {
    let mut sent = 0;
    while sent < bytes.len() {
        match (&*socket).write(&bytes[sent..]) {
            Ok(0) => break,
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    sent
}
