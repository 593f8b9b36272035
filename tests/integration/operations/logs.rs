//! No secret reaches a log line: a whole life of an account is run with the
//! logs captured, then every token, code, link, cookie, password and email
//! used is searched for in them.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crate::accounts::{link_in, wait_for_mail};
use crate::support::raw::post_form;
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

/// Everything logged in this process from the first call on (every level).
fn captured() -> Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("trace,h2=off,hyper=off,hyper_util=off,reqwest=off,rustls=off,tokio_tungstenite=off,tungstenite=off,actix_server=off,actix_http=off,mio=off,r2d2=off,diesel=off")
            .with_ansi(false)
            .with_writer(move || Capture(writer.clone()))
            .try_init();
        buf
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs() {
    let logs = captured();
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let email = "alice.secret-mail@example.com";
    app.state.authn.create_user(latchkey_authn::NewUser { username: USERNAME.into(), email: email.into(), password: latchkey_domain::Secret::new(PASSWORD), admin: false }).await.expect("user");
    let crate::support::rp::OfflineTokens { client_id: id, secret, mut browser, access, refresh, id_token, code, .. } = crate::support::rp::offline_tokens(&app).await;
    let refreshed = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], Some((&id, &secret))).await;
    let refresh2 = refreshed.body["refresh_token"].as_str().unwrap_or_default().to_string();
    let mut cookies: Vec<String> = browser.cookies.values().cloned().collect();
    // A wrong password, a password change, a logout with id_token_hint, a recovery link.
    let mut other = app.browser();
    let login = other.get("/login").await;
    other.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", "a wrong guess here")]).await;
    let csrf = browser.get("/account").await.field("csrf_token").unwrap_or_default();
    let new_password = "an entirely new passphrase";
    browser.post_form("/account/password", &[("csrf_token", &csrf), ("current_password", PASSWORD), ("new_password", new_password)]).await;
    cookies.extend(browser.cookies.values().cloned());
    browser.get(&format!("/end-session?id_token_hint={id_token}")).await;
    let mut r = app.browser();
    let page = r.get("/recover").await;
    r.post_form("/recover", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("login", USERNAME)]).await;
    let mail = wait_for_mail(&app, email, "Someone asked to recover your account").await;
    let link = link_in(&mail.body, &format!("{}/recover/continue?t=", app.issuer));
    r.get(&link).await;
    let link_token = link.split("t=").nth(1).unwrap_or_default().to_string();

    let text = String::from_utf8_lossy(&logs.lock().unwrap_or_else(|p| p.into_inner())).to_string();
    assert!(text.contains("/token") && text.contains("sign_in"), "the logs were captured: {} bytes", text.len());
    assert!(text.contains("/end-session?id_token_hint=[redacted]") && text.contains("/recover/continue?t=[redacted]"), "the requests carrying secrets were logged, redacted");
    let mut secrets = vec![("password", PASSWORD.to_string()), ("new password", new_password.into()), ("wrong password", "a wrong guess here".into()), ("email", email.into())];
    secrets.extend([
        ("code", code),
        ("access token", access),
        ("id token", id_token),
        ("refresh token", refresh),
        ("rotated refresh token", refresh2),
        ("client secret", secret),
        ("link token", link_token),
    ]);
    secrets.extend(cookies.into_iter().filter(|c| c.len() >= 20).map(|c| ("cookie", c)));
    for (what, value) in secrets {
        assert!(!value.is_empty());
        // A JWT's signature part alone is enough to recognise a leak.
        let needle = if value.starts_with("eyJ") { value.rsplit('.').next().unwrap_or(&value).to_string() } else { value.clone() };
        let line = text.lines().find(|l| l.contains(&needle)).unwrap_or_default().chars().take(400).collect::<String>();
        assert!(!text.contains(&needle), "the {what} reached the logs: {line}");
    }
}

/// Issue #24 item 11: a failed sign-in's log line names no typed username
/// (people type passwords into it), and the access log redacts the handles
/// of parked and pushed requests and the device grant's user code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_names_request_handles_and_user_codes_stay_out_of_the_logs() {
    let logs = captured();
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let typed = "Tr0ub4dor-typed-as-a-name";
    let mut b = app.browser();
    let csrf = b.get("/login").await.field("csrf_token").unwrap_or_default();
    assert_eq!(b.post_form("/login", &[("csrf_token", &csrf), ("username", typed), ("password", "a wrong guess")]).await.status, 401);
    let authz = "authzhandle7Qx2";
    let user_code = "WDJBMJHTQZ";
    let request_uri = "urn:ietf:params:oauth:request_uri:pushedhandle9Kf";
    b.get(&format!("/login?authz={authz}")).await;
    b.get(&format!("/consent?authz={authz}")).await;
    b.get(&format!("/device?user_code={user_code}")).await;
    b.get(&format!("/device?user%5Fcode={user_code}")).await;
    b.get(&format!("/authorize?client_id=nobody&request_uri={}", url::form_urlencoded::byte_serialize(request_uri.as_bytes()).collect::<String>())).await;

    let text = String::from_utf8_lossy(&logs.lock().unwrap_or_else(|p| p.into_inner())).to_string();
    assert!(
        text.contains("login_failed") && text.contains("/login?authz=[redacted]") && text.contains("/device?user_code=[redacted]") && text.contains("request_uri=[redacted]"),
        "the requests were logged, redacted"
    );
    for (what, needle) in [("typed username", typed), ("authz", authz), ("user code", user_code), ("request_uri", "pushedhandle9Kf")] {
        let line = text.lines().find(|l| l.contains(needle)).unwrap_or_default().chars().take(400).collect::<String>();
        assert!(!text.contains(needle), "the {what} reached the logs: {line}");
    }
}
