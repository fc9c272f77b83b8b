//! Sequences: `nextval`, `currval`, `setval`, `lastval` over `_lw_sequences`.
//!
//! Postgres never hands a sequence value out twice, even when the transaction
//! that took it rolls back. A sequence row written inside the caller's
//! transaction would be rolled back with it, so the store also remembers, in
//! memory shared by all its connections, the state each sequence reached
//! ([`Memory`]): that state wins over the stored row, which only persists it
//! across restarts. So within a server's life values are never reused; after
//! a restart, the values of transactions that rolled back may be handed out
//! again (nothing committed holds them). The functions run on the writer
//! only (the translator routes statements calling `nextval`/`setval` there),
//! and write the row through the calling connection, inside its statement.
//!
//! `currval` and `lastval` are per session (keyed by the backend pid of the
//! statement's session), as in Postgres.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use super::functions::StatementContext;
use crate::error::{Error, SqlState, function_error};

/// The oid of a sequence is this plus its `_lw_sequences` rowid (above the
/// oids of relations in `sqlite_schema`, `lw_relations`).
pub const OID_BASE: i64 = 1 << 30;

const VOLATILE: FunctionFlags = FunctionFlags::SQLITE_UTF8;

/// Sequence state remembered by the store for its lifetime.
#[derive(Clone, Default)]
pub struct Memory(Arc<Mutex<MemoryState>>);

#[derive(Default)]
struct MemoryState {
    /// `(last_value, is_called)` of each sequence as nextval/setval left it.
    reached: HashMap<String, (i64, bool)>,
    /// Per session pid: each sequence's last value in the session (currval)
    /// and the sequence nextval last advanced (lastval). An entry lives as long
    /// as the store; a session uses few sequences.
    sessions: HashMap<i32, Session>,
}

#[derive(Default)]
struct Session {
    current: HashMap<String, i64>,
    last: Option<String>,
}

impl Memory {
    fn state(&self) -> MutexGuard<'_, MemoryState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A sequence's definition and stored state.
struct Sequence {
    name: String,
    increment: i64,
    min: i64,
    max: i64,
    cycle: bool,
    last: i64,
    called: bool,
}

pub fn register(
    conn: &Connection,
    context: StatementContext,
    memory: Memory,
) -> rusqlite::Result<()> {
    let (ctx_next, mem_next) = (context.clone(), memory.clone());
    conn.create_scalar_function("lw_nextval", 1, VOLATILE, move |ctx| {
        // SAFETY: the connection is only used on this thread, during this call.
        let conn = unsafe { ctx.get_connection()? };
        nextval(&conn, &load(&conn, ctx)?, ctx_next.pid(), &mem_next)
    })?;
    let (ctx_cur, mem_cur) = (context.clone(), memory.clone());
    conn.create_scalar_function("lw_currval", 1, VOLATILE, move |ctx| {
        // SAFETY: the connection is only used on this thread, during this call.
        let conn = unsafe { ctx.get_connection()? };
        let sequence = load(&conn, ctx)?;
        let state = mem_cur.state();
        state
            .sessions
            .get(&ctx_cur.pid())
            .and_then(|s| s.current.get(&sequence.name))
            .copied()
            .ok_or_else(|| {
                not_yet(&format!(
                    "currval of sequence \"{}\" is not yet defined in this session",
                    sequence.name
                ))
            })
    })?;
    let (ctx_last, mem_last) = (context.clone(), memory.clone());
    conn.create_scalar_function("lw_lastval", 0, VOLATILE, move |_| {
        let state = mem_last.state();
        let session = state.sessions.get(&ctx_last.pid());
        session
            .and_then(|s| s.current.get(s.last.as_ref()?))
            .copied()
            .ok_or_else(|| not_yet("lastval is not yet defined in this session"))
    })?;
    for arity in [2, 3] {
        let (ctx_set, mem_set) = (context.clone(), memory.clone());
        conn.create_scalar_function("lw_setval", arity, VOLATILE, move |ctx| {
            // SAFETY: the connection is only used on this thread, during this call.
            let conn = unsafe { ctx.get_connection()? };
            let sequence = load(&conn, ctx)?;
            let value: i64 = ctx.get(1)?;
            let called = arity == 2 || ctx.get::<bool>(2)?;
            setval(&conn, &sequence, value, called, ctx_set.pid(), &mem_set)?;
            Ok(value)
        })?;
    }
    Ok(())
}

fn not_yet(message: &str) -> rusqlite::Error {
    function_error(SqlState::ObjectNotInPrerequisiteState, message)
}

/// The sequence named (text, as `nextval('s')`) or given by oid (as
/// `nextval('s'::regclass)` arrives), with its state in memory if any.
fn load(conn: &Connection, ctx: &Context<'_>) -> rusqlite::Result<Sequence> {
    const COLUMNS: &str = "SELECT name, increment, minvalue, maxvalue, cycle, last_value, is_called FROM _lw_sequences";
    let row = |r: &rusqlite::Row<'_>| {
        Ok(Sequence {
            name: r.get(0)?,
            increment: r.get(1)?,
            min: r.get(2)?,
            max: r.get(3)?,
            cycle: r.get(4)?,
            last: r.get(5)?,
            called: r.get(6)?,
        })
    };
    let (found, shown) = match ctx.get_raw(0) {
        ValueRef::Integer(oid) => (
            conn.prepare_cached(&format!("{COLUMNS} WHERE rowid = ?1"))?
                .query_row([oid - OID_BASE], row)
                .optional()?,
            oid.to_string(),
        ),
        _ => {
            let text: String = ctx.get(0)?;
            let name = super::introspect::stored_relation(&text);
            (
                conn.prepare_cached(&format!("{COLUMNS} WHERE name = ?1"))?
                    .query_row([&name], row)
                    .optional()?,
                name,
            )
        }
    };
    found.ok_or_else(|| {
        function_error(
            SqlState::UndefinedTable,
            format!("relation \"{shown}\" does not exist"),
        )
    })
}

impl Sequence {
    /// The state nextval continues from: what this server handed out last,
    /// else the stored row.
    fn reached(&self, memory: &MemoryState) -> (i64, bool) {
        memory
            .reached
            .get(&self.name)
            .copied()
            .unwrap_or((self.last, self.called))
    }

    /// The value after `last`, wrapping when the sequence cycles (2200H when
    /// it does not).
    fn after(&self, last: i64) -> Result<i64, Error> {
        let next = last.checked_add(self.increment);
        match next {
            Some(n) if (self.min..=self.max).contains(&n) => Ok(n),
            _ if self.cycle => Ok(if self.increment > 0 {
                self.min
            } else {
                self.max
            }),
            _ => {
                let (which, bound) = if self.increment > 0 {
                    ("maximum", self.max)
                } else {
                    ("minimum", self.min)
                };
                Err(Error::new(
                    SqlState::SequenceGeneratorLimitExceeded,
                    format!(
                        "nextval: reached {which} value of sequence \"{}\" ({bound})",
                        self.name
                    ),
                ))
            }
        }
    }
}

fn nextval(
    conn: &Connection,
    sequence: &Sequence,
    pid: i32,
    memory: &Memory,
) -> rusqlite::Result<i64> {
    let mut state = memory.state();
    let next = match sequence.reached(&state) {
        (last, true) => sequence
            .after(last)
            .map_err(|e| function_error(e.state, e.message))?,
        (last, false) => last,
    };
    store(conn, &sequence.name, next, true)?;
    state.reached.insert(sequence.name.clone(), (next, true));
    let session = state.sessions.entry(pid).or_default();
    session.current.insert(sequence.name.clone(), next);
    session.last = Some(sequence.name.clone());
    Ok(next)
}

/// `setval`: within the sequence's bounds (22003), not transactional either.
fn setval(
    conn: &Connection,
    sequence: &Sequence,
    value: i64,
    called: bool,
    pid: i32,
    memory: &Memory,
) -> rusqlite::Result<()> {
    if !(sequence.min..=sequence.max).contains(&value) {
        return Err(function_error(
            SqlState::NumericValueOutOfRange,
            format!(
                "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                sequence.name, sequence.min, sequence.max
            ),
        ));
    }
    store(conn, &sequence.name, value, called)?;
    let mut state = memory.state();
    state.reached.insert(sequence.name.clone(), (value, called));
    if called {
        let session = state.sessions.entry(pid).or_default();
        session.current.insert(sequence.name.clone(), value);
    }
    Ok(())
}

fn store(conn: &Connection, name: &str, last: i64, called: bool) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE _lw_sequences SET last_value = ?2, is_called = ?3 WHERE name = ?1",
    )?
    .execute(rusqlite::params![name, last, called])?;
    Ok(())
}
