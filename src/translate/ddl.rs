//! CREATE TABLE / CREATE INDEX / DROP: Postgres column types become SQLite
//! declarations with the right affinity (and the `lw_numeric` collation), the
//! declared Postgres type is recorded in `_lw_columns`, defaults and checks are
//! translated like any expression. `serial` / identity primary keys become
//! SQLite rowid aliases (`INTEGER PRIMARY KEY`), which assign the next id.

use sqlparser::ast::{
    ColumnOption, CreateTable, CreateTableOptions, DataType, Expr, Ident, ObjectName,
    ObjectNamePart, ObjectType, Statement,
};

use super::expr::{Typer, cast_call, coerce_literal, coerce_to_column, column_type, object_name};
use super::{Access, Notice, Plan, SqlPlan};
use crate::catalog::{Catalog, Column, Table};
use crate::error::{Error, Result, SqlState};
use crate::store::alter::TableChange;
use crate::types::{ColumnType, PgType};

pub(super) fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// 42P07: tables, views and sequences share one namespace, as in Postgres.
pub(super) fn duplicate_relation(name: &str) -> Error {
    Error::new(
        crate::error::SqlState::DuplicateTable,
        format!("relation \"{name}\" already exists"),
    )
}

pub(super) fn schema_plan(sql: String, after: Vec<String>, tag: &'static str) -> SqlPlan {
    SqlPlan {
        sql,
        after,
        access: Access::Schema,
        tag,
        params: Vec::new(),
        columns: None,
    }
}

pub fn plan(statement: Statement, catalog: &Catalog) -> Result<SqlPlan> {
    match statement {
        Statement::CreateTable(create) => create_table(create, catalog),
        Statement::CreateIndex(mut index) => {
            if !index.include.is_empty() {
                return Err(Error::unsupported("CREATE INDEX ... INCLUDE"));
            }
            index.using = None;
            index.concurrently = false;
            // Operator classes (`varchar_pattern_ops`) tune Postgres's btree
            // for LIKE; SQLite's index serves prefix LIKE on its own terms.
            for column in &mut index.columns {
                column.operator_class = None;
            }
            index.nulls_distinct = None;
            index.with.clear();
            let mut typer = Typer::new(catalog);
            typer.add_table(&object_name(&index.table_name), None);
            let mut statement = Statement::CreateIndex(index);
            typer.rewrite(&mut statement)?;
            Ok(schema_plan(
                statement.to_string(),
                Vec::new(),
                "CREATE INDEX",
            ))
        }
        Statement::Drop {
            object_type,
            if_exists,
            names,
            ..
        } => {
            let (keyword, tag) = match object_type {
                ObjectType::Table => ("TABLE", "DROP TABLE"),
                ObjectType::Index => ("INDEX", "DROP INDEX"),
                ObjectType::View => ("VIEW", "DROP VIEW"),
                other => return Err(Error::unsupported(format!("DROP {other}"))),
            };
            let exists = if if_exists { "IF EXISTS " } else { "" };
            let mut statements: Vec<String> = Vec::new();
            for name in &names {
                let name = object_name(name);
                let name = crate::catalog::unqualified(&name).to_string();
                statements.push(format!(
                    "DROP {keyword} {exists}\"{}\"",
                    name.replace('"', "\"\"")
                ));
                if object_type == ObjectType::Table {
                    statements.push(format!(
                        "DELETE FROM _lw_columns WHERE table_name = {}",
                        sql_string(&name)
                    ));
                    // SQLite drops the table's triggers with it.
                    statements.push(format!(
                        "DELETE FROM _lw_triggers WHERE table_name = {}",
                        sql_string(&name)
                    ));
                }
                if matches!(object_type, ObjectType::Table | ObjectType::View) {
                    statements.push(format!(
                        "DELETE FROM _lw_comments WHERE table_name = {}",
                        sql_string(&name)
                    ));
                }
                if object_type == ObjectType::View {
                    for bookkeeping in ["_lw_columns WHERE table_name", "_lw_views WHERE name"] {
                        statements
                            .push(format!("DELETE FROM {bookkeeping} = {}", sql_string(&name)));
                    }
                }
            }
            let first = statements.remove(0);
            Ok(schema_plan(first, statements, tag))
        }
        Statement::AlterTable(alter) => alter_table(alter, catalog),
        _ => unreachable!("ddl::plan is called for DDL statements only"),
    }
}

fn is_serial(data_type: &DataType) -> bool {
    let name = data_type.to_string().to_ascii_lowercase();
    matches!(
        name.as_str(),
        "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"
    )
}

/// `CREATE TABLE | INDEX IF NOT EXISTS` of a relation name in use (tables,
/// views, sequences and indexes share it): nothing to run (the statement as
/// written may not even be SQLite), a notice as Postgres gives.
pub fn create_existing(statement: &Statement, catalog: &Catalog) -> Option<Plan> {
    let (tag, name) = match statement {
        Statement::CreateTable(create) if create.if_not_exists => ("CREATE TABLE", &create.name),
        Statement::CreateIndex(sqlparser::ast::CreateIndex {
            if_not_exists: true,
            name: Some(name),
            ..
        }) => ("CREATE INDEX", name),
        _ => return None,
    };
    // The name is stored (`s.t` for schema s): the notice names the relation.
    let name = object_name(name);
    let exists =
        catalog.is_sequence(&name) || catalog.is_index(&name) || catalog.table(&name).is_some();
    exists.then(|| {
        Plan::skipped(
            tag,
            vec![Notice::new(
                SqlState::DuplicateTable,
                format!(
                    "relation \"{}\" already exists, skipping",
                    crate::catalog::bare_name(&name)
                ),
            )],
        )
    })
}

fn create_table(mut create: CreateTable, catalog: &Catalog) -> Result<SqlPlan> {
    if create.temporary {
        return Err(Error::unsupported("CREATE TEMPORARY TABLE"));
    }
    if create.query.is_some()
        || create.like.is_some()
        || create.inherits.is_some()
        || create.partition_by.is_some()
    {
        return Err(Error::unsupported(
            "CREATE TABLE AS / LIKE / INHERITS / PARTITION BY",
        ));
    }
    match &create.table_options {
        // Storage parameters (`WITH (fillfactor = 100)`) tune Postgres's heap and
        // mean nothing to SQLite: accepted and ignored, as pgbench -i needs.
        CreateTableOptions::None | CreateTableOptions::With(_) => {
            create.table_options = CreateTableOptions::None
        }
        other => return Err(Error::unsupported(format!("table options {other}"))),
    }
    let table_name = object_name(&create.name);
    let table_name = crate::catalog::unqualified(&table_name).to_string();
    create.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote(
        '"',
        table_name.clone(),
    ))]);
    let is_sequence = catalog.is_sequence(&table_name);
    if is_sequence {
        return Err(duplicate_relation(&table_name));
    }

    inline_primary_key(&mut create);
    let mut columns = Vec::with_capacity(create.columns.len());
    for def in &create.columns {
        columns.push(Column::new(
            super::ident_text(&def.name),
            super::enums::named(&def.data_type, catalog)
                .map_or_else(|| column_type(&def.data_type), Ok)?,
        ));
    }
    let scope = catalog.with_table(Table {
        name: table_name.clone(),
        columns: columns.clone(),
    });
    let mut typer = Typer::new(&scope);
    typer.add_table(&table_name, None);
    let key_columns = table_key_columns(&create);

    for (def, column) in create.columns.iter_mut().zip(&columns) {
        let primary_key = def
            .options
            .iter()
            .any(|o| matches!(o.option, ColumnOption::PrimaryKey(_)));
        let in_key = primary_key || key_columns.contains(&column.name);
        let identity = def.options.iter().any(|o| {
            matches!(
                o.option,
                ColumnOption::Generated {
                    generation_expr: None,
                    ..
                } | ColumnOption::Identity(_)
            )
        });
        let auto = is_serial(&def.data_type) || identity;
        if auto && !(primary_key && column.ty.ty.is_integer()) {
            return Err(Error::unsupported(
                "serial or identity column that is not the integer primary key",
            ));
        }
        def.options.retain(|o| {
            !matches!(
                o.option,
                ColumnOption::Generated {
                    generation_expr: None,
                    ..
                } | ColumnOption::Identity(_)
            )
        });
        for option in &mut def.options {
            if matches!(option.option, ColumnOption::Check(_)) && option.name.is_none() {
                option.name = Some(Ident::new(format!("{table_name}_{}_check", column.name)));
            }
        }
        let decl = match column.ty.ty.sqlite_decl() {
            _ if auto => "INTEGER",
            // SQLite fills an `INTEGER PRIMARY KEY` (the rowid) itself when
            // given NULL, never from its DEFAULT (`nextval('s')`); `INT` has
            // the same affinity without being the rowid, so a key that is
            // not serial must be given (23502), as in Postgres.
            "INTEGER" if primary_key => "INT",
            decl => decl,
        };
        // A primary key is NOT NULL in Postgres; SQLite lets NULL into a key
        // that is not the rowid.
        let not_null = def
            .options
            .iter()
            .any(|o| matches!(o.option, ColumnOption::NotNull));
        if in_key && !auto && !not_null {
            def.options.push(sqlparser::ast::ColumnOptionDef {
                name: None,
                option: ColumnOption::NotNull,
            });
        }
        def.data_type = DataType::Custom(
            ObjectName(vec![ObjectNamePart::Identifier(Ident::new(decl))]),
            vec![],
        );
        for option in &mut def.options {
            match &mut option.option {
                ColumnOption::Default(expr) => default_expr(&mut typer, expr, column.ty)?,
                ColumnOption::Check(check) => typer.rewrite(&mut check.expr)?,
                ColumnOption::Generated { .. } => {
                    return Err(Error::unsupported("generated columns"));
                }
                _ => {}
            }
        }
        def.name = Ident::with_quote('"', column.name.clone());
    }
    for constraint in &mut create.constraints {
        typer.rewrite(constraint)?;
    }

    let mut after = vec![format!(
        "DELETE FROM _lw_columns WHERE table_name = {}",
        sql_string(&table_name)
    )];
    for column in &columns {
        after.push(column_record(&table_name, &column.name, column.ty));
    }
    Ok(schema_plan(
        Statement::CreateTable(create).to_string(),
        after,
        "CREATE TABLE",
    ))
}

/// The columns of a table-level `PRIMARY KEY (a, b)`.
fn table_key_columns(create: &CreateTable) -> Vec<String> {
    create
        .constraints
        .iter()
        .filter_map(|c| match c {
            sqlparser::ast::TableConstraint::PrimaryKey(pk) => Some(&pk.columns),
            _ => None,
        })
        .flatten()
        .filter_map(|c| match &c.column.expr {
            Expr::Identifier(name) => Some(super::ident_text(name)),
            _ => None,
        })
        .collect()
}

/// `PRIMARY KEY (id)` as a table constraint on one column is that column's
/// own `PRIMARY KEY` (as ORMs write `id SERIAL, PRIMARY KEY (id)`), so a
/// serial key becomes SQLite's rowid like the column-level form.
fn inline_primary_key(create: &mut CreateTable) {
    let position = create.constraints.iter().position(
        |c| matches!(c, sqlparser::ast::TableConstraint::PrimaryKey(pk) if pk.columns.len() == 1),
    );
    let Some(position) = position else {
        return;
    };
    let sqlparser::ast::TableConstraint::PrimaryKey(pk) = &create.constraints[position] else {
        return;
    };
    let Expr::Identifier(name) = &pk.columns[0].column.expr else {
        return;
    };
    let name = super::ident_text(name);
    let Some(def) = create
        .columns
        .iter_mut()
        .find(|d| super::ident_text(&d.name) == name)
    else {
        return;
    };
    let sqlparser::ast::TableConstraint::PrimaryKey(pk) = create.constraints.remove(position)
    else {
        return;
    };
    def.options.push(sqlparser::ast::ColumnOptionDef {
        name: None,
        option: ColumnOption::PrimaryKey(pk),
    });
}

/// A DEFAULT is a canonical literal, or a parenthesized expression (SQLite's
/// rule for non-constant defaults such as `lw_now()`).
fn default_expr(typer: &mut Typer<'_>, expr: &mut Expr, ty: ColumnType) -> Result<()> {
    typer.rewrite(expr)?;
    if let Some(oid) = super::enums::oid(Some(ty)) {
        super::enums::validate(expr, oid, typer.catalog())?;
    }
    if coerce_literal(expr, ty)? {
        return Ok(());
    }
    if let Expr::Value(v) = expr
        && matches!(v.value, sqlparser::ast::Value::Null)
    {
        return Ok(());
    }
    let inner = std::mem::replace(expr, Expr::Value(sqlparser::ast::Value::Null.into()));
    let needs_cast = typer.type_of(&inner).map(|t| t.ty) != Some(ty.ty) && ty.ty != PgType::Unknown;
    let inner = if needs_cast {
        super::expr::call("lw_in", vec![inner, super::expr::string(&ty.to_sql())])
    } else {
        inner
    };
    *expr = Expr::Nested(Box::new(inner));
    Ok(())
}

/// `TRUNCATE a, b`: a DELETE per table (SQLite's truncate optimization applies).
pub fn truncate(truncate: sqlparser::ast::Truncate) -> Result<SqlPlan> {
    let mut deletes: Vec<String> = truncate
        .table_names
        .iter()
        .map(|t| format!("DELETE FROM {}", quoted(&object_name(&t.name))))
        .collect();
    if deletes.is_empty() {
        return Err(Error::syntax("syntax error at end of input"));
    }
    let first = deletes.remove(0);
    Ok(SqlPlan {
        sql: first,
        after: deletes,
        access: Access::Write,
        tag: "TRUNCATE TABLE",
        params: Vec::new(),
        columns: None,
    })
}

/// A table name quoted, without the `public.` schema SQLite does not have.
pub(super) fn quoted(name: &str) -> String {
    super::quote_ident(crate::catalog::unqualified(name))
}

/// ALTER TABLE: columns are added, dropped and renamed by SQLite itself (with
/// `_lw_columns` kept in step); a PRIMARY KEY or UNIQUE constraint added later
/// becomes a unique index, which enforces the same uniqueness.
fn alter_table(alter: sqlparser::ast::AlterTable, catalog: &Catalog) -> Result<SqlPlan> {
    use sqlparser::ast::{
        AlterColumnOperation, AlterTableOperation as Op, RenameTableNameKind, TableConstraint,
    };
    let table = object_name(&alter.name);
    let table = crate::catalog::unqualified(&table).to_string();
    let known = catalog.table(&table).ok_or_else(|| {
        Error::new(
            SqlState::UndefinedTable,
            format!("relation \"{table}\" does not exist"),
        )
    })?;
    let mut statements = Vec::new();
    let name = quoted(&table);
    for op in alter.operations {
        match op {
            Op::AddColumn {
                column_def,
                if_not_exists,
                ..
            } => {
                let column = super::ident_text(&column_def.name);
                if if_not_exists && known.column(&column).is_some() {
                    continue;
                }
                let ty = column_type(&column_def.data_type)?;
                let mut def = column_def;
                let mut typer = Typer::new(catalog);
                typer.add_table(&table, None);
                for option in &mut def.options {
                    match &mut option.option {
                        ColumnOption::Default(expr) => default_expr(&mut typer, expr, ty)?,
                        ColumnOption::Check(check) => typer.rewrite(&mut check.expr)?,
                        ColumnOption::NotNull
                        | ColumnOption::Null
                        | ColumnOption::ForeignKey(_) => {}
                        ColumnOption::Unique(_) | ColumnOption::PrimaryKey(_) => {
                            return Err(Error::unsupported(
                                "ADD COLUMN with UNIQUE or PRIMARY KEY",
                            ));
                        }
                        _ => {}
                    }
                }
                def.data_type = DataType::Custom(
                    ObjectName(vec![ObjectNamePart::Identifier(Ident::new(
                        ty.ty.sqlite_decl(),
                    ))]),
                    vec![],
                );
                def.name = Ident::with_quote('"', column.clone());
                statements.push(format!("ALTER TABLE {name} ADD COLUMN {def}"));
                statements.push(column_record(&table, &column, ty));
            }
            Op::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                for column in column_names.iter().map(super::ident_text) {
                    if if_exists && known.column(&column).is_none() {
                        continue;
                    }
                    // SQLite refuses to drop a column its triggers name; the
                    // store installs fresh capture triggers afterwards.
                    statements.extend(super::capture::drop_triggers(&table));
                    statements.extend(super::triggers::drop_sqlite_triggers(catalog, &table));
                    statements.push(format!(
                        "ALTER TABLE {name} DROP COLUMN {}",
                        quoted(&column)
                    ));
                    statements.push(format!(
                        "DELETE FROM _lw_columns WHERE table_name = {} AND column_name = {}",
                        sql_string(&table),
                        sql_string(&column)
                    ));
                }
            }
            Op::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let (old, new) = (
                    super::ident_text(&old_column_name),
                    super::ident_text(&new_column_name),
                );
                statements.push(format!(
                    "ALTER TABLE {name} RENAME COLUMN {} TO {}",
                    quoted(&old),
                    quoted(&new)
                ));
                statements.push(format!(
                    "UPDATE _lw_columns SET column_name = {} WHERE table_name = {} AND column_name = {}",
                    sql_string(&new),
                    sql_string(&table),
                    sql_string(&old)
                ));
            }
            Op::RenameTable {
                table_name: RenameTableNameKind::To(new) | RenameTableNameKind::As(new),
            } => {
                let new = object_name(&new);
                statements.push(format!("ALTER TABLE {name} RENAME TO {}", quoted(&new)));
                for bookkeeping in ["_lw_columns", "_lw_triggers", "_lw_comments"] {
                    statements.push(format!(
                        "UPDATE {bookkeeping} SET table_name = {} WHERE table_name = {}",
                        sql_string(&new),
                        sql_string(&table)
                    ));
                }
            }
            Op::AlterColumn { column_name, op } => {
                let column = super::ident_text(&column_name);
                let ty = known
                    .column(&column)
                    .ok_or_else(|| {
                        Error::new(
                            SqlState::UndefinedColumn,
                            format!("column \"{column}\" of relation \"{table}\" does not exist"),
                        )
                    })?
                    .ty;
                let change = match op {
                    AlterColumnOperation::SetNotNull => TableChange::SetNotNull(column),
                    AlterColumnOperation::DropNotNull => TableChange::DropNotNull(column),
                    AlterColumnOperation::DropDefault => TableChange::DropDefault(column),
                    AlterColumnOperation::SetDefault { mut value } => {
                        let mut typer = Typer::new(catalog);
                        typer.add_table(&table, None);
                        default_expr(&mut typer, &mut value, ty)?;
                        TableChange::SetDefault {
                            column,
                            default: value.to_string(),
                        }
                    }
                    AlterColumnOperation::SetDataType {
                        data_type, using, ..
                    } => {
                        let new = column_type(&data_type)?;
                        let current = known.column(&column).expect("looked up above");
                        if current.primary_key
                            && ty.ty.is_integer()
                            && new.ty.sqlite_decl() != "INTEGER"
                        {
                            return Err(Error::unsupported(
                                "changing an integer primary key to a non-integer type",
                            ));
                        }
                        let mut typer = Typer::new(catalog);
                        typer.add_table(&table, None);
                        let mut convert = match using {
                            Some(mut using) => {
                                typer.rewrite(&mut using)?;
                                using
                            }
                            None => cast_call(
                                Expr::Identifier(Ident::with_quote('"', column.clone())),
                                Some(ty),
                                new,
                            ),
                        };
                        coerce_to_column(&mut typer, &mut convert, new)?;
                        statements.push(column_record(&table, &column, new));
                        TableChange::SetType {
                            column,
                            decl: new.ty.sqlite_decl().into(),
                            convert: convert.to_string(),
                        }
                    }
                    other => {
                        return Err(Error::unsupported(format!(
                            "ALTER TABLE ALTER COLUMN {other}"
                        )));
                    }
                };
                statements.push(queue_change(&table, &change));
            }
            Op::DropConstraint {
                name, if_exists, ..
            } => statements.push(queue_change(
                &table,
                &TableChange::DropConstraint {
                    name: super::ident_text(&name),
                    if_exists,
                },
            )),
            Op::AddConstraint {
                constraint: TableConstraint::Check(mut check),
                ..
            } => {
                let mut typer = Typer::new(catalog);
                typer.add_table(&table, None);
                typer.rewrite(&mut check.expr)?;
                let name = check
                    .name
                    .as_ref()
                    .map(super::ident_text)
                    .unwrap_or_else(|| constraint_name(&table, first_column(&check.expr), "check"));
                statements.push(queue_change(
                    &table,
                    &TableChange::AddCheck {
                        name,
                        check: check.expr.to_string(),
                    },
                ));
            }
            Op::AddConstraint {
                constraint: TableConstraint::ForeignKey(fk),
                ..
            } => statements.push(queue_change(&table, &foreign_key(&table, fk, catalog)?)),
            Op::AddConstraint { constraint, .. } => {
                let (index, columns) = match &constraint {
                    TableConstraint::PrimaryKey(pk) => (format!("{table}_pkey"), &pk.columns),
                    TableConstraint::Unique(u) => (
                        u.name
                            .as_ref()
                            .map(super::ident_text)
                            .unwrap_or_else(|| format!("{table}_key")),
                        &u.columns,
                    ),
                    other => return Err(Error::unsupported(format!("ALTER TABLE ADD {other}"))),
                };
                let columns: Vec<String> =
                    columns.iter().map(|c| c.column.expr.to_string()).collect();
                statements.push(format!(
                    "CREATE UNIQUE INDEX {} ON {name} ({})",
                    quoted(&index),
                    columns.join(", ")
                ));
            }
            other => return Err(Error::unsupported(format!("ALTER TABLE {other}"))),
        }
    }
    if statements.is_empty() {
        statements.push("SELECT 1 WHERE 0".into());
    }
    let first = statements.remove(0);
    Ok(schema_plan(first, statements, "ALTER TABLE"))
}

/// The statement that queues `change` for the store (see `store::alter`).
fn queue_change(table: &str, change: &TableChange) -> String {
    let change = serde_json::to_string(change).expect("table changes serialize");
    format!(
        "SELECT lw_alter_table({}, {})",
        sql_string(table),
        sql_string(&change)
    )
}

/// Postgres's name for an unnamed constraint: `table_column_suffix`.
fn constraint_name(table: &str, column: Option<String>, suffix: &str) -> String {
    match column {
        Some(column) => format!("{table}_{column}_{suffix}"),
        None => format!("{table}_{suffix}"),
    }
}

/// The first column an expression names (what Postgres names a CHECK after).
fn first_column(expr: &Expr) -> Option<String> {
    let mut found = None;
    let _ = sqlparser::ast::visit_expressions(expr, |e| {
        if let Expr::Identifier(i) = e {
            found = Some(super::ident_text(i));
            return std::ops::ControlFlow::Break(());
        }
        std::ops::ControlFlow::Continue(())
    });
    found
}

/// `ADD [CONSTRAINT name] FOREIGN KEY (cols) REFERENCES parent [(cols)] ...`;
/// without referred columns, the parent's primary key.
fn foreign_key(
    table: &str,
    mut fk: sqlparser::ast::ForeignKeyConstraint,
    catalog: &Catalog,
) -> Result<TableChange> {
    let parent = object_name(&fk.foreign_table);
    let parent = crate::catalog::unqualified(&parent).to_string();
    let known = catalog.table(&parent).ok_or_else(|| {
        Error::new(
            SqlState::UndefinedTable,
            format!("relation \"{parent}\" does not exist"),
        )
    })?;
    let columns: Vec<String> = fk.columns.iter().map(super::ident_text).collect();
    let mut referred: Vec<String> = fk.referred_columns.iter().map(super::ident_text).collect();
    if referred.is_empty() {
        referred = known
            .columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect();
    }
    let name = fk
        .name
        .as_ref()
        .map(super::ident_text)
        .unwrap_or_else(|| constraint_name(table, Some(columns.join("_")), "fkey"));
    fk.name = Some(Ident::with_quote('"', name.clone()));
    fk.foreign_table = ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote(
        '"',
        parent.clone(),
    ))]);
    fk.referred_columns = referred
        .iter()
        .map(|c| Ident::with_quote('"', c.clone()))
        .collect();
    let constraint = sqlparser::ast::TableConstraint::ForeignKey(fk).to_string();
    Ok(TableChange::AddForeignKey {
        name,
        columns,
        table: parent,
        referred,
        constraint,
    })
}

pub(super) fn column_record(table: &str, column: &str, ty: ColumnType) -> String {
    format!(
        "INSERT OR REPLACE INTO _lw_columns (table_name, column_name, type) VALUES ({}, {}, {})",
        sql_string(table),
        sql_string(column),
        sql_string(&ty.to_sql())
    )
}
