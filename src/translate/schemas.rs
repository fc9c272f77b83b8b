//! Schemas: `CREATE SCHEMA`, `DROP SCHEMA`, and which stored relation a name
//! in a statement means.
//!
//! SQLite has one namespace per database file, so a relation of schema `s`
//! is stored as the table `"s.name"` ([`stored_name`]); `public` relations
//! keep their bare names. Every relation name of a statement is resolved here
//! before it is translated:
//! - a qualified name (`s.t`, `public.t`) names its schema;
//! - an unqualified one is looked up along the session's `search_path`, and
//!   created in the path's first existing schema, as Postgres does;
//! - a relation renamed in FROM gets its bare name as alias, so `t.col` keeps
//!   resolving, and `s.t.col` is shortened to `t.col`.
//!
//! Indexes live in their table's schema. Sequences, enum types and trigger
//! functions stay in `public`.

use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast::{
    AlterTableOperation, ColumnOption, CommentObject, CopySource, Expr, Ident, ObjectName,
    ObjectNamePart, ObjectType, SchemaName, Statement, TableConstraint, TableFactor, TableObject,
    VisitorMut,
};

use super::{Notice, Plan, ddl, ident_text};
use crate::catalog::{Catalog, PUBLIC, SearchPath, catalog_relation, stored_name};
use crate::error::{Error, Result, SqlState};

/// Resolves every relation name in `statement` to its stored name.
pub fn resolve(statement: &mut Statement, catalog: &Catalog, path: &SearchPath) -> Result<()> {
    let resolver = Resolver { catalog, path };
    // Names of what a statement creates resolve differently (to the first
    // schema of the path, whether or not the name exists elsewhere): they are
    // taken out while the rest is visited.
    let created = take_created(statement);
    super::visit(statement, &mut Visitor(&resolver))?;
    resolver.put_created(statement, created)?;
    resolver.resolve_references(statement)
}

/// The name of the relation `statement` creates, taken out of it (an empty
/// name stands in until [`Resolver::put_created`] puts the stored one back).
fn take_created(statement: &mut Statement) -> Option<ObjectName> {
    let slot = match statement {
        Statement::CreateTable(create) => &mut create.name,
        Statement::CreateView(view) => &mut view.name,
        _ => return None,
    };
    Some(std::mem::replace(slot, ObjectName(vec![])))
}

struct Resolver<'a> {
    catalog: &'a Catalog,
    path: &'a SearchPath,
}

/// The parts of a name as identifiers mean them (unquoted ones fold).
fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(i) => ident_text(i),
            other => other.to_string(),
        })
        .collect()
}

/// A one-part name that keeps `stored` exactly.
fn stored_object(stored: String) -> ObjectName {
    ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote(
        '"', stored,
    ))])
}

fn no_schema(schema: &str) -> Error {
    Error::new(
        SqlState::InvalidSchemaName,
        format!("schema \"{schema}\" does not exist"),
    )
}

impl Resolver<'_> {
    /// The schemas of the search path that exist, in order.
    fn searched(&self) -> impl Iterator<Item = &String> {
        self.path
            .schemas()
            .iter()
            .filter(|s| self.catalog.has_schema(s))
    }

    /// The stored name of an existing relation, or None to leave the name as
    /// written (a system relation, or one that does not exist, which the
    /// translation reports).
    fn existing(&self, parts: &[String]) -> Option<String> {
        match parts {
            [name] if catalog_relation(name).is_some() => None,
            [name] => self
                .searched()
                .map(|s| stored_name(s, name))
                .find(|stored| self.catalog.has_relation(stored)),
            [schema, name] if self.catalog.has_schema(schema) => Some(stored_name(schema, name)),
            _ => None,
        }
    }

    /// The stored name a new relation `parts` gets.
    fn created(&self, parts: &[String]) -> Result<String> {
        match parts {
            [name] => self
                .searched()
                .next()
                .map(|s| stored_name(s, name))
                .ok_or_else(|| {
                    Error::new(
                        SqlState::InvalidSchemaName,
                        "no schema has been selected to create in",
                    )
                }),
            [schema, name] if self.catalog.has_schema(schema) => Ok(stored_name(schema, name)),
            [schema, _] => Err(no_schema(schema)),
            _ => Err(Error::unsupported("cross-database references")),
        }
    }

    /// Rewrites `name` in place to an existing relation's stored name (each
    /// name once: a stored name would resolve again along the path).
    /// Returns the bare name when the stored one differs from it (the alias
    /// the relation then needs).
    fn rename(&self, name: &mut ObjectName) -> Option<Ident> {
        let parts = parts(name);
        let stored = self.existing(&parts)?;
        let bare = parts.last()?.clone();
        if parts.len() == 1 && stored == bare {
            return None;
        }
        *name = stored_object(stored.clone());
        (stored != bare).then(|| Ident::with_quote('"', bare))
    }

    fn put_created(&self, statement: &mut Statement, created: Option<ObjectName>) -> Result<()> {
        let Some(name) = created else {
            return Ok(());
        };
        let stored = stored_object(self.created(&parts(&name))?);
        match statement {
            Statement::CreateTable(create) => create.name = stored,
            Statement::CreateView(view) => view.name = stored,
            _ => {}
        }
        Ok(())
    }

    /// Names the visitor does not see as relations: foreign key targets,
    /// index names, DROP, COMMENT and COPY targets.
    fn resolve_references(&self, statement: &mut Statement) -> Result<()> {
        match statement {
            Statement::CreateTable(create) => {
                for column in &mut create.columns {
                    for option in &mut column.options {
                        if let ColumnOption::ForeignKey(fk) = &mut option.option {
                            self.rename(&mut fk.foreign_table);
                        }
                    }
                }
                for constraint in &mut create.constraints {
                    if let TableConstraint::ForeignKey(fk) = constraint {
                        self.rename(&mut fk.foreign_table);
                    }
                }
            }
            Statement::AlterTable(alter) => {
                for operation in &mut alter.operations {
                    if let AlterTableOperation::AddConstraint {
                        constraint: TableConstraint::ForeignKey(fk),
                        ..
                    } = operation
                    {
                        self.rename(&mut fk.foreign_table);
                    }
                }
            }
            Statement::CreateIndex(index) => {
                let table = parts(&index.table_name);
                let schema = table
                    .last()
                    .and_then(|t| t.split_once('.'))
                    .map_or(PUBLIC, |(schema, _)| schema)
                    .to_string();
                if let Some(name) = &mut index.name
                    && let Some(bare) = parts(name).last()
                {
                    *name = stored_object(stored_name(&schema, bare));
                }
            }
            Statement::Drop {
                object_type: ObjectType::Table | ObjectType::View | ObjectType::Sequence,
                names,
                ..
            } => {
                for name in names {
                    self.rename(name);
                }
            }
            Statement::Drop {
                object_type: ObjectType::Index,
                names,
                ..
            } => {
                for name in names {
                    let parts = parts(name);
                    if parts.len() == 2 {
                        *name = stored_object(self.created(&parts)?);
                    }
                }
            }
            Statement::Comment {
                object_type: CommentObject::Table,
                object_name,
                ..
            } => {
                self.rename(object_name);
            }
            Statement::Comment {
                object_type: CommentObject::Column,
                object_name,
                ..
            } => {
                let mut all = parts(object_name);
                let column = all.pop().unwrap_or_default();
                if let Some(stored) = self.existing(&all) {
                    *object_name = ObjectName(vec![
                        ObjectNamePart::Identifier(Ident::with_quote('"', stored)),
                        ObjectNamePart::Identifier(Ident::with_quote('"', column)),
                    ]);
                }
            }
            Statement::Copy {
                source: CopySource::Table { table_name, .. },
                ..
            } => {
                self.rename(table_name);
            }
            _ => {}
        }
        Ok(())
    }
}

struct Visitor<'r, 'a>(&'r Resolver<'a>);

impl VisitorMut for Visitor<'_, '_> {
    type Break = Error;

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        if let TableFactor::Table { name, alias, .. } = factor
            && let Some(bare) = self.0.rename(name)
            && alias.is_none()
        {
            *alias = Some(sqlparser::ast::TableAlias {
                explicit: true,
                name: bare,
                columns: vec![],
            });
        }
        ControlFlow::Continue(())
    }

    /// The relation names outside FROM: write targets and DDL subjects.
    fn pre_visit_statement(&mut self, statement: &mut Statement) -> ControlFlow<Error> {
        match statement {
            Statement::Insert(insert) => {
                if let TableObject::TableName(name) = &mut insert.table
                    && let Some(bare) = self.0.rename(name)
                    && insert.table_alias.is_none()
                {
                    insert.table_alias = Some(bare);
                }
            }
            Statement::CreateIndex(index) => {
                self.0.rename(&mut index.table_name);
            }
            Statement::AlterTable(alter) => {
                self.0.rename(&mut alter.name);
            }
            Statement::Truncate(truncate) => {
                for target in &mut truncate.table_names {
                    self.0.rename(&mut target.name);
                }
            }
            Statement::CreateTrigger(trigger) => {
                self.0.rename(&mut trigger.table_name);
            }
            Statement::DropTrigger(trigger) => {
                if let Some(name) = &mut trigger.table_name {
                    self.0.rename(name);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    /// `s.t.col` is `t.col`: the relation got `t` as its alias.
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        if let Expr::CompoundIdentifier(idents) = expr
            && idents.len() == 3
            && self.0.catalog.has_schema(&ident_text(&idents[0]))
        {
            idents.remove(0);
        }
        ControlFlow::Continue(())
    }
}

/// `CREATE SCHEMA [IF NOT EXISTS] name [AUTHORIZATION role]`.
pub fn create(schema_name: &SchemaName, if_not_exists: bool, catalog: &Catalog) -> Result<Plan> {
    let name = match schema_name {
        SchemaName::Simple(name) | SchemaName::NamedAuthorization(name, _) => {
            super::object_name(name)
        }
        SchemaName::UnnamedAuthorization(role) => ident_text(role),
    };
    let exists =
        catalog.has_schema(&name) || matches!(name.as_str(), "pg_catalog" | "information_schema");
    if exists && if_not_exists {
        return Ok(Plan::skipped(
            "CREATE SCHEMA",
            vec![Notice::new(
                SqlState::DuplicateSchema,
                format!("schema \"{name}\" already exists, skipping"),
            )],
        ));
    }
    if exists {
        return Err(Error::new(
            SqlState::DuplicateSchema,
            format!("schema \"{name}\" already exists"),
        ));
    }
    if name.starts_with("pg_") {
        return Err(Error::new(
            SqlState::ReservedName,
            format!("unacceptable schema name \"{name}\""),
        )
        .with_detail("The prefix \"pg_\" is reserved for system schemas."));
    }
    Ok(Plan::Sql(Arc::new(ddl::schema_plan(
        format!(
            "INSERT INTO _lw_schemas (name) VALUES ({})",
            ddl::sql_string(&name)
        ),
        Vec::new(),
        "CREATE SCHEMA",
    ))))
}

/// `DROP SCHEMA [IF EXISTS] name [, ...] [CASCADE | RESTRICT]`: without
/// CASCADE a schema that holds relations is refused (2BP01); with it, its
/// views and tables go too, with Postgres's NOTICE.
pub fn drop(
    names: &[ObjectName],
    if_exists: bool,
    cascade: bool,
    catalog: &Catalog,
) -> Result<Plan> {
    let mut present = Vec::new();
    let mut notices = Vec::new();
    for name in names.iter().map(super::object_name) {
        if name == PUBLIC || matches!(name.as_str(), "pg_catalog" | "information_schema") {
            return Err(Error::unsupported(format!("DROP SCHEMA {name}")));
        }
        if catalog.has_schema(&name) {
            present.push(name);
        } else if if_exists {
            notices.push(super::skipping(&format!(
                "schema \"{name}\" does not exist"
            )));
        } else {
            return Err(no_schema(&name));
        }
    }
    if present.is_empty() {
        return Ok(Plan::skipped("DROP SCHEMA", notices));
    }
    let contents: Vec<String> = present
        .iter()
        .flat_map(|s| catalog.relations_in(s))
        .collect();
    if !contents.is_empty() && !cascade {
        let detail: Vec<String> = contents
            .iter()
            .map(|r| {
                format!(
                    "{} {r} depends on schema {}",
                    kind(r, catalog),
                    schema_of(r)
                )
            })
            .collect();
        let message = match present.as_slice() {
            [one] => format!("cannot drop schema {one} because other objects depend on it"),
            _ => "cannot drop desired object(s) because other objects depend on them".into(),
        };
        return Err(Error::new(SqlState::DependentObjectsStillExist, message)
            .with_detail(detail.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    let list = present
        .iter()
        .map(|s| ddl::sql_string(s))
        .collect::<Vec<_>>()
        .join(", ");
    let mut plan = ddl::schema_plan(
        format!("DELETE FROM _lw_schemas WHERE name IN ({list})"),
        Vec::new(),
        "DROP SCHEMA",
    );
    // Views first: they read the tables.
    let (views, tables): (Vec<&String>, Vec<&String>) =
        contents.iter().partition(|r| catalog.is_view(r));
    for (object_type, group) in [(ObjectType::View, views), (ObjectType::Table, tables)] {
        if group.is_empty() {
            continue;
        }
        let target = super::drops::drop_relations(
            object_type,
            group.into_iter().cloned().collect(),
            catalog,
        )?;
        plan.after.push(target.sql);
        plan.after.extend(target.after);
    }
    notices.extend(
        cascade_notice(&contents, catalog)
            .map(|message| Notice::new(SqlState::SuccessfulCompletion, message)),
    );
    Ok(Plan::noticed(notices, plan))
}

fn schema_of(stored: &str) -> &str {
    stored.split_once('.').map_or(PUBLIC, |(s, _)| s)
}

fn kind(stored: &str, catalog: &Catalog) -> &'static str {
    if catalog.is_view(stored) {
        "view"
    } else {
        "table"
    }
}

/// Postgres's NOTICE for what a CASCADE drop takes with it.
fn cascade_notice(contents: &[String], catalog: &Catalog) -> Option<String> {
    let lines: Vec<String> = contents
        .iter()
        .map(|r| format!("drop cascades to {} {r}", kind(r, catalog)))
        .collect();
    match lines.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(format!(
            "drop cascades to {} other objects\n{}",
            many.len(),
            many.join("\n")
        )),
    }
}
