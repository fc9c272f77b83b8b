//! The JSON query DSL of the Real-Time SQLite reference system, as SQL:
//! `{"where": {"$and": [{"field": "status", "op": "==", "value": "pending"}]},
//! "orderBy": [{"field": "total", "direction": "desc"}], "limit": 50}` on a
//! table becomes `SELECT * FROM "t" WHERE ("status" = $1) ORDER BY "total"
//! DESC LIMIT 50`, values always as parameters.

use serde_json::Value as Json;

use crate::error::{Error, Result, SqlState};
use crate::translate::quote_ident as ident;

fn bad(message: impl Into<String>) -> Error {
    Error::new(SqlState::InvalidParameterValue, message)
}

/// How a DSL field is read: a column of the table, or a field of a JSON
/// document column (collections of the documents API).
#[derive(Clone, Copy)]
pub enum Fields<'a> {
    Columns,
    Document(&'a str),
}

impl Fields<'_> {
    fn sql(self, field: &str) -> Result<String> {
        match self {
            Fields::Columns => Ok(ident(field)),
            Fields::Document(column) => Ok(format!(
                "json_extract({}, '{}')",
                ident(column),
                json_path(field)?
            )),
        }
    }
}

/// `a.b` -> `$.a.b`; fields are dotted identifiers (they are spliced into the
/// path literal, so nothing else is accepted).
pub fn json_path(field: &str) -> Result<String> {
    let valid = !field.is_empty()
        && field.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if !valid {
        return Err(bad(format!("field \"{field}\" is not a dotted name")));
    }
    Ok(format!("$.{field}"))
}

/// The SQL and its parameters for `query` on `table`, its fields read as
/// `fields_are` says.
pub fn to_sql_on(table: &str, query: &Json, fields_are: Fields<'_>) -> Result<(String, Vec<Json>)> {
    let Json::Object(fields) = query else {
        return Err(bad("a query is a JSON object (where, orderBy, limit)"));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !["where", "orderBy", "limit"].contains(&k.as_str()))
    {
        return Err(bad(format!("unknown query field \"{unknown}\"")));
    }
    let mut params = Vec::new();
    let mut sql = format!("SELECT * FROM {}", ident(table));
    if let Some(condition) = fields.get("where") {
        sql.push_str(" WHERE ");
        sql.push_str(&condition_sql(condition, fields_are, &mut params)?);
    }
    if let Some(order) = fields.get("orderBy") {
        let Json::Array(items) = order else {
            return Err(bad("orderBy is an array of {field, direction}"));
        };
        let terms = items
            .iter()
            .map(|item| {
                let field = item["field"]
                    .as_str()
                    .ok_or_else(|| bad("orderBy needs a field"))?;
                let direction = match item.get("direction").and_then(Json::as_str) {
                    None | Some("asc") => "ASC",
                    Some("desc") => "DESC",
                    Some(other) => return Err(bad(format!("unknown direction \"{other}\""))),
                };
                Ok(format!("{} {direction}", fields_are.sql(field)?))
            })
            .collect::<Result<Vec<_>>>()?;
        if !terms.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", terms.join(", ")));
        }
    }
    if let Some(limit) = fields.get("limit") {
        let limit = limit
            .as_u64()
            .ok_or_else(|| bad("limit is a non-negative integer"))?;
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    Ok((sql, params))
}

fn condition_sql(condition: &Json, fields: Fields<'_>, params: &mut Vec<Json>) -> Result<String> {
    let group = |items: &Json, joiner: &str, params: &mut Vec<Json>| -> Result<String> {
        let Json::Array(items) = items else {
            return Err(bad("$and / $or take an array"));
        };
        if items.is_empty() {
            return Ok(if joiner == " AND " { "TRUE" } else { "FALSE" }.into());
        }
        let parts = items
            .iter()
            .map(|c| condition_sql(c, fields, params))
            .collect::<Result<Vec<_>>>()?;
        Ok(format!("({})", parts.join(joiner)))
    };
    if let Some(items) = condition.get("$and") {
        return group(items, " AND ", params);
    }
    if let Some(items) = condition.get("$or") {
        return group(items, " OR ", params);
    }
    let field = condition["field"]
        .as_str()
        .ok_or_else(|| bad("a condition is {field, op, value} or {$and/$or: [...]}"))?;
    let op = match condition["op"].as_str() {
        Some("==" | "=") => "=",
        Some("!=") => "<>",
        Some(op @ (">" | ">=" | "<" | "<=")) => op,
        other => return Err(bad(format!("unknown operator {other:?}"))),
    };
    let value = condition.get("value").cloned().unwrap_or(Json::Null);
    if value.is_null() {
        return Ok(format!(
            "{} IS {}NULL",
            fields.sql(field)?,
            if op == "=" { "" } else { "NOT " }
        ));
    }
    params.push(value);
    Ok(format!("{} {op} ${}", fields.sql(field)?, params.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reference_example() {
        let (sql, params) = to_sql_on(
            "products",
            &json!({
                "where": {"$or": [
                    {"field": "category", "op": "==", "value": "electronics"},
                    {"$and": [
                        {"field": "category", "op": "==", "value": "books"},
                        {"field": "price", "op": "<", "value": 20}
                    ]}
                ]},
                "orderBy": [{"field": "price", "direction": "asc"}],
                "limit": 50
            }),
            Fields::Columns,
        )
        .unwrap();
        assert_eq!(
            sql,
            "SELECT * FROM \"products\" WHERE (\"category\" = $1 OR (\"category\" = $2 AND \"price\" < $3)) \
             ORDER BY \"price\" ASC LIMIT 50"
        );
        assert_eq!(
            params,
            vec![json!("electronics"), json!("books"), json!(20)]
        );
        let bad = json!({"where": {"field": "a", "op": "~", "value": 1}});
        assert!(to_sql_on("t", &bad, Fields::Columns).is_err());
        let order = json!({"orderBy": [{"field": "a.b"}]});
        let (sql, _) = to_sql_on("t", &order, Fields::Document("doc")).unwrap();
        assert_eq!(
            sql,
            "SELECT * FROM \"t\" ORDER BY json_extract(\"doc\", '$.a.b') ASC"
        );
    }
}
