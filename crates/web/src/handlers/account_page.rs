//! `/account`: everything that can sign in as the user, in one page: sign-in
//! methods, where they are signed in, connected apps, recent activity, profile.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::ways_in::WaysIn;
use latchkey_domain::{Amr, ScopeSet, Session, User};

use super::see_other;
use crate::browser::{with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::pages::{render, AccountPage, AppRow, DeviceRow, PasskeyRow, SessionRow, When};
use crate::plain_words;
use crate::session_ops::session_or_restore;
use crate::state::AppState;

pub async fn account_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let resolved = session_or_restore(&req, &state).await?;
    let Some(session) = resolved.session else {
        return with_cookies(see_other("/login"), &resolved.cookies);
    };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(|| WebError::forbidden("Your account no longer exists."))?;
    let csrf = CsrfCookie::from_request(&req);
    let page = build(&state, &user, &session, csrf.form_token(&state)).await?;
    let mut cookies = resolved.cookies;
    cookies.extend(csrf.new);
    let mut resp = render(StatusCode::OK, &page);
    // The connected apps' logos load from their own hosts.
    crate::routes::allow_logos(&mut resp, &state, page.apps.iter().map(|a| a.logo_uri.clone()));
    with_cookies(resp, &cookies)
}

async fn build(state: &AppState, user: &User, session: &Session, csrf_token: String) -> Result<AccountPage, WebError> {
    let now = state.clock.now();
    let passkeys: Vec<PasskeyRow> = state
        .passkeys
        .list(&user.id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow { kind: p.kind.in_words(), created: When::at(now, p.created_at), last_used: p.last_used_at.map(|t| When::at(now, t)), id: p.id, name: p.name })
        .collect();
    let totp = state.mfa.has_second_factor(user).await?;
    let backup_codes = state.mfa.unused_backup_codes(user).await?;
    let ways = WaysIn { password: user.password_hash.is_some(), passkeys: passkeys.len(), authenticator_app: totp, backup_codes };
    // The gentle prompt: after a password-only sign-in, for users without a
    // passkey, unless they said "Not now" recently.
    let passkey_prompt = passkeys.is_empty() && session.amr == [Amr::Pwd] && state.stores.fast.get(&super::account::passkey_prompt_key(&user.id.0)).await?.is_none();
    Ok(AccountPage {
        passkey_prompt,
        username: user.username.clone(),
        email: user.email.clone(),
        name: user.profile.name.clone().filter(|n| !n.trim().is_empty()),
        signed_in: When::at(now, session.auth_time),
        methods: plain_words::methods(&session.amr),
        passkeys,
        totp,
        backup_codes,
        has_password: ways.password,
        can_remove_password: ways.may_remove_password().is_ok(),
        sessions: sessions(state, user, session, now).await?,
        devices: devices(state, user, session, now).await?,
        apps: apps(state, user, now).await?,
        activity: super::activity::rows(state, &user.id, session).await?,
        device_name: session.device_name.clone().unwrap_or_else(|| "Passkey".into()),
        csrf_token,
    })
}

async fn sessions(state: &AppState, user: &User, current: &Session, now: i64) -> Result<Vec<SessionRow>, WebError> {
    let mut list = state.sessions.list(&user.id).await?;
    // This browser first, then the most recently active.
    list.sort_by_key(|s| (s.sid != current.sid, std::cmp::Reverse(s.last_seen_at)));
    Ok(list
        .into_iter()
        .map(|s| SessionRow {
            current: s.sid == current.sid,
            device: s.device_name.clone().unwrap_or_else(|| "Unknown device".into()),
            ip: s.ip.clone().unwrap_or_else(|| "unknown address".into()),
            created: When::at(now, s.created_at),
            last_seen: When::at(now, s.last_seen_at),
            sid: s.sid,
        })
        .collect())
}

async fn devices(state: &AppState, user: &User, current: &Session, now: i64) -> Result<Vec<DeviceRow>, WebError> {
    Ok(state
        .devices
        .list(&user.id)
        .await?
        .into_iter()
        .map(|d| DeviceRow {
            current: current.device_id.as_deref() == Some(d.id.as_str()),
            created: When::at(now, d.created_at),
            last_used: When::at(now, d.last_used_at),
            expires: super::account::format_time(d.expires_at),
            name: d.name,
            id: d.id,
        })
        .collect())
}

async fn apps(state: &AppState, user: &User, now: i64) -> Result<Vec<AppRow>, WebError> {
    let mut rows = Vec::new();
    for app in state.oauth.connected_apps(&user.id).await? {
        let scopes = ScopeSet::parse_lenient(&app.scope);
        rows.push(AppRow {
            can: super::consent::describe_with(state, &scopes, plain_words::scope, true).await?,
            last_used: When::at(now, app.last_used_at),
            logo_uri: app.logo_uri,
            name: app.name,
            client_id: app.client_id,
        });
    }
    Ok(rows)
}
