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
        ..Default::default()
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

/// Back at latchkey's callback, through consent, to the relying party.
async fn back_to_rp(browser: &mut Browser, callback: &str) -> AuthResponse {
    let mut page = browser.get(callback).await;
    for _ in 0..3 {
        let location = page.location.clone().unwrap_or_else(|| panic!("a redirect, got {} {}", page.status, page.body));
        if location.starts_with(REDIRECT_URI) {
            return AuthResponse::parse(&location);
        }
        assert!(location.starts_with("/consent"), "{location}");
        let form = browser.get(&location).await;
        let (csrf, authz) = (form.field("csrf_token").expect("csrf"), form.field("authz").expect("authz"));
        page = browser.post_form("/consent", &[("csrf_token", &csrf), ("authz", &authz), ("decision", "allow")]).await;
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
