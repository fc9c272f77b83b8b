//! The documents API of the Real-Time SQLite reference system, for
//! schema-less apps. A collection is a table `(id text PRIMARY KEY, doc jsonb
//! NOT NULL, updated_at timestamptz)`: an ordinary table, so documents reach
//! the change stream, feeds and live queries like any row.
//!
//! - `GET /db/collections` -> `{"collections": [names]}`; `POST` `{"name"}`
//!   creates one (201; 409 if it exists).
//! - `GET|PUT|PATCH|DELETE /db/data/{coll}/{id}`: a document is
//!   `{"id", "doc", "updated_at"}`; PUT replaces (201 when new), PATCH applies
//!   a JSON Merge Patch (RFC 7386, SQLite's `json_patch`), DELETE answers 204;
//!   a missing document is 404.
//! - `POST /db/query/{coll}` with the reference's JSON query DSL (`where` with
//!   `$and`/`$or` and `== != > >= < <=`, `orderBy`, `limit`) on document
//!   fields -> `{"documents": [...]}`.
//! - `POST /db/indexes/{coll}` `{"field": "a.b"}` indexes a document field
//!   (the same expression the queries compare, so SQLite uses it).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

use super::Rest;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult, bad_request};
use super::exec::{Statement, ident};
use crate::error::{Error, SqlState};
use crate::live::dsl::{self, Fields};

fn not_found(coll: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("no document \"{id}\" in \"{coll}\""))
}

/// The document found, or 404.
fn one(found: Option<Json>, coll: &str, id: &str) -> ApiResult<Response> {
    found
        .map(|d| axum::Json(d).into_response())
        .ok_or_else(|| not_found(coll, id))
}

/// The collection `name`, checked against the catalog and the caller's rights
/// (`write` for changes); documents are whole rows, so a role needs to read
/// the table without a row filter.
fn collection(rest: &Rest, headers: &HeaderMap, name: &str, write: bool) -> ApiResult<String> {
    let who = rest.auth.identify(headers)?;
    let catalog = rest.exec.store.catalog();
    let table = catalog
        .table(name)
        .filter(|t| t.is_collection())
        .ok_or_else(|| ApiError::NotFound(format!("collection \"{name}\" does not exist")))?;
    if rest.auth.row_filter(&who, &table.name)?.is_some() {
        return Err(Error::new(
            SqlState::InsufficientPrivilege,
            format!(
                "{} reads \"{name}\" through a row filter; documents need whole rows",
                who.role
            ),
        )
        .into());
    }
    if write {
        rest.auth.check_write(&who, &table.name)?;
    }
    Ok(table.name.clone())
}

const DOCUMENT: &str = "id, doc, updated_at";

/// The document a write returned, if any.
async fn written(rest: &Rest, statement: Statement) -> ApiResult<Option<Json>> {
    let mut outcomes = rest.exec.transaction(vec![statement]).await?;
    Ok(outcomes.pop().and_then(|o| o.objects().pop()))
}

async fn documents(rest: &Rest, statement: Statement) -> ApiResult<Vec<Json>> {
    Ok(rest.exec.one(statement).await?.objects())
}

pub async fn list(State(rest): State<Arc<Rest>>, headers: HeaderMap) -> ApiResult<Response> {
    rest.auth.identify(&headers)?;
    let mut names: Vec<String> = rest
        .exec
        .store
        .catalog()
        .tables()
        .filter(|t| t.is_collection())
        .map(|t| t.name.clone())
        .collect();
    names.sort();
    Ok(axum::Json(json!({ "collections": names })).into_response())
}

pub async fn create(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let who = rest.auth.identify(&headers)?;
    let name = body["name"]
        .as_str()
        .filter(|n| !n.is_empty() && !n.starts_with("_lw_"))
        .ok_or_else(|| bad_request("the body is {\"name\": \"collection\"}"))?
        .to_string();
    rest.auth.check_write(&who, &name)?;
    let sql = format!(
        "CREATE TABLE {} (id text PRIMARY KEY, doc jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
        ident(&name)
    );
    rest.exec
        .transaction(vec![Statement {
            sql,
            params: Vec::new(),
        }])
        .await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "name": name }))).into_response())
}

pub async fn get(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
    Path((coll, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let table = collection(&rest, &headers, &coll, false)?;
    let mut s = Statement::default();
    let key = s.bind(Json::String(id.clone()), None);
    s.sql = format!("SELECT {DOCUMENT} FROM {} WHERE id = {key}", ident(&table));
    let found = documents(&rest, s).await?.pop();
    one(found, &coll, &id)
}

/// PUT: the body replaces the document (created when missing).
pub async fn put(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
    Path((coll, id)): Path<(String, String)>,
    JsonBody(doc): JsonBody,
) -> ApiResult<Response> {
    let table = collection(&rest, &headers, &coll, true)?;
    if !doc.is_object() {
        return Err(bad_request("a document is a JSON object"));
    }
    // Whether it existed is read in the same write transaction as the upsert.
    let mut probe = Statement::default();
    let key = probe.bind(Json::String(id.clone()), None);
    probe.sql = format!("SELECT 1 FROM {} WHERE id = {key}", ident(&table));
    let mut s = Statement::default();
    let (key, value) = (
        s.bind(Json::String(id), None),
        s.bind(Json::String(doc.to_string()), None),
    );
    s.sql = format!(
        "INSERT INTO {t} (id, doc, updated_at) VALUES ({key}, {value}, now()) \
         ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now() \
         RETURNING {DOCUMENT}",
        t = ident(&table)
    );
    let mut outcomes = rest.exec.transaction(vec![probe, s]).await?;
    let doc = outcomes.pop().and_then(|o| o.objects().pop());
    let existed = outcomes.pop().is_some_and(|o| !o.rows.is_empty());
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(doc)).into_response())
}

/// PATCH: a JSON Merge Patch (RFC 7386) onto the stored document.
pub async fn patch(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
    Path((coll, id)): Path<(String, String)>,
    JsonBody(patch): JsonBody,
) -> ApiResult<Response> {
    let table = collection(&rest, &headers, &coll, true)?;
    let mut s = Statement::default();
    let (key, value) = (
        s.bind(Json::String(id.clone()), None),
        s.bind(Json::String(patch.to_string()), None),
    );
    s.sql = format!(
        "UPDATE {t} SET doc = json_patch(doc, {value}), updated_at = now() WHERE id = {key} RETURNING {DOCUMENT}",
        t = ident(&table)
    );
    one(written(&rest, s).await?, &coll, &id)
}

pub async fn delete(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
    Path((coll, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let table = collection(&rest, &headers, &coll, true)?;
    let mut s = Statement::default();
    let key = s.bind(Json::String(id.clone()), None);
    s.sql = format!(
        "DELETE FROM {} WHERE id = {key} RETURNING id",
        ident(&table)
    );
    if rest
        .exec
        .transaction(vec![s])
        .await?
        .remove(0)
        .rows
        .is_empty()
    {
        return Err(not_found(&coll, &id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A one-time query in the reference's JSON DSL on document fields.
pub async fn query(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
    Path(coll): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let table = collection(&rest, &headers, &coll, false)?;
    let (sql, params) = dsl::to_sql_on(&table, &body, Fields::Document("doc"))?;
    let mut s = Statement::default();
    for p in params {
        s.bind(p, None);
    }
    s.sql = sql.replacen("SELECT *", &format!("SELECT {DOCUMENT}"), 1);
    Ok(axum::Json(json!({ "documents": documents(&rest, s).await? })).into_response())
}

/// An index on a document field.
pub async fn index(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
    Path(coll): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let table = collection(&rest, &headers, &coll, true)?;
    let field = body["field"]
        .as_str()
        .ok_or_else(|| bad_request("the body is {\"field\": \"a.b\"}"))?;
    let path = dsl::json_path(field)?;
    let name = format!("{table}_{}_idx", field.replace('.', "_"));
    let sql = format!(
        "CREATE INDEX IF NOT EXISTS {} ON {} (json_extract(doc, '{path}'))",
        ident(&name),
        ident(&table)
    );
    rest.exec
        .transaction(vec![Statement {
            sql,
            params: Vec::new(),
        }])
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "index": name, "field": field })),
    )
        .into_response())
}
