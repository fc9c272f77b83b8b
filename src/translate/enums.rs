//! `CREATE TYPE name AS ENUM (...)` and `DROP TYPE`: labels in `_lw_enums`,
//! in declaration order. An enum column is stored as its label's text and
//! typed [`ColumnType::enumerated`], so results carry the enum's oid; values
//! written into it are checked (`lw_enum_in`, 22P02), and comparisons and
//! ORDER BY go by declaration order (`lw_enum_ord`), as in Postgres.

use sqlparser::ast::{
    AlterType, AlterTypeAddValue, AlterTypeAddValuePosition, AlterTypeOperation, DataType, Expr,
    ObjectName, OrderByKind, Query, UserDefinedTypeRepresentation,
};

use super::ddl::{schema_plan, sql_string};
use super::expr::call;
use super::{Notice, Plan, SqlPlan, object_name};
use crate::catalog::Catalog;
use crate::error::{Error, Result, SqlState};
use crate::types::{ColumnType, TypeModifier};

/// Enum oids start here (above sequences' `store::sequences::OID_BASE`),
/// two apart, as Postgres gives each type an array type next to it.
const OID_BASE: u32 = 0x6000_0000;

pub fn create(
    name: &ObjectName,
    representation: Option<UserDefinedTypeRepresentation>,
    catalog: &Catalog,
) -> Result<SqlPlan> {
    let Some(UserDefinedTypeRepresentation::Enum { labels }) = representation else {
        return Err(Error::unsupported("CREATE TYPE other than AS ENUM"));
    };
    let name = object_name(name);
    let name = crate::catalog::unqualified(&name).to_string();
    if catalog.enum_type(&name).is_some() || ColumnType::parse(&name).is_some() {
        return Err(Error::new(
            SqlState::DuplicateObject,
            format!("type \"{name}\" already exists"),
        ));
    }
    let oid = catalog
        .enums()
        .map(|(_, e)| e.oid + 2)
        .max()
        .unwrap_or(OID_BASE);
    let rows: Vec<String> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            format!(
                "({oid}, {}, {}, {})",
                sql_string(&name),
                sql_string(&label.value),
                i + 1
            )
        })
        .collect();
    Ok(schema_plan(
        format!(
            "INSERT INTO _lw_enums (type_oid, type_name, label, sortorder) VALUES {}",
            rows.join(", ")
        ),
        Vec::new(),
        "CREATE TYPE",
    ))
}

/// `ALTER TYPE e ADD VALUE [IF NOT EXISTS] 'v' [BEFORE | AFTER 'w']`: the new
/// label sorts halfway between its neighbours, or one past the end, as
/// Postgres numbers it.
pub fn alter(alter: AlterType, catalog: &Catalog) -> Result<Plan> {
    let AlterTypeOperation::AddValue(AlterTypeAddValue {
        if_not_exists,
        value,
        position,
    }) = alter.operation
    else {
        return Err(Error::unsupported("ALTER TYPE other than ADD VALUE"));
    };
    let name = object_name(&alter.name);
    let name = crate::catalog::unqualified(&name);
    let e = catalog.enum_type(name).ok_or_else(|| {
        Error::new(
            SqlState::UndefinedObject,
            format!("type \"{name}\" does not exist"),
        )
    })?;
    let label = value.value;
    if e.labels.contains(&label) {
        let exists = format!("enum label \"{label}\" already exists");
        if if_not_exists {
            return Ok(Plan::skipped(
                "ALTER TYPE",
                vec![Notice::new(
                    SqlState::DuplicateObject,
                    format!("{exists}, skipping"),
                )],
            ));
        }
        return Err(Error::new(SqlState::DuplicateObject, exists));
    }
    let oid = e.oid;
    let of = |label: &str| {
        format!(
            "(SELECT sortorder FROM _lw_enums WHERE type_oid = {oid} AND label = {})",
            sql_string(label)
        )
    };
    let neighbour = |label: &str, pick: &str, compare: &str, step: &str| -> Result<String> {
        if !e.labels.iter().any(|l| l == label) {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!("\"{label}\" is not an existing enum label"),
            ));
        }
        let at = of(label);
        Ok(format!(
            "coalesce(((SELECT {pick}(sortorder) FROM _lw_enums WHERE type_oid = {oid} \
             AND sortorder {compare} {at}) + {at}) / 2, {at} {step} 1)"
        ))
    };
    let order = match position {
        None => format!("(SELECT max(sortorder) + 1 FROM _lw_enums WHERE type_oid = {oid})"),
        Some(AlterTypeAddValuePosition::Before(w)) => neighbour(&w.value, "max", "<", "-")?,
        Some(AlterTypeAddValuePosition::After(w)) => neighbour(&w.value, "min", ">", "+")?,
    };
    Ok(Plan::Sql(std::sync::Arc::new(schema_plan(
        format!(
            "INSERT INTO _lw_enums (type_oid, type_name, label, sortorder) VALUES \
             ({oid}, {}, {}, {order})",
            sql_string(name),
            sql_string(&label)
        ),
        Vec::new(),
        "ALTER TYPE",
    ))))
}

/// The type of a column or cast target that names an enum.
pub fn named(data_type: &DataType, catalog: &Catalog) -> Option<ColumnType> {
    let DataType::Custom(name, modifiers) = data_type else {
        return None;
    };
    let e = catalog
        .enum_type(&object_name(name))
        .filter(|_| modifiers.is_empty())?;
    Some(ColumnType::enumerated(e.oid))
}

/// The enum oid of a type, if it is an enum.
pub fn oid(ty: Option<ColumnType>) -> Option<u32> {
    match ty?.modifier {
        TypeModifier::Enum(oid) => Some(oid),
        _ => None,
    }
}

/// A label written as a literal must be one of enum `oid`'s (22P02 at once,
/// as Postgres finds it parsing, even when no row is read); other values are
/// checked as the statement runs.
pub fn validate(value: &Expr, oid: u32, catalog: &Catalog) -> Result<()> {
    let Expr::Value(v) = value else {
        return Ok(());
    };
    let sqlparser::ast::Value::SingleQuotedString(label) = &v.value else {
        return Ok(());
    };
    match catalog.enums().find(|(_, e)| e.oid == oid) {
        Some((name, e)) if !e.labels.contains(label) => Err(Error::new(
            SqlState::InvalidTextRepresentation,
            format!("invalid input value for enum {name}: \"{label}\""),
        )),
        _ => Ok(()),
    }
}

/// `value` checked as a label of enum `oid`.
pub fn checked(value: Expr, oid: u32, catalog: &Catalog) -> Result<Expr> {
    validate(&value, oid, catalog)?;
    Ok(call("lw_enum_in", vec![value, number(oid)]))
}

/// `value`'s position in enum `oid`, which compares in declaration order.
pub fn ordinal(value: Expr, oid: u32, catalog: &Catalog) -> Result<Expr> {
    validate(&value, oid, catalog)?;
    Ok(position(value, oid))
}

fn position(value: Expr, oid: u32) -> Expr {
    call("lw_enum_ord", vec![value, number(oid)])
}

fn number(n: u32) -> Expr {
    Expr::value(sqlparser::ast::Value::Number(n.to_string(), false))
}

/// `ORDER BY m` on an enum sorts by declaration order, NULLs where
/// Postgres puts them (last ascending, first descending).
pub fn order_by(query: &mut Query, type_of: impl Fn(&Expr) -> Option<ColumnType>) {
    let Some(order_by) = &mut query.order_by else {
        return;
    };
    let OrderByKind::Expressions(exprs) = &mut order_by.kind else {
        return;
    };
    for item in exprs {
        if let Some(oid) = oid(type_of(&item.expr)) {
            let inner = std::mem::replace(&mut item.expr, Expr::value(sqlparser::ast::Value::Null));
            item.expr = position(inner, oid);
            let descending = item.options.asc == Some(false);
            item.options.nulls_first.get_or_insert(descending);
        }
    }
}

/// `DROP TYPE [IF EXISTS] a, b`: refused while a column has the type (2BP01).
pub fn drop(names: &[String], if_exists: bool, catalog: &Catalog) -> Result<Plan> {
    let mut present = Vec::new();
    let mut skipped = Vec::new();
    for name in names {
        let Some(e) = catalog.enum_type(name) else {
            let missing = format!("type \"{name}\" does not exist");
            if if_exists {
                skipped.push(super::skipping(&missing));
                continue;
            }
            return Err(Error::new(SqlState::UndefinedObject, missing));
        };
        let users: Vec<String> = catalog
            .tables()
            .flat_map(|t| {
                t.columns
                    .iter()
                    .filter(|c| c.ty.modifier == TypeModifier::Enum(e.oid))
                    .map(move |c| {
                        format!(
                            "column {} of table {} depends on type {name}",
                            c.name, t.name
                        )
                    })
            })
            .collect();
        if !users.is_empty() {
            return Err(Error::new(
                SqlState::DependentObjectsStillExist,
                format!("cannot drop type {name} because other objects depend on it"),
            )
            .with_detail(users.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        present.push(sql_string(name));
    }
    if present.is_empty() {
        return Ok(Plan::skipped("DROP TYPE", skipped));
    }
    Ok(Plan::noticed(
        skipped,
        schema_plan(
            format!(
                "DELETE FROM _lw_enums WHERE type_name IN ({})",
                present.join(", ")
            ),
            Vec::new(),
            "DROP TYPE",
        ),
    ))
}
