//! Signing in through an upstream OpenID provider (issue #26), against a
//! real one: node-oidc-provider (`tests/upstream`), driven over HTTP. The
//! relying party asks latchkey; the user clicks "Continue with …", signs in
//! upstream, comes back; the relying party gets latchkey's `sub` and `amr`
//! `fed`. Then the ways it must fail: replay, another browser, mix-up,
//! someone else's email, sign-up off, a disabled or unreachable provider.

use latchkey_app::admin::Actor;
use latchkey_app::federation::providers::ProviderSettings;
use latchkey_domain::{LinkRule, ProviderKind, SigningAlg};
use latchkey_store::repo::audit;
use openidconnect::TokenResponse;

use crate::support::jwt;
use crate::support::rp::AuthResponse;
use crate::support::upstream::{Upstream, UpstreamAccount, UpstreamClient};
use crate::support::{Backend, Browser, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

const UPSTREAM_SECRET: &str = "upstream-client-secret-0123456789";

fn account(login: &str, sub: &str, email: &str, verified: bool) -> UpstreamAccount {
    UpstreamAccount { login: login.into(), sub: sub.into(), email: Some(email.into()), email_verified: verified, name: Some(format!("{login} upstream")) }
}

/// latchkey with two providers at one upstream (`corp-sso`, `partner`), the
/// upstream with latchkey's callbacks registered, and a relying party.
struct World {
    app: TestApp,
    upstream: Upstream,
    rp: Rp,
}

async fn world(backend: Backend, signup: bool, link: LinkRule) -> Option<World> {
    let app = TestApp::start(backend).await?;
    let client = |id: &str| UpstreamClient {
        client_id: format!("latchkey-{id}"),
        client_secret: UPSTREAM_SECRET.into(),
        redirect_uris: vec![app.url(&format!("/federation/{id}/callback"))],
        // The provider posts from Node, which may resolve `localhost` to ::1: the address itself.
        backchannel_logout_uri: Some(format!("http://127.0.0.1:{}/federation/{id}/backchannel-logout", app.addr.port())),
        post_logout_redirect_uris: vec![app.url(&format!("/federation/{id}/signed-out"))],
    };
    let accounts = vec![
        account("carol", "upstream-carol", "carol@corp.example", true),
        // Claims the address of latchkey's alice (verified upstream).
        account("mallory", "upstream-mallory", &format!("{USERNAME}@example.com"), true),
        UpstreamAccount { login: "nomail".into(), sub: "upstream-nomail".into(), ..Default::default() },
    ];
    let upstream = Upstream::start(vec![client("corp-sso"), client("partner")], accounts).await?;
    for name in ["Corp SSO", "Partner"] {
        let id = latchkey_app::federation::providers::slug(name);
        let settings = ProviderSettings {
            name: name.into(),
            kind: ProviderKind::Oidc,
            issuer: upstream.issuer.clone(),
            client_id: format!("latchkey-{id}"),
            client_secret: Some(UPSTREAM_SECRET.into()),
            scopes: vec![],
            domains: if name == "Corp SSO" { vec!["corp.example".into()] } else { vec![] },
            link,
            signup,
            trust_upstream_mfa: false,
            upstream_logout: true,
        };
        app.state.admin(Actor::Cli).add_provider(settings).await.expect("add provider");
    }
    let (client_id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &client_id, secret.as_deref()).await;
    Some(World { app, upstream, rp })
}

/// From the relying party's authorization URL to the provider's button on
/// latchkey's sign-in page, then to the upstream: returns the upstream's
/// redirect back to latchkey's callback (not yet requested).
async fn to_upstream(w: &World, browser: &mut Browser, url: &str, provider: &str, login: &str) -> String {
    let page = browser.get(url).await;
    let login_page = page.location.clone().unwrap_or_else(|| panic!("to the sign-in page: {} {}", page.status, page.body));
    let form = browser.get(&login_page).await;
    let label = if provider == "corp-sso" { "Continue with Corp SSO" } else { "Continue with Partner" };
    assert!(form.body.contains(label), "the sign-in page offers {label}: {}", form.body);
    assert!(form.body.find("data-passkey=\"sign-in\"") < form.body.find(label), "the passkey stays first");
    let marker = format!("href=\"/federation/{provider}/start");
    let start = form.body.find(&marker).expect("the button's link") + "href=\"".len();
    let href = form.body[start..start + form.body[start..].find('"').expect("end of href")].replace("&amp;", "&");
    let away = browser.get(&href).await;
    assert_eq!(away.status, 303, "{}", away.body);
    let authorize = away.location.expect("to the upstream");
    assert!(authorize.starts_with(&w.upstream.issuer), "{authorize}");
    for p in ["code_challenge_method=S256", "state=", "nonce=", "scope=openid"] {
        assert!(authorize.contains(p), "{p} in {authorize}");
    }
    w.upstream.sign_in(&authorize, login).await
}

/// [`to_upstream`], keeping the upstream browser's cookies (its session there).
async fn to_upstream_keeping(w: &World, browser: &mut Browser, url: &str, login: &str) -> (String, std::collections::BTreeMap<String, String>) {
    let login_page = browser.get(url).await.location.expect("to the sign-in page");
    browser.get(&login_page).await;
    let authz = login_page.split("authz=").nth(1).unwrap_or_default().to_string();
    let away = browser.get(&format!("/federation/corp-sso/start?authz={authz}")).await;
    w.upstream.sign_in_keeping(&away.location.expect("to the upstream"), login).await
}

/// Back at latchkey's callback (or any page on the way), through consent,
/// to the relying party.
async fn back_to_rp(browser: &mut Browser, from: &str) -> AuthResponse {
    let mut location = from.to_string();
    for _ in 0..4 {
        if location.starts_with(REDIRECT_URI) {
            return AuthResponse::parse(&location);
        }
        let page = if location.starts_with("/consent") {
            let form = browser.get(&location).await;
            let (csrf, authz) = (form.field("csrf_token").expect("csrf"), form.field("authz").expect("authz"));
            browser.post_form("/consent", &[("csrf_token", &csrf), ("authz", &authz), ("decision", "allow")]).await
        } else {
            browser.get(&location).await
        };
        location = page.location.clone().unwrap_or_else(|| panic!("a redirect from {location}, got {} {}", page.status, page.body));
    }
    panic!("no redirect to the relying party");
}

async fn kinds(app: &TestApp) -> Vec<String> {
    app.state.stores.db.run(|c| audit::recent(c, None, 200)).await.expect("audit").into_iter().map(|r| r.kind).collect()
}

#[tokio::test]
async fn a_first_sign_in_through_a_provider_creates_the_account_and_the_next_one_finds_it() {
    let Some(w) = world(Backend::Sqlite, true, LinkRule::ExistingSignIn).await else { return };
    let mut browser = w.app.browser();
    let pending = w.rp.authorize(&[]);
    let callback = to_upstream(&w, &mut browser, &pending.url, "corp-sso", "carol").await;
    assert!(callback.contains("iss="), "RFC 9207 iss is sent by the upstream: {callback}");
    let back = back_to_rp(&mut browser, &callback).await;
    let tokens = w.rp.exchange(back.code.as_deref().expect("code"), pending.verifier).await.expect("tokens");
    let id_token = jwt::payload(&tokens.id_token().expect("id token").to_string());
    let carol = w.app.state.authn.find_by_email("carol@corp.example").await.expect("lookup").pop().expect("the new account");
    assert_eq!(id_token["sub"], carol.id.0, "latchkey's own subject, not the upstream's");
    assert_eq!(id_token["amr"], serde_json::json!(["fed"]));
    assert!(carol.email_verified, "the provider verified it");
    assert!(carol.password_hash.is_none(), "no password: the upstream is its way in");
    let k = kinds(&w.app).await;
    assert!(k.iter().any(|k| k == "federated_sign_up") && k.iter().any(|k| k == "identity_linked"), "{k:?}");

    // The callback again (a replayed state): nothing.
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status, 400, "{}", replay.body);

    // Another browser, the same upstream account: the link, not a second account.
    let mut other = w.app.browser();
    let again = w.rp.authorize(&[]);
    let callback = to_upstream(&w, &mut other, &again.url, "corp-sso", "carol").await;
    let back = back_to_rp(&mut other, &callback).await;
    let tokens = w.rp.exchange(back.code.as_deref().expect("code"), again.verifier).await.expect("tokens");
    assert_eq!(jwt::payload(&tokens.id_token().expect("id token").to_string())["sub"], carol.id.0);
    assert_eq!(w.app.state.authn.find_by_email("carol@corp.example").await.expect("lookup").len(), 1);

    // A disabled account signs in through no provider either.
    w.app.state.authn.set_disabled(&carol.id, true).await.expect("disable");
    let mut third = w.app.browser();
    let callback = to_upstream(&w, &mut third, &w.rp.authorize(&[]).url, "corp-sso", "carol").await;
    let refused = third.get(&callback).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.set_cookie("__Host-latchkey-session").is_none());
}

/// The upstream asserts alice's address (verified, even): the default rule
/// never links on it. The user must sign in to alice's account with
/// alice's password; only then is the upstream account linked. Someone who
/// signs in to another account with that pending link links nothing.
#[tokio::test]
async fn an_existing_email_is_linked_only_after_signing_in_to_that_account() {
    let Some(w) = world(Backend::Postgres, true, LinkRule::ExistingSignIn).await else { return };
    w.app.add_user(USERNAME, PASSWORD).await;
    let mut browser = w.app.browser();
    let pending = w.rp.authorize(&[]);
    let callback = to_upstream(&w, &mut browser, &pending.url, "corp-sso", "mallory").await;
    let page = browser.get(&callback).await;
    let to_login = page.location.clone().expect("to the sign-in page");
    assert!(to_login.starts_with("/login?link=1"), "{to_login}");
    assert!(!to_login.contains(USERNAME), "the account's name is not told to whoever controls the upstream account: {to_login}");
    let alice = w.app.state.authn.find_by_username(USERNAME).await.expect("lookup").expect("alice");
    let linked = w.app.state.linked_identities(&alice.id).await.expect("links");
    assert!(linked.is_empty(), "nothing linked yet");

    // Bob signs in in that browser: the link waited for alice, not him.
    w.app.add_user("bob", "green lantern dancing by the sea").await;
    let form = browser.get(&to_login).await;
    assert!(form.body.contains("to link your Corp SSO account"), "{}", form.body);
    let (csrf, authz) = (form.field("csrf_token").expect("csrf"), form.field("authz").expect("authz"));
    let signed = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", "bob"), ("password", "green lantern dancing by the sea")]).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let bob = w.app.state.authn.find_by_username("bob").await.expect("lookup").expect("bob");
    assert!(w.app.state.linked_identities(&bob.id).await.expect("links").is_empty());
    assert!(w.app.state.linked_identities(&alice.id).await.expect("links").is_empty(), "the link was used up, not applied");

    // Alice, in her own browser: the upstream sends her to sign in, she does, it links.
    let mut own = w.app.browser();
    let pending = w.rp.authorize(&[]);
    let callback = to_upstream(&w, &mut own, &pending.url, "corp-sso", "mallory").await;
    let to_login = own.get(&callback).await.location.expect("to the sign-in page");
    let form = own.get(&to_login).await;
    let (csrf, authz) = (form.field("csrf_token").expect("csrf"), form.field("authz").expect("authz"));
    let signed = own.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let linked = w.app.state.linked_identities(&alice.id).await.expect("links");
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].0.subject, "upstream-mallory");
    assert!(kinds(&w.app).await.iter().any(|k| k == "identity_linked"));

    // From now on the upstream account signs in as alice directly.
    let mut third = w.app.browser();
    let pending = w.rp.authorize(&[]);
    let callback = to_upstream(&w, &mut third, &pending.url, "corp-sso", "mallory").await;
    let back = back_to_rp(&mut third, &callback).await;
    let tokens = w.rp.exchange(back.code.as_deref().expect("code"), pending.verifier).await.expect("tokens");
    assert_eq!(jwt::payload(&tokens.id_token().expect("id token").to_string())["sub"], alice.id.0);
}

/// The answer of a flow is refused when it arrives in another browser, at
/// another provider's callback (mix-up), naming another issuer (RFC 9207),
/// or when sign-up is off; none of them creates an account.
#[tokio::test]
async fn answers_that_do_not_belong_are_refused() {
    let Some(w) = world(Backend::Sqlite, false, LinkRule::ExistingSignIn).await else { return };
    let count = || async { w.app.state.authn.list_users().await.expect("users").len() };
    let before = count().await;

    // Another browser presents the callback.
    let mut victim = w.app.browser();
    let callback = to_upstream(&w, &mut victim, &w.rp.authorize(&[]).url, "corp-sso", "carol").await;
    let mut attacker = w.app.browser();
    attacker.get("/login").await;
    let page = attacker.get(&callback).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(victim.get(&callback).await.status, 400, "the flow was spent by the first use");

    // Provider mix-up: corp-sso's answer at partner's callback.
    let mut browser = w.app.browser();
    let callback = to_upstream(&w, &mut browser, &w.rp.authorize(&[]).url, "corp-sso", "carol").await;
    let page = browser.get(&callback.replace("/federation/corp-sso/", "/federation/partner/")).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("could not be verified"), "{}", page.body);

    // RFC 9207: an `iss` naming another issuer.
    let mut browser = w.app.browser();
    let callback = to_upstream(&w, &mut browser, &w.rp.authorize(&[]).url, "corp-sso", "carol").await;
    let forged = url::Url::parse(&callback).expect("callback");
    let query: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "iss" { "https://evil.example".to_string() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    let forged = format!("{}?{}", callback.split('?').next().unwrap_or_default(), serde_urlencoded::to_string(&query).expect("query"));
    assert_eq!(browser.get(&forged).await.status, 400);

    // Sign-up is off: a stranger is told in plain words.
    let mut browser = w.app.browser();
    let callback = to_upstream(&w, &mut browser, &w.rp.authorize(&[]).url, "corp-sso", "carol").await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("no account here for your Corp SSO account"), "{}", page.body);

    assert_eq!(count().await, before, "no account was created");
    assert!(kinds(&w.app).await.iter().filter(|k| *k == "federated_sign_in_failed").count() >= 2);

    // A disabled provider: no button, and its start refuses.
    w.app.state.admin(Actor::Cli).set_provider_disabled("partner", true).await.expect("disable");
    let mut browser = w.app.browser();
    let login = browser.get("/login").await;
    assert!(!login.body.contains("Continue with Partner") && login.body.contains("Continue with Corp SSO"));
    assert_eq!(browser.get("/federation/partner/start").await.status, 403);
    assert_eq!(browser.get("/federation/nobody/start").await.status, 404);
}

/// Home-realm discovery: an email of the provider's domain typed as the
/// username goes to that provider (with it as `login_hint`); others get the
/// password check as before.
#[tokio::test]
async fn an_email_of_a_providers_domain_goes_to_that_provider() {
    let Some(w) = world(Backend::Sqlite, true, LinkRule::ExistingSignIn).await else { return };
    let mut browser = w.app.browser();
    let form = browser.get("/login").await;
    let csrf = form.field("csrf_token").expect("csrf");
    let page = browser.post_form("/login", &[("csrf_token", &csrf), ("username", "Carol@Corp.Example"), ("password", "")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.expect("to the provider");
    assert!(location.starts_with(&w.upstream.issuer) && location.contains("login_hint=Carol%40Corp.Example"), "{location}");
    let page = browser.post_form("/login", &[("csrf_token", &csrf), ("username", "someone@elsewhere.example"), ("password", "x")]).await;
    assert_eq!(page.status, 401, "not a provider's domain: the password is checked");
}

/// An unreachable provider: a clear page, nothing kept.
#[tokio::test]
async fn an_unreachable_provider_gets_a_clear_page() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let settings = ProviderSettings {
        name: "Down".into(),
        kind: ProviderKind::Oidc,
        issuer: "http://127.0.0.1:9".into(),
        client_id: "c".into(),
        client_secret: Some("s".into()),
        scopes: vec![],
        domains: vec![],
        link: LinkRule::ExistingSignIn,
        signup: true,
        trust_upstream_mfa: false,
        upstream_logout: false,
    };
    app.state.admin(Actor::Cli).add_provider(settings).await.expect("add");
    let mut browser = app.browser();
    let page = browser.get("/federation/down/start").await;
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(page.body.contains("Down did not answer"), "{}", page.body);

    // Callback flooding from one address: refused once over the limit,
    // before any flow is looked up.
    let limit = latchkey_authn::rate_limit::FEDERATION_PER_IP.max as usize;
    for i in 1..limit {
        let page = browser.get(&format!("/federation/down/callback?state=guess{i}&code=x")).await;
        assert_eq!(page.status, 400, "request {i}: an unknown state");
    }
    let page = browser.get("/federation/down/callback?state=guess&code=x").await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.headers.contains_key("retry-after"));
}

/// Links the upstream `mallory` to alice (existing-sign-in rule) in
/// `browser`: the upstream, then alice's own sign-in (`then` answers a
/// second step if she owes one).
async fn link_mallory_to_alice(w: &World, browser: &mut Browser, totp: Option<&str>) {
    let pending = w.rp.authorize(&[]);
    let callback = to_upstream(w, browser, &pending.url, "corp-sso", "mallory").await;
    let to_login = browser.get(&callback).await.location.expect("to the sign-in page");
    let form = browser.get(&to_login).await;
    let (csrf, authz) = (form.field("csrf_token").expect("csrf"), form.field("authz").expect("authz"));
    let signed = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    if let Some(secret) = totp {
        let step = signed.location.expect("to the second step");
        assert!(step.starts_with("/login/mfa"), "{step}");
        crate::mfa::answer_second_step(browser, &step, &crate::mfa::code_at(secret, w.app.clock_now())).await;
    }
}

/// An account with its own second factor: a sign-in through the provider
/// is one factor, so latchkey asks for the second (step-up); the ID token
/// then says `fed` and `otp`. The pending link also survives the second
/// step of the sign-in that confirms it.
#[tokio::test]
async fn an_account_with_a_second_factor_is_asked_for_it_after_the_provider() {
    let Some(w) = world(Backend::Sqlite, false, LinkRule::ExistingSignIn).await else { return };
    w.app.add_user(USERNAME, PASSWORD).await;
    let mut setup = w.app.browser();
    crate::mfa::sign_in_password(&mut setup).await;
    let (secret, _) = crate::mfa::enrol(&w.app, &mut setup).await;
    w.app.clock.advance(60);
    let mut browser = w.app.browser();
    link_mallory_to_alice(&w, &mut browser, Some(&secret)).await;
    let alice = w.app.state.authn.find_by_username(USERNAME).await.expect("lookup").expect("alice");
    assert_eq!(w.app.state.linked_identities(&alice.id).await.expect("links").len(), 1, "linked after the second step");

    w.app.clock.advance(60);
    let mut fresh = w.app.browser();
    let pending = w.rp.authorize(&[]);
    let callback = to_upstream(&w, &mut fresh, &pending.url, "corp-sso", "mallory").await;
    let page = fresh.get(&callback).await;
    let step = page.location.clone().expect("to latchkey's second step");
    assert!(step.starts_with("/login/mfa?m="), "the upstream alone does not sign alice in: {step}");
    assert!(page.set_cookie("__Host-latchkey-session").is_none(), "no session before the second factor");
    let done = crate::mfa::answer_second_step(&mut fresh, &step, &crate::mfa::code_at(&secret, w.app.clock_now())).await;
    let onwards = done.location.clone().unwrap_or_else(|| panic!("onwards: {} {}", done.status, done.body));
    let back = back_to_rp(&mut fresh, &onwards).await;
    let tokens = w.rp.exchange(back.code.as_deref().expect("code"), pending.verifier).await.expect("tokens");
    let claims = jwt::payload(&tokens.id_token().expect("id token").to_string());
    assert_eq!(claims["sub"], alice.id.0);
    let amr: Vec<&str> = claims["amr"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
    assert!(amr.contains(&"fed") && amr.contains(&"otp") && !amr.contains(&"pwd"), "{amr:?}");
    assert_eq!(claims["acr"], "urn:latchkey:acr:mfa");
}

/// Two nodes over PostgreSQL and Redis: the flow started on one node is
/// answered on the other (the provider's redirect may land anywhere).
#[tokio::test]
async fn the_callback_may_land_on_the_other_node() {
    let Some(w) = world(Backend::Postgres, true, LinkRule::ExistingSignIn).await else { return };
    let other = w.app.second_node().await;
    let mut on_first = w.app.browser();
    let pending = w.rp.authorize(&[]);
    let callback = to_upstream(&w, &mut on_first, &pending.url, "corp-sso", "carol").await;
    let mut on_second = other.browser();
    on_second.cookies = on_first.cookies.clone();
    let back = back_to_rp(&mut on_second, &callback).await;
    let tokens = w.rp.exchange(back.code.as_deref().expect("code"), pending.verifier).await.expect("tokens");
    assert_eq!(jwt::payload(&tokens.id_token().expect("id token").to_string())["amr"], serde_json::json!(["fed"]));
    // And its replay on the first node finds nothing.
    assert_eq!(on_first.get(&callback).await.status, 400);
}

/// "Linked sign-ins" on the account page: a signed-up user links a second
/// provider, unlinks the first; the last way in cannot be unlinked; an
/// upstream account linked to someone else cannot be linked again.
#[tokio::test]
async fn linked_sign_ins_are_listed_added_and_removed_but_never_the_last() {
    let Some(w) = world(Backend::Sqlite, true, LinkRule::ExistingSignIn).await else { return };
    let mut browser = w.app.browser();
    let pending = w.rp.authorize(&[]);
    let callback = to_upstream(&w, &mut browser, &pending.url, "corp-sso", "carol").await;
    back_to_rp(&mut browser, &callback).await;
    let carol = w.app.state.authn.find_by_email("carol@corp.example").await.expect("lookup").pop().expect("carol");

    let page = browser.get("/account").await;
    assert!(page.body.contains("Linked sign-ins") && page.body.contains("carol@corp.example"), "{}", page.body);
    assert!(page.body.contains("Upgrade your sign-in with a passkey"), "a new federated account is offered a passkey");
    assert!(page.body.contains("Link your Partner account"), "{}", page.body);
    let csrf = page.field("csrf_token").expect("csrf");
    let last = browser.post_form("/account/linked/unlink", &[("csrf_token", &csrf), ("provider", "corp-sso")]).await;
    assert_eq!(last.status, 409, "the only way in: {}", last.body);
    assert!(last.body.contains("only way to sign in"), "{}", last.body);

    // Link Partner: to the upstream and back to the account page.
    let away = browser.post_form("/account/linked/add", &[("csrf_token", &csrf), ("provider", "partner")]).await;
    assert_eq!(away.status, 303, "{}", away.body);
    let authorize = away.location.expect("to the upstream");
    assert!(authorize.starts_with(&w.upstream.issuer), "{authorize}");
    let callback = w.upstream.sign_in(&authorize, "carol").await;
    let back = browser.get(&callback).await;
    assert_eq!(back.location.as_deref(), Some("/account#linked"), "{}", back.body);
    let links = w.app.state.linked_identities(&carol.id).await.expect("links");
    assert_eq!(links.iter().map(|(r, _)| r.provider_id.as_str()).collect::<Vec<_>>(), vec!["corp-sso", "partner"]);

    let page = browser.get("/account").await;
    let csrf = page.field("csrf_token").expect("csrf");
    let done = browser.post_form("/account/linked/unlink", &[("csrf_token", &csrf), ("provider", "corp-sso")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(w.app.state.linked_identities(&carol.id).await.expect("links").len(), 1);
    let page = browser.get("/account").await;
    let csrf = page.field("csrf_token").expect("csrf");
    assert_eq!(browser.post_form("/account/linked/unlink", &[("csrf_token", &csrf), ("provider", "partner")]).await.status, 409);
    assert!(kinds(&w.app).await.iter().any(|k| k == "identity_unlinked"));

    // An upstream account without an email cannot sign up (nothing is created).
    let mut other = w.app.browser();
    let callback = to_upstream(&w, &mut other, &w.rp.authorize(&[]).url, "corp-sso", "nomail").await;
    let refused = other.get(&callback).await;
    assert_eq!(refused.status, 400, "sign-up needs an email: {}", refused.body);

    // Mallory's upstream account signs up through corp-sso; carol cannot
    // then link that same upstream account to hers.
    let mut mallory = w.app.browser();
    let callback = to_upstream(&w, &mut mallory, &w.rp.authorize(&[]).url, "corp-sso", "mallory").await;
    back_to_rp(&mut mallory, &callback).await;
    let page = browser.get("/account").await;
    let csrf = page.field("csrf_token").expect("csrf");
    let away = browser.post_form("/account/linked/add", &[("csrf_token", &csrf), ("provider", "corp-sso")]).await;
    let callback = w.upstream.sign_in(&away.location.expect("to the upstream"), "mallory").await;
    let taken = browser.get(&callback).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(w.app.state.linked_identities(&carol.id).await.expect("links").len(), 1, "carol keeps only her own");
}

/// The admin API's providers: the same use cases as the CLI. The secret
/// goes in and never comes out; a bad issuer is refused; disable, delete.
#[tokio::test]
async fn providers_through_the_admin_api() {
    use crate::accounts::{admin_post, admin_token};
    use crate::support::raw::bearer;
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let token = admin_token(&app).await;
    let body = serde_json::json!({
        "name": "Corp SSO", "issuer": "https://id.corp.example", "client_id": "latchkey", "client_secret": "api-secret-1234",
        "domains": ["corp.example"], "link": "verified-email", "signup": true,
    });
    let (status, created) = admin_post(&app, "/admin/api/v1/providers", Some(&token), &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], "corp-sso");
    assert_eq!(created["redirect_uri"], app.url("/federation/corp-sso/callback"));
    assert!(!created.to_string().contains("api-secret-1234"), "the secret never comes back: {created}");
    let (status, again) = admin_post(&app, "/admin/api/v1/providers", Some(&token), &body).await;
    assert_eq!(status, 409, "{again}");
    let bad = serde_json::json!({ "name": "Plain", "issuer": "http://id.corp.example", "client_id": "x", "client_secret": "y" });
    assert_eq!(admin_post(&app, "/admin/api/v1/providers", Some(&token), &bad).await.0, 400);
    assert_eq!(admin_post(&app, "/admin/api/v1/providers", None, &body).await.0, 401, "no token, no provider");

    let list = bearer(&app, "GET", "/admin/api/v1/providers", &token).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body[0]["link"], "verified-email");
    let (status, done) = admin_post(&app, "/admin/api/v1/providers/corp-sso/disable", Some(&token), &serde_json::json!({})).await;
    assert_eq!((status, done["enabled"].clone()), (200, serde_json::json!(false)));
    assert!(kinds(&app).await.iter().any(|k| k == "provider_disabled"));
    assert_eq!(bearer(&app, "DELETE", "/admin/api/v1/providers/corp-sso", &token).await.status, 200);
    assert_eq!(bearer(&app, "GET", "/admin/api/v1/providers/corp-sso", &token).await.status, 404);
    let doc = bearer(&app, "GET", "/admin/api/v1/openapi.json", &token).await;
    assert!(doc.body["paths"]["/admin/api/v1/providers"].is_object() || doc.body["paths"]["/providers"].is_object(), "in the generated document");
}

/// A client that reaches the stand-ins directly (a [`TestApp::http`]
/// client sends everything to latchkey's node).
fn direct() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder().redirect(openidconnect::reqwest::redirect::Policy::none()).no_proxy().build().expect("client")
}

async fn github_world(account: crate::support::github::GithubAccount) -> Option<(TestApp, crate::support::github::GithubStandIn, Rp)> {
    use crate::support::github::{GithubStandIn, CLIENT_ID, CLIENT_SECRET};
    let app = TestApp::start(Backend::Sqlite).await?;
    let github = GithubStandIn::start(account);
    let settings = ProviderSettings {
        name: "GitHub".into(),
        kind: ProviderKind::Github,
        issuer: github.base.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        scopes: vec![],
        domains: vec![],
        link: LinkRule::ExistingSignIn,
        signup: true,
        trust_upstream_mfa: false,
        upstream_logout: false,
    };
    app.state.admin(Actor::Cli).add_provider(settings).await.expect("add provider");
    let (client_id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &client_id, secret.as_deref()).await;
    Some((app, github, rp))
}

/// GitHub (OAuth 2.0 without OpenID Connect): the subject is the numeric
/// id, not the login; only the primary address, verified, counts.
#[tokio::test]
async fn a_github_account_signs_up_with_its_verified_primary_address() {
    use crate::support::github::GithubAccount;
    let account = GithubAccount {
        id: 583231,
        login: "octocat".into(),
        name: Some("The Octocat".into()),
        emails: vec![("octo@secondary.example".into(), false, true), ("octocat@github.example".into(), true, true)],
    };
    let Some((app, _github, rp)) = github_world(account).await else { return };
    let mut browser = app.browser();
    let pending = rp.authorize(&[]);
    let to_login = browser.get(&pending.url).await.location.expect("to sign in");
    let login = browser.get(&to_login).await;
    assert!(login.body.contains("Continue with GitHub"));
    let away = browser.get("/federation/github/start").await;
    let authorize = away.location.expect("to GitHub");
    assert!(authorize.contains("/login/oauth/authorize") && authorize.contains("code_challenge_method=S256") && !authorize.contains("nonce="), "{authorize}");
    // The stand-in signs the user in at once and sends them back.
    let back = direct().get(&authorize).send().await.expect("authorize");
    let callback = back.headers().get("location").and_then(|v| v.to_str().ok()).expect("back to latchkey").to_string();
    let done = browser.get(&callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let user = app.state.authn.find_by_email("octocat@github.example").await.expect("lookup").pop().expect("the new account");
    assert!(user.email_verified);
    assert_eq!(user.username, "octocat");
    let links = app.state.linked_identities(&user.id).await.expect("links");
    assert_eq!(links[0].0.subject, "583231", "the stable id, never the login");
    assert!(app.state.authn.find_by_email("octo@secondary.example").await.expect("lookup").is_empty());
}

#[tokio::test]
async fn an_unverified_github_primary_address_is_not_taken() {
    use crate::support::github::GithubAccount;
    let account = GithubAccount { id: 7, login: "someone".into(), name: None, emails: vec![("victim@example.com".into(), true, false), ("mine@example.com".into(), false, true)] };
    let Some((app, _github, _rp)) = github_world(account).await else { return };
    let mut browser = app.browser();
    let authorize = browser.get("/federation/github/start").await.location.expect("to GitHub");
    let back = direct().get(&authorize).send().await.expect("authorize");
    let callback = back.headers().get("location").and_then(|v| v.to_str().ok()).expect("back").to_string();
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 400, "no verified primary address, so no account: {}", page.body);
    assert!(page.body.contains("did not share an email address"), "{}", page.body);
    assert!(app.state.authn.list_users().await.expect("users").is_empty());
}

/// carol signed in through corp-sso (a new account), with her upstream
/// browser's cookies (her session at the provider).
async fn carol_signed_in(w: &World) -> (Browser, std::collections::BTreeMap<String, String>) {
    let mut browser = w.app.browser();
    let pending = w.rp.authorize(&[]);
    let (callback, upstream_cookies) = to_upstream_keeping(w, &mut browser, &pending.url, "carol").await;
    back_to_rp(&mut browser, &callback).await;
    (browser, upstream_cookies)
}

/// Back-channel logout from the provider: the user signs out there, the
/// provider posts a logout token, the latchkey session it signed in ends.
/// A token latchkey cannot verify ends nothing.
#[tokio::test]
async fn the_providers_back_channel_logout_ends_the_session_it_signed_in() {
    let Some(w) = world(Backend::Postgres, true, LinkRule::ExistingSignIn).await else { return };
    let (mut browser, upstream_cookies) = carol_signed_in(&w).await;
    assert_eq!(browser.get("/account").await.status, 200, "signed in");

    // Forged and malformed tokens: refused, nothing ends.
    let forged = {
        let key = jsonwebtoken::EncodingKey::from_secret(b"not the provider's key");
        let claims = serde_json::json!({ "iss": w.upstream.issuer, "aud": "latchkey-corp-sso", "iat": w.app.clock_now(), "jti": "j1", "sub": "upstream-carol",
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} } });
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).expect("token")
    };
    for token in [forged.as_str(), "not.a.token"] {
        let r = w.app.http().post(w.app.url("/federation/corp-sso/backchannel-logout")).form(&[("logout_token", token)]).send().await.expect("post");
        assert_eq!(r.status().as_u16(), 400);
    }
    assert_eq!(browser.get("/account").await.status, 200, "still signed in");

    // The user signs out at the provider.
    let status = w.upstream.sign_out(&upstream_cookies).await;
    assert!(status < 400, "upstream sign-out: {status}");
    let mut ended = false;
    for _ in 0..50 {
        if browser.get("/account").await.status == 303 {
            ended = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ended, "the provider's logout token ended the latchkey session");
}

/// The whole flow in a real browser (headless Chromium): a relying party
/// asks latchkey, the user clicks "Continue with Corp SSO", signs in at the
/// upstream's own pages, comes back, consents; the relying party gets an ID
/// token with latchkey's `sub` and `amr` `fed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_the_upstream_provider() {
    if crate::support::services::skip_slow("a real browser (chromium) through an upstream provider") {
        return;
    }
    let Some(w) = world(Backend::Sqlite, true, LinkRule::ExistingSignIn).await else { return };
    let Some(mut chrome) = crate::support::cdp::Chrome::launch().await else { return };
    let pending = w.rp.authorize(&[]);
    chrome.navigate(&pending.url).await;
    assert!(chrome.wait_for("document.body.innerText.includes('Continue with Corp SSO')", 15).await, "latchkey's sign-in page");
    chrome.eval("[...document.querySelectorAll('a')].find(a => a.textContent.includes('Continue with Corp SSO')).click(); true").await;
    let at_upstream = chrome.wait_for("!!document.querySelector('input[name=login]')", 15).await;
    assert!(at_upstream, "the upstream's sign-in page: {}", chrome.eval("location.href").await);
    chrome.eval("document.querySelector('input[name=login]').value = 'carol'; document.querySelector('input[name=password]').value = 'any'; document.querySelector('input[name=login]').form.submit(); true").await;
    // The upstream's consent, then latchkey's.
    assert!(chrome.wait_for("!!document.querySelector('input[name=prompt][value=consent]')", 15).await, "the upstream's consent: {}", chrome.eval("location.href").await);
    chrome.eval("document.querySelector('input[name=prompt]').form.submit(); true").await;
    assert!(
        chrome.wait_for("location.pathname === '/consent' && document.readyState === 'complete'", 15).await,
        "latchkey's consent: {}",
        chrome.eval("location.href + ' ' + document.body.innerText.slice(0, 300)").await
    );
    chrome.eval("document.querySelector('button[name=decision][value=allow]').click(); true").await;
    // Nothing listens at the relying party's redirect URI: the browser shows
    // its error page, and the navigation history keeps the URL it went to.
    let left = chrome.wait_for(&format!("location.href.startsWith('{REDIRECT_URI}') || location.href.startsWith('chrome-error:')"), 15).await;
    assert!(left, "back at the relying party: {}", chrome.eval("location.href").await);
    let history = chrome.call("Page.getNavigationHistory", serde_json::json!({})).await;
    let href = history["entries"].as_array().and_then(|e| e.iter().rev().find_map(|e| e["url"].as_str().filter(|u| u.starts_with(REDIRECT_URI)))).unwrap_or_default().to_string();
    let back = AuthResponse::parse(&href);
    let tokens = w.rp.exchange(back.code.as_deref().expect("code"), pending.verifier).await.expect("tokens");
    let claims = jwt::payload(&tokens.id_token().expect("id token").to_string());
    let carol = w.app.state.authn.find_by_email("carol@corp.example").await.expect("lookup").pop().expect("carol");
    assert_eq!(claims["sub"], carol.id.0);
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
}

/// Signing out of latchkey signs out of the provider too (when it is set
/// to): the browser goes to the provider's end-session page naming
/// latchkey's client, and comes back to latchkey's signed-out page.
#[tokio::test]
async fn signing_out_here_signs_out_at_the_provider() {
    let Some(w) = world(Backend::Sqlite, true, LinkRule::ExistingSignIn).await else { return };
    let (mut browser, upstream_cookies) = carol_signed_in(&w).await;
    let page = browser.get("/account").await;
    let csrf = page.field("csrf_token").expect("csrf");
    let out = browser.post_form("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    let to_provider = out.location.expect("to the provider");
    assert!(to_provider.starts_with(&w.upstream.issuer) && to_provider.contains("client_id=latchkey-corp-sso") && to_provider.contains("post_logout_redirect_uri="), "{to_provider}");
    assert_eq!(browser.get("/account").await.status, 303, "signed out here before going there");
    let (_, back) = w.upstream.sign_out_at(&to_provider, &upstream_cookies).await;
    let back = back.expect("back to latchkey");
    assert!(back.starts_with(&w.app.url("/federation/corp-sso/signed-out")), "{back}");
    let landed = browser.get(&back).await;
    assert_eq!(landed.status, 200);
    assert!(landed.body.contains("signed out"), "{}", landed.body);
}

/// latchkey with the stand-in provider `fake` added as `name` (sign-up on).
async fn with_fake_provider(app: &TestApp, fake: &crate::support::fake_oidc::FakeOidc, name: &str) {
    use crate::support::fake_oidc::{CLIENT_ID, CLIENT_SECRET};
    let settings = ProviderSettings {
        name: name.into(),
        kind: ProviderKind::Oidc,
        issuer: fake.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        scopes: vec![],
        domains: vec![],
        link: LinkRule::ExistingSignIn,
        signup: true,
        trust_upstream_mfa: false,
        upstream_logout: false,
    };
    app.state.admin(Actor::Cli).add_provider(settings).await.expect("add provider");
}

/// A sign-in through the stand-in provider `provider` with its next ID
/// token made as `forgery`: latchkey's answer to the callback.
async fn through_fake(app: &TestApp, fake: &crate::support::fake_oidc::FakeOidc, provider: &str, forgery: crate::support::fake_oidc::Forgery) -> crate::support::browser::Page {
    fake.set(forgery);
    let mut browser = app.browser();
    let away = browser.get(&format!("/federation/{provider}/start")).await;
    let authorize = away.location.unwrap_or_else(|| panic!("to the provider: {} {}", away.status, away.body));
    let back = direct().get(&authorize).send().await.expect("authorize");
    let callback = back.headers().get("location").and_then(|v| v.to_str().ok()).expect("back").to_string();
    browser.get(&callback).await
}

/// ID tokens that must not sign anyone in: wrong `iss`, `aud`, `azp` or
/// `nonce`, expired, unsigned, signed with a key the provider does not
/// publish. Each is refused ("could not be verified"), audited, and creates
/// nothing; the honest one then works.
#[tokio::test]
async fn forged_id_tokens_are_refused() {
    use crate::support::fake_oidc::{FakeOidc, Forgery};
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let fake = FakeOidc::start();
    with_fake_provider(&app, &fake, "Fake").await;
    let attempt = |forgery: Forgery| through_fake(&app, &fake, "fake", forgery);
    for forgery in [Forgery::WrongIssuer, Forgery::WrongAudience, Forgery::OtherAuthorizedParty, Forgery::WrongNonce, Forgery::Expired, Forgery::Unsigned, Forgery::OtherKey] {
        let page = attempt(forgery).await;
        assert_eq!(page.status, 400, "{forgery:?}: {}", page.body);
        assert!(page.body.contains("could not be verified"), "{forgery:?}: {}", page.body);
        assert!(page.set_cookie("__Host-latchkey-session").is_none(), "{forgery:?}");
    }
    assert!(app.state.authn.list_users().await.expect("users").is_empty(), "no account from a forged token");
    assert_eq!(kinds(&app).await.iter().filter(|k| *k == "federated_sign_in_failed").count(), 7);
    let page = attempt(Forgery::Honest).await;
    assert_eq!(page.status, 303, "the honest token signs in: {}", page.body);
    assert_eq!(app.state.authn.list_users().await.expect("users").len(), 1);
}

/// A multi-tenant provider (Microsoft Entra ID's `organizations`): its
/// discovered issuer is a template; a token whose `iss` is its own tenant's
/// signs in, one whose `iss` names another tenant than its `tid` does not.
#[tokio::test]
async fn a_multi_tenant_providers_tokens_name_their_own_tenant() {
    use crate::support::fake_oidc::{FakeOidc, Forgery};
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let fake = FakeOidc::start_multi_tenant(tid);
    with_fake_provider(&app, &fake, "Entra").await;
    let attempt = |forgery: Forgery| through_fake(&app, &fake, "entra", forgery);
    let other = attempt(Forgery::OtherTenant).await;
    assert_eq!(other.status, 400, "iss of another tenant: {}", other.body);
    assert!(app.state.authn.list_users().await.expect("users").is_empty());
    let page = attempt(Forgery::Honest).await;
    assert_eq!(page.status, 303, "its own tenant: {}", page.body);
    let user = app.state.authn.find_by_email("victim@example.com").await.expect("lookup").pop().expect("the account");
    assert_eq!(app.state.linked_identities(&user.id).await.expect("links")[0].0.subject, "fake-user");
}

/// A provider that accepts the connection and never answers: cut off after
/// 5 s (`UPSTREAM_TIMEOUT`) with the same clear page, nothing kept.
#[tokio::test]
async fn a_provider_that_never_answers_is_cut_off() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    // Bound, never accepted: the connection opens (the backlog) and hangs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let settings = ProviderSettings {
        name: "Silent".into(),
        kind: ProviderKind::Oidc,
        issuer: format!("http://127.0.0.1:{}", silent.local_addr().expect("addr").port()),
        client_id: "c".into(),
        client_secret: Some("s".into()),
        scopes: vec![],
        domains: vec![],
        link: LinkRule::ExistingSignIn,
        signup: true,
        trust_upstream_mfa: false,
        upstream_logout: false,
    };
    app.state.admin(Actor::Cli).add_provider(settings).await.expect("add");
    let mut browser = app.browser();
    let started = std::time::Instant::now();
    let page = browser.get("/federation/silent/start").await;
    let waited = started.elapsed();
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(page.body.contains("Silent did not answer"), "{}", page.body);
    assert!(waited >= latchkey_app::federation::UPSTREAM_TIMEOUT && waited < latchkey_app::federation::UPSTREAM_TIMEOUT * 2, "cut off at the timeout, not before or long after: {waited:?}");
    drop(silent);
}
