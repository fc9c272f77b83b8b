//! Date/time arithmetic, `age` and `AT TIME ZONE` on stored values. The
//! translator knows each operand's type and passes it along, so one runtime
//! entry point ([`apply`]) serves every operator; [`result_type`] is the same
//! table seen from the translator, Postgres's operator catalog for these types.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime};
use rusqlite::types::{Value, ValueRef};

use super::PgType;
use super::datetime::{self, format_date, format_time, format_timestamp, format_timestamptz};
use super::interval::{self, Interval, USECS_PER_DAY, out_of_range};
use crate::error::{Error, SqlState};

/// An operator on date/time values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
        }
    }

    pub fn from_symbol(s: &str) -> Option<Op> {
        Some(match s {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            _ => return None,
        })
    }
}

/// A value of one of the date/time types, or a number (`date + 1`, `interval * 2`).
#[derive(Debug, Clone, Copy)]
enum Dt {
    Date(NaiveDate),
    Time(NaiveTime),
    Timestamp(NaiveDateTime),
    /// In UTC.
    Timestamptz(NaiveDateTime),
    Interval(Interval),
    Int(i64),
    Float(f64),
}

fn is_number(t: PgType) -> bool {
    t.is_integer() || t.is_float() || t == PgType::Numeric
}

/// The type of `l op r` when Postgres has such an operator on date/time types.
pub fn result_type(op: Op, l: PgType, r: PgType) -> Option<PgType> {
    use PgType::*;
    Some(match (op, l, r) {
        (Op::Add, Date, t) | (Op::Add, t, Date) if t.is_integer() => Date,
        (Op::Sub, Date, t) if t.is_integer() => Date,
        (Op::Sub, Date, Date) => Int4,
        (Op::Add, Date, Interval) | (Op::Add, Interval, Date) | (Op::Sub, Date, Interval) => {
            Timestamp
        }
        (Op::Add, Date, Time) | (Op::Add, Time, Date) => Timestamp,
        (Op::Add | Op::Sub, t @ (Timestamp | Timestamptz | Time | Interval), Interval) => t,
        (Op::Add, Interval, t @ (Timestamp | Timestamptz | Time)) => t,
        (Op::Sub, Timestamp | Timestamptz | Date, Timestamp | Timestamptz | Date) => Interval,
        (Op::Sub, Time, Time) => Interval,
        (Op::Mul, Interval, t) | (Op::Mul, t, Interval) if is_number(t) => Interval,
        (Op::Div, Interval, t) if is_number(t) => Interval,
        _ => return None,
    })
}

/// The type Postgres gives an `unknown` literal operand opposite `other`:
/// the same type when `T op T` exists (`ts - '2024-01-01'`), else interval
/// (`ts + '1 day'`).
pub fn unknown_operand_type(op: Op, other: PgType) -> Option<PgType> {
    match (op, other) {
        (Op::Sub, PgType::Date | PgType::Timestamp | PgType::Timestamptz | PgType::Interval)
        | (Op::Add, PgType::Interval) => Some(other),
        (Op::Add | Op::Sub, PgType::Timestamp | PgType::Timestamptz | PgType::Time) => {
            Some(PgType::Interval)
        }
        _ => None,
    }
}

fn text(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Null => String::new(),
    }
}

/// The type of a stored value the translator could not type (a column of a
/// subquery or CTE): the canonical texts tell dates, timestamps (with a zone
/// or without), numbers and intervals apart. A bare clock (`01:30:00`) reads
/// as an interval, the likelier of the two.
pub fn sniff(text: &str) -> PgType {
    let t = text.trim();
    let b = t.as_bytes();
    let dated =
        b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit);
    if dated {
        match t.get(10..) {
            Some("") => PgType::Date,
            Some(rest) if rest.contains(['+', '-']) => PgType::Timestamptz,
            _ => PgType::Timestamp,
        }
    } else if t.parse::<f64>().is_ok() {
        PgType::Float8
    } else if Interval::parse(t).is_ok() {
        PgType::Interval
    } else {
        PgType::Time
    }
}

fn read(ty: PgType, value: ValueRef<'_>) -> Result<Dt, Error> {
    Ok(match ty {
        PgType::Unknown if matches!(value, ValueRef::Text(_) | ValueRef::Blob(_)) => {
            return read(sniff(&text(value)), value);
        }
        PgType::Date => Dt::Date(datetime::parse_date(&text(value))?),
        PgType::Time => Dt::Time(datetime::parse_time(&text(value))?),
        PgType::Timestamp => Dt::Timestamp(datetime::parse_timestamp(&text(value))?),
        PgType::Timestamptz => {
            Dt::Timestamptz(datetime::parse_timestamptz(&text(value))?.naive_utc())
        }
        PgType::Interval => Dt::Interval(Interval::parse(&text(value))?),
        _ => match value {
            ValueRef::Integer(i) => Dt::Int(i),
            ValueRef::Real(f) => Dt::Float(f),
            other => {
                let t = text(other);
                t.trim()
                    .parse::<i64>()
                    .map(Dt::Int)
                    .or_else(|_| t.trim().parse::<f64>().map(Dt::Float))
                    .map_err(|_| super::numeric::invalid(&t))?
            }
        },
    })
}

fn write(value: Dt) -> Value {
    match value {
        Dt::Date(d) => Value::Text(format_date(d)),
        Dt::Time(t) => Value::Text(format_time(t)),
        Dt::Timestamp(ts) => Value::Text(format_timestamp(ts)),
        Dt::Timestamptz(ts) => Value::Text(format_timestamptz(ts.and_utc())),
        Dt::Interval(iv) => Value::Text(iv.to_string()),
        Dt::Int(i) => Value::Integer(i),
        Dt::Float(f) => Value::Real(f),
    }
}

fn range_error(ty: &str) -> Error {
    Error::new(
        SqlState::DatetimeFieldOverflow,
        format!("{ty} out of range"),
    )
}

/// `timestamp + interval` as Postgres adds: months first (clamping the day to
/// the month's end), then days, then time.
pub fn add_interval(ts: NaiveDateTime, iv: Interval) -> Result<NaiveDateTime, Error> {
    let overflow = || range_error("timestamp");
    let date = ts.date();
    let date = if iv.months >= 0 {
        date.checked_add_months(Months::new(iv.months as u32))
    } else {
        date.checked_sub_months(Months::new(iv.months.unsigned_abs()))
    }
    .ok_or_else(overflow)?;
    let date = date
        .checked_add_signed(Duration::days(iv.days as i64))
        .ok_or_else(overflow)?;
    date.and_time(ts.time())
        .checked_add_signed(Duration::microseconds(iv.micros))
        .ok_or_else(overflow)
}

fn micros_between(a: NaiveDateTime, b: NaiveDateTime) -> Result<i64, Error> {
    (a - b).num_microseconds().ok_or_else(out_of_range)
}

fn as_float(v: Dt) -> Option<f64> {
    match v {
        Dt::Int(i) => Some(i as f64),
        Dt::Float(f) => Some(f),
        _ => None,
    }
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
}

fn time_plus(t: NaiveTime, micros: i64) -> NaiveTime {
    let of_day = (t - NaiveTime::MIN).num_microseconds().unwrap_or(0);
    NaiveTime::MIN + Duration::microseconds((of_day + micros).rem_euclid(USECS_PER_DAY))
}

fn compute(op: Op, l: Dt, r: Dt) -> Result<Dt, Error> {
    use Dt::*;
    let day_shift = |d: NaiveDate, n: i64| {
        d.checked_add_signed(Duration::days(n))
            .map(Date)
            .ok_or_else(|| range_error("date"))
    };
    Ok(match (op, l, r) {
        (Op::Add, Date(d), Int(n)) | (Op::Add, Int(n), Date(d)) => day_shift(d, n)?,
        (Op::Sub, Date(d), Int(n)) => day_shift(d, -n)?,
        (Op::Sub, Date(a), Date(b)) => Int((a - b).num_days()),
        (Op::Add, Date(d), Time(t)) | (Op::Add, Time(t), Date(d)) => Timestamp(d.and_time(t)),
        (Op::Add, Date(d), Interval(iv)) | (Op::Add, Interval(iv), Date(d)) => {
            Timestamp(add_interval(midnight(d), iv)?)
        }
        (Op::Add, Timestamp(ts), Interval(iv)) | (Op::Add, Interval(iv), Timestamp(ts)) => {
            Timestamp(add_interval(ts, iv)?)
        }
        (Op::Add, Timestamptz(ts), Interval(iv)) | (Op::Add, Interval(iv), Timestamptz(ts)) => {
            Timestamptz(add_interval(ts, iv)?)
        }
        (Op::Add, Time(t), Interval(iv)) | (Op::Add, Interval(iv), Time(t)) => {
            Time(time_plus(t, iv.micros))
        }
        (Op::Add, Interval(a), Interval(b)) => Interval(a.checked_add(b)?),
        (Op::Sub, a, Interval(iv)) if !matches!(a, Int(_) | Float(_)) => {
            compute(Op::Add, a, Interval(iv.checked_neg()?))?
        }
        (Op::Sub, Time(a), Time(b)) => Interval(interval::Interval::from_micros(
            (a - b).num_microseconds().unwrap_or(0),
        )),
        (Op::Sub, a, b) => {
            let instant = |v: Dt| match v {
                Date(d) => Some(midnight(d)),
                Timestamp(ts) | Timestamptz(ts) => Some(ts),
                _ => None,
            };
            match (instant(a), instant(b)) {
                (Some(x), Some(y)) => {
                    Interval(interval::Interval::from_micros(micros_between(x, y)?).justify_hours())
                }
                _ => return Err(no_operator()),
            }
        }
        (Op::Mul, Interval(iv), n) | (Op::Mul, n, Interval(iv)) => {
            Interval(iv.checked_mul(as_float(n).ok_or_else(no_operator)?)?)
        }
        (Op::Div, Interval(iv), n) => {
            Interval(iv.checked_div(as_float(n).ok_or_else(no_operator)?)?)
        }
        _ => return Err(no_operator()),
    })
}

/// The translator only emits operators [`result_type`] knows, so this is a bug.
fn no_operator() -> Error {
    Error::internal("no date/time operator for these operand types")
}

/// `l op r` on stored values of types `lt` and `rt`; NULL in, NULL out.
pub fn apply(
    op: Op,
    lt: PgType,
    l: ValueRef<'_>,
    rt: PgType,
    r: ValueRef<'_>,
) -> Result<Value, Error> {
    if matches!(l, ValueRef::Null) || matches!(r, ValueRef::Null) {
        return Ok(Value::Null);
    }
    Ok(write(compute(op, read(lt, l)?, read(rt, r)?)?))
}

/// `age(a, b)`: the difference in years, months and days as Postgres's
/// `timestamp_age` counts them (borrowing the length of `b`'s month, or
/// `a`'s when the result is negative).
pub fn age(a: NaiveDateTime, b: NaiveDateTime) -> Result<Interval, Error> {
    use chrono::Timelike;
    let negative = a < b;
    let sign = if negative { -1 } else { 1 };
    let micros_of = |t: NaiveDateTime| (t.nanosecond() / 1000) as i64;
    // usec, sec, min, hour, day: each borrows from the next when negative.
    let mut f = [
        micros_of(a) - micros_of(b),
        a.second() as i64 - b.second() as i64,
        a.minute() as i64 - b.minute() as i64,
        a.hour() as i64 - b.hour() as i64,
        a.day() as i64 - b.day() as i64,
    ]
    .map(|v| sign * v);
    for (i, span) in [1_000_000, 60, 60, 24].into_iter().enumerate() {
        while f[i] < 0 {
            f[i] += span;
            f[i + 1] -= 1;
        }
    }
    let [usec, sec, min, hour, mut day] = f;
    let mut mon = sign * (a.month() as i64 - b.month() as i64);
    let mut year = sign * (a.year() as i64 - b.year() as i64);
    let borrow_from = if negative { a } else { b };
    while day < 0 {
        day += days_in_month(borrow_from.date()) as i64;
        mon -= 1;
    }
    while mon < 0 {
        mon += 12;
        year -= 1;
    }
    let months = i32::try_from(sign * (year * 12 + mon)).map_err(|_| out_of_range())?;
    let days = i32::try_from(sign * day).map_err(|_| out_of_range())?;
    let micros = sign * (((hour * 60 + min) * 60 + sec) * 1_000_000 + usec);
    Ok(Interval {
        months,
        days,
        micros,
    })
}

fn days_in_month(d: NaiveDate) -> u32 {
    let first = d.with_day(1).unwrap_or(d);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
    (next - first).num_days() as u32
}

/// A time zone as `AT TIME ZONE` takes it, as seconds east of UTC. Without a
/// zone database only UTC and POSIX-style offsets are known; POSIX offsets
/// count west, so `'UTC+2'` and `'+02:00'` are two hours *behind* UTC, as in
/// Postgres.
pub fn zone_offset(zone: &str) -> Result<i32, Error> {
    let trimmed = zone.trim();
    let upper = trimmed.to_ascii_uppercase();
    let offset = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(&upper);
    if offset.is_empty() || offset == "Z" {
        return Ok(0);
    }
    if offset.starts_with(['+', '-'])
        && let Some(seconds) = posix_offset(offset)
    {
        return Ok(-seconds);
    }
    Err(Error::new(
        SqlState::FeatureNotSupported,
        format!(
            "time zone \"{trimmed}\" is not supported by litewire (only UTC and numeric offsets)"
        ),
    ))
}

/// `+h`, `-hh:mm`, `+hhmm` as seconds (in the sign's direction).
fn posix_offset(text: &str) -> Option<i32> {
    let (sign, body) = text.split_at(1);
    let sign = if sign == "-" { -1 } else { 1 };
    let digits: String = body.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i32, i32) = match digits.len() {
        1 | 2 => (digits.parse().ok()?, 0),
        3 | 4 => {
            let split = digits.len() - 2;
            (digits[..split].parse().ok()?, digits[split..].parse().ok()?)
        }
        _ => return None,
    };
    (h <= 15 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// `value AT TIME ZONE zone`: a `timestamptz` becomes the wall-clock
/// `timestamp` in `zone`; a `timestamp` (or `date`) is read as wall-clock time
/// in `zone` and becomes a `timestamptz`.
pub fn at_time_zone(source: PgType, value: &str, zone: &str) -> Result<Value, Error> {
    let east = Duration::seconds(zone_offset(zone)? as i64);
    let source = match source {
        PgType::Unknown => sniff(value),
        known => known,
    };
    Ok(Value::Text(match source {
        PgType::Timestamp | PgType::Date => {
            let local = datetime::parse_timestamp(value)?;
            format_timestamptz((local - east).and_utc())
        }
        _ => {
            let utc = datetime::parse_timestamptz(value)?.naive_utc();
            format_timestamp(utc + east)
        }
    }))
}

/// The type `x AT TIME ZONE z` returns for an `x` of type `source` (None
/// when the source type is only known at run time).
pub fn at_time_zone_type(source: PgType) -> Option<PgType> {
    match source {
        PgType::Unknown => None,
        PgType::Timestamp | PgType::Date => Some(PgType::Timestamptz),
        _ => Some(PgType::Timestamp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> NaiveDateTime {
        datetime::parse_timestamp(text).unwrap()
    }

    fn run(op: Op, lt: PgType, l: &str, rt: PgType, r: &str) -> String {
        match apply(
            op,
            lt,
            ValueRef::Text(l.as_bytes()),
            rt,
            ValueRef::Text(r.as_bytes()),
        )
        .unwrap()
        {
            Value::Text(t) => t,
            Value::Integer(i) => i.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn arithmetic_matches_postgres() {
        use PgType::*;
        assert_eq!(
            run(Op::Add, Date, "2024-01-31", Interval, "1 mon"),
            "2024-02-29 00:00:00"
        );
        assert_eq!(
            run(
                Op::Sub,
                Timestamp,
                "2024-01-03 03:00:00",
                Timestamp,
                "2024-01-01"
            ),
            "2 days 03:00:00"
        );
        assert_eq!(run(Op::Sub, Date, "2024-03-01", Date, "2024-02-01"), "29");
        assert_eq!(run(Op::Add, Date, "2024-02-28", Int4, "2"), "2024-03-01");
        assert_eq!(
            run(Op::Sub, Interval, "1 day", Interval, "02:00:00"),
            "1 day -02:00:00"
        );
        assert_eq!(result_type(Op::Sub, Date, Date), Some(Int4));
        assert_eq!(result_type(Op::Add, Date, Interval), Some(Timestamp));
        // A subquery's column: its type read off the value.
        assert_eq!(
            run(Op::Add, Unknown, "2024-01-31", Interval, "1 mon"),
            "2024-02-29 00:00:00"
        );
        assert_eq!(
            run(
                Op::Sub,
                Unknown,
                "2024-01-02 00:00:00+00",
                Unknown,
                "2024-01-01 12:00:00+00"
            ),
            "12:00:00"
        );
        assert_eq!(sniff("1 day 02:00:00"), Interval);
    }

    #[test]
    fn age_matches_postgres() {
        let age = |a, b| age(ts(a), ts(b)).unwrap().to_string();
        assert_eq!(
            age("2024-03-31", "2024-01-31 12:00"),
            "1 mon 30 days 12:00:00"
        );
        assert_eq!(age("2023-01-31", "2024-03-01"), "-1 years -1 mons -1 days");
    }

    #[test]
    fn zones_follow_posix_signs() {
        assert_eq!(zone_offset("UTC").unwrap(), 0);
        assert_eq!(zone_offset("+02:00").unwrap(), -7200);
        assert_eq!(zone_offset("UTC+2").unwrap(), -7200);
        assert!(zone_offset("Europe/Paris").is_err());
    }
}
