//! WebSocket fan-out and change-capture overhead (issue 6). Run with
//! `bash bench/ws.sh`, which starts a release litewire and sets:
//!
//!   WS_PG, WS_HTTP   the wire and HTTP addresses
//!   WS_SERVER_PID    the server's pid (its RSS is read from /proc)
//!   WS_DB            its database file (the sqlite3 shell drops the capture
//!                    triggers of one table to measure writes without them)
//!   WS_CLIENTS       client counts N, comma separated (default 1000,10000)
//!   WS_EVENTS        events published per phase (default 20)
//!
//! For each N: N WebSocket clients connect, each LISTENs on a channel and
//! subscribes to a table feed, then
//! - idle memory: (server RSS after - before) / N;
//! - channel fan-out: a tokio-postgres client sends WS_EVENTS `pg_notify`s,
//!   one every 250 ms, the payload its send time; every client measures
//!   send -> receive;
//! - table feed fan-out: the same with rows inserted (the send time in a column),
//!   measured insert -> diff received;
//!
//! reporting deliveries/s (deliveries / time from the first send to the last
//! receipt), p50/p99 latency over all deliveries, and each event's own p99
//! (the median event's and the worst's: a stall of the shared machine during
//! one event shows there, not as a shift of every event). Then the write overhead: rounds of 300
//! autocommit inserts and one transaction of 1,000 inserts into a captured
//! table and into an identical table without capture triggers, back to back;
//! the medians of the rates and of the per-round overheads.
//!
//! Client and server share the machine's cores, so latencies include the
//! client's own work. Nothing is asserted; figures are printed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "common.rs"]
mod common;

use common::{cpu_secs, env, now_ns, number_after, percentile, pg, rss_kib};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const CONNECT_CONCURRENCY: usize = 64;
const EVENT_GAP: Duration = Duration::from_millis(250);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

struct Sample {
    sent_ns: u64,
    received_ns: u64,
}

/// Opens one client: LISTEN `fanout`, subscribe to `ticks`; then reports each
/// notification's and diff's send time as it arrives.
async fn client(
    http: String,
    epoch: Instant,
    samples: mpsc::UnboundedSender<(bool, Sample)>,
    ready: Arc<AtomicUsize>,
) {
    let mut ws = match common::ws_connect(&http).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("connect failed: {e}");
            return;
        }
    };
    for request in [
        json!({"id": 1, "type": "listen", "channel": "fanout"}),
        json!({"id": 2, "type": "subscribe", "table": "ticks"}),
    ] {
        if ws
            .send(Message::Text(request.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
    let mut acks = 0;
    let mut heartbeat = tokio::time::interval(Duration::from_secs(20));
    loop {
        let frame = tokio::select! {
            frame = ws.next() => frame,
            _ = heartbeat.tick() => {
                let _ = ws.send(Message::Text(r#"{"type":"ping"}"#.into())).await;
                continue;
            }
        };
        let Some(Ok(Message::Text(text))) = frame else {
            if matches!(frame, Some(Ok(_))) {
                continue;
            }
            return;
        };
        let received_ns = now_ns(epoch);
        // The client only reads the send time, without parsing whole frames,
        // so that its own work (on the same cores as the server) stays small.
        let (channel, sent) = if text.starts_with(r#"{"type":"ack""#) {
            acks += 1;
            if acks == 2 {
                ready.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        } else if text.starts_with(r#"{"type":"notification""#) {
            (true, number_after(&text, r#""payload":""#))
        } else if text.starts_with(r#"{"type":"diff""#) {
            (false, number_after(&text, r#""sent":"#))
        } else {
            continue;
        };
        if let Some(sent_ns) = sent {
            let _ = samples.send((
                channel,
                Sample {
                    sent_ns,
                    received_ns,
                },
            ));
        }
    }
}

struct Fanout {
    deliveries_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Each event's own p99 (one fan-out to every client): the median event's
    /// and the worst event's.
    event_p99_ms: (f64, f64),
    received: usize,
    expected: usize,
}

async fn collect(
    rx: &mut mpsc::UnboundedReceiver<(bool, Sample)>,
    channel: bool,
    expected: usize,
    first_sent: u64,
) -> Fanout {
    let mut latencies = Vec::with_capacity(expected);
    // Latencies by event (its send time).
    let mut events: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    let mut last = first_sent;
    while latencies.len() < expected {
        match tokio::time::timeout(DRAIN_TIMEOUT, rx.recv()).await {
            Ok(Some((c, s))) if c == channel => {
                last = last.max(s.received_ns);
                let ms = (s.received_ns - s.sent_ns) as f64 / 1e6;
                latencies.push(ms);
                events.entry(s.sent_ns).or_default().push(ms);
            }
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let mut event_p99: Vec<f64> = events
        .into_values()
        .map(|mut event| {
            event.sort_by(f64::total_cmp);
            percentile(&event, 0.99)
        })
        .collect();
    event_p99.sort_by(f64::total_cmp);
    latencies.sort_by(f64::total_cmp);
    let secs = (last - first_sent) as f64 / 1e9;
    Fanout {
        deliveries_per_s: latencies.len() as f64 / secs.max(1e-9),
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        event_p99_ms: (
            percentile(&event_p99, 0.5),
            event_p99.last().copied().unwrap_or(0.0),
        ),
        received: latencies.len(),
        expected,
    }
}

async fn run_clients(n: usize, events: usize, epoch: Instant) {
    let (http, pg_addr, pid) = (env("WS_HTTP"), env("WS_PG"), env("WS_SERVER_PID"));
    let db = pg(&pg_addr).await;
    let before = rss_kib(&pid);
    let ready = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::with_capacity(n);
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(CONNECT_CONCURRENCY) {
        for _ in chunk {
            tasks.push(tokio::spawn(client(
                http.clone(),
                epoch,
                tx.clone(),
                ready.clone(),
            )));
        }
        while ready.load(Ordering::Relaxed) < tasks.len()
            && started.elapsed() < Duration::from_secs(300)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let connected = ready.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(&pid);
    let per_conn = (after.saturating_sub(before)) as f64 / connected.max(1) as f64;

    for channel in [true, false] {
        let first = now_ns(epoch);
        let cpu = cpu_secs(&pid);
        for _ in 0..events {
            let sent = now_ns(epoch);
            if channel {
                db.execute("SELECT pg_notify('fanout', $1)", &[&sent.to_string()])
                    .await
                    .unwrap();
            } else {
                db.execute("INSERT INTO ticks (sent) VALUES ($1)", &[&(sent as i64)])
                    .await
                    .unwrap();
            }
            tokio::time::sleep(EVENT_GAP).await;
        }
        let f = collect(&mut rx, channel, events * connected, first).await;
        let cpu_per_delivery = (cpu_secs(&pid) - cpu) * 1e6 / f.received.max(1) as f64;
        println!(
            "| {n} | {connected} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} / {:.1} | {}/{} | {cpu_per_delivery:.1} |",
            if channel {
                format!("{per_conn:.1} KiB")
            } else {
                String::new()
            },
            if channel { "channel" } else { "table feed" },
            f.deliveries_per_s,
            f.p50_ms,
            f.p99_ms,
            f.event_p99_ms.0,
            f.event_p99_ms.1,
            f.received,
            f.expected
        );
    }
    for t in tasks {
        t.abort();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// Rounds of the write-overhead measurement; each times both tables back to
/// back, so a slow stretch of the disk (fsync times vary several-fold on a
/// shared machine) hits one round's pair, not one table.
const OVERHEAD_ROUNDS: usize = 15;
const AUTOCOMMIT_ROWS: i64 = 300;
const TX_ROWS: i64 = 1000;

/// Rows/s of `rows` autocommit inserts and of one transaction of `TX_ROWS`.
async fn insert_rate(db: &tokio_postgres::Client, table: &str) -> (f64, f64) {
    let stmt = db
        .prepare(&format!(
            "INSERT INTO {table} (a, b, c) VALUES ($1, $2, $3)"
        ))
        .await
        .unwrap();
    let start = Instant::now();
    for i in 0..AUTOCOMMIT_ROWS {
        db.execute(&stmt, &[&i, &format!("row {i}"), &(i as f64 * 1.5)])
            .await
            .unwrap();
    }
    let autocommit = AUTOCOMMIT_ROWS as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    db.batch_execute("BEGIN").await.unwrap();
    for i in 0..TX_ROWS {
        db.execute(&stmt, &[&i, &"in a transaction", &1.0f64])
            .await
            .unwrap();
    }
    db.batch_execute("COMMIT").await.unwrap();
    (autocommit, TX_ROWS as f64 / start.elapsed().as_secs_f64())
}

/// One row of the overhead table: the medians of the rounds' rates and of
/// their per-round overheads.
fn overhead_row(what: &str, with: &mut [f64], without: &mut [f64]) {
    let mut overheads: Vec<f64> = with
        .iter()
        .zip(without.iter())
        .map(|(w, wo)| (1.0 - w / wo) * 100.0)
        .collect();
    for v in [&mut overheads[..], with, without] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "| {what} | {:.0} | {:.0} | {:.0} % (rounds: {:.0} to {:.0} %) |",
        percentile(without, 0.5),
        percentile(with, 0.5),
        percentile(&overheads, 0.5),
        overheads[0],
        overheads[overheads.len() - 1]
    );
}

async fn capture_overhead() {
    let db = pg(&env("WS_PG")).await;
    for table in ["captured", "uncaptured"] {
        db.batch_execute(&format!(
            "CREATE TABLE {table} (id bigserial PRIMARY KEY, a bigint, b text, c double precision)"
        ))
        .await
        .unwrap();
    }
    let status = std::process::Command::new("sqlite3")
        .arg(env("WS_DB"))
        .arg("PRAGMA busy_timeout = 5000; DROP TRIGGER _lw_capture_uncaptured_insert; \
              DROP TRIGGER _lw_capture_uncaptured_update; DROP TRIGGER _lw_capture_uncaptured_delete;")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("sqlite3 shell");
    assert!(status.success());
    let (mut with, mut without) = ([vec![], vec![]], [vec![], vec![]]);
    for round in 0..OVERHEAD_ROUNDS {
        // Alternate which table goes first, so neither always follows the other.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for captured in order {
            let table = if captured { "captured" } else { "uncaptured" };
            let (autocommit, tx) = insert_rate(&db, table).await;
            let rates = if captured { &mut with } else { &mut without };
            rates[0].push(autocommit);
            rates[1].push(tx);
        }
    }
    println!(
        "\n| writes ({OVERHEAD_ROUNDS} rounds, medians) | without capture (rows/s) | with capture (rows/s) | overhead |"
    );
    println!("|---|---|---|---|");
    let [with_auto, with_tx] = &mut with;
    let [without_auto, without_tx] = &mut without;
    overhead_row(
        &format!("autocommit, {AUTOCOMMIT_ROWS} rows of 1"),
        with_auto,
        without_auto,
    );
    overhead_row(
        &format!("one transaction of {TX_ROWS} rows"),
        with_tx,
        without_tx,
    );
}

fn main() {
    common::run_with_server("WS_HTTP", "bench/ws.sh", || async {
        let epoch = Instant::now();
        let db = pg(&env("WS_PG")).await;
        db.batch_execute("CREATE TABLE ticks (id bigserial PRIMARY KEY, sent bigint)")
            .await
            .unwrap();
        let counts: Vec<usize> = std::env::var("WS_CLIENTS")
            .unwrap_or_else(|_| "1000,10000".into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        let events: usize = std::env::var("WS_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20);
        println!(
            "| N | connected | server RSS per idle connection | fan-out of | deliveries/s | p50 ms | p99 ms | one event's p99 ms (median / worst event) | received/expected | server CPU µs per delivery |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for n in counts {
            run_clients(n, events, epoch).await;
        }
        capture_overhead().await;
    });
}
