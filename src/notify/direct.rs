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
//! again, so order is kept. A write the socket does not take whole leaves its
//! remainder in a backlog for the session to send first; everything after it is
//! queued. A socket that takes nothing (its client stopped reading) disarms it,
//! and the queue's bound then cuts a client that never catches up, as before.

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};

use super::Notification;

/// A wire session's socket as the hub sees it.
pub struct DirectSocket {
    state: Mutex<State>,
    /// Rung when the hub left a backlog: the session must send it.
    backlog_ready: Notify,
}

struct State {
    /// A duplicate of the session's plain TCP socket (non-blocking, as the
    /// session's own); `None` once the session ends.
    socket: Option<TcpStream>,
    armed: bool,
    /// The unsent end of a message the socket took only in part.
    backlog: Vec<u8>,
}

impl DirectSocket {
    /// Shares `socket` (a duplicate of the session's) with the hub, disarmed.
    pub fn new(socket: TcpStream) -> Arc<DirectSocket> {
        Arc::new(DirectSocket {
            state: Mutex::new(State {
                socket: Some(socket),
                armed: false,
                backlog: Vec::new(),
            }),
            backlog_ready: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers `n`: written to the socket when the session is armed and `n`
    /// needs no per-session treatment (a durable message is numbered for its
    /// consumer by the session), else put on `queue`. `false` when the queue
    /// is full or gone, as for a queued listener.
    pub fn deliver(&self, n: &Arc<Notification>, queue: &mpsc::Sender<Arc<Notification>>) -> bool {
        let mut state = self.state();
        if state.armed && n.id.is_none() {
            match state.write(n.encoded()) {
                Written::Whole => return true,
                Written::Part => {
                    state.armed = false;
                    self.backlog_ready.notify_one();
                    return true;
                }
                Written::Nothing => {}
            }
        }
        state.armed = false;
        queue.try_send(n.clone()).is_ok()
    }

    /// Marks the session idle, unless a notification or a backlog is still
    /// waiting for it (`false`: send those first, then arm again).
    pub fn arm(&self, queue: &mpsc::Receiver<Arc<Notification>>) -> bool {
        let mut state = self.state();
        state.armed = state.socket.is_some() && state.backlog.is_empty() && queue.is_empty();
        state.armed
    }

    /// Stops direct writes before the session writes itself; returns the
    /// bytes it must write before anything else.
    pub fn disarm(&self) -> Vec<u8> {
        let mut state = self.state();
        state.armed = false;
        std::mem::take(&mut state.backlog)
    }

    /// Resolves when the hub left a backlog for the session.
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
