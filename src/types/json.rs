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
            out.push('{');
            for (i, (key, item)) in sorted_entries(map).into_iter().enumerate() {
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

/// An object's entries in jsonb's key order: shorter keys first, then bytes.
fn sorted_entries(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    entries
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

/// Postgres's jsonb equality of scalars: numbers by value (`1.0 = 1`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            super::numeric::compare_text(&x.to_string(), &y.to_string()).is_eq()
        }
        _ => a == b,
    }
}

/// `#>` / `#>>`: follows `path` (keys into objects, indexes into arrays).
pub fn get_path<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, step| match v {
        Value::Object(map) => map.get(step),
        Value::Array(_) => get(v, &JsonKey::Index(step.trim().parse().ok()?)),
        _ => None,
    })
}

/// `a @> b`: every key/value of `b` is in `a`, every element of an array `b`
/// matches some element of `a`; at the top level an array contains a scalar
/// it holds as an element.
pub fn contains(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(items), scalar) if !scalar.is_array() && !scalar.is_object() => {
            items.iter().any(|x| same(x, scalar))
        }
        _ => contains_nested(a, b),
    }
}

fn contains_nested(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => y
            .iter()
            .all(|(k, v)| x.get(k).is_some_and(|xv| contains_nested(xv, v))),
        (Value::Array(x), Value::Array(y)) => {
            y.iter().all(|v| x.iter().any(|xv| contains_nested(xv, v)))
        }
        _ => same(a, b),
    }
}

/// `doc ? key`: an object key, or a string element of an array (or the
/// string itself).
pub fn exists(doc: &Value, key: &str) -> bool {
    match doc {
        Value::Object(map) => map.contains_key(key),
        Value::Array(items) => items.iter().any(|i| i.as_str() == Some(key)),
        Value::String(s) => s == key,
        _ => false,
    }
}

/// `jsonb_typeof`.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
    }
}

/// `jsonb_array_length`: 22023 for anything but an array, as Postgres.
pub fn array_length(value: &Value) -> Result<i64, Error> {
    match value {
        Value::Array(items) => Ok(items.len() as i64),
        Value::Object(_) => Err(Error::new(
            SqlState::InvalidParameterValue,
            "cannot get array length of a non-array",
        )),
        _ => Err(Error::new(
            SqlState::InvalidParameterValue,
            "cannot get array length of a scalar",
        )),
    }
}

/// Where an array index lands: `Some(i)` inside, `None` before the start
/// (negative beyond the length) or past the end.
fn index_of(len: usize, step: &str) -> Result<Result<usize, bool>, Error> {
    let i: i64 = step.trim().parse().map_err(|_| {
        Error::new(
            SqlState::InvalidTextRepresentation,
            format!("path element is not an integer: \"{step}\""),
        )
    })?;
    let at = if i < 0 { len as i64 + i } else { i };
    Ok(match usize::try_from(at) {
        Ok(at) if at < len => Ok(at),
        // Err(true): before the start; Err(false): past the end.
        _ => Err(at < 0),
    })
}

/// The value at `path` for changing it; `None` when a step is missing.
fn walk<'a>(doc: &'a mut Value, path: &[String]) -> Result<Option<&'a mut Value>, Error> {
    let mut target = doc;
    for step in path {
        target = match target {
            Value::Object(map) => match map.get_mut(step) {
                Some(v) => v,
                None => return Ok(None),
            },
            Value::Array(items) => match index_of(items.len(), step)? {
                Ok(i) => &mut items[i],
                Err(_) => return Ok(None),
            },
            _ => return Ok(None),
        };
    }
    Ok(Some(target))
}

/// The container the last step of `path` is in, and that step; `None` for
/// an empty path or a missing intermediate step.
fn parent<'a, 'p>(
    doc: &'a mut Value,
    path: &'p [String],
) -> Result<Option<(&'a mut Value, &'p String)>, Error> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(None);
    };
    Ok(walk(doc, parents)?.map(|target| (target, last)))
}

/// `jsonb_set(doc, path, new, create_missing)`: replaces the value at `path`;
/// a missing last step is added when `create` (appended or prepended for
/// arrays), a missing intermediate step leaves `doc` unchanged.
pub fn set(doc: &mut Value, path: &[String], new: Value, create: bool) -> Result<(), Error> {
    let Some((target, last)) = parent(doc, path)? else {
        return Ok(());
    };
    match target {
        Value::Object(map) => {
            if create || map.contains_key(last) {
                map.insert(last.clone(), new);
            }
        }
        Value::Array(items) => match index_of(items.len(), last)? {
            Ok(i) => items[i] = new,
            Err(true) if create => items.insert(0, new),
            Err(_) if create => items.push(new),
            Err(_) => {}
        },
        _ => {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                "cannot set path in scalar",
            ));
        }
    }
    Ok(())
}

/// `doc - key`: drops an object key, or the matching string elements of an
/// array.
pub fn delete_key(doc: &mut Value, key: &str) -> Result<(), Error> {
    match doc {
        Value::Object(map) => {
            map.shift_remove(key);
        }
        Value::Array(items) => items.retain(|i| i.as_str() != Some(key)),
        _ => return Err(scalar_delete()),
    }
    Ok(())
}

/// `doc #- path`: drops the value at `path`, if there is one.
pub fn delete_path(doc: &mut Value, path: &[String]) -> Result<(), Error> {
    let Some((target, last)) = parent(doc, path)? else {
        return Ok(());
    };
    match target {
        Value::Object(map) => {
            map.shift_remove(last);
        }
        Value::Array(items) => {
            if let Ok(i) = index_of(items.len(), last)? {
                items.remove(i);
            }
        }
        _ => return Err(scalar_delete()),
    }
    Ok(())
}

/// `doc - index`: drops an array element (negative counts from the end).
pub fn delete_index(doc: &mut Value, index: i64) -> Result<(), Error> {
    match doc {
        Value::Array(items) => {
            if let Ok(Ok(i)) = index_of(items.len(), &index.to_string()) {
                items.remove(i);
            }
            Ok(())
        }
        Value::Object(_) => Err(Error::new(
            SqlState::InvalidParameterValue,
            "cannot delete from object using integer index",
        )),
        _ => Err(scalar_delete()),
    }
}

fn scalar_delete() -> Error {
    Error::new(SqlState::InvalidParameterValue, "cannot delete from scalar")
}

/// `a || b`: objects merge (right wins), arrays concatenate, anything else
/// is wrapped in an array first.
pub fn concat(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut x), Value::Object(y)) => {
            x.extend(y);
            Value::Object(x)
        }
        (x, y) => {
            let mut items = into_items(x);
            items.extend(into_items(y));
            Value::Array(items)
        }
    }
}

fn into_items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// jsonb's ordering: null < string < number < boolean < array < object;
/// arrays and objects by size first, then element by element (objects in
/// their stored key order).
pub fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::String(_) => 1,
            Value::Number(_) => 2,
            Value::Bool(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            super::numeric::compare_text(&x.to_string(), &y.to_string())
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|(p, q)| compare(p, q))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        (Value::Object(x), Value::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            sorted_entries(x)
                .into_iter()
                .zip(sorted_entries(y))
                .map(|((ka, va), (kb, vb))| ka.cmp(kb).then_with(|| compare(va, vb)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// [`compare`] on stored jsonb texts (the `lw_jsonb` collation, which ORDER BY
/// on a jsonb expression uses); text that is not JSON sorts after, bytewise.
pub fn compare_text(a: &str, b: &str) -> std::cmp::Ordering {
    match (serde_json::from_str(a), serde_json::from_str(b)) {
        (Ok(x), Ok(y)) => compare(&x, &y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}
