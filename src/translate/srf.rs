//! Set-returning functions, rewritten into subqueries SQLite can run:
//! `generate_series(start, stop[, step])` becomes a recursive CTE (stepping
//! timestamps by an interval too, see `datetime::timestamp_series`) and
//! `pg_listening_channels()` reads the session's channels (set per statement by
//! the session, `lw_listening_channels()`), and `litewire.changes(since_lsn)`
//! reads the change stream's history. They work in FROM
//! (`FROM generate_series(1, 3) AS x`, the alias naming the column as in
//! Postgres) and as the only item of a SELECT without FROM; there they may
//! read the tables to their left (`FROM t, LATERAL unnest(t.tags)`), which
//! `lateral` turns into something SQLite runs. `jsonb_array_elements` and
//! `jsonb_array_elements_text` give a JSON array's elements.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, Query, SelectItem, SetExpr,
    TableAlias, TableFactor, TableFunctionArgs, VisitMut, VisitorMut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::expr::object_name;
use crate::error::{Error, Result};

const FUNCTIONS: [&str; 7] = [
    "generate_series",
    "unnest",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "pg_listening_channels",
    "litewire.changes",
    "litewire.messages",
];

/// Functions whose one column is named `value` whatever the table alias (an
/// OUT parameter in Postgres); the others take the alias as column name.
const VALUE_COLUMN: [&str; 2] = ["jsonb_array_elements", "jsonb_array_elements_text"];

/// A function's name; built-ins may be qualified with `pg_catalog.`.
/// `FROM (VALUES (1, 'a'), ...) AS v(id, name)` (SQLAlchemy's bulk insert
/// form): SQLite takes no column list on a derived table, so the VALUES rows
/// are selected under those names (SQLite calls them `column1`, `column2`, ...).
fn name_values_columns(factor: &mut TableFactor) {
    let TableFactor::Derived {
        subquery,
        alias: Some(alias),
        ..
    } = factor
    else {
        return;
    };
    if alias.columns.is_empty() || !matches!(subquery.body.as_ref(), SetExpr::Values(_)) {
        return;
    }
    let columns: Vec<String> = alias
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("column{} AS {}", i + 1, c.name))
        .collect();
    let query = format!("SELECT {} FROM ({subquery})", columns.join(", "));
    let mut alias = alias.clone();
    alias.columns.clear();
    let name = alias.name.value.clone();
    if let Some(derived) = super::derived_table(&query, Some(alias), &name) {
        *factor = derived;
    }
}

/// A function call in FROM (`FROM f(args) AS alias`): its name without a
/// `pg_catalog.` prefix, its alias and its arguments.
pub(super) fn table_function(
    factor: &TableFactor,
) -> Option<(String, &Option<TableAlias>, &[FunctionArg])> {
    let TableFactor::Table {
        name,
        alias,
        args: Some(args),
        ..
    } = factor
    else {
        return None;
    };
    Some((function_name(name), alias, &args.args))
}

fn function_name(name: &sqlparser::ast::ObjectName) -> String {
    let name = object_name(name);
    match name.strip_prefix("pg_catalog.") {
        Some(bare) => bare.to_string(),
        None => name,
    }
}

/// Rewrites every set-returning function call in `node`.
pub fn rewrite<T: VisitMut>(node: &mut T) -> Result<()> {
    super::visit(node, &mut Rewriter)
}

struct Rewriter;

impl VisitorMut for Rewriter {
    type Break = Error;

    /// `SELECT generate_series(1, 3)` is `SELECT * FROM generate_series(1, 3)`.
    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        let SetExpr::Select(select) = query.body.as_mut() else {
            return ControlFlow::Continue(());
        };
        let [
            SelectItem::UnnamedExpr(Expr::Function(f))
            | SelectItem::ExprWithAlias {
                expr: Expr::Function(f),
                ..
            },
        ] = select.projection.as_slice()
        else {
            return ControlFlow::Continue(());
        };
        let name = function_name(&f.name);
        if !select.from.is_empty() || !FUNCTIONS.contains(&name.as_str()) {
            return ControlFlow::Continue(());
        }
        let column = match &select.projection[0] {
            SelectItem::ExprWithAlias { alias, .. } => alias.clone(),
            _ => Ident::new(&name),
        };
        let FunctionArguments::List(list) = &f.args else {
            return ControlFlow::Continue(());
        };
        let factor = TableFactor::Table {
            name: f.name.clone(),
            alias: Some(TableAlias {
                explicit: true,
                name: column.clone(),
                columns: vec![],
            }),
            args: Some(TableFunctionArgs {
                args: list.args.clone(),
                settings: None,
            }),
            with_hints: vec![],
            version: None,
            with_ordinality: false,
            partitions: vec![],
            json_path: None,
            sample: None,
            index_hints: vec![],
        };
        select.from = vec![sqlparser::ast::TableWithJoins {
            relation: factor,
            joins: vec![],
        }];
        select.projection = vec![SelectItem::UnnamedExpr(Expr::Identifier(column))];
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        name_values_columns(factor);
        // sqlparser parses `UNNEST(...)` in FROM as a factor of its own, and
        // `LATERAL f(...)` as a function factor.
        let (function, alias, args, lateral) = match factor {
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset: false,
                with_ordinality: false,
                ..
            } => (
                "unnest".to_string(),
                alias.clone(),
                array_exprs
                    .iter()
                    .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e.clone())))
                    .collect(),
                false,
            ),
            TableFactor::Function {
                lateral,
                name,
                args,
                alias,
            } => (function_name(name), alias.clone(), args.clone(), *lateral),
            _ => match table_function(factor) {
                Some((function, alias, args)) => (function, alias.clone(), args.to_vec(), false),
                None => return ControlFlow::Continue(()),
            },
        };
        if !FUNCTIONS.contains(&function.as_str()) {
            return ControlFlow::Continue(());
        }
        // `AS pos(n)` names the column; `AS x` names table and column alike
        // (but `value` stays the name of a JSON element).
        let named = VALUE_COLUMN
            .contains(&function.as_str())
            .then(|| "value".to_string());
        let column = match alias.as_ref().and_then(|a| a.columns.first()) {
            Some(c) => c.name.value.clone(),
            None => named
                .or_else(|| alias.as_ref().map(|a| a.name.value.clone()))
                .unwrap_or_else(|| function.clone()),
        };
        let alias = alias.map(|a| TableAlias {
            columns: vec![],
            ..a
        });
        let table_alias = alias.unwrap_or(TableAlias {
            explicit: true,
            name: Ident::new(function.rsplit('.').next().unwrap_or(&function)),
            columns: vec![],
        });
        let body = match subquery(&function, &args, &column) {
            Ok(body) => body,
            Err(e) => return ControlFlow::Break(e),
        };
        // A function in FROM may read the tables to its left, with or
        // without the LATERAL keyword, as in Postgres.
        *factor = TableFactor::Derived {
            lateral: lateral || super::lateral::reads_columns(&args),
            subquery: Box::new(body),
            alias: Some(table_alias),
            sample: None,
        };
        ControlFlow::Continue(())
    }
}

fn subquery(function: &str, args: &[FunctionArg], column: &str) -> Result<Query> {
    let exprs: Vec<Expr> = args
        .iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect();
    let args: Vec<String> = args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e.to_string()),
            other => Err(Error::unsupported(format!(
                "argument {other} of {function}"
            ))),
        })
        .collect::<Result<_>>()?;
    let column = Ident::with_quote('"', column);
    let sql = match (function, args.as_slice()) {
        ("generate_series", [start, stop]) => series(start, stop, "1", &column),
        ("generate_series", [start, stop, step]) => {
            super::datetime::timestamp_series(&exprs, &column)
                .unwrap_or_else(|| series(start, stop, step, &column))
        }
        ("unnest", [first, rest @ ..]) => unnest(first, rest, &column),
        ("jsonb_array_elements", [array]) => elements(array, "lw_json_get", &column),
        ("jsonb_array_elements_text", [array]) => elements(array, "lw_json_get_text", &column),
        ("pg_listening_channels", []) => {
            format!("SELECT value AS {column} FROM json_each(lw_listening_channels())")
        }
        ("litewire.changes", [since]) => format!(
            "SELECT lsn, txid, tbl AS \"table\", op, pk, row, old, committed_at \
             FROM _lw_changes WHERE lsn > CAST({since} AS bigint) ORDER BY lsn"
        ),
        ("litewire.messages", [channel, since]) => format!(
            "SELECT id, channel, payload, created_at FROM _lw_messages \
             WHERE channel = CAST({channel} AS text) AND id > CAST({since} AS bigint) ORDER BY id"
        ),
        _ => {
            return Err(Error::unsupported(format!(
                "{function} with {} arguments",
                args.len()
            )));
        }
    };
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
        .map_err(|e| Error::internal(e.to_string()))?;
    match statements.pop() {
        Some(sqlparser::ast::Statement::Query(q)) => Ok(*q),
        _ => Err(Error::internal("set-returning function rewrite")),
    }
}

/// `unnest(a, b, ...)`: the arrays' elements side by side, one row per
/// element of the first (Postgres pads shorter arrays with NULLs; a longer
/// later array is cut to the first's length here).
fn unnest(first: &str, rest: &[String], column: &Ident) -> String {
    let elements = |array: &str| format!("json_each(lw_array_json({array}))");
    let mut columns = vec![format!("lw_a0.value AS {column}")];
    for (i, array) in rest.iter().enumerate() {
        let name = Ident::with_quote('"', format!("{}_{}", column.value, i + 1));
        columns.push(format!(
            "(SELECT value FROM {} WHERE key = lw_a0.key) AS {name}",
            elements(array),
        ));
    }
    format!(
        "SELECT {} FROM {} AS lw_a0 ORDER BY lw_a0.key",
        columns.join(", "),
        elements(first)
    )
}

/// `jsonb_array_elements(array)` and its `_text` twin: each element through
/// `->` or `->>` (so it prints as Postgres prints jsonb), in array order. A
/// non-array fails as in Postgres (22023), through `jsonb_array_length`.
fn elements(array: &str, get: &str, column: &Ident) -> String {
    format!(
        "SELECT {get}({array}, lw_e.key) AS {column} FROM json_each({array}) AS lw_e \
         WHERE lw_jsonb_array_length({array}) IS NOT NULL ORDER BY lw_e.key"
    )
}

/// Integer series as a recursive CTE; a zero step is an error in Postgres.
fn series(start: &str, stop: &str, step: &str, column: &Ident) -> String {
    format!(
        "WITH RECURSIVE lw_series(v) AS (SELECT ({start}) WHERE ({step}) <> 0 \
         UNION ALL SELECT v + ({step}) FROM lw_series \
         WHERE (({step}) > 0 AND v + ({step}) <= ({stop})) OR (({step}) < 0 AND v + ({step}) >= ({stop}))) \
         SELECT v AS {column} FROM lw_series WHERE (({step}) > 0 AND v <= ({stop})) OR (({step}) < 0 AND v >= ({stop}))"
    )
}
