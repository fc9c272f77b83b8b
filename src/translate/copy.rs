//! COPY: the statement's shape (table, columns, format) and the text and CSV
//! row formats, both directions. The wire sub-protocol (CopyIn/CopyOut) is the
//! front end's; this module only turns bytes into fields and back.

use sqlparser::ast::{CopyLegacyOption, CopyOption, CopySource, CopyTarget, Ident};

use super::expr::object_name;
use crate::error::{Error, Result, SqlState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFormat {
    pub csv: bool,
    /// `FORMAT binary`: Postgres's binary COPY file format (FROM STDIN only).
    pub binary: bool,
    pub delimiter: char,
    pub null: String,
    pub header: bool,
}

impl Default for CopyFormat {
    fn default() -> Self {
        CopyFormat {
            csv: false,
            binary: false,
            delimiter: '\t',
            null: "\\N".into(),
            header: false,
        }
    }
}

/// `COPY table [(cols)] FROM STDIN` or `COPY table|(query) TO STDOUT`.
#[derive(Debug, Clone)]
pub enum Copy {
    In {
        table: String,
        columns: Vec<String>,
        format: CopyFormat,
    },
    /// The SELECT to run, as Postgres SQL (translated like any query).
    Out { query: String, format: CopyFormat },
    /// Materialize's `COPY (SUBSCRIBE (SELECT ...)) TO STDOUT`: a live query
    /// streamed as rows with `mz_timestamp` (the LSN) and `mz_diff` (+1/-1),
    /// until the client cancels.
    Subscribe { query: String },
}

/// `COPY (SUBSCRIBE (<select>)) TO STDOUT` or `COPY (SUBSCRIBE [TO] <table>)
/// TO STDOUT` (options after it are accepted and ignored): the SELECT, if
/// `sql` is one.
pub fn subscribe(sql: &str) -> Option<String> {
    let text = sql.trim().trim_end_matches(';').trim();
    let rest = strip_word(text, "copy")?.trim_start().strip_prefix('(')?;
    let close = matching_paren(rest)?;
    let (inner, after) = (&rest[..close], &rest[close + 1..]);
    let after = strip_word(after.trim_start(), "to")?;
    strip_word(after.trim_start(), "stdout")?;
    let inner = strip_word(inner.trim(), "subscribe")?.trim_start();
    let inner = strip_word(inner, "to").map_or(inner, str::trim_start);
    match inner.strip_prefix('(') {
        Some(query) => {
            let close = matching_paren(query)?;
            query[close + 1..]
                .trim()
                .is_empty()
                .then(|| query[..close].trim().to_string())
        }
        None => {
            let table = inner.trim();
            let plain = !table.is_empty()
                && table
                    .chars()
                    .all(|c| c.is_alphanumeric() || "_.\"".contains(c));
            plain.then(|| format!("SELECT * FROM {table}"))
        }
    }
}

fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word)
        && !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
    .then_some(rest)
}

/// The index of the `)` closing an already opened `(`, skipping quoted text.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 1;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// COPY text as sqlparser accepts it: it reads `FROM STDIN` data inline (we
/// give it an empty data block, `\.`) and knows `FREEZE` only as a boolean
/// keyword (pgbench sends `freeze on`).
pub fn parsable(sql: &str) -> String {
    let mut text = sql.trim().trim_end_matches(';').to_string();
    for (from, to) in [("freeze on", "freeze true"), ("freeze off", "freeze false")] {
        let lower = text.to_ascii_lowercase();
        if let Some(at) = lower.find(from)
            && !lower[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            text.replace_range(at..at + from.len(), to);
        }
    }
    if text.to_ascii_lowercase().contains("stdin") {
        text.push_str(";\n\\.\n");
    }
    text
}

pub fn plan(
    source: CopySource,
    to: bool,
    target: CopyTarget,
    options: Vec<CopyOption>,
    legacy: Vec<CopyLegacyOption>,
) -> Result<Copy> {
    let mut format = CopyFormat::default();
    for option in options {
        match option {
            CopyOption::Format(name) if name.value.eq_ignore_ascii_case("csv") => csv(&mut format),
            CopyOption::Format(name) if name.value.eq_ignore_ascii_case("text") => {}
            CopyOption::Format(name) if name.value.eq_ignore_ascii_case("binary") => {
                format.binary = true;
            }
            CopyOption::Format(name) => {
                return Err(Error::unsupported(format!("COPY format {name}")));
            }
            CopyOption::Delimiter(c) => format.delimiter = c,
            CopyOption::Null(s) => format.null = s,
            CopyOption::Header(h) => format.header = h,
            CopyOption::Freeze(_) | CopyOption::Encoding(_) => {}
            other => return Err(Error::unsupported(format!("COPY option {other}"))),
        }
    }
    for option in legacy {
        match option {
            CopyLegacyOption::Csv(_) => csv(&mut format),
            CopyLegacyOption::Delimiter(c) => format.delimiter = c,
            CopyLegacyOption::Null(s) => format.null = s,
            CopyLegacyOption::Header => format.header = true,
            CopyLegacyOption::Binary => format.binary = true,
            other => return Err(Error::unsupported(format!("COPY option {other}"))),
        }
    }
    let names = |cols: &[Ident]| cols.iter().map(super::ident_text).collect::<Vec<_>>();
    if format.binary && to {
        return Err(Error::unsupported("COPY TO STDOUT in the binary format"));
    }
    match (source, to, target) {
        (
            CopySource::Table {
                table_name,
                columns,
            },
            false,
            CopyTarget::Stdin,
        ) => Ok(Copy::In {
            table: object_name(&table_name),
            columns: names(&columns),
            format,
        }),
        (
            CopySource::Table {
                table_name,
                columns,
            },
            true,
            CopyTarget::Stdout,
        ) => {
            let list = if columns.is_empty() {
                "*".to_string()
            } else {
                columns
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Ok(Copy::Out {
                query: format!("SELECT {list} FROM {table_name}"),
                format,
            })
        }
        (CopySource::Query(query), true, CopyTarget::Stdout) => Ok(Copy::Out {
            query: query.to_string(),
            format,
        }),
        _ => Err(Error::unsupported(
            "COPY to or from a file or program (use STDIN/STDOUT, e.g. psql's \\copy)",
        )),
    }
}

fn csv(format: &mut CopyFormat) {
    format.csv = true;
    format.delimiter = ',';
    format.null = String::new();
}

fn bad_copy(message: impl Into<String>) -> Error {
    Error::new(SqlState::InvalidTextRepresentation, message)
}

/// Splits one line of COPY input into fields (None for NULL).
pub fn parse_line(line: &str, format: &CopyFormat) -> Result<Vec<Option<String>>> {
    if format.csv {
        parse_csv(line, format)
    } else {
        parse_text(line, format)
    }
}

fn parse_text(line: &str, format: &CopyFormat) -> Result<Vec<Option<String>>> {
    line.split(format.delimiter)
        .map(|raw| {
            if raw == format.null {
                Ok(None)
            } else {
                unescape(raw).map(Some)
            }
        })
        .collect()
}

/// Text format escapes: `\\`, `\t`, `\n`, `\r`, `\b`, `\f`, `\v`, octal `\ooo`, hex `\xhh`.
fn unescape(raw: &str) -> Result<String> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let mut out = Vec::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = (c - b'0') as u32;
                let mut digits = 1;
                while digits < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    value = value * 8 + (bytes[i] - b'0') as u32;
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            b'x' => {
                let hex: String = raw[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_hexdigit())
                    .take(2)
                    .collect();
                if hex.is_empty() {
                    out.push(b'x');
                } else {
                    out.push(u8::from_str_radix(&hex, 16).unwrap_or(0));
                    i += hex.len();
                }
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|_| bad_copy("invalid byte sequence for encoding \"UTF8\""))
}

fn parse_csv(line: &str, format: &CopyFormat) -> Result<Vec<Option<String>>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut value = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        value.push('"');
                    }
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err(bad_copy("unterminated CSV quoted field")),
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == format.delimiter {
                break;
            }
            value.push(c);
            chars.next();
        }
        fields.push(if !quoted && value == format.null {
            None
        } else {
            Some(value)
        });
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

/// Appends one field of COPY output (text form already rendered) to `line`.
pub fn write_field(line: &mut String, value: Option<&str>, format: &CopyFormat) {
    let Some(value) = value else {
        line.push_str(&format.null);
        return;
    };
    if format.csv {
        let needs_quotes = value.is_empty()
            || value.contains([format.delimiter, '"', '\n', '\r'])
            || value == format.null;
        if needs_quotes {
            line.push('"');
            line.push_str(&value.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(value);
        }
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            c if c == format.delimiter => {
                line.push('\\');
                line.push(c);
            }
            c => line.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_forms() {
        assert_eq!(
            subscribe("COPY (SUBSCRIBE (SELECT a FROM t WHERE b = ')')) TO STDOUT;").as_deref(),
            Some("SELECT a FROM t WHERE b = ')'")
        );
        assert_eq!(
            subscribe("copy (subscribe to orders) to stdout").as_deref(),
            Some("SELECT * FROM orders")
        );
        assert_eq!(subscribe("COPY (SELECT 1) TO STDOUT"), None);
        assert_eq!(subscribe("COPY t FROM STDIN"), None);
    }

    #[test]
    fn text_format_round_trips_escapes_and_nulls() {
        let f = CopyFormat::default();
        assert_eq!(
            parse_line("1\\tab\\\\c\t\\N\tx\\ny", &f).unwrap(),
            vec![Some("1\tab\\c".into()), None, Some("x\ny".into())]
        );
        let mut line = String::new();
        write_field(&mut line, Some("a\tb\\"), &f);
        line.push('\t');
        write_field(&mut line, None, &f);
        assert_eq!(line, "a\\tb\\\\\t\\N");
    }

    #[test]
    fn csv_quotes_and_empty_nulls() {
        let mut f = CopyFormat::default();
        csv(&mut f);
        assert_eq!(
            parse_line("1,\"a,\"\"b\"\"\",,\"\"", &f).unwrap(),
            vec![
                Some("1".into()),
                Some("a,\"b\"".into()),
                None,
                Some("".into())
            ]
        );
    }
}

/// The signature that starts a binary COPY stream.
const BINARY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// One row of a binary COPY stream: each field's bytes in its type's binary
/// format, None for NULL.
pub type BinaryTuple = Vec<Option<Vec<u8>>>;

/// Reads Postgres's binary COPY format as its bytes arrive: the header
/// (signature, flags, extension), then tuples (a field count, then each
/// field's length and bytes), then the trailer (a count of -1).
#[derive(Default)]
pub struct BinaryReader {
    buffer: Vec<u8>,
    header_read: bool,
    /// Whether the trailer was read; bytes after it are an error.
    pub ended: bool,
}

impl BinaryReader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete tuple, None when more bytes are needed (or after
    /// the trailer).
    pub fn next_tuple(&mut self) -> Result<Option<BinaryTuple>> {
        if !self.header_read && !self.read_header()? {
            return Ok(None);
        }
        if self.ended {
            return Ok(None);
        }
        let mut at = 0;
        let Some(count) = take_i16(&self.buffer, &mut at) else {
            return Ok(None);
        };
        if count == -1 {
            self.ended = true;
            self.buffer.drain(..at);
            return Ok(None);
        }
        let mut fields = Vec::with_capacity(count.max(0) as usize);
        for _ in 0..count {
            let Some(len) = take_i32(&self.buffer, &mut at) else {
                return Ok(None);
            };
            if len < 0 {
                fields.push(None);
                continue;
            }
            let end = at + len as usize;
            let Some(bytes) = self.buffer.get(at..end) else {
                return Ok(None);
            };
            fields.push(Some(bytes.to_vec()));
            at = end;
        }
        self.buffer.drain(..at);
        Ok(Some(fields))
    }

    /// Whether the header is complete (and valid), consuming it.
    fn read_header(&mut self) -> Result<bool> {
        let fixed = BINARY_SIGNATURE.len() + 8;
        if self.buffer.len() < fixed {
            return Ok(false);
        }
        if !self.buffer.starts_with(BINARY_SIGNATURE) {
            return Err(Error::new(
                SqlState::BadCopyFileFormat,
                "COPY file signature not recognized",
            ));
        }
        let mut at = BINARY_SIGNATURE.len() + 4;
        let extension = take_i32(&self.buffer, &mut at).unwrap_or(0).max(0) as usize;
        if self.buffer.len() < fixed + extension {
            return Ok(false);
        }
        self.buffer.drain(..fixed + extension);
        self.header_read = true;
        Ok(true)
    }

    /// Whether bytes were left that are not a whole tuple (at CopyDone).
    pub fn incomplete(&self) -> bool {
        !self.buffer.is_empty() || !self.header_read
    }
}

fn take_i16(buffer: &[u8], at: &mut usize) -> Option<i16> {
    let bytes = buffer.get(*at..*at + 2)?;
    *at += 2;
    Some(i16::from_be_bytes([bytes[0], bytes[1]]))
}

fn take_i32(buffer: &[u8], at: &mut usize) -> Option<i32> {
    let bytes = buffer.get(*at..*at + 4)?;
    *at += 4;
    Some(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}
