//! The overview: how many users, sessions, passkeys; what went wrong lately.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::*;
use crate::browser::CsrfCookie;
use crate::error::WebError;
use crate::guards::AdminSession;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage {
    frame: Frame,
    users: usize,
    sessions: usize,
    with_passkey: usize,
    pct_passkey: usize,
    with_second_factor: usize,
    pct_second_factor: usize,
    password_only: usize,
    failures_24h: i64,
    reuse_24h: i64,
}

pub async fn overview(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let users = state.authn.list_users().await?;
    let (mut sessions, mut with_passkey, mut with_second_factor, mut password_only) = (0, 0, 0, 0);
    for u in &users {
        sessions += state.sessions.list(&u.id).await?.len();
        let passkey = state.passkeys.has_passkey(&u.id).await?;
        let totp = state.mfa.has_second_factor(u).await?;
        with_passkey += usize::from(passkey);
        with_second_factor += usize::from(passkey || totp);
        password_only += usize::from(u.password_hash.is_some() && !passkey && !totp);
    }
    let day_ago = state.clock.now() - 86_400;
    let failures_24h =
        state.oauth.audit_count_since(latchkey_domain::EventKind::LoginFailed, day_ago).await? + state.oauth.audit_count_since(latchkey_domain::EventKind::SecondFactorFailed, day_ago).await?;
    let reuse_24h = state.oauth.audit_count_since(latchkey_domain::EventKind::RefreshTokenReuse, day_ago).await?;
    let csrf = CsrfCookie::from_request(&req);
    let n = users.len();
    page(
        &OverviewPage {
            frame: Frame::new(&req, Section::Overview, None),
            users: n,
            sessions,
            with_passkey,
            pct_passkey: pct(with_passkey, n),
            with_second_factor,
            pct_second_factor: pct(with_second_factor, n),
            password_only,
            failures_24h,
            reuse_24h,
        },
        &csrf,
    )
}
