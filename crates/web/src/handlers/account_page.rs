//! `/account`: everything that can sign in as the user, in one page: sign-in
//! methods, where they are signed in, connected apps, recent activity, profile.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::ways_in::WaysIn;
use latchkey_domain::{Amr, ScopeSet, Session, User};
use latchkey_i18n::Tr;

use super::see_other;
use crate::browser::{with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::lang::tr;
use crate::pages::{render, AccountPage, AppRow, DeviceRow, LinkedRow, PasskeyIcon, PasskeyRow, PasskeySignals, SessionRow, When};
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
    let page = build(&state, tr(&req), &user, &session, csrf.form_token(&state)).await?;
    let mut cookies = resolved.cookies;
    cookies.extend(csrf.new);
    let mut resp = render(StatusCode::OK, &page);
    // The connected apps' logos load from their own hosts.
    crate::csp::allow_logos(&mut resp, &state, page.apps.iter().map(|a| a.logo_uri.clone()));
    with_cookies(resp, &cookies)
}

async fn build(state: &AppState, t: Tr, user: &User, session: &Session, csrf_token: String) -> Result<AccountPage, WebError> {
    let now = state.clock.now();
    let passkeys: Vec<PasskeyRow> = state
        .passkeys
        .list(&user.id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            kind: plain_words::passkey_holder(t, &p),
            icon: PasskeyIcon::of(p.provider.as_ref()),
            created: When::at(t, now, p.created_at),
            last_used: p.last_used_at.map(|at| When::at(t, now, at)),
            id: p.id,
            name: p.name,
        })
        .collect();
    let totp = state.mfa.has_second_factor(user).await?;
    let backup_codes = state.mfa.unused_backup_codes(user).await?;
    let ways = WaysIn { password: user.password_hash.is_some(), passkeys: passkeys.len(), authenticator_app: totp, backup_codes };
    // The gentle prompt: after a password-only or upstream-provider sign-in
    // (issue #26: a new federated account is offered a passkey), for users
    // without a passkey, unless they said "Not now" recently.
    let passkey_prompt =
        passkeys.is_empty() && (session.amr == [Amr::Pwd] || session.amr == [Amr::Fed]) && state.stores.fast.single_use().get(&super::account::passkey_prompt_key(&user.id.0)).await?.is_none();
    let links = state.linked_identities(&user.id).await?;
    let linked: Vec<LinkedRow> = links
        .iter()
        .map(|(row, provider)| LinkedRow {
            provider_id: row.provider_id.clone(),
            provider: provider.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| row.provider_id.clone()),
            upstream: row.display.clone(),
            last_used: row.last_used_at.map(|at| When::at(t, now, at)),
        })
        .collect();
    let signals = PasskeySignals {
        rp_id: state.passkeys.rp_id().to_string(),
        user_id: latchkey_authn::PasskeyService::user_handle(&user.id)?,
        accepted: passkeys.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(","),
        name: user.username.clone(),
        display_name: user.profile.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| user.username.clone()),
    };
    let linkable = state.enabled_providers().await?.into_iter().filter(|p| !links.iter().any(|(r, _)| r.provider_id == p.id)).map(|p| (p.id, p.name)).collect();
    Ok(AccountPage {
        t,
        passkey_prompt,
        username: user.username.clone(),
        email: user.email.clone(),
        name: user.profile.name.clone().filter(|n| !n.trim().is_empty()),
        signed_in: When::at(t, now, session.auth_time),
        methods: plain_words::methods(t, &session.amr),
        passkeys,
        totp,
        backup_codes,
        has_password: ways.password,
        can_remove_password: ways.may_remove_password().is_ok(),
        passkey_only: state.authn.is_passkey_only(user),
        sessions: sessions(state, t, user, session, now).await?,
        devices: devices(state, t, user, session, now).await?,
        apps: apps(state, t, user, now).await?,
        linked,
        linkable,
        activity: super::activity::rows(state, t, &user.id, session).await?,
        device_name: session.device_name.clone().unwrap_or_else(|| t.get("passkey-kind-unknown")),
        signals,
        csrf_token,
    })
}

async fn sessions(state: &AppState, t: Tr, user: &User, current: &Session, now: i64) -> Result<Vec<SessionRow>, WebError> {
    let mut list = state.sessions.list(&user.id).await?;
    // This browser first, then the most recently active.
    list.sort_by_key(|s| (s.sid != current.sid, std::cmp::Reverse(s.last_seen_at)));
    Ok(list
        .into_iter()
        .map(|s| SessionRow {
            current: s.sid == current.sid,
            device: s.device_name.clone().unwrap_or_else(|| t.get("account-unknown-device")),
            ip: s.ip.clone().unwrap_or_else(|| t.get("account-unknown-address")),
            created: When::at(t, now, s.created_at),
            last_seen: When::at(t, now, s.last_seen_at),
            sid: s.sid,
        })
        .collect())
}

async fn devices(state: &AppState, t: Tr, user: &User, current: &Session, now: i64) -> Result<Vec<DeviceRow>, WebError> {
    Ok(state
        .devices
        .list(&user.id)
        .await?
        .into_iter()
        .map(|d| DeviceRow {
            current: current.device_id.as_deref() == Some(d.id.as_str()),
            created: When::at(t, now, d.created_at),
            last_used: When::at(t, now, d.last_used_at),
            expires: crate::format::format_time(d.expires_at),
            name: d.name,
            id: d.id,
        })
        .collect())
}

async fn apps(state: &AppState, t: Tr, user: &User, now: i64) -> Result<Vec<AppRow>, WebError> {
    let mut rows = Vec::new();
    for app in state.oauth.connected_apps(&user.id).await? {
        let scopes = ScopeSet::parse_lenient(&app.scope);
        rows.push(AppRow {
            can: super::consent::describe_with(state, t, &scopes, plain_words::scope_key_short, true).await?,
            last_used: When::at(t, now, app.last_used_at),
            logo_uri: app.logo_uri,
            name: app.name,
            client_id: app.client_id,
        });
    }
    Ok(rows)
}
