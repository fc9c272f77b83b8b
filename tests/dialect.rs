//! Statements beyond plain DML, through tokio-postgres: ALTER TABLE changes
//! SQLite makes by rewriting the table definition, row locks, LOCK TABLE and
//! EXPLAIN. SQLSTATEs and values are PostgreSQL 15's for the same statements
//! (`compat/expected/dialect_alter.sql` and `dialect_query.sql` run the same
//! ground through psql against both servers).

mod common;

use common::{code, connect, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_table_constraints_check_rows_then_hold() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE p (id serial PRIMARY KEY);
         CREATE TABLE c (id serial PRIMARY KEY, p_id int, qty int DEFAULT 1, note text);
         INSERT INTO p DEFAULT VALUES;
         INSERT INTO c (p_id, qty) VALUES (1, 0)",
    )
    .await
    .unwrap();
    for (sql, state) in [
        ("ALTER TABLE c ALTER COLUMN note SET NOT NULL", "23502"),
        ("ALTER TABLE c ADD CHECK (qty > 0)", "23514"),
        ("ALTER TABLE c ADD FOREIGN KEY (qty) REFERENCES p", "23503"),
        ("ALTER TABLE c DROP CONSTRAINT nope", "42704"),
        ("ALTER TABLE c ALTER COLUMN nope DROP DEFAULT", "42703"),
    ] {
        let err = db.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&err), state, "{sql}");
    }
    db.batch_execute(
        "ALTER TABLE c ALTER COLUMN qty SET DEFAULT 5, ALTER COLUMN qty SET NOT NULL;
         ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id)
           ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED",
    )
    .await
    .unwrap();
    let qty: i32 = db
        .query_one("INSERT INTO c (p_id) VALUES (1) RETURNING qty", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(qty, 5);
    let err = db
        .batch_execute("INSERT INTO c (p_id, qty) VALUES (1, NULL)")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "23502");
    // Deferred: the parent may come later in the same transaction.
    db.batch_execute(
        "BEGIN; INSERT INTO c (p_id) VALUES (2); INSERT INTO p (id) VALUES (2); COMMIT",
    )
    .await
    .unwrap();
    let err = db
        .batch_execute("INSERT INTO c (p_id) VALUES (9)")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "23503");
    db.batch_execute("DELETE FROM p WHERE id = 1")
        .await
        .unwrap();
    let left: i64 = db
        .query_one("SELECT count(*) FROM c", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 1, "ON DELETE CASCADE removed the children of 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn for_update_and_lock_table_hold_off_other_writers() {
    let server = start().await;
    let a = connect(&server).await;
    let b = connect(&server).await;
    a.batch_execute("CREATE TABLE k (id int PRIMARY KEY, v int); INSERT INTO k VALUES (1, 1)")
        .await
        .unwrap();
    let err = a.batch_execute("LOCK TABLE k").await.unwrap_err();
    assert_eq!(code(&err), "25P01");
    b.batch_execute("SET lock_timeout = '200ms'").await.unwrap();
    for lock in [
        "SELECT v FROM k WHERE id = 1 FOR UPDATE",
        "LOCK TABLE k IN SHARE MODE",
    ] {
        a.batch_execute("BEGIN").await.unwrap();
        a.batch_execute(lock).await.unwrap();
        let err = b.batch_execute("UPDATE k SET v = v + 1").await.unwrap_err();
        assert_eq!(code(&err), "55P03", "{lock}");
        a.batch_execute("UPDATE k SET v = v + 10; COMMIT")
            .await
            .unwrap();
    }
    let v: i32 = b.query_one("SELECT v FROM k", &[]).await.unwrap().get(0);
    assert_eq!(v, 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_returns_the_plan_as_text_rows() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE TABLE e (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let statement = db
        .prepare("EXPLAIN SELECT v FROM e WHERE id = $1")
        .await
        .unwrap();
    assert_eq!(statement.columns()[0].name(), "QUERY PLAN");
    let rows = db.query(&statement, &[&1i32]).await.unwrap();
    let plan: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert!(
        plan.iter().any(|line| line.contains("SEARCH e")),
        "{plan:?}"
    );
    let err = db
        .batch_execute("EXPLAIN ANALYZE SELECT 1")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "0A000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_on_keeps_the_first_row_of_each_group() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE s (id int PRIMARY KEY, grp text, score numeric(5,1));
         INSERT INTO s VALUES (1, 'a', 5), (2, 'a', 9.5), (3, 'b', 7), (4, 'b', NULL), (5, NULL, 1)",
    )
    .await
    .unwrap();
    let statement = db
        .prepare(
            "SELECT DISTINCT ON (grp) grp, score AS best FROM s WHERE id < $1 \
             ORDER BY grp, score DESC",
        )
        .await
        .unwrap();
    let names: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["grp", "best"]);
    assert_eq!(
        statement.columns()[1].type_(),
        &tokio_postgres::types::Type::NUMERIC
    );
    let rows = db
        .simple_query("SELECT DISTINCT ON (grp) grp, score FROM s ORDER BY grp, score DESC")
        .await
        .unwrap();
    let rows: Vec<(Option<String>, Option<String>)> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((r.get(0).map(String::from), r.get(1).map(String::from)))
            }
            _ => None,
        })
        .collect();
    // Postgres: NULLs sort first in DESC, last in ASC.
    assert_eq!(
        rows,
        [
            (Some("a".into()), Some("9.5".into())),
            (Some("b".into()), None),
            (None, Some("1.0".into())),
        ]
    );
    assert_eq!(db.query(&statement, &[&10i32]).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_column_type_converts_stored_values() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE t (id serial PRIMARY KEY, n text, amount int);
         INSERT INTO t (n, amount) VALUES ('12', 3), ('7', 4);
         ALTER TABLE t ALTER COLUMN n TYPE integer USING n::integer,
                       ALTER COLUMN amount TYPE numeric(6,2)",
    )
    .await
    .unwrap();
    let row = db
        .query_one("SELECT sum(n), max(amount)::text FROM t", &[])
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, i64>(0),
        19,
        "n compares and sums as an integer"
    );
    assert_eq!(row.get::<_, String>(1), "4.00");
    let statement = db.prepare("SELECT n, amount FROM t").await.unwrap();
    let types: Vec<_> = statement
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    assert_eq!(
        types,
        [
            tokio_postgres::types::Type::INT4,
            tokio_postgres::types::Type::NUMERIC
        ]
    );
    let err = db
        .batch_execute("INSERT INTO t (n) VALUES ('x')")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22P02");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unnest_of_several_arrays_inserts_rows() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE TABLE p (id serial PRIMARY KEY, name varchar(20), n int)")
        .await
        .unwrap();
    // Django's bulk_create form.
    let rows = db
        .query(
            "INSERT INTO p (name, n) SELECT * FROM UNNEST(('{\"a b\",c}')::varchar[], \
             ('{1,2}'::int2[])::integer[]) RETURNING id, name, n",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(i32, String, i32)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(got, [(1, "a b".into(), 1), (2, "c".into(), 2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrays_reach_drivers_as_typed_lists() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE a (id int PRIMARY KEY, tag text, ok boolean);
         INSERT INTO a VALUES (1, 'x y', true), (2, NULL, false), (3, 'z', true)",
    )
    .await
    .unwrap();
    let row = db
        .query_one(
            "SELECT array_agg(tag ORDER BY id), array_agg(ok ORDER BY id), \
             array_agg(id ORDER BY id DESC), ARRAY['p', 'q'] FROM a",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, Vec<Option<String>>>(0),
        [Some("x y".to_string()), None, Some("z".into())]
    );
    assert_eq!(row.get::<_, Vec<bool>>(1), [true, false, true]);
    assert_eq!(row.get::<_, Vec<i32>>(2), [3, 2, 1]);
    assert_eq!(row.get::<_, Vec<String>>(3), ["p", "q"]);
    // A text[] parameter in binary, matched element by element.
    let ids = db
        .query(
            "SELECT id FROM a WHERE tag = ANY($1) ORDER BY id",
            &[&vec!["z", "x y"]],
        )
        .await
        .unwrap();
    assert_eq!(ids.iter().map(|r| r.get(0)).collect::<Vec<i32>>(), [1, 3]);
    let err = db.simple_query("SELECT 'nope'::text[]").await.unwrap_err();
    assert_eq!(code(&err), "22P02");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_prepare_and_execute_share_the_protocol_namespace() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE pe (id int PRIMARY KEY, amount numeric(6,2));
         PREPARE ins (int, numeric) AS INSERT INTO pe VALUES ($1, $2);
         EXECUTE ins(1, 2.345);
         PREPARE total AS SELECT sum(amount)::text FROM pe WHERE id >= $1",
    )
    .await
    .unwrap();
    let rows = db.simple_query("EXECUTE total(1)").await.unwrap();
    let sum = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(String::from),
        _ => None,
    });
    assert_eq!(sum.as_deref(), Some("2.35"), "rounded into numeric(6,2)");
    for (sql, state) in [
        ("EXECUTE total", "42601"),
        ("EXECUTE nope(1)", "26000"),
        ("PREPARE total AS SELECT 1", "42P05"),
    ] {
        let err = db.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&err), state, "{sql}");
    }
    db.batch_execute("DEALLOCATE total").await.unwrap();
    let err = db.batch_execute("EXECUTE total(1)").await.unwrap_err();
    assert_eq!(code(&err), "26000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn char_padding_does_not_count_as_text() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE TABLE c (code char(4)); INSERT INTO c VALUES ('ab')")
        .await
        .unwrap();
    let row = db
        .query_one("SELECT code, length(code), code || '|' FROM c", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "ab  ", "stored and sent padded");
    assert_eq!(row.get::<_, i32>(1), 2);
    assert_eq!(row.get::<_, String>(2), "ab|");
}

/// `b` tries advisory lock `key` (a bigint) and says whether it got it.
async fn try_lock(db: &tokio_postgres::Client, key: i64) -> bool {
    db.query_one("SELECT pg_try_advisory_lock($1)", &[&key])
        .await
        .unwrap()
        .get(0)
}

async fn unlock(db: &tokio_postgres::Client, key: i64) -> bool {
    db.query_one("SELECT pg_advisory_unlock($1)", &[&key])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_locks_belong_to_a_session() {
    let server = start().await;
    let a = std::sync::Arc::new(connect(&server).await);
    let b = connect(&server).await;
    a.execute("SELECT pg_advisory_lock($1)", &[&42i64])
        .await
        .unwrap();
    assert!(!try_lock(&b, 42).await, "held by a");
    assert!(try_lock(&a, 42).await, "re-entrant for its holder");
    assert!(unlock(&a, 42).await);
    assert!(!try_lock(&b, 42).await, "a took it twice");
    assert!(unlock(&a, 42).await);
    assert!(try_lock(&b, 42).await);
    assert!(!unlock(&a, 42).await, "not a's");
    // Two ints name other locks than one bigint.
    assert!(try_lock(&a, 7).await);
    let pair: bool = b
        .query_one("SELECT pg_try_advisory_lock(0, 7)", &[])
        .await
        .unwrap()
        .get(0);
    assert!(pair);

    // a waits for b's lock until b unlocks it.
    let waiter = {
        let a = a.clone();
        tokio::spawn(async move { a.execute("SELECT pg_advisory_lock(42)", &[]).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "pg_advisory_lock waits");
    assert!(unlock(&b, 42).await);
    tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
        .await
        .expect("woken by the unlock")
        .unwrap()
        .unwrap();
    assert!(!try_lock(&b, 42).await, "a has it now");

    // A lock at transaction level goes at COMMIT; a session's locks go with it.
    a.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(5)")
        .await
        .unwrap();
    assert!(!try_lock(&b, 5).await);
    a.batch_execute("COMMIT").await.unwrap();
    assert!(try_lock(&b, 5).await);
    drop(b);
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        a.execute("SELECT pg_advisory_lock(5)", &[]),
    )
    .await
    .expect("freed when b's session ended")
    .unwrap();

    // An explicit lock_timeout bounds the wait (55P03), as in Postgres.
    let c = connect(&server).await;
    c.batch_execute("SET lock_timeout = '100ms'").await.unwrap();
    let err = c
        .execute("SELECT pg_advisory_lock(5)", &[])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "55P03");
    c.batch_execute("SELECT pg_advisory_unlock_all()")
        .await
        .unwrap();
    a.batch_execute("SELECT pg_advisory_unlock_all()")
        .await
        .unwrap();
    assert!(try_lock(&c, 5).await, "unlock_all freed a's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_table_if_not_exists_skips_an_existing_table() {
    let server = start().await;
    let db = connect(&server).await;
    // As sqlx creates `_sqlx_migrations` on every run: the second statement
    // must not reach SQLite, which has no `DEFAULT now()`.
    let create = "CREATE TABLE IF NOT EXISTS m (version bigint PRIMARY KEY, \
                  installed_on timestamptz NOT NULL DEFAULT now(), checksum bytea NOT NULL)";
    db.batch_execute(create).await.unwrap();
    db.execute("INSERT INTO m (version, checksum) VALUES (1, '\\x01')", &[])
        .await
        .unwrap();
    db.batch_execute(create).await.unwrap();
    let n: i64 = db
        .query_one("SELECT count(*) FROM m", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn array_columns_take_and_give_driver_lists() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE TABLE arr (id int PRIMARY KEY, tags text[], nums int[])")
        .await
        .unwrap();
    let tags = vec!["x".to_string(), "y z".to_string()];
    db.execute(
        "INSERT INTO arr VALUES (1, $1, $2)",
        &[&tags, &vec![1i32, 2]],
    )
    .await
    .unwrap();
    db.execute("INSERT INTO arr VALUES (2, '{w}', '{}')", &[])
        .await
        .unwrap();
    let rows = db
        .query(
            "SELECT id, tags, nums FROM arr WHERE tags && $1 AND NOT nums @> ARRAY[3] ORDER BY id",
            &[&vec!["y z".to_string(), "w".to_string()]],
        )
        .await
        .unwrap();
    let got: Vec<(i32, Vec<String>, Vec<i32>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(got, [(1, tags, vec![1, 2]), (2, vec!["w".into()], vec![])]);
}
