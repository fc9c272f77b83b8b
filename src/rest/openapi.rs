//! `GET /rest/v1/`: an OpenAPI 3 document generated from the current schema
//! (every user table, its columns and their JSON types, the filters and
//! verbs of `/rest/v1/{table}`), so Swagger UI and schemathesis can drive the
//! door. Read from the live catalog on every request, never cached stale.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Map, Value as Json, json};

use super::Rest;
use super::error::ApiResult;
use crate::catalog::Table;
use crate::error::Result;
use crate::store::{Store, blocking};
use crate::types::PgType;

/// The user's tables and views (not SQLite's or litewire's own), by name.
const USER_TABLES: &str = "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') \
     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_lw\\_%' ESCAPE '\\' \
     ORDER BY name";

/// The user's tables as the catalog types them.
async fn user_tables(store: &Arc<Store>) -> Result<Vec<Table>> {
    let reader = store.reader().await;
    let names: Vec<String> = blocking(reader, |conn| -> Result<Vec<String>> {
        let mut stmt = conn.sqlite.prepare_cached(USER_TABLES)?;
        let names = stmt.query_map([], |r| r.get(0))?;
        Ok(names.collect::<rusqlite::Result<_>>()?)
    })
    .await
    .1?;
    let catalog = store.catalog();
    Ok(names
        .iter()
        .filter_map(|n| catalog.table(n).cloned())
        .collect())
}

/// A column's JSON Schema, as [`crate::types::json_value`] renders values.
fn column_schema(ty: PgType, nullable: bool) -> Json {
    let mut schema = match ty {
        PgType::Int2 | PgType::Int4 | PgType::Oid => json!({"type": "integer", "format": "int32"}),
        PgType::Int8 => json!({"type": "integer", "format": "int64"}),
        PgType::Float4 | PgType::Float8 | PgType::Numeric => json!({"type": "number"}),
        PgType::Bool => json!({"type": "boolean"}),
        PgType::TextArray
        | PgType::BoolArray
        | PgType::Int2Array
        | PgType::Int4Array
        | PgType::Int8Array => json!({"type": "string", "description": "array literal, {a,b}"}),
        PgType::Json | PgType::Jsonb => json!({}),
        PgType::Date => json!({"type": "string", "format": "date"}),
        PgType::Uuid => json!({"type": "string", "format": "uuid"}),
        PgType::Bytea => json!({"type": "string", "description": "hex, \\x..."}),
        PgType::Timestamptz | PgType::Timestamp | PgType::Time | PgType::Interval => {
            json!({"type": "string", "description": "Postgres ISO text"})
        }
        PgType::Text
        | PgType::Varchar
        | PgType::Bpchar
        | PgType::Name
        | PgType::Char
        | PgType::Unknown
        | PgType::Void => json!({"type": "string"}),
    };
    if nullable && let Json::Object(map) = &mut schema {
        map.insert("nullable".into(), true.into());
    }
    schema
}

fn table_schema(table: &Table) -> Json {
    let properties: Map<String, Json> = table
        .columns
        .iter()
        .map(|c| {
            // SQLite reports a primary key as nullable; Postgres keys are not.
            let mut schema = column_schema(c.ty.ty, !c.not_null && !c.primary_key);
            if let Json::Object(map) = &mut schema {
                map.insert("x-postgres-type".into(), c.ty.to_sql().into());
            }
            (c.name.clone(), schema)
        })
        .collect();
    // A key that is not a column is refused (42703), so none is allowed.
    json!({"type": "object", "properties": properties, "additionalProperties": false})
}

fn query_parameter(name: &str, description: &str) -> Json {
    json!({"name": name, "in": "query", "required": false,
           "description": description, "schema": {"type": "string"}})
}

fn table_path(table: &Table) -> Json {
    let rows =
        json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{}", table.name)}});
    let body = json!({"required": true, "content": {"application/json": {"schema": {"oneOf": [
        {"$ref": format!("#/components/schemas/{}", table.name)}, rows.clone()]}}}});
    let mut filters: Vec<Json> = table
        .columns
        .iter()
        .map(|c| {
            query_parameter(
                &c.name,
                "filter: op.value (eq, neq, gt, gte, lt, lte, like, ilike, in, is; not.op)",
            )
        })
        .collect();
    let reading = [
        query_parameter("select", "columns: a,b,alias:c"),
        query_parameter("order", "col.asc|desc.nullsfirst|nullslast,..."),
        query_parameter("limit", "at most this many rows"),
        query_parameter("offset", "skip this many rows"),
        query_parameter("or", "(a.eq.1,b.gt.2)"),
    ];
    let ok = |description: &str| {
        json!({"description": description,
               "content": {"application/json": {"schema": rows.clone()}}})
    };
    let error = json!({"description": "error: {code, message, details, hint}"});
    filters.push(query_parameter("all", "true: PATCH/DELETE every row"));
    let mut read_parameters = filters.clone();
    read_parameters.extend(reading);
    json!({
        "get": {"parameters": read_parameters,
                "responses": {"200": ok("rows"), "206": ok("a range of the rows"), "default": error}},
        "post": {"parameters": [query_parameter("on_conflict", "upsert target columns")],
                 "requestBody": body,
                 "responses": {"201": {"description": "created (the rows with Prefer: return=representation)"},
                               "default": error}},
        "patch": {"parameters": filters, "requestBody": body,
                  "responses": {"200": ok("updated rows"), "204": {"description": "updated"}, "default": error}},
        "delete": {"parameters": filters,
                   "responses": {"200": ok("deleted rows"), "204": {"description": "deleted"}, "default": error}},
    })
}

pub async fn document(
    State(rest): State<Arc<Rest>>,
    headers: HeaderMap,
) -> ApiResult<axum::Json<Json>> {
    rest.auth.identify(&headers)?;
    let tables = user_tables(&rest.exec.store).await?;
    let paths: Map<String, Json> = tables
        .iter()
        .map(|t| (format!("/rest/v1/{}", t.name), table_path(t)))
        .collect();
    let schemas: Map<String, Json> = tables
        .iter()
        .map(|t| (t.name.clone(), table_schema(t)))
        .collect();
    Ok(axum::Json(json!({
        "openapi": "3.0.3",
        "info": {"title": "litewire REST API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {"schemas": schemas},
    })))
}
