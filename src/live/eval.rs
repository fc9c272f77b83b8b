//! Running a live query: its result together with the LSN it reflects. The
//! query and `max(lsn)` of the change log are read in one SQLite read
//! transaction (one WAL snapshot), so the result is exactly the database at
//! that LSN; the subscription then follows changes after it.

use std::sync::Arc;

use rusqlite::types::Value;
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::store::{Conn, Store, blocking, exec};
use crate::translate::{Access, Plan, SqlPlan};
use crate::types::{PgType, json_value};

/// A live query translated once, with its parameters bound.
pub struct Prepared {
    plan: Arc<SqlPlan>,
    params: Vec<Value>,
}

/// A result: its columns, rows as JSON objects, and the LSN it reflects.
pub struct Snapshot {
    pub lsn: i64,
    pub columns: Vec<String>,
    pub rows: Vec<Map<String, Json>>,
}

impl Prepared {
    pub fn new(store: &Store, sql: &str, params: &[Json]) -> Result<Prepared> {
        let catalog = store.catalog();
        let mut plans = crate::translate::translate(sql, &catalog)?;
        let plan = match (plans.pop(), plans.is_empty()) {
            (Some(Plan::Sql(plan)), true)
                if plan.access == Access::Read && plan.tag == "SELECT" =>
            {
                plan
            }
            _ => return Err(Error::unsupported("a live query other than one SELECT")),
        };
        let params = params
            .iter()
            .enumerate()
            .map(|(i, p)| match plan.params.get(i).copied().flatten() {
                Some(ct) => json_value::from_json(ct, p),
                None => Ok(json_value::untyped(p)),
            })
            .collect::<Result<_>>()?;
        Ok(Prepared { plan, params })
    }

    /// Runs the query on a pooled reader.
    pub async fn run(self: &Arc<Self>, store: &Arc<Store>) -> Result<Snapshot> {
        let me = self.clone();
        let catalog = store.catalog();
        let reader = store.reader().await;
        let (_, result) = blocking(reader, move |conn: &mut Conn| {
            conn.context
                .begin_statement(chrono::Utc::now(), 0, Vec::new());
            conn.sqlite.execute_batch("BEGIN")?;
            let result = (|| {
                let lsn: i64 = conn.sqlite.query_row(
                    "SELECT coalesce(max(lsn), 0) FROM _lw_changes",
                    [],
                    |r| r.get(0),
                )?;
                let (meta, _) = exec::describe(conn, &me.plan.sql)?;
                let output = exec::execute(conn, &me.plan.sql, &me.plan.after, &me.params)?;
                Ok::<_, Error>((lsn, meta, output))
            })();
            let _ = conn.sqlite.execute_batch("COMMIT");
            result
        })
        .await;
        let (lsn, meta, output) = result?;
        let typed: Vec<(String, PgType)> =
            exec::column_types(&self.plan, Some(&meta), &catalog, output.rows.first())
                .into_iter()
                .map(|(name, ct)| (name, ct.ty))
                .collect();
        let rows = output
            .rows
            .iter()
            .map(|row| {
                typed
                    .iter()
                    .zip(row)
                    .map(|((name, ty), v)| (name.clone(), json_value::to_json(*ty, v)))
                    .collect()
            })
            .collect();
        Ok(Snapshot {
            lsn,
            columns: typed.into_iter().map(|(n, _)| n).collect(),
            rows,
        })
    }
}
