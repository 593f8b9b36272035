//! SCIM clients (issue #30): a directory that provisions users, known by a
//! bearer token shown once and stored as a keyed hash; revocable, and
//! optionally expiring. Each says how the users it creates get in.

use latchkey_domain::SecurityEvent;
use latchkey_store::repo::scim::{self as repo, ScimClientRow};
use latchkey_token::crypto::{random_token, KeyPurpose};

use super::ScimError;
use crate::admin::Actor;
use crate::{App, AppError};

/// SCIM tokens start with this, so a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "lkscim_";

/// How users created by a SCIM client get to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Onboarding {
    /// Nothing is sent: they sign in through an upstream provider, or an
    /// administrator invites them later.
    #[default]
    None,
    /// A set-up link is mailed at once (a password or a passkey, as an invitation).
    Invite,
}

impl Onboarding {
    pub fn parse(s: &str) -> Option<Onboarding> {
        match s {
            "none" => Some(Onboarding::None),
            "invite" => Some(Onboarding::Invite),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Onboarding::None => "none",
            Onboarding::Invite => "invite",
        }
    }
}

/// A SCIM client, as a request authenticated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimClient {
    pub id: String,
    pub name: String,
    pub onboarding: Onboarding,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl ScimClient {
    /// The actor its changes are audited as.
    pub fn actor(&self) -> Actor {
        Actor::Scim { client: self.id.clone(), name: self.name.clone() }
    }
}

fn from_row(r: ScimClientRow) -> ScimClient {
    ScimClient {
        id: r.id,
        name: r.name,
        onboarding: Onboarding::parse(&r.onboarding).unwrap_or_default(),
        created_at: r.created_at,
        expires_at: r.expires_at,
        revoked_at: r.revoked_at,
        last_used_at: r.last_used_at,
    }
}

impl App {
    fn scim_hash(&self, token: &str) -> String {
        self.stores.master.hasher(KeyPurpose::ClientSecret).hash(&format!("scim:{token}"))
    }

    /// Creates a SCIM client; its token (returned) is shown once.
    pub async fn create_scim_client(&self, by: &Actor, name: &str, onboarding: Onboarding, expires_in: Option<i64>) -> Result<(ScimClient, String), AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(AppError::Invalid("a SCIM client's name is 1-64 characters".into()));
        }
        let token = random_token(TOKEN_PREFIX);
        let now = self.clock.now();
        let row = ScimClientRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
            token_hash: self.scim_hash(&token),
            onboarding: onboarding.as_str().into(),
            created_at: now,
            expires_at: expires_in.map(|s| now + s),
            revoked_at: None,
            last_used_at: None,
        };
        let r = row.clone();
        self.stores.db.run(move |c| repo::insert_client(c, &r)).await?;
        self.oauth.record(&by.audited(), SecurityEvent::ScimClientCreated { client: row.id.clone(), name: row.name.clone() }).await;
        Ok((from_row(row), token))
    }

    pub async fn scim_clients(&self) -> Result<Vec<ScimClient>, AppError> {
        Ok(self.stores.db.run(repo::clients).await?.into_iter().map(from_row).collect())
    }

    /// Revokes a SCIM client's token at once (every node: it is checked in the database).
    pub async fn revoke_scim_client(&self, by: &Actor, id: &str) -> Result<(), AppError> {
        let (i, now) = (id.to_string(), self.clock.now());
        if !self.stores.db.run(move |c| repo::revoke_client(c, &i, now)).await? {
            return Err(AppError::NotFound("SCIM client"));
        }
        self.oauth.record(&by.audited(), SecurityEvent::ScimClientRevoked { client: id.to_string() }).await;
        Ok(())
    }

    /// The SCIM client a bearer token belongs to (live, unexpired), else
    /// 401: a SCIM token, or an access token with the `scim` scope that an
    /// enabled client got with client_credentials (its users get in by an
    /// upstream provider or a later invitation).
    pub async fn scim_client(&self, bearer: Option<&str>) -> Result<ScimClient, ScimError> {
        let bearer = bearer.filter(|t| !t.is_empty() && t.len() < 4096).ok_or(ScimError::Unauthorized)?;
        if !bearer.starts_with(TOKEN_PREFIX) {
            return self.scim_client_by_access_token(bearer).await;
        }
        let token = bearer;
        let (hash, now) = (self.scim_hash(token), self.clock.now());
        let row = self.stores.db.run(move |c| repo::authenticate(c, &hash, now)).await?;
        row.map(from_row).ok_or(ScimError::Unauthorized)
    }

    async fn scim_client_by_access_token(&self, token: &str) -> Result<ScimClient, ScimError> {
        let claims = self.tokens.verify_access_token(token).await.map_err(|e| match e {
            latchkey_token::TokenError::Store(s) => ScimError::from(s),
            _ => ScimError::Unauthorized,
        })?;
        if !latchkey_domain::ScopeSet::parse_lenient(&claims.scope).contains(latchkey_domain::Scope::Scim) {
            return Err(ScimError::Unauthorized);
        }
        match self.oauth.client(&claims.client_id).await.map_err(AppError::from)? {
            Some(c) if c.disabled_at.is_none() && c.allowed_scopes.contains(latchkey_domain::Scope::Scim) => {
                Ok(ScimClient { id: c.id.0, name: c.name, onboarding: Onboarding::None, created_at: c.created_at, expires_at: None, revoked_at: None, last_used_at: None })
            }
            _ => Err(ScimError::Unauthorized),
        }
    }
}
