//! Verifying latchkey access tokens in a resource server (an API).
//!
//! [`Verifier`] checks an RFC 9068 JWT access token against the issuer's
//! JWKS (fetched once, cached, and fetched again when a token names a key it
//! has not seen: that is how key rotation reaches the API), then `typ`,
//! `iss`, `aud` and `exp`. [`Requirement`] says what a route needs: scopes,
//! and for sensitive routes an authentication strength (`acr`) and freshness
//! (`max_age`). A refusal is an [`AuthError`] that knows its status and its
//! `WWW-Authenticate` challenge: RFC 6750 for token and scope problems, RFC
//! 9470 (`insufficient_user_authentication` with `acr_values` / `max_age`)
//! when the user must authenticate more strongly or more recently — the
//! client re-authorizes with those values and retries.
//!
//! Framework-free: an actix-web (or any) API calls [`Verifier::check`] with
//! the `Authorization` header and turns an [`AuthError`] into a response.
//!
//! RFC 9728: [`Verifier::resource_metadata`] is the API's protected
//! resource metadata (served at `/.well-known/oauth-protected-resource`, or
//! at [`resource_metadata_url`] for a resource with a path, like an MCP
//! server's `/mcp`),
//! and [`AuthError::www_authenticate_with_metadata`] points a client there
//! from a 401, so an MCP client or an agent finds the authorization server
//! by itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

/// A token naming an unknown key makes the verifier fetch the JWKS again, at
/// most this often (so garbage tokens cannot make it hammer the issuer).
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Clock skew tolerated on `exp` between the issuer and the API.
const LEEWAY_SECS: i64 = 30;
/// The `typ` of RFC 9068 access tokens.
const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of a latchkey access token an API uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(default)]
    pub scope: String,
    pub auth_time: Option<i64>,
    pub acr: Option<String>,
    #[serde(default)]
    pub amr: Vec<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// RFC 9449: the key the token is bound to (DPoP); `None` for bearer tokens.
    #[serde(default)]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 / RFC 9449 §6.1 confirmation claim.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    pub jkt: String,
}

/// The parts of an HTTP request the token check reads.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `DPoP` header (the proof), if any.
    pub dpop: Option<&'a str>,
    /// The request's method (`GET`).
    pub method: &'a str,
    /// The request's URL as the client addressed it (scheme, host, path):
    /// what the proof's `htu` must name.
    pub url: &'a str,
}

impl Claims {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split_whitespace().any(|s| s == scope)
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.as_ref().is_some_and(|r| r.iter().any(|x| x == role))
    }
}

/// What a route needs of a token.
#[derive(Debug, Clone, Default)]
pub struct Requirement {
    /// Every one of these scopes.
    pub scopes: Vec<String>,
    /// One of these `acr` values (strongest last), if any are given.
    pub acr: Vec<String>,
    /// The user authenticated at most this many seconds ago.
    pub max_age: Option<i64>,
}

impl Requirement {
    pub fn scope(scope: &str) -> Requirement {
        Requirement { scopes: vec![scope.to_string()], ..Requirement::default() }
    }

    /// Also require an `acr` among `acr`, within `max_age` seconds.
    pub fn step_up(mut self, acr: &[&str], max_age: Option<i64>) -> Requirement {
        self.acr = acr.iter().map(|a| a.to_string()).collect();
        self.max_age = max_age;
        self
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token at all (RFC 6750 §3.1: a bare challenge).
    #[error("no access token")]
    Missing,
    #[error("the request is malformed")]
    Malformed,
    /// Bad signature, wrong issuer or audience, expired, unknown key.
    #[error("the access token is invalid")]
    InvalidToken,
    #[error("the access token lacks scope {0}")]
    InsufficientScope(String),
    /// RFC 9470: authenticate again, with this `acr` and/or freshness.
    #[error("stronger or more recent authentication is required")]
    InsufficientUserAuthentication { acr_values: Vec<String>, max_age: Option<i64> },
    /// The issuer's keys could not be fetched.
    #[error("the issuer's keys are unavailable")]
    Unavailable,
    /// RFC 9449: the DPoP proof is missing, invalid, replayed, or not of the
    /// key the token is bound to.
    #[error("the DPoP proof is invalid")]
    InvalidDpopProof,
}

impl AuthError {
    pub fn status(&self) -> u16 {
        match self {
            AuthError::Missing | AuthError::InvalidToken | AuthError::InsufficientUserAuthentication { .. } | AuthError::InvalidDpopProof => 401,
            AuthError::Malformed => 400,
            AuthError::InsufficientScope(_) => 403,
            AuthError::Unavailable => 503,
        }
    }

    /// [`AuthError::www_authenticate`] with RFC 9728 §5.1's
    /// `resource_metadata` on a Bearer challenge, so the client can find
    /// the authorization server. A URL with a quote or a control character
    /// is left out (it would break the header).
    pub fn www_authenticate_with_metadata(&self, metadata_url: &str) -> String {
        let base = self.www_authenticate();
        let safe = !metadata_url.is_empty() && metadata_url.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        if !(safe && base.starts_with("Bearer ")) {
            return base;
        }
        // Into the Bearer challenge's parameters: a DPoP challenge may follow
        // in the same header, and a parameter after it would be the DPoP one's.
        let param = format!(r#", resource_metadata="{metadata_url}""#);
        match base.find(", DPoP ") {
            Some(at) => format!("{}{param}{}", &base[..at], &base[at..]),
            None => format!("{base}{param}"),
        }
    }

    /// The `WWW-Authenticate` header value (fixed texts only: nothing from
    /// the request is echoed into it).
    pub fn www_authenticate(&self) -> String {
        match self {
            AuthError::Missing | AuthError::Unavailable => format!(r#"Bearer realm="api", DPoP algs="{}""#, latchkey_dpop::algorithm_names().join(" ")),
            AuthError::InvalidDpopProof => {
                format!(r#"DPoP algs="{}", error="invalid_dpop_proof", error_description="the DPoP proof is missing, invalid or used before""#, latchkey_dpop::algorithm_names().join(" "))
            }
            AuthError::Malformed => r#"Bearer realm="api", error="invalid_request""#.to_string(),
            AuthError::InvalidToken => r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid or expired""#.to_string(),
            AuthError::InsufficientScope(s) => format!(r#"Bearer realm="api", error="insufficient_scope", scope="{s}""#),
            AuthError::InsufficientUserAuthentication { acr_values, max_age } => {
                let mut h = r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a stronger or more recent sign-in is required""#.to_string();
                if !acr_values.is_empty() {
                    h.push_str(&format!(r#", acr_values="{}""#, acr_values.join(" ")));
                }
                if let Some(m) = max_age {
                    h.push_str(&format!(r#", max_age="{m}""#));
                }
                h
            }
        }
    }
}

/// RFC 9728 §2: what a client needs to know to get a token for this API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceMetadata {
    /// The resource identifier: the tokens' `aud`, the `resource` to ask for.
    pub resource: String,
    pub authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Only the `Authorization` header (RFC 6750 §2.1).
    pub bearer_methods_supported: Vec<&'static str>,
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
}

/// RFC 9728 §3: where the metadata of the API at `base` (scheme, host,
/// port, no path) lives.
pub fn metadata_url(base: &str) -> String {
    format!("{}/.well-known/oauth-protected-resource", base.trim_end_matches('/'))
}

/// RFC 9728 §3.1: where the metadata of the resource identified by
/// `resource` lives — the well-known path inserted between the host and the
/// resource's path (and query), so each resource of a host has its own:
/// `https://api.example/mcp` →
/// `https://api.example/.well-known/oauth-protected-resource/mcp`. A
/// resource without a path (or with just `/`) has [`metadata_url`]'s.
pub fn resource_metadata_url(resource: &str) -> String {
    let authority = resource.find("://").map_or(0, |i| i + 3);
    let split = resource[authority..].find(['/', '?', '#']).map_or(resource.len(), |i| i + authority);
    let (origin, rest) = resource.split_at(split);
    // A resource identifier has no fragment (RFC 9728 §1.2).
    let rest = rest.split('#').next().unwrap_or_default();
    let (path, query) = rest.split_once('?').map_or((rest, None), |(p, q)| (p, Some(q)));
    // Only the slash that ends the host goes (RFC 9728 §3.1).
    let path = if path == "/" { "" } else { path };
    let mut url = format!("{origin}/.well-known/oauth-protected-resource{path}");
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// Reads the current time (seconds since the epoch); tests supply their own.
pub type Now = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Most proof ids remembered at once (each for about a minute): beyond
/// this, proofs are refused until old ones expire, rather than memory grow.
const MAX_REMEMBERED_PROOFS: usize = 100_000;

/// The `jti`s of DPoP proofs seen in the last minute or so (this process):
/// a proof is accepted once.
#[derive(Default)]
struct SeenProofs {
    until: HashMap<String, i64>,
}

impl SeenProofs {
    /// Records `key` until `expires`; false when it was already there.
    fn first_use(&mut self, key: String, now: i64, expires: i64) -> bool {
        if self.until.len() >= MAX_REMEMBERED_PROOFS {
            self.until.retain(|_, e| *e > now);
            if self.until.len() >= MAX_REMEMBERED_PROOFS {
                return false;
            }
        }
        match self.until.get(&key) {
            Some(e) if *e > now => false,
            _ => {
                self.until.insert(key, expires);
                true
            }
        }
    }
}

struct KeyCache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched: Option<Instant>,
}

/// Verifies access tokens for one API (`audience`) of one issuer.
pub struct Verifier {
    issuer: String,
    audience: String,
    jwks_uri: String,
    http: reqwest::Client,
    now: Now,
    cache: RwLock<KeyCache>,
    seen_proofs: std::sync::Mutex<SeenProofs>,
}

/// The algorithm a JWK is for: only that one is accepted with it.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Some(Algorithm::ES256),
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => Some(Algorithm::EdDSA),
        _ => None,
    }
}

impl Verifier {
    /// A verifier for tokens of `issuer` meant for `audience`, with keys from
    /// `jwks_uri`, fetched with `http`.
    pub fn new(issuer: &str, audience: &str, jwks_uri: &str, http: reqwest::Client) -> Verifier {
        Verifier {
            issuer: issuer.trim_end_matches('/').to_string(),
            audience: audience.to_string(),
            jwks_uri: jwks_uri.to_string(),
            http,
            now: Arc::new(system_now),
            cache: RwLock::new(KeyCache { keys: HashMap::new(), fetched: None }),
            seen_proofs: Default::default(),
        }
    }

    /// The audience this verifier accepts: the API's resource identifier.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// This API's protected resource metadata (RFC 9728), naming `scopes`.
    pub fn resource_metadata(&self, scopes: &[&str]) -> ResourceMetadata {
        ResourceMetadata {
            resource: self.audience.clone(),
            authorization_servers: vec![self.issuer.clone()],
            scopes_supported: scopes.iter().map(|s| s.to_string()).collect(),
            bearer_methods_supported: vec!["header"],
            dpop_signing_alg_values_supported: latchkey_dpop::algorithm_names(),
        }
    }

    /// Uses another clock (tests).
    pub fn with_clock(mut self, now: Now) -> Verifier {
        self.now = now;
        self
    }

    async fn fetch_keys(&self) -> Result<(), AuthError> {
        let mut cache = self.cache.write().await;
        if cache.fetched.is_some_and(|t| t.elapsed() < JWKS_REFETCH_INTERVAL) {
            return Ok(());
        }
        let set: JwkSet = async { self.http.get(&self.jwks_uri).send().await?.error_for_status()?.json().await }.await.map_err(|_| AuthError::Unavailable)?;
        cache.keys = set
            .keys
            .iter()
            .filter_map(|k| {
                let kid = k.common.key_id.clone()?;
                let alg = algorithm_of(k)?;
                DecodingKey::from_jwk(k).ok().map(|d| (kid, (d, alg)))
            })
            .collect();
        cache.fetched = Some(Instant::now());
        Ok(())
    }

    async fn key(&self, kid: &str) -> Result<Option<(DecodingKey, Algorithm)>, AuthError> {
        if let Some(k) = self.cache.read().await.keys.get(kid) {
            return Ok(Some(k.clone()));
        }
        self.fetch_keys().await?;
        Ok(self.cache.read().await.keys.get(kid).cloned())
    }

    /// Verifies a token: signature by a current key of the issuer, `typ`,
    /// `iss`, `aud` (this API), `exp`.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        // EdDSA tokens may name their algorithm `Ed25519` (RFC 9864).
        let parsed = latchkey_dpop::jws::parse(token).map_err(|_| AuthError::InvalidToken)?;
        let header = &parsed.header;
        if header.typ.as_deref().map(str::to_ascii_lowercase).as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(AuthError::InvalidToken);
        }
        let kid = header.kid.as_deref().ok_or(AuthError::InvalidToken)?;
        let (key, alg) = self.key(kid).await?.ok_or(AuthError::InvalidToken)?;
        if header.alg != alg {
            return Err(AuthError::InvalidToken);
        }
        let claims: Claims = parsed.verify(&key).map_err(|_| AuthError::InvalidToken)?;
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(AuthError::InvalidToken);
        }
        if claims.exp + LEEWAY_SECS <= (self.now)() {
            return Err(AuthError::InvalidToken);
        }
        Ok(claims)
    }

    /// Checks an `Authorization: Bearer` header against a route's
    /// [`Requirement`]. A DPoP-bound token is refused here: use
    /// [`Verifier::check_request`], which sees the proof.
    pub async fn check(&self, authorization: Option<&str>, need: &Requirement) -> Result<Claims, AuthError> {
        self.check_request(&Request { authorization, dpop: None, method: "", url: "" }, need).await
    }

    /// Checks a request's token against a route's [`Requirement`]: a bearer
    /// token (`Authorization: Bearer`), or a DPoP-bound one (`Authorization:
    /// DPoP` with a `DPoP` proof of the token's key, for this method and URL,
    /// naming this token, used once).
    pub async fn check_request(&self, req: &Request<'_>, need: &Requirement) -> Result<Claims, AuthError> {
        let header = req.authorization.ok_or(AuthError::Missing)?;
        let (scheme, token) = header.split_once(' ').ok_or(AuthError::Malformed)?;
        let token = token.trim();
        let dpop = if scheme.eq_ignore_ascii_case("bearer") {
            false
        } else if scheme.eq_ignore_ascii_case("dpop") {
            true
        } else {
            return Err(AuthError::Malformed);
        };
        let claims = self.verify(token).await?;
        match (dpop, &claims.cnf) {
            (false, None) => {}
            // A bound token without its proof is no credential (RFC 9449 §7.2).
            (false, Some(_)) => return Err(AuthError::InvalidToken),
            (true, cnf) => {
                let now = (self.now)();
                let proof = req.dpop.ok_or(AuthError::InvalidDpopProof)?;
                let proof = latchkey_dpop::verify(proof, &latchkey_dpop::Expected { method: req.method, url: req.url, now, access_token: Some(token) }).map_err(|_| AuthError::InvalidDpopProof)?;
                if cnf.as_ref().map(|c| c.jkt.as_str()) != Some(proof.jkt.as_str()) {
                    return Err(AuthError::InvalidDpopProof);
                }
                let expires = now + proof.replay_window(now) as i64;
                if !self.seen_proofs.lock().unwrap_or_else(|p| p.into_inner()).first_use(format!("{}:{}", proof.jkt, proof.jti), now, expires) {
                    return Err(AuthError::InvalidDpopProof);
                }
            }
        }
        if let Some(missing) = need.scopes.iter().find(|s| !claims.has_scope(s)) {
            return Err(AuthError::InsufficientScope(missing.clone()));
        }
        let acr_ok = need.acr.is_empty() || claims.acr.as_ref().is_some_and(|a| need.acr.contains(a));
        let fresh = need.max_age.is_none_or(|m| claims.auth_time.is_some_and(|t| (self.now)() - t <= m));
        if !acr_ok || !fresh {
            return Err(AuthError::InsufficientUserAuthentication { acr_values: need.acr.clone(), max_age: need.max_age });
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_401_points_at_the_protected_resource_metadata() {
        let url = metadata_url("https://api.example/");
        assert_eq!(url, "https://api.example/.well-known/oauth-protected-resource");
        let missing = AuthError::Missing.www_authenticate_with_metadata(&url);
        assert!(
            missing.starts_with(r#"Bearer realm="api", resource_metadata="https://api.example/.well-known/oauth-protected-resource", DPoP algs=""#),
            "in the Bearer challenge, before the DPoP one: {missing}"
        );
        assert!(AuthError::InsufficientScope("orders:read".into()).www_authenticate_with_metadata(&url).contains(r#"scope="orders:read", resource_metadata="#));
        assert!(!AuthError::InvalidDpopProof.www_authenticate_with_metadata(&url).contains("resource_metadata"), "a DPoP challenge is not a Bearer one");
        assert!(!AuthError::Missing.www_authenticate_with_metadata("https://x/\"a").contains("resource_metadata"), "a quote would break the header");
        let v = Verifier::new("https://id.example/", "https://api.example", "https://id.example/jwks", reqwest::Client::new());
        let doc = serde_json::to_value(v.resource_metadata(&["orders:read"])).unwrap();
        assert_eq!(doc["resource"], "https://api.example");
        assert_eq!(doc["authorization_servers"], serde_json::json!(["https://id.example"]));
        assert_eq!(doc["scopes_supported"], serde_json::json!(["orders:read"]));
        assert_eq!(doc["bearer_methods_supported"], serde_json::json!(["header"]));
    }

    /// RFC 9728 §3.1: the well-known path goes between the host and the
    /// resource's path, so an MCP endpoint `/mcp` has a document of its own.
    #[test]
    fn a_resource_with_a_path_has_its_metadata_under_that_path() {
        for (resource, expected) in [
            ("http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"),
            ("https://api.example/tenant/mcp/", "https://api.example/.well-known/oauth-protected-resource/tenant/mcp/"),
            ("https://api.example/mcp?v=2", "https://api.example/.well-known/oauth-protected-resource/mcp?v=2"),
            ("https://api.example/", "https://api.example/.well-known/oauth-protected-resource"),
            ("https://api.example", "https://api.example/.well-known/oauth-protected-resource"),
            ("https://api.example?x=1", "https://api.example/.well-known/oauth-protected-resource?x=1"),
        ] {
            assert_eq!(resource_metadata_url(resource), expected, "{resource}");
        }
        let v = Verifier::new("https://id.example", "https://api.example/mcp", "https://id.example/jwks", reqwest::Client::new());
        assert_eq!(v.audience(), "https://api.example/mcp");
    }

    #[test]
    fn challenges_follow_rfc6750_and_rfc9470() {
        assert_eq!(AuthError::Missing.www_authenticate(), r#"Bearer realm="api", DPoP algs="ES256 EdDSA Ed25519 PS256 RS256""#);
        assert!(AuthError::InvalidDpopProof.www_authenticate().starts_with("DPoP "));
        assert_eq!(AuthError::InsufficientScope("orders:read".into()).status(), 403);
        let e = AuthError::InsufficientUserAuthentication { acr_values: vec!["urn:latchkey:acr:mfa".into()], max_age: Some(300) };
        assert_eq!(e.status(), 401);
        assert_eq!(
            e.www_authenticate(),
            r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a stronger or more recent sign-in is required", acr_values="urn:latchkey:acr:mfa", max_age="300""#
        );
    }

    #[tokio::test]
    async fn malformed_and_missing_headers_are_refused_before_any_fetch() {
        let v = Verifier::new("http://issuer.invalid", "https://api", "http://issuer.invalid/jwks", reqwest::Client::new());
        assert_eq!(v.check(None, &Requirement::default()).await.err(), Some(AuthError::Missing));
        assert_eq!(v.check(Some("Basic abc"), &Requirement::default()).await.err(), Some(AuthError::Malformed));
        assert_eq!(v.check(Some("Bearer not.a.jwt"), &Requirement::default()).await.err(), Some(AuthError::InvalidToken));
        assert_eq!(v.check(Some("Bearer"), &Requirement::default()).await.err(), Some(AuthError::Malformed));
    }

    /// Signs `claims` with `header` the way oauth4webapi does (`"alg":
    /// "Ed25519"` cannot be written with jsonwebtoken's header type).
    fn sign_raw(pair: &aws_lc_rs::signature::Ed25519KeyPair, header: serde_json::Value, claims: serde_json::Value) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref()))
    }

    /// RFC 9864: an Ed25519 key's algorithm may be named `Ed25519` — in the
    /// issuer's access token and in the client's DPoP proof alike.
    #[tokio::test]
    async fn ed25519_named_tokens_and_proofs_are_accepted() {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use serde_json::json;
        const NOW: i64 = 1_800_000_000;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let issuer_key = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).expect("key").as_ref()).expect("key");
        let issuer_jwk: Jwk = serde_json::from_value(json!({ "kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": URL_SAFE_NO_PAD.encode(issuer_key.public_key().as_ref()) })).expect("jwk");
        let v = Verifier::new("https://id.example", "https://api.example", "https://id.example/jwks", reqwest::Client::new()).with_clock(Arc::new(|| NOW));
        {
            let mut cache = v.cache.write().await;
            cache.keys.insert("k1".into(), (DecodingKey::from_jwk(&issuer_jwk).expect("key"), Algorithm::EdDSA));
            cache.fetched = Some(Instant::now());
        }
        let claims = |cnf: Option<&str>| json!({ "iss": "https://id.example", "sub": "u1", "aud": "https://api.example", "exp": NOW + 60, "iat": NOW, "jti": "t1", "client_id": "c1", "scope": "orders:read", "cnf": cnf.map(|j| json!({ "jkt": j })) });
        for alg in ["Ed25519", "EdDSA"] {
            let token = sign_raw(&issuer_key, json!({ "alg": alg, "typ": "at+jwt", "kid": "k1" }), claims(None));
            let got = v.check(Some(&format!("Bearer {token}")), &Requirement::scope("orders:read")).await.expect("accepted");
            assert_eq!(got.sub, "u1", "{alg}");
        }
        // Audience and issuer are still checked on the new path.
        let mut other_aud = claims(None);
        other_aud["aud"] = json!("https://other.example");
        let token = sign_raw(&issuer_key, json!({ "alg": "Ed25519", "typ": "at+jwt", "kid": "k1" }), other_aud);
        assert_eq!(v.check(Some(&format!("Bearer {token}")), &Requirement::default()).await.err(), Some(AuthError::InvalidToken));

        // A DPoP-bound token, its proof signed with `"alg": "Ed25519"`.
        let client_key = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).expect("key").as_ref()).expect("key");
        let client_jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(client_key.public_key().as_ref()) });
        let jkt = serde_json::from_value::<Jwk>(client_jwk.clone()).expect("jwk").thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).expect("thumbprint");
        let token = sign_raw(&issuer_key, json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "k1" }), claims(Some(&jkt)));
        let url = "https://api.example/orders";
        let proof = sign_raw(
            &client_key,
            json!({ "typ": "dpop+jwt", "alg": "Ed25519", "jwk": client_jwk }),
            json!({ "jti": "p1", "htm": "GET", "htu": url, "iat": NOW, "ath": latchkey_dpop::access_token_hash(&token) }),
        );
        let authorization = format!("DPoP {token}");
        let req = Request { authorization: Some(&authorization), dpop: Some(&proof), method: "GET", url };
        assert_eq!(v.check_request(&req, &Requirement::default()).await.expect("bound token with its proof").sub, "u1");
        assert_eq!(v.check_request(&req, &Requirement::default()).await.err(), Some(AuthError::InvalidDpopProof), "the proof is single use");
    }

    #[test]
    fn a_proof_id_is_accepted_once_and_memory_is_bounded() {
        let mut seen = SeenProofs::default();
        assert!(seen.first_use("k:1".into(), 100, 170));
        assert!(!seen.first_use("k:1".into(), 150, 220), "replayed within its window");
        assert!(seen.first_use("k:1".into(), 171, 240), "remembered only while a proof with it could be valid");
        for i in 0..MAX_REMEMBERED_PROOFS {
            seen.until.insert(format!("fill:{i}"), 1_000);
        }
        assert!(!seen.first_use("k:2".into(), 200, 260), "full of live entries: refused, not grown");
        assert!(seen.first_use("k:3".into(), 1_001, 1_060), "expired entries make room");
        assert!(seen.until.len() < 10);
    }
}
