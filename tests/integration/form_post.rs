//! OAuth 2.0 Form Post Response Mode: the answer reaches the client as an
//! auto-submitting form posted to its registered redirect URI, never in a URL.

use latchkey_domain::SigningAlg;

use crate::support::browser::Page;
use crate::support::rp::sign_in_default;
use crate::support::{Backend, Browser, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

/// The hidden fields of a form_post page, and its form's action.
fn form_of(page: &Page) -> (String, Vec<(String, String)>) {
    let action = page.body.split(r#"<form method="post" action=""#).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_string();
    let fields = page
        .body
        .split(r#"<input type="hidden" name=""#)
        .skip(1)
        .filter_map(|s| {
            let name = s.split('"').next()?;
            let value = s.split(r#"value=""#).nth(1)?.split('"').next()?;
            Some((name.to_string(), value.replace("&amp;", "&").replace("&#x2f;", "/").replace("&#x3a;", ":")))
        })
        .collect();
    (action, fields)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Follows local redirects until a page that is not one.
async fn follow(browser: &mut Browser, mut page: Page) -> Page {
    for _ in 0..5 {
        match page.location.clone() {
            Some(l) if l.starts_with('/') => page = browser.get(&l).await,
            _ => break,
        }
    }
    page
}

async fn form_post_answers(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let discovery = app.http().get(app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json::<serde_json::Value>().await.expect("json");
    assert_eq!(discovery["response_modes_supported"], serde_json::json!(["query", "form_post"]));

    // Signed in (and consent given) once the usual way.
    let mut browser = app.browser();
    let first = rp.authorize(&[]);
    sign_in_default(&mut browser, &first.url).await;

    // Now with form_post, and a state that tries to break out of the attribute.
    let hostile_state = r#""><script>alert(1)</script>"#;
    let req = rp.authorize(&[("response_mode", "form_post")]);
    let url = req.url.replace(&format!("state={}", req.state.secret()), &format!("state={}", url::form_urlencoded::byte_serialize(hostile_state.as_bytes()).collect::<String>()));
    let start = browser.get(&url).await;
    let location = start.location.clone().unwrap_or_default();
    assert!(location.starts_with("/authorize/respond?r="), "no code in any URL: {location}");
    let page = follow(&mut browser, start).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (action, fields) = form_of(&page);
    assert_eq!(action.replace("&#x2f;", "/").replace("&#x3a;", ":"), REDIRECT_URI);
    let code = field(&fields, "code").expect("the code in the form").to_string();
    assert_eq!(field(&fields, "iss"), Some(app.issuer.as_str()), "RFC 9207 iss");
    assert!(!page.body.contains("<script>alert(1)</script>"), "the state is escaped");
    assert!(field(&fields, "state").is_some_and(|s| s.contains("alert(1)")));
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'nonce-") && csp.contains("form-action http://localhost:3000") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).unwrap_or_default();
    assert!(page.body.contains(&format!(r#"<script nonce="{nonce}">"#)), "the one script carries the nonce");
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    rp.exchange(&code, req.verifier).await.expect("the posted code redeems");

    // The page is served once, and only to the browser the request belongs to.
    let req = rp.authorize(&[("response_mode", "form_post")]);
    let respond = browser.get(&req.url).await.location.unwrap_or_default();
    let other = app.browser().get(&respond).await;
    assert_eq!(other.status, 400, "another browser gets nothing");
    assert_eq!(browser.get(&respond).await.status, 400, "and the answer is spent");

    // Errors are posted too: prompt=none without a session.
    let mut stranger = app.browser();
    let req = rp.authorize(&[("response_mode", "form_post"), ("prompt", "none")]);
    let first = stranger.get(&req.url).await;
    let page = follow(&mut stranger, first).await;
    let (_, fields) = form_of(&page);
    assert_eq!(field(&fields, "error"), Some("login_required"), "{}", page.body);
    assert!(field(&fields, "code").is_none());

    // An error found while checking the request (an unknown scope is fine, a
    // bad PKCE method is not) is posted straight away.
    let req = rp.authorize(&[("response_mode", "form_post"), ("code_challenge_method", "plain")]);
    let page = stranger.get(&req.url).await;
    assert_eq!(page.status, 200);
    let (action, fields) = form_of(&page);
    assert_eq!(field(&fields, "error"), Some("invalid_request"), "{}", page.body);
    assert!(action.contains("localhost"));

    // An unknown response mode is refused (on the query redirect).
    let req = rp.authorize(&[("response_mode", "fragment")]);
    let bad = stranger.get(&req.url).await;
    assert!(bad.location.as_deref().is_some_and(|l| l.starts_with(REDIRECT_URI) && l.contains("error=invalid_request")), "{:?}", bad.location);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_answers_on_sqlite() {
    form_post_answers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_answers_on_postgres_and_redis() {
    form_post_answers(Backend::Postgres).await;
}
