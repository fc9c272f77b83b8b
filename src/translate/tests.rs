//! Before/after pairs for the translation rules.

use super::*;
use crate::catalog::{Column, Table};
use crate::types::PgType;

fn catalog() -> Catalog {
    let col = |name: &str, ty: &str| Column::new(name, ColumnType::parse(ty).unwrap());
    Catalog::new([Table {
        name: "orders".into(),
        columns: vec![
            col("id", "bigint"),
            col("total", "numeric(10,2)"),
            col("placed_at", "timestamptz"),
            col("meta", "jsonb"),
            col("paid", "boolean"),
        ],
    }])
}

fn sql_of(pg: &str) -> SqlPlan {
    match translate(pg, &catalog()).unwrap().remove(0) {
        Plan::Sql(plan) => (*plan).clone(),
        other => panic!("not SQL: {other:?}"),
    }
}

#[test]
fn placeholders_become_numbered_and_typed() {
    let plan = sql_of("SELECT * FROM orders WHERE id = $1 AND paid = $2");
    assert!(plan.sql.contains("id = ?1"), "{}", plan.sql);
    assert_eq!(plan.params[0].unwrap().ty, PgType::Int8);
    assert_eq!(plan.params[1].unwrap().ty, PgType::Bool);
}

#[test]
fn limit_and_offset_parameters_are_bigint() {
    let plan = sql_of("SELECT id FROM orders ORDER BY id LIMIT $1 OFFSET $2");
    assert_eq!(plan.params[0].unwrap().ty, PgType::Int8);
    assert_eq!(plan.params[1].unwrap().ty, PgType::Int8);
}

#[test]
fn casts_become_lw_cast_with_source_type() {
    let plan = sql_of("UPDATE orders SET paid = true WHERE total::int >= 10");
    assert!(
        plan.sql
            .contains("lw_cast(total, 'numeric', 'integer') >= 10"),
        "{}",
        plan.sql
    );
}

#[test]
fn numeric_arithmetic_is_exact() {
    let plan = sql_of("SELECT total + 1 FROM orders");
    assert!(plan.sql.contains("lw_num_add(total, 1)"), "{}", plan.sql);
    assert_eq!(plan.columns.unwrap()[0].ty.unwrap().ty, PgType::Numeric);
}

#[test]
fn json_operators_and_names() {
    let plan = sql_of("SELECT meta->'tags'->>0, meta->>'missing' IS NULL FROM orders");
    assert!(
        plan.sql
            .contains("lw_json_get_text(lw_json_get(meta, 'tags'), 0)"),
        "{}",
        plan.sql
    );
    let cols = plan.columns.unwrap();
    assert_eq!(cols[0].name, "?column?");
    assert_eq!(cols[0].ty.unwrap().ty, PgType::Text);
    assert_eq!(cols[1].ty.unwrap().ty, PgType::Bool);
}

#[test]
fn literal_compared_with_timestamptz_is_canonicalized() {
    let plan = sql_of("SELECT id FROM orders WHERE placed_at > '2024-01-01T10:00:00+02'");
    assert!(
        plan.sql.contains("'2024-01-01 08:00:00+00'"),
        "{}",
        plan.sql
    );
}

#[test]
fn insert_values_are_coerced_to_column_types() {
    let plan =
        sql_of("INSERT INTO orders (total, paid, meta) VALUES (12.5, 't', '{\"b\":1,\"a\":2}')");
    assert!(
        plan.sql.contains("'12.50', 1, '{\"a\": 2, \"b\": 1}'"),
        "{}",
        plan.sql
    );
}

#[test]
fn create_table_records_types_and_uses_rowid_alias() {
    let plan = sql_of(
        "CREATE TABLE t (id bigserial PRIMARY KEY, n numeric(10,2) CHECK (n >= 0), at timestamptz DEFAULT now())",
    );
    assert!(
        plan.sql.contains("\"id\" INTEGER PRIMARY KEY"),
        "{}",
        plan.sql
    );
    assert!(
        plan.sql
            .contains("\"n\" TEXT COLLATE lw_numeric CONSTRAINT t_n_check CHECK (n >= '0.00')"),
        "{}",
        plan.sql
    );
    assert!(plan.sql.contains("DEFAULT (lw_now())"), "{}", plan.sql);
    assert!(plan.after.iter().any(|s| s.contains("'id', 'bigint'")));
}

#[test]
fn unsupported_constructs_are_named() {
    let err = translate("EXPLAIN ANALYZE SELECT id FROM orders", &catalog()).unwrap_err();
    assert_eq!(err.state, crate::error::SqlState::FeatureNotSupported);
    assert!(err.message.contains("EXPLAIN ANALYZE"));
}

#[test]
fn syntax_errors_are_42601() {
    let err = translate("SELEC 1", &catalog()).unwrap_err();
    assert_eq!(err.state, crate::error::SqlState::SyntaxError);
}

#[test]
fn storage_parameters_are_accepted_and_dropped() {
    let plan = sql_of("CREATE TABLE t (n int) WITH (fillfactor = 100)");
    assert!(
        !plan.sql.to_ascii_lowercase().contains("fillfactor"),
        "{}",
        plan.sql
    );
}

#[test]
fn generate_series_becomes_a_recursive_subquery_named_by_its_alias() {
    let plan = sql_of("SELECT x, x * x FROM generate_series(1, 3) AS x");
    assert!(
        plan.sql.contains("WITH RECURSIVE lw_series"),
        "{}",
        plan.sql
    );
    assert!(plan.sql.contains("AS \"x\" FROM lw_series"), "{}", plan.sql);
}

#[test]
fn returning_drops_the_target_alias() {
    let plan = sql_of("UPDATE orders AS o SET total = o.total + 1 RETURNING o.id");
    assert!(plan.sql.ends_with("RETURNING id"), "{}", plan.sql);
    let plan = sql_of("DELETE FROM orders AS o WHERE o.id = 1 RETURNING o.id, o.total");
    assert!(plan.sql.ends_with("RETURNING id, total"), "{}", plan.sql);
}

#[test]
fn lateral_subquery_reads_packed_rows_through_json_each() {
    let plan = sql_of(
        "SELECT o.id, s.total FROM orders o LEFT JOIN LATERAL \
         (SELECT total FROM orders i WHERE i.id < o.id ORDER BY total DESC LIMIT 1) s ON true \
         WHERE s.total > 5",
    );
    assert!(
        plan.sql.contains(
            "LEFT JOIN json_each((SELECT json_group_array(lw_row(lw_lateral.\"total\")) FROM (SELECT"
        ),
        "{}",
        plan.sql
    );
    // A numeric column compares by value, as a table's numeric column does.
    assert!(
        plan.sql
            .contains("CAST(lw_field(\"s\".value, 0) AS TEXT) COLLATE lw_numeric > '5.00'"),
        "{}",
        plan.sql
    );
    assert_eq!(plan.columns.unwrap()[1].ty.unwrap().ty, PgType::Numeric);
}

#[test]
fn lateral_column_aliases_and_star_name_the_columns() {
    let plan = sql_of(
        "SELECT * FROM orders o, LATERAL (SELECT paid, meta FROM orders i WHERE i.id = o.id) AS s(p)",
    );
    let columns = plan.columns.unwrap();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["id", "total", "placed_at", "meta", "paid", "p", "meta"]
    );
    assert_eq!(columns[5].ty.unwrap().ty, PgType::Bool);
    assert_eq!(columns[6].ty.unwrap().ty, PgType::Jsonb);
}

#[test]
fn function_reading_a_column_in_from_is_lateral() {
    let plan = sql_of("SELECT o.id, e.value FROM orders o, jsonb_array_elements(o.meta) e");
    assert!(
        plan.sql
            .contains("json_each((SELECT json_group_array(lw_row("),
        "{}",
        plan.sql
    );
    assert_eq!(plan.columns.unwrap()[1].ty.unwrap().ty, PgType::Jsonb);
    // An unqualified name json_each would capture is qualified with its table.
    let plan = sql_of("SELECT id FROM orders o, LATERAL generate_series(1, o.id) g");
    assert!(
        plan.sql.starts_with("SELECT \"o\".id AS \"id\" FROM"),
        "{}",
        plan.sql
    );
}

#[test]
fn lateral_shapes_sqlite_cannot_run_are_refused() {
    for sql in [
        "SELECT 1 FROM orders o, LATERAL json_array_elements(o.meta::json) e",
        "SELECT 1 FROM orders o RIGHT JOIN LATERAL (SELECT o.id) s ON true",
    ] {
        let err = translate(sql, &catalog()).unwrap_err();
        assert_eq!(
            err.state,
            crate::error::SqlState::FeatureNotSupported,
            "{sql}"
        );
    }
}
