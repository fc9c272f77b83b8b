//! `CREATE SEQUENCE`, `ALTER SEQUENCE ... RESTART`, `DROP SEQUENCE`: a row of
//! `_lw_sequences` each, which `nextval`/`currval`/`setval`/`lastval`
//! (`lw_nextval`, ... in `store::sequences`) read and advance. Serial columns
//! are not these: they stay SQLite rowids, shown as sequences by the catalog.
//!
//! sqlparser reads CREATE SEQUENCE's options in one fixed order only and
//! ALTER SEQUENCE not at all, while Postgres takes the options in any order
//! (`pg_dump` writes `START WITH 1 INCREMENT BY 1 ...`), so both statements
//! are read here from sqlparser's tokens.
//!
//! `nextval` and `setval` write, so a statement calling them runs on the
//! writer ([`advances`]).

use std::sync::Arc;

use sqlparser::ast::{Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::ddl::{duplicate_relation, schema_plan, sql_string};
use super::{Plan, SqlPlan, object_name};
use crate::catalog::Catalog;
use crate::error::{Error, Result, SqlState};

/// Whether translated SQL moves a sequence (and so must run on the writer).
pub fn advances(sql: &str) -> bool {
    sql.contains("lw_nextval(") || sql.contains("lw_setval(")
}

/// `nextval('s'::regclass)`, as pg_dump and ORMs write a column default:
/// the sequence's name itself, which a SQLite DEFAULT can hold (the catalog
/// lookup a regclass cast becomes it cannot).
pub fn name_argument(f: &mut Function) {
    let name = object_name(&f.name);
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    if !matches!(name, "nextval" | "currval" | "setval") {
        return;
    }
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.first_mut()
        && let Expr::Cast {
            expr, data_type, ..
        } = arg
        && data_type.to_string().eq_ignore_ascii_case("regclass")
    {
        *arg = (**expr).clone();
    }
}

/// `CREATE [TEMP] SEQUENCE ...` or `ALTER SEQUENCE ...` as one statement;
/// `None` for any other statement.
pub fn plan(sql: &str, catalog: &Catalog) -> Result<Option<Plan>> {
    let Some(mut words) = Words::read(sql) else {
        return Ok(None);
    };
    let plan = if words.keywords(&["CREATE", "SEQUENCE"]) {
        create(&mut words, catalog)?
    } else if words.keywords(&["ALTER", "SEQUENCE"]) {
        return alter(&mut words, catalog);
    } else if words.keywords(&["CREATE", "TEMP", "SEQUENCE"])
        || words.keywords(&["CREATE", "TEMPORARY", "SEQUENCE"])
    {
        return Err(Error::unsupported("CREATE TEMPORARY SEQUENCE"));
    } else {
        return Ok(None);
    };
    Ok(Some(Plan::Sql(Arc::new(plan))))
}

/// A sequence's definition, with Postgres's defaults filled in.
struct Definition {
    type_name: &'static str,
    start: i64,
    increment: i64,
    min: i64,
    max: i64,
    cache: i64,
    cycle: bool,
}

/// The options as written; `Some(None)` is `NO MINVALUE` / `NO MAXVALUE`,
/// and a `RESTART` without a value restarts at the START value.
#[derive(Default)]
struct Options {
    type_name: Option<&'static str>,
    increment: Option<i64>,
    min: Option<Option<i64>>,
    max: Option<Option<i64>>,
    start: Option<i64>,
    restart: Option<Option<i64>>,
    cache: Option<i64>,
    cycle: Option<bool>,
}

fn create(words: &mut Words, catalog: &Catalog) -> Result<SqlPlan> {
    let if_not_exists = words.keywords(&["IF", "NOT", "EXISTS"]);
    let name = words.name()?;
    let options = words.options()?;
    if options.restart.is_some() {
        return Err(words.unexpected());
    }
    if catalog.is_sequence(&name) || catalog.table(&name).is_some() {
        if if_not_exists {
            return Ok(schema_plan(
                "SELECT 1 WHERE 0".into(),
                Vec::new(),
                "CREATE SEQUENCE",
            ));
        }
        return Err(duplicate_relation(&name));
    }
    let d = definition(options)?;
    let insert = format!(
        "INSERT INTO _lw_sequences (name, type, start, increment, minvalue, maxvalue, cache, \
         cycle, last_value, is_called) VALUES ({}, '{}', {}, {}, {}, {}, {}, {}, {}, 0)",
        sql_string(&name),
        d.type_name,
        d.start,
        d.increment,
        d.min,
        d.max,
        d.cache,
        d.cycle as u8,
        d.start
    );
    // Forgets what a dropped sequence of the same name had reached.
    let reset = format!("SELECT lw_setval({}, {}, 0)", sql_string(&name), d.start);
    Ok(schema_plan(insert, vec![reset], "CREATE SEQUENCE"))
}

fn definition(options: Options) -> Result<Definition> {
    let type_name = options.type_name.unwrap_or("bigint");
    let type_max = match type_name {
        "smallint" => i16::MAX as i64,
        "integer" => i32::MAX as i64,
        _ => i64::MAX,
    };
    let invalid = |message: String| Error::new(SqlState::InvalidParameterValue, message);
    let increment = options.increment.unwrap_or(1);
    if increment == 0 {
        return Err(invalid("INCREMENT must not be zero".into()));
    }
    let type_min = -type_max - 1;
    let min = options
        .min
        .flatten()
        .unwrap_or(if increment > 0 { 1 } else { type_min });
    let max = options
        .max
        .flatten()
        .unwrap_or(if increment > 0 { type_max } else { -1 });
    let start = options
        .start
        .unwrap_or(if increment > 0 { min } else { max });
    if min >= max {
        return Err(invalid(format!(
            "MINVALUE ({min}) must be less than MAXVALUE ({max})"
        )));
    }
    if start < min {
        return Err(invalid(format!(
            "START value ({start}) cannot be less than MINVALUE ({min})"
        )));
    }
    if start > max {
        return Err(invalid(format!(
            "START value ({start}) cannot be greater than MAXVALUE ({max})"
        )));
    }
    Ok(Definition {
        type_name,
        start,
        increment,
        min,
        max,
        // Values are handed out one at a time; CACHE is only reported.
        cache: options.cache.unwrap_or(1),
        cycle: options.cycle.unwrap_or(false),
    })
}

/// `DROP SEQUENCE a, b` of sequences known to exist.
pub fn drop(names: &[String]) -> SqlPlan {
    let list: Vec<String> = names.iter().map(|n| sql_string(n)).collect();
    schema_plan(
        format!(
            "DELETE FROM _lw_sequences WHERE name IN ({})",
            list.join(", ")
        ),
        Vec::new(),
        "DROP SEQUENCE",
    )
}

/// `ALTER SEQUENCE [IF EXISTS] s RESTART [[WITH] n]`; other changes to a
/// sequence are refused (0A000).
fn alter(words: &mut Words, catalog: &Catalog) -> Result<Option<Plan>> {
    let if_exists = words.keywords(&["IF", "EXISTS"]);
    let name = words.name()?;
    let options = words.options()?;
    let Options {
        restart: Some(restart),
        type_name: None,
        increment: None,
        min: None,
        max: None,
        start: None,
        cache: None,
        cycle: None,
    } = options
    else {
        return Err(Error::unsupported("ALTER SEQUENCE other than RESTART"));
    };
    if !catalog.is_sequence(&name) {
        let missing = format!("relation \"{name}\" does not exist");
        if if_exists {
            return Ok(Some(Plan::skipped(
                "ALTER SEQUENCE",
                vec![super::skipping(&missing)],
            )));
        }
        return Err(Error::new(SqlState::UndefinedTable, missing));
    }
    let value = restart.map_or_else(
        || {
            format!(
                "(SELECT start FROM _lw_sequences WHERE name = {})",
                sql_string(&name)
            )
        },
        |n| n.to_string(),
    );
    let restart = format!("SELECT lw_setval({}, {value}, 0)", sql_string(&name));
    Ok(Some(Plan::Sql(Arc::new(schema_plan(
        restart,
        Vec::new(),
        "ALTER SEQUENCE",
    )))))
}

/// A statement's tokens without white space, for reading by keyword.
struct Words {
    tokens: Vec<Token>,
    at: usize,
}

impl Words {
    /// The tokens of `sql` when it is a single statement.
    fn read(sql: &str) -> Option<Words> {
        let mut tokens: Vec<Token> = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize()
            .ok()?
            .into_iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
            .collect();
        while tokens.last() == Some(&Token::SemiColon) {
            tokens.pop();
        }
        (!tokens.contains(&Token::SemiColon)).then_some(Words { tokens, at: 0 })
    }

    fn peek_keyword(&self, offset: usize, keyword: &str) -> bool {
        matches!(self.tokens.get(self.at + offset),
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(keyword))
    }

    /// Consumes `keywords` if they come next, all of them.
    fn keywords(&mut self, keywords: &[&str]) -> bool {
        let all = keywords
            .iter()
            .enumerate()
            .all(|(i, k)| self.peek_keyword(i, k));
        if all {
            self.at += keywords.len();
        }
        all
    }

    fn unexpected(&self) -> Error {
        match self.tokens.get(self.at) {
            Some(token) => Error::syntax(format!("syntax error at or near \"{token}\"")),
            None => Error::syntax("syntax error at end of input"),
        }
    }

    /// A relation name, `public.`-qualified or not.
    fn name(&mut self) -> Result<String> {
        let mut parts = Vec::new();
        loop {
            let Some(Token::Word(w)) = self.tokens.get(self.at) else {
                return Err(self.unexpected());
            };
            parts.push(super::ident_text(
                &w.clone().into_ident(sqlparser::tokenizer::Span::empty()),
            ));
            self.at += 1;
            if self.tokens.get(self.at) != Some(&Token::Period) {
                break;
            }
            self.at += 1;
        }
        if parts.len() == 2 && parts[0] == "public" {
            parts.remove(0);
        }
        match parts.as_slice() {
            [name] => Ok(name.clone()),
            _ => Err(Error::unsupported("schema-qualified sequence names")),
        }
    }

    /// A signed integer.
    fn number(&mut self) -> Result<i64> {
        let negative = self.tokens.get(self.at) == Some(&Token::Minus);
        let at = self.at + negative as usize;
        let Some(Token::Number(digits, _)) = self.tokens.get(at) else {
            return Err(self.unexpected());
        };
        let value: i64 = digits.parse().map_err(|_| self.unexpected())?;
        self.at = at + 1;
        Ok(if negative { -value } else { value })
    }

    fn number_if_any(&mut self) -> Result<Option<i64>> {
        match self.tokens.get(self.at) {
            Some(Token::Number(..) | Token::Minus) => self.number().map(Some),
            _ => Ok(None),
        }
    }

    /// The options, in any order, up to the end of the statement.
    fn options(&mut self) -> Result<Options> {
        let mut o = Options::default();
        while self.at < self.tokens.len() {
            if self.keywords(&["AS"]) {
                o.type_name = Some(self.type_name()?);
            } else if self.keywords(&["INCREMENT"]) {
                self.keywords(&["BY"]);
                o.increment = Some(self.number()?);
            } else if self.keywords(&["MINVALUE"]) {
                o.min = Some(Some(self.number()?));
            } else if self.keywords(&["NO", "MINVALUE"]) {
                o.min = Some(None);
            } else if self.keywords(&["MAXVALUE"]) {
                o.max = Some(Some(self.number()?));
            } else if self.keywords(&["NO", "MAXVALUE"]) {
                o.max = Some(None);
            } else if self.keywords(&["START"]) {
                self.keywords(&["WITH"]);
                o.start = Some(self.number()?);
            } else if self.keywords(&["RESTART"]) {
                self.keywords(&["WITH"]);
                o.restart = Some(self.number_if_any()?);
            } else if self.keywords(&["CACHE"]) {
                o.cache = Some(self.number()?);
            } else if self.keywords(&["CYCLE"]) {
                o.cycle = Some(true);
            } else if self.keywords(&["NO", "CYCLE"]) {
                o.cycle = Some(false);
            } else if self.keywords(&["OWNED", "BY"]) {
                // Ownership only ties the sequence's life to a column's.
                self.name()?;
                if self.tokens.get(self.at) == Some(&Token::Period) {
                    self.at += 1;
                    self.name()?;
                }
            } else {
                return Err(self.unexpected());
            }
        }
        Ok(o)
    }

    fn type_name(&mut self) -> Result<&'static str> {
        for (names, canonical) in [
            (&["SMALLINT", "INT2"][..], "smallint"),
            (&["INTEGER", "INT", "INT4"][..], "integer"),
            (&["BIGINT", "INT8"][..], "bigint"),
        ] {
            if names.iter().any(|n| self.keywords(&[n])) {
                return Ok(canonical);
            }
        }
        Err(Error::new(
            SqlState::InvalidParameterValue,
            "sequence type must be smallint, integer, or bigint",
        ))
    }
}
