//! Expression rewriting and typing. A post-order pass over every expression of a
//! statement: children are rewritten first, then the parent looks at their types
//! (computed by [`Typer::type_of`], which understands both Postgres expressions
//! and the `lw_*` calls already substituted) and rewrites itself.
//!
//! Rules, each named after the Postgres construct it handles:
//! - `$n` -> `?n` (SQLite numbered parameter); its type is inferred from context.
//! - `x::T`, `CAST(x AS T)`, `T 'lit'` -> `lw_cast(x, 'source', 'T')`.
//! - `->`, `->>` -> `lw_json_get`, `lw_json_get_text` (Postgres jsonb output).
//! - numeric `+ - * / %` -> `lw_num_*`; integer `/ %` -> `lw_div`/`lw_mod` (22012).
//! - a comparison with numeric operands that carry no `lw_numeric` collation ->
//!   `lw_num_cmp(a, b) op 0`.
//! - a string literal compared with a typed expression takes that type (as an
//!   `unknown` literal does in Postgres) and is canonicalized at translate time.
//! - `ILIKE` -> `lower(a) LIKE lower(b)` (LIKE is case-sensitive, as in Postgres).
//! - date/time operators and functions: see `datetime`.
//! - `now()`, `CURRENT_TIMESTAMP` -> `lw_now()`; `gen_random_uuid()` -> `lw_uuid()`;
//!   `sum`/`avg` over numeric -> exact `lw_num_sum`/`lw_num_avg`.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentList, FunctionArguments, Ident, ObjectName, ObjectNamePart, TableFactor,
    UnaryOperator, Value, ValueWithSpan, VisitMut, VisitorMut, visit_expressions_mut,
};

use crate::catalog::{Catalog, Table};
use crate::error::{Error, Result};
use crate::types::{ColumnType, PgType, input};

/// LIKE's escape character when none is given: a backslash, as in
/// Postgres (SQLite has none by default).
fn like_escape() -> Value {
    Value::SingleQuotedString("\\".into())
}

/// Postgres's advisory lock functions, which keep their names (litewire
/// registers them on every SQLite connection).
const ADVISORY_LOCKS: [&str; 6] = [
    "pg_advisory_lock",
    "pg_advisory_xact_lock",
    "pg_try_advisory_lock",
    "pg_try_advisory_xact_lock",
    "pg_advisory_unlock",
    "pg_advisory_unlock_all",
];

/// The element type `array_agg` leaves for [`Typer::type_arrays`] to name.
const UNTYPED_ARRAY: &str = "_lw_untyped";

/// Typing context for one statement: the tables it names (by alias or name)
/// and what has been learned about its parameters.
pub struct Typer<'a> {
    catalog: &'a Catalog,
    tables: Vec<(String, &'a Table)>,
    /// Subqueries in FROM (`(SELECT ...) AS alias`): their result columns,
    /// typed once the subquery is rewritten, so the outer query's columns
    /// that read them keep their types.
    derived: Vec<(String, Vec<(String, ColumnType)>)>,
    pub params: Vec<Option<ColumnType>>,
}

pub fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(i) => super::ident_text(i),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Collects the tables a statement reads or writes, with their aliases.
struct TableCollector<'a, 'b> {
    typer: &'b mut Typer<'a>,
}

impl VisitorMut for TableCollector<'_, '_> {
    type Break = ();
    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, alias, .. } = factor {
            let table_name = object_name(name);
            let alias = alias.as_ref().map(|a| super::ident_text(&a.name));
            self.typer.add_table(&table_name, alias);
        }
        ControlFlow::Continue(())
    }
}

impl<'a> Typer<'a> {
    pub fn new(catalog: &'a Catalog) -> Self {
        Typer {
            catalog,
            tables: Vec::new(),
            derived: Vec::new(),
            params: Vec::new(),
        }
    }

    pub fn catalog(&self) -> &'a Catalog {
        self.catalog
    }

    pub fn add_table(&mut self, name: &str, alias: Option<String>) {
        if let Some(table) = self.catalog.table(name) {
            let key = alias.unwrap_or_else(|| name.rsplit('.').next().unwrap_or(name).to_string());
            self.tables.push((key, table));
        }
    }

    pub fn table(&self, name: &str) -> Option<&'a Table> {
        self.tables
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
            .or_else(|| self.catalog.table(name))
    }

    /// Finds the tables of `node` (a statement or query) before rewriting.
    pub fn collect_tables<T: VisitMut>(&mut self, node: &mut T) {
        let _ = node.visit(&mut TableCollector { typer: self });
    }

    /// Rewrites every expression in `node`.
    pub fn rewrite<T: VisitMut>(&mut self, node: &mut T) -> Result<()> {
        match node.visit(self) {
            ControlFlow::Continue(()) => {}
            ControlFlow::Break(e) => return Err(e),
        }
        self.type_arrays(node);
        Ok(())
    }

    /// Names the array type of each `array_agg` ([`Self::array_agg`]) once
    /// the whole statement is typed: its argument may read a subquery in
    /// FROM, which is rewritten (and typed) after the select list.
    fn type_arrays<T: VisitMut>(&self, node: &mut T) {
        let _ = visit_expressions_mut(node, |e| {
            if let Expr::Function(f) = e
                && object_name(&f.name) == "lw_array_text"
                && let FunctionArguments::List(list) = &mut f.args
                && let [
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Function(agg))),
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(ty)),
                ] = list.args.as_mut_slice()
                && literal_text(ty).as_deref() == Some(UNTYPED_ARRAY)
            {
                let element = function_args(agg)
                    .first()
                    .and_then(|a| self.type_of(a))
                    .map_or(PgType::Text, |t| t.ty);
                *ty = string(element.array().typname());
            }
            ControlFlow::<()>::Continue(())
        });
    }

    fn column(&self, qualifier: Option<&str>, column: &str) -> Option<ColumnType> {
        self.table_column(qualifier, column)
            .or_else(|| self.derived_column(qualifier, column))
    }

    fn derived_column(&self, qualifier: Option<&str>, column: &str) -> Option<ColumnType> {
        self.derived
            .iter()
            .filter(|(alias, _)| qualifier.is_none_or(|q| q.eq_ignore_ascii_case(alias)))
            .find_map(|(_, columns)| {
                columns
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(column))
                    .map(|(_, ty)| *ty)
            })
    }

    fn table_column(&self, qualifier: Option<&str>, column: &str) -> Option<ColumnType> {
        match qualifier {
            Some(q) if q.eq_ignore_ascii_case("excluded") => self
                .tables
                .first()
                .and_then(|(_, t)| t.column(column))
                .map(|c| c.ty),
            Some(q) => self.table(q)?.column(column).map(|c| c.ty),
            None => self
                .tables
                .iter()
                .find_map(|(_, t)| t.column(column))
                .map(|c| c.ty),
        }
    }

    /// Whether `expr` may be NULL: anything but a NOT NULL or primary key
    /// column (whose ORDER BY is left as is, so SQLite can still walk an
    /// index in order).
    fn nullable(&self, expr: &Expr) -> bool {
        let (qualifier, column) = match expr {
            Expr::Identifier(i) => (None, super::ident_text(i)),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => (
                Some(super::ident_text(&parts[parts.len() - 2])),
                super::ident_text(&parts[parts.len() - 1]),
            ),
            _ => return true,
        };
        let found = match qualifier {
            Some(q) => self.table(&q).and_then(|t| t.column(&column)),
            None => self.tables.iter().find_map(|(_, t)| t.column(&column)),
        };
        !found.is_some_and(|c| c.not_null || c.primary_key)
    }

    fn param_index(name: &str) -> Option<usize> {
        name.strip_prefix('?')
            .or_else(|| name.strip_prefix('$'))?
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n - 1)
    }

    fn note_param(&mut self, index: usize) {
        if self.params.len() <= index {
            self.params.resize(index + 1, None);
        }
    }

    /// A char(n) value as text: its blank padding trimmed (what Postgres's
    /// cast from `character` to `text` does).
    fn unpad(&self, expr: &mut Expr) {
        if self.type_of(expr).is_some_and(|t| t.ty == PgType::Bpchar) {
            let padded = std::mem::replace(expr, Expr::value(Value::Null));
            *expr = call("rtrim", vec![padded, string(" ")]);
        }
    }

    /// Gives parameter `expr` the type `ty` if it is a still-untyped parameter.
    pub fn infer_param(&mut self, expr: &Expr, ty: ColumnType) {
        if let Expr::Value(ValueWithSpan {
            value: Value::Placeholder(p),
            ..
        }) = expr
            && let Some(i) = Self::param_index(p)
        {
            self.note_param(i);
            // An `unknown` (string) parameter takes its type from context.
            if self.params[i].is_none_or(|t| t.ty == PgType::Unknown) {
                self.params[i] = Some(ty);
            }
        }
    }

    /// The Postgres type of an (already rewritten) expression, when known.
    pub fn type_of(&self, expr: &Expr) -> Option<ColumnType> {
        let plain = |t| Some(ColumnType::plain(t));
        match expr {
            Expr::Identifier(i) => self.column(None, &super::ident_text(i)),
            Expr::CompoundIdentifier(parts) => {
                let n = parts.len();
                let col = super::ident_text(&parts[n - 1]);
                let qual = (n >= 2).then(|| super::ident_text(&parts[n - 2]));
                self.column(qual.as_deref(), &col)
            }
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => plain(number_type(n)),
                Value::SingleQuotedString(_)
                | Value::EscapedStringLiteral(_)
                | Value::DollarQuotedString(_) => plain(PgType::Unknown),
                Value::Boolean(_) => plain(PgType::Bool),
                Value::Placeholder(p) => {
                    Self::param_index(p).and_then(|i| self.params.get(i).copied().flatten())
                }
                _ => None,
            },
            Expr::Nested(e) | Expr::Collate { expr: e, .. } => self.type_of(e),
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                ..
            } => plain(PgType::Bool),
            Expr::UnaryOp { expr, .. } => self.type_of(expr),
            Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNotFalse(_)
            | Expr::IsDistinctFrom(..)
            | Expr::IsNotDistinctFrom(..)
            | Expr::InList { .. }
            | Expr::InSubquery { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::ILike { .. }
            | Expr::Exists { .. } => plain(PgType::Bool),
            Expr::BinaryOp { left, op, right } => self.binary_type(left, op, right),
            Expr::Function(f) => self.function_type(f),
            Expr::Case {
                conditions,
                else_result,
                ..
            } => conditions
                .iter()
                .find_map(|c| self.type_of(&c.result).filter(|t| t.ty != PgType::Unknown))
                .or_else(|| else_result.as_ref().and_then(|e| self.type_of(e))),
            Expr::Substring { .. } | Expr::Trim { .. } => plain(PgType::Text),
            Expr::Subquery(query) => match query.body.as_ref() {
                sqlparser::ast::SetExpr::Select(select) => match select.projection.first()? {
                    sqlparser::ast::SelectItem::UnnamedExpr(e)
                    | sqlparser::ast::SelectItem::ExprWithAlias { expr: e, .. } => self.type_of(e),
                    _ => None,
                },
                _ => None,
            },
            Expr::Position { .. } => plain(PgType::Int4),
            _ => None,
        }
    }

    fn binary_type(&self, left: &Expr, op: &BinaryOperator, right: &Expr) -> Option<ColumnType> {
        use BinaryOperator::*;
        match op {
            Eq | NotEq | Lt | LtEq | Gt | GtEq | And | Or | Spaceship => {
                Some(ColumnType::plain(PgType::Bool))
            }
            StringConcat => Some(ColumnType::plain(PgType::Text)),
            Plus | Minus | Multiply | Divide | Modulo => {
                let (l, r) = (self.type_of(left)?.ty, self.type_of(right)?.ty);
                Some(ColumnType::plain(arithmetic_type(l, r)))
            }
            _ => None,
        }
    }

    fn function_type(&self, f: &Function) -> Option<ColumnType> {
        let name = object_name(&f.name);
        let args = function_args(f);
        let arg = |i: usize| args.get(i).and_then(|a| self.type_of(a));
        let plain = |t| Some(ColumnType::plain(t));
        match name.as_str() {
            "lw_cast" => literal_text(args.get(2)?).and_then(|t| ColumnType::parse(&t)),
            "lw_in" => literal_text(args.get(1)?).and_then(|t| ColumnType::parse(&t)),
            "lw_num_add" | "lw_num_sub" | "lw_num_mul" | "lw_num_div" | "lw_num_mod"
            | "lw_num_sum" | "lw_num_avg" => plain(PgType::Numeric),
            "lw_now" => plain(PgType::Timestamptz),
            "lw_regex" | "lw_regex_i" | "lw_array_contains" | "lw_array_overlap" => {
                plain(PgType::Bool)
            }
            "lw_current_database" | "lw_current_user" => plain(PgType::Name),
            "lw_format_type" | "lw_array_to_string" | "lw_stored_relation" | "lw_array_get"
            | "lw_size_pretty" => plain(PgType::Text),
            "lw_array_text" => args
                .get(1)
                .and_then(|a| literal_text(a))
                .and_then(|t| PgType::from_sql_name(&t))
                .or(Some(PgType::TextArray))
                .map(ColumnType::plain),
            "lw_array_length" => plain(PgType::Int4),
            "lw_uuid" => plain(PgType::Uuid),
            "lw_backend_pid" => plain(PgType::Int4),
            "lw_enum_in" => args
                .get(1)?
                .to_string()
                .parse()
                .ok()
                .map(ColumnType::enumerated),
            "lw_nextval" | "lw_currval" | "lw_setval" | "lw_lastval" => plain(PgType::Int8),
            "lw_notify" => plain(PgType::Void),
            "pg_advisory_lock" | "pg_advisory_xact_lock" | "pg_advisory_unlock_all" => {
                plain(PgType::Void)
            }
            "pg_try_advisory_lock" | "pg_try_advisory_xact_lock" | "pg_advisory_unlock" => {
                plain(PgType::Bool)
            }
            "lw_publish_batch" => plain(PgType::Int8),
            "lw_json_get" => plain(PgType::Jsonb),
            "lw_json_get_text" => plain(PgType::Text),
            "lw_div" | "lw_mod" => {
                let (l, r) = (arg(0)?.ty, arg(1)?.ty);
                plain(arithmetic_type(l, r))
            }
            "count" => plain(PgType::Int8),
            "sum" => match arg(0)?.ty {
                t if t.is_float() => plain(PgType::Float8),
                _ => plain(PgType::Int8),
            },
            "avg" => plain(PgType::Float8),
            "lower" | "upper" | "group_concat" | "string_agg" | "concat" | "replace" | "substr"
            | "ltrim" | "rtrim" | "btrim" | "md5" | "version" | "repeat" | "lpad" | "rpad"
            | "initcap" | "left" | "right" | "split_part" | "reverse" | "translate"
            | "current_setting" | "set_config" | "regexp_replace" | "quote_literal" | "to_hex"
            | "chr" | "trim" => plain(PgType::Text),
            "ascii" | "instr" => plain(PgType::Int4),
            "starts_with" => plain(PgType::Bool),
            "sqrt" | "cbrt" | "exp" | "ln" | "log" | "power" | "pow" | "pi" | "degrees"
            | "radians" => plain(PgType::Float8),
            "ceil" | "floor" | "trunc" => arg(0),
            "length" | "char_length" | "octet_length" | "strpos" => plain(PgType::Int4),
            "random" => plain(PgType::Float8),
            "max" | "min" | "coalesce" | "nullif" | "abs" | "greatest" | "least" | "lag"
            | "lead" | "first_value" | "last_value" | "nth_value" => args
                .iter()
                .find_map(|a| self.type_of(a).filter(|t| t.ty != PgType::Unknown)),
            other => super::json::function_type(other)
                .map(ColumnType::plain)
                .or_else(|| super::datetime::function_type(&name, &args)),
        }
    }

    fn on_expr(&mut self, expr: &mut Expr) -> Result<()> {
        match expr {
            // `E'a\nb'`: SQLite has no escape strings; the value is already unescaped.
            Expr::Value(ValueWithSpan {
                value: v @ Value::EscapedStringLiteral(_),
                ..
            }) => {
                if let Value::EscapedStringLiteral(s) = v {
                    *v = Value::SingleQuotedString(std::mem::take(s));
                }
            }
            Expr::Value(ValueWithSpan {
                value: Value::Placeholder(p),
                ..
            }) => {
                let index = Self::param_index(p)
                    .ok_or_else(|| Error::syntax(format!("syntax error at or near \"{p}\"")))?;
                self.note_param(index);
                *p = format!("?{}", index + 1);
            }
            Expr::Cast {
                kind,
                expr: inner,
                data_type,
                ..
            } => {
                if *kind == CastKind::TryCast || *kind == CastKind::SafeCast {
                    return Err(Error::unsupported("TRY_CAST"));
                }
                if let Some(oid) = super::enums::oid(super::enums::named(data_type, self.catalog)) {
                    *expr = super::enums::checked(take(inner), oid, self.catalog)?;
                    return Ok(());
                }
                // Arrays live in their text form (`{a,b}`): a cast to `text[]`
                // (or varchar[], name[]) types it, a cast to another array
                // type keeps the text (Django's `UNNEST(%s::int[], ...)`).
                if let DataType::Array(element) = data_type {
                    let textual = match element {
                        sqlparser::ast::ArrayElemTypeDef::AngleBracket(t)
                        | sqlparser::ast::ArrayElemTypeDef::SquareBracket(t, _)
                        | sqlparser::ast::ArrayElemTypeDef::Parenthesis(t) => {
                            column_type(t).is_ok_and(|t| t.ty.is_textual())
                        }
                        sqlparser::ast::ArrayElemTypeDef::None => false,
                    };
                    let target = ColumnType::plain(PgType::TextArray);
                    self.infer_param(
                        inner,
                        if textual {
                            target
                        } else {
                            ColumnType::plain(PgType::Text)
                        },
                    );
                    let source = self.type_of(inner);
                    *expr = if textual {
                        cast_call(take(inner), source, target)
                    } else {
                        take(inner)
                    };
                    return Ok(());
                }
                let target = column_type(data_type)?;
                // The parameter takes the base type; the cast applies the
                // modifier (truncating varchar(n), rounding numeric(p,s)).
                self.infer_param(inner, ColumnType::plain(target.ty));
                let source = self.type_of(inner);
                *expr = cast_call(take(inner), source, target);
            }
            Expr::TypedString(typed) => {
                let target = column_type(&typed.data_type)?;
                let literal = Expr::Value(typed.value.clone());
                *expr = cast_call(literal, None, target);
            }
            // `~~`, `~~*` and their negations are LIKE and ILIKE.
            Expr::BinaryOp {
                left,
                op:
                    op @ (BinaryOperator::PGLikeMatch
                    | BinaryOperator::PGILikeMatch
                    | BinaryOperator::PGNotLikeMatch
                    | BinaryOperator::PGNotILikeMatch),
                right,
            } => {
                use BinaryOperator::{PGILikeMatch, PGNotILikeMatch, PGNotLikeMatch};
                let negated = matches!(op, PGNotLikeMatch | PGNotILikeMatch);
                let (inner, pattern) = (Box::new(take(left)), Box::new(take(right)));
                *expr = if matches!(op, PGILikeMatch | PGNotILikeMatch) {
                    Expr::ILike {
                        negated,
                        any: false,
                        expr: inner,
                        pattern,
                        escape_char: None,
                    }
                } else {
                    Expr::Like {
                        negated,
                        any: false,
                        expr: inner,
                        pattern,
                        escape_char: None,
                    }
                };
                return self.on_expr(expr);
            }
            Expr::BinaryOp { left, op, right } => {
                let enum_oid = super::enums::oid(self.type_of(left))
                    .or_else(|| super::enums::oid(self.type_of(right)));
                if let Some(oid) = enum_oid.filter(|_| is_comparison(op)) {
                    **left = super::enums::ordinal(take(left), oid, self.catalog)?;
                    **right = super::enums::ordinal(take(right), oid, self.catalog)?;
                }
                if let Some(rewritten) = self.binary(left, op, right)? {
                    *expr = rewritten;
                }
            }
            Expr::ILike {
                negated,
                expr: inner,
                pattern,
                escape_char,
                any: false,
            } => {
                self.infer_param(pattern, ColumnType::plain(PgType::Text));
                *expr = Expr::Like {
                    negated: *negated,
                    any: false,
                    expr: Box::new(call("lower", vec![take(inner)])),
                    pattern: Box::new(call("lower", vec![take(pattern)])),
                    escape_char: Some(escape_char.clone().unwrap_or_else(like_escape)),
                };
            }
            Expr::Like {
                pattern,
                escape_char,
                ..
            } => {
                self.infer_param(pattern, ColumnType::plain(PgType::Text));
                escape_char.get_or_insert_with(like_escape);
            }
            Expr::InList {
                expr: inner, list, ..
            } => {
                if let Some(ty) = self.type_of(inner).filter(|t| t.ty != PgType::Unknown) {
                    for item in list.iter_mut() {
                        self.infer_param(item, ty);
                        coerce_literal(item, ty)?;
                    }
                }
            }
            Expr::Between {
                expr: inner,
                low,
                high,
                ..
            } => {
                if let Some(ty) = self.type_of(inner).filter(|t| t.ty != PgType::Unknown) {
                    for bound in [low, high] {
                        self.infer_param(bound, ty);
                        coerce_literal(bound, ty)?;
                    }
                }
            }
            // sqlparser reads `ceil(x)` and `floor(x)` as syntax of their own.
            Expr::Ceil {
                expr: inner,
                field:
                    sqlparser::ast::CeilFloorKind::DateTimeField(
                        sqlparser::ast::DateTimeField::NoDateTime,
                    ),
            } => *expr = call("ceil", vec![take(inner)]),
            Expr::Floor {
                expr: inner,
                field:
                    sqlparser::ast::CeilFloorKind::DateTimeField(
                        sqlparser::ast::DateTimeField::NoDateTime,
                    ),
            } => *expr = call("floor", vec![take(inner)]),
            Expr::Position { expr: needle, r#in } => {
                *expr = call("instr", vec![take(r#in), take(needle)]);
            }
            Expr::Substring {
                expr: text,
                substring_from,
                substring_for,
                ..
            } => {
                let from = substring_from.take().map_or_else(|| number("1"), |f| *f);
                let mut args = vec![take(text), from];
                args.extend(substring_for.take().map(|f| *f));
                *expr = call("substr", args);
            }
            Expr::Trim {
                expr: text,
                trim_where,
                trim_what,
                trim_characters: None,
            } => {
                use sqlparser::ast::TrimWhereField;
                let name = match trim_where {
                    Some(TrimWhereField::Leading) => "ltrim",
                    Some(TrimWhereField::Trailing) => "rtrim",
                    Some(TrimWhereField::Both) | None => "trim",
                };
                let mut args = vec![take(text)];
                args.extend(trim_what.take().map(|w| *w));
                *expr = call(name, args);
            }
            Expr::Function(f) => {
                if let Some(rewritten) = self.function(f)? {
                    *expr = rewritten;
                }
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => *expr = super::datetime::at_time_zone(self, timestamp, time_zone)?,
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: inner,
            } => {
                if let Some(negated) = super::datetime::negate(self, inner) {
                    *expr = negated;
                }
            }
            Expr::Array(array) => {
                // `ARRAY[a, b]`: the array's text form, typed by its elements.
                let element = array
                    .elem
                    .iter()
                    .find_map(|e| self.type_of(e).filter(|t| t.ty != PgType::Unknown))
                    .map_or(PgType::Text, |t| t.ty);
                let elements = std::mem::take(&mut array.elem);
                *expr = call(
                    "lw_array_text",
                    vec![
                        call("json_array", elements),
                        string(element.array().typname()),
                    ],
                );
            }
            Expr::AnyOp { .. } | Expr::AllOp { .. } => {
                return Err(Error::unsupported("ANY/ALL over arrays"));
            }
            Expr::Extract {
                field, expr: inner, ..
            } => *expr = super::datetime::extract(self, field, inner)?,
            Expr::Interval(interval) => *expr = super::datetime::interval_literal(interval)?,
            _ => {}
        }
        Ok(())
    }

    /// `@>`, `<@` and `&&` between arrays (jsonb has its own `@>`).
    fn array_operator(
        &mut self,
        left: &mut Box<Expr>,
        op: &BinaryOperator,
        right: &mut Box<Expr>,
    ) -> Option<Expr> {
        use BinaryOperator::*;
        if !matches!(op, AtArrow | ArrowAt | PGOverlap) {
            return None;
        }
        let array = [&**left, &**right]
            .iter()
            .find_map(|e| self.type_of(e).filter(|t| t.ty.element().is_some()))?;
        for side in [&mut *left, &mut *right] {
            self.infer_param(side, array);
        }
        let (a, b) = (take(left), take(right));
        Some(match op {
            ArrowAt => call("lw_array_contains", vec![b, a]),
            PGOverlap => call("lw_array_overlap", vec![a, b]),
            _ => call("lw_array_contains", vec![a, b]),
        })
    }

    fn binary(
        &mut self,
        left: &mut Box<Expr>,
        op: &BinaryOperator,
        right: &mut Box<Expr>,
    ) -> Result<Option<Expr>> {
        use BinaryOperator::*;
        if let Some(rewritten) = self.array_operator(left, op, right) {
            return Ok(Some(rewritten));
        }
        if let Some(rewritten) = super::json::operator(self, left, op, right)? {
            return Ok(Some(rewritten));
        }
        if *op == StringConcat {
            // char(n) becomes text without its padding before `||`.
            for side in [&mut *left, &mut *right] {
                self.unpad(side);
            }
            return Ok(None);
        }
        match op {
            Arrow | LongArrow => {
                self.infer_param(right, ColumnType::plain(PgType::Text));
                let name = if *op == Arrow {
                    "lw_json_get"
                } else {
                    "lw_json_get_text"
                };
                Ok(Some(call(name, vec![take(left), take(right)])))
            }
            Eq | NotEq | Lt | LtEq | Gt | GtEq => {
                let (lt, rt) = (self.type_of(left), self.type_of(right));
                if let Some(t) = rt.filter(|t| t.ty != PgType::Unknown) {
                    self.infer_param(left, t);
                    coerce_literal(left, t)?;
                }
                if let Some(t) = lt.filter(|t| t.ty != PgType::Unknown) {
                    self.infer_param(right, t);
                    coerce_literal(right, t)?;
                }
                if let Some(cmp) = super::datetime::comparison(self, left, op, right) {
                    return Ok(Some(cmp));
                }
                let numeric = |t: Option<ColumnType>| t.is_some_and(|t| t.ty == PgType::Numeric);
                let collated = |e: &Expr, t: Option<ColumnType>| {
                    numeric(t) && matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                };
                if (numeric(lt) || numeric(rt)) && !collated(left, lt) && !collated(right, rt) {
                    let cmp = call("lw_num_cmp", vec![take(left), take(right)]);
                    return Ok(Some(Expr::BinaryOp {
                        left: Box::new(cmp),
                        op: op.clone(),
                        right: Box::new(number("0")),
                    }));
                }
                Ok(None)
            }
            Plus | Minus | Multiply | Divide | Modulo => {
                if let Some(e) = super::datetime::arithmetic(self, left, op, right)? {
                    return Ok(Some(e));
                }
                let (lt, rt) = (self.type_of(left), self.type_of(right));
                for (side, other) in [(&mut *left, rt), (&mut *right, lt)] {
                    if let Some(t) = other.filter(|t| t.ty != PgType::Unknown) {
                        self.infer_param(side, t);
                    }
                }
                let kinds = (lt.map(|t| t.ty), rt.map(|t| t.ty));
                if [kinds.0, kinds.1].iter().any(|k| {
                    matches!(
                        k,
                        Some(
                            PgType::Timestamp
                                | PgType::Timestamptz
                                | PgType::Date
                                | PgType::Interval
                                | PgType::Time
                        )
                    )
                }) {
                    return Err(Error::unsupported("date/time arithmetic"));
                }
                let numeric = matches!(
                    kinds,
                    (Some(PgType::Numeric), _) | (_, Some(PgType::Numeric))
                ) && !matches!(kinds, (Some(t), _) | (_, Some(t)) if t.is_float());
                let name = match (numeric, op) {
                    (true, Plus) => "lw_num_add",
                    (true, Minus) => "lw_num_sub",
                    (true, Multiply) => "lw_num_mul",
                    (true, Divide) => "lw_num_div",
                    (true, _) => "lw_num_mod",
                    (false, Divide) => "lw_div",
                    (false, Modulo) => "lw_mod",
                    (false, _) => return Ok(None),
                };
                Ok(Some(call(name, vec![take(left), take(right)])))
            }
            _ => Ok(None),
        }
    }

    /// `array_agg(x)`: the array in its text form (`{a,b}`), typed as an
    /// array of x's type, keeping the aggregate's DISTINCT, ORDER BY and FILTER.
    fn array_agg(&self, f: &Function) -> Expr {
        let mut aggregate = f.clone();
        aggregate.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(
            "json_group_array",
        ))]);
        call(
            "lw_array_text",
            vec![Expr::Function(aggregate), string(UNTYPED_ARRAY)],
        )
    }

    /// The typed result columns of a rewritten query (its first SELECT's).
    fn result_types(&self, query: &sqlparser::ast::Query) -> Option<Vec<(String, ColumnType)>> {
        use sqlparser::ast::{SelectItem, SetExpr};
        let SetExpr::Select(select) = query.body.as_ref() else {
            return None;
        };
        let columns = select
            .projection
            .iter()
            .filter_map(|item| {
                let (name, expr) = match item {
                    SelectItem::UnnamedExpr(e) => (column_name(e), e),
                    SelectItem::ExprWithAlias { expr, alias } => (super::ident_text(alias), expr),
                    _ => return None,
                };
                Some((name, self.type_of(expr)?))
            })
            .collect();
        Some(columns)
    }

    /// Types the subqueries in a query's FROM (on a copy) before the visit
    /// reaches its select list, which comes first but reads them: so that
    /// `s.total * 2` over a numeric `s.total` is exact arithmetic.
    fn type_derived_early(&mut self, query: &mut sqlparser::ast::Query) {
        for select in super::lateral::selects(&mut query.body) {
            for (factor, _) in super::lateral::factors(select) {
                let TableFactor::Derived {
                    subquery,
                    alias: Some(alias),
                    ..
                } = factor
                else {
                    continue;
                };
                let mut copy = (**subquery).clone();
                let mut typer = Typer {
                    catalog: self.catalog,
                    tables: self.tables.clone(),
                    derived: self.derived.clone(),
                    params: self.params.clone(),
                };
                if copy.visit(&mut typer).is_break() {
                    continue;
                }
                typer.type_arrays(&mut copy);
                if let Some(columns) = typer.result_types(&copy) {
                    self.derived.push((super::ident_text(&alias.name), columns));
                }
            }
        }
    }

    fn function(&mut self, f: &mut Function) -> Result<Option<Expr>> {
        let name = object_name(&f.name);
        if let Some(rewritten) = super::json::function(self, &name, f)? {
            return Ok(Some(rewritten));
        }
        if name == "array_agg" {
            return Ok(Some(self.array_agg(f)));
        }
        if name == "lw_array_json" {
            // `= ANY($1)`: the array comes in its text form, `{1,2}`.
            for arg in function_args(f) {
                self.infer_param(arg, ColumnType::plain(PgType::TextArray));
            }
        }
        if let Some(e) = super::datetime::function(self, &name, f)? {
            return Ok(Some(e));
        }
        let args = function_args(f);
        if ADVISORY_LOCKS.contains(&name.as_str()) {
            // One bigint key, or two int keys (store::advisory runs them).
            let ty = if args.len() == 2 {
                PgType::Int4
            } else {
                PgType::Int8
            };
            for arg in &args {
                self.infer_param(arg, ColumnType::plain(ty));
            }
            return Ok(None);
        }
        let arg_type = |i: usize| args.get(i).and_then(|a| self.type_of(a)).map(|t| t.ty);
        let renamed = match name.as_str() {
            "now" | "current_timestamp" | "transaction_timestamp" | "statement_timestamp" => {
                return Ok(Some(call("lw_now", vec![])));
            }
            "gen_random_uuid" | "uuid_generate_v4" => return Ok(Some(call("lw_uuid", vec![]))),
            "pg_backend_pid" => return Ok(Some(call("lw_backend_pid", vec![]))),
            "nextval" => "lw_nextval",
            "currval" => "lw_currval",
            "setval" => "lw_setval",
            "lastval" => "lw_lastval",
            "litewire.publish_batch" => {
                for arg in function_args(f) {
                    self.infer_param(arg, ColumnType::plain(PgType::Text));
                }
                "lw_publish_batch"
            }
            "pg_notify" => {
                for arg in function_args(f) {
                    self.infer_param(arg, ColumnType::plain(PgType::Text));
                }
                "lw_notify"
            }
            "version" => {
                return Ok(Some(string(&format!(
                    "PostgreSQL 15.0 (litewire {}) on SQLite {}",
                    env!("CARGO_PKG_VERSION"),
                    rusqlite::version()
                ))));
            }
            "sum" if arg_type(0) == Some(PgType::Numeric) => "lw_num_sum",
            "avg" if !arg_type(0).is_some_and(|t| t.is_float()) => "lw_num_avg",
            "string_agg" => "group_concat",
            "pg_typeof" => {
                let ty = args.first().and_then(|a| self.type_of(a));
                return Ok(Some(string(ty.map_or("unknown", |t| t.ty.name()))));
            }
            "mod"
                if arg_type(0) == Some(PgType::Numeric) || arg_type(1) == Some(PgType::Numeric) =>
            {
                "lw_num_mod"
            }
            "mod" => "lw_mod",
            "ceiling" => "ceil",
            // Booleans are 0/1: all true is the minimum, any true the maximum.
            "bool_and" | "every" => "min",
            "bool_or" => "max",
            "char_length" | "character_length" | "length" => {
                // The padding of char(n) does not count, as in Postgres.
                if let FunctionArguments::List(list) = &mut f.args
                    && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) =
                        list.args.first_mut()
                {
                    self.unpad(arg);
                }
                "length"
            }
            "greatest" => "max",
            "least" => "min",
            "btrim" => "trim",
            "strpos" => "instr",
            _ => return Ok(None),
        };
        f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(renamed))]);
        Ok(None)
    }
}

impl VisitorMut for Typer<'_> {
    type Break = Error;

    /// `LIMIT $n` and `OFFSET $n` are bigint parameters, as Postgres types them.
    fn pre_visit_query(&mut self, query: &mut sqlparser::ast::Query) -> ControlFlow<Error> {
        use sqlparser::ast::LimitClause;
        let (limit, offset) = match &query.limit_clause {
            Some(LimitClause::LimitOffset { limit, offset, .. }) => {
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
            None => (None, None),
        };
        for expr in limit.into_iter().chain(offset).cloned().collect::<Vec<_>>() {
            self.infer_param(&expr, ColumnType::plain(PgType::Int8));
        }
        self.type_derived_early(query);
        ControlFlow::Continue(())
    }

    /// `ORDER BY`: NULLs sort as Postgres sorts them (last ascending, first
    /// descending; SQLite does the opposite), and a jsonb expression sorts in
    /// jsonb's order (`lw_jsonb`).
    fn post_visit_query(&mut self, query: &mut sqlparser::ast::Query) -> ControlFlow<Error> {
        use sqlparser::ast::OrderByKind;
        super::datetime::order_by_intervals(self, query);
        super::enums::order_by(query, |e| self.type_of(e));
        let Some(OrderByKind::Expressions(items)) = query.order_by.as_mut().map(|o| &mut o.kind)
        else {
            return ControlFlow::Continue(());
        };
        for item in items {
            if item.options.nulls_first.is_none() && self.nullable(&item.expr) {
                item.options.nulls_first = Some(item.options.asc == Some(false));
            }
            if self
                .type_of(&item.expr)
                .is_some_and(|t| t.ty == PgType::Jsonb)
            {
                let sorted = std::mem::replace(&mut item.expr, Expr::value(Value::Null));
                item.expr = Expr::Collate {
                    expr: Box::new(sorted),
                    collation: ObjectName(vec![ObjectNamePart::Identifier(Ident::new("lw_jsonb"))]),
                };
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        if let Expr::Function(f) = expr {
            super::sequences::name_argument(f);
        }
        ControlFlow::Continue(())
    }

    /// Records a rewritten subquery's typed result columns under its alias.
    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        let TableFactor::Derived {
            subquery,
            alias: Some(alias),
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        // Its own FROM is typed by now: its arrays can be named.
        self.type_arrays(subquery.as_mut());
        if let Some(columns) = self.result_types(subquery) {
            self.derived.push((super::ident_text(&alias.name), columns));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        match self.on_expr(expr) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

fn is_comparison(op: &BinaryOperator) -> bool {
    use BinaryOperator::*;
    matches!(op, Eq | NotEq | Lt | LtEq | Gt | GtEq)
}

/// The type of an arithmetic result, by Postgres's promotion rules.
fn arithmetic_type(l: PgType, r: PgType) -> PgType {
    use PgType::*;
    match (l, r) {
        (a, b) if a.is_float() || b.is_float() => Float8,
        (Numeric, _) | (_, Numeric) => Numeric,
        (Int8, _) | (_, Int8) => Int8,
        (Int2, Int2) => Int2,
        _ => Int4,
    }
}

/// A numeric literal's type: int4 if it fits, int8, else numeric.
pub(super) fn number_type(text: &str) -> PgType {
    if text.contains(['.', 'e', 'E']) {
        PgType::Numeric
    } else if text.parse::<i32>().is_ok() {
        PgType::Int4
    } else if text.parse::<i64>().is_ok() {
        PgType::Int8
    } else {
        PgType::Numeric
    }
}

pub fn column_type(data_type: &DataType) -> Result<ColumnType> {
    let text = data_type.to_string();
    if let Some(ty) = ColumnType::parse(&text) {
        return Ok(ty);
    }
    if text.ends_with("[]") || matches!(data_type, DataType::Array(_)) {
        return Err(Error::unsupported(format!("array type {text}")));
    }
    Err(Error::unsupported(format!(
        "type {}",
        text.to_ascii_lowercase()
    )))
}

pub fn function_args(f: &Function) -> Vec<&Expr> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn literal_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s),
            ..
        }) => Some(s.clone()),
        _ => None,
    }
}

fn take_expr(expr: &mut Expr) -> Expr {
    std::mem::replace(expr, Expr::Value(Value::Null.into()))
}

pub(super) fn take(expr: &mut Box<Expr>) -> Expr {
    std::mem::replace(&mut **expr, Expr::Value(Value::Null.into()))
}

pub fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

pub fn string(s: &str) -> Expr {
    Expr::Value(Value::SingleQuotedString(s.to_string()).into())
}

pub(super) fn number(s: &str) -> Expr {
    Expr::Value(Value::Number(s.to_string(), false).into())
}

pub(super) fn cast_call(inner: Expr, source: Option<ColumnType>, target: ColumnType) -> Expr {
    let source = source.map(|s| s.ty.name()).unwrap_or("");
    call(
        "lw_cast",
        vec![inner, string(source), string(&target.to_sql())],
    )
}

/// Wraps a value written into a column of type `ty` so it is stored canonically:
/// literals are converted now, parameters are typed, anything else goes through
/// `lw_in` at run time unless it already has the column's type.
pub fn coerce_to_column(typer: &mut Typer<'_>, expr: &mut Expr, ty: ColumnType) -> Result<()> {
    if let Some(oid) = super::enums::oid(Some(ty)) {
        typer.infer_param(expr, ColumnType::plain(PgType::Text));
        *expr = super::enums::checked(take_expr(expr), oid, typer.catalog)?;
        return Ok(());
    }
    if let Expr::Value(ValueWithSpan {
        value: Value::Placeholder(_),
        ..
    }) = expr
    {
        typer.infer_param(expr, ty);
        if typer.type_of(expr) == Some(ty) {
            return Ok(());
        }
    }
    if coerce_literal(expr, ty)? {
        return Ok(());
    }
    if matches!(
        expr,
        Expr::Value(ValueWithSpan {
            value: Value::Null,
            ..
        })
    ) {
        return Ok(());
    }
    let current = typer.type_of(expr).map(|t| t.ty);
    let same_storage =
        current == Some(ty.ty) && matches!(ty.modifier, crate::types::TypeModifier::None);
    let integer_into_integer = current.is_some_and(|c| c.is_integer()) && ty.ty == PgType::Int8;
    if !(same_storage
        || integer_into_integer
        || ty.ty.is_textual()
            && current.is_some_and(|c| c.is_textual())
            && ty.modifier == crate::types::TypeModifier::None)
    {
        let inner = std::mem::replace(expr, Expr::Value(Value::Null.into()));
        *expr = call("lw_in", vec![inner, string(&ty.to_sql())]);
    }
    Ok(())
}

/// Converts a literal into the canonical SQLite literal of `ty`. Returns whether
/// `expr` was a literal.
pub fn coerce_literal(expr: &mut Expr, ty: ColumnType) -> Result<bool> {
    let Expr::Value(v) = expr else {
        return Ok(false);
    };
    let text = match &v.value {
        Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => s.clone(),
        Value::Number(n, _) if !ty.ty.is_textual() => n.clone(),
        Value::Boolean(b) if ty.ty == PgType::Bool => {
            return Ok({
                v.value = Value::Number(if *b { "1" } else { "0" }.into(), false);
                true
            });
        }
        _ => return Ok(false),
    };
    if ty.ty == PgType::Unknown {
        return Ok(true);
    }
    v.value = match input::from_text(ty, &text)? {
        rusqlite::types::Value::Null => Value::Null,
        rusqlite::types::Value::Integer(i) => Value::Number(i.to_string(), false),
        rusqlite::types::Value::Real(f) => {
            if f.is_finite() {
                Value::Number(format!("{f:?}"), false)
            } else {
                return Err(Error::unsupported("non-finite float literal"));
            }
        }
        rusqlite::types::Value::Text(s) => Value::SingleQuotedString(s),
        rusqlite::types::Value::Blob(b) => {
            Value::HexStringLiteral(b.iter().map(|x| format!("{x:02x}")).collect())
        }
    };
    Ok(true)
}

/// Postgres's name for an unaliased result column (`FigureColname`).
pub fn column_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(i) => super::ident_text(i),
        Expr::CompoundIdentifier(parts) => parts.last().map(super::ident_text).unwrap_or_default(),
        Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(i)) => super::ident_text(i),
            _ => "?column?".into(),
        },
        Expr::Cast {
            expr, data_type, ..
        } => match column_name(expr).as_str() {
            "?column?" => column_type(data_type)
                .map(|t| t.ty.typname().to_string())
                .unwrap_or_else(|_| "?column?".into()),
            name => name.to_string(),
        },
        Expr::Nested(e) => column_name(e),
        Expr::Case { .. } => "case".into(),
        Expr::Position { .. } => "position".into(),
        Expr::Substring { .. } => "substring".into(),
        Expr::Trim { trim_where, .. } => match trim_where {
            Some(sqlparser::ast::TrimWhereField::Leading) => "ltrim".into(),
            Some(sqlparser::ast::TrimWhereField::Trailing) => "rtrim".into(),
            _ => "btrim".into(),
        },
        Expr::Ceil { .. } => "ceil".into(),
        Expr::Floor { .. } => "floor".into(),
        Expr::Extract { .. } => "extract".into(),
        Expr::Interval(_) => "interval".into(),
        Expr::AtTimeZone { .. } => "timezone".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Value(ValueWithSpan {
            value: Value::Boolean(_),
            ..
        }) => "bool".into(),
        Expr::TypedString(t) => column_type(&t.data_type)
            .map(|t| t.ty.typname().to_string())
            .unwrap_or_else(|_| "?column?".into()),
        _ => "?column?".into(),
    }
}
