//! Running the Postgres SQL the REST door generates (or `/sql` receives)
//! through `translate` + `store`, the same path psql's statements take: type
//! coercion, defaults, CHECKs and the change-capture triggers all apply.
//!
//! A request is one transaction. A single read runs on a pooled reader; any
//! write, and any batch, runs under the writer in one SQLite write
//! transaction, rolled back whole on the first error. Statements of a batch
//! are translated one by one on the writer's thread, against the catalog as
//! the batch's own DDL left it (`CREATE TABLE` then `INSERT` into it works).
//! `pg_notify()`/`NOTIFY` in the request are published after the commit.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rusqlite::types::Value;
use serde_json::Value as Json;

use crate::catalog::Catalog;
use crate::error::{Error, Result, SqlState};
use crate::notify::{NotifyHub, Pending};
use crate::store::exec::{self, Output};
use crate::store::{Conn, Store, blocking};
use crate::translate::{self, Access, Plan, SqlPlan};
use crate::types::json_value;
use crate::types::{ColumnType, PgType};

/// How long a REST write waits for the writer before failing with 55P03 (503).
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// `"name"` with embedded quotes doubled: identifiers from requests are only
/// ever spliced into SQL through this.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A parameter value and, when the caller knows it, the type it is for (the
/// column it is compared with or written into). Without one, the type the
/// translator infers for `$n` decides, else the JSON value's own.
#[derive(Debug, Clone)]
pub struct Param {
    pub value: Json,
    pub ty: Option<ColumnType>,
}

/// One Postgres statement with its parameters (`$1..$n`, in order).
#[derive(Debug, Clone, Default)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Statement {
    /// Adds a parameter and returns its placeholder (`$n`).
    pub fn bind(&mut self, value: Json, ty: Option<ColumnType>) -> String {
        self.params.push(Param { value, ty });
        format!("${}", self.params.len())
    }
}

/// A result column: its name and Postgres type.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
}

/// What one statement produced.
#[derive(Debug)]
pub struct Outcome {
    /// Empty for statements that return no rows.
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// The command tag psql would print (`INSERT 0 1`, `SELECT 2`).
    pub tag: String,
}

impl Outcome {
    /// The rows as JSON objects keyed by column name.
    pub fn objects(&self) -> Vec<Json> {
        self.rows
            .iter()
            .map(|row| {
                Json::Object(
                    self.columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| (c.name.clone(), json_value::to_json(c.ty.ty, v)))
                        .collect(),
                )
            })
            .collect()
    }
}

/// Shared by the REST handlers: where statements run and who hears of them.
pub struct Executor {
    pub store: Arc<Store>,
    pub hub: Arc<NotifyHub>,
}

impl Executor {
    /// Runs one statement in a transaction of its own.
    pub async fn one(&self, statement: Statement) -> Result<Outcome> {
        let plan = translated(&statement.sql, &self.store.catalog())?;
        if let Step::Sql(plan) = &plan
            && plan.access == Access::Read
        {
            let plan = plan.clone();
            let reader = self.store.reader().await;
            let catalog = self.store.catalog();
            return blocking(reader, move |conn| {
                conn.context.begin_statement(Utc::now(), 0, Vec::new());
                run_plan(conn, &catalog, &plan, &statement.params)
            })
            .await
            .1;
        }
        let mut outcomes = self.transaction(vec![statement]).await?;
        Ok(outcomes.remove(0))
    }

    /// Runs `statements` in one write transaction: all or nothing.
    pub async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        let guard = self.store.writer(LOCK_TIMEOUT).await?;
        let store = self.store.clone();
        let durable = self.hub.durable_channels();
        let (_guard, result) = blocking(guard, move |conn| {
            let now = Utc::now();
            let mut pending = Pending::default();
            let outcomes = exec::in_write_transaction(conn, |conn| {
                let outcomes = statements
                    .iter()
                    .map(|s| {
                        conn.context.begin_statement(now, 0, Vec::new());
                        let outcome = run_step(conn, &store, s, &mut pending)?;
                        for (channel, payload) in conn.context.take_notifications() {
                            pending.notify(channel, payload);
                        }
                        Ok(outcome)
                    })
                    .collect::<Result<Vec<_>>>()?;
                // Messages on durable channels are kept in this transaction.
                let mut notifications = pending.take_notifications(0);
                crate::notify::durable::record(conn, &durable, &mut notifications)?;
                Ok((outcomes, notifications))
            });
            if outcomes.is_err() {
                // The DDL of a rolled-back batch is gone; the catalog follows.
                store.reload_catalog(conn)?;
            }
            outcomes
        })
        .await;
        let (outcomes, notifications) = result?;
        self.store.committed();
        self.hub.publish(notifications);
        Ok(outcomes)
    }
}

/// A statement as the REST door runs it: SQL, or a NOTIFY to publish at commit.
enum Step {
    Sql(Arc<SqlPlan>),
    Notify { channel: String, payload: String },
}

/// Translates exactly one statement; session commands (transactions, SET,
/// LISTEN) mean nothing over stateless HTTP and are refused.
fn translated(sql: &str, catalog: &Catalog) -> Result<Step> {
    let mut plans = translate::translate(sql, catalog)?;
    if plans.len() != 1 {
        return Err(Error::new(
            SqlState::SyntaxError,
            "one statement per query: send a list of queries for a transaction",
        ));
    }
    match plans.remove(0) {
        Plan::Sql(plan) => Ok(Step::Sql(plan)),
        Plan::Notify { channel, payload } => Ok(Step::Notify { channel, payload }),
        other => Err(Error::unsupported(format!(
            "{} over HTTP (each request is its own transaction)",
            plan_name(&other)
        ))),
    }
}

fn plan_name(plan: &Plan) -> &'static str {
    match plan {
        Plan::Begin | Plan::Commit | Plan::Rollback => "transaction control",
        Plan::Savepoint(_) | Plan::Release(_) | Plan::RollbackTo(_) => "savepoints",
        Plan::Set { .. } | Plan::Show(_) | Plan::DiscardAll => "session settings",
        Plan::Listen(_) | Plan::Unlisten(_) => "LISTEN (use /realtime/v1/sse)",
        Plan::Copy(_) => "COPY",
        Plan::ListenDurable { .. } | Plan::Ack { .. } => "durable channels (use the wire)",
        Plan::DeclareSubscribe { .. } | Plan::Fetch(_) | Plan::CloseCursor(_) => "cursors",
        Plan::Subscribe { .. } | Plan::Unsubscribe(_) => {
            "live queries (use the WebSocket door or the wire)"
        }
        Plan::Empty
        | Plan::Accepted(_)
        | Plan::Skipped { .. }
        | Plan::Sql(_)
        | Plan::Notify { .. } => "this statement",
    }
}

/// One statement of a write transaction, translated against the catalog as
/// the transaction's earlier statements left it.
fn run_step(conn: &Conn, store: &Store, s: &Statement, pending: &mut Pending) -> Result<Outcome> {
    let catalog = store.catalog();
    match translated(&s.sql, &catalog)? {
        Step::Notify { channel, payload } => {
            pending.notify(channel, payload);
            Ok(Outcome {
                columns: Vec::new(),
                rows: Vec::new(),
                tag: "NOTIFY".into(),
            })
        }
        Step::Sql(plan) => {
            let outcome = run_plan(conn, &catalog, &plan, &s.params)?;
            if plan.access == Access::Schema {
                store.schema_changed(conn)?;
            }
            Ok(outcome)
        }
    }
}

fn run_plan(conn: &Conn, catalog: &Catalog, plan: &SqlPlan, params: &[Param]) -> Result<Outcome> {
    let values = bind(plan, params)?;
    let Output { rows, changes } = exec::execute(conn, &plan.sql, &plan.after, &values)?;
    let returns_rows = plan.tag == "SELECT" || plan.columns.is_some();
    if !returns_rows {
        return Ok(Outcome {
            columns: Vec::new(),
            rows,
            tag: command_tag(plan.tag, changes),
        });
    }
    let columns = columns(conn, catalog, plan, rows.first())?;
    let tag = command_tag(plan.tag, rows.len() as u64);
    Ok(Outcome { columns, rows, tag })
}

/// Parameter values in canonical stored form: the caller's type, else the
/// translator's inference, else the JSON value as it is.
fn bind(plan: &SqlPlan, params: &[Param]) -> Result<Vec<Value>> {
    if params.len() < plan.params.len() {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!(
                "the query needs {} parameters, {} given",
                plan.params.len(),
                params.len()
            ),
        ));
    }
    params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let inferred = plan.params.get(i).copied().flatten();
            match p.ty.or(inferred).filter(|t| t.ty != PgType::Unknown) {
                Some(ty) => json_value::from_json(ty, &p.value),
                None => Ok(json_value::untyped(&p.value)),
            }
        })
        .collect()
}

/// Names and types the result columns (as the wire door does).
fn columns(
    conn: &Conn,
    catalog: &Catalog,
    plan: &SqlPlan,
    first: Option<&Vec<Value>>,
) -> Result<Vec<Column>> {
    let meta = if exec::fully_typed(plan) {
        None
    } else {
        Some(exec::describe(conn, &plan.sql)?.0)
    };
    Ok(exec::column_types(plan, meta.as_deref(), catalog, first)
        .into_iter()
        .map(|(name, ty)| Column { name, ty })
        .collect())
}

/// `INSERT 0 n`, `UPDATE n`, `SELECT n`, `CREATE TABLE`, ...
fn command_tag(tag: &str, count: u64) -> String {
    match tag {
        "INSERT" => format!("INSERT 0 {count}"),
        "SELECT" | "UPDATE" | "DELETE" => format!("{tag} {count}"),
        other => other.to_string(),
    }
}
