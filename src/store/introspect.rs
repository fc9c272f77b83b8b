//! SQL functions behind the `pg_catalog` / `information_schema` views
//! (`sql/catalog/`) and the introspection functions the translator maps onto
//! them: type facts for a column's Postgres type, identifier quoting, defaults
//! and foreign-key actions printed the way Postgres prints them, and regular
//! expression matching (`~`, which psql's `\d` uses).

use rusqlite::Connection;
use rusqlite::functions::Context;
use rusqlite::types::{Value, ValueRef};

use crate::error::{SqlState, function_error};
use crate::types::{ColumnType, PgType, TypeModifier, array};

use super::functions::PURE;

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("lw_pg_type", 2, PURE, |ctx| {
        let decl: Option<String> = ctx.get(0)?;
        let declared: Option<String> = ctx.get(1)?;
        let ty = declared
            .as_deref()
            .and_then(ColumnType::parse)
            .unwrap_or_else(|| super::schema::type_from_decl(decl.as_deref().unwrap_or("")));
        Ok(ty.to_sql())
    })?;
    conn.create_scalar_function("lw_type", 2, PURE, |ctx| {
        let ty: Option<String> = ctx.get(0)?;
        let attr: String = ctx.get(1)?;
        Ok(ty
            .as_deref()
            .and_then(ColumnType::parse)
            .map_or(Value::Null, |t| type_fact(t, &attr)))
    })?;
    conn.create_scalar_function("lw_format_type", 2, PURE, |ctx| {
        let oid: Option<i64> = ctx.get(0)?;
        let typmod: Option<i64> = ctx.get(1)?;
        Ok(oid.map(|oid| format_type(oid, typmod.unwrap_or(-1))))
    })?;
    conn.create_scalar_function("lw_quote_ident", 1, PURE, |ctx| {
        let name: Option<String> = ctx.get(0)?;
        Ok(name.map(|n| quote_ident(&n)))
    })?;
    conn.create_scalar_function("lw_pg_default", 2, PURE, |ctx| {
        let default: Option<String> = ctx.get(0)?;
        let ty: Option<String> = ctx.get(1)?;
        let ty = ty.as_deref().and_then(ColumnType::parse);
        Ok(default.map(|d| pg_default(&d, ty)))
    })?;
    conn.create_scalar_function("lw_fk_action", 1, PURE, |ctx| {
        Ok(fk_action(ctx)?.0.to_string())
    })?;
    conn.create_scalar_function("lw_fk_rule", 1, PURE, |ctx| {
        let letter: Option<String> = ctx.get(0)?;
        let rule = FK_ACTIONS
            .iter()
            .find(|(l, _)| Some(l.to_string()) == letter)
            .map_or("NO ACTION", |(_, r)| r);
        Ok(rule.to_string())
    })?;
    conn.create_scalar_function("lw_fk_clause", 2, PURE, |ctx| {
        let event: String = ctx.get(0)?;
        let (letter, rule) = fk_action_at(ctx, 1)?;
        Ok(if letter == 'a' {
            String::new()
        } else {
            format!(" ON {event} {rule}")
        })
    })?;
    // The oid a reg* input names by number (`'16385'::regclass`), else NULL.
    conn.create_scalar_function("lw_oid_text", 1, PURE, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Integer(i) => Some(i),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|t| t.parse::<u32>().ok())
                .map(i64::from),
            _ => None,
        })
    })?;
    conn.create_scalar_function("lw_size_pretty", 1, PURE, |ctx| {
        let size: Option<f64> = ctx.get(0)?;
        Ok(size.map(|s| size_pretty(s as i64)))
    })?;
    // A name (an oid names nothing here: NULL).
    conn.create_scalar_function("lw_stored_relation", 1, PURE, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => std::str::from_utf8(t).ok().map(stored_relation),
            _ => None,
        })
    })?;
    conn.create_scalar_function(
        "lw_undefined",
        2,
        PURE,
        |ctx| -> rusqlite::Result<Option<i64>> {
            let relation: String = ctx.get(0)?;
            let name: Option<String> = ctx.get(1)?;
            let Some(name) = name else {
                return Ok(None);
            };
            let (state, what) = match relation.as_str() {
                "class" => (SqlState::UndefinedTable, "relation"),
                "type" => (SqlState::UndefinedObject, "type"),
                "namespace" => (SqlState::InvalidSchemaName, "schema"),
                _ => (SqlState::UndefinedFunction, "function"),
            };
            Err(function_error(
                state,
                format!("{what} \"{name}\" does not exist"),
            ))
        },
    )?;
    conn.create_scalar_function("lw_array_json", 1, PURE, |ctx| {
        let text: Option<String> = ctx.get(0)?;
        Ok(text.map(|t| {
            let elements = vector_or_array(&t)
                .into_iter()
                .map(|e| element_number(&e).map_or(serde_json::Value::from(e), Into::into));
            serde_json::Value::Array(elements.collect()).to_string()
        }))
    })?;
    // int2vector and oidvector (`indkey`) count from 0, arrays from 1.
    conn.create_scalar_function("lw_array_lower", 1, PURE, |ctx| {
        let text: Option<String> = ctx.get(0)?;
        Ok(text.map(|t| i64::from(t.trim_start().starts_with('{'))))
    })?;
    // A JSON array in an array's text form; with an array type name, the
    // elements written as that type writes them (`0` -> `f` for `_bool`).
    for arity in [1, 2] {
        conn.create_scalar_function("lw_array_text", arity, PURE, move |ctx| {
            let json: Option<String> = ctx.get(0)?;
            let elements: Vec<serde_json::Value> = json
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default();
            let text = array::text(&elements);
            let ty = match arity {
                2 => PgType::from_sql_name(&ctx.get::<String>(1)?),
                _ => None,
            };
            match ty {
                Some(ty) if ty.element().is_some() => {
                    array::canonical(ty, &text).map_err(|e| function_error(e.state, e.message))
                }
                _ => Ok(text),
            }
        })?;
    }
    conn.create_scalar_function("lw_array_to_string", 2, PURE, |ctx| {
        let text: Option<String> = ctx.get(0)?;
        let sep: Option<String> = ctx.get(1)?;
        Ok(text.map(|t| array::elements(&t).join(sep.as_deref().unwrap_or(""))))
    })?;
    conn.create_scalar_function("lw_array_get", 2, PURE, |ctx| {
        let text: Option<String> = ctx.get(0)?;
        let index: Option<i64> = ctx.get(1)?;
        let (Some(text), Some(index)) = (text, index) else {
            return Ok(None);
        };
        let at = usize::try_from(index - 1).ok();
        Ok(at
            .and_then(|i| array::elements(&text).into_iter().nth(i))
            .map(|e| element_number(&e).map_or(Value::Text(e), Value::Integer)))
    })?;
    conn.create_scalar_function("lw_array_length", 1, PURE, |ctx| {
        let text: Option<String> = ctx.get(0)?;
        Ok(text
            .map(|t| array::elements(&t).len() as i64)
            .filter(|n| *n > 0))
    })?;
    // `a @> b` (every element of b is in a) and `a && b` (one in common);
    // NULL elements match nothing, as in Postgres.
    conn.create_scalar_function("lw_array_contains", 2, PURE, |ctx| {
        let (Some(a), Some(b)) = (array_arg(ctx, 0)?, array_arg(ctx, 1)?) else {
            return Ok(None);
        };
        Ok(Some(b.iter().all(|e| e.is_some() && a.contains(e))))
    })?;
    conn.create_scalar_function("lw_array_overlap", 2, PURE, |ctx| {
        let (Some(a), Some(b)) = (array_arg(ctx, 0)?, array_arg(ctx, 1)?) else {
            return Ok(None);
        };
        Ok(Some(b.iter().any(|e| e.is_some() && a.contains(e))))
    })?;
    register_regex(conn, "lw_regex", "")?;
    register_regex(conn, "lw_regex_i", "(?i)")?;
    Ok(())
}

/// Argument `i` as an array's elements (None for NULL).
fn array_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<Vec<Option<String>>>> {
    let text: Option<String> = ctx.get(i)?;
    text.map(|t| array::parse(&t).map_err(super::functions::to_sqlite))
        .transpose()
}

/// Foreign-key actions: `pg_constraint` letter and the SQL words.
const FK_ACTIONS: [(char, &str); 5] = [
    ('a', "NO ACTION"),
    ('r', "RESTRICT"),
    ('c', "CASCADE"),
    ('n', "SET NULL"),
    ('d', "SET DEFAULT"),
];

fn fk_action(ctx: &Context<'_>) -> rusqlite::Result<(char, &'static str)> {
    fk_action_at(ctx, 0)
}

fn fk_action_at(ctx: &Context<'_>, idx: usize) -> rusqlite::Result<(char, &'static str)> {
    let words: Option<String> = ctx.get(idx)?;
    let words = words.unwrap_or_default().to_ascii_uppercase();
    Ok(FK_ACTIONS
        .iter()
        .copied()
        .find(|(_, w)| *w == words)
        .unwrap_or(FK_ACTIONS[0]))
}

/// `text ~ pattern` (and `~*` with the `(?i)` prefix). Patterns are compiled
/// once per statement and argument (SQLite's auxiliary data).
fn register_regex(conn: &Connection, name: &str, prefix: &'static str) -> rusqlite::Result<()> {
    conn.create_scalar_function(name, 2, PURE, move |ctx| {
        let re = ctx.get_or_create_aux(1, |pattern| -> Result<regex::Regex, String> {
            let pattern = pattern.as_str().unwrap_or("");
            regex::Regex::new(&format!("{prefix}{pattern}")).map_err(|e| {
                let state = crate::error::SqlState::InvalidRegularExpression.code();
                let prefix = crate::error::FUNCTION_ERROR_PREFIX;
                format!("{prefix}{state}:invalid regular expression: {e}")
            })
        })?;
        let text: Option<String> = ctx.get(0)?;
        Ok(text.map(|t| re.is_match(&t)))
    })
}

/// One fact about a type, by the name of the catalog column that shows it.
fn type_fact(t: ColumnType, attr: &str) -> Value {
    use PgType::*;
    let int = |v: i64| Value::Integer(v);
    let text = |v: &str| Value::Text(v.to_string());
    let (length, precision, scale) = match t.modifier {
        TypeModifier::Length(n) => (Some(n as i64), None, None),
        TypeModifier::Numeric { precision, scale } => {
            (None, Some(precision as i64), Some(scale as i64))
        }
        TypeModifier::None | TypeModifier::Enum(_) | TypeModifier::Precision(_) => {
            (None, None, None)
        }
    };
    let opt = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
    match attr {
        "oid" => int(t.oid() as i64),
        "len" => int(t.ty.size() as i64),
        "typmod" => int(t.typmod() as i64),
        "data_type" if matches!(t.modifier, TypeModifier::Enum(_)) => text("USER-DEFINED"),
        "data_type" => text(t.ty.name()),
        "udt_name" => text(t.ty.typname()),
        "character_maximum_length" => opt(length),
        "character_octet_length" => match t.ty {
            Text | Varchar | Bpchar => int(length.map_or(1_073_741_824, |n| n * 4)),
            _ => Value::Null,
        },
        "numeric_precision" => match t.ty {
            Int2 => int(16),
            Int4 => int(32),
            Int8 => int(64),
            Float4 => int(24),
            Float8 => int(53),
            Numeric => opt(precision),
            _ => Value::Null,
        },
        "numeric_precision_radix" => match t.ty {
            Int2 | Int4 | Int8 | Float4 | Float8 => int(2),
            Numeric => int(10),
            _ => Value::Null,
        },
        "numeric_scale" => match t.ty {
            Int2 | Int4 | Int8 => int(0),
            Numeric => opt(scale),
            _ => Value::Null,
        },
        "datetime_precision" => match t.ty {
            Date => int(0),
            Time | Timestamp | Timestamptz | Interval => int(6),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// `format_type(oid, typmod)`.
fn format_type(oid: i64, typmod: i64) -> String {
    let oid = u32::try_from(oid).unwrap_or(0);
    if let Some(ty) = PgType::from_oid(oid) {
        return ColumnType::from_typmod(ty, typmod as i32).to_sql();
    }
    match PgType::ALL.iter().find(|t| t.catalog_info().1 == oid) {
        Some(elem) => format!(
            "{}[]",
            ColumnType::from_typmod(*elem, typmod as i32).to_sql()
        ),
        None => "???".into(),
    }
}

/// `quote_ident`: quotes a name unless it is a plain lower-case identifier.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A column default as Postgres prints it (`pg_get_expr(adbin)`), from the
/// SQLite default the translator wrote.
fn pg_default(default: &str, ty: Option<ColumnType>) -> String {
    let mut expr = default.trim();
    while expr.starts_with('(') && expr.ends_with(')') {
        expr = expr[1..expr.len() - 1].trim();
    }
    match expr {
        "lw_now()" => return "now()".into(),
        "lw_uuid()" => return "gen_random_uuid()".into(),
        _ => {}
    }
    if let Some(name) = sequence_default(expr) {
        return format!("nextval('{name}'::regclass)");
    }
    let Some(ty) = ty else {
        return expr.to_string();
    };
    let quoted = expr.len() >= 2 && expr.starts_with('\'') && expr.ends_with('\'');
    match ty.ty {
        PgType::Bool => match expr {
            "1" => "true".into(),
            "0" => "false".into(),
            other => other.to_string(),
        },
        t if t.is_integer() || t.is_float() || t == PgType::Numeric => {
            expr.trim_matches('\'').to_string()
        }
        _ if quoted => format!("{expr}::{}", ty.ty.name()),
        _ => expr.to_string(),
    }
}

/// The sequence of a `DEFAULT nextval('s')` (`lw_nextval('s')`, perhaps cast
/// to the column's type).
fn sequence_default(expr: &str) -> Option<&str> {
    let (_, rest) = expr.split_once("lw_nextval('")?;
    rest.split_once("')").map(|(name, _)| name)
}

/// `pg_size_pretty`: bytes below 10 kB, then the largest unit that keeps
/// the number under 20480, rounded half away from zero, as Postgres 15 does.
fn size_pretty(size: i64) -> String {
    const LIMIT: i64 = 10 * 1024;
    if size.abs() < LIMIT {
        return format!("{size} bytes");
    }
    // One extra bit is kept for rounding; division (not a shift) rounds
    // negative sizes as positive ones.
    let mut size = size / (1 << 9);
    for unit in ["kB", "MB", "GB", "TB"] {
        if size.abs() < LIMIT * 2 - 1 {
            return format!("{} {unit}", half_rounded(size));
        }
        size /= 1 << 10;
    }
    format!("{} PB", half_rounded(size))
}

fn half_rounded(x: i64) -> i64 {
    (x + if x < 0 { -1 } else { 1 }) / 2
}

/// The stored name of a relation written `orders`, `public.orders`,
/// `app.orders` or `"Orders"` (see `catalog::stored_name`); system
/// relations and types by their bare names, as the catalog lists them.
pub(super) fn stored_relation(name: &str) -> String {
    let parts = identifier_parts(name);
    match parts.as_slice() {
        [.., schema, name] if schema == "pg_catalog" => name.clone(),
        [.., schema, name] => crate::catalog::stored_name(schema, name),
        [name] => name.clone(),
        [] => String::new(),
    }
}

/// The dot-separated identifiers of a possibly qualified name, each as an
/// identifier means it: quoted ones exactly, unquoted ones folded.
fn identifier_parts(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut part, mut quoted, mut in_quotes) = (String::new(), false, false);
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                part.push('"');
                chars.next();
            }
            '"' => {
                in_quotes = !in_quotes;
                quoted = true;
            }
            '.' if !in_quotes => {
                parts.push(folded(std::mem::take(&mut part), quoted));
                quoted = false;
            }
            c => part.push(c),
        }
    }
    parts.push(folded(part, quoted));
    parts
}

fn folded(part: String, quoted: bool) -> String {
    if quoted {
        part
    } else {
        part.to_ascii_lowercase()
    }
}

/// The elements of an array (`{1,2}`) or of a catalog vector (`1 2`, how
/// int2vector and oidvector print).
fn vector_or_array(text: &str) -> Vec<String> {
    if text.trim_start().starts_with('{') {
        array::elements(text)
    } else {
        text.split_whitespace().map(String::from).collect()
    }
}

/// A catalog array element that is an integer (conkey, indkey): such
/// elements stay numbers so that they join with `attnum` and `oid`.
fn element_number(element: &str) -> Option<i64> {
    element.parse().ok()
}
