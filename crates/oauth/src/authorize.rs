//! The authorization endpoint's request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1)
//! and the decision of what to do with it.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use latchkey_domain::{Acr, Api, Client, ClientKind, GrantType, Scope, ScopeSet, Session};
use serde::{Deserialize, Serialize};

use crate::error::{AuthorizeError, ErrorCode};
use crate::pkce;

/// The raw parameters, from the query (GET) or the form body (POST).
#[derive(Debug, Default, Clone)]
pub struct AuthorizeParams {
    values: HashMap<String, String>,
    duplicated: Option<String>,
    /// `resource` given more than once (RFC 8707 §2: it may be): the values
    /// after the first.
    more_resources: Vec<String>,
    /// Pushed first (RFC 9126) by an authenticated client, then pulled at
    /// `/authorize` with its `request_uri`.
    pub pushed: bool,
}

impl AuthorizeParams {
    /// RFC 6749 §3.1: parameters MUST NOT appear more than once.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> AuthorizeParams {
        let mut p = AuthorizeParams::default();
        for (k, v) in pairs {
            match p.values.entry(k) {
                Entry::Occupied(e) if e.key() == "resource" => p.more_resources.push(v),
                Entry::Occupied(e) => {
                    p.duplicated.get_or_insert_with(|| e.key().clone());
                }
                Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        p
    }

    /// The parameters of a request pushed to `/par` (RFC 9126).
    pub fn pushed(pairs: Vec<(String, String)>) -> AuthorizeParams {
        AuthorizeParams { pushed: true, ..AuthorizeParams::from_pairs(pairs) }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Every `resource` value (RFC 8707 §2: one per API the grant is for).
    pub fn resources(&self) -> Vec<&str> {
        self.get("resource").into_iter().chain(self.more_resources.iter().map(String::as_str).filter(|v| !v.is_empty())).collect()
    }

    /// The first parameter that breaks a size limit, if any.
    fn oversized(&self) -> Option<String> {
        if self.values.len() > MAX_PARAMS {
            return Some("too many parameters".into());
        }
        if self.more_resources.len() >= crate::apis::MAX_RESOURCES {
            return Some(format!("at most {} resource parameters", crate::apis::MAX_RESOURCES));
        }
        if let Some(long) = self.more_resources.iter().find(|r| r.len() > MAX_PARAM_LEN) {
            return Some(format!("parameter resource is too long ({} characters)", long.len()));
        }
        let limit = |name: &str| match name {
            "state" => MAX_STATE_LEN,
            "nonce" => MAX_NONCE_LEN,
            "login_hint" => MAX_LOGIN_HINT_LEN,
            "acr_values" => MAX_ACR_VALUES_LEN,
            "scope" => MAX_SCOPE_LEN,
            _ => MAX_PARAM_LEN,
        };
        let mut names: Vec<&String> = self.values.keys().collect();
        names.sort();
        names.into_iter().find(|k| k.len() > 64 || self.values[*k].len() > limit(k)).map(|k| format!("parameter {} is too long", k.chars().take(64).collect::<String>()))
    }
}

/// Longest value any authorization parameter may have. Requests are parked
/// for minutes, so nothing an unauthenticated client sends may be large.
pub const MAX_PARAM_LEN: usize = 2048;
/// At most this many parameters (the specs define about twenty).
pub const MAX_PARAMS: usize = 40;
/// `state` is an opaque value of the client's: 1 KiB is plenty for a nonce
/// plus a return path.
pub const MAX_STATE_LEN: usize = 1024;
/// `nonce`: echoed into the ID token.
pub const MAX_NONCE_LEN: usize = 512;
/// `login_hint`: a username or an email address (RFC 5321 limit).
pub const MAX_LOGIN_HINT_LEN: usize = 254;
/// `acr_values`: a handful of URNs.
pub const MAX_ACR_VALUES_LEN: usize = 512;
/// `scope`: every scope we know, many times over.
pub const MAX_SCOPE_LEN: usize = 1024;

/// `prompt` values (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prompt {
    None,
    Login,
    Consent,
    SelectAccount,
}

/// A validated request, parked in the fast store while the user signs in and consents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// Encoded PKCE challenge (oxide-auth's private encoding).
    pub pkce: Option<String>,
    pub prompt: Vec<Prompt>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub acr_values: Vec<String>,
    /// RFC 8707: the audience of the API the access token is for.
    #[serde(default)]
    pub resource: Option<String>,
    /// RFC 8707 §2: the APIs named when the request named several (then
    /// `resource` is `None`): the token endpoint issues a token for one of
    /// them per request.
    #[serde(default)]
    pub resources: Vec<String>,
    /// How the answer reaches the client (OAuth 2.0 Form Post Response Mode).
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// The subject of a valid `id_token_hint` (OIDC Core §3.1.2.1): with
    /// `prompt=none`, a session of anyone else is `login_required`.
    #[serde(default)]
    pub hint_sub: Option<String>,
    /// The `sub` value the `claims` parameter demands (OIDC Core §5.5.1):
    /// only that user's sign-in answers the request.
    #[serde(default)]
    pub required_sub: Option<String>,
    /// `ui_locales` (OIDC Core §3.1.2.1) as sent, bounded by
    /// [`MAX_PARAM_LEN`]: the pages of this request (sign-in, second
    /// factor, consent) are in its first supported language.
    #[serde(default)]
    pub ui_locales: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code will be bound to.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    pub created_at: i64,
    /// Keyed hash of the browser's CSRF cookie: the request belongs to this browser.
    pub browser: String,
    /// Whose share of the parked requests' memory this counts against (the
    /// client address; see `FastStore::put_evictable`).
    #[serde(default)]
    pub parked_by: String,
}

impl PendingAuthorization {
    pub fn scopes(&self) -> ScopeSet {
        ScopeSet::parse_lenient(&self.scope)
    }

    pub fn has_prompt(&self, p: Prompt) -> bool {
        self.prompt.contains(&p)
    }

    /// The least `acr` that meets the request, if it named any we know.
    /// `acr_values` lists acceptable values (OIDC Core §3.1.2.1): meeting any
    /// one of them is enough, so the weakest listed is the bar (an API asking
    /// for "mfa or phr" is satisfied by a second factor).
    pub fn requested_acr(&self) -> Option<Acr> {
        self.acr_values.iter().filter_map(|a| Acr::parse(a)).min()
    }
}

/// How the authorization response is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// A redirect with the answer in the query (RFC 6749 §4.1.2).
    #[default]
    Query,
    /// An auto-submitting HTML form that POSTs the answer to the redirect URI
    /// (OAuth 2.0 Form Post Response Mode): the code stays out of URLs,
    /// browser history and `Referer` headers.
    FormPost,
}

impl ResponseMode {
    /// What a request asked for; `None` for an unknown mode.
    pub fn parse(mode: Option<&str>) -> Option<ResponseMode> {
        match mode {
            None | Some("query") => Some(ResponseMode::Query),
            Some("form_post") => Some(ResponseMode::FormPost),
            Some(_) => None,
        }
    }
}

/// What the browser should see next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Show the sign-in page (the user must authenticate, or authenticate again).
    Login,
    /// Show the consent page.
    Consent,
    /// Redirect to the client with this URL (a code, or an error).
    Redirect(String),
}

fn no_redirect(msg: &str) -> AuthorizeError {
    AuthorizeError::NoRedirect(msg.to_string())
}

/// Step one: the client and its redirect URI. Until both check out, errors are
/// shown as a page and never redirected.
pub fn check_client<'a>(params: &'a AuthorizeParams, client: Option<&Client>) -> Result<&'a str, AuthorizeError> {
    let client = client.ok_or_else(|| no_redirect("Unknown client. The application that sent you here is not registered."))?;
    if client.disabled_at.is_some() {
        return Err(no_redirect("This application is disabled by an administrator."));
    }
    let redirect_uri = params.get("redirect_uri").ok_or_else(|| no_redirect("The request has no redirect_uri."))?;
    if !client.has_redirect_uri(redirect_uri) {
        return Err(no_redirect("The redirect_uri does not match any URI registered for this application."));
    }
    if let Some(dup) = &params.duplicated {
        if dup == "client_id" || dup == "redirect_uri" {
            return Err(no_redirect("A parameter was given more than once."));
        }
    }
    Ok(redirect_uri)
}

/// Step two: everything else. Errors from here on are redirected to the client.
/// `apis` is the registry of APIs (for `resource` and API scopes).
pub fn validate(params: &AuthorizeParams, client: &Client, apis: &[Api], redirect_uri: &str, id: String, browser: String, now: i64) -> Result<PendingAuthorization, AuthorizeError> {
    let state = params.get("state").map(str::to_string);
    let fail = |code: ErrorCode, description: &str| AuthorizeError::Redirect { redirect_uri: redirect_uri.to_string(), state: state.clone(), code, description: description.to_string() };
    if let Some(dup) = &params.duplicated {
        return Err(fail(ErrorCode::InvalidRequest, &format!("parameter {} was given more than once", dup.chars().take(64).collect::<String>())));
    }
    if let Some(what) = params.oversized() {
        return Err(fail(ErrorCode::InvalidRequest, &what));
    }
    if params.get("request").is_some() {
        return Err(fail(ErrorCode::RequestNotSupported, "request objects are not supported"));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(ErrorCode::RequestUriNotSupported, "request_uri is not supported"));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some(_) => return Err(fail(ErrorCode::UnsupportedResponseType, "only response_type=code is supported")),
    }
    let Some(response_mode) = ResponseMode::parse(params.get("response_mode")) else {
        return Err(fail(ErrorCode::InvalidRequest, "response_mode must be query or form_post"));
    };
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(ErrorCode::UnauthorizedClient, "this client may not use the authorization code flow"));
    }
    let requested = ScopeSet::parse_lenient(params.get("scope").unwrap_or(""));
    let redirect_oauth = |e: crate::error::OAuthError| match e {
        crate::error::OAuthError::Protocol { code, description } => fail(code, &description),
        other => fail(ErrorCode::ServerError, &other.to_string()),
    };
    let named = crate::apis::resources(apis, &params.resources()).map_err(redirect_oauth)?;
    let granted = granted_scopes_for(apis, client, &requested, &named).map_err(redirect_oauth)?;
    let resource = match named.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    let nonce = params.get("nonce").map(str::to_string);
    let pkce_required = client.kind() == ClientKind::Public;
    let pkce = pkce::accept_challenge(params.get("code_challenge_method"), params.get("code_challenge"), pkce_required).map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    let mut prompt = Vec::new();
    for p in params.get("prompt").unwrap_or("").split_whitespace() {
        prompt.push(match p {
            "none" => Prompt::None,
            "login" => Prompt::Login,
            "consent" => Prompt::Consent,
            "select_account" => Prompt::SelectAccount,
            _ => return Err(fail(ErrorCode::InvalidRequest, "unknown prompt value")),
        });
    }
    if prompt.contains(&Prompt::None) && prompt.len() > 1 {
        return Err(fail(ErrorCode::InvalidRequest, "prompt=none cannot be combined with other values"));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| fail(ErrorCode::InvalidRequest, "max_age must be a non-negative integer"))?),
    };
    let claims = match params.get("claims") {
        Some(text) => claims_request(text).map_err(|d| fail(ErrorCode::InvalidRequest, d))?,
        None => ClaimsRequest::default(),
    };
    let dpop_jkt = match params.get("dpop_jkt") {
        Some(jkt) if is_jwk_thumbprint(jkt) => Some(jkt.to_string()),
        Some(_) => return Err(fail(ErrorCode::InvalidRequest, "dpop_jkt must be a base64url SHA-256 JWK thumbprint (RFC 9449 §10)")),
        None => None,
    };
    let mut acr_values: Vec<String> = params.get("acr_values").unwrap_or("").split_whitespace().map(str::to_string).collect();
    if acr_values.is_empty() {
        acr_values = claims.acr_values;
    }
    Ok(PendingAuthorization {
        id,
        client_id: client.id.0.clone(),
        redirect_uri: redirect_uri.to_string(),
        scope: granted.to_string(),
        state,
        nonce,
        pkce,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_string),
        acr_values,
        resource: resource.map(|a| a.audience.clone()),
        resources: if named.len() > 1 { named.iter().map(|a| a.audience.clone()).collect() } else { Vec::new() },
        response_mode,
        hint_sub: None,
        required_sub: claims.sub,
        ui_locales: params.get("ui_locales").map(str::to_string),
        dpop_jkt,
        created_at: now,
        browser,
        parked_by: String::new(),
    })
}

/// Length of a base64url SHA-256 JWK thumbprint (RFC 7638) without padding.
const JKT_LEN: usize = 43;

/// Whether `s` can be a SHA-256 JWK thumbprint (`dpop_jkt`, `cnf.jkt`).
pub fn is_jwk_thumbprint(s: &str) -> bool {
    s.len() == JKT_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The scopes a user is asked to grant `client` for a request of
/// `requested` (at `/authorize`, `/par` and `/device_authorization`).
/// RFC 6749 §3.3: what is both asked for and allowed, never more; an API
/// scope the client may not have is refused, not dropped; nothing left is
/// `invalid_scope`.
pub fn granted_scopes(apis: &[Api], client: &Client, requested: &ScopeSet, resource: Option<&Api>) -> Result<ScopeSet, crate::error::OAuthError> {
    granted_scopes_for(apis, client, requested, resource.as_slice())
}

/// [`granted_scopes`] for a request naming any number of resources (RFC
/// 8707 §2). With several, every API scope must be one of theirs and each
/// must be given a scope: the token endpoint then issues a token per
/// resource (an access token has one audience), never one for them all.
pub fn granted_scopes_for(apis: &[Api], client: &Client, requested: &ScopeSet, resources: &[&Api]) -> Result<ScopeSet, crate::error::OAuthError> {
    let api_scopes = crate::apis::allowed_api_scopes_for(apis, client, requested, resources)?;
    if resources.len() > 1 {
        if let Some(bare) = resources.iter().find(|r| !api_scopes.api_names().any(|n| r.has_scope(n))) {
            return Err(crate::error::OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("with several resources, ask for at least one scope of each (none of {} was asked for or allowed)", bare.audience),
            ));
        }
    }
    let granted = ScopeSet::from_iter(requested.iter().filter(|s| s.user_facing() && client.allowed_scopes.contains(*s))).union(&api_scopes);
    if granted.is_empty() {
        return Err(crate::error::OAuthError::new(ErrorCode::InvalidScope, "no requested scope is allowed for this client"));
    }
    Ok(granted)
}

/// What latchkey acts on in a `claims` request parameter (OIDC Core §5.5).
/// Claims themselves are delivered as the granted scopes allow, in both the
/// ID token and userinfo; a claim asked for beyond them is not an error
/// (§5.5: the OP may decline) and is not delivered — consent is per scope.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClaimsRequest {
    /// `acr` marked essential with `value`/`values`: as `acr_values`.
    pub acr_values: Vec<String>,
    /// `sub` with a `value`: only that user's sign-in answers (§5.5.1).
    pub sub: Option<String>,
}

/// Parses the `claims` parameter: a JSON object whose `userinfo` and
/// `id_token` members (each optional) map claim names to `null` or to
/// `{essential, value, values}`.
pub fn claims_request(text: &str) -> Result<ClaimsRequest, &'static str> {
    let bad = "claims must be a JSON object of userinfo and id_token requests (OIDC Core §5.5)";
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| bad)?;
    let top = v.as_object().ok_or(bad)?;
    let mut out = ClaimsRequest::default();
    for target in ["userinfo", "id_token"] {
        let Some(members) = top.get(target) else { continue };
        if members.is_null() {
            continue;
        }
        let members = members.as_object().ok_or(bad)?;
        for (name, spec) in members {
            if !(spec.is_null() || spec.is_object()) {
                return Err(bad);
            }
            let essential = spec.get("essential").is_some_and(|e| e == &serde_json::Value::Bool(true));
            let mut values: Vec<String> = spec.get("values").and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default();
            if let Some(one) = spec.get("value").and_then(|v| v.as_str()) {
                values.push(one.to_string());
            }
            match name.as_str() {
                "acr" if essential && target == "id_token" => out.acr_values.extend(values),
                "sub" => {
                    if let Some(sub) = values.first() {
                        if out.sub.as_deref().is_some_and(|s| s != sub) {
                            return Err("claims names two different sub values");
                        }
                        out.sub = Some(sub.clone());
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Whether the session satisfies the request's demands on authentication:
/// `prompt=login` and `max_age` need an authentication newer than the request
/// (or within `max_age`), and `acr_values` a strong enough one. A session
/// restored from a remember-me device keeps its original `auth_time` and
/// never satisfies `prompt=login`, `max_age=0` or a requested `acr`: only
/// the person at the keyboard can.
pub fn session_satisfies(req: &PendingAuthorization, session: &Session, now: i64) -> bool {
    if session.restored && (req.has_prompt(Prompt::Login) || req.max_age == Some(0) || req.requested_acr().is_some()) {
        return false;
    }
    let authenticated_for_this_request = session.auth_time >= req.created_at;
    if req.has_prompt(Prompt::Login) && !authenticated_for_this_request {
        return false;
    }
    if let Some(max_age) = req.max_age {
        // max_age=0 means "authenticate now", like prompt=login (as Keycloak and
        // Hydra read it); times are in seconds, so a sign-in in the same second
        // as the request counts as fresh.
        let too_old = if max_age == 0 { true } else { now - session.auth_time > max_age };
        if too_old && !authenticated_for_this_request {
            return false;
        }
    }
    if let Some(acr) = req.requested_acr() {
        if session.acr() < acr {
            return false;
        }
    }
    true
}

/// Whether the session meets everything but the requested `acr` (so the user
/// only needs to add a factor, not sign in again).
pub fn needs_only_stronger_acr(req: &PendingAuthorization, session: &Session, now: i64) -> bool {
    // A restored session signs in again in full: its first factor was not
    // presented in this browser session either.
    if session.restored {
        return false;
    }
    let stronger = req.requested_acr().is_some_and(|acr| session.acr() < acr);
    let without_acr = PendingAuthorization { acr_values: Vec::new(), ..req.clone() };
    stronger && session_satisfies(&without_acr, session, now)
}

/// Builds the redirect for an error that may be sent to the client
/// (with `iss`, RFC 9207).
pub fn error_redirect(redirect_uri: &str, state: Option<&str>, code: ErrorCode, description: &str, issuer: &str) -> String {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return redirect_uri.to_string(),
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", code.as_str());
        q.append_pair("error_description", description);
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer);
    }
    url.to_string()
}

/// Builds the success redirect (RFC 6749 §4.1.2, RFC 9207).
pub fn code_redirect(redirect_uri: &str, code: &str, state: Option<&str>, issuer: &str) -> String {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return redirect_uri.to_string(),
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", code);
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer);
    }
    url.to_string()
}

/// Whether `scope` asks for an ID token.
pub fn is_openid(scopes: &ScopeSet) -> bool {
    scopes.contains(Scope::OpenId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::{Amr, ClientId, SessionKey, SigningAlg, UserId};

    fn client(public: bool) -> Client {
        Client {
            id: ClientId("app".into()),
            name: "App".into(),
            secret_hash: if public { None } else { Some("h".into()) },
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            allowed_scopes: ScopeSet::parse_lenient("openid profile email"),
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
            links: Default::default(),
            self_registered: false,
            token_exchange: Default::default(),
        }
    }

    fn params(pairs: &[(&str, &str)]) -> AuthorizeParams {
        AuthorizeParams::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![("client_id", "app"), ("redirect_uri", "https://app.example/cb"), ("response_type", "code"), ("scope", "openid email offline_access admin"), ("state", "xyz")]
    }

    #[test]
    fn unknown_client_and_bad_redirect_never_redirect() {
        let p = params(&base());
        assert!(matches!(check_client(&p, None), Err(AuthorizeError::NoRedirect(_))));
        let p = params(&[("client_id", "app"), ("redirect_uri", "https://evil.example/cb")]);
        assert!(matches!(check_client(&p, Some(&client(false))), Err(AuthorizeError::NoRedirect(_))));
        let p = params(&[("client_id", "app")]);
        assert!(matches!(check_client(&p, Some(&client(false))), Err(AuthorizeError::NoRedirect(_))));
    }

    #[test]
    fn scopes_are_narrowed_to_what_the_client_may_have() {
        let p = params(&base());
        let c = client(false);
        let uri = check_client(&p, Some(&c)).unwrap();
        let req = validate(&p, &c, &[], uri, "id".into(), "b".into(), 100).unwrap();
        assert_eq!(req.scope, "openid email");
        assert_eq!(req.state.as_deref(), Some("xyz"));
    }

    #[test]
    fn public_client_needs_pkce_and_errors_redirect_with_state() {
        let p = params(&base());
        let c = client(true);
        match validate(&p, &c, &[], "https://app.example/cb", "id".into(), "b".into(), 0) {
            Err(AuthorizeError::Redirect { code, state, .. }) => {
                assert_eq!(code, ErrorCode::InvalidRequest);
                assert_eq!(state.as_deref(), Some("xyz"));
            }
            other => panic!("expected redirect error, got {other:?}"),
        }
    }

    #[test]
    fn response_type_and_prompt_checks() {
        let c = client(false);
        let mut pairs = base();
        pairs[2] = ("response_type", "token");
        assert!(matches!(validate(&params(&pairs), &c, &[], "https://app.example/cb", "i".into(), "b".into(), 0), Err(AuthorizeError::Redirect { code: ErrorCode::UnsupportedResponseType, .. })));
        let mut pairs = base();
        pairs.push(("prompt", "none login"));
        assert!(validate(&params(&pairs), &c, &[], "https://app.example/cb", "i".into(), "b".into(), 0).is_err());
        let mut pairs = base();
        pairs.push(("max_age", "-1"));
        assert!(validate(&params(&pairs), &c, &[], "https://app.example/cb", "i".into(), "b".into(), 0).is_err());
    }

    #[test]
    fn freshness_rules() {
        let c = client(false);
        let mut pairs = base();
        pairs.push(("max_age", "60"));
        let req = validate(&params(&pairs), &c, &[], "https://app.example/cb", "i".into(), "b".into(), 1000).unwrap();
        let mut s = Session {
            key: SessionKey("k".into()),
            sid: "s".into(),
            user_id: UserId("u".into()),
            created_at: 0,
            last_seen_at: 990,
            auth_time: 900,
            amr: vec![Amr::Pwd],
            ip: None,
            user_agent: None,
            revoked_at: None,
            device_name: None,
            device_id: None,
            restored: false,
        };
        assert!(!session_satisfies(&req, &s, 1000), "auth 100 s ago, max_age 60");
        s.auth_time = 950;
        assert!(session_satisfies(&req, &s, 1000));
        let mut pairs = base();
        pairs.push(("acr_values", "urn:latchkey:acr:mfa"));
        let req = validate(&params(&pairs), &c, &[], "https://app.example/cb", "i".into(), "b".into(), 1000).unwrap();
        assert!(!session_satisfies(&req, &s, 1000), "password-only session does not meet mfa");
        let mut pairs = base();
        pairs.push(("acr_values", "urn:latchkey:acr:mfa urn:latchkey:acr:phr"));
        let req = validate(&params(&pairs), &c, &[], "https://app.example/cb", "i".into(), "b".into(), 1000).unwrap();
        assert_eq!(req.requested_acr(), Some(Acr::MultiFactor), "any listed value is acceptable: the weakest is the bar");
        s.amr = vec![Amr::Pwd, Amr::Otp, Amr::Mfa];
        assert!(session_satisfies(&req, &s, 1000));
    }

    #[test]
    fn redirects_carry_iss_and_state() {
        let u = code_redirect("https://app.example/cb?x=1", "abc", Some("st"), "http://localhost:8080");
        assert_eq!(u, "https://app.example/cb?x=1&code=abc&state=st&iss=http%3A%2F%2Flocalhost%3A8080");
        let e = error_redirect("https://app.example/cb", None, ErrorCode::LoginRequired, "sign in", "http://i");
        assert!(e.contains("error=login_required") && e.contains("iss=http%3A%2F%2Fi"));
    }

    #[test]
    fn claims_parameter_is_parsed_for_acr_and_sub() {
        let r = claims_request(r#"{"id_token":{"acr":{"essential":true,"values":["urn:latchkey:acr:mfa"]},"email":null},"userinfo":{"sub":{"value":"u1"},"name":{"essential":true}}}"#).unwrap();
        assert_eq!(r, ClaimsRequest { acr_values: vec!["urn:latchkey:acr:mfa".into()], sub: Some("u1".into()) });
        assert_eq!(claims_request(r#"{"id_token":{"acr":{"values":["urn:latchkey:acr:mfa"]}}}"#).unwrap().acr_values, Vec::<String>::new(), "a voluntary acr is no requirement");
        assert_eq!(claims_request(r#"{"userinfo":null,"other":1}"#).unwrap(), ClaimsRequest::default());
        for bad in ["", "[]", "\"x\"", r#"{"id_token":[]}"#, r#"{"id_token":{"email":true}}"#, r#"{"id_token":{"sub":{"value":"a"}},"userinfo":{"sub":{"value":"b"}}}"#, "{"] {
            assert!(claims_request(bad).is_err(), "{bad}");
        }
        // Through validate: essential acr becomes the bar; malformed claims is a redirect error.
        let c = client(false);
        let mut pairs = base();
        pairs.push(("claims", r#"{"id_token":{"acr":{"essential":true,"value":"urn:latchkey:acr:mfa"}}}"#));
        let req = validate(&params(&pairs), &c, &[], "https://app.example/cb", "i".into(), "b".into(), 1000).unwrap();
        assert_eq!(req.requested_acr(), Some(Acr::MultiFactor));
        let mut pairs = base();
        pairs.push(("claims", "not json"));
        assert!(matches!(validate(&params(&pairs), &c, &[], "https://app.example/cb", "i".into(), "b".into(), 1000), Err(AuthorizeError::Redirect { code: ErrorCode::InvalidRequest, .. })));
    }

    proptest::proptest! {
        /// Random authorization requests (known parameter names with random
        /// values, and random names): never a panic; an error after the
        /// client check always goes back to the registered redirect URI.
        #[test]
        fn authorization_requests_never_panic(
            pairs in proptest::collection::vec((
                "client_id|redirect_uri|response_type|scope|state|nonce|prompt|max_age|acr_values|code_challenge|code_challenge_method|response_mode|resource|request|request_uri|ui_locales|login_hint|\\PC{0,12}",
                "app|https://app.example/cb|code|openid|none|login|0|-1|99999999999999999999|S256|query|\\PC{0,40}",
            ), 0..12),
        ) {
            let p = AuthorizeParams::from_pairs(pairs.into_iter().collect());
            let c = client(false);
            if let Ok(redirect) = check_client(&p, Some(&c)) {
                proptest::prop_assert_eq!(redirect, "https://app.example/cb");
                if let Err(AuthorizeError::Redirect { redirect_uri, .. }) = validate(&p, &c, &[], redirect, "i".into(), "b".into(), 1000) {
                    proptest::prop_assert_eq!(redirect_uri, "https://app.example/cb");
                }
            }
        }
    }
}
