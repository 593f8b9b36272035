//! The protocol engine's entry points: authorization requests (start,
//! sign-in, consent, answer), client authentication, the token endpoint,
//! userinfo.

use std::time::Duration;

use latchkey_domain::{Client, ClientKind, Scope, ScopeSet, Session, UserId};
use latchkey_store::repo::{grants as grant_repo, users as user_repo};
use latchkey_store::StoreError;
use latchkey_token::crypto::random_token;
use latchkey_token::TokenError;
use serde_json::Value;

use crate::authorize::{self, AuthorizeParams, Next, PendingAuthorization, Prompt, ResponseMode};
use crate::client_auth::{ClientAuth, ClientCredentials};
use crate::code::{code_key, CodeGrant, CODE_TTL_SECS};
use crate::discovery::ProviderMetadata;
use crate::error::{AuthorizeError, ErrorCode, OAuthError};
use crate::grants::{self, GrantContext};
use crate::token::{TokenRequest, TokenResponse};
use crate::userinfo;

use crate::service::{OAuthService, CODE_PREFIX, PENDING_AUTHORIZATION_TTL};

fn pending_key(id: &str) -> String {
    format!("authz:{id}")
}

fn form_post_key(id: &str) -> String {
    format!("form-post:{id}")
}

/// How long a form_post answer waits for the browser to fetch its page: the
/// next request of the same redirect chain, so seconds; a code inside lives
/// 60 s anyway.
const FORM_POST_TTL: Duration = Duration::from_secs(60);

/// An authorization answer to deliver with `response_mode=form_post`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct FormPostAnswer {
    /// The answer as a query redirect (parsed back into form fields).
    pub url: String,
    /// The registered redirect URI the form posts to.
    pub redirect_uri: String,
    /// Keyed hash of the browser's CSRF cookie: only that browser gets the page.
    pub browser: String,
}

/// Whether a request is stored in the fast store, so that answering it
/// takes it (once) and ending it deletes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parked {
    Yes,
    No,
}

impl OAuthService {
    pub fn metadata(&self) -> ProviderMetadata {
        let mut m = ProviderMetadata::new(&self.config.issuer, self.config.require_par);
        if self.config.registration_open {
            m.registration_endpoint = Some(format!("{}/register", self.config.issuer.trim_end_matches('/')));
        }
        if self.config.client_id_metadata {
            m.client_id_metadata_document_supported = Some(true);
        }
        m
    }

    // ---- authorization endpoint -------------------------------------------------

    /// Validates a new authorization request. It is not parked yet: a
    /// request the browser's session answers at once (a returning user
    /// whose consent is remembered, or an error) never is, and
    /// [`OAuthService::answer_new`] parks the others. `browser` binds it to
    /// the user agent that started it; `ip` is whose share of the parked
    /// requests' memory it counts against: no address is refused for being
    /// busy, and over the budget a flooding address's own oldest requests go
    /// first (see `FastStore::put_evictable`).
    pub async fn start_authorization(&self, params: &AuthorizeParams, browser: String, ip: Option<&str>) -> Result<PendingAuthorization, AuthorizeError> {
        // The node's copy (at most `CLIENT_CACHE_TTL` old, as at the token
        // endpoint): a returning user's request reads no client row.
        let client = match params.get("client_id") {
            Some(id) => self.cached_client(id).await?,
            None => None,
        };
        let pulled = self.pull_pushed(params).await?;
        let params = pulled.as_ref().unwrap_or(params);
        let redirect_uri = authorize::check_client(params, client.as_ref())?;
        let client = client.ok_or_else(|| AuthorizeError::NoRedirect("Unknown client.".into()))?;
        if (client.require_par || self.config.require_par) && !params.pushed {
            return Err(AuthorizeError::Redirect {
                redirect_uri: redirect_uri.to_string(),
                state: params.get("state").map(str::to_string),
                code: crate::error::ErrorCode::InvalidRequest,
                description: "authorization requests of this client must be pushed to the PAR endpoint first".into(),
            });
        }
        let apis = self.apis_for(&params.resources(), &ScopeSet::parse_lenient(params.get("scope").unwrap_or("")), &client).await?;
        let mut req = authorize::validate(params, &client, &apis, redirect_uri, random_token(""), browser, self.clock.now())?;
        if let Some(hint) = params.get("id_token_hint") {
            // One of our ID tokens (expired is fine: it names a user, it grants nothing).
            match self.tokens.verify_id_token_ignoring_expiry(hint).await {
                Ok(claims) => req.hint_sub = Some(claims.sub),
                Err(_) => {
                    return Err(AuthorizeError::Redirect {
                        redirect_uri: req.redirect_uri.clone(),
                        state: req.state.clone(),
                        code: crate::error::ErrorCode::InvalidRequest,
                        description: "id_token_hint is not an ID token of this issuer".into(),
                    });
                }
            }
        }
        req.parked_by = ip.unwrap_or("unknown").to_string();
        Ok(req)
    }

    /// What happens next for a request [`OAuthService::start_authorization`]
    /// just validated: answered at once when the session allows (a code or
    /// an error, and the request is never stored), else parked for the
    /// sign-in or consent page it goes to.
    pub async fn answer_new(&self, req: &PendingAuthorization, session: Option<&Session>) -> Result<Next, StoreError> {
        let next = self.decide(req, session, Parked::No).await?;
        if matches!(next, Next::Login | Next::Consent) {
            let json = serde_json::to_string(req)?;
            self.fast.single_use().put_evictable(&pending_key(&req.id), &json, PENDING_AUTHORIZATION_TTL, &req.parked_by).await?;
        }
        Ok(next)
    }

    /// Moves a parked request to another browser binding (the browser's CSRF
    /// secret is renewed at sign-in); it keeps its original expiry.
    pub async fn rebind(&self, req: &PendingAuthorization, browser: String) -> Result<PendingAuthorization, StoreError> {
        // Only a request that is still parked moves: one already answered
        // (in another tab) must not come back.
        if self.fast.single_use().take(&pending_key(&req.id)).await?.is_none() {
            return Ok(req.clone());
        }
        let moved = PendingAuthorization { browser, ..req.clone() };
        let left = PENDING_AUTHORIZATION_TTL.as_secs() as i64 - (self.clock.now() - req.created_at);
        let json = serde_json::to_string(&moved)?;
        self.fast.single_use().put_evictable(&pending_key(&req.id), &json, Duration::from_secs(left.max(1) as u64), &moved.parked_by).await?;
        Ok(moved)
    }

    pub async fn pending(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        match self.fast.single_use().get(&pending_key(id)).await? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Decides what happens next for a parked request, given the browser's session.
    pub async fn next_step(&self, req: &PendingAuthorization, session: Option<&Session>) -> Result<Next, StoreError> {
        self.decide(req, session, Parked::Yes).await
    }

    async fn decide(&self, req: &PendingAuthorization, session: Option<&Session>, parked: Parked) -> Result<Next, StoreError> {
        let now = self.clock.now();
        let interactive = !req.has_prompt(Prompt::None);
        // prompt=none for the user an id_token_hint names: anyone else signed
        // in here is not an answer (OIDC Core §3.1.2.1).
        let other_user = |s: &Session| req.hint_sub.as_deref().is_some_and(|sub| sub != s.user_id.0);
        // The claims parameter's sub value is a demand, not a hint: only that
        // user's session answers; anyone else signs in again (or, with
        // prompt=none, the request fails).
        let not_required_user = |s: &Session| req.required_sub.as_deref().is_some_and(|sub| sub != s.user_id.0);
        let session = match session {
            Some(s) if !interactive && (other_user(s) || not_required_user(s)) => {
                return self.finish_with_error_in(parked, req, ErrorCode::LoginRequired, "another user is signed in than the request names").await.map(Next::Redirect)
            }
            // Signed in as someone else before this request: sign in again. Signed
            // in during it, and still not that user: the request fails.
            Some(s) if not_required_user(s) && s.auth_time < req.created_at => return Ok(Next::Login),
            Some(s) if not_required_user(s) => {
                return self.finish_with_error_in(parked, req, ErrorCode::LoginRequired, "the signed-in user is not the one the claims parameter names").await.map(Next::Redirect)
            }
            Some(s) if authorize::session_satisfies(req, s, now) => s,
            Some(_) | None if interactive => return Ok(Next::Login),
            _ => return self.finish_with_error_in(parked, req, ErrorCode::LoginRequired, "the user must sign in").await.map(Next::Redirect),
        };
        let consented = if req.has_prompt(Prompt::Consent) {
            false
        } else {
            let grant = grant_repo::find_in(&self.db, &session.user_id, &latchkey_domain::ClientId(req.client_id.clone())).await?;
            grant.is_some_and(|g| req.scopes().is_subset(&g.scopes))
        };
        if consented {
            return self.issue_code(req, session, parked).await;
        }
        if interactive {
            Ok(Next::Consent)
        } else {
            self.finish_with_error_in(parked, req, ErrorCode::ConsentRequired, "the user must consent").await.map(Next::Redirect)
        }
    }

    /// The user's answer on the consent page: the redirect to the client, or
    /// [`Next::Login`] when the session does not (or no longer) meet the
    /// request's authentication requirements.
    pub async fn consent(&self, req: &PendingAuthorization, session: &Session, allow: bool) -> Result<Next, StoreError> {
        if !allow {
            return self.finish_with_error(req, ErrorCode::AccessDenied, "the user denied the request").await.map(Next::Redirect);
        }
        if !authorize::session_satisfies(req, session, self.clock.now()) {
            return Ok(Next::Login);
        }
        let (user, client, scopes, now) = (session.user_id.clone(), latchkey_domain::ClientId(req.client_id.clone()), req.scopes(), self.clock.now());
        let id = uuid::Uuid::new_v4().to_string();
        self.db.run(move |c| grant_repo::upsert(c, &id, &user, &client, &scopes, now)).await?;
        self.issue_code(req, session, Parked::Yes).await
    }

    /// Ends a parked request with an error sent to the client (e.g. when the
    /// user cannot meet its authentication requirements).
    pub async fn fail_request(&self, req: &PendingAuthorization, code: ErrorCode, description: &str) -> Result<String, StoreError> {
        self.finish_with_error(req, code, description).await
    }

    async fn finish_with_error(&self, req: &PendingAuthorization, code: ErrorCode, description: &str) -> Result<String, StoreError> {
        self.finish_with_error_in(Parked::Yes, req, code, description).await
    }

    async fn finish_with_error_in(&self, parked: Parked, req: &PendingAuthorization, code: ErrorCode, description: &str) -> Result<String, StoreError> {
        if parked == Parked::Yes {
            self.fast.single_use().delete(&pending_key(&req.id)).await?;
        }
        self.to_client(req, authorize::error_redirect(&req.redirect_uri, req.state.as_deref(), code, description, &self.config.issuer)).await
    }

    /// Where the browser goes with the answer to `req`: the client's URL
    /// itself, or — for `response_mode=form_post` — a one-time local address
    /// whose page POSTs that answer to the client, so every path that ends a
    /// request (redirects, the passkey script's JSON) works unchanged and the
    /// code never appears in a URL.
    async fn to_client(&self, req: &PendingAuthorization, url: String) -> Result<String, StoreError> {
        if req.response_mode == ResponseMode::Query {
            return Ok(url);
        }
        let id = random_token("");
        let answer = serde_json::to_string(&FormPostAnswer { url, redirect_uri: req.redirect_uri.clone(), browser: req.browser.clone() })?;
        self.fast.single_use().put_evictable(&form_post_key(&id), &answer, FORM_POST_TTL, &req.parked_by).await?;
        Ok(format!("/authorize/respond?r={id}"))
    }

    /// The answer parked by [`OAuthService::to_client`] (used up by this call).
    pub async fn take_form_post(&self, id: &str) -> Result<Option<FormPostAnswer>, StoreError> {
        match self.fast.single_use().take(&form_post_key(id)).await? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Issues the code that answers `req`. Every path to a code comes through
    /// here, so the request's authentication requirements are checked here
    /// once more, whatever page led to it.
    async fn issue_code(&self, req: &PendingAuthorization, session: &Session, parked: Parked) -> Result<Next, StoreError> {
        if !authorize::session_satisfies(req, session, self.clock.now()) {
            return Ok(Next::Login);
        }
        if req.required_sub.as_deref().is_some_and(|sub| sub != session.user_id.0) {
            return self.finish_with_error_in(parked, req, ErrorCode::LoginRequired, "the signed-in user is not the one the claims parameter names").await.map(Next::Redirect);
        }
        // Taking a parked request makes the redirect happen at most once per
        // request (one never parked is answered by this one HTTP request only).
        if parked == Parked::Yes && self.fast.single_use().take(&pending_key(&req.id)).await?.is_none() {
            let url = authorize::error_redirect(&req.redirect_uri, req.state.as_deref(), ErrorCode::AccessDenied, "the request was already answered", &self.config.issuer);
            return Ok(Next::Redirect(self.to_client(req, url).await?));
        }
        let code = random_token(CODE_PREFIX);
        let grant = CodeGrant {
            client_id: req.client_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            user_id: session.user_id.0.clone(),
            scope: req.scope.clone(),
            nonce: req.nonce.clone(),
            pkce: req.pkce.clone(),
            sid: session.sid.clone(),
            auth_time: session.auth_time,
            amr: session.amr.iter().map(|a| a.as_str().to_string()).collect(),
            acr: session.acr().as_str().to_string(),
            expires_at: self.clock.now() + CODE_TTL_SECS,
            resource: req.resource.clone(),
            dpop_jkt: req.dpop_jkt.clone(),
            resources: req.resources.clone(),
        };
        let json = serde_json::to_string(&grant)?;
        // Remember which relying parties this session signed in to (back-channel logout).
        if !self.recorded_clients.contains(&session.sid, &req.client_id) {
            let (sid, client_id, now) = (session.sid.clone(), req.client_id.clone(), self.clock.now());
            self.db.run(move |c| latchkey_store::repo::sessions::add_client(c, &sid, &client_id, now)).await?;
            self.recorded_clients.insert(session.sid.clone(), req.client_id.clone());
        }
        // The store's TTL only frees memory; `expires_at` is what is enforced.
        let ttl = Duration::from_secs(CODE_TTL_SECS as u64 + 5);
        self.fast.single_use().put(&code_key(&self.codes.hash(&code)), &json, ttl).await?;
        let url = authorize::code_redirect(&req.redirect_uri, &code, req.state.as_deref(), &self.config.issuer);
        Ok(Next::Redirect(self.to_client(req, url).await?))
    }

    // ---- token endpoint ---------------------------------------------------------

    /// Authenticates the client of a token request (RFC 6749 §2.3.1,
    /// §3.2.1), within the endpoint's rate limit (`creds.gate`): only an
    /// authenticated request spends the client's budget; a failure is
    /// counted against the claimed id at the caller's address.
    pub async fn authenticate_client(&self, creds: &ClientCredentials) -> Result<Client, OAuthError> {
        let Some(gate) = &creds.gate else {
            return self.check_client_credentials(creds).await;
        };
        gate.admit(&creds.client_id)?;
        match self.check_client_credentials(creds).await {
            Ok(client) => {
                // Proven by a secret or a signature: the client's own budget.
                // Public clients (anyone can claim their id): per address.
                gate.authenticated(&client.id.0, creds.proves_client()).await?;
                Ok(client)
            }
            Err(e @ OAuthError::ClientAuthentication { .. }) => {
                gate.failed(&creds.client_id).await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Checks the credentials alone (no rate limit): see [`Self::authenticate_client`].
    pub(crate) async fn check_client_credentials(&self, creds: &ClientCredentials) -> Result<Client, OAuthError> {
        let fail = || creds.failure();
        let client = self.cached_client(&creds.client_id).await?.filter(|c| c.disabled_at.is_none()).ok_or_else(fail)?;
        if let ClientAuth::PrivateKeyJwt(assertion) = &creds.method {
            return match self.verify_client_assertion(&client, assertion).await {
                Ok(()) => Ok(client),
                Err(why) => {
                    tracing::info!(target: "security", event = "client_auth_failed", client_id = %creds.client_id, method = "private_key_jwt", why);
                    Err(fail())
                }
            };
        }
        if client.require_private_key_jwt {
            tracing::info!(target: "security", event = "client_auth_failed", client_id = %creds.client_id, why = "this client must use private_key_jwt");
            return Err(fail());
        }
        match (client.kind(), &creds.method, &client.secret_hash) {
            (ClientKind::Confidential, ClientAuth::SecretBasic(secret) | ClientAuth::SecretPost(secret), Some(stored)) if self.client_secrets.verify(secret.expose(), stored) => Ok(client),
            (ClientKind::Public, ClientAuth::None, _) => Ok(client),
            _ => {
                tracing::info!(target: "security", event = "client_auth_failed", client_id = %creds.client_id);
                Err(fail())
            }
        }
    }

    /// The token endpoint (RFC 6749 §3.2): authenticates the client, checks
    /// its DPoP proof, and runs the grant the request names (see
    /// [`crate::grants`]).
    pub async fn token(&self, creds: &ClientCredentials, req: TokenRequest) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(creds).await?;
        let dpop = self.token_endpoint_dpop(&client, req.dpop.as_deref()).await?;
        let grant = grants::grant_type(req.grant_type.as_deref());
        // The metric's label is a known grant type or "" (missing): an
        // unknown value is not counted, so labels stay a closed set.
        let label = match &grant {
            Ok(g) => Some(g.as_str()),
            Err(_) if req.grant_type.is_none() => Some(""),
            Err(_) => None,
        };
        let answer = match grant {
            Ok(g) => grants::dispatch(&self.grant_context(), &client, g, req, dpop).await,
            Err(e) => Err(e),
        };
        if let Some(label) = label {
            let outcome = if answer.is_ok() { "issued" } else { "refused" };
            metrics::counter!("latchkey_token_requests_total", "grant_type" => label, "outcome" => outcome).increment(1);
        }
        answer
    }

    /// What the grants may use (see [`GrantContext`]).
    pub(crate) fn grant_context(&self) -> GrantContext<'_> {
        GrantContext {
            issuer: &self.config.issuer,
            db: &self.db,
            fast: &self.fast,
            tokens: &self.tokens,
            clock: &self.clock,
            apis: &self.api_cache,
            codes: &self.codes,
            device_codes: &self.device_codes,
            session_idle: self.session_idle,
            session_absolute: self.session_absolute,
            watchers: &self.watchers,
        }
    }

    /// The rules a refresh family is judged by at `now`.
    pub(crate) fn rotation_rules(&self, now: i64) -> latchkey_store::repo::refresh::RotationRules {
        grants::rotation_rules(&self.tokens, self.session_idle, self.session_absolute, now)
    }

    // ---- userinfo -------------------------------------------------------------

    pub async fn userinfo(&self, presented: crate::dpop::Presented<'_>) -> Result<Value, OAuthError> {
        let claims = self.tokens.verify_access_token(presented.token()).await.map_err(|e| match e {
            TokenError::Store(s) => OAuthError::Store(s),
            other => OAuthError::new(ErrorCode::InvalidToken, other.to_string()),
        })?;
        self.check_presentation(presented, &claims, "/userinfo").await?;
        let scopes = ScopeSet::parse_lenient(&claims.scope);
        if !scopes.contains(Scope::OpenId) {
            return Err(OAuthError::new(ErrorCode::InsufficientScope, "the access token lacks the openid scope"));
        }
        let uid = UserId(claims.sub.clone());
        let user = self.db.run(move |c| user_repo::find_by_id(c, &uid)).await?.ok_or_else(|| OAuthError::new(ErrorCode::InvalidToken, "the token's subject no longer exists"))?;
        let groups = if scopes.contains(Scope::Groups) { Some(self.groups_of(&user.id.0).await?) } else { None };
        Ok(userinfo::claims_for(&user, &scopes, groups.as_deref()))
    }
}
