//! The REST door over real HTTP: PostgREST-style tables, errors and auth.

mod common;

use common::*;
use litewire::config::{Config, RuleConfig};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const ORDERS: &str = "CREATE TABLE orders (id bigserial PRIMARY KEY, owner text, \
     status text NOT NULL DEFAULT 'pending', total numeric(10,2), paid boolean, \
     meta jsonb, created timestamptz)";

/// The base URL of the server's HTTP door.
fn url(server: &litewire::Server, path: &str) -> String {
    format!("http://{}{path}", server.http_addr.expect("http listener"))
}

async fn server_with_orders(tag: &str) -> (litewire::Server, tokio_postgres::Client) {
    let server = start_realtime(Config::new(temp_dir(tag))).await;
    let pg = connect(&server).await;
    pg.batch_execute(ORDERS).await.unwrap();
    (server, pg)
}

/// Sends a request; returns the status, the headers and the body as JSON
/// (`null` when empty).
async fn send(request: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, headers, body)
}

/// JSON from text: `numeric` values keep their exact digits (`12.50`), which
/// the `json!` macro would normalize.
fn exact(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

async fn post_rows(server: &litewire::Server, table: &str, rows: Value) -> (StatusCode, Value) {
    let (status, _, body) = send(
        Client::new()
            .post(url(server, &format!("/rest/v1/{table}")))
            .header("Prefer", "return=representation")
            .json(&rows),
    )
    .await;
    (status, body)
}

async fn get_json(server: &litewire::Server, path_and_query: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(Client::new().get(url(server, path_and_query))).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_and_read_rows_with_postgres_types_as_json() {
    let (server, pg) = server_with_orders("rest-types").await;
    let (status, body) = post_rows(
        &server,
        "orders",
        json!({"owner": "ann", "total": "12.50", "paid": true,
               "meta": {"b": 1, "a": [2]}, "created": "2026-01-02T03:04:05.5Z"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let row = exact(
        r#"{"id": 1, "owner": "ann", "status": "pending", "total": 12.50, "paid": true,
            "meta": {"a": [2], "b": 1}, "created": "2026-01-02 03:04:05.5+00"}"#,
    );
    assert_eq!(body, json!([row]));
    // numeric keeps its exact text.
    assert!(body.to_string().contains("\"total\":12.50"), "{body}");
    // The same row through the wire.
    let wire = pg
        .query_one("SELECT total::text, paid FROM orders WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!(wire.get::<_, String>(0), "12.50");
    assert!(wire.get::<_, bool>(1));
    let (status, body) = get_json(&server, "/rest/v1/orders?id=eq.1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!([row]));
    // A REST GET row equals the row in the change event.
    let change = pg
        .query_one(
            "SELECT row::text FROM litewire.changes(0) WHERE lsn = 1",
            &[],
        )
        .await
        .unwrap();
    let change: Value = serde_json::from_str(&change.get::<_, String>(0)).unwrap();
    assert_eq!(change, row);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_order_select_and_ranges() {
    let (server, _pg) = server_with_orders("rest-filters").await;
    let rows: Vec<Value> = (1..=6)
        .map(|i| {
            json!({"owner": if i % 2 == 0 { Value::Null } else { json!(format!("o{i}")) },
                   "status": if i <= 3 { "pending" } else { "shipped" },
                   "total": i * 10, "paid": i % 3 == 0})
        })
        .collect();
    let (status, body) = post_rows(&server, "orders", Value::Array(rows)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body.as_array().unwrap().len(), 6);

    let ids = |body: &Value| -> Vec<i64> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    let cases = [
        ("total=gt.30", vec![4, 5, 6]),
        ("total=gte.30&total=lt.50", vec![3, 4]),
        ("status=neq.pending", vec![4, 5, 6]),
        ("id=in.(1,3,5)", vec![1, 3, 5]),
        ("owner=is.null", vec![2, 4, 6]),
        ("owner=not.is.null", vec![1, 3, 5]),
        ("paid=is.true", vec![3, 6]),
        ("owner=like.o*", vec![1, 3, 5]),
        ("owner=ilike.O1", vec![1]),
        ("id=not.in.(1,2,3)", vec![4, 5, 6]),
        ("or=(id.eq.1,total.gte.60)", vec![1, 6]),
        (
            "or=(id.eq.2,and(status.eq.shipped,paid.is.false))",
            vec![2, 4, 5],
        ),
        ("order=owner.desc.nullslast,id.desc", vec![5, 3, 1, 6, 4, 2]),
        ("order=owner.asc,id", vec![1, 3, 5, 2, 4, 6]),
        ("order=id&limit=2&offset=3", vec![4, 5]),
    ];
    for (query, expected) in cases {
        let (status, body) = get_json(&server, &format!("/rest/v1/orders?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(ids(&body), expected, "{query}");
    }
    let (_, body) = get_json(&server, "/rest/v1/orders?select=id,amount:total&id=eq.2").await;
    assert_eq!(body, exact(r#"[{"id": 2, "amount": 20.00}]"#));

    // Range + exact count.
    let (status, headers, body) = send(
        Client::new()
            .get(url(&server, "/rest/v1/orders?order=id"))
            .header("Range", "0-1")
            .header("Prefer", "count=exact"),
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(headers["content-range"], "0-1/6");
    assert_eq!(ids(&body), vec![1, 2]);
    let (status, headers, _) = send(Client::new().get(url(&server, "/rest/v1/orders"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-range"], "0-5/*");

    // A single object, or 406.
    let single = |query: &str| {
        Client::new()
            .get(url(&server, &format!("/rest/v1/orders?{query}")))
            .header("Accept", "application/vnd.pgrst.object+json")
    };
    let (status, _, body) = send(single("id=eq.2&select=id,status")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"id": 2, "status": "pending"}));
    let (status, _, body) = send(single("status=eq.pending")).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(body["code"], "PGRST116");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_postgrest_errors() {
    let (server, _pg) = server_with_orders("rest-errors").await;
    let expect = |status: StatusCode, code: &str, body: &Value| {
        assert_eq!(body["code"], code, "{body}");
        assert!(body["message"].is_string(), "{body}");
        assert!(body.get("details").is_some() && body.get("hint").is_some());
        status
    };
    let (status, body) = get_json(&server, "/rest/v1/nope").await;
    assert_eq!(expect(status, "42P01", &body), StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "relation \"nope\" does not exist");
    let (status, body) = get_json(&server, "/rest/v1/orders?nope=eq.1").await;
    assert_eq!(expect(status, "42703", &body), StatusCode::BAD_REQUEST);
    let (status, body) = get_json(&server, "/rest/v1/orders?id=eq.abc").await;
    assert_eq!(expect(status, "22P02", &body), StatusCode::BAD_REQUEST);
    let (status, body) = get_json(&server, "/rest/v1/orders?id=between.1").await;
    assert_eq!(expect(status, "22023", &body), StatusCode::BAD_REQUEST);
    let (status, body) = get_json(&server, "/rest/v1/_lw_changes").await;
    assert_eq!(expect(status, "42P01", &body), StatusCode::NOT_FOUND);

    // Unique violation: 409.
    post_rows(&server, "orders", json!({"id": 7, "owner": "x"})).await;
    let (status, body) = post_rows(&server, "orders", json!({"id": 7, "owner": "y"})).await;
    assert_eq!(expect(status, "23505", &body), StatusCode::CONFLICT);
    // NOT NULL: 400; a bulk insert is all or nothing.
    let (status, body) = post_rows(
        &server,
        "orders",
        json!([{"id": 8, "status": "ok"}, {"id": 9, "status": null}]),
    )
    .await;
    assert_eq!(expect(status, "23502", &body), StatusCode::BAD_REQUEST);
    let (_, body) = get_json(&server, "/rest/v1/orders?id=gte.8").await;
    assert_eq!(body, json!([]));
    // Bad JSON, wrong media type.
    let (status, _, body) = send(
        Client::new()
            .post(url(&server, "/rest/v1/orders"))
            .header("Content-Type", "application/json")
            .body("{nope"),
    )
    .await;
    assert_eq!(expect(status, "22P02", &body), StatusCode::BAD_REQUEST);
    let (status, _, body) = send(
        Client::new()
            .post(url(&server, "/rest/v1/orders"))
            .header("Content-Type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(
        expect(status, "PGRST102", &body),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    // PATCH and DELETE without a filter are refused; with all=true they run.
    let (status, _, body) = send(Client::new().delete(url(&server, "/rest/v1/orders"))).await;
    assert_eq!(expect(status, "22023", &body), StatusCode::BAD_REQUEST);
    let (status, _, body) = send(
        Client::new()
            .patch(url(&server, "/rest/v1/orders"))
            .json(&json!({"status": "x"})),
    )
    .await;
    assert_eq!(expect(status, "22023", &body), StatusCode::BAD_REQUEST);
    let (_, body) = get_json(&server, "/rest/v1/orders?select=status").await;
    assert_eq!(body, json!([{"status": "pending"}]));
    let (status, _, _) = send(Client::new().delete(url(&server, "/rest/v1/orders?all=true"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = get_json(&server, "/rest/v1/orders").await;
    assert_eq!(body, json!([]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_delete_and_upsert() {
    let (server, _pg) = server_with_orders("rest-writes").await;
    post_rows(
        &server,
        "orders",
        json!([{"id": 1, "owner": "a"}, {"id": 2, "owner": "b"}]),
    )
    .await;
    let (status, _, body) = send(
        Client::new()
            .patch(url(&server, "/rest/v1/orders?id=eq.1"))
            .header("Prefer", "return=representation")
            .json(&json!({"status": "shipped", "total": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["status"], "shipped");
    assert_eq!(body[0]["total"], exact("5.00"));
    let (status, _, body) = send(
        Client::new()
            .patch(url(&server, "/rest/v1/orders?id=eq.2"))
            .json(&json!({"total": 7.25})),
    )
    .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));

    // Upsert: merge-duplicates updates the existing row, inserts the new one.
    let (status, _, body) = send(
        Client::new()
            .post(url(&server, "/rest/v1/orders"))
            .header(
                "Prefer",
                "return=representation,resolution=merge-duplicates",
            )
            .json(&json!([{"id": 2, "owner": "B"}, {"id": 3, "owner": "c"}])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, body) = get_json(&server, "/rest/v1/orders?select=id,owner,total&order=id").await;
    assert_eq!(
        body,
        exact(
            r#"[{"id": 1, "owner": "a", "total": 5.00}, {"id": 2, "owner": "B", "total": 7.25},
                {"id": 3, "owner": "c", "total": null}]"#
        )
    );
    // ignore-duplicates with on_conflict on a non-key column.
    let (status, _, _) = send(
        Client::new()
            .post(url(&server, "/rest/v1/orders?on_conflict=id"))
            .header("Prefer", "resolution=ignore-duplicates")
            .json(&json!({"id": 1, "owner": "zzz"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = get_json(&server, "/rest/v1/orders?id=eq.1&select=owner").await;
    assert_eq!(body, json!([{"owner": "a"}]));

    let (status, _, body) = send(
        Client::new()
            .request(Method::DELETE, url(&server, "/rest/v1/orders?id=lt.3"))
            .header("Prefer", "return=representation"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 2);
    let (_, body) = get_json(&server, "/rest/v1/orders?select=id").await;
    assert_eq!(body, json!([{"id": 3}]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_insert_is_captured_and_reaches_listeners() {
    let (server, _pg) = server_with_orders("rest-capture").await;
    let (listener, mut notes) = connect_listening(&server).await;
    listener
        .batch_execute("LISTEN \"litewire.changes.orders\"")
        .await
        .unwrap();
    let mut ws = ws_connect(&server, None).await;
    let ack = ws_request(
        &mut ws,
        1,
        json!({"type": "subscribe", "table": "orders", "filter": {"owner": "ann"}}),
    )
    .await;
    assert_eq!(ack["type"], "ack");
    let (status, _) = post_rows(&server, "orders", json!({"owner": "ann", "total": 3})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (channel, payload, _) = next_notification(&mut notes).await;
    assert_eq!(channel, "litewire.changes.orders");
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["op"], "insert");
    assert_eq!(payload["row"]["owner"], "ann");
    let diff = ws_next_of(&mut ws, "diff").await;
    assert_eq!(diff["row"]["total"], exact("3.00"));
    let changes = listener
        .query("SELECT op, row->>'owner' FROM litewire.changes(0)", &[])
        .await
        .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].get::<_, String>(0), "insert");
    assert_eq!(changes[0].get::<_, String>(1), "ann");
    server.stop().await;
}

fn secured() -> Config {
    let mut config = Config::new(temp_dir("rest-auth"));
    config.auth.jwt_secret = Some("test-secret".into());
    config.auth.rules = vec![RuleConfig {
        role: "user".into(),
        read: vec!["orders".into()],
        filters: [("orders".to_string(), "owner = auth.sub".to_string())].into(),
        ..Default::default()
    }];
    config.auth.write = [("user".to_string(), vec!["orders".to_string()])].into();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_denies_and_filters_rows() {
    let server = start_realtime(secured()).await;
    let pg = connect(&server).await;
    pg.batch_execute(ORDERS).await.unwrap();
    pg.batch_execute(
        "CREATE TABLE secrets (id int PRIMARY KEY); \
         INSERT INTO orders (owner) VALUES ('ann'), ('bob'), ('ann')",
    )
    .await
    .unwrap();
    let ann = signed_token("test-secret", json!({"role": "user", "sub": "ann"}));
    let get = |path: &str, token: Option<&str>| {
        let request = Client::new().get(url(&server, path));
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    };
    // No token, no anon role: 401.
    let (status, _, body) = send(get("/rest/v1/orders", None)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("28000"))
    );
    // A forged token: 401.
    let (status, _, _) = send(get("/rest/v1/orders", Some("not.a.jwt"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Rows filtered by the rule: ann sees her own.
    let (status, _, body) = send(get("/rest/v1/orders?select=id,owner&order=id", Some(&ann))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([{"id": 1, "owner": "ann"}, {"id": 3, "owner": "ann"}])
    );
    // The apikey header works too.
    let (_, _, body) = send(
        Client::new()
            .get(url(&server, "/rest/v1/orders?select=id&id=eq.2"))
            .header("apikey", &ann),
    )
    .await;
    assert_eq!(body, json!([]));
    // An unreadable table: 403.
    let (status, _, body) = send(get("/rest/v1/secrets", Some(&ann))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("42501"))
    );
    let (status, _, body) = send(
        Client::new()
            .post(url(&server, "/rest/v1/secrets"))
            .bearer_auth(&ann)
            .json(&json!({"id": 1})),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("42501"))
    );
    // ann may write orders, but a DELETE reaches only her rows.
    let (status, _, body) = send(
        Client::new()
            .delete(url(&server, "/rest/v1/orders?all=true"))
            .bearer_auth(&ann)
            .header("Prefer", "return=representation"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 2);
    let left = pg.query("SELECT owner FROM orders", &[]).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].get::<_, String>(0), "bob");
    server.stop().await;
}

async fn sql(server: &litewire::Server, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = send(Client::new().post(url(server, "/sql")).json(&body)).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_statements_and_transactions() {
    let server = start_realtime(Config::new(temp_dir("rest-sql"))).await;
    // A batch: DDL then writes into the new table, in one transaction.
    let (status, body) = sql(
        &server,
        json!([
            {"query": ORDERS},
            {"query": "INSERT INTO orders (owner, total) VALUES ($1, $2)", "params": ["ann", "1.50"]},
            {"query": "INSERT INTO orders (owner, total) VALUES ($1, $2)", "params": ["bob", 2]},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body[0]["command"], "CREATE TABLE");
    assert_eq!(body[2]["command"], "INSERT 0 1");
    let (status, body) = sql(
        &server,
        json!({"query": "SELECT id, owner, total, total > $1 AS big FROM orders ORDER BY id",
               "params": [2]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        exact(
            r#"{"columns": [{"name": "id", "type": "bigint"}, {"name": "owner", "type": "text"},
                            {"name": "total", "type": "numeric(10,2)"}, {"name": "big", "type": "boolean"}],
                "rows": [[1, "ann", 1.50, false], [2, "bob", 2.00, false]],
                "command": "SELECT 2"}"#
        )
    );
    // The second statement fails: the first is rolled back with it.
    let (status, body) = sql(
        &server,
        json!({"query": ["DELETE FROM orders WHERE id = 1", "INSERT INTO orders (id) VALUES (2)"]}),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::CONFLICT, json!("23505"))
    );
    let (_, body) = sql(
        &server,
        json!({"query": "SELECT count(*) AS n FROM orders"}),
    )
    .await;
    assert_eq!(body["rows"], json!([[2]]));
    // IF [NOT] EXISTS with nothing to do completes (a migration run twice).
    let (status, body) = sql(
        &server,
        json!([{"query": "CREATE TABLE IF NOT EXISTS orders (id int)"},
               {"query": "DROP TABLE IF EXISTS no_such_table"}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body[0]["command"].clone(), body[1]["command"].clone()),
        (json!("CREATE TABLE"), json!("DROP TABLE"))
    );
    let (status, body) = sql(
        &server,
        json!({"query": "CREATE TABLE IF NOT EXISTS orders (id int)"}),
    )
    .await;
    assert_eq!(
        (status, body["command"].clone()),
        (StatusCode::OK, json!("CREATE TABLE"))
    );
    // Session commands mean nothing over HTTP; syntax errors are 400.
    let (status, body) = sql(&server, json!({"query": "BEGIN"})).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("0A000"))
    );
    let (status, body) = sql(&server, json!({"query": "SELEC 1"})).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("42601"))
    );
    let (status, body) = sql(&server, json!({"sql": "SELECT 1"})).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("22023"))
    );
    server.stop().await;
}

/// A Server-Sent Events stream read with a plain HTTP client.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// One event: its `event:`, `id:` and `data:` (as JSON).
#[derive(Debug)]
struct Sse {
    event: String,
    id: Option<String>,
    data: Value,
}

impl EventStream {
    async fn open(server: &litewire::Server, query: &str, last_id: Option<&str>) -> EventStream {
        let mut request = Client::new().get(url(server, &format!("/realtime/v1/sse?{query}")));
        if let Some(id) = last_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped); `None` when the stream ends.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Sse {
                    event: "message".into(),
                    id: None,
                    data: Value::Null,
                };
                for line in block.lines() {
                    match line.split_once(':') {
                        Some(("event", v)) => event.event = v.trim().into(),
                        Some(("id", v)) => event.id = Some(v.trim().into()),
                        Some(("data", v)) => event.data = serde_json::from_str(v.trim()).unwrap(),
                        _ => {}
                    }
                }
                if block.lines().all(|l| l.starts_with(':')) {
                    continue;
                }
                return Some(event);
            }
            let chunk =
                tokio::time::timeout(std::time::Duration::from_secs(10), self.response.chunk())
                    .await
                    .expect("an event within 10 s")
                    .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_over_http_reaches_listeners_and_stats_count_them() {
    let server = start_realtime(Config::new(temp_dir("rest-notify"))).await;
    let (pg, mut notes) = connect_listening(&server).await;
    pg.batch_execute("LISTEN room").await.unwrap();
    let mut sse = EventStream::open(&server, "channel=room", None).await;
    let ready = sse.next().await.unwrap();
    assert_eq!(
        (ready.event.as_str(), ready.data),
        ("ready", json!({"channel": "room"}))
    );
    let mut ws = ws_connect(&server, None).await;
    let ack = ws_request(&mut ws, 1, json!({"type": "listen", "channel": "room"})).await;
    assert_eq!(ack["type"], "ack");

    let (status, _, body) = send(Client::new().get(url(&server, "/realtime/v1/stats"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["channels"], json!({"room": 3}));
    assert_eq!(body["connections"], json!({"websocket": 1, "sse": 1}));
    assert_eq!(body["presence"], json!({}));

    let notify = |body: Value| {
        send(
            Client::new()
                .post(url(&server, "/realtime/v1/notify"))
                .json(&body),
        )
    };
    let (status, _, _) = notify(json!({"channel": "room", "payload": "hi"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        next_notification(&mut notes).await,
        ("room".into(), "hi".into(), 0)
    );
    let event = sse.next().await.unwrap();
    assert_eq!(event.event, "notification");
    assert_eq!(
        event.data,
        json!({"channel": "room", "payload": "hi", "pid": 0})
    );
    let frame = ws_next_of(&mut ws, "notification").await;
    assert_eq!(frame["payload"], "hi");
    // JSON payloads travel as their text.
    notify(json!({"channel": "room", "payload": {"n": 1}})).await;
    assert_eq!(next_notification(&mut notes).await.1, r#"{"n":1}"#);
    // NOTIFY's limits apply.
    let (status, _, body) = notify(json!({"channel": "room", "payload": "x".repeat(8000)})).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("22023"))
    );
    let (status, _, body) = notify(json!({"channel": ""})).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("22023"))
    );
    assert_none(&pg, &mut notes).await;
    // The SSE stream leaves the channel when the client goes away.
    drop(sse);
    let mut left = false;
    for _ in 0..100 {
        let (_, _, body) = send(Client::new().get(url(&server, "/realtime/v1/stats"))).await;
        if body["channels"]["room"] == 2 && body["connections"]["sse"] == 0 {
            left = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(left, "the SSE listener is gone");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_table_feed_filters_and_resumes_with_last_event_id() {
    let mut config = Config::new(temp_dir("rest-sse"));
    config.change_retention = std::time::Duration::ZERO;
    config.change_retention_rows = 1;
    let server = start_realtime(config).await;
    let pg = connect(&server).await;
    pg.batch_execute(ORDERS).await.unwrap();
    let filter = "table=orders&filter=%7B%22owner%22%3A%22ann%22%7D";
    let mut feed = EventStream::open(&server, filter, None).await;
    let ready = feed.next().await.unwrap();
    assert_eq!(ready.event, "ready");
    assert_eq!(ready.id.as_deref(), Some("0"));
    post_rows(
        &server,
        "orders",
        json!([{"owner": "ann"}, {"owner": "bob"}, {"owner": "ann"}]),
    )
    .await;
    let first = feed.next().await.unwrap();
    assert_eq!(
        (first.event.as_str(), first.id.as_deref()),
        ("insert", Some("1"))
    );
    assert_eq!(first.data["row"]["id"], 1);
    assert_eq!(first.data["table"], "orders");
    let second = feed.next().await.unwrap();
    assert_eq!(second.id.as_deref(), Some("3"));
    // An update moving a row out of the filter is a delete for this feed.
    pg.batch_execute("UPDATE orders SET owner = 'zed' WHERE id = 1")
        .await
        .unwrap();
    let moved = feed.next().await.unwrap();
    assert_eq!(
        (moved.event.as_str(), moved.id.as_deref()),
        ("delete", Some("4"))
    );
    assert_eq!(moved.data["old"]["owner"], "ann");
    drop(feed);

    // Resume after LSN 1: the same events again, then live ones.
    pg.batch_execute("INSERT INTO orders (owner) VALUES ('ann')")
        .await
        .unwrap();
    let mut resumed = EventStream::open(&server, filter, Some("1")).await;
    assert_eq!(resumed.next().await.unwrap().id.as_deref(), Some("1"));
    let ids: Vec<String> = [
        resumed.next().await.unwrap(),
        resumed.next().await.unwrap(),
        resumed.next().await.unwrap(),
    ]
    .into_iter()
    .map(|e| e.id.unwrap())
    .collect();
    assert_eq!(ids, ["3", "4", "5"]);
    drop(resumed);

    // Once compacted, an old resume point is told to resnapshot.
    server.changes.compact(chrono::Utc::now()).await.unwrap();
    let mut stale = EventStream::open(&server, filter, Some("1")).await;
    stale.next().await.unwrap();
    let error = stale.next().await.unwrap();
    assert_eq!(error.event, "error");
    assert_eq!(error.data["code"], "55000");
    assert!(
        error.data["hint"]
            .as_str()
            .unwrap()
            .starts_with("must-resnapshot")
    );
    assert!(stale.next().await.is_none(), "the stream ends");
    // Bad requests.
    let (status, _, body) =
        send(Client::new().get(url(&server, "/realtime/v1/sse?table=nope"))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::NOT_FOUND, json!("42P01"))
    );
    let (status, _, _) = send(Client::new().get(url(&server, "/realtime/v1/sse"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_the_tables() {
    let (server, pg) = server_with_orders("rest-openapi").await;
    pg.batch_execute("CREATE TABLE notes (id uuid PRIMARY KEY, body text NOT NULL)")
        .await
        .unwrap();
    let (status, doc) = get_json(&server, "/rest/v1/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths, ["/rest/v1/notes", "/rest/v1/orders"]);
    let orders = &doc["components"]["schemas"]["orders"]["properties"];
    assert_eq!(
        orders["id"],
        json!({"type": "integer", "format": "int64", "x-postgres-type": "bigint"})
    );
    assert_eq!(
        orders["total"],
        json!({"type": "number", "nullable": true, "x-postgres-type": "numeric(10,2)"})
    );
    assert_eq!(
        doc["components"]["schemas"]["notes"]["properties"]["id"],
        json!({"type": "string", "format": "uuid", "x-postgres-type": "uuid"})
    );
    let get = &doc["paths"]["/rest/v1/orders"]["get"];
    let names: Vec<&str> = get["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"status") && names.contains(&"order") && names.contains(&"select"));
    // The document follows DDL at once.
    pg.batch_execute("DROP TABLE notes").await.unwrap();
    let (_, doc) = get_json(&server, "/rest/v1/").await;
    assert_eq!(doc["paths"].as_object().unwrap().len(), 1);
    server.stop().await;
}

/// A request with a JSON body (or none) to the documents API.
async fn doc_request(
    server: &litewire::Server,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Client::new().request(method, url(server, path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let (status, _, body) = send(request).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_crud_merge_patch_query_and_index() {
    let server = start_realtime(Config::new(temp_dir("rest-docs"))).await;
    let (status, _) = doc_request(
        &server,
        Method::POST,
        "/db/collections",
        Some(json!({"name": "products"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = doc_request(
        &server,
        Method::POST,
        "/db/collections",
        Some(json!({"name": "products"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("42P07"))
    );
    let (_, list) = doc_request(&server, Method::GET, "/db/collections", None).await;
    assert_eq!(list, json!({"collections": ["products"]}));

    for (id, doc) in [
        (
            "p1",
            json!({"category": "books", "price": 12, "tags": ["a"]}),
        ),
        ("p2", json!({"category": "books", "price": 30})),
        ("p3", json!({"category": "electronics", "price": 200})),
    ] {
        let (status, body) = doc_request(
            &server,
            Method::PUT,
            &format!("/db/data/products/{id}"),
            Some(doc.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["doc"], doc);
    }
    let (status, body) = doc_request(
        &server,
        Method::PUT,
        "/db/data/products/p2",
        Some(json!({"category": "books", "price": 25})),
    )
    .await;
    assert_eq!(
        (status, body["doc"]["price"].as_i64()),
        (StatusCode::OK, Some(25))
    );
    // JSON Merge Patch: null removes, objects merge, the rest replaces.
    let (status, body) = doc_request(
        &server,
        Method::PATCH,
        "/db/data/products/p1",
        Some(json!({"price": 10, "tags": null, "stock": {"n": 3}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["doc"],
        json!({"category": "books", "price": 10, "stock": {"n": 3}})
    );
    let (status, body) = doc_request(&server, Method::GET, "/db/data/products/p1", None).await;
    assert_eq!((status, body["id"].as_str()), (StatusCode::OK, Some("p1")));
    let (status, body) = doc_request(&server, Method::GET, "/db/data/products/nope", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("P0002"))
    );

    // The reference's query example: electronics, or books under 20.
    let (status, _) = doc_request(
        &server,
        Method::POST,
        "/db/indexes/products",
        Some(json!({"field": "category"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = doc_request(
        &server,
        Method::POST,
        "/db/query/products",
        Some(json!({
            "where": {"$or": [
                {"field": "category", "op": "==", "value": "electronics"},
                {"$and": [{"field": "category", "op": "==", "value": "books"}, {"field": "price", "op": "<", "value": 20}]}
            ]},
            "orderBy": [{"field": "price", "direction": "desc"}],
            "limit": 50
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p3", "p1"]);
    let (status, _) = doc_request(&server, Method::DELETE, "/db/data/products/p3", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = doc_request(&server, Method::DELETE, "/db/data/products/p3", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = doc_request(
        &server,
        Method::POST,
        "/db/query/products",
        Some(json!({"where": {"field": "x;drop", "op": "==", "value": 1}})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("22023"))
    );
    // Documents are rows: the change stream has them.
    let pg = connect(&server).await;
    let n: i64 = pg
        .query_one(
            "SELECT count(*) FROM litewire.changes(0) WHERE \"table\" = 'products'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 6, "3 inserts, 1 replace, 1 patch and 1 delete");
    let (status, body) = doc_request(&server, Method::GET, "/health", None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_in_the_prometheus_format() {
    let (server, pg) = server_with_orders("rest-metrics").await;
    pg.batch_execute("INSERT INTO orders (owner) VALUES ('m'); NOTIFY somewhere")
        .await
        .unwrap();
    // The dispatcher counts the change once it has read it.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let text = Client::new()
        .get(url(&server, "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "litewire_wire_connections",
        "litewire_notifications_published_total",
        "litewire_changes_total",
        "litewire_change_lsn",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}

/// A server whose REST door has tight limits, with `orders` holding five rows.
async fn limited(tag: &str, limits: litewire::config::RestConfig) -> litewire::Server {
    let mut config = Config::new(temp_dir(tag));
    config.rest = limits;
    let server = start_realtime(config).await;
    let pg = connect(&server).await;
    pg.batch_execute(ORDERS).await.unwrap();
    pg.batch_execute("INSERT INTO orders (owner) SELECT 'o' FROM (VALUES (1),(2),(3),(4),(5)) v")
        .await
        .unwrap();
    server
}

/// The single number a query returns.
async fn count(pg: &tokio_postgres::Client, sql: &str) -> i64 {
    pg.query_one(sql, &[]).await.unwrap().get(0)
}

/// The status and SQLSTATE of a reply.
fn outcome(reply: (StatusCode, reqwest::header::HeaderMap, Value)) -> (StatusCode, Value) {
    (reply.0, reply.2["code"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_and_row_limits_are_json_errors() {
    let server = limited(
        "rest-limits",
        litewire::config::RestConfig {
            max_body_bytes: 1024,
            max_rows: 3,
            ..Default::default()
        },
    )
    .await;
    let post = |path: &str, body: Value| Client::new().post(url(&server, path)).json(&body);
    // A body over the limit: 413 before any of it is parsed.
    let big = json!({"owner": "x".repeat(2000)});
    assert_eq!(
        outcome(send(post("/rest/v1/orders", big)).await),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("54000"))
    );
    // More rows than a request may write: 413, and none is written.
    let rows: Vec<Value> = (0..4).map(|_| json!({"owner": "new"})).collect();
    assert_eq!(
        outcome(send(post("/rest/v1/orders", Value::Array(rows))).await),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("54000"))
    );
    // A read is cut to the limit, as PostgREST's db-max-rows, and says so.
    let (status, headers, body) = send(
        Client::new()
            .get(url(&server, "/rest/v1/orders?select=id&order=id&limit=100"))
            .header("Prefer", "count=exact"),
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, json!([{"id": 1}, {"id": 2}, {"id": 3}]));
    assert_eq!(headers["content-range"], "0-2/5");
    // /sql: a result over the limit fails, and a write with it rolls back.
    assert_eq!(
        outcome(send(post("/sql", json!({"query": "SELECT id FROM orders"}))).await),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("54000"))
    );
    let update = json!({"query": ["UPDATE orders SET owner = 'gone' RETURNING id"]});
    assert_eq!(
        outcome(send(post("/sql", update)).await),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("54000"))
    );
    let (_, body) = get_json(&server, "/rest/v1/orders?owner=eq.o&select=id&limit=3").await;
    assert_eq!(body.as_array().unwrap().len(), 3);
    let (_, body) = get_json(&server, "/rest/v1/orders?owner=neq.o").await;
    assert_eq!(body, json!([]));
    // Every body-taking endpoint wants JSON: 415 otherwise.
    for path in [
        "/sql",
        "/realtime/v1/notify",
        "/db/collections",
        "/rest/v1/orders",
    ] {
        let request = Client::new()
            .post(url(&server, path))
            .header("Content-Type", "text/plain")
            .body("{}");
        assert_eq!(
            outcome(send(request).await),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, json!("PGRST102")),
            "{path}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_past_the_time_limit_is_interrupted_with_57014() {
    let server = limited(
        "rest-timeout",
        litewire::config::RestConfig {
            statement_timeout_ms: 100,
            ..Default::default()
        },
    )
    .await;
    // Never ends by itself.
    let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                   SELECT count(*) FROM c";
    let sql = |body: Value| Client::new().post(url(&server, "/sql")).json(&body);
    let (status, _, body) = send(sql(json!({ "query": endless }))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::GATEWAY_TIMEOUT, json!("57014"))
    );
    assert_eq!(
        body["message"],
        "canceling statement due to statement timeout"
    );
    // In a write transaction: interrupted and rolled back whole.
    let batch = json!({"query": ["INSERT INTO orders (owner) VALUES ('late')", endless]});
    assert_eq!(
        outcome(send(sql(batch)).await),
        (StatusCode::GATEWAY_TIMEOUT, json!("57014"))
    );
    // The writer and the readers are fine afterwards, with no deadline left
    // behind on them.
    let (status, _) = post_rows(&server, "orders", json!({"owner": "after"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = get_json(
        &server,
        "/rest/v1/orders?owner=in.(late,after)&select=owner",
    )
    .await;
    assert_eq!(body, json!([{"owner": "after"}]));
    let pg = connect(&server).await;
    let n = count(&pg, "SELECT count(*) FROM orders").await;
    assert_eq!(n, 6);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_past_its_rate_gets_429() {
    // A burst of three, then one a second: of fifty requests sent as fast as
    // they go, some are refused, however slow the machine.
    let server = limited(
        "rest-rate",
        litewire::config::RestConfig {
            rate_per_sec: 1,
            burst: 3,
            ..Default::default()
        },
    )
    .await;
    let mut refused = None;
    for _ in 0..50 {
        let (status, headers, body) =
            send(Client::new().get(url(&server, "/rest/v1/orders?id=eq.1"))).await;
        if status != StatusCode::OK {
            refused = Some((status, headers, body));
            break;
        }
    }
    let (status, headers, body) = refused.expect("a request past the rate is refused");
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::TOO_MANY_REQUESTS, json!("53400"))
    );
    assert!(headers.contains_key("retry-after"));
    // Monitoring is not rate limited.
    let (status, body) = get_json(&server, "/health").await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("ok"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waiting_at_shutdown_gets_503() {
    let (server, pg) = server_with_orders("rest-shutdown").await;
    // A wire transaction holds the writer ...
    pg.batch_execute("BEGIN; INSERT INTO orders (owner) VALUES ('wire')")
        .await
        .unwrap();
    // ... so a REST write waits for it.
    let post = Client::new()
        .post(url(&server, "/rest/v1/orders"))
        .json(&json!({"owner": "rest"}));
    let waiting = tokio::spawn(send(post));
    while server.store.writer_waits() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.stop().await;
    assert_eq!(
        outcome(waiting.await.unwrap()),
        (StatusCode::SERVICE_UNAVAILABLE, json!("57P01"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_act_as_their_role() {
    let mut config = secured();
    config.auth.api_keys = [("sk-service-1".to_string(), "service".to_string())].into();
    config.auth.rules.push(RuleConfig {
        role: "service".into(),
        read: vec!["*".into()],
        ..Default::default()
    });
    config.auth.write.insert("service".into(), vec!["*".into()]);
    let server = start_realtime(config).await;
    connect(&server).await.batch_execute(ORDERS).await.unwrap();
    let with_key = |request: reqwest::RequestBuilder, key: &str| request.header("apikey", key);
    let orders = url(&server, "/rest/v1/orders");
    // The service key writes and reads every row (no row filter for its role).
    let (status, _, body) = send(
        with_key(Client::new().post(&orders), "sk-service-1")
            .header("Prefer", "return=representation")
            .json(&json!([{"owner": "ann"}, {"owner": "bob"}])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, body) = send(with_key(Client::new().get(&orders), "sk-service-1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 2);
    // As a bearer token too.
    let (status, _, _) = send(Client::new().get(&orders).bearer_auth("sk-service-1")).await;
    assert_eq!(status, StatusCode::OK);
    // A wrong key, even one that is a prefix of a real one: 401.
    for wrong in ["sk-service-2", "sk-service-"] {
        assert_eq!(
            outcome(send(with_key(Client::new().get(&orders), wrong)).await),
            (StatusCode::UNAUTHORIZED, json!("28000"))
        );
    }
    // JWT callers keep their own rules beside the keys.
    let ann = signed_token("test-secret", json!({"role": "user", "sub": "ann"}));
    let (_, _, body) = send(Client::new().get(&orders).bearer_auth(&ann)).await;
    assert_eq!(body.as_array().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_alone_close_the_door() {
    let mut config = Config::new(temp_dir("rest-keys-only"));
    config.auth.api_keys = [("sk-only".to_string(), "service".to_string())].into();
    config.auth.rules = vec![RuleConfig {
        role: "service".into(),
        read: vec!["orders".into()],
        ..Default::default()
    }];
    let server = start_realtime(config).await;
    connect(&server).await.batch_execute(ORDERS).await.unwrap();
    let orders = url(&server, "/rest/v1/orders");
    let (status, _) = outcome(send(Client::new().get(&orders)).await);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, code) = outcome(send(Client::new().get(&orders).header("apikey", "nope")).await);
    assert_eq!((status, code), (StatusCode::UNAUTHORIZED, json!("28000")));
    let (status, _, _) = send(Client::new().get(&orders).header("apikey", "sk-only")).await;
    assert_eq!(status, StatusCode::OK);
    // Its role has no write grant.
    let (status, code) = outcome(
        send(
            Client::new()
                .post(&orders)
                .header("apikey", "sk-only")
                .json(&json!({"owner": "x"})),
        )
        .await,
    );
    assert_eq!((status, code), (StatusCode::FORBIDDEN, json!("42501")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_commit_together_and_fail_alone() {
    let (server, pg) = server_with_orders("rest-group").await;
    pg.batch_execute("INSERT INTO orders (id, owner) VALUES (1000, 'taken')")
        .await
        .unwrap();
    // Forty writes at once, every fourth a duplicate key: the committer
    // gathers whatever is queued into one transaction, and a failing request
    // rolls back only its own savepoint.
    let writes: Vec<_> = (0..40)
        .map(|i| {
            let id = if i % 4 == 0 { 1000 } else { i };
            let request = Client::new()
                .post(url(&server, "/rest/v1/orders"))
                .json(&json!({"id": id, "owner": format!("w{i}")}));
            tokio::spawn(send(request))
        })
        .collect();
    for (i, write) in writes.into_iter().enumerate() {
        let (status, code) = outcome(write.await.unwrap());
        if i % 4 == 0 {
            assert_eq!(
                (status, code),
                (StatusCode::CONFLICT, json!("23505")),
                "{i}"
            );
        } else {
            assert_eq!(status, StatusCode::CREATED, "{i}");
        }
    }
    let n = count(&pg, "SELECT count(*) FROM orders WHERE owner LIKE 'w%'").await;
    assert_eq!(n, 30);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_interrupted_by_the_time_limit_takes_no_other_write_with_it() {
    let server = limited(
        "rest-group-timeout",
        litewire::config::RestConfig {
            statement_timeout_ms: 200,
            ..Default::default()
        },
    )
    .await;
    // While a wire transaction holds the writer, twenty writes queue up and
    // then an endless INSERT, so that the committer batches them together.
    // Interrupted, SQLite rolls back the whole transaction: the twenty must be
    // run again, not lost.
    let pg = connect(&server).await;
    pg.batch_execute("BEGIN; INSERT INTO orders (owner) VALUES ('psql')")
        .await
        .unwrap();
    let writes: Vec<_> = (0..20)
        .map(|i| {
            let request = Client::new()
                .post(url(&server, "/rest/v1/orders"))
                .json(&json!({"owner": format!("w{i}")}));
            tokio::spawn(send(request))
        })
        .collect();
    while server.store.writer_waits() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Time for the others to queue (if they have not, the test only covers less).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let endless = "INSERT INTO orders (owner) WITH RECURSIVE c(x) AS \
                   (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT 'endless' FROM c";
    let slow = tokio::spawn(send(
        Client::new()
            .post(url(&server, "/sql"))
            .json(&json!({ "query": endless })),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    pg.batch_execute("COMMIT").await.unwrap();
    for write in writes {
        assert_eq!(write.await.unwrap().0, StatusCode::CREATED);
    }
    assert_eq!(
        outcome(slow.await.unwrap()),
        (StatusCode::GATEWAY_TIMEOUT, json!("57014"))
    );
    let counts = pg
        .query_one(
            "SELECT count(*) FILTER (WHERE owner LIKE 'w%'), \
             count(*) FILTER (WHERE owner = 'endless') FROM orders",
            &[],
        )
        .await
        .unwrap();
    assert_eq!((counts.get::<_, i64>(0), counts.get::<_, i64>(1)), (20, 0));
    server.stop().await;
}
