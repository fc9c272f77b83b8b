//! Query results as JSON, the same way the capture triggers write rows into
//! the change log (`translate::capture`): numbers, `true`/`false`, jsonb as
//! JSON, numeric as an exact JSON number, bytea as `\x..` hex, everything else
//! its Postgres text. A row from a snapshot and the same row in a change event
//! are then equal, which is what lets diffs be applied to snapshots.

use bytes::BytesMut;
use rusqlite::types::{Value, ValueRef};
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::types::{ColumnType, PgType, input, output};

/// One stored value of type `ty` as JSON.
pub fn to_json(ty: PgType, value: &Value) -> Json {
    match (value, ty) {
        (Value::Null, _) => Json::Null,
        (Value::Integer(i), PgType::Bool) => Json::Bool(*i != 0),
        (Value::Integer(i), _) => Json::from(*i),
        (Value::Real(f), _) => serde_json::Number::from_f64(*f)
            .map_or_else(|| Json::String(output::format_float(*f)), Json::Number),
        (Value::Text(t), PgType::Numeric | PgType::Json | PgType::Jsonb) => {
            serde_json::from_str(t).unwrap_or_else(|_| Json::String(t.clone()))
        }
        (Value::Blob(b), _) => {
            let mut out = BytesMut::new();
            output::format_bytea(b, &mut out);
            Json::String(String::from_utf8_lossy(&out).into_owned())
        }
        (other, ty) => {
            let mut out = BytesMut::new();
            output::write_text(ty, ValueRef::from(other), &mut out);
            Json::String(String::from_utf8_lossy(&out).into_owned())
        }
    }
}

/// A JSON parameter as the stored value of type `ct` (text when unknown), read
/// the way Postgres reads a parameter's text.
pub fn from_json(ct: Option<ColumnType>, value: &Json) -> Result<Value> {
    let text = match value {
        Json::Null => return Ok(Value::Null),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    match ct {
        Some(ct) => input::from_text(ct, &text),
        None => Ok(Value::Text(text)),
    }
}

/// Checks that `params` is a JSON array (the parameters of `$1..$n`).
pub fn params_array(params: &Json) -> Result<&[Json]> {
    match params {
        Json::Array(items) => Ok(items),
        Json::Null => Ok(&[]),
        _ => Err(Error::new(
            crate::error::SqlState::InvalidParameterValue,
            "parameters are a JSON array",
        )),
    }
}
