//! Shared signals (OpenID SSF 1.0, CAEP, RISC; issue #30): a relying party
//! makes its stream as its client, and a receiver written with the generic
//! JOSE library `jose` (npm, pinned in `tests/ssf/`) verifies every
//! Security Event Token against latchkey's JWKS: issuer, audience, `typ`,
//! the events and the `sub_id` formats.

use std::path::PathBuf;
use std::time::Duration;

use latchkey_app::admin::Actor;
use latchkey_domain::{SecurityEvent, SigningAlg};
use serde_json::{json, Value};

use crate::support::node::NodeProcess;
use crate::support::rp::sign_in_default;
use crate::support::{Backend, Rp, TestApp, PASSWORD, USERNAME};

const PUSH: &str = "urn:ietf:rfc:8935";
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const CREDENTIAL_CHANGE: &str = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const ACCOUNT_DISABLED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
const ACCOUNT_PURGED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-purged";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

async fn call(app: &TestApp, method: &str, path: &str, client: Option<(&str, &str)>, body: Option<Value>) -> (u16, Value) {
    let mut req = app.http().request(method.parse().expect("method"), app.url(path));
    if let Some((id, secret)) = client {
        req = req.basic_auth(id, Some(secret));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// What the receiver verified, until `n` SETs came (or 10 s passed), delivering as it goes.
async fn receive(app: &TestApp, receiver: &mut NodeProcess, n: usize) -> Vec<Value> {
    let mut got = Vec::new();
    for _ in 0..100 {
        app.state.deliver_webhooks().await.expect("deliver");
        while let Ok(line) = receiver.lines.try_recv() {
            got.push(serde_json::from_str::<Value>(&line).expect("a JSON line"));
        }
        if got.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    got
}

async fn signals(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| s.ssf_allow_private = true).await else { return };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::ES256).await;
    let secret = secret.expect("a confidential client");
    let me = Some((id.as_str(), secret.as_str()));
    // Alice signs in to the relying party: it holds her grant and tokens of her session.
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("a code");
    rp.exchange(&code, req.verifier).await.expect("tokens");
    let sid = app.state.sessions.list(&alice.id).await.expect("sessions")[0].sid.clone();

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ssf");
    let Some(mut receiver) = NodeProcess::spawn(&dir, "jose", "receiver.mjs", &[&app.issuer, &id], "jose (the SSF receiver)", "ssf") else { return };
    let listening: Value = serde_json::from_str(&tokio::time::timeout(Duration::from_secs(20), receiver.lines.recv()).await.expect("started").expect("a line")).expect("json");
    let endpoint = format!("http://127.0.0.1:{}/", listening["listening"]);

    // The transmitter's configuration.
    let (status, config) = call(&app, "GET", "/.well-known/ssf-configuration", None, None).await;
    assert_eq!((status, config["issuer"].as_str(), config["delivery_methods_supported"][0].as_str()), (200, Some(app.issuer.as_str()), Some(PUSH)), "{config}");
    assert_eq!(config["configuration_endpoint"].as_str(), Some(app.url("/ssf/stream").as_str()));

    // Stream management as the client only.
    let stream = json!({ "delivery": { "method": PUSH, "endpoint_url": endpoint }, "events_requested": [SESSION_REVOKED, CREDENTIAL_CHANGE, ACCOUNT_DISABLED, ACCOUNT_PURGED] });
    assert_eq!(call(&app, "POST", "/ssf/stream", None, Some(stream.clone())).await.0, 401);
    assert_eq!(call(&app, "POST", "/ssf/stream", Some((id.as_str(), "wrong")), Some(stream.clone())).await.0, 401);
    let (status, made) = call(&app, "POST", "/ssf/stream", me, Some(stream.clone())).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!((made["aud"].as_str(), made["events_delivered"].as_array().map(Vec::len)), (Some(id.as_str()), Some(4)), "{made}");
    assert_eq!(call(&app, "POST", "/ssf/stream", me, Some(stream)).await.0, 409, "one stream per client");
    let (status, _) = call(&app, "PATCH", "/ssf/stream", me, Some(json!({ "delivery": { "method": "poll" } }))).await;
    assert_eq!(status, 400, "push only");
    let (status, read) = call(&app, "GET", "/ssf/stream", me, None).await;
    assert_eq!((status, read["stream_id"].clone()), (200, made["stream_id"].clone()));
    // Another relying party with a stream, that never got tokens of Alice's session.
    let (other, other_secret) = app.add_client(false, SigningAlg::RS256).await;
    let other_secret = other_secret.expect("confidential");
    let Some(mut other_receiver) = NodeProcess::spawn(&dir, "jose", "receiver.mjs", &[&app.issuer, &other], "jose (the SSF receiver)", "ssf2") else { return };
    let listening: Value = serde_json::from_str(&tokio::time::timeout(Duration::from_secs(20), other_receiver.lines.recv()).await.expect("started").expect("a line")).expect("json");
    let other_stream = json!({ "delivery": { "method": PUSH, "endpoint_url": format!("http://127.0.0.1:{}/", listening["listening"]) }, "events_requested": [SESSION_REVOKED] });
    assert_eq!(call(&app, "POST", "/ssf/stream", Some((other.as_str(), other_secret.as_str())), Some(other_stream)).await.0, 201);

    // Verification, echoing the state.
    let (status, _) = call(&app, "POST", "/ssf/verify", me, Some(json!({ "stream_id": made["stream_id"], "state": "VGhpcyBpcyBhbiBleGFtcGxl" }))).await;
    assert_eq!(status, 204);
    let got = receive(&app, &mut receiver, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["ok"], true, "{got:?}");
    assert_eq!(got[0]["payload"]["events"][VERIFICATION]["state"], "VGhpcyBpcyBhbiBleGFtcGxl");
    assert_eq!(got[0]["header"]["alg"], "ES256", "signed with the client's algorithm");

    // A credential change: CAEP credential-change about her.
    let session = app.state.sessions.list(&alice.id).await.expect("sessions").remove(0);
    app.state.credentials_changed(&alice.id, &session, |n| SecurityEvent::PasswordChanged { user: alice.id.clone(), others_ended: n }).await.expect("changed");
    // Her sessions ended from the console: exactly one session-revoked (one RP had tokens in it).
    app.state.admin(Actor::Cli).end_everything(&alice).await.expect("ended");
    // Disabled, then deleted: RISC account-disabled and account-purged.
    let alice = app.state.authn.user(&alice.id).await.expect("read").expect("alice");
    app.state.admin(Actor::Cli).set_disabled(&alice, true).await.expect("disabled");
    app.state.admin(Actor::Cli).delete_user(&alice).await.expect("deleted");

    let got = receive(&app, &mut receiver, 4).await;
    assert!(got.iter().all(|g| g["ok"] == true), "every SET verifies with jose: {got:?}");
    let kinds: Vec<String> = got.iter().map(|g| g["payload"]["events"].as_object().and_then(|e| e.keys().next().cloned()).unwrap_or_default()).collect();
    assert_eq!(kinds, [CREDENTIAL_CHANGE, SESSION_REVOKED, ACCOUNT_DISABLED, ACCOUNT_PURGED], "in order, each once");
    for g in &got {
        let p = &g["payload"];
        assert_eq!((p["iss"].as_str(), p["aud"].as_str(), g["header"]["typ"].as_str()), (Some(app.issuer.as_str()), Some(id.as_str()), Some("secevent+jwt")), "{p}");
        assert!(p["jti"].as_str().is_some_and(|j| !j.is_empty()) && p["iat"].is_i64(), "{p}");
    }
    assert_eq!(got[0]["payload"]["events"][CREDENTIAL_CHANGE]["credential_type"], "password");
    assert_eq!(got[0]["payload"]["sub_id"], json!({ "format": "iss_sub", "iss": app.issuer, "sub": alice.id.0 }));
    let revoked = &got[1]["payload"]["sub_id"];
    assert_eq!((revoked["format"].as_str(), revoked["session"]["id"].as_str(), revoked["user"]["sub"].as_str()), (Some("complex"), Some(sid.as_str()), Some(alice.id.0.as_str())), "{revoked}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receive(&app, &mut receiver, 1).await.is_empty(), "nothing more: one session-revoked, not one per token");
    assert!(receive(&app, &mut other_receiver, 1).await.is_empty(), "a relying party that got no tokens in the session is told nothing of it");

    // The stream goes with DELETE.
    assert_eq!(call(&app, "DELETE", "/ssf/stream", me, None).await.0, 204);
    assert_eq!(call(&app, "GET", "/ssf/stream", me, None).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_signals_on_sqlite() {
    signals(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_signals_on_postgres() {
    signals(Backend::Postgres).await;
}
