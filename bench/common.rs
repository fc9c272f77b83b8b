//! Helpers shared by the realtime benchmarks (`bench/ws.rs`, `bench/live.rs`):
//! reading the server process's memory and CPU from /proc, timestamps that
//! travel in payloads, percentiles, and a wire client.

#![allow(dead_code)] // each bench uses a different subset

use std::time::Instant;

use tokio_postgres::NoTls;

pub fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run it through its bench/*.sh script"))
}

pub fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds the server process has used (user + system).
pub fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/pid/stat (1-based), at
    // 100 ticks per second.
    (ticks(11) + ticks(12)) / 100.0
}

/// Nanoseconds since the bench started: send times travel in payloads.
pub fn now_ns(epoch: Instant) -> u64 {
    epoch.elapsed().as_nanos() as u64
}

/// The decimal number right after `key` in `text`.
pub fn number_after(text: &str, key: &str) -> Option<u64> {
    let start = text.find(key)? + key.len();
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Opens a WebSocket to the gateway at `http`. The client reads with a 4 KiB
/// buffer, as the server does: tungstenite's 128 KiB default zeroes the whole
/// buffer on every read, which made each benchmark client spend more CPU on
/// `memset` than on everything else (on the same cores as the server).
pub async fn ws_connect(
    http: &str,
) -> tokio_tungstenite::tungstenite::Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let config =
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) =
        tokio_tungstenite::connect_async_with_config(format!("ws://{http}/ws"), Some(config), true)
            .await?;
    Ok(ws)
}

pub async fn pg(addr: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host={} port={} user=postgres",
            addr.split(':').next().unwrap(),
            addr.split(':').nth(1).unwrap()
        ),
        NoTls,
    )
    .await
    .expect("wire connection");
    tokio::spawn(conn);
    client
}

/// Runs a bench's async body on a multi-threaded runtime, if the bench script
/// started a server (`var` is set); otherwise says how to run it.
pub fn run_with_server<F: std::future::Future<Output = ()>>(
    var: &str,
    script: &str,
    body: impl FnOnce() -> F,
) {
    if std::env::var(var).is_err() {
        eprintln!("run this bench through {script} (it needs a running server)");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(body());
}
