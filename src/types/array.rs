//! Postgres one-dimensional arrays in their text form (`{a,"b c",NULL}`), as
//! litewire stores them (catalog arrays, JSON paths, `text[]` values), read
//! and written.

use bytes::{BufMut, BytesMut};

use rusqlite::types::ValueRef;

use super::{ColumnType, PgType};
use crate::error::{Error, SqlState};

/// The elements of a one-dimensional array in its text form, `{a,"b c"}`
/// (NULL elements as `NULL`; text that is not an array has none).
pub fn elements(text: &str) -> Vec<String> {
    parse(text)
        .unwrap_or_default()
        .into_iter()
        .map(|item| item.unwrap_or_else(|| "NULL".into()))
        .collect()
}

/// JSON values as an array's text form, quoting elements that need it.
pub fn text(elements: &[serde_json::Value]) -> String {
    let items: Vec<String> = elements
        .iter()
        .map(|v| match v {
            serde_json::Value::Null => "NULL".to_string(),
            serde_json::Value::String(s) => {
                let plain = !s.is_empty()
                    && !s.eq_ignore_ascii_case("null")
                    && !s.contains(|c: char| "{},\"\\ ".contains(c));
                if plain {
                    s.clone()
                } else {
                    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
                }
            }
            other => other.to_string(),
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

/// Postgres's error for text that is not an array literal.
fn malformed(text: &str) -> Error {
    Error::new(
        SqlState::InvalidTextRepresentation,
        format!("malformed array literal: \"{text}\""),
    )
}

/// The elements of a one-dimensional array literal, `None` for an unquoted
/// NULL; 22P02 for text that is not `{...}`.
pub fn parse(text: &str) -> Result<Vec<Option<String>>, Error> {
    let trimmed = text.trim();
    if !trimmed.starts_with('{') || !trimmed.ends_with('}') || trimmed.len() < 2 {
        return Err(malformed(text));
    }
    let inner = &trimmed[1..trimmed.len() - 1];
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    while chars.peek().is_some() {
        let mut item = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => item.extend(chars.next()),
                    '"' => break,
                    c => item.push(c),
                }
            }
        }
        for c in chars.by_ref() {
            if c == ',' {
                break;
            }
            if !quoted {
                item.push(c);
            }
        }
        let item = if quoted {
            item
        } else {
            item.trim().to_string()
        };
        items.push((quoted || !item.eq_ignore_ascii_case("null")).then_some(item));
    }
    Ok(items)
}

/// The element type of array type `ty`.
fn element(ty: PgType) -> Result<PgType, Error> {
    ty.element()
        .ok_or_else(|| Error::internal(format!("{} is not an array type", ty.name())))
}

/// One element's text as its canonical text (`0` -> `f` in a bool array).
fn element_text(element: PgType, text: &str) -> Result<String, Error> {
    let value = super::input::from_text(ColumnType::plain(element), text)?;
    let mut out = BytesMut::new();
    super::output::write_text(element, ValueRef::from(&value), &mut out);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// An array literal of type `ty` in its canonical text form: elements
/// checked and written as their type writes them, quoted where needed.
pub fn canonical(ty: PgType, text: &str) -> Result<String, Error> {
    let element = element(ty)?;
    let items = parse(text)?
        .into_iter()
        .map(|item| {
            Ok(match item {
                Some(s) => serde_json::Value::String(element_text(element, &s)?),
                None => serde_json::Value::Null,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(self::text(&items))
}

/// The binary form of a one-dimensional array of type `ty`.
pub fn write_binary(ty: PgType, text: &str, out: &mut BytesMut) -> Result<(), Error> {
    let element = element(ty)?;
    let items = parse(text)?;
    out.put_i32(if items.is_empty() { 0 } else { 1 });
    out.put_i32(items.iter().any(Option::is_none) as i32);
    out.put_u32(element.oid());
    if !items.is_empty() {
        out.put_i32(items.len() as i32);
        out.put_i32(1);
    }
    for item in items {
        let Some(text) = item else {
            out.put_i32(-1);
            continue;
        };
        let value = super::input::from_text(ColumnType::plain(element), &text)?;
        let mut bytes = BytesMut::new();
        super::binary::write_binary(element, ValueRef::from(&value), &mut bytes)?;
        out.put_i32(bytes.len() as i32);
        out.put_slice(&bytes);
    }
    Ok(())
}

/// A binary one-dimensional array of type `ty`, as its text form.
pub fn read_binary(ty: PgType, bytes: &[u8]) -> Result<String, Error> {
    let element = element(ty)?;
    let bad = || malformed("(binary)");
    let mut buf = bytes;
    let int = |buf: &mut &[u8]| -> Result<i32, Error> {
        let (head, rest) = buf.split_at_checked(4).ok_or_else(bad)?;
        *buf = rest;
        Ok(i32::from_be_bytes(head.try_into().expect("4 bytes")))
    };
    let dims = int(&mut buf)?;
    let _has_nulls = int(&mut buf)?;
    let _element_oid = int(&mut buf)?;
    let count = match dims {
        0 => 0,
        1 => {
            let n = int(&mut buf)?;
            int(&mut buf)?;
            n
        }
        _ => return Err(Error::unsupported("multi-dimensional arrays")),
    };
    let mut items = Vec::new();
    for _ in 0..count {
        let len = int(&mut buf)?;
        if len < 0 {
            items.push(serde_json::Value::Null);
            continue;
        }
        let (item, rest) = buf.split_at_checked(len as usize).ok_or_else(bad)?;
        buf = rest;
        let value = super::binary::read_binary(element, item)?;
        let mut out = BytesMut::new();
        super::output::write_text(element, ValueRef::from(&value), &mut out);
        items.push(serde_json::Value::String(
            String::from_utf8_lossy(&out).into_owned(),
        ));
    }
    Ok(self::text(&items))
}
