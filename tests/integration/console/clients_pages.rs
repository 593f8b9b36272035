//! The console's client pages (issue #28): the list says what each client
//! is, how many users allowed it and when it was last used; a client's page
//! shows its URIs, scopes in words and policies with their forms; the
//! destructive actions ask first, naming how much goes; German too.

use super::admin_browser;
use crate::support::raw::post_form;
use crate::support::rp::sign_in;
use crate::support::{Backend, Rp, TestApp, TestClient, PASSWORD};

async fn clients_pages(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let (app_id, secret) = TestClient::web_app("Notes app").register_confidential(&app).await;
    let (unused_id, _) = TestClient::service("Nightly job").register_confidential(&app).await;
    // Two users allow Notes app; a day passes.
    let rp = Rp::discover(&app, &app_id, Some(&secret)).await;
    for name in ["dana", "erik"] {
        app.add_user(name, PASSWORD).await;
        let mut b = app.browser();
        let req = rp.authorize_scopes(&["offline_access"], &[]);
        sign_in(&mut b, &req.url, name, PASSWORD).await.code.expect("code");
    }
    app.clock.advance(86_400 + 60);
    let (mut admin, _, _) = admin_browser(&app).await;

    let list = admin.get("/admin/clients").await;
    assert_eq!(list.status, 200);
    let row = |name: &str| list.body.split("<tr>").find(|r| r.contains(name)).unwrap_or_default().to_string();
    let notes = row("Notes app");
    assert!(notes.contains("Confidential") && notes.contains("Sign-in (authorization code)") && notes.contains(">2<") && notes.contains("yesterday"), "{notes}");
    assert!(notes.contains(&format!(r#"title="{app_id}""#)) && !notes.contains(&format!(">{app_id}<")), "the id shortened, whole on hover: {notes}");
    let nightly = row("Nightly job");
    assert!(nightly.contains("Acting for itself") && nightly.contains(">0<") && nightly.contains("never"), "{nightly}");

    let page_url = format!("/admin/clients/{app_id}");
    let page = admin.get(&page_url).await;
    assert!(page.body.contains("openid</code> — ") && page.body.contains(crate::support::REDIRECT_URI), "scopes in words, redirect URIs: {}", page.body);
    assert!(page.body.contains("dana") && page.body.contains("erik"), "its grants");

    // Policies: PAR and DPoP required, from the form; audited.
    let csrf = page.field("csrf_token").unwrap_or_default();
    let saved = admin.post_form(&format!("{page_url}/action"), &[("csrf_token", &csrf), ("action", "policies"), ("require_par", "on"), ("require_dpop", "on"), ("jwks_uri", "")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let client = app.state.oauth.client(&app_id).await.expect("lookup").expect("client");
    assert!(client.require_par && client.require_dpop, "both required now");
    let bad = admin.post_form(&format!("{page_url}/action"), &[("csrf_token", &csrf), ("action", "policies"), ("jwks_uri", "javascript:alert(1)")]).await;
    assert_eq!(bad.status, 400, "a bad key URL is refused: {}", bad.body);
    let page = admin.get(&page_url).await;
    assert!(page.body.contains(r#"id="require_par" name="require_par" value="on" checked"#), "the form shows what is set");
    let csrf = page.field("csrf_token").unwrap_or_default();
    let off = admin.post_form(&format!("{page_url}/action"), &[("csrf_token", &csrf), ("action", "policies")]).await;
    assert_eq!(off.status, 303);
    assert!(!app.state.oauth.client(&app_id).await.expect("lookup").expect("client").require_par, "an unticked box turns it off");

    // Revoke all: asked first with the count; nothing happens until confirmed.
    let asked = admin.post_form(&format!("{page_url}/action"), &[("csrf_token", &csrf), ("action", "revoke-all")]).await;
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("Revoke 2 grants of Notes app?") && asked.body.contains("Revoke all 2 grants"), "{}", asked.body);
    assert_eq!(app.state.oauth.client_grants(&app_id).await.expect("grants").unwrap_or_default().len(), 2, "not yet");
    let done = admin.post_form(&format!("{page_url}/action"), &[("csrf_token", &csrf), ("action", "revoke-all"), ("confirmed", "yes")]).await;
    assert_eq!(done.status, 303);
    assert!(app.state.oauth.client_grants(&app_id).await.expect("grants").unwrap_or_default().is_empty());
    // A confirmation cannot be forged across sites: the CSRF token still counts.
    let forged = admin.post_form(&format!("/admin/clients/{unused_id}/action"), &[("csrf_token", "forged"), ("action", "delete"), ("confirmed", "yes")]).await;
    assert_ne!(forged.status, 303, "{}", forged.body);
    assert!(app.state.oauth.client(&unused_id).await.expect("lookup").is_some());
    // Delete: asked, then gone, with a notice.
    let asked = admin.post_form(&format!("/admin/clients/{unused_id}/action"), &[("csrf_token", &csrf), ("action", "delete")]).await;
    assert!(asked.body.contains("Delete Nightly job?") && asked.body.contains("No user has allowed it yet."), "{}", asked.body);
    let gone = admin.post_form(&format!("/admin/clients/{unused_id}/action"), &[("csrf_token", &csrf), ("action", "delete"), ("confirmed", "yes")]).await;
    assert_eq!(gone.location.as_deref(), Some("/admin/clients?notice=client-deleted"));
    assert!(app.state.oauth.client(&unused_id).await.expect("lookup").is_none());

    // German.
    admin.headers.push(("Accept-Language".into(), "de".into()));
    let de = admin.get("/admin/clients").await;
    assert!(de.body.contains(r#"<html lang="de">"#) && de.body.contains("Zuletzt genutzt") && de.body.contains("Vertraulich"), "{}", de.body);
    let _ = post_form;
}

#[tokio::test]
async fn client_pages_on_sqlite() {
    clients_pages(Backend::Sqlite).await;
}

#[tokio::test]
async fn client_pages_on_postgres_and_redis() {
    clients_pages(Backend::Postgres).await;
}
