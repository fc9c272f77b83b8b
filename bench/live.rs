//! Live-query benchmark (issue 7). Run with `bash bench/live.sh`, which
//! starts a release litewire and sets LIVE_PG, LIVE_HTTP and LIVE_SERVER_PID.
//!
//! For N indexed subscriptions (LIVE_SUBS, default 1,1000,10000), each
//! `SELECT * FROM events WHERE user_id = $1` with a distinct user, spread over
//! up to 20 WebSocket connections:
//! - memory per subscription: (server RSS after subscribing - before) / N;
//! - commit -> diff latency: LIVE_RATE writes/s (default 1000) for LIVE_SECS
//!   seconds (default 5), each an autocommit INSERT for a random subscribed
//!   user carrying its send time; every write is exactly one diff, and its
//!   latency is the time from sending the INSERT to receiving the diff;
//! - sustained writes/s: INSERTs as fast as one connection commits them for
//!   3 s, with the N subscriptions attached, against the same without any
//!   subscription (measured first).
//!
//! Client and server share the machine's cores. Nothing is asserted.

#[path = "common.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{env, now_ns, number_after, percentile, pg, rss_kib};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const SOCKETS: usize = 20;
const MAX_PHASE: Duration = Duration::from_secs(3);

/// One socket holding `users` subscriptions; reports each diff's send time.
async fn socket(
    http: String,
    users: Vec<u64>,
    epoch: Instant,
    ready: Arc<AtomicUsize>,
    latencies: mpsc::UnboundedSender<f64>,
) {
    let ws = common::ws_connect(&http).await.expect("websocket");
    let (mut tx, mut rx) = ws.split();
    let send = async move {
        for user in users {
            let request = json!({"type": "subscribe",
                "query": "SELECT * FROM events WHERE user_id = $1", "params": [user]});
            if tx
                .send(Message::Text(request.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
        // Keep the socket alive through the heartbeat timeout.
        loop {
            tokio::time::sleep(Duration::from_secs(20)).await;
            if tx
                .send(Message::Text(r#"{"type":"ping"}"#.into()))
                .await
                .is_err()
            {
                return;
            }
        }
    };
    let receive = async move {
        while let Some(Ok(frame)) = rx.next().await {
            let Message::Text(text) = frame else { continue };
            let received = now_ns(epoch);
            if text.starts_with(r#"{"type":"ready""#) {
                ready.fetch_add(1, Ordering::Relaxed);
            } else if text.starts_with(r#"{"type":"diff""#)
                && let Some(sent) = number_after(&text, r#""sent":"#)
            {
                let _ = latencies.send((received - sent) as f64 / 1e6);
            }
        }
    };
    tokio::join!(send, receive);
}

/// Inserts for `duration`, paced at `rate` per second (unpaced when None);
/// returns how many were written.
async fn write(
    db: &tokio_postgres::Client,
    users: u64,
    rate: Option<u64>,
    duration: Duration,
    epoch: Instant,
) -> u64 {
    let insert = db
        .prepare("INSERT INTO events (user_id, v, sent) VALUES ($1, $2, $3)")
        .await
        .unwrap();
    let start = Instant::now();
    let mut written = 0u64;
    let mut seed = 0x9e3779b97f4a7c15u64;
    while start.elapsed() < duration {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(written as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let user = (seed % users.max(1)) as i32;
        db.execute(
            &insert,
            &[&user, &(written as i32), &(now_ns(epoch) as i64)],
        )
        .await
        .unwrap();
        written += 1;
    }
    written
}

async fn collect(rx: &mut mpsc::UnboundedReceiver<f64>, expected: u64) -> Vec<f64> {
    let mut latencies = Vec::with_capacity(expected as usize);
    while (latencies.len() as u64) < expected {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(l)) => latencies.push(l),
            _ => break,
        }
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn main() {
    common::run_with_server("LIVE_HTTP", "bench/live.sh", || async {
        let epoch = Instant::now();
        let (http, pid) = (env("LIVE_HTTP"), env("LIVE_SERVER_PID"));
        let db = pg(&env("LIVE_PG")).await;
        db.batch_execute(
            "CREATE TABLE events (id bigserial PRIMARY KEY, user_id int, v int, sent bigint)",
        )
        .await
        .unwrap();
        let rate: u64 = std::env::var("LIVE_RATE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let secs: u64 = std::env::var("LIVE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5);
        let baseline =
            write(&db, 1000, None, MAX_PHASE, epoch).await as f64 / MAX_PHASE.as_secs_f64();
        println!(
            "| subscriptions | memory per subscription | writes/s offered | diffs received | p50 ms | p99 ms | max writes/s with / without |"
        );
        println!("|---|---|---|---|---|---|---|");
        let counts: Vec<u64> = std::env::var("LIVE_SUBS")
            .unwrap_or_else(|_| "1,1000,10000".into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        for n in counts {
            let before = rss_kib(&pid);
            let ready = Arc::new(AtomicUsize::new(0));
            let (tx, mut rx) = mpsc::unbounded_channel();
            let sockets = SOCKETS.min(n as usize).max(1);
            let tasks: Vec<_> = (0..sockets)
                .map(|s| {
                    let users: Vec<u64> = (0..n).filter(|u| (*u as usize) % sockets == s).collect();
                    tokio::spawn(socket(
                        http.clone(),
                        users,
                        epoch,
                        ready.clone(),
                        tx.clone(),
                    ))
                })
                .collect();
            let started = Instant::now();
            while (ready.load(Ordering::Relaxed) as u64) < n
                && started.elapsed() < Duration::from_secs(300)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let per_sub = rss_kib(&pid).saturating_sub(before) as f64 * 1024.0 / n as f64;
            let written = write(&db, n, Some(rate), Duration::from_secs(secs), epoch).await;
            let latencies = collect(&mut rx, written).await;
            let max_written = write(&db, n, None, MAX_PHASE, epoch).await;
            let max = max_written as f64 / MAX_PHASE.as_secs_f64();
            let _ = collect(&mut rx, max_written).await;
            println!(
                "| {n} | {:.0} B | {rate} | {}/{written} | {:.2} | {:.2} | {max:.0} / {baseline:.0} ({:.0} %) |",
                per_sub,
                latencies.len(),
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
                max / baseline * 100.0
            );
            for t in tasks {
                t.abort();
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}
