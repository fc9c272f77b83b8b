//! Live queries over the WebSocket: snapshot + ready + diffs, for filters
//! decided row by row and for queries that are re-run (windows, aggregates,
//! joins); resume; a failing query; and a property test: on random write
//! sequences the client's copy after applying the diffs equals re-running the
//! query.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use litewire::config::Config;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

const ITEMS: &str = "CREATE TABLE items (id bigserial PRIMARY KEY, owner int NOT NULL, \
     qty int NOT NULL, tag text, price numeric(8,2))";

/// A client's copy of one live query's result: rows by key (a list per key,
/// so whole-row keys of duplicate rows work as a multiset).
#[derive(Default, Debug)]
struct LiveCopy {
    key: Vec<String>,
    rows: HashMap<String, Vec<Value>>,
    lsn: i64,
}

impl LiveCopy {
    fn key_text(&self, row_or_key: &Value) -> String {
        let k: Map<String, Value> = self
            .key
            .iter()
            .map(|c| (c.clone(), row_or_key.get(c).cloned().unwrap_or(Value::Null)))
            .collect();
        Value::Object(k).to_string()
    }

    fn apply(&mut self, frame: &Value) {
        match frame["type"].as_str() {
            Some("snapshot") => {
                self.key = serde_json::from_value(frame["key"].clone()).unwrap();
                self.rows.clear();
                for row in frame["rows"].as_array().unwrap() {
                    let k = self.key_text(row);
                    self.rows.entry(k).or_default().push(row.clone());
                }
                self.lsn = frame["lsn"].as_i64().unwrap();
            }
            Some("diff") => {
                let k = self.key_text(&frame["key"]);
                let lsn = frame["lsn"].as_i64().unwrap();
                assert!(
                    lsn >= self.lsn,
                    "diffs come in LSN order: {lsn} after {}",
                    self.lsn
                );
                self.lsn = lsn;
                match frame["op"].as_str().unwrap() {
                    "insert" => self.rows.entry(k).or_default().push(frame["row"].clone()),
                    "update" => {
                        let list = self.rows.get_mut(&k).expect("update of a row the copy has");
                        let at = list.iter().position(|r| *r == frame["old"]).unwrap_or(0);
                        list[at] = frame["row"].clone();
                    }
                    "delete" => {
                        let list = self.rows.get_mut(&k).expect("delete of a row the copy has");
                        let at = list.iter().position(|r| *r == frame["old"]).unwrap_or(0);
                        list.remove(at);
                        if list.is_empty() {
                            self.rows.remove(&k);
                        }
                    }
                    op => panic!("unknown op {op}"),
                }
            }
            _ => {}
        }
    }

    fn sorted(&self) -> Vec<String> {
        let mut rows: Vec<String> = self.rows.values().flatten().map(Value::to_string).collect();
        rows.sort();
        rows
    }
}

/// Subscribes and returns the subscription id; frames of other
/// subscriptions that arrive meanwhile are applied to `copies`.
async fn live(
    ws: &mut Ws,
    copies: &mut HashMap<String, LiveCopy>,
    id: i64,
    query: Value,
    params: Value,
) -> String {
    ws_send(
        ws,
        json!({"id": id, "type": "subscribe", "query": query, "params": params}),
    )
    .await;
    loop {
        let frame = ws_next(ws).await.expect("open");
        if frame["id"] == id {
            assert_eq!(frame["type"], "ack", "{frame}");
            return frame["sub"].as_str().unwrap().to_string();
        }
        if let Some(sub) = frame["sub"].as_str() {
            copies.entry(sub.to_string()).or_default().apply(&frame);
        }
    }
}

/// Applies every frame that arrives within `quiet` to the copies by sub.
async fn drain(ws: &mut Ws, copies: &mut HashMap<String, LiveCopy>, quiet: Duration) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    while let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(quiet, ws.next()).await {
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] == "error" {
            panic!("unexpected error frame {frame}");
        }
        if let Some(sub) = frame["sub"].as_str() {
            copies.entry(sub.to_string()).or_default().apply(&frame);
        }
    }
}

/// The query's result as the copy should hold it, read over the wire, as JSON
/// rows (via row_to_json-like text: each column through the live value rules).
async fn expected(server: &litewire::Server, sql: &str, params: &Value) -> Vec<String> {
    let mut ws = ws_connect(server, None).await;
    let mut copies = HashMap::new();
    let sub = live(&mut ws, &mut copies, 1, json!(sql), params.clone()).await;
    drain(&mut ws, &mut copies, Duration::from_millis(300)).await;
    copies.remove(&sub).unwrap_or_default().sorted()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_query_gets_snapshot_then_row_by_row_diffs() {
    let server = start_realtime(Config::new(temp_dir("live-filter"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ITEMS).await.unwrap();
    pg.batch_execute("INSERT INTO items (owner, qty, price) VALUES (1, 1, 2.50), (2, 2, 1)")
        .await
        .unwrap();
    let mut ws = ws_connect(&server, None).await;
    let sub = live(
        &mut ws,
        &mut HashMap::new(),
        1,
        json!("SELECT id, qty, price FROM items WHERE owner = $1"),
        json!([1]),
    )
    .await;
    let snapshot = ws_next_of(&mut ws, "snapshot").await;
    assert_eq!(snapshot["sub"], sub.as_str());
    assert_eq!(snapshot["key"], json!(["id"]));
    assert_eq!(
        snapshot["rows"].to_string(),
        r#"[{"id":1,"qty":1,"price":2.50}]"#
    );
    let ready = ws_next_of(&mut ws, "ready").await;
    assert_eq!(ready["lsn"], snapshot["lsn"]);
    for sql in [
        "INSERT INTO items (owner, qty) VALUES (1, 3)", // enters
        "INSERT INTO items (owner, qty) VALUES (2, 4)", // not ours
        "UPDATE items SET owner = 2 WHERE id = 1",      // leaves
        "UPDATE items SET owner = 1 WHERE id = 2",      // comes in
        "UPDATE items SET tag = 'x' WHERE id = 2",      // unprojected column: no diff
        "DELETE FROM items WHERE id = 3",               // leaves
    ] {
        pg.batch_execute(sql).await.unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        let d = ws_next_of(&mut ws, "diff").await;
        got.push((
            d["op"].as_str().unwrap().to_string(),
            d["key"]["id"].as_i64().unwrap(),
        ));
    }
    assert_eq!(
        got,
        vec![
            ("insert".into(), 3),
            ("delete".into(), 1),
            ("insert".into(), 2),
            ("delete".into(), 3)
        ]
    );
    assert_eq!(
        ws_request(&mut ws, 9, json!({"type": "ping"})).await["type"],
        "ack",
        "no further diffs queued before the ping's ack"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_aggregates_and_joins_are_rerun_and_diffed_by_key() {
    let server = start_realtime(Config::new(temp_dir("live-rerun"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ITEMS).await.unwrap();
    pg.batch_execute("CREATE TABLE owners (id int PRIMARY KEY, name text)")
        .await
        .unwrap();
    pg.batch_execute("INSERT INTO owners VALUES (1, 'ann'), (2, 'bob')")
        .await
        .unwrap();
    pg.batch_execute("INSERT INTO items (owner, qty) VALUES (1, 10), (1, 20), (2, 30)")
        .await
        .unwrap();
    let mut ws = ws_connect(&server, None).await;
    let mut copies = HashMap::new();
    let top = live(
        &mut ws,
        &mut copies,
        1,
        json!("SELECT id, qty FROM items ORDER BY qty DESC LIMIT 2"),
        json!([]),
    )
    .await;
    let agg = live(
        &mut ws,
        &mut copies,
        2,
        json!("SELECT owner, count(*) AS n FROM items GROUP BY owner"),
        json!([]),
    )
    .await;
    let join = live(
        &mut ws,
        &mut copies,
        3,
        json!("SELECT i.id, o.name FROM items i JOIN owners o ON o.id = i.owner WHERE i.qty > $1"),
        json!([15]),
    )
    .await;
    drain(&mut ws, &mut copies, Duration::from_millis(300)).await;
    assert_eq!(copies[&top].key, vec!["id"]);
    assert_eq!(copies[&agg].key, vec!["owner"]);
    // A row sliding into the window pushes the last one out.
    pg.batch_execute("UPDATE items SET qty = 25 WHERE id = 1")
        .await
        .unwrap();
    pg.batch_execute("UPDATE owners SET name = 'robert' WHERE id = 2")
        .await
        .unwrap();
    pg.batch_execute("INSERT INTO items (owner, qty) VALUES (2, 1)")
        .await
        .unwrap();
    drain(&mut ws, &mut copies, Duration::from_millis(500)).await;
    assert_eq!(
        copies[&top].sorted(),
        vec![r#"{"id":1,"qty":25}"#, r#"{"id":3,"qty":30}"#]
    );
    assert_eq!(
        copies[&agg].sorted(),
        vec![r#"{"owner":1,"n":2}"#, r#"{"owner":2,"n":2}"#]
    );
    assert_eq!(
        copies[&join].sorted(),
        vec![
            r#"{"id":1,"name":"ann"}"#,
            r#"{"id":2,"name":"ann"}"#,
            r#"{"id":3,"name":"robert"}"#
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_replays_missed_diffs_or_says_resnapshot() {
    let server = start_realtime(Config::new(temp_dir("live-resume"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ITEMS).await.unwrap();
    let mut ws = ws_connect(&server, None).await;
    live(
        &mut ws,
        &mut HashMap::new(),
        1,
        json!("SELECT * FROM items WHERE owner = $1"),
        json!([7]),
    )
    .await;
    let lsn = ws_next_of(&mut ws, "ready").await["lsn"].as_i64().unwrap();
    drop(ws);
    pg.batch_execute("INSERT INTO items (owner, qty) VALUES (7, 1), (8, 1), (7, 2)")
        .await
        .unwrap();
    let mut ws = ws_connect(&server, None).await;
    let ack = ws_request(
        &mut ws,
        1,
        json!({"type": "subscribe", "query": "SELECT * FROM items WHERE owner = $1", "params": [7], "since": lsn}),
    )
    .await;
    assert_eq!(ack["type"], "ack");
    let a = ws_next_of(&mut ws, "diff").await;
    let b = ws_next_of(&mut ws, "diff").await;
    assert_eq!(
        (a["row"]["qty"].as_i64(), b["row"]["qty"].as_i64()),
        (Some(1), Some(2))
    );
    // A re-run query cannot replay: it says so and sends a fresh snapshot.
    let ack = ws_request(
        &mut ws,
        2,
        json!({"type": "subscribe", "query": "SELECT count(*) AS n FROM items", "since": lsn}),
    )
    .await;
    let sub = ack["sub"].as_str().unwrap();
    let resnapshot = ws_next_of(&mut ws, "resnapshot").await;
    assert_eq!(resnapshot["sub"], sub);
    assert_eq!(
        ws_next_of(&mut ws, "snapshot").await["rows"],
        json!([{"n": 3}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_query_is_reported_to_its_client_and_others_go_on() {
    let server = start_realtime(Config::new(temp_dir("live-fail"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ITEMS).await.unwrap();
    pg.batch_execute("INSERT INTO items (owner, qty) VALUES (1, 1), (1, 2)")
        .await
        .unwrap();
    let mut bad = ws_connect(&server, None).await;
    let mut good = ws_connect(&server, None).await;
    // Divides by zero once one row is left.
    live(
        &mut bad,
        &mut HashMap::new(),
        1,
        json!("SELECT 10 / (count(*) - 1) AS x FROM items"),
        json!([]),
    )
    .await;
    live(
        &mut good,
        &mut HashMap::new(),
        1,
        json!("SELECT * FROM items WHERE owner = 1"),
        json!([]),
    )
    .await;
    ws_next_of(&mut bad, "ready").await;
    ws_next_of(&mut good, "ready").await;
    pg.batch_execute("DELETE FROM items WHERE id = 2")
        .await
        .unwrap();
    let error = ws_next_of(&mut bad, "error").await;
    assert_eq!(error["code"], "22012");
    assert_eq!(ws_next_of(&mut good, "diff").await["op"], "delete");
    // Bad queries are refused up front with their SQLSTATE.
    for (query, code) in [
        (json!("SELECT * FROM nope"), "42P01"),
        (json!("DELETE FROM items"), "0A000"),
        (json!("SELEC 1"), "42601"),
    ] {
        let reply = ws_request(&mut good, 5, json!({"type": "subscribe", "query": query})).await;
        assert_eq!(reply["code"], code, "{reply}");
    }
    // The JSON query DSL of the reference system.
    let ack = ws_request(
        &mut good,
        6,
        json!({"type": "subscribe", "table": "items", "query": {
            "where": {"$and": [{"field": "owner", "op": "==", "value": 1}]},
            "orderBy": [{"field": "qty", "direction": "desc"}], "limit": 5
        }}),
    )
    .await;
    assert_eq!(ack["type"], "ack");
    assert_eq!(ws_next_of(&mut good, "snapshot").await["rows"][0]["qty"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn property_copies_equal_the_query_after_random_writes() {
    let seed: u64 = std::env::var("LIVE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let server = start_realtime(Config::new(temp_dir("live-prop"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ITEMS).await.unwrap();
    let queries: Vec<(&str, Value)> = vec![
        ("SELECT * FROM items WHERE owner = $1", json!([1])),
        (
            "SELECT id, qty FROM items WHERE qty > $1 AND tag LIKE 'a%'",
            json!([5]),
        ),
        (
            "SELECT id, qty, tag FROM items WHERE tag IS NULL OR owner IN (2, 3)",
            json!([]),
        ),
        (
            "SELECT id, qty FROM items ORDER BY qty DESC, id LIMIT 3",
            json!([]),
        ),
        (
            "SELECT owner, count(*) AS n, sum(price) AS total FROM items GROUP BY owner",
            json!([]),
        ),
        ("SELECT tag FROM items WHERE owner = 2", json!([])),
    ];
    let mut ws = ws_connect(&server, None).await;
    let mut copies = HashMap::new();
    let mut subs = Vec::new();
    for (i, (sql, params)) in queries.iter().enumerate() {
        subs.push(
            live(
                &mut ws,
                &mut copies,
                i as i64 + 1,
                json!(sql),
                params.clone(),
            )
            .await,
        );
    }
    let tags = ["a", "ab", "b", "zz"];
    for step in 0..150 {
        let owner = rng.random_range(1..=3);
        let qty = rng.random_range(0..12);
        let tag = tags[rng.random_range(0..tags.len())];
        let id = rng.random_range(1..=(step / 2 + 2));
        let sql = match rng.random_range(0..10) {
            0..=3 => format!(
                "INSERT INTO items (owner, qty, tag, price) VALUES ({owner}, {qty}, '{tag}', {qty}.25)"
            ),
            4 => format!("INSERT INTO items (owner, qty, tag) VALUES ({owner}, {qty}, NULL)"),
            5..=6 => format!("UPDATE items SET qty = {qty}, owner = {owner} WHERE id = {id}"),
            7 => format!("UPDATE items SET tag = '{tag}' WHERE id = {id}"),
            8 => format!("DELETE FROM items WHERE id = {id}"),
            _ => format!(
                "BEGIN; UPDATE items SET qty = qty + 1 WHERE owner = {owner}; DELETE FROM items WHERE id = {id}; {}",
                if rng.random_bool(0.3) {
                    "ROLLBACK"
                } else {
                    "COMMIT"
                }
            ),
        };
        pg.batch_execute(&sql).await.unwrap();
        if step % 25 == 0 {
            drain(&mut ws, &mut copies, Duration::from_millis(20)).await;
        }
    }
    drain(&mut ws, &mut copies, Duration::from_millis(800)).await;
    for ((sql, params), sub) in queries.iter().zip(&subs) {
        let want = expected(&server, sql, params).await;
        let have = copies.get(sub).map(LiveCopy::sorted).unwrap_or_default();
        assert_eq!(have, want, "seed {seed}: {sql}");
    }
    // And one of them checked against a plain SELECT over the wire.
    let rows = pg
        .query(
            "SELECT id, qty FROM items ORDER BY qty DESC, id LIMIT 3",
            &[],
        )
        .await
        .unwrap();
    let mut plain: Vec<String> = rows
        .iter()
        .map(|r| json!({"id": r.get::<_, i64>(0), "qty": r.get::<_, i32>(1)}).to_string())
        .collect();
    plain.sort();
    assert_eq!(copies[&subs[3]].sorted(), plain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_wire_a_live_query_is_a_snapshot_then_notifications() {
    let server = start_realtime(Config::new(temp_dir("live-wire"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ITEMS).await.unwrap();
    pg.batch_execute("INSERT INTO items (owner, qty) VALUES (1, 5), (2, 6)")
        .await
        .unwrap();
    let (client, mut rx) = connect_listening(&server).await;
    let rows = client
        .query(
            "SELECT * FROM litewire.subscribe('SELECT id, qty FROM items WHERE owner = $1', ARRAY[1])",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "one snapshot row and the ready row");
    let channel: String = rows[0].get("channel");
    let snapshot: Value = rows[0].get("row");
    assert_eq!(snapshot, json!({"id": 1, "qty": 5}));
    assert_eq!(rows[0].get::<_, &str>("op"), "snapshot");
    assert_eq!(rows[1].get::<_, &str>("op"), "ready");
    let ready_lsn: i64 = rows[1].get("lsn");
    pg.batch_execute("INSERT INTO items (owner, qty) VALUES (2, 7)")
        .await
        .unwrap();
    pg.batch_execute("UPDATE items SET qty = 50 WHERE id = 1")
        .await
        .unwrap();
    let (got_channel, payload, _) = next_notification(&mut rx).await;
    assert_eq!(got_channel, channel);
    let diff: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(diff["op"], "update");
    assert_eq!(diff["row"], json!({"id": 1, "qty": 50}));
    assert_eq!(diff["key"], json!({"id": 1}));
    assert!(diff["lsn"].as_i64().unwrap() > ready_lsn);
    // Parameters may come bound (as a JSON array or an array literal).
    let rows = client
        .query(
            "SELECT * FROM litewire.subscribe($1, $2)",
            &[&"SELECT count(*) AS n FROM items", &"[]"],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, Value>("row"), json!({"n": 3}));
    let ended: bool = client
        .query_one("SELECT litewire.unsubscribe($1)", &[&channel])
        .await
        .unwrap()
        .get(0);
    assert!(ended);
    // A row both queries would see: only the count query is still live.
    pg.batch_execute("INSERT INTO items (owner, qty) VALUES (1, 1)")
        .await
        .unwrap();
    // (A count without a key column changes as the old row leaving and the
    // new one entering.)
    let mut ops = Vec::new();
    for _ in 0..2 {
        let (other, payload, _) = next_notification(&mut rx).await;
        assert_ne!(other, channel);
        let diff: Value = serde_json::from_str(&payload).unwrap();
        ops.push((diff["op"].clone(), diff["row"].clone()));
    }
    assert_eq!(
        ops,
        vec![
            (json!("delete"), Value::Null),
            (json!("insert"), json!({"n": 4}))
        ]
    );
    let error = client
        .query(
            "SELECT * FROM litewire.subscribe('SELECT * FROM nope')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(code(&error), "42P01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_subscribe_streams_timestamped_diffs_until_cancelled() {
    use futures::StreamExt;
    let server = start_realtime(Config::new(temp_dir("live-copy"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ITEMS).await.unwrap();
    pg.batch_execute("INSERT INTO items (owner, qty, tag) VALUES (1, 2, 'a\tb')")
        .await
        .unwrap();
    let subscriber = connect(&server).await;
    let stream = subscriber
        .copy_out("COPY (SUBSCRIBE (SELECT id, qty, tag FROM items WHERE owner = 1)) TO STDOUT")
        .await
        .unwrap();
    futures::pin_mut!(stream);
    let mut lines = Vec::new();
    let mut next_line = async || {
        loop {
            if let Some(line) = lines.pop() {
                return line;
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
                .await
                .expect("a row within 10 s")
                .unwrap()
                .unwrap();
            let text = String::from_utf8(chunk.to_vec()).unwrap();
            lines = text.lines().rev().map(str::to_string).collect();
        }
    };
    let snapshot = next_line().await;
    let fields: Vec<&str> = snapshot.split('\t').collect();
    assert_eq!(
        &fields[1..],
        ["1", "1", "2", "a\\tb"],
        "mz_diff +1, then the row"
    );
    let snapshot_lsn: i64 = fields[0].parse().unwrap();
    pg.batch_execute("UPDATE items SET qty = 3 WHERE id = 1")
        .await
        .unwrap();
    let old = next_line().await;
    let new = next_line().await;
    let (old, new): (Vec<&str>, Vec<&str>) = (old.split('\t').collect(), new.split('\t').collect());
    assert_eq!(
        (&old[1..3], &new[1..3]),
        (&["-1", "1"][..], &["1", "1"][..])
    );
    assert_eq!((old[3], new[3]), ("2", "3"));
    assert!(new[0].parse::<i64>().unwrap() > snapshot_lsn);
    subscriber
        .cancel_token()
        .cancel_query(tokio_postgres::NoTls)
        .await
        .unwrap();
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
        .await
        .expect("the stream ends");
    let err = end.expect("an error item").unwrap_err();
    assert_eq!(code(&err), "57014");
    // The session is usable afterwards.
    assert_eq!(
        subscriber
            .query_one("SELECT 1", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        1
    );
}

/// The data rows of a simple query's result, as text.
fn data_rows(messages: Vec<tokio_postgres::SimpleQueryMessage>) -> Vec<Vec<Option<String>>> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_cursor_fetches_the_snapshot_then_changes() {
    let server = start_realtime(Config::new(temp_dir("live-cursor"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ITEMS).await.unwrap();
    pg.batch_execute("INSERT INTO items (owner, qty) VALUES (1, 5)")
        .await
        .unwrap();
    let client = connect(&server).await;
    let err = client
        .simple_query("DECLARE c CURSOR FOR SUBSCRIBE (SELECT id, qty FROM items WHERE owner = 1)")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "25P01", "only in a transaction block");
    client.batch_execute("BEGIN").await.unwrap();
    client
        .simple_query("DECLARE c CURSOR FOR SUBSCRIBE (SELECT id, qty FROM items WHERE owner = 1)")
        .await
        .unwrap();
    let rows = data_rows(
        client
            .simple_query("FETCH ALL c WITH (timeout = '0s')")
            .await
            .unwrap(),
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0][1..],
        [Some("1".into()), Some("1".into()), Some("5".into())]
    );
    let rows = data_rows(
        client
            .simple_query("FETCH ALL c WITH (timeout = '0s')")
            .await
            .unwrap(),
    );
    assert!(rows.is_empty(), "nothing new");
    pg.batch_execute("UPDATE items SET qty = 6 WHERE id = 1")
        .await
        .unwrap();
    let rows = data_rows(
        client
            .simple_query("FETCH ALL c WITH (timeout = '5s')")
            .await
            .unwrap(),
    );
    let diffs: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r[1].clone().unwrap(), r[3].clone().unwrap()))
        .collect();
    assert_eq!(
        diffs,
        vec![("-1".into(), "5".into()), ("1".into(), "6".into())]
    );
    client.batch_execute("CLOSE c").await.unwrap();
    let err = client.simple_query("FETCH ALL c").await.unwrap_err();
    assert_eq!(code(&err), "34000", "closed");
    client.batch_execute("ROLLBACK; BEGIN").await.unwrap();
    client
        .simple_query("DECLARE d CURSOR FOR SUBSCRIBE TO items")
        .await
        .unwrap();
    client.batch_execute("COMMIT").await.unwrap();
    let err = client.simple_query("FETCH ALL d").await.unwrap_err();
    assert_eq!(code(&err), "34000", "the cursor ended with its transaction");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_with_a_row_filter_sees_only_its_rows_in_live_queries() {
    let mut config = Config::new(temp_dir("live-rls"));
    config.auth.jwt_secret = Some("k".into());
    config.auth.rules = vec![litewire::config::RuleConfig {
        role: "user".into(),
        read: vec!["notes".into()],
        filters: [("notes".to_string(), "owner = auth.sub".to_string())].into(),
        ..Default::default()
    }];
    let server = start_realtime(config).await;
    let pg = connect(&server).await;
    pg.batch_execute("CREATE TABLE notes (id bigserial PRIMARY KEY, owner text, body text)")
        .await
        .unwrap();
    pg.batch_execute("INSERT INTO notes (owner, body) VALUES ('ann', 'a1'), ('bob', 'b1')")
        .await
        .unwrap();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"role": "user", "sub": "ann", "exp": chrono::Utc::now().timestamp() + 600}),
        &jsonwebtoken::EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    let mut ws = ws_connect(&server, Some(&token)).await;
    let mut copies = HashMap::new();
    let rows = live(
        &mut ws,
        &mut copies,
        1,
        json!("SELECT * FROM notes"),
        json!([]),
    )
    .await;
    let count = live(
        &mut ws,
        &mut copies,
        2,
        json!("SELECT count(*) AS n FROM notes"),
        json!([]),
    )
    .await;
    drain(&mut ws, &mut copies, Duration::from_millis(300)).await;
    assert_eq!(
        copies[&rows].sorted(),
        vec![r#"{"id":1,"owner":"ann","body":"a1"}"#]
    );
    assert_eq!(copies[&count].sorted(), vec![r#"{"n":1}"#]);
    pg.batch_execute("INSERT INTO notes (owner, body) VALUES ('bob', 'b2')")
        .await
        .unwrap();
    pg.batch_execute("UPDATE notes SET owner = 'bob' WHERE body = 'a1'")
        .await
        .unwrap();
    pg.batch_execute("INSERT INTO notes (owner, body) VALUES ('ann', 'a2')")
        .await
        .unwrap();
    // Bob's rows never show up, not even as keys; ann's row leaving is a delete.
    let mut frames = Vec::new();
    {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        while let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(500), ws.next()).await
        {
            let frame: Value = serde_json::from_str(&text).unwrap();
            copies
                .entry(frame["sub"].as_str().unwrap_or("").to_string())
                .or_default()
                .apply(&frame);
            frames.push(frame);
        }
    }
    let row_diffs: Vec<(String, i64)> = frames
        .iter()
        .filter(|f| f["sub"] == rows.as_str())
        .map(|f| {
            (
                f["op"].as_str().unwrap().to_string(),
                f["key"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(row_diffs, vec![("delete".into(), 1), ("insert".into(), 4)]);
    assert_eq!(copies[&count].sorted(), vec![r#"{"n":1}"#]);
}
