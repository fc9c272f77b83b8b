#![allow(dead_code)] // each test crate uses a different subset of the helpers
//! Starts a real litewire server on an ephemeral port for a test.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use litewire::config::Config;
use tokio_postgres::{Client, NoTls};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty data directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "litewire-test-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub async fn start_with(config: Config) -> litewire::Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    litewire::start(config, listener).await.unwrap()
}

pub async fn start() -> litewire::Server {
    start_with(Config::new(temp_dir("srv"))).await
}

pub async fn connect(server: &litewire::Server) -> Client {
    connect_as(server, "postgres", None).await.unwrap()
}

pub async fn connect_as(
    server: &litewire::Server,
    user: &str,
    password: Option<&str>,
) -> Result<Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(server.pg_addr.port())
        .user(user)
        .dbname("postgres");
    if let Some(p) = password {
        config.password(p);
    }
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The rows of a simple-protocol result, as the text Postgres prints.
pub fn simple_rows(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// The SQLSTATE of a failed query.
pub fn code(err: &tokio_postgres::Error) -> String {
    err.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no code: {err}"))
}

/// A client whose asynchronous notifications arrive on the returned receiver.
pub async fn connect_listening(
    server: &litewire::Server,
) -> (
    Client,
    tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
) {
    let (client, mut connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(server.pg_addr.port())
        .user("postgres")
        .connect(NoTls)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = futures::StreamExt::next(&mut messages).await {
            if let tokio_postgres::AsyncMessage::Notification(n) = message {
                let _ = tx.send(n);
            }
        }
    });
    (client, rx)
}

/// Waits for the next notification (generously: it only fails a broken test).
pub async fn next_notification(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
) -> (String, String, i32) {
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("a notification")
        .unwrap();
    (
        n.channel().to_string(),
        n.payload().to_string(),
        n.process_id(),
    )
}

/// Nothing is pending: a round trip on the listener's own connection flushes
/// anything already sent to it, and then the queue must be empty.
pub async fn assert_none(
    client: &tokio_postgres::Client,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
) {
    client.simple_query("SELECT 1").await.unwrap();
    assert!(rx.try_recv().is_err(), "unexpected notification");
}

/// Waits until `done` holds (generously: it only fails a broken test).
pub async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("never came true: {what}");
}

/// A server with the WebSocket gateway on an ephemeral HTTP port.
pub async fn start_realtime(config: Config) -> litewire::Server {
    let pg = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    litewire::start_with(
        config,
        litewire::Listeners {
            pg,
            http: Some(http),
        },
    )
    .await
    .unwrap()
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client on the server's `/ws` (with `?token=` when given).
pub async fn ws_connect(server: &litewire::Server, token: Option<&str>) -> Ws {
    let mut url = format!("ws://{}/ws", server.http_addr.expect("http listener"));
    if let Some(token) = token {
        url.push_str(&format!("?token={token}"));
    }
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

pub async fn ws_send(ws: &mut Ws, message: serde_json::Value) {
    use futures::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        message.to_string().into(),
    ))
    .await
    .unwrap();
}

/// The next JSON frame; `None` when the server closed the connection.
pub async fn ws_next(ws: &mut Ws) -> Option<serde_json::Value> {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s");
        match frame {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

/// The next frame of `kind` (`ack`, `diff`, ...), skipping others.
pub async fn ws_next_of(ws: &mut Ws, kind: &str) -> serde_json::Value {
    loop {
        let frame = ws_next(ws).await.expect("connection open");
        if frame["type"] == kind {
            return frame;
        }
    }
}

/// Sends a request and returns its reply (`ack` or `error`).
pub async fn ws_request(ws: &mut Ws, id: i64, mut message: serde_json::Value) -> serde_json::Value {
    message["id"] = id.into();
    ws_send(ws, message).await;
    loop {
        let frame = ws_next(ws).await.expect("connection open");
        if frame["id"] == id && (frame["type"] == "ack" || frame["type"] == "error") {
            return frame;
        }
    }
}

/// Runs `sql` in the `sqlite3` shell (another process) on the server's
/// database file; `false` when the shell is not installed.
pub fn sqlite3_shell(data_dir: &std::path::Path, sql: &str) -> bool {
    if std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_err()
    {
        eprintln!("sqlite3 shell not installed; skipping");
        return false;
    }
    let status = std::process::Command::new("sqlite3")
        .arg(data_dir.join("litewire.db"))
        .arg(format!("PRAGMA busy_timeout = 5000; {sql}"))
        .status()
        .unwrap();
    assert!(status.success(), "sqlite3 failed");
    true
}

/// An HS256 token signed with `secret`, valid for ten minutes.
pub fn signed_token(secret: &str, mut claims: serde_json::Value) -> String {
    claims["exp"] = (chrono::Utc::now().timestamp() + 600).into();
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}
