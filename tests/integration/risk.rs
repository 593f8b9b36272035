//! Risky sign-ins (issue #32): each signal with a controllable clock and a
//! `.mmdb` the test writes, the mailed code, what medium and high risk ask
//! of each kind of account, "Keep me signed in" at medium risk, the policy
//! off, per account and for admins, and pages that never name a signal.
//! Every test runs on both backends.

use latchkey_authn::risk::RiskPolicy;
use latchkey_domain::{RiskLevel, RiskSignal, SignInRisk, User};
use latchkey_store::repo::audit::Filter;
use latchkey_web::Settings;
use openidconnect::TokenResponse;

use crate::support::browser::{Page, PHONE_UA};
use crate::support::mmdb::{write_city_database, City};
use crate::support::{jwt, AuthResponse, Backend, Browser, Rp, TestApp, PASSWORD, USERNAME};

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
const DAY: i64 = 24 * 3600;
const WRONG: &str = "not the password";

/// Addresses, as the trusted proxy in front of latchkey names them.
const BERLIN: &str = "198.51.100.7";
/// Berlin too, another network.
const BERLIN_OTHER_NETWORK: &str = "198.51.101.7";
const PARIS: &str = "192.0.2.7";
const NEW_YORK: &str = "203.0.113.7";
/// On the blocklist; not in the location database.
const BLOCKED: &str = "100.64.0.7";

/// 2026-12-01: the test database's build date.
const BUILT: u64 = 1_796_083_200;

fn cities() -> Vec<City> {
    let city =
        |a: [u8; 3], country_iso, country, city, latitude, longitude| City { network: std::net::Ipv4Addr::new(a[0], a[1], a[2], 0), prefix: 24, country_iso, country, city, latitude, longitude };
    vec![
        city([198, 51, 100], "DE", "Germany", "Berlin", 52.52, 13.405),
        city([198, 51, 101], "DE", "Germany", "Berlin", 52.52, 13.405),
        city([192, 0, 2], "FR", "France", "Paris", 48.8566, 2.3522),
        city([203, 0, 113], "US", "United States", "New York", 40.7128, -74.006),
    ]
}

/// A server behind a trusted proxy (127.0.0.1), locating sign-ins with the
/// test's `.mmdb` and refusing [`BLOCKED`], under `policy`.
async fn start(backend: Backend, policy: RiskPolicy) -> Option<TestApp> {
    start_with(backend, policy, |_| {}).await
}

async fn start_with(backend: Backend, policy: RiskPolicy, more: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    TestApp::start_with(backend, |s| {
        std::fs::create_dir_all(&s.data_dir).expect("data dir");
        let geo = s.data_dir.join("cities.mmdb");
        write_city_database(&geo, &cities(), BUILT);
        let blocklist = s.data_dir.join("blocklist.txt");
        std::fs::write(&blocklist, format!("# addresses of the test\n{BLOCKED}\n")).expect("blocklist");
        s.geoip_db = Some(geo);
        s.risk_blocklist = Some(blocklist);
        s.risk_policy = policy;
        s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default();
        more(s);
    })
    .await
}

/// A user whose address is verified (a code can be mailed to it).
async fn verified_user(app: &TestApp, username: &str) -> User {
    let user = app.add_user(username, PASSWORD).await;
    app.state.authn.set_email(&user.id, &user.email, true).await.expect("verify email");
    app.state.authn.user(&user.id).await.expect("read").expect("user")
}

fn at(b: &mut Browser, ip: &str) {
    b.headers.retain(|(k, _)| k != "x-forwarded-for");
    b.headers.push(("x-forwarded-for".into(), ip.into()));
}

/// A new desktop browser (no cookies: an unknown device) at `ip`.
fn browser_at(app: &TestApp, ip: &str) -> Browser {
    let mut b = app.browser();
    at(&mut b, ip);
    b
}

fn phone_at(app: &TestApp, ip: &str) -> Browser {
    let mut b = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    at(&mut b, ip);
    b
}

/// The session ends; the browser keeps its other cookies (known device, remembered device).
fn signed_out(b: &mut Browser) {
    b.cookies.remove("__Host-latchkey-session");
}

/// A password sign-in on the sign-in page.
async fn password(b: &mut Browser, username: &str, password: &str, remember: bool) -> Page {
    let login = b.get("/login").await;
    let csrf = login.field("csrf_token").unwrap_or_default();
    let mut form = vec![("csrf_token", csrf.as_str()), ("username", username), ("password", password)];
    if remember {
        form.push(("remember", "yes"));
    }
    b.post_form("/login", &form).await
}

async fn fail_three_times(b: &mut Browser, username: &str) {
    for _ in 0..3 {
        assert_eq!(password(b, username, WRONG, false).await.status, 401);
    }
}

/// The details of `user`'s events of `kind`, newest first.
async fn details(app: &TestApp, user: &User, kind: &str) -> Vec<String> {
    let filter = Filter { user_id: Some(user.id.0.clone()), kind: Some(kind.into()), ..Default::default() };
    app.state.oauth.audit_search(filter, None, 100).await.expect("audit").events.into_iter().map(|e| e.detail).collect()
}

/// The risk of `user`'s newest event of `kind`.
async fn last_risk(app: &TestApp, user: &User, kind: &str) -> SignInRisk {
    let all = details(app, user, kind).await;
    let newest = all.first().unwrap_or_else(|| panic!("no {kind} event"));
    SignInRisk::from_detail(newest).unwrap_or_else(|| panic!("no risk in {newest}"))
}

/// `user`'s mails with `subject`, oldest first.
fn mails(app: &TestApp, user: &User, subject: &str) -> Vec<latchkey_authn::mail::OutboxMessage> {
    let all = latchkey_authn::mail::read_outbox(&app.settings.outbox_dir()).expect("outbox");
    all.into_iter().filter(|m| m.to.contains(&user.email) && m.subject == subject).collect()
}

const CODE_SUBJECT: &str = "Your sign-in code";
const BLOCKED_SUBJECT: &str = "A sign-in to your account was stopped";

/// The code mails to `user` so far (the outbox's order within a second is not theirs).
fn code_mails(app: &TestApp, user: &User) -> std::collections::HashSet<std::path::PathBuf> {
    mails(app, user, CODE_SUBJECT).into_iter().map(|m| m.file).collect()
}

/// The code of the one code mail to `user` not among `before`, and the mail's text.
fn mailed_code(app: &TestApp, user: &User, before: &std::collections::HashSet<std::path::PathBuf>) -> (String, String) {
    let mut new: Vec<_> = mails(app, user, CODE_SUBJECT).into_iter().filter(|m| !before.contains(&m.file)).collect();
    assert_eq!(new.len(), 1, "one new code mail");
    let mail = new.remove(0);
    let code = mail.text.lines().find_map(|l| l.trim().strip_prefix("Code:")).map(|c| c.trim().to_string()).expect("a code line");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    (code, mail.text)
}

/// Answers the code step at `url` (`/login/confirm?c=…`) with `code`.
async fn answer(b: &mut Browser, url: &str, code: &str) -> Page {
    let c = url.split("c=").nth(1).unwrap_or_default().to_string();
    // The form's token, from any page of this browser (the step's page may be gone).
    let page = b.get("/login").await;
    b.post_form("/login/confirm", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("c", &c), ("code", code)]).await
}

fn confirm_url(page: &Page) -> String {
    let url = page.location.clone().unwrap_or_else(|| panic!("to the code page, not {} {}", page.status, page.body));
    assert!(url.starts_with("/login/confirm?c="), "{url}");
    url
}

/// A page's HTML with apostrophes as typed (askama escapes them).
fn html(page: &Page) -> String {
    page.body.replace("&#39;", "'").replace("&#x27;", "'")
}

/// What a person reads on a page: the text of its `<main>`, lower-cased.
fn visible_text(body: &str) -> String {
    let main = body.split("<main").nth(1).and_then(|m| m.split("</main>").next()).unwrap_or(body);
    let mut out = String::new();
    let mut in_tag = false;
    for ch in main.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.to_lowercase()
}

/// Words that would tell whoever is typing which signal fired.
const SIGNAL_WORDS: [&str; 10] = ["country", "travel", "failure", "failed", "blocklist", "device", "network", "browser", "location", "risk"];

fn names_no_signal(page: &Page) {
    let text = visible_text(&html(page));
    for word in SIGNAL_WORDS {
        assert!(!text.contains(word), "the page says {word:?}: {text}");
    }
}

/// The page with its per-request values (form tokens, the step's id) blanked.
fn normalized(page: &Page) -> String {
    let mut body = page.body.clone();
    for field in ["csrf_token", "c"] {
        if let Some(v) = page.field(field).filter(|v| !v.is_empty()) {
            body = body.replace(&v, "…");
        }
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_signal_goes_into_the_sign_in_event_and_recent_activity() {
    for backend in BACKENDS {
        let Some(app) = start(backend, RiskPolicy::Standard).await else { return };
        let alice = verified_user(&app, USERNAME).await;

        // The first sign-in: nothing to compare with but the device.
        let mut desk = browser_at(&app, BERLIN);
        assert_eq!(password(&mut desk, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        let first = last_risk(&app, &alice, "sign_in").await;
        assert_eq!(first, SignInRisk { level: RiskLevel::Low, signals: vec![RiskSignal::UnknownDevice], place: Some("Berlin, Germany".into()) });
        let account = desk.get("/account").await;
        assert!(account.body.contains("Signed in with password in Berlin, Germany"), "recent activity names the place: {}", account.body);

        // The same browser a day later: nothing stands out.
        app.clock.advance(DAY);
        signed_out(&mut desk);
        assert_eq!(password(&mut desk, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        assert_eq!(last_risk(&app, &alice, "sign_in").await.signals, vec![]);

        // Another browser on the same network: an unknown device, a new browser.
        app.clock.advance(60);
        let mut phone = phone_at(&app, BERLIN);
        assert_eq!(password(&mut phone, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        let risk = last_risk(&app, &alice, "sign_in").await;
        assert_eq!((risk.level, risk.signals), (RiskLevel::Low, vec![RiskSignal::UnknownDevice, RiskSignal::NewBrowser]));
        let account = phone.get("/account").await;
        assert!(account.body.contains("New device in Berlin, Germany: signed in with password"), "recent activity: {}", account.body);

        // The known browser on another network.
        app.clock.advance(60);
        signed_out(&mut desk);
        at(&mut desk, BERLIN_OTHER_NETWORK);
        assert_eq!(password(&mut desk, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        assert_eq!(last_risk(&app, &alice, "sign_in").await.signals, vec![RiskSignal::NewNetwork]);

        // Failed passwords within the hour (a known device: still low).
        app.clock.advance(60);
        signed_out(&mut desk);
        for _ in 0..2 {
            assert_eq!(password(&mut desk, USERNAME, WRONG, false).await.status, 401);
        }
        assert_eq!(password(&mut desk, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        let risk = last_risk(&app, &alice, "sign_in").await;
        assert_eq!((risk.level, risk.signals), (RiskLevel::Low, vec![RiskSignal::RecentFailures { count: 2 }]));

        // Two hours later (the failures have left the hour), from Paris: a
        // new network and country, 880 km in two hours (an airliner could).
        app.clock.advance(2 * 3600);
        signed_out(&mut desk);
        at(&mut desk, PARIS);
        assert_eq!(password(&mut desk, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        let risk = last_risk(&app, &alice, "sign_in").await;
        assert_eq!((risk.level, risk.signals), (RiskLevel::Low, vec![RiskSignal::NewNetwork, RiskSignal::NewCountry { country: "FR".into() }]), "a known device");
        assert!(details(&app, &alice, "new_country_sign_in").await.first().is_some_and(|d| d.contains("FR")));

        // Half an hour later from New York: no airliner flies 5,800 km in 30
        // minutes. High risk, and a password-only account is refused.
        app.clock.advance(1800);
        signed_out(&mut desk);
        at(&mut desk, NEW_YORK);
        let refused = password(&mut desk, USERNAME, PASSWORD, false).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.set_cookie("__Host-latchkey-session").is_none());
        let risk = last_risk(&app, &alice, "risky_sign_in_refused").await;
        assert_eq!(risk.level, RiskLevel::High);
        let travel = risk.signals.iter().find_map(|s| match s {
            RiskSignal::ImpossibleTravel { km, minutes } => Some((*km, *minutes)),
            _ => None,
        });
        assert!(travel.is_some_and(|(km, minutes)| (5800..5900).contains(&km) && minutes == 30), "{risk:?}");
        assert!(risk.has(|s| *s == RiskSignal::NewCountry { country: "US".into() }));
        assert_eq!(risk.place.as_deref(), Some("New York, United States"));
        let told = mails(&app, &alice, BLOCKED_SUBJECT);
        assert_eq!(told.len(), 1, "the owner is told");
        assert!(told[0].text.contains("New York, United States") && told[0].text.contains(NEW_YORK), "{}", told[0].text);

        // A day later from a blocklisted address (which has no place).
        app.clock.advance(DAY);
        at(&mut desk, BLOCKED);
        assert_eq!(password(&mut desk, USERNAME, PASSWORD, false).await.status, 403);
        let risk = last_risk(&app, &alice, "risky_sign_in_refused").await;
        assert_eq!((risk.level, risk.signals, risk.place), (RiskLevel::High, vec![RiskSignal::NewNetwork, RiskSignal::Blocklisted], None));
        assert_eq!(mails(&app, &alice, BLOCKED_SUBJECT).len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailed_code_right_wrong_from_another_browser_replayed_expired_throttled_and_not_me() {
    for backend in BACKENDS {
        let Some(app) = start(backend, RiskPolicy::Standard).await else { return };
        let alice = verified_user(&app, USERNAME).await;
        let (id, secret) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
        let rp = Rp::discover(&app, &id, secret.as_deref()).await;

        // Three wrong passwords, then the right one from an unknown device: medium.
        let mut a = browser_at(&app, BERLIN);
        fail_three_times(&mut a, USERNAME).await;
        let before = code_mails(&app, &alice);
        let req = rp.authorize(&[]);
        let first = a.get(&req.url).await;
        let login = a.get(first.location.as_deref().unwrap_or_default()).await;
        let after_password = a
            .post_form(
                "/login",
                &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("authz", &login.field("authz").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)],
            )
            .await;
        let url = confirm_url(&after_password);
        assert!(after_password.set_cookie("__Host-latchkey-session").is_none(), "no session before the code");
        let page = a.get(&url).await;
        assert_eq!(page.status, 200);
        assert!(html(&page).contains("<title>Confirm it's you") && page.body.contains(r#"<label for="code">Code</label>"#), "{}", page.body);
        names_no_signal(&page);
        let (code, text) = mailed_code(&app, &alice, &before);
        assert!(text.contains("Berlin, Germany") && text.contains(BERLIN), "the mail says where the attempt came from: {text}");
        assert!(text.contains("/account/not-me?t="), "and has \"This wasn't me\": {text}");
        let stepped = details(&app, &alice, "sign_in_stepped_up").await;
        assert!(stepped[0].starts_with("a mailed code asked for; risk medium"), "{stepped:?}");

        // A wrong code: asked again.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let refused = answer(&mut a, &url, wrong).await;
        assert_eq!(refused.status, 401);
        assert!(refused.body.contains("That code is not right"));
        assert_eq!(details(&app, &alice, "sign_in_code_failed").await.len(), 1);

        // The right code from another browser: that step is not its own.
        let mut other = browser_at(&app, BERLIN);
        assert_eq!(other.get(&url).await.status, 400);
        assert_eq!(answer(&mut other, &url, &code).await.status, 400);

        // The right code: signed in, and `amr` says a code came by a second
        // channel (RFC 8176 `mca`), which is no second factor (`acr` pwd).
        let done = answer(&mut a, &url, &code).await;
        assert!(done.set_cookie("__Host-latchkey-session").is_some(), "{} {}", done.status, done.body);
        let consent = a.get(done.location.as_deref().expect("onwards")).await;
        let allowed = a.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await;
        let resp = AuthResponse::parse(allowed.location.as_deref().unwrap_or_default());
        let tokens = rp.exchange(resp.code.as_deref().unwrap_or_default(), req.verifier).await.expect("exchange");
        let claims = jwt::payload(&tokens.id_token().expect("id token").to_string());
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "mca"]));
        assert_eq!(claims["acr"], "urn:latchkey:acr:pwd");
        let signed_in = details(&app, &alice, "sign_in").await;
        assert!(signed_in[0] == "methods pwd mca; risk medium: unknown device, 3 failures in the last hour; from Berlin, Germany", "{}", signed_in[0]);
        assert!(mails(&app, &alice, "New sign-in to your account").is_empty(), "the code mail already said where the sign-in came from");

        // Replayed: the step is used up.
        assert_eq!(answer(&mut a, &url, &code).await.status, 400);

        // Expired: ten minutes and a second later.
        let mut late = browser_at(&app, BERLIN);
        let before = code_mails(&app, &alice);
        let url = confirm_url(&password(&mut late, USERNAME, PASSWORD, false).await);
        let (code, _) = mailed_code(&app, &alice, &before);
        app.clock.advance(latchkey_app::risk::CODE_TTL_SECS + 1);
        assert_eq!(answer(&mut late, &url, &code).await.status, 400);

        // Throttled: the fifth wrong code ends the step; the right one no longer works.
        let mut guesser = browser_at(&app, BERLIN);
        let before = code_mails(&app, &alice);
        let url = confirm_url(&password(&mut guesser, USERNAME, PASSWORD, false).await);
        let (code, _) = mailed_code(&app, &alice, &before);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..4 {
            assert_eq!(answer(&mut guesser, &url, wrong).await.status, 401);
        }
        let last = answer(&mut guesser, &url, wrong).await;
        assert_eq!(last.status, 429);
        assert!(last.body.contains("Too many wrong codes"), "{}", last.body);
        assert_eq!(answer(&mut guesser, &url, &code).await.status, 400);
        let failed = details(&app, &alice, "sign_in_code_failed").await;
        assert_eq!(failed.len(), 6, "each wrong code is audited: {failed:?}");
        assert_eq!(failed.iter().filter(|d| *d == "too many wrong codes: the sign-in starts over").count(), 1, "{failed:?}");

        // "This wasn't me" in the mail stops a waiting sign-in: its code is dead.
        let mut thief = browser_at(&app, BERLIN);
        let before = code_mails(&app, &alice);
        let url = confirm_url(&password(&mut thief, USERNAME, PASSWORD, false).await);
        let (code, text) = mailed_code(&app, &alice, &before);
        let link = text.split_whitespace().find(|w| w.contains("/account/not-me?t=")).expect("the link").to_string();
        let mut mailbox = app.browser();
        let page = mailbox.get(&link).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let stopped = mailbox.post_form("/account/not-me", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("t", &page.field("t").unwrap_or_default())]).await;
        assert_eq!(stopped.status, 200, "{}", stopped.body);
        assert_eq!(answer(&mut thief, &url, &code).await.status, 400, "the stopped sign-in's code no longer works");
        assert_eq!(details(&app, &alice, "not_me").await.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_and_high_risk_for_password_only_second_factor_and_passkey_accounts() {
    for backend in BACKENDS {
        let Some(app) = start(backend, RiskPolicy::Standard).await else { return };

        // Password only, verified address: medium mails a code, high is refused.
        let bob = verified_user(&app, "bob").await;
        let mut b = browser_at(&app, BERLIN);
        assert_eq!(password(&mut b, "bob", PASSWORD, false).await.location.as_deref(), Some("/account"));
        app.clock.advance(60);
        let mut b2 = browser_at(&app, BERLIN);
        fail_three_times(&mut b2, "bob").await;
        confirm_url(&password(&mut b2, "bob", PASSWORD, false).await);
        let mut b3 = browser_at(&app, BLOCKED);
        let refused = password(&mut b3, "bob", PASSWORD, false).await;
        assert_eq!(refused.status, 403);
        assert!(html(&refused).contains("Confirm it's you") && html(&refused).contains("Can't sign in?"), "the page says what to do: {}", refused.body);
        assert_eq!(mails(&app, &bob, BLOCKED_SUBJECT).len(), 1, "and the owner is mailed");

        // Password only, no verified address: no code can be mailed, so medium is refused too.
        let erin = app.add_user("erin", PASSWORD).await;
        let mut e = browser_at(&app, BERLIN);
        fail_three_times(&mut e, "erin").await;
        assert_eq!(password(&mut e, "erin", PASSWORD, false).await.status, 403);
        assert!(mails(&app, &erin, CODE_SUBJECT).is_empty());

        // An authenticator app: medium and high ask for it (as always), and
        // the sign-in says what was proved.
        let carol = verified_user(&app, "carol").await;
        let mut c = browser_at(&app, BERLIN);
        assert_eq!(password(&mut c, "carol", PASSWORD, false).await.location.as_deref(), Some("/account"));
        let (secret, _) = crate::mfa::enrol(&app, &mut c).await;
        for (ip, level, fails) in [(BERLIN, "medium", true), (BLOCKED, "high", false)] {
            app.clock.advance(60);
            let mut c2 = browser_at(&app, ip);
            if fails {
                fail_three_times(&mut c2, "carol").await;
            }
            let step = password(&mut c2, "carol", PASSWORD, false).await;
            let mfa = step.location.clone().unwrap_or_default();
            assert!(mfa.starts_with("/login/mfa?m="), "{level}: the second factor, not a mailed code: {mfa}");
            assert!(details(&app, &carol, "sign_in_stepped_up").await[0].starts_with(&format!("the second factor asked for; risk {level}")));
            let done = crate::mfa::answer_second_step(&mut c2, &mfa, &crate::mfa::code_at(&secret, app.clock_now())).await;
            assert_eq!(done.location.as_deref(), Some("/account"), "{}", done.body);
            let signed_in = details(&app, &carol, "sign_in").await;
            assert!(signed_in[0].starts_with("methods pwd otp mfa") && signed_in[0].contains(&format!("; risk {level}: ")), "{}", signed_in[0]);
        }
        assert!(mails(&app, &carol, CODE_SUBJECT).is_empty() && mails(&app, &carol, BLOCKED_SUBJECT).is_empty());

        // A passkey: signing in with it is never stepped up, not even from
        // across the world minutes later or from a blocklisted address; a
        // password sign-in of that account at high risk asks for it.
        let alice = verified_user(&app, USERNAME).await;
        let mut setup = browser_at(&app, BERLIN);
        assert_eq!(password(&mut setup, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        let mut key = crate::passkeys::register(&app, &mut setup, "Laptop key").await;
        for ip in [NEW_YORK, BLOCKED] {
            app.clock.advance(600);
            let mut p = browser_at(&app, ip);
            let login = p.get("/login").await;
            let (status, done, _) = crate::passkeys::passkey_sign_in(&mut p, &login, &mut key, &app.issuer).await;
            assert_eq!(status, 200, "{done}");
            assert!(p.cookies.contains_key("__Host-latchkey-session"));
            assert_eq!(last_risk(&app, &alice, "sign_in").await.level, RiskLevel::High, "recorded, not stepped up");
        }
        let risks: Vec<SignInRisk> = details(&app, &alice, "sign_in").await.iter().filter_map(|d| SignInRisk::from_detail(d)).collect();
        assert!(risks.iter().any(|r| r.has(|s| matches!(s, RiskSignal::ImpossibleTravel { .. }))), "{risks:?}");
        app.clock.advance(60);
        let mut p = browser_at(&app, BLOCKED);
        let step = password(&mut p, USERNAME, PASSWORD, false).await;
        assert!(step.location.as_deref().is_some_and(|l| l.starts_with("/login/mfa?m=")), "{:?}", step.location);
        let mfa = p.get(step.location.as_deref().unwrap_or_default()).await;
        assert!(mfa.body.contains("passkey"), "the passkey is offered: {}", mfa.body);
        assert!(details(&app, &alice, "sign_in_stepped_up").await[0].starts_with("the second factor asked for; risk high"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_me_signed_in_at_medium_risk_is_a_fresh_sign_in() {
    for backend in BACKENDS {
        let Some(app) = start(backend, RiskPolicy::Standard).await else { return };
        let alice = verified_user(&app, USERNAME).await;
        let mut desk = browser_at(&app, BERLIN);
        assert_eq!(password(&mut desk, USERNAME, PASSWORD, true).await.location.as_deref(), Some("/account"));

        // A day later in the same browser: the remembered device restores a session.
        app.clock.advance(DAY);
        signed_out(&mut desk);
        let page = desk.get("/account").await;
        assert_eq!(page.status, 200, "restored: {:?}", page.location);
        assert_eq!(details(&app, &alice, "session_restored").await.len(), 1);

        // Its cookie, copied into a browser in another country ten days
        // later: an unknown device in a new country is medium, and the
        // restore becomes a fresh sign-in.
        app.clock.advance(10 * DAY);
        let mut thief = browser_at(&app, NEW_YORK);
        let token = desk.cookies.get("__Host-latchkey-device").cloned().expect("a remembered device");
        thief.cookies.insert("__Host-latchkey-device".into(), token);
        let page = thief.get("/account").await;
        assert!(page.location.as_deref().is_some_and(|l| l.starts_with("/login")), "to the sign-in page: {} {:?}", page.status, page.location);
        assert!(!thief.cookies.contains_key("__Host-latchkey-session"));
        assert_eq!(details(&app, &alice, "session_restored").await.len(), 1, "no second restore");
        let stepped = details(&app, &alice, "sign_in_stepped_up").await;
        assert!(stepped[0].starts_with("a fresh sign-in asked for instead of a remembered device; risk medium: unknown device"), "{stepped:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_policy_off_nothing_changes() {
    for backend in BACKENDS {
        let Some(app) = start(backend, RiskPolicy::Off).await else { return };
        let alice = verified_user(&app, USERNAME).await;
        // A blocklisted address, then failures and a new device in another
        // country: all signed in with the password alone, as before issue #32.
        let mut b = browser_at(&app, BLOCKED);
        assert_eq!(password(&mut b, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        app.clock.advance(60);
        let mut p = phone_at(&app, NEW_YORK);
        fail_three_times(&mut p, USERNAME).await;
        assert_eq!(password(&mut p, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        let signed_in = details(&app, &alice, "sign_in").await;
        assert_eq!(signed_in.len(), 2);
        assert!(signed_in.iter().all(|d| !d.contains("risk")), "{signed_in:?}");
        for kind in ["sign_in_stepped_up", "risky_sign_in_refused", "new_country_sign_in"] {
            assert!(details(&app, &alice, kind).await.is_empty(), "{kind}");
        }
        assert!(mails(&app, &alice, CODE_SUBJECT).is_empty() && mails(&app, &alice, BLOCKED_SUBJECT).is_empty());
        let uid = alice.id.0.clone();
        let (seen, last) = app.state.stores.db.run(move |c| latchkey_store::repo::risk::history(c, &uid, 0)).await.expect("history");
        assert!(seen.is_empty() && last.is_none(), "nothing remembered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_read_the_same_whatever_made_the_sign_in_risky() {
    for backend in BACKENDS {
        let Some(app) = start(backend, RiskPolicy::Standard).await else { return };
        verified_user(&app, USERNAME).await;
        let mut home = browser_at(&app, BERLIN);
        let login_before = home.get("/login").await;
        assert_eq!(password(&mut home, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));

        // Medium for a new country, then medium for failures: the same code page.
        app.clock.advance(DAY);
        let mut abroad = browser_at(&app, PARIS);
        let url = confirm_url(&password(&mut abroad, USERNAME, PASSWORD, false).await);
        let by_country = abroad.get(&url).await;
        let mut guesser = browser_at(&app, BERLIN);
        fail_three_times(&mut guesser, USERNAME).await;
        let url = confirm_url(&password(&mut guesser, USERNAME, PASSWORD, false).await);
        let by_failures = guesser.get(&url).await;
        assert_eq!(normalized(&by_country), normalized(&by_failures));
        names_no_signal(&by_country);

        // High for a blocklisted address, then for impossible travel (Berlin
        // a minute ago, New York now): the same refusal.
        signed_out(&mut home);
        assert_eq!(password(&mut home, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        app.clock.advance(60);
        let mut blocked = browser_at(&app, BLOCKED);
        let by_blocklist = password(&mut blocked, USERNAME, PASSWORD, false).await;
        let mut far = browser_at(&app, NEW_YORK);
        let by_travel = password(&mut far, USERNAME, PASSWORD, false).await;
        assert_eq!((by_blocklist.status, by_travel.status), (403, 403));
        assert_eq!(normalized(&by_blocklist), normalized(&by_travel));
        names_no_signal(&by_blocklist);

        // The sign-in page itself is the same for everyone, risky or not.
        let login_risky = far.get("/login").await;
        assert_eq!(normalized(&login_before), normalized(&login_risky));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_own_policy_the_admins_policy_and_the_console_in_plain_words() {
    for backend in BACKENDS {
        // Off for everyone, strict for administrators.
        let Some(app) = start_with(backend, RiskPolicy::Off, |s| s.risk_policy_admins = Some(RiskPolicy::Strict)).await else { return };
        let alice = verified_user(&app, USERNAME).await;
        let (mut admin, _, root) = crate::console::admin_browser(&app).await;
        assert!(details(&app, &root, "sign_in").await.iter().all(|d| d.contains("; risk ")), "an admin's sign-ins are assessed");
        let mut b = browser_at(&app, BLOCKED);
        assert_eq!(password(&mut b, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));
        assert!(!details(&app, &alice, "sign_in").await[0].contains("risk"), "a user's are not");

        // The console sets alice's own policy.
        let page = admin.get(&format!("/admin/users/{}", alice.id.0)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(r#"<option value="default" selected>Default: Off</option>"#), "{}", page.body);
        let saved = admin.post_form(&format!("/admin/users/{}/risk-policy", alice.id.0), &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("policy", "standard")]).await;
        assert_eq!(saved.location.as_deref(), Some(format!("/admin/users/{}?notice=risk-policy-set", alice.id.0).as_str()), "{}", saved.body);
        assert_eq!(details(&app, &alice, "risk_policy_set").await, vec!["risk policy: standard".to_string()]);

        // Now her sign-ins are assessed: a blocklisted address is refused.
        app.clock.advance(60);
        signed_out(&mut b);
        assert_eq!(password(&mut b, USERNAME, PASSWORD, false).await.status, 403);
        app.clock.advance(60);
        let mut home = browser_at(&app, BERLIN);
        assert_eq!(password(&mut home, USERNAME, PASSWORD, false).await.location.as_deref(), Some("/account"));

        // The console says each sign-in's risk in plain words.
        let page = admin.get(&format!("/admin/users/{}", alice.id.0)).await;
        assert!(page.body.contains(r#"<option value="standard" selected>Standard</option>"#));
        assert!(page.body.contains("low risk: unknown device; Berlin, Germany"), "{}", page.body);
        assert!(page.body.contains("high risk: blocklisted address"), "{}", page.body);
        assert!(page.body.contains("risk policy: Standard"), "{}", page.body);

        // Back to the default.
        let back = admin.post_form(&format!("/admin/users/{}/risk-policy", alice.id.0), &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("policy", "default")]).await;
        assert_eq!(back.status, 303);
        assert_eq!(app.state.risk.policy_for(&alice.id).await.expect("policy"), RiskPolicy::Off);
        assert_eq!(app.state.risk.policy_for(&root.id).await.expect("policy"), RiskPolicy::Strict);
        let junk = admin.post_form(&format!("/admin/users/{}/risk-policy", alice.id.0), &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("policy", "lenient")]).await;
        assert_eq!(junk.status, 400);
    }
}
