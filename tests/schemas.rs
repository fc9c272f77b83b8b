//! Schemas through tokio-postgres: CREATE/DROP SCHEMA, qualified names,
//! `search_path`, and the catalog's view of them. Values and SQLSTATEs are
//! PostgreSQL 15's (`compat/expected/dialect_schemas.sql` runs the same ground
//! through psql against both servers).

mod common;

use common::{code, connect, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qualified_names_and_search_path_pick_the_schema() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE SCHEMA app;
         CREATE TABLE app.items (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
         CREATE TABLE items (id int PRIMARY KEY, name text);
         INSERT INTO app.items (name) VALUES ('in app');
         INSERT INTO public.items VALUES (7, 'in public')",
    )
    .await
    .unwrap();
    let name = |sql: &'static str| {
        let db = &db;
        async move { db.query_one(sql, &[]).await.unwrap().get::<_, String>(0) }
    };
    assert_eq!(name("SELECT name FROM items").await, "in public");
    assert_eq!(name("SELECT app.items.name FROM app.items").await, "in app");

    db.batch_execute("SET search_path TO app, public")
        .await
        .unwrap();
    assert_eq!(name("SELECT name FROM items").await, "in app");
    assert_eq!(name("SELECT current_schema()").await, "app");
    // A prepared statement is planned along the path in force.
    let row = db
        .query_one(
            "UPDATE items SET name = $1 WHERE id = 1 RETURNING items.name",
            &[&"renamed"],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "renamed");
    db.batch_execute("CREATE TABLE made_here (id int)")
        .await
        .unwrap();

    db.batch_execute("RESET search_path").await.unwrap();
    assert_eq!(name("SELECT name FROM items").await, "in public");
    assert_eq!(name("SELECT current_schema()").await, "public");
    let err = db.query("SELECT * FROM made_here", &[]).await.unwrap_err();
    assert_eq!(code(&err), "42P01");
    let schemas: Vec<(String, String)> = db
        .query(
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_name IN ('items', 'made_here') ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        schemas,
        [("app", "items"), ("app", "made_here"), ("public", "items")]
            .map(|(s, t)| (s.to_string(), t.to_string()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_are_created_and_dropped_as_in_postgres() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE SCHEMA s; CREATE TABLE s.t (id int)")
        .await
        .unwrap();
    for (sql, state) in [
        ("CREATE SCHEMA s", "42P06"),
        ("CREATE SCHEMA pg_x", "42939"),
        ("CREATE TABLE nope.t (id int)", "3F000"),
        ("SELECT * FROM nope.t", "42P01"),
        ("DROP SCHEMA s", "2BP01"),
        ("DROP SCHEMA nope", "3F000"),
    ] {
        let err = db.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&err), state, "{sql}");
    }
    db.batch_execute("CREATE SCHEMA IF NOT EXISTS s; DROP SCHEMA s CASCADE")
        .await
        .unwrap();
    let err = db.query("SELECT * FROM s.t", &[]).await.unwrap_err();
    assert_eq!(code(&err), "42P01");
    let left: i64 = db
        .query_one("SELECT count(*) FROM pg_namespace WHERE nspname = 's'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}
