//! What kind of live query a SELECT is, which decides how it is kept current.
//!
//! - **Incremental**: one table, no grouping, aggregates, DISTINCT, LIMIT or
//!   OFFSET, a projection of plain columns that includes the primary key, and
//!   a WHERE that [`Predicate`] can decide on a row. Each change is checked
//!   against the predicate in memory (old and new row) and becomes a diff
//!   without touching the database; subscriptions are indexed by an equality
//!   conjunct (`user_id = $1`), so a change only visits the subscriptions it
//!   can affect.
//! - **Rerun**: everything else (joins, aggregates, LIMIT windows,
//!   expressions). It is re-run when a table it reads changes — at most once
//!   per batch of commits — and its new result is diffed against the last one
//!   by key.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use serde_json::Value as Json;
use sqlparser::ast::{
    Expr, GroupByExpr, SelectItem, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::catalog::Catalog;
use crate::changes::filter::{CmpOp, Predicate, Reference};
use crate::error::{Error, Result, SqlState};

#[derive(Debug, Clone)]
pub enum Shape {
    Incremental {
        table: String,
        predicate: Predicate,
        /// Result columns (catalog spelling); `None` is `*`.
        columns: Option<Vec<String>>,
        /// The equality conjunct subscriptions are indexed by.
        index: Option<(String, Json)>,
    },
    Rerun {
        /// Every table the query reads.
        tables: BTreeSet<String>,
        /// Grouping columns, a key for aggregate results.
        group_by: Vec<String>,
    },
}

impl Shape {
    /// The tables whose changes can change the result.
    pub fn tables(&self) -> Vec<String> {
        match self {
            Shape::Incremental { table, .. } => vec![table.clone()],
            Shape::Rerun { tables, .. } => tables.iter().cloned().collect(),
        }
    }
}

fn not_a_select() -> Error {
    Error::new(
        SqlState::FeatureNotSupported,
        "a live query is a single SELECT",
    )
}

/// Classifies `sql` (with its parameters, which the predicate binds).
pub fn analyze(sql: &str, params: &[Json], catalog: &Catalog) -> Result<Shape> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| Error::syntax(format!("invalid live query: {e}")))?;
    let (Some(Statement::Query(query)), None) = (statements.pop(), statements.pop()) else {
        return Err(not_a_select());
    };
    let tables = relations(&query, catalog)?;
    let rerun = |group_by: Vec<String>| Shape::Rerun {
        tables: tables.clone(),
        group_by,
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Ok(rerun(Vec::new()));
    };
    let group_by = match &select.group_by {
        GroupByExpr::Expressions(exprs, _) => exprs.iter().filter_map(column_of).collect(),
        GroupByExpr::All(_) => Vec::new(),
    };
    let plain = query.with.is_none()
        && query.limit_clause.is_none()
        && query.fetch.is_none()
        && select.distinct.is_none()
        && select.having.is_none()
        && group_by.is_empty()
        && matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty())
        && select.from.len() == 1
        && select.from[0].joins.is_empty();
    if !plain {
        return Ok(rerun(group_by));
    }
    let TableFactor::Table {
        name, args: None, ..
    } = &select.from[0].relation
    else {
        return Ok(rerun(group_by));
    };
    let Some(table) = catalog.table(&crate::translate::object_name(name)) else {
        return Ok(rerun(group_by));
    };
    let mut columns = Some(Vec::new());
    for item in &select.projection {
        match item {
            SelectItem::Wildcard(_) => columns = None,
            SelectItem::UnnamedExpr(expr) => match column_of(expr).and_then(|c| table.column(&c)) {
                Some(c) => {
                    if let Some(list) = &mut columns {
                        list.push(c.name.clone());
                    }
                }
                None => return Ok(rerun(group_by)),
            },
            _ => return Ok(rerun(group_by)),
        }
    }
    let has_key = table
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .all(|pk| columns.as_ref().is_none_or(|cols| cols.contains(&pk.name)))
        && table.columns.iter().any(|c| c.primary_key);
    if !has_key {
        return Ok(rerun(group_by));
    }
    let bind = |r: Reference<'_>| match r {
        Reference::Param(n) => params.get(n.wrapping_sub(1)).cloned().ok_or_else(|| {
            Error::new(
                SqlState::InvalidParameterValue,
                format!("there is no parameter ${n}"),
            )
        }),
        Reference::Claim(_) => Err(Error::unsupported("auth.* in a live query")),
    };
    let predicate = match &select.selection {
        None => Predicate::True,
        Some(expr) => match Predicate::from_sql(&expr.to_string(), &bind) {
            Ok(p) => p,
            Err(e) if e.code() == SqlState::FeatureNotSupported => return Ok(rerun(group_by)),
            Err(e) => return Err(e),
        },
    };
    // The predicate reads columns by the names written; they must be the
    // table's (else SQLite decides, by re-running).
    if predicate
        .columns()
        .iter()
        .any(|c| table.column(c).is_none_or(|col| col.name != *c))
    {
        return Ok(rerun(group_by));
    }
    Ok(Shape::Incremental {
        table: table.name.clone(),
        index: equality(&predicate),
        predicate,
        columns,
    })
}

/// A top-level `column = value` conjunct, to index the subscription by.
fn equality(predicate: &Predicate) -> Option<(String, Json)> {
    let conjuncts: Vec<&Predicate> = match predicate {
        Predicate::And(all) => all.iter().collect(),
        other => vec![other],
    };
    conjuncts.into_iter().find_map(|p| match p {
        Predicate::Compare {
            column,
            op: CmpOp::Eq,
            value,
        } if !value.is_null() => Some((column.clone(), value.clone())),
        Predicate::And(_) => equality(p),
        _ => None,
    })
}

fn column_of(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(crate::translate::ident_text(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().map(crate::translate::ident_text),
        Expr::Nested(e) => column_of(e),
        _ => None,
    }
}

/// The catalog tables a query reads (anywhere: joins, subqueries); 42P01 for
/// a relation that is neither a table nor one of the query's CTEs.
fn relations(query: &sqlparser::ast::Query, catalog: &Catalog) -> Result<BTreeSet<String>> {
    struct Tables<'a> {
        catalog: &'a Catalog,
        found: BTreeSet<String>,
        ctes: BTreeSet<String>,
    }
    impl Visitor for Tables<'_> {
        type Break = Error;
        fn pre_visit_query(&mut self, query: &sqlparser::ast::Query) -> ControlFlow<Error> {
            for cte in query.with.iter().flat_map(|w| &w.cte_tables) {
                self.ctes
                    .insert(crate::translate::ident_text(&cte.alias.name));
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_relation(
            &mut self,
            relation: &sqlparser::ast::ObjectName,
        ) -> ControlFlow<Error> {
            let name = crate::translate::object_name(relation);
            match self.catalog.table(&name) {
                Some(t) => {
                    self.found.insert(t.name.clone());
                }
                None if self.ctes.contains(&name) => {}
                None => {
                    return ControlFlow::Break(Error::new(
                        SqlState::UndefinedTable,
                        format!("relation \"{name}\" does not exist"),
                    ));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut tables = Tables {
        catalog,
        found: BTreeSet::new(),
        ctes: BTreeSet::new(),
    };
    match query.visit(&mut tables) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(tables.found),
    }
}

/// A stable text for a JSON value, equal for values an equality can match
/// (`5`, `"5"` and `5.0` alike), to look subscriptions up by.
pub fn index_key(value: &Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::Bool(b) => Some(format!("b:{b}")),
        Json::Number(_) | Json::String(_) => {
            let text = match value {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(match crate::types::numeric::parse(&text) {
                Ok(d) => format!("n:{}", d.normalize()),
                Err(_) => format!("s:{text}"),
            })
        }
        other => Some(format!("j:{other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Column, Table};
    use crate::types::{ColumnType, PgType};

    fn catalog() -> Catalog {
        let col = |name: &str, ty, pk| Column {
            not_null: pk,
            primary_key: pk,
            ..Column::new(name, ColumnType::plain(ty))
        };
        Catalog::new([Table {
            name: "orders".into(),
            columns: vec![
                col("id", PgType::Int8, true),
                col("user_id", PgType::Int8, false),
                col("status", PgType::Text, false),
            ],
        }])
    }

    #[test]
    fn shapes() {
        let c = catalog();
        let p = [serde_json::json!(7)];
        match analyze(
            "SELECT * FROM orders WHERE user_id = $1 AND status <> 'x'",
            &p,
            &c,
        )
        .unwrap()
        {
            Shape::Incremental { index, columns, .. } => {
                assert_eq!(index, Some(("user_id".into(), serde_json::json!(7))));
                assert_eq!(columns, None);
            }
            other => panic!("{other:?}"),
        }
        for rerun in [
            "SELECT status FROM orders",
            "SELECT * FROM orders ORDER BY id LIMIT 5",
            "SELECT status, count(*) FROM orders GROUP BY status",
            "SELECT id, lower(status) FROM orders",
            "SELECT * FROM orders WHERE lower(status) = 'a'",
        ] {
            assert!(
                matches!(analyze(rerun, &[], &c).unwrap(), Shape::Rerun { .. }),
                "{rerun}"
            );
        }
        assert!(analyze("DELETE FROM orders", &[], &c).is_err());
        assert_eq!(
            index_key(&serde_json::json!("5.0")),
            index_key(&serde_json::json!(5))
        );
    }
}
