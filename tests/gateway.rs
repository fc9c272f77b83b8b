//! The WebSocket gateway, driven by a real WebSocket client (tokio-tungstenite)
//! next to tokio-postgres on the same server.

mod common;

use std::time::Duration;

use common::*;
use litewire::config::{Config, RuleConfig};
use serde_json::{Value, json};

const ORDERS: &str = "CREATE TABLE orders (id bigserial PRIMARY KEY, owner text, \
     status text NOT NULL DEFAULT 'pending', total numeric(10,2))";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_written_over_the_wire_reaches_a_filtered_feed() {
    let server = start_realtime(Config::new(temp_dir("ws-feed"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ORDERS).await.unwrap();
    let mut ws = ws_connect(&server, None).await;
    let ack = ws_request(
        &mut ws,
        1,
        json!({"type": "subscribe", "table": "orders", "filter": {"status": "pending", "total": {"gt": 100}}}),
    )
    .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let sub = ack["sub"].as_str().unwrap().to_string();
    pg.batch_execute("INSERT INTO orders (total) VALUES (50)")
        .await
        .unwrap();
    pg.batch_execute("INSERT INTO orders (total) VALUES (150.5)")
        .await
        .unwrap();
    pg.batch_execute("UPDATE orders SET status = 'shipped' WHERE id = 2")
        .await
        .unwrap();
    let insert = ws_next_of(&mut ws, "diff").await;
    assert_eq!(insert["sub"], sub.as_str());
    assert_eq!(insert["op"], "insert");
    assert_eq!(insert["row"]["id"], 2, "the 50.00 order is filtered out");
    assert_eq!(insert["row"]["total"].to_string(), "150.50");
    let leave = ws_next_of(&mut ws, "diff").await;
    assert_eq!(
        leave["op"], "delete",
        "an update leaving the filter is a delete"
    );
    assert_eq!(leave["old"]["status"], "pending");
    assert_eq!(leave["row"], Value::Null);
    assert!(leave["lsn"].as_i64() > insert["lsn"].as_i64());

    // One row by primary key, and a SQL filter with parameters.
    let by_pk = ws_request(
        &mut ws,
        2,
        json!({"type": "subscribe", "table": "orders", "pk": 1}),
    )
    .await;
    let by_sql = ws_request(
        &mut ws,
        3,
        json!({"type": "subscribe", "table": "orders", "where": "status = $1 AND total < $2", "params": ["paid", 60]}),
    )
    .await;
    pg.batch_execute("UPDATE orders SET status = 'paid'")
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let diff = ws_next_of(&mut ws, "diff").await;
        seen.push((
            diff["sub"].as_str().unwrap().to_string(),
            diff["op"].as_str().unwrap().to_string(),
        ));
    }
    seen.sort();
    let mut expected = vec![
        (
            by_pk["sub"].as_str().unwrap().to_string(),
            "update".to_string(),
        ),
        (
            by_sql["sub"].as_str().unwrap().to_string(),
            "insert".to_string(),
        ),
    ];
    expected.sort();
    assert_eq!(seen, expected);

    // Bad subscriptions get coded errors and the connection stays usable.
    for (request, code) in [
        (json!({"type": "subscribe", "table": "nope"}), "42P01"),
        (
            json!({"type": "subscribe", "table": "orders", "filter": {"nope": 1}}),
            "42703",
        ),
        (
            json!({"type": "subscribe", "table": "orders", "where": "status ="}),
            "42601",
        ),
    ] {
        let reply = ws_request(&mut ws, 9, request).await;
        assert_eq!(reply["code"], code, "{reply}");
    }
    assert_eq!(
        ws_request(&mut ws, 10, json!({"type": "ping"})).await["type"],
        "ack"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_crosses_between_websocket_and_postgres_listeners() {
    let server = start_realtime(Config::new(temp_dir("ws-notify"))).await;
    let (pg, mut rx) = connect_listening(&server).await;
    pg.batch_execute("LISTEN chat").await.unwrap();
    let mut ws = ws_connect(&server, None).await;
    assert_eq!(
        ws_request(&mut ws, 1, json!({"type": "listen", "channel": "chat"})).await["type"],
        "ack"
    );
    let reply = ws_request(
        &mut ws,
        2,
        json!({"type": "notify", "channel": "chat", "payload": "from ws"}),
    )
    .await;
    assert_eq!(reply["type"], "ack");
    let (channel, payload, _) = next_notification(&mut rx).await;
    assert_eq!((channel.as_str(), payload.as_str()), ("chat", "from ws"));
    assert_eq!(
        ws_next_of(&mut ws, "notification").await["payload"],
        "from ws"
    );
    // A NOTIFY in a transaction reaches the WebSocket only at commit.
    let sender = connect(&server).await;
    sender
        .batch_execute("BEGIN; NOTIFY chat, 'rolled back'; ROLLBACK")
        .await
        .unwrap();
    sender
        .batch_execute("BEGIN; NOTIFY chat, 'from psql'; COMMIT")
        .await
        .unwrap();
    assert_eq!(
        ws_next_of(&mut ws, "notification").await["payload"],
        "from psql"
    );
    let too_long = "x".repeat(8000);
    let reply = ws_request(
        &mut ws,
        3,
        json!({"type": "notify", "channel": "chat", "payload": too_long}),
    )
    .await;
    assert_eq!(reply["code"], "22023");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_resumed_after_a_disconnect_misses_and_repeats_nothing() {
    let server = start_realtime(Config::new(temp_dir("ws-resume"))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ORDERS).await.unwrap();
    let mut ws = ws_connect(&server, None).await;
    let ack = ws_request(&mut ws, 1, json!({"type": "subscribe", "table": "orders"})).await;
    let mut last = ack["lsn"].as_i64().unwrap();
    let writer = tokio::spawn(async move {
        for i in 0..1000 {
            pg.execute(
                "INSERT INTO orders (owner) VALUES ($1)",
                &[&format!("o{i}")],
            )
            .await
            .unwrap();
        }
    });
    let mut owners = Vec::new();
    // Read a few, then drop the connection while the writes go on.
    for _ in 0..50 {
        let diff = ws_next_of(&mut ws, "diff").await;
        last = diff["lsn"].as_i64().unwrap();
        owners.push(diff["row"]["owner"].as_str().unwrap().to_string());
    }
    drop(ws);
    // With its only subscriber gone the feed closes its cursor: the writes
    // go on while nothing follows the stream, and the resume reads them back.
    eventually("the feed closes its cursor", || {
        server.changes.followers() == 0
    })
    .await;
    let mut ws = ws_connect(&server, None).await;
    let ack = ws_request(
        &mut ws,
        1,
        json!({"type": "subscribe", "table": "orders", "since": last}),
    )
    .await;
    assert_eq!(ack["lsn"], last);
    while owners.len() < 1000 {
        let diff = ws_next_of(&mut ws, "diff").await;
        let lsn = diff["lsn"].as_i64().unwrap();
        assert!(lsn > last, "LSNs increase: {lsn} after {last}");
        last = lsn;
        owners.push(diff["row"]["owner"].as_str().unwrap().to_string());
    }
    writer.await.unwrap();
    let expected: Vec<String> = (0..1000).map(|i| format!("o{i}")).collect();
    assert_eq!(owners, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_by_the_sqlite3_shell_reaches_the_feed() {
    let dir = temp_dir("ws-external");
    let server = start_realtime(Config::new(&dir)).await;
    connect(&server).await.batch_execute(ORDERS).await.unwrap();
    let mut ws = ws_connect(&server, None).await;
    ws_request(&mut ws, 1, json!({"type": "subscribe", "table": "orders"})).await;
    if !sqlite3_shell(
        &dir,
        "INSERT INTO orders (owner, status) VALUES ('shell', 'new');",
    ) {
        return;
    }
    let diff = ws_next_of(&mut ws, "diff").await;
    assert_eq!(diff["row"]["owner"], "shell");
}

fn token(claims: Value) -> String {
    let mut claims = claims;
    claims["exp"] = (chrono::Utc::now().timestamp() + 600).into();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"test-secret"),
    )
    .unwrap()
}

fn secured(anon: bool) -> Config {
    let mut config = Config::new(temp_dir("ws-auth"));
    config.auth.jwt_secret = Some("test-secret".into());
    config.auth.anon_role = anon.then(|| "anon".into());
    config.auth.rules = vec![
        RuleConfig {
            role: "user".into(),
            listen: vec!["room:*".into()],
            notify: vec!["room:*".into()],
            presence: vec!["room:*".into()],
            read: vec!["orders".into()],
            filters: [("orders".to_string(), "owner = auth.sub".to_string())].into(),
        },
        RuleConfig {
            role: "*".into(),
            listen: vec!["public".into()],
            ..Default::default()
        },
    ];
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_rules_deny_what_they_must() {
    let server = start_realtime(secured(false)).await;
    let pg = connect(&server).await;
    pg.batch_execute(ORDERS).await.unwrap();

    // No token and no anon role: 28000, then closed.
    let mut ws = ws_connect(&server, None).await;
    let reply = ws_request(&mut ws, 1, json!({"type": "listen", "channel": "public"})).await;
    assert_eq!(reply["code"], "28000");
    assert!(ws_next(&mut ws).await.is_none(), "closed");
    // A forged token: 28000.
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"role": "user", "exp": chrono::Utc::now().timestamp() + 600}),
        &jsonwebtoken::EncodingKey::from_secret(b"wrong"),
    )
    .unwrap();
    let mut ws = ws_connect(&server, Some(&forged)).await;
    assert_eq!(ws_next(&mut ws).await.unwrap()["code"], "28000");

    // An `auth` message works too; then rules apply.
    let mut ann = ws_connect(&server, None).await;
    let reply = ws_request(
        &mut ann,
        1,
        json!({"type": "auth", "token": token(json!({"role": "user", "sub": "ann"}))}),
    )
    .await;
    assert_eq!(reply["role"], "user");
    assert_eq!(
        ws_request(&mut ann, 2, json!({"type": "listen", "channel": "room:1"})).await["type"],
        "ack"
    );
    for (id, request) in [
        (3, json!({"type": "listen", "channel": "secret"})),
        (
            4,
            json!({"type": "notify", "channel": "public", "payload": "x"}),
        ),
        (
            5,
            json!({"type": "listen", "channel": "litewire.changes.orders"}),
        ),
        (6, json!({"type": "presence", "channel": "lobby"})),
    ] {
        assert_eq!(ws_request(&mut ann, id, request).await["code"], "42501");
    }
    let feed = ws_request(&mut ann, 7, json!({"type": "subscribe", "table": "orders"})).await;
    assert_eq!(feed["type"], "ack");

    // Row filters: ann sees her rows only; a row handed to bob leaves her feed
    // and bob's row is never announced to her, not even its key.
    let mut bob = ws_connect(&server, Some(&token(json!({"role": "user", "sub": "bob"})))).await;
    ws_request(&mut bob, 1, json!({"type": "subscribe", "table": "orders"})).await;
    pg.batch_execute("INSERT INTO orders (owner) VALUES ('bob')")
        .await
        .unwrap();
    pg.batch_execute("INSERT INTO orders (owner) VALUES ('ann')")
        .await
        .unwrap();
    pg.batch_execute("UPDATE orders SET owner = 'bob' WHERE owner = 'ann'")
        .await
        .unwrap();
    let a1 = ws_next_of(&mut ann, "diff").await;
    assert_eq!(
        (a1["op"].as_str(), a1["row"]["id"].as_i64()),
        (Some("insert"), Some(2))
    );
    let a2 = ws_next_of(&mut ann, "diff").await;
    assert_eq!(
        (a2["op"].as_str(), a2["old"]["id"].as_i64()),
        (Some("delete"), Some(2))
    );
    let b: Vec<(String, i64)> = {
        let mut b = Vec::new();
        for _ in 0..2 {
            let d = ws_next_of(&mut bob, "diff").await;
            b.push((
                d["op"].as_str().unwrap().to_string(),
                d["row"]["id"].as_i64().unwrap(),
            ));
        }
        b
    };
    assert_eq!(
        b,
        vec![("insert".to_string(), 1), ("insert".to_string(), 2)]
    );
    assert_eq!(
        ws_request(&mut ann, 8, json!({"type": "ping"})).await["type"],
        "ack"
    );

    // A role without read access to the table is refused.
    let mut guest = ws_connect(&server, Some(&token(json!({"role": "guest"})))).await;
    let reply = ws_request(
        &mut guest,
        1,
        json!({"type": "subscribe", "table": "orders"}),
    )
    .await;
    assert_eq!(reply["code"], "42501");
    assert_eq!(
        ws_request(
            &mut guest,
            2,
            json!({"type": "listen", "channel": "public"})
        )
        .await["type"],
        "ack"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_connections_get_the_anon_role() {
    let server = start_realtime(secured(true)).await;
    let mut ws = ws_connect(&server, None).await;
    assert_eq!(
        ws_request(&mut ws, 1, json!({"type": "listen", "channel": "public"})).await["type"],
        "ack"
    );
    assert_eq!(
        ws_request(&mut ws, 2, json!({"type": "listen", "channel": "room:1"})).await["code"],
        "42501"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_is_a_token_for_its_role() {
    let mut config = secured(false);
    config.auth.api_keys = [("sk-user".to_string(), "user".to_string())].into();
    let server = start_realtime(config).await;
    // As the connection's token: the key's role and its rules.
    let mut ws = ws_connect(&server, Some("sk-user")).await;
    assert_eq!(
        ws_request(&mut ws, 1, json!({"type": "listen", "channel": "room:1"})).await["type"],
        "ack"
    );
    assert_eq!(
        ws_request(&mut ws, 2, json!({"type": "listen", "channel": "secret"})).await["code"],
        "42501"
    );
    // In an `auth` message; a wrong key is refused like a forged token.
    let mut other = ws_connect(&server, None).await;
    let reply = ws_request(&mut other, 1, json!({"type": "auth", "token": "sk-nope"})).await;
    assert_eq!(reply["code"], "28000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_join_leave_and_timeout() {
    let mut config = Config::new(temp_dir("ws-presence"));
    config.realtime.heartbeat_timeout_secs = 1;
    let server = start_realtime(config).await;
    let mut ann = ws_connect(&server, None).await;
    let mut bob = ws_connect(&server, None).await;
    let reply = ws_request(
        &mut ann,
        1,
        json!({"type": "presence", "channel": "room", "key": "ann", "state": {"typing": false}}),
    )
    .await;
    assert_eq!(reply["key"], "ann");
    let state = ws_next_of(&mut ann, "presence_state").await;
    assert_eq!(state["presences"], json!({"ann": {"typing": false}}));
    ws_request(
        &mut bob,
        1,
        json!({"type": "presence", "channel": "room", "key": "bob"}),
    )
    .await;
    let state = ws_next_of(&mut bob, "presence_state").await;
    assert_eq!(
        state["presences"],
        json!({"ann": {"typing": false}, "bob": {}})
    );
    let diff = ws_next_of(&mut ann, "presence_diff").await;
    assert_eq!(diff["joins"], json!({"bob": {}}));

    // Readable in SQL.
    let pg = connect(&server).await;
    let rows = pg
        .query(
            "SELECT key, state FROM litewire.presence WHERE channel = $1 ORDER BY key",
            &[&"room"],
        )
        .await
        .unwrap();
    let keys: Vec<(String, Value)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        keys,
        vec![
            ("ann".into(), json!({"typing": false})),
            ("bob".into(), json!({}))
        ]
    );

    // Bob goes silent: after the heartbeat timeout he is closed and leaves,
    // while ann, who pings, stays.
    for i in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        ws_send(&mut ann, json!({"type": "ping", "id": 100 + i})).await;
    }
    let diff = ws_next_of(&mut ann, "presence_diff").await;
    assert_eq!(diff["leaves"], json!({"bob": {}}));
    assert!(ws_next(&mut bob).await.is_none(), "bob was disconnected");
    let count: i64 = pg
        .query_one("SELECT count(*) FROM litewire.presence", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_limits_get_coded_errors_and_the_connection_stays() {
    let mut config = Config::new(temp_dir("ws-limits"));
    config.realtime.rate_per_sec = 1;
    config.realtime.burst = 5;
    config.realtime.max_subscriptions = 1;
    let server = start_realtime(config).await;
    connect(&server).await.batch_execute(ORDERS).await.unwrap();
    let mut ws = ws_connect(&server, None).await;
    {
        use futures::SinkExt;
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            "{not json".into(),
        ))
        .await
        .unwrap();
    }
    assert_eq!(ws_next(&mut ws).await.unwrap()["code"], "22P02");
    assert_eq!(
        ws_request(&mut ws, 1, json!({"type": "teleport"})).await["code"],
        "08P01"
    );
    assert_eq!(
        ws_request(&mut ws, 2, json!({"type": "listen", "channel": 7})).await["code"],
        "22023"
    );
    assert_eq!(
        ws_request(&mut ws, 3, json!({"type": "subscribe", "table": "orders"})).await["type"],
        "ack"
    );
    assert_eq!(
        ws_request(&mut ws, 4, json!({"type": "subscribe", "table": "orders"})).await["code"],
        "54000"
    );
    // The burst of 5 is spent: the next request is refused, then after a
    // second the connection works again.
    assert_eq!(
        ws_request(&mut ws, 5, json!({"type": "ping"})).await["code"],
        "53400"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        ws_request(&mut ws, 6, json!({"type": "ping"})).await["type"],
        "ack"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_not_buffered() {
    let mut config = Config::new(temp_dir("ws-slow"));
    config.realtime.outbound_queue = 4;
    config.notify_queue = 4;
    let server = start_realtime(config).await;
    let mut ws = ws_connect(&server, None).await;
    ws_request(&mut ws, 1, json!({"type": "listen", "channel": "flood"})).await;
    let pg = connect(&server).await;
    // The client reads nothing while far more than its queues and the
    // socket buffers hold is sent (5,000 payloads of 7 kB: 35 MB).
    let filler = "x".repeat(7000);
    for i in 0..5000 {
        pg.execute("SELECT pg_notify('flood', $1)", &[&format!("{i}{filler}")])
            .await
            .unwrap();
    }
    let mut received = 0;
    let closed = loop {
        match ws_next(&mut ws).await {
            Some(frame) if frame["type"] == "notification" => received += 1,
            Some(_) => {}
            None => break true,
        }
    };
    assert!(closed);
    assert!(received < 5000, "the slow client was cut off, not buffered");
}
