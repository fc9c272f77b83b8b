//! LISTEN/NOTIFY fan-out benchmark: litewire vs. PostgreSQL 15, side by side in
//! one run.
//!
//!     bash bench/fanout.sh                      # starts both servers, runs this
//!     FANOUT_TARGETS="postgres=127.0.0.1:5433,litewire=127.0.0.1:5434" \
//!         cargo bench --bench fanout            # against servers already running
//!
//! For each target and each listener count L (default 10, 100, 1000):
//!
//! - L listener connections (user `postgres`) run `LISTEN fanout`; each one's
//!   notifications are received by polling its `Connection` with `poll_message`
//!   in a spawned task;
//! - P = 2 publisher connections each send M autocommit
//!   `SELECT pg_notify('fanout', $1)`, one after the other, the payload being the
//!   send time (nanoseconds since an `Instant` shared by the whole process);
//! - variant `tx` (at L = 10): each publish is instead
//!   `BEGIN; INSERT INTO fanout_rows (n) VALUES ($1); SELECT pg_notify(...); COMMIT`;
//! - variant `write`: the same transactions with `SELECT $1::text` in place of
//!   the NOTIFY (the same round trips, nothing sent), whose commit
//!   rate the `tx` row is judged against. The issue asks that notifying adds
//!   no second bottleneck beyond litewire's single writer, where Postgres
//!   serializes notifying commits on a global lock: NOTIFY must cost
//!   litewire's commit rate (`tx` / `write`) no more than it costs Postgres's.
//!
//! Measured: publish msg/s (published / publishers' wall time), deliveries/s
//! (received across all listeners / time from the first send to the last
//! receipt), p50 / p99 publish->receive latency over all deliveries, and lost
//! deliveries (published x L minus received, once every delivery arrived, or no
//! delivery arrived for 3 s, or 10 s passed after the last publish).
//!
//! M = max(50, FANOUT_DELIVERIES / (P x L)) per publisher (FANOUT_DELIVERIES
//! defaults to 200,000), but a publisher stops early after FANOUT_PUBLISH_SECS
//! (default 8) seconds so a slow target cannot stretch the run; "published" in
//! the table is what was actually sent.
//!
//! Issue target: litewire >= 1.5x PostgreSQL deliveries/s and litewire p99 <=
//! PostgreSQL p99 on every `notify` row, and 0 lost at L = 1000. Nothing is asserted; the
//! figures are printed only.
//!
//! Environment:
//!   FANOUT_TARGETS     `name=host:port,...` (default: a litewire started
//!                      in-process on a temp dir, named `litewire`)
//!   FANOUT_LISTENERS   listener counts, comma separated (default 10,100,1000)
//!   FANOUT_TX_LISTENERS  L for the `tx` variant (default 10; 0 skips it)
//!   FANOUT_PUBLISHERS  P (default 2)
//!   FANOUT_DELIVERIES  deliveries aimed at per run (default 200000)
//!   FANOUT_PUBLISH_SECS  cap on each publisher's sending time (default 8)
//!
//! Under `cargo test --benches` (no `--bench` argument) it runs a smoke version:
//! L = 10, 20 messages per publisher, against an in-process litewire unless
//! FANOUT_TARGETS is set.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_postgres::{AsyncMessage, Client, NoTls};

const CHANNEL: &str = "fanout";
const DELIVERY_TARGET: f64 = 1.5;
const QUIESCENCE_MAX: Duration = Duration::from_secs(10);
const QUIESCENCE_STALL: Duration = Duration::from_secs(3);
/// Concurrent connection attempts while opening the listeners.
const CONNECT_CONCURRENCY: usize = 32;
/// Bound on one connection's TCP connect + startup handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const SKIPPED: &str = "skipped";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .filter(|&n| n > 0)
            .collect(),
        _ => default.to_vec(),
    }
}

/// A fresh, empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "litewire-bench-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Clone)]
struct Target {
    name: String,
    host: String,
    port: u16,
}

fn parse_targets(spec: &str) -> Vec<Target> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (name, addr) = item
                .split_once('=')
                .unwrap_or_else(|| panic!("FANOUT_TARGETS item {item:?}: expected name=host:port"));
            let (host, port) = addr
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("FANOUT_TARGETS item {item:?}: expected name=host:port"));
            Target {
                name: name.trim().to_string(),
                host: host.trim().to_string(),
                port: port
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("FANOUT_TARGETS item {item:?}: bad port")),
            }
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// Autocommit `SELECT pg_notify('fanout', $1)`.
    Notify,
    /// `BEGIN; INSERT ...; SELECT pg_notify(...); COMMIT`.
    Tx,
    /// `BEGIN; INSERT ...; SELECT $1::text; COMMIT`: the commit rate `Tx` is
    /// judged against.
    Write,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Notify => "notify",
            Variant::Tx => "tx",
            Variant::Write => "write",
        }
    }

    fn notifies(self) -> bool {
        self != Variant::Write
    }

    fn writes(self) -> bool {
        self != Variant::Notify
    }
}

struct Params {
    publishers: usize,
    deliveries: u64,
    publish_cap: Duration,
    /// Fixed M (smoke run) instead of the formula.
    fixed_m: Option<u64>,
}

/// What the listener tasks share with the driver.
struct Shared {
    base: Instant,
    received: AtomicU64,
    /// Latest receipt, nanoseconds since `base`.
    last_recv: AtomicU64,
    /// Listener connections that ended (error or close) before the run was over.
    ended_early: AtomicUsize,
    /// Warm-up notifications received.
    warm: AtomicU64,
}

struct Outcome {
    target: String,
    listeners: usize,
    variant: Variant,
    published: u64,
    publish_errors: u64,
    first_error: Option<String>,
    publish_rate: f64,
    delivery_rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    lost: i64,
    ended_early: usize,
}

enum Row {
    Done(Outcome),
    Failed {
        target: String,
        listeners: usize,
        variant: Variant,
        error: String,
    },
}

impl Row {
    fn key(&self) -> (usize, Variant) {
        match self {
            Row::Done(o) => (o.listeners, o.variant),
            Row::Failed {
                listeners, variant, ..
            } => (*listeners, *variant),
        }
    }
    fn target(&self) -> &str {
        match self {
            Row::Done(o) => &o.target,
            Row::Failed { target, .. } => target,
        }
    }
}

async fn connect(
    target: &Target,
) -> Result<
    (
        Client,
        tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
    ),
    String,
> {
    // `connect_timeout` covers only the TCP connect; a server that accepts the
    // socket but never answers the startup message would hang us, so the whole
    // handshake is bounded.
    let mut config = tokio_postgres::Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .user("postgres")
        .dbname("postgres")
        .connect_timeout(CONNECT_TIMEOUT);
    let connecting = config.connect(NoTls);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(r) => r.map_err(|e| format!("connect {}:{}: {e}", target.host, target.port)),
        Err(_) => Err(format!(
            "connect {}:{}: no answer to the startup message within {} s",
            target.host,
            target.port,
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

/// Opens one listener: connects, spawns the task polling its connection, runs
/// `LISTEN fanout`. Latencies (ns) are pushed into `samples`.
async fn open_listener(
    target: Target,
    shared: Arc<Shared>,
    samples: Arc<Mutex<Vec<u64>>>,
    done: Arc<std::sync::atomic::AtomicBool>,
) -> Result<(Client, tokio::task::JoinHandle<()>), String> {
    let (client, mut connection) = connect(&target).await?;
    let task = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        loop {
            match messages.next().await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    let now = shared.base.elapsed().as_nanos() as u64;
                    match n.payload().parse::<u64>() {
                        Ok(sent) => {
                            samples
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(now.saturating_sub(sent));
                            shared.last_recv.fetch_max(now, Ordering::AcqRel);
                            shared.received.fetch_add(1, Ordering::AcqRel);
                        }
                        Err(_) => {
                            shared.warm.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    if !done.load(Ordering::Acquire) {
                        shared.ended_early.fetch_add(1, Ordering::AcqRel);
                    }
                    break;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| format!("LISTEN: {e}"))?;
    Ok((client, task))
}

struct PubResult {
    sent: u64,
    errors: u64,
    first_error: Option<String>,
    start_ns: u64,
    end_ns: u64,
}

async fn publisher(
    target: Target,
    variant: Variant,
    id: usize,
    m: u64,
    cap: Duration,
    base: Instant,
    go: Arc<tokio::sync::Barrier>,
) -> Result<PubResult, String> {
    let (mut client, connection) = connect(&target).await?;
    let conn_task = tokio::spawn(connection);
    // `write` runs a statement that does nothing in place of the NOTIFY, so
    // both variants make the same round trips.
    let sql = if variant.notifies() {
        "SELECT pg_notify('fanout', $1)"
    } else {
        "SELECT $1::text"
    };
    let notify = client
        .prepare(sql)
        .await
        .map_err(|e| format!("prepare {sql}: {e}"))?;
    let insert = if variant.writes() {
        Some(
            client
                .prepare("INSERT INTO fanout_rows (n) VALUES ($1)")
                .await
                .map_err(|e| format!("prepare insert: {e}"))?,
        )
    } else {
        None
    };
    go.wait().await;
    let start = Instant::now();
    let start_ns = base.elapsed().as_nanos() as u64;
    let (mut sent, mut errors, mut first_error) = (0u64, 0u64, None);
    for i in 0..m {
        if start.elapsed() > cap {
            break;
        }
        let payload = (base.elapsed().as_nanos() as u64).to_string();
        let result = match &insert {
            None => client.execute(&notify, &[&payload]).await.map(|_| ()),
            Some(insert) => {
                let n = (id as i64 * 10_000_000 + i as i64) as i32;
                async {
                    let tx = client.transaction().await?;
                    tx.execute(insert, &[&n]).await?;
                    tx.execute(&notify, &[&payload]).await?;
                    tx.commit().await
                }
                .await
            }
        };
        match result {
            Ok(()) => sent += 1,
            Err(e) => {
                errors += 1;
                if first_error.is_none() {
                    first_error = Some(e.to_string());
                }
                if client.is_closed() {
                    break;
                }
            }
        }
    }
    let end_ns = base.elapsed().as_nanos() as u64;
    drop(client);
    let _ = conn_task.await;
    Ok(PubResult {
        sent,
        errors,
        first_error,
        start_ns,
        end_ns,
    })
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

async fn run_one(target: &Target, listeners: usize, variant: Variant, params: &Params) -> Row {
    match run_one_inner(target, listeners, variant, params).await {
        Ok(o) => o,
        Err(error) => Row::Failed {
            target: target.name.clone(),
            listeners,
            variant,
            error,
        },
    }
}

async fn run_one_inner(
    target: &Target,
    listeners: usize,
    variant: Variant,
    params: &Params,
) -> Result<Row, String> {
    let p = params.publishers;
    let m = params
        .fixed_m
        .unwrap_or_else(|| (params.deliveries / (p as u64 * listeners as u64)).max(50));
    eprintln!(
        "[fanout] {}: L={listeners} variant={} P={p} M={m}: opening listeners",
        target.name,
        variant.name()
    );

    if variant.writes() {
        let (client, connection) = connect(target).await?;
        let t = tokio::spawn(connection);
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS fanout_rows (n int)")
            .await
            .map_err(|e| format!("CREATE TABLE fanout_rows: {e}"))?;
        drop(client);
        let _ = t.await;
    }

    let shared = Arc::new(Shared {
        base: Instant::now(),
        received: AtomicU64::new(0),
        last_recv: AtomicU64::new(0),
        ended_early: AtomicUsize::new(0),
        warm: AtomicU64::new(0),
    });
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let per_listener: Vec<Arc<Mutex<Vec<u64>>>> = (0..listeners)
        .map(|_| Arc::new(Mutex::new(Vec::new())))
        .collect();

    let setup_start = Instant::now();
    // After the first failure the remaining attempts are skipped (not made), so
    // a server that stops answering costs one CONNECT_TIMEOUT, not one per batch.
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let opened: Vec<Result<(Client, tokio::task::JoinHandle<()>), String>> =
        futures::stream::iter(per_listener.iter().cloned().map(|samples| {
            let (target, shared, done, failed) =
                (target.clone(), shared.clone(), done.clone(), failed.clone());
            async move {
                if failed.load(Ordering::Acquire) {
                    return Err(SKIPPED.to_string());
                }
                let r = open_listener(target, shared, samples, done).await;
                if r.is_err() {
                    failed.store(true, Ordering::Release);
                }
                r
            }
        }))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let mut clients = Vec::with_capacity(listeners);
    let mut tasks = Vec::with_capacity(listeners);
    let mut open_error = None;
    for r in opened {
        match r {
            Ok((c, t)) => {
                clients.push(c);
                tasks.push(t);
            }
            Err(e) if e == SKIPPED => {}
            Err(e) => {
                open_error.get_or_insert(e);
            }
        }
    }
    let close = |clients: Vec<Client>, tasks: Vec<tokio::task::JoinHandle<()>>| async move {
        drop(clients);
        for t in tasks {
            if tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .is_err()
            {
                eprintln!("[fanout] a listener connection did not close within 10 s");
            }
        }
    };
    if let Some(e) = open_error {
        done.store(true, Ordering::Release);
        let opened = clients.len();
        close(clients, tasks).await;
        return Err(format!(
            "only {opened} of {listeners} listeners opened: {e}"
        ));
    }
    eprintln!(
        "[fanout] {}: {listeners} listeners up in {:.1} s; warm-up",
        target.name,
        setup_start.elapsed().as_secs_f64()
    );

    // Warm-up: one notification every listener must see before timing starts.
    {
        let (client, connection) = connect(target).await?;
        let t = tokio::spawn(connection);
        client
            .batch_execute("NOTIFY fanout, 'warmup'")
            .await
            .map_err(|e| format!("warm-up NOTIFY: {e}"))?;
        drop(client);
        let _ = t.await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while shared.warm.load(Ordering::Acquire) < listeners as u64 {
            if Instant::now() > deadline {
                done.store(true, Ordering::Release);
                let got = shared.warm.load(Ordering::Acquire);
                close(clients, tasks).await;
                return Err(format!(
                    "warm-up notification reached {got} of {listeners} listeners within 30 s"
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    // Publish.
    eprintln!("[fanout] {}: publishing", target.name);
    let go = Arc::new(tokio::sync::Barrier::new(p));
    let pubs: Vec<_> = (0..p)
        .map(|id| {
            tokio::spawn(publisher(
                target.clone(),
                variant,
                id,
                m,
                params.publish_cap,
                shared.base,
                go.clone(),
            ))
        })
        .collect();
    let mut results = Vec::with_capacity(p);
    for h in pubs {
        results.push(h.await.map_err(|e| format!("publisher task: {e}"))??);
    }
    let published: u64 = results.iter().map(|r| r.sent).sum();
    let publish_errors: u64 = results.iter().map(|r| r.errors).sum();
    let first_error = results.iter().find_map(|r| r.first_error.clone());
    let first_send = results.iter().map(|r| r.start_ns).min().unwrap_or(0);
    let last_publish = results.iter().map(|r| r.end_ns).max().unwrap_or(0);
    let expected = if variant.notifies() {
        published * listeners as u64
    } else {
        0
    };

    // Quiescence.
    let quiet_start = Instant::now();
    let mut last_count = shared.received.load(Ordering::Acquire);
    let mut last_progress = Instant::now();
    loop {
        let got = shared.received.load(Ordering::Acquire);
        if got >= expected {
            break;
        }
        if got != last_count {
            last_count = got;
            last_progress = Instant::now();
        }
        if quiet_start.elapsed() > QUIESCENCE_MAX || last_progress.elapsed() > QUIESCENCE_STALL {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    done.store(true, Ordering::Release);
    let received = shared.received.load(Ordering::Acquire);
    let last_recv = shared.last_recv.load(Ordering::Acquire);
    let ended_early = shared.ended_early.load(Ordering::Acquire);
    close(clients, tasks).await;

    let mut all: Vec<u64> = Vec::with_capacity(received as usize);
    for s in &per_listener {
        all.extend_from_slice(&s.lock().unwrap_or_else(|e| e.into_inner()));
    }
    all.sort_unstable();
    let publish_secs = (last_publish.saturating_sub(first_send)) as f64 / 1e9;
    let delivery_secs = (last_recv.saturating_sub(first_send)) as f64 / 1e9;
    let outcome = Outcome {
        target: target.name.clone(),
        listeners,
        variant,
        published,
        publish_errors,
        first_error,
        publish_rate: if publish_secs > 0.0 {
            published as f64 / publish_secs
        } else {
            f64::NAN
        },
        delivery_rate: if delivery_secs > 0.0 && received > 0 {
            received as f64 / delivery_secs
        } else {
            f64::NAN
        },
        p50_ms: percentile(&all, 50.0),
        p99_ms: percentile(&all, 99.0),
        lost: expected as i64 - received as i64,
        ended_early,
    };
    eprintln!(
        "[fanout] {}: L={listeners} {}: {published} published in {publish_secs:.2} s, \
         {received}/{expected} delivered, last delivery {delivery_secs:.2} s after first send",
        target.name,
        variant.name()
    );
    Ok(Row::Done(outcome))
}

/// `value >= floor`, false when either is NaN: a missing figure never passes.
fn reaches(value: f64, floor: f64) -> bool {
    value >= floor
}

fn fmt_rate(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.0}")
    } else {
        "-".into()
    }
}

fn fmt_ms(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "-".into()
    }
}

fn report(rows: &[Row], params: &Params) {
    println!();
    println!(
        "LISTEN/NOTIFY fan-out, P={} publishers, channel '{CHANNEL}', publish cap {} s per publisher",
        params.publishers,
        params.publish_cap.as_secs()
    );
    println!();
    println!(
        "| target | L | variant | published | publish msg/s | deliveries/s | p50 ms | p99 ms | lost |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        match row {
            Row::Done(o) => println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                o.target,
                o.listeners,
                o.variant.name(),
                o.published,
                fmt_rate(o.publish_rate),
                fmt_rate(o.delivery_rate),
                fmt_ms(o.p50_ms),
                fmt_ms(o.p99_ms),
                o.lost
            ),
            Row::Failed {
                target,
                listeners,
                variant,
                ..
            } => println!(
                "| {target} | {listeners} | {} | FAILED | - | - | - | - | - |",
                variant.name()
            ),
        }
    }
    let mut notes = Vec::new();
    for row in rows {
        match row {
            Row::Failed {
                target,
                listeners,
                variant,
                error,
            } => notes.push(format!(
                "{target} L={listeners} {}: FAILED: {error}",
                variant.name()
            )),
            Row::Done(o) => {
                if o.publish_errors > 0 {
                    notes.push(format!(
                        "{} L={} {}: {} publish errors, first: {}",
                        o.target,
                        o.listeners,
                        o.variant.name(),
                        o.publish_errors,
                        o.first_error.as_deref().unwrap_or("?")
                    ));
                }
                if o.ended_early > 0 {
                    notes.push(format!(
                        "{} L={} {}: {} listener connections ended before the run was over",
                        o.target,
                        o.listeners,
                        o.variant.name(),
                        o.ended_early
                    ));
                }
            }
        }
    }
    if !notes.is_empty() {
        println!();
        for n in notes {
            println!("- {n}");
        }
    }

    // Ratios litewire / postgres, when both are present.
    let has = |name: &str| rows.iter().any(|r| r.target() == name);
    if !(has("litewire") && has("postgres")) {
        println!();
        println!("(ratios need targets named `litewire` and `postgres`)");
        return;
    }
    println!();
    println!(
        "| L | variant | deliveries/s litewire/postgres | p99 litewire/postgres | target (notify: >= {DELIVERY_TARGET}x deliveries/s, <= 1.0x p99, 0 lost at L=1000; tx: NOTIFY costs litewire's commit rate no more than PostgreSQL's) |"
    );
    println!("|---:|---|---:|---:|---|");
    let mut all_met = true;
    let mut keys: Vec<(usize, Variant)> = Vec::new();
    for r in rows {
        if !keys.contains(&r.key()) {
            keys.push(r.key());
        }
    }
    let find = |name: &str, key: (usize, Variant)| {
        rows.iter().find_map(|r| match r {
            Row::Done(o) if o.target == name && (o.listeners, o.variant) == key => Some(o),
            _ => None,
        })
    };
    // The tx row's rule: NOTIFY in a write transaction costs litewire's commit
    // rate no more than it costs PostgreSQL's (no second bottleneck).
    let commits_kept = |name: &str, l: usize| {
        let tx = find(name, (l, Variant::Tx))?;
        let write = find(name, (l, Variant::Write))?;
        Some(tx.publish_rate / write.publish_rate)
    };
    for key in keys {
        if key.1 == Variant::Write {
            continue;
        }
        let (Some(lw), Some(pg)) = (find("litewire", key), find("postgres", key)) else {
            all_met = false;
            println!(
                "| {} | {} | - | - | not measured (a run failed) |",
                key.0,
                key.1.name()
            );
            continue;
        };
        let dr = lw.delivery_rate / pg.delivery_rate;
        let pr = lw.p99_ms / pg.p99_ms;
        let mut why = Vec::new();
        if key.1 == Variant::Tx {
            let (lw_kept, pg_kept) = (
                commits_kept("litewire", key.0),
                commits_kept("postgres", key.0),
            );
            let pct = |k: Option<f64>| k.map_or("-".into(), |k| format!("{:.0} %", k * 100.0));
            why.push(format!(
                "(note: commit rate with NOTIFY at {} of the same transactions without it; PostgreSQL {})",
                pct(lw_kept),
                pct(pg_kept)
            ));
            let (lw_kept, pg_kept) = (lw_kept.unwrap_or(f64::NAN), pg_kept.unwrap_or(f64::NAN));
            if !reaches(lw_kept, pg_kept) {
                why.push("NOTIFY costs litewire's commit rate more than PostgreSQL's".into());
            }
        } else {
            if !reaches(dr, DELIVERY_TARGET) {
                why.push(format!("deliveries/s {dr:.2}x < {DELIVERY_TARGET}x"));
            }
            if !reaches(1.0, pr) {
                why.push(format!("p99 {pr:.2}x > 1.0x"));
            }
        }
        if key.0 >= 1000 && lw.lost != 0 {
            why.push(format!("{} lost at L={}", lw.lost, key.0));
        }
        if lw.lost != 0 && key.0 < 1000 {
            // Not part of the target, but worth seeing.
            why.push(format!("(note: {} lost)", lw.lost));
        }
        let met = why.iter().all(|w| w.starts_with("(note"));
        all_met &= met;
        println!(
            "| {} | {} | {:.2}x | {:.2}x | {}{} |",
            key.0,
            key.1.name(),
            dr,
            pr,
            if met { "met" } else { "NOT met" },
            if why.is_empty() {
                String::new()
            } else {
                format!(": {}", why.join(", "))
            }
        );
    }
    let l1000_measured = rows
        .iter()
        .any(|r| matches!(r, Row::Done(o) if o.target == "litewire" && o.listeners >= 1000));
    println!();
    println!(
        "issue target (litewire >= {DELIVERY_TARGET}x PostgreSQL deliveries/s and <= PostgreSQL p99 on every notify row, 0 lost at L=1000, no second bottleneck for NOTIFY in write transactions): {}{}",
        if all_met { "met" } else { "NOT met" },
        if l1000_measured {
            ""
        } else {
            " (L=1000 not measured)"
        }
    );
}

fn main() {
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) run a
    // tiny smoke version so the bench keeps compiling and working.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let listener_counts = env_list(
        "FANOUT_LISTENERS",
        if smoke { &[10] } else { &[10, 100, 1000] },
    );
    let tx_listeners = env_u64("FANOUT_TX_LISTENERS", 10) as usize;
    let params = Params {
        publishers: env_u64("FANOUT_PUBLISHERS", 2).max(1) as usize,
        deliveries: env_u64("FANOUT_DELIVERIES", 200_000).max(1),
        publish_cap: Duration::from_secs(env_u64("FANOUT_PUBLISH_SECS", 8).max(1)),
        fixed_m: smoke.then_some(20),
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        // Targets: from FANOUT_TARGETS, or a litewire started in-process.
        let mut in_process = None;
        let targets = match std::env::var("FANOUT_TARGETS") {
            Ok(spec) if !spec.trim().is_empty() => parse_targets(&spec),
            _ => {
                let dir = TempDir::new("fanout");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                let mut config = litewire::config::Config::new(&dir.0);
                config.max_connections = 1200;
                let server = litewire::start(config, listener)
                    .await
                    .expect("start litewire");
                let target = Target {
                    name: "litewire".into(),
                    host: "127.0.0.1".into(),
                    port: server.pg_addr.port(),
                };
                in_process = Some((server, dir));
                vec![target]
            }
        };

        let mut rows = Vec::new();
        for target in &targets {
            for &l in &listener_counts {
                rows.push(run_one(target, l, Variant::Notify, &params).await);
            }
            if tx_listeners > 0 {
                for variant in [Variant::Tx, Variant::Write] {
                    rows.push(run_one(target, tx_listeners, variant, &params).await);
                }
            }
        }
        report(&rows, &params);

        if let Some((server, _dir)) = in_process {
            server.stop().await;
        }
    });
}
