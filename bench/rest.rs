//! REST door vs the Postgres wire (issue 8): the wire half. Run with
//! `bash bench/rest.sh`, which starts a release litewire, loads the table
//! through this program (`REST_MODE=setup`), drives the REST door with `wrk`,
//! then runs the same operations here over the wire (`REST_MODE=wire`):
//!
//! - `read_by_key`: `SELECT * FROM orders WHERE id = $1`, keys spread
//!   pseudo-randomly over the loaded rows (REST: `GET /rest/v1/orders?id=eq.N`);
//! - `list_20`: `SELECT * FROM orders ORDER BY id LIMIT 20 OFFSET $1`
//!   (REST: `GET /rest/v1/orders?order=id&limit=20&offset=N`);
//! - `create`: `INSERT INTO orders (customer, status, total) VALUES ($1, $2, 12.50)`,
//!   each its own durable (fsync'ed) transaction (REST: `POST /rest/v1/orders`).
//!
//! Each operation runs for REST_SECS seconds on REST_CONNS connections (wrk
//! gets the same number), statements prepared once per connection. Printed:
//! `wire <op> <ops/s> <errors>`, read by bench/rest.sh. Nothing is asserted.
//!
//! Environment: REST_PG (wire address), REST_ROWS (rows loaded, default
//! 10000), REST_SECS (default 10), REST_CONNS (default 8).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "common.rs"]
mod common;

use common::{env, pg};

/// The table both doors read and write.
const ORDERS: &str = "CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL, \
     status text NOT NULL DEFAULT 'pending', total numeric(10,2), placed_at timestamptz DEFAULT now())";

#[derive(Clone, Copy)]
enum Op {
    ReadByKey,
    List20,
    Create,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::ReadByKey => "read_by_key",
            Op::List20 => "list_20",
            Op::Create => "create",
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Op::ReadByKey => "SELECT * FROM orders WHERE id = $1",
            Op::List20 => "SELECT * FROM orders ORDER BY id LIMIT 20 OFFSET $1",
            Op::Create => "INSERT INTO orders (customer, status, total) VALUES ($1, $2, 12.50)",
        }
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Creates `orders` and loads `rows` rows in one transaction.
async fn setup(addr: &str, rows: u64) {
    let client = pg(addr).await;
    client.batch_execute(ORDERS).await.expect("create orders");
    let insert = client
        .prepare("INSERT INTO orders (customer, status, total) VALUES ($1, 'pending', 12.5)")
        .await
        .unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    for i in 0..rows {
        client
            .execute(&insert, &[&format!("customer {i}")])
            .await
            .unwrap();
    }
    client.batch_execute("COMMIT").await.unwrap();
}

/// One connection running `op` until `until`; counts done and failed.
async fn worker(
    addr: String,
    op: Op,
    rows: i64,
    seed: i64,
    until: Instant,
    counts: Arc<[AtomicU64; 2]>,
) {
    let client = pg(&addr).await;
    let statement = client.prepare(op.sql()).await.unwrap();
    // A pseudo-random walk over the keys (a full-period LCG step).
    let mut key = seed;
    while Instant::now() < until {
        key = (key * 1_103_515_245 + 12_345).rem_euclid(rows) + 1;
        let result = match op {
            Op::ReadByKey => client.query(&statement, &[&key]).await.map(|_| ()),
            Op::List20 => {
                let offset = key % (rows - 20).max(1);
                client.query(&statement, &[&offset]).await.map(|_| ())
            }
            Op::Create => client
                .execute(&statement, &[&format!("c{key}"), &"new"])
                .await
                .map(|_| ()),
        };
        counts[usize::from(result.is_err())].fetch_add(1, Ordering::Relaxed);
    }
}

async fn wire(addr: &str, rows: i64, secs: u64, conns: i64) {
    for op in [Op::ReadByKey, Op::List20, Op::Create] {
        let counts: Arc<[AtomicU64; 2]> = Arc::default();
        let start = Instant::now();
        let until = start + Duration::from_secs(secs);
        let workers: Vec<_> = (0..conns)
            .map(|i| {
                tokio::spawn(worker(
                    addr.to_string(),
                    op,
                    rows,
                    i * 7919,
                    until,
                    counts.clone(),
                ))
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        let elapsed = start.elapsed().as_secs_f64();
        let done = counts[0].load(Ordering::Relaxed);
        let failed = counts[1].load(Ordering::Relaxed);
        println!("wire {} {:.0} {failed}", op.name(), done as f64 / elapsed);
    }
}

fn main() {
    common::run_with_server("REST_PG", "bench/rest.sh", || async {
        let addr = env("REST_PG");
        let rows = setting("REST_ROWS", 10_000);
        match env("REST_MODE").as_str() {
            "setup" => setup(&addr, rows).await,
            _ => {
                let secs = setting("REST_SECS", 10);
                let conns = setting("REST_CONNS", 8) as i64;
                wire(&addr, rows as i64, secs, conns).await;
            }
        }
    });
}
