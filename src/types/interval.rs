//! `interval`: months, days and microseconds kept apart, as Postgres does, because
//! a month and a day have no fixed length (`'2024-01-31' + '1 mon'` clamps to the
//! end of February; a day across a DST change is not 24 hours). Stored in SQLite as
//! Postgres's text output (`1 year 2 mons 3 days 04:05:06`), which is also what
//! clients receive; comparisons go through [`Interval::cmp_key`] (the
//! `lw_interval` collation and `lw_interval_cmp`), since that text does not sort.

use std::cmp::Ordering;
use std::fmt;

use crate::error::{Error, SqlState};

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Postgres counts a month as 30 days when it must compare or scale months.
const DAYS_PER_MONTH: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

pub fn invalid(text: &str) -> Error {
    Error::new(
        SqlState::InvalidDatetimeFormat,
        format!("invalid input syntax for type interval: \"{text}\""),
    )
}

pub fn out_of_range() -> Error {
    Error::new(SqlState::DatetimeFieldOverflow, "interval out of range")
}

/// Rounds to whole microseconds the way Postgres's `rint` does (ties to even).
fn rint(f: f64) -> i64 {
    f.round_ties_even() as i64
}

impl Interval {
    pub fn from_micros(micros: i64) -> Self {
        Interval {
            micros,
            ..Default::default()
        }
    }

    /// A total order consistent with Postgres's interval comparison, which takes
    /// a month as 30 days and a day as 24 hours (`'1 mon' = '30 days'`).
    pub fn cmp_key(self) -> i128 {
        (self.months as i128 * DAYS_PER_MONTH as i128 + self.days as i128) * USECS_PER_DAY as i128
            + self.micros as i128
    }

    pub fn checked_add(self, other: Interval) -> Result<Interval, Error> {
        Ok(Interval {
            months: self
                .months
                .checked_add(other.months)
                .ok_or_else(out_of_range)?,
            days: self.days.checked_add(other.days).ok_or_else(out_of_range)?,
            micros: self
                .micros
                .checked_add(other.micros)
                .ok_or_else(out_of_range)?,
        })
    }

    pub fn checked_neg(self) -> Result<Interval, Error> {
        Ok(Interval {
            months: self.months.checked_neg().ok_or_else(out_of_range)?,
            days: self.days.checked_neg().ok_or_else(out_of_range)?,
            micros: self.micros.checked_neg().ok_or_else(out_of_range)?,
        })
    }

    /// `interval * factor` (Postgres's `interval_mul`): fractional months spill
    /// into days (30 per month) and fractional days into time.
    pub fn checked_mul(self, factor: f64) -> Result<Interval, Error> {
        self.scale(|x| x * factor)
    }

    /// `interval / divisor`, computed by dividing each part (not multiplying by
    /// the reciprocal) so the float rounding matches Postgres's `interval_div`.
    pub fn checked_div(self, divisor: f64) -> Result<Interval, Error> {
        if divisor == 0.0 {
            return Err(Error::new(SqlState::DivisionByZero, "division by zero"));
        }
        self.scale(|x| x / divisor)
    }

    fn scale(self, apply: impl Fn(f64) -> f64) -> Result<Interval, Error> {
        let ts_round = |f: f64| (f * 1e6).round_ties_even() / 1e6;
        let months_f = apply(self.months as f64);
        let days_f = apply(self.days as f64);
        if !months_f.is_finite()
            || months_f.abs() > i32::MAX as f64
            || days_f.abs() > i32::MAX as f64
        {
            return Err(out_of_range());
        }
        let months = months_f as i32;
        let mut days = days_f as i32;
        let month_remainder_days = ts_round((months_f - months as f64) * DAYS_PER_MONTH as f64);
        let mut sec_remainder = ts_round(
            (days_f - days as f64 + month_remainder_days - month_remainder_days.trunc())
                * (USECS_PER_DAY / USECS_PER_SEC) as f64,
        );
        let secs_per_day = (USECS_PER_DAY / USECS_PER_SEC) as f64;
        if sec_remainder.abs() >= secs_per_day {
            let whole = (sec_remainder / secs_per_day).trunc();
            days += whole as i32;
            sec_remainder -= whole * secs_per_day;
        }
        days += month_remainder_days as i32;
        let micros_f = apply(self.micros as f64) + sec_remainder * USECS_PER_SEC as f64;
        if !micros_f.is_finite() || micros_f.abs() > i64::MAX as f64 {
            return Err(out_of_range());
        }
        Ok(Interval {
            months,
            days,
            micros: rint(micros_f),
        })
    }

    /// Whole days out of the time part (`justify_hours`), keeping both signs
    /// alike; Postgres applies it to `timestamp - timestamp`.
    pub fn justify_hours(self) -> Interval {
        let mut days = self.days as i64 + self.micros / USECS_PER_DAY;
        let mut micros = self.micros % USECS_PER_DAY;
        let sign = micros.signum();
        align_signs(&mut days, &mut micros, USECS_PER_DAY, sign);
        Interval::from_parts(self.months as i64, days, micros)
    }

    /// Whole months out of the days (30 each), `justify_days`.
    pub fn justify_days(self) -> Interval {
        let mut months = self.months as i64 + self.days as i64 / DAYS_PER_MONTH;
        let mut days = self.days as i64 % DAYS_PER_MONTH;
        let sign = days.signum();
        align_signs(&mut months, &mut days, DAYS_PER_MONTH, sign);
        Interval::from_parts(months, days, self.micros)
    }

    /// Both justifications, with every part given the sign of the whole
    /// (`justify_interval('1 mon -1 hour')` = `29 days 23:00:00`).
    pub fn justify_interval(self) -> Interval {
        let days = self.days as i64 + self.micros / USECS_PER_DAY;
        let mut micros = self.micros % USECS_PER_DAY;
        let mut months = self.months as i64 + days / DAYS_PER_MONTH;
        let mut days = days % DAYS_PER_MONTH;
        let below_months = if days != 0 {
            days.signum()
        } else {
            micros.signum()
        };
        align_signs(&mut months, &mut days, DAYS_PER_MONTH, below_months);
        let sign = micros.signum();
        align_signs(&mut days, &mut micros, USECS_PER_DAY, sign);
        Interval::from_parts(months, days, micros)
    }

    /// Justified parts always fit back: they only shrink.
    fn from_parts(months: i64, days: i64, micros: i64) -> Interval {
        Interval {
            months: months as i32,
            days: days as i32,
            micros,
        }
    }

    /// The broken-down fields Postgres's `interval2itm` gives: years, months,
    /// days, hours, minutes, seconds, microseconds, each carrying the sign.
    pub fn fields(self) -> IntervalFields {
        let hours = self.micros / USECS_PER_HOUR;
        let rest = self.micros % USECS_PER_HOUR;
        IntervalFields {
            years: self.months / 12,
            months: self.months % 12,
            days: self.days,
            hours,
            minutes: rest / USECS_PER_MINUTE,
            seconds: (rest % USECS_PER_MINUTE) / USECS_PER_SEC,
            micros: rest % USECS_PER_SEC,
        }
    }

    /// Seconds in the interval as `extract(epoch ...)` counts them: a year is
    /// 365.25 days and a month 30, returned in microseconds.
    pub fn epoch_micros(self) -> i128 {
        let years = (self.months / 12) as i128;
        let months = (self.months % 12) as i128;
        // 365.25 days a year, exact in quarter days.
        let quarter_days =
            1461 * years + 4 * DAYS_PER_MONTH as i128 * months + 4 * self.days as i128;
        quarter_days * (USECS_PER_DAY as i128 / 4) + self.micros as i128
    }

    /// Parses Postgres interval input: `1 year 2 mons 3 days 04:05:06`, `1.5 hours`,
    /// `-1 days +02:00:00`, `@ 1 day ago`, a bare number (seconds), and ISO 8601
    /// `P1Y2M3DT4H5M6S`.
    pub fn parse(text: &str) -> Result<Interval, Error> {
        let trimmed = text.trim();
        match trimmed.strip_prefix(['P', 'p']) {
            Some(iso) if !iso.is_empty() => parse_iso(iso).ok_or_else(|| invalid(text)),
            _ => parse_postgres(trimmed)?.ok_or_else(|| invalid(text)),
        }
    }
}

/// Moves one `span` from `high` into `low` (whose sign is `low_sign`) when
/// their signs differ, so that `1 day -01:00:00` becomes `23:00:00`.
fn align_signs(high: &mut i64, low: &mut i64, span: i64, low_sign: i64) {
    if *high > 0 && low_sign < 0 {
        *low += span;
        *high -= 1;
    } else if *high < 0 && low_sign > 0 {
        *low -= span;
        *high += 1;
    }
}

/// Compares two interval texts by value (the `lw_interval` collation). Text that
/// is not an interval sorts after intervals, by bytes, so the order is total.
pub fn compare_text(a: &str, b: &str) -> Ordering {
    match (Interval::parse(a), Interval::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// The parts of an interval as Postgres breaks it down for output and `extract`.
#[derive(Debug, Clone, Copy)]
pub struct IntervalFields {
    pub years: i32,
    pub months: i32,
    pub days: i32,
    pub hours: i64,
    pub minutes: i64,
    pub seconds: i64,
    pub micros: i64,
}

impl PartialOrd for Interval {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Interval {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_key().cmp(&other.cmp_key())
    }
}

/// Accumulates fields while parsing, in floating point for the fractions that
/// spill into smaller units (`1.5 days` = 1 day 12:00:00).
#[derive(Default)]
struct Accumulator {
    months: i64,
    days: i64,
    micros: f64,
    /// The fields given so far, one bit each: Postgres refuses a field twice
    /// (`1 day 1 day`, `1 hour 02:00`).
    seen: u16,
}

const HOUR_BIT: u16 = 1 << 4;
const MINUTE_BIT: u16 = 1 << 3;
const SECOND_BIT: u16 = 1 << 2;

impl Accumulator {
    fn add_days(&mut self, days: f64) {
        let whole = days.trunc();
        self.days += whole as i64;
        self.micros += (days - whole) * USECS_PER_DAY as f64;
    }

    fn add_months(&mut self, months: f64) {
        let whole = months.trunc();
        self.months += whole as i64;
        self.add_days((months - whole) * DAYS_PER_MONTH as f64);
    }

    /// Years: a fraction becomes whole months (rounded), nothing smaller.
    fn add_years(&mut self, years: f64) {
        let whole = years.trunc();
        self.months += whole as i64 * 12 + ((years - whole) * 12.0).round_ties_even() as i64;
    }

    /// Marks `bits` as given; None if one already was.
    fn mark(&mut self, bits: u16) -> Option<()> {
        if self.seen & bits != 0 {
            return None;
        }
        self.seen |= bits;
        Some(())
    }

    fn add_unit(&mut self, value: f64, unit: &str) -> Option<()> {
        let micros = |scale: i64| value * scale as f64;
        let bit = match unit {
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "useconds" => 1,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "mseconds" => 1 << 1,
            "" | "second" | "seconds" | "s" | "sec" | "secs" => SECOND_BIT,
            "minute" | "minutes" | "m" | "min" | "mins" => MINUTE_BIT,
            "hour" | "hours" | "h" | "hr" | "hrs" => HOUR_BIT,
            "day" | "days" | "d" => 1 << 5,
            "week" | "weeks" | "w" => 1 << 6,
            "month" | "months" | "mon" | "mons" => 1 << 7,
            "year" | "years" | "y" | "yr" | "yrs" => 1 << 8,
            "decade" | "decades" | "dec" | "decs" => 1 << 9,
            "century" | "centuries" | "c" | "cent" => 1 << 10,
            "millennium" | "millennia" | "mil" | "mils" => 1 << 11,
            _ => return None,
        };
        self.mark(bit)?;
        match unit {
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "useconds" => {
                self.micros += value
            }
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "mseconds" => {
                self.micros += micros(1000)
            }
            "" | "second" | "seconds" | "s" | "sec" | "secs" => {
                self.micros += micros(USECS_PER_SEC)
            }
            "minute" | "minutes" | "m" | "min" | "mins" => self.micros += micros(USECS_PER_MINUTE),
            "hour" | "hours" | "h" | "hr" | "hrs" => self.micros += micros(USECS_PER_HOUR),
            "day" | "days" | "d" => self.add_days(value),
            "week" | "weeks" | "w" => self.add_days(value * 7.0),
            "month" | "months" | "mon" | "mons" => self.add_months(value),
            "year" | "years" | "y" | "yr" | "yrs" => self.add_years(value),
            "decade" | "decades" | "dec" | "decs" => self.add_years(value * 10.0),
            "century" | "centuries" | "c" | "cent" => self.add_years(value * 100.0),
            "millennium" | "millennia" | "mil" | "mils" => self.add_years(value * 1000.0),
            _ => return None,
        }
        Some(())
    }

    fn finish(self, negate: bool) -> Option<Interval> {
        let sign = if negate { -1 } else { 1 };
        let micros = rint(self.micros);
        Some(Interval {
            months: i32::try_from(self.months * sign).ok()?,
            days: i32::try_from(self.days * sign).ok()?,
            micros: micros.checked_mul(sign)?,
        })
    }
}

/// `[+-]h:mm[:ss[.frac]]` as microseconds: None if it is not a clock, an error
/// (22015, as Postgres) if minutes or seconds overflow.
fn parse_clock(token: &str, text: &str) -> Result<Option<i64>, Error> {
    let (negative, body) = match token.as_bytes().first() {
        Some(b'-') => (true, &token[1..]),
        Some(b'+') => (false, &token[1..]),
        _ => (false, token),
    };
    let mut parts = body.split(':');
    let number = |p: Option<&str>| p.and_then(|p| p.parse::<i64>().ok());
    let (Some(hours), Some(minutes)) = (number(parts.next()), number(parts.next())) else {
        return Ok(None);
    };
    let seconds: f64 = match parts.next() {
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            match s.parse() {
                Ok(v) => v,
                Err(_) => return Ok(None),
            }
        }
        Some(_) => return Ok(None),
        None => 0.0,
    };
    if parts.next().is_some() {
        return Ok(None);
    }
    if minutes > 59 || seconds >= 60.0 {
        return Err(Error::new(
            SqlState::IntervalFieldOverflow,
            format!("interval field value out of range: \"{text}\""),
        ));
    }
    let micros = hours
        .checked_mul(USECS_PER_HOUR)
        .and_then(|h| h.checked_add(minutes * USECS_PER_MINUTE + rint(seconds * 1e6)))
        .ok_or_else(out_of_range)?;
    Ok(Some(if negative { -micros } else { micros }))
}

/// Splits `1.5hours` into the number and the unit.
fn split_number(token: &str) -> Option<(f64, &str)> {
    let end = token
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map_or(token.len(), |(i, _)| i);
    let number = &token[..end];
    if number.is_empty() || number == "-" || number == "+" {
        return None;
    }
    Some((number.parse().ok()?, &token[end..]))
}

/// Postgres's own syntax; Ok(None) when the text is not an interval.
fn parse_postgres(text: &str) -> Result<Option<Interval>, Error> {
    // Python's `str(timedelta)` writes `1 day, 2:00:00`; Postgres reads it.
    let lower = text.to_ascii_lowercase().replace(',', " ");
    let mut tokens: Vec<&str> = lower.split_whitespace().collect();
    if tokens.first() == Some(&"@") {
        tokens.remove(0);
    }
    let negate = tokens.last() == Some(&"ago");
    if negate {
        tokens.pop();
    }
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut acc = Accumulator::default();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        i += 1;
        if token.contains(':') {
            let Some(micros) = parse_clock(token, text)? else {
                return Ok(None);
            };
            if acc.mark(HOUR_BIT | MINUTE_BIT | SECOND_BIT).is_none() {
                return Ok(None);
            }
            acc.micros += micros as f64;
            continue;
        }
        // `1h30m` holds several number-unit pairs.
        let mut rest = token;
        while !rest.is_empty() {
            let Some((value, after)) = split_number(rest) else {
                return Ok(None);
            };
            let unit_end = after
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(after.len());
            let mut unit = &after[..unit_end];
            rest = &after[unit_end..];
            if unit.is_empty()
                && rest.is_empty()
                && i < tokens.len()
                && tokens[i].starts_with(char::is_alphabetic)
            {
                unit = tokens[i];
                i += 1;
            }
            if acc.add_unit(value, unit).is_none() {
                return Ok(None);
            }
        }
    }
    Ok(acc.finish(negate))
}

/// ISO 8601 durations: `P[nY][nM][nW][nD][T[nH][nM][nS]]`, the part after `P`.
fn parse_iso(text: &str) -> Option<Interval> {
    let upper = text.to_ascii_uppercase();
    let mut acc = Accumulator::default();
    let mut in_time = false;
    let mut rest = upper.as_str();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('T') {
            in_time = true;
            rest = after;
            continue;
        }
        let end = rest.find(|c: char| c.is_ascii_alphabetic())?;
        let value: f64 = rest[..end].parse().ok()?;
        let unit = match (&rest[end..=end], in_time) {
            ("Y", false) => "year",
            ("M", false) => "month",
            ("W", false) => "week",
            ("D", false) => "day",
            ("H", true) => "hour",
            ("M", true) => "minute",
            ("S", true) => "second",
            _ => return None,
        };
        acc.add_unit(value, unit)?;
        rest = &rest[end + 1..];
    }
    acc.finish(false)
}

/// Postgres's output (`IntervalStyle = postgres`): `1 year 2 mons -3 days +04:05:06`.
/// After a negative field, positive ones carry an explicit `+`.
impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields = self.fields();
        let mut out = String::new();
        let mut is_before = false;
        for (value, unit) in [
            (fields.years, "year"),
            (fields.months, "mon"),
            (fields.days, "day"),
        ] {
            if value != 0 {
                let sep = if out.is_empty() { "" } else { " " };
                let plus = if is_before && value > 0 { "+" } else { "" };
                let plural = if value != 1 { "s" } else { "" };
                out.push_str(&format!("{sep}{plus}{value} {unit}{plural}"));
                is_before = value < 0;
            }
        }
        if out.is_empty() || self.micros != 0 {
            let sep = if out.is_empty() { "" } else { " " };
            let sign = if self.micros < 0 {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            };
            out.push_str(&format!(
                "{sep}{sign}{:02}:{:02}:{:02}",
                fields.hours.abs(),
                fields.minutes.abs(),
                fields.seconds.abs()
            ));
            if fields.micros != 0 {
                let frac = format!("{:06}", fields.micros.abs());
                out.push('.');
                out.push_str(frac.trim_end_matches('0'));
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(text: &str) -> String {
        Interval::parse(text).unwrap().to_string()
    }

    #[test]
    fn input_and_output_match_postgres() {
        for (input, output) in [
            ("1 day", "1 day"),
            ("2 hours", "02:00:00"),
            (
                "1 year 2 mons 3 days 04:05:06",
                "1 year 2 mons 3 days 04:05:06",
            ),
            ("1.5 hours", "01:30:00"),
            ("-1 second", "-00:00:01"),
            ("0", "00:00:00"),
            ("1.5 years", "1 year 6 mons"),
            ("1.7 months", "1 mon 21 days"),
            ("1.5 weeks", "10 days 12:00:00"),
            ("-1 days 2 hours", "-1 days +02:00:00"),
            ("1 day ago", "-1 days"),
            ("1:30", "01:30:00"),
            ("P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"),
            ("@ 2 hours", "02:00:00"),
            ("1 year -1 mons", "11 mons"),
            ("-1 mons +1 day", "-1 mons +1 day"),
            ("1 day -1 second", "1 day -00:00:01"),
            ("100 hours", "100:00:00"),
            ("1d", "1 day"),
            ("1.5 ms", "00:00:00.0015"),
        ] {
            assert_eq!(round(input), output, "{input}");
            assert_eq!(round(output), output, "{output} re-parses");
        }
        assert!(Interval::parse("x").is_err());
        assert!(Interval::parse("").is_err());
        assert!(Interval::parse("1 fortnight").is_err());
        assert!(Interval::parse("1 day 1 day").is_err());
        assert!(Interval::parse("3 4").is_err());
        assert_eq!(round("1 day, 2:00:00"), "1 day 02:00:00");
        assert_eq!(round("1h30m"), "01:30:00");
        assert_eq!(
            round("0 years 0 mons 1 days 2 hours 3 mins 4.5 secs"),
            "1 day 02:03:04.5"
        );
        let overflow = Interval::parse("25:61:00").unwrap_err();
        assert_eq!(overflow.state, SqlState::IntervalFieldOverflow);
    }

    #[test]
    fn multiplication_spills_like_postgres() {
        let day = Interval::parse("1 day").unwrap();
        assert_eq!(day.checked_mul(1.5).unwrap().to_string(), "1 day 12:00:00");
        let month = Interval::parse("1 mon").unwrap();
        assert_eq!(
            month.checked_div(7.0).unwrap().to_string(),
            "4 days 06:51:25.6896"
        );
        let justify =
            |t: &str, f: fn(Interval) -> Interval| f(Interval::parse(t).unwrap()).to_string();
        assert_eq!(
            justify("50 hours", Interval::justify_hours),
            "2 days 02:00:00"
        );
        assert_eq!(justify("35 days", Interval::justify_days), "1 mon 5 days");
        assert_eq!(
            justify("1 mon -1 hour", Interval::justify_interval),
            "29 days 23:00:00"
        );
        assert_eq!(
            justify("-1 mon 50 hours", Interval::justify_interval),
            "-27 days -22:00:00"
        );
        let hour = Interval::parse("1 hour").unwrap();
        assert_eq!(hour.checked_mul(2.3333).unwrap().to_string(), "02:19:59.88");
    }
}
