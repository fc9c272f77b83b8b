//! Wiring only: open the store, build the doors, run them, and shut down in
//! order (stop accepting, end sessions with 57P01, wait for them, checkpoint).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Users;
use crate::changes::{ChangeStream, Retention};
use crate::config::Config;
use crate::frontend::{self, Frontend};
use crate::gateway::Gateway;
use crate::live::LiveEngine;
use crate::notify::NotifyHub;
use crate::notify::presence::PresenceHub;
use crate::store::{Store, StoreConfig};

/// How often changes outside the retention window are compacted.
const COMPACT_EVERY: Duration = Duration::from_secs(60);

/// How long sessions get to finish after shutdown is requested.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot create data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("cannot open database: {0}")]
    Store(crate::error::Error),
    #[error(transparent)]
    Users(#[from] crate::auth::UsersError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("cannot read listener address: {0}")]
    Listener(std::io::Error),
}

/// The sockets a server serves: the Postgres wire, and optionally HTTP
/// (the WebSocket gateway and the REST API).
pub struct Listeners {
    pub pg: TcpListener,
    pub http: Option<TcpListener>,
}

/// A running server. Dropping it does not stop it; call [`Server::stop`].
pub struct Server {
    pub pg_addr: SocketAddr,
    pub http_addr: Option<SocketAddr>,
    pub store: Arc<Store>,
    pub changes: Arc<ChangeStream>,
    pub hub: Arc<NotifyHub>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

/// Starts litewire on an already-bound Postgres listener (no HTTP door).
pub async fn start(config: Config, pg_listener: TcpListener) -> Result<Server, StartError> {
    start_with(
        config,
        Listeners {
            pg: pg_listener,
            http: None,
        },
    )
    .await
}

/// Starts litewire on already-bound listeners.
pub async fn start_with(config: Config, listeners: Listeners) -> Result<Server, StartError> {
    let pg_listener = listeners.pg;
    config.validate().map_err(StartError::Config)?;
    crate::metrics::install();
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| StartError::DataDir(config.data_dir.display().to_string(), e))?;
    let store_config = StoreConfig {
        path: config.database_path(),
        readers: config.readers,
        synchronous: "FULL",
    };
    let store = Arc::new(
        tokio::task::spawn_blocking(move || Store::open(&store_config))
            .await
            .expect("open task")
            .map_err(StartError::Store)?,
    );

    let mut users = Users::load(&config.data_dir)?;
    if let Some(password) = &config.password {
        users.set_password("postgres", password);
    }
    let users = (!users.is_empty()).then(|| Arc::new(users));
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key).map_err(StartError::Tls)?),
        _ => None,
    };

    let pg_addr = pg_listener.local_addr().map_err(StartError::Listener)?;
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let hub = Arc::new(NotifyHub::new(config.notify_queue));
    let changes = ChangeStream::start(
        store.clone(),
        Retention {
            age: config.change_retention,
            rows: config.change_retention_rows,
        },
    )
    .map_err(StartError::Store)?;
    tracker.spawn(crate::notify::changes::bridge(
        changes.clone(),
        hub.clone(),
        shutdown.clone(),
    ));
    crate::notify::durable::load(&store, &hub)
        .await
        .map_err(StartError::Store)?;
    let messages = (config.message_retention, config.message_retention_rows);
    tracker.spawn(compact_periodically(
        changes.clone(),
        store.clone(),
        messages,
        shutdown.clone(),
    ));
    let live = LiveEngine::start(store.clone(), changes.clone(), shutdown.clone());
    let presence = Arc::new(PresenceHub::default());
    {
        let presence = presence.clone();
        store.set_presence_source(move || presence.rows_json());
    }
    let http_addr = match listeners.http {
        None => None,
        Some(http) => {
            let addr = http.local_addr().map_err(StartError::Listener)?;
            let parts = crate::gateway::Parts {
                store: store.clone(),
                hub: hub.clone(),
                presence: presence.clone(),
                changes: changes.clone(),
                live: live.clone(),
            };
            let gateway = Arc::new(
                Gateway::new(
                    parts,
                    &config.auth,
                    config.realtime.clone(),
                    shutdown.clone(),
                )
                .map_err(StartError::Config)?,
            );
            let sockets = gateway.clone();
            let rest = crate::rest::Rest::new(
                store.clone(),
                hub.clone(),
                presence,
                changes.clone(),
                &config.auth,
                &config.rest,
                shutdown.clone(),
            )
            .map_err(StartError::Config)?
            .counting_websockets(move || sockets.connections.load(Ordering::Relaxed));
            let app = crate::gateway::router(gateway).merge(crate::rest::router(Arc::new(rest)));
            let stop = shutdown.clone();
            tracker.spawn(async move {
                // Client addresses key the REST rate limit.
                let app = app.into_make_service_with_connect_info::<SocketAddr>();
                // Frames and replies are small and latency is the point.
                let http = http.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                if let Err(e) = axum::serve(http, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await
                {
                    tracing::error!(error = %e, "HTTP server failed");
                }
            });
            Some(addr)
        }
    };
    let frontend = Arc::new(Frontend::new(
        store.clone(),
        hub.clone(),
        live,
        users,
        tls,
        config.max_connections,
    ));
    tracker.spawn(frontend::serve(
        pg_listener,
        frontend,
        shutdown.clone(),
        tracker.clone(),
    ));
    Ok(Server {
        pg_addr,
        http_addr,
        store,
        changes,
        hub,
        shutdown,
        tracker,
    })
}

impl Server {
    /// Ordered shutdown: sessions get 57P01 and roll back, then the WAL is
    /// checkpointed into the database file.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("sessions did not end within the grace period");
        }
        self.changes.stop();
        if let Err(e) = self.store.close().await {
            tracing::warn!(error = %e, "checkpoint at shutdown failed");
        }
    }
}

/// Applies retention to the change log and to durable messages.
async fn compact_periodically(
    changes: Arc<ChangeStream>,
    store: Arc<Store>,
    (message_age, message_rows): (Duration, i64),
    shutdown: CancellationToken,
) {
    // The first pass one period after start, not during it: a minute more of
    // history changes nothing, and it does not queue for the writer while
    // the server is being set up (tests count writer waits).
    let start = tokio::time::Instant::now() + COMPACT_EVERY;
    let mut every = tokio::time::interval_at(start, COMPACT_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let now = chrono::Utc::now();
        if let Err(e) = changes.compact(now).await {
            tracing::warn!(error = %e, "change log compaction failed");
        }
        if let Err(e) =
            crate::notify::durable::compact(&store, now, message_age, message_rows).await
        {
            tracing::warn!(error = %e, "durable message compaction failed");
        }
    }
}
