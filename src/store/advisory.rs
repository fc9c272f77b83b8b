//! Advisory locks (`pg_advisory_lock` and friends), as Postgres has them: named
//! by a bigint (or a pair of ints, a key space of its own), exclusive, re-entrant
//! (a session that takes a lock twice unlocks it twice), held at session level
//! until unlocked or until the session ends, or at transaction level
//! (`pg_advisory_xact_lock`) until the transaction ends.
//!
//! One [`AdvisoryLocks`] is shared by every connection of the store. SQL
//! functions run on blocking threads holding a reader or the writer, so they
//! never wait: `pg_advisory_lock` on a key another session holds fails with
//! [`BUSY`] after the statement's other acquisitions are undone, and the
//! session (async, see `frontend::session`) waits for [`AdvisoryLocks::released`]
//! to move, then runs the statement again. A waiting session holds no SQLite
//! connection, so it cannot starve the holder of one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use tokio::sync::watch;

use super::StatementContext;
use super::functions::to_sqlite;
use crate::error::{Error, SqlState};

/// The message of the error a statement fails with when it must wait for a lock;
/// the session recognizes it ([`is_busy`]) and never shows it to a client.
pub const BUSY: &str = "advisory lock held by another session";

/// A lock's name: one bigint, or two ints (`pair`), which Postgres keeps apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    id: i64,
    pair: bool,
}

/// Who holds a lock, and how many times at each level.
struct Holder {
    pid: i32,
    session: u32,
    xact: u32,
}

#[derive(Default)]
pub struct AdvisoryLocks {
    held: Mutex<HashMap<Key, Holder>>,
    /// Whether `held` has any entry, read without the lock: ending a
    /// transaction or a session (after every autocommit statement) is then
    /// free when no session uses advisory locks.
    any: AtomicBool,
    /// Bumped whenever a lock is freed; waiting sessions watch it.
    released: watch::Sender<u64>,
}

impl AdvisoryLocks {
    fn held(&self) -> MutexGuard<'_, HashMap<Key, Holder>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver that sees the next release after this call: subscribe before
    /// running a statement that may block, wait on it after [`BUSY`].
    pub fn released(&self) -> watch::Receiver<u64> {
        self.released.subscribe()
    }

    /// Takes `key` for `pid` unless another session holds it.
    fn try_lock(&self, pid: i32, key: Key, xact: bool) -> bool {
        let mut held = self.held();
        let holder = held.entry(key).or_insert(Holder {
            pid,
            session: 0,
            xact: 0,
        });
        if holder.pid != pid {
            return false;
        }
        self.any.store(true, Ordering::Release);
        if xact {
            holder.xact += 1;
        } else {
            holder.session += 1;
        }
        true
    }

    /// Drops one session-level hold of `key` by `pid`; false if it had none.
    fn unlock(&self, pid: i32, key: Key) -> bool {
        let mut dropped = false;
        self.release(pid, |k, holder| {
            if *k == key && holder.session > 0 {
                holder.session -= 1;
                dropped = true;
            }
        });
        dropped
    }

    /// Applies `change` to each lock `pid` holds and frees those left with no
    /// hold; returns how many were freed and wakes waiters if any.
    fn release(&self, pid: i32, mut change: impl FnMut(&Key, &mut Holder)) -> usize {
        if !self.any.load(Ordering::Acquire) {
            return 0;
        }
        let mut held = self.held();
        let before = held.len();
        held.retain(|key, holder| {
            if holder.pid == pid {
                change(key, holder);
            }
            holder.session + holder.xact > 0
        });
        let freed = before - held.len();
        self.any.store(!held.is_empty(), Ordering::Release);
        drop(held);
        if freed > 0 {
            self.released.send_modify(|n| *n = n.wrapping_add(1));
        }
        freed
    }

    /// `pg_advisory_unlock_all()`: the session-level holds of `pid`.
    fn unlock_all(&self, pid: i32) {
        self.release(pid, |_, holder| holder.session = 0);
    }

    /// The transaction of `pid` ended: its transaction-level holds go.
    pub fn end_transaction(&self, pid: i32) {
        self.release(pid, |_, holder| holder.xact = 0);
    }

    /// The session `pid` ended: every hold it had goes.
    pub fn end_session(&self, pid: i32) {
        self.release(pid, |_, holder| {
            holder.session = 0;
            holder.xact = 0;
        });
    }

    /// Gives back what a statement took before it found a lock busy, so that
    /// running it again does not take them twice.
    fn undo(&self, pid: i32, taken: &[(Key, bool)]) {
        for &(key, xact) in taken {
            self.release(pid, |k, holder| {
                if *k == key {
                    let count = if xact {
                        &mut holder.xact
                    } else {
                        &mut holder.session
                    };
                    *count = count.saturating_sub(1);
                }
            });
        }
    }
}

/// Whether `err` is the [`BUSY`] of a statement that must wait and run again.
pub fn is_busy(err: &Error) -> bool {
    err.state == SqlState::LockNotAvailable && err.message == BUSY
}

/// The lock named by the call's arguments; None when one is NULL (the
/// functions are strict).
fn key(ctx: &Context<'_>) -> rusqlite::Result<Option<Key>> {
    let int = |i: usize| -> rusqlite::Result<Option<i64>> {
        match ctx.get_raw(i) {
            ValueRef::Null => Ok(None),
            _ => ctx.get(i).map(Some),
        }
    };
    Ok(match ctx.len() {
        1 => int(0)?.map(|id| Key { id, pair: false }),
        _ => match (int(0)?, int(1)?) {
            (Some(high), Some(low)) => Some(Key {
                id: (high << 32) | (low & 0xffff_ffff),
                pair: true,
            }),
            _ => None,
        },
    })
}

/// The wire session running the statement (pid 0 is the HTTP doors and the
/// live-query engine, whose statements have no session to hold a lock).
fn session_pid(context: &StatementContext) -> rusqlite::Result<i32> {
    match context.pid() {
        0 => Err(to_sqlite(Error::new(
            SqlState::FeatureNotSupported,
            "advisory locks are held by Postgres wire sessions only",
        ))),
        pid => Ok(pid),
    }
}

const VOLATILE: FunctionFlags = FunctionFlags::SQLITE_UTF8;

/// What a lock function does once it has its key.
#[derive(Clone, Copy)]
enum Op {
    /// `pg_advisory_lock`, `pg_advisory_xact_lock`: returns void, waits.
    Lock { xact: bool },
    /// `pg_try_advisory_lock`, `pg_try_advisory_xact_lock`: returns bool.
    Try { xact: bool },
    /// `pg_advisory_unlock`: returns bool.
    Unlock,
}

/// The functions by name, each with one bigint or two int arguments.
const FUNCTIONS: [(&str, Op); 5] = [
    ("pg_advisory_lock", Op::Lock { xact: false }),
    ("pg_advisory_xact_lock", Op::Lock { xact: true }),
    ("pg_try_advisory_lock", Op::Try { xact: false }),
    ("pg_try_advisory_xact_lock", Op::Try { xact: true }),
    ("pg_advisory_unlock", Op::Unlock),
];

pub(super) fn register(
    conn: &Connection,
    context: StatementContext,
    locks: Arc<AdvisoryLocks>,
) -> rusqlite::Result<()> {
    for (name, op) in FUNCTIONS {
        for arity in [1, 2] {
            let (context, locks) = (context.clone(), locks.clone());
            conn.create_scalar_function(name, arity, VOLATILE, move |ctx| {
                let Some(key) = key(ctx)? else {
                    return Ok(Value::Null);
                };
                let pid = session_pid(&context)?;
                Ok(match op {
                    Op::Lock { xact } => {
                        if !locks.try_lock(pid, key, xact) {
                            locks.undo(pid, &context.take_advisory());
                            return Err(to_sqlite(Error::new(SqlState::LockNotAvailable, BUSY)));
                        }
                        context.note_advisory(key, xact);
                        Value::Text(String::new())
                    }
                    Op::Try { xact } => {
                        let got = locks.try_lock(pid, key, xact);
                        if got {
                            context.note_advisory(key, xact);
                        }
                        Value::Integer(got.into())
                    }
                    Op::Unlock => Value::Integer(locks.unlock(pid, key).into()),
                })
            })?;
        }
    }
    conn.create_scalar_function("pg_advisory_unlock_all", 0, VOLATILE, move |_| {
        locks.unlock_all(session_pid(&context)?);
        Ok(String::new())
    })?;
    Ok(())
}
