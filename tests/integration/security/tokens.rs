//! Findings 8, 10, 11, introspection, and the session cache: tokens that die
//! when they should, on both backends.

use latchkey_domain::{Amr, GrantType, SigningAlg};
use latchkey_store::FastStore;
use openidconnect::OAuth2TokenResponse;
use serde_json::Value;

use super::{error_of, token};
use crate::support::raw::{bearer, post_form};
use crate::support::rp::sign_in_default;
use crate::support::services::RedisPrefix;
use crate::support::{Backend, Rp, TestApp, TestClient, PASSWORD, REDIRECT_URI, USERNAME};

struct Setup {
    app: TestApp,
    rp: Rp,
    id: String,
    secret: String,
    browser: crate::support::Browser,
}

/// A user signed in to a confidential client (consent given).
async fn setup(backend: Backend) -> Option<Setup> {
    setup_with(backend, true).await
}

/// [`setup`], with a client that may refresh (`refresh`) or not.
async fn setup_with(backend: Backend, refresh: bool) -> Option<Setup> {
    let app = TestApp::start(backend).await?;
    app.add_user(USERNAME, PASSWORD).await;
    let grants = if refresh { vec![GrantType::AuthorizationCode, GrantType::RefreshToken] } else { vec![GrantType::AuthorizationCode] };
    let (id, secret) = TestClient::web_app("Test Web App").grants(grants).id_token_alg(SigningAlg::RS256).register(&app).await;
    let secret = secret.expect("confidential");
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let mut browser = app.browser();
    let first = rp.authorize(&[]);
    sign_in_default(&mut browser, &first.url).await.code.expect("code");
    Some(Setup { app, rp, id, secret, browser })
}

/// A fresh code for the signed-in browser, with its verifier.
async fn code(s: &mut Setup) -> (String, String) {
    let req = s.rp.authorize(&[]);
    let location = s.browser.get(&req.url).await.location.unwrap_or_default();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let code = url::Url::parse(&location).expect("url").query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).expect("code");
    (code, req.verifier.secret().clone())
}

fn field(a: &crate::support::raw::Answer, name: &str) -> String {
    a.body.get(name).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Finding 8: two redemptions of one code at once never leave a live token.
/// `refresh`: the client also gets a refresh family (whose revocation a
/// racing replay may have to leave to the redemption), or only tokens
/// whose ids the spent code names before they are minted.
async fn racing_redemptions(backend: Backend, refresh: bool) {
    let Some(mut s) = setup_with(backend, refresh).await else { return };
    for round in 0..20 {
        let (code, verifier) = code(&mut s).await;
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier.as_str())];
        let (a, b) = tokio::join!(token(&s.app, (&s.id, &s.secret), &form), token(&s.app, (&s.id, &s.secret), &form));
        let winners: Vec<_> = [&a, &b].into_iter().filter(|r| r.status == 200).collect();
        assert!(winners.len() <= 1, "round {round}: one code, one grant");
        for loser in [&a, &b].into_iter().filter(|r| r.status != 200) {
            assert_eq!(error_of(loser), "invalid_grant", "round {round}: {:?}", loser.body);
        }
        for w in winners {
            assert_eq!(field(w, "refresh_token").is_empty(), !refresh, "round {round}: {:?}", w.body);
            let userinfo = bearer(&s.app, "GET", "/userinfo", &field(w, "access_token")).await;
            assert_eq!(userinfo.status, 401, "round {round}: the access token is revoked");
            if !refresh {
                continue;
            }
            let refresh = token(&s.app, (&s.id, &s.secret), &[("grant_type", "refresh_token"), ("refresh_token", &field(w, "refresh_token"))]).await;
            assert_eq!((refresh.status, error_of(&refresh)), (400, "invalid_grant"), "round {round}: the refresh family is revoked");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f08_racing_code_redemptions_leave_nothing_alive_on_sqlite() {
    racing_redemptions(Backend::Sqlite, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f08_racing_code_redemptions_leave_nothing_alive_on_postgres_and_redis() {
    racing_redemptions(Backend::Postgres, true).await;
}

/// A client without refresh tokens: the redemption skips the replay check
/// a family needs (issue #31); the access token still dies with a replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f08_racing_code_redemptions_without_refresh_leave_nothing_alive_on_sqlite() {
    racing_redemptions(Backend::Sqlite, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f08_racing_code_redemptions_without_refresh_leave_nothing_alive_on_postgres_and_redis() {
    racing_redemptions(Backend::Postgres, false).await;
}

/// Finding 10: a session-bound refresh token dies when its session goes idle.
async fn refresh_dies_with_an_idle_session(backend: Backend) {
    let Some(mut s) = setup(backend).await else { return };
    let (code, verifier) = code(&mut s).await;
    let tokens = s.rp.exchange(&code, openidconnect::PkceCodeVerifier::new(verifier)).await.expect("exchange");
    let rt = tokens.refresh_token().expect("refresh token").secret().clone();
    let first = token(&s.app, (&s.id, &s.secret), &[("grant_type", "refresh_token"), ("refresh_token", &rt)]).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    s.app.clock.advance(8 * 3600 + 120); // the browser session is idle-expired; the family is not (14 days)
    let after = token(&s.app, (&s.id, &s.secret), &[("grant_type", "refresh_token"), ("refresh_token", &field(&first, "refresh_token"))]).await;
    assert_eq!((after.status, error_of(&after)), (400, "invalid_grant"), "{:?}", after.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f10_refresh_dies_with_an_idle_session_on_sqlite() {
    refresh_dies_with_an_idle_session(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f10_refresh_dies_with_an_idle_session_on_postgres_and_redis() {
    refresh_dies_with_an_idle_session(Backend::Postgres).await;
}

/// Finding 11: a code issued before sign-out does not redeem after it (the
/// token endpoint reads the session on the request's own thread since issue
/// #31: on SQLite inline, on PostgreSQL on the thread's own connection).
async fn code_from_before_sign_out(backend: Backend) {
    let Some(mut s) = setup(backend).await else { return };
    let (code, verifier) = code(&mut s).await;
    let csrf = s.browser.get("/account").await.field("csrf_token").unwrap_or_default();
    assert_eq!(s.browser.post_form("/logout", &[("csrf_token", &csrf)]).await.status, 200);
    let r = token(&s.app, (&s.id, &s.secret), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI), ("code_verifier", &verifier)]).await;
    assert_eq!((r.status, error_of(&r)), (400, "invalid_grant"), "{:?}", r.body);
    assert!(r.body.to_string().contains("session"), "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f11_a_code_from_before_sign_out_is_refused() {
    code_from_before_sign_out(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f11_a_code_from_before_sign_out_is_refused_on_postgres_and_redis() {
    code_from_before_sign_out(Backend::Postgres).await;
}

/// Informational: introspection describes an access token only to its client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_describes_access_tokens_only_to_their_client() {
    let Some(mut s) = setup(Backend::Sqlite).await else { return };
    let (code, verifier) = code(&mut s).await;
    let tokens = s.rp.exchange(&code, openidconnect::PkceCodeVerifier::new(verifier)).await.expect("exchange");
    let at = tokens.access_token().secret().clone();
    let (other_id, other_secret) = s.app.add_client(false, SigningAlg::RS256).await;
    let other_secret = other_secret.expect("confidential");
    let foreign = post_form(&s.app, "/introspect", &[("token", &at)], Some((&other_id, &other_secret))).await;
    assert_eq!(foreign.body, serde_json::json!({ "active": false }), "another client learns nothing");
    let own = post_form(&s.app, "/introspect", &[("token", &at)], Some((&s.id, &s.secret))).await;
    assert_eq!(own.body["active"], true);
    assert_eq!(own.body["sub"].as_str().map(str::len), Some(36));
}

/// Informational: a revoked session is never served from the cache, even
/// when a request refreshing its cached copy races the revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_sessions_are_never_served_from_the_cache_on_postgres_and_redis() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let user = app.add_user(USERNAME, PASSWORD).await;
    let sessions = app.state.sessions.clone();
    let info = latchkey_authn::ClientInfo::default();
    for round in 0..30 {
        let new = sessions.create(&user.id, vec![Amr::Pwd], info.clone(), None).await.expect("session");
        assert!(sessions.resolve(&new.cookie_value, &info).await.expect("resolve").is_some());
        app.clock.advance(61); // the next resolve refreshes the cached copy
        let (readers, revoker) = (sessions.clone(), sessions.clone());
        let (cookie, key, info2) = (new.cookie_value.clone(), new.session.key.clone(), info.clone());
        let read = tokio::spawn(async move {
            for _ in 0..5 {
                readers.resolve(&cookie, &info2).await.expect("resolve");
            }
        });
        let revoke = tokio::spawn(async move { revoker.revoke(&key).await.expect("revoke") });
        let _ = tokio::join!(read, revoke);
        assert!(sessions.resolve(&new.cookie_value, &info).await.expect("resolve").is_none(), "round {round}: revoked means revoked");
    }
}

/// Issue #31: a session is cached as it starts (the browser's next request
/// reads no row), and a revocation before any request still wins: the
/// tombstone replaces the creation's copy, and no later read brings it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_sessions_are_cached_at_once_and_revocation_still_wins_on_postgres_and_redis() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let user = app.add_user(USERNAME, PASSWORD).await;
    let sessions = app.state.sessions.clone();
    let info = latchkey_authn::ClientInfo::default();
    for round in 0..10 {
        let new = sessions.create(&user.id, vec![Amr::Pwd], info.clone(), None).await.expect("session");
        let cached = app.state.stores.fast.get(&format!("session:{}", new.session.key.0)).await.expect("redis");
        assert!(cached.as_deref().is_some_and(|c| c.contains(&new.session.sid)), "round {round}: cached at creation: {cached:?}");
        if round % 2 == 0 {
            assert!(sessions.resolve(&new.cookie_value, &info).await.expect("resolve").is_some(), "round {round}");
        }
        sessions.revoke(&new.session.key).await.expect("revoke");
        for _ in 0..3 {
            assert!(sessions.resolve(&new.cookie_value, &info).await.expect("resolve").is_none(), "round {round}: revoked means revoked");
        }
    }
}

/// The Redis twins of the atomic primitives the fixes rely on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_fast_store_primitives_are_atomic() {
    let Some(prefix) = RedisPrefix::create() else { return };
    let fast = FastStore::redis(&prefix.url, &prefix.prefix).await.expect("redis");
    let ttl = std::time::Duration::from_secs(60);
    fast.put("code", "grant", ttl).await.expect("put");
    let spends: Vec<Option<String>> = futures_util::future::join_all((0..16).map(|i| {
        let f = fast.clone();
        async move { f.spend("code", &format!("spent:{i}"), ttl).await.expect("spend") }
    }))
    .await;
    assert_eq!(spends.iter().filter(|v| v.as_deref() == Some("grant")).count(), 1, "exactly one spender sees the grant");
    assert!(spends.iter().all(|v| v.as_deref().is_some_and(|s| s == "grant" || s.starts_with("spent:"))));
    assert_eq!(fast.spend("missing", "spent:x", ttl).await.expect("spend"), None);
    fast.put("s", "revoked", ttl).await.expect("put");
    assert!(!fast.put_unless("s", "live", ttl, "revoked").await.expect("put_unless"));
    assert_eq!(fast.get("s").await.expect("get").as_deref(), Some("revoked"));
    assert!(fast.put_unless("t", "live", ttl, "revoked").await.expect("put_unless"));
    fast.decrement("n").await.expect("decrement");
    assert_eq!(fast.get("n").await.expect("get"), None, "decrement never creates a counter");
    fast.incr_window("n", ttl).await.expect("incr");
    fast.decrement("n").await.expect("decrement");
    fast.decrement("n").await.expect("decrement");
    assert_eq!(fast.get("n").await.expect("get").as_deref(), Some("0"));
}
