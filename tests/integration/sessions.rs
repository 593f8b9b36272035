//! Sessions people can see and end: expiry, remember-me, device list, sign
//! out everywhere, password change, RP-initiated and back-channel logout,
//! new-device mail.

use std::sync::{Arc, Mutex};

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::Value;

use crate::support::browser::PHONE_UA;
use crate::support::raw::{bearer, post_form};
use crate::support::rp::sign_in;
use crate::support::{jwt, AuthResponse, Backend, Browser, Rp, TestApp, TestClient, PASSWORD, USERNAME};

const SESSION: &str = "__Host-latchkey-session";
const DEVICE: &str = "__Host-latchkey-device";
const LOGGED_OUT: &str = "http://localhost:3000/logged-out";

pub(crate) async fn sign_in_direct(browser: &mut Browser, user: &str, remember: bool) -> crate::support::browser::Page {
    let login = browser.get("/login").await;
    let csrf = login.field("csrf_token").unwrap_or_default();
    let mut form = vec![("csrf_token", csrf.as_str()), ("username", user), ("password", PASSWORD)];
    if remember {
        form.push(("remember", "yes"));
    }
    let page = browser.post_form("/login", &form).await;
    assert_eq!(page.location.as_deref(), Some("/account"), "{}", page.body);
    page
}

pub(crate) async fn signed_in(browser: &mut Browser) -> bool {
    browser.get("/account").await.status == 200
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_absolute_expiry_give_a_clean_sign_in() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    sign_in_direct(&mut browser, USERNAME, false).await;
    assert!(signed_in(&mut browser).await);
    app.clock.advance(8 * 3600 + 1);
    let page = browser.get("/account").await;
    assert_eq!(page.location.as_deref(), Some("/login"), "idle for more than 8 hours: sign in again, not an error");

    sign_in_direct(&mut browser, USERNAME, false).await;
    for _ in 0..3 {
        app.clock.advance(7 * 3600);
        assert!(signed_in(&mut browser).await, "activity keeps the idle timer rolling");
    }
    app.clock.advance(4 * 3600); // 25 hours after sign-in
    assert!(!signed_in(&mut browser).await, "no session outlives 24 hours");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_id_changes_at_every_sign_in() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    // An id planted before sign-in is never adopted.
    browser.cookies.insert(SESSION.into(), "planted-by-an-attacker-0123456789abcdef".into());
    sign_in_direct(&mut browser, USERNAME, false).await;
    let first = browser.cookies.get(SESSION).cloned().expect("session");
    assert_ne!(first, "planted-by-an-attacker-0123456789abcdef");
    sign_in_direct(&mut browser, USERNAME, false).await;
    let second = browser.cookies.get(SESSION).cloned().expect("session");
    assert_ne!(first, second, "re-authentication rotates the id");
    assert!(signed_in(&mut browser).await);
    let mut old = app.browser();
    old.cookies.insert(SESSION.into(), first);
    assert!(!signed_in(&mut old).await, "the old id stopped working at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_me_restores_rotates_and_refuses_replays() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    let page = sign_in_direct(&mut browser, USERNAME, true).await;
    let device_cookie = page.set_cookie(DEVICE).expect("device cookie").clone();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(device_cookie.contains(attr), "{device_cookie} lacks {attr}");
    }
    let first_token = browser.cookies.get(DEVICE).cloned().expect("device token");
    assert!(first_token.starts_with("lkd_"));

    app.clock.advance(25 * 3600); // the session is over
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200, "the device token started a new session silently");
    let second_token = browser.cookies.get(DEVICE).cloned().expect("device token");
    assert_ne!(first_token, second_token, "the device token rotates on every use");

    // Someone replays the old device token in another browser (after the few
    // seconds' grace for tabs restoring at once): refused, and the device ends.
    app.clock.advance(10);
    let mut thief = app.browser();
    thief.cookies.insert(DEVICE.into(), first_token);
    assert!(!signed_in(&mut thief).await);
    app.clock.advance(25 * 3600);
    assert!(!signed_in(&mut browser).await, "the device was ended by the replay: its current token is dead too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_their_sessions_and_end_them() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (mut laptop, mut phone) = (app.browser(), app.browser());
    sign_in_direct(&mut laptop, USERNAME, false).await;
    sign_in_direct(&mut phone, USERNAME, false).await;

    let account = laptop.get("/account").await;
    assert_eq!(account.body.matches("End session").count() + account.body.matches("This device").count(), 2, "two sessions listed");
    assert!(account.body.contains("Chrome on Linux"), "device names from the user agent");
    let other_sid = account.field("sid").expect("the other session's id");
    let csrf = account.field("csrf_token").unwrap_or_default();
    let done = laptop.post_form("/account/sessions/end", &[("csrf_token", &csrf), ("sid", &other_sid)]).await;
    assert_eq!(done.location.as_deref(), Some("/account"));
    assert!(!signed_in(&mut phone).await, "ended from the other device");
    assert!(signed_in(&mut laptop).await);

    sign_in_direct(&mut phone, USERNAME, false).await;
    let done = laptop.post_form("/account/sessions/end-others", &[("csrf_token", &csrf)]).await;
    assert_eq!(done.location.as_deref(), Some("/account"));
    assert!(!signed_in(&mut phone).await);
    assert!(signed_in(&mut laptop).await, "…but not this one");

    let out = laptop.post_form("/account/sessions/end-all", &[("csrf_token", &csrf)]).await;
    assert_eq!(out.status, 200);
    assert!(!signed_in(&mut laptop).await, "sign out everywhere includes this device");
}

async fn rp_with_logout(app: &TestApp, backchannel: Option<String>) -> Rp {
    let new = TestClient::web_app("Logout App").post_logout(LOGGED_OUT).backchannel_logout(backchannel).build();
    let (id, secret) = app.register(new).await;
    Rp::discover(app, &id, secret.as_deref()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_ends_other_sessions_and_refresh_families() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let rp = rp_with_logout(&app, None).await;
    let (mut laptop, mut phone) = (app.browser(), app.browser());
    let req = rp.authorize_scopes(&["offline_access"], &[]);
    let code = sign_in(&mut phone, &req.url, USERNAME, PASSWORD).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let refresh = tokens.refresh_token().expect("refresh").secret().clone();
    sign_in_direct(&mut laptop, USERNAME, false).await;

    let form = laptop.get("/account/password").await;
    let csrf = form.field("csrf_token").unwrap_or_default();
    let wrong = laptop.post_form("/account/password", &[("csrf_token", &csrf), ("current_password", "not it"), ("new_password", "a brand new passphrase")]).await;
    assert_eq!(wrong.status, 400);
    assert!(signed_in(&mut phone).await, "nothing ended on a wrong current password");
    let ok = laptop.post_form("/account/password", &[("csrf_token", &csrf), ("current_password", PASSWORD), ("new_password", "a brand new passphrase")]).await;
    assert_eq!(ok.location.as_deref(), Some("/account"), "{}", ok.body);
    assert!(ok.set_cookie(SESSION).is_some(), "this session gets a new id");

    assert!(signed_in(&mut laptop).await, "this session continues");
    assert!(!signed_in(&mut phone).await, "the other session ended");
    let basic = rp.secret.as_deref().map(|s| (rp.client_id.as_str(), s));
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], basic).await;
    assert_eq!(r.body["error"], "invalid_grant", "offline refresh tokens end with a password change too");
    assert_eq!(bearer(&app, "GET", "/userinfo", tokens.access_token().secret()).await.status, 401);
    let outbox = std::fs::read_dir(app.settings.outbox_dir()).map(|d| d.count()).unwrap_or(0);
    assert!(outbox >= 1, "the user is told");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_list_and_end_a_users_sessions() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (mut a, mut b) = (app.browser(), app.browser());
    sign_in_direct(&mut a, USERNAME, false).await;
    sign_in_direct(&mut b, USERNAME, false).await;
    let (id, secret) = app.add_admin_client().await;
    let admin = post_form(&app, "/token", &[("grant_type", "client_credentials")], Some((&id, &secret))).await.body["access_token"].as_str().unwrap_or_default().to_string();
    let list = bearer(&app, "GET", &format!("/admin/api/v1/users/{USERNAME}/sessions"), &admin).await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(2), "{}", list.body);
    let sid = list.body[0]["sid"].as_str().unwrap_or_default().to_string();
    assert_eq!(bearer(&app, "DELETE", &format!("/admin/api/v1/sessions/{sid}"), &admin).await.status, 200);
    assert_eq!(bearer(&app, "GET", &format!("/admin/api/v1/users/{USERNAME}/sessions"), &admin).await.body.as_array().map(Vec::len), Some(1));
    let all = bearer(&app, "DELETE", &format!("/admin/api/v1/users/{USERNAME}/sessions"), &admin).await;
    assert_eq!(all.body["sessions"], 1);
    assert!(!signed_in(&mut a).await && !signed_in(&mut b).await);
    assert_eq!(bearer(&app, "DELETE", "/admin/api/v1/sessions/nope", &admin).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_initiated_logout_redirects_only_when_proven() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let rp = rp_with_logout(&app, None).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in(&mut browser, &req.url, USERNAME, PASSWORD).await.code.expect("code");
    let id_token = rp.exchange(&code, req.verifier).await.expect("exchange").id_token().expect("id").to_string();
    let discovery: Value = serde_json::from_str(&app.http().get(app.url("/.well-known/openid-configuration")).send().await.expect("d").text().await.unwrap_or_default()).expect("json");
    assert_eq!(discovery["end_session_endpoint"], app.url("/end-session"));
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);

    let logout_url = |hint: &str, uri: &str| {
        let mut u = url::Url::parse(&app.url("/end-session")).expect("url");
        u.query_pairs_mut().append_pair("id_token_hint", hint).append_pair("post_logout_redirect_uri", uri).append_pair("state", "bye123");
        u.to_string()
    };
    // A tampered hint: no redirect, a confirmation page, still signed in.
    let mut forged = jwt::payload(&id_token);
    forged["sub"] = Value::String("someone-else".into());
    let page = browser.get(&logout_url(&jwt::with_payload(&id_token, &forged), LOGGED_OUT)).await;
    assert_eq!((page.status, page.location.as_deref()), (200, None));
    assert!(page.body.contains("Sign out?"));
    assert!(signed_in(&mut browser).await);
    // A valid hint but an unregistered URI: signed out, no redirect.
    let mut other = app.browser();
    let page = other.get(&logout_url(&id_token, "https://evil.example/bye")).await;
    assert_eq!((page.status, page.location.as_deref()), (200, None));

    let page = browser.get(&logout_url(&id_token, LOGGED_OUT)).await;
    assert_eq!(page.status, 302);
    assert_eq!(page.location.as_deref(), Some(format!("{LOGGED_OUT}?state=bye123").as_str()));
    assert!(!signed_in(&mut browser).await, "the session ended server-side");
    let silent = rp.authorize(&[("prompt", "none")]);
    let page = browser.get(&silent.url).await;
    assert_eq!(AuthResponse::parse(page.location.as_deref().unwrap_or_default()).error.as_deref(), Some("login_required"));
}

/// Issue 24 item 16: a valid ID token of the attacker's own (or of another
/// session of the same user), with the relying party's registered URI,
/// signs no other browser out: no cookie cleared, no session ended, no
/// silent redirect; the person is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_16_someone_elses_id_token_does_not_sign_this_browser_out() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    app.add_user("mallory", PASSWORD).await;
    let rp = rp_with_logout(&app, None).await;
    let mut attacker = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in(&mut attacker, &req.url, "mallory", PASSWORD).await.code.expect("code");
    let mallorys = rp.exchange(&code, req.verifier).await.expect("exchange").id_token().expect("id").to_string();
    let logout_url = |hint: &str| {
        let mut u = url::Url::parse(&app.url("/end-session")).expect("url");
        u.query_pairs_mut().append_pair("id_token_hint", hint).append_pair("post_logout_redirect_uri", LOGGED_OUT).append_pair("state", "x");
        u.to_string()
    };
    let untouched = |page: &crate::support::browser::Page, who: &str| {
        assert_eq!((page.status, page.location.as_deref()), (200, None), "{who}: asked, not redirected");
        assert!(page.body.contains("Sign out?"), "{who}: the confirmation page: {}", page.body);
        assert!(page.set_cookie(SESSION).is_none() && page.set_cookie(DEVICE).is_none(), "{who}: cookies cleared: {:?}", page.set_cookies);
    };
    // Alice's browser, remembered: Mallory's token clears nothing.
    let mut victim = app.browser();
    sign_in_direct(&mut victim, USERNAME, true).await;
    let device_before = victim.cookies.get(DEVICE).cloned();
    assert!(device_before.is_some(), "a remembered device");
    untouched(&victim.get(&logout_url(&mallorys)).await, "another user's token");
    assert!(signed_in(&mut victim).await, "alice is still signed in");
    assert_eq!(victim.cookies.get(DEVICE), device_before.as_ref(), "the remembered device stays");
    // Mallory's other browser: the token names another session of hers.
    let mut second = app.browser();
    sign_in_direct(&mut second, "mallory", false).await;
    untouched(&second.get(&logout_url(&mallorys)).await, "another session's token");
    assert!(signed_in(&mut second).await);
    // A browser with no session: back to the relying party, nothing cleared.
    let mut fresh = app.browser();
    let page = fresh.get(&logout_url(&mallorys)).await;
    assert_eq!(page.status, 302);
    assert!(page.set_cookie(SESSION).is_none() && page.set_cookie(DEVICE).is_none(), "{:?}", page.set_cookies);
    // The browser the token was issued to is signed out, as before.
    let page = attacker.get(&logout_url(&mallorys)).await;
    assert_eq!((page.status, page.location.as_deref()), (302, Some(format!("{LOGGED_OUT}?state=x").as_str())));
    assert!(!signed_in(&mut attacker).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backchannel_logout_token_reaches_the_relying_party() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    // A relying party's back-channel endpoint.
    let received: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = actix_web::HttpServer::new(move || {
        let sink = sink.clone();
        actix_web::App::new().route(
            "/backchannel",
            actix_web::web::post().to(move |form: actix_web::web::Form<std::collections::HashMap<String, String>>| {
                let sink = sink.clone();
                async move {
                    if let Some(t) = form.get("logout_token") {
                        sink.lock().unwrap_or_else(|p| p.into_inner()).push(t.clone());
                    }
                    actix_web::HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);

    let rp = rp_with_logout(&app, Some(format!("http://127.0.0.1:{port}/backchannel"))).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in(&mut browser, &req.url, USERNAME, PASSWORD).await.code.expect("code");
    let id_token = rp.exchange(&code, req.verifier).await.expect("exchange").id_token().expect("id").to_string();
    let account = browser.get("/account").await;
    browser.post_form("/logout", &[("csrf_token", &account.field("csrf_token").unwrap_or_default())]).await;

    let mut token = None;
    for _ in 0..50 {
        if let Some(t) = received.lock().unwrap_or_else(|p| p.into_inner()).first().cloned() {
            token = Some(t);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let token = token.expect("a logout token was POSTed");
    // Verify it as a relying party would: signature against the JWKS, then the claims.
    let header = jwt::header(&token);
    assert_eq!(header["typ"], "logout+jwt");
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&app.http().get(app.url("/jwks")).send().await.expect("jwks").text().await.unwrap_or_default()).expect("jwks");
    let jwk = jwks.find(header["kid"].as_str().unwrap_or_default()).expect("signing key published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[rp.client_id.as_str()]);
    validation.set_issuer(&[app.issuer.as_str()]);
    let claims = jsonwebtoken::decode::<Value>(&token, &jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key"), &validation).expect("valid logout token").claims;
    let id_claims = jwt::payload(&id_token);
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none(), "logout tokens must not carry a nonce");
    let mut delivered = 0;
    for _ in 0..50 {
        delivered = app.state.stores.db.run(|c| latchkey_store::repo::audit::recent(c, Some("backchannel_logout_delivered"), 10)).await.expect("audit").len();
        if delivered > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(delivered, 1, "the delivery is in the audit trail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_sign_in_is_mailed_with_a_working_this_wasnt_me_link() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut laptop = app.browser();
    sign_in_direct(&mut laptop, USERNAME, false).await;
    let outbox = app.settings.outbox_dir();
    let count = || std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0);
    assert_eq!(count(), 0, "a first sign-in is not a new device");
    sign_in_direct(&mut laptop, USERNAME, false).await;
    assert_eq!(count(), 0, "a known device is not reported");

    let mut phone = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    sign_in_direct(&mut phone, USERNAME, false).await;
    assert_eq!(count(), 1, "the sign-in from a new device is reported");
    let file = std::fs::read_dir(&outbox).expect("outbox").flatten().next().expect("message").path();
    // Undo quoted-printable (soft line breaks, escaped '='): all the link needs.
    let mail = std::fs::read_to_string(file).expect("mail").replace("=\r\n", "").replace("=3D", "=");
    assert!(mail.contains("Subject: New sign-in to your account"));
    assert!(mail.contains("To: alice@example.com"));
    assert!(mail.contains("Safari on iPhone"), "{mail}");
    let start = mail.find(&format!("{}/account/not-me?t=", app.issuer)).expect("a 'This wasn't me' link");
    let link = mail[start..].split_whitespace().next().unwrap_or_default().to_string();

    let mut owner = app.browser(); // the mail is opened elsewhere
    let page = owner.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Safari on iPhone"));
    let done = owner.post_form("/account/not-me", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("t", &page.field("t").unwrap_or_default())]).await;
    assert!(done.body.contains("That session has ended"), "{}", done.body);
    assert!(!signed_in(&mut phone).await, "the unrecognised session is over");
    assert!(signed_in(&mut laptop).await, "the owner's own session is not");
    let forged = link.replace("t=", "t=x");
    assert_eq!(owner.get(&forged).await.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_moved_to_another_browser_needs_a_new_sign_in() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let rp = rp_with_logout(&app, None).await;
    let mut laptop = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in(&mut laptop, &req.url, USERNAME, PASSWORD).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let mut thief = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    thief.cookies = laptop.cookies.clone();
    assert!(!signed_in(&mut thief).await, "another browser family: re-authenticate");
    assert!(!signed_in(&mut laptop).await, "and the moved session is ended for everyone");
    assert_eq!(bearer(&app, "GET", "/userinfo", tokens.access_token().secret()).await.status, 401, "with the tokens it issued");
}

/// A relying party's back-channel endpoint that answers 503 to the first
/// `failures` deliveries, then 200; the logout tokens it acknowledged.
fn flaky_backchannel(failures: usize) -> (Arc<Mutex<Vec<String>>>, u16) {
    let received: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sink = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = actix_web::HttpServer::new(move || {
        let (sink, attempts) = (sink.clone(), attempts.clone());
        actix_web::App::new().route(
            "/backchannel",
            actix_web::web::post().to(move |form: actix_web::web::Form<std::collections::HashMap<String, String>>| {
                let (sink, attempts) = (sink.clone(), attempts.clone());
                async move {
                    if attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < failures {
                        return actix_web::HttpResponse::ServiceUnavailable().finish();
                    }
                    if let Some(t) = form.get("logout_token") {
                        sink.lock().unwrap_or_else(|p| p.into_inner()).push(t.clone());
                    }
                    actix_web::HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    (received, port)
}

/// Issue 24 item 20: `latchkey sessions revoke` delivers the back-channel
/// logout (with its retries: the relying party fails the first attempt)
/// before it exits, not minutes later through a node's upkeep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_20_the_cli_delivers_backchannel_logout_before_it_exits() {
    let Some(bin) = crate::resilience::node_kill::latchkey_binary() else {
        return;
    };
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let (received, port) = flaky_backchannel(1);
    let rp = rp_with_logout(&app, Some(format!("http://127.0.0.1:{port}/backchannel"))).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in(&mut browser, &req.url, USERNAME, PASSWORD).await.code.expect("code");
    let id_token = rp.exchange(&code, req.verifier).await.expect("exchange").id_token().expect("id").to_string();
    let dir = std::env::temp_dir().join(crate::support::services::unique("latchkey-cli-"));
    let s = app.settings.clone();
    let issuer = app.issuer.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .args(["sessions", "revoke", "--user", USERNAME])
            .env("LATCHKEY_ISSUER", issuer)
            .env("LATCHKEY_DATABASE_URL", s.database_url.clone().unwrap_or_default())
            .env("LATCHKEY_REDIS_URL", s.redis_url.clone().unwrap_or_default())
            .env("LATCHKEY_REDIS_PREFIX", &s.redis_prefix)
            .env("LATCHKEY_MASTER_KEY", s.master_key.clone().unwrap_or_default())
            .env("LATCHKEY_DATA_DIR", &dir)
            .env("LATCHKEY_LOG", "error")
            .env_remove("LATCHKEY_CONFIG")
            .output()
    })
    .await
    .expect("join")
    .expect("run latchkey sessions revoke");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ended 1 session(s)"), "{}", String::from_utf8_lossy(&out.stdout));
    // No waiting here: the command has returned, so the delivery is done.
    let tokens = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(tokens.len(), 1, "the relying party was told before the command returned (after one retry)");
    assert_eq!(jwt::payload(&tokens[0])["sid"], jwt::payload(&id_token)["sid"]);
    assert_eq!(app.state.oauth.pending_backchannel_deliveries().await.expect("pending"), 0, "nothing left for the nodes");
    assert!(!signed_in(&mut browser).await);
}
