//! `SELECT DISTINCT ON (keys) ... ORDER BY ...`: the first row of each group
//! of equal keys, in the query's order. SQLite has no DISTINCT ON; the rows are
//! numbered per group by a window in the query's order, and an outer query
//! keeps number 1, then orders and limits as the original did:
//!
//! ```sql
//! SELECT lw_c1 AS "a", ... FROM (
//!   SELECT a AS lw_c1, ..., o1 AS lw_o1, ...,
//!          row_number() OVER (PARTITION BY keys ORDER BY o1, ...) AS lw_rn
//!   FROM ... WHERE ...) AS lw_distinct
//! WHERE lw_rn = 1 ORDER BY lw_o1, ... LIMIT ...
//! ```
//!
//! It runs last, on the translated statement: result columns are typed from
//! the original projection before.

use sqlparser::ast::{
    Distinct, Expr, Ident, OrderByExpr, OrderByKind, Query, SelectItem, SetExpr, Value, WindowSpec,
    WindowType,
};

use super::expr::call;

use super::quote_ident as ident;
use crate::error::{Error, Result};

/// `query` as SQL with its DISTINCT ON rewritten; `None` if it has none.
/// `names` are the result column names.
pub fn rewrite(query: &Query, names: Option<&[String]>) -> Result<Option<String>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Ok(None);
    };
    let Some(Distinct::On(keys)) = &select.distinct else {
        return Ok(None);
    };
    let names = names.ok_or_else(|| {
        Error::unsupported("SELECT DISTINCT ON with * over a subquery (name the columns)")
    })?;
    let mut inner = query.clone();
    inner.order_by = None;
    inner.limit_clause = None;
    if inner.fetch.is_some() {
        return Err(Error::unsupported("FETCH FIRST with SELECT DISTINCT ON"));
    }
    let SetExpr::Select(inner_select) = inner.body.as_mut() else {
        unreachable!("checked above");
    };
    inner_select.distinct = None;
    let projection: Vec<Expr> = inner_select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Ok(e.clone()),
            other => Err(Error::unsupported(format!("{other} in SELECT DISTINCT ON"))),
        })
        .collect::<Result<_>>()?;
    let order = match query.order_by.as_ref().map(|o| &o.kind) {
        Some(OrderByKind::Expressions(items)) => items.clone(),
        Some(OrderByKind::All(_)) => return Err(Error::unsupported("ORDER BY ALL")),
        None => Vec::new(),
    };
    // An ORDER BY item may name an output column by position or alias; the
    // window and the inner query see only expressions.
    let aliases: Vec<Option<String>> = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(super::ident_text(alias)),
            _ => None,
        })
        .collect();
    let resolve = |e: &Expr| -> Expr {
        let position = match e {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => n.parse::<usize>().ok().and_then(|i| i.checked_sub(1)),
                _ => None,
            },
            Expr::Identifier(i) => {
                let name = super::ident_text(i);
                aliases
                    .iter()
                    .position(|a| a.as_deref() == Some(name.as_str()))
            }
            _ => None,
        };
        position
            .and_then(|p| projection.get(p))
            .cloned()
            .unwrap_or_else(|| e.clone())
    };
    let order: Vec<OrderByExpr> = order
        .into_iter()
        .map(|mut o| {
            o.expr = resolve(&o.expr);
            o
        })
        .collect();
    let mut window = call("row_number", vec![]);
    if let Expr::Function(f) = &mut window {
        f.over = Some(WindowType::WindowSpec(WindowSpec {
            window_name: None,
            partition_by: keys.iter().map(resolve).collect(),
            order_by: order.clone(),
            window_frame: None,
        }));
    }
    let alias = |name: String, expr: Expr| SelectItem::ExprWithAlias {
        expr,
        alias: Ident::new(name),
    };
    let mut columns: Vec<SelectItem> = projection
        .iter()
        .enumerate()
        .map(|(i, e)| alias(format!("lw_c{}", i + 1), e.clone()))
        .collect();
    columns.extend(
        order
            .iter()
            .enumerate()
            .map(|(j, o)| alias(format!("lw_o{}", j + 1), o.expr.clone())),
    );
    columns.push(alias("lw_rn".into(), window));
    inner_select.projection = columns;
    let outer_columns: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("lw_c{} AS {}", i + 1, ident(n)))
        .collect();
    let mut sql = format!(
        "SELECT {} FROM ({inner}) AS lw_distinct WHERE lw_rn = 1",
        outer_columns.join(", ")
    );
    if !order.is_empty() {
        let outer_order: Vec<String> = order
            .iter()
            .enumerate()
            .map(|(j, o)| format!("lw_o{}{}", j + 1, o.options))
            .collect();
        sql.push_str(&format!(" ORDER BY {}", outer_order.join(", ")));
    }
    if let Some(limit) = &query.limit_clause {
        sql.push_str(&limit.to_string());
    }
    Ok(Some(sql))
}
