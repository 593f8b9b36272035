//! The device authorization grant (RFC 8628): a device asks for a code, the
//! user signs in at `/device` in a browser, enters the code and answers; the
//! device polls `/token`. The stateful cases run on the embedded default and
//! on PostgreSQL + Redis (`device::<case>::on_sqlite` / `::on_postgres_and_redis`).

use futures_util::future::join_all;
use latchkey_app::directory::clients::NewClient;
use latchkey_domain::{GrantType, SigningAlg};
use serde_json::{json, Value};

use crate::support::browser::Page;
use crate::support::raw::{bearer, post_form, Answer};
use crate::support::{Backend, Browser, TestApp, PASSWORD, USERNAME};

pub(crate) const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const TV: &str = "Living-room TV";

/// Runs `case` on both backends, as `case::on_sqlite` and `case::on_postgres_and_redis`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$case(crate::support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres_and_redis() {
                super::$case(crate::support::Backend::Postgres).await;
            }
        }
    )*};
}

on_both_backends!(
    a_device_signs_in_through_the_browser,
    polling_too_fast_slows_the_device_down,
    a_denied_device_gets_access_denied,
    an_expired_device_code_is_expired_token,
    a_device_code_redeems_once,
    another_clients_device_code_is_refused,
    wrong_user_codes_are_limited_per_address,
    user_codes_are_accepted_as_people_type_them,
    an_approval_without_the_form_token_is_refused,
    a_device_is_answered_once,
    an_approval_dies_with_its_session,
);

/// The device: a public client (like most devices) that may refresh.
pub(crate) struct Device {
    pub(crate) app: TestApp,
    pub(crate) id: String,
    secret: Option<String>,
}

pub(crate) fn device_client(name: &str, public: bool, grant_types: Vec<GrantType>) -> NewClient {
    let client = crate::support::TestClient::service(name).grants(grant_types);
    if public { client.public() } else { client }.build()
}

pub(crate) async fn setup(backend: Backend) -> Option<Device> {
    setup_with(backend, |_| {}).await
}

async fn setup_with(backend: Backend, customize: impl FnOnce(&mut latchkey_web::Settings)) -> Option<Device> {
    let app = TestApp::start_with(backend, customize).await?;
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.register(device_client(TV, true, vec![GrantType::DeviceCode, GrantType::RefreshToken])).await;
    Some(Device { app, id, secret })
}

impl Device {
    fn auth(&self) -> Option<(&str, &str)> {
        self.secret.as_deref().map(|s| (self.id.as_str(), s))
    }

    /// `POST /device_authorization` with `scope`.
    async fn start(&self, scope: &str) -> Answer {
        post_form(&self.app, "/device_authorization", &[("client_id", &self.id), ("scope", scope)], self.auth()).await
    }

    /// A started request: (device_code, user_code).
    async fn started(&self) -> (String, String) {
        let a = self.start("openid profile offline_access").await;
        assert_eq!(a.status, 200, "{}", a.body);
        (text(&a.body, "device_code"), text(&a.body, "user_code"))
    }

    /// A refresh at `/token`.
    async fn refresh(&self, refresh_token: &str) -> Answer {
        post_form(&self.app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", &self.id)], self.auth()).await
    }

    /// One poll of `/token` for `device_code`.
    async fn poll(&self, device_code: &str) -> Answer {
        post_form(&self.app, "/token", &[("grant_type", GRANT), ("device_code", device_code), ("client_id", &self.id)], self.auth()).await
    }
}

fn text(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap_or_default().to_string()
}

fn error_of(a: &Answer) -> (u16, String) {
    (a.status, text(&a.body, "error"))
}

/// Signs `browser` in (password) coming from `/device?user_code=…` and
/// follows it back to the device page.
async fn sign_in_at_device(browser: &mut Browser, user_code: &str) -> Page {
    let start = browser.get(&format!("/device?user_code={user_code}")).await;
    let to_login = start.location.clone().unwrap_or_default();
    assert_eq!(start.status, 303, "signed out: to the sign-in page first");
    assert!(to_login.starts_with("/login?next="), "{to_login}");
    let login = browser.get(&to_login).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let next = login.field("next").unwrap_or_default();
    assert_eq!(next, format!("/device?user_code={user_code}"), "the way back keeps the code");
    let done = browser.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("next", &next), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(done.location.as_deref(), Some(next.as_str()), "back to the device page after signing in");
    let page = browser.get(&next).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

/// Types `typed` on the device page and presses Continue.
async fn enter_code(browser: &mut Browser, typed: &str) -> Page {
    let page = browser.get("/device").await;
    assert_eq!(page.status, 200, "signed in: the code page: {}", page.body);
    browser.post_form("/device", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("user_code", typed)]).await
}

/// Presses Allow or Deny on a device consent page.
async fn answer(browser: &mut Browser, consent: &Page, decision: &str) -> Page {
    browser
        .post_form("/device/approve", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("user_code", &consent.field("user_code").unwrap_or_default()), ("decision", decision)])
        .await
}

/// A signed-in browser (password) on its own.
async fn signed_in(app: &TestApp, username: &str) -> Browser {
    sign_in_browser(app.browser(), username).await
}

/// Signs `browser` in (password) as `username`.
async fn sign_in_browser(mut browser: Browser, username: &str) -> Browser {
    let login = browser.get("/login?next=/device").await;
    let done = browser.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("next", "/device"), ("username", username), ("password", PASSWORD)]).await;
    assert_eq!(done.location.as_deref(), Some("/device"));
    browser
}

/// A request the default user allowed: (device_code, the browser).
pub(crate) async fn approved(d: &Device) -> (String, Browser) {
    let (device_code, user_code) = d.started().await;
    let mut browser = signed_in(&d.app, USERNAME).await;
    let consent = enter_code(&mut browser, &user_code).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    let done = answer(&mut browser, &consent, "allow").await;
    assert_eq!(done.status, 200, "{}", done.body);
    (device_code, browser)
}

async fn a_device_signs_in_through_the_browser(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    let discovery = d.app.http().get(d.app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json::<Value>().await.expect("json");
    assert_eq!(discovery["device_authorization_endpoint"], d.app.url("/device_authorization"));
    assert!(discovery["grant_types_supported"].as_array().is_some_and(|g| g.contains(&json!(GRANT))), "{discovery}");

    // The device asks (RFC 8628 §3.2).
    let started = d.start("openid profile offline_access").await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let (device_code, user_code) = (text(&started.body, "device_code"), text(&started.body, "user_code"));
    assert!(device_code.starts_with("lkd_") && device_code.len() > 40, "{device_code}");
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert!(user_code.chars().enumerate().all(|(i, c)| if i == 4 { c == '-' } else { "BCDFGHJKLMNPQRSTVWXZ".contains(c) }), "{user_code}");
    assert_eq!(started.body["verification_uri"], d.app.url("/device"));
    assert_eq!(started.body["verification_uri_complete"], d.app.url(&format!("/device?user_code={user_code}")));
    assert_eq!((started.body["interval"].as_i64(), started.body["expires_in"].as_i64()), (Some(5), Some(600)));

    // Before the user answers, the device is told to wait.
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "authorization_pending".into()));

    // The user opens verification_uri_complete on a phone: sign in, then the code page, filled in.
    let mut browser = d.app.browser();
    let page = sign_in_at_device(&mut browser, &user_code).await;
    assert!(page.body.contains(r#"<label for="user_code">Code</label>"#) && page.body.contains(">Continue</button>"), "{}", page.body);
    assert_eq!(page.field("user_code").as_deref(), Some(user_code.as_str()), "filled in from the link");
    let consent = browser.post_form("/device", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("user_code", &user_code)]).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains(&format!("Allow {TV}?")), "names the device's client: {}", consent.body);
    assert!(
        consent.body.contains("Know who you are") && consent.body.contains("See your name and profile") && consent.body.contains("Stay connected when you&#39;re not using it"),
        "the scopes in plain words: {}",
        consent.body
    );
    assert!(!consent.body.contains(">Not you?</button>") && !consent.body.contains("you then go back to"), "a device has no redirect to name nor request to restart");
    assert!(consent.body.contains(&user_code), "the code, to compare with the device's");
    assert!(consent.body.contains(">Allow</button>") && consent.body.contains(">Deny</button>"));
    let done = answer(&mut browser, &consent, "allow").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("return to your device"), "{}", done.body);

    // The next poll gets the tokens.
    let tokens = d.poll(&device_code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(tokens.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["scope"], "openid profile offline_access");
    let (access, refresh) = (text(&tokens.body, "access_token"), text(&tokens.body, "refresh_token"));
    assert!(refresh.starts_with("lkr_"), "a refresh token: the client may refresh");
    let id_token = crate::support::jwt::payload(&text(&tokens.body, "id_token"));
    assert_eq!(id_token["aud"], d.id.as_str());
    assert!(id_token["amr"].as_array().is_some_and(|a| a.contains(&json!("pwd"))), "{id_token}");
    assert!(id_token["sid"].as_str().is_some_and(|s| !s.is_empty()), "bound to the approving session: {id_token}");

    // The access token works at userinfo; the refresh token refreshes.
    let info = bearer(&d.app, "GET", "/userinfo", &access).await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.body["sub"], id_token["sub"]);
    assert_eq!(info.body["preferred_username"], USERNAME);
    let refreshed = d.refresh(&refresh).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(bearer(&d.app, "GET", "/userinfo", &text(&refreshed.body, "access_token")).await.status, 200);

    // The user sees the device among their apps, and the approval in their activity.
    let account = browser.get("/account").await;
    assert!(account.body.contains(TV), "a connected app that can be disconnected");
    assert!(account.body.contains("A device was connected"), "{}", account.body);
}

async fn polling_too_fast_slows_the_device_down(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    let (device_code, _) = d.started().await;
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "authorization_pending".into()));
    let fast = d.poll(&device_code).await;
    assert_eq!(error_of(&fast), (400, "slow_down".into()), "sooner than 5 s after the last poll");
    assert!(text(&fast.body, "error_description").contains("10 s"), "{}", fast.body);
    // The interval is now 10 s, and enforced: 6 s later is still too soon (and adds 5 s more).
    d.app.clock.advance(6);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "slow_down".into()), "the longer interval holds");
    d.app.clock.advance(16);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "authorization_pending".into()), "15 s later is fine");
    d.app.clock.advance(15);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "authorization_pending".into()), "and stays at 15 s");
    // Another device code has its own interval.
    let (other, _) = d.started().await;
    assert_eq!(error_of(&d.poll(&other).await), (400, "authorization_pending".into()));
}

async fn a_denied_device_gets_access_denied(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    let (device_code, user_code) = d.started().await;
    let mut browser = d.app.browser();
    sign_in_at_device(&mut browser, &user_code).await;
    let consent = enter_code(&mut browser, &user_code).await;
    let done = answer(&mut browser, &consent, "deny").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("return to your device"), "{}", done.body);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "access_denied".into()));
    d.app.clock.advance(10);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "access_denied".into()), "and stays denied");
    assert!(!browser.get("/account").await.body.contains(TV), "no grant was recorded");
}

async fn an_expired_device_code_is_expired_token(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    let (device_code, user_code) = d.started().await;
    let mut browser = signed_in(&d.app, USERNAME).await;
    let consent = enter_code(&mut browser, &user_code).await;
    assert_eq!(consent.status, 200);
    d.app.clock.advance(601);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "expired_token".into()));
    // The user was too slow: the page says the code expired, the device stays expired.
    let late = answer(&mut browser, &consent, "allow").await;
    assert_eq!(late.status, 400, "{}", late.body);
    assert!(late.body.contains("expired"), "{}", late.body);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "expired_token".into()));
}

async fn a_device_code_redeems_once(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    let (device_code, _) = approved(&d).await;
    let first = d.poll(&device_code).await;
    assert_eq!(first.status, 200, "{}", first.body);
    d.app.clock.advance(10);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "invalid_grant".into()), "a second poll gets nothing");
    assert_eq!(bearer(&d.app, "GET", "/userinfo", &text(&first.body, "access_token")).await.status, 200, "the first tokens stay good");
    // A made-up device code is unknown.
    assert_eq!(error_of(&d.poll("lkd_made-up").await), (400, "invalid_grant".into()));
    assert_eq!(error_of(&post_form(&d.app, "/token", &[("grant_type", GRANT), ("client_id", &d.id)], None).await), (400, "invalid_request".into()), "device_code is required");
}

async fn another_clients_device_code_is_refused(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    let (thief, thief_secret) = d.app.register(device_client("Other device", false, vec![GrantType::DeviceCode])).await;
    let thief_secret = thief_secret.expect("confidential");
    let (device_code, _) = approved(&d).await;
    let stolen = post_form(&d.app, "/token", &[("grant_type", GRANT), ("device_code", &device_code)], Some((&thief, &thief_secret))).await;
    assert_eq!(error_of(&stolen), (400, "invalid_grant".into()), "{}", stolen.body);
    // Nothing was spent or slowed down: the right client still gets its tokens.
    assert_eq!(d.poll(&device_code).await.status, 200);
    // A client without the grant type cannot poll at all.
    let (web_app, web_secret) = d.app.add_client(false, SigningAlg::RS256).await;
    let web = post_form(&d.app, "/token", &[("grant_type", GRANT), ("device_code", &device_code)], Some((&web_app, web_secret.as_deref().unwrap_or_default()))).await;
    assert_eq!(error_of(&web), (400, "unauthorized_client".into()));
}

async fn wrong_user_codes_are_limited_per_address(backend: Backend) {
    let Some(d) = setup_with(backend, |s| s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default()).await else { return };
    let (device_code, user_code) = d.started().await;
    let from = |ip: &str| {
        let mut b = d.app.browser();
        b.headers.push(("X-Forwarded-For".into(), ip.into()));
        b
    };
    let mut guesser = sign_in_browser(from("203.0.113.7"), USERNAME).await;
    let wrong = if user_code.starts_with('B') { "CCCC-CCCC" } else { "BBBB-BBBB" };
    for i in 0..latchkey_oauth::device::MAX_WRONG_USER_CODES_PER_IP {
        let page = enter_code(&mut guesser, if i % 2 == 0 { wrong } else { "not a code" }).await;
        assert_eq!(page.status, 400, "guess {i}: {}", page.body);
        assert!(page.body.contains("That code is not right"), "{}", page.body);
    }
    // The 11th attempt is refused, even with the right code: guessing stays blind.
    let blocked = enter_code(&mut guesser, &user_code).await;
    assert_eq!(blocked.status, 429, "{}", blocked.body);
    assert!(blocked.body.contains("Too many attempts"), "{}", blocked.body);
    assert_eq!(blocked.header("retry-after").as_deref(), Some("600"));
    // Someone at another address is not affected, and the device is still pending.
    let mut owner = sign_in_browser(from("198.51.100.20"), USERNAME).await;
    let consent = enter_code(&mut owner, &user_code).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "authorization_pending".into()));
    // Right codes do not count: the owner can come back to it many times.
    for _ in 0..12 {
        assert_eq!(enter_code(&mut owner, &user_code).await.status, 200);
    }
}

async fn user_codes_are_accepted_as_people_type_them(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    let (device_code, user_code) = d.started().await;
    let mut browser = signed_in(&d.app, USERNAME).await;
    let bare = user_code.replace('-', "");
    for typed in [user_code.to_lowercase(), bare.to_lowercase(), format!(" {} {} ", &bare[..4], &bare[4..]), bare.clone()] {
        let consent = enter_code(&mut browser, &typed).await;
        assert_eq!(consent.status, 200, "{typed:?}: {}", consent.body);
        assert_eq!(consent.field("user_code").as_deref(), Some(user_code.as_str()), "{typed:?}");
    }
    // A link with a lower-case code without a dash still fills in the canonical form.
    let page = browser.get(&format!("/device?user_code={}", bare.to_lowercase())).await;
    assert_eq!(page.field("user_code").as_deref(), Some(user_code.as_str()));
    let consent = enter_code(&mut browser, &bare.to_lowercase()).await;
    assert_eq!(answer(&mut browser, &consent, "allow").await.status, 200);
    assert_eq!(d.poll(&device_code).await.status, 200);
}

async fn an_approval_without_the_form_token_is_refused(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    let (device_code, user_code) = d.started().await;
    let mut browser = signed_in(&d.app, USERNAME).await;
    let consent = enter_code(&mut browser, &user_code).await;
    assert_eq!(consent.status, 200);
    // A cross-site page posts the approval with the victim's cookies.
    let no_token = browser.post_form("/device/approve", &[("user_code", &user_code), ("decision", "allow")]).await;
    assert!(no_token.status == 400 || no_token.status == 403, "{}: {}", no_token.status, no_token.body);
    let forged = browser.post_form("/device/approve", &[("csrf_token", "forged"), ("user_code", &user_code), ("decision", "allow")]).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let csrf = consent.field("csrf_token").unwrap_or_default();
    browser.origin = Some("https://evil.example".into());
    let cross = browser.post_form("/device/approve", &[("csrf_token", &csrf), ("user_code", &user_code), ("decision", "allow")]).await;
    assert_eq!(cross.status, 403, "another Origin: {}", cross.body);
    let code_page = browser.post_form("/device", &[("csrf_token", &csrf), ("user_code", &user_code)]).await;
    assert_eq!(code_page.status, 403, "the code form too");
    browser.origin = Some(d.app.issuer.clone());
    // Another browser (no cookies of the victim) with the victim's form token.
    let mut other = signed_in(&d.app, USERNAME).await;
    assert_eq!(other.post_form("/device/approve", &[("csrf_token", &csrf), ("user_code", &user_code), ("decision", "allow")]).await.status, 403);
    // Signed out: to the sign-in page, not an approval.
    let mut anonymous = d.app.browser();
    let form = anonymous.get("/login").await;
    let signed_out = anonymous.post_form("/device/approve", &[("csrf_token", &form.field("csrf_token").unwrap_or_default()), ("user_code", &user_code), ("decision", "allow")]).await;
    assert_eq!(signed_out.status, 303);
    assert!(signed_out.location.as_deref().is_some_and(|l| l.starts_with("/login?next=")), "{:?}", signed_out.location);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "authorization_pending".into()), "nothing was approved");
    // The real form still works.
    assert_eq!(answer(&mut browser, &consent, "allow").await.status, 200);
    d.app.clock.advance(5);
    assert_eq!(d.poll(&device_code).await.status, 200);
}

async fn a_device_is_answered_once(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    let mallory = d.app.add_user("mallory", PASSWORD).await;
    let (device_code, user_code) = d.started().await;
    let mut browser = signed_in(&d.app, USERNAME).await;
    let consent = enter_code(&mut browser, &user_code).await;
    // An attacker who learned the code opens its consent page too.
    let mut attacker = signed_in(&d.app, "mallory").await;
    let attacker_consent = enter_code(&mut attacker, &user_code).await;
    assert_eq!(attacker_consent.status, 200);
    assert_eq!(answer(&mut browser, &consent, "allow").await.status, 200);
    // Answering again (the same form, Deny after Allow, another user) changes nothing.
    let replays = [answer(&mut browser, &consent, "allow").await, answer(&mut attacker, &attacker_consent, "deny").await, answer(&mut attacker, &attacker_consent, "allow").await];
    for again in replays {
        assert_eq!(again.status, 400, "{}", again.body);
        assert!(again.body.contains("already"), "{}", again.body);
    }
    let again = enter_code(&mut attacker, &user_code).await;
    assert_eq!(again.status, 400, "the code page says so too");
    let tokens = d.poll(&device_code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let info = bearer(&d.app, "GET", "/userinfo", &text(&tokens.body, "access_token")).await;
    assert_eq!(info.body["preferred_username"], USERNAME, "the first answer stands");
    assert_ne!(info.body["sub"], mallory.id.0.as_str());
}

async fn an_approval_dies_with_its_session(backend: Backend) {
    let Some(d) = setup(backend).await else { return };
    // Approved, then the user signs out before the device polls: like a code, worthless.
    let (device_code, mut browser) = approved(&d).await;
    let account = browser.get("/account").await;
    let out = browser.post_form("/logout", &[("csrf_token", &account.field("csrf_token").unwrap_or_default())]).await;
    assert!(out.status < 400, "{}", out.body);
    assert_eq!(error_of(&d.poll(&device_code).await), (400, "invalid_grant".into()));
    // Tokens already issued without offline_access end with the session too.
    let (device_code, mut browser) = approved(&d).await;
    let a = d.start("openid profile").await;
    let (short_code, short_user_code) = (text(&a.body, "device_code"), text(&a.body, "user_code"));
    let consent = enter_code(&mut browser, &short_user_code).await;
    assert_eq!(answer(&mut browser, &consent, "allow").await.status, 200);
    let (offline, session_bound) = (d.poll(&device_code).await, d.poll(&short_code).await);
    assert_eq!((offline.status, session_bound.status), (200, 200), "{} {}", offline.body, session_bound.body);
    let account = browser.get("/account").await;
    browser.post_form("/logout", &[("csrf_token", &account.field("csrf_token").unwrap_or_default())]).await;
    assert_eq!(error_of(&d.refresh(&text(&session_bound.body, "refresh_token")).await), (400, "invalid_grant".into()), "bound to the approving session");
    assert_eq!(d.refresh(&text(&offline.body, "refresh_token")).await.status, 200, "offline_access outlives it");
}

/// Allow on one node and Deny on the other at once, then polls on both
/// nodes at once: one answer, and at most one poll with tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_and_redemptions_race_to_one_winner_across_two_nodes() {
    let Some(d) = setup(Backend::Postgres).await else { return };
    let node2 = d.app.second_node().await;
    d.app.add_user("bob", PASSWORD).await;
    for round in 0..4 {
        let (device_code, user_code) = d.started().await;
        let mut alice = signed_in(&d.app, USERNAME).await;
        let mut bob = signed_in(&node2, "bob").await;
        let (alice_consent, bob_consent) = (enter_code(&mut alice, &user_code).await, enter_code(&mut bob, &user_code).await);
        assert_eq!((alice_consent.status, bob_consent.status), (200, 200));
        let (allowed, denied) = tokio::join!(answer(&mut alice, &alice_consent, "allow"), answer(&mut bob, &bob_consent, "deny"));
        assert_eq!([allowed.status, denied.status].iter().filter(|s| **s == 200).count(), 1, "round {round}: one answer wins");
        d.app.clock.advance(10);
        let form = [("grant_type", GRANT), ("device_code", device_code.as_str()), ("client_id", d.id.as_str())];
        let polls = join_all((0..4).map(|i| post_form(if i % 2 == 0 { &d.app } else { &node2 }, "/token", &form, None))).await;
        let outcomes: Vec<(u16, String)> = polls.iter().map(error_of).collect();
        if allowed.status == 200 {
            assert_eq!(polls.iter().filter(|p| p.status == 200).count(), 1, "round {round}: exactly one poll gets tokens: {outcomes:?}");
            assert!(outcomes.iter().all(|o| o.0 == 200 || o.1 == "invalid_grant" || o.1 == "slow_down"), "round {round}: {outcomes:?}");
        } else {
            assert!(outcomes.iter().all(|o| o.1 == "access_denied"), "round {round}: {outcomes:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_the_grant_type_is_unauthorized_client() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (web_app, secret) = app.add_client(false, SigningAlg::RS256).await;
    let secret = secret.expect("confidential");
    let refused = post_form(&app, "/device_authorization", &[("scope", "openid")], Some((&web_app, &secret))).await;
    assert_eq!(error_of(&refused), (400, "unauthorized_client".into()), "{}", refused.body);
    // Client authentication as at /token: a wrong secret, an unknown client.
    assert_eq!(post_form(&app, "/device_authorization", &[("scope", "openid")], Some((&web_app, "lks_wrong"))).await.status, 401);
    assert_eq!(error_of(&post_form(&app, "/device_authorization", &[("client_id", "nobody"), ("scope", "openid")], None).await), (401, "invalid_client".into()));
    // A confidential device client authenticates; scopes are checked as at /authorize.
    let (tv, tv_secret) = app.register(device_client("Confidential TV", false, vec![GrantType::DeviceCode])).await;
    let tv_secret = tv_secret.expect("confidential");
    let ok = post_form(&app, "/device_authorization", &[("scope", "openid email")], Some((&tv, &tv_secret))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let bad_scope = post_form(&app, "/device_authorization", &[("scope", "admin")], Some((&tv, &tv_secret))).await;
    assert_eq!(error_of(&bad_scope), (400, "invalid_scope".into()));
    let bad_resource = post_form(&app, "/device_authorization", &[("scope", "openid"), ("resource", "https://unknown.example")], Some((&tv, &tv_secret))).await;
    assert_eq!(error_of(&bad_resource), (400, "invalid_target".into()));
    // Without refresh_token among its grants, a device gets no refresh token.
    let d = Device { app, id: tv, secret: Some(tv_secret) };
    let (device_code, _) = approved(&d).await;
    let tokens = d.poll(&device_code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert!(tokens.body.get("refresh_token").is_none(), "{}", tokens.body);
}

/// A user who signs in with a passkey comes back to the device page too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_sign_in_comes_back_to_the_device_page() {
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    let Some(d) = setup(Backend::Sqlite).await else { return };
    let mut setup_browser = d.app.browser();
    crate::passkeys::password_sign_in(&mut setup_browser).await;
    let mut key = crate::passkeys::register(&d.app, &mut setup_browser, "Phone key").await;
    let (device_code, user_code) = d.started().await;

    let mut phone = d.app.browser();
    let start = phone.get(&format!("/device?user_code={user_code}")).await;
    let login = phone.get(start.location.as_deref().unwrap_or_default()).await;
    assert!(login.body.contains(">Sign in with a passkey</button>"));
    let csrf = login.field("csrf_token").unwrap_or_default();
    // What the page's script sends: the form's hidden `next` beside the username.
    let (status, begun) = phone.post_json("/login/passkey/start", &csrf, &json!({ "username": USERNAME, "next": login.field("next") })).await;
    assert_eq!(status, 200, "{begun}");
    let options: webauthn_authenticator_rs::prelude::RequestChallengeResponse = serde_json::from_value(begun["options"].clone()).expect("request options");
    let credential = key.do_authentication(webauthn_authenticator_rs::prelude::Url::parse(&d.app.issuer).expect("origin"), options).expect("soft passkey signs");
    let (status, done) = phone.post_json("/login/passkey/finish", &csrf, &json!({ "ceremony": begun["ceremony"], "credential": credential })).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["redirect"], format!("/device?user_code={user_code}"));
    let consent = enter_code(&mut phone, &user_code).await;
    assert_eq!(answer(&mut phone, &consent, "allow").await.status, 200);
    let tokens = d.poll(&device_code).await;
    let id_token = crate::support::jwt::payload(&text(&tokens.body, "id_token"));
    assert_eq!(id_token["acr"], "urn:latchkey:acr:phr", "the passkey sign-in's strength is carried: {id_token}");
}

/// `/device_authorization` has the per-client rate limit of the token
/// endpoints (a public client: per client and address).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authorization_is_rate_limited_per_client() {
    use latchkey_oauth::endpoint_limits::EndpointRate;
    use std::num::NonZeroU32;
    let Some(d) = setup_with(Backend::Sqlite, |s| s.endpoint_rate = Some(EndpointRate { per_second: NonZeroU32::MIN, burst: NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN) })).await else { return };
    for i in 0..3 {
        assert_eq!(d.start("openid").await.status, 200, "request {i} within the burst");
    }
    let over = d.start("openid").await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.headers.get("retry-after").is_some());
    assert_eq!(over.body["error"], "temporarily_unavailable");
}

/// Device clients through the admin API (no redirect URI needed) and the console's form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_clients_are_registered_through_the_admin_api_and_console() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (admin, admin_secret) = app.add_admin_client().await;
    let token = text(&post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "admin")], Some((&admin, &admin_secret))).await.body, "access_token");
    let body = json!({ "name": TV, "public": true, "grant_types": [GRANT, "refresh_token"] });
    let created = app.http().post(app.url("/admin/api/v1/clients")).bearer_auth(&token).json(&body).send().await.expect("create");
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.expect("json");
    let shown = bearer(&app, "GET", &format!("/admin/api/v1/clients/{}", text(&created, "client_id")), &token).await;
    assert_eq!(shown.body["grant_types"], json!([GRANT, "refresh_token"]), "{}", shown.body);
    assert_eq!(shown.body["redirect_uris"], json!([]));
    let d = Device { app, id: text(&created, "client_id"), secret: None };
    assert_eq!(d.start("openid").await.status, 200);

    // The console's form names the grant type and takes it without a redirect URI.
    let (mut console, _, _) = crate::console::admin_browser(&d.app).await;
    let page = console.get("/admin/clients").await;
    assert!(page.body.contains(GRANT), "{}", page.body);
    let made = console
        .post_form(
            "/admin/clients/create",
            &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("name", "Console TV"), ("public", "yes"), ("grant_types", GRANT), ("scope", "openid profile")],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let marker = r#"<code id="client-id">"#;
    let id = made.body.split(marker).nth(1).and_then(|s| s.split('<').next()).unwrap_or_default().to_string();
    let console_tv = Device { app: d.app, id, secret: None };
    assert_eq!(console_tv.start("openid profile").await.status, 200);
}

/// A client removed or disabled while its user is on the consent page gets no answer (and no 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_or_disabled_client_gets_no_answer() {
    let Some(d) = setup(Backend::Sqlite).await else { return };
    let (_, user_code) = d.started().await;
    let mut browser = signed_in(&d.app, USERNAME).await;
    let consent = enter_code(&mut browser, &user_code).await;
    assert_eq!(consent.status, 200);
    d.app.state.admin(latchkey_app::admin::Actor::Cli).set_client_disabled(&d.id, true).await.expect("disable");
    let refused = answer(&mut browser, &consent, "allow").await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(enter_code(&mut browser, &user_code).await.status, 400, "the code page too");
    let (_, user_code) = {
        d.app.state.admin(latchkey_app::admin::Actor::Cli).set_client_disabled(&d.id, false).await.expect("enable");
        d.started().await
    };
    let consent = enter_code(&mut browser, &user_code).await;
    d.app.state.admin(latchkey_app::admin::Actor::Cli).delete_client(&d.id).await.expect("delete");
    let refused = answer(&mut browser, &consent, "allow").await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(!browser.get("/account").await.body.contains(TV), "no grant for a removed client");
}

/// In a real browser (headless Chromium): the link the device shows, the
/// sign-in, "Continue" on the filled-in code, "Allow", then the device polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_connects_a_device() {
    if crate::support::services::skip_slow("a real browser (chromium)") {
        return;
    }
    let Some(d) = setup(Backend::Sqlite).await else { return };
    let started = d.start("openid profile").await;
    let (device_code, user_code) = (text(&started.body, "device_code"), text(&started.body, "user_code"));
    let Some(mut chrome) = crate::support::cdp::Chrome::launch().await else { return };
    chrome.navigate(&text(&started.body, "verification_uri_complete")).await;
    assert!(chrome.wait_for("location.pathname === '/login' && document.readyState === 'complete'", 15).await, "sent to sign in");
    chrome
        .eval(&format!(
            "document.getElementById('username').value = '{USERNAME}'; document.getElementById('password').value = '{PASSWORD}'; document.querySelector('form[action=\"/login\"]').submit(); true"
        ))
        .await;
    assert!(chrome.wait_for("location.pathname === '/device' && document.readyState === 'complete'", 15).await, "back at the device page");
    assert_eq!(chrome.eval("document.getElementById('user_code').value").await, json!(user_code), "filled in");
    chrome.eval("[...document.querySelectorAll('button')].find(b => b.textContent === 'Continue').click(); true").await;
    assert!(chrome.wait_for(&format!("document.body.innerText.includes('Allow {TV}?') && document.readyState === 'complete'"), 15).await, "the consent page");
    chrome.eval("[...document.querySelectorAll('button')].find(b => b.textContent === 'Allow').click(); true").await;
    assert!(chrome.wait_for("document.body.innerText.includes('return to your device')", 15).await, "told to go back to the device");
    let tokens = d.poll(&device_code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
}
