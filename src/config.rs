//! Typed configuration with named defaults. Built by `main.rs` from flags and
//! `LITEWIRE_*` environment variables; the library never reads the environment.

use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_PG_LISTEN: &str = "127.0.0.1:5432";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_READERS: usize = 4;
pub const DEFAULT_MAX_CONNECTIONS: usize = 200;
/// Notifications a session may have undelivered before it is cut off.
pub const DEFAULT_NOTIFY_QUEUE: usize = 10_000;

/// Changes are kept at least this long ...
pub const DEFAULT_CHANGE_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// ... and at least this many of the latest, whichever keeps more.
pub const DEFAULT_CHANGE_RETENTION_ROWS: i64 = 1_000_000;

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
        Ok(())
    }
}
