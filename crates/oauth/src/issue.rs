//! Minting the tokens of a token response: the JWT access token, the ID token,
//! and the first refresh token of a new family; what every grant shares
//! (methods of [`GrantContext`]).

use latchkey_domain::{Amr, Api, Client, GrantType, Scope, ScopeSet, User, UserId};
use latchkey_store::repo::refresh::{self as refresh_repo, Family, Successor};
use latchkey_store::repo::{groups as group_repo, sessions as session_repo};
use latchkey_store::StoreError;
use latchkey_token::crypto::random_token;
use latchkey_token::{AccessTokenClaims, IdTokenClaims};

use crate::apis::Target;
use crate::error::{ErrorCode, OAuthError};
use crate::grants::GrantContext;
use crate::token::TokenResponse;

/// Refresh tokens carry this prefix so secret scanners can spot leaked ones.
/// NEVER CHANGE IT.
pub const REFRESH_PREFIX: &str = "lkr_";

/// How the user authenticated, carried from the session into every token of a grant.
#[derive(Debug, Clone)]
pub(crate) struct AuthContext {
    pub scope: String,
    pub auth_time: Option<i64>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub sid: Option<String>,
    pub nonce: Option<String>,
    /// RFC 9449: the thumbprint of the key the tokens are bound to (DPoP).
    pub dpop_jkt: Option<String>,
    /// RFC 8693: the access token comes from a token exchange.
    pub delegation: Option<Delegation>,
}

/// What an exchanged access token (RFC 8693) carries besides its user's
/// claims: who acts (none: impersonation), and what it was exchanged from.
#[derive(Debug, Clone)]
pub(crate) struct Delegation {
    pub act: Option<latchkey_token::Actor>,
    pub from: latchkey_token::ExchangedFrom,
}

impl AuthContext {
    pub fn from_family(f: &Family, scope: String, dpop_jkt: Option<String>) -> AuthContext {
        AuthContext {
            scope,
            auth_time: Some(f.auth_time),
            acr: Some(f.acr.clone()),
            amr: f.amr.split_whitespace().map(str::to_string).collect(),
            sid: f.sid.clone(),
            nonce: None,
            dpop_jkt,
            delegation: None,
        }
    }
}

/// A grant a signed-in user made in a browser session (an authorization
/// code, an approved device code), as it is redeemed at the token endpoint.
pub(crate) struct UserGrant<'a> {
    pub user_id: &'a str,
    /// How the user authenticated; `ctx.sid` is the session the grant was made in.
    pub ctx: AuthContext,
    /// The API (audience) named by `resource` when the grant was asked for (RFC 8707).
    pub resource: Option<&'a str>,
    /// The APIs, when several were named (RFC 8707 §2): a token request picks one.
    pub resources: &'a [String],
}

/// An access token (and its id) plus, for OpenID requests, an ID token.
pub(crate) struct Minted {
    pub access_token: String,
    pub jti: String,
    pub exp: i64,
    pub id_token: Option<String>,
    pub ttl: i64,
    pub scope: String,
    /// Bound to a DPoP key (`token_type: DPoP`).
    pub bound: bool,
}

impl GrantContext<'_> {
    /// The tokens of a user's grant: refused when the session it was made in
    /// has ended (sign-out, revocation, expiry) or its user is gone; for the
    /// API that `resource` at the token endpoint, or the one named when the
    /// grant was asked for, selects (RFC 8707). Returns the minted tokens and
    /// the first refresh token of family `family_id` when the client may refresh.
    pub(crate) async fn redeem_user_grant(
        &self,
        client: &Client,
        grant: UserGrant<'_>,
        resource: Option<&str>,
        jti: String,
        family_id: String,
        now: i64,
    ) -> Result<(Minted, Option<String>), OAuthError> {
        // A grant outlives nothing: if its session ended before the client
        // redeemed it, it is worthless.
        // Both read together, on the request's own thread where the store allows.
        let (sid, idle, absolute) = (grant.ctx.sid.as_deref().unwrap_or_default(), self.session_idle, self.session_absolute);
        let (session, user) = session_repo::find_by_sid_with_user_in(self.db, sid, &UserId(grant.user_id.to_string())).await?;
        if !session.is_some_and(|s| s.is_live(now, idle, absolute)) {
            return Err(OAuthError::invalid_grant("the session the grant was made in has ended"));
        }
        let user = user.ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
        let granted = ScopeSet::parse_lenient(&grant.ctx.scope);
        let apis = self.apis_for(resource.or(grant.resource).as_slice(), &ScopeSet::default(), client).await?;
        if resource.is_none() && grant.resources.len() > 1 {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!(
                    "the grant is for several resources ({}): name one with resource; an access token has one audience, so ask for the others with the refresh token, one request each (RFC 8707 §2.2)",
                    grant.resources.join(" ")
                ),
            ));
        }
        let api = crate::apis::resource(&apis, resource.or(grant.resource))?;
        if let Some(a) = api {
            let named_at_authorize = grant.resource == Some(a.audience.as_str()) || grant.resources.contains(&a.audience);
            if !named_at_authorize && !granted.api_names().any(|n| a.has_scope(n)) {
                return Err(OAuthError::new(ErrorCode::InvalidTarget, "the grant covers no scope of that resource"));
            }
        }
        let target = self.with_user_claims(self.target(&granted, api), &user.id.0, &granted).await?;
        let minted = self.mint(client, &user.id.0, Some(&user), &grant.ctx, &target, jti, now)?;
        let refresh = self.start_family(family_id, client, &user, &grant.ctx, &minted, now).await?;
        Ok((minted, refresh))
    }

    /// Signs an access token for `client` acting for `sub`, for `target` (an
    /// API, or latchkey's userinfo) and, when `id_token_for` is given and
    /// `openid` was granted (`ctx.scope`), an ID token for that user.
    #[allow(clippy::too_many_arguments)] // to become a small context struct with issue #25's application layer
    pub(crate) fn mint(&self, client: &Client, sub: &str, id_token_for: Option<&User>, ctx: &AuthContext, target: &Target, jti: String, now: i64) -> Result<Minted, OAuthError> {
        let cfg = &self.tokens.config;
        let exp = now + target.ttl;
        let sub = sub.to_string();
        let access = AccessTokenClaims {
            iss: self.issuer.to_string(),
            sub: sub.clone(),
            aud: target.aud.clone(),
            exp,
            iat: now,
            jti: jti.clone(),
            client_id: client.id.0.clone(),
            scope: target.scope.to_string(),
            auth_time: ctx.auth_time,
            acr: ctx.acr.clone(),
            amr: ctx.amr.clone(),
            sid: ctx.sid.clone(),
            groups: target.groups.clone(),
            roles: target.roles.clone(),
            cnf: ctx.dpop_jkt.clone().map(|jkt| latchkey_token::Confirmation { jkt }),
            act: ctx.delegation.as_ref().and_then(|d| d.act.clone()),
            // RFC 8693 §4.4: who the client's operator lets act with its tokens.
            may_act: latchkey_token::MayAct::of(&client.token_exchange.may_act),
            exchanged_from: ctx.delegation.as_ref().map(|d| d.from.clone()),
        };
        let access_token = if target.alg == latchkey_token::service::ACCESS_TOKEN_ALG { self.tokens.sign_access_token(&access)? } else { self.tokens.sign_access_token_with(&access, target.alg)? };
        let scopes = ScopeSet::parse_lenient(&ctx.scope);
        let id_token = match id_token_for {
            Some(user) if scopes.contains(Scope::OpenId) => {
                let claims = IdTokenClaims {
                    iss: self.issuer.to_string(),
                    sub,
                    aud: client.id.0.clone(),
                    azp: client.id.0.clone(),
                    exp: now + cfg.id_token_ttl,
                    iat: now,
                    auth_time: ctx.auth_time.unwrap_or(now),
                    nonce: ctx.nonce.clone(),
                    acr: ctx.acr.clone().unwrap_or_default(),
                    amr: ctx.amr.iter().filter(|a| Amr::parse(a).is_some()).cloned().collect(),
                    sid: ctx.sid.clone().unwrap_or_default(),
                    at_hash: None,
                    preferred_username: scopes.contains(Scope::Profile).then(|| user.username.clone()),
                    email: scopes.contains(Scope::Email).then(|| user.email.clone()),
                    email_verified: scopes.contains(Scope::Email).then_some(user.email_verified),
                    name: scopes.contains(Scope::Profile).then(|| user.profile.name.clone().unwrap_or_else(|| user.username.clone())),
                    given_name: user.profile.given_name.clone().filter(|_| scopes.contains(Scope::Profile)),
                    family_name: user.profile.family_name.clone().filter(|_| scopes.contains(Scope::Profile)),
                    locale: user.profile.locale.clone().filter(|_| scopes.contains(Scope::Profile)),
                    updated_at: user.profile.updated_at.filter(|_| scopes.contains(Scope::Profile)),
                    groups: target.groups.clone().filter(|_| scopes.contains(Scope::Groups)),
                };
                Some(self.tokens.sign_id_token(&claims, client.id_token_alg)?)
            }
            _ => None,
        };
        Ok(Minted { access_token, jti, exp, id_token, ttl: target.ttl, scope: target.scope.to_string(), bound: ctx.dpop_jkt.is_some() })
    }

    /// Starts a refresh-token family for a fresh authorization, when the client
    /// may refresh. With `offline_access` the family outlives the browser
    /// session; without, it ends with it. Returns the raw token (shown once).
    pub(crate) async fn start_family(&self, family_id: String, client: &Client, user: &User, ctx: &AuthContext, minted: &Minted, now: i64) -> Result<Option<String>, OAuthError> {
        if !client.allows_grant(GrantType::RefreshToken) {
            return Ok(None);
        }
        let offline = ScopeSet::parse_lenient(&ctx.scope).contains(Scope::OfflineAccess);
        let policy = self.tokens.config.refresh;
        let raw = random_token(REFRESH_PREFIX);
        let family = Family {
            id: family_id,
            user_id: user.id.0.clone(),
            client_id: client.id.0.clone(),
            sid: if offline { None } else { ctx.sid.clone() },
            scope: ctx.scope.clone(),
            auth_time: ctx.auth_time.unwrap_or(now),
            acr: ctx.acr.clone().unwrap_or_default(),
            amr: ctx.amr.join(" "),
            created_at: now,
            last_used_at: now,
            absolute_expires_at: ctx.auth_time.unwrap_or(now) + policy.absolute,
            revoked_at: None,
            revoked_reason: None,
            // RFC 9449 §5: a public client's refresh token is bound to its
            // DPoP key (it has no other credential); a confidential client's
            // is bound to the client's authentication already.
            dpop_jkt: if client.kind() == latchkey_domain::ClientKind::Public { ctx.dpop_jkt.clone() } else { None },
        };
        let first = Successor { hash: self.tokens.refresh_hasher().hash(&raw), access_jti: minted.jti.clone(), access_exp: minted.exp };
        self.db.run(move |c| refresh_repo::create_family(c, &family, &first, now)).await?;
        Ok(Some(raw))
    }

    /// The access token's target for a grant's `scope`: the API `api`
    /// (its scopes only), or latchkey itself (userinfo: the OIDC scopes).
    pub(crate) fn target(&self, scope: &ScopeSet, api: Option<&Api>) -> Target {
        match api {
            Some(a) => Target {
                aud: a.audience.clone(),
                scope: ScopeSet::from_api_names(scope.api_names().filter(|n| a.has_scope(n))),
                ttl: a.access_token_ttl,
                alg: a.signing_alg,
                api: Some(a.clone()),
                groups: None,
                roles: None,
            },
            None => Target {
                aud: self.issuer.to_string(),
                scope: scope.oidc_only(),
                ttl: self.tokens.config.access_token_ttl,
                alg: latchkey_token::service::ACCESS_TOKEN_ALG,
                api: None,
                groups: None,
                roles: None,
            },
        }
    }

    /// Adds the user's groups (scope `groups` in `granted`) and roles at the
    /// target's API to what the access token will carry.
    pub(crate) async fn with_user_claims(&self, mut target: Target, user_id: &str, granted: &ScopeSet) -> Result<Target, StoreError> {
        let wants_groups = granted.contains(Scope::Groups);
        let has_roles = target.api.as_ref().is_some_and(|a| !a.roles.is_empty());
        if !wants_groups && !has_roles {
            return Ok(target);
        }
        let uid = user_id.to_string();
        let groups = self.db.run(move |c| group_repo::of_user(c, &uid)).await?;
        if let Some(api) = &target.api {
            let mut roles: Vec<String> = api.roles.iter().filter(|(_, g)| groups.contains(g)).map(|(r, _)| r.clone()).collect();
            roles.sort();
            roles.dedup();
            target.roles = Some(roles);
        }
        if wants_groups {
            target.groups = Some(groups);
        }
        Ok(target)
    }
}

impl Minted {
    /// The token response; `scope` is the access token's (RFC 6749 §5.1).
    pub(crate) fn into_response(self, refresh_token: Option<String>) -> TokenResponse {
        TokenResponse {
            access_token: self.access_token,
            token_type: if self.bound { "DPoP" } else { "Bearer" }.into(),
            expires_in: self.ttl,
            scope: self.scope,
            id_token: self.id_token,
            refresh_token,
            issued_token_type: None,
        }
    }
}
