//! The REST door, on the same `--http-listen` port as the WebSocket gateway,
//! for clients that cannot hold a Postgres connection or a socket (serverless
//! functions, scripts, webhooks). Every write goes through `translate` +
//! `store` like a psql write, so it fires the same capture triggers and
//! reaches the same change stream and LISTENers.
//!
//! Map, by concept:
//! - [`tables`]: `/rest/v1/{table}` in PostgREST's conventions, with the
//!   query-string language in [`query`];
//! - [`sql`]: `POST /sql`, Postgres SQL over HTTP;
//! - [`exec`]: running generated SQL (one transaction per request);
//! - [`auth`]: JWT callers, read rules and write grants;
//! - [`error`]: SQLSTATE -> HTTP status and PostgREST-style JSON errors.

mod auth;
mod error;
mod exec;
mod query;
mod sql;
mod tables;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::changes::ChangeStream;
use crate::config::AuthConfig;
use crate::notify::NotifyHub;
use crate::notify::presence::PresenceHub;
use crate::store::Store;

/// What every REST request shares.
pub struct Rest {
    exec: exec::Executor,
    auth: auth::Auth,
    #[allow(dead_code)]
    presence: Arc<PresenceHub>,
    #[allow(dead_code)]
    changes: Arc<ChangeStream>,
}

impl Rest {
    pub fn new(
        store: Arc<Store>,
        hub: Arc<NotifyHub>,
        presence: Arc<PresenceHub>,
        changes: Arc<ChangeStream>,
        auth: &AuthConfig,
    ) -> Result<Rest, String> {
        Ok(Rest {
            exec: exec::Executor { store, hub },
            auth: auth::Auth::new(auth)?,
            presence,
            changes,
        })
    }
}

/// The routes of the REST door.
pub fn router(rest: Arc<Rest>) -> Router {
    Router::new()
        .route(
            "/rest/v1/{table}",
            get(tables::read)
                .post(tables::create)
                .patch(tables::update)
                .delete(tables::delete),
        )
        .route("/sql", post(sql::run))
        .with_state(rest)
}
