//! What admins do to users, clients and keys: one function per action,
//! called by the console pages, the admin API and the CLI alike, each
//! audited with the admin who did it (the request's audit actor).

use latchkey_authn::{AuthnError, Notice, Purpose};
use latchkey_domain::{Client, ClientChange, ClientId, EndedSessions, Secret, SecurityEvent, User};
use latchkey_i18n::Tr;
use latchkey_oauth::audit::caller;
use latchkey_oauth::clients::NewClient;
use latchkey_oauth::OAuthError;
use latchkey_token::crypto::{random_token, KeyPurpose};

use crate::account_links::{link_url, notify};
use crate::error::WebError;
use crate::lang::for_user;
use crate::session_ops::end_user_sessions;
use crate::state::AppState;

fn oauth(e: OAuthError) -> WebError {
    WebError::from_oauth_on_page(e)
}

/// Ends every session, remembered device and token of the user.
pub async fn end_everything(state: &AppState, user: &User) -> Result<usize, WebError> {
    let ended = end_user_sessions(state, &user.id, None).await?;
    state.oauth.revoke_user_tokens(&user.id).await.map_err(oauth)?;
    state.oauth.record(&caller(), SecurityEvent::SessionsEnded { user: user.id.clone(), ended: EndedSessions::Everything { sessions: ended.len() } }).await;
    Ok(ended.len())
}

/// Disabling ends every session and token at once; sign-in is refused until
/// the user is enabled again.
pub async fn set_disabled(state: &AppState, user: &User, disabled: bool) -> Result<(), WebError> {
    state.authn.set_disabled(&user.id, disabled).await?;
    if disabled {
        end_user_sessions(state, &user.id, None).await?;
        state.oauth.revoke_user_tokens(&user.id).await.map_err(oauth)?;
        state.links.revoke_for_user(&user.id, None).await?;
    }
    let u = user.id.clone();
    state.oauth.record(&caller(), if disabled { SecurityEvent::UserDisabled { user: u } } else { SecurityEvent::UserEnabled { user: u } }).await;
    Ok(())
}

/// For a user who lost every factor: removes the authenticator app and
/// backup codes, ends every session, tells the user.
pub async fn reset_mfa(state: &AppState, user: &User) -> Result<(), WebError> {
    state.mfa.remove_totp(user).await?;
    end_user_sessions(state, &user.id, None).await?;
    state.oauth.revoke_user_tokens(&user.id).await.map_err(oauth)?;
    state.links.revoke_for_user(&user.id, Some(Purpose::Recovery)).await?;
    state.oauth.record(&caller(), SecurityEvent::MfaResetByAdmin { user: user.id.clone() }).await;
    let recover_url = format!("{}/recover", state.issuer);
    notify(state, &user.email, for_user(user, Tr::default()), Notice::MfaReset { username: &user.username, recover_url: &recover_url }).await;
    Ok(())
}

/// Mails the user a recovery link (as "Can't sign in?" would).
pub async fn send_recovery_link(state: &AppState, user: &User) -> Result<(), WebError> {
    let token = state.links.issue(Purpose::Recovery, &user.id, &user.email, state.recovery_ttl).await?;
    let url = link_url(state, "/recover/continue", &token);
    notify(state, &user.email, for_user(user, Tr::default()), Notice::AdminRecovery { username: &user.username, url: &url, minutes: state.recovery_ttl / 60 }).await;
    state.oauth.record(&caller(), SecurityEvent::RecoveryLinkSentByAdmin { user: user.id.clone() }).await;
    Ok(())
}

/// Deletes a user: sessions end (relying parties told), tokens revoked, data gone.
pub async fn delete_user(state: &AppState, user: &User) -> Result<(), WebError> {
    end_user_sessions(state, &user.id, None).await?;
    state.oauth.revoke_user_tokens(&user.id).await.map_err(oauth)?;
    state.authn.delete_user(&user.id).await?;
    state.oauth.record(&caller(), SecurityEvent::UserDeleted { user: user.id.clone(), username: user.username.clone() }).await;
    Ok(())
}

/// Grants or takes away admin rights. Never the last enabled
/// administrator's ([`AuthnError::LastAdmin`]); the console and the API
/// also refuse one's own.
pub async fn set_admin(state: &AppState, user: &User, admin: bool) -> Result<(), AuthnError> {
    state.authn.set_admin(&user.id, admin).await?;
    let (u, was_admin) = (user.id.clone(), user.admin);
    state.oauth.record(&caller(), if admin { SecurityEvent::AdminGranted { user: u, was_admin } } else { SecurityEvent::AdminRevoked { user: u, was_admin } }).await;
    Ok(())
}

/// Changes a client's name and URIs.
pub async fn update_client(state: &AppState, client_id: &str, update: latchkey_oauth::clients::ClientUpdate) -> Result<(), OAuthError> {
    let before = state.oauth.client(client_id).await?.ok_or(OAuthError::NotFound("client"))?;
    let change = ClientChange::Settings { name_before: before.name, name: update.name.clone(), redirect_uris_before: before.redirect_uris, redirect_uris: update.redirect_uris.clone() };
    latchkey_oauth::clients::update(&state.stores.db, client_id, update).await?;
    state.oauth.forget_cached_clients();
    state.oauth.record(&caller(), SecurityEvent::ClientUpdated { client: ClientId(client_id.into()), change }).await;
    Ok(())
}

/// Changes some of a client's consent-page links (logo, policy, terms).
pub async fn update_client_links(state: &AppState, client_id: &str, links: latchkey_oauth::clients::LinksUpdate) -> Result<(), OAuthError> {
    let now = latchkey_oauth::clients::update_links(&state.stores.db, client_id, links).await?;
    state.oauth.forget_cached_clients();
    let change = ClientChange::Links { logo_uri: now.logo_uri, policy_uri: now.policy_uri, tos_uri: now.tos_uri };
    state.oauth.record(&caller(), SecurityEvent::ClientUpdated { client: ClientId(client_id.into()), change }).await;
    Ok(())
}

/// Registers a client; the secret is returned once.
pub async fn create_client(state: &AppState, new: NewClient) -> Result<(Client, Option<Secret>), OAuthError> {
    let (client, secret) = latchkey_oauth::clients::register(&state.stores.db, &state.stores.master, new, state.clock.now()).await?;
    state.oauth.record(&caller(), SecurityEvent::ClientCreated { client: client.id.clone(), name: client.name.clone() }).await;
    Ok((client, secret))
}

/// A new secret for a confidential client; the old one stops working at once
/// on this node, within the client cache's 5 seconds on others.
pub async fn rotate_client_secret(state: &AppState, client_id: &str) -> Result<Secret, OAuthError> {
    let client = state.oauth.client(client_id).await?.ok_or(OAuthError::NotFound("client"))?;
    if client.secret_hash.is_none() {
        return Err(OAuthError::invalid_request("a public client has no secret"));
    }
    let secret = Secret::new(random_token(latchkey_oauth::clients::CLIENT_SECRET_PREFIX));
    let hash = state.stores.master.hasher(KeyPurpose::ClientSecret).hash(secret.expose());
    let id = client.id.0.clone();
    state.stores.db.run(move |c| latchkey_store::repo::clients::set_secret_hash(c, &id, &hash)).await?;
    state.oauth.forget_cached_clients();
    state.oauth.record(&caller(), SecurityEvent::ClientSecretRotated { client: ClientId(client_id.into()) }).await;
    Ok(secret)
}

/// Disabling a client refuses its authentication and authorization requests
/// and revokes everything issued to it.
pub async fn set_client_disabled(state: &AppState, client_id: &str, disabled: bool) -> Result<(), OAuthError> {
    let (id, at) = (client_id.to_string(), disabled.then(|| state.clock.now()));
    if !state.stores.db.run(move |c| latchkey_store::repo::clients::set_disabled(c, &id, at)).await? {
        return Err(OAuthError::NotFound("client"));
    }
    state.oauth.forget_cached_clients();
    if disabled {
        state.oauth.revoke_client_grants(client_id, None, "client disabled").await?;
    }
    let client = ClientId(client_id.into());
    state.oauth.record(&caller(), if disabled { SecurityEvent::ClientDisabled { client } } else { SecurityEvent::ClientEnabled { client } }).await;
    Ok(())
}

pub async fn delete_client(state: &AppState, client_id: &str) -> Result<(), OAuthError> {
    state.oauth.revoke_client_grants(client_id, None, "client deleted").await?;
    if !latchkey_oauth::clients::remove(&state.stores.db, client_id).await? {
        return Err(OAuthError::NotFound("client"));
    }
    state.oauth.forget_cached_clients();
    state.oauth.record(&caller(), SecurityEvent::ClientDeleted { client: ClientId(client_id.into()) }).await;
    Ok(())
}

/// A user by id or username, typed by its shape: a UUID is only ever
/// looked up as an id, anything else only as a username (whatever its
/// case). A username shaped like another account's id (possible before
/// issue #24 item 5) can therefore never stand in for that account.
pub async fn find_user(state: &AppState, name_or_id: &str) -> Result<Option<User>, AuthnError> {
    if latchkey_domain::user::looks_like_user_id(name_or_id) {
        return state.authn.user(&latchkey_domain::UserId(name_or_id.to_ascii_lowercase())).await;
    }
    state.authn.find_by_username(name_or_id).await
}
