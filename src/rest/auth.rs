//! Who is calling, and what they may do. The token comes from
//! `Authorization: Bearer <JWT or API key>` or, as with Supabase, the `apikey`
//! header (a configured API key, `[auth.api_keys]`, acts as its role; a JWT as
//! its role claim); the bearer token wins when both are sent. Without one the
//! caller is the configured anonymous role, or is refused (401, 28000), and so
//! is a wrong key. With neither a JWT key nor API keys configured the door is
//! open: everyone is the anonymous role and every table is readable and
//! writable.
//!
//! Reads follow the realtime rules (`[[auth.rules]] read`/`filters`): a row
//! filter becomes part of the query's WHERE with the caller's claims bound as
//! parameters. Writes need a grant in `[auth.write]` (role -> tables), and
//! PATCH/DELETE reach only the rows the role may read.

use std::collections::BTreeMap;

use axum::http::HeaderMap;

use crate::auth::guard::Guard;
use crate::auth::jwt::Identity;
use crate::auth::rules::{ChannelAction, ReadAccess};
use crate::changes::filter::Predicate;
use crate::config::AuthConfig;
use crate::error::{Error, Result, SqlState};

pub struct Auth {
    guard: Guard,
    /// Tables each role may write (`*` for any role / any table).
    write: BTreeMap<String, Vec<String>>,
}

fn denied(message: String) -> Error {
    Error::new(SqlState::InsufficientPrivilege, message)
}

impl Auth {
    pub fn new(config: &AuthConfig) -> std::result::Result<Auth, String> {
        Ok(Auth {
            guard: Guard::new(config)?,
            write: config.write.clone(),
        })
    }

    /// The caller of a request with these headers.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Identity> {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let token = header(axum::http::header::AUTHORIZATION.as_str())
            .and_then(|v| v.strip_prefix("Bearer "))
            .or_else(|| header("apikey"));
        self.guard.identify(
            token,
            "send Authorization: Bearer <JWT> or an apikey header",
        )
    }

    /// The rows of `table` the caller may see: `None` for all of them, a
    /// predicate with the caller's claims filled in, or 42501.
    pub fn row_filter(&self, who: &Identity, table: &str) -> Result<Option<Predicate>> {
        match self.guard.rules.read(&who.role, table) {
            ReadAccess::Denied => Err(denied(format!("{} may not read \"{table}\"", who.role))),
            ReadAccess::All => Ok(None),
            ReadAccess::Where(sql) => Predicate::row_filter(&sql, who).map(Some),
        }
    }

    /// 42501 unless the caller may `action` on `channel`.
    pub fn check_channel(
        &self,
        who: &Identity,
        action: ChannelAction,
        channel: &str,
    ) -> Result<()> {
        if self.guard.rules.allows(&who.role, action, channel) {
            Ok(())
        } else {
            Err(denied(format!(
                "{} may not use channel \"{channel}\"",
                who.role
            )))
        }
    }

    /// 42501 unless the caller may write `table`.
    pub fn check_write(&self, who: &Identity, table: &str) -> Result<()> {
        if !self.guard.enforced() {
            return Ok(());
        }
        let granted = self
            .write
            .iter()
            .filter(|(role, _)| *role == "*" || **role == who.role)
            .flat_map(|(_, tables)| tables)
            .any(|t| t == "*" || t.eq_ignore_ascii_case(table));
        if granted {
            Ok(())
        } else {
            Err(denied(format!("{} may not write \"{table}\"", who.role)))
        }
    }
}
