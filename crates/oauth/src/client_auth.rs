//! Client authentication at the token endpoint (RFC 6749 §2.3.1):
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523)
//! and `none` for public clients, one variant of [`ClientAuth`] each. A new
//! method (e.g. `tls_client_auth`, RFC 8705) is one more variant: the
//! compiler then lists every place that must decide what it proves.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use latchkey_domain::Secret;

use crate::error::OAuthError;

/// How a request authenticated its client: one variant per method
/// (the names of RFC 8414 `token_endpoint_auth_methods_supported`).
#[derive(Clone)]
pub enum ClientAuth {
    /// `none`: a public client names itself and proves nothing.
    None,
    /// `client_secret_basic`: id and secret in `Authorization: Basic` (a
    /// failure's 401 then carries a matching `WWW-Authenticate` challenge).
    SecretBasic(Secret),
    /// `client_secret_post`: the secret in the form body.
    SecretPost(Secret),
    /// `private_key_jwt` (RFC 7523 §2.2): a JWT signed with the client's key.
    PrivateKeyJwt(String),
}

/// Secrets and assertions never reach a log line (an assertion is
/// replayable until its `jti` is spent).
impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ClientAuth {
    /// The method's registered name (RFC 8414, RFC 7591 §2).
    pub fn name(&self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }
}

/// The credentials a request presented, however it presented them.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The client the request claims to be (not yet proven).
    pub client_id: String,
    pub method: ClientAuth,
    /// The endpoint's rate limit, applied around authentication (so only
    /// authenticated requests spend a client's budget); `None` for none.
    pub gate: Option<crate::endpoint_limits::Gate>,
}

impl ClientCredentials {
    /// The secret, when the method carries one (basic or post).
    pub fn secret(&self) -> Option<&Secret> {
        match &self.method {
            ClientAuth::SecretBasic(s) | ClientAuth::SecretPost(s) => Some(s),
            ClientAuth::None | ClientAuth::PrivateKeyJwt(_) => None,
        }
    }

    /// Whether they came in an `Authorization: Basic` header.
    pub fn used_basic(&self) -> bool {
        matches!(self.method, ClientAuth::SecretBasic(_))
    }

    /// Whether the method proves the client (a secret or a signature), as
    /// opposed to `none`, where anyone can claim a public client's id.
    pub fn proves_client(&self) -> bool {
        !matches!(self.method, ClientAuth::None)
    }

    /// What a failure of these credentials answers (401, RFC 6749 §5.2).
    pub(crate) fn failure(&self) -> OAuthError {
        OAuthError::ClientAuthentication { used_basic: self.used_basic() }
    }
}

fn form_decode(s: &str) -> Option<String> {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64.
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
}

impl ClientCredentials {
    /// Extracts credentials from an `Authorization` header value and the body's
    /// `client_id` / `client_secret`. Using both methods at once is an error.
    pub fn extract(authorization: Option<&str>, body_id: Option<&str>, body_secret: Option<&str>) -> Result<ClientCredentials, OAuthError> {
        let basic = authorization.and_then(|h| {
            let (scheme, rest) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim().to_string())
        });
        if let Some(b64) = basic {
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request("use only one client authentication method"));
            }
            let decoded = STANDARD.decode(b64).ok().and_then(|d| String::from_utf8(d).ok());
            let (id, secret) =
                decoded.as_deref().and_then(|d| d.split_once(':')).and_then(|(i, s)| Some((form_decode(i)?, form_decode(s)?))).ok_or(OAuthError::ClientAuthentication { used_basic: true })?;
            if let Some(bid) = body_id {
                if bid != id {
                    return Err(OAuthError::invalid_request("client_id in body differs from the Authorization header"));
                }
            }
            return Ok(ClientCredentials { client_id: id, method: ClientAuth::SecretBasic(Secret::new(secret)), gate: None });
        }
        let id = body_id.ok_or(OAuthError::ClientAuthentication { used_basic: false })?;
        let method = match body_secret {
            Some(secret) => ClientAuth::SecretPost(Secret::new(secret)),
            None => ClientAuth::None,
        };
        Ok(ClientCredentials { client_id: id.to_string(), method, gate: None })
    }

    /// Credentials as a JWT assertion (`client_assertion_type` and
    /// `client_assertion`, RFC 7523 §2.2): the only method in the request; the
    /// client is `client_id` if sent, else the assertion's `sub`.
    pub fn from_assertion(authorization: Option<&str>, body_id: Option<&str>, body_secret: Option<&str>, assertion_type: &str, assertion: Option<&str>) -> Result<ClientCredentials, OAuthError> {
        if assertion_type != crate::client_assertion::JWT_BEARER {
            return Err(OAuthError::invalid_request("unsupported client_assertion_type"));
        }
        if authorization.is_some_and(|h| h.len() > 6 && h[..6].eq_ignore_ascii_case("basic ")) || body_secret.is_some() {
            return Err(OAuthError::invalid_request("use only one client authentication method"));
        }
        let assertion = assertion.filter(|a| !a.is_empty()).ok_or_else(|| OAuthError::invalid_request("client_assertion is required"))?;
        let claimed = crate::client_assertion::claimed_client(assertion).ok_or(OAuthError::ClientAuthentication { used_basic: false })?;
        if body_id.is_some_and(|id| id != claimed) {
            return Err(OAuthError::ClientAuthentication { used_basic: false });
        }
        Ok(ClientCredentials { client_id: claimed, method: ClientAuth::PrivateKeyJwt(assertion.to_string()), gate: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_is_form_decoded() {
        let h = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret"));
        let c = ClientCredentials::extract(Some(&h), None, None).unwrap();
        assert_eq!(c.client_id, "my app");
        assert_eq!(c.secret().map(|s| s.expose().to_string()).as_deref(), Some("s:cret"));
        assert!(c.used_basic());
        assert_eq!(c.method.name(), "client_secret_basic");
    }

    #[test]
    fn both_methods_refused_and_none_needs_id() {
        let h = format!("Basic {}", STANDARD.encode("a:b"));
        assert!(ClientCredentials::extract(Some(&h), None, Some("b")).is_err());
        assert!(matches!(ClientCredentials::extract(None, None, None), Err(OAuthError::ClientAuthentication { .. })));
        let c = ClientCredentials::extract(None, Some("pub"), None).unwrap();
        assert!(c.secret().is_none());
        assert!(matches!(c.method, ClientAuth::None) && !c.proves_client());
        let post = ClientCredentials::extract(None, Some("conf"), Some("s"));
        assert!(post.is_ok_and(|c| matches!(c.method, ClientAuth::SecretPost(_))
            && !c.used_basic()
            && c.proves_client()
            && format!("{c:?}").contains("client_secret_post")
            && !format!("{c:?}").contains("\"s\"")));
    }
}
