//! Trigger functions: `CREATE FUNCTION ... RETURNS trigger LANGUAGE plpgsql`,
//! `CREATE TRIGGER`, `DROP TRIGGER`, `DROP FUNCTION`.
//!
//! A function's source is stored (`_lw_functions`) after `plpgsql::parse`
//! accepted it; a trigger's statement is stored (`_lw_triggers`) and compiled,
//! with its function's body, into one SQLite trigger per event named
//! `_lw_trigger:<table>:<name>:<event>`. The store regenerates them after every
//! DDL ([`installed`]), so a new column shows up in `row_to_json(NEW)` and
//! `CREATE OR REPLACE FUNCTION` reaches the triggers that use it.
//!
//! Compilation, per event: `TG_OP`, `TG_TABLE_NAME`, ... become literals, and
//! `NEW` (`OLD`) becomes NULL where Postgres has no such row (DELETE, INSERT);
//! IF branches whose condition is then constant are pruned. SQLite trigger
//! bodies have no IF, so each statement runs under its branch's condition
//! (`WHERE (c) IS TRUE AND (earlier) IS NOT TRUE ...`, NULL counts as false as
//! in PL/pgSQL) and under `NOT (...)` of every earlier RETURN's condition.
//! `PERFORM e` -> `SELECT e WHERE g`; `INSERT .. VALUES` -> `INSERT .. SELECT *
//! FROM (VALUES ..) WHERE g`; `UPDATE`/`DELETE .. WHERE w` -> `.. WHERE (w) AND g`;
//! in a BEFORE trigger, returning no row -> `SELECT RAISE(IGNORE) WHERE g`,
//! which skips the row as Postgres does. Expressions go through the query
//! translator with the table in scope as `new` and `old`, so `pg_notify`,
//! `now()`, casts and numeric arithmetic behave as in queries.
//!
//! Assignments to `NEW.col`: SQLite cannot change the row being written, so
//! the compiler keeps each assigned column's value as an expression over the
//! written row (`CASE WHEN g THEN v ELSE <earlier value> END` under a branch),
//! substitutes it for later reads of `NEW.col`, and at each `RETURN NEW` of a
//! BEFORE trigger emits `UPDATE tbl SET col = value WHERE rowid = NEW.rowid
//! AND g` into a second SQLite trigger, AFTER the event (`...:assign`). That
//! one is created after every other trigger of the table, so it fires first
//! (SQLite fires the most recent first), and brackets its UPDATE with a row in
//! `_lw_assigning`, which the table's UPDATE triggers skip on (Postgres fires
//! none there). The table's other AFTER triggers and change capture read NEW
//! from the stored row, so they see the assigned values as in Postgres.
//! Differences that remain: constraints are checked on the written row as
//! well (an INSERT leaving out a NOT NULL column that the trigger fills fails
//! with 23502), RETURNING shows the values before the assignments, and the
//! other BEFORE triggers of the table see NEW as written.

use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast::{
    BinaryOperator, CreateFunction, CreateFunctionBody, CreateTrigger, DropBehavior, DropFunction,
    DropTrigger, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, SetExpr, Statement,
    TriggerEvent, TriggerObject, TriggerObjectKind, TriggerPeriod, UnaryOperator, Value, VisitMut,
    VisitorMut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::capture::STORED;
use super::expr::object_name;
use super::plpgsql::{self, Returned, Stmt};
use super::quote_ident as ident;
use super::{Access, Plan, SqlPlan};
use crate::catalog::{Catalog, Table, TriggerDef};
use crate::error::{Error, Result, SqlState};

/// Prefix of every SQLite trigger generated here (the capture triggers use
/// `_lw_capture_`).
pub const TRIGGER_PREFIX: &str = "_lw_trigger:";

pub fn plan(statement: Statement, catalog: &Catalog) -> Result<Plan> {
    let plan = match statement {
        Statement::CreateFunction(create) => create_function(create, catalog),
        Statement::CreateTrigger(create) => create_trigger(create, catalog),
        Statement::DropTrigger(drop) => return drop_trigger(drop, catalog),
        Statement::DropFunction(drop) => return drop_function(drop, catalog),
        _ => unreachable!("triggers::plan is called for trigger statements only"),
    };
    Ok(Plan::Sql(Arc::new(plan?)))
}

/// One SQLite trigger compiled from a stored trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub name: String,
    pub table: String,
    /// The complete `CREATE TRIGGER ... END`, as SQLite keeps it in `sqlite_schema`.
    pub sql: String,
    /// It writes a BEFORE trigger's assignments to NEW into the row, so it
    /// must be created after every other trigger of its table (SQLite fires
    /// the most recently created first), and such triggers in reverse name
    /// order (Postgres fires them by name).
    pub writes_row: bool,
}

/// Every SQLite trigger the stored triggers compile to.
pub fn installed(catalog: &Catalog) -> Result<Vec<Compiled>> {
    let mut all = Vec::new();
    for def in catalog.triggers() {
        if let Some(trigger) = stored(catalog, def)? {
            all.extend(trigger.compile(catalog)?);
        }
    }
    Ok(all)
}

/// Whether BEFORE triggers assign to NEW on `table`: its change capture and
/// AFTER triggers then read the new row from the table (see the module doc).
pub fn assigns(catalog: &Catalog, table: &str) -> Result<bool> {
    for def in catalog.triggers() {
        if def.table.eq_ignore_ascii_case(table)
            && let Some(trigger) = stored(catalog, def)?
            && trigger.assigns(catalog)?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A stored trigger, validated again (None when its table is gone).
fn stored<'a>(catalog: &'a Catalog, def: &TriggerDef) -> Result<Option<Trigger<'a>>> {
    let Some(table) = catalog.table(&def.table) else {
        return Ok(None);
    };
    Trigger::new(parse_create(&def.definition)?, table, catalog).map(Some)
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn bare_name(name: &sqlparser::ast::ObjectName) -> String {
    let name = object_name(name);
    crate::catalog::unqualified(&name).to_string()
}

fn schema_plan(mut statements: Vec<String>, tag: &'static str) -> SqlPlan {
    if statements.is_empty() {
        statements.push("SELECT 1 WHERE 0".into());
    }
    let sql = statements.remove(0);
    SqlPlan {
        sql,
        after: statements,
        access: Access::Schema,
        tag,
        params: Vec::new(),
        columns: None,
    }
}

fn undefined_function(name: &str) -> Error {
    Error::new(
        SqlState::UndefinedFunction,
        format!("function {name}() does not exist"),
    )
}

fn create_function(create: CreateFunction, catalog: &Catalog) -> Result<SqlPlan> {
    let name = bare_name(&create.name);
    match create.language.as_ref().map(super::ident_text).as_deref() {
        Some("plpgsql") => {}
        Some(other) => return Err(Error::unsupported(format!("LANGUAGE {other} functions"))),
        None => return Err(Error::unsupported("functions without LANGUAGE plpgsql")),
    }
    let returns = create
        .return_type
        .as_ref()
        .map(|t| t.to_string().to_ascii_lowercase());
    if returns.as_deref() != Some("trigger") {
        return Err(Error::unsupported(format!(
            "functions returning {} (only RETURNS trigger)",
            returns.as_deref().unwrap_or("nothing")
        )));
    }
    if create.args.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(Error::unsupported("trigger function arguments"));
    }
    let source = match &create.function_body {
        Some(CreateFunctionBody::AsBeforeOptions { body, .. })
        | Some(CreateFunctionBody::AsAfterOptions(body)) => match body {
            Expr::Value(v) => match &v.value {
                Value::DollarQuotedString(d) => d.value.clone(),
                Value::SingleQuotedString(s) => s.clone(),
                _ => return Err(Error::unsupported("this function body")),
            },
            _ => return Err(Error::unsupported("this function body")),
        },
        _ => return Err(Error::syntax("no function body specified")),
    };
    plpgsql::parse(&source)?;
    if catalog.function(&name).is_some() && !create.or_replace {
        return Err(Error::new(
            SqlState::DuplicateFunction,
            format!("function \"{name}\" already exists with same argument types"),
        ));
    }
    // The triggers that use it must still compile with the new body.
    installed(&catalog.with_function(&name, &source))?;
    Ok(schema_plan(
        vec![format!(
            "INSERT OR REPLACE INTO _lw_functions (name, source) VALUES ({}, {})",
            sql_string(&name),
            sql_string(&source)
        )],
        "CREATE FUNCTION",
    ))
}

fn has_assignment(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Assign { .. } => true,
        Stmt::If {
            branches,
            otherwise,
        } => branches.iter().any(|(_, b)| has_assignment(b)) || has_assignment(otherwise),
        _ => false,
    })
}

fn parse_create(definition: &str) -> Result<CreateTrigger> {
    match Parser::parse_sql(&PostgreSqlDialect {}, definition)
        .map_err(|e| Error::internal(format!("stored trigger: {e}")))?
        .pop()
    {
        Some(Statement::CreateTrigger(create)) => Ok(create),
        _ => Err(Error::internal("stored trigger is not a CREATE TRIGGER")),
    }
}

fn create_trigger(create: CreateTrigger, catalog: &Catalog) -> Result<SqlPlan> {
    let table_name = bare_name(&create.table_name);
    let table = catalog.table(&table_name).ok_or_else(|| {
        Error::new(
            SqlState::UndefinedTable,
            format!("relation \"{table_name}\" does not exist"),
        )
    })?;
    let replace = create.or_replace;
    let definition = create.to_string();
    let trigger = Trigger::new(create, table, catalog)?;
    let existing = find_trigger(catalog, &table.name, &trigger.name);
    if existing.is_some() && !replace {
        return Err(Error::new(
            SqlState::DuplicateObject,
            format!(
                "trigger \"{}\" for relation \"{}\" already exists",
                trigger.name, table.name
            ),
        ));
    }
    let mut statements = drop_statements(&table.name, &trigger.name);
    statements.extend(trigger.compile(catalog)?.into_iter().map(|c| c.sql));
    statements.push(format!(
        "INSERT OR REPLACE INTO _lw_triggers (table_name, name, function, definition) \
         VALUES ({}, {}, {}, {})",
        sql_string(&table.name),
        sql_string(&trigger.name),
        sql_string(&trigger.function),
        sql_string(&definition)
    ));
    Ok(schema_plan(statements, "CREATE TRIGGER"))
}

fn find_trigger<'a>(catalog: &'a Catalog, table: &str, name: &str) -> Option<&'a TriggerDef> {
    catalog
        .triggers()
        .iter()
        .find(|t| t.table.eq_ignore_ascii_case(table) && t.name == name)
}

/// Removes a trigger's SQLite triggers and its record.
fn drop_statements(table: &str, name: &str) -> Vec<String> {
    let mut statements: Vec<String> = Event::ALL
        .iter()
        .flat_map(|e| {
            let event = sqlite_name(table, name, *e);
            [assign_name(&event), event]
        })
        .map(|n| format!("DROP TRIGGER IF EXISTS {}", ident(&n)))
        .collect();
    statements.push(format!(
        "DELETE FROM _lw_triggers WHERE table_name = {} AND name = {}",
        sql_string(table),
        sql_string(name)
    ));
    statements
}

/// Statements removing the SQLite triggers of `table`'s stored triggers, for
/// a change SQLite refuses while triggers name a column (DROP COLUMN); the
/// store installs fresh ones afterwards.
pub fn drop_sqlite_triggers(catalog: &Catalog, table: &str) -> Vec<String> {
    let mut statements = Vec::new();
    for def in catalog.triggers() {
        if def.table.eq_ignore_ascii_case(table) {
            let mut drops = drop_statements(&def.table, &def.name);
            drops.pop();
            statements.extend(drops);
        }
    }
    statements
}

fn drop_trigger(drop: DropTrigger, catalog: &Catalog) -> Result<Plan> {
    let name = bare_name(&drop.trigger_name);
    let Some(table) = drop.table_name.as_ref().map(bare_name) else {
        return Err(Error::syntax("syntax error at end of input"));
    };
    let missing = if catalog.table(&table).is_none() {
        Error::new(
            SqlState::UndefinedTable,
            format!("relation \"{table}\" does not exist"),
        )
    } else if let Some(def) = find_trigger(catalog, &table, &name) {
        return Ok(Plan::Sql(Arc::new(schema_plan(
            drop_statements(&def.table, &def.name),
            "DROP TRIGGER",
        ))));
    } else {
        Error::new(
            SqlState::UndefinedObject,
            format!("trigger \"{name}\" for table \"{table}\" does not exist"),
        )
    };
    if !drop.if_exists {
        return Err(missing);
    }
    // Postgres says "relation" where the error said "table".
    let notice = missing.message.replace("for table", "for relation");
    Ok(Plan::skipped(
        "DROP TRIGGER",
        vec![super::skipping(&notice)],
    ))
}

/// `DROP FUNCTION f`: refused while triggers use it (2BP01), unless CASCADE,
/// which drops those triggers too.
fn drop_function(drop: DropFunction, catalog: &Catalog) -> Result<Plan> {
    let mut statements = Vec::new();
    let mut notices = Vec::new();
    for desc in &drop.func_desc {
        let name = bare_name(&desc.name);
        if catalog.function(&name).is_none() {
            if drop.if_exists {
                notices.push(super::skipping(&undefined_function(&name).message));
                continue;
            }
            return Err(undefined_function(&name));
        }
        let users: Vec<&TriggerDef> = catalog
            .triggers()
            .iter()
            .filter(|t| t.function == name)
            .collect();
        if let Some(user) = users.first()
            && drop.drop_behavior != Some(DropBehavior::Cascade)
        {
            return Err(Error::new(
                SqlState::DependentObjectsStillExist,
                format!("cannot drop function {name}() because other objects depend on it"),
            )
            .with_detail(format!(
                "trigger {} on table {} depends on function {name}()",
                user.name, user.table
            ))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        for user in users {
            statements.extend(drop_statements(&user.table, &user.name));
        }
        statements.push(format!(
            "DELETE FROM _lw_functions WHERE name = {}",
            sql_string(&name)
        ));
    }
    if statements.is_empty() {
        return Ok(Plan::skipped("DROP FUNCTION", notices));
    }
    Ok(Plan::noticed(
        notices,
        schema_plan(statements, "DROP FUNCTION"),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Insert,
    Update,
    Delete,
}

impl Event {
    const ALL: [Event; 3] = [Event::Insert, Event::Update, Event::Delete];

    fn tg_op(self) -> &'static str {
        match self {
            Event::Insert => "INSERT",
            Event::Update => "UPDATE",
            Event::Delete => "DELETE",
        }
    }

    /// Whether the row `NEW` (`new`) or `OLD` exists for this event.
    fn has_row(self, row: &str) -> bool {
        match row {
            "new" => self != Event::Delete,
            "old" => self != Event::Insert,
            _ => false,
        }
    }
}

fn sqlite_name(table: &str, trigger: &str, event: Event) -> String {
    format!(
        "{TRIGGER_PREFIX}{table}:{trigger}:{}",
        event.tg_op().to_ascii_lowercase()
    )
}

/// The SQLite trigger that writes the assignments to NEW of the trigger
/// named `event` (see the module doc).
fn assign_name(event: &str) -> String {
    format!("{event}:assign")
}

/// A validated CREATE TRIGGER.
struct Trigger<'a> {
    name: String,
    table: &'a Table,
    before: bool,
    events: Vec<Event>,
    update_of: Vec<String>,
    when: Option<Expr>,
    function: String,
}

impl<'a> Trigger<'a> {
    fn new(create: CreateTrigger, table: &'a Table, catalog: &Catalog) -> Result<Self> {
        if create.is_constraint {
            return Err(Error::unsupported("CREATE CONSTRAINT TRIGGER"));
        }
        if !create.referencing.is_empty() {
            return Err(Error::unsupported("REFERENCING transition tables"));
        }
        match create.trigger_object {
            Some(TriggerObjectKind::ForEach(TriggerObject::Row))
            | Some(TriggerObjectKind::For(TriggerObject::Row)) => {}
            _ => return Err(Error::unsupported("FOR EACH STATEMENT triggers")),
        }
        let before = match create.period {
            Some(TriggerPeriod::Before) => true,
            Some(TriggerPeriod::After) => false,
            Some(other) => return Err(Error::unsupported(format!("{other} triggers"))),
            None => return Err(Error::syntax("syntax error: BEFORE or AFTER expected")),
        };
        let mut events = Vec::new();
        let mut update_of = Vec::new();
        for event in &create.events {
            events.push(match event {
                TriggerEvent::Insert => Event::Insert,
                TriggerEvent::Update(columns) => {
                    update_of.extend(columns.iter().map(super::ident_text));
                    Event::Update
                }
                TriggerEvent::Delete => Event::Delete,
                TriggerEvent::Truncate => return Err(Error::unsupported("TRUNCATE triggers")),
            });
        }
        for column in &update_of {
            if table.column(column).is_none() {
                return Err(Error::undefined_column(column, &table.name));
            }
        }
        let Some(exec) = create.exec_body else {
            return Err(Error::unsupported(
                "trigger bodies other than EXECUTE FUNCTION",
            ));
        };
        if exec.func_desc.args.as_ref().is_some_and(|a| !a.is_empty()) {
            return Err(Error::unsupported("trigger function arguments (TG_ARGV)"));
        }
        let function = bare_name(&exec.func_desc.name);
        if catalog.function(&function).is_none() {
            return Err(undefined_function(&function));
        }
        Ok(Trigger {
            name: bare_name(&create.name),
            table,
            before,
            events,
            update_of,
            when: create.condition,
            function,
        })
    }

    /// Whether this is a BEFORE INSERT/UPDATE trigger whose function assigns to NEW.
    fn assigns(&self, catalog: &Catalog) -> Result<bool> {
        if !self.before || self.events == [Event::Delete] {
            return Ok(false);
        }
        let source = catalog
            .function(&self.function)
            .ok_or_else(|| undefined_function(&self.function))?;
        Ok(has_assignment(&plpgsql::parse(source)?))
    }

    /// The SQLite triggers of each event: the body's, and the one writing its
    /// assignments to NEW; an event whose body prunes to nothing gets none.
    fn compile(&self, catalog: &Catalog) -> Result<Vec<Compiled>> {
        let source = catalog
            .function(&self.function)
            .ok_or_else(|| undefined_function(&self.function))?;
        let body = plpgsql::parse(source)?;
        let mut scope = catalog.clone();
        for alias in ["new", "old"] {
            scope = scope.with_table(Table {
                name: alias.into(),
                columns: self.table.columns.clone(),
            });
        }
        let stored_new = assigns(catalog, &self.table.name)?;
        let mut out = Vec::new();
        for &event in &self.events {
            let mut compiler = Compiler {
                trigger: self,
                event,
                scope: &scope,
                stored_new: stored_new && !self.before,
                statements: Vec::new(),
                returned: Vec::new(),
                done: false,
                assigned: Vec::new(),
                texts: Vec::new(),
                writes: Vec::new(),
            };
            let mut when = match &self.when {
                None => Vec::new(),
                Some(when) => match compiler.condition(when)? {
                    Condition::Constant(false) => continue,
                    Condition::Constant(true) => Vec::new(),
                    Condition::Sql(sql) => vec![sql],
                },
            };
            if stored_new && event == Event::Update {
                when.push(super::capture::not_assigning(&self.table.name));
            }
            if !compiler.block(&body, &[])? {
                compiler.write(&[])?;
            }
            let name = sqlite_name(&self.table.name, &self.name, event);
            let (statements, writes) = compiler.finish();
            if !statements.is_empty() {
                out.push(self.create(&name, event, self.before, &when, &statements));
            }
            if !writes.is_empty() {
                let mut create = self.create(&assign_name(&name), event, false, &when, &writes);
                create.writes_row = true;
                out.push(create);
            }
        }
        Ok(out)
    }

    /// One `CREATE TRIGGER` for `event` running `statements`.
    fn create(
        &self,
        name: &str,
        event: Event,
        before: bool,
        when: &[String],
        statements: &[String],
    ) -> Compiled {
        let of = if event == Event::Update && !self.update_of.is_empty() {
            let columns: Vec<String> = self.update_of.iter().map(|c| ident(c)).collect();
            format!(" OF {}", columns.join(", "))
        } else {
            String::new()
        };
        let when = if when.is_empty() {
            String::new()
        } else {
            format!(" WHEN {}", when.join(" AND "))
        };
        let sql = format!(
            "CREATE TRIGGER {} {} {}{of} ON {} FOR EACH ROW{when} BEGIN\n  {};\nEND",
            ident(name),
            if before { "BEFORE" } else { "AFTER" },
            event.tg_op(),
            ident(&self.table.name),
            statements.join(";\n  ")
        );
        Compiled {
            name: name.to_string(),
            table: self.table.name.clone(),
            sql,
            writes_row: false,
        }
    }
}

enum Condition {
    Constant(bool),
    Sql(String),
}

/// Compiles a body for one event of one trigger.
struct Compiler<'a, 'b> {
    trigger: &'b Trigger<'a>,
    event: Event,
    scope: &'b Catalog,
    /// NEW is read from the stored row: an AFTER trigger of a table whose
    /// BEFORE triggers assign to NEW.
    stored_new: bool,
    statements: Vec<String>,
    /// The guards under which an earlier RETURN ended the function.
    returned: Vec<Vec<String>>,
    /// An unconditional RETURN was reached: nothing after it runs.
    done: bool,
    /// The columns assigned so far, each with its value at this point of the
    /// body: a Postgres expression over the written row and [`mark`]s.
    assigned: Vec<(String, Expr)>,
    /// The SQL text each [`mark`] stands for (guards, the written value).
    texts: Vec<String>,
    /// The UPDATEs writing the assignments, one per `RETURN NEW`.
    writes: Vec<String>,
}

/// A compiler-wide placeholder for SQL text in a Postgres expression (unlike
/// [`placeholder`], it outlives one translation).
fn mark(n: usize) -> String {
    format!("__lw_mark_{n}_")
}

fn parse_expr(sql: &str) -> Result<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::internal(format!("trigger expression: {e}")))
}

fn no_field(row: &str, column: &str) -> Error {
    Error::new(
        SqlState::UndefinedColumn,
        format!("record \"{row}\" has no field \"{column}\""),
    )
}

impl Compiler<'_, '_> {
    /// Compiles `body` under `guard` (conjuncts that are never NULL); returns
    /// whether every path through it returns.
    fn block(&mut self, body: &[Stmt], guard: &[String]) -> Result<bool> {
        for stmt in body {
            if self.done {
                return Ok(true);
            }
            match stmt {
                Stmt::Perform(expr) => {
                    let sql = self.expr(expr)?;
                    self.select(&sql, guard);
                }
                Stmt::Sql(statement) => self.dml(statement, guard)?,
                Stmt::Assign { column, value } => self.assign(column, value, guard)?,
                Stmt::Return(returned) => {
                    self.ret(*returned, guard)?;
                    return Ok(true);
                }
                Stmt::If {
                    branches,
                    otherwise,
                } => {
                    if self.if_statement(branches, otherwise, guard)? {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    fn if_statement(
        &mut self,
        branches: &[(Expr, Vec<Stmt>)],
        otherwise: &[Stmt],
        guard: &[String],
    ) -> Result<bool> {
        let mut earlier: Vec<String> = Vec::new();
        let mut all_return = true;
        for (condition, body) in branches {
            let mut inner: Vec<String> = guard.iter().chain(&earlier).cloned().collect();
            match self.condition(condition)? {
                Condition::Constant(false) => continue,
                Condition::Constant(true) => {
                    // This branch always runs when reached: ELSIF/ELSE never do.
                    return Ok(self.block(body, &inner)? && all_return);
                }
                Condition::Sql(sql) => {
                    inner.push(format!("({sql}) IS TRUE"));
                    all_return &= self.block(body, &inner)?;
                    earlier.push(format!("({sql}) IS NOT TRUE"));
                }
            }
        }
        let inner: Vec<String> = guard.iter().chain(&earlier).cloned().collect();
        Ok(self.block(otherwise, &inner)? && all_return)
    }

    fn ret(&mut self, returned: Returned, guard: &[String]) -> Result<()> {
        if self.trigger.before {
            let proceed = match (self.event, returned) {
                (Event::Insert | Event::Update, Returned::New) => true,
                (Event::Delete, Returned::Old) => true,
                (Event::Update, Returned::Old) => {
                    return Err(Error::unsupported("RETURN OLD in a BEFORE UPDATE trigger"));
                }
                _ => false,
            };
            if proceed {
                self.write(guard)?;
            } else {
                self.select("RAISE(IGNORE)", guard);
            }
        }
        if guard.is_empty() {
            self.done = true;
        } else {
            self.returned.push(guard.to_vec());
        }
        Ok(())
    }

    /// `NEW.column := value` under `guard`: the column's value from here on.
    fn assign(&mut self, column: &str, value: &Expr, guard: &[String]) -> Result<()> {
        if !self.event.has_row("new") {
            return Err(Error::unsupported("assignment to NEW in a DELETE trigger"));
        }
        let column = self
            .trigger
            .table
            .column(column)
            .ok_or_else(|| no_field("new", column))?
            .name
            .clone();
        let mut value = value.clone();
        self.expand(&mut value)?;
        if let Some(guard) = self.guard(guard) {
            let earlier = match self.assigned.iter().find(|(c, _)| *c == column) {
                Some((_, earlier)) => earlier.to_string(),
                None => self.text(format!("new.{}", ident(&column))),
            };
            let when = self.text(guard);
            value = parse_expr(&format!(
                "CASE WHEN {when} THEN ({value}) ELSE ({earlier}) END"
            ))?;
        }
        self.assigned.retain(|(c, _)| *c != column);
        self.assigned.push((column, value));
        Ok(())
    }

    /// A [`mark`] standing for `sql`.
    fn text(&mut self, sql: String) -> String {
        self.texts.push(sql);
        mark(self.texts.len() - 1)
    }

    /// Reads of assigned `NEW.column`s in `node` become their current value.
    fn expand<T: VisitMut>(&self, node: &mut T) -> Result<()> {
        if self.assigned.is_empty() {
            return Ok(());
        }
        match node.visit(&mut Expand {
            assigned: &self.assigned,
        }) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(e) => Err(e),
        }
    }

    /// At a `RETURN NEW` of a BEFORE trigger under `guard`: the UPDATE writing
    /// the assignments made so far into the row.
    fn write(&mut self, guard: &[String]) -> Result<()> {
        if !self.trigger.before || self.assigned.is_empty() {
            return Ok(());
        }
        let set: Vec<String> = self
            .assigned
            .iter()
            .map(|(c, v)| format!("{} = {v}", ident(c)))
            .collect();
        let row = self.text("rowid = new.rowid".into());
        let update = format!(
            "UPDATE {} SET {} WHERE {row}",
            ident(&self.trigger.table.name),
            set.join(", ")
        );
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, &update)
            .map_err(|e| Error::internal(format!("trigger assignment: {e}")))?
            .pop()
            .ok_or_else(|| Error::internal("trigger assignment vanished"))?;
        let sql = self.dml_sql(&statement, guard)?;
        self.writes.push(sql);
        Ok(())
    }

    /// The compiled statements of the body and of the assignments' writes
    /// (bracketed by their `_lw_assigning` row), with the marks filled in.
    fn finish(self) -> (Vec<String>, Vec<String>) {
        let fill = |sql: &String| {
            let mut sql = sql.clone();
            // A text may hold earlier marks (a guard reading an assigned
            // column), never later ones: fill from the last.
            for (n, text) in self.texts.iter().enumerate().rev() {
                sql = sql.replace(&mark(n), text);
            }
            sql
        };
        let statements = self.statements.iter().map(fill).collect();
        if self.writes.is_empty() {
            return (statements, Vec::new());
        }
        let table = sql_string(&self.trigger.table.name);
        let mut writes = vec![format!(
            "INSERT INTO _lw_assigning (tbl, rid) VALUES ({table}, NEW.rowid)"
        )];
        writes.extend(self.writes.iter().map(fill));
        writes.push(format!(
            "DELETE FROM _lw_assigning WHERE tbl = {table} AND rid = NEW.rowid"
        ));
        (statements, writes)
    }

    /// The full guard of a statement: its branch and no earlier RETURN taken.
    fn guard(&self, guard: &[String]) -> Option<String> {
        let conjuncts: Vec<String> = guard
            .iter()
            .cloned()
            .chain(
                self.returned
                    .iter()
                    .map(|r| format!("NOT ({})", r.join(" AND "))),
            )
            .collect();
        (!conjuncts.is_empty()).then(|| conjuncts.join(" AND "))
    }

    fn select(&mut self, sql: &str, guard: &[String]) {
        let statement = match self.guard(guard) {
            Some(g) => format!("SELECT {sql} WHERE {g}"),
            None => format!("SELECT {sql}"),
        };
        self.statements.push(statement);
    }

    /// Per-event substitutions in a copy of `node`, then the text that the
    /// placeholders stand for.
    fn substitute<T: VisitMut>(&self, node: &mut T) -> Result<Vec<String>> {
        let mut visitor = Substitute {
            trigger: self.trigger,
            event: self.event,
            stored_new: self.stored_new,
            texts: Vec::new(),
        };
        match node.visit(&mut visitor) {
            ControlFlow::Continue(()) => Ok(visitor.texts),
            ControlFlow::Break(e) => Err(e),
        }
    }

    /// A Postgres expression as SQLite SQL for this event.
    fn expr(&self, expr: &Expr) -> Result<String> {
        let mut expr = expr.clone();
        self.expand(&mut expr)?;
        let texts = self.substitute(&mut expr)?;
        let query = Parser::parse_sql(&PostgreSqlDialect {}, &format!("SELECT {expr}"))
            .map_err(|e| Error::syntax(super::parse_message(&e.to_string())))?
            .pop()
            .ok_or_else(|| Error::syntax("syntax error at end of input"))?;
        let plan = super::dml::plan(query, self.scope, &[])?;
        let sql = plan.sql.strip_prefix("SELECT ").unwrap_or(&plan.sql);
        Ok(fill(sql, &texts))
    }

    fn condition(&self, expr: &Expr) -> Result<Condition> {
        let mut folded = expr.clone();
        self.expand(&mut folded)?;
        self.substitute(&mut folded)?;
        match constant(&folded) {
            Some(value) => Ok(Condition::Constant(value == Some(true))),
            None => Ok(Condition::Sql(self.expr(expr)?)),
        }
    }

    /// INSERT / UPDATE / DELETE on a table, under `guard`.
    fn dml(&mut self, statement: &Statement, guard: &[String]) -> Result<()> {
        let mut statement = statement.clone();
        self.expand(&mut statement)?;
        let sql = self.dml_sql(&statement, guard)?;
        self.statements.push(sql);
        Ok(())
    }

    /// A statement of the body as SQLite SQL, under `guard`.
    fn dml_sql(&self, statement: &Statement, guard: &[String]) -> Result<String> {
        let mut statement = statement.clone();
        let texts = self.substitute(&mut statement)?;
        let plan = super::dml::plan(statement, self.scope, &[])?;
        let Some(guard) = self.guard(guard) else {
            return Ok(fill(&plan.sql, &texts));
        };
        let mut translated = Parser::parse_sql(&PostgreSqlDialect {}, &plan.sql)
            .map_err(|e| Error::internal(format!("trigger statement: {e}")))?
            .pop()
            .ok_or_else(|| Error::internal("trigger statement vanished"))?;
        let marker = Expr::Identifier(Ident::new(GUARD));
        match &mut translated {
            Statement::Insert(insert) => {
                if let Some(source) = insert.source.as_mut()
                    && matches!(source.body.as_ref(), SetExpr::Values(_))
                {
                    let select = format!("SELECT * FROM ({source}) WHERE {GUARD}");
                    *source = Parser::new(&PostgreSqlDialect {})
                        .try_with_sql(&select)
                        .and_then(|mut p| p.parse_query())
                        .map_err(|e| Error::internal(format!("trigger statement: {e}")))?;
                }
            }
            Statement::Update(update) => {
                update.selection = Some(and(update.selection.take(), marker))
            }
            Statement::Delete(delete) => {
                delete.selection = Some(and(delete.selection.take(), marker))
            }
            _ => {}
        }
        let sql = translated.to_string().replace(GUARD, &format!("({guard})"));
        Ok(fill(&sql, &texts))
    }
}

const GUARD: &str = "__lw_guard__";

fn and(left: Option<Expr>, right: Expr) -> Expr {
    match left {
        None => right,
        Some(left) => Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(left))),
            op: BinaryOperator::And,
            right: Box::new(right),
        },
    }
}

fn placeholder(n: usize) -> String {
    format!("__lw_sub_{n}_")
}

/// Puts the SQL texts back where [`Substitute`] left placeholders.
fn fill(sql: &str, texts: &[String]) -> String {
    let mut sql = sql.to_string();
    for (n, text) in texts.iter().enumerate() {
        sql = sql.replace(&placeholder(n), text);
    }
    sql
}

/// The per-event rewriting of a body's expressions: `TG_*` variables become
/// literals, NEW/OLD become NULL where the event has no such row, and the row
/// constructs (`row_to_json(NEW)`, ...) become placeholders for SQL text that
/// the query translator must not touch.
struct Substitute<'a, 'b> {
    trigger: &'b Trigger<'a>,
    event: Event,
    /// See [`Compiler::stored_new`].
    stored_new: bool,
    texts: Vec<String>,
}

/// Replaces reads of assigned `NEW.column`s with their current value, and
/// refuses the whole-row constructs there (they would show the row as written).
struct Expand<'a> {
    assigned: &'a [(String, Expr)],
}

impl VisitorMut for Expand<'_> {
    type Break = Error;

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        match expr {
            Expr::CompoundIdentifier(parts)
                if parts.len() == 2
                    && row_variable(&Expr::Identifier(parts[0].clone())).as_deref()
                        == Some("new") =>
            {
                let column = super::ident_text(&parts[1]);
                if let Some((_, value)) = self
                    .assigned
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(&column))
                {
                    *expr = Expr::Nested(Box::new(value.clone()));
                }
            }
            Expr::Function(f)
                if super::expr::function_args(f)
                    .iter()
                    .any(|a| row_variable(a).as_deref() == Some("new")) =>
            {
                return ControlFlow::Break(Error::unsupported(format!(
                    "{}(NEW) after an assignment to NEW in a trigger function",
                    object_name(&f.name)
                )));
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn null() -> Expr {
    Expr::Value(Value::Null.into())
}

fn text_literal(s: &str) -> Expr {
    Expr::Value(Value::SingleQuotedString(s.to_string()).into())
}

/// `new` / `old` when `expr` is the bare row variable.
fn row_variable(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(i) if i.quote_style.is_none() => {
            let name = i.value.to_ascii_lowercase();
            (name == "new" || name == "old").then_some(name)
        }
        _ => None,
    }
}

impl Substitute<'_, '_> {
    /// Whether `row` is read from the table (see [`Compiler::stored_new`]).
    fn stored(&self, row: &str) -> bool {
        self.stored_new && row == "new"
    }

    fn stored_row(&self, select: &str) -> String {
        super::capture::stored_row(&self.trigger.table.name, select)
    }

    /// `sql(row)`, over the stored row when `row` is read from the table.
    fn row_sql(&self, row: &str, sql: impl Fn(&str) -> String) -> String {
        if self.stored(row) {
            self.stored_row(&sql(STORED))
        } else {
            sql(row)
        }
    }

    fn text(&mut self, sql: String) -> Expr {
        self.texts.push(sql);
        Expr::Identifier(Ident::new(placeholder(self.texts.len() - 1)))
    }

    fn on_expr(&mut self, expr: &mut Expr) -> Result<()> {
        match expr {
            Expr::Identifier(i) if i.quote_style.is_none() => {
                let trigger = self.trigger;
                let value = match i.value.to_ascii_lowercase().as_str() {
                    "tg_op" => self.event.tg_op().to_string(),
                    "tg_table_name" | "tg_relname" => trigger.table.name.clone(),
                    "tg_table_schema" => "public".into(),
                    "tg_name" => trigger.name.clone(),
                    "tg_when" => if trigger.before { "BEFORE" } else { "AFTER" }.into(),
                    "tg_level" => "ROW".into(),
                    v @ ("tg_argv" | "tg_nargs" | "tg_relid") => {
                        return Err(Error::unsupported(format!(
                            "{} in a trigger function",
                            v.to_ascii_uppercase()
                        )));
                    }
                    _ => return Ok(()),
                };
                *expr = text_literal(&value);
            }
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let Some(row) = row_variable(&Expr::Identifier(parts[0].clone())) else {
                    return Ok(());
                };
                let column = super::ident_text(&parts[1]);
                let Some(column) = self.trigger.table.column(&column) else {
                    return Err(no_field(&row, &column));
                };
                if !self.event.has_row(&row) {
                    *expr = null();
                } else if self.stored(&row) {
                    let select = format!("{STORED}.{}", ident(&column.name));
                    *expr = self.text(self.stored_row(&select));
                }
            }
            Expr::Function(f) => {
                let name = object_name(&f.name);
                let args = super::expr::function_args(f);
                let single_row = match args.as_slice() {
                    [arg] => row_variable(arg),
                    _ => None,
                };
                match (name.as_str(), single_row) {
                    ("row_to_json" | "to_json" | "to_jsonb", Some(row)) => {
                        *expr = if self.event.has_row(&row) {
                            let object = self.row_sql(&row, |row| {
                                super::capture::json_object(row, self.trigger.table.columns.iter())
                            });
                            let sql = if name == "to_jsonb" {
                                format!("lw_in({object}, 'jsonb')")
                            } else {
                                object
                            };
                            self.text(sql)
                        } else {
                            null()
                        };
                    }
                    ("json_build_object" | "jsonb_build_object", _) => self.build_object(f)?,
                    _ => {}
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `json_build_object(k, v, ...)` -> SQLite's `json_object`, with NEW/OLD
    /// columns and boolean literals in their JSON form.
    fn build_object(&mut self, f: &mut sqlparser::ast::Function) -> Result<()> {
        f.name = sqlparser::ast::ObjectName(vec![sqlparser::ast::ObjectNamePart::Identifier(
            Ident::new("json_object"),
        )]);
        let FunctionArguments::List(list) = &mut f.args else {
            return Ok(());
        };
        for arg in list.args.iter_mut().skip(1).step_by(2) {
            let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg else {
                continue;
            };
            match value {
                Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                    let Some(row) = row_variable(&Expr::Identifier(parts[0].clone())) else {
                        continue;
                    };
                    let column = super::ident_text(&parts[1]);
                    if let Some(column) = self.trigger.table.column(&column) {
                        let sql = self.row_sql(&row, |row| super::capture::json_value(row, column));
                        *value = self.text(sql);
                    }
                }
                Expr::Value(v) => {
                    if let Value::Boolean(b) = v.value {
                        *value = self.text(format!("json('{b}')"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl VisitorMut for Substitute<'_, '_> {
    type Break = Error;

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        match self.on_expr(expr) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

/// The value of a condition that no longer depends on the row (after the
/// per-event substitution): Some(Some(b)), Some(None) for NULL, None when it
/// must be evaluated.
fn constant(expr: &Expr) -> Option<Option<bool>> {
    match expr {
        Expr::Nested(inner) => constant(inner),
        Expr::Value(v) => match &v.value {
            Value::Boolean(b) => Some(Some(*b)),
            Value::Null => Some(None),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => constant(expr).map(|v| v.map(|b| !b)),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => match (constant(left), constant(right)) {
                (Some(Some(false)), _) | (_, Some(Some(false))) => Some(Some(false)),
                (Some(Some(true)), Some(v)) | (Some(v), Some(Some(true))) => Some(v),
                (Some(None), Some(None)) => Some(None),
                _ => None,
            },
            BinaryOperator::Or => match (constant(left), constant(right)) {
                (Some(Some(true)), _) | (_, Some(Some(true))) => Some(Some(true)),
                (Some(Some(false)), Some(v)) | (Some(v), Some(Some(false))) => Some(v),
                (Some(None), Some(None)) => Some(None),
                _ => None,
            },
            BinaryOperator::Eq | BinaryOperator::NotEq => {
                let (Some(l), Some(r)) = (literal(left), literal(right)) else {
                    return None;
                };
                let equal = match (l, r) {
                    (Some(l), Some(r)) => Some(l == r),
                    _ => None,
                };
                Some(equal.map(|e| e == (*op == BinaryOperator::Eq)))
            }
            _ => None,
        },
        Expr::IsNull(inner) => literal(inner).map(|v| Some(v.is_none())),
        Expr::IsNotNull(inner) => literal(inner).map(|v| Some(v.is_some())),
        _ => None,
    }
}

/// A string literal (Some(Some)) or NULL (Some(None)).
fn literal(expr: &Expr) -> Option<Option<&str>> {
    match expr {
        Expr::Nested(inner) => literal(inner),
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(Some(s.as_str())),
            Value::Null => Some(None),
            _ => None,
        },
        _ => None,
    }
}
