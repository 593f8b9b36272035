//! Refresh-token reuse races at scale on PostgreSQL, over two nodes: each
//! token presented by several clients at once, half on each node. Exactly one
//! winner per token, reuse detected for the rest, and every family's state
//! consistent afterwards (checked with SQL).
//!
//! `LATCHKEY_RACE_TOKENS` tokens (default 25, × 4 presentations = 100 races
//! in the normal run); the figure in docs/RELIABILITY.md is
//! `LATCHKEY_RACE_TOKENS=2500` (10,000 presentations).

use diesel::prelude::*;
use futures_util::stream::{self, StreamExt};
use latchkey_domain::SigningAlg;
use openidconnect::OAuth2TokenResponse;

use crate::support::raw::{post_form, Answer};
use crate::support::rp::{sign_in_default, AuthResponse};
use crate::support::{Backend, Rp, TestApp, PASSWORD, USERNAME};

const PRESENTERS: usize = 4;
/// Tokens raced at once (each with its presenters).
const IN_FLIGHT: usize = 32;

fn tokens() -> usize {
    std::env::var("LATCHKEY_RACE_TOKENS").ok().and_then(|v| v.parse().ok()).unwrap_or(25)
}

async fn refresh(app: &TestApp, rp: &Rp, token: &str) -> Answer {
    post_form(app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", token)], Some((&rp.client_id, rp.secret.as_deref().unwrap_or_default()))).await
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!("({sql})"))).get_result(conn).expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_reuse_races_over_two_nodes_on_postgres() {
    // Behind a trusted proxy: the setup below parks more authorization
    // requests than one address may (1,000 per 10 minutes), so it spreads
    // them over addresses.
    let Some(app) = TestApp::start_with(Backend::Postgres, |s| {
        s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default();
    })
    .await
    else {
        return;
    };
    let node2 = app.second_node().await;
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let n = tokens();

    // One sign-in, then one code (and so one refresh-token family) per token.
    let mut browser = app.browser();
    let mut refresh_tokens = Vec::with_capacity(n);
    for i in 0..n {
        browser.headers.retain(|(k, _)| k != "x-forwarded-for");
        browser.headers.push(("x-forwarded-for".into(), format!("198.51.100.{}", i / 500 + 1)));
        let req = rp.authorize_scopes(&["offline_access"], &[]);
        let resp = if i == 0 { sign_in_default(&mut browser, &req.url).await } else { AuthResponse::parse(&browser.get(&req.url).await.location.expect("a code for the signed-in user")) };
        let t = rp.exchange(resp.code.as_deref().expect("code"), req.verifier).await.expect("exchange");
        refresh_tokens.push(t.refresh_token().expect("refresh token").secret().clone());
    }

    let started = std::time::Instant::now();
    let outcomes: Vec<Vec<Answer>> = stream::iter(refresh_tokens)
        .map(|token| {
            let (app, node2, rp) = (&app, &node2, &rp);
            async move {
                let uses = (0..PRESENTERS).map(|p| {
                    let token = token.clone();
                    async move { refresh(if p % 2 == 0 { app } else { node2 }, rp, &token).await }
                });
                futures_util::future::join_all(uses).await
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut winners = Vec::new();
    for (i, answers) in outcomes.iter().enumerate() {
        let won: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
        assert_eq!(won.len(), 1, "token {i}: exactly one winner: {:?}", answers.iter().map(|a| (a.status, a.body.to_string())).collect::<Vec<_>>());
        for a in answers.iter().filter(|a| a.status != 200) {
            assert_eq!(a.status, 400, "token {i}: {}", a.body);
            assert_eq!(a.body["error"], "invalid_grant", "token {i}");
        }
        winners.push(won[0].body["refresh_token"].as_str().unwrap_or_default().to_string());
    }
    eprintln!("RACES tokens={n} presentations={} elapsed={elapsed:?}", n * PRESENTERS);

    // Reuse revoked every family: the winners' new tokens are dead too.
    for (i, w) in winners.iter().enumerate().take(20) {
        assert_eq!(refresh(&node2, &rp, w).await.body["error"], "invalid_grant", "winner {i}'s successor is revoked with its family");
    }

    // SQL: no family has two live tokens; every family was revoked for reuse;
    // each family has exactly two tokens (the raced one and the winner's successor).
    let url = app.pg.as_ref().expect("postgres").url.clone();
    let mut conn = PgConnection::establish(&url).expect("connect");
    let client = id.replace('\'', "");
    let families = count(&mut conn, &format!("SELECT count(*) FROM refresh_families WHERE client_id = '{client}'"));
    assert_eq!(families, n as i64);
    let two_live = count(&mut conn, &format!("SELECT count(*) FROM (SELECT t.family_id FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE f.client_id = '{client}' AND t.used_at IS NULL GROUP BY t.family_id HAVING count(*) > 1) x"));
    assert_eq!(two_live, 0, "no family with two live children");
    let unrevoked = count(&mut conn, &format!("SELECT count(*) FROM refresh_families WHERE client_id = '{client}' AND revoked_at IS NULL"));
    assert_eq!(unrevoked, 0, "reuse revoked every family");
    let tokens_per_family = count(
        &mut conn,
        &format!(
            "SELECT count(*) FROM (SELECT t.family_id FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE f.client_id = '{client}' GROUP BY t.family_id HAVING count(*) <> 2) x"
        ),
    );
    assert_eq!(tokens_per_family, 0, "one rotation per family, no more");
}
