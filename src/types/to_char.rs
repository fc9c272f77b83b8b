//! `to_char(timestamp|timestamptz|date|interval, format)` with Postgres's
//! template patterns (`YYYY-MM-DD HH24:MI:SS`, `Mon`, `Day`, `AM`, `FM`, `TH`,
//! `"quoted text"`, ...). Patterns match longest first and, like Postgres,
//! case-insensitively except where the case chooses the output's case (`Month`,
//! `month`, `MONTH`).

use chrono::{Datelike, NaiveDateTime, Timelike};

use super::interval::Interval;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The values the patterns print, from a timestamp or an interval.
pub struct Fields {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    micros: i64,
    doy: i64,
    /// 0 = Sunday.
    dow: i64,
    iso_year: i64,
    iso_week: i64,
    julian: i64,
    /// What `TZ` prints: `UTC` for `timestamptz` (the session zone), nothing
    /// for the types without a zone.
    zone: &'static str,
}

impl Fields {
    pub fn of_timestamp(ts: NaiveDateTime, with_zone: bool) -> Fields {
        let d = ts.date();
        Fields {
            year: d.year() as i64,
            month: d.month() as i64,
            day: d.day() as i64,
            hour: ts.hour() as i64,
            minute: ts.minute() as i64,
            second: ts.second() as i64,
            micros: (ts.nanosecond() / 1000) as i64,
            doy: d.ordinal() as i64,
            dow: d.weekday().num_days_from_sunday() as i64,
            iso_year: d.iso_week().year() as i64,
            iso_week: d.iso_week().week() as i64,
            julian: d.num_days_from_ce() as i64 + 1_721_425,
            zone: if with_zone { "UTC" } else { "" },
        }
    }

    pub fn of_interval(iv: Interval) -> Fields {
        let f = iv.fields();
        Fields {
            year: f.years as i64,
            month: f.months as i64,
            day: f.days as i64,
            hour: f.hours,
            minute: f.minutes,
            second: f.seconds,
            micros: f.micros,
            doy: 0,
            dow: 0,
            iso_year: 0,
            iso_week: 0,
            julian: 0,
            zone: "",
        }
    }
}

/// A pattern: how it is spelled in the template and what it prints.
#[derive(Clone, Copy)]
enum Pattern {
    Number(fn(&Fields) -> i64, usize),
    /// The last `n` digits of the year (`YYY`, `YY`, `Y`).
    YearTail(u32),
    Meridiem {
        dots: bool,
    },
    MonthName {
        abbrev: bool,
    },
    DayName {
        abbrev: bool,
    },
    Zone,
    Offset,
}

/// Patterns in matching order: longer spellings before their prefixes.
const PATTERNS: &[(&str, Pattern)] = &[
    ("A.M.", Pattern::Meridiem { dots: true }),
    ("P.M.", Pattern::Meridiem { dots: true }),
    ("AM", Pattern::Meridiem { dots: false }),
    ("PM", Pattern::Meridiem { dots: false }),
    ("CC", Pattern::Number(|f| century(f.year), 2)),
    ("DAY", Pattern::DayName { abbrev: false }),
    ("DDD", Pattern::Number(|f| f.doy, 3)),
    ("DD", Pattern::Number(|f| f.day, 2)),
    ("DY", Pattern::DayName { abbrev: true }),
    ("D", Pattern::Number(|f| f.dow + 1, 1)),
    ("HH24", Pattern::Number(|f| f.hour, 2)),
    ("HH12", Pattern::Number(twelve_hour, 2)),
    ("HH", Pattern::Number(twelve_hour, 2)),
    ("ID", Pattern::Number(|f| (f.dow + 6) % 7 + 1, 1)),
    ("IW", Pattern::Number(|f| f.iso_week, 2)),
    ("IYYY", Pattern::Number(|f| f.iso_year, 4)),
    ("J", Pattern::Number(|f| f.julian, 1)),
    ("MI", Pattern::Number(|f| f.minute, 2)),
    ("MM", Pattern::Number(|f| f.month, 2)),
    ("MONTH", Pattern::MonthName { abbrev: false }),
    ("MON", Pattern::MonthName { abbrev: true }),
    ("MS", Pattern::Number(|f| f.micros / 1000, 3)),
    ("OF", Pattern::Offset),
    ("Q", Pattern::Number(|f| (f.month - 1) / 3 + 1, 1)),
    ("SSSSS", Pattern::Number(seconds_of_day, 1)),
    ("SSSS", Pattern::Number(seconds_of_day, 1)),
    ("SS", Pattern::Number(|f| f.second, 2)),
    ("TZ", Pattern::Zone),
    ("US", Pattern::Number(|f| f.micros, 6)),
    ("WW", Pattern::Number(|f| (f.doy - 1) / 7 + 1, 2)),
    ("YYYY", Pattern::Number(|f| f.year, 4)),
    ("YYY", Pattern::YearTail(3)),
    ("YY", Pattern::YearTail(2)),
    ("Y", Pattern::YearTail(1)),
];

fn century(year: i64) -> i64 {
    if year > 0 {
        (year + 99) / 100
    } else {
        -((99 - (year - 1)) / 100)
    }
}

fn twelve_hour(f: &Fields) -> i64 {
    match f.hour % 12 {
        0 => 12,
        h => h,
    }
}

fn seconds_of_day(f: &Fields) -> i64 {
    (f.hour * 60 + f.minute) * 60 + f.second
}

/// `1st`, `2nd`, `3rd`, `11th`...
fn ordinal_suffix(n: i64) -> &'static str {
    match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    }
}

/// Applies the case the template wrote a name pattern in: `MONTH`, `Month`, `month`.
fn cased(name: &str, spelled: &str) -> String {
    let mut letters = spelled.chars().filter(|c| c.is_alphabetic());
    let first_upper = letters.next().is_some_and(|c| c.is_uppercase());
    let rest_upper = letters.next().is_some_and(|c| c.is_uppercase());
    match (first_upper, rest_upper) {
        (true, true) => name.to_uppercase(),
        (true, false) => name.to_string(),
        _ => name.to_lowercase(),
    }
}

/// Renders `template` for `fields`.
pub fn format(fields: &Fields, template: &str) -> String {
    let chars: Vec<char> = template.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && chars.get(i + 1) == Some(&'"') {
                    i += 1;
                }
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let rest: String = chars[i..].iter().collect();
        let fill_mode = rest.len() >= 2 && rest[..2].eq_ignore_ascii_case("FM");
        let start = if fill_mode { i + 2 } else { i };
        let rest: String = chars[start..].iter().collect();
        let Some((spelled, pattern)) = PATTERNS.iter().find_map(|(name, p)| {
            rest.get(..name.len())
                .filter(|s| s.eq_ignore_ascii_case(name))
                .map(|s| (s.to_string(), *p))
        }) else {
            out.push(chars[i]);
            i += 1;
            continue;
        };
        i = start + spelled.chars().count();
        let (text, number) = render(fields, pattern, &spelled, fill_mode);
        out.push_str(&text);
        let suffix: String = chars[i..].iter().take(2).collect();
        if let (Some(n), true) = (number, suffix.eq_ignore_ascii_case("TH")) {
            let th = ordinal_suffix(n);
            out.push_str(&if suffix == "TH" {
                th.to_uppercase()
            } else {
                th.to_string()
            });
            i += 2;
        }
    }
    out
}

/// The text of one pattern, and its number when it has one (for `TH`).
fn render(f: &Fields, pattern: Pattern, spelled: &str, fill_mode: bool) -> (String, Option<i64>) {
    let pad_name = |name: String, width: usize| {
        if fill_mode {
            name
        } else {
            format!("{name:<width$}")
        }
    };
    match pattern {
        Pattern::Number(value, width) => {
            let n = value(f);
            // The width counts digits only: -1 in `SS` is `-01`.
            let width = width + usize::from(n < 0);
            let text = if fill_mode {
                n.to_string()
            } else {
                format!("{n:0width$}")
            };
            (text, Some(n))
        }
        Pattern::YearTail(digits) => {
            let n = f.year.rem_euclid(10i64.pow(digits));
            let text = if fill_mode {
                n.to_string()
            } else {
                format!("{n:0width$}", width = digits as usize)
            };
            (text, Some(n))
        }
        Pattern::Meridiem { dots } => {
            let pm = f.hour % 24 >= 12;
            let text = match (pm, dots) {
                (false, false) => "AM",
                (true, false) => "PM",
                (false, true) => "A.M.",
                (true, true) => "P.M.",
            };
            (cased(text, spelled), None)
        }
        Pattern::MonthName { abbrev } => {
            let name = MONTHS[((f.month - 1).rem_euclid(12)) as usize];
            match abbrev {
                true => (cased(&name[..3], spelled), None),
                false => (pad_name(cased(name, spelled), 9), None),
            }
        }
        Pattern::DayName { abbrev } => {
            let name = DAYS[f.dow.rem_euclid(7) as usize];
            match abbrev {
                true => (cased(&name[..3], spelled), None),
                false => (pad_name(cased(name, spelled), 9), None),
            }
        }
        Pattern::Zone => (cased(f.zone, spelled), None),
        Pattern::Offset => ("+00".to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_char(ts: &str, template: &str) -> String {
        let ts = super::super::datetime::parse_timestamp(ts).unwrap();
        format(&Fields::of_timestamp(ts, false), template)
    }

    #[test]
    fn patterns_print_like_postgres() {
        let t = "2024-01-02 15:04:05.123456";
        assert_eq!(to_char(t, "YYYY-MM-DD HH24:MI:SS"), "2024-01-02 15:04:05");
        assert_eq!(
            to_char(t, "Mon DD, YYYY HH12:MI AM"),
            "Jan 02, 2024 03:04 PM"
        );
        assert_eq!(
            to_char(t, "Day Month DY dy MS US Q IW DDD D"),
            "Tuesday   January   TUE tue 123 123456 1 01 002 3"
        );
        assert_eq!(
            to_char(
                "2024-01-02 00:04:05",
                "HH12 hh am a.m. P.M. pm YY Y CC J WW SSSS FMHH12 DDth FMDDth MONTH month mon"
            ),
            "12 12 am a.m. A.M. am 24 4 21 2460312 01 245 12 02nd 2nd JANUARY   january   jan"
        );
        assert_eq!(
            to_char(
                "2024-11-23 10:00",
                "DDTH ID IYYY YYY \"quoted \\\" x\" FMMM/FMDD"
            ),
            "23RD 6 2024 024 quoted \" x 11/23"
        );
        assert_eq!(to_char("2024-07-04", "FMMonth FMDD"), "July 4");
    }
}
