//! What keeps one caller from taking the REST door for itself (`[rest]` in
//! the config file): a request rate per client address (429, 53400 as the
//! WebSocket gateway's rate limit), a body size (413, enforced by axum's
//! `DefaultBodyLimit` and reported by [`super::body`]), a row count and a
//! statement time limit (applied in [`super::exec`]). And a server that is
//! shutting down turns requests away (503, 57P01) instead of starting them.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::Rest;
use super::error::ApiError;
use super::exec::Outcome;
use crate::config::RestConfig;
use crate::error::{Error, SqlState};
use crate::store::Conn;

/// Client addresses remembered before the quiet ones (whose bucket is full
/// again) are forgotten, so the limiter's memory stays bounded.
const FORGET_QUIET_AT: usize = 10_000;

/// SQLite VM steps between two looks at the clock (about a tenth of a
/// millisecond of work): a cheap check, and a timely interrupt.
const PROGRESS_STEPS: std::ffi::c_int = 4096;

pub struct Limits {
    pub max_body_bytes: usize,
    /// Rows one request may read or write.
    pub max_rows: usize,
    /// How long one request's SQLite work may run before it is interrupted
    /// (57014; for a list of statements, the list, as Postgres's
    /// `statement_timeout` covers a multi-statement query).
    pub statement_timeout: Duration,
    /// A token bucket per client address.
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    pub fn new(config: &RestConfig) -> Limits {
        let quota =
            Quota::per_second(NonZeroU32::new(config.rate_per_sec).unwrap_or(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::new(config.burst).unwrap_or(NonZeroU32::MIN));
        Limits {
            max_body_bytes: config.max_body_bytes,
            max_rows: config.max_rows,
            statement_timeout: Duration::from_millis(config.statement_timeout_ms),
            limiter: RateLimiter::keyed(quota),
        }
    }

    /// `Err` with the wait until `client` may send again.
    fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() >= FORGET_QUIET_AT {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// 54000 (413) when `rows` is more than a request may carry.
    pub fn check_rows(&self, rows: usize, what: &str) -> Result<(), Error> {
        if rows <= self.max_rows {
            return Ok(());
        }
        Err(Error::new(
            SqlState::ProgramLimitExceeded,
            format!(
                "{what} has {rows} rows, more than the limit of {}",
                self.max_rows
            ),
        )
        .with_hint("send fewer rows per request, or raise [rest] max_rows"))
    }

    /// 54000 (413) when a statement's result has more rows than a request
    /// may carry.
    pub fn rows(&self, outcome: Outcome) -> Result<Outcome, Error> {
        self.check_rows(outcome.rows.len(), "the result")?;
        Ok(outcome)
    }

    /// Runs `f` on `conn` with the statement timeout: SQLite's progress
    /// handler, called every few thousand VM steps on this same thread,
    /// interrupts the work past the deadline. The handler is removed before
    /// the connection goes back (the writer is shared with the wire door).
    pub fn timed<R>(
        &self,
        conn: &Conn,
        f: impl FnOnce(&Conn) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let deadline = Instant::now() + self.statement_timeout;
        conn.sqlite
            .progress_handler(PROGRESS_STEPS, Some(move || Instant::now() >= deadline));
        let result = f(conn);
        conn.sqlite
            .progress_handler(PROGRESS_STEPS, None::<fn() -> bool>);
        result.map_err(|e| match e.state {
            SqlState::QueryCanceled => Error::new(
                SqlState::QueryCanceled,
                "canceling statement due to statement timeout",
            )
            .with_hint("make the query cheaper, or raise [rest] statement_timeout_ms"),
            _ => e,
        })
    }
}

/// Middleware in front of every REST route: 503 once shutdown has begun,
/// 429 (with `Retry-After`) past the client address's rate.
pub async fn admit(State(rest): State<Arc<Rest>>, request: Request, next: Next) -> Response {
    if rest.shutdown.is_cancelled() {
        return ApiError::from(shutting_down()).into_response();
    }
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(wait) = client.and_then(|ip| rest.limits.check(ip).err()) {
        let error = Error::new(
            SqlState::ConfigurationLimitExceeded,
            "rate limit exceeded; slow down",
        )
        .with_hint("raise [rest] rate_per_sec and burst for this client's load");
        let mut response = ApiError::from(error).into_response();
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    next.run(request).await
}

/// 57P01: the server stops; the request was not run.
pub fn shutting_down() -> Error {
    Error::new(
        SqlState::AdminShutdown,
        "terminating request due to administrator command",
    )
    .with_hint("the server is shutting down; retry against a running server")
}
