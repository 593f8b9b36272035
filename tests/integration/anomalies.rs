//! Security alerts (issue #32, "Anomalies"): each anomaly raises its alert
//! (on the console's "Security alerts" page, with the account and the
//! evidence), its `latchkey_security_alerts_total{kind}` sample and its
//! `anomaly_<kind>` audit event; once per window; acknowledged by an
//! administrator only; counted across nodes; caught across window
//! boundaries. And the shipped Prometheus rules check, and name metrics the
//! server really exports.

use latchkey_app::anomalies::{ALERT_WINDOW_SECS, FAILURE_SPIKE_THRESHOLD, STUFFING_ACCOUNTS_THRESHOLD, WINDOW_SECS};
use latchkey_domain::{Actor, AnomalyKind, ClientId, SecurityEvent, SigningAlg};
use latchkey_store::repo::alerts::{self as repo, AlertRow};
use latchkey_store::repo::audit;
use openidconnect::OAuth2TokenResponse;

use crate::console::admin_browser;
use crate::sessions::sign_in_direct;
use crate::support::browser::{Page, PHONE_UA};
use crate::support::raw::post_form;
use crate::support::rp::sign_in;
use crate::support::{Backend, Browser, Rp, TestApp, PASSWORD, USERNAME};

/// The address of the attacker, as the trusted proxy forwards it.
const ATTACKER: &str = "203.0.113.66";
/// Someone else's address.
const ELSEWHERE: &str = "198.51.100.7";
const WRONG: &str = "not the password";
/// Alice's password after her recovery.
const NEW_PASSWORD: &str = "a completely new passphrase";

/// A node behind a trusted proxy (127.0.0.1): `X-Forwarded-For` names the client.
async fn start(backend: Backend) -> Option<TestApp> {
    TestApp::start_with(backend, |s| s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default()).await
}

/// A browser whose requests the proxy forwards from `ip`.
fn browser_from(app: &TestApp, ip: &str) -> Browser {
    let mut b = app.browser();
    b.headers.push(("x-forwarded-for".into(), ip.into()));
    b
}

/// `n` failed password sign-ins of `user` from `browser`; their statuses.
async fn fail(browser: &mut Browser, user: &str, n: i64) -> Vec<u16> {
    let csrf = browser.get("/login").await.field("csrf_token").unwrap_or_default();
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(browser.post_form("/login", &[("csrf_token", &csrf), ("username", user), ("password", WRONG)]).await.status);
    }
    statuses
}

async fn alerts_of(app: &TestApp, kind: AnomalyKind) -> Vec<AlertRow> {
    let mut rows = app.state.stores.db.run(|c| Ok([repo::open(c, 500)?, repo::acknowledged(c, 500)?].concat())).await.expect("alerts");
    rows.retain(|r| r.kind == kind.as_str());
    // Oldest first; of two raised in one second, the acknowledged one first.
    rows.sort_by_key(|r| (r.first_seen, r.acknowledged_at.is_none()));
    rows
}

async fn events_of(app: &TestApp, kind: &str) -> Vec<audit::AuditEvent> {
    let kind = kind.to_string();
    app.state.stores.db.run(move |c| audit::recent(c, Some(&kind), 100)).await.expect("audit")
}

/// A scraper of the test app's `/metrics` (its own listener, as deployed).
struct Metrics {
    url: String,
}

impl Metrics {
    fn start(app: &TestApp) -> Metrics {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
        tokio::spawn(latchkey_web::metrics::start(listener, app.state.clone()).expect("metrics server"));
        Metrics { url }
    }

    async fn scrape(&self) -> String {
        reqwest::get(&self.url).await.expect("scrape").text().await.unwrap_or_default()
    }

    /// The alerts counted for `kind` (the counter is process-wide: other
    /// tests of this binary add to it, so callers compare before and after).
    async fn alerts(&self, kind: AnomalyKind) -> f64 {
        sample(&self.scrape().await, "latchkey_security_alerts_total", &format!("kind=\"{kind}\""))
    }
}

/// The sum of the samples of `name` whose labels contain `label`.
fn sample(text: &str, name: &str, label: &str) -> f64 {
    text.lines().filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label)).filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok())).sum()
}

/// The console's alerts page, as `admin` sees it (asserted 200).
async fn alerts_page(admin: &mut Browser) -> Page {
    let page = admin.get("/admin/alerts").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

/// The `<li>` of the alert `id` on `page`.
fn item<'a>(page: &'a Page, id: &str) -> &'a str {
    let start = page.body.find(&format!("id=\"alert-{id}\"")).unwrap_or_else(|| panic!("alert {id} is not on the page: {}", page.body));
    let end = page.body[start..].find("</li>").map(|e| start + e).unwrap_or(page.body.len());
    &page.body[start..end]
}

/// Acknowledges `id` from `admin`'s alerts page.
async fn acknowledge(admin: &mut Browser, id: &str) -> Page {
    let csrf = alerts_page(admin).await.field("csrf_token").unwrap_or_default();
    admin.post_form(&format!("/admin/alerts/{id}/acknowledge"), &[("csrf_token", &csrf)]).await
}

/// A failure spike: 19 failures are none, the 20th raises it (alert, audit
/// event, metric), later ones count up without a second alert; the page
/// shows it with the account and the evidence; only an administrator can
/// acknowledge it (and not without the form's token); a sighting after
/// that, or after the alert window, is a new alert.
async fn failure_spike(backend: Backend) {
    let Some(app) = start(backend).await else { return };
    let metrics = Metrics::start(&app);
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let before = metrics.alerts(AnomalyKind::FailureSpike).await;
    let mut attacker = browser_from(&app, ATTACKER);
    fail(&mut attacker, USERNAME, FAILURE_SPIKE_THRESHOLD - 1).await;
    assert!(alerts_of(&app, AnomalyKind::FailureSpike).await.is_empty(), "19 failures are not a spike");
    let statuses = fail(&mut attacker, USERNAME, 1).await;
    assert_eq!(statuses, [429], "the lockout refused it, and it still counts");
    let raised = alerts_of(&app, AnomalyKind::FailureSpike).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    let alert = raised[0].clone();
    assert_eq!((alert.user_id.as_deref(), alert.ip.as_deref(), alert.count), (Some(alice.id.0.as_str()), Some(ATTACKER), FAILURE_SPIKE_THRESHOLD));
    assert_eq!(alert.evidence, "20 failed sign-ins on this account within 10 minutes");
    assert!(metrics.alerts(AnomalyKind::FailureSpike).await > before, "the metric counts it");
    let events = events_of(&app, "anomaly_failure_spike").await;
    assert_eq!(events.len(), 1, "one audit event");
    assert_eq!((events[0].user_id.as_deref(), events[0].outcome.as_str()), (Some(alice.id.0.as_str()), "failure"));
    assert!(events[0].detail.contains(&alert.id), "{}", events[0].detail);

    // Once per window: more failures count up the open alert.
    fail(&mut attacker, USERNAME, 5).await;
    let raised = alerts_of(&app, AnomalyKind::FailureSpike).await;
    assert_eq!((raised.len(), raised[0].count), (1, FAILURE_SPIKE_THRESHOLD + 5), "{raised:?}");
    assert!(raised[0].last_seen >= alert.last_seen);
    assert_eq!(events_of(&app, "anomaly_failure_spike").await.len(), 1, "no second event");

    // The console lists it: its name, the account by name, the evidence, the count.
    let (mut admin, _, _) = admin_browser(&app).await;
    let page = alerts_page(&mut admin).await;
    let li = item(&page, &alert.id);
    assert!(li.contains("Many failed sign-ins on one account"), "{li}");
    assert!(li.contains(&format!("<a href=\"/admin/users/{}\">{USERNAME}</a>", alice.id.0)), "{li}");
    assert!(li.contains("20 failed sign-ins on this account within 10 minutes."), "{li}");
    assert!(li.contains(ATTACKER) && li.contains(">25</dd>"), "{li}");
    assert!(page.body.contains(&format!("action=\"/admin/alerts/{}/acknowledge\"", alert.id)));
    assert!(page.body.contains("href=\"/admin/alerts\"") && page.body.contains("aria-current=\"page\""), "the side nav links it: {}", page.body);
    // In German too.
    admin.headers.push(("accept-language".into(), "de".into()));
    let de = alerts_page(&mut admin).await;
    admin.headers.retain(|(k, _)| k != "accept-language");
    let li = item(&de, &alert.id);
    assert!(li.contains("Viele fehlgeschlagene Anmeldungen bei einem Konto") && li.contains("20 fehlgeschlagene Anmeldungen bei diesem Konto innerhalb von 10 Minuten."), "{li}");
    assert!(de.body.contains("Zur Kenntnis nehmen"), "{}", de.body);

    // A signed-in user who is no administrator cannot see or acknowledge it.
    let mut bob = app.browser();
    app.add_user("bob", PASSWORD).await;
    sign_in_direct(&mut bob, "bob", false).await;
    assert_eq!(bob.get("/admin/alerts").await.status, 403);
    let csrf = bob.get("/account").await.field("csrf_token").unwrap_or_default();
    let refused = bob.post_form(&format!("/admin/alerts/{}/acknowledge", alert.id), &[("csrf_token", &csrf)]).await;
    assert_eq!(refused.status, 403);
    // Nor can the administrator's browser without the form's token.
    let forged = admin.post_form(&format!("/admin/alerts/{}/acknowledge", alert.id), &[("csrf_token", "forged")]).await;
    assert!(forged.status == 400 || forged.status == 403, "{}", forged.status);
    assert!(alerts_of(&app, AnomalyKind::FailureSpike).await[0].acknowledged_at.is_none(), "still open");

    let done = acknowledge(&mut admin, &alert.id).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/admin/alerts?notice=alert-acknowledged")), "{}", done.body);
    let page = admin.get("/admin/alerts?notice=alert-acknowledged").await;
    assert!(page.body.contains("Alert acknowledged."), "{}", page.body);
    assert!(item(&page, &alert.id).contains("Acknowledged by root"), "{}", page.body);
    assert!(!page.body.contains(&format!("/admin/alerts/{}/acknowledge", alert.id)), "no button on an acknowledged one");
    let acked = events_of(&app, "alert_acknowledged").await;
    assert_eq!(acked.len(), 1);
    assert_eq!(acked[0].user_id.as_deref(), Some(alice.id.0.as_str()));
    assert!(acked[0].actor.as_deref().is_some_and(|a| a.starts_with("admin:")), "{:?}", acked[0].actor);
    // Acknowledging twice changes nothing.
    acknowledge(&mut admin, &alert.id).await;
    assert_eq!(events_of(&app, "alert_acknowledged").await.len(), 1);

    // A new sighting after the acknowledgement is a new alert.
    fail(&mut attacker, USERNAME, 1).await;
    let raised = alerts_of(&app, AnomalyKind::FailureSpike).await;
    assert_eq!(raised.len(), 2, "{raised:?}");
    assert!(raised[0].acknowledged_at.is_some() && raised[1].acknowledged_at.is_none());
    assert_eq!(events_of(&app, "anomaly_failure_spike").await.len(), 2);
    let page = alerts_page(&mut admin).await;
    assert!(page.body.contains(&format!("action=\"/admin/alerts/{}/acknowledge\"", raised[1].id)), "the new one is open");

    // After the alert window, the same spike is a new alert too.
    app.clock.advance(ALERT_WINDOW_SECS + 1);
    fail(&mut attacker, USERNAME, FAILURE_SPIKE_THRESHOLD).await;
    let raised = alerts_of(&app, AnomalyKind::FailureSpike).await;
    assert_eq!(raised.len(), 3, "{raised:?}");
    assert_eq!(raised.iter().filter(|r| r.acknowledged_at.is_none()).count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_spike_raises_one_alert_per_window_on_sqlite() {
    failure_spike(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_spike_raises_one_alert_per_window_on_postgres_and_redis() {
    failure_spike(Backend::Postgres).await;
}

/// Credential stuffing: one address failing on 10 different accounts; the
/// same failures from other addresses, or on one account again, are not.
async fn credential_stuffing(backend: Backend) {
    let Some(app) = start(backend).await else { return };
    let metrics = Metrics::start(&app);
    let before = metrics.alerts(AnomalyKind::CredentialStuffing).await;
    let names: Vec<String> = (0..STUFFING_ACCOUNTS_THRESHOLD).map(|i| format!("user{i}")).collect();
    for name in &names {
        app.add_user(name, PASSWORD).await;
    }
    let mut attacker = browser_from(&app, ATTACKER);
    let mut others = browser_from(&app, ELSEWHERE);
    for name in &names[..names.len() - 1] {
        fail(&mut attacker, name, 1).await;
        fail(&mut others, name, 1).await;
    }
    fail(&mut attacker, &names[0], 3).await;
    assert!(alerts_of(&app, AnomalyKind::CredentialStuffing).await.is_empty(), "9 accounts are not 10, whatever the failures");
    fail(&mut attacker, &names[names.len() - 1], 1).await;
    let raised = alerts_of(&app, AnomalyKind::CredentialStuffing).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    let alert = &raised[0];
    assert_eq!((alert.user_id.as_deref(), alert.ip.as_deref(), alert.count), (None, Some(ATTACKER), STUFFING_ACCOUNTS_THRESHOLD));
    assert!(metrics.alerts(AnomalyKind::CredentialStuffing).await > before);
    let events = events_of(&app, "anomaly_credential_stuffing").await;
    assert_eq!(events.len(), 1);
    assert!(events[0].detail.contains("10 different accounts"), "{}", events[0].detail);

    // Another account from there counts up; the page names the address.
    app.add_user("late", PASSWORD).await;
    fail(&mut attacker, "late", 1).await;
    let raised = alerts_of(&app, AnomalyKind::CredentialStuffing).await;
    assert_eq!((raised.len(), raised[0].count), (1, STUFFING_ACCOUNTS_THRESHOLD + 1));
    let (mut admin, _, _) = admin_browser(&app).await;
    let page = alerts_page(&mut admin).await;
    let li = item(&page, &raised[0].id);
    assert!(li.contains("One address failing on many accounts") && li.contains(ATTACKER), "{li}");
    assert!(li.contains("Failed password sign-ins on 10 different accounts from this address within 10 minutes."), "{li}");
    assert!(!li.contains("/admin/users/"), "no account to name: {li}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_stuffing_from_one_address_raises_an_alert_on_sqlite() {
    credential_stuffing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_stuffing_from_one_address_raises_an_alert_on_postgres_and_redis() {
    credential_stuffing(Backend::Postgres).await;
}

/// A replayed refresh token raises its alert, naming the account and the client.
async fn refresh_token_reuse(backend: Backend) {
    let Some(app) = start(backend).await else { return };
    let metrics = Metrics::start(&app);
    let before = metrics.alerts(AnomalyKind::RefreshTokenReuse).await;
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let mut browser = app.browser();
    let req = rp.authorize_scopes(&["offline_access"], &[]);
    let code = sign_in(&mut browser, &req.url, USERNAME, PASSWORD).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let first = tokens.refresh_token().expect("refresh token").secret().clone();
    let basic = secret.as_deref().map(|s| (id.as_str(), s));
    let form = [("grant_type", "refresh_token"), ("refresh_token", first.as_str())];
    assert_eq!(post_form(&app, "/token", &form, basic).await.status, 200);
    assert!(alerts_of(&app, AnomalyKind::RefreshTokenReuse).await.is_empty(), "a rotation is no reuse");
    assert_eq!(post_form(&app, "/token", &form, basic).await.body["error"], "invalid_grant");
    let raised = alerts_of(&app, AnomalyKind::RefreshTokenReuse).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].user_id.as_deref(), Some(alice.id.0.as_str()));
    assert!(metrics.alerts(AnomalyKind::RefreshTokenReuse).await > before);
    let events = events_of(&app, "anomaly_refresh_token_reuse").await;
    assert_eq!((events.len(), events[0].client_id.as_deref()), (1, Some(id.as_str())));
    // The same token again: the same alert, counted.
    post_form(&app, "/token", &form, basic).await;
    let raised = alerts_of(&app, AnomalyKind::RefreshTokenReuse).await;
    assert_eq!((raised.len(), raised[0].count), (1, 2));
    let (mut admin, _, _) = admin_browser(&app).await;
    let page = alerts_page(&mut admin).await;
    let li = item(&page, &raised[0].id);
    assert!(li.contains("Refresh token used twice") && li.contains("A refresh token of Test Web App was used a second time"), "{li}");
    assert!(li.contains(&format!(">{USERNAME}</a>")), "{li}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_reuse_raises_an_alert_on_sqlite() {
    refresh_token_reuse(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_reuse_raises_an_alert_on_postgres_and_redis() {
    refresh_token_reuse(Backend::Postgres).await;
}

/// A sign-in from a new country (as the risk assessment reports it, through
/// the app's record path): an alert per account and country.
async fn new_country(backend: Backend) {
    let Some(app) = start(backend).await else { return };
    let metrics = Metrics::start(&app);
    let before = metrics.alerts(AnomalyKind::NewCountry).await;
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let seen = |country: &str| SecurityEvent::NewCountrySignIn { user: alice.id.clone(), country: country.into() };
    app.state.oauth.record(&Actor::User(alice.id.clone()), seen("IS")).await;
    let raised = alerts_of(&app, AnomalyKind::NewCountry).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].user_id.as_deref(), Some(alice.id.0.as_str()));
    assert!(metrics.alerts(AnomalyKind::NewCountry).await > before);
    assert_eq!(events_of(&app, "anomaly_new_country").await.len(), 1);
    app.state.oauth.record(&Actor::User(alice.id.clone()), seen("IS")).await;
    app.state.oauth.record(&Actor::User(alice.id.clone()), seen("NZ")).await;
    let raised = alerts_of(&app, AnomalyKind::NewCountry).await;
    assert_eq!(raised.len(), 2, "another country is another alert: {raised:?}");
    assert_eq!(raised.iter().map(|r| r.count).sum::<i64>(), 3);
    let (mut admin, _, _) = admin_browser(&app).await;
    let page = alerts_page(&mut admin).await;
    let iceland = raised.iter().find(|r| r.evidence.contains("IS")).expect("the IS alert");
    assert!(item(&page, &iceland.id).contains("A sign-in from IS, a country this account has not signed in from lately."), "{}", page.body);

    // Another node claimed the next one and has not written it yet (or died
    // doing so): the sighting writes it under the claimed id, once.
    let claim = format!("anomaly:alerted:new_country:{}:FJ", alice.id.0);
    app.state.stores.fast.put(&claim, &format!("claimed-elsewhere {}", app.clock_now()), std::time::Duration::from_secs(600)).await.expect("claim");
    app.state.oauth.record(&Actor::User(alice.id.clone()), seen("FJ")).await;
    app.state.oauth.record(&Actor::User(alice.id.clone()), seen("FJ")).await;
    let fiji: Vec<AlertRow> = alerts_of(&app, AnomalyKind::NewCountry).await.into_iter().filter(|r| r.evidence.contains("FJ")).collect();
    assert_eq!(fiji.len(), 1, "{fiji:?}");
    assert_eq!((fiji[0].id.as_str(), fiji[0].count), ("claimed-elsewhere", 2));
    assert_eq!(events_of(&app, "anomaly_new_country").await.len(), 3, "IS, NZ, FJ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_from_a_new_country_raises_an_alert_on_sqlite() {
    new_country(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_from_a_new_country_raises_an_alert_on_postgres_and_redis() {
    new_country(Backend::Postgres).await;
}

/// End to end: a `.mmdb` of the test's own locates the sign-ins; the known
/// browser that signed in from Berlin signs in from Paris two hours later (low
/// risk, it goes through) and the new country is an alert.
async fn new_country_located(backend: Backend) {
    use crate::support::mmdb::{write_city_database, City};
    let (berlin, paris) = ("198.51.100.7", "192.0.2.7");
    let Some(app) = TestApp::start_with(backend, |s| {
        std::fs::create_dir_all(&s.data_dir).expect("data dir");
        let geo = s.data_dir.join("cities.mmdb");
        let city =
            |a: [u8; 3], country_iso, country, city, latitude, longitude| City { network: std::net::Ipv4Addr::new(a[0], a[1], a[2], 0), prefix: 24, country_iso, country, city, latitude, longitude };
        write_city_database(&geo, &[city([198, 51, 100], "DE", "Germany", "Berlin", 52.52, 13.405), city([192, 0, 2], "FR", "France", "Paris", 48.8566, 2.3522)], MMDB_BUILT);
        s.geoip_db = Some(geo);
        s.risk_policy = latchkey_authn::risk::RiskPolicy::Standard;
        s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default();
    })
    .await
    else {
        return;
    };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let mut desk = browser_from(&app, berlin);
    sign_in_direct(&mut desk, USERNAME, false).await;
    app.clock.advance(2 * 3600);
    desk.cookies.remove("__Host-latchkey-session");
    assert!(alerts_of(&app, AnomalyKind::NewCountry).await.is_empty(), "the first country is no new one");
    desk.headers.retain(|(k, _)| k != "x-forwarded-for");
    desk.headers.push(("x-forwarded-for".into(), paris.into()));
    sign_in_direct(&mut desk, USERNAME, false).await;
    let raised = alerts_of(&app, AnomalyKind::NewCountry).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!((raised[0].user_id.as_deref(), raised[0].ip.as_deref()), (Some(alice.id.0.as_str()), Some(paris)));
    assert!(raised[0].evidence.contains("FR"), "{}", raised[0].evidence);
    assert_eq!(events_of(&app, "anomaly_new_country").await.len(), 1);
}

/// The build date of the test's location database (2026-12-01).
const MMDB_BUILT: u64 = 1_796_083_200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_located_in_a_new_country_raises_an_alert_on_sqlite() {
    new_country_located(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_located_in_a_new_country_raises_an_alert_on_postgres_and_redis() {
    new_country_located(Backend::Postgres).await;
}

/// A sign-in from a new device within a day of a recovery (the real flow)
/// or an email change raises an alert; a new device without such a change
/// does not, nor does one a day later.
async fn new_device_after_change(backend: Backend) {
    let Some(app) = start(backend).await else { return };
    let metrics = Metrics::start(&app);
    let before = metrics.alerts(AnomalyKind::NewDeviceAfterChange).await;
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let bob = app.add_user("bob", PASSWORD).await;
    for name in [USERNAME, "bob"] {
        sign_in_direct(&mut app.browser(), name, false).await;
    }
    // A new device, no change: nothing.
    sign_in_direct(&mut Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA), "bob", false).await;
    assert!(alerts_of(&app, AnomalyKind::NewDeviceAfterChange).await.is_empty());

    // Alice's account is recovered (on her usual computer), then a phone signs in.
    let link = crate::accounts::recovery::recovery_link(&app, USERNAME).await;
    let mut usual = app.browser();
    let done = crate::accounts::set_password(&mut usual, "/recover", &link, NEW_PASSWORD).await;
    assert_eq!(done.location.as_deref(), Some("/account"), "{}", done.body);
    assert!(alerts_of(&app, AnomalyKind::NewDeviceAfterChange).await.is_empty(), "the recovery on her usual computer is no new device");
    app.clock.advance(5 * 60);
    let mut phone = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    let csrf = phone.get("/login").await.field("csrf_token").unwrap_or_default();
    let signed_in = phone.post_form("/login", &[("csrf_token", &csrf), ("username", USERNAME), ("password", NEW_PASSWORD)]).await;
    assert_eq!(signed_in.location.as_deref(), Some("/account"), "{}", signed_in.body);
    let raised = alerts_of(&app, AnomalyKind::NewDeviceAfterChange).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].user_id.as_deref(), Some(alice.id.0.as_str()));
    assert!(raised[0].evidence.contains("after the account was recovered"), "{}", raised[0].evidence);
    assert!(metrics.alerts(AnomalyKind::NewDeviceAfterChange).await > before);
    assert_eq!(events_of(&app, "anomaly_new_device_after_change").await.len(), 1);
    let (mut admin, _, _) = admin_browser(&app).await;
    let page = alerts_page(&mut admin).await;
    assert!(item(&page, &raised[0].id).contains("A sign-in from a new device 5 minutes after the account was recovered."), "{}", page.body);

    // Bob's email address changes; a day and a second later a new device is a sign-in like any other,
    let changed = SecurityEvent::EmailChanged { user: bob.id.clone() };
    app.state.oauth.record(&Actor::User(bob.id.clone()), changed.clone()).await;
    app.clock.advance(24 * 3600 + 1);
    sign_in_direct(&mut app.browser(), "bob", false).await;
    sign_in_direct(&mut browser_from(&app, ELSEWHERE), "bob", false).await;
    assert_eq!(alerts_of(&app, AnomalyKind::NewDeviceAfterChange).await.len(), 1, "a day later");
    // but within the day it is suspect (a phone on a network not seen before).
    app.state.oauth.record(&Actor::User(bob.id.clone()), changed).await;
    let mut phone = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    phone.headers.push(("x-forwarded-for".into(), "192.0.2.44".into()));
    sign_in_direct(&mut phone, "bob", false).await;
    let raised = alerts_of(&app, AnomalyKind::NewDeviceAfterChange).await;
    assert_eq!(raised.len(), 2, "{raised:?}");
    assert_eq!(raised[1].user_id.as_deref(), Some(bob.id.0.as_str()));
    assert!(raised[1].evidence.contains("after its email address was changed"), "{}", raised[1].evidence);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_right_after_a_recovery_or_an_email_change_raises_an_alert_on_sqlite() {
    new_device_after_change(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_right_after_a_recovery_or_an_email_change_raises_an_alert_on_postgres_and_redis() {
    new_device_after_change(Backend::Postgres).await;
}

/// Moves the app clock to `margin` seconds before the next time that is
/// `offset` past a multiple of the counting window.
fn before_boundary(app: &TestApp, offset: i64, margin: i64) -> i64 {
    let now = app.clock_now();
    let boundary = (now - offset).div_euclid(WINDOW_SECS) * WINDOW_SECS + offset + WINDOW_SECS;
    app.clock.advance(boundary - margin - now);
    boundary
}

/// A burst that straddles a boundary of either grid of windows is caught
/// whole by the other grid; failures spread wider than a window are not a spike.
async fn window_boundaries(backend: Backend) {
    let Some(app) = start(backend).await else { return };
    const MARGIN: i64 = 60;
    let half = FAILURE_SPIKE_THRESHOLD / 2;
    // The first grid's boundaries are multiples of the window, the second's half a window later.
    for (user, offset) in [("straddles-first", 0), ("straddles-second", WINDOW_SECS / 2)] {
        let account = app.add_user(user, PASSWORD).await;
        let boundary = before_boundary(&app, offset, MARGIN);
        let mut attacker = browser_from(&app, ATTACKER);
        fail(&mut attacker, user, half).await;
        assert!(app.clock_now() < boundary, "the first half before the boundary");
        app.clock.advance(2 * MARGIN);
        fail(&mut attacker, user, FAILURE_SPIKE_THRESHOLD - half).await;
        let raised = alerts_of(&app, AnomalyKind::FailureSpike).await;
        assert!(raised.iter().any(|r| r.user_id.as_deref() == Some(account.id.0.as_str())), "{user}: {raised:?}");
    }
    // Half the failures, then the rest after both grids' windows are over.
    let spread = app.add_user("spread-out", PASSWORD).await;
    let mut attacker = browser_from(&app, ELSEWHERE);
    fail(&mut attacker, "spread-out", half).await;
    app.clock.advance(WINDOW_SECS + 1);
    fail(&mut attacker, "spread-out", FAILURE_SPIKE_THRESHOLD - half).await;
    let raised = alerts_of(&app, AnomalyKind::FailureSpike).await;
    assert!(!raised.iter().any(|r| r.user_id.as_deref() == Some(spread.id.0.as_str())), "{raised:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_straddling_a_window_boundary_is_still_caught_on_sqlite() {
    window_boundaries(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_straddling_a_window_boundary_is_still_caught_on_postgres_and_redis() {
    window_boundaries(Backend::Postgres).await;
}

/// Two nodes sharing Redis and PostgreSQL count together: half a spike on
/// each is one spike, half the accounts on each is stuffing, each raised once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_sharing_redis_and_postgres_count_together() {
    let Some(a) = start(Backend::Postgres).await else { return };
    let b = a.second_node().await;
    let alice = a.add_user(USERNAME, PASSWORD).await;
    let half = FAILURE_SPIKE_THRESHOLD / 2;
    let (mut on_a, mut on_b) = (browser_from(&a, ATTACKER), browser_from(&b, ATTACKER));
    fail(&mut on_a, USERNAME, half).await;
    fail(&mut on_b, USERNAME, FAILURE_SPIKE_THRESHOLD - half - 1).await;
    assert!(alerts_of(&a, AnomalyKind::FailureSpike).await.is_empty());
    fail(&mut on_a, USERNAME, 1).await;
    fail(&mut on_b, USERNAME, 1).await;
    let raised = alerts_of(&a, AnomalyKind::FailureSpike).await;
    assert_eq!(raised.len(), 1, "raised once across the nodes: {raised:?}");
    assert_eq!((raised[0].user_id.as_deref(), raised[0].count), (Some(alice.id.0.as_str()), FAILURE_SPIKE_THRESHOLD + 1));
    assert_eq!(events_of(&b, "anomaly_failure_spike").await.len(), 1);

    let names: Vec<String> = (0..STUFFING_ACCOUNTS_THRESHOLD).map(|i| format!("user{i}")).collect();
    for name in &names {
        a.add_user(name, PASSWORD).await;
    }
    for (i, name) in names.iter().enumerate() {
        fail(if i % 2 == 0 { &mut on_a } else { &mut on_b }, name, 1).await;
    }
    let raised = alerts_of(&a, AnomalyKind::CredentialStuffing).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].ip.as_deref(), Some(ATTACKER));
}

/// The shipped Prometheus rules: `promtool check rules` and their unit
/// tests pass (under CI=true promtool must be there), and every metric an
/// expression names is one this server exports, with the `kind` it selects,
/// after the anomalies were raised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prometheus_rules_check_and_name_exported_metrics() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus");
    let rules = std::fs::read_to_string(dir.join("alerts.yaml")).expect("deploy/prometheus/alerts.yaml");
    match std::process::Command::new("promtool").arg("check").arg("rules").arg(dir.join("alerts.yaml")).output() {
        Ok(out) => {
            assert!(out.status.success(), "promtool check rules: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            let tested = std::process::Command::new("promtool").arg("test").arg("rules").arg("alerts.test.yaml").current_dir(&dir).output().expect("promtool");
            assert!(tested.status.success(), "promtool test rules: {}{}", String::from_utf8_lossy(&tested.stdout), String::from_utf8_lossy(&tested.stderr));
        }
        Err(e) => crate::support::services::missing("promtool (Debian's prometheus package)", &e.to_string()),
    }

    let Some(app) = start(Backend::Sqlite).await else { return };
    let metrics = Metrics::start(&app);
    // Raise one of each kind, so the exported samples are the ones alerts make.
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let (u, c) = (alice.id.clone(), ClientId("c1".into()));
    for event in [SecurityEvent::RefreshTokenReuse { user: u.clone(), client: c, family: "f1".into(), generation: 2 }, SecurityEvent::NewCountrySignIn { user: u.clone(), country: "IS".into() }] {
        app.state.oauth.record(&Actor::System, event).await;
    }
    fail(&mut browser_from(&app, ATTACKER), USERNAME, FAILURE_SPIKE_THRESHOLD).await;
    let scraped = metrics.scrape().await;
    let exported: Vec<&str> = scraped.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(['{', ' ']).next()).collect();
    let exprs: Vec<&str> = rules.lines().filter_map(|l| l.trim().strip_prefix("expr:")).collect();
    assert_eq!(exprs.len(), AnomalyKind::ALL.len(), "a rule per anomaly");
    let mut kinds = Vec::new();
    for expr in exprs {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{expr}");
        for name in names {
            assert!(exported.contains(&name.as_str()), "{expr} names {name}, which /metrics does not export:\n{scraped}");
        }
        for kind in expr.split("kind=\"").skip(1).filter_map(|s| s.split('"').next()) {
            assert!(scraped.contains(&format!("latchkey_security_alerts_total{{kind=\"{kind}\"}}")), "{expr}: no sample of kind {kind}");
            kinds.push(kind.to_string());
        }
    }
    kinds.sort();
    let mut all: Vec<String> = AnomalyKind::ALL.iter().map(|k| k.as_str().to_string()).collect();
    all.sort();
    assert_eq!(kinds, all, "every anomaly has its rule");
    for kind in [AnomalyKind::FailureSpike, AnomalyKind::RefreshTokenReuse, AnomalyKind::NewCountry] {
        assert!(sample(&scraped, "latchkey_security_alerts_total", &format!("kind=\"{kind}\"")) >= 1.0, "{kind} was raised");
    }
}

/// The metric names in a PromQL expression: its `latchkey_…` identifiers.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find("latchkey_") {
        let tail = &rest[start..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        names.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}
