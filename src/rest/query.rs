//! PostgREST's query-string language, parsed into typed parts and rendered
//! as Postgres SQL with every value bound as a parameter:
//!
//! - `select=a,b,alias:c` — result columns;
//! - `col=op.value` — filters, `op` one of `eq neq gt gte lt lte like ilike
//!   in is`, prefixed with `not.` to negate; `like`/`ilike` take `*` as `%`;
//!   `in.(a,b,"c,d")`; `is.null|true|false|unknown`;
//! - `or=(a.eq.1,b.gt.2,and(c.eq.1,d.eq.2))`, `and=(...)`, `not.or=(...)`;
//! - `order=col.desc.nullslast,col2` — with Postgres's default null order
//!   (last ascending, first descending);
//! - `limit`, `offset`.
//!
//! Filters become a [`Predicate`] (the change stream's row predicate), so a
//! role's row filter and a request's filters are one tree, rendered once.

use serde_json::{Value as Json, json};

use super::error::{ApiResult, bad_request};
use super::exec::{Statement, ident};
use crate::catalog::Table;
use crate::changes::filter::{CmpOp, Predicate};
use crate::error::{Error, SqlState};

/// One `ORDER BY` term.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderTerm {
    pub column: String,
    pub descending: bool,
    pub nulls_first: bool,
}

/// A result column: the table's column, and the name it is returned under.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub column: String,
    pub alias: Option<String>,
}

/// What a request's query string asks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// `None`: every column.
    pub select: Option<Vec<Output>>,
    pub filter: Predicate,
    pub order: Vec<OrderTerm>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    /// `on_conflict=a,b`: the upsert's conflict target.
    pub on_conflict: Option<Vec<String>>,
    /// `all=true`: a PATCH/DELETE without filters is meant.
    pub all: bool,
}

impl Request {
    /// Parses the decoded `(key, value)` pairs of a query string.
    pub fn parse(pairs: &[(String, String)]) -> ApiResult<Request> {
        let mut request = Request {
            select: None,
            filter: Predicate::True,
            order: Vec::new(),
            limit: None,
            offset: None,
            on_conflict: None,
            all: false,
        };
        let mut filters = Vec::new();
        for (key, value) in pairs {
            match key.as_str() {
                "select" => request.select = parse_select(value),
                "order" => request.order = parse_order(value)?,
                "limit" => request.limit = Some(number(key, value)?),
                "offset" => request.offset = Some(number(key, value)?),
                "on_conflict" => {
                    request.on_conflict = Some(value.split(',').map(str::to_string).collect())
                }
                "all" => request.all = value == "true",
                // The body's keys name the columns; PostgREST's hint is not needed.
                "columns" => {}
                "or" | "and" | "not.or" | "not.and" => filters.push(logic(key, value)?),
                column => filters.push(condition(column, value)?),
            }
        }
        if !filters.is_empty() {
            request.filter = Predicate::And(filters);
        }
        Ok(request)
    }

    /// Whether any row filter was given (PATCH/DELETE need one, or `all`).
    pub fn filtered(&self) -> bool {
        self.filter != Predicate::True
    }
}

fn number(key: &str, value: &str) -> ApiResult<u64> {
    value
        .parse()
        .map_err(|_| bad_request(format!("\"{key}\" must be a non-negative integer")))
}

fn parse_select(value: &str) -> Option<Vec<Output>> {
    if value.trim() == "*" {
        return None;
    }
    Some(
        split_top(value)
            .into_iter()
            .map(|item| match item.split_once(':') {
                Some((alias, column)) => Output {
                    column: column.trim().to_string(),
                    alias: Some(alias.trim().to_string()),
                },
                None => Output {
                    column: item.trim().to_string(),
                    alias: None,
                },
            })
            .collect(),
    )
}

fn parse_order(value: &str) -> ApiResult<Vec<OrderTerm>> {
    value
        .split(',')
        .map(|term| {
            let mut parts = term.split('.');
            let column = parts.next().unwrap_or_default().to_string();
            let mut descending = false;
            let mut nulls = None;
            for modifier in parts {
                match modifier {
                    "asc" => descending = false,
                    "desc" => descending = true,
                    "nullsfirst" => nulls = Some(true),
                    "nullslast" => nulls = Some(false),
                    other => {
                        return Err(bad_request(format!(
                            "unknown order modifier \"{other}\" in \"{term}\""
                        )));
                    }
                }
            }
            Ok(OrderTerm {
                column,
                descending,
                nulls_first: nulls.unwrap_or(descending),
            })
        })
        .collect()
}

/// `col=[not.]op.value`.
fn condition(column: &str, value: &str) -> ApiResult<Predicate> {
    let (negated, rest) = match value.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (op, operand) = rest
        .split_once('.')
        .ok_or_else(|| bad_request(format!("filter \"{column}={value}\" needs op.value")))?;
    let predicate = operator(column, op, operand)?;
    Ok(if negated {
        Predicate::Not(Box::new(predicate))
    } else {
        predicate
    })
}

/// One PostgREST operator, handed to the change stream's JSON filter
/// language (`{"col": {"gt": "5"}}`), which has the same operator names.
fn operator(column: &str, op: &str, operand: &str) -> ApiResult<Predicate> {
    let value = match op {
        "is" => return is(column.to_string(), operand),
        "like" | "ilike" => Json::String(operand.replace('*', "%")),
        "in" => {
            let inner = operand
                .strip_prefix('(')
                .and_then(|o| o.strip_suffix(')'))
                .ok_or_else(|| bad_request(format!("in on \"{column}\" takes (a,b,...)")))?;
            split_top(inner)
                .into_iter()
                .map(|v| Json::String(unquote(v)))
                .collect()
        }
        _ => Json::String(operand.to_string()),
    };
    Ok(Predicate::from_json(&json!({ column: { op: value } }))?)
}

/// `is.true` is `col IS NOT NULL AND col = true`, so that under `not.` a NULL
/// row is included, as with SQL's `IS NOT TRUE`.
fn is(column: String, operand: &str) -> ApiResult<Predicate> {
    let known = |value: bool| {
        Predicate::And(vec![
            Predicate::Not(Box::new(Predicate::IsNull(column.clone()))),
            Predicate::Compare {
                column: column.clone(),
                op: CmpOp::Eq,
                value: Json::Bool(value),
            },
        ])
    };
    Ok(match operand {
        "null" | "unknown" => Predicate::IsNull(column),
        "true" => known(true),
        "false" => known(false),
        other => {
            return Err(bad_request(format!(
                "is on \"{column}\" takes null, true, false or unknown, not \"{other}\""
            )));
        }
    })
}

/// `or=(a.eq.1,and(b.gt.2,c.is.null))` (key `or`, `and`, `not.or`, `not.and`).
fn logic(key: &str, value: &str) -> ApiResult<Predicate> {
    let (negated, op) = match key.strip_prefix("not.") {
        Some(op) => (true, op),
        None => (false, key),
    };
    let inner = value
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(|| bad_request(format!("\"{key}\" takes (condition,...)")))?;
    let items = split_top(inner)
        .into_iter()
        .map(logic_item)
        .collect::<ApiResult<Vec<_>>>()?;
    let tree = if op == "or" {
        Predicate::Or(items)
    } else {
        Predicate::And(items)
    };
    Ok(if negated {
        Predicate::Not(Box::new(tree))
    } else {
        tree
    })
}

/// One item inside `or=(...)`: `col.[not.]op.value` or a nested `and(...)`.
fn logic_item(item: &str) -> ApiResult<Predicate> {
    for nested in ["and", "or", "not.and", "not.or"] {
        if let Some(rest) = item.strip_prefix(nested)
            && rest.starts_with('(')
        {
            return logic(nested, rest);
        }
    }
    let (column, condition_text) = item
        .split_once('.')
        .ok_or_else(|| bad_request(format!("\"{item}\" is not column.op.value")))?;
    condition(column, condition_text)
}

/// Splits on commas outside parentheses and double quotes.
fn split_top(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items.retain(|i| !i.is_empty());
    items
}

/// `"a,b"` -> `a,b` (PostgREST quotes values holding reserved characters).
fn unquote(value: &str) -> String {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .map(|v| v.replace("\\\"", "\""))
        .unwrap_or_else(|| value.to_string())
}

/// The table's column named `name`, or 42703.
pub fn column<'t>(table: &'t Table, name: &str) -> Result<&'t crate::catalog::Column, Error> {
    table.column(name).ok_or_else(|| {
        Error::new(
            SqlState::UndefinedColumn,
            format!("column {}.{name} does not exist", table.name),
        )
    })
}

/// Renders `predicate` as a SQL condition on `table`, binding its values
/// into `statement` typed as the columns they are compared with.
pub fn condition_sql(
    predicate: &Predicate,
    table: &Table,
    statement: &mut Statement,
) -> Result<String, Error> {
    Ok(match predicate {
        Predicate::True => "TRUE".into(),
        Predicate::And(items) => joined(items, " AND ", "TRUE", table, statement)?,
        Predicate::Or(items) => joined(items, " OR ", "FALSE", table, statement)?,
        Predicate::Not(inner) => format!("NOT {}", condition_sql(inner, table, statement)?),
        Predicate::Compare {
            column: name,
            op,
            value,
        } => {
            let c = column(table, name)?;
            let param = statement.bind(value.clone(), Some(c.ty));
            format!("({} {} {param})", ident(&c.name), cmp_sql(*op))
        }
        Predicate::In {
            column: name,
            values,
        } => {
            let c = column(table, name)?;
            if values.is_empty() {
                return Ok("FALSE".into());
            }
            let params: Vec<String> = values
                .iter()
                .map(|v| statement.bind(v.clone(), Some(c.ty)))
                .collect();
            format!("({} IN ({}))", ident(&c.name), params.join(", "))
        }
        Predicate::IsNull(name) => format!("({} IS NULL)", ident(&column(table, name)?.name)),
        Predicate::Like {
            column: name,
            pattern,
            case_insensitive,
        } => {
            let c = column(table, name)?;
            let param = statement.bind(
                Json::String(pattern.clone()),
                Some(crate::types::ColumnType::plain(crate::types::PgType::Text)),
            );
            let op = if *case_insensitive { "ILIKE" } else { "LIKE" };
            format!("({} {op} {param})", ident(&c.name))
        }
    })
}

/// `(a AND b ...)`, or `empty` for no items (`TRUE` for AND, `FALSE` for OR).
fn joined(
    items: &[Predicate],
    joiner: &str,
    empty: &str,
    table: &Table,
    statement: &mut Statement,
) -> Result<String, Error> {
    if items.is_empty() {
        return Ok(empty.to_string());
    }
    let parts = items
        .iter()
        .map(|p| condition_sql(p, table, statement))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(format!("({})", parts.join(joiner)))
}

fn cmp_sql(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "<>",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

/// ` ORDER BY ...` (or nothing), checked against the table.
pub fn order_sql(order: &[OrderTerm], table: &Table) -> Result<String, Error> {
    if order.is_empty() {
        return Ok(String::new());
    }
    let terms = order
        .iter()
        .map(|t| {
            let c = column(table, &t.column)?;
            Ok(format!(
                "{} {} NULLS {}",
                ident(&c.name),
                if t.descending { "DESC" } else { "ASC" },
                if t.nulls_first { "FIRST" } else { "LAST" }
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(format!(" ORDER BY {}", terms.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filters_order_and_select_parse() {
        let r = Request::parse(&pairs(&[
            ("select", "id,total:amount"),
            ("status", "in.(a,\"b,c\")"),
            ("id", "not.eq.3"),
            ("or", "(total.gt.10,and(owner.is.null,name.ilike.*x*))"),
            ("order", "total.desc,id.nullsfirst"),
            ("limit", "5"),
        ]))
        .unwrap();
        assert_eq!(
            r.select.unwrap()[1],
            Output {
                column: "amount".into(),
                alias: Some("total".into())
            }
        );
        let Predicate::And(all) = &r.filter else {
            panic!("and")
        };
        // Each operator arrives through the JSON filter language (an AND of one).
        assert_eq!(
            all[0],
            Predicate::And(vec![Predicate::In {
                column: "status".into(),
                values: vec!["a".into(), "b,c".into()]
            }])
        );
        assert!(matches!(&all[1], Predicate::Not(_)));
        let Predicate::Or(any) = &all[2] else {
            panic!("or")
        };
        let Predicate::And(inner) = &any[1] else {
            panic!("and")
        };
        assert_eq!(
            inner[1],
            Predicate::And(vec![Predicate::Like {
                column: "name".into(),
                pattern: "%x%".into(),
                case_insensitive: true
            }])
        );
        assert_eq!(
            r.order,
            vec![
                OrderTerm {
                    column: "total".into(),
                    descending: true,
                    nulls_first: true
                },
                OrderTerm {
                    column: "id".into(),
                    descending: false,
                    nulls_first: true
                }
            ]
        );
        assert_eq!(r.limit, Some(5));
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(Request::parse(&pairs(&[("id", "eq1")])).is_err());
        assert!(Request::parse(&pairs(&[("id", "between.1")])).is_err());
        assert!(Request::parse(&pairs(&[("limit", "-1")])).is_err());
        assert!(Request::parse(&pairs(&[("order", "id.sideways")])).is_err());
    }
}
