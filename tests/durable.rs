//! Durable channels: a named consumer gets every message it missed while away
//! (and across a server restart), in order, exactly once with acks, then goes
//! live with no gap and no duplicate at the hand-over.

mod common;

use common::*;
use litewire::config::Config;
use serde_json::{Value, json};

/// The next notification's payload as `(id, payload)`.
async fn next_message(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
) -> (i64, String) {
    let (channel, payload, _) = next_notification(rx).await;
    assert_eq!(channel, "jobs");
    let v: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["consumer"], "worker-1");
    (
        v["id"].as_i64().unwrap(),
        v["payload"].as_str().unwrap().to_string(),
    )
}

async fn listen_durable(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one("SELECT litewire.listen_durable('jobs', 'worker-1')", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_gets_what_it_missed_in_order_once_then_goes_live() {
    let dir = temp_dir("durable");
    let server = start_realtime(Config::new(&dir)).await;
    let publisher = connect(&server).await;
    let (worker, mut rx) = connect_listening(&server).await;
    assert_eq!(listen_durable(&worker).await, 0, "nothing missed yet");
    publisher
        .batch_execute("BEGIN; NOTIFY jobs, 'a'; SELECT pg_notify('jobs', 'b'); COMMIT")
        .await
        .unwrap();
    publisher
        .batch_execute("BEGIN; NOTIFY jobs, 'rolled back'; ROLLBACK")
        .await
        .unwrap();
    let (id_a, a) = next_message(&mut rx).await;
    let (id_b, b) = next_message(&mut rx).await;
    assert_eq!((a.as_str(), b.as_str()), ("a", "b"));
    assert!(id_b > id_a);
    let acked: Vec<bool> = worker
        .query("SELECT litewire.ack('worker-1', $1)", &[&id_a.to_string()])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(acked, vec![true]);
    drop(worker);

    // Away: messages keep coming, from the wire, a socket and REST-style autocommit.
    publisher.batch_execute("NOTIFY jobs, 'c'").await.unwrap();
    let mut ws = ws_connect(&server, None).await;
    assert_eq!(
        ws_request(
            &mut ws,
            1,
            json!({"type": "notify", "channel": "jobs", "payload": "d"})
        )
        .await["type"],
        "ack"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // Back: b (not acked), c, d in order, then live e, nothing twice.
    let (worker, mut rx) = connect_listening(&server).await;
    assert_eq!(listen_durable(&worker).await, 3);
    publisher.batch_execute("NOTIFY jobs, 'e'").await.unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(next_message(&mut rx).await.1);
    }
    assert_eq!(got, ["b", "c", "d", "e"]);
    assert_none(&worker, &mut rx).await;

    // History, typed.
    let rows = publisher
        .query(
            "SELECT id, payload FROM litewire.messages('jobs', $1)",
            &[&id_a],
        )
        .await
        .unwrap();
    let payloads: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(payloads, ["b", "c", "d", "e"]);

    // A restart keeps messages and positions.
    drop((worker, publisher, ws));
    server.stop().await;
    let server = start_realtime(Config::new(&dir)).await;
    let publisher = connect(&server).await;
    publisher.batch_execute("NOTIFY jobs, 'f'").await.unwrap();
    let (worker, mut rx) = connect_listening(&server).await;
    assert_eq!(
        listen_durable(&worker).await,
        5,
        "b..f: only a was acknowledged"
    );
    let first = next_message(&mut rx).await.1;
    assert_eq!(first, "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_functions_refuse_bad_use() {
    let server = start_realtime(Config::new(temp_dir("durable-bad"))).await;
    let client = connect(&server).await;
    client.batch_execute("BEGIN").await.unwrap();
    let err = client
        .query("SELECT litewire.listen_durable('jobs', 'w')", &[])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "25001");
    client.batch_execute("ROLLBACK").await.unwrap();
    let err = client
        .query("SELECT litewire.ack('w')", &[])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42883");
    let err = client
        .query("SELECT litewire.ack('w', 'x')", &[])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22P02");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_resumes_a_durable_channel_after_a_message_id() {
    let server = start_realtime(Config::new(temp_dir("durable-ws"))).await;
    let publisher = connect(&server).await;
    let mut ws = ws_connect(&server, None).await;
    let ack = ws_request(
        &mut ws,
        1,
        json!({"type": "listen", "channel": "feed", "since": 0}),
    )
    .await;
    assert_eq!(ack["type"], "ack");
    publisher
        .batch_execute("NOTIFY feed, 'x'; NOTIFY feed, 'y'")
        .await
        .unwrap();
    let x = ws_next_of(&mut ws, "notification").await;
    let y = ws_next_of(&mut ws, "notification").await;
    assert_eq!(
        (x["payload"].as_str(), y["payload"].as_str()),
        (Some("x"), Some("y"))
    );
    let last = y["id"].as_i64().unwrap();
    drop(ws);
    publisher.batch_execute("NOTIFY feed, 'z'").await.unwrap();
    let mut ws = ws_connect(&server, None).await;
    ws_request(
        &mut ws,
        1,
        json!({"type": "listen", "channel": "feed", "since": last}),
    )
    .await;
    publisher.batch_execute("NOTIFY feed, 'w'").await.unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        let n = ws_next_of(&mut ws, "notification").await;
        got.push(n["payload"].as_str().unwrap().to_string());
    }
    assert_eq!(got, ["z", "w"]);
    assert_eq!(
        ws_request(&mut ws, 2, json!({"type": "ping"})).await["type"],
        "ack",
        "nothing else queued"
    );
}
