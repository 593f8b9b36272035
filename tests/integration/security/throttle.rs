//! Findings 5 and 6: throttles that parallel guesses cannot outrun, and
//! per-address limits that do not lock everyone out.

use futures_util::future::join_all;
use latchkey_authn::throttle::{MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_IP};

use crate::mfa::{enrol, sign_in_password};
use crate::sessions::sign_in_direct;
use crate::support::{Backend, Browser, TestApp, PASSWORD, USERNAME};

const GUESSES: usize = 39;

/// Browsers that each hold a sign-in page's CSRF token.
async fn login_pages(app: &TestApp, n: usize) -> Vec<(Browser, String)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut b = app.browser();
        let csrf = b.get("/login").await.field("csrf_token").unwrap_or_default();
        out.push((b, csrf));
    }
    out
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// Finding 5: 39 parallel wrong passwords: exactly the limit is evaluated,
/// the rest refused, and the right password after them is refused too.
async fn parallel_password_guesses(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let browsers = login_pages(&app, GUESSES).await;
    let statuses: Vec<u16> =
        join_all(browsers.into_iter().map(|(mut b, csrf)| async move { b.post_form("/login", &[("csrf_token", &csrf), ("username", USERNAME), ("password", "wrong guess")]).await.status })).await;
    assert_eq!(count(&statuses, 401), MAX_FAILURES_PER_ACCOUNT as usize, "{statuses:?}");
    assert_eq!(count(&statuses, 429), GUESSES - MAX_FAILURES_PER_ACCOUNT as usize, "{statuses:?}");
    let mut owner = app.browser();
    let csrf = owner.get("/login").await.field("csrf_token").unwrap_or_default();
    let right = owner.post_form("/login", &[("csrf_token", &csrf), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(right.status, 429, "the account is locked for the window");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f05_parallel_password_guesses_stop_at_the_limit_on_sqlite() {
    parallel_password_guesses(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f05_parallel_password_guesses_stop_at_the_limit_on_postgres_and_redis() {
    parallel_password_guesses(Backend::Postgres).await;
}

/// Finding 5: the same for second-factor codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f05_parallel_code_guesses_stop_at_the_limit() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    sign_in_password(&mut setup).await;
    enrol(&app, &mut setup).await;
    let mut steps = Vec::new();
    for _ in 0..GUESSES {
        let mut b = app.browser();
        let step = sign_in_password(&mut b).await;
        let page = b.get(step.location.as_deref().unwrap_or_default()).await;
        let (csrf, m) = (page.field("csrf_token").unwrap_or_default(), page.field("m").unwrap_or_default());
        steps.push((b, csrf, m));
    }
    let statuses: Vec<u16> = join_all(steps.into_iter().map(|(mut b, csrf, m)| async move { b.post_form("/login/mfa", &[("csrf_token", &csrf), ("m", &m), ("code", "000000")]).await.status })).await;
    assert_eq!(count(&statuses, 401), MAX_FAILURES_PER_ACCOUNT as usize, "{statuses:?}");
    assert_eq!(count(&statuses, 429), GUESSES - MAX_FAILURES_PER_ACCOUNT as usize, "{statuses:?}");
}

/// Finding 6: failures on made-up accounts from one address never refuse a
/// clean account's right password (it is slowed down instead), while an
/// account that is itself being guessed at from there is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f06_a_noisy_address_does_not_lock_out_clean_accounts() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut noisy = app.browser();
    let csrf = noisy.get("/login").await.field("csrf_token").unwrap_or_default();
    for i in 0..MAX_FAILURES_PER_IP {
        let name = format!("made-up-{i}");
        let r = noisy.post_form("/login", &[("csrf_token", &csrf), ("username", &name), ("password", "guess")]).await;
        assert_eq!(r.status, 401, "attempt {i}");
    }
    let again = noisy.post_form("/login", &[("csrf_token", &csrf), ("username", "made-up-0"), ("password", "guess")]).await;
    assert_eq!(again.status, 429, "an account already failing from this address is refused");
    let mut owner = app.browser();
    let started = std::time::Instant::now();
    sign_in_direct(&mut owner, USERNAME, false).await;
    assert!(started.elapsed() >= latchkey_authn::throttle::IP_OVER_LIMIT_DELAY, "slowed down, not refused");
}

/// Finding 6: `X-Forwarded-For` is believed from trusted proxies only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f06_forwarded_addresses_count_only_from_trusted_proxies() {
    let Some(behind_proxy) = TestApp::start_with(Backend::Sqlite, |s| {
        s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default();
    })
    .await
    else {
        return;
    };
    let Some(direct) = TestApp::start(Backend::Sqlite).await else { return };
    for (app, expected, not) in [(&behind_proxy, "203.0.113.5", "127.0.0.1"), (&direct, "127.0.0.1", "203.0.113.5")] {
        app.add_user(USERNAME, PASSWORD).await;
        let mut browser = app.browser();
        browser.headers.push(("x-forwarded-for".into(), "203.0.113.5".into()));
        sign_in_direct(&mut browser, USERNAME, false).await;
        let account = browser.get("/account").await;
        assert!(account.body.contains(expected) && !account.body.contains(not), "expected {expected}: {}", account.body);
    }
}

/// Issue 24 item 3: behind a trusted proxy, only the header
/// `LATCHKEY_FORWARDED_HEADER` names is read; a client's own `Forwarded`
/// (which nginx passes on untouched) or `X-Forwarded-For` chooses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_03_only_the_named_forwarding_header_is_believed() {
    use latchkey_web::client_ip::ForwardedHeader;
    let cases = [
        (ForwardedHeader::XForwardedFor, ("x-forwarded-for", "203.0.113.5"), ("forwarded", "for=198.51.100.66")),
        (ForwardedHeader::Forwarded, ("forwarded", "for=203.0.113.5;proto=https"), ("x-forwarded-for", "198.51.100.66")),
    ];
    for (header, (set, value), (spoofed, spoof)) in cases {
        let Some(app) = TestApp::start_with(Backend::Sqlite, |s| {
            s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default();
            s.forwarded_header = header;
        })
        .await
        else {
            return;
        };
        app.add_user(USERNAME, PASSWORD).await;
        let mut browser = app.browser();
        browser.headers.push((spoofed.into(), spoof.into()));
        browser.headers.push((set.into(), value.into()));
        sign_in_direct(&mut browser, USERNAME, false).await;
        let account = browser.get("/account").await;
        assert!(account.body.contains("203.0.113.5") && !account.body.contains("198.51.100.66"), "{header:?}: {}", account.body);
        let events = app.state.stores.db.run(|c| latchkey_store::repo::audit::recent(c, Some("sign_in"), 10)).await.expect("audit");
        assert_eq!(events.first().and_then(|e| e.ip.clone()).as_deref(), Some("203.0.113.5"), "{header:?}");
        // Only the spoofed header, nothing from the proxy: the peer.
        let mut alone = app.browser();
        alone.headers.push((spoofed.into(), spoof.into()));
        sign_in_direct(&mut alone, USERNAME, false).await;
        let page = alone.get("/account").await;
        assert!(!page.body.contains("198.51.100.66"), "{header:?}: {}", page.body);
    }
}
