//! Refresh-token families, revocation, introspection, client credentials, key
//! rotation and the admin API.

use std::sync::Arc;

use latchkey_domain::SigningAlg;
use latchkey_store::repo::audit;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::Value;

use crate::support::raw::{bearer, post_form, Answer};
use crate::support::rp::sign_in;
use crate::support::{jwt, Backend, Browser, Rp, TestApp, PASSWORD, USERNAME};

/// A signed-in relying party's tokens.
struct Tokens {
    access: String,
    refresh: String,
    id: String,
}

async fn tokens_for(rp: &Rp, browser: &mut Browser, user: &str, scopes: &[&str]) -> Tokens {
    let req = rp.authorize_scopes(scopes, &[]);
    let resp = sign_in(browser, &req.url, user, PASSWORD).await;
    let t = rp.exchange(resp.code.as_deref().expect("code"), req.verifier).await.expect("exchange");
    Tokens { access: t.access_token().secret().clone(), refresh: t.refresh_token().expect("a refresh token").secret().clone(), id: t.id_token().map(|i| i.to_string()).unwrap_or_default() }
}

fn basic(rp: &Rp) -> Option<(&str, &str)> {
    rp.secret.as_deref().map(|s| (rp.client_id.as_str(), s))
}

async fn refresh(app: &TestApp, rp: &Rp, token: &str) -> Answer {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if rp.secret.is_none() {
        form.push(("client_id", rp.client_id.as_str()));
    }
    post_form(app, "/token", &form, basic(rp)).await
}

async fn introspect(app: &TestApp, rp: &Rp, token: &str) -> Answer {
    post_form(app, "/introspect", &[("token", token)], basic(rp)).await
}

async fn setup(app: &TestApp) -> Rp {
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    Rp::discover(app, &id, secret.as_deref()).await
}

async fn rotation_and_reuse(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let rp = setup(&app).await;
    let mut browser = app.browser();
    let t = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
    assert!(t.refresh.starts_with("lkr_"), "scannable prefix");

    let r1 = refresh(&app, &rp, &t.refresh).await;
    assert_eq!(r1.status, 200, "{}", r1.body);
    let rt1 = r1.body["refresh_token"].as_str().expect("rotated token").to_string();
    let at1 = r1.body["access_token"].as_str().expect("access token").to_string();
    assert_ne!(rt1, t.refresh, "a new refresh token every time");
    assert!(r1.body.get("id_token").is_none(), "no ID token on refresh (OIDC Core §12.2)");
    assert_eq!(bearer(&app, "GET", "/userinfo", &at1).await.status, 200);

    // The stored form is a keyed hash, never the token.
    let raw = t.refresh.clone();
    let leaked = app.state.stores.db.run(move |c| latchkey_store::repo::refresh::find(c, &raw)).await.expect("db");
    assert!(leaked.is_none(), "refresh tokens are not stored in the clear");

    // Replaying the rotated token revokes the whole family…
    let replay = refresh(&app, &rp, &t.refresh).await;
    assert_eq!((replay.status, replay.body["error"].as_str()), (400, Some("invalid_grant")));
    // …including the newest token and the access token issued with it.
    let newest = refresh(&app, &rp, &rt1).await;
    assert_eq!(newest.body["error"], "invalid_grant", "{}", newest.body);
    assert_eq!(bearer(&app, "GET", "/userinfo", &at1).await.status, 401);
    assert_eq!(introspect(&app, &rp, &rt1).await.body["active"], false);
    let events = app.state.stores.db.run(|c| audit::recent(c, Some("refresh_token_reuse"), 10)).await.expect("audit");
    assert_eq!(events.len(), 1, "reuse is a recorded security event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_family_on_sqlite() {
    rotation_and_reuse(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_family_on_postgres_and_redis() {
    rotation_and_reuse(Backend::Postgres).await;
}

/// On PostgreSQL a rotation runs on connections of the server's own threads
/// (issue #17); a URL that path cannot serve (TLS required: it speaks no
/// TLS) falls back to the blocking pool. Either way a token rotates once and
/// its reuse revokes the family. The fallback needs libpq's TLS, which only
/// a `postgres-tls` build has; a default build refuses that URL at start
/// and says how to get TLS (issue #25).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotations_use_their_own_connections_or_fall_back_on_postgres() {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let cases: &[(&str, bool)] = if latchkey_store::tls::POSTGRES_TLS {
        &[("", true), ("?sslmode=require", false)]
    } else {
        let Some(pg) = crate::support::services::PgDatabase::create() else { return };
        let refused = latchkey_store::Db::connect(&latchkey_store::DbConfig { url: format!("{}?sslmode=require", pg.url) }).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("--features postgres-tls"), "a build without PostgreSQL TLS refuses sslmode=require and says how: {refused}");
        &[("", true)]
    };
    for &(suffix, own_connections) in cases {
        let Some(app) = TestApp::start_with(Backend::Postgres, |s| {
            if let Some(url) = &mut s.database_url {
                url.push_str(suffix);
            }
        })
        .await
        else {
            return;
        };
        let db = app.pg.as_ref().map(|p| p.name().to_string()).unwrap_or_default();
        let url = app.settings.database_url.clone().unwrap_or_default().replace(&format!("/{db}{suffix}"), "/postgres");
        let mut admin = diesel::PgConnection::establish(&url).expect("the PostgreSQL server");
        let mut own = || -> i64 {
            diesel::sql_query(format!("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{db}' AND application_name = '{}'", latchkey_store::pg_async::APPLICATION_NAME))
                .get_result::<Count>(&mut admin)
                .expect("pg_stat_activity")
                .n
        };
        let rp = setup(&app).await;
        let mut browser = app.browser();
        let t = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
        // Issue #31: the sign-in's reads (consent, session, user) took them
        // already, before any rotation.
        assert_eq!(own() > 0, own_connections, "{suffix}: connections of the sign-in's reads");
        let first = refresh(&app, &rp, &t.refresh).await;
        assert_eq!(first.status, 200, "{suffix}: {}", first.body);
        let next = first.body["refresh_token"].as_str().unwrap_or_default().to_string();
        let second = refresh(&app, &rp, &next).await;
        assert_eq!(second.status, 200, "{suffix}: {}", second.body);
        assert_eq!(refresh(&app, &rp, &t.refresh).await.body["error"], "invalid_grant", "{suffix}: reuse");
        let last = second.body["refresh_token"].as_str().unwrap_or_default();
        assert_eq!(refresh(&app, &rp, last).await.body["error"], "invalid_grant", "{suffix}: the family is revoked");
        let n = own();
        assert_eq!(n > 0, own_connections, "{suffix}: {n} rotation connections");
    }
}

async fn grace_window_returns_the_successor_once_then_expires(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| s.refresh.grace = 30).await else { return };
    let rp = setup(&app).await;
    let mut browser = app.browser();
    let t = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
    let first = refresh(&app, &rp, &t.refresh).await;
    assert_eq!(first.status, 200);
    // A second tab races with the same token within the window: same successor.
    let racing = refresh(&app, &rp, &t.refresh).await;
    assert_eq!(racing.status, 200, "{}", racing.body);
    assert_eq!(racing.body["refresh_token"], first.body["refresh_token"]);
    let rt1 = first.body["refresh_token"].as_str().unwrap_or_default().to_string();
    // The family is intact: the successor rotates normally.
    let second = refresh(&app, &rp, &rt1).await;
    assert_eq!(second.status, 200);
    // The token two generations back is not "immediately previous": reuse → revoked.
    let old = refresh(&app, &rp, &t.refresh).await;
    assert_eq!(old.body["error"], "invalid_grant");
    let rt2 = second.body["refresh_token"].as_str().unwrap_or_default();
    assert_eq!(refresh(&app, &rp, rt2).await.body["error"], "invalid_grant", "family revoked");

    // Past the window, even the immediately previous token counts as reuse.
    let t = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
    let next = refresh(&app, &rp, &t.refresh).await;
    app.clock.advance(31);
    assert_eq!(refresh(&app, &rp, &t.refresh).await.body["error"], "invalid_grant");
    assert_eq!(refresh(&app, &rp, next.body["refresh_token"].as_str().unwrap_or_default()).await.body["error"], "invalid_grant");
}

/// N simultaneous uses of one token: exactly one wins, `rounds` times over.
async fn concurrent_use(backend: Backend, rounds: usize) {
    let Some(app) = TestApp::start(backend).await else { return };
    let rp = Arc::new(setup(&app).await);
    let app = Arc::new(app);
    let mut browser = app.browser();
    for round in 0..rounds {
        let t = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (app, rp, token) = (app.clone(), rp.clone(), t.refresh.clone());
            tasks.push(tokio::spawn(async move { refresh(&app, &rp, &token).await }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let a = task.await.expect("task");
            match a.status {
                200 => winners.push(a.body),
                400 => assert_eq!(a.body["error"], "invalid_grant"),
                other => panic!("round {round}: unexpected {other}: {}", a.body),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one of 16 concurrent uses wins");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refresh_has_exactly_one_winner_on_sqlite() {
    concurrent_use(Backend::Sqlite, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refresh_has_exactly_one_winner_200_times_on_postgres() {
    concurrent_use(Backend::Postgres, 200).await;
}

async fn refresh_tokens_are_bound_to_their_client(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let rp_a = setup(&app).await;
    let (b_id, b_secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp_b = Rp::discover(&app, &b_id, b_secret.as_deref()).await;
    let mut browser = app.browser();
    let t = tokens_for(&rp_a, &mut browser, USERNAME, &["offline_access"]).await;
    let stolen = refresh(&app, &rp_b, &t.refresh).await;
    assert_eq!((stolen.status, stolen.body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(introspect(&app, &rp_b, &t.refresh).await.body["active"], false, "B cannot even see A's token");
    // A's token was not spent by B's attempt.
    assert_eq!(refresh(&app, &rp_a, &t.refresh).await.status, 200);
}

async fn idle_and_absolute_lifetimes(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| {
        s.refresh.idle = 100;
        s.refresh.absolute = 300;
    })
    .await
    else {
        return;
    };
    let rp = setup(&app).await;
    let mut browser = app.browser();

    let t = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
    app.clock.advance(101);
    assert_eq!(refresh(&app, &rp, &t.refresh).await.body["error"], "invalid_grant", "idle too long");

    // A new sign-in (the absolute limit counts from it).
    let mut browser = app.browser();
    let mut token = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await.refresh;
    for _ in 0..3 {
        app.clock.advance(90);
        let r = refresh(&app, &rp, &token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        token = r.body["refresh_token"].as_str().unwrap_or_default().to_string();
    }
    app.clock.advance(90); // 360 s after sign-in: past the absolute limit, though never idle
    let late = refresh(&app, &rp, &token).await;
    assert_eq!(late.body["error"], "invalid_grant", "refreshing never extends the absolute limit");
    assert_eq!(introspect(&app, &rp, &token).await.body["active"], false);
}

async fn signing_out_ends_session_bound_families_but_not_offline_ones(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let rp = setup(&app).await;
    let mut browser = app.browser();
    let online = tokens_for(&rp, &mut browser, USERNAME, &[]).await;
    let offline = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
    let account = browser.get("/account").await;
    let out = browser.post_form("/logout", &[("csrf_token", &account.field("csrf_token").unwrap_or_default())]).await;
    assert_eq!(out.status, 200);
    assert_eq!(refresh(&app, &rp, &online.refresh).await.body["error"], "invalid_grant");
    assert_eq!(bearer(&app, "GET", "/userinfo", &online.access).await.status, 401, "the session's access tokens end too");
    assert_eq!(refresh(&app, &rp, &offline.refresh).await.status, 200, "offline_access outlives the session");
}

async fn revocation_and_introspection(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let rp = setup(&app).await;
    let mut browser = app.browser();
    let t = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;

    let active = introspect(&app, &rp, &t.access).await;
    assert_eq!(active.body["active"], true, "{}", active.body);
    assert_eq!(active.body["client_id"], rp.client_id.as_str());
    assert_eq!(introspect(&app, &rp, &t.refresh).await.body["active"], true);

    let revoked = post_form(&app, "/revoke", &[("token", &t.refresh), ("token_type_hint", "refresh_token")], basic(&rp)).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(refresh(&app, &rp, &t.refresh).await.body["error"], "invalid_grant");
    assert_eq!(introspect(&app, &rp, &t.refresh).await.body, serde_json::json!({ "active": false }));
    assert_eq!(introspect(&app, &rp, &t.access).await.body["active"], false, "the family's access token is revoked too");

    // An access token on its own.
    let t2 = tokens_for(&rp, &mut browser, USERNAME, &[]).await;
    assert_eq!(post_form(&app, "/revoke", &[("token", &t2.access)], basic(&rp)).await.status, 200);
    assert_eq!(introspect(&app, &rp, &t2.access).await.body["active"], false);
    assert_eq!(bearer(&app, "GET", "/userinfo", &t2.access).await.status, 401);
    // Unknown tokens: still 200 (RFC 7009 §2.2).
    assert_eq!(post_form(&app, "/revoke", &[("token", "lkr_nothing")], basic(&rp)).await.status, 200);
    // Expired access tokens are inactive.
    let t3 = tokens_for(&rp, &mut browser, USERNAME, &[]).await;
    app.clock.advance(301);
    assert_eq!(introspect(&app, &rp, &t3.access).await.body["active"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_and_introspection_on_sqlite() {
    revocation_and_introspection(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_and_introspection_on_postgres_and_redis() {
    revocation_and_introspection(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_needs_confidential_client_authentication() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let rp = setup(&app).await;
    let mut browser = app.browser();
    let t = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
    let anonymous = post_form(&app, "/introspect", &[("token", &t.access)], None).await;
    assert_eq!((anonymous.status, anonymous.body["error"].as_str()), (401, Some("invalid_client")));
    let wrong = post_form(&app, "/introspect", &[("token", &t.access)], Some((rp.client_id.as_str(), "lks_wrong"))).await;
    assert_eq!(wrong.status, 401);
    let (spa, _) = app.add_client(true, SigningAlg::RS256).await;
    let public = post_form(&app, "/introspect", &[("token", &t.access), ("client_id", &spa)], None).await;
    assert_eq!(public.status, 401, "public clients cannot introspect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_for_confidential_clients_only() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (admin_id, admin_secret) = app.add_admin_client().await;
    let ok = post_form(&app, "/token", &[("grant_type", "client_credentials")], Some((&admin_id, &admin_secret))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.get("refresh_token").is_none() && ok.body.get("id_token").is_none());
    let claims = jwt::payload(ok.body["access_token"].as_str().unwrap_or_default());
    assert_eq!(claims["sub"], admin_id.as_str(), "the client acts for itself");
    assert_eq!(claims["scope"], "admin");
    let bad_scope = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "openid")], Some((&admin_id, &admin_secret))).await;
    assert_eq!(bad_scope.body["error"], "invalid_scope");

    // A regular web app is not allowed the grant; a public client cannot have it.
    let rp = setup(&app).await;
    let denied = post_form(&app, "/token", &[("grant_type", "client_credentials")], basic(&rp)).await;
    assert_eq!(denied.body["error"], "unauthorized_client");
    let (spa, _) = app.add_client(true, SigningAlg::RS256).await;
    let public = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("client_id", &spa)], None).await;
    assert_eq!(public.body["error"], "unauthorized_client");
}

async fn admin_token(app: &TestApp) -> String {
    let (id, secret) = app.add_admin_client().await;
    let r = post_form(app, "/token", &[("grant_type", "client_credentials"), ("scope", "admin")], Some((&id, &secret))).await;
    r.body["access_token"].as_str().expect("admin token").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_revokes_a_clients_grants() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    app.add_user("bob", PASSWORD).await;
    let (a_id, a_secret) = app.add_client(false, SigningAlg::RS256).await;
    let (b_id, b_secret) = app.add_client(false, SigningAlg::RS256).await;
    let (rp_a, rp_b) = (Rp::discover(&app, &a_id, a_secret.as_deref()).await, Rp::discover(&app, &b_id, b_secret.as_deref()).await);
    let (mut alice, mut bob) = (app.browser(), app.browser());
    let alice_a = tokens_for(&rp_a, &mut alice, USERNAME, &["offline_access"]).await;
    let alice_b = tokens_for(&rp_b, &mut alice, USERNAME, &["offline_access"]).await;
    let bob_a = tokens_for(&rp_a, &mut bob, "bob", &["offline_access"]).await;
    let admin = admin_token(&app).await;

    assert_eq!(bearer(&app, "GET", "/admin/api/v1/clients", "not-a-token").await.status, 401);
    assert_eq!(bearer(&app, "GET", "/admin/api/v1/clients", &alice_a.access).await.status, 403, "a user's token is not an admin token");
    let clients = bearer(&app, "GET", "/admin/api/v1/clients", &admin).await;
    assert_eq!(clients.status, 200);
    assert!(clients.body.as_array().is_some_and(|l| l.iter().any(|c| c["client_id"] == a_id.as_str())));
    let grants = bearer(&app, "GET", &format!("/admin/api/v1/clients/{a_id}/grants"), &admin).await;
    let list = grants.body.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2, "{}", grants.body);
    assert!(list.iter().all(|g| g["families"].as_i64() == Some(1)));
    assert_eq!(bearer(&app, "GET", "/admin/api/v1/clients/nope/grants", &admin).await.status, 404);

    // One user of client A.
    app.clock.advance(1);
    let one = bearer(&app, "DELETE", &format!("/admin/api/v1/clients/{a_id}/grants?user={USERNAME}"), &admin).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["families"], 1);
    assert_eq!(refresh(&app, &rp_a, &alice_a.refresh).await.body["error"], "invalid_grant");
    assert_eq!(introspect(&app, &rp_a, &alice_a.access).await.body["active"], false);
    assert_eq!(bearer(&app, "GET", "/userinfo", &alice_a.access).await.status, 401);
    let bob_a_next = refresh(&app, &rp_a, &bob_a.refresh).await;
    assert_eq!(bob_a_next.status, 200, "other users untouched");
    assert_eq!(introspect(&app, &rp_b, &alice_b.access).await.body["active"], true, "other clients untouched");

    // All users of client A.
    app.clock.advance(1);
    assert_eq!(bearer(&app, "DELETE", &format!("/admin/api/v1/clients/{a_id}/grants"), &admin).await.status, 200);
    assert_eq!(refresh(&app, &rp_a, bob_a_next.body["refresh_token"].as_str().unwrap_or_default()).await.body["error"], "invalid_grant");
    assert_eq!(introspect(&app, &rp_a, bob_a_next.body["access_token"].as_str().unwrap_or_default()).await.body["active"], false);
    let alice_b_next = refresh(&app, &rp_b, &alice_b.refresh).await;
    assert_eq!(alice_b_next.status, 200, "client B untouched");

    // Everything one user granted.
    app.clock.advance(1);
    assert_eq!(bearer(&app, "DELETE", &format!("/admin/api/v1/users/{USERNAME}/grants"), &admin).await.status, 200);
    assert_eq!(refresh(&app, &rp_b, alice_b_next.body["refresh_token"].as_str().unwrap_or_default()).await.body["error"], "invalid_grant");
    let events = app.state.stores.db.run(|c| audit::recent(c, Some("grants_revoked"), 10)).await.expect("audit");
    assert_eq!(events.len(), 3);
    let doc = app.http().get(app.url("/admin/api/v1/openapi.json")).send().await.expect("openapi");
    let doc: Value = serde_json::from_str(&doc.text().await.unwrap_or_default()).expect("OpenAPI JSON");
    assert!(doc["paths"]["/clients/{client_id}/grants"]["delete"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_disconnect_apps_from_their_account_page() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let rp = setup(&app).await;
    let mut browser = app.browser();
    let t = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
    let account = browser.get("/account").await;
    assert!(account.body.contains("Test Web App"), "connected apps are listed");
    app.clock.advance(1);
    let done = browser.post_form("/account/apps/revoke", &[("csrf_token", &account.field("csrf_token").unwrap_or_default()), ("client_id", &rp.client_id)]).await;
    assert_eq!(done.location.as_deref(), Some("/account"));
    assert_eq!(refresh(&app, &rp, &t.refresh).await.body["error"], "invalid_grant");
    assert_eq!(bearer(&app, "GET", "/userinfo", &t.access).await.status, 401);
    assert!(!browser.get("/account").await.body.contains("Test Web App"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_publishes_first_and_keeps_old_tokens_verifiable() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let rp = setup(&app).await;
    let mut browser = app.browser();
    let before = tokens_for(&rp, &mut browser, USERNAME, &["offline_access"]).await;
    let old_kid = jwt::header(&before.access)["kid"].as_str().unwrap_or_default().to_string();

    let new_kids = app.state.tokens.rotate_keys(&SigningAlg::ALL).await.expect("rotate");
    let jwks = |app: &TestApp| {
        let http = app.http();
        let url = app.url("/jwks");
        async move { serde_json::from_str::<Value>(&http.get(url).send().await.expect("jwks").text().await.unwrap_or_default()).expect("json") }
    };
    let kids = |doc: &Value| doc["keys"].as_array().map(|ks| ks.iter().filter_map(|k| k["kid"].as_str().map(str::to_string)).collect::<Vec<_>>()).unwrap_or_default();
    let published = kids(&jwks(&app).await);
    assert!(new_kids.iter().all(|k| published.contains(k)), "new keys are published at once");
    let r = refresh(&app, &rp, &before.refresh).await;
    assert_eq!(jwt::header(r.body["access_token"].as_str().unwrap_or_default())["kid"], old_kid.as_str(), "…but do not sign yet");

    app.clock.advance(601);
    let r = refresh(&app, &rp, r.body["refresh_token"].as_str().unwrap_or_default()).await;
    let new_kid = jwt::header(r.body["access_token"].as_str().unwrap_or_default())["kid"].as_str().unwrap_or_default().to_string();
    assert!(new_kids.contains(&new_kid), "after the publish lead the new key signs");
    // The ID token signed before the rotation still verifies against the JWKS.
    let old_id: openidconnect::core::CoreIdToken = before.id.parse().expect("id token");
    let rp_now = Rp::discover(&app, &rp.client_id, rp.secret.as_deref()).await;
    assert!(old_id.claims(&rp_now.client.id_token_verifier(), |_: Option<&openidconnect::Nonce>| Ok(())).is_ok());
    assert!(kids(&jwks(&app).await).contains(&old_kid));

    // Once nothing the old key signed can still be valid, it is retired.
    app.clock.advance(600 + 60 + 1);
    app.state.tokens.maintain().await.expect("maintain");
    assert!(!kids(&jwks(&app).await).contains(&old_kid), "retired keys leave the JWKS");
    assert_eq!(bearer(&app, "GET", "/userinfo", r.body["access_token"].as_str().unwrap_or_default()).await.status, 401, "expired by now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_agree_on_revocations_sessions_and_keys() {
    let Some(a) = TestApp::start(Backend::Postgres).await else { return };
    let b = a.second_node().await;
    let rp_a = setup(&a).await;
    let rp_b = Rp::discover(&b, &rp_a.client_id, rp_a.secret.as_deref()).await;
    let mut browser = a.browser();
    let t = tokens_for(&rp_a, &mut browser, USERNAME, &["offline_access"]).await;

    // Sessions: the cookie from node A is a session on node B.
    let mut on_b = b.browser();
    on_b.cookies = browser.cookies.clone();
    assert_eq!(on_b.get("/account").await.status, 200, "B knows A's session");

    // Rotated on A, replayed on B: reuse detected, family revoked everywhere.
    let r = refresh(&a, &rp_a, &t.refresh).await;
    assert_eq!(r.status, 200);
    let replay = refresh(&b, &rp_b, &t.refresh).await;
    assert_eq!(replay.body["error"], "invalid_grant");
    assert_eq!(refresh(&a, &rp_a, r.body["refresh_token"].as_str().unwrap_or_default()).await.body["error"], "invalid_grant");

    // A revocation on A is seen by B on the very next request.
    let t2 = tokens_for(&rp_a, &mut browser, USERNAME, &["offline_access"]).await;
    assert_eq!(bearer(&b, "GET", "/userinfo", &t2.access).await.status, 200);
    assert_eq!(post_form(&a, "/revoke", &[("token", &t2.access)], basic(&rp_a)).await.status, 200);
    assert_eq!(bearer(&b, "GET", "/userinfo", &t2.access).await.status, 401);

    // An admin revoke on A: B's introspection says inactive at once.
    let t3 = tokens_for(&rp_a, &mut browser, USERNAME, &["offline_access"]).await;
    let admin = admin_token(&a).await;
    a.clock.advance(1);
    assert_eq!(bearer(&a, "DELETE", &format!("/admin/api/v1/clients/{}/grants", rp_a.client_id), &admin).await.status, 200);
    assert_eq!(introspect(&b, &rp_b, &t3.access).await.body["active"], false);
    assert_eq!(introspect(&b, &rp_b, &t3.refresh).await.body["active"], false);

    // A key rotated on A is in B's JWKS.
    let kids = a.state.tokens.rotate_keys(&[SigningAlg::RS256]).await.expect("rotate");
    a.clock.advance(2);
    let jwks = b.http().get(b.url("/jwks")).send().await.expect("jwks").text().await.unwrap_or_default();
    assert!(jwks.contains(&kids[0]), "B publishes the key A created");
    // Signing-out on B ends the session for A too.
    let account = on_b.get("/account").await;
    on_b.post_form("/logout", &[("csrf_token", &account.field("csrf_token").unwrap_or_default())]).await;
    assert_eq!(browser.get("/account").await.location.as_deref(), Some("/login"), "A sees B's sign-out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_window_returns_the_successor_once_then_expires_on_sqlite() {
    grace_window_returns_the_successor_once_then_expires(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_window_returns_the_successor_once_then_expires_on_postgres_and_redis() {
    grace_window_returns_the_successor_once_then_expires(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_are_bound_to_their_client_on_sqlite() {
    refresh_tokens_are_bound_to_their_client(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_are_bound_to_their_client_on_postgres_and_redis() {
    refresh_tokens_are_bound_to_their_client(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_absolute_lifetimes_on_sqlite() {
    idle_and_absolute_lifetimes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_absolute_lifetimes_on_postgres_and_redis() {
    idle_and_absolute_lifetimes(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_session_bound_families_but_not_offline_ones_on_sqlite() {
    signing_out_ends_session_bound_families_but_not_offline_ones(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_session_bound_families_but_not_offline_ones_on_postgres_and_redis() {
    signing_out_ends_session_bound_families_but_not_offline_ones(Backend::Postgres).await;
}
