//! Postgres binary format for the types litewire serves, used when a client asks
//! for binary results or sends binary parameters (asyncpg, tokio-postgres, JDBC).

use bytes::{BufMut, BytesMut};
use rusqlite::types::{Value, ValueRef};

use super::interval::Interval;
use super::numeric::Base10000;
use super::{ColumnType, PgType, datetime, input};
use crate::error::{Error, SqlState};

fn bad(ty: PgType) -> Error {
    Error::new(
        SqlState::ProtocolViolation,
        format!("incorrect binary data format for type {}", ty.name()),
    )
}

fn text_of<'a>(value: ValueRef<'a>) -> std::borrow::Cow<'a, str> {
    match value {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t),
        ValueRef::Integer(i) => i.to_string().into(),
        ValueRef::Real(f) => super::output::format_float(f).into(),
        ValueRef::Null => "".into(),
    }
}

fn as_i64(value: ValueRef<'_>) -> i64 {
    match value {
        ValueRef::Integer(i) => i,
        ValueRef::Real(f) => f.round_ties_even() as i64,
        other => text_of(other).trim().parse().unwrap_or(0),
    }
}

fn as_f64(value: ValueRef<'_>) -> f64 {
    match value {
        ValueRef::Integer(i) => i as f64,
        ValueRef::Real(f) => f,
        other => text_of(other).trim().parse().unwrap_or(f64::NAN),
    }
}

/// Appends the binary form of a non-NULL value. Values that do not parse as
/// their type (possible only for rows written behind litewire's back) fail.
pub fn write_binary(ty: PgType, value: ValueRef<'_>, out: &mut BytesMut) -> Result<(), Error> {
    match ty {
        PgType::Bool => out.put_u8((as_i64(value) != 0) as u8),
        PgType::Int2 => out.put_i16(as_i64(value) as i16),
        PgType::Int4 => out.put_i32(as_i64(value) as i32),
        PgType::Oid => out.put_u32(as_i64(value) as u32),
        PgType::Int8 => out.put_i64(as_i64(value)),
        PgType::Float4 => out.put_f32(as_f64(value) as f32),
        PgType::Float8 => out.put_f64(as_f64(value)),
        PgType::Numeric => write_numeric(&text_of(value), out)?,
        PgType::Bytea => match value {
            ValueRef::Blob(b) | ValueRef::Text(b) => out.put_slice(b),
            other => out.put_slice(text_of(other).as_bytes()),
        },
        PgType::Uuid => {
            let u = uuid::Uuid::parse_str(&text_of(value)).map_err(|_| bad(ty))?;
            out.put_slice(u.as_bytes());
        }
        PgType::Date => out.put_i32(datetime::to_pg_days(datetime::parse_date(&text_of(value))?)),
        PgType::Time => out.put_i64(datetime::time_micros(datetime::parse_time(&text_of(
            value,
        ))?)),
        PgType::Timestamp => out.put_i64(datetime::to_pg_micros(datetime::parse_timestamp(
            &text_of(value),
        )?)),
        PgType::Timestamptz => out.put_i64(datetime::to_pg_micros(
            datetime::parse_timestamptz(&text_of(value))?.naive_utc(),
        )),
        PgType::Jsonb => {
            out.put_u8(1);
            out.put_slice(text_of(value).as_bytes());
        }
        PgType::Interval => {
            let iv = Interval::parse(&text_of(value))?;
            out.put_i64(iv.micros);
            out.put_i32(iv.days);
            out.put_i32(iv.months);
        }
        PgType::Void => {}
        PgType::TextArray
        | PgType::BoolArray
        | PgType::Int2Array
        | PgType::Int4Array
        | PgType::Int8Array => super::array::write_binary(ty, &text_of(value), out)?,
        PgType::Text
        | PgType::Varchar
        | PgType::Bpchar
        | PgType::Name
        | PgType::Char
        | PgType::Json
        | PgType::Unknown => out.put_slice(text_of(value).as_bytes()),
    }
    Ok(())
}

/// Decodes a binary parameter into the canonical stored form of `ty`.
pub fn read_binary(ty: PgType, bytes: &[u8]) -> Result<Value, Error> {
    let fixed = |n: usize| -> Result<&[u8], Error> {
        if bytes.len() == n {
            Ok(bytes)
        } else {
            Err(bad(ty))
        }
    };
    Ok(match ty {
        PgType::Bool => Value::Integer((fixed(1)?[0] != 0) as i64),
        PgType::Int2 => Value::Integer(i16::from_be_bytes(fixed(2)?.try_into().unwrap()) as i64),
        PgType::Int4 => Value::Integer(i32::from_be_bytes(fixed(4)?.try_into().unwrap()) as i64),
        PgType::Oid => Value::Integer(u32::from_be_bytes(fixed(4)?.try_into().unwrap()) as i64),
        PgType::Int8 => Value::Integer(i64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        PgType::Float4 => Value::Real(f32::from_be_bytes(fixed(4)?.try_into().unwrap()) as f64),
        PgType::Float8 => Value::Real(f64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        PgType::Numeric => Value::Text(read_numeric(bytes).ok_or_else(|| bad(ty))?),
        PgType::Bytea => Value::Blob(bytes.to_vec()),
        PgType::Uuid => Value::Text(
            uuid::Uuid::from_slice(fixed(16)?)
                .map_err(|_| bad(ty))?
                .hyphenated()
                .to_string(),
        ),
        PgType::Date => Value::Text(datetime::format_date(datetime::from_pg_days(
            i32::from_be_bytes(fixed(4)?.try_into().unwrap()),
        ))),
        PgType::Time => {
            let micros = i64::from_be_bytes(fixed(8)?.try_into().unwrap());
            Value::Text(datetime::format_time(
                datetime::from_pg_micros(micros).time(),
            ))
        }
        PgType::Timestamp => Value::Text(datetime::format_timestamp(datetime::from_pg_micros(
            i64::from_be_bytes(fixed(8)?.try_into().unwrap()),
        ))),
        PgType::Timestamptz => {
            let naive = datetime::from_pg_micros(i64::from_be_bytes(fixed(8)?.try_into().unwrap()));
            Value::Text(format!("{}+00", datetime::format_timestamp(naive)))
        }
        PgType::Jsonb => {
            let (version, text) = bytes.split_first().ok_or_else(|| bad(ty))?;
            if *version != 1 {
                return Err(bad(ty));
            }
            input::from_text(
                ColumnType::plain(ty),
                std::str::from_utf8(text).map_err(|_| bad(ty))?,
            )?
        }
        PgType::Interval => {
            let b = fixed(16)?;
            let iv = Interval {
                micros: i64::from_be_bytes(b[..8].try_into().unwrap()),
                days: i32::from_be_bytes(b[8..12].try_into().unwrap()),
                months: i32::from_be_bytes(b[12..].try_into().unwrap()),
            };
            Value::Text(iv.to_string())
        }
        PgType::Void => Value::Null,
        PgType::TextArray
        | PgType::BoolArray
        | PgType::Int2Array
        | PgType::Int4Array
        | PgType::Int8Array => Value::Text(super::array::read_binary(ty, bytes)?),
        PgType::Text
        | PgType::Varchar
        | PgType::Bpchar
        | PgType::Name
        | PgType::Char
        | PgType::Json
        | PgType::Unknown => {
            let text = std::str::from_utf8(bytes).map_err(|_| bad(ty))?;
            input::from_text(ColumnType::plain(ty), text)?
        }
    })
}

/// Numeric binary: ndigits, weight, sign, dscale, then base-10000 digits.
fn write_numeric(text: &str, out: &mut BytesMut) -> Result<(), Error> {
    if text.trim().eq_ignore_ascii_case("nan") {
        out.put_slice(&[0, 0, 0, 0, 0xC0, 0, 0, 0]);
        return Ok(());
    }
    if !Base10000::is_valid_text(text) {
        return Err(bad(PgType::Numeric));
    }
    let n = Base10000::of(text);
    out.put_i16(n.digits.len() as i16);
    out.put_i16(n.weight);
    out.put_u16(if n.negative { 0x4000 } else { 0 });
    out.put_u16(n.dscale);
    for g in n.digits {
        out.put_i16(g);
    }
    Ok(())
}

fn read_numeric(bytes: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<u16> {
        Some(u16::from_be_bytes(bytes.get(i..i + 2)?.try_into().ok()?))
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i32;
    let sign = word(4)?;
    let dscale = word(6)? as usize;
    if sign == 0xC000 {
        return Some("NaN".into());
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Option<_>>()?;
    let mut int_part = String::new();
    for pos in 0..=weight.max(-1) {
        let d = digits.get(pos as usize).copied().unwrap_or(0);
        if int_part.is_empty() {
            if d != 0 {
                int_part = d.to_string();
            }
        } else {
            int_part.push_str(&format!("{d:04}"));
        }
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    let mut frac = String::new();
    let mut pos = weight + 1;
    while frac.len() < dscale {
        let d = if pos < 0 {
            0
        } else {
            digits.get(pos as usize).copied().unwrap_or(0)
        };
        frac.push_str(&format!("{d:04}"));
        pos += 1;
    }
    frac.truncate(dscale);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Some(if dscale > 0 {
        format!("{sign}{int_part}.{frac}")
    } else {
        format!("{sign}{int_part}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let mut buf = BytesMut::new();
        write_numeric(text, &mut buf).unwrap();
        read_numeric(&buf).unwrap()
    }

    #[test]
    fn numeric_binary_round_trips() {
        for v in [
            "0",
            "12.50",
            "-3.14159",
            "100000000",
            "0.0001",
            "123456789.123456789",
            "-0.5",
        ] {
            assert_eq!(round_trip(v), v);
        }
    }

    #[test]
    fn numeric_binary_layout_matches_postgres() {
        let mut buf = BytesMut::new();
        write_numeric("12.50", &mut buf).unwrap();
        // ndigits 2, weight 0, sign +, dscale 2, digits 12 5000
        assert_eq!(&buf[..], &[0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x13, 0x88]);
    }
}
