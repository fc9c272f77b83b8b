//! `DROP TABLE | VIEW | SEQUENCE | INDEX ...`: the checks Postgres makes before dropping
//! (the object exists, and is of the kind named), with its messages, then the
//! kind's own translation. SQLite would drop a view through `DROP TABLE` no
//! more than Postgres does, but it words the errors its own way and sends no
//! NOTICE for `IF EXISTS` of nothing.

use std::sync::Arc;

use sqlparser::ast::{ObjectType, Statement};

use super::{Plan, ddl, object_name};
use crate::catalog::{Catalog, catalog_relation};
use crate::error::{Error, Result, SqlState};

pub fn plan(statement: Statement, catalog: &Catalog) -> Result<Plan> {
    let Statement::Drop {
        object_type,
        if_exists,
        names,
        ..
    } = &statement
    else {
        unreachable!("drops::plan is called for DROP only")
    };
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
    }
    Ok(Plan::Sql(Arc::new(ddl::plan(statement, catalog)?)))
}

fn unqualified(name: &sqlparser::ast::ObjectName) -> String {
    let name = object_name(name);
    name.strip_prefix("public.").unwrap_or(&name).to_string()
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
            notice: format!("{message}, skipping"),
        }))
    }
}
