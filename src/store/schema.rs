//! litewire's own tables in the database file and the catalog loader.
//!
//! `_lw_columns` remembers each user column's declared Postgres type, because
//! SQLite keeps only an affinity. Columns without an entry (tables created by
//! another tool) are typed from their SQLite declared type.

use rusqlite::Connection;

use crate::catalog::{Catalog, Column, EnumType, Table, TriggerDef};
use crate::translate::quote_ident as quoted;
use crate::translate::{capture, triggers};
use crate::types::{ColumnType, PgType};

/// Installed on open; idempotent.
pub const BOOTSTRAP: &str = concat!(
    include_str!("../../sql/bootstrap.sql"),
    include_str!("../../sql/changes.sql"),
    include_str!("../../sql/durable.sql"),
    include_str!("../../sql/functions.sql")
);

/// Names in `sqlite_schema` of the given types that are the user's (not
/// SQLite's or litewire's own).
macro_rules! user_names {
    ($types:literal) => {
        concat!(
            "SELECT name FROM sqlite_schema WHERE type IN (",
            $types,
            ") AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND name NOT LIKE '\\_lw\\_%' ESCAPE '\\'"
        )
    };
}

/// Types a column created outside litewire from its SQLite declaration.
pub(crate) fn type_from_decl(decl: &str) -> ColumnType {
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

/// The first column of every row of `sql`, as text.
fn texts(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(sql)?
        .query_map([], |r| r.get(0))?
        .collect()
}

/// The enum types with their labels in declaration order.
fn enums(conn: &Connection) -> rusqlite::Result<Vec<(String, EnumType)>> {
    let mut rows = conn.prepare_cached(
        "SELECT type_name, type_oid, label FROM _lw_enums ORDER BY type_name, sortorder",
    )?;
    let rows: Vec<(String, u32, String)> = rows
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut enums: Vec<(String, EnumType)> = Vec::new();
    for (name, oid, label) in rows {
        match enums.last_mut() {
            Some((last, e)) if *last == name => e.labels.push(label),
            _ => enums.push((
                name,
                EnumType {
                    oid,
                    labels: vec![label],
                },
            )),
        }
    }
    Ok(enums)
}

/// The user's views, each with the relations its SQLite definition reads.
fn views(conn: &Connection) -> rusqlite::Result<Vec<(String, Vec<String>)>> {
    let mut views = conn.prepare_cached(concat!(
        "SELECT name, sql FROM sqlite_schema WHERE name IN (",
        user_names!("'view'"),
        ")"
    ))?;
    views
        .query_map([], |r| {
            let name: String = r.get(0)?;
            let sql: String = r.get(1)?;
            let sources = crate::translate::view_sources(&name, &sql);
            Ok((name, sources))
        })?
        .collect()
}

/// Reads the user schema into a [`Catalog`].
pub fn load_catalog(conn: &Connection) -> rusqlite::Result<Catalog> {
    let mut names = conn.prepare_cached(user_names!("'table', 'view'"))?;
    let mut names: Vec<String> = names
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // The change log and durable messages are queryable (`litewire.changes(since)`,
    // `litewire.messages(channel, since)`), typed like tables.
    names.push("_lw_changes".into());
    names.push("_lw_messages".into());
    let mut declared =
        conn.prepare_cached("SELECT column_name, type FROM _lw_columns WHERE table_name = ?1")?;
    let mut info = conn.prepare_cached(
        "SELECT name, type, \"notnull\", pk, dflt_value FROM pragma_table_info(?1)",
    )?;
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
                    default: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        tables.push(Table { name, columns });
    }
    tables.push(presence_table());
    let catalog = Catalog::new(tables)
        .with_views(views(conn)?)
        .with_sequences(texts(conn, "SELECT name FROM _lw_sequences")?)
        .with_indexes(texts(conn, user_names!("'index'"))?)
        .with_enums(enums(conn)?)
        .with_schemas(texts(conn, "SELECT name FROM _lw_schemas")?);
    let mut functions = conn.prepare_cached("SELECT name, source FROM _lw_functions")?;
    let functions: Vec<(String, String)> = functions
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut triggers = conn.prepare_cached(
        "SELECT table_name, name, function, definition FROM _lw_triggers ORDER BY table_name, name",
    )?;
    let triggers: Vec<TriggerDef> = triggers
        .query_map([], |r| {
            Ok(TriggerDef {
                table: r.get(0)?,
                name: r.get(1)?,
                function: r.get(2)?,
                definition: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(catalog.with_routines(functions, triggers))
}

/// Installs or refreshes the SQLite triggers compiled from the stored
/// `CREATE TRIGGER`s (`translate::triggers`), so they follow the table's
/// columns and the current body of their function; others of ours go. Those
/// writing assignments to NEW are then made the table's latest.
fn sync_triggers(conn: &Connection, catalog: &Catalog) -> rusqlite::Result<()> {
    let wanted = triggers::installed(catalog).map_err(translate_error)?;
    let mut installed = conn.prepare_cached(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' \
         AND substr(name, 1, length(?1)) = ?1",
    )?;
    let current: Vec<(String, String)> = installed
        .query_map([triggers::TRIGGER_PREFIX], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (name, sql) in &current {
        if !wanted.iter().any(|w| w.name == *name && w.sql == *sql) {
            conn.execute_batch(&format!("DROP TRIGGER {}", quoted(name)))?;
        }
    }
    for w in &wanted {
        if !current.iter().any(|(n, s)| *n == w.name && *s == w.sql) {
            conn.execute_batch(&w.sql)?;
        }
    }
    order_row_writers(conn, &wanted)
}

fn translate_error(e: crate::error::Error) -> rusqlite::Error {
    crate::error::function_error(e.code(), e.to_string())
}

/// Recreates the triggers that write assignments to NEW (in reverse order, so
/// they fire in name order) wherever another trigger of their table is newer:
/// SQLite fires the most recently created first, and they must fire before
/// the table's other AFTER triggers and change capture, which read the row.
fn order_row_writers(conn: &Connection, wanted: &[triggers::Compiled]) -> rusqlite::Result<()> {
    let mut tables: Vec<&str> = wanted
        .iter()
        .filter(|w| w.writes_row)
        .map(|w| w.table.as_str())
        .collect();
    tables.dedup();
    let mut order = conn.prepare_cached(
        "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 ORDER BY rowid",
    )?;
    for table in tables {
        let writers: Vec<&triggers::Compiled> = wanted
            .iter()
            .filter(|w| w.writes_row && w.table == table)
            .rev()
            .collect();
        let names: Vec<String> = order
            .query_map([table], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let latest: Vec<&str> = names[names.len().saturating_sub(writers.len())..]
            .iter()
            .map(String::as_str)
            .collect();
        if latest == writers.iter().map(|w| w.name.as_str()).collect::<Vec<_>>() {
            continue;
        }
        for w in writers {
            conn.execute_batch(&format!("DROP TRIGGER {}", quoted(&w.name)))?;
            conn.execute_batch(&w.sql)?;
        }
    }
    Ok(())
}

/// Installs or refreshes the change-capture triggers of every user table so
/// they match its current columns (`translate::capture`). Runs in the caller's
/// transaction, right after DDL, so no write slips through between a schema
/// change and its capture; triggers that are already current are left alone.
pub fn sync_capture(conn: &Connection, catalog: &Catalog) -> rusqlite::Result<()> {
    let mut tables = conn.prepare_cached(user_names!("'table'"))?;
    let tables: Vec<String> = tables
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut installed = conn.prepare_cached(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 \
         AND substr(name, 1, length(?2)) = ?2",
    )?;
    for name in tables {
        let Some(table) = catalog.table(&name) else {
            continue;
        };
        let assigned = triggers::assigns(catalog, &name).map_err(translate_error)?;
        let wanted = capture::triggers(table, assigned);
        let current: Vec<(String, String)> = installed
            .query_map(rusqlite::params![name, capture::TRIGGER_PREFIX], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        if current.len() == wanted.len()
            && wanted.iter().all(|w| current.iter().any(|(_, s)| s == w))
        {
            continue;
        }
        for (trigger, _) in &current {
            conn.execute_batch(&format!("DROP TRIGGER {}", quoted(trigger)))?;
        }
        for sql in &wanted {
            conn.execute_batch(sql)?;
        }
    }
    sync_triggers(conn, catalog)
}

/// `litewire.presence`: who is present in realtime channels (served by
/// `lw_presence()`, typed here so queries on it are typed like a table's).
fn presence_table() -> Table {
    let column = |name: &str, ty| Column::new(name, ColumnType::plain(ty));
    Table {
        name: crate::translate::PRESENCE.into(),
        columns: vec![
            column("channel", PgType::Text),
            column("key", PgType::Text),
            column("state", PgType::Jsonb),
            column("joined_at", PgType::Timestamptz),
        ],
    }
}
