//! `POST /sql`: Postgres SQL over HTTP. One statement
//! (`{"query": "...", "params": [...]}`) returns one result; a list
//! (`{"query": ["...", "..."]}` or `[{"query", "params"}, ...]`) runs in one
//! transaction and returns a list of results, and its first error rolls all of
//! it back. A result is `{"columns": [{"name", "type"}], "rows": [[...]],
//! "command": "INSERT 0 1"}`, values as in [`crate::types::json_value`].
//!
//! Arbitrary SQL bypasses row filters, so with authentication on only a role
//! granted writes on every table (`[auth.write] role = ["*"]`) may use it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::Rest;
use super::body::JsonBody;
use super::error::{ApiResult, bad_request};
use super::exec::{Outcome, Param, Statement};
use crate::types::json_value;

/// One query as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    query: Text,
    #[serde(default)]
    params: Vec<Json>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Body {
    One(Query),
    Many(Vec<Query>),
}

fn statement(sql: String, params: &[Json]) -> Statement {
    Statement {
        sql,
        params: params
            .iter()
            .map(|value| Param {
                value: value.clone(),
                ty: None,
            })
            .collect(),
    }
}

/// The statements of a body, and whether it asked for a list of results.
fn statements(body: Body) -> ApiResult<(Vec<Statement>, bool)> {
    match body {
        Body::One(Query {
            query: Text::One(sql),
            params,
        }) => Ok((vec![statement(sql, &params)], false)),
        Body::One(Query {
            query: Text::Many(sqls),
            params,
        }) => {
            if !params.is_empty() {
                return Err(bad_request(
                    "params go with each query: send [{\"query\", \"params\"}, ...]",
                ));
            }
            Ok((sqls.into_iter().map(|s| statement(s, &[])).collect(), true))
        }
        Body::Many(queries) => queries
            .into_iter()
            .map(|q| match q.query {
                Text::One(sql) => Ok(statement(sql, &q.params)),
                Text::Many(_) => Err(bad_request("each query of a list is one string")),
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(|s| (s, true)),
    }
}

fn result(outcome: &Outcome) -> Json {
    let columns: Vec<Json> = outcome
        .columns
        .iter()
        .map(|c| json!({"name": c.name, "type": c.ty.to_sql()}))
        .collect();
    let rows: Vec<Json> = outcome
        .rows
        .iter()
        .map(|row| {
            Json::Array(
                outcome
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| json_value::to_json(c.ty.ty, v))
                    .collect(),
            )
        })
        .collect();
    json!({"columns": columns, "rows": rows, "command": outcome.tag})
}

pub async fn run(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<axum::Json<Json>> {
    let who = rest.auth.identify(&headers)?;
    rest.auth.check_write(&who, "*")?;
    let body: Body = serde_json::from_value(body).map_err(|_| {
        bad_request("the body is {\"query\": \"...\", \"params\": [...]}, or a list of them")
    })?;
    let (mut statements, many) = statements(body)?;
    if statements.is_empty() {
        return Err(bad_request("no query given"));
    }
    if !many {
        let outcome = rest.exec.one(statements.remove(0)).await?;
        return Ok(axum::Json(result(&outcome)));
    }
    let outcomes = rest.exec.transaction(statements).await?;
    Ok(axum::Json(Json::Array(
        outcomes.iter().map(result).collect(),
    )))
}
