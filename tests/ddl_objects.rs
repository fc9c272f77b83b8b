//! Postgres DDL objects beyond tables, checked against what PostgreSQL 15
//! answers to the same statements: views, with their result types, catalog
//! rows and SQLSTATEs.

mod common;

use common::{code, connect, start};
use tokio_postgres::types::Type;

/// The result column types of a row, as the server described them.
fn types(row: &tokio_postgres::Row) -> Vec<Type> {
    row.columns().iter().map(|c| c.type_().clone()).collect()
}

/// The SQLSTATE a statement fails with.
async fn sqlstate(db: &tokio_postgres::Client, sql: &str) -> String {
    code(&db.batch_execute(sql).await.unwrap_err())
}

/// The type oids a query's RowDescription announces, read off the raw
/// protocol: a driver would look an enum's oid up with catalog queries of
/// its own first (tokio-postgres's needs `"char"` catalog columns, which
/// litewire serves as text).
async fn described_oids(server: &litewire::Server, sql: &str) -> Vec<u32> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(server.pg_addr)
        .await
        .unwrap();
    let mut startup = 196_608u32.to_be_bytes().to_vec();
    startup.extend(b"user\0postgres\0database\0postgres\0\0");
    let mut query = b"Q".to_vec();
    query.extend(((sql.len() + 5) as u32).to_be_bytes());
    query.extend(sql.as_bytes());
    query.push(0);
    let mut message = ((startup.len() + 4) as u32).to_be_bytes().to_vec();
    message.extend(startup);
    message.extend(query);
    socket.write_all(&message).await.unwrap();
    loop {
        let tag = socket.read_u8().await.unwrap();
        let len = socket.read_u32().await.unwrap() as usize;
        let mut body = vec![0; len - 4];
        socket.read_exact(&mut body).await.unwrap();
        if tag != b'T' {
            continue;
        }
        let count = u16::from_be_bytes([body[0], body[1]]) as usize;
        let mut at = 2;
        let mut oids = Vec::with_capacity(count);
        for _ in 0..count {
            at += body[at..].iter().position(|b| *b == 0).unwrap() + 1 + 6;
            oids.push(u32::from_be_bytes(body[at..at + 4].try_into().unwrap()));
            at += 12;
        }
        return oids;
    }
}

const ITEMS: &str = "CREATE TABLE items (id serial PRIMARY KEY, name text, price numeric(10,2));
INSERT INTO items (name, price) VALUES ('pen', 1.50), ('ink', 12.00), ('pad', 3.25);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_are_typed_from_their_query() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(ITEMS).await.unwrap();
    db.batch_execute(
        "CREATE VIEW priced AS SELECT id, upper(name) AS label, price * 2 AS double, \
         now() AS seen, 'x' AS tag, count(*) OVER () AS total FROM items WHERE price > 2",
    )
    .await
    .unwrap();
    let rows = db
        .query("SELECT * FROM priced ORDER BY id", &[])
        .await
        .unwrap();
    assert_eq!(
        types(&rows[0]),
        [
            Type::INT4,
            Type::TEXT,
            Type::NUMERIC,
            Type::TIMESTAMPTZ,
            Type::TEXT,
            Type::INT8
        ]
    );
    let labels: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(labels, ["INK", "PAD"]);
    assert_eq!(rows[0].get::<_, i64>(5), 2);

    // A column list renames; the view reads the table's current rows.
    db.batch_execute("CREATE VIEW names (n) AS SELECT name FROM items; INSERT INTO items (name, price) VALUES ('cap', 0.5)")
        .await
        .unwrap();
    let row = db
        .query_one("SELECT count(n) FROM names", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_ddl_errors_match_postgres() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(ITEMS).await.unwrap();
    db.batch_execute("CREATE VIEW v AS SELECT id, name FROM items")
        .await
        .unwrap();
    for (sql, state) in [
        ("CREATE VIEW v AS SELECT 1", "42P07"),
        ("CREATE VIEW items AS SELECT 1", "42P07"),
        ("CREATE OR REPLACE VIEW v AS SELECT id FROM items", "42P16"),
        (
            "CREATE OR REPLACE VIEW v AS SELECT id, price FROM items",
            "42P16",
        ),
        (
            "CREATE OR REPLACE VIEW v AS SELECT name, id FROM items",
            "42P16",
        ),
        ("CREATE OR REPLACE VIEW items AS SELECT 1", "42809"),
        ("CREATE VIEW w (a, b) AS SELECT 1", "42601"),
        ("CREATE VIEW w AS SELECT $1::int", "42P02"),
        ("DROP VIEW items", "42809"),
        ("DROP TABLE v", "42809"),
        ("DROP VIEW nope", "42P01"),
        ("DROP TABLE nope", "42P01"),
        // Postgres writes through simple views; litewire refuses, naming the view.
        ("INSERT INTO v (id, name) VALUES (9, 'x')", "0A000"),
        ("UPDATE v SET name = 'x'", "0A000"),
        ("DELETE FROM v", "0A000"),
    ] {
        assert_eq!(sqlstate(&db, sql).await, state, "{sql}");
    }
    // Adding columns at the end is a valid replacement.
    db.batch_execute("CREATE OR REPLACE VIEW v AS SELECT id, name, price FROM items")
        .await
        .unwrap();
    let row = db
        .query_one("SELECT * FROM v WHERE id = 2", &[])
        .await
        .unwrap();
    assert_eq!(row.columns()[2].type_(), &Type::NUMERIC);
    db.batch_execute("DROP VIEW IF EXISTS nope; DROP VIEW v; DROP VIEW IF EXISTS v")
        .await
        .unwrap();
    assert_eq!(sqlstate(&db, "SELECT * FROM v").await, "42P01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_are_in_the_catalog() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(ITEMS).await.unwrap();
    db.batch_execute("CREATE VIEW cheap AS SELECT name FROM items WHERE price < 5")
        .await
        .unwrap();
    let row = db
        .query_one(
            "SELECT c.relkind::text, t.table_type::text, a.atttypid::int8 \
             FROM pg_class c JOIN information_schema.tables t ON t.table_name = c.relname \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1 \
             WHERE c.relname = 'cheap'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "v");
    assert_eq!(row.get::<_, String>(1), "VIEW");
    assert_eq!(row.get::<_, i64>(2), 25);
    let row = db
        .query_one(
            "SELECT count(*) FROM pg_views WHERE viewname = 'cheap' AND definition LIKE '%price < 5%'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
}

/// `SELECT <sql>` as one bigint.
async fn int8(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_hand_out_values_the_postgres_way() {
    let server = start().await;
    let db = connect(&server).await;
    let other = connect(&server).await;
    db.batch_execute("CREATE SEQUENCE s START WITH 100 INCREMENT BY 10 CACHE 20")
        .await
        .unwrap();
    let err = db.query_one("SELECT lastval()", &[]).await.unwrap_err();
    assert_eq!(code(&err), "55000");
    let err = db.query_one("SELECT currval('s')", &[]).await.unwrap_err();
    assert_eq!(code(&err), "55000");
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "currval of sequence \"s\" is not yet defined in this session"
    );
    let row = db.query_one("SELECT nextval('s')", &[]).await.unwrap();
    assert_eq!(types(&row), [Type::INT8]);
    assert_eq!(row.get::<_, i64>(0), 100);
    assert_eq!(int8(&db, "SELECT nextval('s'::regclass)").await, 110);
    // Another session advances the same sequence but has its own currval.
    assert_eq!(int8(&other, "SELECT nextval('s')").await, 120);
    assert_eq!(int8(&db, "SELECT currval('s')").await, 110);
    assert_eq!(int8(&other, "SELECT lastval()").await, 120);

    // A value taken in a rolled-back transaction is not handed out again.
    db.batch_execute("BEGIN").await.unwrap();
    assert_eq!(int8(&db, "SELECT nextval('s')").await, 130);
    db.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(int8(&db, "SELECT nextval('s')").await, 140);

    assert_eq!(int8(&db, "SELECT setval('s', 500)").await, 500);
    assert_eq!(int8(&db, "SELECT nextval('s')").await, 510);
    assert_eq!(int8(&db, "SELECT setval('s', 7, false)").await, 7);
    assert_eq!(int8(&db, "SELECT nextval('s')").await, 7);
    db.batch_execute("ALTER SEQUENCE s RESTART WITH 1000")
        .await
        .unwrap();
    assert_eq!(int8(&db, "SELECT nextval('s')").await, 1000);
    db.batch_execute("ALTER SEQUENCE s RESTART").await.unwrap();
    assert_eq!(int8(&db, "SELECT nextval('s')").await, 100);
    // Parameters and the extended protocol.
    let row = db
        .query_one("SELECT nextval($1::text)", &[&"s"])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 110);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_defaults_bounds_and_errors() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE SEQUENCE t_ids INCREMENT 5 START 10 MAXVALUE 20")
        .await
        .unwrap();
    db.batch_execute(
        "CREATE TABLE tickets (id integer PRIMARY KEY DEFAULT nextval('t_ids'::regclass), note text)",
    )
    .await
    .unwrap();
    let rows = db
        .query(
            "INSERT INTO tickets (note) VALUES ('a'), ('b') RETURNING id",
            &[],
        )
        .await
        .unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, [10, 15]);
    let default: String = db
        .query_one(
            "SELECT column_default::text FROM information_schema.columns \
             WHERE table_name = 'tickets' AND column_name = 'id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(default, "nextval('t_ids'::regclass)");
    assert_eq!(int8(&db, "SELECT nextval('t_ids')").await, 20);
    assert_eq!(int8(&db, "SELECT lastval()").await, 20);
    for (sql, state) in [
        ("SELECT nextval('t_ids')", "2200H"),
        ("INSERT INTO tickets (note) VALUES ('c')", "2200H"),
        ("SELECT setval('t_ids', 21)", "22003"),
        ("SELECT nextval('nope')", "42P01"),
        ("SELECT currval('nope')", "42P01"),
        ("CREATE SEQUENCE t_ids", "42P07"),
        ("CREATE SEQUENCE tickets", "42P07"),
        ("CREATE TABLE t_ids (a int)", "42P07"),
        ("CREATE VIEW t_ids AS SELECT 1", "42P07"),
        ("CREATE SEQUENCE bad INCREMENT 0", "22023"),
        ("CREATE SEQUENCE bad START 0", "22023"),
        ("CREATE SEQUENCE bad MINVALUE 3 MAXVALUE 2", "22023"),
        ("CREATE SEQUENCE bad AS text", "22023"),
        ("ALTER SEQUENCE nope RESTART", "42P01"),
        ("DROP SEQUENCE tickets", "42809"),
        ("DROP TABLE t_ids", "42809"),
        ("DROP SEQUENCE nope", "42P01"),
    ] {
        assert_eq!(sqlstate(&db, sql).await, state, "{sql}");
    }
    let row = db
        .query_one(
            "SELECT c.relkind::text, s.seqstart, s.seqincrement, s.seqmax, s.seqtypid::int8 \
             FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid WHERE c.relname = 't_ids'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "S");
    assert_eq!(
        (
            row.get::<_, i64>(1),
            row.get::<_, i64>(2),
            row.get::<_, i64>(3)
        ),
        (10, 5, 20)
    );
    assert_eq!(row.get::<_, i64>(4), 20);
    db.batch_execute("DROP TABLE tickets").await.unwrap();
    db.batch_execute("DROP SEQUENCE t_ids").await.unwrap();
    db.batch_execute("DROP SEQUENCE IF EXISTS t_ids")
        .await
        .unwrap();
    assert_eq!(sqlstate(&db, "SELECT nextval('t_ids')").await, "42P01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_are_descriptions() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE ct (id int PRIMARY KEY, name text); CREATE VIEW cv AS SELECT name FROM ct;
         COMMENT ON TABLE ct IS 'the table'; COMMENT ON COLUMN ct.name IS 'a name';
         COMMENT ON COLUMN public.ct.id IS 'key'; COMMENT ON COLUMN cv.name IS 'view col'",
    )
    .await
    .unwrap();
    let row = db
        .query_one(
            "SELECT obj_description('ct'::regclass, 'pg_class'), obj_description('ct'::regclass), \
             col_description('ct'::regclass, 2), col_description('ct'::regclass, 1), \
             col_description('cv'::regclass, 1)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(types(&row), vec![Type::TEXT; 5]);
    let texts: Vec<String> = (0..5).map(|i| row.get(i)).collect();
    assert_eq!(
        texts,
        ["the table", "the table", "a name", "key", "view col"]
    );

    // NULL or '' removes a comment; dropping the relation removes its comments.
    db.batch_execute("COMMENT ON COLUMN ct.id IS NULL; COMMENT ON TABLE ct IS ''")
        .await
        .unwrap();
    let rows = db
        .query(
            "SELECT objsubid, description FROM pg_description WHERE objoid = 'ct'::regclass \
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let left: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(left, [(2, "a name".to_string())]);
    for (sql, state) in [
        ("COMMENT ON TABLE cv IS 'x'", "42809"),
        ("COMMENT ON TABLE nope IS 'x'", "42P01"),
        ("COMMENT ON COLUMN ct.nope IS 'x'", "42703"),
        ("COMMENT ON COLUMN name IS 'x'", "42601"),
    ] {
        assert_eq!(sqlstate(&db, sql).await, state, "{sql}");
    }
    db.batch_execute("DROP VIEW cv; DROP TABLE ct; CREATE TABLE ct (id int, name text)")
        .await
        .unwrap();
    assert_eq!(
        int8(
            &db,
            "SELECT count(*) FROM pg_description WHERE objoid = 'ct'::regclass"
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_keep_what_they_read_unless_cascade() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE t (a int); CREATE TABLE u (b int);
         CREATE VIEW v AS SELECT a FROM t; CREATE VIEW v2 AS SELECT a, b FROM v, u",
    )
    .await
    .unwrap();
    let err = db.batch_execute("DROP TABLE t").await.unwrap_err();
    let err = err.as_db_error().unwrap();
    assert_eq!(err.code().code(), "2BP01");
    assert_eq!(
        err.message(),
        "cannot drop table t because other objects depend on it"
    );
    assert_eq!(
        err.detail(),
        Some("view v depends on table t\nview v2 depends on view v")
    );
    for (sql, state) in [("DROP VIEW v", "2BP01"), ("DROP TABLE u, t", "2BP01")] {
        assert_eq!(sqlstate(&db, sql).await, state, "{sql}");
    }
    // Dropping a view together with the views reading it needs no CASCADE.
    db.batch_execute("BEGIN; DROP VIEW v2, v; ROLLBACK")
        .await
        .unwrap();
    db.batch_execute("DROP TABLE t CASCADE").await.unwrap();
    let rows = db
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let left: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(left, ["u"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enums_check_sort_and_describe_like_postgres() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE person (name text, m mood);
         INSERT INTO person VALUES ('a', 'happy'), ('b', 'sad'), ('c', 'ok'), ('d', NULL)",
    )
    .await
    .unwrap();
    // The result column has the enum's type oid, as pg_type and pg_enum show it.
    let oid: u32 = db
        .query_one(
            "SELECT oid FROM pg_type WHERE typname = 'mood' AND typtype = 'e'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        described_oids(&server, "SELECT name, m FROM person").await,
        [25, oid]
    );
    let labels = db
        .query(
            "SELECT enumlabel::text FROM pg_enum WHERE enumtypid = $1 ORDER BY enumsortorder",
            &[&oid],
        )
        .await
        .unwrap();
    let labels: Vec<String> = labels.iter().map(|r| r.get(0)).collect();
    assert_eq!(labels, ["sad", "ok", "happy"]);

    let names = |sql: &'static str| {
        let db = &db;
        async move {
            let rows = db.simple_query(sql).await.unwrap();
            rows.iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some(r.get(0).unwrap_or("").to_string())
                    }
                    _ => None,
                })
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(
        names("SELECT name FROM person ORDER BY m, name").await,
        ["b", "c", "a", "d"]
    );
    assert_eq!(
        names("SELECT name FROM person ORDER BY m DESC").await,
        ["d", "a", "c", "b"]
    );
    assert_eq!(
        names("SELECT name FROM person WHERE m > 'sad' ORDER BY name").await,
        ["a", "c"]
    );
    assert_eq!(names("SELECT 'ok'::mood").await, ["ok"]);
    let err = db
        .batch_execute("INSERT INTO person VALUES ('e', 'bad')")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22P02");
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "invalid input value for enum mood: \"bad\""
    );
    for (sql, state) in [
        ("UPDATE person SET m = 'meh'", "22P02"),
        ("SELECT name FROM person WHERE m = 'bad'", "22P02"),
        ("SELECT 'bad'::mood", "22P02"),
        ("CREATE TYPE mood AS ENUM ('x')", "42710"),
        ("CREATE TABLE bad (m mood DEFAULT 'meh')", "22P02"),
        ("DROP TYPE mood", "2BP01"),
        ("DROP TYPE nope", "42704"),
    ] {
        assert_eq!(sqlstate(&db, sql).await, state, "{sql}");
    }
    db.batch_execute(
        "ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok'; ALTER TYPE mood ADD VALUE 'first' BEFORE 'sad';
         ALTER TYPE mood ADD VALUE 'ecstatic'; UPDATE person SET m = 'meh' WHERE name = 'd'",
    )
    .await
    .unwrap();
    assert_eq!(
        names("SELECT m FROM person WHERE m < 'happy' ORDER BY m").await,
        ["sad", "meh", "ok"]
    );
    let orders = db
        .query(
            "SELECT enumlabel::text, enumsortorder FROM pg_enum ORDER BY enumsortorder",
            &[],
        )
        .await
        .unwrap();
    let orders: Vec<(String, f32)> = orders.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expected = [
        ("first", 0.0),
        ("sad", 1.0),
        ("meh", 1.5),
        ("ok", 2.0),
        ("happy", 3.0),
        ("ecstatic", 4.0),
    ];
    assert_eq!(orders, expected.map(|(l, o)| (l.to_string(), o)));
    for (sql, state) in [
        ("ALTER TYPE mood ADD VALUE 'ok'", "42710"),
        ("ALTER TYPE mood ADD VALUE 'x' AFTER 'nope'", "22023"),
        ("ALTER TYPE nope ADD VALUE 'x'", "42704"),
    ] {
        assert_eq!(sqlstate(&db, sql).await, state, "{sql}");
    }
    db.batch_execute("DROP TYPE IF EXISTS nope; DROP TABLE person; DROP TYPE mood")
        .await
        .unwrap();
    assert_eq!(int8(&db, "SELECT count(*) FROM pg_enum").await, 0);
}
