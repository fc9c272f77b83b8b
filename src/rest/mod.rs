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
//! - [`commit`]: concurrent write requests committed together (one fsync);
//! - [`auth`]: JWT and API-key callers, read rules and write grants;
//! - [`limits`]: rate, body, row and time limits, and 503 at shutdown;
//! - [`body`]: JSON request bodies (415, 413, 400);
//! - [`error`]: SQLSTATE -> HTTP status and PostgREST-style JSON errors.

mod auth;
mod body;
mod commit;
mod documents;
mod error;
mod exec;
mod limits;
mod openapi;
mod publish;
mod query;
mod sql;
mod sse;
mod tables;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::changes::ChangeStream;
use crate::config::{AuthConfig, RestConfig};
use crate::notify::NotifyHub;
use crate::notify::presence::PresenceHub;
use crate::store::Store;
use tokio_util::sync::CancellationToken;

/// What every REST request shares.
pub struct Rest {
    exec: exec::Executor,
    auth: auth::Auth,
    limits: Arc<limits::Limits>,
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
        config: &RestConfig,
        shutdown: CancellationToken,
    ) -> Result<Rest, String> {
        let limits = Arc::new(limits::Limits::new(config));
        Ok(Rest {
            exec: exec::Executor::new(store, hub, limits.clone(), shutdown.clone()),
            auth: auth::Auth::new(auth)?,
            limits,
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

/// The routes of the REST door. The API routes sit behind the limits;
/// `/health` and `/metrics` do not, so monitoring still sees an overloaded
/// (or stopping) server.
pub fn router(rest: Arc<Rest>) -> Router {
    let body_limit = DefaultBodyLimit::max(rest.limits.max_body_bytes);
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
        .route("/sql", post(sql::run))
        .route("/realtime/v1/notify", post(publish::notify))
        .route("/realtime/v1/stats", get(publish::stats))
        .route("/realtime/v1/sse", get(sse::stream))
        .layer(body_limit)
        .route_layer(axum::middleware::from_fn_with_state(
            rest.clone(),
            limits::admit,
        ))
        .route("/health", get(health))
        .route("/metrics", get(|| async { crate::metrics::render() }))
        .with_state(rest)
}

/// `GET /health`: the server is up (503 once it is stopping, so a load
/// balancer takes it out), the change stream's position, and how many
/// callers wait for the writer.
async fn health(
    axum::extract::State(rest): axum::extract::State<Arc<Rest>>,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    let (status, text) = if rest.shutdown.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping")
    } else {
        (StatusCode::OK, "ok")
    };
    let body = serde_json::json!({
        "status": text,
        "lsn": rest.changes.head(),
        "writer_waits": rest.exec.store.writer_waits(),
    });
    (status, axum::Json(body))
}
