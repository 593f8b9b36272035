//! The sign-in and consent pages as people see them (issue #16): passkeys
//! first, the consent page's client (logo, policy, terms), destination and
//! plain-word scopes, "Not you?", and branding from settings.

use latchkey_domain::ClientLinks;
use serde_json::{json, Value};

use crate::support::raw::post_form;
use crate::support::rp::sign_in_default;
use crate::support::{Backend, Browser, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

const LOGO: &str = "https://cdn.app.example/logo.png";
const POLICY: &str = "https://app.example/privacy";
const TOS: &str = "https://app.example/terms";

/// A confidential web-app client with these links, and a relying party for it.
async fn client_with_links(app: &TestApp, links: ClientLinks) -> (String, Rp) {
    let (id, secret) =
        crate::support::TestClient::web_app("Photo Prints").grants(vec![latchkey_domain::GrantType::AuthorizationCode, latchkey_domain::GrantType::RefreshToken]).links(links).register(app).await;
    let rp = Rp::discover(app, &id, secret.as_deref()).await;
    (id, rp)
}

/// Signs `browser` in with a password through `url` and stops at the consent page.
async fn to_consent(browser: &mut Browser, url: &str, username: &str) -> (String, crate::support::browser::Page) {
    let login = browser.get(url).await.location.expect("to the sign-in page");
    let page = browser.get(&login).await;
    let (csrf, authz) = (page.field("csrf_token").expect("csrf"), page.field("authz").expect("authz"));
    let consent = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", username), ("password", PASSWORD)]).await;
    let location = consent.location.expect("to the consent page");
    assert!(location.starts_with("/consent"), "{location}");
    (location.clone(), browser.get(&location).await)
}

#[tokio::test]
async fn the_sign_in_page_offers_a_passkey_first_and_keeps_its_names() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let page = app.browser().get("/login").await;
    let body = &page.body;
    let passkey = body.find(">Sign in with a passkey</button>").expect("the passkey button");
    let form = body.find("<form method=\"post\" action=\"/login\">").expect("the password form");
    assert!(passkey < form, "the passkey comes first, the password form follows");
    for name in [r#"<label for="username">Username</label>"#, r#"<label for="password">Password</label>"#, " Keep me signed in</label>", ">Sign in</button>"] {
        assert!(body.contains(name), "{name} is still on the page");
    }
    assert!(body.contains(r#"autocomplete="username webauthn""#), "passkey autofill on Username");
    assert!(body.contains("<title>Sign in · latchkey</title>"), "the default product name in the title");
    assert!(page.header("content-security-policy").is_some_and(|c| c.contains("img-src 'self';")));
}

#[tokio::test]
async fn the_consent_page_shows_the_client_its_links_where_you_go_and_plain_words() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let links = ClientLinks { logo_uri: Some(LOGO.into()), policy_uri: Some(POLICY.into()), tos_uri: Some(TOS.into()) };
    let (_, rp) = client_with_links(&app, links).await;
    let mut browser = app.browser();
    let req = rp.authorize_scopes(&["profile", "email", "offline_access"], &[]);
    let (_, consent) = to_consent(&mut browser, &req.url, USERNAME).await;
    let body = &consent.body;
    assert!(body.contains(&format!(r#"<img src="{LOGO}" alt="Photo Prints logo""#)), "the logo: {body}");
    assert!(body.contains(&format!(r#"<a href="{POLICY}""#)) && body.contains("Privacy policy of Photo Prints"), "the policy link");
    assert!(body.contains(&format!(r#"<a href="{TOS}""#)) && body.contains("Terms of service of Photo Prints"), "the terms link");
    let host = url::Url::parse(REDIRECT_URI).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    assert!(body.contains(&format!("you then go back to <strong>{host}</strong>")), "where the answer sends the user: {body}");
    for words in ["Know who you are", "See your name and profile", "See your email address", "Stay connected when you&#39;re not using it"] {
        assert!(body.contains(words), "{words}: {body}");
    }
    let scopes = &body[body.find("<ul class=\"scopes\">").unwrap_or(0)..];
    let scopes = &scopes[..scopes.find("</ul>").unwrap_or(scopes.len())];
    assert!(!scopes.contains("offline_access") && !scopes.contains(">openid<"), "no raw scope strings: {scopes}");
    assert!(body.contains(&format!("Signed in as <strong>{USERNAME}</strong>")) && body.contains(">Not you?</button>"));
    // The logo's host, and only it, joins the page's image sources.
    let csp = consent.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("img-src 'self' https://cdn.app.example;"), "{csp}");
}

#[tokio::test]
async fn a_client_without_links_shows_none_and_keeps_the_strict_policy() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (_, rp) = client_with_links(&app, ClientLinks::default()).await;
    let mut browser = app.browser();
    let (_, consent) = to_consent(&mut browser, &rp.authorize(&[]).url, USERNAME).await;
    assert!(!consent.body.contains("<img") && !consent.body.contains("Privacy policy of") && !consent.body.contains("Terms of service of"));
    assert!(consent.header("content-security-policy").is_some_and(|c| c.contains("img-src 'self';")));
}

#[tokio::test]
async fn client_links_must_be_https_urls_everywhere_they_are_registered() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    // Registration (the CLI and console path).
    for bad in ["javascript:alert(1)", "http://app.example/logo.png", "data:image/png;base64,AAAA", "https://app.example/x\" onerror=\"alert(1)", "https://u:p@app.example/x"] {
        let mut new = crate::support::service_client("Bad");
        new.links.logo_uri = Some(bad.into());
        let refused = latchkey_app::directory::clients::register(&app.state.stores.db, &app.state.stores.master, new, 0).await;
        assert!(refused.is_err(), "{bad:?} is refused at registration");
    }
    // The admin API: create, then change, then clear.
    let (admin_id, admin_secret) = app.add_admin_client().await;
    let token =
        post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "admin")], Some((&admin_id, &admin_secret))).await.body["access_token"].as_str().unwrap_or_default().to_string();
    let call = |method: &'static str, path: String, body: Value| {
        let (http, url, token) = (app.http(), app.url(&path), token.clone());
        async move {
            let method = openidconnect::reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let r = http.request(method, url).bearer_auth(token).json(&body).send().await.expect("admin API");
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let base = json!({ "name": "Shop", "redirect_uris": [REDIRECT_URI] });
    for (field, bad) in [("logo_uri", "javascript:alert(1)"), ("policy_uri", "http://shop.example/privacy"), ("tos_uri", "https://shop.example/terms#top")] {
        let mut body = base.clone();
        body[field] = json!(bad);
        let (status, answer) = call("POST", "/admin/api/v1/clients".into(), body).await;
        assert_eq!(status, 400, "{field}={bad:?}: {answer}");
        assert!(answer.to_string().contains(field), "the error names {field}: {answer}");
    }
    let mut body = base.clone();
    body["logo_uri"] = json!(LOGO);
    body["policy_uri"] = json!(POLICY);
    let (status, created) = call("POST", "/admin/api/v1/clients".into(), body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap_or_default().to_string();
    let (_, shown) = call("GET", format!("/admin/api/v1/clients/{id}"), Value::Null).await;
    assert_eq!((shown["logo_uri"].as_str(), shown["policy_uri"].as_str(), shown["tos_uri"].as_str()), (Some(LOGO), Some(POLICY), None));
    // A bad change is refused whole: the name does not change either.
    let (status, _) = call("PATCH", format!("/admin/api/v1/clients/{id}"), json!({ "name": "Renamed", "redirect_uris": [REDIRECT_URI], "tos_uri": "javascript:alert(1)" })).await;
    assert_eq!(status, 400);
    let (_, shown) = call("GET", format!("/admin/api/v1/clients/{id}"), Value::Null).await;
    assert_eq!(shown["name"], "Shop", "nothing changed");
    // Absent keeps, "" and null remove, a URL sets.
    let (status, _) = call("PATCH", format!("/admin/api/v1/clients/{id}"), json!({ "name": "Shop", "redirect_uris": [REDIRECT_URI], "logo_uri": "", "policy_uri": null, "tos_uri": TOS })).await;
    assert_eq!(status, 200);
    let (_, shown) = call("GET", format!("/admin/api/v1/clients/{id}"), Value::Null).await;
    assert_eq!((shown["logo_uri"].as_str(), shown["policy_uri"].as_str(), shown["tos_uri"].as_str()), (None, None, Some(TOS)));
    let (status, _) = call("PATCH", format!("/admin/api/v1/clients/{id}"), json!({ "name": "Shop", "redirect_uris": [REDIRECT_URI] })).await;
    assert_eq!(status, 200);
    let (_, shown) = call("GET", format!("/admin/api/v1/clients/{id}"), Value::Null).await;
    assert_eq!(shown["tos_uri"].as_str(), Some(TOS), "absent: unchanged");
}

/// "Not you?": another person is signed in in this browser. The button signs
/// them out and shows the sign-in page of the same request; the right user
/// signs in and the client gets a code for them. Replaying the form, posting
/// it without the CSRF token, or from another browser does nothing.
#[tokio::test]
async fn not_you_signs_out_and_returns_to_the_same_request() {
    not_you(Backend::Sqlite).await;
}

#[tokio::test]
async fn not_you_on_postgres() {
    not_you(Backend::Postgres).await;
}

async fn not_you(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user("mallory", PASSWORD).await;
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let (_, rp) = client_with_links(&app, ClientLinks::default()).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let (consent_url, consent) = to_consent(&mut browser, &req.url, "mallory").await;
    let (csrf, authz) = (consent.field("csrf_token").expect("csrf"), consent.field("authz").expect("authz"));
    let mallory_session = browser.cookies.get("__Host-latchkey-session").cloned();
    assert!(mallory_session.is_some(), "signed in");

    // Without the token, and from another browser: refused, nothing ends.
    let forged = browser.post_form("/consent/switch-user", &[("csrf_token", "forged"), ("authz", &authz)]).await;
    assert!(forged.status == 400 || forged.status == 403, "a forged token is refused: {}", forged.status);
    let mut other = app.browser();
    let foreign = other.post_form("/consent/switch-user", &[("csrf_token", &csrf), ("authz", &authz)]).await;
    assert!(foreign.status >= 400, "another browser cannot end this sign-in: {}", foreign.status);
    assert_eq!(browser.get(&consent_url).await.status, 200, "still signed in after the refused attempts");

    let switched = browser.post_form("/consent/switch-user", &[("csrf_token", &csrf), ("authz", &authz)]).await;
    assert_eq!(switched.status, 303);
    assert_eq!(switched.location.as_deref(), Some(format!("/login?authz={authz}").as_str()), "back to sign-in for the same request");
    assert!(switched.set_cookie("__Host-latchkey-session").is_some_and(|c| c.contains("Max-Age=0")), "the session cookie is removed");
    // The old session is over on the server, whatever the browser keeps.
    let mut stale = app.browser();
    if let Some(s) = &mallory_session {
        stale.cookies.insert("__Host-latchkey-session".into(), s.clone());
    }
    assert_ne!(stale.get("/account").await.status, 200, "mallory's session ended");
    // Replay: the old form token died with the CSRF secret.
    let replay = browser.post_form("/consent/switch-user", &[("csrf_token", &csrf), ("authz", &authz)]).await;
    assert!(replay.status >= 400, "the form works once: {}", replay.status);

    let login = browser.get(&format!("/login?authz={authz}")).await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("to continue to <strong>Photo Prints</strong>"), "the same request");
    let csrf = login.field("csrf_token").expect("csrf");
    let next = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    let consent = browser.get(next.location.as_deref().expect("consent")).await;
    assert!(consent.body.contains(&format!("Signed in as <strong>{USERNAME}</strong>")), "now alice");
    let csrf = consent.field("csrf_token").expect("csrf");
    let done = browser.post_form("/consent", &[("csrf_token", &csrf), ("authz", &authz), ("decision", "allow")]).await;
    let code = crate::support::AuthResponse::parse(done.location.as_deref().expect("redirect")).code.expect("a code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("tokens");
    let id_token = openidconnect::TokenResponse::id_token(&tokens).expect("id token").to_string();
    let claims = crate::support::jwt::payload(&id_token);
    assert_eq!(claims["sub"], alice.id.0, "the code is alice's");
}

#[tokio::test]
async fn branding_settings_reach_every_page() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| {
        s.brand_name = "Acme <ID>".into();
        s.brand_logo_url = Some("https://static.acme.example/logo.svg".into());
        s.brand_color = "#0b5d1e".into();
    })
    .await
    else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    let login = browser.get("/login").await;
    assert!(login.body.contains("<title>Sign in · Acme &#60;ID&#62;</title>") || login.body.contains("<title>Sign in · Acme &lt;ID&gt;</title>"), "the name, escaped, in the title: {}", login.body);
    assert!(login.body.contains(r#"<img src="https://static.acme.example/logo.svg" alt="">"#), "the logo in the header");
    assert!(!login.body.contains("latchkey<") && !login.body.contains("· latchkey"), "no literal product name left");
    assert!(login.header("content-security-policy").is_some_and(|c| c.contains("img-src 'self' https://static.acme.example;")), "the logo may load");
    let css = browser.get("/static/brand.css").await;
    assert!(css.body.contains("--brand: #0b5d1e;"), "{}", css.body);
    assert!(css.header("content-type").is_some_and(|t| t.starts_with("text/css")));
    // Error pages too (an unknown authorization request).
    let error = browser.get("/consent?authz=nope").await;
    assert!(error.body.contains("· Acme &#60;ID&#62;</title>") || error.body.contains("· Acme &lt;ID&gt;</title>"), "{}", error.body);
    // And the consent page (the client's logo host joins the brand's).
    let (_, rp) = client_with_links(&app, ClientLinks { logo_uri: Some(LOGO.into()), ..ClientLinks::default() }).await;
    let (_, consent) = to_consent(&mut browser, &rp.authorize(&[]).url, USERNAME).await;
    let csp = consent.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("img-src 'self' https://static.acme.example https://cdn.app.example;"), "{csp}");
    let code = sign_in_default(&mut app.browser(), &rp.authorize(&[]).url).await.code;
    assert!(code.is_some(), "the flow works under a brand");
}

#[tokio::test]
async fn invalid_branding_is_refused_at_startup_with_the_setting_named() {
    for (setting, change) in [
        ("LATCHKEY_BRAND_COLOR", Box::new(|s: &mut latchkey_web::Settings| s.brand_color = "red;}body{display:none".into()) as Box<dyn Fn(&mut latchkey_web::Settings)>),
        ("LATCHKEY_BRAND_COLOR", Box::new(|s: &mut latchkey_web::Settings| s.brand_color = "#fafafa".into())),
        ("LATCHKEY_BRAND_LOGO_URL", Box::new(|s: &mut latchkey_web::Settings| s.brand_logo_url = Some("javascript:alert(1)".into()))),
        ("LATCHKEY_BRAND_LOGO_URL", Box::new(|s: &mut latchkey_web::Settings| s.brand_logo_url = Some("http://cdn.example/logo.png".into()))),
        ("LATCHKEY_BRAND_NAME", Box::new(|s: &mut latchkey_web::Settings| s.brand_name = "Acme\nInjected: header".into())),
    ] {
        let mut settings = latchkey_web::Settings { data_dir: std::env::temp_dir().join(crate::support::services::unique("latchkey-brand-")), ..Default::default() };
        change(&mut settings);
        let err = match latchkey_web::AppState::build(&settings, std::sync::Arc::new(latchkey_domain::ManualClock::new())).await {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        let _ = std::fs::remove_dir_all(&settings.data_dir);
        assert!(err.contains(setting), "{setting}: refused with the setting named, got {err:?}");
    }
}
