//! Postgres's string functions that SQLite lacks or spells
//! differently, registered under their Postgres names (`upper`/`lower`
//! replace SQLite's ASCII-only ones). The translator rewrites the special
//! syntax forms (`position(a IN b)`, `substring(s FROM a FOR b)`,
//! `trim(BOTH x FROM s)`) into plain calls.

use rusqlite::Connection;
use rusqlite::functions::Context;

use crate::error::{Error, SqlState};

use super::functions::{PURE, to_sqlite};

/// Registers a one-argument text function (NULL in, NULL out).
fn text1(
    conn: &Connection,
    name: &str,
    f: impl Fn(&str) -> String + Send + Sync + 'static,
) -> rusqlite::Result<()> {
    conn.create_scalar_function(name, 1, PURE, move |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|s| f(&s)))
    })
}

/// A text argument and an integer argument (`left`, `right`, `repeat`-like).
fn text_and_count(ctx: &Context<'_>) -> rusqlite::Result<Option<(String, i64)>> {
    Ok(ctx
        .get::<Option<String>>(0)?
        .zip(ctx.get::<Option<i64>>(1)?))
}

/// Postgres's `left(s, n)`: the first n characters, or all but the last -n.
fn left(s: &str, n: i64) -> String {
    let len = s.chars().count() as i64;
    let take = if n < 0 { (len + n).max(0) } else { n };
    s.chars().take(take as usize).collect()
}

/// Postgres's `right(s, n)`: the last n characters, or all but the first -n.
fn right(s: &str, n: i64) -> String {
    let len = s.chars().count() as i64;
    let skip = if n < 0 {
        (-n).min(len)
    } else {
        (len - n).max(0)
    };
    s.chars().skip(skip as usize).collect()
}

/// `split_part(s, delimiter, n)`: n counts from 1, negative from the end.
fn split_part(s: &str, delimiter: &str, n: i64) -> Result<String, Error> {
    if n == 0 {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            "field position must not be zero",
        ));
    }
    let parts: Vec<&str> = if delimiter.is_empty() {
        vec![s]
    } else {
        s.split(delimiter).collect()
    };
    let index = if n > 0 { n - 1 } else { parts.len() as i64 + n };
    Ok(usize::try_from(index)
        .ok()
        .and_then(|i| parts.get(i))
        .map_or(String::new(), |p| p.to_string()))
}

/// `initcap`: the first letter of each alphanumeric run upper case.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word = false;
    for c in s.chars() {
        if word {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        word = c.is_alphanumeric();
    }
    out
}

/// `lpad`/`rpad(s, n, fill)`: to n characters, cut or filled.
fn pad(s: &str, n: i64, fill: &str, left: bool) -> String {
    let n = n.max(0) as usize;
    let len = s.chars().count();
    if len >= n || fill.is_empty() {
        return s.chars().take(n).collect();
    }
    let padding: String = fill.chars().cycle().take(n - len).collect();
    if left {
        padding + s
    } else {
        s.to_string() + &padding
    }
}

/// `translate(s, from, to)`: each character of `from` replaced by the one
/// at the same place in `to`, or removed when `to` is shorter.
fn translate(s: &str, from: &str, to: &str) -> String {
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.chars().position(|f| f == c) {
            Some(i) => to.get(i).copied(),
            None => Some(c),
        })
        .collect()
}

/// `regexp_replace(s, pattern, replacement [, flags])`: the first match, or
/// every match with flag `g`; `i` ignores case; `\1` refers to a group.
fn regexp_replace(s: &str, pattern: &str, replacement: &str, flags: &str) -> Result<String, Error> {
    let case = if flags.contains('i') { "(?i)" } else { "" };
    let re = regex::Regex::new(&format!("{case}{pattern}")).map_err(|e| {
        Error::new(
            SqlState::InvalidRegularExpression,
            format!("invalid regular expression: {e}"),
        )
    })?;
    // Postgres writes groups as \1; the regex crate as ${1}.
    let replacement = regex::Regex::new(r"\\(\d)")
        .expect("valid pattern")
        .replace_all(replacement, "$${$1}");
    Ok(if flags.contains('g') {
        re.replace_all(s, replacement.as_ref()).into_owned()
    } else {
        re.replace(s, replacement.as_ref()).into_owned()
    })
}

/// `quote_literal`: a string literal, quotes doubled (E'' when it holds a
/// backslash, as Postgres writes it).
fn quote_literal(s: &str) -> String {
    let quoted = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

fn register_text(conn: &Connection) -> rusqlite::Result<()> {
    text1(conn, "upper", |s| s.to_uppercase())?;
    text1(conn, "lower", |s| s.to_lowercase())?;
    text1(conn, "reverse", |s| s.chars().rev().collect())?;
    text1(conn, "initcap", initcap)?;
    text1(conn, "quote_literal", quote_literal)?;
    text1(conn, "md5", |s| {
        use md5::Digest;
        md5::Md5::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })?;
    conn.create_scalar_function("left", 2, PURE, |ctx| {
        Ok(text_and_count(ctx)?.map(|(s, n)| left(&s, n)))
    })?;
    conn.create_scalar_function("right", 2, PURE, |ctx| {
        Ok(text_and_count(ctx)?.map(|(s, n)| right(&s, n)))
    })?;
    conn.create_scalar_function("split_part", 3, PURE, |ctx| {
        let (Some(s), Some(d), Some(n)) = (
            ctx.get::<Option<String>>(0)?,
            ctx.get::<Option<String>>(1)?,
            ctx.get::<Option<i64>>(2)?,
        ) else {
            return Ok(None);
        };
        split_part(&s, &d, n).map(Some).map_err(to_sqlite)
    })?;
    for (name, at_left) in [("lpad", true), ("rpad", false)] {
        for arity in [2, 3] {
            conn.create_scalar_function(name, arity, PURE, move |ctx| {
                let fill = match arity {
                    3 => ctx.get::<Option<String>>(2)?,
                    _ => Some(" ".into()),
                };
                Ok(text_and_count(ctx)?
                    .zip(fill)
                    .map(|((s, n), fill)| pad(&s, n, &fill, at_left)))
            })?;
        }
    }
    conn.create_scalar_function("translate", 3, PURE, |ctx| {
        let args: Option<Vec<String>> = (0..3)
            .map(|i| ctx.get::<Option<String>>(i))
            .collect::<rusqlite::Result<_>>()?;
        Ok(args.map(|a| translate(&a[0], &a[1], &a[2])))
    })?;
    for arity in [3, 4] {
        conn.create_scalar_function("regexp_replace", arity, PURE, move |ctx| {
            let args: Option<Vec<String>> = (0..arity as usize)
                .map(|i| ctx.get::<Option<String>>(i))
                .collect::<rusqlite::Result<_>>()?;
            let Some(a) = args else { return Ok(None) };
            let flags = a.get(3).map_or("", String::as_str);
            regexp_replace(&a[0], &a[1], &a[2], flags)
                .map(Some)
                .map_err(to_sqlite)
        })?;
    }
    conn.create_scalar_function("starts_with", 2, PURE, |ctx| {
        Ok(ctx
            .get::<Option<String>>(0)?
            .zip(ctx.get::<Option<String>>(1)?)
            .map(|(s, p)| s.starts_with(&p)))
    })?;
    conn.create_scalar_function("to_hex", 1, PURE, |ctx| {
        Ok(ctx.get::<Option<i64>>(0)?.map(|n| format!("{n:x}")))
    })?;
    conn.create_scalar_function("chr", 1, PURE, |ctx| {
        Ok(ctx
            .get::<Option<i64>>(0)?
            .and_then(|n| u32::try_from(n).ok())
            .and_then(char::from_u32)
            .map(String::from))
    })?;
    conn.create_scalar_function("ascii", 1, PURE, |ctx| {
        Ok(ctx
            .get::<Option<String>>(0)?
            .map(|s| s.chars().next().map_or(0, |c| c as i64)))
    })?;
    Ok(())
}

/// Registers the string functions on `conn`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    register_text(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_behave_as_postgres() {
        assert_eq!(left("abc", 2), "ab");
        assert_eq!(left("abc", -1), "ab");
        assert_eq!(right("abc", 2), "bc");
        assert_eq!(right("abc", -1), "bc");
        assert_eq!(split_part("a,b,c", ",", 2).unwrap(), "b");
        assert_eq!(split_part("a,b,c", ",", -1).unwrap(), "c");
        assert_eq!(split_part("a,b,c", ",", 9).unwrap(), "");
        assert!(split_part("a", ",", 0).is_err());
        assert_eq!(initcap("hello wORLD-x"), "Hello World-X");
        assert_eq!(pad("5", 3, "0", true), "005");
        assert_eq!(pad("abcd", 2, "0", true), "ab");
        assert_eq!(translate("abc", "ab", "x"), "xc");
        assert_eq!(regexp_replace("a1b2", "[0-9]", "X", "g").unwrap(), "aXbX");
        assert_eq!(
            regexp_replace("a1b2", "([a-z])1", r"\1!", "").unwrap(),
            "a!b2"
        );
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
