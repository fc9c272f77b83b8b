//! The Postgres date/time dialect, as rules over already-rewritten children:
//! - `INTERVAL '1 day'` -> an `interval` cast of the canonical text (22007 now if bad);
//! - `+ - * /` with a date/time operand -> `lw_dt_op(op, a, 'type', b, 'type')`,
//!   an `unknown` literal or parameter taking the type Postgres would give it;
//! - unary minus on an interval, interval comparisons -> `lw_interval_cmp`;
//! - `EXTRACT(f FROM x)` -> `lw_extract` (numeric), `date_part` -> `lw_date_part`
//!   (double precision), `date_trunc`, `age`, `AT TIME ZONE`, `make_interval`, `to_char`,
//!   `current_date`, `localtimestamp`, `localtime`, `clock_timestamp`,
//!   `to_timestamp(seconds)`;
//! - `sum`/`avg` over intervals -> `lw_interval_sum`/`lw_interval_avg`; `max`,
//!   `min` and `ORDER BY` over interval expressions -> `COLLATE lw_interval`;
//! - comparisons of mixed `date`/`timestamp`/`timestamptz` widen the narrower side.
//!
//! The runtime functions live in `store::datetime_functions`; the operand types
//! travel as text arguments because SQLite values do not carry them.

use sqlparser::ast::{BinaryOperator, DateTimeField, Expr, Function};

use super::expr::{Typer, call, cast_call, coerce_literal, function_args, literal_text, string};
use crate::error::{Error, Result, SqlState};
use crate::types::datetime_math::{Op, at_time_zone_type, result_type, unknown_operand_type};
use crate::types::interval::Interval;
use crate::types::{ColumnType, PgType};

fn plain(ty: PgType) -> ColumnType {
    ColumnType::plain(ty)
}

fn is_datetime(ty: PgType) -> bool {
    matches!(
        ty,
        PgType::Date | PgType::Time | PgType::Timestamp | PgType::Timestamptz | PgType::Interval
    )
}

/// A string literal or a parameter: context decides its type.
fn is_literal_or_param(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Value(sqlparser::ast::ValueWithSpan {
            value: sqlparser::ast::Value::Placeholder(_)
                | sqlparser::ast::Value::SingleQuotedString(_),
            ..
        })
    )
}

/// `INTERVAL '1 day'`, `INTERVAL '1' DAY`.
pub(super) fn interval_literal(interval: &sqlparser::ast::Interval) -> Result<Expr> {
    let Some(mut text) = literal_text(&interval.value) else {
        return Err(Error::unsupported("INTERVAL with a non-literal value"));
    };
    if interval.last_field.is_some() {
        return Err(Error::unsupported("INTERVAL field ranges"));
    }
    let field = interval
        .leading_field
        .as_ref()
        .map(|f| f.to_string().to_ascii_lowercase());
    // `INTERVAL '2' HOUR` counts in the field; `INTERVAL '1 day 02:03' HOUR`
    // keeps nothing below it.
    let bare_number = text.trim().parse::<f64>().is_ok();
    if let (Some(field), true) = (&field, bare_number) {
        text = format!("{text} {field}");
    }
    let mut value = Interval::parse(&text)?;
    if let (Some(field), false) = (&field, bare_number) {
        value = crate::types::date_part::truncate_interval(field, value)?;
    }
    let canonical = value.to_string();
    Ok(cast_call(string(&canonical), None, plain(PgType::Interval)))
}

fn op_of(op: &BinaryOperator) -> Option<Op> {
    Some(match op {
        BinaryOperator::Plus => Op::Add,
        BinaryOperator::Minus => Op::Sub,
        BinaryOperator::Multiply => Op::Mul,
        BinaryOperator::Divide => Op::Div,
        _ => return None,
    })
}

fn dt_call(op: Op, left: Expr, lt: PgType, right: Expr, rt: PgType) -> Expr {
    call(
        "lw_dt_op",
        vec![
            string(op.symbol()),
            left,
            string(lt.name()),
            right,
            string(rt.name()),
        ],
    )
}

/// Arithmetic with a date/time operand, or None when neither operand is one.
pub(super) fn arithmetic(
    typer: &mut Typer<'_>,
    left: &mut Expr,
    op: &BinaryOperator,
    right: &mut Expr,
) -> Result<Option<Expr>> {
    let Some(op) = op_of(op) else {
        return Ok(None);
    };
    let (mut lt, mut rt) = (typer.type_of(left), typer.type_of(right));
    let dt = |t: Option<ColumnType>| t.is_some_and(|t| is_datetime(t.ty));
    if !dt(lt) && !dt(rt) {
        return Ok(None);
    }
    // `ts + '1 day'`, `ts - $1`, `interval * $1`: the unknown side takes its type.
    let (lt0, rt0) = (lt, rt);
    for (side, side_ty, other) in [(&mut *left, &mut lt, rt0), (&mut *right, &mut rt, lt0)] {
        let untyped = side_ty.is_none_or(|t| t.ty == PgType::Unknown);
        let Some(other) = other.filter(|_| untyped && is_literal_or_param(side)) else {
            continue;
        };
        let guess = unknown_operand_type(op, other.ty).or(match (op, other.ty) {
            (Op::Mul | Op::Div, PgType::Interval) => Some(PgType::Float8),
            _ => None,
        });
        if let Some(guess) = guess {
            typer.infer_param(side, plain(guess));
            coerce_literal(side, plain(guess))?;
            *side_ty = Some(plain(guess));
        }
    }
    // An operand of no known type (a subquery's column) is typed by its value
    // at run time; two known types must have an operator.
    let (l, r) = (
        lt.map_or(PgType::Unknown, |t| t.ty),
        rt.map_or(PgType::Unknown, |t| t.ty),
    );
    let known = l != PgType::Unknown && r != PgType::Unknown;
    if known && result_type(op, l, r).is_none() {
        return Err(Error::new(
            SqlState::UndefinedFunction,
            format!(
                "operator does not exist: {} {} {}",
                l.name(),
                op.symbol(),
                r.name()
            ),
        ));
    }
    let take = |e: &mut Expr| std::mem::replace(e, Expr::Value(sqlparser::ast::Value::Null.into()));
    Ok(Some(dt_call(op, take(left), l, take(right), r)))
}

/// `-interval`.
pub(super) fn negate(typer: &Typer<'_>, inner: &mut Expr) -> Option<Expr> {
    if typer.type_of(inner)?.ty != PgType::Interval {
        return None;
    }
    let inner = std::mem::replace(inner, Expr::Value(sqlparser::ast::Value::Null.into()));
    let minus_one = Expr::Value(sqlparser::ast::Value::Number("-1".into(), false).into());
    Some(dt_call(
        Op::Mul,
        inner,
        PgType::Interval,
        minus_one,
        PgType::Int4,
    ))
}

/// Where an instant type stands in Postgres's implicit promotions
/// (`date` -> `timestamp` -> `timestamptz`).
fn instant_rank(ty: PgType) -> Option<u8> {
    match ty {
        PgType::Date => Some(0),
        PgType::Timestamp => Some(1),
        PgType::Timestamptz => Some(2),
        _ => None,
    }
}

/// Comparisons whose stored texts do not compare as the values do: an
/// interval operand (`'1 mon' = '30 days'`) goes through `lw_interval_cmp`; a
/// `date` or `timestamp` compared with a wider instant type is cast up first,
/// as Postgres does (`date '2024-01-01' = timestamp '2024-01-01 00:00'`).
pub(super) fn comparison(
    typer: &Typer<'_>,
    left: &mut Expr,
    op: &BinaryOperator,
    right: &mut Expr,
) -> Option<Expr> {
    let (lt, rt) = (typer.type_of(left)?.ty, typer.type_of(right)?.ty);
    let take = |e: &mut Expr| std::mem::replace(e, Expr::Value(sqlparser::ast::Value::Null.into()));
    if lt == PgType::Interval || rt == PgType::Interval {
        return Some(Expr::BinaryOp {
            left: Box::new(call("lw_interval_cmp", vec![take(left), take(right)])),
            op: op.clone(),
            right: Box::new(Expr::Value(
                sqlparser::ast::Value::Number("0".into(), false).into(),
            )),
        });
    }
    let (lr, rr) = (instant_rank(lt)?, instant_rank(rt)?);
    let widen =
        |e: &mut Expr, from: PgType, to: PgType| cast_call(take(e), Some(plain(from)), plain(to));
    let (l, r) = match lr.cmp(&rr) {
        std::cmp::Ordering::Equal => return None,
        std::cmp::Ordering::Less => (widen(left, lt, rt), take(right)),
        std::cmp::Ordering::Greater => (take(left), widen(right, rt, lt)),
    };
    Some(Expr::BinaryOp {
        left: Box::new(l),
        op: op.clone(),
        right: Box::new(r),
    })
}

/// The date/time type of a source operand; an `unknown` one is read as
/// `timestamptz`, Postgres's preferred date/time type.
fn source_type(typer: &mut Typer<'_>, expr: &mut Expr) -> Result<PgType> {
    match typer.type_of(expr) {
        Some(t) if is_datetime(t.ty) => Ok(t.ty),
        _ if is_literal_or_param(expr) => {
            typer.infer_param(expr, plain(PgType::Timestamptz));
            coerce_literal(expr, plain(PgType::Timestamptz))?;
            Ok(PgType::Timestamptz)
        }
        // A subquery's column: typed by its value at run time.
        None => Ok(PgType::Unknown),
        Some(t) if t.ty == PgType::Unknown => Ok(PgType::Unknown),
        Some(t) => Err(Error::new(
            SqlState::UndefinedFunction,
            format!("function does not exist for type {}", t.ty.name()),
        )),
    }
}

/// `EXTRACT(field FROM x)`.
pub(super) fn extract(
    typer: &mut Typer<'_>,
    field: &DateTimeField,
    inner: &mut Expr,
) -> Result<Expr> {
    let ty = source_type(typer, inner)?;
    let inner = std::mem::replace(inner, Expr::Value(sqlparser::ast::Value::Null.into()));
    let field = match field {
        DateTimeField::Custom(ident) => super::ident_text(ident),
        other => other.to_string().to_ascii_lowercase(),
    };
    Ok(call(
        "lw_extract",
        vec![string(&field), inner, string(ty.name())],
    ))
}

/// `x AT TIME ZONE zone`.
pub(super) fn at_time_zone(
    typer: &mut Typer<'_>,
    value: &mut Expr,
    zone: &mut Expr,
) -> Result<Expr> {
    let ty = source_type(typer, value)?;
    typer.infer_param(zone, plain(PgType::Text));
    let take = |e: &mut Expr| std::mem::replace(e, Expr::Value(sqlparser::ast::Value::Null.into()));
    Ok(call(
        "lw_at_time_zone",
        vec![take(value), string(ty.name()), take(zone)],
    ))
}

/// The transaction's start (`now()`) as another date/time type.
fn now_as(ty: PgType) -> Expr {
    cast_call(
        call("lw_now", vec![]),
        Some(plain(PgType::Timestamptz)),
        plain(ty),
    )
}

/// `make_interval(years, months, weeks, days, hours, mins, secs)`, each
/// optional and nameable (`make_interval(days => 10)`).
fn make_interval(typer: &mut Typer<'_>, f: &Function) -> Result<Expr> {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    const NAMES: [&str; 7] = ["years", "months", "weeks", "days", "hours", "mins", "secs"];
    let zero = || Expr::Value(sqlparser::ast::Value::Number("0".into(), false).into());
    let mut values: Vec<Expr> = NAMES.iter().map(|_| zero()).collect();
    let FunctionArguments::List(list) = &f.args else {
        return Ok(call("lw_make_interval", values));
    };
    for (position, arg) in list.args.iter().enumerate() {
        let (slot, expr) = match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => (Some(position), e),
            FunctionArg::Named {
                name,
                arg: FunctionArgExpr::Expr(e),
                ..
            }
            | FunctionArg::ExprNamed {
                name: Expr::Identifier(name),
                arg: FunctionArgExpr::Expr(e),
                ..
            } => {
                let name = super::ident_text(name);
                (NAMES.iter().position(|n| *n == name), e)
            }
            _ => (None, &values[0]),
        };
        let slot = slot.filter(|s| *s < NAMES.len()).ok_or_else(|| {
            Error::new(
                SqlState::UndefinedFunction,
                "function make_interval with these arguments does not exist",
            )
        })?;
        let ty = if slot == 6 {
            PgType::Float8
        } else {
            PgType::Int4
        };
        typer.infer_param(expr, plain(ty));
        values[slot] = expr.clone();
    }
    Ok(call("lw_make_interval", values))
}

/// `x COLLATE lw_interval`: orders interval text by value.
fn by_interval_value(expr: Expr) -> Expr {
    Expr::Collate {
        expr: Box::new(expr),
        collation: sqlparser::ast::ObjectName(vec![sqlparser::ast::ObjectNamePart::Identifier(
            sqlparser::ast::Ident::new("lw_interval"),
        )]),
    }
}

/// `ORDER BY` an interval expression (or an output column naming one) sorts by
/// value: interval columns carry the `lw_interval` collation, expressions get it here.
pub(super) fn order_by_intervals(typer: &Typer<'_>, query: &mut sqlparser::ast::Query) {
    use sqlparser::ast::{OrderByKind, SelectItem, SetExpr};
    let Some(order_by) = &mut query.order_by else {
        return;
    };
    let OrderByKind::Expressions(items) = &mut order_by.kind else {
        return;
    };
    let projection = match query.body.as_ref() {
        SetExpr::Select(select) => select.projection.as_slice(),
        _ => &[],
    };
    let output_type = |name: &str| {
        projection.iter().find_map(|item| match item {
            SelectItem::ExprWithAlias { expr, alias } if super::ident_text(alias) == name => {
                typer.type_of(expr)
            }
            _ => None,
        })
    };
    for item in items {
        let ty = typer.type_of(&item.expr).or_else(|| match &item.expr {
            Expr::Identifier(name) => output_type(&super::ident_text(name)),
            _ => None,
        });
        if ty.is_some_and(|t| t.ty == PgType::Interval) {
            let expr = std::mem::replace(
                &mut item.expr,
                Expr::Value(sqlparser::ast::Value::Null.into()),
            );
            item.expr = by_interval_value(expr);
        }
    }
}

/// `max`/`min` over interval expressions compare values, not texts.
fn interval_extreme(typer: &Typer<'_>, f: &Function, args: &[Expr]) -> Option<Expr> {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    let [arg] = args else {
        return None;
    };
    if typer.type_of(arg)?.ty != PgType::Interval {
        return None;
    }
    let mut collated = f.clone();
    if let FunctionArguments::List(list) = &mut collated.args {
        list.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(
            by_interval_value(arg.clone()),
        ))];
    }
    Some(Expr::Function(collated))
}

/// `sum`/`avg` over intervals add the parts, not the texts.
fn interval_aggregate(typer: &Typer<'_>, f: &Function, args: &[Expr]) -> Option<Expr> {
    let [arg] = args else {
        return None;
    };
    if typer.type_of(arg)?.ty != PgType::Interval {
        return None;
    }
    let name = match super::expr::object_name(&f.name).as_str() {
        "sum" => "lw_interval_sum",
        _ => "lw_interval_avg",
    };
    let mut renamed = f.clone();
    renamed.name = sqlparser::ast::ObjectName(vec![sqlparser::ast::ObjectNamePart::Identifier(
        sqlparser::ast::Ident::new(name),
    )]);
    Some(Expr::Function(renamed))
}

/// Date/time functions: `date_part`, `date_trunc`, `age`, `current_date`.
pub(super) fn function(typer: &mut Typer<'_>, name: &str, f: &Function) -> Result<Option<Expr>> {
    let mut args: Vec<Expr> = function_args(f).into_iter().cloned().collect();
    Ok(Some(match (name, args.as_mut_slice()) {
        ("current_date", []) => now_as(PgType::Date),
        ("localtimestamp", []) => now_as(PgType::Timestamp),
        ("localtime", []) => now_as(PgType::Time),
        ("clock_timestamp", []) => call("lw_clock_timestamp", vec![]),
        ("to_timestamp", [seconds]) => {
            typer.infer_param(seconds, plain(PgType::Float8));
            call("lw_to_timestamp", vec![seconds.clone()])
        }
        ("make_interval", _) => make_interval(typer, f)?,
        ("sum" | "avg", _) => match interval_aggregate(typer, f, &args) {
            Some(e) => e,
            None => return Ok(None),
        },
        ("max" | "min", _) => match interval_extreme(typer, f, &args) {
            Some(e) => e,
            None => return Ok(None),
        },
        ("justify_hours" | "justify_days" | "justify_interval", [value]) => {
            typer.infer_param(value, plain(PgType::Interval));
            return Ok(None);
        }
        ("date_part" | "date_trunc", [unit, value]) => {
            typer.infer_param(unit, plain(PgType::Text));
            let ty = source_type(typer, value)?;
            let runtime = if name == "date_part" {
                "lw_date_part"
            } else {
                "lw_date_trunc"
            };
            call(
                runtime,
                vec![unit.clone(), value.clone(), string(ty.name())],
            )
        }
        // date_trunc(unit, timestamptz, zone): truncated on the wall clock of `zone`.
        ("date_trunc", [unit, value, zone]) => {
            typer.infer_param(unit, plain(PgType::Text));
            typer.infer_param(zone, plain(PgType::Text));
            typer.infer_param(value, plain(PgType::Timestamptz));
            let (tz, ts) = (
                string(PgType::Timestamptz.name()),
                string(PgType::Timestamp.name()),
            );
            let local = call("lw_at_time_zone", vec![value.clone(), tz, zone.clone()]);
            let truncated = call("lw_date_trunc", vec![unit.clone(), local, ts.clone()]);
            call("lw_at_time_zone", vec![truncated, ts, zone.clone()])
        }
        ("to_char", [value, template])
            if typer.type_of(value).is_some_and(|t| is_datetime(t.ty)) =>
        {
            typer.infer_param(template, plain(PgType::Text));
            let ty = source_type(typer, value)?;
            call(
                "lw_to_char",
                vec![value.clone(), template.clone(), string(ty.name())],
            )
        }
        ("age", [value]) => {
            typer.infer_param(value, plain(PgType::Timestamp));
            call("lw_age", vec![now_as(PgType::Date), value.clone()])
        }
        ("age", [a, b]) => {
            for side in [&mut *a, &mut *b] {
                typer.infer_param(side, plain(PgType::Timestamp));
            }
            call("lw_age", vec![a.clone(), b.clone()])
        }
        ("make_date", [y, m, d]) => {
            for part in [y, m, d] {
                typer.infer_param(part, plain(PgType::Int4));
            }
            return Ok(None);
        }
        _ => return Ok(None),
    }))
}

/// The result types of the runtime functions above.
pub(super) fn function_type(name: &str, args: &[&Expr]) -> Option<ColumnType> {
    let type_at = |i: usize| literal_text(args.get(i)?).and_then(|t| PgType::from_sql_name(&t));
    Some(plain(match name {
        "lw_dt_op" => result_type(
            Op::from_symbol(&literal_text(args.first()?)?)?,
            type_at(2)?,
            type_at(4)?,
        )?,
        "lw_extract" => PgType::Numeric,
        "lw_clock_timestamp" | "lw_to_timestamp" => PgType::Timestamptz,
        "lw_to_char" => PgType::Text,
        "lw_date_part" => PgType::Float8,
        "lw_date_trunc" => match type_at(2)? {
            PgType::Unknown => return None,
            t @ (PgType::Interval | PgType::Timestamp) => t,
            _ => PgType::Timestamptz,
        },
        "lw_age" | "lw_make_interval" | "lw_interval_sum" | "lw_interval_avg" | "justify_hours"
        | "justify_days" | "justify_interval" => PgType::Interval,
        "lw_at_time_zone" => at_time_zone_type(type_at(1)?)?,
        "make_date" => PgType::Date,
        "lw_interval_cmp" => PgType::Int4,
        _ => return None,
    }))
}

/// The type an expression declares before typing: a typed literal or a cast.
fn declared_type(expr: &Expr) -> Option<PgType> {
    let data_type = match expr {
        Expr::TypedString(typed) => &typed.data_type,
        Expr::Cast { data_type, .. } => data_type,
        Expr::Interval(_) => return Some(PgType::Interval),
        Expr::Nested(inner) => return declared_type(inner),
        _ => return None,
    };
    super::expr::column_type(data_type).ok().map(|t| t.ty)
}

/// `generate_series(start, stop, step)` over timestamps, when `step` is an
/// interval (a typed one, or a string literal that reads as one) or a bound is
/// a date/time: a recursive
/// CTE stepping with date/time arithmetic, SQL for `srf` to parse. `date` and
/// untyped starts run as `timestamptz`, Postgres's choice.
pub(super) fn timestamp_series(args: &[Expr], column: &sqlparser::ast::Ident) -> Option<String> {
    let [start, stop, step] = args else {
        return None;
    };
    // The step may be a parameter (plan-cache normalization takes literals
    // out), so a date/time bound is enough: Postgres then wants an interval.
    let instant = |e: &Expr| declared_type(e).is_some_and(|t| instant_rank(t).is_some());
    let interval_step = declared_type(step) == Some(PgType::Interval)
        || literal_text(step).is_some_and(|t| Interval::parse(&t).is_ok())
        || instant(start)
        || instant(stop);
    if !interval_step {
        return None;
    }
    let ty = match declared_type(start) {
        Some(PgType::Timestamp) => "timestamp",
        _ => "timestamptz",
    };
    let (start, stop, step) = (
        format!("CAST(({start}) AS {ty})"),
        format!("CAST(({stop}) AS {ty})"),
        format!("CAST(({step}) AS interval)"),
    );
    let v = format!("CAST(v AS {ty})");
    let within = |x: &str| {
        format!(
            "(({step} > interval '0' AND {x} <= {stop}) OR ({step} < interval '0' AND {x} >= {stop}))"
        )
    };
    Some(format!(
        "WITH RECURSIVE lw_series(v) AS (SELECT {start} \
         UNION ALL SELECT {v} + {step} FROM lw_series WHERE {next}) \
         SELECT {v} AS {column} FROM lw_series WHERE {here}",
        next = within(&format!("{v} + {step}")),
        here = within(&v),
    ))
}
