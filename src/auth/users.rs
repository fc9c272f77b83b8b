//! Wire authentication. By default loopback clients are trusted (as a fresh
//! Postgres on a developer machine). With a password (`--password`, for the
//! `postgres` user) or users added with `litewire user add`, every login must
//! pass SCRAM-SHA-256; a wrong password gets 28P01.
//!
//! Users live in `<data>/users.json` as SCRAM salted passwords (never the
//! password itself).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine;
use pgwire::api::auth::sasl::scram::gen_salted_password;
use pgwire::api::auth::{AuthSource, LoginInfo, Password};
use pgwire::error::{PgWireError, PgWireResult};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// pgwire's SCRAM server advertises 4096 iterations, as Postgres does.
pub const SCRAM_ITERATIONS: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredUser {
    salt: String,
    salted_password: String,
}

/// The users that may log in, with their SCRAM secrets.
#[derive(Debug, Clone, Default)]
pub struct Users {
    users: BTreeMap<String, StoredUser>,
}

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid users file: {source}")]
    Format {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl Users {
    pub fn file(data_dir: &Path) -> PathBuf {
        data_dir.join("users.json")
    }

    pub fn load(data_dir: &Path) -> Result<Users, UsersError> {
        let path = Self::file(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let users = serde_json::from_slice(&bytes)
                    .map_err(|source| UsersError::Format { path, source })?;
                Ok(Users { users })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Users::default()),
            Err(source) => Err(UsersError::Io { path, source }),
        }
    }

    pub fn save(&self, data_dir: &Path) -> Result<(), UsersError> {
        let path = Self::file(data_dir);
        let text = serde_json::to_vec_pretty(&self.users).expect("users serialize");
        std::fs::write(&path, text).map_err(|source| UsersError::Io { path, source })
    }

    pub fn set_password(&mut self, name: &str, password: &str) {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salted = gen_salted_password(password, &salt, SCRAM_ITERATIONS);
        let b64 = base64::engine::general_purpose::STANDARD;
        self.users.insert(
            name.to_string(),
            StoredUser {
                salt: b64.encode(salt),
                salted_password: b64.encode(salted),
            },
        );
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    fn secret(&self, name: &str) -> Option<Password> {
        let user = self.users.get(name)?;
        let b64 = base64::engine::general_purpose::STANDARD;
        Some(Password::new(
            Some(b64.decode(&user.salt).ok()?),
            b64.decode(&user.salted_password).ok()?,
        ))
    }
}

#[async_trait]
impl AuthSource for Users {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        self.secret(user)
            .ok_or_else(|| PgWireError::InvalidPassword(user.to_string()))
    }
}
