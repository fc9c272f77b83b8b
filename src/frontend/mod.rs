//! The Postgres wire door: accept loop, TLS negotiation and authentication
//! (pgwire's building blocks), then one task per connection running our own
//! message loop (`connection`) over a `Session`.

mod connection;
mod copy;
mod encode;
mod session;
pub mod settings;

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::{Sink, StreamExt};
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::{
    ServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, PgWireConnectionState, PidSecretKeyGenerator};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::SecretKey;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::server::{MaybeTls, negotiate_tls, process_error};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Users;
use crate::notify::NotifyHub;
use crate::notify::direct::DirectSocket;
use crate::store::Store;
use connection::{Connection, Socket};
use session::{CancelSlot, Session};

use crate::live::LiveEngine;

/// A client must finish TLS + authentication within this time.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// What every connection of the wire door shares.
pub struct Frontend {
    pub store: Arc<Store>,
    pub hub: Arc<NotifyHub>,
    pub live: Arc<LiveEngine>,
    /// Present when logins need SCRAM; None trusts every login.
    pub users: Option<Arc<Users>>,
    pub tls: Option<TlsAcceptor>,
    /// Connection slots; a client beyond them gets 53300.
    pub permits: Arc<Semaphore>,
    /// Live sessions by backend PID, for CancelRequest: the secret key the
    /// client must present and where the session's running statement is.
    cancels: std::sync::Mutex<HashMap<i32, (SecretKey, CancelSlot)>>,
    next_pid: AtomicI32,
}

impl Frontend {
    pub fn new(
        store: Arc<Store>,
        hub: Arc<NotifyHub>,
        live: Arc<LiveEngine>,
        users: Option<Arc<Users>>,
        tls: Option<TlsAcceptor>,
        max_connections: usize,
    ) -> Self {
        Frontend {
            store,
            hub,
            live,
            users,
            tls,
            permits: Arc::new(Semaphore::new(max_connections)),
            cancels: std::sync::Mutex::new(HashMap::new()),
            next_pid: AtomicI32::new(std::process::id() as i32 % 10_000 * 100 + 1),
        }
    }
}

/// Accepts connections until `shutdown`; each runs on `tracker`.
pub async fn serve(
    listener: TcpListener,
    frontend: Arc<Frontend>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((tcp, _)) => {
                let frontend = frontend.clone();
                let shutdown = shutdown.clone();
                // A plain thread, not the runtime's blocking pool: the pool is
                // capped (512) and connection 513 would wait, silently, for a slot.
                // The tracked task only waits for the thread to end.
                let (done, finished) = tokio::sync::oneshot::channel::<()>();
                let spawned = std::thread::Builder::new()
                    .name("lw-conn".into())
                    .spawn(move || {
                        run_on_own_thread(tcp, frontend, shutdown);
                        let _ = done.send(());
                    });
                match spawned {
                    Ok(_) => {
                        tracker.spawn(async move {
                            let _ = finished.await;
                        });
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot start a connection thread"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves one connection on a thread of its own with a single-threaded runtime,
/// as Postgres gives each connection a backend process. SQLite calls then run
/// inline on that thread (see `store::blocking`): they block this connection
/// only, and a point query costs no thread hand-off. On a shared multi-threaded
/// runtime every statement would pay two context switches to leave and re-enter
/// the executor, which profiling showed to be most of a `pgbench -S` query.
fn run_on_own_thread(tcp: TcpStream, frontend: Arc<Frontend>, shutdown: CancellationToken) {
    let Ok(std_tcp) = tcp.into_std() else { return };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!(error = %e, "cannot start a connection runtime");
            return;
        }
    };
    runtime.block_on(async move {
        // The socket moves from the accepting runtime's reactor to this one.
        if let Ok(tcp) = TcpStream::from_std(std_tcp) {
            metrics::gauge!(crate::metrics::WIRE_CONNECTIONS).increment(1.0);
            handle(tcp, frontend, shutdown).await;
            metrics::gauge!(crate::metrics::WIRE_CONNECTIONS).decrement(1.0);
        }
    });
}

async fn handle(tcp: TcpStream, frontend: Arc<Frontend>, shutdown: CancellationToken) {
    let pid = frontend.next_pid.fetch_add(1, Ordering::Relaxed);
    // Random, so only the client that received it can cancel its queries.
    let secret = SecretKey::I32(rand::random());
    let startup = tokio::time::timeout(STARTUP_TIMEOUT, async {
        let mut socket = negotiate_tls::<String>(tcp, frontend.tls.clone())
            .await
            .ok()
            .flatten()?;
        authenticate(&mut socket, &frontend, pid, secret.clone())
            .await
            .then_some(socket)
    });
    // A client that never finishes its startup must not hold up shutdown.
    let started = tokio::select! {
        started = startup => started,
        _ = shutdown.cancelled() => return,
    };
    let Ok(Some(mut socket)) = started else {
        return;
    };
    let Ok(_permit) = frontend.permits.clone().try_acquire_owned() else {
        let err = PgWireError::UserError(Box::new(pgwire::error::ErrorInfo::new(
            "FATAL".into(),
            "53300".into(),
            "sorry, too many clients already".into(),
        )));
        let _ = process_error(&mut socket, err, false).await;
        return;
    };
    let identity = {
        let metadata = socket.metadata();
        let user = metadata
            .get("user")
            .cloned()
            .unwrap_or_else(|| "postgres".into());
        // Postgres's default database is the one named after the user.
        let database = metadata
            .get("database")
            .cloned()
            .unwrap_or_else(|| user.clone());
        (user, database)
    };
    let direct = direct_socket(&socket);
    let (mut session, notifications) = Session::new(
        frontend.store.clone(),
        frontend.hub.clone(),
        frontend.live.clone(),
        pid,
        identity,
        direct.clone(),
    );
    session.start_with(settings::Settings::from_startup(socket.metadata().iter()));
    let _registered = frontend.register(pid, secret, session.cancel.clone());
    Connection::new(socket, session, notifications, direct)
        .run(shutdown)
        .await;
}

/// The socket the hub may write notifications to while the session is idle:
/// a duplicate of a plain TCP connection (a TLS stream's state cannot be
/// shared, so those take every notification through the session's queue).
fn direct_socket(socket: &Socket) -> Option<Arc<DirectSocket>> {
    use std::os::fd::AsFd;
    let MaybeTls::Plain(tcp) = socket.get_ref() else {
        return None;
    };
    let fd = tcp.as_fd().try_clone_to_owned().ok()?;
    Some(DirectSocket::new(std::net::TcpStream::from(fd)))
}

/// Removes a session from the cancel registry when its connection ends.
struct Registered<'a> {
    frontend: &'a Frontend,
    pid: i32,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.frontend
            .cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.pid);
    }
}

impl Frontend {
    fn register(&self, pid: i32, secret: SecretKey, slot: CancelSlot) -> Registered<'_> {
        self.cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pid, (secret, slot));
        Registered {
            frontend: self,
            pid,
        }
    }

    /// A CancelRequest: interrupts the statement of the session with that PID
    /// if the secret key matches. As in Postgres, nothing is answered.
    fn cancel(&self, request: &pgwire::messages::cancel::CancelRequest) {
        let slot = self
            .cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&request.pid)
            .filter(|(secret, _)| key_bytes(secret) == key_bytes(&request.secret_key))
            .map(|(_, slot)| slot.clone());
        tracing::debug!(
            pid = request.pid,
            matched = slot.is_some(),
            "cancel request"
        );
        if let Some(slot) = slot {
            slot.cancel();
        }
    }
}

/// A secret key as sent on the wire: a CancelRequest's key decodes as bytes
/// even when BackendKeyData sent it as an i32.
fn key_bytes(key: &SecretKey) -> Vec<u8> {
    match key {
        SecretKey::I32(i) => i.to_be_bytes().to_vec(),
        SecretKey::Bytes(b) => b.to_vec(),
    }
}

/// Runs the startup handshake; true when the client is logged in.
async fn authenticate(
    socket: &mut Socket,
    frontend: &Frontend,
    pid: i32,
    secret: SecretKey,
) -> bool {
    match &frontend.users {
        Some(users) => {
            let handler = SASLAuthStartupHandler::new(Arc::new(Parameters))
                .with_scram(ScramAuth::new(users.clone()))
                .with_pid_secret_key_generator(Arc::new(FixedPid(pid, secret)));
            drive_startup(socket, &handler, frontend).await
        }
        None => drive_startup(socket, &Trust { pid, secret }, frontend).await,
    }
}

async fn drive_startup<H: StartupHandler>(
    socket: &mut Socket,
    handler: &H,
    frontend: &Frontend,
) -> bool {
    while let Some(message) = socket.next().await {
        let Ok(message) = message else { return false };
        if let PgWireFrontendMessage::CancelRequest(request) = &message {
            frontend.cancel(request);
            return false;
        }
        if let Err(e) = handler.on_startup(socket, message).await {
            let _ = process_error(socket, e, false).await;
            return false;
        }
        if matches!(socket.state(), PgWireConnectionState::ReadyForQuery) {
            return true;
        }
    }
    false
}

/// Our backend PIDs are per-connection counters, so `pg_backend_pid()`, the
/// BackendKeyData and (later) notification senders agree.
struct FixedPid(i32, SecretKey);

impl PidSecretKeyGenerator for FixedPid {
    fn generate(&self, _client: &dyn ClientInfo) -> (i32, SecretKey) {
        (self.0, self.1.clone())
    }
}

/// Trusts every login (the default on loopback).
struct Trust {
    pid: i32,
    secret: SecretKey,
}

#[async_trait]
impl StartupHandler for Trust {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let PgWireFrontendMessage::Startup(ref startup) = message {
            protocol_negotiation(client, startup).await?;
            save_startup_parameters_to_metadata(client, startup);
            client.set_pid_and_secret_key(self.pid, self.secret.clone());
            finish_authentication(client, &Parameters).await?;
        }
        Ok(())
    }
}

/// The ParameterStatus values sent at startup.
struct Parameters;

impl ServerParameterProvider for Parameters {
    fn server_parameters<C: ClientInfo>(&self, client: &C) -> Option<HashMap<String, String>> {
        let defaults = settings::Settings::default();
        let mut params: HashMap<String, String> = settings::REPORTED
            .iter()
            .map(|(reported, name)| (reported.to_string(), defaults.get(name).unwrap_or_default()))
            .collect();
        if let Some(app) = client.metadata().get("application_name") {
            params.insert("application_name".into(), app.clone());
        }
        if let Some(user) = client.metadata().get("user") {
            params.insert("session_authorization".into(), user.clone());
        }
        Some(params)
    }
}
