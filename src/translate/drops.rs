//! `DROP TABLE | VIEW | SEQUENCE | INDEX ...`: the checks Postgres makes
//! before dropping (the object exists, is of the kind named, and no view
//! reads it unless CASCADE, which drops those views too), with its messages,
//! then the kind's own translation of what exists. SQLite would drop a view
//! through `DROP TABLE` no more than Postgres does, but it words the errors
//! its own way and sends no NOTICE for each name `IF EXISTS` skips.

use std::sync::Arc;

use sqlparser::ast::{Ident, ObjectName, ObjectType, Statement};

use super::{Plan, SqlPlan, ddl, object_name, skipping};
use crate::catalog::{Catalog, bare_name, catalog_relation};
use crate::error::{Error, Result, SqlState};

pub fn plan(mut statement: Statement, catalog: &Catalog) -> Result<Plan> {
    let Statement::Drop {
        object_type,
        if_exists,
        names,
        cascade,
        ..
    } = &mut statement
    else {
        unreachable!("drops::plan is called for DROP only")
    };
    if *object_type == ObjectType::Type {
        let names: Vec<String> = names.iter().map(unqualified).collect();
        return super::enums::drop(&names, *if_exists, catalog);
    }
    let Some(kind) = Relation::of(*object_type) else {
        return Ok(Plan::Sql(Arc::new(ddl::plan(statement, catalog)?)));
    };
    let (cascade, if_exists) = (*cascade, *if_exists);
    let checked = kind.check(names, if_exists, catalog)?;
    let notices = checked
        .skipped
        .iter()
        .map(|name| kind.skipping(name))
        .collect();
    if checked.present.is_empty() {
        return Ok(Plan::skipped(kind.tag(), notices));
    }
    // What is left to drop: the names that exist.
    names.retain(|name| !checked.skipped.contains(&unqualified(name)));
    let present = checked.present;
    let plan = if kind == Relation::Sequence {
        super::sequences::drop(&present)
    } else {
        let dependents = catalog.dependent_views(&present);
        if dependents.is_empty() {
            ddl::plan(statement, catalog)?
        } else if cascade {
            with_dependents(statement, dependents, catalog)?
        } else {
            return Err(depended_on(kind, &present, &dependents, catalog));
        }
    };
    Ok(Plan::noticed(notices, plan))
}

/// The names of a DROP, checked: those that exist, and those `IF EXISTS`
/// skips.
struct Checked {
    present: Vec<String>,
    skipped: Vec<String>,
}

/// 2BP01, naming each view and what it reads, as Postgres's detail does.
fn depended_on(
    kind: Relation,
    names: &[String],
    dependents: &[(String, String)],
    catalog: &Catalog,
) -> Error {
    let message = match names {
        [name] => format!(
            "cannot drop {} {name} because other objects depend on it",
            kind.word()
        ),
        _ => "cannot drop desired object(s) because other objects depend on them".into(),
    };
    let detail: Vec<String> = dependents
        .iter()
        .map(|(view, source)| {
            let source_kind = Relation::find(source, catalog).unwrap_or(Relation::Table);
            format!("view {view} depends on {} {source}", source_kind.word())
        })
        .collect();
    Error::new(SqlState::DependentObjectsStillExist, message)
        .with_detail(detail.join("\n"))
        .with_hint("Use DROP ... CASCADE to drop the dependent objects too.")
}

/// `DROP ... CASCADE`: the views that read what is dropped go first.
fn with_dependents(
    statement: Statement,
    dependents: Vec<(String, String)>,
    catalog: &Catalog,
) -> Result<SqlPlan> {
    let views = dependents.into_iter().map(|(view, _)| view).collect();
    let mut plan = drop_relations(ObjectType::View, views, catalog)?;
    let target = ddl::plan(statement, catalog)?;
    plan.after.push(target.sql);
    plan.after.extend(target.after);
    plan.tag = target.tag;
    Ok(plan)
}

/// `DROP <kind>` of relations by their stored names, translated (what a
/// CASCADE takes along).
pub(super) fn drop_relations(
    object_type: ObjectType,
    names: Vec<String>,
    catalog: &Catalog,
) -> Result<SqlPlan> {
    let drop = Statement::Drop {
        object_type,
        if_exists: false,
        names: names
            .into_iter()
            .map(|name| ObjectName::from(vec![Ident::with_quote('"', name)]))
            .collect(),
        cascade: false,
        restrict: false,
        purge: false,
        temporary: false,
        table: None,
    };
    ddl::plan(drop, catalog)
}

fn unqualified(name: &sqlparser::ast::ObjectName) -> String {
    let name = object_name(name);
    crate::catalog::unqualified(&name).to_string()
}

/// The relation kinds whose kind the catalog knows.
#[derive(Clone, Copy, PartialEq)]
enum Relation {
    Table,
    View,
    Sequence,
    Index,
}

impl Relation {
    fn of(object_type: ObjectType) -> Option<Relation> {
        match object_type {
            ObjectType::Table => Some(Relation::Table),
            ObjectType::View => Some(Relation::View),
            ObjectType::Sequence => Some(Relation::Sequence),
            ObjectType::Index => Some(Relation::Index),
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Relation::Table => "table",
            Relation::View => "view",
            Relation::Sequence => "sequence",
            Relation::Index => "index",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Relation::Table => "DROP TABLE",
            Relation::View => "DROP VIEW",
            Relation::Sequence => "DROP SEQUENCE",
            Relation::Index => "DROP INDEX",
        }
    }

    /// The kind of relation `name` is, if it exists.
    fn find(name: &str, catalog: &Catalog) -> Option<Relation> {
        if catalog.is_sequence(name) {
            Some(Relation::Sequence)
        } else if catalog.is_view(name) {
            Some(Relation::View)
        } else if catalog.is_index(name) {
            Some(Relation::Index)
        } else {
            catalog
                .table(name)
                .filter(|_| catalog_relation(name).is_none())
                .map(|_| Relation::Table)
        }
    }

    /// "a table", "an index".
    fn with_article(self) -> String {
        let word = self.word();
        let article = if word.starts_with('i') { "an" } else { "a" };
        format!("{article} {word}")
    }

    /// The SQLSTATE of a missing one: indexes are not tables to Postgres here.
    fn undefined(self) -> SqlState {
        match self {
            Relation::Index => SqlState::UndefinedObject,
            _ => SqlState::UndefinedTable,
        }
    }

    /// `<kind> "name" does not exist`, naming it without its schema (`s.t`
    /// is stored for `t` in schema `s`), as Postgres does.
    fn missing(self, name: &str) -> String {
        format!("{} \"{}\" does not exist", self.word(), bare_name(name))
    }

    /// The notice for a name `IF EXISTS` skips.
    fn skipping(self, name: &str) -> super::Notice {
        skipping(&self.missing(name))
    }

    /// Splits `names` into those that exist and those IF EXISTS skips; errors
    /// for a missing relation (without IF EXISTS) or one of another kind.
    fn check(self, names: &[ObjectName], if_exists: bool, catalog: &Catalog) -> Result<Checked> {
        let mut checked = Checked {
            present: Vec::new(),
            skipped: Vec::new(),
        };
        for name in names.iter().map(unqualified) {
            match Relation::find(&name, catalog) {
                None if if_exists => checked.skipped.push(name),
                None => return Err(Error::new(self.undefined(), self.missing(&name))),
                Some(actual) => {
                    if actual != self {
                        return Err(Error::new(
                            SqlState::WrongObjectType,
                            format!("\"{name}\" is not {}", self.with_article()),
                        )
                        .with_hint(format!(
                            "Use {} to remove {}.",
                            actual.tag(),
                            actual.with_article()
                        )));
                    }
                    checked.present.push(name);
                }
            }
        }
        Ok(checked)
    }
}
