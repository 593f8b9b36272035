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
/// The token exchange grant's `grant_type` (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

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
    /// RFC 8693: a confidential client trades a user's access token for one
    /// at another API, acting for the user. Not listed in a client's
    /// `grant_types`: its [`TokenExchangePolicy`] (`token_exchange_to`)
    /// is what lets a client use it.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => DEVICE_CODE_GRANT,
            GrantType::TokenExchange => TOKEN_EXCHANGE_GRANT,
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        Some(match s {
            "authorization_code" => GrantType::AuthorizationCode,
            "refresh_token" => GrantType::RefreshToken,
            "client_credentials" => GrantType::ClientCredentials,
            DEVICE_CODE_GRANT => GrantType::DeviceCode,
            TOKEN_EXCHANGE_GRANT => GrantType::TokenExchange,
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

/// Token exchange (RFC 8693), as an operator set it for one client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenExchangePolicy {
    /// The audiences of the APIs this client may exchange a user's access
    /// tokens into (`token_exchange_to`). Empty: it may not use the grant.
    pub to: Vec<String>,
    /// This client may impersonate: without an `actor_token`, the token it
    /// gets carries no `act` (`token_exchange_impersonation`).
    pub impersonation: bool,
    /// The clients that may act with this client's access tokens (`may_act`,
    /// RFC 8693 §4.4): its tokens name them, and an exchange by any other
    /// client is refused. Empty: no `may_act` claim, anyone the policy allows.
    pub may_act: Vec<String>,
}

/// Most entries in one token exchange list (`token_exchange_to`, `may_act`).
pub const MAX_TOKEN_EXCHANGE_ENTRIES: usize = 20;
/// Longest API audience a token exchange policy names (as `api add` allows).
pub const MAX_EXCHANGE_AUDIENCE_CHARS: usize = 512;
/// Longest client id a `may_act` list names.
pub const MAX_MAY_ACT_ID_CHARS: usize = 128;

impl TokenExchangePolicy {
    /// Whether the client may use the token exchange grant at all.
    pub fn enabled(&self) -> bool {
        !self.to.is_empty()
    }

    /// Whether `audience` is one this client may exchange into.
    pub fn allows(&self, audience: &str) -> bool {
        self.to.iter().any(|a| a == audience)
    }
}

/// Checks one entry of a token exchange list: 1 to `max` printable ASCII
/// characters, no space (an API audience or a client id; the admin API's
/// schema says the same). Returns why not.
pub fn check_exchange_entry(what: &str, value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() || value.len() > max || !value.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(format!("{what} must be 1-{max} printable ASCII characters without spaces"));
    }
    Ok(())
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
    /// Token exchange (RFC 8693): where this client may exchange tokens
    /// into, whether it may impersonate, and who may act with its tokens.
    pub token_exchange: TokenExchangePolicy,
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
            token_exchange: TokenExchangePolicy::default(),
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
        for g in [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials, GrantType::DeviceCode, GrantType::TokenExchange] {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
            assert_eq!(serde_json::to_string(&g).ok(), Some(format!("\"{}\"", g.as_str())));
        }
        assert_eq!(GrantType::parse("device_code"), None, "only the registered URN");
        assert_eq!(GrantType::parse("token-exchange"), None, "only the registered URN");
    }

    #[test]
    fn token_exchange_entries_are_printable_and_bounded() {
        assert!(check_exchange_entry("audience", "https://orders.example/api", MAX_EXCHANGE_AUDIENCE_CHARS).is_ok());
        for bad in ["", "a b", "a\u{7}b", "caf\u{e9}", "line\nbreak"] {
            assert!(check_exchange_entry("audience", bad, MAX_EXCHANGE_AUDIENCE_CHARS).is_err(), "{bad:?}");
        }
        assert!(check_exchange_entry("client id", &"a".repeat(MAX_MAY_ACT_ID_CHARS + 1), MAX_MAY_ACT_ID_CHARS).is_err());
        let p = TokenExchangePolicy { to: vec!["https://a".into()], ..Default::default() };
        assert!(p.enabled() && p.allows("https://a") && !p.allows("https://b"));
        assert!(!TokenExchangePolicy::default().enabled());
    }
}
