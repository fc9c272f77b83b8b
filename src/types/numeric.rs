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

/// `select_div_scale` from Postgres's numeric.c, simplified to decimal digits.
fn quotient_scale(a: Decimal, b: Decimal) -> u32 {
    let weight = |d: Decimal| -> i32 {
        let t = d.trunc().abs();
        if t.is_zero() {
            0
        } else {
            t.to_string().len() as i32 - 1
        }
    };
    let qweight = weight(a) - weight(b);
    let rscale = (16 - qweight - 1)
        .max(a.scale() as i32)
        .max(b.scale() as i32)
        .max(0);
    rscale.min(20) as u32
}

/// `avg` keeps Postgres's display scale for small sums of typical inputs.
pub fn average(sum: Decimal, count: i64) -> Result<Decimal, Error> {
    divide(sum, Decimal::from(count))
}
