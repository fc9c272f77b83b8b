//! Running translated SQL on a connection: describe (prepare only) and execute.

use rusqlite::types::Value;

use super::Conn;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::translate::SqlPlan;
use crate::types::{ColumnType, PgType};

/// A result column as SQLite describes it; the front end types it from the
/// origin (table, column) through the catalog when the translator could not.
#[derive(Debug, Clone)]
pub struct ColumnMeta {
    pub name: String,
    pub origin: Option<(String, String)>,
    pub decl: Option<String>,
}

/// What a statement produced.
#[derive(Debug, Default)]
pub struct Output {
    pub rows: Vec<Vec<Value>>,
    /// Rows inserted/updated/deleted, for the command tag.
    pub changes: u64,
}

/// Closes the change-capture transaction id (see `sql/changes.sql`) so the
/// next captured change opens a fresh one.
const CLOSE_TXID: &str = "UPDATE _lw_tx SET open = 0 WHERE open = 1";

/// Opens a write transaction on the writer with a fresh transaction id for
/// the changes it captures.
pub fn begin_write(conn: &Conn) -> Result<()> {
    conn.sqlite.execute_batch("BEGIN IMMEDIATE")?;
    conn.sqlite.prepare_cached(CLOSE_TXID)?.execute([])?;
    Ok(())
}

/// Commits a write transaction opened by [`begin_write`]; on failure the
/// transaction is rolled back.
pub fn commit_write(conn: &Conn) -> Result<()> {
    let result = conn
        .sqlite
        .prepare_cached(CLOSE_TXID)
        .and_then(|mut s| s.execute([]))
        .and_then(|_| conn.sqlite.execute_batch("COMMIT"));
    if result.is_err() && !conn.sqlite.is_autocommit() {
        let _ = conn.sqlite.execute_batch("ROLLBACK");
    }
    Ok(result.map(|_| ())?)
}

/// Runs `f` as one write transaction of its own: committed if it succeeds,
/// rolled back if it fails.
pub fn in_write_transaction<R>(conn: &Conn, f: impl FnOnce(&Conn) -> Result<R>) -> Result<R> {
    begin_write(conn)?;
    match f(conn) {
        Ok(r) => {
            commit_write(conn)?;
            Ok(r)
        }
        Err(e) => {
            let _ = conn.sqlite.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Prepares `sql` and reports its result columns and parameter count.
pub fn describe(conn: &Conn, sql: &str) -> Result<(Vec<ColumnMeta>, usize)> {
    let stmt = conn.sqlite.prepare_cached(sql)?;
    let decls: Vec<Option<String>> = stmt
        .columns()
        .iter()
        .map(|c| c.decl_type().map(str::to_string))
        .collect();
    let columns = stmt
        .columns_with_metadata()
        .iter()
        .zip(decls)
        .map(|(c, decl)| ColumnMeta {
            name: c.name().to_string(),
            origin: match (c.table_name(), c.origin_name()) {
                (Some(t), Some(o)) => Some((t.to_string(), o.to_string())),
                _ => None,
            },
            decl,
        })
        .collect();
    Ok((columns, stmt.parameter_count()))
}

/// Runs `sql` with `params`, then the bookkeeping statements `after`, as one
/// atomic unit (a savepoint), so a failing statement leaves nothing behind even
/// inside an open transaction.
pub fn execute(conn: &Conn, sql: &str, after: &[String], params: &[Value]) -> Result<Output> {
    if after.is_empty() {
        return run_one(conn, sql, params);
    }
    conn.sqlite.execute_batch("SAVEPOINT lw_statement")?;
    let result = run_one(conn, sql, params).and_then(|out| {
        for extra in after {
            conn.sqlite.execute_batch(extra)?;
        }
        Ok(out)
    });
    match result {
        Ok(out) => {
            conn.sqlite.execute_batch("RELEASE lw_statement")?;
            Ok(out)
        }
        Err(e) => {
            let _ = conn
                .sqlite
                .execute_batch("ROLLBACK TO lw_statement; RELEASE lw_statement");
            Err(e)
        }
    }
}

/// SQLite's `EXPLAIN QUERY PLAN` of `sql` (with its parameters bound, as
/// SQLite wants them even though it runs nothing) as text lines, each step indented
/// under its parent, without running the statement.
pub fn explain(conn: &Conn, sql: &str, params: &[Value]) -> Result<Vec<String>> {
    let mut stmt = conn.sqlite.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let steps = stmt
        .query_map(rusqlite::params_from_iter(params), |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut depth: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    Ok(steps
        .into_iter()
        .map(|(id, parent, detail)| {
            let level = depth.get(&parent).map_or(0, |d| d + 1);
            depth.insert(id, level);
            format!("{}{detail}", "  ".repeat(level))
        })
        .collect())
}

fn run_one(conn: &Conn, sql: &str, params: &[Value]) -> Result<Output> {
    let mut stmt = conn.sqlite.prepare_cached(sql)?;
    let expected = stmt.parameter_count();
    if params.len() < expected {
        return Err(Error::protocol(format!(
            "bind message supplies {} parameters, but prepared statement requires {expected}",
            params.len()
        )));
    }
    for (i, value) in params.iter().take(expected).enumerate() {
        stmt.raw_bind_parameter(i + 1, value)?;
    }
    let width = stmt.column_count();
    let mut rows = Vec::new();
    let mut cursor = stmt.raw_query();
    while let Some(row) = cursor.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(Value::from(row.get_ref(i)?));
        }
        rows.push(values);
    }
    drop(cursor);
    Ok(Output {
        rows,
        changes: conn.sqlite.changes(),
    })
}

/// Names and types a statement's result columns, as every door reports them:
/// the translator's type, else the origin column's declared type, else
/// SQLite's declared type, else the first row's value, else text. `meta` is
/// SQLite's description (None when the translator typed every column).
pub fn column_types(
    plan: &SqlPlan,
    meta: Option<&[ColumnMeta]>,
    catalog: &Catalog,
    first: Option<&Vec<Value>>,
) -> Vec<(String, ColumnType)> {
    let width = meta
        .map(|m| m.len())
        .or(plan.columns.as_ref().map(|c| c.len()))
        .unwrap_or(0);
    let translated = plan.columns.as_ref().filter(|c| c.len() == width);
    (0..width)
        .map(|i| {
            let out = translated.map(|c| &c[i]);
            let m = meta.and_then(|m| m.get(i));
            let from_meta = m.and_then(|m| {
                m.origin
                    .as_ref()
                    .and_then(|(t, c)| catalog.column_type(t, c))
                    .or_else(|| m.decl.as_deref().and_then(ColumnType::parse))
            });
            let from_value = first.and_then(|row| match row.get(i) {
                Some(Value::Integer(_)) => Some(ColumnType::plain(PgType::Int8)),
                Some(Value::Real(_)) => Some(ColumnType::plain(PgType::Float8)),
                Some(Value::Blob(_)) => Some(ColumnType::plain(PgType::Bytea)),
                _ => None,
            });
            let ty = out
                .and_then(|o| o.ty)
                .filter(|t| t.ty != PgType::Unknown)
                .or(from_meta)
                .or(from_value)
                .unwrap_or(ColumnType::plain(PgType::Text));
            let name = out
                .map(|o| o.name.clone())
                .or_else(|| m.map(|m| m.name.clone()))
                .unwrap_or_else(|| "?column?".into());
            (name, ty)
        })
        .collect()
}

/// Whether the translator typed every result column (no need to describe).
pub fn fully_typed(plan: &SqlPlan) -> bool {
    plan.columns.as_ref().is_some_and(|c| {
        c.iter()
            .all(|o| o.ty.is_some_and(|t| t.ty != PgType::Unknown))
    })
}
