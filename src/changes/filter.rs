//! Row predicates, evaluated on changed rows as JSON: which changes a table
//! feed's subscriber sees. A predicate comes from a JSON filter
//! (`{"status": "pending", "total": {"gt": 100}}`) or from a SQL `WHERE` with
//! `$n` parameters and `auth.<claim>` references (access rules), and is
//! evaluated with SQL's three-valued logic: a comparison with NULL is unknown,
//! and only rows where the predicate is true are seen.
//!
//! A change is seen through a predicate as the subscriber's view of the table
//! changes ([`Predicate::view`]): an update that moves a row into the filter is
//! an `insert`, one that moves it out a `delete`, and a row that is not visible
//! before or after is never announced, not even its key.

use std::cmp::Ordering;

use serde_json::Value as Json;
use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::{Change, Op};
use crate::auth::jwt::Identity;
use crate::catalog::Table;
use crate::error::{Error, Result, SqlState};
use crate::types::numeric;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            CmpOp::Eq => ordering == Ordering::Equal,
            CmpOp::Ne => ordering != Ordering::Equal,
            CmpOp::Lt => ordering == Ordering::Less,
            CmpOp::Le => ordering != Ordering::Greater,
            CmpOp::Gt => ordering == Ordering::Greater,
            CmpOp::Ge => ordering != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    True,
    And(Vec<Predicate>),
    Or(Vec<Predicate>),
    Not(Box<Predicate>),
    Compare {
        column: String,
        op: CmpOp,
        value: Json,
    },
    In {
        column: String,
        values: Vec<Json>,
    },
    IsNull(String),
    Like {
        column: String,
        pattern: String,
        case_insensitive: bool,
    },
}

/// What a `$n` or `auth.x` reference in a SQL predicate stands for.
pub enum Reference<'a> {
    Param(usize),
    Claim(&'a [String]),
}

fn bad_filter(message: impl Into<String>) -> Error {
    Error::new(SqlState::InvalidParameterValue, message)
}

impl Predicate {
    /// `{"col": value}` is equality; `{"col": {"gt": 1, "lte": 5}}` applies each
    /// operator (`eq neq gt gte lt lte in like ilike is`); all must hold.
    pub fn from_json(filter: &Json) -> Result<Predicate> {
        let Json::Object(fields) = filter else {
            return Err(bad_filter("a filter is a JSON object of column conditions"));
        };
        let mut all = Vec::new();
        for (column, condition) in fields {
            let column = column.clone();
            let Json::Object(ops) = condition else {
                all.push(Self::equals(column, condition.clone()));
                continue;
            };
            for (op, value) in ops {
                all.push(Self::operator(&column, op, value)?);
            }
        }
        Ok(Predicate::And(all))
    }

    fn equals(column: String, value: Json) -> Predicate {
        match value {
            Json::Null => Predicate::IsNull(column),
            value => Predicate::Compare {
                column,
                op: CmpOp::Eq,
                value,
            },
        }
    }

    fn operator(column: &str, op: &str, value: &Json) -> Result<Predicate> {
        let compare = |op| {
            Ok(Predicate::Compare {
                column: column.to_string(),
                op,
                value: value.clone(),
            })
        };
        let like = |case_insensitive| match value {
            Json::String(pattern) => Ok(Predicate::Like {
                column: column.to_string(),
                pattern: pattern.clone(),
                case_insensitive,
            }),
            _ => Err(bad_filter(format!(
                "{op} on \"{column}\" takes a string pattern"
            ))),
        };
        match op {
            "eq" => Ok(Self::equals(column.to_string(), value.clone())),
            "neq" => compare(CmpOp::Ne),
            "gt" => compare(CmpOp::Gt),
            "gte" => compare(CmpOp::Ge),
            "lt" => compare(CmpOp::Lt),
            "lte" => compare(CmpOp::Le),
            "like" => like(false),
            "ilike" => like(true),
            "in" => match value {
                Json::Array(values) => Ok(Predicate::In {
                    column: column.to_string(),
                    values: values.clone(),
                }),
                _ => Err(bad_filter(format!("in on \"{column}\" takes an array"))),
            },
            "is" => match value {
                Json::Null => Ok(Predicate::IsNull(column.to_string())),
                _ => Err(bad_filter(format!("is on \"{column}\" takes null"))),
            },
            other => Err(bad_filter(format!("unknown filter operator \"{other}\""))),
        }
    }

    /// Parses a SQL boolean expression over one table's columns:
    /// `= <> < <= > >= IN, IS [NOT] NULL, [NOT] LIKE/ILIKE, AND, OR, NOT`,
    /// with constants, `$n` parameters and `auth.<claim>` references, which
    /// `resolve` turns into values.
    pub fn from_sql(
        sql: &str,
        resolve: &dyn Fn(Reference<'_>) -> Result<Json>,
    ) -> Result<Predicate> {
        let expr = Parser::new(&PostgreSqlDialect {})
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| Error::syntax(format!("invalid filter: {e}")))?;
        SqlPredicate { resolve }.predicate(&expr)
    }

    /// The predicate of a feed on `table` (WebSocket or SSE): `pk` (one row), `filter`
    /// (JSON) and `where_sql` (with `params`), all AND-ed, plus the role's row
    /// filter (with its claims already bound); its columns must exist.
    pub fn table_feed(
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

    /// A role's row filter (`owner_id = auth.sub`) with the caller's claims
    /// bound.
    pub fn row_filter(sql: &str, who: &Identity) -> Result<Predicate> {
        Predicate::from_sql(sql, &|r| match r {
            Reference::Claim(path) => Ok(who.claim(path)),
            Reference::Param(n) => Err(Error::internal(format!("${n} in a rule filter"))),
        })
    }

    /// Three-valued evaluation on a row (a JSON object): `None` is unknown.
    pub fn eval(&self, row: &Json) -> Option<bool> {
        let get = |column: &str| row.get(column).unwrap_or(&Json::Null);
        match self {
            Predicate::True => Some(true),
            Predicate::And(all) => all
                .iter()
                .try_fold(Some(true), |acc, p| match p.eval(row) {
                    Some(false) => Err(()),
                    None => Ok(None),
                    Some(true) => Ok(acc),
                })
                .unwrap_or(Some(false)),
            Predicate::Or(any) => any
                .iter()
                .try_fold(Some(false), |acc, p| match p.eval(row) {
                    Some(true) => Err(()),
                    None => Ok(None),
                    Some(false) => Ok(acc),
                })
                .unwrap_or(Some(true)),
            Predicate::Not(p) => p.eval(row).map(|b| !b),
            Predicate::Compare { column, op, value } => {
                compare(get(column), value).map(|o| op.holds(o))
            }
            Predicate::In { column, values } => {
                let cell = get(column);
                if cell.is_null() {
                    return None;
                }
                let mut unknown = false;
                for v in values {
                    match compare(cell, v) {
                        Some(Ordering::Equal) => return Some(true),
                        None => unknown = true,
                        _ => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Predicate::IsNull(column) => Some(get(column).is_null()),
            Predicate::Like {
                column,
                pattern,
                case_insensitive,
            } => {
                let text = match get(column) {
                    Json::Null => return None,
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Some(if *case_insensitive {
                    like(&text.to_lowercase(), &pattern.to_lowercase())
                } else {
                    like(&text, pattern)
                })
            }
        }
    }

    pub fn matches(&self, row: &Json) -> bool {
        self.eval(row) == Some(true)
    }

    /// The columns the predicate reads (to check them against the table).
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Predicate::True => Vec::new(),
            Predicate::And(ps) | Predicate::Or(ps) => ps.iter().flat_map(|p| p.columns()).collect(),
            Predicate::Not(p) => p.columns(),
            Predicate::Compare { column, .. }
            | Predicate::In { column, .. }
            | Predicate::IsNull(column)
            | Predicate::Like { column, .. } => vec![column.as_str()],
        }
    }

    /// The change as seen by someone who sees only rows matching `self`; `None`
    /// when neither the old nor the new row is visible.
    pub fn view<'c>(&self, change: &'c Change) -> Option<Seen<'c>> {
        let before = change.old.as_ref().is_some_and(|r| self.matches(r));
        let after = change.row.as_ref().is_some_and(|r| self.matches(r));
        let op = match (before, after) {
            (false, false) => return None,
            (false, true) => Op::Insert,
            (true, true) => change.op,
            (true, false) => Op::Delete,
        };
        Some(Seen {
            op,
            row: change.row.as_ref().filter(|_| after),
            old: change.old.as_ref().filter(|_| before),
        })
    }
}

/// A change as one subscriber sees it (see [`Predicate::view`]): its rows are
/// the change's own, borrowed, because a change fans out to many subscribers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen<'c> {
    pub op: Op,
    pub row: Option<&'c Json>,
    pub old: Option<&'c Json>,
}

impl Seen<'_> {
    /// Whether the subscriber sees the change as it is (the common case), so
    /// one encoding of it serves every such subscriber.
    pub fn is_whole(&self, change: &Change) -> bool {
        self.op == change.op
            && self.row.is_some() == change.row.is_some()
            && self.old.is_some() == change.old.is_some()
    }
}

/// SQL order between two JSON values; `None` when either is NULL or they
/// cannot be compared. Numbers compare exactly (as decimals); a string
/// compared with a number is read as a number, as Postgres reads a literal.
fn compare(a: &Json, b: &Json) -> Option<Ordering> {
    match (a, b) {
        (Json::Null, _) | (_, Json::Null) => None,
        (Json::Number(_), Json::Number(_) | Json::String(_))
        | (Json::String(_), Json::Number(_)) => {
            let x = numeric::parse(&scalar_text(a)).ok()?;
            let y = numeric::parse(&scalar_text(b)).ok()?;
            Some(x.cmp(&y))
        }
        (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
        (Json::Bool(x), Json::Bool(y)) => Some(x.cmp(y)),
        (Json::Bool(x), Json::String(s)) | (Json::String(s), Json::Bool(x)) => {
            let y = crate::types::input::parse_bool(s).ok()?;
            Some(if matches!(a, Json::Bool(_)) {
                x.cmp(&y)
            } else {
                y.cmp(x)
            })
        }
        (x, y) => (x == y).then_some(Ordering::Equal),
    }
}

fn scalar_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// SQL LIKE: `%` any run, `_` one character, `\` escapes.
fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    fn go(t: &[char], p: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&t[i..], &p[1..])),
            Some('_') => !t.is_empty() && go(&t[1..], &p[1..]),
            Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && go(&t[1..], &p[2..]),
            Some(c) => t.first() == Some(c) && go(&t[1..], &p[1..]),
        }
    }
    go(&text, &pattern)
}

struct SqlPredicate<'r> {
    resolve: &'r dyn Fn(Reference<'_>) -> Result<Json>,
}

impl SqlPredicate<'_> {
    fn predicate(&self, expr: &Expr) -> Result<Predicate> {
        Ok(match expr {
            Expr::Nested(e) => self.predicate(e)?,
            Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::And => {
                    Predicate::And(vec![self.predicate(left)?, self.predicate(right)?])
                }
                BinaryOperator::Or => {
                    Predicate::Or(vec![self.predicate(left)?, self.predicate(right)?])
                }
                _ => self.comparison(left, op, right)?,
            },
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => Predicate::Not(Box::new(self.predicate(expr)?)),
            Expr::IsNull(e) => Predicate::IsNull(self.column(e)?),
            Expr::IsNotNull(e) => Predicate::Not(Box::new(Predicate::IsNull(self.column(e)?))),
            Expr::InList {
                expr,
                list,
                negated,
            } => negate(
                *negated,
                Predicate::In {
                    column: self.column(expr)?,
                    values: list.iter().map(|v| self.value(v)).collect::<Result<_>>()?,
                },
            ),
            Expr::Like {
                negated,
                expr,
                pattern,
                ..
            } => negate(*negated, self.like(expr, pattern, false)?),
            Expr::ILike {
                negated,
                expr,
                pattern,
                ..
            } => negate(*negated, self.like(expr, pattern, true)?),
            other => return Err(Error::unsupported(format!("{other} in a filter"))),
        })
    }

    fn comparison(&self, left: &Expr, op: &BinaryOperator, right: &Expr) -> Result<Predicate> {
        let op = match op {
            BinaryOperator::Eq => CmpOp::Eq,
            BinaryOperator::NotEq => CmpOp::Ne,
            BinaryOperator::Lt => CmpOp::Lt,
            BinaryOperator::LtEq => CmpOp::Le,
            BinaryOperator::Gt => CmpOp::Gt,
            BinaryOperator::GtEq => CmpOp::Ge,
            other => return Err(Error::unsupported(format!("operator {other} in a filter"))),
        };
        // `column op value`, or `value op column` with the operator mirrored.
        let (column, value, op) = match (self.column(left), self.column(right)) {
            (Ok(c), _) => (c, self.value(right)?, op),
            (_, Ok(c)) => (c, self.value(left)?, mirror(op)),
            (Err(e), _) => return Err(e),
        };
        // (`= NULL` stays a comparison: never true, as in SQL.)
        Ok(Predicate::Compare { column, op, value })
    }

    fn like(&self, expr: &Expr, pattern: &Expr, case_insensitive: bool) -> Result<Predicate> {
        Ok(Predicate::Like {
            column: self.column(expr)?,
            pattern: scalar_text(&self.value(pattern)?),
            case_insensitive,
        })
    }

    fn column(&self, expr: &Expr) -> Result<String> {
        match expr {
            Expr::Identifier(ident) => Ok(crate::translate::ident_text(ident)),
            Expr::Nested(e) => self.column(e),
            other => Err(Error::unsupported(format!(
                "{other} where a filter expects a column"
            ))),
        }
    }

    fn value(&self, expr: &Expr) -> Result<Json> {
        match expr {
            Expr::Value(v) => {
                match &v.value {
                    Value::Number(n, _) => Ok(serde_json::from_str(n)
                        .map_err(|_| bad_filter(format!("bad number {n}")))?),
                    Value::SingleQuotedString(s) => Ok(Json::String(s.clone())),
                    Value::Boolean(b) => Ok(Json::Bool(*b)),
                    Value::Null => Ok(Json::Null),
                    Value::Placeholder(p) => {
                        let n: usize = p
                            .trim_start_matches('$')
                            .parse()
                            .map_err(|_| bad_filter(format!("bad parameter {p}")))?;
                        (self.resolve)(Reference::Param(n))
                    }
                    other => Err(Error::unsupported(format!("{other} in a filter"))),
                }
            }
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => {
                match self.value(expr)? {
                    Json::Number(n) => Ok(serde_json::from_str(&format!("-{n}"))
                        .map_err(|_| bad_filter("bad number"))?),
                    _ => Err(bad_filter("minus applies to numbers")),
                }
            }
            Expr::CompoundIdentifier(parts)
                if parts.len() >= 2 && parts[0].value.eq_ignore_ascii_case("auth") =>
            {
                let path: Vec<String> = parts[1..].iter().map(|p| p.value.clone()).collect();
                (self.resolve)(Reference::Claim(&path))
            }
            Expr::Nested(e) => self.value(e),
            other => Err(Error::unsupported(format!("{other} as a filter value"))),
        }
    }
}

fn negate(negated: bool, p: Predicate) -> Predicate {
    if negated {
        Predicate::Not(Box::new(p))
    } else {
        p
    }
}

fn mirror(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_refs(r: Reference<'_>) -> Result<Json> {
        match r {
            Reference::Param(1) => Ok(json!("pending")),
            Reference::Param(2) => Ok(json!(100)),
            Reference::Claim(path) if path == ["sub"] => Ok(json!("u1")),
            _ => Err(bad_filter("unbound")),
        }
    }

    #[test]
    fn json_and_sql_filters_agree() {
        let from_json =
            Predicate::from_json(&json!({"status": "pending", "total": {"gt": 100}})).unwrap();
        let from_sql = Predicate::from_sql("status = $1 AND 100 < total", &no_refs).unwrap();
        for (row, expected) in [
            (json!({"status": "pending", "total": 150.25}), true),
            (json!({"status": "pending", "total": 100}), false),
            (json!({"status": "shipped", "total": 500}), false),
            (json!({"status": "pending", "total": null}), false),
        ] {
            assert_eq!(from_json.matches(&row), expected, "{row}");
            assert_eq!(from_sql.matches(&row), expected, "{row}");
        }
    }

    #[test]
    fn three_valued_logic_like_in_and_claims() {
        let p = Predicate::from_sql(
            "NOT (owner = auth.sub) OR name ILIKE 'a%' OR id IN (1, 2) OR note IS NULL",
            &no_refs,
        )
        .unwrap();
        assert!(p.matches(&json!({"owner": "u2", "name": "z", "id": 9, "note": "x"})));
        assert!(p.matches(&json!({"owner": "u1", "name": "Ann", "id": 9, "note": "x"})));
        assert!(p.matches(&json!({"owner": "u1", "name": "z", "id": 2, "note": "x"})));
        assert!(!p.matches(&json!({"owner": "u1", "name": "z", "id": 3, "note": "x"})));
        // owner NULL: NOT unknown is unknown, and nothing else holds.
        assert_eq!(
            p.eval(&json!({"owner": null, "name": "z", "id": 3, "note": "x"})),
            None
        );
        assert!(Predicate::from_sql("a = 1 +", &no_refs).is_err());
        assert_eq!(
            Predicate::from_sql("lower(a) = 'x'", &no_refs)
                .unwrap_err()
                .code(),
            SqlState::FeatureNotSupported
        );
    }

    #[test]
    fn an_update_leaving_the_filter_is_a_delete() {
        let p = Predicate::from_json(&json!({"status": "pending"})).unwrap();
        let change = |old: Json, row: Json| Change {
            lsn: 1,
            txid: 1,
            table: "t".into(),
            op: Op::Update,
            pk: json!({"id": 1}),
            row: Some(row),
            old: Some(old),
            committed_at: String::new(),
        };
        let leaving = change(json!({"status": "pending"}), json!({"status": "shipped"}));
        let seen = p.view(&leaving).unwrap();
        assert_eq!((seen.op, seen.row), (Op::Delete, None));
        assert_eq!(seen.old, leaving.old.as_ref());
        let entering = change(json!({"status": "new"}), json!({"status": "pending"}));
        let seen = p.view(&entering).unwrap();
        assert_eq!((seen.op, seen.old), (Op::Insert, None));
        assert!(!seen.is_whole(&entering));
        let staying = change(json!({"status": "pending"}), json!({"status": "pending"}));
        assert!(p.view(&staying).unwrap().is_whole(&staying));
        assert!(
            p.view(&change(json!({"status": "a"}), json!({"status": "b"})))
                .is_none()
        );
    }
}
