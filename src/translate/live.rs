//! The realtime functions on the wire: `SELECT * FROM
//! litewire.subscribe('SELECT ...', ARRAY[...])` (the parameters may also be a
//! JSON array or a Postgres array literal, as text), `SELECT
//! litewire.unsubscribe('channel')`, and for durable channels `SELECT
//! litewire.listen_durable('channel', 'consumer')` and `SELECT
//! litewire.ack('consumer', id)`. They are session commands, not SQL for
//! SQLite: the session registers the live query (answering with its snapshot;
//! diffs follow as notifications on the subscription's channel) or the
//! durable consumer.

use serde_json::Value as Json;
use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Query, SelectItem, SetExpr, TableFactor,
    UnaryOperator, Value,
};

use super::Plan;
use super::expr::object_name;
use crate::error::{Error, Result, SqlState};

/// A function argument: a constant, or a `$n` bound at execution.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveArg {
    Value(Json),
    Param(usize),
}

/// The parameters of a live query.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveParams {
    /// `ARRAY[...]`, element by element.
    List(Vec<LiveArg>),
    /// A JSON array or a Postgres array literal (`{a,b}`), as text.
    Text(LiveArg),
}

impl LiveArg {
    /// The argument's value, with `$n` taken from `bound` (as text).
    pub fn resolve(&self, bound: &[Option<String>]) -> Result<Json> {
        match self {
            LiveArg::Value(v) => Ok(v.clone()),
            LiveArg::Param(i) => match bound.get(*i) {
                Some(Some(text)) => Ok(Json::String(text.clone())),
                Some(None) => Ok(Json::Null),
                None => Err(Error::protocol(format!("there is no parameter ${}", i + 1))),
            },
        }
    }
}

impl LiveParams {
    pub fn resolve(&self, bound: &[Option<String>]) -> Result<Vec<Json>> {
        match self {
            LiveParams::List(items) => items.iter().map(|a| a.resolve(bound)).collect(),
            LiveParams::Text(arg) => match arg.resolve(bound)? {
                Json::Null => Ok(Vec::new()),
                Json::String(text) => parse_array(&text),
                Json::Array(items) => Ok(items),
                other => Err(bad_params(&other.to_string())),
            },
        }
    }
}

/// How many `$n` the arguments use (the highest n).
pub fn placeholders(query: &LiveArg, params: &LiveParams) -> usize {
    let args: Vec<&LiveArg> = match params {
        LiveParams::List(items) => items.iter().chain([query]).collect(),
        LiveParams::Text(arg) => vec![query, arg],
    };
    args.iter()
        .filter_map(|a| match a {
            LiveArg::Param(i) => Some(i + 1),
            LiveArg::Value(_) => None,
        })
        .max()
        .unwrap_or(0)
}

fn bad_params(text: &str) -> Error {
    Error::new(
        SqlState::InvalidTextRepresentation,
        format!("live query parameters must be an array: \"{text}\""),
    )
}

/// `["a", 1]` (JSON) or `{a,"b c",NULL}` (Postgres array literal).
fn parse_array(text: &str) -> Result<Vec<Json>> {
    let text = text.trim();
    if text.starts_with('[') {
        return match serde_json::from_str(text) {
            Ok(Json::Array(items)) => Ok(items),
            _ => Err(bad_params(text)),
        };
    }
    Ok(crate::types::array::parse(text)
        .map_err(|_| bad_params(text))?
        .into_iter()
        .map(|item| item.map_or(Json::Null, Json::String))
        .collect())
}

fn args(arguments: &FunctionArguments) -> Result<Vec<&Expr>> {
    let FunctionArguments::List(list) = arguments else {
        return Ok(Vec::new());
    };
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
            other => Err(Error::unsupported(format!(
                "argument {other} of a litewire function"
            ))),
        })
        .collect()
}

/// A literal (or `$n`) argument of a realtime function or of `EXECUTE`.
pub(super) fn arg(expr: &Expr) -> Result<LiveArg> {
    Ok(match expr {
        Expr::Value(v) => LiveArg::Value(match &v.value {
            Value::SingleQuotedString(s)
            | Value::DollarQuotedString(sqlparser::ast::DollarQuotedString { value: s, .. }) => {
                Json::String(s.clone())
            }
            Value::Number(n, _) => serde_json::from_str(n).map_err(|_| bad_params(n))?,
            Value::Boolean(b) => Json::Bool(*b),
            Value::Null => Json::Null,
            Value::Placeholder(p) => {
                let n: usize = p
                    .trim_start_matches('$')
                    .parse()
                    .map_err(|_| Error::syntax(format!("syntax error at or near \"{p}\"")))?;
                return Ok(LiveArg::Param(n.saturating_sub(1)));
            }
            other => {
                return Err(Error::unsupported(format!(
                    "{other} as a live query argument"
                )));
            }
        }),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => arg(expr)?,
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match arg(expr)? {
            LiveArg::Value(Json::Number(n)) => {
                LiveArg::Value(serde_json::from_str(&format!("-{n}")).map_err(|_| bad_params("-"))?)
            }
            _ => {
                return Err(Error::unsupported(
                    "minus on a non-number live query argument",
                ));
            }
        },
        other => {
            return Err(Error::unsupported(format!(
                "{other} as a live query argument"
            )));
        }
    })
}

fn params(expr: Option<&&Expr>) -> Result<LiveParams> {
    Ok(match expr {
        None => LiveParams::List(Vec::new()),
        Some(Expr::Array(array)) => {
            LiveParams::List(array.elem.iter().map(arg).collect::<Result<_>>()?)
        }
        Some(other) => LiveParams::Text(arg(other)?),
    })
}

/// The plan `query` stands for, if it is a call of one of the realtime
/// functions.
pub fn plan(query: &Query) -> Result<Option<Plan>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Ok(None);
    };
    if let [from] = select.from.as_slice()
        && let TableFactor::Table {
            name,
            args: Some(table_args),
            ..
        } = &from.relation
        && object_name(name) == "litewire.subscribe"
    {
        let list = FunctionArguments::List(sqlparser::ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: table_args.args.clone(),
            clauses: vec![],
        });
        let args = args(&list)?;
        let [sql, rest @ ..] = args.as_slice() else {
            return Err(Error::new(
                SqlState::UndefinedFunction,
                "litewire.subscribe(query text, params) needs a query",
            ));
        };
        return Ok(Some(Plan::Subscribe {
            query: arg(sql)?,
            params: params(rest.first())?,
        }));
    }
    if let (
        [
            SelectItem::UnnamedExpr(Expr::Function(f))
            | SelectItem::ExprWithAlias {
                expr: Expr::Function(f),
                ..
            },
        ],
        true,
    ) = (select.projection.as_slice(), select.from.is_empty())
    {
        let name = object_name(&f.name);
        let call = match name.as_str() {
            "litewire.unsubscribe" => "litewire.unsubscribe(channel text)",
            "litewire.listen_durable" => "litewire.listen_durable(channel text, consumer text)",
            "litewire.ack" => "litewire.ack(consumer text, id bigint)",
            _ => return Ok(None),
        };
        let args = args(&f.args)?
            .into_iter()
            .map(arg)
            .collect::<Result<Vec<_>>>()?;
        let wrong = || {
            Error::new(
                SqlState::UndefinedFunction,
                format!("function {call} takes other arguments"),
            )
        };
        return Ok(Some(
            match (name.as_str(), <[LiveArg; 2]>::try_from(args.clone())) {
                ("litewire.unsubscribe", _) => {
                    let [channel] = <[LiveArg; 1]>::try_from(args).map_err(|_| wrong())?;
                    Plan::Unsubscribe(channel)
                }
                ("litewire.listen_durable", Ok([channel, consumer])) => {
                    Plan::ListenDurable { channel, consumer }
                }
                ("litewire.ack", Ok([consumer, id])) => Plan::Ack { consumer, id },
                _ => return Err(wrong()),
            },
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn array_literals() {
        assert_eq!(
            parse_array(r#"{pending,"a b",NULL, 7}"#).unwrap(),
            vec![json!("pending"), json!("a b"), Json::Null, json!("7")]
        );
        assert_eq!(
            parse_array(r#"["x", 2]"#).unwrap(),
            vec![json!("x"), json!(2)]
        );
        assert!(parse_array("nope").is_err());
    }
}

#[cfg(test)]
mod plan_tests {
    use crate::catalog::Catalog;
    use crate::translate::{Plan, translate};

    #[test]
    fn realtime_functions_count_their_parameters() {
        let plans = translate("SELECT litewire.ack('w', $1)", &Catalog::default()).unwrap();
        assert!(matches!(plans[0], Plan::Ack { .. }), "{:?}", plans[0]);
        assert_eq!(plans[0].parameters().len(), 1);
    }
}

/// `FETCH [ALL | n | FORWARD n | FORWARD ALL] [FROM | IN] cursor [WITH
/// (timeout = '1s')]` on a live cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    pub cursor: String,
    /// At most this many rows; `None` is ALL.
    pub count: Option<u64>,
    /// How long to wait for a first row; `None` waits until one comes.
    pub timeout: Option<std::time::Duration>,
}

fn words(sql: &str) -> Vec<String> {
    sql.trim()
        .trim_end_matches(';')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `DECLARE name CURSOR FOR SUBSCRIBE (...)` (or `SUBSCRIBE [TO] table`):
/// the cursor name and the SELECT.
pub fn declare(sql: &str) -> Option<(String, String)> {
    let w = words(sql);
    let [declare, name, cursor, ..] = w.as_slice() else {
        return None;
    };
    if !declare.eq_ignore_ascii_case("declare") || !cursor.eq_ignore_ascii_case("cursor") {
        return None;
    }
    let lower = sql.to_ascii_lowercase();
    let at = lower.find(" for ")? + " for ".len();
    let query = super::copy::subscribe(&format!(
        "COPY ({}) TO STDOUT",
        sql[at..].trim().trim_end_matches(';')
    ))?;
    Some((name.to_ascii_lowercase(), query))
}

/// A FETCH, if `sql` is one.
pub fn fetch(sql: &str) -> Result<Option<Fetch>> {
    let lower = sql.trim().trim_end_matches(';').to_ascii_lowercase();
    let (head, options) = match lower.find(" with ") {
        Some(at) => (&lower[..at], Some(lower[at + 6..].trim())),
        None => (lower.as_str(), None),
    };
    let mut w: Vec<&str> = head.split_whitespace().collect();
    if w.first() != Some(&"fetch") {
        return Ok(None);
    }
    w.remove(0);
    if w.first() == Some(&"forward") {
        w.remove(0);
    }
    let count = match w.first() {
        Some(&"all") => {
            w.remove(0);
            None
        }
        Some(n) if n.parse::<u64>().is_ok() => Some(w.remove(0).parse().expect("checked")),
        _ => Some(1),
    };
    if matches!(w.first(), Some(&"from") | Some(&"in")) {
        w.remove(0);
    }
    let [cursor] = w.as_slice() else {
        return Err(Error::syntax(
            "FETCH [ALL | n] [FROM] cursor [WITH (timeout = '1s')]",
        ));
    };
    let timeout = match options {
        None => None,
        Some(options) => {
            let value = options
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split_once('=')
                .filter(|(k, _)| k.trim() == "timeout")
                .map(|(_, v)| v.trim().trim_matches('\'').to_string())
                .ok_or_else(|| Error::unsupported(format!("FETCH option {options}")))?;
            Some(duration(&value)?)
        }
    };
    Ok(Some(Fetch {
        cursor: cursor.trim_matches('"').to_string(),
        count,
        timeout,
    }))
}

/// `1s`, `500ms`, `2 min`, `0`.
fn duration(text: &str) -> Result<std::time::Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let n: f64 = number.parse().map_err(|_| {
        Error::new(
            SqlState::InvalidParameterValue,
            format!("invalid timeout \"{text}\""),
        )
    })?;
    let seconds = match unit {
        "" | "s" | "sec" | "second" | "seconds" => n,
        "ms" | "millisecond" | "milliseconds" => n / 1000.0,
        "min" | "minute" | "minutes" => n * 60.0,
        _ => {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!("invalid timeout \"{text}\""),
            ));
        }
    };
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod cursor_tests {
    use super::*;

    #[test]
    fn declare_and_fetch_forms() {
        assert_eq!(
            declare("DECLARE c CURSOR FOR SUBSCRIBE (SELECT * FROM t)"),
            Some(("c".into(), "SELECT * FROM t".into()))
        );
        assert_eq!(declare("DECLARE c CURSOR FOR SELECT 1"), None);
        assert_eq!(
            fetch("FETCH ALL c WITH (timeout = '1s')").unwrap(),
            Some(Fetch {
                cursor: "c".into(),
                count: None,
                timeout: Some(std::time::Duration::from_secs(1))
            })
        );
        assert_eq!(fetch("fetch 10 from c").unwrap().unwrap().count, Some(10));
        assert_eq!(fetch("SELECT 1").unwrap(), None);
        assert!(fetch("FETCH ALL c WITH (timeout = 'soon')").is_err());
    }
}
