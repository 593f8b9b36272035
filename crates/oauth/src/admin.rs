//! Grants as administrators (and users, for their own) see and revoke them.

use latchkey_domain::{Actor, RevokedGrants, SecurityEvent};
use latchkey_domain::{ClientId, UserId};
use latchkey_store::repo::{grants as grant_repo, refresh as refresh_repo, users as user_repo};
use latchkey_store::StoreError;
use latchkey_token::Revocation;
use serde::Serialize;

use crate::error::OAuthError;
use crate::service::OAuthService;

/// One user's grant to a client, as the admin API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct GrantSummary {
    pub user_id: String,
    pub username: String,
    pub scope: String,
    pub created_at: i64,
    /// Last refresh-token use of any live family (None: never refreshed).
    pub last_used_at: Option<i64>,
    /// Live refresh-token families.
    pub families: i64,
}

/// What a revocation removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RevokeReport {
    pub grants: usize,
    pub families: usize,
    pub access_tokens: usize,
}

/// A client a user has granted access to (the account page's "connected apps").
#[derive(Debug, Clone, Serialize)]
pub struct ConnectedApp {
    pub client_id: String,
    pub name: String,
    pub scope: String,
    pub since: i64,
    /// When the app last acted for the user: the latest consent, token
    /// issue or refresh, or sign-in through one of their sessions
    /// (`grants::last_used_by_client`; refreshes count to the minute).
    pub last_used_at: i64,
    /// The client's registered logo (`logo_uri`), an https URL checked at registration.
    pub logo_uri: Option<String>,
}

impl OAuthService {
    /// The grants of a client; `None` when there is no such client.
    pub async fn client_grants(&self, client_id: &str) -> Result<Option<Vec<GrantSummary>>, OAuthError> {
        let cid = ClientId(client_id.to_string());
        let now = self.clock.now();
        let found = self
            .db
            .run(move |c| {
                if latchkey_store::repo::clients::find(c, &cid.0)?.is_none() {
                    return Ok(None);
                }
                let grants = grant_repo::list_for_client(c, &cid)?;
                let stats = refresh_repo::stats_for_client(c, &cid.0, now)?;
                let mut out = Vec::new();
                for g in grants {
                    let username = user_repo::find_by_id(c, &g.user_id)?.map(|u| u.username).unwrap_or_default();
                    let s = stats.iter().find(|s| s.user_id == g.user_id.0);
                    out.push(GrantSummary {
                        user_id: g.user_id.0,
                        username,
                        scope: g.scopes.to_string(),
                        created_at: g.created_at,
                        last_used_at: s.and_then(|s| s.last_used_at),
                        families: s.map_or(0, |s| s.families),
                    });
                }
                Ok(Some(out))
            })
            .await?;
        Ok(found)
    }

    /// Revokes a client's grants: consent, refresh families, and every access
    /// token issued so far; for all users, or for `user` (id, username).
    /// `None` when there is no such client.
    pub async fn revoke_client_grants(&self, client_id: &str, user: Option<(&UserId, &str)>, by: &Actor, actor: &str) -> Result<Option<RevokeReport>, OAuthError> {
        let username = user.map(|(_, name)| name);
        let user = user.map(|(id, _)| id.clone());
        let now = self.clock.now();
        let (cid, uid) = (ClientId(client_id.to_string()), user.clone());
        let result = self
            .db
            .run(move |c| {
                if latchkey_store::repo::clients::find(c, &cid.0)?.is_none() {
                    return Ok(None);
                }
                let grants = grant_repo::delete_for_client(c, &cid, uid.as_ref())?;
                let families = refresh_repo::live_family_count(c, &cid.0, uid.as_ref().map(|u| u.0.as_str()))?;
                let jtis = refresh_repo::revoke_for_client(c, &cid.0, uid.as_ref().map(|u| u.0.as_str()), now, "revoked by an administrator")?;
                Ok(Some((grants, families, jtis)))
            })
            .await?;
        let Some((grants, families, jtis)) = result else { return Ok(None) };
        self.tokens.revoke_jtis(&jtis).await?;
        match &user {
            Some(u) => self.tokens.revoke_issued_before(Revocation::Grant { client_id, user_id: &u.0 }).await?,
            None => self.tokens.revoke_issued_before(Revocation::Client(client_id)).await?,
        }
        let of = RevokedGrants::Client { client: ClientId(client_id.into()), user: user.zip(username.map(str::to_string)), families };
        self.record(by, SecurityEvent::GrantsRevoked { by: actor.into(), grants, of }).await;
        Ok(Some(RevokeReport { grants, families, access_tokens: jtis.len() }))
    }

    /// Revokes everything a user (id, username) granted, to every client.
    pub async fn revoke_user_grants(&self, user: &UserId, username: &str, by: &Actor, actor: &str) -> Result<RevokeReport, OAuthError> {
        let user = user.clone();
        let now = self.clock.now();
        let uid = user.clone();
        let (grants, clients, families, jtis) = self
            .db
            .run(move |c| {
                let mut clients: Vec<String> = grant_repo::list_for_user(c, &uid)?.into_iter().map(|g| g.client_id.0).collect();
                clients.extend(refresh_repo::client_ids_for_user(c, &uid.0)?);
                clients.sort();
                clients.dedup();
                let grants = grant_repo::delete_for_user(c, &uid)?;
                let families = refresh_repo::live_family_count_for_user(c, &uid.0)?;
                let jtis = refresh_repo::revoke_for_user(c, &uid.0, now, "revoked by an administrator")?;
                Ok((grants, clients, families, jtis))
            })
            .await?;
        self.tokens.revoke_jtis(&jtis).await?;
        for client_id in &clients {
            self.tokens.revoke_issued_before(Revocation::Grant { client_id, user_id: &user.0 }).await?;
        }
        let of = RevokedGrants::User { user, username: username.into() };
        self.record(by, SecurityEvent::GrantsRevoked { by: actor.into(), grants, of }).await;
        Ok(RevokeReport { grants, families, access_tokens: jtis.len() })
    }

    /// The apps a user has allowed, for the account page.
    pub async fn connected_apps(&self, user: &UserId) -> Result<Vec<ConnectedApp>, StoreError> {
        let uid = user.clone();
        self.db
            .run(move |c| {
                let mut out = Vec::new();
                let used = grant_repo::last_used_by_client(c, &uid)?;
                for g in grant_repo::list_for_user(c, &uid)? {
                    if let Some(client) = latchkey_store::repo::clients::find(c, &g.client_id.0)? {
                        let last = used.iter().find(|(id, _)| *id == client.id.0).map_or(0, |(_, at)| *at);
                        let last_used_at = last.max(g.updated_at);
                        out.push(ConnectedApp { client_id: client.id.0, name: client.name, scope: g.scopes.to_string(), since: g.created_at, last_used_at, logo_uri: client.links.logo_uri });
                    }
                }
                Ok(out)
            })
            .await
    }

    /// A user disconnects an app from their account page.
    pub async fn disconnect_app(&self, user: &UserId, client_id: &str) -> Result<RevokeReport, OAuthError> {
        let now = self.clock.now();
        let (cid, uid) = (ClientId(client_id.to_string()), user.clone());
        let (grants, families, jtis) = self
            .db
            .run(move |c| {
                let grants = grant_repo::delete_for_client(c, &cid, Some(&uid))?;
                let families = refresh_repo::live_family_count(c, &cid.0, Some(&uid.0))?;
                let jtis = refresh_repo::revoke_for_client(c, &cid.0, Some(&uid.0), now, "disconnected by the user")?;
                Ok((grants, families, jtis))
            })
            .await?;
        self.tokens.revoke_jtis(&jtis).await?;
        self.tokens.revoke_issued_before(Revocation::Grant { client_id, user_id: &user.0 }).await?;
        self.record(&Actor::User(user.clone()), SecurityEvent::AppDisconnected { user: user.clone(), client: ClientId(client_id.into()) }).await;
        Ok(RevokeReport { grants, families, access_tokens: jtis.len() })
    }

    /// Revokes every refresh family and access token of a user, keeping their
    /// consents (after a password change: apps must sign in again, but the
    /// user is not asked to consent again).
    pub async fn revoke_user_tokens(&self, user: &UserId) -> Result<(), OAuthError> {
        let (uid, now) = (user.0.clone(), self.clock.now());
        let (clients, jtis) = self
            .db
            .run(move |c| {
                let clients = refresh_repo::client_ids_for_user(c, &uid)?;
                let mut grants: Vec<String> = grant_repo::list_for_user(c, &UserId(uid.clone()))?.into_iter().map(|g| g.client_id.0).collect();
                grants.extend(clients);
                grants.sort();
                grants.dedup();
                Ok((grants, refresh_repo::revoke_for_user(c, &uid, now, "credentials changed")?))
            })
            .await?;
        self.tokens.revoke_jtis(&jtis).await?;
        for client_id in &clients {
            self.tokens.revoke_issued_before(Revocation::Grant { client_id, user_id: &user.0 }).await?;
        }
        Ok(())
    }

    /// Ends the refresh families bound to a browser session and every access
    /// token issued from it (sign-out). `offline_access` families survive.
    pub async fn end_session_tokens(&self, sid: &str) -> Result<(), OAuthError> {
        let now = self.clock.now();
        let s = sid.to_string();
        let jtis = self.db.run(move |c| refresh_repo::revoke_for_session(c, &s, now)).await?;
        self.tokens.revoke_jtis(&jtis).await?;
        self.tokens.revoke_issued_before(Revocation::Session(sid)).await?;
        Ok(())
    }
}
