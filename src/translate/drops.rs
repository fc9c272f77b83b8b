//! `DROP TABLE | VIEW | SEQUENCE | INDEX ...`: the checks Postgres makes
//! before dropping (the object exists, is of the kind named, and no view
//! reads it unless CASCADE, which drops those views too), with its messages,
//! then the kind's own translation. SQLite would drop a view through `DROP TABLE` no
//! more than Postgres does, but it words the errors its own way and sends no
//! NOTICE for `IF EXISTS` of nothing.

use std::sync::Arc;

use sqlparser::ast::{Ident, ObjectName, ObjectType, Statement};

use super::{Plan, SqlPlan, ddl, object_name};
use crate::catalog::{Catalog, catalog_relation};
use crate::error::{Error, Result, SqlState};

pub fn plan(statement: Statement, catalog: &Catalog) -> Result<Plan> {
    let Statement::Drop {
        object_type,
        if_exists,
        names,
        cascade,
        ..
    } = &statement
    else {
        unreachable!("drops::plan is called for DROP only")
    };
    if *object_type == ObjectType::Type {
        let names: Vec<String> = names.iter().map(unqualified).collect();
        return super::enums::drop(&names, *if_exists, catalog);
    }
    if let Some(kind) = Relation::of(*object_type) {
        let names: Vec<String> = names.iter().map(unqualified).collect();
        if let Some(skipped) = kind.check(&names, *if_exists, catalog)? {
            return Ok(skipped);
        }
        if kind == Relation::Sequence {
            let present: Vec<String> = names
                .into_iter()
                .filter(|n| catalog.is_sequence(n))
                .collect();
            return Ok(Plan::Sql(Arc::new(super::sequences::drop(&present))));
        }
        let dependents = catalog.dependent_views(&names);
        if !dependents.is_empty() {
            if !cascade {
                return Err(depended_on(kind, &names, &dependents, catalog));
            }
            return Ok(Plan::Sql(Arc::new(with_dependents(
                statement, dependents, catalog,
            )?)));
        }
    }
    Ok(Plan::Sql(Arc::new(ddl::plan(statement, catalog)?)))
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
}

impl Relation {
    fn of(object_type: ObjectType) -> Option<Relation> {
        match object_type {
            ObjectType::Table => Some(Relation::Table),
            ObjectType::View => Some(Relation::View),
            ObjectType::Sequence => Some(Relation::Sequence),
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Relation::Table => "table",
            Relation::View => "view",
            Relation::Sequence => "sequence",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Relation::Table => "DROP TABLE",
            Relation::View => "DROP VIEW",
            Relation::Sequence => "DROP SEQUENCE",
        }
    }

    /// The kind of relation `name` is, if it exists.
    fn find(name: &str, catalog: &Catalog) -> Option<Relation> {
        if catalog.is_sequence(name) {
            Some(Relation::Sequence)
        } else if catalog.is_view(name) {
            Some(Relation::View)
        } else {
            catalog
                .table(name)
                .filter(|_| catalog_relation(name).is_none())
                .map(|_| Relation::Table)
        }
    }

    /// Errors for a missing relation (unless IF EXISTS) or one of another
    /// kind; `Some(Skipped)` when IF EXISTS leaves nothing to drop.
    fn check(self, names: &[String], if_exists: bool, catalog: &Catalog) -> Result<Option<Plan>> {
        let mut missing = Vec::new();
        for name in names {
            match Relation::find(name, catalog) {
                None => missing.push(name),
                Some(actual) => {
                    if actual != self {
                        return Err(Error::new(
                            SqlState::WrongObjectType,
                            format!("\"{name}\" is not a {}", self.word()),
                        )
                        .with_hint(format!(
                            "Use {} to remove a {}.",
                            actual.tag(),
                            actual.word()
                        )));
                    }
                }
            }
        }
        let Some(first) = missing.first() else {
            return Ok(None);
        };
        let message = format!("{} \"{first}\" does not exist", self.word());
        if !if_exists {
            return Err(Error::new(SqlState::UndefinedTable, message));
        }
        Ok((missing.len() == names.len()).then(|| Plan::Skipped {
            tag: self.tag(),
            state: SqlState::SuccessfulCompletion,
            notice: format!("{message}, skipping"),
        }))
    }
}
