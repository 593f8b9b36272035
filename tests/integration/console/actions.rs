//! What admins do from the console, what it does to users and clients, and
//! what the audit trail records of it.

use openidconnect::OAuth2TokenResponse;
use serde_json::Value;

use super::{admin_browser, ADMIN};
use crate::accounts::{admin_token, wait_for_mail};
use crate::mfa::{enrol, sign_in_password};
use crate::sessions::{sign_in_direct, signed_in};
use crate::support::raw::{bearer, post_form};
use crate::support::rp::sign_in_default;
use crate::support::{Backend, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

fn code_text(body: &str, id: &str) -> String {
    let marker = format!(r#"<code id="{id}">"#);
    let start = body.find(&marker).map(|i| i + marker.len()).unwrap_or(0);
    body[start..].split('<').next().unwrap_or_default().to_string()
}

async fn act(b: &mut crate::support::Browser, page: &str, action: &str, extra: &[(&str, &str)]) -> crate::support::browser::Page {
    let p = b.get(page).await;
    let csrf = p.field("csrf_token").unwrap_or_default();
    let mut form = vec![("csrf_token", csrf.as_str()), ("action", action)];
    form.extend_from_slice(extra);
    b.post_form(&format!("{page}/action"), &form).await
}

async fn console_flow(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (mut admin, _, admin_user) = admin_browser(&app).await;

    // Create a client from the console; the secret is shown once.
    let page = admin.get("/admin/clients").await;
    let created = admin
        .post_form(
            "/admin/clients/create",
            &[
                ("csrf_token", &page.field("csrf_token").unwrap_or_default()),
                ("name", "Console app"),
                ("redirect_uris", REDIRECT_URI),
                ("grant_types", "authorization_code refresh_token"),
                ("scope", "openid profile offline_access"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("Client ID") && created.body.contains("Client secret"));
    let (client_id, secret) = (code_text(&created.body, "client-id"), code_text(&created.body, "client-secret"));
    assert!(secret.starts_with("lks_"), "{}", created.body);
    assert!(!admin.get("/admin/clients").await.body.contains(&secret), "shown only once");

    // A relying party signs the user in with it.
    let rp = Rp::discover(&app, &client_id, Some(&secret)).await;
    let mut user = app.browser();
    let req = rp.authorize_scopes(&["offline_access"], &[]);
    let code = sign_in_default(&mut user, &req.url).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let refresh = tokens.refresh_token().expect("refresh").secret().clone();
    let client_page = format!("/admin/clients/{client_id}");
    assert!(admin.get(&client_page).await.body.contains(USERNAME), "the grant is listed");

    // Revoke all grants: asked first, naming how many; then the refresh token is refused.
    let asked = act(&mut admin, &client_page, "revoke-all", &[]).await;
    assert!(asked.status == 200 && asked.body.contains("Revoke the one grant of Console app?"), "{}", asked.body);
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], Some((&client_id, &secret))).await;
    assert_eq!(r.status, 200, "nothing revoked before the answer: {}", r.body);
    let refresh = r.body["refresh_token"].as_str().unwrap_or_default().to_string();
    let done = act(&mut admin, &client_page, "revoke-all", &[("confirmed", "yes")]).await;
    assert!(done.location.as_deref().unwrap_or_default().starts_with(&client_page), "{}", done.body);
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], Some((&client_id, &secret))).await;
    assert_eq!(r.body["error"], "invalid_grant");

    // Rotate the secret: the old one stops working.
    let asked = act(&mut admin, &client_page, "rotate-secret", &[]).await;
    assert!(asked.body.contains("Rotate the secret of Console app?") && !asked.body.contains("lks_"), "{}", asked.body);
    let rotated = act(&mut admin, &client_page, "rotate-secret", &[("confirmed", "yes")]).await;
    let new_secret = code_text(&rotated.body, "client-secret");
    assert!(new_secret.starts_with("lks_") && new_secret != secret);
    app.state.oauth.forget_cached_clients();
    let r = post_form(&app, "/introspect", &[("token", "x")], Some((&client_id, &secret))).await;
    assert_eq!(r.status, 401, "the old secret is dead");
    let r = post_form(&app, "/introspect", &[("token", "x")], Some((&client_id, &new_secret))).await;
    assert_eq!(r.status, 200, "the new one works");

    // Disable the user: sessions, refresh tokens, introspection and sign-in all fail.
    let req = rp.authorize_scopes(&["offline_access"], &[]);
    let code = sign_in_default(&mut user, &req.url).await.code.expect("code");
    let rp2 = Rp::discover(&app, &client_id, Some(&new_secret)).await;
    let tokens = rp2.exchange(&code, req.verifier).await.expect("exchange");
    let alice = app.state.authn.find_by_username(USERNAME).await.expect("lookup").expect("alice");
    let user_page = format!("/admin/users/{}", alice.id.0);
    let asked = act(&mut admin, &user_page, "disable", &[]).await;
    assert!(asked.status == 200 && asked.body.contains("Disable alice?"), "asked first: {}", asked.body);
    let done = act(&mut admin, &user_page, "disable", &[("confirmed", "yes")]).await;
    assert!(done.location.as_deref().unwrap_or_default().starts_with(&user_page));
    assert!(!signed_in(&mut user).await, "the session ended");
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", tokens.refresh_token().expect("rt").secret())], Some((&client_id, &new_secret))).await;
    assert_eq!(r.body["error"], "invalid_grant");
    let r = post_form(&app, "/introspect", &[("token", tokens.access_token().secret())], Some((&client_id, &new_secret))).await;
    assert_eq!(r.body["active"], false);
    let mut again = app.browser();
    let login = again.get("/login").await;
    let refused = again.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("disabled"));
    act(&mut admin, &user_page, "enable", &[]).await;
    sign_in_direct(&mut again, USERNAME, false).await;

    // The audit trail names the admin for each action, and the user for their sign-ins.
    let admin_actor = format!("admin:{}", admin_user.id.0);
    let token = admin_token(&app).await;
    let trail = bearer(&app, "GET", &format!("/admin/api/v1/audit?user={USERNAME}&limit=100"), &token).await.body;
    let events = trail["events"].as_array().cloned().unwrap_or_default();
    let by = |kind: &str| events.iter().find(|e| e["kind"] == kind).map(|e| e["actor"].as_str().unwrap_or_default().to_string());
    assert_eq!(by("user_disabled").as_deref(), Some(admin_actor.as_str()), "{trail}");
    assert_eq!(by("user_enabled").as_deref(), Some(admin_actor.as_str()));
    assert_eq!(by("sign_in").map(|a| a.starts_with("user:")), Some(true));
    assert!(events.iter().any(|e| e["kind"] == "sign_in" && e["ip"] == "127.0.0.1" && e["request_id"].as_str().is_some_and(|r| !r.is_empty())));
    let client_trail = bearer(&app, "GET", &format!("/admin/api/v1/audit?client={client_id}"), &token).await.body;
    let kinds: Vec<&str> = client_trail["events"].as_array().map(|a| a.iter().filter_map(|e| e["kind"].as_str()).collect()).unwrap_or_default();
    for k in ["client_created", "grants_revoked", "client_secret_rotated", "consent_given"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let audit_page = admin.get(&format!("/admin/audit?user={USERNAME}")).await;
    // In words and by name (console/audit_log.rs tests the page itself).
    assert!(audit_page.body.contains("<td>User disabled</td>") && audit_page.body.contains(&format!(r#"<a href="/admin/users/{}">{ADMIN}</a>"#, admin_user.id.0)), "{}", audit_page.body);
    let export = admin.get(&format!("/admin/audit.jsonl?user={USERNAME}")).await;
    let lines: Vec<Value> = export.body.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(lines.len() >= 4 && lines.iter().all(|e| e["user_id"] == alice.id.0.as_str()), "{}", export.body);
    let _ = ADMIN;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_flow_on_sqlite() {
    console_flow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_flow_on_postgres_and_redis() {
    console_flow(Backend::Postgres).await;
}

/// Reset MFA: the user signs in with the password alone and is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_mfa_lets_the_password_alone_sign_in_and_tells_the_user() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let mut user = app.browser();
    sign_in_password(&mut user).await;
    enrol(&app, &mut user).await;
    let mut fresh = app.browser();
    assert!(sign_in_password(&mut fresh).await.location.unwrap_or_default().starts_with("/login/mfa"), "the code is required");
    let (mut admin, _, _) = admin_browser(&app).await;
    let done = act(&mut admin, &format!("/admin/users/{}", alice.id.0), "reset-mfa", &[("confirmed", "yes")]).await;
    assert!(done.location.is_some(), "{}", done.body);
    let mut later = app.browser();
    assert_eq!(sign_in_password(&mut later).await.location.as_deref(), Some("/account"), "the password alone signs in now");
    wait_for_mail(&app, "alice@example.com", "Your second factor was reset").await;
}

/// The trail pages with a cursor, filters by kind and time, and carries the
/// request id a proxy sent (echoed back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_api_filters_and_pages() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut b = app.browser();
    b.headers.push(("x-request-id".into(), "proxy-req-42".into()));
    for _ in 0..5 {
        let login = b.get("/login").await;
        assert_eq!(login.header("x-request-id").as_deref(), Some("proxy-req-42"));
        b.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", "wrong one")]).await;
    }
    let token = admin_token(&app).await;
    let first = bearer(&app, "GET", "/admin/api/v1/audit?kind=login_failed&limit=2", &token).await.body;
    assert_eq!(first["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["events"][0]["request_id"], "proxy-req-42");
    assert_eq!(first["events"][0]["outcome"], "failure");
    let mut seen = 2;
    let mut cursor = first["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let page = bearer(&app, "GET", &format!("/admin/api/v1/audit?kind=login_failed&limit=2&cursor={c}"), &token).await.body;
        seen += page["events"].as_array().map(Vec::len).unwrap_or(0);
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 5, "every event once across pages");
    let future = app.clock_now() + 10;
    let none = bearer(&app, "GET", &format!("/admin/api/v1/audit?kind=login_failed&since={future}"), &token).await.body;
    assert_eq!(none["events"].as_array().map(Vec::len), Some(0));
    // Retention deletes only whole days past the limit.
    assert_eq!(app.state.oauth.enforce_audit_retention(400).await.expect("retention"), 0);
    app.clock.advance(2 * 86_400);
    assert!(app.state.oauth.enforce_audit_retention(1).await.expect("retention") >= 5);
}

/// Audit retention deletes in steps (SQLite's database thread answers
/// sign-ins between them) and still deletes every old event, none newer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_retention_deletes_every_old_event_in_steps_on_sqlite() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let step = latchkey_oauth::audit::RETENTION_STEP;
    let old = 2 * step as usize + 17;
    let (now, db) = (app.clock_now(), app.state.stores.db.clone());
    let event = |i: usize, at: i64| latchkey_store::repo::audit::AuditEvent {
        id: format!("retention-{i}"),
        at,
        kind: "login_failed".into(),
        user_id: None,
        client_id: None,
        detail: String::new(),
        outcome: "failure".into(),
        actor: None,
        ip: None,
        user_agent: None,
        request_id: None,
        session_hash: None,
    };
    db.run(move |c| {
        for i in 0..old + 5 {
            // The first `old` three days back, the last five today.
            let at = if i < old { now - 3 * 86_400 } else { now };
            latchkey_store::repo::audit::record(c, &event(i, at), "{}")?;
        }
        Ok(())
    })
    .await
    .expect("events");
    let before = app.state.oauth.audit_count(Default::default()).await.expect("count");
    assert_eq!(app.state.oauth.enforce_audit_retention(2).await.expect("retention"), old, "every old event, over three steps");
    assert_eq!(app.state.oauth.audit_count(Default::default()).await.expect("count"), before - old as i64, "none newer");
    assert_eq!(app.state.oauth.enforce_audit_retention(2).await.expect("retention"), 0, "nothing left to delete");
}

/// Admins promote other admins (never demote themselves) and edit clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_promote_users_and_edit_clients() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let (mut admin, _, root) = admin_browser(&app).await;
    act(&mut admin, &format!("/admin/users/{}", alice.id.0), "grant-admin", &[]).await;
    assert!(app.state.authn.user(&alice.id).await.expect("user").expect("alice").admin);
    let refused = act(&mut admin, &format!("/admin/users/{}", root.id.0), "revoke-admin", &[]).await;
    assert_eq!(refused.status, 409, "not one's own rights (the rule lives in latchkey_app::admin, 409 through every door)");

    let (id, secret) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
    let page = format!("/admin/clients/{id}");
    let moved = "http://localhost:3000/new-callback";
    let bad = act(&mut admin, &page, "edit", &[("name", "Renamed"), ("redirect_uris", "http://evil.example/cb")]).await;
    assert_eq!(bad.status, 400, "URIs are validated as at registration");
    let ok = act(&mut admin, &page, "edit", &[("name", "Renamed"), ("redirect_uris", moved)]).await;
    assert!(ok.location.is_some(), "{}", ok.body);
    // The consent page's links: checked like everywhere else, then shown in the form.
    let script = act(&mut admin, &page, "edit", &[("name", "Renamed"), ("redirect_uris", moved), ("logo_uri", "javascript:alert(1)")]).await;
    assert_eq!(script.status, 400, "a javascript: logo is refused");
    let linked = act(&mut admin, &page, "edit", &[("name", "Renamed"), ("redirect_uris", moved), ("logo_uri", ""), ("policy_uri", "https://app.example/privacy"), ("tos_uri", "")]).await;
    assert!(linked.location.is_some(), "{}", linked.body);
    let links = app.state.oauth.client(&id).await.expect("client").expect("exists").links;
    assert_eq!((links.logo_uri, links.policy_uri.as_deref(), links.tos_uri), (None, Some("https://app.example/privacy"), None));
    assert!(admin.get(&page).await.body.contains(r#"name="policy_uri" type="url" value="https://app.example/privacy""#), "shown in the form");
    app.state.oauth.forget_cached_clients();
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let old = app.browser().get(&rp.authorize(&[]).url).await;
    assert_eq!(old.status, 400, "the old redirect URI is no longer registered: a page, no redirect");
    let token = admin_token(&app).await;
    let r = app
        .http()
        .patch(app.url(&format!("/admin/api/v1/clients/{id}")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "name": "Again", "redirect_uris": [REDIRECT_URI] }).to_string())
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(app.state.oauth.client(&id).await.expect("client").expect("exists").name, "Again");
}
