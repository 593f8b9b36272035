//! "Passkeys" in the console (issue #29): which passkeys may be registered,
//! for everyone and for administrators, and the FIDO metadata BLOB the
//! attested policies check against.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_authn::authenticator_policy::{parse_aaguids, Allowed, Audience, AuthenticatorPolicy, PolicySource};
use serde::Deserialize;

use super::*;
use crate::browser::{check_form_post, CsrfCookie};
use crate::error::WebError;
use crate::guards::{AdminSession, RecentAdminSession};
use crate::handlers::see_other;
use crate::state::AppState;

/// One choice of the "Allowed" select.
pub struct AllowedOption {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// One audience's policy as the page shows and edits it.
pub struct AudienceView {
    /// `everyone` or `admins` (the form's `audience`, and ids on the page).
    pub audience: &'static str,
    pub heading: String,
    /// The policy in force, in words.
    pub in_force: String,
    /// Chosen here (a "Use the configuration's" button), or the configuration's.
    pub chosen_here: bool,
    pub options: Vec<AllowedOption>,
    pub aaguids: String,
    pub attestation: bool,
}

/// What the page says of the metadata BLOB.
pub struct MetadataView {
    pub serial: u32,
    pub next_update: String,
    pub authenticators: usize,
    pub security_keys: usize,
    /// Its next update is past: the operator should fetch a new one.
    pub stale: bool,
}

#[derive(Template)]
#[template(path = "admin/passkeys.html")]
struct PasskeysPage {
    frame: Frame,
    audiences: Vec<AudienceView>,
    /// Whether `LATCHKEY_FIDO_MDS` is set (attested policies can be chosen).
    has_metadata: bool,
    metadata: Option<MetadataView>,
    csrf_token: String,
}

/// A policy in words: "Any passkey", "Only these models (2), attested".
pub(crate) fn words(t: latchkey_i18n::Tr, p: &AuthenticatorPolicy) -> String {
    let base = match p.allowed {
        Allowed::Any => t.get("console-passkeys-any"),
        Allowed::Listed => t.arg("console-passkeys-listed-n", "count", p.aaguids.len() as i64),
        Allowed::SecurityKeys => t.get("console-passkeys-security-keys"),
    };
    if p.attestation && p.allowed != Allowed::SecurityKeys {
        format!("{base} · {}", t.get("console-passkeys-attested"))
    } else {
        base
    }
}

async fn view(state: &AppState, t: latchkey_i18n::Tr, audience: Audience) -> Result<AudienceView, WebError> {
    let (policy, source) = state.passkeys.policies.in_force(audience).await?;
    let options = [Allowed::Any, Allowed::Listed, Allowed::SecurityKeys]
        .into_iter()
        .map(|a| AllowedOption { value: a.as_str(), label: t.get(&format!("console-passkeys-allowed-{}", a.as_str())), selected: a == policy.allowed })
        .collect();
    Ok(AudienceView {
        audience: audience.as_str(),
        heading: t.get(&format!("console-passkeys-for-{}", audience.as_str())),
        in_force: words(t, &policy),
        chosen_here: source == PolicySource::Console,
        options,
        aaguids: policy.aaguids.iter().map(|a| a.to_string()).collect::<Vec<_>>().join("\n"),
        attestation: policy.attestation,
    })
}

/// `GET /admin/passkeys`.
pub async fn passkeys(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, query: web::Query<NoticeQuery>) -> Result<HttpResponse, WebError> {
    let t = crate::lang::tr(&req);
    let audiences = vec![view(&state, t, Audience::Everyone).await?, view(&state, t, Audience::Admins).await?];
    let today = latchkey_domain::clock::civil_from_days(state.clock.now().div_euclid(86_400));
    let today = format!("{:04}-{:02}-{:02}", today.0, today.1, today.2);
    let metadata = state.passkeys.policies.metadata().await.map(|m| MetadataView {
        serial: m.serial,
        stale: m.next_update.as_str() < today.as_str(),
        next_update: m.next_update.clone(),
        authenticators: m.authenticators.len(),
        security_keys: m.authenticators.iter().filter(|a| a.security_key && !a.compromised).count(),
    });
    let csrf = CsrfCookie::from_request(&req);
    let frame = Frame::new(&req, Section::Passkeys, notice_text(t, query.notice.as_deref()));
    page(&PasskeysPage { frame, audiences, has_metadata: state.passkeys.policies.has_metadata(), metadata, csrf_token: csrf.form_token(&state) }, &csrf)
}

#[derive(Deserialize)]
pub struct PolicyForm {
    csrf_token: String,
    audience: String,
    /// `save` or `reset` (back to the configuration's).
    action: String,
    #[serde(default)]
    allowed: String,
    #[serde(default)]
    aaguids: String,
    /// A checkbox: present when on.
    attestation: Option<String>,
}

/// `POST /admin/passkeys/policy`.
pub async fn set_policy(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, form: web::Form<PolicyForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let t = crate::lang::tr(&req);
    let audience = Audience::parse(&form.audience).ok_or_else(|| WebError::bad_request("The policy is for everyone or for administrators."))?;
    let policy = match form.action.as_str() {
        "reset" => None,
        "save" => {
            let allowed = Allowed::parse(&form.allowed).ok_or_else(|| WebError::bad_request("Allowed passkeys are any, listed or security-keys."))?;
            let aaguids = if allowed == Allowed::Listed {
                parse_aaguids(&form.aaguids).map_err(|e| WebError::bad_request(t.arg("console-passkeys-bad-aaguids", "reason", e.as_str())))?
            } else {
                Default::default()
            };
            Some(AuthenticatorPolicy { allowed, aaguids, attestation: form.attestation.is_some() })
        }
        _ => return Err(WebError::bad_request("Unknown action.")),
    };
    state.admin(admin.0.actor()).set_passkey_policy(audience, policy.as_ref()).await?;
    Ok(see_other(&notice_url("/admin/passkeys", "passkey-policy-set")))
}
