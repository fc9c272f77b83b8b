//! JSON Web Tokens for the WebSocket and HTTP doors (`jsonwebtoken` crate):
//! HS256 with a shared secret, RS256/ES256 with a PEM public key, or keys from
//! a JWKS file picked by the token's `kid`. A valid token becomes an
//! [`Identity`]: the role (from the configured claim) and all claims, which
//! row filters read as `auth.<claim>`.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value as Json;

use crate::config::AuthConfig;
use crate::error::{Error, SqlState};

/// Who is on the other end of a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub role: String,
    pub claims: Json,
}

impl Identity {
    /// A connection without a token, given the configured anonymous role.
    pub fn anonymous(role: &str) -> Identity {
        Identity {
            role: role.to_string(),
            claims: Json::Object(Default::default()),
        }
    }

    /// A caller with a configured API key: its role, and that role as the
    /// only claim (so a row filter on `auth.role` works as with a JWT).
    pub fn api_key(role: &str) -> Identity {
        Identity {
            role: role.to_string(),
            claims: serde_json::json!({ "role": role }),
        }
    }

    /// The claim at `path` (`["sub"]`, `["app_metadata", "org"]`), or null.
    pub fn claim(&self, path: &[String]) -> Json {
        path.iter()
            .try_fold(&self.claims, |v, k| v.get(k))
            .cloned()
            .unwrap_or(Json::Null)
    }
}

enum Keys {
    /// One key, valid for these algorithms.
    Fixed(DecodingKey, Vec<Algorithm>),
    Set(JwkSet),
}

/// Checks tokens against the configured key(s).
pub struct Verifier {
    keys: Keys,
    role_claim: String,
}

fn unauthorized(message: impl Into<String>) -> Error {
    Error::new(SqlState::InvalidAuthorizationSpecification, message)
}

impl Verifier {
    /// The verifier the configuration asks for; `None` when no key is set
    /// (the doors are then open).
    pub fn from_config(config: &AuthConfig) -> Result<Option<Verifier>, String> {
        let keys = if let Some(secret) = &config.jwt_secret {
            Keys::Fixed(
                DecodingKey::from_secret(secret.as_bytes()),
                vec![Algorithm::HS256],
            )
        } else if let Some(path) = &config.jwt_public_key {
            let pem =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            match (
                DecodingKey::from_rsa_pem(&pem),
                DecodingKey::from_ec_pem(&pem),
            ) {
                (Ok(key), _) => Keys::Fixed(key, vec![Algorithm::RS256]),
                (_, Ok(key)) => Keys::Fixed(key, vec![Algorithm::ES256]),
                (Err(e), _) => {
                    return Err(format!(
                        "{}: not an RSA or EC public key: {e}",
                        path.display()
                    ));
                }
            }
        } else if let Some(path) = &config.jwks {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Keys::Set(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
        } else {
            return Ok(None);
        };
        Ok(Some(Verifier {
            keys,
            role_claim: config.role_claim.clone(),
        }))
    }

    /// The identity a token proves, or 28000 saying why it does not.
    pub fn verify(&self, token: &str) -> Result<Identity, Error> {
        let (key, algorithms) = match &self.keys {
            Keys::Fixed(key, algorithms) => (key.clone(), algorithms.clone()),
            Keys::Set(set) => {
                let header = jsonwebtoken::decode_header(token)
                    .map_err(|e| unauthorized(format!("invalid token: {e}")))?;
                let jwk = header
                    .kid
                    .as_deref()
                    .and_then(|kid| set.find(kid))
                    .ok_or_else(|| unauthorized("invalid token: no key with its kid"))?;
                let key = DecodingKey::from_jwk(jwk)
                    .map_err(|e| unauthorized(format!("unusable key: {e}")))?;
                (key, vec![header.alg])
            }
        };
        let mut validation = Validation::new(algorithms[0]);
        validation.algorithms = algorithms;
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Json>(token, &key, &validation)
            .map_err(|e| unauthorized(format!("invalid token: {e}")))?;
        let role = data
            .claims
            .get(&self.role_claim)
            .and_then(Json::as_str)
            .ok_or_else(|| unauthorized(format!("token has no \"{}\" claim", self.role_claim)))?
            .to_string();
        Ok(Identity {
            role,
            claims: data.claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    fn config() -> AuthConfig {
        AuthConfig {
            jwt_secret: Some("s3cret".into()),
            ..AuthConfig::default()
        }
    }

    fn token(secret: &str, claims: Json) -> String {
        jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn hs256_tokens_are_checked() {
        let verifier = Verifier::from_config(&config()).unwrap().unwrap();
        let exp = chrono::Utc::now().timestamp() + 60;
        let good = token(
            "s3cret",
            serde_json::json!({"role": "user", "sub": "u1", "exp": exp}),
        );
        let id = verifier.verify(&good).unwrap();
        assert_eq!(id.role, "user");
        assert_eq!(id.claim(&["sub".into()]), "u1");
        let forged = token("other", serde_json::json!({"role": "user", "exp": exp}));
        assert_eq!(
            verifier.verify(&forged).unwrap_err().code(),
            SqlState::InvalidAuthorizationSpecification
        );
        let expired = token(
            "s3cret",
            serde_json::json!({"role": "user", "exp": exp - 3600}),
        );
        assert!(verifier.verify(&expired).is_err());
        assert!(
            Verifier::from_config(&AuthConfig::default())
                .unwrap()
                .is_none()
        );
    }
}
