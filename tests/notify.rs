//! LISTEN / NOTIFY with Postgres semantics, driven by tokio-postgres.

mod common;

use std::time::Duration;

use common::{
    assert_none, code, connect, connect_listening, next_notification as next, start, start_with,
    temp_dir,
};

async fn pid(client: &tokio_postgres::Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_listeners_with_the_sender_pid() {
    let server = start().await;
    let (listener, mut rx) = connect_listening(&server).await;
    let sender = connect(&server).await;
    listener
        .batch_execute("LISTEN orders; LISTEN \"MixedCase\"")
        .await
        .unwrap();
    sender
        .batch_execute("NOTIFY orders, 'first'; NOTIFY ORDERS")
        .await
        .unwrap();
    sender
        .execute("SELECT pg_notify($1, $2)", &[&"MixedCase", &"second"])
        .await
        .unwrap();
    let sender_pid = pid(&sender).await;
    assert_eq!(
        next(&mut rx).await,
        ("orders".into(), "first".into(), sender_pid)
    );
    assert_eq!(
        next(&mut rx).await,
        ("orders".into(), "".into(), sender_pid)
    );
    assert_eq!(
        next(&mut rx).await,
        ("MixedCase".into(), "second".into(), sender_pid)
    );
    // Unquoted names fold to lower case, so "mixedcase" is another channel.
    sender
        .batch_execute("NOTIFY mixedcase, 'nobody'")
        .await
        .unwrap();
    assert_none(&listener, &mut rx).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_transactional_and_deduplicated() {
    let server = start().await;
    let (listener, mut rx) = connect_listening(&server).await;
    let sender = connect(&server).await;
    listener.batch_execute("LISTEN ch").await.unwrap();

    sender
        .batch_execute("BEGIN; NOTIFY ch, 'a'; NOTIFY ch, 'b'; NOTIFY ch, 'a'")
        .await
        .unwrap();
    assert_none(&listener, &mut rx).await;
    sender.batch_execute("COMMIT").await.unwrap();
    assert_eq!(next(&mut rx).await.1, "a");
    assert_eq!(next(&mut rx).await.1, "b");
    assert_none(&listener, &mut rx).await;

    sender
        .batch_execute("BEGIN; NOTIFY ch, 'rolled back'; ROLLBACK")
        .await
        .unwrap();
    sender.batch_execute("BEGIN; NOTIFY ch, 'kept'; SAVEPOINT s; NOTIFY ch, 'undone'; ROLLBACK TO SAVEPOINT s; COMMIT").await.unwrap();
    // A failed transaction discards its notifications too.
    sender
        .batch_execute("BEGIN; NOTIFY ch, 'failed'")
        .await
        .unwrap();
    assert!(sender.simple_query("SELECT 1/0").await.is_err());
    sender.batch_execute("COMMIT").await.unwrap();
    assert_eq!(next(&mut rx).await.1, "kept");
    assert_none(&listener, &mut rx).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_from_several_publishers_arrive_whole_and_in_order() {
    let server = start().await;
    let (listener, mut rx) = connect_listening(&server).await;
    listener.batch_execute("LISTEN burst").await.unwrap();
    let a = connect(&server).await;
    // One statement notifying 300 times: more than is held for one direct
    // write, so the rest goes through the session's queue behind it.
    a.batch_execute("SELECT pg_notify('burst', 'a' || n) FROM generate_series(1, 300) AS n")
        .await
        .unwrap();
    // Two publishers at once: each one's notifications stay in its order.
    let send = |client: tokio_postgres::Client, tag: &'static str| async move {
        for n in 1..=200 {
            client
                .execute("SELECT pg_notify('burst', $1)", &[&format!("{tag}{n}")])
                .await
                .unwrap();
        }
    };
    let (c, d) = (connect(&server).await, connect(&server).await);
    tokio::join!(send(c, "c"), send(d, "d"));
    let mut seen = std::collections::HashMap::new();
    for _ in 0..700 {
        let payload = next(&mut rx).await.1;
        let (tag, n) = payload.split_at(1);
        let last = seen.insert(tag.to_string(), n.parse::<u32>().unwrap());
        assert_eq!(
            last.unwrap_or(0) + 1,
            n.parse::<u32>().unwrap(),
            "{payload}"
        );
    }
    assert_eq!(seen.len(), 3);
    assert_none(&listener, &mut rx).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_inside_a_transaction_block_gets_notifications_after_it_ends() {
    let server = start().await;
    let (listener, mut rx) = connect_listening(&server).await;
    let sender = connect(&server).await;
    listener.batch_execute("LISTEN ch").await.unwrap();
    listener.batch_execute("BEGIN").await.unwrap();
    sender.batch_execute("NOTIFY ch, 'held'").await.unwrap();
    // Idle in the block, and at its statements' ReadyForQuery: nothing, as in
    // Postgres (assert_none runs a statement in the block).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_none(&listener, &mut rx).await;
    listener.batch_execute("COMMIT").await.unwrap();
    assert_eq!(next(&mut rx).await.1, "held");
    // Outside a block they arrive while the session is idle.
    sender.batch_execute("NOTIFY ch, 'idle'").await.unwrap();
    assert_eq!(next(&mut rx).await.1, "idle");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_in_a_rolled_back_transaction_has_no_effect_and_own_notifications_arrive() {
    let server = start().await;
    let (client, mut rx) = connect_listening(&server).await;
    client
        .batch_execute("BEGIN; LISTEN ghost; ROLLBACK")
        .await
        .unwrap();
    client.batch_execute("NOTIFY ghost, 'x'").await.unwrap();
    assert_none(&client, &mut rx).await;
    let channels = |rows: Vec<tokio_postgres::Row>| {
        rows.iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
    };
    let listening = client
        .query("SELECT pg_listening_channels()", &[])
        .await
        .unwrap();
    assert!(channels(listening).is_empty());
    client
        .batch_execute("LISTEN me; NOTIFY me, 'self'")
        .await
        .unwrap();
    let listening = client
        .query("SELECT * FROM pg_listening_channels()", &[])
        .await
        .unwrap();
    assert_eq!(channels(listening), vec!["me".to_string()]);
    let own = pid(&client).await;
    assert_eq!(next(&mut rx).await, ("me".into(), "self".into(), own));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_notify_fires_once_per_row_and_checks_its_arguments() {
    let server = start().await;
    let (listener, mut rx) = connect_listening(&server).await;
    let sender = connect(&server).await;
    listener.batch_execute("LISTEN rows").await.unwrap();
    sender
        .batch_execute("CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2), (3)")
        .await
        .unwrap();
    sender
        .simple_query("SELECT pg_notify('rows', n::text) FROM t ORDER BY n")
        .await
        .unwrap();
    for expected in ["1", "2", "3"] {
        assert_eq!(next(&mut rx).await.1, expected);
    }
    // litewire.publish_batch: a whole result set in one step, transactional.
    sender.batch_execute("BEGIN").await.unwrap();
    let published: i64 = sender
        .query_one(
            "SELECT litewire.publish_batch('rows', 'batch ' || n) FROM t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(published, 3);
    assert_none(&listener, &mut rx).await;
    sender.batch_execute("COMMIT").await.unwrap();
    for expected in ["batch 1", "batch 2", "batch 3"] {
        assert_eq!(next(&mut rx).await.1, expected);
    }
    // litewire.outbox: publishing with a plain INSERT, transactional too.
    let inserted = sender
        .execute("INSERT INTO litewire.outbox (channel, payload) VALUES ('rows', $1), ('rows', 'second')", &[&"first"])
        .await
        .unwrap();
    assert_eq!(inserted, 2);
    assert_eq!(next(&mut rx).await.1, "first");
    assert_eq!(next(&mut rx).await.1, "second");
    sender
        .batch_execute("BEGIN; INSERT INTO litewire.outbox (channel, payload) VALUES ('rows', 'undone'); ROLLBACK")
        .await
        .unwrap();
    let long = "x".repeat(8000);
    let err = sender
        .execute("SELECT pg_notify('rows', $1)", &[&long])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22023");
    let err = sender
        .simple_query(&format!("NOTIFY rows, '{long}'"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22023");
    let err = sender
        .simple_query("SELECT pg_notify('', 'x')")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22023");
    assert_none(&listener, &mut rx).await;
    server.stop().await;
}

/// A raw protocol message: type byte, length, body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// Reads until a ReadyForQuery ('Z') message has arrived.
async fn read_until_ready(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    loop {
        let mut header = [0u8; 5];
        stream.read_exact(&mut header).await.unwrap();
        let len = i32::from_be_bytes(header[1..5].try_into().unwrap()) as usize - 4;
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).await.unwrap();
        seen.push(header[0]);
        if header[0] == b'Z' {
            return seen;
        }
    }
}

/// A session over a bare socket that has run `LISTEN channel` and is idle.
async fn raw_listener(server: &litewire::Server, channel: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(server.pg_addr)
        .await
        .unwrap();
    let mut startup = Vec::new();
    startup.extend_from_slice(&196608i32.to_be_bytes());
    startup.extend_from_slice(b"user\0postgres\0\0");
    let mut packet = ((startup.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend(startup);
    stream.write_all(&packet).await.unwrap();
    read_until_ready(&mut stream).await;
    let listen = format!("LISTEN {channel}\0");
    stream
        .write_all(&message(b'Q', listen.as_bytes()))
        .await
        .unwrap();
    read_until_ready(&mut stream).await;
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_listener_that_stops_reading_gets_whole_messages_in_order_then_is_cut_off() {
    use tokio::io::AsyncReadExt;
    let mut config = litewire::config::Config::new(temp_dir("stalled"));
    config.notify_queue = 4;
    let server = start_with(config).await;
    let mut stalled = raw_listener(&server, "big").await;
    let sender = connect(&server).await;
    // Notifications of 7 kB, one statement each (each written to the idle
    // socket directly): far more than the socket buffers and the queue hold
    // while the listener does not read, so one is written in part.
    let notify = sender
        .prepare("SELECT pg_notify('big', $1 || ':' || repeat('x', 7000))")
        .await
        .unwrap();
    for n in 1..=3000 {
        sender.execute(&notify, &[&n.to_string()]).await.unwrap();
    }
    // And a burst in one statement, past what is held for one write.
    sender
        .batch_execute(
            "SELECT pg_notify('big', n || ':' || repeat('x', 7000)) \
             FROM generate_series(3001, 3200) AS n",
        )
        .await
        .unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    // What arrived is a run of whole NotificationResponses numbered 1, 2, ...,
    // then the overflow NOTICE and the FATAL error.
    let mut kinds = Vec::new();
    let mut expected = 1;
    let mut at = 0;
    while at < rest.len() {
        let kind = rest[at];
        let len = i32::from_be_bytes(rest[at + 1..at + 5].try_into().unwrap()) as usize;
        let body = &rest[at + 5..at + 1 + len];
        if kind == b'A' {
            let text = String::from_utf8_lossy(&body[4..]);
            let payload = text.split('\0').nth(1).unwrap();
            assert_eq!(payload, format!("{expected}:{}", "x".repeat(7000)));
            expected += 1;
        }
        kinds.push(kind);
        at += 1 + len;
    }
    assert!(expected > 5, "only {} notifications arrived", expected - 1);
    assert_eq!(&kinds[kinds.len() - 2..], b"NE");
    let text = String::from_utf8_lossy(&rest);
    assert!(text.contains("54000") && text.contains("notification queue overflow"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_falls_behind_is_told_and_disconnected_without_stalling_others() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = litewire::config::Config::new(temp_dir("lag"));
    config.notify_queue = 4;
    let server = start_with(config).await;
    let (fast, mut fast_rx) = connect_listening(&server).await;
    let sender = connect(&server).await;
    fast.batch_execute("LISTEN busy").await.unwrap();

    // The slow session LISTENs, then stays inside an unfinished extended-protocol
    // batch (Parse, no Sync): it is never idle, so its notifications pile up.
    let mut slow = raw_listener(&server, "busy").await;
    let mut batch = message(b'P', b"\0SELECT 1\0\0\0");
    batch.extend(message(b'H', b""));
    slow.write_all(&batch).await.unwrap();
    // ParseComplete, flushed by Flush: the server is now inside the batch.
    let mut parse_complete = [0u8; 5];
    slow.read_exact(&mut parse_complete).await.unwrap();
    assert_eq!(parse_complete, [b'1', 0, 0, 0, 4]);

    // Publishers and the other listener are never held up. (The fast listener
    // takes each notification before the next is sent: its queue is as small.)
    for i in 0..10 {
        sender
            .batch_execute(&format!("NOTIFY busy, '{i}'"))
            .await
            .unwrap();
        assert_eq!(next(&mut fast_rx).await.1, i.to_string());
    }
    // At its next ReadyForQuery the slow session learns why it is cut off.
    slow.write_all(&message(b'S', b"")).await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.contains("54000") && text.contains("notification queue overflow"),
        "{text}"
    );
    server.stop().await;
}
