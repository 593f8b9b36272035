//! Independent relying-party libraries against latchkey: Node `openid-client`
//! (npm) and Python `Authlib` (PyPI), each doing discovery, the code flow with
//! PKCE, its own ID-token validation (signature, iss, aud, nonce), userinfo,
//! refresh rotation, revocation and an RP-initiated logout URL; Node also
//! through PAR. The libraries run as child processes (`tests/interop/`); this
//! test plays the user in the browser between their two steps.
//!
//! `.ci/run` installs them, pinned (`npm ci` in `tests/interop/node`, a
//! virtualenv `~/.cache/latchkey-interop-python` from
//! `tests/interop/python/requirements.txt`). Elsewhere, missing tools are
//! reported loudly (a failure under `CI=true`). Which OpenID Foundation
//! conformance modules these cover: docs/conformance.md.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::rp::sign_in_default;
use crate::support::services::missing;
use crate::support::{Backend, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// A library's command (program and script), or `None` after a loud notice.
fn node_rp() -> Option<(PathBuf, PathBuf)> {
    let dir = interop_dir().join("node");
    if !dir.join("node_modules/openid-client").exists() {
        missing("Node openid-client", "run `npm ci` in tests/interop/node (.ci/run does)");
        return None;
    }
    Some((PathBuf::from("node"), dir.join("rp.mjs")))
}

fn python_rp() -> Option<(PathBuf, PathBuf)> {
    let python = std::env::var_os("LATCHKEY_INTEROP_PYTHON").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/latchkey-interop-python/bin/python")))?;
    if !python.exists() {
        missing("Python Authlib", "no virtualenv at ~/.cache/latchkey-interop-python (.ci/run makes it from tests/interop/python/requirements.txt)");
        return None;
    }
    Some((python, interop_dir().join("python/rp.py")))
}

async fn run(rp: &(PathBuf, PathBuf), args: Vec<String>) -> Value {
    let (program, script) = rp.clone();
    let out = tokio::task::spawn_blocking(move || Command::new(program).arg(script).args(&args).env("NODE_OPTIONS", "--dns-result-order=ipv4first").output())
        .await
        .expect("thread")
        .expect("run the relying party");
    assert!(out.status.success(), "the relying party failed: {}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON from the relying party ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The whole life of a sign-in through one library.
async fn library_signs_in(rp: (PathBuf, PathBuf), backend: Backend, par: bool) {
    library_signs_in_with(rp, backend, par, false).await;
}

/// … with DPoP-bound tokens when `dpop` (and server nonces required, so the
/// library's nonce retry is exercised too).
async fn library_signs_in_with(rp: (PathBuf, PathBuf), backend: Backend, par: bool, dpop: bool) {
    if crate::support::services::skip_slow("an independent relying party (interop)") {
        return;
    }
    let Some(app) = TestApp::start_with(backend, |s| s.dpop_require_nonce = dpop).await else { return };
    let user = app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
    let secret = secret.expect("confidential");
    let base = vec![app.issuer.clone(), id.clone(), secret.clone(), REDIRECT_URI.to_string()];

    let mut args = [vec!["start".to_string()], base.clone()].concat();
    if par {
        args.push("par".into());
    }
    let start = run(&rp, args).await;
    let url = start["url"].as_str().expect("an authorization URL").to_string();
    if par {
        assert!(url.contains("request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A"), "pushed: {url}");
    }
    let mut browser = app.browser();
    let callback = sign_in_default(&mut browser, &url).await.location;

    let field = |k: &str| start[k].as_str().unwrap_or_default().to_string();
    let mut args = [vec!["finish".to_string()], base, vec![callback, field("verifier"), field("state"), field("nonce")]].concat();
    if dpop {
        args.push("dpop".into());
    }
    let done = run(&rp, args).await;
    let token_type = if dpop { "dpop" } else { "bearer" };
    assert_eq!(done["token_type"].as_str().map(str::to_ascii_lowercase).as_deref(), Some(token_type), "{done}");
    assert_eq!(done["refreshed_token_type"].as_str().map(str::to_ascii_lowercase).as_deref(), Some(token_type), "{done}");
    assert_eq!(done["sub"], user.id.0.as_str(), "{done}");
    assert_eq!(done["iss"], app.issuer.as_str());
    assert_eq!(done["userinfo_sub"], done["sub"]);
    assert_eq!(done["userinfo_username"], USERNAME);
    assert_eq!(done["refreshed"], true, "the refresh token rotated");
    assert_eq!(done["revoked_refresh_then"], "invalid_grant", "revoked means revoked");
    let logout = done["end_session_url"].as_str().unwrap_or_default();
    assert!(logout.starts_with(&app.url("/end-session?")), "{logout}");
    let page = browser.get(logout).await;
    assert!(page.status == 200 || page.status == 302 || page.status == 303, "RP-initiated logout: {} {}", page.status, page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_openid_client_signs_in_on_sqlite() {
    let Some(rp) = node_rp() else { return };
    library_signs_in(rp, Backend::Sqlite, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_openid_client_signs_in_through_par_on_postgres_and_redis() {
    let Some(rp) = node_rp() else { return };
    library_signs_in(rp, Backend::Postgres, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_openid_client_signs_in_with_dpop_on_postgres_and_redis() {
    let Some(rp) = node_rp() else { return };
    library_signs_in_with(rp, Backend::Postgres, true, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_authlib_signs_in_on_sqlite() {
    let Some(rp) = python_rp() else { return };
    library_signs_in(rp, Backend::Sqlite, false).await;
}
