//! Running the Postgres SQL the REST door generates (or `/sql` receives)
//! through `translate` + `store`, the same path psql's statements take: type
//! coercion, defaults, CHECKs and the change-capture triggers all apply.
//!
//! A request is one transaction. A single read runs on a pooled reader; any
//! write, and any batch, runs under the writer ([`super::commit`], which
//! commits concurrent requests together), rolled back whole on the first
//! error. Statements of a batch
//! are translated one by one on the writer's thread, against the catalog as
//! the batch's own DDL left it (`CREATE TABLE` then `INSERT` into it works).
//! `pg_notify()`/`NOTIFY` in the request are published after the commit.
//!
//! Every request is held to the `[rest]` limits: its SQLite work is
//! interrupted past the statement timeout (57014) and a result with more
//! rows than allowed fails it (54000), rolling a write back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use rusqlite::types::Value;
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use super::commit::{Committer, Writes};
use super::limits::Limits;
use crate::catalog::Catalog;
use crate::error::{Error, Result, SqlState};
use crate::notify::{NotifyHub, Pending};
use crate::store::exec::{self, Output};
use crate::store::{Conn, Store, blocking};
use crate::translate::{self, Access, Plan, SqlPlan, Then};
use crate::types::json_value;
use crate::types::{ColumnType, PgType};

/// Translations kept before the cache starts over.
const PLAN_CACHE_LIMIT: usize = 1024;

/// Identifiers are always quoted; no value is ever spliced into SQL through this.
pub use crate::translate::quote_ident as ident;

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
    /// A statement's result with no rows, only its tag.
    fn command(tag: &str) -> Outcome {
        Outcome {
            columns: Vec::new(),
            rows: Vec::new(),
            tag: tag.into(),
        }
    }

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
    limits: Arc<Limits>,
    plans: Arc<Plans>,
    /// Writes go through it; its task ends at shutdown (`shutdown`).
    committer: Committer,
}

/// Translations by SQL text. The door generates the same text for every
/// request of one shape (values travel as parameters), so most requests skip
/// the parser and the translator. An entry made against another catalog is
/// stale (DDL installs a new one) and is translated again.
#[derive(Default)]
pub struct Plans(Mutex<HashMap<String, (Arc<Catalog>, Step)>>);

impl Plans {
    fn get(&self, sql: &str, catalog: &Arc<Catalog>) -> Result<Step> {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((made_for, step)) = lock().get(sql)
            && Arc::ptr_eq(made_for, catalog)
        {
            return Ok(step.clone());
        }
        let step = translated(sql, catalog)?;
        let mut plans = lock();
        if plans.len() >= PLAN_CACHE_LIMIT {
            plans.clear();
        }
        plans.insert(sql.to_string(), (catalog.clone(), step.clone()));
        Ok(step)
    }
}

impl Executor {
    pub fn new(
        store: Arc<Store>,
        hub: Arc<NotifyHub>,
        limits: Arc<Limits>,
        shutdown: CancellationToken,
    ) -> Executor {
        let plans = Arc::new(Plans::default());
        let writes = Writes {
            store: store.clone(),
            hub: hub.clone(),
            limits: limits.clone(),
            plans: plans.clone(),
        };
        Executor {
            store,
            hub,
            limits,
            plans,
            committer: Committer::start(writes, shutdown),
        }
    }

    /// Runs one statement in a transaction of its own.
    pub async fn one(&self, statement: Statement) -> Result<Outcome> {
        let plan = self.plans.get(&statement.sql, &self.store.catalog())?;
        if let Step::Sql(plan) = &plan
            && plan.access == Access::Read
        {
            let plan = plan.clone();
            let reader = self.store.reader().await;
            let catalog = self.store.catalog();
            let limits = self.limits.clone();
            return blocking(reader, move |conn| {
                conn.context.begin_statement(Utc::now(), 0, Vec::new());
                limits.timed(conn, |conn| {
                    limits.rows(run_plan(conn, &catalog, &plan, &statement.params)?)
                })
            })
            .await
            .1;
        }
        let mut outcomes = self.transaction(vec![statement]).await?;
        Ok(outcomes.remove(0))
    }

    /// Runs `statements` in one write transaction: all or nothing.
    pub async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        self.committer.run(statements).await
    }
}

/// A statement as the REST door runs it: SQL, a NOTIFY to publish at commit,
/// or nothing but its tag (`CREATE TABLE IF NOT EXISTS` of a table that
/// exists, whose NOTICE HTTP has no place for).
#[derive(Clone)]
enum Step {
    Sql(Arc<SqlPlan>),
    Notify { channel: String, payload: String },
    Done(&'static str),
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
        Plan::Sql(plan)
        | Plan::Noticed {
            then: Then::Sql(plan),
            ..
        } => Ok(Step::Sql(plan)),
        Plan::Notify { channel, payload } => Ok(Step::Notify { channel, payload }),
        Plan::Noticed {
            then: Then::Nothing(tag),
            ..
        } => Ok(Step::Done(tag)),
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
        Plan::Set { .. } | Plan::Show(_) | Plan::DiscardAll | Plan::ResetAll => "session settings",
        Plan::Listen(_) | Plan::Unlisten(_) => "LISTEN (use /realtime/v1/sse)",
        Plan::Copy(_) => "COPY",
        Plan::Deallocate(_) | Plan::Prepare { .. } | Plan::Execute { .. } => "prepared statements",
        Plan::Lock(_) => "LOCK TABLE",
        Plan::Explain(_) => "EXPLAIN",
        Plan::ListenDurable { .. } | Plan::Ack { .. } => "durable channels (use the wire)",
        Plan::DeclareSubscribe { .. } | Plan::Fetch(_) | Plan::CloseCursor(_) => "cursors",
        Plan::Subscribe { .. } | Plan::Unsubscribe(_) => {
            "live queries (use the WebSocket door or the wire)"
        }
        Plan::Empty
        | Plan::Accepted(_)
        | Plan::Sql(_)
        | Plan::Noticed { .. }
        | Plan::Notify { .. } => "this statement",
    }
}

/// One statement of a write transaction, translated against the catalog as
/// the transaction's earlier statements left it.
pub(super) fn run_step(
    conn: &Conn,
    store: &Store,
    plans: &Plans,
    s: &Statement,
    pending: &mut Pending,
) -> Result<Outcome> {
    let catalog = store.catalog();
    match plans.get(&s.sql, &catalog)? {
        Step::Notify { channel, payload } => {
            pending.notify(channel, payload);
            Ok(Outcome::command("NOTIFY"))
        }
        Step::Done(tag) => Ok(Outcome::command(tag)),
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
