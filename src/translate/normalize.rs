//! Literal parameterization of simple-protocol queries. Drivers such as psycopg2
//! and tools such as pgbench send every statement with its values inlined
//! (`... WHERE aid = 48213`), so a cache keyed by the query text never hits and
//! every statement pays parsing, translation and a SQLite prepare. Replacing the
//! literals by parameters (`... WHERE aid = $1`) gives one translation and one
//! prepared statement per query *shape*; the literals are then bound like
//! extended-protocol text parameters, through the same typed input functions a
//! literal goes through.
//!
//! This is a conservative lexer, not a parser. It handles a single SELECT /
//! INSERT / UPDATE / DELETE / WITH statement without parameters or comments of
//! its own, and takes out only literals in value positions: a number stays where
//! it is syntax (`ORDER BY 1`, `varchar(20)`, `numeric(10,2)`), a string stays
//! after a type name (`DATE '2024-01-01'`) or with a prefix (`E'..'`, `X'..'`).
//! Leaving a literal in place is always correct, only slower.

use super::expr::number_type;
use crate::types::PgType;

/// A literal taken out of a query, in order of appearance (`$1`, `$2`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    pub text: String,
    /// `Unknown` for a string (its type comes from context, as in Postgres);
    /// int4 / int8 / numeric for a number, as Postgres types numeric constants.
    pub ty: PgType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The query with `$n` in place of each literal.
    pub sql: String,
    pub literals: Vec<Literal>,
}

impl Normalized {
    /// The plan cache key: the query shape plus the literal types, since `5`
    /// (int4) and `5000000000` (int8) type their parameter differently.
    pub fn cache_key(&self) -> String {
        let mut key = self.sql.clone();
        key.push('\0');
        for l in &self.literals {
            key.push_str(l.ty.typname());
            key.push(',');
        }
        key
    }
}

/// More literals than this (bulk INSERTs) are not worth a cached shape each.
const MAX_LITERALS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    Word(String),
    Str {
        raw: &'a str,
        prefixed: bool,
    },
    Number(&'a str),
    Punct(&'a str),
    Space(&'a str),
    /// A quoted identifier, copied verbatim.
    Quoted(&'a str),
}

fn tokenize(sql: &str) -> Option<Vec<Token<'_>>> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let token = match c {
            b'\'' => {
                i = string_end(bytes, i)?;
                let prefixed = start > 0
                    && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'&');
                Token::Str {
                    raw: &sql[start..i],
                    prefixed,
                }
            }
            b'"' => {
                i = start + 2 + sql[start + 1..].find('"')?;
                Token::Quoted(&sql[start..i])
            }
            b'$' => return None,
            b'-' if bytes.get(i + 1) == Some(&b'-') => return None,
            b'/' if bytes.get(i + 1) == Some(&b'*') => return None,
            b'0'..=b'9' => {
                i = number_end(bytes, i);
                Token::Number(&sql[start..i])
            }
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = number_end(bytes, i);
                Token::Number(&sql[start..i])
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                Token::Word(sql[start..i].to_ascii_lowercase())
            }
            c if c.is_ascii_whitespace() => {
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                Token::Space(&sql[start..i])
            }
            b':' if bytes.get(i + 1) == Some(&b':') => {
                i += 2;
                Token::Punct("::")
            }
            _ => {
                i += 1;
                Token::Punct(&sql[start..i])
            }
        };
        tokens.push(token);
    }
    Some(tokens)
}

/// Words after which a string is a value; after any other word (a type name:
/// `DATE '..'`, `interval '..'`) it is part of a typed constant and stays.
fn value_keyword(word: &str) -> bool {
    matches!(
        word,
        "select"
            | "where"
            | "and"
            | "or"
            | "not"
            | "values"
            | "set"
            | "then"
            | "else"
            | "when"
            | "in"
            | "like"
            | "ilike"
            | "is"
            | "limit"
            | "offset"
            | "returning"
            | "on"
            | "case"
            | "having"
            | "from"
            | "distinct"
            | "between"
            | "escape"
            | "any"
            | "all"
            | "some"
            | "exists"
    )
}

/// Clause keywords that end an ORDER BY / GROUP BY list.
fn ends_by_list(word: &str) -> bool {
    matches!(
        word,
        "limit"
            | "offset"
            | "having"
            | "window"
            | "for"
            | "union"
            | "intersect"
            | "except"
            | "fetch"
            | "returning"
    )
}

/// Returns the parameterized form of `sql`, or None when the query is not one
/// we parameterize or holds no literal worth taking out.
pub fn normalize(sql: &str) -> Option<Normalized> {
    let tokens = tokenize(sql)?;
    let first_word = tokens.iter().find_map(|t| match t {
        Token::Word(w) => Some(w.as_str()),
        Token::Space(_) => None,
        _ => Some(""),
    })?;
    if !matches!(
        first_word,
        "select" | "insert" | "update" | "delete" | "with"
    ) {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut literals = Vec::new();
    // The last two significant (non-space) tokens.
    let mut prev: Option<&Token> = None;
    let mut prev2: Option<&Token> = None;
    let mut depth = 0usize;
    // Paren depth of an open ORDER BY / GROUP BY list, where numbers are ordinals.
    let mut by_list: Option<usize> = None;
    // Paren depth of an open type modifier list (`numeric(10,2)`).
    let mut modifier: Option<usize> = None;
    // Paren depth of `DISTINCT ON (...)`, whose numbers are ordinals too.
    let mut distinct_on: Option<usize> = None;
    let mut statements = 0;
    let mut pos = 0;
    for token in &tokens {
        let start = pos;
        pos += token_len(token);
        let keep_number = by_list.is_some() || modifier.is_some() || distinct_on.is_some();
        match token {
            Token::Str { raw, prefixed } => {
                let typed = matches!(prev, Some(Token::Word(w)) if !value_keyword(w));
                if *prefixed || typed {
                    out.push_str(raw);
                } else {
                    let text = raw[1..raw.len() - 1].replace("''", "'");
                    literals.push(Literal {
                        text,
                        ty: PgType::Unknown,
                    });
                    push_param(&mut out, literals.len());
                }
            }
            Token::Number(text) if !keep_number => {
                literals.push(Literal {
                    text: text.to_string(),
                    ty: number_type(text),
                });
                push_param(&mut out, literals.len());
            }
            Token::Number(text) => out.push_str(text),
            Token::Word(w) => {
                if w == "by" && matches!(prev, Some(Token::Word(p)) if p == "order" || p == "group")
                {
                    by_list = Some(depth);
                } else if w == "on" && matches!(prev, Some(Token::Word(p)) if p == "distinct") {
                    distinct_on = Some(depth);
                } else if ends_by_list(w) && by_list == Some(depth) {
                    by_list = None;
                }
                // Matched lowercased, copied as written.
                out.push_str(&sql[start..pos]);
            }
            Token::Punct("(") => {
                // `::numeric(` or `AS varchar(`: a type modifier list follows.
                let type_word = matches!(prev, Some(Token::Word(_)))
                    && matches!(prev2, Some(Token::Punct("::")) | Some(Token::Word(_)) if is_type_intro(prev2));
                if type_word && modifier.is_none() {
                    modifier = Some(depth);
                }
                depth += 1;
                out.push('(');
            }
            Token::Punct(")") => {
                depth = depth.saturating_sub(1);
                if modifier == Some(depth) {
                    modifier = None;
                }
                if distinct_on == Some(depth) {
                    distinct_on = None;
                }
                if by_list.is_some_and(|d| d > depth) {
                    by_list = None;
                }
                out.push(')');
            }
            Token::Punct(";") => {
                statements += 1;
                out.push(';');
            }
            Token::Punct(p) => out.push_str(p),
            Token::Space(s) => out.push_str(s),
            Token::Quoted(q) => out.push_str(q),
        }
        if !matches!(token, Token::Space(_)) {
            if statements > 0 && !matches!(token, Token::Punct(";")) {
                return None; // a second statement
            }
            prev2 = prev;
            prev = Some(token);
        }
    }
    if literals.is_empty() || literals.len() > MAX_LITERALS {
        return None;
    }
    Some(Normalized { sql: out, literals })
}

fn is_type_intro(token: Option<&Token>) -> bool {
    match token {
        Some(Token::Punct("::")) => true,
        Some(Token::Word(w)) => w == "as",
        _ => false,
    }
}

fn token_len(token: &Token) -> usize {
    match token {
        Token::Word(w) => w.len(),
        Token::Str { raw, .. } => raw.len(),
        Token::Number(s) | Token::Punct(s) | Token::Space(s) | Token::Quoted(s) => s.len(),
    }
}

fn push_param(out: &mut String, n: usize) {
    out.push('$');
    out.push_str(itoa::Buffer::new().format(n));
}

fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut j = start + 1;
    while j < bytes.len() {
        if bytes[j] == b'\'' {
            if bytes.get(j + 1) == Some(&b'\'') {
                j += 2;
                continue;
            }
            return Some(j + 1);
        }
        j += 1;
    }
    None
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut j = start;
    while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
        j += 1;
    }
    if j < bytes.len() && (bytes[j] == b'e' || bytes[j] == b'E') {
        let mut k = j + 1;
        if k < bytes.len() && (bytes[k] == b'+' || bytes[k] == b'-') {
            k += 1;
        }
        if k < bytes.len() && bytes[k].is_ascii_digit() {
            j = k;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(sql: &str) -> Option<String> {
        normalize(sql).map(|n| n.sql)
    }

    #[test]
    fn values_become_parameters() {
        let n = normalize("SELECT abalance FROM pgbench_accounts WHERE aid = 48213;").unwrap();
        assert_eq!(
            n.sql,
            "SELECT abalance FROM pgbench_accounts WHERE aid = $1;"
        );
        assert_eq!(
            n.literals,
            vec![Literal {
                text: "48213".into(),
                ty: PgType::Int4
            }]
        );
        let n =
            normalize("UPDATE t SET name = 'it''s', total = 12.50 WHERE id = 5000000000").unwrap();
        assert_eq!(n.sql, "UPDATE t SET name = $1, total = $2 WHERE id = $3");
        assert_eq!(n.literals[0].text, "it's");
        assert_eq!(n.literals[1].ty, PgType::Numeric);
        assert_eq!(n.literals[2].ty, PgType::Int8);
    }

    #[test]
    fn syntax_numbers_and_typed_strings_stay() {
        assert_eq!(
            shape("SELECT DISTINCT ON (1) a, 3 FROM t ORDER BY 1").unwrap(),
            "SELECT DISTINCT ON (1) a, $1 FROM t ORDER BY 1"
        );
        assert_eq!(
            shape("SELECT a, b FROM t WHERE a > 1 GROUP BY 1, 2 ORDER BY 2 DESC, 1 LIMIT 5")
                .unwrap(),
            "SELECT a, b FROM t WHERE a > $1 GROUP BY 1, 2 ORDER BY 2 DESC, 1 LIMIT $2"
        );
        assert_eq!(
            shape("SELECT x::numeric(10,2), CAST(y AS varchar(20)) FROM t WHERE z = 3").unwrap(),
            "SELECT x::numeric(10,2), CAST(y AS varchar(20)) FROM t WHERE z = $1"
        );
        assert_eq!(
            shape("SELECT DATE '2024-01-01', E'a\\n', 'b' FROM t").unwrap(),
            "SELECT DATE '2024-01-01', E'a\\n', $1 FROM t"
        );
        assert_eq!(
            shape("SELECT \"Weird 1\" FROM t1 WHERE c2 = round(3.5, 1)").unwrap(),
            "SELECT \"Weird 1\" FROM t1 WHERE c2 = round($1, $2)"
        );
    }

    #[test]
    fn other_statements_are_left_alone() {
        assert_eq!(shape("CREATE TABLE t (v varchar(20) DEFAULT 'x')"), None);
        assert_eq!(shape("SELECT $1 + 1"), None);
        assert_eq!(shape("SELECT 1; SELECT 2"), None);
        assert_eq!(shape("SELECT 1 -- comment"), None);
        assert_eq!(shape("SELECT a FROM t"), None);
    }
}
