//! Typed configuration with named defaults. Built by `main.rs` from flags and
//! `LITEWIRE_*` environment variables; the library never reads the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub const DEFAULT_PG_LISTEN: &str = "127.0.0.1:5432";
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_READERS: usize = 4;
pub const DEFAULT_MAX_CONNECTIONS: usize = 200;
/// Notifications a session may have undelivered before it is cut off.
pub const DEFAULT_NOTIFY_QUEUE: usize = 10_000;

/// Changes are kept at least this long ...
pub const DEFAULT_CHANGE_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// ... and at least this many of the latest, whichever keeps more.
pub const DEFAULT_CHANGE_RETENTION_ROWS: i64 = 1_000_000;

/// Messages on durable channels are kept at least this long ...
pub const DEFAULT_MESSAGE_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// ... and at least this many of the latest.
pub const DEFAULT_MESSAGE_RETENTION_ROWS: i64 = 100_000;

#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding `litewire.db` (and its WAL) and `users.json`.
    pub data_dir: PathBuf,
    /// Password of the `postgres` user; when set (or users exist) logins need SCRAM.
    pub password: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub readers: usize,
    pub max_connections: usize,
    pub notify_queue: usize,
    pub change_retention: Duration,
    pub change_retention_rows: i64,
    pub message_retention: Duration,
    pub message_retention_rows: i64,
    /// WebSocket (and later REST) access: JWT keys, anon role, rules.
    pub auth: AuthConfig,
    pub realtime: RealtimeConfig,
    pub rest: RestConfig,
}

/// The config file (`--config`, TOML): sections that flags do not cover.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub realtime: RealtimeConfig,
    #[serde(default)]
    pub rest: RestConfig,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Who may use the WebSocket gateway. With no JWT key configured the gateway
/// is open (like trusted loopback on the wire) and rules are not applied.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HS256 shared secret.
    pub jwt_secret: Option<String>,
    /// PEM public key for RS256 or ES256 tokens.
    pub jwt_public_key: Option<PathBuf>,
    /// A JWKS file (keys chosen by the token's `kid`).
    pub jwks: Option<PathBuf>,
    /// Role given to connections without a token; without it they are refused.
    pub anon_role: Option<String>,
    /// The claim holding the role.
    pub role_claim: String,
    pub rules: Vec<RuleConfig>,
    /// REST writes: the tables each role may insert into, update and delete
    /// from (`*`: every role / every table), e.g. `user = ["orders"]`.
    pub write: BTreeMap<String, Vec<String>>,
    /// API keys for server-to-server callers, each with the role it acts as
    /// (`"sk_..." = "service"`): sent as the `apikey` header (or a bearer
    /// token, or the WebSocket token) instead of a JWT.
    pub api_keys: BTreeMap<String, String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_secret: None,
            jwt_public_key: None,
            jwks: None,
            anon_role: None,
            role_claim: "role".into(),
            rules: Vec::new(),
            write: BTreeMap::new(),
            api_keys: BTreeMap::new(),
        }
    }
}

/// What one role may do. Channel patterns use `*` as a wildcard; `read` names
/// tables (`*` for all); `filters` restricts the rows of a table the role
/// sees, as SQL over the row with `auth.<claim>` (e.g. `owner_id = auth.sub`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleConfig {
    /// The role this rule applies to (`*`: every role).
    pub role: String,
    pub listen: Vec<String>,
    pub notify: Vec<String>,
    pub presence: Vec<String>,
    pub read: Vec<String>,
    pub filters: BTreeMap<String, String>,
}

/// Limits of the WebSocket gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RealtimeConfig {
    /// Messages a connection may send per second, and in a burst.
    pub rate_per_sec: u32,
    pub burst: u32,
    /// Largest frame accepted, in bytes.
    pub max_frame: usize,
    pub max_subscriptions: usize,
    /// Messages queued for a connection before it counts as too slow and is closed.
    pub outbound_queue: usize,
    /// A connection that sends nothing (not even a ping) for this long is
    /// closed, and leaves its presence channels.
    pub heartbeat_timeout_secs: u64,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            rate_per_sec: 100,
            burst: 200,
            max_frame: 64 * 1024,
            max_subscriptions: 100,
            outbound_queue: 1024,
            heartbeat_timeout_secs: 60,
        }
    }
}

/// Limits of the REST door, so that one caller cannot take the server for
/// itself: every request is bounded in size, rows, time and rate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestConfig {
    /// Largest request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Rows one request may read or write: a table read is cut to this many
    /// (as PostgREST's `db-max-rows`); a larger insert, or a `/sql` result
    /// with more rows, is refused (413, 54000).
    pub max_rows: usize,
    /// A request's statements running longer are interrupted and answered
    /// with 57014, as Postgres does past `statement_timeout`.
    pub statement_timeout_ms: u64,
    /// Requests per second one client address may make, and in a burst
    /// (past them: 429).
    pub rate_per_sec: u32,
    pub burst: u32,
}

impl Default for RestConfig {
    fn default() -> Self {
        RestConfig {
            max_body_bytes: 1024 * 1024,
            max_rows: 10_000,
            statement_timeout_ms: 10_000,
            rate_per_sec: 1000,
            burst: 2000,
        }
    }
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            password: None,
            tls_cert: None,
            tls_key: None,
            readers: DEFAULT_READERS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            notify_queue: DEFAULT_NOTIFY_QUEUE,
            change_retention: DEFAULT_CHANGE_RETENTION,
            change_retention_rows: DEFAULT_CHANGE_RETENTION_ROWS,
            message_retention: DEFAULT_MESSAGE_RETENTION,
            message_retention_rows: DEFAULT_MESSAGE_RETENTION_ROWS,
            auth: AuthConfig::default(),
            realtime: RealtimeConfig::default(),
            rest: RestConfig::default(),
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("litewire.db")
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("--tls-cert and --tls-key go together".into());
        }
        if self.readers == 0 || self.max_connections == 0 {
            return Err("readers and max connections must be at least 1".into());
        }
        if self.change_retention_rows < 1 {
            // Compaction keeps the newest change so LSNs never restart.
            return Err("change retention must keep at least 1 row".into());
        }
        let r = &self.realtime;
        if r.rate_per_sec == 0 || r.burst == 0 || r.outbound_queue == 0 || r.max_frame == 0 {
            return Err("realtime rate, burst, queue and frame limits must be at least 1".into());
        }
        let r = &self.rest;
        if r.max_body_bytes == 0
            || r.max_rows == 0
            || r.statement_timeout_ms == 0
            || r.rate_per_sec == 0
            || r.burst == 0
        {
            return Err("rest body, row, time and rate limits must be at least 1".into());
        }
        Ok(())
    }
}
