//! Session settings (`SET`/`SHOW`/`RESET`). Unknown names are accepted and
//! remembered, as drivers set many parameters litewire has no use for; the ones
//! litewire acts on are parsed where they are used.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::catalog::SearchPath;
use crate::error::{Error, Result, SqlState};

/// The server version litewire reports (clients parse it to pick features).
pub const SERVER_VERSION: &str = "15.0";

/// Defaults as a fresh PostgreSQL 15 session shows them.
const DEFAULTS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("is_superuser", "on"),
    ("lock_timeout", "5s"),
    ("max_identifier_length", "63"),
    ("search_path", "\"$user\", public"),
    ("server_encoding", "UTF8"),
    ("server_version", SERVER_VERSION),
    ("server_version_num", "150000"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
];

/// Parameters reported to the client in ParameterStatus at startup, with the
/// capitalization Postgres uses.
pub const REPORTED: &[(&str, &str)] = &[
    ("server_version", "server_version"),
    ("server_encoding", "server_encoding"),
    ("client_encoding", "client_encoding"),
    ("DateStyle", "datestyle"),
    ("TimeZone", "timezone"),
    ("IntervalStyle", "intervalstyle"),
    ("integer_datetimes", "integer_datetimes"),
    ("standard_conforming_strings", "standard_conforming_strings"),
    ("is_superuser", "is_superuser"),
    (
        "default_transaction_read_only",
        "default_transaction_read_only",
    ),
    ("application_name", "application_name"),
];

#[derive(Debug, Clone, Default)]
pub struct Settings {
    values: BTreeMap<String, String>,
    /// What the client's startup packet set (`application_name`, ...):
    /// the session's defaults, which RESET returns to.
    startup: BTreeMap<String, String>,
}

impl Settings {
    /// Settings whose defaults include the startup packet's parameters. Not
    /// `user`, `database` and `options` (not settings), nor the ones whose
    /// value litewire fixes and reported at startup (values are always sent
    /// in UTC, ISO and UTF8, whatever a driver asks for).
    pub fn from_startup<'a>(params: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let startup = params
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .filter(|(k, _)| {
                !matches!(k.as_str(), "user" | "database" | "options" | "replication")
                    && !REPORTED
                        .iter()
                        .any(|(_, name)| *name == k && *name != "application_name")
            })
            .collect();
        Settings {
            values: BTreeMap::new(),
            startup,
        }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        self.values
            .get(&name)
            .or_else(|| self.startup.get(&name))
            .cloned()
            .or_else(|| {
                DEFAULTS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            })
    }

    /// Whether the client chose `name` (with SET or at startup) rather than
    /// leaving it at litewire's default.
    pub fn chosen(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.values.contains_key(&name) || self.startup.contains_key(&name)
    }

    /// `SET name = value`; `None` resets to the default.
    pub fn set(&mut self, name: &str, value: Option<String>) -> Result<()> {
        let name = name.to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "server_version" | "server_encoding" | "integer_datetimes" | "max_identifier_length"
        ) {
            return Err(Error::new(
                SqlState::InvalidTransactionState,
                format!("parameter \"{name}\" cannot be changed"),
            ));
        }
        match value {
            Some(v) => {
                if name == "lock_timeout" || name == "statement_timeout" {
                    parse_duration(&v)?;
                }
                self.values.insert(name, v);
            }
            None => {
                self.values.remove(&name);
            }
        }
        Ok(())
    }

    pub fn reset_all(&mut self) {
        self.values.clear();
    }

    pub fn search_path(&self) -> SearchPath {
        SearchPath::parse(&self.get("search_path").unwrap_or_default())
    }

    pub fn lock_timeout(&self) -> Duration {
        self.get("lock_timeout")
            .and_then(|v| parse_duration(&v).ok())
            .unwrap_or(Duration::from_secs(5))
    }
}

impl crate::store::SessionSettings for Settings {
    fn setting(&self, name: &str) -> Option<String> {
        self.get(name)
    }
}

/// Postgres time settings: a bare number is milliseconds; units ms, s, min, h.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim().trim_matches('\'');
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        Error::new(
            SqlState::InvalidParameterValue,
            format!("invalid value for parameter: \"{text}\""),
        )
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "s" => n * 1000.0,
        "min" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        _ => return Err(bad()),
    };
    Ok(Duration::from_micros((ms * 1000.0) as u64))
}
