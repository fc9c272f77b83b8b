//! Enum values at run time: `lw_enum_in(value, oid)` checks a value written
//! into an enum column (22P02 for a label the type lacks) and
//! `lw_enum_ord(value, oid)` gives its position, by which enums compare and
//! sort (declaration order, as in Postgres). Both read `_lw_enums` through
//! the calling connection, so they see the statement's own transaction.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use crate::error::{SqlState, function_error};

const FLAGS: FunctionFlags = FunctionFlags::SQLITE_UTF8;

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("lw_enum_in", 2, FLAGS, |ctx| {
        Ok(position(ctx)?.map_or(Value::Null, |_| Value::Text(ctx.get(0).unwrap_or_default())))
    })?;
    conn.create_scalar_function("lw_enum_ord", 2, FLAGS, |ctx| {
        Ok(position(ctx)?.map_or(Value::Null, Value::Real))
    })
}

/// The sort order of label `ctx[0]` in enum `ctx[1]` (None for NULL).
fn position(ctx: &Context<'_>) -> rusqlite::Result<Option<f64>> {
    let Some(label) = ctx.get::<Option<String>>(0)? else {
        return Ok(None);
    };
    let oid: i64 = ctx.get(1)?;
    // SAFETY: the connection is only used on this thread, during this call.
    let conn = unsafe { ctx.get_connection()? };
    let order: Option<f64> = conn
        .prepare_cached("SELECT sortorder FROM _lw_enums WHERE type_oid = ?1 AND label = ?2")?
        .query_row(rusqlite::params![oid, label], |r| r.get(0))
        .optional()?;
    if order.is_some() {
        return Ok(order);
    }
    let name: Option<String> = conn
        .prepare_cached("SELECT type_name FROM _lw_enums WHERE type_oid = ?1 LIMIT 1")?
        .query_row([oid], |r| r.get(0))
        .optional()?;
    Err(function_error(
        SqlState::InvalidTextRepresentation,
        format!(
            "invalid input value for enum {}: \"{label}\"",
            name.unwrap_or_else(|| oid.to_string())
        ),
    ))
}
