//! `CREATE [OR REPLACE] VIEW`: a Postgres view becomes a SQLite view over the
//! translated query, so Postgres functions in it run through litewire's SQL
//! functions like in any query. SQLite knows no type for a computed column,
//! so the view's columns are recorded in `_lw_columns` with the types the
//! translator gave the query's result, and the Postgres text of the query is
//! kept in `_lw_views` for `pg_views` and `pg_get_viewdef`.
//!
//! SQLite has no `CREATE OR REPLACE VIEW`: the view is dropped and created
//! again in the same transaction, after the checks Postgres makes (the new
//! query may only add columns at the end).

use std::ops::ControlFlow;

use sqlparser::ast::{CreateTableOptions, CreateView, Query, Statement, visit_relations};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use super::ddl::{column_record, duplicate_relation, quoted, schema_plan, sql_string};
use super::{OutColumn, SqlPlan};
use crate::catalog::{Catalog, Table};
use crate::error::{Error, Result, SqlState};
use crate::types::{ColumnType, PgType};

pub fn create(view: CreateView, catalog: &Catalog) -> Result<SqlPlan> {
    if view.materialized || view.temporary {
        return Err(Error::unsupported("CREATE MATERIALIZED / TEMPORARY VIEW"));
    }
    if !matches!(view.options, CreateTableOptions::None) {
        return Err(Error::unsupported("CREATE VIEW ... WITH (options)"));
    }
    let name = super::object_name(&view.name);
    let name = crate::catalog::unqualified(&name).to_string();
    if catalog.is_sequence(&name) {
        return Err(duplicate_relation(&name));
    }
    let existing = catalog
        .table(&name)
        .filter(|_| crate::catalog::catalog_relation(&name).is_none());
    if existing.is_some() {
        if view.if_not_exists {
            return Ok(schema_plan(
                "SELECT 1 WHERE 0".into(),
                Vec::new(),
                "CREATE VIEW",
            ));
        }
        if !view.or_replace {
            return Err(duplicate_relation(&name));
        }
        if !catalog.is_view(&name) {
            return Err(Error::new(
                SqlState::WrongObjectType,
                format!("\"{name}\" is not a view"),
            ));
        }
    }
    let aliases: Vec<String> = view
        .columns
        .iter()
        .map(|c| super::ident_text(&c.name))
        .collect();
    let query = super::dml::plan(Statement::Query(view.query.clone()), catalog, &[])?;
    if !query.params.is_empty() {
        return Err(Error::new(
            SqlState::UndefinedParameter,
            "there is no parameter $1",
        ));
    }
    let columns = query
        .columns
        .as_deref()
        .map(|c| view_columns(c, &aliases))
        .transpose()?;
    if let (Some(existing), Some(columns)) = (existing, &columns) {
        check_replacement(existing, columns)?;
    }
    let mut statements = Vec::new();
    if existing.is_some() {
        statements.push(format!("DROP VIEW {}", quoted(&name)));
    }
    statements.push(create_sql(&name, columns.as_deref(), &query));
    statements.extend(records(&name, columns.as_deref(), &view.query));
    let first = statements.remove(0);
    Ok(schema_plan(first, statements, "CREATE VIEW"))
}

/// The view's columns: the query's, renamed by the view's column list; an
/// expression whose type is not known (or an untyped literal) is `text`, as
/// Postgres makes an `unknown` view column.
fn view_columns(query: &[OutColumn], aliases: &[String]) -> Result<Vec<(String, ColumnType)>> {
    if aliases.len() > query.len() {
        return Err(Error::syntax(
            "CREATE VIEW specifies more column names than columns",
        ));
    }
    let columns: Vec<(String, ColumnType)> = query
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = aliases.get(i).cloned().unwrap_or_else(|| c.name.clone());
            let ty =
                c.ty.filter(|t| t.ty != PgType::Unknown)
                    .unwrap_or(ColumnType::plain(PgType::Text));
            (name, ty)
        })
        .collect();
    for (i, (name, _)) in columns.iter().enumerate() {
        if columns[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::new(
                SqlState::DuplicateColumn,
                format!("column \"{name}\" specified more than once"),
            ));
        }
    }
    Ok(columns)
}

/// `CREATE OR REPLACE VIEW` keeps the old columns, in order, with their
/// names and types; it may only add new ones at the end (42P16).
fn check_replacement(old: &Table, new: &[(String, ColumnType)]) -> Result<()> {
    let invalid = |message: String| Error::new(SqlState::InvalidTableDefinition, message);
    if new.len() < old.columns.len() {
        return Err(invalid("cannot drop columns from view".into()));
    }
    for (old, (name, ty)) in old.columns.iter().zip(new) {
        if old.name != *name {
            return Err(invalid(format!(
                "cannot change name of view column \"{}\" to \"{name}\"",
                old.name
            ))
            .with_hint(
                "Use ALTER VIEW ... RENAME COLUMN ... to change name of view column instead.",
            ));
        }
        if old.ty != *ty {
            return Err(invalid(format!(
                "cannot change data type of view column \"{name}\" from {} to {}",
                old.ty.to_sql(),
                ty.to_sql()
            )));
        }
    }
    Ok(())
}

/// The SQLite view, its columns named by a column list when they are known
/// (when a `*` could not be expanded, SQLite names them).
fn create_sql(name: &str, columns: Option<&[(String, ColumnType)]>, query: &SqlPlan) -> String {
    let list = columns
        .map(|c| {
            let names: Vec<String> = c.iter().map(|(n, _)| quoted(n)).collect();
            format!(" ({})", names.join(", "))
        })
        .unwrap_or_default();
    format!("CREATE VIEW {}{list} AS {}", quoted(name), query.sql)
}

/// The bookkeeping rows: the columns' Postgres types and the view's text.
fn records(name: &str, columns: Option<&[(String, ColumnType)]>, query: &Query) -> Vec<String> {
    let mut statements = vec![format!(
        "DELETE FROM _lw_columns WHERE table_name = {}",
        sql_string(name)
    )];
    for (column, ty) in columns.unwrap_or_default() {
        statements.push(column_record(name, column, *ty));
    }
    statements.push(format!(
        "INSERT OR REPLACE INTO _lw_views (name, definition) VALUES ({}, {})",
        sql_string(name),
        sql_string(&format!(" {query};"))
    ));
    statements
}

/// The relations (lowercased) that view `name`'s SQLite definition reads.
pub fn sources(name: &str, sql: &str) -> Vec<String> {
    let Ok(statements) = Parser::parse_sql(&SQLiteDialect {}, sql) else {
        return Vec::new();
    };
    let own = name.to_ascii_lowercase();
    let mut sources: Vec<String> = Vec::new();
    let _ = visit_relations(&statements, |relation| {
        let source = super::object_name(relation).to_ascii_lowercase();
        if source != own && !sources.contains(&source) {
            sources.push(source);
        }
        ControlFlow::<()>::Continue(())
    });
    sources
}

/// A write into a view: Postgres updates simple views through to their
/// table; litewire refuses, naming the view.
pub fn refuse_write(verb: &str, target: &str, catalog: &Catalog) -> Result<()> {
    if !catalog.is_view(target) {
        return Ok(());
    }
    let name = crate::catalog::unqualified(target);
    Err(Error::new(
        SqlState::FeatureNotSupported,
        format!("cannot {verb} view \"{name}\""),
    )
    .with_detail("litewire does not write through views.")
    .with_hint(format!(
        "Write to the table(s) that view \"{name}\" selects from."
    )))
}
