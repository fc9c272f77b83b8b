//! Spine benchmark: litewire over the wire vs. the same SQLite file opened
//! in-process with rusqlite, measured side by side in one run.
//!
//!     cargo bench --bench spine
//!
//! Both sides use a SQLite database in WAL mode with `synchronous = FULL`
//! (litewire's own settings), the same `kv` table with 10,000 rows, and the
//! same operations, sequentially from one client:
//!
//! - `select_pk`: `SELECT v FROM kv WHERE id = $1`, prepared once, each
//!   query sent when the previous answer is in (a round trip each);
//! - `select_pk_pipelined`: the same queries with 32 in flight on the one
//!   connection (tokio-postgres pipelines them), so the figure is the cost of
//!   a query without the wait for the loopback round trip;
//! - `insert`:    `INSERT INTO kv (id, v) VALUES ($1, $2)`, prepared once,
//!   each row its own (autocommit) transaction
//!
//! What is reported is the ratio litewire / rusqlite, the cost of the wire
//! protocol, the translation and the session machinery on top of SQLite. Target:
//! ratio <= 3x. With `SPINE_PG=host:port` (what `bash bench/spine.sh` sets) the
//! same client also runs against that PostgreSQL, in the same run, to show
//! which part of a round trip any Postgres server pays. No timing is asserted;
//! the numbers are printed only.
//!
//! Environment: `SPINE_ITERS` (default 20000) iterations per operation,
//! `SPINE_ROWS` (default 10000) rows loaded before measuring, `SPINE_PG`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rusqlite::{Connection, params};
use tokio_postgres::NoTls;

const TARGET_RATIO: f64 = 3.0;
const WARMUP: u64 = 1_000;
/// Queries in flight in `select_pk_pipelined`.
const PIPELINE_DEPTH: usize = 32;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

/// Deterministic pseudo-random keys in 1..=rows (same sequence on both sides).
struct Keys {
    state: u64,
    rows: u64,
}

impl Keys {
    fn new(rows: u64) -> Keys {
        Keys {
            state: 0x9E37_79B9_7F4A_7C15,
            rows,
        }
    }
    fn next(&mut self) -> i64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r % self.rows + 1) as i64
    }
}

fn value(id: i64) -> String {
    format!("value-{id:08}")
}

#[derive(Default)]
struct Timings {
    select_pk: Duration,
    select_pk_pipelined: Duration,
    insert: Duration,
}

async fn bench_litewire(rows: u64, iters: u64) -> Timings {
    let dir = TempDir::new("litewire");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let server = litewire::start(litewire::config::Config::new(&dir.0), listener)
        .await
        .expect("start litewire");
    let t = bench_wire("litewire", "127.0.0.1", server.pg_addr.port(), rows, iters).await;
    server.stop().await;
    t
}

/// The operations over the wire, against the Postgres server at host:port.
async fn bench_wire(name: &str, host: &str, port: u16, rows: u64, iters: u64) -> Timings {
    let mut config = tokio_postgres::Config::new();
    config
        .host(host)
        .port(port)
        .user("postgres")
        .dbname("postgres");
    let (mut client, connection) = config.connect(NoTls).await.expect("connect");
    let conn_task = tokio::spawn(connection);

    client
        .batch_execute("DROP TABLE IF EXISTS kv; CREATE TABLE kv (id bigint PRIMARY KEY, v text)")
        .await
        .expect("create table");
    {
        let tx = client.transaction().await.expect("begin");
        let ins = tx
            .prepare("INSERT INTO kv (id, v) VALUES ($1, $2)")
            .await
            .expect("prepare fill");
        for id in 1..=rows as i64 {
            tx.execute(&ins, &[&id, &value(id)]).await.expect("fill");
        }
        tx.commit().await.expect("commit fill");
    }

    let mut t = Timings::default();

    // (a) single-row SELECT by primary key, prepared once.
    let sel = client
        .prepare("SELECT v FROM kv WHERE id = $1")
        .await
        .expect("prepare select");
    let mut keys = Keys::new(rows);
    for _ in 0..WARMUP {
        let id = keys.next();
        let row = client.query_one(&sel, &[&id]).await.expect("select");
        let v: &str = row.get(0);
        assert_eq!(v, value(id), "{name} returned a wrong row");
    }
    let mut keys = Keys::new(rows);
    let start = Instant::now();
    for _ in 0..iters {
        let id = keys.next();
        let row = client.query_one(&sel, &[&id]).await.expect("select");
        std::hint::black_box(row.get::<_, &str>(0));
    }
    t.select_pk = start.elapsed();

    // (b) the same queries, pipelined.
    let mut keys = Keys::new(rows);
    let ids: Vec<i64> = (0..iters).map(|_| keys.next()).collect();
    let start = Instant::now();
    let mut answers = futures::stream::iter(ids.iter())
        .map(|id| {
            let (client, sel) = (&client, &sel);
            async move { client.query_one(sel, &[id]).await }
        })
        .buffered(PIPELINE_DEPTH);
    while let Some(row) = answers.next().await {
        std::hint::black_box(row.expect("select").get::<_, &str>(0));
    }
    drop(answers);
    t.select_pk_pipelined = start.elapsed();

    // (c) single-row INSERT, prepared once, autocommit.
    let ins = client
        .prepare("INSERT INTO kv (id, v) VALUES ($1, $2)")
        .await
        .expect("prepare insert");
    let mut next_id = rows as i64 + 1;
    for _ in 0..WARMUP {
        client
            .execute(&ins, &[&next_id, &value(next_id)])
            .await
            .expect("insert");
        next_id += 1;
    }
    let start = Instant::now();
    for _ in 0..iters {
        let n = client
            .execute(&ins, &[&next_id, &value(next_id)])
            .await
            .expect("insert");
        std::hint::black_box(n);
        next_id += 1;
    }
    t.insert = start.elapsed();

    let count: i64 = client
        .query_one("SELECT count(*) FROM kv", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, next_id - 1, "{name} lost rows");

    drop(client);
    let _ = conn_task.await;
    t
}

fn bench_rusqlite(rows: u64, iters: u64) -> Timings {
    let dir = TempDir::new("rusqlite");
    let conn = Connection::open(dir.0.join("baseline.db")).expect("open sqlite");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("busy_timeout");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA case_sensitive_like = ON; PRAGMA recursive_triggers = ON;",
    )
    .expect("pragmas");
    conn.execute_batch("CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)")
        .expect("create table");
    {
        let tx = conn.unchecked_transaction().expect("begin");
        {
            let mut ins = tx
                .prepare_cached("INSERT INTO kv (id, v) VALUES (?1, ?2)")
                .expect("prepare fill");
            for id in 1..=rows as i64 {
                ins.execute(params![id, value(id)]).expect("fill");
            }
        }
        tx.commit().expect("commit fill");
    }

    let mut t = Timings::default();

    let select = |id: i64| -> String {
        let mut st = conn
            .prepare_cached("SELECT v FROM kv WHERE id = ?1")
            .expect("prepare select");
        st.query_row(params![id], |r| r.get::<_, String>(0))
            .expect("select")
    };
    let mut keys = Keys::new(rows);
    for _ in 0..WARMUP {
        let id = keys.next();
        assert_eq!(select(id), value(id), "rusqlite returned a wrong row");
    }
    let mut keys = Keys::new(rows);
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(select(keys.next()));
    }
    t.select_pk = start.elapsed();
    // In-process there is no round trip to overlap.
    t.select_pk_pipelined = t.select_pk;

    let insert = |id: i64| -> usize {
        let mut st = conn
            .prepare_cached("INSERT INTO kv (id, v) VALUES (?1, ?2)")
            .expect("prepare insert");
        st.execute(params![id, value(id)]).expect("insert")
    };
    let mut next_id = rows as i64 + 1;
    for _ in 0..WARMUP {
        insert(next_id);
        next_id += 1;
    }
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(insert(next_id));
        next_id += 1;
    }
    t.insert = start.elapsed();

    let count: i64 = conn
        .query_row("SELECT count(*) FROM kv", [], |r| r.get(0))
        .expect("count");
    assert_eq!(count, next_id - 1, "rusqlite lost rows");
    t
}

fn us_per_op(d: Duration, iters: u64) -> f64 {
    d.as_secs_f64() * 1e6 / iters as f64
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not. Under
    // `cargo test` run a tiny smoke version so the bench keeps compiling and working.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let rows = env_u64("SPINE_ROWS", if smoke { 100 } else { 10_000 }).max(1);
    let iters = env_u64("SPINE_ITERS", if smoke { 100 } else { 20_000 }).max(1);

    // One client on a single-threaded runtime: a multi-threaded client adds its
    // own cross-thread wake-ups to every round trip, which is not litewire's cost.
    // (litewire serves each connection on a thread of its own either way.)
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    println!("spine: {rows} rows loaded, {iters} ops per operation, one client");
    println!("sqlite: journal_mode=WAL, synchronous=FULL on both sides");
    let started = Instant::now();
    let lw = runtime.block_on(bench_litewire(rows, iters));
    let sq = bench_rusqlite(rows, iters);
    let pg = std::env::var("SPINE_PG").ok().map(|addr| {
        let (host, port) = addr.rsplit_once(':').expect("SPINE_PG: host:port");
        let port = port.parse().expect("SPINE_PG: port");
        runtime.block_on(bench_wire("postgres", host, port, rows, iters))
    });

    println!();
    println!(
        "| operation | rusqlite us/op | litewire us/op | litewire / rusqlite | PostgreSQL us/op | PostgreSQL / rusqlite |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let operations = |t: &Timings| [t.select_pk, t.select_pk_pipelined, t.insert];
    let names = ["select_pk", "select_pk_pipelined", "insert"];
    let mut worst: f64 = 0.0;
    for (i, name) in names.iter().enumerate() {
        let base = us_per_op(operations(&sq)[i], iters);
        let ours = us_per_op(operations(&lw)[i], iters);
        worst = worst.max(ours / base);
        let theirs = match &pg {
            Some(pg) => {
                let theirs = us_per_op(operations(pg)[i], iters);
                format!("{theirs:.2} | {:.2}x", theirs / base)
            }
            None => "- | -".into(),
        };
        println!(
            "| {name} | {base:.2} | {ours:.2} | {:.2}x | {theirs} |",
            ours / base
        );
    }
    println!();
    println!(
        "target: ratio <= {TARGET_RATIO:.1}x (litewire / rusqlite); worst ratio {worst:.2}x: {}",
        if worst <= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );
    println!("total {:.1} s", started.elapsed().as_secs_f64());
}
