//! `COMMENT ON TABLE | COLUMN ... IS '...' | NULL`: descriptions kept in
//! `_lw_comments` by relation and column name (`''` for the relation itself),
//! served as `pg_description` and by `obj_description` / `col_description`,
//! so psql's `\d+` and `\dt+` show them. An empty comment removes it, as in
//! Postgres.

use sqlparser::ast::{CommentObject, ObjectName};

use super::ddl::{schema_plan, sql_string};
use super::{SqlPlan, ident_text};
use crate::catalog::Catalog;
use crate::error::{Error, Result, SqlState};

pub fn plan(
    object_type: CommentObject,
    name: &ObjectName,
    comment: Option<String>,
    catalog: &Catalog,
) -> Result<SqlPlan> {
    let mut parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(ident_text))
        .collect();
    if parts.len() > 1 && parts[0] == "public" {
        parts.remove(0);
    }
    let (table, column) = match (object_type, parts.as_slice()) {
        (CommentObject::Table, [table]) => (table, None),
        (CommentObject::Column, [table, column]) => (table, Some(column)),
        (CommentObject::Column, [_]) => {
            return Err(Error::syntax("column name must be qualified"));
        }
        (CommentObject::Table | CommentObject::Column, _) => {
            return Err(Error::unsupported("schema-qualified names"));
        }
        (other, _) => return Err(Error::unsupported(format!("COMMENT ON {other}"))),
    };
    check_target(table, column.map(String::as_str), catalog)?;
    let key = format!(
        "table_name = {} AND column_name = {}",
        sql_string(table),
        sql_string(column.map_or("", String::as_str))
    );
    let sql = match comment.filter(|c| !c.is_empty()) {
        None => format!("DELETE FROM _lw_comments WHERE {key}"),
        Some(text) => format!(
            "INSERT OR REPLACE INTO _lw_comments (table_name, column_name, description) \
             VALUES ({}, {}, {})",
            sql_string(table),
            sql_string(column.map_or("", String::as_str)),
            sql_string(&text)
        ),
    };
    Ok(schema_plan(sql, Vec::new(), "COMMENT"))
}

/// The commented relation exists, is a table when the comment is on a table
/// (a view's comment is COMMENT ON VIEW, which litewire does not parse), and
/// has the column.
fn check_target(table: &str, column: Option<&str>, catalog: &Catalog) -> Result<()> {
    let found = catalog
        .table(table)
        .filter(|_| crate::catalog::catalog_relation(table).is_none())
        .ok_or_else(|| {
            Error::new(
                SqlState::UndefinedTable,
                format!("relation \"{table}\" does not exist"),
            )
        })?;
    match column {
        None if catalog.is_view(table) => Err(Error::new(
            SqlState::WrongObjectType,
            format!("\"{table}\" is not a table"),
        )),
        Some(column) if found.column(column).is_none() => {
            Err(Error::undefined_column(column, table))
        }
        _ => Ok(()),
    }
}
