//! The REST door, on the same `--http-listen` port as the WebSocket gateway,
//! for clients that cannot hold a Postgres connection or a socket (serverless
//! functions, scripts, webhooks). Every write goes through `translate` +
//! `store` like a psql write, so it fires the same capture triggers and
//! reaches the same change stream and LISTENers.
//!
//! Map, by concept:
//! - [`tables`]: `/rest/v1/{table}` in PostgREST's conventions, with the
//!   query-string language in [`query`];
//! - [`documents`]: the document-collection API (`/db/...`);
//! - [`openapi`]: `GET /rest/v1/`, an OpenAPI 3 document of the schema;
//! - [`sql`]: `POST /sql`, Postgres SQL over HTTP;
//! - [`publish`]: NOTIFY over HTTP and connection/channel stats;
//! - [`sse`]: table feeds and channels as Server-Sent Events;
//! - [`exec`]: running generated SQL (one transaction per request);
//! - [`auth`]: JWT callers, read rules and write grants;
//! - [`error`]: SQLSTATE -> HTTP status and PostgREST-style JSON errors.

mod auth;
mod documents;
mod error;
mod exec;
mod openapi;
mod publish;
mod query;
mod sql;
mod sse;
mod tables;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use axum::Router;
use axum::routing::{get, post};

use crate::changes::ChangeStream;
use crate::config::AuthConfig;
use crate::notify::NotifyHub;
use crate::notify::presence::PresenceHub;
use crate::store::Store;
use tokio_util::sync::CancellationToken;

/// What every REST request shares.
pub struct Rest {
    exec: exec::Executor,
    auth: auth::Auth,
    presence: Arc<PresenceHub>,
    changes: Arc<ChangeStream>,
    /// Cancelled at shutdown: open SSE streams end on it.
    shutdown: CancellationToken,
    /// Open WebSocket connections, as the wiring reports them (the doors
    /// do not know each other).
    websockets: Box<dyn Fn() -> usize + Send + Sync>,
    /// Open SSE streams.
    sse_streams: Arc<AtomicUsize>,
}

impl Rest {
    pub fn new(
        store: Arc<Store>,
        hub: Arc<NotifyHub>,
        presence: Arc<PresenceHub>,
        changes: Arc<ChangeStream>,
        auth: &AuthConfig,
        shutdown: CancellationToken,
    ) -> Result<Rest, String> {
        Ok(Rest {
            exec: exec::Executor { store, hub },
            auth: auth::Auth::new(auth)?,
            presence,
            changes,
            shutdown,
            websockets: Box::new(|| 0),
            sse_streams: Arc::default(),
        })
    }

    /// Where stats read the number of open WebSocket connections.
    pub fn counting_websockets(
        mut self,
        count: impl Fn() -> usize + Send + Sync + 'static,
    ) -> Rest {
        self.websockets = Box::new(count);
        self
    }
}

/// The routes of the REST door.
pub fn router(rest: Arc<Rest>) -> Router {
    Router::new()
        .route("/rest/v1/", get(openapi::document))
        .route(
            "/rest/v1/{table}",
            get(tables::read)
                .post(tables::create)
                .patch(tables::update)
                .delete(tables::delete),
        )
        .route(
            "/db/collections",
            get(documents::list).post(documents::create),
        )
        .route(
            "/db/data/{coll}/{id}",
            get(documents::get)
                .put(documents::put)
                .patch(documents::patch)
                .delete(documents::delete),
        )
        .route("/db/query/{coll}", post(documents::query))
        .route("/db/indexes/{coll}", post(documents::index))
        .route("/health", get(health))
        .route("/metrics", get(|| async { crate::metrics::render() }))
        .route("/sql", post(sql::run))
        .route("/realtime/v1/notify", post(publish::notify))
        .route("/realtime/v1/stats", get(publish::stats))
        .route("/realtime/v1/sse", get(sse::stream))
        .with_state(rest)
}

/// `GET /health`: the server is up; the change stream's position.
async fn health(
    axum::extract::State(rest): axum::extract::State<Arc<Rest>>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok", "lsn": rest.changes.head()}))
}
