//! ALTER TABLE changes SQLite cannot make with its own ALTER TABLE: NOT NULL,
//! column defaults, CHECK and FOREIGN KEY constraints added or dropped.
//!
//! None of them changes how rows are stored, so they follow SQLite's
//! documented procedure for such changes (<https://sqlite.org/lang_altertable.html>,
//! "making other kinds of table schema changes"): the table's CREATE TABLE
//! text in `sqlite_schema` is rewritten under `writable_schema` and the schema
//! version bumped, so every connection re-reads it. Before a constraint is
//! added, the rows already there are checked against it as Postgres checks
//! them (23502, 23514, 23503), and nothing is changed if one fails.
//!
//! The translator cannot run Rust on the connection, so an ALTER TABLE
//! statement queues its changes (`lw_alter_table(table, change)`, see
//! `store::functions`) and the store applies them right after the statement,
//! in the same transaction ([`super::Store::schema_changed`]).

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use sqlparser::ast::{
    ColumnOption, ColumnOptionDef, CreateTable, DataType, Ident, ObjectName, ObjectNamePart,
    Statement, TableConstraint,
};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use crate::error::{Error, Result, SqlState};
use crate::translate::ident_text;
use crate::translate::quote_ident as ident;

/// One change to a table's definition, as the translator queues it (SQL in
/// SQLite's dialect, already translated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TableChange {
    SetNotNull(String),
    DropNotNull(String),
    SetDefault {
        column: String,
        default: String,
    },
    DropDefault(String),
    /// A new declared type (`decl`, SQLite's: affinity and collation) and
    /// the expression that converts the stored values.
    SetType {
        column: String,
        decl: String,
        convert: String,
    },
    AddCheck {
        name: String,
        check: String,
    },
    AddForeignKey {
        name: String,
        columns: Vec<String>,
        table: String,
        referred: Vec<String>,
        /// The whole constraint, `CONSTRAINT name FOREIGN KEY (...) REFERENCES ...`.
        constraint: String,
    },
    DropConstraint {
        name: String,
        if_exists: bool,
    },
}

fn parse_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("cannot rewrite table definition: {e}"))
}

/// Applies `change` to `table` on `conn`, inside the caller's transaction.
pub fn apply(conn: &Connection, table: &str, change: &TableChange) -> Result<()> {
    check_rows(conn, table, change)?;
    let sql: String = conn.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get(0),
    )?;
    let mut statements = Parser::parse_sql(&SQLiteDialect {}, &sql).map_err(parse_error)?;
    let Some(Statement::CreateTable(create)) = statements.first_mut() else {
        return Err(parse_error(&sql));
    };
    if !edit(create, table, change)? {
        return drop_index_constraint(conn, table, change);
    }
    write_definition(conn, table, &create.to_string())?;
    if let TableChange::SetType {
        column, convert, ..
    } = change
    {
        // Stored again under the new declaration, so its affinity applies.
        conn.execute_batch(&format!(
            "UPDATE {} SET {} = {convert}",
            ident(table),
            ident(column)
        ))?;
    }
    Ok(())
}

/// Checks the rows already in `table` against a constraint being added.
fn check_rows(conn: &Connection, table: &str, change: &TableChange) -> Result<()> {
    let (probe, state, message) = match change {
        TableChange::SetNotNull(column) => (
            format!(
                "SELECT 1 FROM {} WHERE {} IS NULL",
                ident(table),
                ident(column)
            ),
            SqlState::NotNullViolation,
            format!("column \"{column}\" of relation \"{table}\" contains null values"),
        ),
        TableChange::AddCheck { name, check } => (
            format!("SELECT 1 FROM {} WHERE NOT ({check})", ident(table)),
            SqlState::CheckViolation,
            format!("check constraint \"{name}\" of relation \"{table}\" is violated by some row"),
        ),
        TableChange::AddForeignKey {
            name,
            columns,
            table: parent,
            referred,
            ..
        } => {
            let present: Vec<String> = columns
                .iter()
                .map(|c| format!("_lw_child.{} IS NOT NULL", ident(c)))
                .collect();
            let matched: Vec<String> = columns
                .iter()
                .zip(referred)
                .map(|(c, r)| format!("_lw_parent.{} = _lw_child.{}", ident(r), ident(c)))
                .collect();
            (
                format!(
                    "SELECT 1 FROM {} AS _lw_child WHERE {} AND NOT EXISTS \
                     (SELECT 1 FROM {} AS _lw_parent WHERE {})",
                    ident(table),
                    present.join(" AND "),
                    ident(parent),
                    matched.join(" AND ")
                ),
                SqlState::ForeignKeyViolation,
                format!(
                    "insert or update on table \"{table}\" violates foreign key constraint \"{name}\""
                ),
            )
        }
        _ => return Ok(()),
    };
    let violated = conn.prepare(&format!("{probe} LIMIT 1"))?.exists([])?;
    if violated {
        return Err(Error::new(state, message));
    }
    Ok(())
}

/// Changes the parsed definition; `false` when a constraint to drop is not
/// in it (it may be a unique index).
fn edit(create: &mut CreateTable, table: &str, change: &TableChange) -> Result<bool> {
    match change {
        TableChange::SetNotNull(column) => {
            let options = column_options(create, table, column)?;
            if !options.iter().any(|o| o.option == ColumnOption::NotNull) {
                options.push(ColumnOptionDef {
                    name: None,
                    option: ColumnOption::NotNull,
                });
            }
        }
        TableChange::DropNotNull(column) => {
            column_options(create, table, column)?.retain(|o| o.option != ColumnOption::NotNull);
        }
        TableChange::SetDefault { column, default } => {
            let default = Parser::new(&SQLiteDialect {})
                .try_with_sql(default)
                .and_then(|mut p| p.parse_expr())
                .map_err(parse_error)?;
            let options = column_options(create, table, column)?;
            options.retain(|o| !matches!(o.option, ColumnOption::Default(_)));
            options.push(ColumnOptionDef {
                name: None,
                option: ColumnOption::Default(default),
            });
        }
        TableChange::SetType { column, decl, .. } => {
            let definition = create
                .columns
                .iter_mut()
                .find(|c| c.name.value.eq_ignore_ascii_case(column))
                .ok_or_else(|| missing_column(table, column))?;
            definition.data_type = DataType::Custom(
                ObjectName(vec![ObjectNamePart::Identifier(Ident::new(decl))]),
                vec![],
            );
            definition
                .options
                .retain(|o| !matches!(o.option, ColumnOption::Collation(_)));
        }
        TableChange::DropDefault(column) => {
            column_options(create, table, column)?
                .retain(|o| !matches!(o.option, ColumnOption::Default(_)));
        }
        TableChange::AddCheck { name, check } => {
            let constraint = format!("CONSTRAINT {} CHECK ({check})", ident(name));
            create.constraints.push(parse_constraint(&constraint)?);
        }
        TableChange::AddForeignKey { constraint, .. } => {
            create.constraints.push(parse_constraint(constraint)?);
        }
        TableChange::DropConstraint { name, .. } => {
            let before = create.constraints.len();
            create
                .constraints
                .retain(|c| constraint_name(c).as_deref() != Some(name.as_str()));
            let mut found = create.constraints.len() != before;
            for column in &mut create.columns {
                let before = column.options.len();
                column
                    .options
                    .retain(|o| o.name.as_ref().map(ident_text).as_ref() != Some(name));
                found |= column.options.len() != before;
            }
            return Ok(found);
        }
    }
    Ok(true)
}

fn column_options<'a>(
    create: &'a mut CreateTable,
    table: &str,
    column: &str,
) -> Result<&'a mut Vec<ColumnOptionDef>> {
    create
        .columns
        .iter_mut()
        .find(|c| c.name.value.eq_ignore_ascii_case(column))
        .map(|c| &mut c.options)
        .ok_or_else(|| missing_column(table, column))
}

fn missing_column(table: &str, column: &str) -> Error {
    Error::new(
        SqlState::UndefinedColumn,
        format!("column \"{column}\" of relation \"{table}\" does not exist"),
    )
}

fn constraint_name(constraint: &TableConstraint) -> Option<String> {
    let name: &Option<Ident> = match constraint {
        TableConstraint::Check(c) => &c.name,
        TableConstraint::ForeignKey(c) => &c.name,
        TableConstraint::Unique(c) => &c.name,
        TableConstraint::PrimaryKey(c) => &c.name,
        _ => return None,
    };
    name.as_ref().map(ident_text)
}

/// A table constraint from its SQL text.
fn parse_constraint(sql: &str) -> Result<TableConstraint> {
    let wrapper = format!("CREATE TABLE _lw (_lw int, {sql})");
    match Parser::parse_sql(&SQLiteDialect {}, &wrapper)
        .map_err(parse_error)?
        .pop()
    {
        Some(Statement::CreateTable(mut create)) if create.constraints.len() == 1 => {
            Ok(create.constraints.remove(0))
        }
        _ => Err(parse_error(sql)),
    }
}

/// `DROP CONSTRAINT` of a unique constraint, which litewire keeps as a unique
/// index of the same name.
fn drop_index_constraint(conn: &Connection, table: &str, change: &TableChange) -> Result<()> {
    let TableChange::DropConstraint { name, if_exists } = change else {
        return Ok(());
    };
    let index: Option<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND name = ?1 AND tbl_name = ?2",
        )?
        .query_row([name, table], |r| r.get(0))
        .ok();
    match index {
        Some(index) => Ok(conn.execute_batch(&format!("DROP INDEX {}", ident(&index)))?),
        None if *if_exists => Ok(()),
        None => Err(Error::new(
            SqlState::UndefinedObject,
            format!("constraint \"{name}\" of relation \"{table}\" does not exist"),
        )),
    }
}

/// Replaces `table`'s CREATE TABLE text and bumps the schema version so every
/// connection (this one included) re-reads the schema.
fn write_definition(conn: &Connection, table: &str, sql: &str) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA writable_schema = ON")?;
    let written = conn.execute(
        "UPDATE sqlite_schema SET sql = ?1 WHERE type = 'table' AND name = ?2",
        [sql, table],
    );
    let bumped = conn.execute_batch(&format!("PRAGMA schema_version = {}", version + 1));
    conn.execute_batch("PRAGMA writable_schema = OFF")?;
    written?;
    bumped?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(conn: &Connection, table: &str) -> String {
        conn.query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE p (id INTEGER PRIMARY KEY);
             CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER DEFAULT 5, p_id INTEGER);
             INSERT INTO p VALUES (1);
             INSERT INTO t VALUES (1, NULL, 1);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn not_null_is_checked_then_enforced() {
        let conn = db();
        let err = apply(&conn, "t", &TableChange::SetNotNull("n".into())).unwrap_err();
        assert_eq!(err.state, SqlState::NotNullViolation);
        conn.execute_batch("UPDATE t SET n = 1").unwrap();
        apply(&conn, "t", &TableChange::SetNotNull("n".into())).unwrap();
        assert!(
            conn.execute_batch("INSERT INTO t (id, n) VALUES (2, NULL)")
                .is_err()
        );
        apply(&conn, "t", &TableChange::DropNotNull("n".into())).unwrap();
        conn.execute_batch("INSERT INTO t (id, n) VALUES (2, NULL)")
            .unwrap();
    }

    #[test]
    fn defaults_and_constraints_are_rewritten() {
        let conn = db();
        apply(&conn, "t", &TableChange::DropDefault("n".into())).unwrap();
        apply(
            &conn,
            "t",
            &TableChange::AddCheck {
                name: "t_n_pos".into(),
                check: "n > 0".into(),
            },
        )
        .unwrap();
        assert!(definition(&conn, "t").contains("CONSTRAINT \"t_n_pos\" CHECK (n > 0)"));
        assert!(!definition(&conn, "t").contains("DEFAULT"));
        assert!(
            conn.execute_batch("INSERT INTO t (id, n) VALUES (3, -1)")
                .is_err()
        );
        apply(
            &conn,
            "t",
            &TableChange::DropConstraint {
                name: "t_n_pos".into(),
                if_exists: false,
            },
        )
        .unwrap();
        conn.execute_batch("INSERT INTO t (id, n) VALUES (3, -1)")
            .unwrap();
        let err = apply(
            &conn,
            "t",
            &TableChange::DropConstraint {
                name: "nope".into(),
                if_exists: false,
            },
        )
        .unwrap_err();
        assert_eq!(err.state, SqlState::UndefinedObject);
    }

    #[test]
    fn foreign_keys_check_existing_rows() {
        let conn = db();
        conn.execute_batch("INSERT INTO t VALUES (9, 1, 7)")
            .unwrap();
        let fk = TableChange::AddForeignKey {
            name: "t_p_fk".into(),
            columns: vec!["p_id".into()],
            table: "p".into(),
            referred: vec!["id".into()],
            constraint: "CONSTRAINT \"t_p_fk\" FOREIGN KEY (\"p_id\") REFERENCES \"p\" (\"id\")"
                .into(),
        };
        let err = apply(&conn, "t", &fk).unwrap_err();
        assert_eq!(err.state, SqlState::ForeignKeyViolation);
        conn.execute_batch("DELETE FROM t WHERE id = 9").unwrap();
        apply(&conn, "t", &fk).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        assert!(
            conn.execute_batch("INSERT INTO t VALUES (10, 1, 7)")
                .is_err()
        );
    }
}
