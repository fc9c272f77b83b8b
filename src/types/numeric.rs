//! Exact `numeric`: values are kept as canonical decimal text and computed with
//! `rust_decimal` (28 significant digits), so `0.1 + 0.2 = 0.3` and `numeric(10,2)`
//! keeps its scale as in Postgres.

use std::cmp::Ordering;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{Error, SqlState};

pub fn invalid(text: &str) -> Error {
    Error::new(
        SqlState::InvalidTextRepresentation,
        format!("invalid input syntax for type numeric: \"{text}\""),
    )
}

/// Parses Postgres numeric input: `12.50`, `-3`, `1e3`, surrounding spaces.
pub fn parse(text: &str) -> Result<Decimal, Error> {
    let trimmed = text.trim();
    if trimmed.contains(['e', 'E']) {
        return Decimal::from_scientific(trimmed).map_err(|_| invalid(text));
    }
    Decimal::from_str(trimmed).map_err(|_| invalid(text))
}

/// Applies `numeric(p,s)`: rounds half away from zero to `s` digits and refuses
/// values with more than `p - s` integer digits (22003, as Postgres).
pub fn apply_typmod(value: Decimal, precision: u32, scale: u32) -> Result<Decimal, Error> {
    let mut rounded = value.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(scale);
    let integer_digits = rounded
        .trunc()
        .abs()
        .to_string()
        .trim_start_matches('0')
        .len() as u32;
    if integer_digits > precision.saturating_sub(scale) {
        return Err(Error::new(SqlState::NumericValueOutOfRange, "numeric field overflow")
            .with_detail(format!(
                "A field with precision {precision}, scale {scale} must round to an absolute value less than 10^{}.",
                precision - scale
            )));
    }
    Ok(rounded)
}

/// Compares two numeric texts by value (the `lw_numeric` collation). Text that
/// is not a number sorts after numbers, by bytes, so the collation is total.
pub fn compare_text(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// Postgres's numeric -> integer cast rounds half away from zero.
pub fn to_i64(value: Decimal) -> Result<i64, Error> {
    let rounded = value.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded)
        .map_err(|_| Error::new(SqlState::NumericValueOutOfRange, "bigint out of range"))
}

pub fn overflow() -> Error {
    Error::new(
        SqlState::NumericValueOutOfRange,
        "value out of range: overflow",
    )
}

pub fn division_by_zero() -> Error {
    Error::new(SqlState::DivisionByZero, "division by zero")
}

/// Postgres's scale for a quotient: enough digits to be exact-looking, at least 16
/// significant, never less than either input's scale.
pub fn divide(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    if b.is_zero() {
        return Err(division_by_zero());
    }
    let q = a.checked_div(b).ok_or_else(overflow)?;
    let scale = quotient_scale(a, b);
    let mut r = q.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    if r.scale() < scale {
        r.rescale(scale);
    }
    Ok(r)
}

/// `select_div_scale` from Postgres's numeric.c: at least 16 significant digits,
/// never fewer decimals than either input, computed on base-10000 digit groups.
fn quotient_scale(a: Decimal, b: Decimal) -> u32 {
    let first_group = |d: Decimal| -> (i32, i16) {
        let groups = Base10000::of(&d.to_string());
        groups
            .digits
            .iter()
            .position(|g| *g != 0)
            .map(|i| (groups.weight as i32 - i as i32, groups.digits[i]))
            .unwrap_or((0, 0))
    };
    let (weight1, first1) = first_group(a);
    let (weight2, first2) = first_group(b);
    let mut qweight = weight1 - weight2;
    if first1 <= first2 {
        qweight -= 1;
    }
    let rscale = (16 - qweight * 4)
        .max(a.scale() as i32)
        .max(b.scale() as i32)
        .max(0);
    // rust_decimal holds 28 significant digits.
    rscale.min(28) as u32
}

/// A decimal in Postgres's internal layout: base-10000 digit groups, the weight
/// of the first group, and the display scale. Shared by the binary wire format
/// and the division scale rule.
pub struct Base10000 {
    pub negative: bool,
    pub digits: Vec<i16>,
    pub weight: i16,
    pub dscale: u16,
}

impl Base10000 {
    /// From canonical decimal text (`-12.50`); leading and trailing zero groups
    /// are stripped as Postgres stores them.
    pub fn of(text: &str) -> Base10000 {
        let text = text.trim();
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let int_part = int_part.trim_start_matches('0');
        let int_pad = (4 - int_part.len() % 4) % 4;
        let frac_pad = (4 - frac_part.len() % 4) % 4;
        let padded = format!(
            "{}{int_part}{frac_part}{}",
            "0".repeat(int_pad),
            "0".repeat(frac_pad)
        );
        let mut digits: Vec<i16> = padded
            .as_bytes()
            .chunks(4)
            .map(|c| {
                c.iter()
                    .fold(0i16, |acc, d| acc * 10 + (d.wrapping_sub(b'0') as i16))
            })
            .collect();
        let mut weight = ((int_part.len() + int_pad) / 4) as i16 - 1;
        while digits.first() == Some(&0) {
            digits.remove(0);
            weight -= 1;
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            weight = 0;
        }
        Base10000 {
            negative: negative && !digits.is_empty(),
            digits,
            weight,
            dscale: frac_part.len() as u16,
        }
    }

    /// Whether `text` is plain decimal notation (what [`Base10000::of`] reads).
    pub fn is_valid_text(text: &str) -> bool {
        let t = text.trim();
        let t = t.strip_prefix(['-', '+']).unwrap_or(t);
        let (i, f) = t.split_once('.').unwrap_or((t, ""));
        !(i.is_empty() && f.is_empty())
            && i.bytes().all(|b| b.is_ascii_digit())
            && f.bytes().all(|b| b.is_ascii_digit())
    }
}

/// `avg` keeps Postgres's display scale for small sums of typical inputs.
pub fn average(sum: Decimal, count: i64) -> Result<Decimal, Error> {
    divide(sum, Decimal::from(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn div(a: &str, b: &str) -> String {
        divide(parse(a).unwrap(), parse(b).unwrap())
            .unwrap()
            .to_string()
    }

    #[test]
    fn division_scale_follows_postgres() {
        assert_eq!(div("7.0", "2"), "3.5000000000000000");
        assert_eq!(div("100", "3"), "33.3333333333333333");
        assert_eq!(div("1", "8"), "0.12500000000000000000");
        assert_eq!(
            divide(Decimal::ONE, Decimal::ZERO).unwrap_err().state,
            SqlState::DivisionByZero
        );
    }

    #[test]
    fn exact_sums() {
        let sum = parse("0.1").unwrap() + parse("0.2").unwrap();
        assert_eq!(sum.to_string(), "0.3");
    }
}
