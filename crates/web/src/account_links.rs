//! Accounts that start and recover through mailed links: invitations,
//! sign-up, recovery, email change. What the handlers share: building and
//! mailing links, the completion of a recovery, rate limits.

use latchkey_authn::links::VERIFY_TTL;
use latchkey_authn::rate_limit::Limit;
use latchkey_authn::{AuthnError, Notice, Purpose};
use latchkey_domain::{Actor, Invitation, SecurityEvent};
use latchkey_domain::{Session, User, UserId};
use latchkey_i18n::Tr;
use latchkey_oauth::audit::caller;

use crate::error::WebError;
use crate::lang;
use crate::session_ops::{end_user_sessions, not_me_link};
use crate::state::AppState;

/// `{issuer}{path}?t={token}`.
pub fn link_url(state: &AppState, path: &str, token: &str) -> String {
    format!("{}{path}?t={token}", state.issuer)
}

/// Sends a notification in `t`'s language (see [`lang::for_user`]); failing
/// to send does not fail the request (it is logged, and the outbox keeps
/// what SMTP refused).
pub async fn notify(state: &AppState, to: &str, t: Tr, notice: Notice<'_>) {
    let mail = notice.compose(to, t, None, &state.brand.for_mail());
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::error!(error = %e, subject = %mail.subject, "could not send a notification");
    }
}

/// Counts a request against a rate limit; over it, a 429 (`json` on the
/// JSON endpoints), audited.
pub async fn rate(state: &AppState, limit: Limit, key: &str, json: bool) -> Result<(), WebError> {
    match state.limiter.hit(limit, key).await {
        Ok(()) => Ok(()),
        Err(AuthnError::RateLimited { retry_after }) => {
            state.oauth.record(&caller(), SecurityEvent::RateLimited { limit: limit.name.into() }).await;
            Err(WebError::RateLimited { retry_after, json })
        }
        Err(e) => Err(e.into()),
    }
}

/// Invites a user: an account without credentials and a set-up link, mailed
/// (in English: nothing tells the invitee's language yet).
/// Returns the user and the link (for the CLI and the admin API).
pub async fn invite(state: &AppState, username: &str, email: &str, admin: bool) -> Result<(User, String), AuthnError> {
    let user = state.authn.create_without_credentials(username, email, admin).await?;
    let token = state.links.issue(Purpose::Setup, &user.id, email, state.invite_ttl).await?;
    let url = link_url(state, "/setup", &token);
    let hours = state.invite_ttl / 3600;
    notify(state, email, Tr::default(), Notice::Invitation { username, url: &url, hours }).await;
    state.oauth.record(&caller(), SecurityEvent::UserInvited { user: user.id.clone(), via: Invitation::Mailed { username: username.into(), hours } }).await;
    Ok((user, url))
}

/// Sign-up in the background (the answer is the same whatever happens here):
/// a taken address is told someone tried; a taken username is told to the
/// address; otherwise an account without credentials and a set-up link.
/// A sign-up never completed holds its username and address only until its
/// link expires; an invitation's username is held for good (issue #24 item 9).
/// Mail goes out in `t`, the language of the sign-up page.
pub async fn sign_up(state: &AppState, username: &str, email: &str, t: Tr) -> Result<(), AuthnError> {
    let mut holders = Vec::new();
    for existing in state.authn.find_by_email(email).await? {
        if !state.authn.release_abandoned_signup(&existing.id).await? {
            holders.push(existing);
        }
    }
    if !holders.is_empty() {
        notify(state, email, t, Notice::SignupAddressTaken { recover_url: &format!("{}/recover", state.issuer) }).await;
        state.oauth.record(&Actor::Anonymous, SecurityEvent::SignupAddressTaken).await;
        return Ok(());
    }
    if let Some(existing) = state.authn.find_by_username(username).await? {
        if !state.authn.release_abandoned_signup(&existing.id).await? {
            notify(state, email, t, Notice::SignupUsernameTaken { username, signup_url: &format!("{}/signup", state.issuer) }).await;
            return Ok(());
        }
    }
    let user = match state.authn.create_signup(username, email, state.clock.now() + VERIFY_TTL).await {
        Ok(u) => u,
        Err(AuthnError::UserExists) => return Ok(()),
        Err(e) => return Err(e),
    };
    let token = state.links.issue(Purpose::Setup, &user.id, email, VERIFY_TTL).await?;
    let url = link_url(state, "/setup", &token);
    notify(state, email, t, Notice::SignupConfirm { username, url: &url, hours: VERIFY_TTL / 3600 }).await;
    state.oauth.record(&Actor::Anonymous, SecurityEvent::SignupRequested { user: user.id.clone() }).await;
    Ok(())
}

/// Recovery request in the background: a link for the account a "username
/// or email" names, if any, mailed to its address with a notice (in the
/// user's language, else `t`, the recovery page's).
pub async fn request_recovery(state: &AppState, login: &str, t: Tr) -> Result<(), AuthnError> {
    let Some(user) = state.authn.find_by_login(login).await? else {
        state.oauth.record(&Actor::Anonymous, SecurityEvent::RecoveryRequestedUnknown).await;
        return Ok(());
    };
    let token = state.links.issue(Purpose::Recovery, &user.id, &user.email, state.recovery_ttl).await?;
    let url = link_url(state, "/recover/continue", &token);
    let minutes = state.recovery_ttl / 60;
    notify(state, &user.email, lang::for_user(&user, t), Notice::Recovery { username: &user.username, url: &url, minutes }).await;
    state.oauth.record(&Actor::Anonymous, SecurityEvent::RecoveryRequested { user: user.id.clone() }).await;
    Ok(())
}

/// After a recovery set a new credential: every session, remembered device,
/// refresh-token family and link of the user ends; the user is told, with a
/// "This wasn't me" link for the new session (in the user's language, else `t`).
pub async fn finish_recovery(state: &AppState, user: &User, new_session: &Session, t: Tr) -> Result<(), WebError> {
    let ended = end_user_sessions(state, &user.id, Some(new_session)).await?;
    state.oauth.revoke_user_tokens(&user.id).await.map_err(WebError::from_oauth_on_page)?;
    state.links.revoke_for_user(&user.id, None).await?;
    state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::AccountRecovered { user: user.id.clone(), sessions_ended: ended.len() }).await;
    let not_me_url = not_me_link(state, &new_session.sid);
    notify(state, &user.email, lang::for_user(user, t), Notice::Recovered { username: &user.username, not_me_url: &not_me_url }).await;
    Ok(())
}

/// After an email change is reverted: the old address is back and every
/// session, device, token and link of the user ends.
pub async fn lock_out_everyone(state: &AppState, user: &UserId) -> Result<(), WebError> {
    end_user_sessions(state, user, None).await?;
    state.oauth.revoke_user_tokens(user).await.map_err(WebError::from_oauth_on_page)?;
    state.links.revoke_for_user(user, None).await?;
    Ok(())
}
