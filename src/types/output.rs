//! Values leaving litewire in Postgres's text format. Canonical storage makes this
//! mostly a copy; the work is in booleans, floats and bytea.

use bytes::{BufMut, BytesMut};
use rusqlite::types::ValueRef;

use super::PgType;

/// Postgres's float output (shortest round-trip digits; exponent form outside
/// 1e-4 .. 1e15, written `1e+20`).
pub fn format_float(f: f64) -> String {
    format_float_with(f, |f| (format!("{f}"), format!("{f:e}")))
}

fn format_float4(f: f32) -> String {
    format_float_with(f as f64, |_| (format!("{f}"), format!("{f:e}")))
}

fn format_float_with(f: f64, render: impl Fn(f64) -> (String, String)) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let (plain, sci) = render(f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..15).contains(&exp) {
        if plain == "-0" { "-0".into() } else { plain }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// `\x` followed by lowercase hex, Postgres's default `bytea_output`.
pub fn format_bytea(bytes: &[u8], out: &mut BytesMut) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 + bytes.len() * 2);
    out.put_slice(b"\\x");
    for b in bytes {
        out.put_u8(HEX[(b >> 4) as usize]);
        out.put_u8(HEX[(b & 15) as usize]);
    }
}

/// Appends the text form of a non-NULL value of type `ty` to `out`.
pub fn write_text(ty: PgType, value: ValueRef<'_>, out: &mut BytesMut) {
    match value {
        ValueRef::Null => {}
        ValueRef::Integer(i) => match ty {
            PgType::Bool => out.put_slice(if i != 0 { b"t" } else { b"f" }),
            PgType::Float4 | PgType::Float8 => out.put_slice(format_float(i as f64).as_bytes()),
            _ => out.put_slice(itoa::Buffer::new().format(i).as_bytes()),
        },
        ValueRef::Real(f) => match ty {
            PgType::Float4 => out.put_slice(format_float4(f as f32).as_bytes()),
            PgType::Int2 | PgType::Int4 | PgType::Int8 => {
                out.put_slice((f.round_ties_even() as i64).to_string().as_bytes())
            }
            _ => out.put_slice(format_float(f).as_bytes()),
        },
        ValueRef::Text(t) => match ty {
            PgType::Bool => out.put_slice(match t {
                b"1" | b"t" | b"true" => b"t",
                _ => b"f",
            }),
            PgType::Bytea => format_bytea(t, out),
            _ => out.put_slice(t),
        },
        ValueRef::Blob(b) => match ty {
            PgType::Bytea => format_bytea(b, out),
            _ => out.put_slice(b),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_postgres() {
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(12.0), "12");
        assert_eq!(format_float(1e20), "1e+20");
        assert_eq!(format_float(1.5e-5), "1.5e-05");
        assert_eq!(format_float(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_float(f64::INFINITY), "Infinity");
    }
}
