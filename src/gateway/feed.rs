//! A table feed: one subscription's task. It follows the change stream from
//! its start LSN (replaying history first when resuming), keeps the changes
//! of its table that its predicate lets through — the subscription's filter
//! AND the role's row filter — as that subscriber sees them (an update leaving
//! the filter is a delete), and queues them on its connection.

use serde_json::Value as Json;

use super::connection::Outbox;
use super::protocol;
use crate::catalog::Table;
use crate::changes::Cursor;
use crate::changes::filter::{Predicate, Reference};
use crate::error::{Error, Result, SqlState};

pub struct Feed {
    pub sub: String,
    pub table: String,
    pub predicate: Predicate,
}

impl Feed {
    /// Builds the predicate of a subscription on `table`: `pk` (one row),
    /// `filter` (JSON) and `where_sql` (with `params`), all AND-ed, plus the
    /// role's row filter (with its claims already bound).
    pub fn predicate(
        table: &Table,
        pk: Option<&Json>,
        filter: Option<&Json>,
        where_sql: Option<&str>,
        params: &[Json],
        role_filter: Option<Predicate>,
    ) -> Result<Predicate> {
        let mut all = Vec::new();
        if let Some(pk) = pk {
            all.push(match pk {
                Json::Object(_) => Predicate::from_json(pk)?,
                value => {
                    let keys: Vec<_> = table.columns.iter().filter(|c| c.primary_key).collect();
                    let [key] = keys.as_slice() else {
                        return Err(Error::new(
                            SqlState::InvalidParameterValue,
                            format!(
                                "table \"{}\" has no single-column primary key; give pk as an object",
                                table.name
                            ),
                        ));
                    };
                    Predicate::from_json(&serde_json::json!({ key.name.clone(): value }))?
                }
            });
        }
        if let Some(filter) = filter {
            all.push(Predicate::from_json(filter)?);
        }
        if let Some(sql) = where_sql {
            let bind = |r: Reference<'_>| match r {
                Reference::Param(n) => params.get(n.wrapping_sub(1)).cloned().ok_or_else(|| {
                    Error::new(
                        SqlState::InvalidParameterValue,
                        format!("there is no parameter ${n}"),
                    )
                }),
                Reference::Claim(_) => Err(Error::unsupported("auth.* in a subscription filter")),
            };
            all.push(Predicate::from_sql(sql, &bind)?);
        }
        all.extend(role_filter);
        let predicate = Predicate::And(all);
        for column in predicate.columns() {
            if table.column(column).is_none() {
                return Err(Error::new(
                    SqlState::UndefinedColumn,
                    format!(
                        "column \"{column}\" of relation \"{}\" does not exist",
                        table.name
                    ),
                ));
            }
        }
        Ok(predicate)
    }

    /// Runs until the connection goes away (its outbox refuses) or the stream
    /// ends; a resume point older than retention is reported and ends the feed.
    pub async fn run(self, mut cursor: Cursor, outbox: Outbox) {
        while let Some(batch) = cursor.next().await {
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    let mut error = protocol::error(&Json::Null, &Error::from(e));
                    // Name the subscription that ended.
                    if let Ok(mut v) = serde_json::from_str::<Json>(&error) {
                        v["sub"] = self.sub.clone().into();
                        error = v.to_string();
                    }
                    outbox.push(error);
                    return;
                }
            };
            for change in batch.iter().filter(|c| c.table == self.table) {
                if let Some(seen) = self.predicate.view(change)
                    && !outbox.push(protocol::diff(&self.sub, change, seen))
                {
                    return;
                }
            }
        }
    }
}
