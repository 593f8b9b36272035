//! "Recent activity" on the account page: the user's own security events in
//! plain words, each with "This wasn't me". That answer is the mail link's
//! (`/account/not-me`) from the account page: the session the event came from
//! ends; when it has already ended, or the event names none, every other
//! session and remembered device ends (which one did it cannot be told).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_domain::{Actor, Disowned, EventKind, SecurityEvent};
use latchkey_domain::{Amr, Session, SignInRisk, StepUp, UserId};
use latchkey_i18n::Tr;
use latchkey_store::repo::audit::{AuditEvent, Filter};
use serde::Deserialize;

use super::see_other;
use crate::browser::{check_form_post, current_session, session_hash};
use crate::error::WebError;
use crate::pages::{render, ActivityRow, NotMePage, When};
use crate::state::AppState;

/// Rows on the page, and how many recent events are read to find them
/// (events that are not the user's business, e.g. rate limits, are skipped).
const SHOWN: usize = 10;
const SCANNED: i64 = 40;

/// The user's recent events that the account page shows, newest first, in `t`'s words.
async fn recent(state: &AppState, t: Tr, user: &UserId) -> Result<Vec<(AuditEvent, String)>, WebError> {
    let filter = Filter { user_id: Some(user.0.clone()), ..Default::default() };
    let events = state.oauth.audit_search(filter, None, SCANNED).await?.events;
    Ok(events.into_iter().filter_map(|e| what(t, &e).map(|w| (e, w))).take(SHOWN).collect())
}

pub(crate) async fn rows(state: &AppState, t: Tr, user: &UserId, current: &Session) -> Result<Vec<ActivityRow>, WebError> {
    let now = state.clock.now();
    let here = session_hash(state, &current.sid);
    Ok(recent(state, t, user)
        .await?
        .into_iter()
        .map(|(e, what)| {
            let device = latchkey_authn::device_name::friendly_name(e.user_agent.as_deref());
            ActivityRow {
                from: format!("{device} · {}", e.ip.clone().unwrap_or_else(|| t.get("account-unknown-address"))),
                here: e.session_hash.as_deref() == Some(here.as_str()),
                when: When::at(t, now, e.at),
                what,
                id: e.id,
            }
        })
        .collect())
}

/// What an event means to the user, or `None` for events not shown to them.
fn what(t: Tr, e: &AuditEvent) -> Option<String> {
    use EventKind::*;
    // Old rows of a kind no longer recorded are not shown either.
    let key = match EventKind::from_kind(&e.kind)? {
        SignIn => return Some(sign_in_words(t, &e.detail)),
        PasskeySignIn => return None, // the `sign_in` next to it says it
        SessionRestored => "activity-session-restored",
        LoginFailed | LoginThrottled | SecondFactorFailed | PasskeySignInFailed => "activity-failed",
        PasswordChanged => "activity-password-changed",
        PasswordSet => "activity-password-set",
        PasswordRemoved => "activity-password-removed",
        TotpEnrolled => "activity-totp-enrolled",
        TotpRemoved => "activity-totp-removed",
        PasskeyAdded => "activity-passkey-added",
        PasskeyRemoved => "activity-passkey-removed",
        EmailChanged => "activity-email-changed",
        AccountRecovered => "activity-account-recovered",
        NewDeviceSignIn => "activity-new-device",
        MfaResetByAdmin => "activity-mfa-reset",
        BackupCodesRegenerated => "activity-codes-regenerated",
        DeviceApproved => "activity-device-approved",
        NotMe => "activity-not-me",
        RiskySignInRefused => "activity-risky-refused",
        SignInCodeFailed => "activity-failed",
        SignInSteppedUp if e.detail.starts_with(StepUp::MailedCode.words()) => "activity-code-sent",
        _ => return None,
    };
    Some(t.get(key))
}

/// The methods of a `sign_in` event's detail (`methods pwd otp mfa, remembered device`).
fn sign_in_methods(detail: &str) -> Vec<Amr> {
    let list = detail.strip_prefix("methods ").unwrap_or("");
    list.split([',', ';']).next().unwrap_or("").split_whitespace().filter_map(Amr::parse).collect()
}

/// A sign-in in words, with where it came from when the location database
/// knew (issue #32): "New device in Berlin, Germany: signed in with password".
fn sign_in_words(t: Tr, detail: &str) -> String {
    let methods = crate::plain_words::methods(t, &sign_in_methods(detail));
    let new_device = detail.split("; ").next().unwrap_or_default().split(", ").any(|flag| flag == "new device");
    match SignInRisk::from_detail(detail).and_then(|r| r.place) {
        Some(place) if new_device => t.arg2("activity-sign-in-new-device-in", "place", place, "methods", methods),
        Some(place) => t.arg2("activity-sign-in-in", "place", place, "methods", methods),
        None => t.arg("activity-sign-in", "methods", methods),
    }
}

#[derive(Deserialize)]
pub struct NotMeForm {
    csrf_token: String,
    /// The audit event's id.
    event: String,
}

/// "This wasn't me" on a row of recent activity.
pub async fn not_me(req: HttpRequest, state: web::Data<AppState>, form: web::Form<NotMeForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let Some(session) = current_session(&req, &state).await? else { return Ok(see_other("/login?next=/account")) };
    // Only an event the page could have shown this user: another user's id is unknown here.
    let t = crate::lang::tr(&req);
    let Some((event, _)) = recent(&state, t, &session.user_id).await?.into_iter().find(|(e, _)| e.id == form.event) else {
        return Err(WebError::bad_request("No such activity."));
    };
    let culprit = match &event.session_hash {
        Some(h) => state.sessions.list(&session.user_id).await?.into_iter().find(|s| s.sid != session.sid && session_hash(&state, &s.sid) == *h),
        None => None,
    };
    let ended = match culprit {
        Some(s) => state.end_sessions(vec![s.sid]).await?,
        None => state.end_user_sessions(&session.user_id, Some(&session)).await?,
    };
    let disowned = Disowned::Event { kind: event.kind.clone(), sessions_ended: ended.len() };
    state.oauth.record(&Actor::User(session.user_id.clone()), SecurityEvent::NotMe { user: session.user_id.clone(), disowned }).await;
    // What an intruder may have added is offered for removal on the review page.
    let page = NotMePage { done: true, ended: !ended.is_empty(), review: true, ..NotMePage::new(t, csrf.form_token(&state)) };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_details_give_their_methods() {
        assert_eq!(sign_in_methods("methods pwd otp mfa, remembered device, new device"), vec![Amr::Pwd, Amr::Otp, Amr::Mfa]);
        assert_eq!(sign_in_methods("methods hwk user"), vec![Amr::Hwk, Amr::User]);
        assert_eq!(sign_in_methods("something else"), vec![]);
        assert_eq!(sign_in_methods("methods pwd mca; risk medium: unknown device; from Berlin, Germany"), vec![Amr::Pwd, Amr::Mca]);
    }

    #[test]
    fn sign_ins_say_where_they_came_from() {
        let en = Tr::new(latchkey_i18n::Locale::En);
        assert_eq!(sign_in_words(en, "methods pwd, new device; risk low: unknown device; from Berlin, Germany"), "New device in Berlin, Germany: signed in with password");
        assert_eq!(sign_in_words(en, "methods hwk user; risk low; from Paris, France"), "Signed in with passkey in Paris, France");
        assert_eq!(sign_in_words(en, "methods pwd, new device"), "Signed in with password");
    }
}
