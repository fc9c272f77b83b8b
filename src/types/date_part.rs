//! `extract`, `date_part` and `date_trunc`, field by field as Postgres 15 computes
//! them. `extract` returns `numeric` with Postgres's scales (`second` keeps six
//! decimals, `epoch` too), `date_part` the same value as `double precision`.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

use super::PgType;
use super::interval::{Interval, USECS_PER_DAY};
use crate::error::{Error, SqlState};

/// A field as both results: exact decimal text (`extract`) and float (`date_part`).
pub struct Part {
    pub numeric: String,
    pub float: f64,
}

impl Part {
    fn int(value: i64) -> Part {
        Part {
            numeric: value.to_string(),
            float: value as f64,
        }
    }

    /// `value / 10^scale`, printed with exactly `scale` decimals.
    fn scaled(value: i128, scale: u32, float: f64) -> Part {
        let divisor = 10i128.pow(scale);
        let sign = if value < 0 { "-" } else { "" };
        let (whole, frac) = (value.abs() / divisor, value.abs() % divisor);
        let numeric = if scale == 0 {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{frac:0width$}", width = scale as usize)
        };
        Part { numeric, float }
    }
}

/// The units Postgres accepts, by their canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Microseconds,
    Milliseconds,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
    Epoch,
    Dow,
    Isodow,
    Doy,
    Isoyear,
    Julian,
    Timezone,
    TimezoneHour,
    TimezoneMinute,
}

fn unit(name: &str) -> Option<Unit> {
    use Unit::*;
    Some(match name {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "useconds" => Microseconds,
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "mseconds" => Milliseconds,
        "second" | "seconds" | "s" | "sec" | "secs" => Second,
        "minute" | "minutes" | "m" | "min" | "mins" => Minute,
        "hour" | "hours" | "h" | "hr" | "hrs" => Hour,
        "day" | "days" | "d" => Day,
        "week" | "weeks" | "w" => Week,
        "month" | "months" | "mon" | "mons" => Month,
        "quarter" | "qtr" => Quarter,
        "year" | "years" | "y" | "yr" | "yrs" => Year,
        "decade" | "decades" | "dec" | "decs" => Decade,
        "century" | "centuries" | "c" | "cent" => Century,
        "millennium" | "millennia" | "mil" | "mils" => Millennium,
        "epoch" => Epoch,
        "dow" => Dow,
        "isodow" => Isodow,
        "doy" => Doy,
        "isoyear" => Isoyear,
        "julian" | "j" => Julian,
        "timezone" => Timezone,
        "timezone_h" | "timezone_hour" => TimezoneHour,
        "timezone_m" | "timezone_minute" => TimezoneMinute,
        _ => return None,
    })
}

fn parse_unit(name: &str, ty: PgType) -> Result<(Unit, String), Error> {
    let lower = name.trim().to_ascii_lowercase();
    match unit(&lower) {
        Some(u) => Ok((u, lower)),
        None => Err(Error::new(
            SqlState::InvalidParameterValue,
            format!("unit \"{lower}\" not recognized for type {}", ty.name()),
        )),
    }
}

fn not_supported(unit: &str, ty: PgType) -> Error {
    Error::new(
        SqlState::FeatureNotSupported,
        format!("unit \"{unit}\" not supported for type {}", ty.name()),
    )
}

/// Julian day number, Postgres's `date2j`.
fn julian_day(d: NaiveDate) -> i64 {
    d.num_days_from_ce() as i64 + 1_721_425
}

fn decade(year: i64) -> i64 {
    if year >= 0 {
        year / 10
    } else {
        -((8 - (year - 1)) / 10)
    }
}

fn century(year: i64) -> i64 {
    if year > 0 {
        (year + 99) / 100
    } else {
        -((99 - (year - 1)) / 100)
    }
}

fn millennium(year: i64) -> i64 {
    if year > 0 {
        (year + 999) / 1000
    } else {
        -((999 - (year - 1)) / 1000)
    }
}

/// Fields every date has, shared by `date` and `timestamp` sources.
fn date_field(u: Unit, d: NaiveDate) -> Option<i64> {
    let year = d.year() as i64;
    Some(match u {
        Unit::Day => d.day() as i64,
        Unit::Month => d.month() as i64,
        Unit::Quarter => (d.month() as i64 - 1) / 3 + 1,
        Unit::Year => year,
        Unit::Decade => decade(year),
        Unit::Century => century(year),
        Unit::Millennium => millennium(year),
        Unit::Week => d.iso_week().week() as i64,
        Unit::Isoyear => d.iso_week().year() as i64,
        Unit::Dow => d.weekday().num_days_from_sunday() as i64,
        Unit::Isodow => d.weekday().number_from_monday() as i64,
        Unit::Doy => d.ordinal() as i64,
        _ => return None,
    })
}

/// `extract`/`date_part` of a timestamp; `ty` is its type (for messages and
/// the zone fields, which only `timestamptz` has: always 0 in a UTC session).
pub fn timestamp_part(name: &str, ts: NaiveDateTime, ty: PgType) -> Result<Part, Error> {
    let (u, lower) = parse_unit(name, ty)?;
    if let Some(v) = date_field(u, ts.date()) {
        return Ok(Part::int(v));
    }
    let sec_micros = ts.second() as i64 * 1_000_000 + (ts.nanosecond() / 1000) as i64;
    let (sec, frac) = (ts.second() as f64, (ts.nanosecond() / 1000) as f64);
    Ok(match u {
        Unit::Hour => Part::int(ts.hour() as i64),
        Unit::Minute => Part::int(ts.minute() as i64),
        Unit::Second => Part::scaled(sec_micros as i128, 6, sec + frac / 1e6),
        Unit::Milliseconds => Part::scaled(sec_micros as i128, 3, sec * 1000.0 + frac / 1000.0),
        Unit::Microseconds => Part::int(sec_micros),
        Unit::Epoch => {
            let micros = (ts - chrono::DateTime::UNIX_EPOCH.naive_utc())
                .num_microseconds()
                .unwrap_or(i64::MAX);
            Part::scaled(micros as i128, 6, micros as f64 / 1e6)
        }
        Unit::Julian => {
            let day = julian_day(ts.date());
            let of_day = (ts.time() - chrono::NaiveTime::MIN)
                .num_microseconds()
                .unwrap_or(0);
            let fraction = super::numeric::divide(of_day.into(), USECS_PER_DAY.into())?;
            let exact = rust_decimal::Decimal::from(day) + fraction;
            let seconds = (ts.num_seconds_from_midnight() as f64) + frac / 1e6;
            Part {
                numeric: exact.to_string(),
                float: day as f64 + seconds / 86400.0,
            }
        }
        Unit::Timezone | Unit::TimezoneHour | Unit::TimezoneMinute if ty == PgType::Timestamptz => {
            Part::int(0)
        }
        _ => return Err(not_supported(&lower, ty)),
    })
}

/// `extract(field from date)`: whole numbers; time-of-day fields are refused.
pub fn date_extract(name: &str, d: NaiveDate) -> Result<Part, Error> {
    let (u, lower) = parse_unit(name, PgType::Date)?;
    if let Some(v) = date_field(u, d) {
        return Ok(Part::int(v));
    }
    match u {
        Unit::Julian => Ok(Part::int(julian_day(d))),
        Unit::Epoch => {
            let days = (d - chrono::DateTime::UNIX_EPOCH.date_naive()).num_days();
            Ok(Part::int(days * 86_400))
        }
        _ => Err(not_supported(&lower, PgType::Date)),
    }
}

/// `extract(field from time)`: the clock fields and `epoch` (seconds since
/// midnight).
pub fn time_part(name: &str, t: chrono::NaiveTime) -> Result<Part, Error> {
    let (u, lower) = parse_unit(name, PgType::Time)?;
    let sec_micros = t.second() as i64 * 1_000_000 + (t.nanosecond() / 1000) as i64;
    let frac = (t.nanosecond() / 1000) as f64;
    Ok(match u {
        Unit::Hour => Part::int(t.hour() as i64),
        Unit::Minute => Part::int(t.minute() as i64),
        Unit::Second => Part::scaled(sec_micros as i128, 6, t.second() as f64 + frac / 1e6),
        Unit::Milliseconds => Part::scaled(
            sec_micros as i128,
            3,
            t.second() as f64 * 1000.0 + frac / 1000.0,
        ),
        Unit::Microseconds => Part::int(sec_micros),
        Unit::Epoch => {
            let micros = (t - chrono::NaiveTime::MIN).num_microseconds().unwrap_or(0);
            Part::scaled(micros as i128, 6, micros as f64 / 1e6)
        }
        _ => return Err(not_supported(&lower, PgType::Time)),
    })
}

pub fn interval_part(name: &str, iv: Interval) -> Result<Part, Error> {
    let (u, lower) = parse_unit(name, PgType::Interval)?;
    let f = iv.fields();
    let sec_micros = f.seconds * 1_000_000 + f.micros;
    Ok(match u {
        Unit::Microseconds => Part::int(sec_micros),
        Unit::Milliseconds => Part::scaled(
            sec_micros as i128,
            3,
            f.seconds as f64 * 1000.0 + f.micros as f64 / 1000.0,
        ),
        Unit::Second => Part::scaled(
            sec_micros as i128,
            6,
            f.seconds as f64 + f.micros as f64 / 1e6,
        ),
        Unit::Minute => Part::int(f.minutes),
        Unit::Hour => Part::int(f.hours),
        Unit::Day => Part::int(f.days as i64),
        Unit::Month => Part::int(f.months as i64),
        Unit::Quarter => Part::int(f.months as i64 / 3 + 1),
        Unit::Year => Part::int(f.years as i64),
        Unit::Decade => Part::int(f.years as i64 / 10),
        Unit::Century => Part::int(f.years as i64 / 100),
        Unit::Millennium => Part::int(f.years as i64 / 1000),
        Unit::Epoch => {
            let micros = iv.epoch_micros();
            let float = iv.micros as f64 / 1e6
                + (365.25 * (iv.months / 12) as f64) * 86400.0
                + (30.0 * (iv.months % 12) as f64) * 86400.0
                + iv.days as f64 * 86400.0;
            Part::scaled(micros, 6, float)
        }
        _ => return Err(not_supported(&lower, PgType::Interval)),
    })
}

/// `date_trunc(unit, timestamp)`: the start of the unit containing `ts`
/// (weeks start on Monday; centuries and millennia on their year 1).
pub fn truncate_timestamp(
    name: &str,
    ts: NaiveDateTime,
    ty: PgType,
) -> Result<NaiveDateTime, Error> {
    let (u, lower) = parse_unit(name, ty)?;
    let d = ts.date();
    let year = d.year();
    let start_of_year = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1);
    let day = match u {
        Unit::Millennium => start_of_year(if year > 0 {
            ((year + 999) / 1000) * 1000 - 999
        } else {
            -((999 - (year - 1)) / 1000) * 1000 + 1
        }),
        Unit::Century => start_of_year(if year > 0 {
            ((year + 99) / 100) * 100 - 99
        } else {
            -((99 - (year - 1)) / 100) * 100 + 1
        }),
        Unit::Decade => start_of_year(if year > 0 {
            (year / 10) * 10
        } else {
            -((8 - (year - 1)) / 10) * 10
        }),
        Unit::Year => start_of_year(year),
        Unit::Quarter => NaiveDate::from_ymd_opt(year, 3 * ((d.month() - 1) / 3) + 1, 1),
        Unit::Month => d.with_day(1),
        Unit::Week => Some(d - Duration::days(d.weekday().num_days_from_monday() as i64)),
        Unit::Day => Some(d),
        _ => None,
    };
    if let Some(day) = day {
        return Ok(day.and_hms_opt(0, 0, 0).unwrap());
    }
    let micros = ts.nanosecond() as i64 / 1000;
    let keep = |t: chrono::NaiveTime| d.and_time(t);
    let hms = |h, m, s| chrono::NaiveTime::from_hms_opt(h, m, s).unwrap();
    Ok(match u {
        Unit::Hour => keep(hms(ts.hour(), 0, 0)),
        Unit::Minute => keep(hms(ts.hour(), ts.minute(), 0)),
        Unit::Second => keep(hms(ts.hour(), ts.minute(), ts.second())),
        Unit::Milliseconds => {
            keep(hms(ts.hour(), ts.minute(), ts.second()))
                + Duration::microseconds(micros / 1000 * 1000)
        }
        Unit::Microseconds => ts,
        _ => return Err(not_supported(&lower, ty)),
    })
}

/// `date_trunc(unit, interval)`: zeroes the fields below `unit`.
pub fn truncate_interval(name: &str, iv: Interval) -> Result<Interval, Error> {
    let (u, lower) = parse_unit(name, PgType::Interval)?;
    let f = iv.fields();
    let years = |y: i32| Interval {
        months: y * 12,
        ..Default::default()
    };
    let time = |micros: i64| Interval { micros, ..iv };
    const HOUR: i64 = 3_600_000_000;
    Ok(match u {
        Unit::Millennium => years(f.years / 1000 * 1000),
        Unit::Century => years(f.years / 100 * 100),
        Unit::Decade => years(f.years / 10 * 10),
        Unit::Year => years(f.years),
        Unit::Quarter => Interval {
            months: f.years * 12 + 3 * (f.months / 3),
            ..Default::default()
        },
        Unit::Month => Interval {
            months: iv.months,
            ..Default::default()
        },
        Unit::Day => time(0),
        Unit::Hour => time(f.hours * HOUR),
        Unit::Minute => time(f.hours * HOUR + f.minutes * 60_000_000),
        Unit::Second => time(iv.micros - f.micros),
        Unit::Milliseconds => time(iv.micros - f.micros % 1000),
        Unit::Microseconds => iv,
        Unit::Week => {
            return Err(not_supported(&lower, PgType::Interval)
                .with_detail("Months usually have fractional weeks."));
        }
        _ => return Err(not_supported(&lower, PgType::Interval)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> NaiveDateTime {
        super::super::datetime::parse_timestamp(text).unwrap()
    }

    #[test]
    fn extract_matches_postgres() {
        let t = ts("2024-01-02 03:04:05.5");
        let part = |u: &str| timestamp_part(u, t, PgType::Timestamp).unwrap();
        assert_eq!(part("second").numeric, "5.500000");
        assert_eq!(part("milliseconds").numeric, "5500.000");
        assert_eq!(part("microseconds").numeric, "5500000");
        assert_eq!(part("julian").numeric, "2460312.12784143518518518519");
        assert_eq!(part("julian").float, 2460312.1278414354);
        assert_eq!(part("year").numeric, "2024");
        let epoch = timestamp_part("epoch", ts("2024-01-02 03:04:05"), PgType::Timestamp);
        assert_eq!(epoch.unwrap().numeric, "1704164645.000000");
        let iv = Interval::parse("1 year 2 mons 3 days 04:05:06.5").unwrap();
        assert_eq!(
            interval_part("epoch", iv).unwrap().numeric,
            "37015506.500000"
        );
        assert!(timestamp_part("foo", t, PgType::Timestamp).is_err());
    }

    #[test]
    fn truncation_matches_postgres() {
        let t = ts("2024-05-17 10:11:12");
        let trunc = |u: &str| {
            super::super::datetime::format_timestamp(
                truncate_timestamp(u, t, PgType::Timestamp).unwrap(),
            )
        };
        assert_eq!(trunc("century"), "2001-01-01 00:00:00");
        assert_eq!(trunc("week"), "2024-05-13 00:00:00");
        assert_eq!(trunc("quarter"), "2024-04-01 00:00:00");
        let iv = Interval::parse("2500 years 3 days").unwrap();
        assert_eq!(
            truncate_interval("millennium", iv).unwrap().to_string(),
            "2000 years"
        );
        let iv = Interval::parse("1 year 5 mons").unwrap();
        assert_eq!(
            truncate_interval("quarter", iv).unwrap().to_string(),
            "1 year 3 mons"
        );
    }
}
