//! Postgres's math functions on double precision that SQLite lacks, with
//! Postgres's errors for arguments out of their domain (2201E, 2201F).

use rusqlite::Connection;

use super::functions::{PURE, to_sqlite};
use crate::error::{Error, SqlState};

/// Registers a one-argument float function (NULL in, NULL out).
fn float1(
    conn: &Connection,
    name: &str,
    f: impl Fn(f64) -> Result<f64, Error> + Send + Sync + 'static,
) -> rusqlite::Result<()> {
    conn.create_scalar_function(name, 1, PURE, move |ctx| {
        ctx.get::<Option<f64>>(0)?
            .map(&f)
            .transpose()
            .map_err(to_sqlite)
    })
}

fn domain(what: &str) -> Error {
    Error::new(SqlState::InvalidArgumentForLogarithm, what.to_string())
}

/// Registers the math functions on `conn`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    float1(conn, "sqrt", |x| {
        if x < 0.0 {
            Err(Error::new(
                SqlState::InvalidArgumentForPowerFunction,
                "cannot take square root of a negative number",
            ))
        } else {
            Ok(x.sqrt())
        }
    })?;
    float1(conn, "cbrt", |x| Ok(x.cbrt()))?;
    float1(conn, "exp", |x| Ok(x.exp()))?;
    float1(conn, "ln", |x| match x {
        0.0 => Err(domain("cannot take logarithm of zero")),
        x if x < 0.0 => Err(domain("cannot take logarithm of a negative number")),
        x => Ok(x.ln()),
    })?;
    float1(conn, "log", |x| match x {
        0.0 => Err(domain("cannot take logarithm of zero")),
        x if x < 0.0 => Err(domain("cannot take logarithm of a negative number")),
        x => Ok(x.log10()),
    })?;
    float1(conn, "degrees", |x| Ok(x.to_degrees()))?;
    float1(conn, "radians", |x| Ok(x.to_radians()))?;
    conn.create_scalar_function("pi", 0, PURE, |_| Ok(std::f64::consts::PI))?;
    for name in ["power", "pow"] {
        conn.create_scalar_function(name, 2, PURE, |ctx| {
            Ok(ctx
                .get::<Option<f64>>(0)?
                .zip(ctx.get::<Option<f64>>(1)?)
                .map(|(x, y)| x.powf(y)))
        })?;
    }
    Ok(())
}
