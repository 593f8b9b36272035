//! Pages and mail in the reader's language (#16): `ui_locales` over
//! `Accept-Language`, carried through the sign-in; mail as
//! multipart/alternative text + HTML in the user's language, with dates in
//! words.

use latchkey_domain::SigningAlg;
use latchkey_i18n::{Locale, Tr};

use crate::accounts::unqp;
use crate::mfa::{enrol, sign_in_password};
use crate::sessions::sign_in_direct;
use crate::support::browser::PHONE_UA;
use crate::support::{Backend, Browser, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

/// One part of a multipart mail: its content type and decoded text.
#[derive(Debug)]
struct Part {
    content_type: String,
    text: String,
}

/// The top-level headers and the parts of a raw `multipart/alternative` message.
fn parse(raw: &str) -> (String, Vec<Part>) {
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers, then a body");
    let ct = head.find("Content-Type: multipart/alternative;").unwrap_or_else(|| panic!("not multipart/alternative: {head}"));
    let boundary = head[ct..].split("boundary=\"").nth(1).and_then(|b| b.split('"').next()).expect("a boundary");
    let parts = body
        .split(&format!("--{boundary}"))
        .filter(|p| !p.trim().is_empty() && !p.starts_with("--"))
        .map(|p| {
            let (h, b) = p.trim_start_matches("\r\n").split_once("\r\n\r\n").expect("part headers");
            let header = |name: &str| h.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or_default().to_string();
            let text = if header("Content-Transfer-Encoding") == "quoted-printable" { unqp(b) } else { b.to_string() };
            assert_ne!(header("Content-Transfer-Encoding"), "base64");
            Part { content_type: header("Content-Type"), text: text.replace("\r\n", "\n") }
        })
        .collect();
    (head.to_string(), parts)
}

/// The outbox's only message to `to`, raw.
async fn the_mail_to(app: &TestApp, to: &str) -> String {
    for _ in 0..100 {
        let raws: Vec<String> = std::fs::read_dir(app.settings.outbox_dir()).map(|d| d.flatten().filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect()).unwrap_or_default();
        let mine: Vec<_> = raws.into_iter().filter(|r| r.contains(&format!("To: {to}"))).collect();
        if let [one] = mine.as_slice() {
            return one.clone();
        }
        assert!(mine.len() < 2, "one mail to {to}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail to {to}");
}

/// The text and HTML parts; the text part's link starting with `prefix`,
/// which must be the HTML part's button.
fn text_html_and_link(raw: &str, prefix: &str) -> (String, String, String) {
    let (_, parts) = parse(raw);
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0].content_type, "text/plain; charset=utf-8");
    assert_eq!(parts[1].content_type, "text/html; charset=utf-8");
    let (text, html) = (parts[0].text.clone(), parts[1].text.clone());
    let start = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    let link = text[start..].split_whitespace().next().unwrap_or_default().to_string();
    let button = html.split("<a class=\"button\" href=\"").nth(1).and_then(|r| r.split('"').next()).expect("a button").replace("&#38;", "&").replace("&amp;", "&");
    assert_eq!(button, link, "the button goes where the text's link goes");
    assert!(!html.contains("<script"), "no script in mail");
    (text, html, link)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_users_new_device_mail_is_german_text_and_html_with_the_date_in_words() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let user = app.add_user(USERNAME, PASSWORD).await;
    let mut laptop = app.browser();
    sign_in_direct(&mut laptop, USERNAME, false).await;
    // The user sets a language and a time zone on the profile page; a zone
    // that is not one (or is a path) is refused.
    let page = laptop.get("/account/profile").await;
    assert!(page.body.contains(r#"<label for="zoneinfo">Time zone</label>"#), "{}", page.body);
    let csrf = page.field("csrf_token").unwrap_or_default();
    let save = |zone: &'static str| {
        [("csrf_token", csrf.clone()), ("name", String::new()), ("given_name", String::new()), ("family_name", String::new()), ("locale", "de-AT".to_string()), ("zoneinfo", zone.to_string())]
    };
    for bad in ["Mars/Olympus_Mons", "../../etc/passwd", "Europe/Berlin\r\nX: 1"] {
        let form = save(bad);
        let refused = laptop.post_form("/account/profile", &form.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        assert_eq!(refused.status, 400, "{bad}");
    }
    let form = save("Europe/Berlin");
    let saved = laptop.post_form("/account/profile", &form.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(saved.location.as_deref(), Some("/account"), "{}", saved.body);
    let profile = app.state.authn.user(&user.id).await.expect("db").expect("user").profile;
    assert_eq!((profile.locale.as_deref(), profile.zoneinfo.as_deref()), (Some("de-AT"), Some("Europe/Berlin")));
    // The phone's browser asks for English: the user's own language wins for mail.
    let mut phone = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    phone.headers.push(("accept-language".into(), "en".into()));
    let at = app.clock_now();
    sign_in_direct(&mut phone, USERNAME, false).await;

    let raw = the_mail_to(&app, "alice@example.com").await;
    let (head, _) = parse(&raw);
    assert!(head.contains("Subject: Neue Anmeldung bei Ihrem Konto"), "{head}");
    let (text, html, link) = text_html_and_link(&raw, &format!("{}/account/not-me?t=", app.issuer));
    assert!(text.starts_with("Hallo alice,\n\nJemand hat sich"), "{text}");
    let when = Tr::new(Locale::De).datetime(at, Some("Europe/Berlin"));
    assert!(
        ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"].iter().any(|m| when.contains(m))
            && when.ends_with("Uhr (Europe/Berlin)"),
        "{when}"
    );
    assert_ne!(when, Tr::new(Locale::De).datetime(at, None).replace("(UTC)", "(Europe/Berlin)"), "the hour is Berlin's, not UTC's");
    assert!(text.contains(&format!("Zeit:       {when}\n")), "the time in words, not epoch seconds: {text}");
    assert!(!text.contains(&at.to_string()), "no epoch seconds");
    assert!(text.contains("Safari on iPhone"));
    assert!(html.starts_with("<!doctype html>\n<html lang=\"de\">"), "{html}");
    assert!(html.contains(&format!("<td style=\"padding:2px 0\">{when}</td>")), "{html}");
    assert!(html.contains(">Das war ich nicht</a>"), "the action is a button with its label");

    // The link works, and its page speaks the browser's language.
    let mut owner = app.browser();
    owner.headers.push(("accept-language".into(), "de-DE,de;q=0.9".into()));
    let page = owner.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>Diese Anmeldung beenden?</h1>"), "{}", page.body);
    assert!(page.body.contains("Angemeldet von <strong>Safari on iPhone</strong>."), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_profile_language_mail_follows_the_request_that_caused_it() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut german = app.browser();
    german.headers.push(("accept-language".into(), "fr;q=0.9, de;q=0.8, en;q=0.1".into()));
    let page = german.get("/recover").await;
    assert!(page.body.contains("<h1>Anmeldung nicht möglich?</h1>"), "{}", page.body);
    let csrf = page.field("csrf_token").unwrap_or_default();
    let sent = german.post_form("/recover", &[("csrf_token", &csrf), ("login", USERNAME)]).await;
    assert!(sent.body.contains("Sehen Sie in Ihr Postfach"), "{}", sent.body);

    let raw = the_mail_to(&app, "alice@example.com").await;
    // "Jemand möchte Ihr Konto wiederherstellen", the non-ASCII word encoded (RFC 2047).
    assert!(raw.contains("Subject: Jemand =?utf-8?b?bcO2Y2h0ZQ==?= Ihr Konto wiederherstellen"), "{raw}");
    let (text, html, link) = text_html_and_link(&raw, &format!("{}/recover/continue?t=", app.issuer));
    assert!(text.contains("Jemand hat angefragt, Ihr latchkey-Konto wiederherzustellen."), "{text}");
    assert!(html.contains("Konto wiederherstellen</a>"));
    // The link is the real one: the recovery page opens (in English for an English browser).
    let opened = app.browser().get(&link).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert!(opened.body.contains("<h1>Recover your account</h1>"), "{}", opened.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_locales_carries_through_to_the_second_factor_and_beats_accept_language() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let discovery: serde_json::Value = app.http().get(app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("json");
    assert_eq!(discovery["ui_locales_supported"], serde_json::json!(["en", "de"]));
    let mut enrolling = app.browser();
    sign_in_password(&mut enrolling).await;
    enrol(&app, &mut enrolling).await;

    // `ui_locales` lists an unsupported language first; the browser asks for English.
    for (ui_locales, german) in [(Some("fr-CA de en"), true), (None, false), (Some("x-klingon"), false)] {
        let mut browser = app.browser();
        browser.headers.push(("accept-language".into(), "en-US,en;q=0.9".into()));
        let extra: Vec<(&str, &str)> = ui_locales.map(|u| ("ui_locales", u)).into_iter().collect();
        let req = rp.authorize(&extra);
        let login_url = browser.get(&req.url).await.location.expect("to sign-in");
        let login = browser.get(&login_url).await;
        let after_password = browser
            .post_form(
                "/login",
                &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("authz", &login.field("authz").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)],
            )
            .await;
        let mfa_url = after_password.location.clone().expect("to the second step");
        let mfa = browser.get(&mfa_url).await;
        assert_eq!(mfa.status, 200);
        // The page's `lang` block renders only inside base.html's `<html lang>`.
        assert!(mfa.body.starts_with("<!doctype html>\n<html lang=\""), "{}", mfa.body);
        if german {
            assert!(mfa.body.contains("<h1>Zweiter Schritt</h1>") && mfa.body.contains(r#"<label for="code">Bestätigungscode</label>"#), "{}", mfa.body);
        } else {
            assert!(mfa.body.contains("<h1>Second step</h1>") && mfa.body.contains(r#"<label for="code">Authentication code</label>"#), "{ui_locales:?}: {}", mfa.body);
        }
        // A wrong code: the error is in the same language.
        let (csrf, m) = (mfa.field("csrf_token").unwrap_or_default(), mfa.field("m").unwrap_or_default());
        let wrong = browser.post_form("/login/mfa", &[("csrf_token", &csrf), ("m", &m), ("code", "000000")]).await;
        assert_eq!(wrong.status, 401);
        let expected = if german { "Dieser Code stimmt nicht." } else { "That code is not right." };
        assert!(wrong.body.contains(expected), "{}", wrong.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_error_page_is_german_with_its_lang_attribute() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (id, _) = app.add_client(false, SigningAlg::RS256).await;
    let mut browser = app.browser();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("client_id", id.as_str()), ("redirect_uri", REDIRECT_URI), ("response_type", "token"), ("response_mode", "form_post"), ("ui_locales", "de"), ("state", "s1")])
        .finish();
    let page = browser.get(&format!("/authorize?{query}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"<html lang="de">"#), "{}", page.body);
    assert!(page.body.contains("<title>Zurück zur Anwendung · latchkey</title>"), "{}", page.body);
    assert!(page.body.contains(r#"name="error" value="unsupported_response_type""#), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_language_is_weighed_and_garbage_or_oversized_headers_are_english() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let german = [("de-AT", true), ("en;q=0.2, de;q=0.8", true), ("de;q=0, en", false), (";;;,q=abc,*;q=0.5", false), ("", false)];
    for (header, is_german) in german {
        let mut browser = app.browser();
        browser.headers.push(("accept-language".into(), header.into()));
        let page = browser.get("/recover").await;
        assert_eq!(page.status, 200, "{header}");
        let heading = if is_german { "<h1>Anmeldung nicht möglich?</h1>" } else { "<h1>Can&#x27;t sign in?</h1>" };
        assert!(page.body.contains(heading) || page.body.contains(&heading.replace("&#x27;", "&#39;")) || page.body.contains(&heading.replace("&#x27;", "'")), "{header}: {}", page.body);
    }
    // German only after the first 1 KiB: not read.
    let long = format!("{}de", "xx-yy;q=0.5, ".repeat(300));
    let mut browser = app.browser();
    browser.headers.push(("accept-language".into(), long));
    let page = browser.get("/recover").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Anmeldung"), "{}", page.body);
}

/// `ui_locales=de` with an English browser: the sign-in page, a wrong
/// password and the consent page are German (scope words included), the
/// answer still goes back to the client, and the code buys tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_sign_in_and_consent_complete_the_flow() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let mut browser = app.browser();
    browser.headers.push(("accept-language".into(), "en-US,en;q=0.9".into()));
    let req = rp.authorize(&[("ui_locales", "de")]);
    let login_url = browser.get(&req.url).await.location.expect("to sign-in");
    let login = browser.get(&login_url).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.body.starts_with("<!doctype html>\n<html lang=\"de\">"), "{}", login.body);
    for german in [
        "<title>Anmelden · latchkey</title>",
        "<h1>Anmelden</h1>",
        ">Mit einem Passkey anmelden</button>",
        r#"<label for="username">Benutzername</label>"#,
        r#"<label for="password">Passwort</label>"#,
        "> Angemeldet bleiben</label>",
        ">Anmeldung nicht möglich?</a>",
        // passkeys.js reads its failure words from the page.
        r#"data-sign-in-failed="Anmeldung mit Passkey fehlgeschlagen""#,
    ] {
        assert!(login.body.contains(german), "{german}: {}", login.body);
    }
    assert!(!login.body.contains("Sign in"), "no English left: {}", login.body);
    let (csrf, authz) = (login.field("csrf_token").unwrap_or_default(), login.field("authz").unwrap_or_default());
    let wrong = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", "not the password")]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Benutzername oder Passwort ist falsch.") && wrong.body.contains(r#"<html lang="de">"#), "{}", wrong.body);
    let signed_in = browser.post_form("/login", &[("csrf_token", &wrong.field("csrf_token").unwrap_or_default()), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    let consent_url = signed_in.location.clone().expect("to consent");
    assert!(consent_url.starts_with("/consent"), "{consent_url}");

    let consent = browser.get(&consent_url).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains(r#"<html lang="de">"#), "{}", consent.body);
    for german in [
        "<title>Zugriff erlauben? · latchkey</title>",
        "Angemeldet als <strong>alice</strong>",
        ">Nicht Sie?</button>",
        "<li>Wissen, wer Sie sind</li>",
        "<li>Ihre E-Mail-Adresse sehen</li>",
        ">Ablehnen</button>",
        ">Erlauben</button>",
        "In beiden Fällen geht es danach zurück zu <strong>",
    ] {
        assert!(consent.body.contains(german), "{german}: {}", consent.body);
    }
    assert!(!consent.body.contains(">Allow</button>") && !consent.body.contains("Know who you are"), "{}", consent.body);
    let answered =
        browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await;
    let back = answered.location.expect("back to the client");
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    let code = url::Url::parse(&back).expect("url").query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string()).expect("a code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("the code buys tokens");
    assert!(openidconnect::OAuth2TokenResponse::access_token(&tokens).secret().len() > 20);
}

/// The account page follows `Accept-Language`: German headings, times and
/// sign-in methods in German words; the English page keeps its names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_is_german_for_a_german_browser() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    sign_in_direct(&mut browser, USERNAME, false).await;
    let english = browser.get("/account").await;
    assert_eq!(english.status, 200, "{}", english.body);
    for name in [
        r#"<html lang="en">"#,
        "<h1>Your account</h1>",
        ">Sign-in methods</h2>",
        ">Where you&#x27;re signed in</h2>",
        ">Connected apps</h2>",
        ">Recent activity</h2>",
        "signed in <time",
        "just now",
        ">Sign out</button>",
    ] {
        let alt = name.replace("&#x27;", "&#39;");
        assert!(english.body.contains(name) || english.body.contains(&alt) || english.body.contains(&name.replace("&#x27;", "'")), "{name}: {}", english.body);
    }
    browser.headers.push(("accept-language".into(), "de-DE,de;q=0.9,en;q=0.5".into()));
    let german = browser.get("/account").await;
    assert_eq!(german.status, 200, "{}", german.body);
    for heading in [
        r#"<html lang="de">"#,
        "<title>Ihr Konto · latchkey</title>",
        "<h1>Ihr Konto</h1>",
        r#"<h2 id="sign-in-methods">Anmeldemethoden</h2>"#,
        r#"<h2 id="where">Wo Sie angemeldet sind</h2>"#,
        r#"<h2 id="connected-apps">Verbundene Anwendungen</h2>"#,
        r#"<h2 id="recent-activity">Letzte Aktivitäten</h2>"#,
        r#"<h2 id="profile">Profil</h2>"#,
        "angemeldet <time",
        "gerade eben</time> mit Passwort",
        "<strong>Angemeldet mit Passwort</strong>",
        ">Überall abmelden</button>",
    ] {
        assert!(german.body.contains(heading), "{heading}: {}", german.body);
    }
    for english in ["Sign-in methods", "Recent activity", "just now", "Signed in with"] {
        assert!(!german.body.contains(english), "{english} left in English: {}", german.body);
    }
}

/// An error page rendered outside the handler (`ResponseError`) still
/// speaks the browser's language: a stale sign-in request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_sign_in_request_page_is_german_for_a_german_browser() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let mut browser = app.browser();
    browser.headers.push(("accept-language".into(), "de".into()));
    // A CSRF cookie first, so the page is "expired", not "cookies missing".
    browser.get("/login").await;
    let page = browser.get("/consent?authz=not-a-request").await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains(r#"<html lang="de">"#) && page.body.contains("<h1>Anmeldeanfrage abgelaufen</h1>"), "{}", page.body);
    let mut english = app.browser();
    english.get("/login").await;
    let page = english.get("/consent?authz=not-a-request").await;
    assert!(page.body.contains("<h1>Sign-in request expired</h1>"), "{}", page.body);
}

/// Issue 24 item 27: the issuer's own address is a small page with the
/// brand and the way in, in the reader's language, not an empty 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_27_the_issuer_url_is_a_page_with_the_way_in() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| s.brand_name = "Acme <ID>".into()).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    let page = browser.get("/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/html")));
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("Welcome to Acme &#60;ID&#62;"), "the brand, escaped: {}", page.body);
    assert!(page.body.contains(r#"<a class="button" href="/account">Sign in</a>"#), "{}", page.body);
    sign_in_direct(&mut browser, USERNAME, false).await;
    let page = browser.get("/").await;
    assert!(page.body.contains(r#"<a class="button" href="/account">Your account</a>"#) && !page.body.contains(">Sign in<"), "{}", page.body);
    let mut german = app.browser();
    german.headers.push(("accept-language".into(), "de-DE,de;q=0.9".into()));
    let page = german.get("/").await;
    assert!(page.body.contains("<html lang=\"de\">") && page.body.contains("Willkommen bei Acme &#60;ID&#62;") && page.body.contains(">Anmelden</a>"), "{}", page.body);
    assert!(matches!(german.post_form("/", &[]).await.status, 404 | 405), "only GET");
}
