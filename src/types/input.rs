//! Values entering a column or a typed parameter: text (or an already-typed SQLite
//! value) is checked and turned into the type's canonical stored form, with the
//! error Postgres gives for bad input (22P02, 22003, 22001, 22007).

use rusqlite::types::{Value, ValueRef};

use super::{ColumnType, PgType, TypeModifier, datetime, json, numeric};
use crate::error::{Error, SqlState};

fn invalid(ty: PgType, text: &str) -> Error {
    Error::new(
        SqlState::InvalidTextRepresentation,
        format!("invalid input syntax for type {}: \"{text}\"", ty.name()),
    )
}

fn out_of_range(ty: PgType, text: &str) -> Error {
    Error::new(
        SqlState::NumericValueOutOfRange,
        format!("value \"{text}\" is out of range for type {}", ty.name()),
    )
}

/// Converts a value to the canonical storage of `ct`. NULL stays NULL.
pub fn coerce(ct: ColumnType, value: ValueRef<'_>) -> Result<Value, Error> {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Text(bytes) => {
            let text = std::str::from_utf8(bytes).map_err(|_| {
                Error::new(
                    SqlState::InvalidTextRepresentation,
                    "invalid byte sequence for encoding \"UTF8\"",
                )
            })?;
            from_text(ct, text)
        }
        ValueRef::Integer(i) => from_integer(ct, i),
        ValueRef::Real(f) => from_real(ct, f),
        ValueRef::Blob(b) => match ct.ty {
            PgType::Bytea => Ok(Value::Blob(b.to_vec())),
            _ => from_text(ct, &String::from_utf8_lossy(b)),
        },
    }
}

fn int_in_range(ty: PgType, i: i64) -> Result<Value, Error> {
    let ok = match ty {
        PgType::Int2 => i16::try_from(i).is_ok(),
        PgType::Int4 => i32::try_from(i).is_ok(),
        PgType::Oid => u32::try_from(i).is_ok(),
        _ => true,
    };
    if ok {
        Ok(Value::Integer(i))
    } else {
        Err(Error::new(
            SqlState::NumericValueOutOfRange,
            format!("{} out of range", ty.name()),
        ))
    }
}

fn from_integer(ct: ColumnType, i: i64) -> Result<Value, Error> {
    match ct.ty {
        ty if ty.is_integer() => int_in_range(ty, i),
        ty if ty.is_float() => Ok(Value::Real(i as f64)),
        PgType::Bool => match i {
            0 | 1 => Ok(Value::Integer(i)),
            _ => Err(invalid(PgType::Bool, &i.to_string())),
        },
        _ => from_text(ct, &i.to_string()),
    }
}

fn from_real(ct: ColumnType, f: f64) -> Result<Value, Error> {
    match ct.ty {
        ty if ty.is_float() => Ok(Value::Real(f)),
        ty if ty.is_integer() => {
            let rounded = f.round_ties_even();
            if !rounded.is_finite() || rounded.abs() > 9.2e18 {
                return Err(out_of_range(ty, &f.to_string()));
            }
            int_in_range(ty, rounded as i64)
        }
        _ => from_text(ct, &super::output::format_float(f)),
    }
}

/// Parses Postgres text input for `ct`.
pub fn from_text(ct: ColumnType, text: &str) -> Result<Value, Error> {
    let ty = ct.ty;
    Ok(match ty {
        PgType::Bool => Value::Integer(parse_bool(text)? as i64),
        PgType::Int2 | PgType::Int4 | PgType::Int8 | PgType::Oid => {
            let trimmed = text.trim();
            let i: i64 = trimmed.parse().map_err(|_| {
                if !trimmed.is_empty()
                    && trimmed
                        .trim_start_matches(['-', '+'])
                        .chars()
                        .all(|c| c.is_ascii_digit())
                {
                    out_of_range(ty, text)
                } else {
                    invalid(ty, text)
                }
            })?;
            int_in_range(ty, i).map_err(|_| out_of_range(ty, text))?
        }
        PgType::Float4 | PgType::Float8 => Value::Real(parse_float(ty, text)?),
        PgType::Numeric => {
            let mut d = numeric::parse(text)?;
            if let TypeModifier::Numeric { precision, scale } = ct.modifier {
                d = numeric::apply_typmod(d, precision, scale)?;
            }
            Value::Text(d.to_string())
        }
        PgType::Varchar | PgType::Bpchar => Value::Text(check_length(ct, text)?),
        PgType::Text | PgType::Name | PgType::Char | PgType::Unknown | PgType::Void => {
            Value::Text(text.to_string())
        }
        PgType::Bytea => Value::Blob(parse_bytea(text)?),
        PgType::TextArray
        | PgType::BoolArray
        | PgType::Int2Array
        | PgType::Int4Array
        | PgType::Int8Array => Value::Text(super::array::canonical(ty, text)?),
        PgType::Date => Value::Text(datetime::format_date(datetime::parse_date(text)?)),
        PgType::Time | PgType::Timestamp | PgType::Timestamptz | PgType::Interval => {
            Value::Text(datetime::canonical(ct, text)?)
        }
        PgType::Uuid => Value::Text(
            uuid::Uuid::parse_str(text.trim())
                .map_err(|_| invalid(ty, text))?
                .hyphenated()
                .to_string(),
        ),
        PgType::Json => {
            json::parse("json", text)?;
            Value::Text(text.to_string())
        }
        PgType::Jsonb => Value::Text(json::normalize_jsonb(text)?),
    })
}

pub fn parse_bool(text: &str) -> Result<bool, Error> {
    let t = text.trim().to_ascii_lowercase();
    let is_prefix = |word: &str| !t.is_empty() && word.starts_with(t.as_str());
    if t == "1" || t == "on" || is_prefix("true") || is_prefix("yes") {
        Ok(true)
    } else if t == "0" || t == "off" || is_prefix("false") || is_prefix("no") {
        Ok(false)
    } else {
        Err(invalid(PgType::Bool, text))
    }
}

fn parse_float(ty: PgType, text: &str) -> Result<f64, Error> {
    let t = text.trim();
    match t.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" | "inf" => return Ok(f64::INFINITY),
        "-infinity" | "-inf" => return Ok(f64::NEG_INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    t.parse::<f64>().map_err(|_| invalid(ty, text))
}

/// varchar(n) refuses longer strings (22001); char(n) pads with spaces.
fn check_length(ct: ColumnType, text: &str) -> Result<String, Error> {
    let TypeModifier::Length(n) = ct.modifier else {
        return Ok(text.to_string());
    };
    let len = text.chars().count();
    let n = n as usize;
    if len > n {
        // Postgres lets trailing spaces be cut silently.
        let trimmed = text.trim_end_matches(' ');
        if trimmed.chars().count() > n {
            return Err(Error::new(
                SqlState::StringDataRightTruncation,
                format!("value too long for type {}", ct.to_sql()),
            ));
        }
        return Ok(text.chars().take(n).collect());
    }
    if ct.ty == PgType::Bpchar {
        return Ok(format!("{text:<n$}"));
    }
    Ok(text.to_string())
}

/// bytea input: `\x` hex, or the escape format (`\\` and `\ooo` octal).
pub fn parse_bytea(text: &str) -> Result<Vec<u8>, Error> {
    let bad = || {
        Error::new(
            SqlState::InvalidTextRepresentation,
            "invalid input syntax for type bytea",
        )
    };
    if let Some(hex) = text
        .strip_prefix("\\x")
        .or_else(|| text.strip_prefix("\\X"))
    {
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if !digits.len().is_multiple_of(2) {
            return Err(Error::new(
                SqlState::InvalidTextRepresentation,
                "invalid hexadecimal data: odd number of digits",
            ));
        }
        return digits
            .chunks(2)
            .map(|pair| {
                let s = std::str::from_utf8(pair).map_err(|_| bad())?;
                u8::from_str_radix(s, 16).map_err(|_| {
                    Error::new(
                        SqlState::InvalidTextRepresentation,
                        format!(
                            "invalid hexadecimal digit: \"{}\"",
                            // A pair may be one two-byte character: no byte slicing.
                            s.chars()
                                .find(|c| !c.is_ascii_hexdigit())
                                .unwrap_or_default()
                        ),
                    )
                })
            })
            .collect();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = bytes.get(i + 1..i + 4).ok_or_else(bad)?;
            let s = std::str::from_utf8(oct).map_err(|_| bad())?;
            out.push(u8::from_str_radix(s, 8).map_err(|_| bad())?);
            i += 4;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_typmod_rounds_and_checks() {
        let ct = ColumnType::parse("numeric(10,2)").unwrap();
        assert_eq!(from_text(ct, "12.5").unwrap(), Value::Text("12.50".into()));
        assert_eq!(from_text(ct, "1.005").unwrap(), Value::Text("1.01".into()));
        assert_eq!(
            from_text(ct, "123456789").unwrap_err().state,
            SqlState::NumericValueOutOfRange
        );
    }

    #[test]
    fn bad_integers_are_22p02_or_22003() {
        let int4 = ColumnType::plain(PgType::Int4);
        assert_eq!(
            from_text(int4, "abc").unwrap_err().state,
            SqlState::InvalidTextRepresentation
        );
        assert_eq!(
            from_text(int4, "99999999999").unwrap_err().state,
            SqlState::NumericValueOutOfRange
        );
    }

    #[test]
    fn varchar_length_is_enforced() {
        let ct = ColumnType::parse("varchar(3)").unwrap();
        assert_eq!(
            from_text(ct, "abcd").unwrap_err().state,
            SqlState::StringDataRightTruncation
        );
        assert_eq!(from_text(ct, "abc  ").unwrap(), Value::Text("abc".into()));
    }

    #[test]
    fn bytea_hex_and_escape() {
        assert_eq!(parse_bytea("\\x00ff").unwrap(), vec![0, 255]);
        assert_eq!(parse_bytea("a\\\\b\\001").unwrap(), b"a\\b\x01".to_vec());
    }
}
