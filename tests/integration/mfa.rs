//! TOTP, backup codes and step-up.

use latchkey_domain::SigningAlg;
use openidconnect::TokenResponse;
use totp_rs::{Builder, Secret};

use crate::support::rp::sign_in;
use crate::support::{jwt, AuthResponse, Backend, Browser, Rp, TestApp, PASSWORD, USERNAME};

const MFA_ACR: &str = "urn:latchkey:acr:mfa";

pub(crate) async fn sign_in_password(browser: &mut Browser) -> crate::support::browser::Page {
    let login = browser.get("/login").await;
    browser.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)]).await
}

pub(crate) fn code_at(secret: &str, now: i64) -> String {
    let totp = Builder::new().with_secret(Secret::try_from_base32(secret).expect("base32")).build().expect("totp");
    totp.generate(u64::try_from(now).unwrap_or(0)).to_string()
}

/// Opens the second-step page at `url` and answers it with `code`.
pub(crate) async fn answer_second_step(browser: &mut Browser, url: &str, code: &str) -> crate::support::browser::Page {
    let page = browser.get(url).await;
    browser.post_form("/login/mfa", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("m", &page.field("m").unwrap_or_default()), ("code", code)]).await
}

/// A user with an RP client, signed in with a password and enrolled in TOTP.
async fn enrolled(app: &TestApp) -> (Rp, Browser, String, Vec<String>) {
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(app, &id, secret.as_deref()).await;
    let mut browser = app.browser();
    sign_in_password(&mut browser).await;
    let (totp_secret, backup) = enrol(app, &mut browser).await;
    (rp, browser, totp_secret, backup)
}

/// Enrols TOTP for the signed-in browser; returns the secret and the backup codes.
pub(crate) async fn enrol(app: &TestApp, browser: &mut Browser) -> (String, Vec<String>) {
    let page = browser.get("/account/totp").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<svg") && page.body.contains(r#"<label for="code">Authentication code</label>"#) && page.body.contains(">Verify</button>"));
    let start = page.body.find(r#"<code id="totp-secret">"#).expect("secret shown as text") + r#"<code id="totp-secret">"#.len();
    let secret = page.body[start..].split('<').next().unwrap_or_default().to_string();
    let csrf = page.field("csrf_token").unwrap_or_default();

    let wrong = browser.post_form("/account/totp/verify", &[("csrf_token", &csrf), ("code", "000000")]).await;
    assert_eq!(wrong.status, 400, "a wrong confirmation code is refused");
    let ok = browser.post_form("/account/totp/verify", &[("csrf_token", &csrf), ("code", &code_at(&secret, app.clock_now()))]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let codes: Vec<String> = ok.body.split("<li><code>").skip(1).filter_map(|s| s.split('<').next()).map(str::to_string).collect();
    assert_eq!(codes.len(), 10, "ten backup codes, shown once");
    (secret, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrolment_then_password_and_code_sign_in() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (rp, _enrolled_browser, totp_secret, backup) = enrolled(&app).await;

    // A new browser: the password alone is not enough any more.
    app.clock.advance(60);
    let mut other = app.browser();
    let req = rp.authorize(&[]);
    let first = other.get(&req.url).await;
    let login = other.get(first.location.as_deref().unwrap_or_default()).await;
    let after_password = other
        .post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("authz", &login.field("authz").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)])
        .await;
    let mfa_url = after_password.location.clone().expect("to the second step");
    assert!(mfa_url.starts_with("/login/mfa?m="), "{mfa_url}");
    assert!(after_password.set_cookie("__Host-latchkey-session").is_none(), "no session before the second factor");
    let mfa = other.get(&mfa_url).await;
    let (csrf, m) = (mfa.field("csrf_token").unwrap_or_default(), mfa.field("m").unwrap_or_default());
    let bad = other.post_form("/login/mfa", &[("csrf_token", &csrf), ("m", &m), ("code", "123456")]).await;
    assert_eq!(bad.status, 401);
    let code = code_at(&totp_secret, app.clock_now());
    let done = other.post_form("/login/mfa", &[("csrf_token", &csrf), ("m", &m), ("code", &code)]).await;
    let consent = other.get(done.location.as_deref().expect("onwards")).await;
    let allowed = other.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await;
    let resp = AuthResponse::parse(allowed.location.as_deref().unwrap_or_default());
    let tokens = rp.exchange(resp.code.as_deref().unwrap_or_default(), req.verifier).await.expect("exchange");
    let claims = jwt::payload(&tokens.id_token().expect("id").to_string());
    assert_eq!(claims["acr"], MFA_ACR);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // The same code (same time step) is never accepted twice.
    let mut third = app.browser();
    let step = sign_in_password(&mut third).await;
    let mfa = third.get(step.location.as_deref().unwrap_or_default()).await;
    let (csrf, m) = (mfa.field("csrf_token").unwrap_or_default(), mfa.field("m").unwrap_or_default());
    let replay = third.post_form("/login/mfa", &[("csrf_token", &csrf), ("m", &m), ("code", &code)]).await;
    assert_eq!(replay.status, 401, "a replayed code is refused");
    // A backup code works, once.
    let ok = third.post_form("/login/mfa", &[("csrf_token", &csrf), ("m", &m), ("code", &backup[0])]).await;
    assert_eq!(ok.location.as_deref(), Some("/account"), "{}", ok.body);
    let mut fourth = app.browser();
    let step = sign_in_password(&mut fourth).await;
    let again = answer_second_step(&mut fourth, step.location.as_deref().unwrap_or_default(), &backup[0]).await;
    assert_eq!(again.status, 401, "a backup code works only once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_asks_only_for_the_missing_factor() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (rp, mut browser, totp_secret, _) = enrolled(&app).await;
    // The session so far is password-only (enrolment does not upgrade it).
    let plain = rp.authorize(&[]);
    let resp = sign_in(&mut browser, &plain.url, USERNAME, PASSWORD).await;
    let tokens = rp.exchange(resp.code.as_deref().unwrap_or_default(), plain.verifier).await.expect("exchange");
    let before = jwt::payload(&tokens.id_token().expect("id").to_string());
    assert_eq!(before["acr"], "urn:latchkey:acr:pwd");
    let cookie_before = browser.cookies.get("__Host-latchkey-session").cloned();

    app.clock.advance(40);
    let req = rp.authorize(&[("acr_values", MFA_ACR)]);
    let first = browser.get(&req.url).await;
    let login = browser.get(first.location.as_deref().unwrap_or_default()).await;
    let mfa_url = login.location.clone().expect("straight to the second factor, no password");
    assert!(mfa_url.starts_with("/login/mfa?m="));
    let done = answer_second_step(&mut browser, &mfa_url, &code_at(&totp_secret, app.clock_now())).await;
    let resp = AuthResponse::parse(done.location.as_deref().unwrap_or_default());
    let tokens = rp.exchange(resp.code.as_deref().unwrap_or_default(), req.verifier).await.expect("exchange");
    let after = jwt::payload(&tokens.id_token().expect("id").to_string());
    assert_eq!(after["acr"], MFA_ACR);
    assert_eq!(after["sid"], before["sid"], "the same session, elevated");
    assert!(after["auth_time"].as_i64() > before["auth_time"].as_i64(), "auth_time moves");
    assert_ne!(browser.cookies.get("__Host-latchkey-session").cloned(), cookie_before, "the session id rotates at elevation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_requests_from_users_without_a_second_factor_are_refused_cleanly() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[("acr_values", MFA_ACR)]);
    let resp = sign_in(&mut browser, &req.url, USERNAME, PASSWORD).await;
    assert_eq!(resp.error.as_deref(), Some("unmet_authentication_requirements"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_mfa_needs_a_recent_sign_in() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    sign_in_password(&mut browser).await;
    app.clock.advance(301);
    let page = browser.get("/account/totp").await;
    assert_eq!(page.location.as_deref(), Some("/login?next=/account/totp"), "re-authenticate first");
    let login = browser.get("/login?next=/account/totp").await;
    let back = browser
        .post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("next", &login.field("next").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)])
        .await;
    assert_eq!(back.location.as_deref(), Some("/account/totp"), "and continue where they were");
    assert_eq!(browser.get("/account/totp").await.status, 200);
}
