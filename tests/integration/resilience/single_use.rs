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
        assert_eq!(pages.iter().filter(|p| p.status == 401).count(), 7, "{what}: the others refused");
    }
}
