//! Trigger functions that notify (the classic Postgres pattern), driven by
//! tokio-postgres against a real server.

mod common;

use common::{assert_none, code, connect, connect_listening, next_notification as next, start};
use serde_json::{Value, json};

const SCHEMA: [&str; 4] = [
    "CREATE TABLE orders (id serial PRIMARY KEY, status text, paid boolean, amount numeric(10,2))",
    "CREATE TABLE audit (id serial PRIMARY KEY, tbl text, op text)",
    "CREATE OR REPLACE FUNCTION notify_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('orders', json_build_object('op', TG_OP, 'id', OLD.id)::text);
    RETURN OLD;
  ELSIF TG_OP = 'UPDATE' AND NEW.status <> OLD.status THEN
    PERFORM pg_notify('orders', row_to_json(NEW)::text);
  ELSE
    PERFORM pg_notify('orders', to_jsonb(NEW)::text);
  END IF;
  INSERT INTO audit (tbl, op) VALUES (TG_TABLE_NAME, TG_OP);
  RETURN NEW;
END $$",
    "CREATE TRIGGER orders_notify AFTER INSERT OR UPDATE OR DELETE ON orders
      FOR EACH ROW EXECUTE FUNCTION notify_orders()",
];

/// Runs `SCHEMA` one statement at a time: a Query string is translated before
/// its first statement runs, so CREATE TRIGGER must not share one with the
/// CREATE TABLE it names.
async fn setup(client: &tokio_postgres::Client) {
    for statement in SCHEMA {
        client.batch_execute(statement).await.unwrap();
    }
}

/// A server with `SCHEMA` installed, a client listening on `orders` and a writer.
async fn orders_server() -> (
    litewire::Server,
    tokio_postgres::Client,
    Receiver,
    tokio_postgres::Client,
) {
    let server = start().await;
    let (listener, rx) = connect_listening(&server).await;
    let writer = connect(&server).await;
    setup(&writer).await;
    run(&listener, "LISTEN orders").await;
    (server, listener, rx, writer)
}

type Receiver = tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>;

async fn run(client: &tokio_postgres::Client, sql: &str) {
    client.batch_execute(sql).await.unwrap();
}

async fn payload(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
) -> Value {
    let (channel, payload, _) = next(rx).await;
    assert_eq!(channel, "orders");
    serde_json::from_str(&payload).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_to_json_reaches_a_listener_on_insert_update_delete() {
    let (_server, listener, mut rx, writer) = orders_server().await;

    run(
        &writer,
        "INSERT INTO orders (status, paid, amount) VALUES ('new', true, 12.50)",
    )
    .await;
    // numeric keeps its scale, as Postgres's row_to_json writes it.
    let row = payload(&mut rx).await;
    assert_eq!(row["amount"].to_string(), "12.50");
    assert_eq!(
        row,
        json!({"id": 1, "status": "new", "paid": true, "amount": row["amount"]})
    );
    run(
        &writer,
        "UPDATE orders SET status = 'paid', paid = false WHERE id = 1",
    )
    .await;
    let row = payload(&mut rx).await;
    assert_eq!(
        row,
        json!({"id": 1, "status": "paid", "paid": false, "amount": row["amount"]})
    );
    // Same status: the ELSE branch (to_jsonb) runs.
    run(&writer, "UPDATE orders SET amount = 3 WHERE id = 1").await;
    assert_eq!(payload(&mut rx).await["amount"].to_string(), "3.00");
    run(&writer, "DELETE FROM orders").await;
    assert_eq!(payload(&mut rx).await, json!({"op": "DELETE", "id": 1}));
    assert_none(&listener, &mut rx).await;

    // The DELETE returned early: no audit row for it.
    let rows = writer
        .query("SELECT tbl, op FROM audit ORDER BY id", &[])
        .await
        .unwrap();
    let audit: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        audit,
        vec![
            ("orders".into(), "INSERT".into()),
            ("orders".into(), "UPDATE".into()),
            ("orders".into(), "UPDATE".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_notifications_are_transactional() {
    let (_server, listener, mut rx, writer) = orders_server().await;

    run(
        &writer,
        "BEGIN; INSERT INTO orders (status) VALUES ('lost'); ROLLBACK",
    )
    .await;
    assert_none(&listener, &mut rx).await;
    writer
        .batch_execute(
            "BEGIN; INSERT INTO orders (status) VALUES ('a'); INSERT INTO orders (status) VALUES ('b')",
        )
        .await
        .unwrap();
    assert_none(&listener, &mut rx).await;
    run(&writer, "COMMIT").await;
    assert_eq!(payload(&mut rx).await["status"], json!("a"));
    assert_eq!(payload(&mut rx).await["status"], json!("b"));
    let audits: i64 = writer
        .query_one("SELECT count(*) FROM audit", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audits, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_triggers_skip_rows_and_when_and_update_of_restrict_firing() {
    let server = start().await;
    let (client, mut rx) = connect_listening(&server).await;
    client
        .batch_execute(
            "CREATE TABLE items (id serial PRIMARY KEY, name text, status text, note text)",
        )
        .await
        .unwrap();
    client
        .batch_execute(
            "CREATE FUNCTION skip_drafts() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.status = 'draft' THEN
                 RETURN NULL;
               END IF;
               RETURN NEW;
             END $$",
        )
        .await
        .unwrap();
    // Each statement on its own: the front end translates the rest of a Query
    // string again after DDL, which repeats the existence checks.
    client
        .batch_execute(
            "CREATE FUNCTION status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               PERFORM pg_notify('items', OLD.status || '->' || NEW.status);
               RETURN NEW;
             END $$",
        )
        .await
        .unwrap();
    run(&client, "LISTEN items").await;
    // A Query string is translated before it runs: the functions must exist
    // before the CREATE TRIGGER that names them is sent.
    client
        .batch_execute(
            "CREATE TRIGGER no_drafts BEFORE INSERT ON items FOR EACH ROW EXECUTE PROCEDURE skip_drafts()",
        )
        .await
        .unwrap();
    client
        .batch_execute(
            "CREATE TRIGGER t2 BEFORE UPDATE OF status ON items FOR EACH ROW
               WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE PROCEDURE status_changed();",
        )
        .await
        .unwrap();
    let inserted = client
        .execute(
            "INSERT INTO items (name, status) VALUES ('a', 'draft'), ('b', 'live'), ('c', 'draft')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(inserted, 1);
    let names: Vec<String> = client
        .query("SELECT name FROM items", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, vec!["b".to_string()]);

    // UPDATE OF status: a change of another column does not fire it.
    run(&client, "UPDATE items SET note = 'x'").await;
    assert_none(&client, &mut rx).await;
    // WHEN: the same status does not fire it.
    run(&client, "UPDATE items SET status = 'live'").await;
    assert_none(&client, &mut rx).await;
    run(&client, "UPDATE items SET status = 'gone'").await;
    assert_eq!(next(&mut rx).await.1, "live->gone");

    run(&client, "DROP TRIGGER t2 ON items").await;
    run(&client, "UPDATE items SET status = 'back'").await;
    assert_none(&client, &mut rx).await;
    let err = client
        .batch_execute("DROP TRIGGER t2 ON items")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42704");
    run(&client, "DROP TRIGGER IF EXISTS t2 ON items").await;
    let err = client
        .batch_execute("DROP TRIGGER t2 ON nowhere")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42P01");
    run(&client, "DROP TRIGGER IF EXISTS t2 ON nowhere").await;
    // Still used by no_drafts: refused; CASCADE drops the trigger too.
    let err = client
        .batch_execute("DROP FUNCTION skip_drafts()")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "2BP01");
    let err = client
        .batch_execute(
            "CREATE FUNCTION skip_drafts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42723");
    let err = client
        .batch_execute("DROP FUNCTION nope()")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42883");
    run(&client, "DROP FUNCTION IF EXISTS nope()").await;
    run(&client, "DROP FUNCTION skip_drafts() CASCADE").await;
    run(
        &client,
        "INSERT INTO items (name, status) VALUES ('d', 'draft')",
    )
    .await;
    let count: i64 = client
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_columns_reach_row_to_json_and_replaced_functions_apply() {
    let server = start().await;
    let (client, mut rx) = connect_listening(&server).await;
    setup(&client).await;
    run(
        &client,
        "LISTEN orders; ALTER TABLE orders ADD COLUMN note text",
    )
    .await;
    run(
        &client,
        "INSERT INTO orders (status, note) VALUES ('new', 'hi')",
    )
    .await;
    assert_eq!(payload(&mut rx).await["note"], json!("hi"));
    client
        .batch_execute(
            "CREATE OR REPLACE FUNCTION notify_orders() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN PERFORM pg_notify('orders', json_build_object('replaced', true)::text); RETURN NULL; END $$",
        )
        .await
        .unwrap();
    run(&client, "UPDATE orders SET status = 'x'").await;
    assert_eq!(payload(&mut rx).await, json!({"replaced": true}));
    run(&client, "ALTER TABLE orders DROP COLUMN note").await;
    run(&client, "DROP TABLE orders").await;
    run(&client, "DROP FUNCTION notify_orders()").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_bodies_and_missing_functions_are_refused() {
    let server = start().await;
    let client = connect(&server).await;
    run(
        &client,
        "CREATE TABLE t (id serial PRIMARY KEY, updated_at timestamptz)",
    )
    .await;
    for (body, construct) in [
        ("DECLARE n int; BEGIN RETURN NEW; END", "DECLARE"),
        ("BEGIN RAISE NOTICE 'hi'; RETURN NEW; END", "RAISE"),
        ("BEGIN LOOP EXIT; END LOOP; RETURN NEW; END", "LOOP"),
        ("BEGIN EXECUTE 'DELETE FROM t'; RETURN NEW; END", "EXECUTE"),
        ("BEGIN SELECT 1 INTO x; RETURN NEW; END", "SELECT"),
    ] {
        let sql = format!("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$");
        let err = client.batch_execute(&sql).await.unwrap_err();
        assert_eq!(code(&err), "0A000", "{body}");
        let message = err.as_db_error().unwrap().message().to_string();
        assert!(message.contains(construct), "{body}: {message}");
    }
    let err = client
        .batch_execute("CREATE FUNCTION f() RETURNS trigger LANGUAGE sql AS $$ SELECT 1 $$")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "0A000");
    let err = client
        .batch_execute("CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION nope()")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42883");
    client
        .batch_execute(
            "CREATE FUNCTION ok() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        )
        .await
        .unwrap();
    let err = client
        .batch_execute(
            "CREATE TRIGGER x AFTER INSERT ON t FOR EACH STATEMENT EXECUTE FUNCTION ok()",
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), "0A000");
}

/// A BEFORE trigger that assigns to NEW (Postgres's `updated_at` pattern and
/// more) and an AFTER trigger that notifies `row_to_json(NEW)` on one table.
const ASSIGNING: [&str; 5] = [
    "CREATE TABLE docs (id serial PRIMARY KEY, title text NOT NULL, slug text,
       status text, version int NOT NULL DEFAULT 0, updated_at timestamptz,
       changed_at timestamptz, CHECK (version >= 0))",
    "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.title = 'skip' THEN
         RETURN NULL;
       END IF;
       NEW.updated_at := now();
       NEW.slug := lower(NEW.title) || '-' || NEW.id;
       IF TG_OP = 'UPDATE' THEN
         NEW.version := OLD.version + 1;
         IF NEW.status IS DISTINCT FROM OLD.status THEN
           NEW.changed_at := NEW.updated_at;
         END IF;
       END IF;
       NEW.title := NEW.slug || ':' || NEW.version;
       RETURN NEW;
     END $$",
    "CREATE FUNCTION notify_docs() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       PERFORM pg_notify('docs', row_to_json(NEW)::text);
       RETURN NULL;
     END $$",
    "CREATE TRIGGER docs_stamp BEFORE INSERT OR UPDATE ON docs
       FOR EACH ROW EXECUTE FUNCTION stamp()",
    "CREATE TRIGGER docs_notify AFTER INSERT OR UPDATE ON docs
       FOR EACH ROW EXECUTE FUNCTION notify_docs()",
];

/// The stored row of `docs` as JSON, timestamps as whether they are set and
/// whether `changed_at` equals `updated_at`.
async fn stored_doc(client: &tokio_postgres::Client, id: i32) -> Value {
    let row = client
        .query_one(
            "SELECT id, title, slug, status, version, updated_at IS NOT NULL,
                    changed_at IS NOT DISTINCT FROM updated_at
             FROM docs WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    json!({
        "id": row.get::<_, i32>(0), "title": row.get::<_, String>(1),
        "slug": row.get::<_, Option<String>>(2), "status": row.get::<_, Option<String>>(3),
        "version": row.get::<_, i32>(4), "updated": row.get::<_, bool>(5),
        "changed_now": row.get::<_, bool>(6),
    })
}

/// A `row_to_json(docs)` payload in the shape of [`stored_doc`].
fn doc_payload(payload: &str) -> Value {
    let row: Value = serde_json::from_str(payload).unwrap();
    json!({
        "id": row["id"], "title": row["title"], "slug": row["slug"], "status": row["status"],
        "version": row["version"], "updated": row["updated_at"].is_string(),
        "changed_now": row["changed_at"] == row["updated_at"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_triggers_assign_to_new_and_after_triggers_see_it() {
    let server = start().await;
    let (client, mut rx) = connect_listening(&server).await;
    for statement in ASSIGNING {
        run(&client, statement).await;
    }
    run(&client, "LISTEN docs").await;

    run(
        &client,
        "INSERT INTO docs (title, status) VALUES ('Hello', 'draft')",
    )
    .await;
    let doc = stored_doc(&client, 1).await;
    assert_eq!(
        doc,
        json!({"id": 1, "title": "hello-1:0", "slug": "hello-1", "status": "draft",
               "version": 0, "updated": true, "changed_now": false})
    );
    // The AFTER trigger sees the row as stored.
    assert_eq!(doc_payload(&next(&mut rx).await.1), doc);

    // A change of status: version from OLD, changed_at from an earlier assignment.
    let updated = client
        .execute("UPDATE docs SET status = 'live' WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!(updated, 1);
    let doc = stored_doc(&client, 1).await;
    assert_eq!(
        doc,
        json!({"id": 1, "title": "hello-1:0-1:1", "slug": "hello-1:0-1", "status": "live",
               "version": 1, "updated": true, "changed_now": true})
    );
    assert_eq!(doc_payload(&next(&mut rx).await.1), doc);
    // Same status: the nested IF does not assign changed_at again.
    run(
        &client,
        "BEGIN; UPDATE docs SET status = 'live', title = 'Again'; COMMIT",
    )
    .await;
    let after = stored_doc(&client, 1).await;
    assert_eq!(after["version"], json!(2));
    assert_eq!(after["title"], json!("again-1:2"));
    assert_eq!(doc_payload(&next(&mut rx).await.1), after);
    // RETURN NULL before the assignments skips the row.
    let skipped = client
        .execute("INSERT INTO docs (title) VALUES ('skip')", &[])
        .await
        .unwrap();
    assert_eq!(skipped, 0);
    assert_none(&client, &mut rx).await;

    // One change per statement, each with the row as stored: the UPDATE that
    // writes the assignments is not captured and fires no UPDATE trigger.
    let rows = client
        .query(
            "SELECT op, row::text FROM litewire.changes(0) WHERE \"table\" = 'docs'",
            &[],
        )
        .await
        .unwrap();
    let ops: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ops, ["insert", "update", "update"]);
    assert_eq!(
        doc_payload(&rows[0].get::<_, String>(1))["title"],
        json!("hello-1:0")
    );
    assert_eq!(doc_payload(&rows[2].get::<_, String>(1)), after);
}
