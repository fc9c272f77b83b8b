//! jsonb operators and functions through tokio-postgres (extended protocol,
//! server-typed parameters); every expected value is what PostgreSQL 15
//! returns for the same statement. `compat/expected/dialect_json.sql` runs the
//! same ground through psql against both servers.

mod common;

use common::{code, connect, start};
use serde_json::{Value, json};
use tokio_postgres::types::Type;

const DOCS: &str = "CREATE TABLE docs (id int PRIMARY KEY, ok boolean, d jsonb);
INSERT INTO docs VALUES
  (1, true, '{\"x\": {\"y\": [1, 2]}, \"tags\": [\"p\", \"q\"], \"n\": 5}'),
  (2, false, '{\"x\": {\"y\": [3]}, \"n\": 12}'),
  (3, null, null)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_take_typed_parameters() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(DOCS).await.unwrap();

    let contains = db
        .prepare("SELECT id FROM docs WHERE d @> $1 ORDER BY id")
        .await
        .unwrap();
    assert_eq!(contains.params(), &[Type::JSONB]);
    let rows = db
        .query(&contains, &[&json!({"x": {"y": [3]}})])
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.get(0)).collect::<Vec<i32>>(), [2]);

    let path = db
        .prepare("SELECT d #> $1, d #>> '{x,y,0}', d ? $2 FROM docs WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(path.params(), &[Type::TEXT, Type::TEXT]);
    let types: Vec<Type> = path.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(types, [Type::JSONB, Type::TEXT, Type::BOOL]);
    let row = db.query_one(&path, &[&"{x,y}", &"tags"]).await.unwrap();
    assert_eq!(row.get::<_, Value>(0), json!([1, 2]));
    assert_eq!(row.get::<_, String>(1), "1");
    assert!(row.get::<_, bool>(2));

    // jsonb ordering: numbers by value, not as text ('12' > '5').
    let rows = db
        .query(
            "SELECT id FROM docs WHERE d -> 'n' > '9'::jsonb OR d IS NULL ORDER BY d -> 'n' DESC",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.get(0)).collect::<Vec<i32>>(), [3, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builders_and_aggregates_write_postgres_json() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(DOCS).await.unwrap();

    let row = db
        .query_one(
            "SELECT jsonb_build_object('id', id, 'ok', ok, 'n', d -> 'n')::text, \
             jsonb_build_array(ok, d -> 'x')::text, to_jsonb(docs)::text \
             FROM docs WHERE id = 2",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, String>(0),
        r#"{"n": 12, "id": 2, "ok": false}"#
    );
    assert_eq!(row.get::<_, String>(1), r#"[false, {"y": [3]}]"#);
    assert_eq!(
        row.get::<_, String>(2),
        r#"{"d": {"n": 12, "x": {"y": [3]}}, "id": 2, "ok": false}"#
    );

    let row = db
        .query_one(
            "SELECT jsonb_agg(id ORDER BY id DESC), (SELECT jsonb_agg(id) FROM docs WHERE id > 9), \
             jsonb_set(d, '{x,y,9}', '7'), d - 'x' || '{\"m\": true}', jsonb_typeof(d -> 'x') \
             FROM docs WHERE id = 2 GROUP BY d",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Value>(0), json!([2]));
    assert_eq!(row.get::<_, Option<Value>>(1), None);
    assert_eq!(row.get::<_, Value>(2), json!({"n": 12, "x": {"y": [3, 7]}}));
    assert_eq!(row.get::<_, Value>(3), json!({"m": true, "n": 12}));
    assert_eq!(row.get::<_, String>(4), "object");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_operations_get_postgres_errors() {
    let server = start().await;
    let db = connect(&server).await;
    for (sql, state) in [
        ("SELECT jsonb_array_length('{\"a\": 1}')", "22023"),
        ("SELECT '{\"a\": 1}'::jsonb - 0", "22023"),
        ("SELECT jsonb_set('1', '{a}', '2')", "22023"),
        ("SELECT '{x'::jsonb @> '{}'", "22P02"),
    ] {
        let err = db.simple_query(sql).await.unwrap_err();
        assert_eq!(code(&err), state, "{sql}");
    }
    // The session is still usable.
    assert_eq!(db.simple_query("SELECT 1").await.unwrap().len(), 3);
}
