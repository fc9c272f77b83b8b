//! Change-capture triggers for a user table, generated from its columns
//! (template in `sql/change_triggers.sql`). Pure: the store installs them.
//!
//! Each changed row becomes one `_lw_changes` row whose JSON holds the values
//! in their Postgres form with natural JSON types (numbers, `true`/`false`,
//! jsonb as JSON, bytea as `\x..` hex), so every door sends the same JSON. The
//! triggers use built-in SQL only: another process writing the file with the
//! `sqlite3` shell, which lacks litewire's functions, fires them too.

use super::quote_ident as ident;
use crate::catalog::{Column, Table};
use crate::types::PgType;

const TEMPLATE: &str = include_str!("../../sql/change_triggers.sql");

/// Prefix of every capture trigger's name (followed by the table name).
pub const TRIGGER_PREFIX: &str = "_lw_capture_";

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The column's value from `row` (NEW or OLD) as a JSON-ready SQL expression
/// (also used by trigger functions' `row_to_json(NEW)` and `json_build_object`).
pub(crate) fn json_value(row: &str, column: &Column) -> String {
    json_value_sql(&format!("{row}.{}", ident(&column.name)), column.ty.ty)
}

/// The SQL expression `value` of type `ty` as a JSON-ready SQL expression.
pub(crate) fn json_value_sql(value: &str, ty: PgType) -> String {
    match ty {
        PgType::Bool => format!(
            "json(CASE WHEN {value} IS NULL THEN NULL WHEN {value} THEN 'true' ELSE 'false' END)"
        ),
        // Exact text kept as a JSON number (or JSON itself); text that is not
        // valid JSON (NaN, or a foreign writer's junk) stays a string.
        PgType::Numeric | PgType::Json | PgType::Jsonb => {
            format!("CASE WHEN json_valid({value}) THEN json({value}) ELSE {value} END")
        }
        PgType::Bytea => format!(
            "CASE WHEN typeof({value}) = 'blob' THEN '\\x' || lower(hex({value})) ELSE {value} END"
        ),
        _ => value.to_string(),
    }
}

/// `json_object('col', value, ...)` over `columns` of `row`; `NULL` without columns.
pub(crate) fn json_object<'a>(row: &str, columns: impl Iterator<Item = &'a Column>) -> String {
    let pairs: Vec<String> = columns
        .map(|c| format!("{}, {}", literal(&c.name), json_value(row, c)))
        .collect();
    if pairs.is_empty() {
        return "NULL".into();
    }
    format!("json_object({})", pairs.join(", "))
}

/// The alias under which [`stored_row`] reads the row that NEW names.
pub(crate) const STORED: &str = "_lw_row";

/// `select` (SQL over the alias [`STORED`]) evaluated on the stored row that
/// NEW names. The AFTER triggers of a table whose BEFORE triggers assign to
/// NEW read the row this way: SQLite's NEW holds the values written by the
/// statement, before the assignments were written into the row
/// (`translate::triggers`).
pub(crate) fn stored_row(table: &str, select: &str) -> String {
    format!(
        "(SELECT {select} FROM {} AS {STORED} WHERE {STORED}.rowid = NEW.rowid)",
        ident(table)
    )
}

/// The condition of `table`'s UPDATE triggers that skips the UPDATE writing a
/// BEFORE trigger's assignments to NEW: Postgres fires no UPDATE trigger there.
pub(crate) fn not_assigning(table: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM _lw_assigning WHERE tbl = {} AND rid = NEW.rowid)",
        literal(table)
    )
}

/// The trigger statements for `table`, each a complete `CREATE TRIGGER ... END`
/// exactly as SQLite stores it in `sqlite_schema.sql` (so the store can tell
/// whether the installed ones are current by comparing text). `assigned`:
/// BEFORE triggers assign to NEW, so the new row is read from the table and
/// the UPDATE writing the assignments is not captured.
pub fn triggers(table: &Table, assigned: bool) -> Vec<String> {
    let pk = || table.columns.iter().filter(|c| c.primary_key);
    let new_row = |columns: Vec<&Column>| {
        if assigned {
            stored_row(&table.name, &json_object(STORED, columns.into_iter()))
        } else {
            json_object("NEW", columns.into_iter())
        }
    };
    let update_when = if assigned {
        format!(" WHEN {}", not_assigning(&table.name))
    } else {
        String::new()
    };
    let filled = TEMPLATE
        .lines()
        .filter(|line| !line.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "{trigger}",
            &trigger_prefix(&table.name).replace('"', "\"\""),
        )
        .replace("{ident}", &ident(&table.name))
        .replace("{name}", &literal(&table.name))
        .replace("{update_when}", &update_when)
        .replace("{pk_new}", &new_row(pk().collect()))
        .replace("{pk_old}", &json_object("OLD", pk()))
        .replace("{row_new}", &new_row(table.columns.iter().collect()))
        .replace("{row_old}", &json_object("OLD", table.columns.iter()));
    filled
        .split_inclusive("END;")
        .map(|s| s.trim().trim_end_matches(';').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The name prefix of `table`'s capture triggers.
pub fn trigger_prefix(table: &str) -> String {
    format!("{TRIGGER_PREFIX}{table}")
}

/// Statements removing `table`'s capture triggers, run before a change SQLite
/// refuses while triggers name the column (DROP COLUMN); the store installs
/// fresh ones after the statement.
pub fn drop_triggers(table: &str) -> Vec<String> {
    ["insert", "update", "delete"]
        .iter()
        .map(|op| {
            format!(
                "DROP TRIGGER IF EXISTS {}",
                ident(&format!("{}_{op}", trigger_prefix(table)))
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ColumnType;

    #[test]
    fn three_triggers_with_typed_json() {
        let table = Table {
            name: "orders".into(),
            columns: vec![
                Column {
                    not_null: true,
                    primary_key: true,
                    ..Column::new("id", ColumnType::plain(PgType::Int8))
                },
                Column::new("paid", ColumnType::plain(PgType::Bool)),
            ],
        };
        let sql = triggers(&table, false);
        assert_eq!(sql.len(), 3);
        assert!(sql[0].starts_with("CREATE TRIGGER \"_lw_capture_orders_insert\" AFTER INSERT"));
        assert!(sql[0].ends_with("END"));
        assert!(sql[1].contains("json_object('id', NEW.\"id\")"));
        assert!(sql[2].contains("WHEN OLD.\"paid\" THEN 'true'"));
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::store::schema::BOOTSTRAP).unwrap();
        conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, paid INTEGER)")
            .unwrap();
        for s in &sql {
            conn.execute_batch(s).unwrap();
        }
        conn.execute_batch("INSERT INTO orders VALUES (1, 1); UPDATE orders SET paid = 0")
            .unwrap();
        let rows: Vec<(i64, String, String)> = conn
            .prepare("SELECT txid, op, row FROM _lw_changes ORDER BY lsn")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows[0],
            (1, "insert".into(), r#"{"id":1,"paid":true}"#.into())
        );
        // Both statements ran in one connection without litewire closing the
        // transaction id, so they share it (see sql/changes.sql).
        assert_eq!(
            rows[1],
            (1, "update".into(), r#"{"id":1,"paid":false}"#.into())
        );
        let stored: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = '_lw_capture_orders_update'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, sql[1]);
    }
}
