//! The PL/pgSQL subset of trigger functions: a parser from the function's
//! source text (the `$$ ... $$` body) to a small statement tree, refusing
//! everything outside the subset with 0A000 naming the construct.
//!
//! Supported: `BEGIN ... END` (nested blocks too), `IF / ELSIF / ELSE / END IF`,
//! `PERFORM <expr>`, `RETURN NEW | OLD | NULL`, `NEW.col := expr` (written into
//! the row by the compiler: see `triggers`), `INSERT` / `UPDATE` / `DELETE`
//! statements, and `NULL;`. Expressions are Postgres SQL parsed by sqlparser.
//! Reference: <https://www.postgresql.org/docs/current/plpgsql-statements.html>.

use sqlparser::ast::{Expr, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::error::{Error, Result};

/// One statement of a trigger function body.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `IF c1 THEN .. ELSIF c2 THEN .. ELSE .. END IF`: the (condition, body)
    /// pairs in order, then the ELSE body (empty without ELSE).
    If {
        branches: Vec<(Expr, Vec<Stmt>)>,
        otherwise: Vec<Stmt>,
    },
    Perform(Expr),
    Return(Returned),
    /// `NEW.col := expr` (or `=`).
    Assign {
        column: String,
        value: Expr,
    },
    /// INSERT / UPDATE / DELETE on a table.
    Sql(Box<Statement>),
}

/// What `RETURN` hands back to the row operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    New,
    Old,
    Null,
}

/// Parses and validates a function body.
pub fn parse(source: &str) -> Result<Vec<Stmt>> {
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect).try_with_sql(source).map_err(syntax)?;
    if parser.peek_keyword(Keyword::DECLARE) {
        return Err(Error::unsupported("DECLARE in a trigger function"));
    }
    if matches!(parser.peek_token().token, Token::ShiftLeft) {
        return Err(Error::unsupported("block labels in a trigger function"));
    }
    parser.expect_keyword_is(Keyword::BEGIN).map_err(syntax)?;
    let body = block(&mut parser)?;
    let _ = parser.consume_token(&Token::SemiColon);
    match parser.peek_token().token {
        Token::EOF => Ok(body),
        other => Err(Error::syntax(format!(
            "syntax error at or near \"{other}\""
        ))),
    }
}

fn syntax(e: ParserError) -> Error {
    Error::syntax(super::parse_message(&e.to_string()))
}

/// The next token as an upper-case word (keyword or not), if it is one.
fn peek_word(parser: &Parser<'_>) -> Option<String> {
    match parser.peek_token().token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn expect_word(parser: &mut Parser<'_>, word: &str) -> Result<()> {
    if peek_word(parser).as_deref() == Some(word) {
        parser.next_token();
        Ok(())
    } else {
        let found = parser.peek_token().token;
        Err(Error::syntax(format!(
            "syntax error at or near \"{found}\""
        )))
    }
}

fn expect_semicolon(parser: &mut Parser<'_>) -> Result<()> {
    parser.expect_token(&Token::SemiColon).map_err(syntax)?;
    Ok(())
}

/// Statements up to the block's `END` (consumed).
fn block(parser: &mut Parser<'_>) -> Result<Vec<Stmt>> {
    let mut body = Vec::new();
    loop {
        match peek_word(parser).as_deref() {
            Some("END") => {
                parser.next_token();
                return Ok(body);
            }
            Some("EXCEPTION") => {
                return Err(Error::unsupported("EXCEPTION blocks in a trigger function"));
            }
            _ => body.extend(statement(parser)?),
        }
    }
}

/// Statements up to one of `stops` (not consumed).
fn until(parser: &mut Parser<'_>, stops: &[&str]) -> Result<Vec<Stmt>> {
    let mut body = Vec::new();
    while !peek_word(parser).is_some_and(|w| stops.contains(&w.as_str())) {
        if matches!(parser.peek_token().token, Token::EOF) {
            return Err(Error::syntax("syntax error at end of input"));
        }
        body.extend(statement(parser)?);
    }
    Ok(body)
}

/// One statement (a nested block yields its statements).
fn statement(parser: &mut Parser<'_>) -> Result<Vec<Stmt>> {
    let word = peek_word(parser);
    let stmt = match word.as_deref() {
        Some("BEGIN") => {
            parser.next_token();
            let inner = block(parser)?;
            expect_semicolon(parser)?;
            return Ok(inner);
        }
        Some("IF") => {
            parser.next_token();
            if_statement(parser)?
        }
        Some("PERFORM") => {
            parser.next_token();
            let expr = parser.parse_expr().map_err(syntax)?;
            if parser.peek_keyword(Keyword::FROM) {
                return Err(Error::unsupported("PERFORM ... FROM in a trigger function"));
            }
            Stmt::Perform(expr)
        }
        Some("RETURN") => {
            parser.next_token();
            if matches!(parser.peek_token().token, Token::SemiColon) {
                return Err(Error::syntax(
                    "missing expression: a trigger function returns NEW, OLD or NULL",
                ));
            }
            if let Some(w) = peek_word(parser).filter(|w| w == "QUERY" || w == "NEXT") {
                return Err(Error::unsupported(format!("RETURN {w}")));
            }
            let expr = parser.parse_expr().map_err(syntax)?;
            Stmt::Return(returned(&expr)?)
        }
        Some("NULL") => {
            parser.next_token();
            expect_semicolon(parser)?;
            return Ok(Vec::new());
        }
        Some("INSERT" | "UPDATE" | "DELETE") => {
            let statement = parser.parse_statement().map_err(syntax)?;
            dml_statement(&statement)?;
            Stmt::Sql(Box::new(statement))
        }
        Some("SELECT" | "WITH") => {
            return Err(Error::unsupported(
                "SELECT in a trigger function (use PERFORM)",
            ));
        }
        Some("NEW" | "OLD")
            if matches!(parser.peek_nth_token(1).token, Token::Period)
                && matches!(
                    parser.peek_nth_token(3).token,
                    Token::Assignment | Token::Eq
                ) =>
        {
            assignment(parser)?
        }
        Some(
            w @ ("DECLARE" | "LOOP" | "FOR" | "FOREACH" | "WHILE" | "EXIT" | "CONTINUE" | "RAISE"
            | "EXECUTE" | "CASE" | "GET" | "CALL" | "OPEN" | "FETCH" | "CLOSE" | "MOVE"
            | "ASSERT" | "COMMIT" | "ROLLBACK"),
        ) => {
            return Err(Error::unsupported(format!("{w} in a trigger function")));
        }
        _ => {
            if matches!(parser.peek_nth_token(1).token, Token::Assignment) {
                return Err(Error::unsupported(
                    "assignment to a variable in a trigger function (only NEW.column)",
                ));
            }
            let found = parser.peek_token().token;
            return Err(Error::unsupported(format!(
                "PL/pgSQL statement starting with \"{found}\" in a trigger function"
            )));
        }
    };
    expect_semicolon(parser)?;
    Ok(vec![stmt])
}

fn if_statement(parser: &mut Parser<'_>) -> Result<Stmt> {
    let mut branches = Vec::new();
    let mut otherwise = Vec::new();
    loop {
        let condition = parser.parse_expr().map_err(syntax)?;
        parser.expect_keyword_is(Keyword::THEN).map_err(syntax)?;
        let body = until(parser, &["ELSIF", "ELSEIF", "ELSE", "END"])?;
        branches.push((condition, body));
        match peek_word(parser).as_deref() {
            Some("ELSIF" | "ELSEIF") => {
                parser.next_token();
            }
            Some("ELSE") => {
                parser.next_token();
                otherwise = until(parser, &["END"])?;
                break;
            }
            _ => break,
        }
    }
    expect_word(parser, "END")?;
    expect_word(parser, "IF")?;
    Ok(Stmt::If {
        branches,
        otherwise,
    })
}

fn assignment(parser: &mut Parser<'_>) -> Result<Stmt> {
    let row = peek_word(parser).unwrap_or_default();
    parser.next_token();
    parser.next_token();
    let column = match parser.next_token().token {
        Token::Word(w) if w.quote_style.is_some() => w.value,
        Token::Word(w) => w.value.to_ascii_lowercase(),
        other => {
            return Err(Error::syntax(format!(
                "syntax error at or near \"{other}\""
            )));
        }
    };
    if row == "OLD" {
        return Err(Error::unsupported(
            "assignment to OLD in a trigger function",
        ));
    }
    parser.next_token();
    let value = parser.parse_expr().map_err(syntax)?;
    Ok(Stmt::Assign { column, value })
}

fn returned(expr: &Expr) -> Result<Returned> {
    match expr {
        Expr::Identifier(i) if i.quote_style.is_none() => {
            match i.value.to_ascii_uppercase().as_str() {
                "NEW" => Ok(Returned::New),
                "OLD" => Ok(Returned::Old),
                _ => Err(Error::unsupported(format!(
                    "RETURN {expr} in a trigger function (only NEW, OLD or NULL)"
                ))),
            }
        }
        Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::Null) => Ok(Returned::Null),
        Expr::Nested(inner) => returned(inner),
        other => Err(Error::unsupported(format!(
            "RETURN {other} in a trigger function (only NEW, OLD or NULL)"
        ))),
    }
}

/// The statement kinds a body may run, without what a trigger cannot do.
fn dml_statement(statement: &Statement) -> Result<()> {
    let returning = match statement {
        Statement::Insert(i) => i.returning.is_some(),
        Statement::Update(u) => u.returning.is_some(),
        Statement::Delete(d) => d.returning.is_some(),
        _ => unreachable!("only called for INSERT, UPDATE, DELETE"),
    };
    if returning {
        return Err(Error::unsupported("RETURNING in a trigger function"));
    }
    if let Statement::Insert(i) = statement
        && i.source.as_ref().is_some_and(|s| {
            !matches!(s.body.as_ref(), sqlparser::ast::SetExpr::Values(_)) || s.with.is_some()
        })
    {
        return Err(Error::unsupported(
            "INSERT ... SELECT in a trigger function (use VALUES)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SqlState;

    const BODY: &str = "
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('t', OLD.id::text);
    RETURN OLD;
  ELSEIF NEW.a <> OLD.a THEN
    PERFORM pg_notify('t', 'changed');
  ELSE
    NULL;
    PERFORM 1;
  END IF;
  DELETE FROM log WHERE id = NEW.id;
  RETURN NEW;
END ";

    #[test]
    fn parses_the_classic_body() {
        let body = parse(BODY).unwrap();
        assert_eq!(body.len(), 3);
        let Stmt::If {
            branches,
            otherwise,
        } = &body[0]
        else {
            panic!("{body:?}")
        };
        assert_eq!(branches.len(), 2);
        assert_eq!(branches[0].1[1], Stmt::Return(Returned::Old));
        assert!(matches!(otherwise[0], Stmt::Perform(_)));
        assert!(matches!(body[1], Stmt::Sql(_)));
        assert_eq!(body[2], Stmt::Return(Returned::New));
    }

    #[test]
    fn assignments_and_nesting() {
        let body = parse(
            "BEGIN NEW.updated_at := now(); BEGIN IF x THEN IF y THEN NULL; END IF; END IF; END; RETURN NEW; END;",
        )
        .unwrap();
        assert!(matches!(&body[0], Stmt::Assign { column, .. } if column == "updated_at"));
        assert!(matches!(body[1], Stmt::If { .. }));
        assert_eq!(body.len(), 3);
    }

    #[test]
    fn refuses_outside_the_subset_naming_it() {
        for (body, word) in [
            ("DECLARE x int; BEGIN RETURN NEW; END", "DECLARE"),
            ("BEGIN RAISE NOTICE 'x'; RETURN NEW; END", "RAISE"),
            ("BEGIN LOOP END LOOP; END", "LOOP"),
            ("BEGIN FOR r IN SELECT 1 LOOP END LOOP; END", "FOR"),
            ("BEGIN SELECT 1 INTO x; END", "SELECT"),
            ("BEGIN EXECUTE 'x'; END", "EXECUTE"),
            (
                "BEGIN RETURN NEW; EXCEPTION WHEN others THEN END",
                "EXCEPTION",
            ),
            ("BEGIN x := 1; END", "assignment"),
            ("BEGIN RETURN 1; END", "RETURN"),
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(err.code(), SqlState::FeatureNotSupported, "{body}");
            assert!(err.to_string().contains(word), "{body}: {err}");
        }
        let err = parse("BEGIN IF x THEN RETURN NEW; END").unwrap_err();
        assert_eq!(err.code(), SqlState::SyntaxError);
    }
}
