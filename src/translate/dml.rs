//! SELECT, INSERT, UPDATE, DELETE: expand `*` into typed columns, name and type
//! the result columns, and coerce values written into typed columns.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Assignment, AssignmentTarget, Expr, FromTable, Ident, OnConflictAction, OnInsert, Query,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor, TableObject,
};

use super::expr::{Typer, coerce_to_column, column_name, object_name};
use super::{Access, OutColumn, SqlPlan};
use crate::catalog::{Catalog, Table};
use crate::error::{Error, Result};
use crate::types::{ColumnType, PgType};

pub fn plan(mut statement: Statement, catalog: &Catalog, params: &[PgType]) -> Result<SqlPlan> {
    if let Statement::Delete(delete) = &mut statement {
        delete_using(delete)?;
    }
    super::srf::rewrite(&mut statement)?;
    super::introspect::rewrite(&mut statement)?;
    super::litewire_schema::rewrite(&mut statement);
    super::lateral::prepare(&mut statement, catalog)?;
    let mut typer = Typer::new(catalog);
    typer.params = params.iter().map(|t| Some(ColumnType::plain(*t))).collect();
    typer.collect_tables(&mut statement);
    let (tag, access, names) = match &mut statement {
        Statement::Query(query) => {
            // `FOR UPDATE` / `FOR SHARE`: SQLite has no row locks; reading under
            // the writer lock gives the same guarantee (nobody else writes
            // until this transaction ends), so a read-modify-write is safe.
            let access = if query.locks.is_empty() {
                Access::Read
            } else {
                query.locks.clear();
                Access::Write
            };
            ("SELECT", access, query_projection(query, &typer)?)
        }
        Statement::Insert(insert) => {
            let TableObject::TableName(name) = &insert.table else {
                return Err(Error::unsupported("INSERT into a table function"));
            };
            let table = object_name(name);
            super::views::refuse_write("insert into", &table, catalog)?;
            let alias = insert.table_alias.clone();
            let names = returning(&mut insert.returning, catalog.table(&table), alias);
            ("INSERT", Access::Write, names)
        }
        Statement::Update(update) => {
            let table = match &update.table.relation {
                TableFactor::Table { name, .. } => {
                    super::views::refuse_write("update", &object_name(name), catalog)?;
                    catalog.table(&object_name(name))
                }
                _ => None,
            };
            let alias = alias_of(&update.table.relation);
            let names = returning(&mut update.returning, table, alias);
            ("UPDATE", Access::Write, names)
        }
        Statement::Delete(delete) => {
            let target = delete_target(delete);
            if let Some(target) = &target {
                super::views::refuse_write("delete from", target, catalog)?;
            }
            let table = target.and_then(|t| catalog.table(&t));
            let alias = delete_relation(delete).and_then(alias_of);
            let names = returning(&mut delete.returning, table, alias);
            ("DELETE", Access::Write, names)
        }
        _ => unreachable!("dml::plan is called for DML statements only"),
    };
    typer.rewrite(&mut statement)?;
    coerce_writes(&mut statement, catalog, &mut typer)?;
    super::litewire_schema::expand(&mut statement);
    let columns = names.map(|names| {
        let exprs = projection_exprs(&statement);
        names
            .into_iter()
            .zip(exprs)
            .map(|(name, expr)| OutColumn {
                name,
                ty: expr.and_then(|e| typer.type_of(e)),
            })
            .collect()
    });
    // Result columns are typed from the lateral subqueries' columns first.
    super::lateral::finish(&mut statement, &typer)?;
    let sql = statement.to_string();
    let access = if super::sequences::advances(&sql) {
        Access::Write
    } else {
        access
    };
    let distinct_on = match &statement {
        Statement::Query(query) => super::distinct_on::rewrite(
            query,
            columns
                .as_ref()
                .map(|c: &Vec<OutColumn>| c.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
                .as_deref(),
        )?,
        _ => None,
    };
    Ok(SqlPlan {
        sql: distinct_on.unwrap_or(sql),
        after: Vec::new(),
        access,
        tag,
        params: typer.params,
        columns,
    })
}

/// `DELETE FROM t USING u WHERE cond`: SQLite's DELETE has no USING, so the
/// rows go by rowid: `WHERE t.rowid IN (SELECT t.rowid FROM t, u WHERE cond)`.
fn delete_using(delete: &mut sqlparser::ast::Delete) -> Result<()> {
    use sqlparser::ast::FromTable;
    let Some(using) = delete.using.take() else {
        return Ok(());
    };
    let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) = &delete.from;
    let [target] = tables.as_slice() else {
        return Err(Error::unsupported("DELETE of several tables"));
    };
    let TableFactor::Table { name, alias, .. } = &target.relation else {
        return Err(Error::unsupported("DELETE ... USING on a table function"));
    };
    let qualifier = alias
        .as_ref()
        .map(|a| a.name.to_string())
        .unwrap_or_else(|| name.to_string());
    let sources: Vec<String> = std::iter::once(target.to_string())
        .chain(using.iter().map(ToString::to_string))
        .collect();
    let condition = delete
        .selection
        .as_ref()
        .map(|c| format!(" WHERE {c}"))
        .unwrap_or_default();
    let sql = format!(
        "{qualifier}.rowid IN (SELECT {qualifier}.rowid FROM {}{condition})",
        sources.join(", ")
    );
    let selection = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::internal(format!("DELETE ... USING rewrite: {e}")))?;
    delete.selection = Some(selection);
    Ok(())
}

/// The table a DELETE removes rows from (its first FROM item).
fn delete_relation(delete: &sqlparser::ast::Delete) -> Option<&TableFactor> {
    let tables = match &delete.from {
        FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
    };
    tables.first().map(|t| &t.relation)
}

fn delete_target(delete: &sqlparser::ast::Delete) -> Option<String> {
    match delete_relation(delete)? {
        TableFactor::Table { name, .. } => Some(object_name(name)),
        _ => None,
    }
}

/// Names of the result columns of a query, after expanding `*` in its first
/// SELECT; None when some `*` cannot be expanded (subquery, unknown table).
fn query_projection(query: &mut Query, typer: &Typer<'_>) -> Result<Option<Vec<String>>> {
    let Some(select) = first_select(&mut query.body) else {
        return Ok(None);
    };
    let mut from_tables = Vec::new();
    for twj in &select.from {
        for factor in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
            match factor {
                TableFactor::Table { name, alias, .. } => {
                    let key = super::source_name(name, alias.as_ref());
                    from_tables.push((key, typer.table(&object_name(name))));
                }
                _ => from_tables.push((String::new(), None)),
            }
        }
    }
    let mut expanded = Vec::with_capacity(select.projection.len());
    for item in select.projection.iter().cloned() {
        match item {
            SelectItem::Wildcard(_) => {
                if from_tables.iter().any(|(_, t)| t.is_none()) {
                    return Ok(None);
                }
                let qualify = from_tables.len() > 1;
                for (key, table) in &from_tables {
                    expanded.extend(columns_of(table.unwrap(), qualify.then_some(key.as_str())));
                }
            }
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                let key = object_name(&name);
                match from_tables
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&key))
                {
                    Some((k, Some(table))) => expanded.extend(columns_of(table, Some(k))),
                    _ => return Ok(None),
                }
            }
            other => expanded.push(other),
        }
    }
    select.projection = expanded;
    Ok(Some(select.projection.iter().map(item_name).collect()))
}

fn first_select(body: &mut SetExpr) -> Option<&mut sqlparser::ast::Select> {
    match body {
        SetExpr::Select(select) => Some(select),
        SetExpr::Query(query) => first_select(&mut query.body),
        SetExpr::SetOperation { left, .. } => first_select(left),
        _ => None,
    }
}

fn columns_of(table: &Table, qualifier: Option<&str>) -> Vec<SelectItem> {
    table
        .columns
        .iter()
        .map(|c| {
            let col = Ident::with_quote('"', c.name.clone());
            SelectItem::UnnamedExpr(match qualifier {
                Some(q) => {
                    Expr::CompoundIdentifier(vec![Ident::with_quote('"', q.to_string()), col])
                }
                None => Expr::Identifier(col),
            })
        })
        .collect()
}

fn item_name(item: &SelectItem) -> String {
    match item {
        SelectItem::ExprWithAlias { alias, .. } => super::ident_text(alias),
        SelectItem::UnnamedExpr(e) => column_name(e),
        _ => "?column?".into(),
    }
}

/// The alias a write target is given (`UPDATE t AS x`).
fn alias_of(factor: &TableFactor) -> Option<Ident> {
    match factor {
        TableFactor::Table { alias, .. } => alias.as_ref().map(|a| a.name.clone()),
        _ => None,
    }
}

/// Expands `RETURNING *` against the target table and names the columns.
/// Columns qualified by the target's alias lose the qualifier: SQLite's
/// RETURNING knows the table only by its name.
fn returning(
    items: &mut Option<Vec<SelectItem>>,
    table: Option<&Table>,
    alias: Option<Ident>,
) -> Option<Vec<String>> {
    let list = items.as_mut()?;
    if let Some(alias) = alias {
        let alias = super::ident_text(&alias);
        let _ = sqlparser::ast::visit_expressions_mut(list, |expr| {
            if let Expr::CompoundIdentifier(idents) = expr
                && let [qualifier, column] = idents.as_slice()
                && super::ident_text(qualifier) == alias
            {
                let column = column.clone();
                *expr = Expr::Identifier(column);
            }
            ControlFlow::<()>::Continue(())
        });
    }
    let mut expanded = Vec::new();
    for item in list.iter().cloned() {
        match item {
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => match table {
                Some(t) => expanded.extend(columns_of(t, None)),
                None => return None,
            },
            other => expanded.push(other),
        }
    }
    *list = expanded;
    Some(list.iter().map(item_name).collect())
}

fn projection_exprs(statement: &Statement) -> Vec<Option<&Expr>> {
    let items: &[SelectItem] = match statement {
        Statement::Query(q) => match select_of(&q.body) {
            Some(s) => &s.projection,
            None => &[],
        },
        Statement::Insert(i) => i.returning.as_deref().unwrap_or(&[]),
        Statement::Update(u) => u.returning.as_deref().unwrap_or(&[]),
        Statement::Delete(d) => d.returning.as_deref().unwrap_or(&[]),
        _ => &[],
    };
    items
        .iter()
        .map(|i| match i {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
            _ => None,
        })
        .collect()
}

fn select_of(body: &SetExpr) -> Option<&sqlparser::ast::Select> {
    match body {
        SetExpr::Select(s) => Some(s),
        SetExpr::Query(q) => select_of(&q.body),
        SetExpr::SetOperation { left, .. } => select_of(left),
        _ => None,
    }
}

/// Makes every value written into a typed column canonical for that type.
/// `DEFAULT` in a VALUES row (SQLite has no such keyword there).
fn is_default(value: &Expr) -> bool {
    matches!(value, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// What `DEFAULT` stands for in `column`: its default expression, else NULL
/// (which an integer primary key turns into the next rowid).
fn column_default(column: &crate::catalog::Column) -> Result<Expr> {
    let Some(sql) = &column.default else {
        return Ok(Expr::value(sqlparser::ast::Value::Null));
    };
    sqlparser::parser::Parser::new(&sqlparser::dialect::SQLiteDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map(|e| Expr::Nested(Box::new(e)))
        .map_err(|e| Error::internal(format!("default of {}: {e}", column.name)))
}

fn coerce_writes(
    statement: &mut Statement,
    catalog: &Catalog,
    typer: &mut Typer<'_>,
) -> Result<()> {
    match statement {
        Statement::Insert(insert) => {
            let TableObject::TableName(name) = &insert.table else {
                return Ok(());
            };
            let Some(table) = catalog.table(&object_name(name)) else {
                return Ok(());
            };
            let targets: Vec<String> = if insert.columns.is_empty() {
                table.columns.iter().map(|c| c.name.clone()).collect()
            } else {
                insert.columns.iter().map(super::ident_text).collect()
            };
            for target in &targets {
                if table.column(target).is_none() {
                    return Err(Error::new(
                        crate::error::SqlState::UndefinedColumn,
                        format!(
                            "column \"{target}\" of relation \"{}\" does not exist",
                            table.name
                        ),
                    ));
                }
            }
            if let Some(source) = insert.source.as_mut()
                && let SetExpr::Values(values) = source.body.as_mut()
            {
                for row in &mut values.rows {
                    if row.len() > targets.len() {
                        return Err(Error::syntax(
                            "INSERT has more expressions than target columns",
                        ));
                    }
                    for (value, target) in row.iter_mut().zip(&targets) {
                        let column = table.column(target).expect("checked above");
                        if is_default(value) {
                            *value = column_default(column)?;
                            continue;
                        }
                        coerce_to_column(typer, value, column.ty)?;
                    }
                }
            }
            if let Some(OnInsert::OnConflict(conflict)) = insert.on.as_mut()
                && let OnConflictAction::DoUpdate(update) = &mut conflict.action
            {
                coerce_assignments(&mut update.assignments, table, typer)?;
            }
        }
        Statement::Update(update) => {
            if let TableFactor::Table { name, .. } = &update.table.relation
                && let Some(table) = catalog.table(&object_name(name))
            {
                coerce_assignments(&mut update.assignments, table, typer)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn coerce_assignments(
    assignments: &mut [Assignment],
    table: &Table,
    typer: &mut Typer<'_>,
) -> Result<()> {
    for assignment in assignments {
        let AssignmentTarget::ColumnName(name) = &assignment.target else {
            return Err(Error::unsupported("multi-column assignment"));
        };
        let column = object_name(name);
        let column = column.rsplit('.').next().unwrap_or(&column);
        let ty = table.column(column).map(|c| c.ty).ok_or_else(|| {
            Error::new(
                crate::error::SqlState::UndefinedColumn,
                format!(
                    "column \"{column}\" of relation \"{}\" does not exist",
                    table.name
                ),
            )
        })?;
        coerce_to_column(typer, &mut assignment.value, ty)?;
    }
    Ok(())
}
