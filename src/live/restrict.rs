//! Row filters on live queries: a role that reads a table through a filter
//! (`owner_id = auth.sub`) sees the query as if the table held only its rows.
//! Every reference to the table in the query becomes `(SELECT * FROM t WHERE
//! <filter with the caller's claims>) AS t`, so snapshots and re-runs never
//! read another's rows; an incremental query also ANDs the filter into its
//! in-memory predicate, so a change to a row the role cannot see is never
//! announced, not even its key.

use std::ops::ControlFlow;

use serde_json::Value as Json;
use sqlparser::ast::{Expr, TableFactor, Value, VisitMut, VisitorMut};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::auth::jwt::Identity;
use crate::error::{Error, Result};

/// A table and the filter (SQL over its columns, claims already bound) the
/// caller reads it through.
#[derive(Debug, Clone)]
pub struct RowFilter {
    pub table: String,
    pub sql: String,
}

/// `filter` with every `auth.<claim>` replaced by the caller's value as a
/// literal.
pub fn bind_claims(filter: &str, who: &Identity) -> Result<String> {
    let mut expr = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(filter)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::internal(format!("invalid row filter {filter}: {e}")))?;
    struct Claims<'a>(&'a Identity);
    impl VisitorMut for Claims<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if let Expr::CompoundIdentifier(parts) = expr
                && parts.len() >= 2
                && parts[0].value.eq_ignore_ascii_case("auth")
            {
                let path: Vec<String> = parts[1..].iter().map(|p| p.value.clone()).collect();
                let value = match self.0.claim(&path) {
                    Json::Null => Value::Null,
                    Json::Bool(b) => Value::Boolean(b),
                    Json::Number(n) => Value::Number(n.to_string(), false),
                    Json::String(s) => Value::SingleQuotedString(s),
                    other => Value::SingleQuotedString(other.to_string()),
                };
                *expr = Expr::value(value);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = expr.visit(&mut Claims(who));
    Ok(expr.to_string())
}

/// `sql` with each filtered table replaced by its visible rows.
pub fn restrict(sql: &str, filters: &[RowFilter]) -> Result<String> {
    if filters.is_empty() {
        return Ok(sql.to_string());
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| Error::syntax(format!("invalid live query: {e}")))?;
    struct Tables<'a>(&'a [RowFilter], Option<Error>);
    impl VisitorMut for Tables<'_> {
        type Break = ();
        // After the children: the subquery put in place is not visited again.
        fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            let TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } = factor
            else {
                return ControlFlow::Continue(());
            };
            let table = crate::translate::object_name(name);
            let Some(filter) = self.0.iter().find(|f| f.table.eq_ignore_ascii_case(&table)) else {
                return ControlFlow::Continue(());
            };
            let inner = format!("SELECT * FROM {name} WHERE {}", filter.sql);
            match crate::translate::derived_table(&inner, alias.clone(), &table) {
                Some(derived) => *factor = derived,
                None => {
                    let message = format!("cannot apply row filter {}", filter.sql);
                    self.1 = Some(Error::internal(message));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut visitor = Tables(filters, None);
    let _ = statements.visit(&mut visitor);
    match visitor.1 {
        Some(e) => Err(e),
        None => Ok(statements
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_become_derived_tables_with_bound_claims() {
        let who = Identity {
            role: "user".into(),
            claims: json!({"sub": "u'1"}),
        };
        let filter = bind_claims("owner = auth.sub", &who).unwrap();
        assert_eq!(filter, "owner = 'u''1'");
        let sql = restrict(
            "SELECT o.id FROM orders o JOIN items ON items.order_id = o.id",
            &[RowFilter {
                table: "orders".into(),
                sql: filter,
            }],
        )
        .unwrap();
        assert_eq!(
            sql,
            "SELECT o.id FROM (SELECT * FROM orders WHERE owner = 'u''1') o JOIN items ON items.order_id = o.id"
        );
    }
}
