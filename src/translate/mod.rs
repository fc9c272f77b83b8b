//! Postgres SQL -> SQLite SQL, pure (no I/O): the catalog snapshot comes in, plans
//! go out. Each client statement becomes one [`Plan`]: either a session command
//! the front end carries out itself (transaction control, SET/SHOW), or a
//! [`SqlPlan`] with the SQLite text to run, its parameter types, its result
//! columns typed the Postgres way, and the command tag to report.
//!
//! The work is split by concept: `expr` rewrites and types expressions (casts,
//! numeric arithmetic, JSON operators, literals typed by context), `dml` coerces
//! values written into typed columns and expands `*`, `ddl` turns Postgres column
//! types into SQLite declarations plus `_lw_columns` records; `views`,
//! `sequences`, `enums` and `comments` keep the DDL objects SQLite lacks in
//! litewire's own tables, and `drops` checks a DROP the Postgres way. Anything
//! we cannot translate faithfully is refused with 0A000 naming the construct.

pub mod capture;
mod comments;
pub mod copy;
mod datetime;
mod ddl;
mod distinct_on;
mod dml;
mod drops;
mod enums;
mod expr;
mod introspect;
mod json;
mod lateral;
mod litewire_schema;
pub mod live;

pub use expr::object_name;
pub use litewire_schema::{PRESENCE, derived_table};
pub use views::sources as view_sources;
pub mod normalize;
mod plpgsql;
mod schemas;
mod sequences;
mod srf;
pub mod triggers;
mod views;

use std::sync::Arc;

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::catalog::{Catalog, SearchPath};
use crate::error::{Error, Result, SqlState};
use crate::types::{ColumnType, PgType};

/// A NOTICE (or WARNING) Postgres sends with a statement's result.
#[derive(Debug, Clone)]
pub struct Notice {
    /// 42P06 for an existing schema, 00000 for most, ...
    pub state: SqlState,
    pub message: String,
}

impl Notice {
    pub fn new(state: SqlState, message: impl Into<String>) -> Notice {
        Notice {
            state,
            message: message.into(),
        }
    }

    /// The transaction-state complaints (25001, 25P01) are warnings in
    /// Postgres; the rest (`... does not exist, skipping`, `schema "s"
    /// already exists, skipping`) are notices.
    pub fn severity(&self) -> &'static str {
        match self.state {
            SqlState::ActiveSqlTransaction | SqlState::NoActiveSqlTransaction => "WARNING",
            _ => "NOTICE",
        }
    }
}

/// `<what> does not exist, skipping`: the notice of `... IF EXISTS` for each
/// object it did not find.
pub(crate) fn skipping(missing: &str) -> Notice {
    Notice::new(
        SqlState::SuccessfulCompletion,
        format!("{missing}, skipping"),
    )
}

/// What a [`Plan::Noticed`] statement runs after its notices.
#[derive(Debug, Clone)]
pub enum Then {
    /// Nothing: the statement completes with this tag.
    Nothing(&'static str),
    Sql(Arc<SqlPlan>),
}

/// One client statement, ready to run.
#[derive(Debug, Clone)]
pub enum Plan {
    /// An empty query string (`;`).
    Empty,
    Begin,
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
    /// `SET name = value` / `SET name TO DEFAULT` (None) / `RESET name`.
    Set {
        name: String,
        value: Option<String>,
        /// SET LOCAL: until the end of the transaction.
        local: bool,
    },
    Show(String),
    Listen(String),
    /// `UNLISTEN channel`, or `UNLISTEN *` (None).
    Unlisten(Option<String>),
    Notify {
        channel: String,
        payload: String,
    },
    /// COPY FROM STDIN / TO STDOUT, run by the front end's copy sub-protocol.
    Copy(copy::Copy),
    /// A statement that is accepted and has nothing to do here (its tag).
    Accepted(&'static str),
    /// A statement Postgres answers with NOTICEs, sent before what it runs:
    /// nothing for `DROP ... IF EXISTS` of nothing (`trigger "t" for relation
    /// "x" does not exist, skipping`), or SQL (`drop cascades to table s.t`).
    Noticed {
        notices: Vec<Notice>,
        then: Then,
    },
    /// `DISCARD ALL`: drop prepared statements and reset settings.
    DiscardAll,
    /// `RESET ALL`: every setting back to its default.
    ResetAll,
    /// `LOCK [TABLE] name [, ...] [IN mode MODE] [NOWAIT]` on known tables:
    /// every mode is served by taking the writer lock for the transaction,
    /// which blocks other writers as the strongest Postgres lock does.
    Lock(Vec<String>),
    /// `EXPLAIN statement`: SQLite's query plan of the translated statement,
    /// one text row per plan step.
    Explain(Arc<SqlPlan>),
    /// `DEALLOCATE name` / `DEALLOCATE ALL` (`None`): drop protocol-level
    /// prepared statements, which the front end's connection holds.
    Deallocate(Option<String>),
    /// `PREPARE name [(types)] AS statement`: a prepared statement in the
    /// same namespace as the protocol's (the connection holds both).
    Prepare {
        name: String,
        plan: Box<Plan>,
        types: Vec<PgType>,
    },
    /// `EXECUTE name [(args)]`: runs a prepared statement with literal
    /// arguments.
    Execute {
        name: String,
        args: Vec<live::LiveArg>,
    },
    /// `SELECT * FROM litewire.subscribe(query, params)`: a live query.
    Subscribe {
        query: live::LiveArg,
        params: live::LiveParams,
    },
    /// `SELECT litewire.unsubscribe(channel)`.
    Unsubscribe(live::LiveArg),
    /// `DECLARE cursor CURSOR FOR SUBSCRIBE (...)`, in a transaction block.
    DeclareSubscribe {
        cursor: String,
        query: String,
    },
    /// `FETCH ... cursor [WITH (timeout = ...)]` on a live cursor.
    Fetch(live::Fetch),
    /// `CLOSE cursor`, or `CLOSE ALL` (None).
    CloseCursor(Option<String>),
    /// `SELECT litewire.listen_durable(channel, consumer)`.
    ListenDurable {
        channel: live::LiveArg,
        consumer: live::LiveArg,
    },
    /// `SELECT litewire.ack(consumer, id)`.
    Ack {
        consumer: live::LiveArg,
        id: live::LiveArg,
    },
    /// Shared: prepared statements and the plan cache hand it out per execution.
    Sql(Arc<SqlPlan>),
}

impl Plan {
    /// `... IF [NOT] EXISTS` with nothing to do: the statement's tag after the
    /// notices Postgres sends (one per object skipped).
    pub fn skipped(tag: &'static str, notices: Vec<Notice>) -> Plan {
        Plan::Noticed {
            notices,
            then: Then::Nothing(tag),
        }
    }

    /// `plan` after `notices` (the plain plan when there are none).
    pub fn noticed(notices: Vec<Notice>, plan: SqlPlan) -> Plan {
        let plan = Arc::new(plan);
        if notices.is_empty() {
            Plan::Sql(plan)
        } else {
            Plan::Noticed {
                notices,
                then: Then::Sql(plan),
            }
        }
    }

    /// The types of `$1..$n` as far as the plan knows them (text for the
    /// arguments of the live-query functions).
    pub fn parameters(&self) -> Vec<Option<ColumnType>> {
        let text = |n: usize| vec![Some(ColumnType::plain(PgType::Text)); n];
        match self {
            Plan::Sql(sql) | Plan::Explain(sql) => sql.params.clone(),
            Plan::Subscribe { query, params } => text(live::placeholders(query, params)),
            Plan::Unsubscribe(a) => text(live::placeholders(a, &live::LiveParams::List(vec![]))),
            Plan::ListenDurable {
                channel: a,
                consumer: b,
            }
            | Plan::Ack { consumer: a, id: b } => text(live::placeholders(
                a,
                &live::LiveParams::List(vec![b.clone()]),
            )),
            _ => Vec::new(),
        }
    }
}

/// What a statement does to the database, which decides where it runs: reads on
/// a pooled reader, everything else under the writer lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// DDL: a write after which the catalog is reloaded.
    Schema,
}

/// A result column as the translator types it; `None` fields are filled in from
/// SQLite's column metadata at describe time.
#[derive(Debug, Clone, PartialEq)]
pub struct OutColumn {
    pub name: String,
    pub ty: Option<ColumnType>,
}

#[derive(Debug, Clone)]
pub struct SqlPlan {
    /// Statements to run in order, in one transaction; results come from `main`.
    pub sql: String,
    /// Bookkeeping run after `sql` in the same transaction (e.g. `_lw_columns`).
    pub after: Vec<String>,
    pub access: Access,
    /// Command tag verb: `SELECT`, `INSERT`, `CREATE TABLE`, ...
    pub tag: &'static str,
    /// Types of `$1..$n` inferred from context (None: unknown, sent as text).
    pub params: Vec<Option<ColumnType>>,
    /// Result columns when the translator could name and type them all (no
    /// unexpanded `*`); otherwise None and SQLite's metadata is used.
    pub columns: Option<Vec<OutColumn>>,
}

/// Postgres's limits: payloads shorter than 8000 bytes, channel names are
/// identifiers (at most 63 bytes).
pub const MAX_PAYLOAD: usize = 7999;
pub const MAX_CHANNEL: usize = 63;

/// Checks a channel name and payload as NOTIFY / `pg_notify` do (22023).
pub fn validate_notification(channel: &str, payload: &str) -> Result<()> {
    if channel.is_empty() {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            "channel name cannot be empty",
        ));
    }
    if channel.len() > MAX_CHANNEL {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            "channel name too long",
        ));
    }
    if payload.len() > MAX_PAYLOAD {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            "payload string too long",
        ));
    }
    Ok(())
}

/// The statements of a query string, each as text of its own, so that a
/// multi-statement query can be translated one statement at a time, each
/// against the schema the ones before it left. `None` when the string does
/// not parse as a whole (it is then translated as one, for its error).
///
/// A string without a `;` before its end is one statement: it is not parsed
/// here (a point query's parse would cost as much as the rest of its run).
pub fn split(sql: &str) -> Option<Vec<String>> {
    if !sql.trim_end().trim_end_matches(';').contains(';') {
        return None;
    }
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    Some(statements.iter().map(ToString::to_string).collect())
}

/// Translates a query string, which may hold several statements.
pub fn translate(sql: &str, catalog: &Catalog) -> Result<Vec<Plan>> {
    translate_with_params(sql, catalog, &[], &SearchPath::default())
}

/// Translates with the types of `$1..$n` known up front (the literals that
/// [`normalize`] took out); context still decides where they are `unknown`.
/// Unqualified relation names are looked up along `path`.
pub fn translate_with_params(
    sql: &str,
    catalog: &Catalog,
    params: &[PgType],
    path: &SearchPath,
) -> Result<Vec<Plan>> {
    if sql.trim().trim_matches(';').trim().is_empty() {
        return Ok(vec![Plan::Empty]);
    }
    // sqlparser's Postgres dialect does not parse VACUUM; it is a no-op here.
    let first_word = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    if first_word.eq_ignore_ascii_case("vacuum") && !sql.trim().trim_end_matches(';').contains(';')
    {
        return Ok(vec![Plan::Accepted("VACUUM")]);
    }
    if first_word.eq_ignore_ascii_case("lock") {
        return Ok(vec![lock(sql)?]);
    }
    if (first_word.eq_ignore_ascii_case("create") || first_word.eq_ignore_ascii_case("alter"))
        && let Some(plan) = sequences::plan(sql, catalog)?
    {
        return Ok(vec![plan]);
    }
    if first_word.eq_ignore_ascii_case("copy")
        && let Some(query) = copy::subscribe(sql)
    {
        return Ok(vec![Plan::Copy(copy::Copy::Subscribe { query })]);
    }
    if first_word.eq_ignore_ascii_case("declare")
        && let Some((cursor, query)) = live::declare(sql)
    {
        return Ok(vec![Plan::DeclareSubscribe { cursor, query }]);
    }
    if first_word.eq_ignore_ascii_case("fetch")
        && let Some(fetch) = live::fetch(sql)?
    {
        return Ok(vec![Plan::Fetch(fetch)]);
    }
    let unparsable;
    let sql = if first_word.eq_ignore_ascii_case("insert") {
        unparsable = replace_clause(sql, "OVERRIDING SYSTEM VALUE", "");
        unparsable.as_str()
    } else if first_word.eq_ignore_ascii_case("drop") {
        unparsable = replace_clause(sql, "INDEX CONCURRENTLY", "INDEX");
        unparsable.as_str()
    } else {
        sql
    };
    let copy_text;
    let sql = if first_word.eq_ignore_ascii_case("copy") {
        copy_text = copy::parsable(sql);
        copy_text.as_str()
    } else {
        sql
    };
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| Error::syntax(parse_message(&e.to_string())))?;
    statements
        .into_iter()
        .map(|mut statement| {
            schemas::resolve(&mut statement, catalog, path)?;
            translate_statement(statement, catalog, params)
        })
        .collect()
}

/// sqlparser says `sql parser error: Expected: ..., found: x at Line: 1, Column: 8`;
/// Postgres says `syntax error at or near "x"`.
fn parse_message(raw: &str) -> String {
    let raw = raw.strip_prefix("sql parser error: ").unwrap_or(raw);
    if let Some((_, found)) = raw.split_once("found: ") {
        let token = found.split(" at Line").next().unwrap_or(found).trim();
        if token == "EOF" {
            return "syntax error at end of input".into();
        }
        return format!("syntax error at or near \"{token}\"");
    }
    format!("syntax error: {raw}")
}

/// `name` as an SQL identifier, always double-quoted (the one quoting helper
/// of the SQL litewire writes, for Postgres and SQLite alike).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The name a table in FROM goes by: its alias, else its unqualified name.
pub(super) fn source_name(
    name: &sqlparser::ast::ObjectName,
    alias: Option<&sqlparser::ast::TableAlias>,
) -> String {
    match alias {
        Some(a) => ident_text(&a.name),
        None => {
            let name = expr::object_name(name);
            name.rsplit('.').next().unwrap_or(&name).to_string()
        }
    }
}

pub fn ident_text(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    }
}

/// A channel is an identifier: lowercased unless quoted, cut to 63 bytes.
fn channel_name(ident: &sqlparser::ast::Ident) -> String {
    let mut name = ident_text(ident);
    if name.len() > MAX_CHANNEL {
        let mut end = MAX_CHANNEL;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

fn translate_statement(statement: Statement, catalog: &Catalog, params: &[PgType]) -> Result<Plan> {
    if let Statement::Query(query) = &statement
        && let Some(plan) = live::plan(query)?
    {
        return Ok(plan);
    }
    Ok(match statement {
        // Isolation levels and access modes are accepted: with one writer every
        // write transaction is serializable, and reads are READ COMMITTED.
        Statement::StartTransaction { .. } => Plan::Begin,
        Statement::Commit { chain: false, .. } => Plan::Commit,
        Statement::Rollback {
            chain: false,
            savepoint: None,
        } => Plan::Rollback,
        Statement::Rollback {
            chain: false,
            savepoint: Some(name),
        } => Plan::RollbackTo(ident_text(&name)),
        Statement::Savepoint { name } => Plan::Savepoint(ident_text(&name)),
        Statement::ReleaseSavepoint { name } => Plan::Release(ident_text(&name)),
        Statement::Set(set) => set_plan(set)?,
        Statement::Reset(reset) => match reset.reset {
            sqlparser::ast::Reset::ALL => Plan::ResetAll,
            sqlparser::ast::Reset::ConfigurationParameter(name) => Plan::Set {
                name: name.to_string().to_ascii_lowercase(),
                value: None,
                local: false,
            },
        },
        Statement::ShowVariable { variable } => Plan::Show(
            variable
                .iter()
                .map(ident_text)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Statement::LISTEN { channel } => Plan::Listen(channel_name(&channel)),
        Statement::Close { cursor } => Plan::CloseCursor(match cursor {
            sqlparser::ast::CloseCursor::All => None,
            sqlparser::ast::CloseCursor::Specific { name } => Some(ident_text(&name)),
        }),
        Statement::UNLISTEN { channel } if channel.value == "*" => Plan::Unlisten(None),
        Statement::UNLISTEN { channel } => Plan::Unlisten(Some(channel_name(&channel))),
        Statement::NOTIFY { channel, payload } => {
            let channel = channel_name(&channel);
            let payload = payload.unwrap_or_default();
            validate_notification(&channel, &payload)?;
            Plan::Notify { channel, payload }
        }
        Statement::Prepare {
            name,
            data_types,
            statement,
        } => {
            let types = data_types
                .iter()
                .map(|t| expr::column_type(t).map(|c| c.ty))
                .collect::<Result<Vec<_>>>()?;
            let plan = translate_statement(*statement, catalog, &types)?;
            Plan::Prepare {
                name: ident_text(&name),
                plan: Box::new(plan),
                types,
            }
        }
        Statement::Execute {
            name: Some(name),
            parameters,
            immediate: false,
            ..
        } => Plan::Execute {
            name: expr::object_name(&name),
            args: parameters
                .iter()
                .map(live::arg)
                .collect::<Result<Vec<_>>>()?,
        },
        Statement::Deallocate { name, .. } => {
            let all = name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all");
            Plan::Deallocate((!all).then(|| ident_text(&name)))
        }
        Statement::Discard { object_type } => match object_type {
            sqlparser::ast::DiscardObject::ALL => Plan::DiscardAll,
            other => return Err(Error::unsupported(format!("DISCARD {other}"))),
        },
        Statement::Query(_)
        | Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_) => Plan::Sql(Arc::new(dml::plan(statement, catalog, params)?)),
        Statement::CreateView(view) => Plan::Sql(Arc::new(views::create(view, catalog)?)),
        Statement::CreateSchema {
            schema_name,
            if_not_exists,
            ..
        } => schemas::create(&schema_name, if_not_exists, catalog)?,
        Statement::Drop {
            object_type: sqlparser::ast::ObjectType::Schema,
            names,
            if_exists,
            cascade,
            ..
        } => schemas::drop(&names, if_exists, cascade, catalog)?,
        Statement::Drop { .. } => drops::plan(statement, catalog)?,
        Statement::CreateType {
            name,
            representation,
        } => Plan::Sql(Arc::new(enums::create(&name, representation, catalog)?)),
        Statement::AlterType(alter) => enums::alter(alter, catalog)?,
        Statement::Comment {
            object_type,
            object_name,
            comment,
            if_exists: false,
        } => Plan::Sql(Arc::new(comments::plan(
            object_type,
            &object_name,
            comment,
            catalog,
        )?)),
        Statement::CreateTable(_) | Statement::CreateIndex(_) => {
            match ddl::create_existing(&statement, catalog) {
                Some(skipped) => skipped,
                None => Plan::Sql(Arc::new(ddl::plan(statement, catalog)?)),
            }
        }
        Statement::AlterTable(_) => Plan::Sql(Arc::new(ddl::plan(statement, catalog)?)),
        Statement::CreateFunction(_)
        | Statement::CreateTrigger(_)
        | Statement::DropTrigger(_)
        | Statement::DropFunction(_) => triggers::plan(statement, catalog)?,
        Statement::Truncate(truncate) => Plan::Sql(Arc::new(ddl::truncate(truncate)?)),
        // Planner statistics and space reclamation are SQLite's business.
        Statement::Vacuum(_) => Plan::Accepted("VACUUM"),
        Statement::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            ..
        } => Plan::Copy(copy::plan(source, to, target, options, legacy_options)?),
        Statement::Analyze(_) => Plan::Accepted("ANALYZE"),
        Statement::Explain {
            statement,
            analyze: false,
            ..
        } => match translate_statement(*statement, catalog, params)? {
            Plan::Sql(sql) => Plan::Explain(sql),
            _ => {
                return Err(Error::unsupported(
                    "EXPLAIN of a statement that is not a query or DML",
                ));
            }
        },
        Statement::Explain { analyze: true, .. } => {
            return Err(Error::unsupported("EXPLAIN ANALYZE"));
        }
        other => return Err(Error::unsupported(statement_name(&other))),
    })
}

/// A statement with a clause sqlparser does not parse, which litewire has
/// no use for, taken out: `INSERT ... OVERRIDING SYSTEM VALUE` (identity columns are
/// rowid aliases here, which take a given value as it asks) and `DROP INDEX
/// CONCURRENTLY` (SQLite drops an index at once).
fn replace_clause(sql: &str, clause: &str, with: &str) -> String {
    match sql.to_ascii_uppercase().find(clause) {
        Some(at) => format!("{}{with}{}", &sql[..at], &sql[at + clause.len()..]),
        None => sql.to_string(),
    }
}

/// `LOCK [TABLE] [ONLY] name [*] [, ...] [IN mode MODE] [NOWAIT]`, which
/// sqlparser's Postgres dialect does not parse: the tables it names.
fn lock(sql: &str) -> Result<Plan> {
    let body = sql.trim().trim_end_matches(';');
    let body = body[4..].trim_start();
    let body = match body.get(..5) {
        Some(word) if word.eq_ignore_ascii_case("table") => &body[5..],
        _ => body,
    };
    let upper = body.to_ascii_uppercase();
    let end = [" IN ", " NOWAIT"]
        .iter()
        .filter_map(|k| upper.find(k))
        .min()
        .unwrap_or(body.len());
    let mut tables = Vec::new();
    for name in body[..end].split(',') {
        let name = name.trim().trim_end_matches('*').trim();
        let name = match name.get(..5) {
            Some(w) if w.eq_ignore_ascii_case("only ") => name[5..].trim(),
            _ => name,
        };
        if name.is_empty() {
            return Err(Error::syntax("syntax error at or near \"LOCK\""));
        }
        let name = if name.starts_with('"') {
            name.trim_matches('"').to_string()
        } else {
            name.to_ascii_lowercase()
        };
        tables.push(name);
    }
    Ok(Plan::Lock(tables))
}

/// The leading keywords of a statement, to name it in a 0A000 error.
fn statement_name(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    let mut name = words.join(" ");
    if name.len() > 40 {
        name.truncate(40);
    }
    format!("statement {name}")
}

fn set_plan(set: sqlparser::ast::Set) -> Result<Plan> {
    use sqlparser::ast::Set;
    Ok(match set {
        Set::SingleAssignment {
            variable,
            values,
            scope,
            ..
        } => {
            let name = variable.to_string().to_ascii_lowercase();
            let value = values
                .iter()
                .map(setting_text)
                .collect::<Vec<_>>()
                .join(", ");
            Plan::Set {
                name,
                value: (!value.eq_ignore_ascii_case("default")).then_some(value),
                local: scope == Some(sqlparser::ast::ContextModifier::Local),
            }
        }
        Set::SetTimeZone { value, local } => Plan::Set {
            name: "timezone".into(),
            value: Some(setting_text(&value)),
            local,
        },
        Set::SetNames { charset_name, .. } => Plan::Set {
            name: "client_encoding".into(),
            value: Some(charset_name.value),
            local: false,
        },
        Set::SetTransaction { .. } => Plan::Set {
            name: "transaction_isolation".into(),
            value: None,
            local: false,
        },
        other => return Err(Error::unsupported(format!("{other}"))),
    })
}

/// A SET value as Postgres stores it: string literals unquoted, identifiers as written.
fn setting_text(expr: &sqlparser::ast::Expr) -> String {
    use sqlparser::ast::{Expr, Value};
    match expr {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;

/// Runs a rewriting visitor over `node`, turning its break into the error.
fn visit<T, V>(node: &mut T, visitor: &mut V) -> Result<()>
where
    T: sqlparser::ast::VisitMut,
    V: sqlparser::ast::VisitorMut<Break = Error>,
{
    match node.visit(visitor) {
        std::ops::ControlFlow::Continue(()) => Ok(()),
        std::ops::ControlFlow::Break(e) => Err(e),
    }
}
