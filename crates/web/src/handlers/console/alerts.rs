//! Security alerts (`/admin/alerts`, issue #32): the anomalies
//! `latchkey_app::anomalies` raised, open ones first, each group newest
//! first, with the account (linked by name), the address and the evidence
//! in the reader's words; "Acknowledge" on each open one (a recent admin
//! sign-in, CSRF, audited).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_domain::{AccountChange, Alert, Anomaly, AnomalyKind};
use latchkey_i18n::Tr;
use latchkey_oauth::audit::AuditNames;

use super::*;
use crate::browser::{check_form_post, CsrfCookie};
use crate::error::WebError;
use crate::format::format_rfc3339;
use crate::guards::{AdminSession, RecentAdminSession};
use crate::handlers::see_other;
use crate::state::AppState;

/// The message id of an anomaly kind's name.
pub(crate) fn kind_key(kind: AnomalyKind) -> String {
    format!("alert-kind-{}", kind.as_str().replace('_', "-"))
}

/// The evidence of `anomaly` in `t`'s words; clients by name when known.
pub(crate) fn evidence_words(t: Tr, anomaly: &Anomaly, names: &AuditNames) -> String {
    match anomaly {
        Anomaly::FailureSpike { failures, minutes, .. } => t.arg2("alert-evidence-failure-spike", "failures", *failures, "minutes", *minutes),
        Anomaly::CredentialStuffing { accounts, minutes, .. } => t.arg2("alert-evidence-credential-stuffing", "accounts", *accounts, "minutes", *minutes),
        Anomaly::RefreshTokenReuse { client, .. } => t.arg("alert-evidence-refresh-token-reuse", "client", names.clients.get(&client.0).cloned().unwrap_or_else(|| client.0.clone())),
        Anomaly::NewCountry { country, .. } => t.arg("alert-evidence-new-country", "country", country.as_str()),
        Anomaly::NewDeviceAfterChange { change: AccountChange::Recovery, minutes, .. } => t.arg("alert-evidence-after-recovery", "minutes", *minutes),
        Anomaly::NewDeviceAfterChange { change: AccountChange::EmailChange, minutes, .. } => t.arg("alert-evidence-after-email-change", "minutes", *minutes),
    }
}

/// A moment in words ("3 minutes ago") and exactly.
struct When {
    words: String,
    exact: String,
    iso: String,
}

impl When {
    fn at(t: Tr, now: i64, at: i64) -> When {
        let iso = format_rfc3339(at);
        When { words: crate::plain_words::ago(t, now, at), exact: format!("{} UTC", iso.trim_end_matches('Z').replacen('T', " ", 1)), iso }
    }
}

/// The account an alert concerns: its name and page while it exists.
struct Account {
    name: String,
    href: Option<String>,
    id: String,
}

struct AlertView {
    id: String,
    kind: String,
    evidence: String,
    account: Option<Account>,
    address: Option<String>,
    first_seen: When,
    last_seen: When,
    count: i64,
    /// "Acknowledged by root, 3 minutes ago".
    acknowledged: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/alerts.html")]
struct AlertsPage {
    frame: Frame,
    open: Vec<AlertView>,
    acknowledged: Vec<AlertView>,
    csrf_token: String,
}

/// The id a stored actor (`admin:<id>`) names.
fn actor_id(stored: &str) -> Option<&str> {
    stored.split_once(':').map(|(_, id)| id)
}

fn view(t: Tr, now: i64, names: &AuditNames, a: &Alert) -> AlertView {
    let account = a.anomaly.user().map(|u| {
        let name = names.users.get(&u.0).cloned();
        Account {
            href: name.as_ref().map(|_| format!("/admin/users/{}", url::form_urlencoded::byte_serialize(u.0.as_bytes()).collect::<String>())),
            name: name.unwrap_or_else(|| short_id(&u.0)),
            id: u.0.clone(),
        }
    });
    let acknowledged = a.acknowledged.as_ref().map(|ack| {
        let by = actor_id(&ack.by).and_then(|id| names.users.get(id)).cloned().unwrap_or_else(|| t.get("console-alerts-someone"));
        t.arg2("console-alerts-acknowledged-by", "name", by, "when", crate::plain_words::ago(t, now, ack.at))
    });
    AlertView {
        id: a.id.clone(),
        kind: t.get(&kind_key(a.anomaly.kind())),
        evidence: evidence_words(t, &a.anomaly, names),
        account,
        address: a.address.clone(),
        first_seen: When::at(t, now, a.first_seen),
        last_seen: When::at(t, now, a.last_seen),
        count: a.count,
        acknowledged,
    }
}

pub async fn alerts(req: HttpRequest, admin: AdminSession, state: web::Data<AppState>, query: web::Query<NoticeQuery>) -> Result<HttpResponse, WebError> {
    let found = state.admin(admin.actor()).alerts().await?;
    let all = || found.open.iter().chain(found.acknowledged.iter());
    let mut users: Vec<String> = all().filter_map(|a| a.anomaly.user().map(|u| u.0.clone())).collect();
    users.extend(all().filter_map(|a| a.acknowledged.as_ref().and_then(|ack| actor_id(&ack.by).map(str::to_string))));
    let clients: Vec<String> = all().filter_map(|a| a.anomaly.client().map(|c| c.0.clone())).collect();
    users.sort();
    users.dedup();
    let names = if users.is_empty() && clients.is_empty() { AuditNames::default() } else { state.oauth.audit_names(users, clients).await? };
    let csrf = CsrfCookie::from_request(&req);
    let frame = Frame::new(&req, Section::Alerts, notice_text(crate::lang::tr(&req), query.notice.as_deref()));
    let (t, now) = (frame.t, state.clock.now());
    let open = found.open.iter().map(|a| view(t, now, &names, a)).collect();
    let acknowledged = found.acknowledged.iter().map(|a| view(t, now, &names, a)).collect();
    page(&AlertsPage { frame, open, acknowledged, csrf_token: csrf.form_token(&state) }, &csrf)
}

pub async fn acknowledge_alert(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<CsrfOnly>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let id = path.into_inner();
    state.admin(admin.0.actor()).acknowledge_alert(&id).await?;
    Ok(see_other(&notice_url("/admin/alerts", "alert-acknowledged")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::{ClientId, UserId};
    use latchkey_i18n::Locale;

    /// Every anomaly has a name and evidence in every language, with its numbers.
    #[test]
    fn every_anomaly_has_words_in_every_language() {
        let u = UserId("u1".into());
        let anomalies = [
            Anomaly::FailureSpike { user: u.clone(), failures: 23, minutes: 10 },
            Anomaly::CredentialStuffing { address: "203.0.113.9".into(), accounts: 12, minutes: 10 },
            Anomaly::RefreshTokenReuse { user: u.clone(), client: ClientId("c1".into()) },
            Anomaly::NewCountry { user: u.clone(), country: "Iceland".into() },
            Anomaly::NewDeviceAfterChange { user: u.clone(), change: AccountChange::Recovery, minutes: 1 },
            Anomaly::NewDeviceAfterChange { user: u, change: AccountChange::EmailChange, minutes: 90 },
        ];
        assert_eq!(AnomalyKind::ALL.len(), 5, "a new kind needs words here");
        let names = AuditNames { clients: [("c1".to_string(), "My app".to_string())].into_iter().collect(), ..Default::default() };
        for locale in Locale::ALL {
            let t = Tr::new(locale);
            for kind in AnomalyKind::ALL {
                assert!(t.has(&kind_key(kind)), "{locale}: {}", kind_key(kind));
            }
            for key in ["console-alerts", "console-alerts-acknowledged-by", "console-alerts-someone", "console-overview-open-alerts"] {
                assert!(t.has(key), "{locale}: {key}");
            }
            for a in &anomalies {
                let words = evidence_words(t, a, &names);
                assert!(!words.is_empty() && !words.contains("alert-evidence"), "{locale}: {a:?}");
            }
        }
        let en = Tr::new(Locale::En);
        assert_eq!(evidence_words(en, &anomalies[0], &names), "23 failed sign-ins on this account within 10 minutes.");
        assert!(evidence_words(en, &anomalies[2], &names).contains("My app"), "the client by name");
        assert!(evidence_words(en, &anomalies[4], &names).contains("one minute after the account was recovered"));
        let de = Tr::new(Locale::De);
        assert_eq!(evidence_words(de, &anomalies[1], &names), "Fehlgeschlagene Anmeldungen mit Passwort bei 12 verschiedenen Konten von dieser Adresse innerhalb von 10 Minuten.");
        assert_eq!(en.arg("console-overview-open-alerts", "count", 0), "No open security alerts.");
        assert_eq!(en.arg("console-overview-open-alerts", "count", 3), "3 open security alerts.");
    }
}
