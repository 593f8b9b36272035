//! Who may do what, checked before a handler runs: a recent sign-in for
//! sensitive account changes, an administrator for the console.

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use latchkey_domain::{Acr, Session, User};

use crate::browser::{current_session, session_hash};
use crate::error::WebError;
use crate::state::AppState;

/// Sensitive changes need a sign-in (or second factor) within 5 minutes: long
/// enough to finish a settings change, short enough that an unattended
/// browser cannot be used to change the account's security.
pub const RECENT_AUTH_SECS: i64 = 5 * 60;

/// Whether this session may change the user's sign-in methods (second
/// factors, backup codes, passkeys): an interactive sign-in (not a restore, not
/// a password change) within 5 minutes, and, when the account has a second
/// factor, one that presented it: a password alone never unlocks them.
pub async fn may_change_credentials(state: &AppState, session: &Session, user: &User) -> Result<bool, WebError> {
    if session.restored || state.clock.now() - session.auth_time > RECENT_AUTH_SECS {
        return Ok(false);
    }
    Ok(session.acr() >= Acr::MultiFactor || !state.has_second_factor(user).await?)
}

/// The user and session, if the session may make a sensitive change now;
/// otherwise a redirect to sign in again (with the second factor) and come
/// back to `back`.
pub async fn recent_session(req: &HttpRequest, state: &AppState, back: &str) -> Result<(User, Session), WebError> {
    let again = || WebError::SignInAgain { back: back.to_string() };
    let Some(session) = current_session(req, state).await? else { return Err(again()) };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(|| WebError::forbidden("Your account no longer exists."))?;
    if !may_change_credentials(state, &session, &user).await? {
        return Err(again());
    }
    Ok((user, session))
}

/// Where to come back to after signing in again: the page itself (a GET),
/// or the page a form action belongs to (a POST to `…/action`, `…/create`,
/// `…/rotate`, `…/invite` comes back to `…`).
fn back_to(req: &HttpRequest) -> String {
    let path = req.path();
    if req.method() == actix_web::http::Method::GET {
        return path.to_string();
    }
    path.rsplit_once('/').map(|(parent, _)| parent).filter(|p| !p.is_empty()).unwrap_or("/").to_string()
}

fn app_state(req: &HttpRequest) -> Result<actix_web::web::Data<AppState>, WebError> {
    req.app_data::<actix_web::web::Data<AppState>>().cloned().ok_or_else(|| WebError::Internal("no application state".into()))
}

/// The console's administrator: signed in interactively (never a session
/// restored from a remembered device) with a second factor or a passkey.
/// Otherwise the browser signs in again ([`WebError::SignInAgain`]) and
/// comes back; a user who is not an admin, or has no second factor to step
/// up with, is refused.
pub struct AdminSession {
    pub user: User,
    pub session: Session,
}

impl AdminSession {
    async fn check(req: &HttpRequest) -> Result<AdminSession, WebError> {
        let state = app_state(req)?;
        let again = || WebError::SignInAgain { back: back_to(req) };
        let Some(session) = current_session(req, &state).await? else { return Err(again()) };
        let user = state.authn.user(&session.user_id).await?.ok_or_else(|| WebError::forbidden("Your account no longer exists."))?;
        if !user.admin {
            return Err(WebError::forbidden("The console is for administrators."));
        }
        // A session restored from the 30-day remembered-device cookie is not a
        // sign-in: the console wants an interactive one (with the second factor).
        if session.restored {
            return Err(again());
        }
        if session.acr() < Acr::MultiFactor {
            if !state.has_second_factor(&user).await? {
                return Err(WebError::Page {
                    status: StatusCode::FORBIDDEN,
                    title: "Second factor required",
                    message: "The console needs a multi-factor sign-in. Set up an authenticator app or a passkey on your account page (/account), then come back.".into(),
                });
            }
            // Step-up: sign in again; the second factor is asked for.
            return Err(again());
        }
        latchkey_oauth::audit::set_caller(latchkey_domain::Actor::Admin(user.id.clone()), Some(session_hash(&state, &session.sid)));
        Ok(AdminSession { user, session })
    }

    /// Who acts, for the application's admin use cases.
    pub fn actor(&self) -> latchkey_app::admin::Actor {
        latchkey_app::admin::Actor::User(self.user.id.clone())
    }
}

impl actix_web::FromRequest for AdminSession {
    type Error = WebError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<AdminSession, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { AdminSession::check(&req).await })
    }
}

/// An [`AdminSession`] whose sign-in is also recent (5 minutes): what every
/// console action that changes anything needs.
pub struct RecentAdminSession(pub AdminSession);

impl actix_web::FromRequest for RecentAdminSession {
    type Error = WebError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<RecentAdminSession, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let admin = AdminSession::check(&req).await?;
            let state = app_state(&req)?;
            if admin.session.restored || state.clock.now() - admin.session.auth_time > RECENT_AUTH_SECS {
                return Err(WebError::SignInAgain { back: back_to(&req) });
            }
            Ok(RecentAdminSession(admin))
        })
    }
}
