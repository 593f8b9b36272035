//! Invitations: admin-created accounts, passwordless from the first minute.

use latchkey_domain::{SigningAlg, UserId};
use openidconnect::{OAuth2TokenResponse, TokenResponse};

use super::{create_passkey, invite, link_in, set_password, userinfo, wait_for_mail};
use crate::support::rp::sign_in_default;
use crate::support::{jwt, Backend, Rp, TestApp};

const EMAIL: &str = "carol@example.com";

/// Invitation → passkey → signed in to a relying party, with a passkey's
/// `amr`, a verified address, and no password ever set.
async fn invitation_then_passkey(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let (user_id, url) = invite(&app, "carol", EMAIL).await;
    assert!(url.starts_with(&format!("{}/setup?t=lkl_", app.issuer)), "{url}");
    let mail = wait_for_mail(&app, EMAIL, "You are invited to latchkey").await;
    assert_eq!(link_in(&mail.body, &format!("{}/setup?t=", app.issuer)), url, "the mailed link is the printed one");

    let mut browser = app.browser();
    let page = browser.get(&url).await;
    for text in [">Create a passkey</button>", "<summary>Use a password instead</summary>", r#"<label for="new_password">New password</label>"#, ">Set password</button>"] {
        assert!(page.body.contains(text), "{text} missing: {}", page.body);
    }
    let (_key, status, done) = create_passkey(&app, &mut browser, "/setup", &url).await;
    assert_eq!((status, done["redirect"].as_str()), (200, Some("/account/recovery-codes")), "{done}");
    let offer = browser.get("/account/recovery-codes").await;
    assert!(offer.body.contains("Save your backup codes") && offer.body.contains(">Create backup codes</button>"));
    let codes = browser.post_form("/account/recovery-codes", &[("csrf_token", &offer.field("csrf_token").unwrap_or_default())]).await;
    assert_eq!(codes.body.matches("<li><code>").count(), 10, "{}", codes.body);

    let user = app.state.authn.user(&UserId(user_id)).await.expect("user").expect("exists");
    assert!(user.password_hash.is_none() && user.email_verified, "no password ever set; the address is proven");

    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code from the passkey session");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let claims = jwt::payload(&tokens.id_token().expect("id token").to_string());
    let amr: Vec<String> = serde_json::from_value(claims["amr"].clone()).unwrap_or_default();
    assert!(amr.iter().any(|a| a == "hwk" || a == "swk") && !amr.contains(&"pwd".to_string()), "{amr:?}");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(userinfo(&app, tokens.access_token().secret()).await["email_verified"], true);

    // The link was single use.
    let again = app.browser().get(&url).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("Link expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_then_passkey_on_sqlite() {
    invitation_then_passkey(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_then_passkey_on_postgres_and_redis() {
    invitation_then_passkey(Backend::Postgres).await;
}

/// The password path, with the password policy over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_then_password_with_the_policy() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (user_id, url) = invite(&app, "carol", EMAIL).await;
    let mut browser = app.browser();
    for (bad, why) in [("short pw", "at least 12"), ("password1234", "too common"), ("carol-blue-kettle-march", "username")] {
        let r = set_password(&mut browser, "/setup", &url, bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.body.contains(why), "{bad}: {}", r.body);
    }
    let long = "a sentence of more than sixty-four characters is fine as a password too";
    assert!(long.chars().count() > 64);
    let done = set_password(&mut browser, "/setup", &url, long).await;
    assert_eq!(done.location.as_deref(), Some("/account/recovery-codes"), "{}", done.body);
    assert_eq!(browser.get("/account").await.status, 200, "signed in");
    let user = app.state.authn.user(&UserId(user_id)).await.expect("user").expect("exists");
    assert!(user.email_verified && user.password_hash.is_some());
    // A replay of the link (in another browser) gets nothing.
    let replay = app.browser().get(&url).await;
    assert_eq!(replay.status, 400, "the link was spent");
}

/// Expired links are refused; a taken username is refused by the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_expire_and_usernames_stay_unique() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (_, url) = invite(&app, "carol", EMAIL).await;
    app.clock.advance(latchkey_authn::links::DEFAULT_INVITE_TTL + 1);
    let page = app.browser().get(&url).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Link expired"));
    let token = super::admin_token(&app).await;
    let (status, _) = super::admin_post(&app, "/admin/api/v1/users", Some(&token), &serde_json::json!({ "username": "carol", "email": "x@example.com", "invite": true })).await;
    assert_eq!(status, 409, "a taken username: Conflict");
    let (status, _) = super::admin_post(&app, "/admin/api/v1/users", Some(&token), &serde_json::json!({ "username": "dave", "email": "dave@example.com" })).await;
    assert_eq!(status, 400, "only invitations");
    let (status, _) = super::admin_post(&app, "/admin/api/v1/users", None, &serde_json::json!({ "username": "eve", "email": "eve@example.com", "invite": true })).await;
    assert_eq!(status, 401, "admins only");
}

/// Two uses of one link at once: exactly one sets the credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_uses_of_one_link_set_one_credential() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (_, url) = invite(&app, "carol", EMAIL).await;
    let (mut a, mut b) = (app.browser(), app.browser());
    let (pa, pb) = (a.get(&url).await, b.get(&url).await);
    let t = super::token_of(&url);
    let (ca, cb) = (pa.field("csrf_token").unwrap_or_default(), pb.field("csrf_token").unwrap_or_default());
    let fa = [("csrf_token", ca.as_str()), ("t", t.as_str()), ("new_password", "first racing passphrase")];
    let fb = [("csrf_token", cb.as_str()), ("t", t.as_str()), ("new_password", "second racing passphrase")];
    let (ra, rb) = tokio::join!(a.post_form("/setup/password", &fa), b.post_form("/setup/password", &fb));
    let won = [&ra, &rb].iter().filter(|r| r.status == 303).count();
    assert_eq!(won, 1, "{} / {}", ra.status, rb.status);
    assert_eq!([&ra, &rb].iter().filter(|r| r.status == 400).count(), 1);
}

/// Control characters and oversized input get a clear 400, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_refused_cleanly() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| s.signup_open = true).await else { return };
    let mut b = app.browser();
    let csrf = b.get("/signup").await.field("csrf_token").unwrap_or_default();
    for (user, email) in [("eve\r\nBcc: x@evil.example", "eve@example.com"), ("eve", "eve@example.com\r\nBcc: x@evil.example"), (&*"e".repeat(5000), "eve@example.com")] {
        let r = b.post_form("/signup", &[("csrf_token", &csrf), ("username", user), ("email", email)]).await;
        assert_eq!(r.status, 400, "{user:?} {email:?}");
    }
    let csrf = b.get("/recover").await.field("csrf_token").unwrap_or_default();
    let r = b.post_form("/recover", &[("csrf_token", &csrf), ("login", "alice\r\nX: y")]).await;
    assert_eq!(r.status, 200, "the same answer, and nothing sent");
    let bad = app.browser().get("/setup?t=lkl_%0d%0anot-a-token").await;
    assert_eq!(bad.status, 400);
    let bad = app.browser().get(&format!("/recover/continue?t={}", "x".repeat(10_000))).await;
    assert_eq!(bad.status, 400);
}
