//! `jsonb` normalization. Postgres prints jsonb with `", "` and `": "` separators,
//! object keys ordered by length then bytes, duplicate keys resolved to the last
//! value, and numbers as written. Stored jsonb text is already in that form, so
//! output is the stored text and equality is text equality.

use serde_json::Value;

use crate::error::{Error, SqlState};

pub fn invalid(kind: &str, text: &str) -> Error {
    Error::new(
        SqlState::InvalidTextRepresentation,
        format!("invalid input syntax for type {kind}"),
    )
    .with_detail(format!(
        "Token \"{}\" is invalid.",
        text.chars().take(40).collect::<String>()
    ))
}

pub fn parse(kind: &str, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|_| invalid(kind, text))
}

/// Formats a JSON value the way Postgres prints `jsonb`.
pub fn to_jsonb_text(value: &Value) -> String {
    let mut out = String::new();
    write_jsonb(value, &mut out);
    out
}

fn write_jsonb(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_jsonb(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_jsonb(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Normalizes jsonb input text.
pub fn normalize_jsonb(text: &str) -> Result<String, Error> {
    Ok(to_jsonb_text(&parse("json", text)?))
}

/// `->` on an object key or array index (negative counts from the end).
pub fn get<'a>(value: &'a Value, key: &JsonKey) -> Option<&'a Value> {
    match (value, key) {
        (Value::Object(map), JsonKey::Field(name)) => map.get(name),
        (Value::Array(items), JsonKey::Index(i)) => {
            let idx = if *i < 0 { items.len() as i64 + i } else { *i };
            usize::try_from(idx).ok().and_then(|i| items.get(i))
        }
        _ => None,
    }
}

/// The right operand of `->`/`->>`: a text key or an integer index.
pub enum JsonKey {
    Field(String),
    Index(i64),
}

/// `->>`: scalars as their text (strings unquoted), containers as jsonb text,
/// JSON null as SQL NULL.
pub fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(to_jsonb_text(other)),
    }
}
