//! `LATERAL` subqueries and set-returning functions in FROM, through
//! tokio-postgres. Values and types are PostgreSQL 15's for the same
//! statements (`compat/expected/dialect_lateral.sql` runs the same ground
//! through psql against both servers).

mod common;

use common::{code, connect, simple_rows, start};
use tokio_postgres::types::Type;

const SCHEMA: &str =
    "CREATE TABLE lu (id int PRIMARY KEY, name text NOT NULL, n int, tags text, data jsonb);
CREATE TABLE lo (id int PRIMARY KEY, user_id int, total numeric(10,2), paid boolean,
  placed_at timestamptz, meta jsonb, note text, ratio double precision);
INSERT INTO lu VALUES (1, 'ann', 2, '{red,blue}', '[1, \"a\", {\"b\": [true, null]}]'),
  (2, 'bob', 0, '{}', '[]'), (3, 'cy', 3, NULL, NULL);
INSERT INTO lo VALUES
  (1, 1, 10.50, true, '2024-01-01 10:00:00+00', '{\"k\": [1, 2]}', 'first', 0.1),
  (2, 1, 20.00, false, '2024-01-02 11:30:00+00', NULL, NULL, 2.5),
  (3, 1, 7, true, '2024-01-03 00:00:00+00', '\"s\"', 'x', 0.30000000000000004),
  (4, 2, 5.25, NULL, '2024-02-01 12:00:00+00', '[]', 'only', 3)";

async fn rows(db: &tokio_postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    simple_rows(&db.simple_query(sql).await.unwrap())
}

fn table(rows: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|r| r.iter().map(|v| v.map(String::from)).collect())
        .collect()
}

async fn setup() -> (litewire::Server, tokio_postgres::Client) {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(SCHEMA).await.unwrap();
    (server, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_n_per_outer_row() {
    let (_server, db) = setup().await;
    let top = rows(
        &db,
        "SELECT u.name, o.total FROM lu u, LATERAL (SELECT total FROM lo o \
         WHERE o.user_id = u.id ORDER BY total DESC LIMIT 1) o ORDER BY u.id",
    )
    .await;
    assert_eq!(
        top,
        table(&[&[Some("ann"), Some("20.00")], &[Some("bob"), Some("5.25")]])
    );
    let two = rows(
        &db,
        "SELECT u.id, name, s.total, s.paid FROM lu u CROSS JOIN LATERAL \
         (SELECT total, paid FROM lo WHERE lo.user_id = u.id ORDER BY total LIMIT 2) s \
         ORDER BY u.id, s.total",
    )
    .await;
    assert_eq!(
        two,
        table(&[
            &[Some("1"), Some("ann"), Some("7.00"), Some("t")],
            &[Some("1"), Some("ann"), Some("10.50"), Some("t")],
            &[Some("2"), Some("bob"), Some("5.25"), None],
        ])
    );
    let filtered = rows(
        &db,
        "SELECT u.id, s.total * 2 AS doubled FROM lu u, LATERAL (SELECT total FROM lo \
         WHERE user_id = u.id) s WHERE s.total > 8 ORDER BY s.total DESC",
    )
    .await;
    assert_eq!(
        filtered,
        table(&[&[Some("1"), Some("40.00")], &[Some("1"), Some("21.00")]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn left_join_lateral_keeps_outer_rows() {
    let (_server, db) = setup().await;
    let got = rows(
        &db,
        "SELECT u.id, s.total, s.placed_at FROM lu u LEFT JOIN LATERAL (SELECT total, placed_at \
         FROM lo WHERE user_id = u.id ORDER BY placed_at DESC LIMIT 2) s ON true \
         ORDER BY u.id, s.placed_at",
    )
    .await;
    assert_eq!(
        got,
        table(&[
            &[Some("1"), Some("20.00"), Some("2024-01-02 11:30:00+00")],
            &[Some("1"), Some("7.00"), Some("2024-01-03 00:00:00+00")],
            &[Some("2"), Some("5.25"), Some("2024-02-01 12:00:00+00")],
            &[Some("3"), None, None],
        ])
    );
    let joined = rows(
        &db,
        "SELECT u.name, s.* FROM lu u JOIN LATERAL (SELECT id AS oid, note FROM lo \
         WHERE user_id = u.id ORDER BY id DESC LIMIT 2) s ON true ORDER BY u.name, s.oid",
    )
    .await;
    assert_eq!(
        joined,
        table(&[
            &[Some("ann"), Some("2"), None],
            &[Some("ann"), Some("3"), Some("x")],
            &[Some("bob"), Some("4"), Some("only")],
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lateral_columns_keep_their_types() {
    let (_server, db) = setup().await;
    let sql = "SELECT u.id, s.* FROM lu u LEFT JOIN LATERAL (SELECT total, paid, placed_at, \
               meta, note, ratio, id FROM lo WHERE user_id = u.id ORDER BY id LIMIT 1) \
               AS s(total, paid, at, meta) ON true ORDER BY u.id";
    let statement = db.prepare(sql).await.unwrap();
    let columns: Vec<(&str, &Type)> = statement
        .columns()
        .iter()
        .map(|c| (c.name(), c.type_()))
        .collect();
    assert_eq!(
        columns,
        [
            ("id", &Type::INT4),
            ("total", &Type::NUMERIC),
            ("paid", &Type::BOOL),
            ("at", &Type::TIMESTAMPTZ),
            ("meta", &Type::JSONB),
            ("note", &Type::TEXT),
            ("ratio", &Type::FLOAT8),
            ("id", &Type::INT4),
        ]
    );
    let got = rows(&db, sql).await;
    assert_eq!(
        got[0],
        table(&[&[
            Some("1"),
            Some("10.50"),
            Some("t"),
            Some("2024-01-01 10:00:00+00"),
            Some("{\"k\": [1, 2]}"),
            Some("first"),
            Some("0.1"),
            Some("1"),
        ]])[0]
    );
    assert_eq!(
        got[2],
        vec![
            Some("3".to_string()),
            None,
            None,
            None,
            None,
            None,
            None,
            None
        ]
    );
    // Values come back exactly, through the binary protocol too.
    let row = db
        .query_one(
            "SELECT s.ratio, s.paid FROM lu u, LATERAL (SELECT ratio, paid FROM lo \
             WHERE user_id = u.id AND id = 3) s",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, f64>(0), 0.1 + 0.2);
    assert!(row.get::<_, bool>(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_returning_functions_read_the_row_to_their_left() {
    let (_server, db) = setup().await;
    let elements = rows(
        &db,
        "SELECT u.id, e.value FROM lu u, LATERAL jsonb_array_elements(u.data) e ORDER BY u.id",
    )
    .await;
    assert_eq!(
        elements,
        table(&[
            &[Some("1"), Some("1")],
            &[Some("1"), Some("\"a\"")],
            &[Some("1"), Some("{\"b\": [true, null]}")],
        ])
    );
    let tags = rows(
        &db,
        "SELECT u.id, tag FROM lu u, LATERAL unnest(u.tags::text[]) AS tag ORDER BY u.id, tag",
    )
    .await;
    assert_eq!(
        tags,
        table(&[&[Some("1"), Some("blue")], &[Some("1"), Some("red")]])
    );
    for keyword in ["LATERAL ", ""] {
        let series = rows(
            &db,
            &format!(
                "SELECT u.id, g FROM lu u, {keyword}generate_series(1, u.n) g ORDER BY u.id, g"
            ),
        )
        .await;
        let expected: Vec<Vec<Option<String>>> = [(1, 1), (1, 2), (3, 1), (3, 2), (3, 3)]
            .iter()
            .map(|(id, g)| vec![Some(id.to_string()), Some(g.to_string())])
            .collect();
        assert_eq!(series, expected, "{keyword}");
    }
    let statement = db
        .prepare("SELECT u.id, e.value FROM lu u, LATERAL jsonb_array_elements(u.data) e")
        .await
        .unwrap();
    assert_eq!(statement.columns()[1].type_(), &Type::JSONB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shapes_sqlite_cannot_run_are_refused() {
    let (_server, db) = setup().await;
    for sql in [
        // `id` beside json_each (which has an `id` column) from a source
        // whose columns litewire does not know.
        "WITH c AS (SELECT 1 AS id) SELECT id FROM c, LATERAL (SELECT 2 AS two) s",
        "SELECT u.id FROM lu u, LATERAL json_array_elements(u.data::json) e",
        "SELECT u.id FROM lo FULL JOIN LATERAL (SELECT 1 AS one) s ON true JOIN lu u ON true",
        // SQLite evaluates LIMIT and OFFSET once, not per outer row.
        "SELECT u.id, s.total FROM lu u, LATERAL (SELECT total FROM lo ORDER BY total LIMIT u.n) s",
    ] {
        let err = db.simple_query(sql).await.unwrap_err();
        assert_eq!(code(&err), "0A000", "{sql}");
    }
}
