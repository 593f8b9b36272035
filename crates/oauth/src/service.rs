//! The protocol engine: ties requests to clients, sessions, codes and tokens.

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::{Amr, Client, ClientKind, GrantType, Scope, ScopeSet, Session, SharedClock, UserId};
use latchkey_store::repo::{clients as client_repo, grants as grant_repo, users as user_repo};
use latchkey_store::{Db, FastStore, StoreError};
use latchkey_token::crypto::{random_token, KeyPurpose, KeyedHasher};
use latchkey_token::{AccessTokenClaims, IdTokenClaims, TokenError, TokenService};
use serde_json::Value;

use crate::authorize::{self, AuthorizeParams, Next, PendingAuthorization, Prompt};
use crate::client_auth::ClientCredentials;
use crate::code::{code_key, redeemed_key, CodeGrant, Redemption, CODE_TTL_SECS};
use crate::discovery::ProviderMetadata;
use crate::error::{AuthorizeError, ErrorCode, OAuthError};
use crate::pkce;
use crate::token::{TokenRequest, TokenResponse};
use crate::userinfo;

/// A user has 10 minutes from the client's redirect to finish signing in and
/// consenting; after that the request is forgotten and the client must start over.
pub const PENDING_AUTHORIZATION_TTL: Duration = Duration::from_secs(10 * 60);
/// Authorization codes carry this prefix. NEVER CHANGE IT (secret scanners match on it).
pub const CODE_PREFIX: &str = "lkc_";

#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub issuer: String,
}

pub struct OAuthService {
    pub config: OAuthConfig,
    db: Db,
    fast: FastStore,
    tokens: Arc<TokenService>,
    clock: SharedClock,
    client_secrets: KeyedHasher,
    codes: KeyedHasher,
}

fn pending_key(id: &str) -> String {
    format!("authz:{id}")
}

impl OAuthService {
    pub fn new(config: OAuthConfig, db: Db, fast: FastStore, tokens: Arc<TokenService>, clock: SharedClock) -> OAuthService {
        let client_secrets = tokens.master().hasher(KeyPurpose::ClientSecret);
        let codes = tokens.master().hasher(KeyPurpose::AuthCode);
        OAuthService { config, db, fast, tokens, clock, client_secrets, codes }
    }

    pub fn tokens(&self) -> &Arc<TokenService> {
        &self.tokens
    }

    pub fn metadata(&self) -> ProviderMetadata {
        ProviderMetadata::new(&self.config.issuer)
    }

    pub async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let id = id.to_string();
        self.db.run(move |c| client_repo::find(c, &id)).await
    }

    // ---- authorization endpoint -------------------------------------------------

    /// Validates a new authorization request and parks it. `browser` binds it to
    /// the user agent that started it.
    pub async fn start_authorization(&self, params: &AuthorizeParams, browser: String) -> Result<PendingAuthorization, AuthorizeError> {
        let client = match params.get("client_id") {
            Some(id) => self.client(id).await?,
            None => None,
        };
        let redirect_uri = authorize::check_client(params, client.as_ref())?;
        let client = client.ok_or_else(|| AuthorizeError::NoRedirect("Unknown client.".into()))?;
        let req = authorize::validate(params, &client, redirect_uri, random_token(""), browser, self.clock.now())?;
        let json = serde_json::to_string(&req).map_err(StoreError::from)?;
        self.fast.put(&pending_key(&req.id), &json, PENDING_AUTHORIZATION_TTL).await?;
        Ok(req)
    }

    pub async fn pending(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        match self.fast.get(&pending_key(id)).await? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Decides what happens next for a parked request, given the browser's session.
    pub async fn next_step(&self, req: &PendingAuthorization, session: Option<&Session>) -> Result<Next, StoreError> {
        let now = self.clock.now();
        let interactive = !req.has_prompt(Prompt::None);
        let session = match session {
            Some(s) if authorize::session_satisfies(req, s, now) => s,
            Some(_) | None if interactive => return Ok(Next::Login),
            _ => return self.finish_with_error(req, ErrorCode::LoginRequired, "the user must sign in").await.map(Next::Redirect),
        };
        let consented = if req.has_prompt(Prompt::Consent) {
            false
        } else {
            let (user, client) = (session.user_id.clone(), latchkey_domain::ClientId(req.client_id.clone()));
            let grant = self.db.run(move |c| grant_repo::find(c, &user, &client)).await?;
            grant.is_some_and(|g| req.scopes().is_subset(&g.scopes))
        };
        if consented {
            return self.issue_code(req, session).await.map(Next::Redirect);
        }
        if interactive {
            Ok(Next::Consent)
        } else {
            self.finish_with_error(req, ErrorCode::ConsentRequired, "the user must consent").await.map(Next::Redirect)
        }
    }

    /// The user's answer on the consent page. Returns the redirect to the client.
    pub async fn consent(&self, req: &PendingAuthorization, session: &Session, allow: bool) -> Result<String, StoreError> {
        if !allow {
            return self.finish_with_error(req, ErrorCode::AccessDenied, "the user denied the request").await;
        }
        let (user, client, scopes, now) = (session.user_id.clone(), latchkey_domain::ClientId(req.client_id.clone()), req.scopes(), self.clock.now());
        let id = uuid::Uuid::new_v4().to_string();
        self.db.run(move |c| grant_repo::upsert(c, &id, &user, &client, &scopes, now)).await?;
        self.issue_code(req, session).await
    }

    async fn finish_with_error(&self, req: &PendingAuthorization, code: ErrorCode, description: &str) -> Result<String, StoreError> {
        self.fast.delete(&pending_key(&req.id)).await?;
        Ok(authorize::error_redirect(&req.redirect_uri, req.state.as_deref(), code, description, &self.config.issuer))
    }

    async fn issue_code(&self, req: &PendingAuthorization, session: &Session) -> Result<String, StoreError> {
        // Taking the request makes the redirect happen at most once per request.
        if self.fast.take(&pending_key(&req.id)).await?.is_none() {
            return Ok(authorize::error_redirect(&req.redirect_uri, req.state.as_deref(), ErrorCode::AccessDenied, "the request was already answered", &self.config.issuer));
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
        };
        let json = serde_json::to_string(&grant)?;
        // The store's TTL only frees memory; `expires_at` is what is enforced.
        let ttl = Duration::from_secs(CODE_TTL_SECS as u64 + 5);
        self.fast.put(&code_key(&self.codes.hash(&code)), &json, ttl).await?;
        Ok(authorize::code_redirect(&req.redirect_uri, &code, req.state.as_deref(), &self.config.issuer))
    }

    // ---- token endpoint ---------------------------------------------------------

    /// Authenticates the client of a token request (RFC 6749 §2.3.1, §3.2.1).
    pub async fn authenticate_client(&self, creds: &ClientCredentials) -> Result<Client, OAuthError> {
        let fail = || OAuthError::ClientAuthentication { used_basic: creds.via_basic };
        let client = self.client(&creds.client_id).await?.ok_or_else(fail)?;
        match (client.kind(), &creds.secret, &client.secret_hash) {
            (ClientKind::Confidential, Some(secret), Some(stored)) if self.client_secrets.verify(secret.expose(), stored) => Ok(client),
            (ClientKind::Public, None, _) => Ok(client),
            _ => {
                tracing::info!(target: "security", event = "client_auth_failed", client_id = %creds.client_id);
                Err(fail())
            }
        }
    }

    pub async fn token(&self, creds: &ClientCredentials, req: TokenRequest) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(creds).await?;
        match req.grant_type.as_deref() {
            Some("authorization_code") => self.grant_authorization_code(&client, req).await,
            Some(other) if GrantType::parse(other).is_some() => Err(OAuthError::new(ErrorCode::UnsupportedGrantType, format!("{other} is not supported yet"))),
            Some(_) => Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "unknown grant_type")),
            None => Err(OAuthError::invalid_request("grant_type is required")),
        }
    }

    async fn grant_authorization_code(&self, client: &Client, req: TokenRequest) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(OAuthError::new(ErrorCode::UnauthorizedClient, "client may not use authorization_code"));
        }
        let code = req.code.as_deref().ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let hash = self.codes.hash(code);
        let Some(json) = self.fast.take(&code_key(&hash)).await? else {
            return Err(self.reject_reused_code(&hash, client).await);
        };
        let grant: CodeGrant = serde_json::from_str(&json).map_err(StoreError::from)?;
        let now = self.clock.now();
        if grant.client_id != client.id.0 {
            return Err(OAuthError::invalid_grant("the code was issued to another client"));
        }
        if grant.expires_at <= now {
            return Err(OAuthError::invalid_grant("the code has expired"));
        }
        if req.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request"));
        }
        pkce::verify(grant.pkce.as_deref(), req.code_verifier.as_deref()).map_err(OAuthError::invalid_grant)?;
        let user_id = UserId(grant.user_id.clone());
        let uid = user_id.clone();
        let user = self
            .db
            .run(move |c| user_repo::find_by_id(c, &uid))
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;

        let cfg = &self.tokens.config;
        let scopes = ScopeSet::parse_lenient(&grant.scope);
        let jti = uuid::Uuid::new_v4().to_string();
        let access_exp = now + cfg.access_token_ttl;
        // Record the redemption before issuing, so a replay racing this request
        // still finds what to revoke.
        let redemption = Redemption { access_jtis: vec![(jti.clone(), access_exp)] };
        let ttl = Duration::from_secs(cfg.access_token_ttl as u64 + 60);
        self.fast.put(&redeemed_key(&hash), &serde_json::to_string(&redemption).map_err(StoreError::from)?, ttl).await?;

        let access = AccessTokenClaims {
            iss: self.config.issuer.clone(),
            sub: user.id.0.clone(),
            aud: self.config.issuer.clone(),
            exp: access_exp,
            iat: now,
            jti,
            client_id: client.id.0.clone(),
            scope: grant.scope.clone(),
            auth_time: Some(grant.auth_time),
            acr: Some(grant.acr.clone()),
            amr: grant.amr.clone(),
            sid: Some(grant.sid.clone()),
        };
        let access_token = self.tokens.sign_access_token(&access)?;
        let id_token = if authorize::is_openid(&scopes) {
            let claims = IdTokenClaims {
                iss: self.config.issuer.clone(),
                sub: user.id.0.clone(),
                aud: client.id.0.clone(),
                azp: client.id.0.clone(),
                exp: now + cfg.id_token_ttl,
                iat: now,
                auth_time: grant.auth_time,
                nonce: grant.nonce.clone(),
                acr: grant.acr.clone(),
                amr: grant.amr.iter().filter(|a| Amr::parse(a).is_some()).cloned().collect(),
                sid: grant.sid.clone(),
                at_hash: None,
                preferred_username: scopes.contains(Scope::Profile).then(|| user.username.clone()),
                email: scopes.contains(Scope::Email).then(|| user.email.clone()),
                email_verified: scopes.contains(Scope::Email).then_some(false),
            };
            Some(self.tokens.sign_id_token(&claims, client.id_token_alg)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: cfg.access_token_ttl,
            scope: grant.scope,
            id_token,
            refresh_token: None,
        })
    }

    /// A code that is not (or no longer) there. If it was redeemed before, this is
    /// a replay: revoke everything the first redemption issued.
    async fn reject_reused_code(&self, hash: &str, client: &Client) -> OAuthError {
        match self.fast.get(&redeemed_key(hash)).await {
            Ok(Some(json)) => {
                if let Ok(r) = serde_json::from_str::<Redemption>(&json) {
                    for (jti, exp) in &r.access_jtis {
                        if let Err(e) = self.tokens.revoke_jti(jti, *exp).await {
                            return e.into();
                        }
                    }
                }
                tracing::warn!(target: "security", event = "code_reuse", client_id = %client.id, "authorization code replayed; tokens from its first use revoked");
                OAuthError::invalid_grant("the code has already been used; tokens issued for it are revoked")
            }
            Ok(None) => OAuthError::invalid_grant("the code is unknown or has expired"),
            Err(e) => e.into(),
        }
    }

    // ---- userinfo -------------------------------------------------------------

    pub async fn userinfo(&self, bearer: &str) -> Result<Value, OAuthError> {
        let claims = self.tokens.verify_access_token(bearer).await.map_err(|e| match e {
            TokenError::Store(s) => OAuthError::Store(s),
            other => OAuthError::new(ErrorCode::InvalidToken, other.to_string()),
        })?;
        let scopes = ScopeSet::parse_lenient(&claims.scope);
        if !scopes.contains(Scope::OpenId) {
            return Err(OAuthError::new(ErrorCode::InsufficientScope, "the access token lacks the openid scope"));
        }
        let uid = UserId(claims.sub.clone());
        let user = self
            .db
            .run(move |c| user_repo::find_by_id(c, &uid))
            .await?
            .ok_or_else(|| OAuthError::new(ErrorCode::InvalidToken, "the token's subject no longer exists"))?;
        Ok(userinfo::claims_for(&user, &scopes))
    }
}
