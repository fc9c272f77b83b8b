//! Dates and times. `timestamptz` is stored as UTC text in Postgres's ISO output
//! form (`2024-05-01 12:30:00.25+00`), `timestamp` the same without the offset,
//! `date` as `YYYY-MM-DD`, `time` as `HH:MM:SS[.ffffff]`. Trailing fractional zeros
//! are dropped, as Postgres prints them; that form still sorts chronologically
//! (`'+'` and end-of-string sort before `'.'`), so SQLite compares them correctly.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use super::{ColumnType, PgType, TypeModifier};
use crate::error::{Error, SqlState};

fn invalid(kind: &str, text: &str) -> Error {
    Error::new(
        SqlState::InvalidDatetimeFormat,
        format!("invalid input syntax for type {kind}: \"{text}\""),
    )
}

/// The Postgres epoch (2000-01-01), origin of the binary formats.
pub fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

/// Parses `YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]][ ][zone]`; the zone is returned as
/// seconds east of UTC when present.
fn parse_parts(kind: &str, text: &str) -> Result<(NaiveDateTime, Option<i32>), Error> {
    let s = text.trim();
    let lower = s.to_ascii_lowercase();
    if lower == "epoch" {
        return Ok((DateTime::UNIX_EPOCH.naive_utc(), Some(0)));
    }
    if lower == "now" {
        return Ok((Utc::now().naive_utc(), Some(0)));
    }
    // Not sliced by byte offset blindly: client text may have any characters.
    let (date, rest) = s.split_at_checked(10).ok_or_else(|| invalid(kind, text))?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| invalid(kind, text))?;
    let rest = rest.trim_start_matches(['T', 't', ' ']);
    if rest.is_empty() {
        return Ok((date.and_hms_opt(0, 0, 0).unwrap(), None));
    }
    let time_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(rest.len());
    let time = parse_time_text(&rest[..time_end]).ok_or_else(|| invalid(kind, text))?;
    let zone = rest[time_end..].trim();
    let offset = if zone.is_empty() {
        None
    } else {
        Some(parse_zone(zone).ok_or_else(|| invalid(kind, text))?)
    };
    Ok((date.and_time(time), offset))
}

fn parse_time_text(text: &str) -> Option<NaiveTime> {
    let (hms, frac) = match text.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (text, None),
    };
    let mut parts = hms.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let sec: u32 = match parts.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    let micros = match frac {
        None => 0,
        Some(f) if f.chars().all(|c| c.is_ascii_digit()) && !f.is_empty() => {
            // Round to microseconds as Postgres does.
            let padded = format!("{f:0<7}");
            let seven: u64 = padded[..7].parse().ok()?;
            (seven + 5) / 10
        }
        _ => return None,
    };
    let base = NaiveTime::from_hms_opt(h, m, sec)?;
    Some(base + Duration::microseconds(micros as i64))
}

fn parse_zone(zone: &str) -> Option<i32> {
    let upper = zone.to_ascii_uppercase();
    if matches!(upper.as_str(), "Z" | "UTC" | "GMT" | "+00" | "-00") {
        return Some(0);
    }
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    Some(sign * (h * 3600 + m * 60))
}

/// `timestamptz` input to UTC; a value without zone is in the session zone (UTC).
pub fn parse_timestamptz(text: &str) -> Result<DateTime<Utc>, Error> {
    let (naive, offset) = parse_parts("timestamp with time zone", text)?;
    let utc = naive - Duration::seconds(offset.unwrap_or(0) as i64);
    Ok(Utc.from_utc_datetime(&utc))
}

/// `timestamp` input: a zone, if given, is ignored (as Postgres does).
pub fn parse_timestamp(text: &str) -> Result<NaiveDateTime, Error> {
    Ok(parse_parts("timestamp without time zone", text)?.0)
}

pub fn parse_date(text: &str) -> Result<NaiveDate, Error> {
    Ok(parse_parts("date", text)?.0.date())
}

pub fn parse_time(text: &str) -> Result<NaiveTime, Error> {
    parse_time_text(text.trim()).ok_or_else(|| invalid("time", text))
}

fn fraction(micros: u32) -> String {
    if micros == 0 {
        return String::new();
    }
    let digits = format!(".{micros:06}");
    digits.trim_end_matches('0').to_string()
}

pub fn format_time(t: NaiveTime) -> String {
    use chrono::Timelike;
    format!(
        "{:02}:{:02}:{:02}{}",
        t.hour(),
        t.minute(),
        t.second(),
        fraction(t.nanosecond() / 1000)
    )
}

pub fn format_timestamp(ts: NaiveDateTime) -> String {
    format!(
        "{} {}",
        ts.date().format("%Y-%m-%d"),
        format_time(ts.time())
    )
}

pub fn format_timestamptz(ts: DateTime<Utc>) -> String {
    format!("{}+00", format_timestamp(ts.naive_utc()))
}

pub fn format_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Rounds microseconds to `precision` fractional digits, half away from
/// zero, as Postgres applies `timestamp(p)` / `interval(p)`.
fn round_micros(micros: i64, precision: u32) -> i64 {
    let scale = 10i64.pow(6 - precision.min(6));
    let half = scale / 2;
    if micros >= 0 {
        (micros + half) / scale * scale
    } else {
        -((-micros + half) / scale * scale)
    }
}

/// The stored form of `time`, `timestamp`, `timestamptz` or `interval` text,
/// rounded to the type's precision (`timestamp(0)`) when it has one.
pub fn canonical(ct: ColumnType, text: &str) -> Result<String, Error> {
    let round = |micros: i64| match ct.modifier {
        TypeModifier::Precision(p) => round_micros(micros, p),
        _ => micros,
    };
    Ok(match ct.ty {
        PgType::Time => {
            let micros = round(time_micros(parse_time(text)?));
            format_time(NaiveTime::MIN + Duration::microseconds(micros))
        }
        PgType::Timestamp => {
            format_timestamp(from_pg_micros(round(to_pg_micros(parse_timestamp(text)?))))
        }
        PgType::Timestamptz => {
            let utc = parse_timestamptz(text)?.naive_utc();
            format_timestamptz(from_pg_micros(round(to_pg_micros(utc))).and_utc())
        }
        _ => {
            let iv = super::interval::Interval::parse(text)?;
            super::interval::Interval {
                micros: round(iv.micros),
                ..iv
            }
            .to_string()
        }
    })
}

/// Microseconds since the Postgres epoch, the binary form of timestamp(tz).
pub fn to_pg_micros(ts: NaiveDateTime) -> i64 {
    (ts - pg_epoch()).num_microseconds().unwrap_or(i64::MAX)
}

pub fn from_pg_micros(micros: i64) -> NaiveDateTime {
    pg_epoch() + Duration::microseconds(micros)
}

pub fn to_pg_days(d: NaiveDate) -> i32 {
    (d - pg_epoch().date()).num_days() as i32
}

pub fn from_pg_days(days: i32) -> NaiveDate {
    pg_epoch().date() + Duration::days(days as i64)
}

pub fn time_micros(t: NaiveTime) -> i64 {
    (t - NaiveTime::MIN).num_microseconds().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamptz_round_trip_and_zones() {
        let ts = parse_timestamptz("2024-05-01T14:30:00.250+02:00").unwrap();
        assert_eq!(format_timestamptz(ts), "2024-05-01 12:30:00.25+00");
        assert_eq!(
            format_timestamptz(parse_timestamptz("2024-05-01").unwrap()),
            "2024-05-01 00:00:00+00"
        );
        assert!(parse_timestamptz("yesterday-ish").is_err());
        // Multi-byte characters where a date or zone is expected: an error, no panic.
        assert!(parse_timestamptz("000\u{80}\u{80}\u{10000}").is_err());
        assert!(parse_timestamptz("2024-05-01 10:00+a\u{20ac}").is_err());
    }

    #[test]
    fn precision_rounds_half_away_from_zero() {
        let ct = |t: &str| ColumnType::parse(t).unwrap();
        let ts0 = ct("timestamp(0) without time zone");
        assert_eq!(ts0.to_sql(), "timestamp(0) without time zone");
        assert_eq!(
            canonical(ts0, "2024-01-01 10:00:00.6").unwrap(),
            "2024-01-01 10:00:01"
        );
        let tz3 = ct("timestamptz(3)");
        assert_eq!(tz3.to_sql(), "timestamp(3) with time zone");
        assert_eq!(
            canonical(tz3, "2024-01-01 10:00:00.12345+00").unwrap(),
            "2024-01-01 10:00:00.123+00"
        );
        assert_eq!(
            canonical(ct("interval(0)"), "1.5 seconds").unwrap(),
            "00:00:02"
        );
    }

    #[test]
    fn stored_form_sorts_chronologically() {
        let a = format_timestamptz(parse_timestamptz("2024-05-01 10:00:00").unwrap());
        let b = format_timestamptz(parse_timestamptz("2024-05-01 10:00:00.5").unwrap());
        assert!(a < b);
    }
}
