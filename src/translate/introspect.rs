//! What catalog queries need beyond plain SQL, rewritten before typing:
//!
//! - `pg_catalog.pg_class` and `information_schema.tables` name the TEMP views
//!   of `catalog::relations` (`pg_class`, `"information_schema.tables"`).
//! - Introspection functions (`format_type`, `pg_get_indexdef`,
//!   `pg_get_constraintdef`, `pg_table_is_visible`, `current_schema()`, ...)
//!   become reads of those views or `lw_*` calls.
//! - `x::regclass` looks a relation up by name (a text source) or names it (an
//!   oid source), as the `regclass` input and output functions do; `regtype`,
//!   `regnamespace` and `regproc` likewise.
//! - `~`, `~*`, `!~`, `!~*` and `OPERATOR(pg_catalog.~)` match regular
//!   expressions; `COLLATE "default"`/`"C"` is dropped (SQLite compares
//!   bytes, as the C collation does).
//! - `x = ANY (ARRAY[...])` is `x IN (...)`; `x = ANY (arr)` over an array
//!   in its text form (`{a,b}`, as catalog arrays are served) reads its
//!   elements; `ARRAY(subquery)` builds that text form.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AccessExpr, BinaryOperator, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, Select, SelectItem, SetExpr,
    Subscript, TableAlias, TableFactor, UnaryOperator, VisitMut, VisitorMut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::expr::{call, function_args, object_name};
use crate::catalog::catalog_relation;
use crate::error::{Error, Result};

/// `current_schema`: the first schema of the session's search path that exists.
const CURRENT_SCHEMA: &str = "(SELECT nspname FROM pg_namespace \
     WHERE lw_search_position(nspname) IS NOT NULL ORDER BY lw_search_position(nspname) LIMIT 1)";

/// Rewrites catalog relations, functions, casts and operators in `node`.
pub fn rewrite<T: VisitMut>(node: &mut T) -> Result<()> {
    super::visit(node, &mut Rewriter)
}

struct Rewriter;

impl VisitorMut for Rewriter {
    type Break = Error;

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<Error> {
        let name = object_name(relation);
        if let Some(table) = catalog_relation(&name) {
            *relation = ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote(
                '"',
                table.name.clone(),
            ))]);
        }
        ControlFlow::Continue(())
    }

    /// Result columns keep the names Postgres gives them (`format_type`,
    /// `current_user`) through the rewrites below.
    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        if let SetExpr::Select(select) = query.body.as_mut()
            && let Err(e) = unnest_in_projection(select)
        {
            return ControlFlow::Break(e);
        }
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(
                    expr @ (Expr::Function(_) | Expr::Cast { .. } | Expr::Identifier(_)),
                ) = item
                {
                    let alias = Ident::with_quote('"', super::expr::column_name(expr));
                    let expr = std::mem::replace(expr, Expr::value(sqlparser::ast::Value::Null));
                    *item = SelectItem::ExprWithAlias { expr, alias };
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// `FROM pg_partition_ancestors(rel) [WITH ORDINALITY] AS a(relid, depth)`:
    /// without partitions, a relation's only ancestor is itself.
    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        let Some((function, alias, args)) = super::srf::table_function(factor) else {
            return ControlFlow::Continue(());
        };
        if function != "pg_partition_ancestors" {
            return ControlFlow::Continue(());
        }
        let [FunctionArg::Unnamed(FunctionArgExpr::Expr(relation))] = args else {
            return ControlFlow::Continue(());
        };
        let mut alias = alias.clone().unwrap_or(TableAlias {
            explicit: true,
            name: Ident::new("pg_partition_ancestors"),
            columns: vec![],
        });
        let columns = std::mem::take(&mut alias.columns);
        let column = |i: usize, default: &str| {
            columns
                .get(i)
                .map_or_else(|| default.to_string(), |c| c.name.value.clone())
        };
        let query = format!(
            "SELECT {relation} AS \"{}\", 1 AS \"{}\"",
            column(0, "relid"),
            column(1, "ordinality")
        );
        if let Some(derived) = super::derived_table(&query, Some(alias), "pg_partition_ancestors") {
            *factor = derived;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        match rewrite_expr(expr) {
            Ok(Some(new)) => *expr = new,
            Ok(None) => {}
            Err(e) => return ControlFlow::Break(e),
        }
        ControlFlow::Continue(())
    }
}

fn rewrite_expr(expr: &mut Expr) -> Result<Option<Expr>> {
    Ok(match expr {
        // SQL's niladic functions, written without parentheses.
        Expr::Identifier(ident) if ident.quote_style.is_none() => {
            match ident.value.to_ascii_lowercase().as_str() {
                "current_user" | "session_user" | "current_role" | "user" => {
                    Some(call("lw_current_user", vec![]))
                }
                "current_schema" => Some(parse(CURRENT_SCHEMA)?),
                _ => None,
            }
        }
        Expr::Function(f) => function(f)?,
        Expr::Cast {
            kind: CastKind::DoubleColon | CastKind::Cast,
            expr: inner,
            data_type,
            ..
        } => cast(inner, data_type)?,
        Expr::BinaryOp { left, op, right } => regex(left, op, right)?,
        Expr::Collate {
            expr: inner,
            collation,
        } => {
            let name = object_name(collation);
            let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
            matches!(name, "default" | "c" | "C" | "posix" | "POSIX").then(|| {
                std::mem::replace(inner.as_mut(), Expr::value(sqlparser::ast::Value::Null))
            })
        }
        // `pg_catalog.pg_class.relname`: the relation was renamed, so is its qualifier.
        Expr::CompoundIdentifier(parts) if parts.len() == 3 => {
            let qualified = format!(
                "{}.{}",
                super::ident_text(&parts[0]),
                super::ident_text(&parts[1])
            );
            catalog_relation(&qualified).map(|table| {
                Expr::CompoundIdentifier(vec![
                    Ident::with_quote('"', table.name.clone()),
                    parts[2].clone(),
                ])
            })
        }
        // `arr[i]` on an array in its text form.
        Expr::CompoundFieldAccess { root, access_chain } => match access_chain.as_slice() {
            [AccessExpr::Subscript(Subscript::Index { index })] => Some(call(
                "lw_array_get",
                vec![root.as_ref().clone(), index.clone()],
            )),
            // `con.confkey[pos.n]`: a qualified column, then the subscript.
            [
                AccessExpr::Dot(Expr::Identifier(column)),
                AccessExpr::Subscript(Subscript::Index { index }),
            ] => match root.as_ref() {
                Expr::Identifier(table) => Some(call(
                    "lw_array_get",
                    vec![
                        Expr::CompoundIdentifier(vec![table.clone(), column.clone()]),
                        index.clone(),
                    ],
                )),
                _ => None,
            },
            // `(keys).x` on what `_pg_expandarray` left in a column: the
            // element itself (see `unnest_in_projection`).
            [AccessExpr::Dot(Expr::Identifier(field))]
                if super::ident_text(field) == "x"
                    && matches!(root.as_ref(), Expr::Nested(inner)
                        if matches!(inner.as_ref(), Expr::Identifier(_) | Expr::CompoundIdentifier(_))) =>
            {
                Some(root.as_ref().clone())
            }
            _ => None,
        },
        Expr::AnyOp {
            left,
            compare_op,
            right,
            ..
        } => any(left, compare_op, right, false)?,
        Expr::AllOp {
            left,
            compare_op,
            right,
        } => any(left, compare_op, right, true)?,
        _ => None,
    })
}

/// Parses a rewritten expression; all of `sql` must be one expression.
/// `SELECT a, unnest(arr) AS x, generate_subscripts(arr, 1) AS i FROM t`: one
/// row per element, as Postgres gives for a set-returning function in the
/// select list, by joining the array's elements (`json_each`) to the FROM.
/// Only one array per select list: Postgres zips several arrays of unequal
/// lengths, which a join cannot express.
fn unnest_in_projection(select: &mut Select) -> Result<()> {
    let mut array: Option<String> = None;
    for item in &mut select.projection {
        let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item else {
            continue;
        };
        let Some((f, field)) = set_returning(expr) else {
            continue;
        };
        let name = object_name(&f.name);
        let Some(argument) = function_args(f).first().map(|a| a.to_string()) else {
            continue;
        };
        let bare = name.rsplit('.').next().unwrap_or(&name);
        let column = match (bare, field.as_deref()) {
            ("unnest", None) => "value".to_string(),
            ("generate_subscripts", None) => format!("key + lw_array_lower({argument})"),
            // information_schema._pg_expandarray(arr): (x, n), the element
            // and its 1-based position (PgJDBC's getPrimaryKeys).
            ("_pg_expandarray", None | Some("x")) => "value".to_string(),
            ("_pg_expandarray", Some("n")) => "key + 1".to_string(),
            _ => continue,
        };
        if array.get_or_insert_with(|| argument.clone()) != &argument {
            return Err(Error::unsupported(
                "set-returning functions over different arrays in one select list",
            ));
        }
        *expr = parse(&format!("lw_unnest.{column}"))?;
        if let SelectItem::UnnamedExpr(expr) = item {
            let alias = Ident::new(name.rsplit('.').next().unwrap_or(&name));
            let expr = std::mem::replace(expr, Expr::value(sqlparser::ast::Value::Null));
            *item = SelectItem::ExprWithAlias { expr, alias };
        }
    }
    if let Some(array) = array {
        let query = format!("SELECT * FROM json_each(lw_array_json({array})) AS lw_unnest");
        let Some(TableFactor::Derived { subquery, .. }) =
            super::derived_table(&query, None, "lw_unnest")
        else {
            return Err(Error::internal(format!("unnest rewrite: {query}")));
        };
        let SetExpr::Select(inner) = *subquery.body else {
            return Err(Error::internal(format!("unnest rewrite: {query}")));
        };
        select.from.extend(inner.from);
    }
    Ok(())
}

/// A set-returning call in a select list, bare (`unnest(a)`) or with a field
/// of its composite result (`(_pg_expandarray(a)).n`).
fn set_returning(expr: &Expr) -> Option<(&Function, Option<String>)> {
    match expr {
        Expr::Function(f) => Some((f, None)),
        Expr::Nested(inner) => set_returning(inner),
        Expr::CompoundFieldAccess { root, access_chain } => match access_chain.as_slice() {
            [AccessExpr::Dot(Expr::Identifier(field))] => {
                let (f, None) = set_returning(root)? else {
                    return None;
                };
                Some((f, Some(super::ident_text(field))))
            }
            _ => None,
        },
        _ => None,
    }
}

fn parse(sql: &str) -> Result<Expr> {
    let mut parser = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .map_err(|e| Error::internal(format!("catalog rewrite: {e}")))?;
    let expr = parser
        .parse_expr()
        .map_err(|e| Error::internal(format!("catalog rewrite: {e}")))?;
    if parser.peek_token().token != sqlparser::tokenizer::Token::EOF {
        return Err(Error::internal(format!(
            "catalog rewrite left input: {sql}"
        )));
    }
    Ok(expr)
}

/// `x = ANY (ARRAY[a, b])` is `x IN (a, b)` (NULLs behave the same); over any
/// other array, its elements are read from the array's text form.
/// `x <> ALL (...)` is the negation.
fn any(left: &Expr, op: &BinaryOperator, right: &Expr, all: bool) -> Result<Option<Expr>> {
    let negated = match (op, all) {
        (BinaryOperator::Eq, false) => false,
        (BinaryOperator::NotEq, true) => true,
        _ => return Ok(None),
    };
    if let Expr::Array(array) = right {
        return Ok(Some(Expr::InList {
            expr: Box::new(left.clone()),
            list: array.elem.clone(),
            negated,
        }));
    }
    let not = if negated { "NOT " } else { "" };
    parse(&format!(
        "{left} {not}IN (SELECT value FROM json_each(lw_array_json({right})))"
    ))
    .map(Some)
}

/// Regular-expression operators as `lw_regex` calls.
fn regex(left: &Expr, op: &BinaryOperator, right: &Expr) -> Result<Option<Expr>> {
    use BinaryOperator::*;
    let custom;
    let op = match op {
        PGCustomBinaryOperator(parts) => {
            let symbol = parts.last().map(String::as_str).unwrap_or("");
            custom = match symbol {
                "~" => PGRegexMatch,
                "~*" => PGRegexIMatch,
                "!~" => PGRegexNotMatch,
                "!~*" => PGRegexNotIMatch,
                "=" => Eq,
                "<>" | "!=" => NotEq,
                "<" => Lt,
                "<=" => LtEq,
                ">" => Gt,
                ">=" => GtEq,
                other => return Err(Error::unsupported(format!("operator {other}"))),
            };
            if !matches!(
                custom,
                PGRegexMatch | PGRegexIMatch | PGRegexNotMatch | PGRegexNotIMatch
            ) {
                return Ok(Some(Expr::BinaryOp {
                    left: Box::new(left.clone()),
                    op: custom,
                    right: Box::new(right.clone()),
                }));
            }
            &custom
        }
        other => other,
    };
    let (name, negated) = match op {
        PGRegexMatch => ("lw_regex", false),
        PGRegexIMatch => ("lw_regex_i", false),
        PGRegexNotMatch => ("lw_regex", true),
        PGRegexNotIMatch => ("lw_regex_i", true),
        _ => return Ok(None),
    };
    let matched = call(name, vec![left.clone(), right.clone()]);
    Ok(Some(if negated {
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(Expr::Nested(Box::new(matched))),
        }
    } else {
        matched
    }))
}

/// The `reg*` types: text names in, names out.
fn cast(inner: &Expr, data_type: &DataType) -> Result<Option<Expr>> {
    let target = data_type.to_string().to_ascii_lowercase();
    let target = target.strip_prefix("pg_catalog.").unwrap_or(&target);
    let kind = match target {
        "regclass" => "class",
        "regtype" => "type",
        "regnamespace" => "namespace",
        "regproc" | "regprocedure" => "proc",
        _ => return Ok(None),
    };
    let sql = if names_an_object(inner) {
        // Text in: the oid of the object named (a number is taken as the oid).
        format!(
            "coalesce(lw_oid_text({inner}), (SELECT lw_oid FROM lw_lookup \
             WHERE lw_kind = '{kind}' AND lw_key = lw_stored_relation({inner})), \
             lw_undefined('{kind}', {inner}))"
        )
    } else if kind == "type" {
        format!("lw_format_type({inner}, NULL)")
    } else {
        // An oid in: the object's name, or the number when there is none.
        format!(
            "coalesce((SELECT lw_name FROM lw_lookup WHERE lw_kind = '{kind}' \
             AND lw_oid = {inner}), CAST({inner} AS TEXT))"
        )
    };
    parse(&sql).map(Some)
}

/// Whether a cast source is text naming an object (a literal, a parameter, a
/// text cast) rather than an oid.
fn names_an_object(expr: &Expr) -> bool {
    match expr {
        Expr::Value(v) => !matches!(v.value, sqlparser::ast::Value::Number(..)),
        Expr::Cast { data_type, .. } => {
            matches!(data_type, DataType::Text | DataType::Varchar(_))
        }
        Expr::Nested(e) => names_an_object(e),
        _ => false,
    }
}

/// Introspection functions; `pg_catalog.` qualified or not.
fn function(f: &mut Function) -> Result<Option<Expr>> {
    let name = object_name(&f.name);
    let name = match name.strip_prefix("pg_catalog.") {
        Some(bare) => {
            // Built-ins are pg_catalog's: the translator knows them by their bare name.
            f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(bare))]);
            bare.to_string()
        }
        None => name,
    };
    if name == "array" {
        return array_subquery(f);
    }
    let args: Vec<String> = function_args(f).iter().map(|a| a.to_string()).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| "NULL".into());
    let (a, b) = (arg(0), arg(1));
    let lookup = |kind: &str, oid: &str| {
        format!("(SELECT lw_name FROM lw_lookup WHERE lw_kind = '{kind}' AND lw_oid = {oid})")
    };
    let sql = match name.as_str() {
        // Enum types are the user's: their names are in pg_type only.
        "format_type" => format!(
            "coalesce((SELECT typname FROM pg_type WHERE oid = {a} AND typtype = 'e'), \
             lw_format_type({a}, {b}))"
        ),
        "quote_ident" => format!("lw_quote_ident({a})"),
        "pg_get_expr" => format!("({a})"),
        "pg_get_constraintdef" => lookup("constraintdef", &a),
        "pg_get_indexdef" if args.len() == 1 => lookup("indexdef", &a),
        "pg_get_indexdef" => format!(
            "CASE WHEN {b} = 0 THEN {} ELSE (SELECT lw_name FROM lw_lookup \
             WHERE lw_kind = 'indexcol' AND lw_oid = {a} AND lw_num = {b}) END",
            lookup("indexdef", &a)
        ),
        "pg_get_triggerdef" => lookup("triggerdef", &a),
        "pg_get_viewdef" => lookup("viewdef", &a),
        // The owner of `public` is pg_database_owner, as in Postgres 15.
        "pg_get_userbyid" => {
            format!("CASE {a} WHEN 6171 THEN 'pg_database_owner' ELSE 'postgres' END")
        }
        "pg_get_function_result" => format!(
            "CASE WHEN {} IS NOT NULL THEN 'trigger' END",
            lookup("proc", &a)
        ),
        "pg_get_function_arguments" | "pg_get_function_identity_arguments" => {
            format!("CASE WHEN {} IS NOT NULL THEN '' END", lookup("proc", &a))
        }
        "pg_get_serial_sequence" => format!(
            "(SELECT lw_name FROM lw_lookup WHERE lw_kind = 'serial' \
             AND lw_key = lw_stored_relation({a}) || '.' || {b})"
        ),
        "to_regclass" => format!(
            "(SELECT lw_oid FROM lw_lookup WHERE lw_kind = 'class' AND lw_key = lw_stored_relation({a}))"
        ),
        "to_regtype" => format!(
            "(SELECT lw_oid FROM lw_lookup WHERE lw_kind = 'type' AND lw_key = lw_stored_relation({a}))"
        ),
        // Relations of schemas off the search path are not visible (psql's
        // \dt lists visible ones); every other relation is litewire's.
        "pg_table_is_visible" => format!(
            "coalesce((SELECT lw_search_position(r.nspname) IS NOT NULL FROM lw_relations r \
             WHERE r.oid = {a} - ({a} - 16384) % 16 AND {a} BETWEEN 16384 AND 1073741823), true)"
        ),
        "pg_type_is_visible"
        | "pg_function_is_visible"
        | "has_table_privilege"
        | "has_schema_privilege"
        | "has_database_privilege"
        | "has_column_privilege"
        | "has_sequence_privilege"
        | "has_function_privilege" => "true".into(),
        "pg_relation_is_publishable" => "false".into(),
        "obj_description" => description(&a, "0"),
        "col_description" => description(&a, &b),
        "shobj_description" | "pg_get_statisticsobjdef_columns" => "CAST(NULL AS TEXT)".into(),
        "pg_encoding_to_char" => "'UTF8'".into(),
        // Sizes as SQLite's dbstat counts the pages of each b-tree.
        "pg_table_size" | "pg_relation_size" => pages_size(&format!("name = {}", stored(&a))),
        "pg_total_relation_size" => pages_size(&format!(
            "name IN (SELECT name FROM main.sqlite_schema WHERE tbl_name = {})",
            stored(&a)
        )),
        "pg_indexes_size" => pages_size(&format!(
            "name IN (SELECT name FROM main.sqlite_schema WHERE type = 'index' AND tbl_name = {})",
            stored(&a)
        )),
        "pg_database_size" => "lw_cast((SELECT page_count * page_size \
             FROM pragma_page_count(), pragma_page_size()), 'int8', 'int8')"
            .into(),
        "pg_size_pretty" => format!("lw_size_pretty({a})"),
        "current_database" => "lw_current_database()".into(),
        "current_user" | "session_user" | "user" | "current_role" => "lw_current_user()".into(),
        "current_schema" => CURRENT_SCHEMA.into(),
        "current_schemas" => format!(
            "(SELECT '{{' || group_concat(nspname, ',') || '}}' FROM (SELECT nspname \
             FROM pg_namespace WHERE (nspname = 'pg_catalog' AND {a}) \
             OR lw_search_position(nspname) IS NOT NULL \
             ORDER BY nspname <> 'pg_catalog', lw_search_position(nspname)))"
        ),
        "array_to_string" => format!("lw_array_to_string({a}, {b})"),
        "array_upper" | "array_length" => format!("lw_array_length({a})"),
        "pg_partition_ancestors" => format!("({a})"),
        _ => return Ok(None),
    };
    parse(&sql).map(Some)
}

/// The bytes of the b-trees `filter` picks out of dbstat, as a bigint.
fn pages_size(filter: &str) -> String {
    format!("lw_cast((SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE {filter}), 'int8', 'int8')")
}

/// The stored name of relation `relation`: an oid, or a name (`'t'`, as
/// the implicit cast to regclass takes it).
fn stored(relation: &str) -> String {
    format!(
        "(SELECT name FROM lw_relations WHERE oid = {relation} \
         OR name = lw_stored_relation({relation}))"
    )
}

/// The `pg_description` of object `oid`'s part `subid` (0: the object).
fn description(oid: &str, subid: &str) -> String {
    format!("(SELECT description FROM pg_description WHERE objoid = {oid} AND objsubid = {subid})")
}

/// `ARRAY(SELECT x ...)`: the array's text form, `{a,b}`.
fn array_subquery(f: &mut Function) -> Result<Option<Expr>> {
    let FunctionArguments::Subquery(query) = &mut f.args else {
        return Ok(None);
    };
    let mut query = query.clone();
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Err(Error::unsupported("ARRAY() over a set operation"));
    };
    let [item] = select.projection.as_mut_slice() else {
        return Err(Error::syntax("subquery must return only one column"));
    };
    let expr = match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e.clone(),
        _ => return Err(Error::unsupported("ARRAY(SELECT *)")),
    };
    *item = SelectItem::ExprWithAlias {
        expr,
        alias: Ident::new("lw_elem"),
    };
    parse(&format!(
        "(SELECT lw_array_text(json_group_array(lw_elem)) FROM ({query}) AS lw_array)"
    ))
    .map(Some)
}
