//! Property tests over HTTP: random and mutated inputs to every endpoint that
//! parses something (token / revoke / introspect forms, the authorization
//! request, bearer tokens, cookies, WebAuthn JSON, admin API JSON, the device
//! grant's forms) never get
//! a 5xx, and bad input gets the specific RFC error.
//!
//! Bounded in the normal run (`LATCHKEY_FUZZ_CASES`, default 48 per
//! property); a long run: `LATCHKEY_FUZZ_CASES=200000 cargo test --test
//! integration fuzz -- --test-threads 1` (see docs/RELIABILITY.md).

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::support::raw::bearer;
use crate::support::{Backend, TestApp, REDIRECT_URI};

const TOKEN_ERRORS: [&str; 8] = ["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "invalid_target", "temporarily_unavailable"];

fn cases() -> u32 {
    std::env::var("LATCHKEY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
}

/// Runs a property with proptest's runner (random cases, shrinking on
/// failure) on a blocking thread that drives async checks on the test's runtime.
/// The strategy is made on that thread (boxed strategies are not `Send`).
async fn check<S, M, F, Fut>(name: &'static str, make: M, test: F)
where
    S: Strategy + 'static,
    S::Value: std::fmt::Debug,
    M: FnOnce() -> S + Send + 'static,
    F: Fn(S::Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let rt = tokio::runtime::Handle::current();
    let result = tokio::task::spawn_blocking(move || {
        let strategy = make();
        let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
        runner.run(&strategy, |v| rt.block_on(test(v)).map_err(TestCaseError::fail)).map_err(|e| e.to_string())
    })
    .await
    .expect("property thread");
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// Values as attackers send them: empty, printable, control characters,
/// non-ASCII, long, and the real vocabulary.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{1,40}",
        "\\PC{0,40}",
        ".{0,20}",
        "[\u{0}-\u{1f}\u{7f}]{1,8}",
        "[a-z]{3000,5000}",
        prop::sample::select(vec![
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "openid",
            "offline_access",
            REDIRECT_URI,
            "S256",
            "plain",
            "code",
            "login",
            "none",
            "0",
            "-1",
            "99999999999999999999"
        ])
        .prop_map(str::to_string),
    ]
}

fn pairs(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![4 => prop::sample::select(keys).prop_map(str::to_string), 1 => "[ -~]{0,12}"];
    prop::collection::vec((key, value()), 0..10)
}

const TOKEN_KEYS: &[&str] = &["grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope", "resource", "client_id", "client_secret", "token", "token_type_hint"];
const AUTHORIZE_KEYS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "acr_values",
    "login_hint",
    "resource",
    "response_mode",
    "id_token_hint",
    "request",
    "request_uri",
    "ui_locales",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::from), any::<i64>().prop_map(Value::from), value().prop_map(Value::from),];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(vec![
                "name",
                "redirect_uris",
                "public",
                "grant_types",
                "scopes",
                "username",
                "email",
                "invite",
                "admin",
                "audience",
                "scope",
                "id",
                "rawId",
                "type",
                "response",
                "clientDataJSON",
                "authenticatorData",
                "signature",
                "userHandle",
                "access_token_ttl",
                "alg"
            ])
            .prop_map(str::to_string),
            "[ -~]{0,10}",
        ];
        prop_oneof![prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array), prop::collection::vec((key, inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),]
    })
}

fn json_error_ok(status: u16, body: &str, allowed: &[&str]) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("{status}: {body}"));
    }
    if status == 400 || status == 401 {
        let v: Value = serde_json::from_str(body).map_err(|_| format!("{status} without a JSON body: {body}"))?;
        let code = v["error"].as_str().unwrap_or_default();
        if !allowed.contains(&code) {
            return Err(format!("{status} with error {code:?}"));
        }
    }
    Ok(())
}

async fn fuzz_app() -> Option<(Arc<TestApp>, String, String)> {
    let app = TestApp::start(Backend::Sqlite).await?;
    let (id, secret) = app.add_client(false, latchkey_domain::SigningAlg::ES256).await;
    Some((Arc::new(app), id, secret.expect("confidential")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_revoke_and_introspect_forms_never_5xx() {
    let Some((app, id, secret)) = fuzz_app().await else { return };
    let strategy = move || {
        (
            prop::sample::select(vec!["/token", "/revoke", "/introspect"]),
            pairs(TOKEN_KEYS),
            prop::option::of((prop_oneof![Just(id), "[ -~]{0,20}"], prop_oneof![Just(secret), "[ -~]{0,20}"])),
            any::<bool>(),
        )
    };
    check("token forms", strategy, move |(path, form, basic, raw_body)| {
        let app = app.clone();
        async move {
            let mut req = app.http().post(app.url(path));
            req = if raw_body {
                // The pairs joined without encoding: malformed percent-escapes and all.
                let body: String = form.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
                req.header("content-type", "application/x-www-form-urlencoded").body(body)
            } else {
                req.form(&form)
            };
            if let Some((u, p)) = &basic {
                req = req.basic_auth(u, Some(p));
            }
            let r = req.send().await.map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            json_error_ok(status, &r.text().await.unwrap_or_default(), &TOKEN_ERRORS)
        }
    })
    .await;
}

/// What `/par` may answer: the token endpoints' errors and the authorization
/// endpoint's (RFC 9126 §2.3).
const PAR_ERRORS: [&str; 13] = [
    "invalid_request",
    "invalid_client",
    "unauthorized_client",
    "invalid_scope",
    "invalid_target",
    "temporarily_unavailable",
    "unsupported_response_type",
    "request_not_supported",
    "request_uri_not_supported",
    "login_required",
    "consent_required",
    "interaction_required",
    "unmet_authentication_requirements",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_authorization_requests_never_5xx() {
    let Some((app, id, secret)) = fuzz_app().await else { return };
    let strategy = move || (pairs(AUTHORIZE_KEYS), prop::option::of((prop_oneof![Just(id), "[ -~]{0,20}"], prop_oneof![Just(secret), "[ -~]{0,20}"])));
    check("pushed requests", strategy, move |(form, basic)| {
        let app = app.clone();
        async move {
            let mut req = app.http().post(app.url("/par")).form(&form);
            if let Some((u, p)) = &basic {
                req = req.basic_auth(u, Some(p));
            }
            let r = req.send().await.map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            json_error_ok(status, &r.text().await.unwrap_or_default(), &PAR_ERRORS)
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_requests_never_5xx_nor_redirect_elsewhere() {
    let Some((app, id, _)) = fuzz_app().await else { return };
    let strategy = || (pairs(AUTHORIZE_KEYS), any::<bool>(), any::<bool>());
    check("authorize", strategy, move |(mut query, with_client, with_redirect)| {
        let (app, id) = (app.clone(), id.clone());
        async move {
            if with_client {
                query.push(("client_id".into(), id));
            }
            if with_redirect {
                query.push(("redirect_uri".into(), REDIRECT_URI.into()));
            }
            let url = format!("{}?{}", app.url("/authorize"), serde_urlencoded::to_string(&query).map_err(|e| e.to_string())?);
            let r = app.http().get(url).send().await.map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            if status >= 500 {
                return Err(format!("{status}"));
            }
            if let Some(location) = r.headers().get("location").and_then(|v| v.to_str().ok()) {
                if !(location.starts_with(REDIRECT_URI) || location.starts_with('/')) {
                    return Err(format!("redirected to {location}"));
                }
            }
            Ok(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_random_or_mutated_never_pass_nor_5xx() {
    let Some((app, _, _)) = fuzz_app().await else { return };
    let (admin, admin_secret) = app.add_admin_client().await;
    let valid =
        crate::support::raw::post_form(&app, "/token", &[("grant_type", "client_credentials")], Some((&admin, &admin_secret))).await.body["access_token"].as_str().unwrap_or_default().to_string();
    assert!(!valid.is_empty());
    let len = valid.len();
    let strategy = move || {
        prop_oneof![
            "[ -~]{0,300}".prop_map(|t| (t, false)),
            (0..len, any::<char>()).prop_map(move |(i, c)| {
                let mut chars: Vec<char> = valid.chars().collect();
                chars[i] = if c.is_ascii_graphic() { c } else { 'A' };
                let t: String = chars.into_iter().collect();
                let changed = t != valid;
                (t, changed)
            }),
        ]
    };
    check("bearer", strategy, move |(token, mutated)| {
        let app = app.clone();
        async move {
            for (method, path) in [("GET", "/userinfo"), ("GET", "/admin/api/v1/clients")] {
                let a = bearer(&app, method, path, &token).await;
                if a.status >= 500 || (mutated && a.status == 200) {
                    return Err(format!("{method} {path} with {token:?}: {}", a.status));
                }
            }
            Ok(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_never_5xx() {
    let Some((app, _, _)) = fuzz_app().await else { return };
    let cookie = "[!#-+\\--:<-\\[\\]-~]{0,120}";
    let strategy = move || {
        (
            prop::sample::select(vec!["__Host-latchkey-session", "__Host-latchkey-device", "__Host-latchkey-csrf", "__Host-latchkey-known"]),
            cookie,
            prop::sample::select(vec!["/account", "/login", "/authorize", "/end-session"]),
        )
    };
    check("cookies", strategy, move |(name, value, path)| {
        let app = app.clone();
        async move {
            let r = app.http().get(app.url(path)).header("cookie", format!("{name}={value}")).send().await.map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            if status >= 500 {
                return Err(format!("{path} with {name}={value}: {status}"));
            }
            Ok(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webauthn_json_never_5xx() {
    let Some((app, _, _)) = fuzz_app().await else { return };
    app.add_user(crate::support::USERNAME, crate::support::PASSWORD).await;
    check(
        "webauthn",
        || (json_value(), any::<bool>()),
        move |(credential, real_ceremony)| {
            let app = app.clone();
            async move {
                let mut b = app.browser();
                let csrf = b.get("/login").await.field("csrf_token").unwrap_or_default();
                let (status, start) = b.post_json("/login/passkey/start", &csrf, &json!({})).await;
                if status >= 500 {
                    return Err(format!("start: {status}"));
                }
                let ceremony = if real_ceremony { start["ceremony"].clone() } else { credential["id"].clone() };
                let (status, body) = b.post_json("/login/passkey/finish", &csrf, &json!({ "ceremony": ceremony, "credential": credential })).await;
                if status >= 500 || status == 200 {
                    return Err(format!("finish: {status} {body}"));
                }
                Ok(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_json_never_5xx() {
    let Some((app, _, _)) = fuzz_app().await else { return };
    let (admin, admin_secret) = app.add_admin_client().await;
    let token = crate::support::raw::post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "admin")], Some((&admin, &admin_secret))).await.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let paths = vec![
        ("POST", "/admin/api/v1/clients"),
        ("POST", "/admin/api/v1/users"),
        ("POST", "/admin/api/v1/apis"),
        ("POST", "/admin/api/v1/groups"),
        ("PATCH", "/admin/api/v1/users/nobody"),
        ("PUT", "/admin/api/v1/clients/nope/scopes"),
    ];
    check(
        "admin api",
        move || (prop::sample::select(paths), json_value()),
        move |((method, path), body)| {
            let (app, token) = (app.clone(), token.clone());
            async move {
                let m = openidconnect::reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
                let r = app.http().request(m, app.url(path)).bearer_auth(&token).header("content-type", "application/json").body(body.to_string()).send().await.map_err(|e| e.to_string())?;
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                if status >= 500 {
                    return Err(format!("{method} {path} {body}: {status} {text}"));
                }
                if status >= 400 && serde_json::from_str::<Value>(&text).is_err() {
                    return Err(format!("{method} {path}: {status} without a JSON error: {text}"));
                }
                Ok(())
            }
        },
    )
    .await;
}

/// What the device grant's JSON endpoints may answer: the token endpoints'
/// errors and RFC 8628 §3.5's.
const DEVICE_ERRORS: [&str; 12] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "temporarily_unavailable",
    "authorization_pending",
    "slow_down",
    "access_denied",
    "expired_token",
];
const DEVICE_KEYS: &[&str] = &["client_id", "client_secret", "scope", "resource", "grant_type", "device_code", "user_code", "decision", "csrf_token"];

/// The device grant (RFC 8628): random forms at `/device_authorization`,
/// random polls at `/token`, and random codes and answers posted (with a
/// valid form token) at `/device` and `/device/approve` by a signed-in browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_grant_inputs_never_5xx() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(crate::support::USERNAME, crate::support::PASSWORD).await;
    let (id, _) = app.register(crate::device::device_client("Fuzzed TV", true, vec![latchkey_domain::GrantType::DeviceCode])).await;
    let mut browser = app.browser();
    let login = browser.get("/login").await;
    browser.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", crate::support::USERNAME), ("password", crate::support::PASSWORD)]).await;
    let csrf = browser.get("/device").await.field("csrf_token").unwrap_or_default();
    let (app, browser) = (Arc::new(app), Arc::new(tokio::sync::Mutex::new(browser)));
    let device_grant = "urn:ietf:params:oauth:grant-type:device_code";
    let strategy = move || (pairs(DEVICE_KEYS), prop_oneof![Just(id), "[ -~]{0,20}"], prop::sample::select(vec![0u8, 1, 2, 3]));
    check("device grant", strategy, move |(mut form, client_id, target)| {
        let (app, browser, csrf) = (app.clone(), browser.clone(), csrf.clone());
        async move {
            match target {
                0 | 1 => {
                    let path = if target == 0 { "/device_authorization" } else { "/token" };
                    form.push(("client_id".into(), client_id));
                    if target == 1 {
                        form.push(("grant_type".into(), device_grant.into()));
                    }
                    let r = app.http().post(app.url(path)).form(&form).send().await.map_err(|e| e.to_string())?;
                    let status = r.status().as_u16();
                    json_error_ok(status, &r.text().await.unwrap_or_default(), &DEVICE_ERRORS)
                }
                _ => {
                    let path = if target == 2 { "/device" } else { "/device/approve" };
                    form.push(("csrf_token".into(), csrf));
                    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    let page = browser.lock().await.post_form(path, &fields).await;
                    if page.status >= 500 {
                        return Err(format!("{path} {form:?}: {} {}", page.status, page.body));
                    }
                    Ok(())
                }
            }
        }
    })
    .await;
}
