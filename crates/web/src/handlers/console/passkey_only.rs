//! "Passkeys only" on a user's console page (issue #29): an administrator
//! marks the account, so no password can be set on it and the one it has
//! goes (at once if it has a passkey, else with its first passkey).

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_domain::UserId;
use serde::Deserialize;

use crate::browser::check_form_post;
use crate::error::WebError;
use crate::guards::RecentAdminSession;
use crate::handlers::see_other;
use crate::lang::tr;
use crate::state::AppState;

/// What the user page shows of it.
pub struct PasskeyOnly {
    /// An administrator marked the account.
    pub marked: bool,
    /// Passkey-only whatever the mark (`LATCHKEY_PASSKEY_ONLY`).
    pub by_policy: bool,
}

#[derive(Deserialize)]
pub struct PasskeyOnlyForm {
    csrf_token: String,
    /// `on` or `off`.
    passkey_only: String,
}

/// `POST /admin/users/{id}/passkey-only`.
pub async fn set(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<PasskeyOnlyForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let user = state.authn.user(&UserId(path.into_inner())).await?.ok_or_else(|| WebError::bad_request("No such user."))?;
    let on = match form.passkey_only.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(WebError::bad_request("Passkeys only is on or off.")),
    };
    state.admin(admin.0.actor()).set_passkey_only(&user, on, tr(&req)).await?;
    Ok(see_other(&format!("/admin/users/{}?notice=passkey-only-set", user.id.0)))
}
