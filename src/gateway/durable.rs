//! `listen` with `since` on a durable channel: the socket gets every message
//! after that id from the log (`notify::durable`), in order, then the live
//! ones, none twice. While the log is replayed, live notifications on the
//! channel are held back, so the hand-over keeps id order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::notify::Notification;

/// Whether the socket's push listener sends a notification now.
pub enum Admit {
    Send,
    /// Held until the replay is done, or already sent.
    No,
}

#[derive(Default)]
struct Channel {
    replaying: bool,
    held: Vec<Arc<Notification>>,
    /// The last message id sent on this channel.
    delivered: i64,
}

/// One socket's durable channels.
#[derive(Default)]
pub struct Gate(Mutex<HashMap<String, Channel>>);

impl Gate {
    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts replaying `channel` from after `since`; live notifications wait.
    pub fn start(&self, channel: &str, since: i64) {
        self.channels().insert(
            channel.to_string(),
            Channel {
                replaying: true,
                held: Vec::new(),
                delivered: since,
            },
        );
    }

    /// Decides for a live notification.
    pub fn admit(&self, n: &Arc<Notification>) -> Admit {
        let mut channels = self.channels();
        let Some(channel) = channels.get_mut(&n.channel) else {
            return Admit::Send;
        };
        if channel.replaying {
            channel.held.push(n.clone());
            return Admit::No;
        }
        match n.id {
            Some(id) if id <= channel.delivered => Admit::No,
            Some(id) => {
                channel.delivered = id;
                Admit::Send
            }
            None => Admit::Send,
        }
    }

    /// Sends the replayed messages and then those held back, in order and
    /// once each, and ends the replay; `send` returns false when the socket
    /// cannot take more.
    pub fn finish(
        &self,
        channel: &str,
        replayed: Vec<Notification>,
        send: impl Fn(&Arc<Notification>) -> bool,
    ) {
        let mut channels = self.channels();
        let Some(state) = channels.get_mut(channel) else {
            return;
        };
        let held = std::mem::take(&mut state.held);
        for n in replayed.into_iter().map(Arc::new).chain(held) {
            match n.id {
                Some(id) if id <= state.delivered => continue,
                Some(id) => state.delivered = id,
                None => {}
            }
            if !send(&n) {
                break;
            }
        }
        state.replaying = false;
    }
}
