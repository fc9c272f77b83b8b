//! The WebSocket door (`/ws` on `--http-listen`): browsers join the same
//! channels Postgres clients LISTEN on, follow table feeds from the change
//! stream, and share presence. Protocol in [`protocol`]; one task per socket
//! ([`connection`]); table feeds in [`feed`].
//!
//! Authentication: with a JWT key configured, a connection proves who it is
//! with a token (`?token=`, `Authorization: Bearer`, or an `auth` message);
//! without a token it gets the anonymous role if one is configured, otherwise
//! error 28000 and the socket is closed. The role's [`Rules`] decide every
//! channel and table access (42501 when denied). Without a JWT key the door
//! is open, as trusted loopback is on the wire.

pub mod connection;
mod durable;
mod feed;
pub mod protocol;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::auth::guard::Guard;
use crate::auth::jwt::Identity;
use crate::changes::ChangeStream;
use crate::config::{AuthConfig, RealtimeConfig};
use crate::live::LiveEngine;
use crate::notify::NotifyHub;
use crate::notify::presence::PresenceHub;
use crate::store::Store;

/// Initial read buffer of a socket (it grows for larger frames).
const READ_BUFFER: usize = 4096;

/// What every socket shares.
pub struct Gateway {
    pub store: Arc<Store>,
    pub hub: Arc<NotifyHub>,
    pub presence: Arc<PresenceHub>,
    pub changes: Arc<ChangeStream>,
    pub live: Arc<LiveEngine>,
    guard: Guard,
    limits: RealtimeConfig,
    shutdown: CancellationToken,
    feeds: feed::Feeds,
    /// The notification most recently encoded for sockets (shared encoding).
    last_frame: Arc<connection::LastFrame>,
    next_conn: AtomicU64,
    /// Open sockets (for stats).
    pub connections: AtomicUsize,
}

/// The shared realtime parts the gateway serves from.
pub struct Parts {
    pub store: Arc<Store>,
    pub hub: Arc<NotifyHub>,
    pub presence: Arc<PresenceHub>,
    pub changes: Arc<ChangeStream>,
    pub live: Arc<LiveEngine>,
}

impl Gateway {
    pub fn new(
        parts: Parts,
        auth: &AuthConfig,
        limits: RealtimeConfig,
        shutdown: CancellationToken,
    ) -> Result<Gateway, String> {
        let guard = Guard::new(auth)?;
        let Parts {
            store,
            hub,
            presence,
            changes,
            live,
        } = parts;
        let feeds = feed::Feeds::start(changes.clone(), shutdown.clone());
        Ok(Gateway {
            store,
            hub,
            presence,
            changes,
            live,
            feeds,
            last_frame: Arc::default(),
            guard,
            limits,
            shutdown,
            next_conn: AtomicU64::new(1),
            connections: AtomicUsize::new(0),
        })
    }

    /// Who a connection is before any `auth` message: from its token, else
    /// the anonymous role; `Err` when it must authenticate (or its token is bad).
    fn initial_identity(&self, token: Option<&str>) -> Result<Identity, crate::error::Error> {
        self.guard
            .identify(token, "send {\"type\":\"auth\",\"token\":...} first")
    }
}

#[derive(serde::Deserialize)]
struct WsParams {
    token: Option<String>,
}

/// The routes of the WebSocket door, and its browser client.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .route("/litewire.js", get(|| client(CLIENT_JS, "text/javascript")))
        .route(
            "/litewire.d.ts",
            get(|| client(CLIENT_TYPES, "application/typescript")),
        )
        .with_state(gateway)
}

/// The browser client (`web/client/`), built into the binary.
const CLIENT_JS: &str = include_str!("../../web/client/litewire.js");
const CLIENT_TYPES: &str = include_str!("../../web/client/litewire.d.ts");

/// Serves a client file; pages on any origin may import it.
async fn client(body: &'static str, content_type: &'static str) -> Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}

async fn upgrade(
    State(gateway): State<Arc<Gateway>>,
    Query(params): Query<WsParams>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let token = params.token.or(bearer);
    let max = gateway.limits.max_frame;
    let conn = gateway.next_conn.fetch_add(1, Ordering::Relaxed);
    // Small buffers: most sockets are idle most of the time, and tungstenite's
    // 128 KiB defaults would dominate the memory of each one.
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection::run(socket, gateway, conn, token))
}
