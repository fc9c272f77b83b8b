//! The realtime doors' (WebSocket, REST) access in one place: who a caller is
//! from an optional token (a JWT, or one of the configured API keys), and the
//! rules that apply to their role. With neither a JWT key nor API keys
//! configured the doors are open: every caller is the anonymous role and the
//! rules allow everything.

use super::jwt::{Identity, Verifier};
use super::rules::Rules;
use crate::config::AuthConfig;
use crate::error::{Error, SqlState};

pub struct Guard {
    /// `None`: no JWTs are accepted (the doors are open unless API keys are set).
    verifier: Option<Verifier>,
    /// Server-to-server keys and the role each acts as.
    api_keys: Vec<(String, String)>,
    anon_role: Option<String>,
    pub rules: Rules,
}

impl Guard {
    pub fn new(config: &AuthConfig) -> Result<Guard, String> {
        let verifier = Verifier::from_config(config)?;
        let api_keys: Vec<(String, String)> = config
            .api_keys
            .iter()
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        let rules = if verifier.is_some() || !api_keys.is_empty() {
            Rules::enforced(config.rules.clone())
        } else {
            Rules::open()
        };
        Ok(Guard {
            verifier,
            api_keys,
            anon_role: config.anon_role.clone(),
            rules,
        })
    }

    /// Whether callers must authenticate (a JWT key or API keys are configured).
    pub fn enforced(&self) -> bool {
        self.verifier.is_some() || !self.api_keys.is_empty()
    }

    /// The role of the API key `token`. Every key is compared in full, so the
    /// time taken does not tell how much of a guess was right.
    fn api_key_role(&self, token: &str) -> Option<&str> {
        self.api_keys.iter().fold(None, |found, (key, role)| {
            let same = key.len() == token.len()
                && key
                    .bytes()
                    .zip(token.bytes())
                    .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                    == 0;
            if same { Some(role.as_str()) } else { found }
        })
    }

    fn anonymous(&self) -> Identity {
        Identity::anonymous(self.anon_role.as_deref().unwrap_or("anon"))
    }

    /// The identity a token (API key or JWT) proves, 28000 when it proves
    /// none; anyone when the doors are open.
    pub fn verify(&self, token: &str) -> Result<Identity, Error> {
        if let Some(role) = self.api_key_role(token) {
            return Ok(Identity::api_key(role));
        }
        match &self.verifier {
            Some(verifier) => verifier.verify(token),
            None if self.enforced() => Err(Error::new(
                SqlState::InvalidAuthorizationSpecification,
                "invalid API key",
            )),
            None => Ok(self.anonymous()),
        }
    }

    /// The caller with this token, or without one: the anonymous role when
    /// configured, else 28000 saying `how` to authenticate.
    pub fn identify(&self, token: Option<&str>, how: &str) -> Result<Identity, Error> {
        match (self.enforced(), token) {
            (true, Some(token)) => self.verify(token),
            (true, None) if self.anon_role.is_none() => Err(Error::new(
                SqlState::InvalidAuthorizationSpecification,
                format!("authentication required: {how}"),
            )),
            _ => Ok(self.anonymous()),
        }
    }
}
