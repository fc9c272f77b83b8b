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
    let err = |sql: &'static str| {
        let db = &db;
        async move { code(&db.batch_execute(sql).await.unwrap_err()) }
    };
    assert_eq!(err("CREATE VIEW v AS SELECT 1").await, "42P07");
    assert_eq!(err("CREATE VIEW items AS SELECT 1").await, "42P07");
    assert_eq!(
        err("CREATE OR REPLACE VIEW v AS SELECT id FROM items").await,
        "42P16"
    );
    assert_eq!(
        err("CREATE OR REPLACE VIEW v AS SELECT id, price FROM items").await,
        "42P16"
    );
    assert_eq!(
        err("CREATE OR REPLACE VIEW v AS SELECT name, id FROM items").await,
        "42P16"
    );
    assert_eq!(
        err("CREATE OR REPLACE VIEW items AS SELECT 1").await,
        "42809"
    );
    assert_eq!(err("CREATE VIEW w (a, b) AS SELECT 1").await, "42601");
    assert_eq!(err("DROP VIEW items").await, "42809");
    assert_eq!(err("DROP TABLE v").await, "42809");
    assert_eq!(err("DROP VIEW nope").await, "42P01");
    assert_eq!(err("DROP TABLE nope").await, "42P01");
    // Postgres writes through simple views; litewire refuses, naming the view.
    assert_eq!(
        err("INSERT INTO v (id, name) VALUES (9, 'x')").await,
        "0A000"
    );
    assert_eq!(err("UPDATE v SET name = 'x'").await, "0A000");
    assert_eq!(err("DELETE FROM v").await, "0A000");

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
    assert_eq!(err("SELECT * FROM v").await, "42P01");
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
