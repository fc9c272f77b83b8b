//! The runtime half of the date/time dialect: the translator rewrites
//! date/time operators, `extract`, `date_part`, `date_trunc`, `age` and
//! `AT TIME ZONE` into these, passing each operand's Postgres type as text
//! (`lw_dt_op('+', x, 'date', y, 'interval')`) since SQLite values carry none.

use rusqlite::Connection;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};

use super::functions::{PURE, to_sqlite};
use crate::error::Error;
use crate::types::date_part::{self, Part};
use crate::types::datetime_math::{self, Op};
use crate::types::interval::{self, Interval};
use crate::types::to_char::{self, Fields};
use crate::types::{PgType, datetime};

/// An operand's type as the translator wrote it; `unknown` when it could not
/// tell (the value then says).
fn type_arg(ctx: &Context<'_>, idx: usize) -> rusqlite::Result<PgType> {
    let name: String = ctx.get(idx)?;
    if name == PgType::Unknown.name() {
        return Ok(PgType::Unknown);
    }
    PgType::from_sql_name(&name)
        .ok_or_else(|| to_sqlite(Error::internal(format!("unknown type {name}"))))
}

/// The text of argument `idx`, None for NULL.
fn text_arg(ctx: &Context<'_>, idx: usize) -> Option<String> {
    match ctx.get_raw(idx) {
        ValueRef::Null => None,
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
    }
}

/// `extract`/`date_part` of `value` of type `ty`.
/// The value's type: as the translator knew it, or read off the value.
fn concrete(ty: PgType, value: &str) -> PgType {
    match ty {
        PgType::Unknown => datetime_math::sniff(value),
        known => known,
    }
}

fn part(unit: &str, value: &str, ty: PgType, for_extract: bool) -> Result<Part, Error> {
    match concrete(ty, value) {
        PgType::Interval => date_part::interval_part(unit, Interval::parse(value)?),
        PgType::Time => date_part::time_part(unit, datetime::parse_time(value)?),
        // `date_part(text, date)` does not exist: the date becomes a timestamp.
        PgType::Date if for_extract => date_part::date_extract(unit, datetime::parse_date(value)?),
        PgType::Timestamp | PgType::Date => {
            date_part::timestamp_part(unit, datetime::parse_timestamp(value)?, PgType::Timestamp)
        }
        _ => date_part::timestamp_part(
            unit,
            datetime::parse_timestamptz(value)?.naive_utc(),
            PgType::Timestamptz,
        ),
    }
}

fn truncate(unit: &str, value: &str, ty: PgType) -> Result<String, Error> {
    Ok(match concrete(ty, value) {
        PgType::Interval => {
            date_part::truncate_interval(unit, Interval::parse(value)?)?.to_string()
        }
        PgType::Timestamp => datetime::format_timestamp(date_part::truncate_timestamp(
            unit,
            datetime::parse_timestamp(value)?,
            PgType::Timestamp,
        )?),
        _ => datetime::format_timestamptz(
            date_part::truncate_timestamp(
                unit,
                datetime::parse_timestamptz(value)?.naive_utc(),
                PgType::Timestamptz,
            )?
            .and_utc(),
        ),
    })
}

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_collation("lw_interval", interval::compare_text)?;
    conn.create_scalar_function("lw_dt_op", 5, PURE, |ctx| {
        let symbol: String = ctx.get(0)?;
        let op = Op::from_symbol(&symbol)
            .ok_or_else(|| to_sqlite(Error::internal(format!("operator {symbol}"))))?;
        datetime_math::apply(
            op,
            type_arg(ctx, 2)?,
            ctx.get_raw(1),
            type_arg(ctx, 4)?,
            ctx.get_raw(3),
        )
        .map_err(to_sqlite)
    })?;
    conn.create_scalar_function("lw_interval_cmp", 2, PURE, |ctx| {
        match (text_arg(ctx, 0), text_arg(ctx, 1)) {
            (Some(a), Some(b)) => {
                let (a, b) = (
                    Interval::parse(&a).map_err(to_sqlite)?,
                    Interval::parse(&b).map_err(to_sqlite)?,
                );
                Ok(Some(a.cmp(&b) as i64))
            }
            _ => Ok(None),
        }
    })?;
    for (name, for_extract) in [("lw_extract", true), ("lw_date_part", false)] {
        conn.create_scalar_function(name, 3, PURE, move |ctx| {
            let ty = type_arg(ctx, 2)?;
            let (Some(unit), Some(value)) = (text_arg(ctx, 0), text_arg(ctx, 1)) else {
                return Ok(Value::Null);
            };
            let p = part(&unit, &value, ty, for_extract).map_err(to_sqlite)?;
            Ok(if for_extract {
                Value::Text(p.numeric)
            } else {
                Value::Real(p.float)
            })
        })?;
    }
    conn.create_scalar_function("lw_date_trunc", 3, PURE, |ctx| {
        let ty = type_arg(ctx, 2)?;
        match (text_arg(ctx, 0), text_arg(ctx, 1)) {
            (Some(unit), Some(value)) => truncate(&unit, &value, ty).map(Some).map_err(to_sqlite),
            _ => Ok(None),
        }
    })?;
    conn.create_scalar_function("lw_age", 2, PURE, |ctx| {
        match (text_arg(ctx, 0), text_arg(ctx, 1)) {
            (Some(a), Some(b)) => {
                let a = datetime::parse_timestamp(&a).map_err(to_sqlite)?;
                let b = datetime::parse_timestamp(&b).map_err(to_sqlite)?;
                Ok(Some(
                    datetime_math::age(a, b).map_err(to_sqlite)?.to_string(),
                ))
            }
            _ => Ok(None),
        }
    })?;
    conn.create_scalar_function("lw_at_time_zone", 3, PURE, |ctx| {
        let source = type_arg(ctx, 1)?;
        match (text_arg(ctx, 0), text_arg(ctx, 2)) {
            (Some(value), Some(zone)) => {
                datetime_math::at_time_zone(source, &value, &zone).map_err(to_sqlite)
            }
            _ => Ok(Value::Null),
        }
    })?;
    for (name, justify) in [
        (
            "justify_hours",
            Interval::justify_hours as fn(Interval) -> Interval,
        ),
        ("justify_days", Interval::justify_days),
        ("justify_interval", Interval::justify_interval),
    ] {
        conn.create_scalar_function(name, 1, PURE, move |ctx| {
            text_arg(ctx, 0)
                .map(|t| Interval::parse(&t).map(|iv| justify(iv).to_string()))
                .transpose()
                .map_err(to_sqlite)
        })?;
    }
    conn.create_scalar_function("lw_make_interval", 7, PURE, |ctx| {
        make_interval(ctx).map_err(to_sqlite)
    })?;
    conn.create_aggregate_function("lw_interval_sum", 1, PURE, IntervalSum { average: false })?;
    conn.create_aggregate_function("lw_interval_avg", 1, PURE, IntervalSum { average: true })?;
    conn.create_scalar_function("lw_to_char", 3, PURE, |ctx| {
        let ty = type_arg(ctx, 2)?;
        let (Some(value), Some(template)) = (text_arg(ctx, 0), text_arg(ctx, 1)) else {
            return Ok(None);
        };
        let fields = match concrete(ty, &value) {
            PgType::Interval => Fields::of_interval(Interval::parse(&value).map_err(to_sqlite)?),
            PgType::Timestamp => {
                Fields::of_timestamp(datetime::parse_timestamp(&value).map_err(to_sqlite)?, false)
            }
            _ => Fields::of_timestamp(
                datetime::parse_timestamptz(&value)
                    .map_err(to_sqlite)?
                    .naive_utc(),
                true,
            ),
        };
        Ok(Some(to_char::format(&fields, &template)))
    })?;
    // The wall clock now, unlike `now()` (the transaction's start).
    conn.create_scalar_function("lw_clock_timestamp", 0, FunctionFlags::SQLITE_UTF8, |_| {
        Ok(datetime::format_timestamptz(chrono::Utc::now()))
    })?;
    // to_timestamp(seconds since 1970): rounded to microseconds.
    conn.create_scalar_function("lw_to_timestamp", 1, PURE, |ctx| {
        let Some(seconds) = number_arg(ctx, 0).map_err(to_sqlite)? else {
            return Ok(None);
        };
        let micros = (seconds * 1e6).round_ties_even();
        chrono::DateTime::from_timestamp_micros(micros as i64)
            .filter(|_| micros.is_finite() && micros.abs() < i64::MAX as f64)
            .map(|ts| Some(datetime::format_timestamptz(ts)))
            .ok_or_else(|| {
                to_sqlite(Error::new(
                    crate::error::SqlState::DatetimeFieldOverflow,
                    "timestamp out of range",
                ))
            })
    })?;
    conn.create_scalar_function("make_date", 3, PURE, |ctx| {
        let (y, m, d): (Option<i64>, Option<i64>, Option<i64>) =
            (ctx.get(0)?, ctx.get(1)?, ctx.get(2)?);
        let (Some(y), Some(m), Some(d)) = (y, m, d) else {
            return Ok(None);
        };
        let date = i32::try_from(y)
            .ok()
            .and_then(|y| chrono::NaiveDate::from_ymd_opt(y, m as u32, d as u32))
            .ok_or_else(|| {
                to_sqlite(Error::new(
                    crate::error::SqlState::DatetimeFieldOverflow,
                    format!("date field value out of range: {y}-{m:02}-{d:02}"),
                ))
            })?;
        Ok(Some(datetime::format_date(date)))
    })?;
    Ok(())
}

/// A number argument of any storage (numeric arrives as exact text).
fn number_arg(ctx: &Context<'_>, idx: usize) -> Result<Option<f64>, Error> {
    Ok(match ctx.get_raw(idx) {
        ValueRef::Null => None,
        ValueRef::Integer(v) => Some(v as f64),
        ValueRef::Real(v) => Some(v),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            let text = String::from_utf8_lossy(t);
            Some(
                text.trim()
                    .parse()
                    .map_err(|_| crate::types::numeric::invalid(&text))?,
            )
        }
    })
}

/// `make_interval(years, months, weeks, days, hours, mins, secs)`; NULL if any
/// part is NULL, as the function is strict.
fn make_interval(ctx: &Context<'_>) -> Result<Option<String>, Error> {
    let mut parts = [0f64; 7];
    for (i, slot) in parts.iter_mut().enumerate() {
        match number_arg(ctx, i)? {
            Some(v) => *slot = v,
            None => return Ok(None),
        }
    }
    let secs = parts[6];
    let ints = parts.map(|p| p.round_ties_even() as i64);
    let [years, months, weeks, days, hours, mins, _] = ints;
    let micros = ((hours * 60 + mins) * 60) as f64 * 1e6 + (secs * 1e6).round_ties_even();
    let iv = Interval {
        months: i32::try_from(years * 12 + months).map_err(|_| interval::out_of_range())?,
        days: i32::try_from(weeks * 7 + days).map_err(|_| interval::out_of_range())?,
        micros: if micros.is_finite() && micros.abs() < i64::MAX as f64 {
            micros as i64
        } else {
            return Err(interval::out_of_range());
        },
    };
    Ok(Some(iv.to_string()))
}

/// `sum`/`avg` over intervals: parts added separately; the average divides
/// the sum as `interval / count` does.
struct IntervalSum {
    average: bool,
}

impl Aggregate<(Interval, i64), Option<String>> for IntervalSum {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<(Interval, i64)> {
        Ok((Interval::default(), 0))
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut (Interval, i64)) -> rusqlite::Result<()> {
        if let Some(text) = text_arg(ctx, 0) {
            let iv = Interval::parse(&text).map_err(to_sqlite)?;
            acc.0 = acc.0.checked_add(iv).map_err(to_sqlite)?;
            acc.1 += 1;
        }
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<(Interval, i64)>,
    ) -> rusqlite::Result<Option<String>> {
        match acc {
            Some((sum, n)) if n > 0 => Ok(Some(if self.average {
                sum.checked_div(n as f64).map_err(to_sqlite)?.to_string()
            } else {
                sum.to_string()
            })),
            _ => Ok(None),
        }
    }
}
