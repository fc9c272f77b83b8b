//! litewire's own tables in the database file and the catalog loader.
//!
//! `_lw_columns` remembers each user column's declared Postgres type, because
//! SQLite keeps only an affinity. Columns without an entry (tables created by
//! another tool) are typed from their SQLite declared type.

use rusqlite::Connection;

use crate::catalog::{Catalog, Column, Table};
use crate::types::{ColumnType, PgType};

/// Installed on open; idempotent.
pub const BOOTSTRAP: &str = include_str!("../../sql/bootstrap.sql");

/// Types a column created outside litewire from its SQLite declaration.
fn type_from_decl(decl: &str) -> ColumnType {
    if let Some(ct) = ColumnType::parse(decl) {
        return ct;
    }
    let upper = decl.to_ascii_uppercase();
    let ty = if upper.contains("INT") {
        PgType::Int8
    } else if upper.contains("CHAR") || upper.contains("CLOB") || upper.contains("TEXT") {
        PgType::Text
    } else if upper.contains("BLOB") || upper.is_empty() {
        PgType::Bytea
    } else if upper.contains("REAL") || upper.contains("FLOA") || upper.contains("DOUB") {
        PgType::Float8
    } else {
        PgType::Numeric
    };
    ColumnType::plain(ty)
}

/// Reads the user schema into a [`Catalog`].
pub fn load_catalog(conn: &Connection) -> rusqlite::Result<Catalog> {
    let mut names = conn.prepare_cached(
        "SELECT name FROM sqlite_schema WHERE type IN ('table','view') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_lw\\_%' ESCAPE '\\'",
    )?;
    let names: Vec<String> = names
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut declared =
        conn.prepare_cached("SELECT column_name, type FROM _lw_columns WHERE table_name = ?1")?;
    let mut info =
        conn.prepare_cached("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let overrides: Vec<(String, String)> = declared
            .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let columns = info
            .query_map([&name], |r| {
                let col: String = r.get(0)?;
                let decl: String = r.get(1)?;
                let ty = overrides
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(&col))
                    .and_then(|(_, t)| ColumnType::parse(t))
                    .unwrap_or_else(|| type_from_decl(&decl));
                Ok(Column {
                    name: col,
                    ty,
                    not_null: r.get::<_, i64>(2)? != 0,
                    primary_key: r.get::<_, i64>(3)? != 0,
                })
            })?
            .collect::<Result<_, _>>()?;
        tables.push(Table { name, columns });
    }
    Ok(Catalog::new(tables))
}
