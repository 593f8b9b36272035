//! "Can't sign in?": recovery that never bypasses the strongest control.

use latchkey_domain::SigningAlg;
use openidconnect::OAuth2TokenResponse;

use super::{count_mail, create_passkey, invite, link_in, set_password, wait_for_mail, wait_for_mail_count};
use crate::mfa::{code_at, enrol, sign_in_password};
use crate::sessions::{sign_in_direct, signed_in};
use crate::support::raw::post_form;
use crate::support::rp::sign_in_default;
use crate::support::{Backend, Browser, Rp, TestApp, PASSWORD, USERNAME};

const EMAIL: &str = "alice@example.com";
const NEW_PASSWORD: &str = "a completely new passphrase";

/// Asks for a recovery link for `login`; returns the page.
async fn request(app: &TestApp, login: &str) -> crate::support::browser::Page {
    let mut b = app.browser();
    let page = b.get("/recover").await;
    assert!(page.body.contains(r#"<label for="login">Username or email</label>"#) && page.body.contains(">Send recovery link</button>"));
    b.post_form("/recover", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("login", login)]).await
}

const ASKED: &str = "Someone asked to recover your account";

/// Requests recovery and returns the link of the mail that request sent.
/// Mails are sent in the background: the caller has waited for the mails of
/// its earlier requests (as this function does for its own).
pub(crate) async fn recovery_link(app: &TestApp, login: &str) -> String {
    let before = count_mail(app, EMAIL, ASKED);
    let r = request(app, login).await;
    assert_eq!(r.status, 200);
    wait_for_mail_count(app, EMAIL, ASKED, before + 1).await;
    let mail = wait_for_mail(app, EMAIL, ASKED).await;
    link_in(&mail.body, &format!("{}/recover/continue?t=", app.issuer))
}

/// A password user recovers: the same answer as for an unknown account;
/// afterwards every session and refresh family is dead and the user is told.
async fn password_user_recovers(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let mut old_browser = app.browser();
    let req = rp.authorize_scopes(&["offline_access"], &[]);
    let code = sign_in_default(&mut old_browser, &req.url).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let refresh = tokens.refresh_token().expect("refresh token").secret().clone();

    // Enumeration: the same page for a real and a made-up account.
    let real = request(&app, USERNAME).await;
    let unknown = request(&app, "nobody-by-that-name").await;
    assert_eq!((real.status, &real.body), (unknown.status, &unknown.body));
    assert!(real.body.contains("Check your email"));
    // The real request's mail is sent in the background: let it arrive before asking again.
    wait_for_mail_count(&app, EMAIL, ASKED, 1).await;

    let link = recovery_link(&app, EMAIL).await;
    let mut browser = app.browser();
    let page = browser.get(&link).await;
    assert!(!page.body.contains("Authentication code"), "no second factor to ask for");
    assert!(signed_in(&mut old_browser).await, "opening the link changes nothing");
    let done = set_password(&mut browser, "/recover", &link, NEW_PASSWORD).await;
    assert_eq!(done.location.as_deref(), Some("/account"), "{}", done.body);
    assert_eq!(browser.get("/account").await.status, 200);

    assert!(!signed_in(&mut old_browser).await, "every other session ended");
    let basic = secret.as_deref().map(|s| (id.as_str(), s));
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], basic).await;
    assert_eq!(r.body["error"], "invalid_grant", "every refresh family ended, offline ones too");
    let notice = wait_for_mail(&app, EMAIL, "Your account was recovered").await;
    assert!(notice.body.contains("/account/not-me?t="), "with a 'This wasn't me' link");
    // The old password is gone, the new one works; the link is spent.
    let mut other = app.browser();
    let login = other.get("/login").await;
    let old = other.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(old.status, 401);
    assert_eq!(app.browser().get(&link).await.status, 400, "single use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_user_recovers_on_sqlite() {
    password_user_recovers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_user_recovers_on_postgres_and_redis() {
    password_user_recovers(Backend::Postgres).await;
}

/// With an authenticator app, the code comes first: skipping the step,
/// a wrong code, and another browser are refused; a backup code works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_asks_for_the_second_factor_first() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    sign_in_password(&mut setup).await;
    let (secret, backup) = enrol(&app, &mut setup).await;

    let link = recovery_link(&app, USERNAME).await;
    let t = super::token_of(&link);
    let mut browser = app.browser();
    let page = browser.get(&link).await;
    assert!(page.body.contains(r#"<label for="code">Authentication code</label>"#) && page.body.contains(">Verify</button>"));
    assert!(!page.body.contains("Set password"), "nothing else until the factor");
    let csrf = page.field("csrf_token").unwrap_or_default();
    let skipped = browser.post_form("/recover/password", &[("csrf_token", &csrf), ("t", &t), ("new_password", NEW_PASSWORD)]).await;
    assert_eq!(skipped.status, 403, "skipping the step is refused");
    let (status, _) = browser.post_json("/recover/passkey/start", &csrf, &serde_json::json!({ "t": t })).await;
    assert_eq!(status, 403, "so is a passkey without it");
    let wrong = browser.post_form("/recover/verify", &[("csrf_token", &csrf), ("t", &t), ("code", "000000")]).await;
    assert_eq!(wrong.status, 401);
    let ok = browser.post_form("/recover/verify", &[("csrf_token", &csrf), ("t", &t), ("code", &backup[0])]).await;
    assert_eq!(ok.location.as_deref(), Some(format!("/recover/continue?t={t}").as_str()), "a backup code works: {}", ok.body);
    // Another browser with the same link still has to present the factor.
    let elsewhere = app.browser().get(&link).await;
    assert!(elsewhere.body.contains("Authentication code"));
    let done = set_password(&mut browser, "/recover", &link, NEW_PASSWORD).await;
    assert_eq!(done.location.as_deref(), Some("/account"), "{}", done.body);
    assert!(!signed_in(&mut setup).await);
    let _ = (secret, code_at);
}

/// A passkey-only user who lost the passkey registers a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_only_user_recovers_with_a_new_passkey() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (user_id, url) = invite(&app, USERNAME, EMAIL).await;
    let mut phone = app.browser();
    let (_lost, status, _) = create_passkey(&app, &mut phone, "/setup", &url).await;
    assert_eq!(status, 200);
    let link = recovery_link(&app, EMAIL).await;
    let mut laptop = app.browser();
    let (_new_key, status, done) = create_passkey(&app, &mut laptop, "/recover", &link).await;
    assert_eq!((status, done["redirect"].as_str()), (200, Some("/account")), "{done}");
    assert_eq!(laptop.get("/account").await.status, 200);
    assert!(!signed_in(&mut phone).await, "the lost phone's session ended");
    let keys = app.state.passkeys.list(&latchkey_domain::UserId(user_id)).await.expect("passkeys");
    assert_eq!(keys.len(), 2, "the new passkey is registered");
}

/// Links are superseded by a newer request and revoked by a credential change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_links_are_superseded_and_revoked() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let first = recovery_link(&app, USERNAME).await;
    app.clock.advance(61 * 60); // past the request limit's window, not the issue here
    let second = recovery_link(&app, USERNAME).await;
    assert_ne!(first, second);
    assert_eq!(app.browser().get(&first).await.status, 400, "superseded");
    assert_eq!(app.browser().get(&second).await.status, 200);
    let mut b = app.browser();
    sign_in_direct(&mut b, USERNAME, false).await;
    let csrf = b.get("/account").await.field("csrf_token").unwrap_or_default();
    let changed = b.post_form("/account/password", &[("csrf_token", &csrf), ("current_password", PASSWORD), ("new_password", NEW_PASSWORD)]).await;
    assert_eq!(changed.location.as_deref(), Some("/account"));
    assert_eq!(app.browser().get(&second).await.status, 400, "a credential change revokes it");
    app.clock.advance(0);
    let third = recovery_link(&app, USERNAME).await;
    app.clock.advance(latchkey_authn::links::DEFAULT_RECOVERY_TTL + 1);
    assert_eq!(app.browser().get(&third).await.status, 400, "expired after 30 minutes");
}

/// Rate limits on recovery requests: hit, then recovered in the next window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_requests_are_rate_limited_and_recover() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let max = latchkey_authn::rate_limit::RECOVERY_PER_ACCOUNT.max as usize;
    for _ in 0..max {
        assert_eq!(request(&app, USERNAME).await.status, 200);
    }
    let limited = request(&app, USERNAME).await;
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").and_then(|v| v.parse::<i64>().ok()).is_some_and(|s| s > 0 && s <= 3600));
    // The refused request started no background work: once the allowed ones' mails are in, no more come.
    assert_eq!(wait_for_mail_count(&app, EMAIL, "Someone asked to recover your account", max).await, max, "no mail beyond the limit");
    let unknown = request(&app, "someone-else").await;
    assert_eq!(unknown.status, 200, "other accounts are unaffected");
    app.clock.advance(3600);
    assert_eq!(request(&app, USERNAME).await.status, 200, "the next window");
    let _ = Browser::new;
}

/// Answers the recovery gate of `link` in `browser` with `key` (a passkey of
/// the account); returns the finish status, answer and request body.
async fn present_passkey(
    app: &TestApp,
    browser: &mut crate::support::Browser,
    link: &str,
    key: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey,
) -> (u16, serde_json::Value, serde_json::Value) {
    use webauthn_authenticator_rs::prelude::{RequestChallengeResponse, Url};
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    let page = browser.get(link).await;
    let csrf = page.field("csrf_token").unwrap_or_default();
    let t = super::token_of(link);
    let (status, start) = browser.post_json("/recover/factor/passkey/start", &csrf, &serde_json::json!({ "t": t })).await;
    assert_eq!(status, 200, "{start}");
    let options: RequestChallengeResponse = serde_json::from_value(start["options"].clone()).expect("request options");
    let credential = key.do_authentication(Url::parse(&app.issuer).expect("origin"), options).expect("soft passkey signs");
    let finish = serde_json::json!({ "t": t, "ceremony": start["ceremony"], "credential": credential });
    let (status, done) = browser.post_json("/recover/factor/passkey/finish", &csrf, &finish).await;
    (status, done, finish)
}

/// Password + passkey: sign-in asks for the passkey after the password, so
/// recovery does too. The mailbox alone no longer recovers the account (no
/// password, no passkey of the attacker's); an assertion of the account's
/// passkey does, once, in the browser that made it; the link is single use.
async fn passkey_second_factor_gates_recovery(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    crate::passkeys::password_sign_in(&mut setup).await;
    // The first second factor comes with backup codes, shown once.
    let account = setup.get("/account").await;
    assert!(account.body.contains(r#"id="new-backup-codes""#) && account.body.contains("Save your backup codes"));
    let csrf = account.field("csrf_token").unwrap_or_default();
    let (status, start) = setup.post_json("/account/passkeys/register/start", &csrf, &serde_json::json!({})).await;
    assert_eq!(status, 200, "{start}");
    let options: webauthn_authenticator_rs::prelude::CreationChallengeResponse = serde_json::from_value(start["options"].clone()).expect("creation options");
    let mut key = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let credential =
        webauthn_authenticator_rs::WebauthnAuthenticator::do_registration(&mut key, webauthn_authenticator_rs::prelude::Url::parse(&app.issuer).expect("origin"), options).expect("registers");
    let (status, added) = setup.post_json("/account/passkeys/register/finish", &csrf, &serde_json::json!({ "ceremony": start["ceremony"], "name": "Phone", "credential": credential })).await;
    assert_eq!(status, 200, "{added}");
    let codes = added["backup_codes"].as_array().map(Vec::len).unwrap_or_default();
    assert_eq!(codes, latchkey_authn::mfa::BACKUP_CODE_COUNT, "backup codes with the first second factor: {added}");

    // The attacker has the mailbox only.
    let link = recovery_link(&app, USERNAME).await;
    let mail = super::wait_for_mail(&app, &format!("{USERNAME}@example.com"), ASKED).await;
    assert!(mail.body.contains("your passkey, authenticator app or a backup code"), "the mail says what is asked: {}", mail.body);
    let t = super::token_of(&link);
    let mut attacker = app.browser();
    let page = attacker.get(&link).await;
    assert!(page.body.contains(r#"data-passkey="recover-factor""#) && page.body.contains(">Use your passkey</button>"), "{}", page.body);
    assert!(!page.body.contains(">Create a passkey</button>") && !page.body.contains("Set password"), "nothing else until the factor");
    let csrf = page.field("csrf_token").unwrap_or_default();
    let skipped = attacker.post_form("/recover/password", &[("csrf_token", &csrf), ("t", &t), ("new_password", NEW_PASSWORD)]).await;
    assert_eq!(skipped.status, 403, "no new password from the mailbox alone");
    let (status, _) = attacker.post_json("/recover/passkey/start", &csrf, &serde_json::json!({ "t": t })).await;
    assert_eq!(status, 403, "no passkey of the attacker's either");
    // The owner's assertion relayed to the attacker's browser: bound to the browser that started it.
    let mut owner = app.browser();
    let owner_page = owner.get(&link).await;
    let (status, start) = owner.post_json("/recover/factor/passkey/start", &owner_page.field("csrf_token").unwrap_or_default(), &serde_json::json!({ "t": t })).await;
    assert_eq!(status, 200, "{start}");
    let options: webauthn_authenticator_rs::prelude::RequestChallengeResponse = serde_json::from_value(start["options"].clone()).expect("request options");
    let assertion =
        webauthn_authenticator_rs::WebauthnAuthenticator::do_authentication(&mut key, webauthn_authenticator_rs::prelude::Url::parse(&app.issuer).expect("origin"), options).expect("signs");
    let (status, relayed) = attacker.post_json("/recover/factor/passkey/finish", &csrf, &serde_json::json!({ "t": t, "ceremony": start["ceremony"], "credential": assertion })).await;
    assert_eq!(status, 403, "another browser's ceremony: {relayed}");
    assert_eq!(attacker.post_form("/recover/password", &[("csrf_token", &csrf), ("t", &t), ("new_password", NEW_PASSWORD)]).await.status, 403);

    // The owner presents the passkey: the gate opens in the owner's browser only.
    let (status, done, finish) = present_passkey(&app, &mut owner, &link, &mut key).await;
    assert_eq!((status, done["redirect"].as_str()), (200, Some(format!("/recover/continue?t={t}").as_str())), "{done}");
    let fresh = owner.get(&link).await.field("csrf_token").unwrap_or_default();
    let (status, replay) = owner.post_json("/recover/factor/passkey/finish", &fresh, &finish).await;
    assert_eq!(status, 400, "a replayed assertion finds no ceremony: {replay}");
    assert!(attacker.get(&link).await.body.contains("Use your passkey"), "the attacker's browser is still asked");
    let done = set_password(&mut owner, "/recover", &link, NEW_PASSWORD).await;
    assert_eq!(done.location.as_deref(), Some("/account"), "{}", done.body);
    // The link is spent: neither a second use nor the attacker gets anywhere.
    assert_eq!(app.browser().get(&link).await.status, 400, "single use");
    let again = attacker.post_form("/recover/password", &[("csrf_token", &csrf), ("t", &t), ("new_password", "another new passphrase")]).await;
    assert_eq!(again.status, 400, "a spent link");
    assert!(!signed_in(&mut setup).await, "every other session ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_second_factor_gates_recovery_on_sqlite() {
    passkey_second_factor_gates_recovery(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_second_factor_gates_recovery_on_postgres_and_redis() {
    passkey_second_factor_gates_recovery(Backend::Postgres).await;
}
