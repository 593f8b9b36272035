//! A user's own risk policy (issue #32), on the user's console page: the
//! deployment's (`LATCHKEY_RISK_POLICY`, for administrators
//! `LATCHKEY_RISK_POLICY_ADMINS`) unless one is chosen here.

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::risk::RiskPolicy;
use latchkey_domain::{User, UserId};
use latchkey_i18n::Tr;
use serde::Deserialize;

use crate::browser::check_form_post;
use crate::error::WebError;
use crate::guards::RecentAdminSession;
use crate::handlers::see_other;
use crate::state::AppState;

/// The form value of "the deployment's policy".
const DEFAULT: &str = "default";

/// One option of the policy's select.
pub struct PolicyOption {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// The policy of `user` as the console's select offers it.
pub async fn options(state: &AppState, t: Tr, user: &User) -> Result<Vec<PolicyOption>, WebError> {
    let own = state.risk.own_policy(&user.id).await?;
    let default = if user.admin { state.risk.admins_policy() } else { state.risk.policy() };
    let mut out = vec![PolicyOption { value: DEFAULT, label: t.arg("console-user-risk-default", "policy", words(t, default)), selected: own.is_none() }];
    out.extend([RiskPolicy::Off, RiskPolicy::Standard, RiskPolicy::Strict].map(|p| PolicyOption { value: p.as_str(), label: words(t, p), selected: own == Some(p) }));
    Ok(out)
}

/// A policy in words ("Standard").
pub fn words(t: Tr, policy: RiskPolicy) -> String {
    t.get(match policy {
        RiskPolicy::Off => "console-risk-policy-off",
        RiskPolicy::Standard => "console-risk-policy-standard",
        RiskPolicy::Strict => "console-risk-policy-strict",
    })
}

#[derive(Deserialize)]
pub struct PolicyForm {
    csrf_token: String,
    policy: String,
}

/// `POST /admin/users/{id}/risk-policy`.
pub async fn set(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<PolicyForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let user = state.authn.user(&UserId(path.into_inner())).await?.ok_or_else(|| WebError::bad_request("No such user."))?;
    let policy = match form.policy.as_str() {
        DEFAULT => None,
        other => Some(RiskPolicy::parse(other).ok_or_else(|| WebError::bad_request("Unknown risk policy."))?),
    };
    state.admin(admin.0.actor()).set_risk_policy(&user, policy).await?;
    Ok(see_other(&format!("/admin/users/{}?notice=risk-policy-set", user.id.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_i18n::Locale;

    #[test]
    fn every_policy_has_words_in_every_language() {
        for locale in Locale::ALL {
            let t = Tr::new(locale);
            for key in ["console-user-risk", "console-user-risk-intro", "console-user-risk-save", "console-notice-risk-policy-set", "audit-detail-risk-policy", "audit-detail-risk-policy-default"] {
                assert!(t.has(key), "{locale} lacks {key}");
            }
            for p in [RiskPolicy::Off, RiskPolicy::Standard, RiskPolicy::Strict] {
                assert!(!words(t, p).is_empty());
            }
        }
        assert_eq!(Tr::new(Locale::En).arg("console-user-risk-default", "policy", words(Tr::new(Locale::En), RiskPolicy::Strict)), "Default: Strict");
    }

    #[test]
    fn the_audit_trail_words_the_change() {
        let (en, de) = (Tr::new(Locale::En), Tr::new(Locale::De));
        assert_eq!(super::super::audit::detail_words(en, "risk_policy_set", "risk policy: strict"), "risk policy: Strict");
        assert_eq!(super::super::audit::detail_words(de, "risk_policy_set", "risk policy: off"), "Risikorichtlinie: Aus");
        assert_eq!(super::super::audit::detail_words(en, "risk_policy_set", "risk policy: the deployment's"), "risk policy: the default");
    }
}
