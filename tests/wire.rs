//! The spine, driven by a real Postgres client (tokio-postgres) against the real
//! server: types and encodings, both query protocols, transactions, errors.

mod common;

use common::{code, connect, simple_rows, start};
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::Type;

const ORDERS: &str = "CREATE TABLE orders (
  id bigserial PRIMARY KEY, customer text NOT NULL, status varchar(20) NOT NULL DEFAULT 'pending',
  total numeric(10,2) CHECK (total >= 0), paid boolean DEFAULT false, placed_at timestamptz DEFAULT now(),
  ref uuid DEFAULT gen_random_uuid(), meta jsonb, raw bytea, day date, ratio double precision)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_scenario_matches_postgres() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(ORDERS).await.unwrap();
    db.batch_execute("CREATE INDEX orders_status ON orders (status)")
        .await
        .unwrap();

    let rows = db
        .query("INSERT INTO orders (customer, total, meta) VALUES ('ann', 12.50, '{\"tags\":[\"a\"]}') RETURNING id, placed_at, paid", &[])
        .await
        .unwrap();
    let types: Vec<Type> = rows[0]
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    assert_eq!(types, vec![Type::INT8, Type::TIMESTAMPTZ, Type::BOOL]);
    assert_eq!(rows[0].get::<_, i64>(0), 1);
    assert!(!rows[0].get::<_, bool>(2));

    let rows = db
        .query(
            "UPDATE orders SET status = 'shipped' WHERE total::int >= 10 RETURNING *",
            &[],
        )
        .await
        .unwrap();
    let types: Vec<Type> = rows[0]
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    assert_eq!(
        types,
        vec![
            Type::INT8,
            Type::TEXT,
            Type::VARCHAR,
            Type::NUMERIC,
            Type::BOOL,
            Type::TIMESTAMPTZ,
            Type::UUID,
            Type::JSONB,
            Type::BYTEA,
            Type::DATE,
            Type::FLOAT8
        ]
    );
    assert_eq!(rows[0].get::<_, &str>("status"), "shipped");
    let meta: serde_json::Value = rows[0].get("meta");
    assert_eq!(meta, serde_json::json!({"tags": ["a"]}));

    let upsert = db
        .simple_query("INSERT INTO orders (id, customer, total) VALUES (1, 'x', 1) ON CONFLICT (id) DO UPDATE SET total = orders.total + EXCLUDED.total RETURNING total")
        .await
        .unwrap();
    assert_eq!(simple_rows(&upsert), vec![vec![Some("13.50".to_string())]]);

    let grouped = db
        .simple_query("SELECT status, count(*), sum(total) FROM orders WHERE customer ILIKE 'A%' GROUP BY status ORDER BY 1")
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&grouped),
        vec![vec![
            Some("shipped".into()),
            Some("1".into()),
            Some("13.50".into())
        ]]
    );
    let stmt = db
        .prepare("SELECT status, count(*), sum(total) FROM orders GROUP BY status")
        .await
        .unwrap();
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(types, vec![Type::VARCHAR, Type::INT8, Type::NUMERIC]);

    let json = db
        .simple_query("SELECT meta->'tags'->>0, meta->>'missing' IS NULL FROM orders")
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&json),
        vec![vec![Some("a".into()), Some("t".into())]]
    );

    db.batch_execute("BEGIN; DELETE FROM orders; ROLLBACK")
        .await
        .unwrap();
    let count: i64 = db
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_round_trip_in_binary_and_text() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(ORDERS).await.unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2024-05-01T14:30:00.25+02:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let day = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let uuid = uuid::Uuid::parse_str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
    let meta = serde_json::json!({"b": 1, "a": [true, null]});
    db.execute(
        "INSERT INTO orders (customer, paid, placed_at, ref, meta, raw, day, ratio) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&"bob", &true, &at, &uuid, &meta, &vec![0u8, 1, 255], &day, &0.1f64],
    )
    .await
    .unwrap();
    let row = db
        .query_one("SELECT customer, paid, placed_at, ref, meta, raw, day, ratio, id FROM orders WHERE customer = $1", &[&"bob"])
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "bob");
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, chrono::DateTime<chrono::Utc>>(2), at);
    assert_eq!(row.get::<_, uuid::Uuid>(3), uuid);
    assert_eq!(row.get::<_, serde_json::Value>(4), meta);
    assert_eq!(row.get::<_, Vec<u8>>(5), vec![0u8, 1, 255]);
    assert_eq!(row.get::<_, chrono::NaiveDate>(6), day);
    assert_eq!(row.get::<_, f64>(7), 0.1);
    // The parameter of `id = $1` takes the column's type (int8).
    let stmt = db
        .prepare("SELECT customer FROM orders WHERE id = $1")
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT8]);
    let text = db
        .simple_query("SELECT placed_at, raw, meta, paid, day FROM orders")
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&text),
        vec![vec![
            Some("2024-05-01 12:30:00.25+00".into()),
            Some("\\x0001ff".into()),
            Some("{\"a\": [true, null], \"b\": 1}".into()),
            Some("t".into()),
            Some("2024-02-29".into()),
        ]]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_statement_simple_query_and_portal_suspension() {
    let server = start().await;
    let mut db = connect(&server).await;
    let results = db
        .simple_query("CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2), (3), (4), (5); SELECT n FROM t ORDER BY n")
        .await
        .unwrap();
    assert_eq!(simple_rows(&results).len(), 5);
    let tx = db.transaction().await.unwrap();
    let stmt = tx.prepare("SELECT n FROM t ORDER BY n").await.unwrap();
    let portal = tx.bind(&stmt, &[]).await.unwrap();
    let first = tx.query_portal(&portal, 2).await.unwrap();
    let second = tx.query_portal(&portal, 2).await.unwrap();
    let rest = tx.query_portal(&portal, 10).await.unwrap();
    let values =
        |rows: &[tokio_postgres::Row]| rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>();
    assert_eq!(values(&first), vec![1, 2]);
    assert_eq!(values(&second), vec![3, 4]);
    assert_eq!(values(&rest), vec![5]);
    tx.commit().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_postgres_sqlstates_and_session_survives() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE parent (id int PRIMARY KEY, name text UNIQUE);
         CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent (id), qty int CHECK (qty > 0));
         INSERT INTO parent VALUES (1, 'a')",
    )
    .await
    .unwrap();
    let cases = [
        ("INSERT INTO parent VALUES (1, 'b')", "23505"),
        ("INSERT INTO parent VALUES (2, 'a')", "23505"),
        (
            "INSERT INTO child (id, parent_id) VALUES (1, NULL)",
            "23502",
        ),
        ("INSERT INTO child (id, parent_id) VALUES (1, 99)", "23503"),
        (
            "INSERT INTO child (id, parent_id, qty) VALUES (1, 1, 0)",
            "23514",
        ),
        ("SELECT * FROM missing_table", "42P01"),
        ("SELECT nope FROM parent", "42703"),
        ("SELEC 1", "42601"),
        ("SELECT 1/0", "22012"),
        ("SELECT 'abc'::int", "22P02"),
        ("EXPLAIN ANALYZE SELECT 1", "0A000"),
    ];
    for (sql, expected) in cases {
        let err = db.simple_query(sql).await.expect_err(sql);
        assert_eq!(code(&err), expected, "{sql}: {err:?}");
        let err = db.query(sql, &[]).await.expect_err(sql);
        assert_eq!(code(&err), expected, "extended {sql}: {err:?}");
        assert_eq!(
            db.query_one("SELECT 1", &[])
                .await
                .unwrap()
                .get::<_, i32>(0),
            1
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_all_or_nothing_with_savepoints() {
    let server = start().await;
    let db = connect(&server).await;
    let other = connect(&server).await;
    db.batch_execute("CREATE TABLE t (n int PRIMARY KEY)")
        .await
        .unwrap();

    db.batch_execute("BEGIN; INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    // Uncommitted rows are invisible to others, and reading does not wait.
    let seen: i64 = other
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 0);
    let err = db
        .simple_query("INSERT INTO t VALUES (1)")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "23505");
    let err = db.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&err), "25P02");
    let tag = db.simple_query("COMMIT").await.unwrap();
    assert!(matches!(&tag[0], SimpleQueryMessage::CommandComplete(0)));
    let n: i64 = db
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "a failed transaction commits nothing");

    db.batch_execute(
        "BEGIN; INSERT INTO t VALUES (1); SAVEPOINT a; INSERT INTO t VALUES (2); ROLLBACK TO SAVEPOINT a;
         INSERT INTO t VALUES (3); RELEASE SAVEPOINT a; COMMIT",
    )
    .await
    .unwrap();
    let rows: Vec<i32> = db
        .query("SELECT n FROM t ORDER BY n", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows, vec![1, 3]);

    // A savepoint revives a failed transaction.
    db.batch_execute("BEGIN; SAVEPOINT s").await.unwrap();
    assert!(db.simple_query("INSERT INTO t VALUES (1)").await.is_err());
    db.batch_execute("ROLLBACK TO SAVEPOINT s; INSERT INTO t VALUES (4); COMMIT")
        .await
        .unwrap();
    let n: i64 = other
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_writer_gets_lock_timeout_not_a_hang() {
    let server = start().await;
    let a = connect(&server).await;
    let b = connect(&server).await;
    a.batch_execute("CREATE TABLE t (n int)").await.unwrap();
    a.batch_execute("BEGIN; INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    b.batch_execute("SET lock_timeout = '200ms'").await.unwrap();
    let err = b
        .simple_query("INSERT INTO t VALUES (2)")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "55P03");
    // Readers do not wait for the writer.
    let n: i64 = b
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    a.batch_execute("COMMIT").await.unwrap();
    b.batch_execute("INSERT INTO t VALUES (2)").await.unwrap();
    let n: i64 = b
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    server.stop().await;
}

// Single-threaded runtime: exercises the spawn_blocking path of store::blocking.
#[tokio::test]
async fn malformed_messages_close_only_that_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start().await;
    let mut raw = tokio::net::TcpStream::connect(server.pg_addr)
        .await
        .unwrap();
    raw.write_all(&[0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3])
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(5), raw.read_to_end(&mut buf)).await;
    let db = connect(&server).await;
    assert_eq!(
        db.query_one("SELECT 2", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        2
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_interrupts_the_running_statement() {
    let server = start().await;
    let db = connect(&server).await;
    let token = db.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    // Long enough (tens of seconds) that only the cancel can end it early.
    let err = db
        .simple_query(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000000000) SELECT count(*) FROM s",
        )
        .await
        .unwrap_err();
    canceller.await.unwrap();
    assert_eq!(code(&err), "57014");
    assert_eq!(
        db.query_one("SELECT 3", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        3
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_stdin_and_to_stdout() {
    use futures::{SinkExt, TryStreamExt};
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE TABLE c (id int PRIMARY KEY, name text, total numeric(10,2))")
        .await
        .unwrap();
    let sink = db
        .copy_in("COPY c (id, name, total) FROM STDIN")
        .await
        .unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"1\tann\t12.5\n2\t\\N\t3\n"))
        .await
        .unwrap();
    sink.send(bytes::Bytes::from_static(b"3\tb\\tc\t0\n"))
        .await
        .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);

    let out: Vec<bytes::Bytes> = db
        .copy_out("COPY c TO STDOUT")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        out.concat(),
        b"1\tann\t12.50\n2\t\\N\t3.00\n3\tb\\tc\t0.00\n".to_vec()
    );

    // A bad row fails the whole COPY: nothing of it stays.
    let sink = db.copy_in("COPY c FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"4\tok\t1\n1\tduplicate\t1\n"))
        .await
        .unwrap();
    let err = sink.finish().await.unwrap_err();
    assert_eq!(code(&err), "23505");
    let n: i64 = db
        .query_one("SELECT count(*) FROM c", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_stdin_in_the_binary_format() {
    use futures::SinkExt;
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE TABLE b (id int PRIMARY KEY, name text, ok bool, at timestamptz)")
        .await
        .unwrap();
    let sink = db
        .copy_in("COPY b (id, name, ok, at) FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    let writer = BinaryCopyInWriter::new(
        sink,
        &[Type::INT4, Type::TEXT, Type::BOOL, Type::TIMESTAMPTZ],
    );
    futures::pin_mut!(writer);
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    writer
        .as_mut()
        .write(&[&1i32, &"ann", &true, &at])
        .await
        .unwrap();
    writer
        .as_mut()
        .write(&[
            &2i32,
            &None::<&str>,
            &false,
            &None::<chrono::DateTime<chrono::Utc>>,
        ])
        .await
        .unwrap();
    assert_eq!(writer.finish().await.unwrap(), 2);
    let rows = simple_rows(
        &db.simple_query("SELECT id, name, ok, at FROM b ORDER BY id")
            .await
            .unwrap(),
    );
    assert_eq!(
        rows,
        [
            vec![
                Some("1".into()),
                Some("ann".into()),
                Some("t".into()),
                Some("2026-01-02 03:04:05+00".into())
            ],
            vec![Some("2".into()), None, Some("f".into()), None],
        ]
    );
    // Bytes that are not a binary COPY stream: 22P04, and nothing stays.
    let sink = db
        .copy_in("COPY b FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"not a binary copy header"))
        .await
        .unwrap();
    assert_eq!(code(&sink.finish().await.unwrap_err()), "22P04");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_statement_query_sees_the_schema_its_earlier_statements_made() {
    let server = start().await;
    let client = connect(&server).await;
    let messages = client
        .simple_query(
            "CREATE TABLE ms (id int PRIMARY KEY, n int);
             CREATE FUNCTION ms_note() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN PERFORM pg_notify('ms', NEW.id::text); RETURN NEW; END $$;
             CREATE TRIGGER ms_t AFTER INSERT ON ms FOR EACH ROW EXECUTE FUNCTION ms_note();
             ALTER TABLE ms ADD COLUMN note text;
             INSERT INTO ms (id, n, note) VALUES (1, 2, 'x');
             SELECT note FROM ms",
        )
        .await
        .unwrap();
    let notes: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    assert_eq!(notes, ["x"]);
    // A failure rolls the whole implicit transaction back.
    let err = client
        .simple_query("INSERT INTO ms (id) VALUES (2); INSERT INTO nope VALUES (1)")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42P01");
    let count: i64 = client
        .query_one("SELECT count(*) FROM ms", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}

/// The forms ORMs send for bulk inserts and catalog reflection: VALUES with a
/// column list (SQLAlchemy's insertmanyvalues), set-returning functions over
/// an array in the select list, and `array_agg` in the array's text form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_column_lists_unnest_and_array_agg() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE TABLE bulk (id serial PRIMARY KEY, name text, n int)")
        .await
        .unwrap();
    let rows = db
        .simple_query(
            "INSERT INTO bulk (name, n) SELECT p0, p1 FROM (VALUES ('a', 1, 0), ('b', 2, 1)) \
             AS imp_sen(p0, p1, sen_counter) ORDER BY sen_counter RETURNING id, name",
        )
        .await
        .unwrap();
    let inserted = [
        vec![Some("1".into()), Some("a".into())],
        vec![Some("2".into()), Some("b".into())],
    ];
    assert_eq!(simple_rows(&rows), inserted);
    let rows = db
        .simple_query(
            "SELECT c.conname, unnest(c.conkey) AS attnum, generate_subscripts(c.conkey, 1) AS ord \
             FROM pg_catalog.pg_constraint c WHERE c.conrelid = 'bulk'::regclass",
        )
        .await
        .unwrap();
    let pk = [vec![
        Some("bulk_pkey".into()),
        Some("1".into()),
        Some("1".into()),
    ]];
    assert_eq!(simple_rows(&rows), pk);
    let rows = db
        .simple_query("SELECT array_agg(name ORDER BY n DESC) FROM bulk")
        .await
        .unwrap();
    assert_eq!(simple_rows(&rows), [vec![Some("{b,a}".to_string())]]);
}

/// `DEALLOCATE ALL` drops protocol-level prepared statements (psycopg 3 resets
/// its cache this way); using one after that, or deallocating one that does
/// not exist, is 26000 as in Postgres.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deallocate_drops_prepared_statements() {
    let server = start().await;
    let db = connect(&server).await;
    let first = db.prepare("SELECT 1::int4").await.unwrap();
    let second = db.prepare("SELECT 2::int4").await.unwrap();
    let one: i32 = db.query_one(&first, &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    db.batch_execute("DEALLOCATE ALL").await.unwrap();
    assert_eq!(
        code(&db.query_one(&second, &[]).await.unwrap_err()),
        "26000"
    );
    let err = db.batch_execute("DEALLOCATE nope").await.unwrap_err();
    assert_eq!(code(&err), "26000");
    let n: i32 = db.query_one("SELECT 3::int4", &[]).await.unwrap().get(0);
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_follow_the_transaction_they_are_set_in() {
    let server = start().await;
    let mut client = connect(&server).await;
    async fn app(client: &tokio_postgres::Client) -> String {
        let row = client
            .query_one("SHOW application_name", &[])
            .await
            .unwrap();
        row.get(0)
    }
    client
        .batch_execute("SET application_name = 'start'")
        .await
        .unwrap();

    // Extended protocol inside a transaction: SET LOCAL and
    // set_config(..., true) end with it, a SET outlives a commit only.
    let tx = client.transaction().await.unwrap();
    tx.execute("SET LOCAL application_name = 'local'", &[])
        .await
        .unwrap();
    tx.query_one("SELECT set_config('myapp.user', $1, true)", &[&"7"])
        .await
        .unwrap();
    let seen: String = tx
        .query_one("SELECT current_setting('myapp.user')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, "7");
    tx.commit().await.unwrap();
    assert_eq!(app(&client).await, "start");

    for (set, commit, after) in [
        ("SET application_name = 'dropped'", false, "start"),
        ("SET application_name = 'kept'", true, "kept"),
    ] {
        let tx = client.transaction().await.unwrap();
        tx.execute(set, &[]).await.unwrap();
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
        assert_eq!(app(&client).await, after);
    }
    server.stop().await;
}
