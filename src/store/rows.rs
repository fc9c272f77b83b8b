//! Rows packed into one value, for `LATERAL` (see `translate::lateral`): the
//! rows of a correlated subquery travel through `json_each`, one packed row
//! per element, as SQLite lets only a table-valued function in FROM see the
//! tables to its left.
//!
//! `lw_row(v1, ..., vn)` packs a row into a JSON array text and
//! `lw_field(packed, i)` gives back value `i` exactly as it went in: same
//! storage class, same bits. Plain JSON would not do: it has no BLOB, and
//! SQLite prints reals in JSON with 15 digits, so `0.1 + 0.2` would come back
//! as `0.3`. Reals and blobs are therefore tagged objects
//! (`{"f":"0.30000000000000004"}`, `{"b":"00ff"}`); integers, text and NULL
//! are plain JSON.

use rusqlite::Connection;
use rusqlite::functions::Context;
use rusqlite::types::{Value, ValueRef};
use serde_json::Value as Json;

use crate::error::{SqlState, function_error};

use super::functions::PURE;

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("lw_row", -1, PURE, |ctx| {
        let fields = (0..ctx.len())
            .map(|i| ctx.get_raw(i))
            .map(pack)
            .collect::<Vec<_>>();
        Ok(Json::Array(fields).to_string())
    })?;
    conn.create_scalar_function("lw_field", 2, PURE, field)
}

/// One value of a packed row.
fn pack(value: ValueRef<'_>) -> Json {
    match value {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(i) => Json::from(i),
        ValueRef::Real(f) => tagged("f", f.to_string()),
        ValueRef::Text(t) => Json::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => tagged("b", b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

fn tagged(tag: &str, text: String) -> Json {
    Json::Object(
        [(tag.to_string(), Json::String(text))]
            .into_iter()
            .collect(),
    )
}

/// `lw_field(packed, i)`: value `i` of a packed row; NULL for a NULL row (the
/// empty side of `LEFT JOIN LATERAL`).
fn field(ctx: &Context<'_>) -> rusqlite::Result<Value> {
    let Some(packed) = ctx.get::<Option<String>>(0)? else {
        return Ok(Value::Null);
    };
    let index: usize = ctx.get::<i64>(1)?.try_into().unwrap_or(usize::MAX);
    let corrupt = || function_error(SqlState::InternalError, "malformed lateral row");
    let row: Json = serde_json::from_str(&packed).map_err(|_| corrupt())?;
    let value = row.get(index).ok_or_else(corrupt)?;
    unpack(value).ok_or_else(corrupt)
}

fn unpack(value: &Json) -> Option<Value> {
    Some(match value {
        Json::Null => Value::Null,
        Json::Number(n) => Value::Integer(n.as_i64()?),
        Json::String(s) => Value::Text(s.clone()),
        Json::Object(map) => match map.iter().next()? {
            (tag, Json::String(text)) if tag == "f" => Value::Real(text.parse().ok()?),
            (tag, Json::String(hex)) if tag == "b" => Value::Blob(unhex(hex)?),
            _ => return None,
        },
        _ => return None,
    })
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(sql: &str) -> (String, String) {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.query_row(
            &format!(
                "SELECT typeof(v) || ':' || quote(v), typeof(w) || ':' || quote(w) \
                 FROM (SELECT {sql} AS v, lw_field(lw_row({sql}), 0) AS w)"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    #[test]
    fn values_come_back_exactly() {
        for sql in [
            "0.1 + 0.2",
            "1e300",
            "-7",
            "'a\"b'",
            "x'00ff'",
            "NULL",
            "9223372036854775807",
        ] {
            let (before, after) = round_trip(sql);
            assert_eq!(before, after, "{sql}");
        }
    }
}
