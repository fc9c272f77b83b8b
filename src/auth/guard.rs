//! The realtime doors' (WebSocket, REST) access in one place: who a caller is
//! from an optional token, and the rules that apply to their role. With no
//! JWT key configured the doors are open: every caller is the anonymous role
//! and the rules allow everything.

use super::jwt::{Identity, Verifier};
use super::rules::Rules;
use crate::config::AuthConfig;
use crate::error::{Error, SqlState};

pub struct Guard {
    /// `None`: the doors are open.
    verifier: Option<Verifier>,
    anon_role: Option<String>,
    pub rules: Rules,
}

impl Guard {
    pub fn new(config: &AuthConfig) -> Result<Guard, String> {
        let verifier = Verifier::from_config(config)?;
        let rules = if verifier.is_some() {
            Rules::enforced(config.rules.clone())
        } else {
            Rules::open()
        };
        Ok(Guard {
            verifier,
            anon_role: config.anon_role.clone(),
            rules,
        })
    }

    /// Whether callers must authenticate (a JWT key is configured).
    pub fn enforced(&self) -> bool {
        self.verifier.is_some()
    }

    fn anonymous(&self) -> Identity {
        Identity::anonymous(self.anon_role.as_deref().unwrap_or("anon"))
    }

    /// The identity a token proves (28000 when it does not); anyone when the
    /// doors are open.
    pub fn verify(&self, token: &str) -> Result<Identity, Error> {
        match &self.verifier {
            Some(verifier) => verifier.verify(token),
            None => Ok(self.anonymous()),
        }
    }

    /// The caller with this token, or without one: the anonymous role when
    /// configured, else 28000 saying `how` to authenticate.
    pub fn identify(&self, token: Option<&str>, how: &str) -> Result<Identity, Error> {
        match (&self.verifier, token) {
            (Some(_), Some(token)) => self.verify(token),
            (Some(_), None) if self.anon_role.is_none() => Err(Error::new(
                SqlState::InvalidAuthorizationSpecification,
                format!("authentication required: {how}"),
            )),
            _ => Ok(self.anonymous()),
        }
    }
}
