//! Presence: who is in a channel right now, with a state object each
//! (Phoenix/Supabase style). A member joins with a key and a state; the joiner
//! gets everyone present (`State`), the others a `Diff` with the join; leaving
//! (explicitly, on disconnect, or when the gateway times a silent connection
//! out) sends a `Diff` with the leave. Joining again with the same key
//! replaces the state (a leave of the old state and a join of the new).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::{Map, Value as Json, json};
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq)]
pub enum PresenceEvent {
    /// Everyone present in `channel`, by key (sent to a joiner).
    State {
        channel: String,
        presences: Map<String, Json>,
    },
    Diff {
        channel: String,
        joins: Map<String, Json>,
        leaves: Map<String, Json>,
    },
}

struct Member {
    /// The connection that holds this presence.
    conn: u64,
    state: Json,
    joined_at: String,
    events: mpsc::Sender<PresenceEvent>,
}

#[derive(Default)]
pub struct PresenceHub {
    channels: Mutex<HashMap<String, BTreeMap<String, Member>>>,
}

fn one(key: &str, state: &Json) -> Map<String, Json> {
    let mut map = Map::new();
    map.insert(key.to_string(), state.clone());
    map
}

/// Sends without waiting: a member whose queue is full is a connection too slow
/// to read, which the gateway disconnects when its own queue fills.
fn send(member: &Member, event: PresenceEvent) {
    if member.events.try_send(event).is_err() {
        tracing::debug!(conn = member.conn, "presence event not queued");
    }
}

impl PresenceHub {
    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<String, Member>>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn join(
        &self,
        channel: &str,
        key: &str,
        conn: u64,
        state: Json,
        events: &mpsc::Sender<PresenceEvent>,
    ) {
        let mut channels = self.channels();
        let members = channels.entry(channel.to_string()).or_default();
        let previous = members.insert(
            key.to_string(),
            Member {
                conn,
                state: state.clone(),
                joined_at: crate::types::datetime::format_timestamptz(chrono::Utc::now()),
                events: events.clone(),
            },
        );
        let diff = PresenceEvent::Diff {
            channel: channel.to_string(),
            joins: one(key, &state),
            leaves: previous.map(|p| one(key, &p.state)).unwrap_or_default(),
        };
        for member in members.values().filter(|m| m.conn != conn) {
            send(member, diff.clone());
        }
        let presences = members
            .iter()
            .map(|(k, m)| (k.clone(), m.state.clone()))
            .collect();
        if let Some(me) = members.get(key) {
            send(
                me,
                PresenceEvent::State {
                    channel: channel.to_string(),
                    presences,
                },
            );
        }
    }

    /// Removes `conn`'s presences in `channel` (all channels when `None`).
    pub fn leave(&self, channel: Option<&str>, conn: u64) {
        let mut channels = self.channels();
        for (name, members) in channels.iter_mut() {
            if channel.is_some_and(|c| c != name) {
                continue;
            }
            let leaving: Vec<String> = members
                .iter()
                .filter(|(_, m)| m.conn == conn)
                .map(|(k, _)| k.clone())
                .collect();
            if leaving.is_empty() {
                continue;
            }
            let mut leaves = Map::new();
            for key in leaving {
                if let Some(m) = members.remove(&key) {
                    leaves.insert(key, m.state);
                }
            }
            let diff = PresenceEvent::Diff {
                channel: name.clone(),
                joins: Map::new(),
                leaves,
            };
            for member in members.values() {
                send(member, diff.clone());
            }
        }
        channels.retain(|_, members| !members.is_empty());
    }

    /// Everyone present, as rows for `litewire.presence`.
    pub fn rows_json(&self) -> String {
        let rows: Vec<Json> = self
            .channels()
            .iter()
            .flat_map(|(channel, members)| {
                members.iter().map(move |(key, m)| {
                    // Values in litewire's stored forms (jsonb text, timestamptz text).
                    json!({
                        "channel": channel,
                        "key": key,
                        "state": crate::types::json::to_jsonb_text(&m.state),
                        "joined_at": m.joined_at,
                    })
                })
            })
            .collect();
        Json::Array(rows).to_string()
    }

    /// Members per channel (for stats).
    pub fn counts(&self) -> HashMap<String, usize> {
        self.channels()
            .iter()
            .map(|(c, m)| (c.clone(), m.len()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_state_diff_and_leave() {
        let hub = PresenceHub::default();
        let (a_tx, mut a) = mpsc::channel(8);
        let (b_tx, mut b) = mpsc::channel(8);
        hub.join("room", "ann", 1, json!({"typing": false}), &a_tx);
        assert!(
            matches!(a.try_recv().unwrap(), PresenceEvent::State { presences, .. } if presences.len() == 1)
        );
        hub.join("room", "bob", 2, json!({}), &b_tx);
        assert!(
            matches!(b.try_recv().unwrap(), PresenceEvent::State { presences, .. } if presences.len() == 2)
        );
        assert!(
            matches!(a.try_recv().unwrap(), PresenceEvent::Diff { joins, .. } if joins.contains_key("bob"))
        );
        hub.leave(None, 2);
        assert!(
            matches!(a.try_recv().unwrap(), PresenceEvent::Diff { leaves, .. } if leaves.contains_key("bob"))
        );
        assert!(hub.rows_json().contains("\"ann\""));
        assert!(!hub.rows_json().contains("\"bob\""));
    }
}
