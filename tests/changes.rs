//! The change stream: capture triggers, LSN order, LISTEN on
//! `litewire.changes.*`, history through `litewire.changes(since)`, writes by
//! another process, resume without loss or duplicates, and retention.

mod common;

use std::time::Duration;

use common::*;
use litewire::changes::{ChangeError, Op};
use litewire::config::Config;
use serde_json::{Value, json};

const ORDERS: &str = "CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL, \
     total numeric(10,2), paid boolean DEFAULT false, meta jsonb, raw bytea)";

fn payload(n: (String, String, i32)) -> (String, Value) {
    (n.0, serde_json::from_str(&n.1).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_changes_reach_listeners_in_order_and_rollbacks_do_not() {
    let server = start().await;
    let writer = connect(&server).await;
    writer.batch_execute(ORDERS).await.unwrap();
    let (listener, mut rx) = connect_listening(&server).await;
    listener
        .batch_execute("LISTEN \"litewire.changes.orders\"")
        .await
        .unwrap();
    // (Separate queries: in one query string BEGIN would pull the INSERT
    // into the transaction that rolls back, as in Postgres.)
    for sql in [
        "INSERT INTO orders (customer, total, meta, raw) VALUES ('ann', 12.50, '{\"a\": [1]}', '\\x0aff')",
        "BEGIN; UPDATE orders SET total = 1 WHERE id = 1; ROLLBACK",
        "BEGIN; UPDATE orders SET paid = true WHERE id = 1; DELETE FROM orders WHERE id = 1; COMMIT",
    ] {
        writer.batch_execute(sql).await.unwrap();
    }
    let (channel, insert) = payload(next_notification(&mut rx).await);
    assert_eq!(channel, "litewire.changes.orders");
    assert_eq!(insert["op"], "insert");
    assert_eq!(insert["table"], "orders");
    assert_eq!(insert["pk"], json!({"id": 1}));
    let expected: Value = serde_json::from_str(
        r#"{"id": 1, "customer": "ann", "total": 12.50, "paid": false, "meta": {"a": [1]}, "raw": "\\x0aff"}"#,
    )
    .unwrap();
    assert_eq!(insert["row"], expected);
    assert_eq!(
        insert["row"]["total"].to_string(),
        "12.50",
        "numeric keeps its scale"
    );
    let (_, update) = payload(next_notification(&mut rx).await);
    assert_eq!(update["op"], "update");
    assert_eq!(update["row"]["paid"], true);
    assert_eq!(update["old"]["paid"], false);
    let (_, delete) = payload(next_notification(&mut rx).await);
    assert_eq!(delete["op"], "delete");
    assert_eq!(delete["row"], Value::Null);
    assert_eq!(delete["old"]["customer"], "ann");
    let lsns: Vec<i64> = [&insert, &update, &delete]
        .iter()
        .map(|p| p["lsn"].as_i64().unwrap())
        .collect();
    assert!(lsns.windows(2).all(|w| w[0] < w[1]), "{lsns:?}");
    assert_none(&listener, &mut rx).await;

    // History through SQL, typed; both changes of the committed transaction
    // carry one transaction id, the insert another.
    let rows = writer
        .query(
            "SELECT lsn, txid, \"table\", op, pk, row, old FROM litewire.changes(0)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let txids: Vec<i64> = rows.iter().map(|r| r.get(1)).collect();
    assert_ne!(txids[0], txids[1]);
    assert_eq!(txids[1], txids[2]);
    let pk: Value = rows[0].get(4);
    assert_eq!(pk, json!({"id": 1}));
    let since: Vec<i64> = writer
        .query("SELECT lsn FROM litewire.changes($1)", &[&lsns[0]])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(since, lsns[1..]);
}

/// The stream is read only while someone follows it. LISTEN on a change
/// channel opens the bridge's cursor before it returns, so a write right
/// after it is delivered; after the last UNLISTEN the cursor closes, and a
/// change made meanwhile is never delivered late. The head still moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_is_followed_only_while_someone_listens() {
    let server = start().await;
    let writer = connect(&server).await;
    writer.batch_execute(ORDERS).await.unwrap();
    assert_eq!(server.changes.followers(), 0);
    let (listener, mut rx) = connect_listening(&server).await;
    for round in 0..20 {
        listener
            .batch_execute("LISTEN \"litewire.changes.orders\"")
            .await
            .unwrap();
        assert!(server.changes.followers() > 0, "round {round}");
        for customer in [format!("heard {round}"), format!("unheard {round}")] {
            writer
                .execute("INSERT INTO orders (customer) VALUES ($1)", &[&customer])
                .await
                .unwrap();
            if customer.starts_with("heard") {
                let (_, change) = payload(next_notification(&mut rx).await);
                assert_eq!(change["row"]["customer"], customer.as_str());
                listener
                    .batch_execute("UNLISTEN \"litewire.changes.orders\"")
                    .await
                    .unwrap();
            }
        }
        eventually("the bridge closes its cursor", || {
            server.changes.followers() == 0
        })
        .await;
    }
    assert_none(&listener, &mut rx).await;
    let newest: i64 = writer
        .query_one("SELECT max(lsn) FROM litewire.changes(0)", &[])
        .await
        .unwrap()
        .get(0);
    eventually("the head reaches the newest change", || {
        server.changes.head() == newest
    })
    .await;
}

/// A LISTEN is handed only changes committed after it, as in Postgres, even
/// while another listener keeps the bridge's cursor open and the bridge is
/// still publishing a large transaction committed just before the LISTEN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listen_is_not_handed_changes_committed_before_it() {
    const ROUNDS: usize = 10;
    const BULK: usize = 500;
    let server = start().await;
    let writer = connect(&server).await;
    writer.batch_execute(ORDERS).await.unwrap();
    let (busy, mut busy_rx) = connect_listening(&server).await;
    busy.batch_execute("LISTEN \"litewire.changes.*\"")
        .await
        .unwrap();
    let (late, mut late_rx) = connect_listening(&server).await;
    let bulk = format!(
        "INSERT INTO orders (customer) VALUES {}",
        vec!["('before')"; BULK].join(", ")
    );
    for round in 0..ROUNDS {
        writer.batch_execute(&bulk).await.unwrap();
        late.batch_execute("LISTEN \"litewire.changes.orders\"")
            .await
            .unwrap();
        let after = format!("after {round}");
        writer
            .execute("INSERT INTO orders (customer) VALUES ($1)", &[&after])
            .await
            .unwrap();
        let (_, change) = payload(next_notification(&mut late_rx).await);
        assert_eq!(change["row"]["customer"], after.as_str(), "round {round}");
        late.batch_execute("UNLISTEN \"litewire.changes.orders\"")
            .await
            .unwrap();
        assert_none(&late, &mut late_rx).await;
    }
    // The listener that was there all along heard every change.
    for _ in 0..ROUNDS * (BULK + 1) {
        next_notification(&mut busy_rx).await;
    }
    assert_none(&busy, &mut busy_rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_follows_alter_table_and_covers_every_table() {
    let server = start().await;
    let client = connect(&server).await;
    let (listener, mut rx) = connect_listening(&server).await;
    listener
        .batch_execute("LISTEN \"litewire.changes.*\"")
        .await
        .unwrap();
    for sql in [
        "CREATE TABLE t (id int PRIMARY KEY, a text, b text)",
        "ALTER TABLE t DROP COLUMN b",
        "ALTER TABLE t ADD COLUMN c int",
        "ALTER TABLE t RENAME COLUMN a TO a2",
        "ALTER TABLE t RENAME TO u",
        "INSERT INTO u VALUES (1, 'x', 2)",
    ] {
        client.batch_execute(sql).await.unwrap();
    }
    let (channel, change) = payload(next_notification(&mut rx).await);
    assert_eq!(channel, "litewire.changes.*");
    assert_eq!(change["table"], "u");
    assert_eq!(change["row"], json!({"id": 1, "a2": "x", "c": 2}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_by_another_process_is_published() {
    let dir = temp_dir("external");
    let server = start_with(Config::new(&dir)).await;
    let client = connect(&server).await;
    client.batch_execute(ORDERS).await.unwrap();
    let (listener, mut rx) = connect_listening(&server).await;
    listener
        .batch_execute("LISTEN \"litewire.changes.orders\"")
        .await
        .unwrap();
    if !sqlite3_shell(
        &dir,
        "INSERT INTO orders (customer, total) VALUES ('shell', '3.00');",
    ) {
        return;
    }
    let (_, change) = payload(next_notification(&mut rx).await);
    assert_eq!(change["row"]["customer"], "shell");
    assert_eq!(change["op"], "insert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_resumes_without_gaps_or_duplicates() {
    let server = start().await;
    let client = connect(&server).await;
    client.batch_execute(ORDERS).await.unwrap();
    client
        .batch_execute("INSERT INTO orders (customer) VALUES ('before')")
        .await
        .unwrap();
    let start_lsn: i64 = client
        .query_one("SELECT max(lsn) FROM litewire.changes(0)", &[])
        .await
        .unwrap()
        .get(0);
    // Writes keep coming while the cursor replays from `start_lsn` and then
    // switches to the live stream.
    let writes = tokio::spawn(async move {
        for i in 0..1000 {
            client
                .execute(
                    "INSERT INTO orders (customer) VALUES ($1)",
                    &[&format!("c{i}")],
                )
                .await
                .unwrap();
        }
    });
    let mut cursor = server.changes.cursor(Some(start_lsn));
    let mut seen = Vec::new();
    while seen.len() < 1000 {
        let batch = tokio::time::timeout(Duration::from_secs(30), cursor.next())
            .await
            .expect("changes keep coming")
            .unwrap()
            .unwrap();
        seen.extend(batch.iter().map(|c| {
            assert_eq!(c.op, Op::Insert);
            (
                c.lsn,
                c.row.as_ref().unwrap()["customer"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        }));
    }
    writes.await.unwrap();
    let names: Vec<String> = (0..1000).map(|i| format!("c{i}")).collect();
    assert_eq!(seen.iter().map(|s| s.1.clone()).collect::<Vec<_>>(), names);
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_from_before_retention_is_refused() {
    let mut config = Config::new(temp_dir("retention"));
    config.change_retention = Duration::ZERO;
    config.change_retention_rows = 1;
    let server = start_with(config).await;
    let client = connect(&server).await;
    client.batch_execute(ORDERS).await.unwrap();
    for name in ["a", "b", "c"] {
        client
            .execute("INSERT INTO orders (customer) VALUES ($1)", &[&name])
            .await
            .unwrap();
    }
    let through = server
        .changes
        .compact(chrono::Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(through, 2);
    match server.changes.read_since(0, 10).await {
        Err(ChangeError::Compacted {
            since: 0,
            oldest: 2,
        }) => {}
        other => panic!("expected Compacted, got {other:?}"),
    }
    let kept = server.changes.read_since(2, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].row.as_ref().unwrap()["customer"], "c");
}
