//! Stored values as natural JSON, and JSON values as stored values: the
//! mapping the HTTP doors use for rows. It is the same mapping the change
//! capture triggers apply (`translate::capture`), so a row read over REST is
//! byte-for-byte the row of its change event:
//!
//! - integers and floats are JSON numbers (non-finite floats, which JSON
//!   cannot hold, are the strings `NaN`, `Infinity`, `-Infinity`);
//! - `numeric` is a JSON number carrying its exact decimal text (`12.50`
//!   stays `12.50`; `NaN` stays a string);
//! - `boolean` is `true`/`false`, `json`/`jsonb` are embedded JSON;
//! - `bytea` is the `\x..` hex string Postgres prints;
//! - everything else (text, uuid, dates and times) is its Postgres text form
//!   as a string; `timestamptz` is UTC in Postgres's ISO style
//!   (`2026-01-02 03:04:05.5+00`).

use rusqlite::types::Value;
use serde_json::Value as Json;

use super::{ColumnType, PgType, input, output};
use crate::error::Result;

/// A stored value of type `ty` as JSON.
pub fn to_json(ty: PgType, value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Integer(i) => match ty {
            PgType::Bool => Json::Bool(*i != 0),
            _ => Json::from(*i),
        },
        Value::Real(f) => real(*f),
        Value::Text(text) => match ty {
            PgType::Bool => Json::Bool(matches!(text.as_str(), "1" | "t" | "true")),
            PgType::Numeric | PgType::Json | PgType::Jsonb => {
                serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.clone()))
            }
            _ => Json::String(text.clone()),
        },
        Value::Blob(bytes) => {
            let mut hex = bytes::BytesMut::new();
            output::format_bytea(bytes, &mut hex);
            Json::String(String::from_utf8_lossy(&hex).into_owned())
        }
    }
}

fn real(f: f64) -> Json {
    serde_json::Number::from_f64(f)
        .map(Json::Number)
        .unwrap_or_else(|| Json::String(output::format_float(f)))
}

/// A JSON value written into a column (or a parameter) of type `ct`, in its
/// canonical stored form, with the error Postgres gives for bad input.
/// Strings are Postgres text input; numbers and booleans their text; objects
/// and arrays are JSON text (for `json`/`jsonb` columns).
pub fn from_json(ct: ColumnType, value: &Json) -> Result<Value> {
    match value {
        Json::Null => Ok(Value::Null),
        Json::String(text) => input::from_text(ct, text),
        other => input::from_text(ct, &other.to_string()),
    }
}

/// A JSON value for a parameter whose type nobody knows: kept as the SQLite
/// value closest to it.
pub fn untyped(value: &Json) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Integer(*b as i64),
        Json::Number(n) => n
            .as_i64()
            .map(Value::Integer)
            .or_else(|| n.as_f64().map(Value::Real))
            .unwrap_or_else(|| Value::Text(n.to_string())),
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_map_to_natural_json() {
        assert_eq!(to_json(PgType::Bool, &Value::Integer(1)), json!(true));
        assert_eq!(to_json(PgType::Int8, &Value::Integer(7)), json!(7));
        let exact = to_json(PgType::Numeric, &Value::Text("12.50".into()));
        assert_eq!(exact.to_string(), "12.50");
        assert_eq!(
            to_json(PgType::Numeric, &Value::Text("NaN".into())),
            json!("NaN")
        );
        assert_eq!(
            to_json(PgType::Jsonb, &Value::Text(r#"{"a": [1]}"#.into())),
            json!({"a": [1]})
        );
        assert_eq!(
            to_json(PgType::Bytea, &Value::Blob(vec![0xde, 0xad])),
            json!("\\xdead")
        );
        assert_eq!(
            to_json(PgType::Float8, &Value::Real(f64::NAN)),
            json!("NaN")
        );
    }

    #[test]
    fn json_input_is_canonicalized() {
        let int = ColumnType::plain(PgType::Int4);
        assert_eq!(from_json(int, &json!(5)).unwrap(), Value::Integer(5));
        assert_eq!(from_json(int, &json!("5")).unwrap(), Value::Integer(5));
        assert!(from_json(int, &json!("x")).is_err());
        let jsonb = ColumnType::plain(PgType::Jsonb);
        assert_eq!(
            from_json(jsonb, &json!({"b": 1, "a": 2})).unwrap(),
            Value::Text(r#"{"a": 2, "b": 1}"#.into())
        );
        let flag = ColumnType::plain(PgType::Bool);
        assert_eq!(from_json(flag, &json!(true)).unwrap(), Value::Integer(1));
        assert_eq!(untyped(&json!(1.5)), Value::Real(1.5));
    }
}
