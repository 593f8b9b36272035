//! Single-use values raced across two nodes on PostgreSQL + Redis:
//! authorization codes, TOTP time steps and backup codes, each presented at
//! once through both nodes. A code never yields two grants (and a replayed
//! code revokes what it yielded, RFC 6749 §4.1.2); a second-factor code signs
//! in exactly once.

use futures_util::future::join_all;
use latchkey_domain::SigningAlg;

use crate::mfa::{code_at, enrol, sign_in_password};
use crate::security::{error_of, token};
use crate::support::raw::bearer;
use crate::support::rp::{sign_in_default, AuthResponse};
use crate::support::{Backend, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

/// Codes raced, each by four clients (two per node).
const CODES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn authorization_codes_are_single_use_across_two_nodes() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let node2 = app.second_node().await;
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let secret = secret.expect("confidential");
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let mut browser = app.browser();
    for round in 0..CODES {
        let req = rp.authorize(&[]);
        let resp = if round == 0 { sign_in_default(&mut browser, &req.url).await } else { AuthResponse::parse(&browser.get(&req.url).await.location.expect("a code")) };
        let code = resp.code.expect("code");
        let verifier = req.verifier.secret().clone();
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier.as_str())];
        let answers = join_all((0..4).map(|i| token(if i % 2 == 0 { &app } else { &node2 }, (&id, &secret), &form))).await;
        let winners: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
        assert!(winners.len() <= 1, "round {round}: one code, at most one grant: {:?}", answers.iter().map(|a| (a.status, a.body.to_string())).collect::<Vec<_>>());
        for loser in answers.iter().filter(|a| a.status != 200) {
            assert_eq!((loser.status, error_of(loser)), (400, "invalid_grant"), "round {round}");
        }
        // The replays revoked whatever the winner got, on either node.
        for w in winners {
            let access = w.body["access_token"].as_str().unwrap_or_default();
            assert_eq!(bearer(&node2, "GET", "/userinfo", access).await.status, 401, "round {round}");
            assert_eq!(bearer(&app, "GET", "/userinfo", access).await.status, 401, "round {round}");
        }
    }
}

/// One valid TOTP code and one backup code, each submitted at once by eight
/// browsers at the second step, half of them on each node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn totp_steps_and_backup_codes_are_single_use_across_two_nodes() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let node2 = app.second_node().await;
    app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    sign_in_password(&mut setup).await;
    let (secret, backup) = enrol(&app, &mut setup).await;
    app.clock.advance(60); // past the time step used to confirm enrolment

    for (what, code) in [("TOTP code", code_at(&secret, app.clock_now())), ("backup code", backup[0].clone())] {
        let mut steps = Vec::new();
        for i in 0..8 {
            let mut b = if i % 2 == 0 { app.browser() } else { node2.browser() };
            let step = sign_in_password(&mut b).await;
            let page = b.get(step.location.as_deref().expect("to the second step")).await;
            let (csrf, m) = (page.field("csrf_token").unwrap_or_default(), page.field("m").unwrap_or_default());
            steps.push((b, csrf, m));
        }
        let pages = join_all(steps.into_iter().map(|(mut b, csrf, m)| {
            let code = code.clone();
            async move { b.post_form("/login/mfa", &[("csrf_token", &csrf), ("m", &m), ("code", &code)]).await }
        }))
        .await;
        let signed_in = pages.iter().filter(|p| p.set_cookie("__Host-latchkey-session").is_some()).count();
        assert_eq!(signed_in, 1, "{what}: exactly one sign-in: {:?}", pages.iter().map(|p| p.status).collect::<Vec<_>>());
        // Refused as a wrong code (401), or — once the failures of both rounds
        // add up past the second-step limit — as throttled (429).
        assert_eq!(pages.iter().filter(|p| p.status == 401 || p.status == 429).count(), 7, "{what}: the others refused: {:?}", pages.iter().map(|p| p.status).collect::<Vec<_>>());
    }
}

/// One passkey assertion for one sign-in ceremony, finished at once on both
/// nodes (the same browser's cookies on each): exactly one session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_passkey_ceremony_is_single_use_across_two_nodes() {
    use webauthn_authenticator_rs::prelude::{RequestChallengeResponse, Url};
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let node2 = app.second_node().await;
    app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    crate::passkeys::password_sign_in(&mut setup).await;
    let mut key = crate::passkeys::register(&app, &mut setup, "Laptop key").await;

    for round in 0..5 {
        let mut a = app.browser();
        let page = a.get("/login").await;
        let csrf = page.field("csrf_token").unwrap_or_default();
        let (status, start) = a.post_json("/login/passkey/start", &csrf, &serde_json::json!({ "username": USERNAME })).await;
        assert_eq!(status, 200, "{start}");
        let options: RequestChallengeResponse = serde_json::from_value(start["options"].clone()).expect("request options");
        let credential = key.do_authentication(Url::parse(&app.issuer).expect("origin"), options).expect("soft passkey signs");
        let finish = serde_json::json!({ "ceremony": start["ceremony"], "credential": credential });
        let mut b = node2.browser();
        b.cookies = a.cookies.clone();
        let ((sa, da), (sb, db)) = tokio::join!(a.post_json("/login/passkey/finish", &csrf, &finish), b.post_json("/login/passkey/finish", &csrf, &finish));
        assert_eq!([sa, sb].iter().filter(|s| **s == 200).count(), 1, "round {round}: one ceremony, one sign-in: {sa} {da} / {sb} {db}");
        assert!([sa, sb].iter().all(|s| *s == 200 || (400..500).contains(s)), "round {round}: {sa} / {sb}");
    }
}

/// One recovery link used at once on both nodes: exactly one new password.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recovery_link_is_single_use_across_two_nodes() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let node2 = app.second_node().await;
    app.add_user(USERNAME, PASSWORD).await;
    let link = crate::accounts::recovery::recovery_link(&app, USERNAME).await;
    let t = crate::accounts::token_of(&link);
    let (mut a, mut b) = (app.browser(), node2.browser());
    let (pa, pb) = (a.get(&link).await, b.get(&link).await);
    assert_eq!((pa.status, pb.status), (200, 200), "the link opens on either node");
    let (ca, cb) = (pa.field("csrf_token").unwrap_or_default(), pb.field("csrf_token").unwrap_or_default());
    let fa = [("csrf_token", ca.as_str()), ("t", t.as_str()), ("new_password", "first racing passphrase")];
    let fb = [("csrf_token", cb.as_str()), ("t", t.as_str()), ("new_password", "second racing passphrase")];
    let (ra, rb) = tokio::join!(a.post_form("/recover/password", &fa), b.post_form("/recover/password", &fb));
    let won: Vec<_> = [&ra, &rb].into_iter().filter(|r| r.location.as_deref() == Some("/account")).collect();
    assert_eq!(won.len(), 1, "{} {} / {} {}", ra.status, ra.body.len(), rb.status, rb.body.len());
    assert_eq!([&ra, &rb].iter().filter(|r| r.status == 400).count(), 1, "the other is refused");
    assert_eq!(app.browser().get(&link).await.status, 400, "spent on every node");
    assert_eq!(node2.browser().get(&link).await.status, 400, "spent on every node");
}
