//! Registered OAuth clients (relying parties).

use serde::{Deserialize, Serialize};

use crate::scope::ScopeSet;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub String);

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 6749 §2.1 client types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Holds a secret (a server-side web app).
    Confidential,
    /// Cannot keep a secret (SPA, mobile); must use PKCE.
    Public,
}

/// The device authorization grant's `grant_type` (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Grant types a client may use (RFC 6749 §4, RFC 8628).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 8628: a device without a browser (a TV, a CLI) shows a code that
    /// the user enters on another device.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => DEVICE_CODE_GRANT,
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        Some(match s {
            "authorization_code" => GrantType::AuthorizationCode,
            "refresh_token" => GrantType::RefreshToken,
            "client_credentials" => GrantType::ClientCredentials,
            DEVICE_CODE_GRANT => GrantType::DeviceCode,
            _ => return None,
        })
    }
}

/// JWS algorithms a client may choose for its ID tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<SigningAlg> {
        SigningAlg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// What the consent page shows of a client besides its name (RFC 7591 §2 and
/// OpenID Connect Dynamic Client Registration §2 metadata). Each is an http(s)
/// URL (https except on localhost), checked at registration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientLinks {
    /// The client's logo, shown next to its name.
    pub logo_uri: Option<String>,
    /// How the client uses the data it asks for.
    pub policy_uri: Option<String>,
    /// The client's terms of service.
    pub tos_uri: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    /// Keyed hash of the secret (hex); `None` for public clients.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// The scopes this client may be granted.
    pub allowed_scopes: ScopeSet,
    pub admin: bool,
    pub id_token_alg: SigningAlg,
    pub created_at: i64,
    /// OIDC Back-Channel Logout: where to POST logout tokens.
    pub backchannel_logout_uri: Option<String>,
    /// A disabled client authenticates nowhere and gets no token.
    pub disabled_at: Option<i64>,
    /// RFC 9126 §5: this client's authorization requests must come through
    /// `/par` (a plain one at `/authorize` is refused).
    pub require_par: bool,
    /// private_key_jwt (RFC 7523): the client's public keys, a JWK Set (JSON).
    pub jwks: Option<String>,
    /// Only private_key_jwt authenticates this client (its secret, if any, is refused).
    pub require_private_key_jwt: bool,
    /// RFC 9449: every token of this client is DPoP-bound; a token request
    /// without a proof is refused (no bearer tokens).
    pub require_dpop: bool,
    /// private_key_jwt: where the client publishes its JWK Set (fetched and
    /// cached), instead of (or besides) registering it in `jwks`.
    pub jwks_uri: Option<String>,
    /// Logo, privacy policy and terms of service for the consent page.
    pub links: ClientLinks,
    /// Registered by itself (RFC 7591), not by an operator: the consent
    /// page says it is not verified.
    pub self_registered: bool,
}

/// Whether `registered` and `presented` are the same loopback IP redirect
/// URI but for the port.
fn same_loopback_uri_but_port(registered: &str, presented: &str) -> bool {
    let loopback_rest = |uri: &str| -> Option<(&'static str, String)> {
        for host in ["http://127.0.0.1", "http://[::1]"] {
            if let Some(rest) = uri.strip_prefix(host) {
                // Optional `:port` (digits only), then the path and query.
                let rest = match rest.strip_prefix(':') {
                    Some(p) => {
                        let digits = p.bytes().take_while(u8::is_ascii_digit).count();
                        if digits == 0 || digits > 5 {
                            return None;
                        }
                        &p[digits..]
                    }
                    None => rest,
                };
                if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
                    return None;
                }
                return Some((host, rest.to_string()));
            }
        }
        None
    };
    matches!((loopback_rest(registered), loopback_rest(presented)), (Some(a), Some(b)) if a == b)
}

impl Client {
    pub fn kind(&self) -> ClientKind {
        if self.secret_hash.is_some() {
            ClientKind::Confidential
        } else {
            ClientKind::Public
        }
    }

    /// Exact string comparison, as OAuth 2.0 Security BCP (RFC 9700 §4.1.3) requires.
    /// Exact match, except that a loopback redirect URI (`http://127.0.0.1`
    /// or `http://[::1]`) matches on any port (RFC 8252 §7.3: a native app
    /// gets a free port from the system at run time).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri || same_loopback_uri_but_port(r, uri))
    }

    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopeSet;

    fn client() -> Client {
        Client {
            id: ClientId("c".into()),
            name: "c".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            allowed_scopes: ScopeSet::parse_lenient("openid"),
            admin: false,
            id_token_alg: SigningAlg::RS256,
            created_at: 0,
            backchannel_logout_uri: None,
            disabled_at: None,
            require_par: false,
            jwks: None,
            require_private_key_jwt: false,
            require_dpop: false,
            jwks_uri: None,
            links: ClientLinks::default(),
            self_registered: false,
        }
    }

    #[test]
    fn a_loopback_redirect_uri_matches_on_any_port_and_nothing_else_does() {
        let c = Client { redirect_uris: vec!["http://127.0.0.1/callback".into(), "http://[::1]:8000/cb?x=1".into(), "https://app.example/cb".into()], ..client() };
        assert!(c.has_redirect_uri("http://127.0.0.1/callback"));
        assert!(c.has_redirect_uri("http://127.0.0.1:53123/callback"));
        assert!(c.has_redirect_uri("http://[::1]:4444/cb?x=1"));
        assert!(!c.has_redirect_uri("http://127.0.0.1:53123/other"), "the path still matches exactly");
        assert!(!c.has_redirect_uri("http://127.0.0.1.evil.example/callback"));
        assert!(!c.has_redirect_uri("http://127.0.0.1:80@evil.example/callback"));
        assert!(!c.has_redirect_uri("http://localhost:53123/callback"), "not the registered host");
        assert!(!c.has_redirect_uri("https://app.example:8443/cb"), "only loopback ports are free");
    }

    #[test]
    fn redirect_uri_is_exact() {
        let c = client();
        assert!(c.has_redirect_uri("https://app.example/cb"));
        assert!(!c.has_redirect_uri("https://app.example/cb/"));
        assert!(!c.has_redirect_uri("https://app.example/cb?x=1"));
        assert!(!c.has_redirect_uri("HTTPS://app.example/cb"));
        assert_eq!(c.kind(), ClientKind::Public);
    }

    #[test]
    fn grant_types_round_trip_through_their_wire_names() {
        for g in [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials, GrantType::DeviceCode] {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
            assert_eq!(serde_json::to_string(&g).ok(), Some(format!("\"{}\"", g.as_str())));
        }
        assert_eq!(GrantType::parse("device_code"), None, "only the registered URN");
    }
}
