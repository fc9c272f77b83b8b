//! `/rest/v1/{table}`: PostgREST's conventions on the store's tables. Each
//! request becomes Postgres SQL with quoted identifiers (checked against the
//! catalog) and `$n` parameters, run through [`super::exec`], so REST writes
//! are typed, defaulted, checked and captured exactly as psql's are.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json};

use super::Rest;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult, bad_request};
use super::exec::{Statement, ident};
use super::query::{self, Request};
use crate::auth::jwt::Identity;
use crate::catalog::Table;
use crate::changes::filter::Predicate;
use crate::error::{Error, SqlState};

/// PostgREST's media type for "one object, not an array".
const SINGLE_OBJECT: &str = "application/vnd.pgrst.object+json";

type Pairs = Query<Vec<(String, String)>>;

/// The `Prefer` header's parts that litewire honours.
#[derive(Debug, Default)]
struct Prefer {
    representation: bool,
    count: bool,
    resolution: Option<Resolution>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Resolution {
    Merge,
    Ignore,
}

impl Prefer {
    fn from(headers: &HeaderMap) -> Prefer {
        let mut prefer = Prefer::default();
        let items = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim);
        for item in items {
            match item {
                "return=representation" => prefer.representation = true,
                "count=exact" => prefer.count = true,
                "resolution=merge-duplicates" => prefer.resolution = Some(Resolution::Merge),
                "resolution=ignore-duplicates" => prefer.resolution = Some(Resolution::Ignore),
                _ => {}
            }
        }
        prefer
    }
}

fn wants_single(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(SINGLE_OBJECT))
}

/// The user table `name` (litewire's own `_lw_*` tables are not served).
pub fn user_table(rest: &Rest, name: &str) -> Result<Table, Error> {
    rest.exec
        .store
        .catalog()
        .table(name)
        .filter(|t| !t.name.starts_with("_lw_"))
        .cloned()
        .ok_or_else(|| {
            Error::new(
                SqlState::UndefinedTable,
                format!("relation \"{name}\" does not exist"),
            )
        })
}

/// The request's filters AND the caller's row filter.
fn visible(
    rest: &Rest,
    who: &Identity,
    table: &Table,
    request: &Request,
) -> Result<Predicate, Error> {
    let mut all = vec![request.filter.clone()];
    all.extend(rest.auth.row_filter(who, &table.name)?);
    Ok(Predicate::And(all))
}

/// The select list (`"a", "b" AS "alias"`), checked against the table.
fn select_list(table: &Table, request: &Request) -> Result<String, Error> {
    let Some(outputs) = &request.select else {
        return Ok(table
            .columns
            .iter()
            .map(|c| ident(&c.name))
            .collect::<Vec<_>>()
            .join(", "));
    };
    outputs
        .iter()
        .map(|o| {
            let c = query::column(table, &o.column)?;
            Ok(match &o.alias {
                Some(alias) => format!("{} AS {}", ident(&c.name), ident(alias)),
                None => ident(&c.name),
            })
        })
        .collect::<Result<Vec<_>, Error>>()
        .map(|items| items.join(", "))
}

/// `Range: 0-9` as (offset, limit).
fn range(headers: &HeaderMap) -> ApiResult<Option<(u64, Option<u64>)>> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let spec = value.trim().trim_start_matches("items=");
    let bad = || bad_request(format!("invalid Range header \"{value}\""));
    let (first, last) = spec.split_once('-').ok_or_else(bad)?;
    let first: u64 = first.trim().parse().map_err(|_| bad())?;
    let last: Option<u64> = match last.trim() {
        "" => None,
        l => Some(l.parse().map_err(|_| bad())?),
    };
    match last {
        Some(last) if last < first => Err(bad()),
        Some(last) => Ok(Some((first, Some(last - first + 1)))),
        None => Ok(Some((first, None))),
    }
}

pub async fn read(
    State(rest): State<Arc<Rest>>,
    Path(name): Path<String>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let who = rest.auth.identify(&headers)?;
    let table = user_table(&rest, &name)?;
    let mut request = Request::parse(&pairs)?;
    if let Some((offset, limit)) = range(&headers)? {
        request.offset = Some(offset);
        request.limit = limit.or(request.limit);
    }
    let filter = visible(&rest, &who, &table, &request)?;
    let mut statement = Statement::default();
    let condition = query::condition_sql(&filter, &table, &mut statement)?;
    statement.sql = format!(
        "SELECT {} FROM {} WHERE {condition}{}",
        select_list(&table, &request)?,
        ident(&table.name),
        query::order_sql(&request.order, &table)?
    );
    // At most max_rows, as PostgREST's db-max-rows: Content-Range tells the
    // caller there is more.
    let max = rest.limits.max_rows as u64;
    let limit = request.limit.map_or(max, |l| l.min(max));
    statement.sql.push_str(&format!(" LIMIT {limit}"));
    let offset = request.offset.unwrap_or(0);
    if offset > 0 {
        statement.sql.push_str(&format!(" OFFSET {offset}"));
    }
    let count_params = statement.params.clone();
    let rows = rest.exec.one(statement).await?.objects();
    let total = if Prefer::from(&headers).count {
        let count = Statement {
            sql: format!(
                "SELECT count(*) FROM {} WHERE {condition}",
                ident(&table.name)
            ),
            params: count_params,
        };
        let outcome = rest.exec.one(count).await?;
        outcome.rows.first().and_then(|r| match r.first() {
            Some(rusqlite::types::Value::Integer(n)) => Some(*n as u64),
            _ => None,
        })
    } else {
        None
    };
    let content_range = match (rows.len() as u64, total) {
        (0, Some(total)) => format!("*/{total}"),
        (0, None) => "*/*".into(),
        (n, total) => format!(
            "{offset}-{}/{}",
            offset + n - 1,
            total.map_or_else(|| "*".to_string(), |t| t.to_string())
        ),
    };
    let partial = total.is_some_and(|t| (rows.len() as u64) < t);
    let status = if partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = respond(status, rows, wants_single(&headers))?;
    response.headers_mut().insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&content_range).expect("digits and punctuation"),
    );
    Ok(response)
}

/// The rows as a JSON array, or as one object when the client asked for
/// PostgREST's single-object media type (406 unless exactly one row).
fn respond(status: StatusCode, rows: Vec<Json>, single: bool) -> ApiResult<Response> {
    if !single {
        return Ok((status, axum::Json(Json::Array(rows))).into_response());
    }
    let count = rows.len();
    let [row] = <[Json; 1]>::try_from(rows).map_err(|_| ApiError::NotSingular { rows: count })?;
    let mut response = (status, axum::Json(row)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SINGLE_OBJECT),
    );
    Ok(response)
}

/// The objects of a POST body (one object, or an array of them).
fn body_rows(body: Json) -> ApiResult<Vec<Map<String, Json>>> {
    let not_object = || bad_request("the body is a JSON object or an array of objects");
    match body {
        Json::Object(row) => Ok(vec![row]),
        Json::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Json::Object(row) => Ok(row),
                _ => Err(not_object()),
            })
            .collect(),
        _ => Err(not_object()),
    }
}

/// What every write starts from: a caller allowed to write the table, and
/// the parsed request.
pub struct Write {
    who: Identity,
    table: Table,
    request: Request,
    prefer: Prefer,
}

/// Handlers take a [`Write`] as an extractor: the checks run before the body
/// is read.
impl FromRequestParts<Arc<Rest>> for Write {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, rest: &Arc<Rest>) -> ApiResult<Write> {
        let Path(name) = Path::<String>::from_request_parts(parts, rest)
            .await
            .map_err(|e| bad_request(e.body_text()))?;
        let Query(pairs) = Pairs::from_request_parts(parts, rest)
            .await
            .map_err(|e| bad_request(e.body_text()))?;
        let who = rest.auth.identify(&parts.headers)?;
        let table = user_table(rest, &name)?;
        rest.auth.check_write(&who, &table.name)?;
        Ok(Write {
            who,
            table,
            request: Request::parse(&pairs)?,
            prefer: Prefer::from(&parts.headers),
        })
    }
}

impl Write {
    /// Runs the write's statements in one transaction and answers `status`
    /// with the rows (`Prefer: return=representation`), or `empty` without.
    async fn finish(
        &self,
        rest: &Rest,
        statements: Vec<Statement>,
        status: StatusCode,
        empty: StatusCode,
    ) -> ApiResult<Response> {
        let outcomes = rest.exec.transaction(statements).await?;
        if !self.prefer.representation {
            return Ok(empty.into_response());
        }
        let rows: Vec<Json> = outcomes.iter().flat_map(|o| o.objects()).collect();
        Ok((status, axum::Json(Json::Array(rows))).into_response())
    }

    /// The WHERE of a PATCH/DELETE: refused without a filter unless `all=true`.
    fn condition(&self, rest: &Rest, statement: &mut Statement) -> ApiResult<String> {
        if !self.request.filtered() && !self.request.all {
            return Err(bad_request(format!(
                "refusing to change every row of \"{}\" without a filter: add one, or all=true",
                self.table.name
            )));
        }
        let filter = visible(rest, &self.who, &self.table, &self.request)?;
        Ok(query::condition_sql(&filter, &self.table, statement)?)
    }

    /// A PATCH or DELETE: `head` (with its parameters already in
    /// `statement`) on the rows the filters and the caller's rules select;
    /// 200 with the rows, or 204.
    async fn filtered_change(
        &self,
        rest: &Rest,
        head: String,
        mut statement: Statement,
    ) -> ApiResult<Response> {
        let condition = self.condition(rest, &mut statement)?;
        statement.sql = format!("{head} WHERE {condition}{}", self.returning()?);
        self.finish(
            rest,
            vec![statement],
            StatusCode::OK,
            StatusCode::NO_CONTENT,
        )
        .await
    }

    fn returning(&self) -> Result<String, Error> {
        if self.prefer.representation {
            Ok(format!(
                " RETURNING {}",
                select_list(&self.table, &self.request)?
            ))
        } else {
            Ok(String::new())
        }
    }
}

pub async fn create(
    State(rest): State<Arc<Rest>>,
    write: Write,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let rows = body_rows(body)?;
    rest.limits.check_rows(rows.len(), "the request body")?;
    let conflict = match write.prefer.resolution {
        None => None,
        Some(resolution) => Some((resolution, conflict_target(&write.table, &write.request)?)),
    };
    let returning = write.returning()?;
    // Rows with the same keys go in one multi-row INSERT; a row that leaves a
    // column out gets its default, as in a psql INSERT naming fewer columns.
    let mut statements = Vec::new();
    for group in rows.chunk_by(|a, b| a.keys().eq(b.keys())) {
        statements.push(insert(&write.table, group, conflict.as_ref(), &returning)?);
    }
    write
        .finish(&rest, statements, StatusCode::CREATED, StatusCode::CREATED)
        .await
}

/// `on_conflict=a,b`, else the primary key.
fn conflict_target(table: &Table, request: &Request) -> Result<Vec<String>, Error> {
    let target: Vec<String> = match &request.on_conflict {
        Some(columns) => columns
            .iter()
            .map(|c| query::column(table, c).map(|c| c.name.clone()))
            .collect::<Result<_, _>>()?,
        None => table
            .columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect(),
    };
    if target.is_empty() {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!(
                "table \"{}\" has no primary key: give on_conflict=<columns>",
                table.name
            ),
        ));
    }
    Ok(target)
}

/// One INSERT for rows that all have the same keys.
fn insert(
    table: &Table,
    rows: &[Map<String, Json>],
    conflict: Option<&(Resolution, Vec<String>)>,
    returning: &str,
) -> Result<Statement, Error> {
    let columns = rows[0]
        .keys()
        .map(|k| query::column(table, k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut statement = Statement::default();
    let target = ident(&table.name);
    if columns.is_empty() {
        statement.sql = format!("INSERT INTO {target} DEFAULT VALUES{returning}");
        return Ok(statement);
    }
    let tuples: Vec<String> = rows
        .iter()
        .map(|row| {
            let values: Vec<String> = columns
                .iter()
                .zip(row.values())
                .map(|(c, v)| statement.bind(v.clone(), Some(c.ty)))
                .collect();
            format!("({})", values.join(", "))
        })
        .collect();
    let names: Vec<String> = columns.iter().map(|c| ident(&c.name)).collect();
    statement.sql = format!(
        "INSERT INTO {target} ({}) VALUES {}",
        names.join(", "),
        tuples.join(", ")
    );
    if let Some((resolution, keys)) = conflict {
        let updates: Vec<String> = columns
            .iter()
            .filter(|c| !keys.contains(&c.name))
            .map(|c| format!("{0} = EXCLUDED.{0}", ident(&c.name)))
            .collect();
        let keys: Vec<String> = keys.iter().map(|k| ident(k)).collect();
        let action = if *resolution == Resolution::Ignore || updates.is_empty() {
            "NOTHING".to_string()
        } else {
            format!("UPDATE SET {}", updates.join(", "))
        };
        statement
            .sql
            .push_str(&format!(" ON CONFLICT ({}) DO {action}", keys.join(", ")));
    }
    statement.sql.push_str(returning);
    Ok(statement)
}

pub async fn update(
    State(rest): State<Arc<Rest>>,
    write: Write,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let Json::Object(changes) = body else {
        return Err(bad_request("a PATCH body is a JSON object of new values"));
    };
    if changes.is_empty() {
        return Err(bad_request("a PATCH body names at least one column"));
    }
    let mut statement = Statement::default();
    let assignments = changes
        .iter()
        .map(|(name, value)| {
            let c = query::column(&write.table, name)?;
            let param = statement.bind(value.clone(), Some(c.ty));
            Ok(format!("{} = {param}", ident(&c.name)))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let head = format!(
        "UPDATE {} SET {}",
        ident(&write.table.name),
        assignments.join(", ")
    );
    write.filtered_change(&rest, head, statement).await
}

pub async fn delete(State(rest): State<Arc<Rest>>, write: Write) -> ApiResult<Response> {
    let head = format!("DELETE FROM {}", ident(&write.table.name));
    write
        .filtered_change(&rest, head, Statement::default())
        .await
}
