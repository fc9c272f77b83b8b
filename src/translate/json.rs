//! json/jsonb operators and functions beyond `->`/`->>`, rewritten into the
//! `lw_json*` SQL functions (`store::functions`) and SQLite's JSON1, with
//! values turned into their JSON form by their Postgres type (a boolean is
//! `true`, not SQLite's `1`; numeric and jsonb stay JSON, not strings).
//!
//! Rules:
//! - `#>`, `#>>` -> `lw_json_path[_text](doc, '{a,b}')`.
//! - `@>`, `<@` -> `lw_jsonb_contains`; `?`, `?|`, `?&` -> `lw_jsonb_exists*`.
//! - on jsonb: `||` -> `lw_jsonb_concat`, `-` -> `lw_jsonb_delete`, `#-` ->
//!   `lw_jsonb_delete_path`, `< <= > >=` -> `lw_jsonb_cmp(a, b) op 0`.
//! - `to_jsonb`/`to_json`/`row_to_json` of a value or a whole row (`t`),
//!   `json[b]_agg`, `json[b]_build_object`, `json[b]_build_array`,
//!   `jsonb_set`, `json[b]_typeof`, `json[b]_array_length`.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    ObjectName, ObjectNamePart, visit_expressions_mut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::capture;
use super::expr::{Typer, call, function_args, number, string, take};
use crate::error::{Error, Result};
use crate::types::{ColumnType, PgType};

fn is_json(ty: Option<ColumnType>) -> bool {
    ty.is_some_and(|t| matches!(t.ty, PgType::Json | PgType::Jsonb))
}

/// Parses SQL text this module built (from already translated parts).
fn parse(sql: &str) -> Result<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::internal(format!("json rewrite produced bad SQL: {e}")))
}

/// `expr` as a value `json_object`/`json_array` embed the way Postgres
/// writes it in JSON.
fn json_ready(typer: &Typer<'_>, expr: &Expr) -> Result<Expr> {
    const HOLE: &str = "lw_json_value";
    let ty = typer.type_of(expr).map(|t| t.ty).unwrap_or(PgType::Unknown);
    // The template is parsed with a stand-in: `expr` may hold SQLite
    // parameters (`?1`) that do not parse as Postgres.
    let mut ready = parse(&capture::json_value_sql(HOLE, ty))?;
    let _ = visit_expressions_mut(&mut ready, |e| {
        if matches!(e, Expr::Identifier(i) if i.value == HOLE) {
            *e = expr.clone();
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(ready)
}

/// A whole-row reference (`t` in `to_jsonb(t)`) as `json_object(...)` over
/// the table's columns; `None` if `expr` is not one.
fn row_object(typer: &Typer<'_>, expr: &Expr) -> Result<Option<Expr>> {
    let name = match expr {
        Expr::Identifier(i) => super::ident_text(i),
        Expr::QualifiedWildcard(name, _) => super::expr::object_name(name),
        _ => return Ok(None),
    };
    if typer.type_of(expr).is_some() {
        return Ok(None);
    }
    let Some(table) = typer.table(&name) else {
        return Ok(None);
    };
    let qualifier = format!("\"{}\"", name.replace('"', "\"\""));
    parse(&capture::json_object(&qualifier, table.columns.iter())).map(Some)
}

/// The JSON form of a function's single argument: a whole row or a value.
fn json_argument(typer: &Typer<'_>, f: &Function) -> Result<Option<Expr>> {
    let args = function_args(f);
    let [arg] = args.as_slice() else {
        return Ok(None);
    };
    match row_object(typer, arg)? {
        Some(object) => Ok(Some(object)),
        None => json_ready(typer, arg).map(Some),
    }
}

fn jsonb(expr: Expr) -> Expr {
    call("lw_in", vec![expr, string("jsonb")])
}

/// The built call as json, or normalized to jsonb for the `jsonb_` form.
fn json_flavour(jsonb_flavour: bool, f: &Function) -> Expr {
    let built = Expr::Function(f.clone());
    if jsonb_flavour { jsonb(built) } else { built }
}

fn rename(f: &mut Function, name: &str) {
    f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
}

/// Replaces every argument at `positions` with its JSON form.
fn json_arguments(
    typer: &Typer<'_>,
    f: &mut Function,
    positions: impl Fn(usize) -> bool,
) -> Result<()> {
    let FunctionArguments::List(list) = &mut f.args else {
        return Ok(());
    };
    for (i, arg) in list.args.iter_mut().enumerate() {
        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg
            && positions(i)
        {
            *e = json_ready(typer, e)?;
        }
    }
    Ok(())
}

/// Rewrites a json function call; `None` leaves it to the other rules.
/// Deals with `jsonb_` and `json_` forms alike: values are stored the same way.
pub fn function(typer: &mut Typer<'_>, name: &str, f: &mut Function) -> Result<Option<Expr>> {
    let jsonb_flavour = name.starts_with("jsonb");
    Ok(Some(match name {
        "to_jsonb" | "to_json" | "row_to_json" => {
            let Some(value) = json_argument(typer, f)? else {
                return Ok(None);
            };
            let text = call("json_quote", vec![value]);
            if name == "to_jsonb" {
                jsonb(text)
            } else {
                text
            }
        }
        "json_agg" | "jsonb_agg" => {
            let Some(value) = json_argument(typer, f)? else {
                return Ok(None);
            };
            let FunctionArguments::List(list) = &mut f.args else {
                return Ok(None);
            };
            list.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(call(
                "json_quote",
                vec![value],
            )))];
            rename(
                f,
                if jsonb_flavour {
                    "lw_jsonb_agg"
                } else {
                    "lw_json_agg"
                },
            );
            Expr::Function(f.clone())
        }
        "json_build_object" | "jsonb_build_object" => {
            for key in function_args(f)
                .into_iter()
                .step_by(2)
                .cloned()
                .collect::<Vec<_>>()
            {
                typer.infer_param(&key, ColumnType::plain(PgType::Text));
            }
            json_arguments(typer, f, |i| i % 2 == 1)?;
            rename(f, "json_object");
            json_flavour(jsonb_flavour, f)
        }
        "json_build_array" | "jsonb_build_array" => {
            json_arguments(typer, f, |_| true)?;
            rename(f, "json_array");
            json_flavour(jsonb_flavour, f)
        }
        "jsonb_set" => {
            for (i, ty) in [(1, PgType::Text), (2, PgType::Jsonb), (3, PgType::Bool)] {
                if let Some(arg) = function_args(f).get(i).copied().cloned() {
                    typer.infer_param(&arg, ColumnType::plain(ty));
                }
            }
            rename(f, "lw_jsonb_set");
            Expr::Function(f.clone())
        }
        "jsonb_typeof" | "json_typeof" => {
            rename(f, "lw_jsonb_typeof");
            Expr::Function(f.clone())
        }
        "jsonb_array_length" | "json_array_length" => {
            rename(f, "lw_jsonb_array_length");
            Expr::Function(f.clone())
        }
        _ => return Ok(None),
    }))
}

/// Rewrites a json operator; `None` leaves it to the other rules.
pub fn operator(
    typer: &mut Typer<'_>,
    left: &mut Box<Expr>,
    op: &BinaryOperator,
    right: &mut Box<Expr>,
) -> Result<Option<Expr>> {
    use BinaryOperator::*;
    let (lt, rt) = (typer.type_of(left), typer.type_of(right));
    let text = ColumnType::plain(PgType::Text);
    let doc = ColumnType::plain(PgType::Jsonb);
    let (name, swap) = match op {
        HashArrow => ("lw_json_path", false),
        HashLongArrow => ("lw_json_path_text", false),
        HashMinus => ("lw_jsonb_delete_path", false),
        AtArrow => ("lw_jsonb_contains", false),
        ArrowAt => ("lw_jsonb_contains", true),
        Question => ("lw_jsonb_exists", false),
        QuestionPipe => ("lw_jsonb_exists_any", false),
        QuestionAnd => ("lw_jsonb_exists_all", false),
        StringConcat if is_json(lt) || is_json(rt) => ("lw_jsonb_concat", false),
        Minus if is_json(lt) => ("lw_jsonb_delete", false),
        Lt | LtEq | Gt | GtEq if is_json(lt) || is_json(rt) => {
            typer.infer_param(left, doc);
            typer.infer_param(right, doc);
            let cmp = call("lw_jsonb_cmp", vec![take(left), take(right)]);
            return Ok(Some(Expr::BinaryOp {
                left: Box::new(cmp),
                op: op.clone(),
                right: Box::new(number("0")),
            }));
        }
        _ => return Ok(None),
    };
    let right_type = match op {
        AtArrow | ArrowAt | StringConcat => doc,
        _ => text,
    };
    typer.infer_param(left, doc);
    typer.infer_param(right, right_type);
    let (a, b) = (take(left), take(right));
    Ok(Some(if swap {
        call(name, vec![b, a])
    } else {
        call(name, vec![a, b])
    }))
}

/// The type of a call this module produces.
pub fn function_type(name: &str) -> Option<PgType> {
    Some(match name {
        "lw_json_path"
        | "lw_jsonb_concat"
        | "lw_jsonb_delete"
        | "lw_jsonb_delete_path"
        | "lw_jsonb_set"
        | "lw_jsonb_agg" => PgType::Jsonb,
        "lw_json_agg" | "json_object" | "json_array" | "json_quote" => PgType::Json,
        "lw_json_path_text" | "lw_jsonb_typeof" => PgType::Text,
        "lw_jsonb_contains" | "lw_jsonb_exists" | "lw_jsonb_exists_any" | "lw_jsonb_exists_all" => {
            PgType::Bool
        }
        "lw_jsonb_array_length" | "lw_jsonb_cmp" => PgType::Int4,
        _ => return None,
    })
}
