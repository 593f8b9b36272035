//! Authenticator policies (issue #29): which passkeys may be registered,
//! for everyone and for administrators, with attestation verified against
//! a FIDO metadata BLOB that the test makes and signs.
//!
//! Two software authenticators play the parts: webauthn-authenticator-rs's
//! `SoftToken`, a security key that attests (packed, `x5c` under a CA it
//! makes, AAGUID `0fb9bcbc-…`), and `SoftPasskey`, which does not (a
//! self-attestation with an all-zero AAGUID).

use latchkey_authn::authenticator_policy::{Allowed, AuthenticatorPolicy, PolicyConfig};
use latchkey_authn::fido_metadata::{read_blob, roots_from_pem, MetadataError};
use latchkey_store::repo::audit::Filter;
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::{SoftToken, AAGUID as SOFT_TOKEN};
use webauthn_authenticator_rs::WebauthnAuthenticator;

use crate::console::admin_browser;
use crate::passkey_providers::with_aaguid;
use crate::passkeys::password_sign_in;
use crate::support::mds::{Model, Signer};
use crate::support::{Backend, Browser, TestApp, PASSWORD, USERNAME};

/// Google Password Manager: a synced passkey provider that does not attest.
const GOOGLE: &str = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";

/// A security key that attests, and the DER of the root it attests under.
fn security_key() -> (SoftToken, Vec<u8>) {
    let (token, ca) = SoftToken::new(true).expect("soft token");
    (token, crypto_glue::traits::EncodeDer::to_der(&ca).expect("DER"))
}

/// The BLOB listing the security key (under `root`) and a platform
/// authenticator, written to a file; and the root the BLOB is signed under.
fn metadata_file(dir: &std::path::Path, root: &[u8]) -> (std::path::PathBuf, String) {
    let signer = Signer::new("Test MDS", false);
    let models = [
        Model { aaguid: SOFT_TOKEN.to_string(), description: "Test Security Key".into(), roots: vec![root.to_vec()], security_key: true, status: "FIDO_CERTIFIED_L1" },
        Model { aaguid: GOOGLE.into(), description: "A platform authenticator".into(), roots: vec![root.to_vec()], security_key: false, status: "FIDO_CERTIFIED" },
    ];
    let path = dir.join("mds.jwt");
    std::fs::write(&path, signer.blob(&models, 7)).expect("write the BLOB");
    (path, signer.root_pem)
}

/// Starts registering a passkey in `browser` (signed in): the creation options, the ceremony and the form token.
async fn start(browser: &mut Browser) -> (u16, Value, String) {
    let csrf = browser.get("/account").await.field("csrf_token").unwrap_or_default();
    let (status, start) = browser.post_json("/account/passkeys/register/start", &csrf, &json!({})).await;
    (status, start, csrf)
}

async fn finish(browser: &mut Browser, csrf: &str, start: &Value, credential: Value) -> (u16, Value) {
    browser.post_json("/account/passkeys/register/finish", csrf, &json!({ "ceremony": start["ceremony"], "name": "Key", "credential": credential })).await
}

/// Registers with `authenticator` in `browser`; the answer of the finish.
async fn register_with(app: &TestApp, browser: &mut Browser, authenticator: &mut impl WebauthnAuthenticator, rewrite: impl FnOnce(Value) -> Value) -> (u16, Value) {
    let (status, started, csrf) = start(browser).await;
    if status != 200 {
        return (status, started);
    }
    let options: CreationChallengeResponse = serde_json::from_value(started["options"].clone()).expect("creation options");
    let credential = authenticator.do_registration(Url::parse(&app.issuer).expect("origin"), options).expect("the authenticator registers");
    finish(browser, &csrf, &started, rewrite(serde_json::to_value(&credential).expect("json"))).await
}

async fn details(app: &TestApp, kind: &str) -> Vec<String> {
    let filter = Filter { kind: Some(kind.into()), ..Default::default() };
    app.state.oauth.audit_search(filter, None, 100).await.expect("audit").events.into_iter().map(|e| e.detail).collect()
}

async fn policies(backend: Backend) {
    let dir = tempfile_dir();
    let (mut key, key_root) = security_key();
    let (file, root_pem) = metadata_file(&dir, &key_root);
    let config = PolicyConfig {
        everyone: AuthenticatorPolicy::default(),
        admins: Some(AuthenticatorPolicy { allowed: Allowed::SecurityKeys, ..Default::default() }),
        metadata_file: Some(file.clone()),
        metadata_roots: Some(root_pem),
    };
    let Some(app) = TestApp::start_with(backend, |s| s.passkey_policy = config).await else { return };

    // Everyone: any passkey, asked without attestation.
    app.add_user(USERNAME, PASSWORD).await;
    let mut alice = app.browser();
    password_sign_in(&mut alice).await;
    let (status, done) = register_with(&app, &mut alice, &mut SoftPasskey::new(true), |c| c).await;
    assert_eq!(status, 200, "{done}");

    // Administrators: security keys only. The options ask for attestation
    // and a roaming authenticator; a passkey that cannot attest is refused in words.
    let (mut admin, _, root) = admin_browser(&app).await;
    let (status, started, csrf) = start(&mut admin).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["options"]["publicKey"]["attestation"], "direct", "{started}");
    assert_eq!(started["options"]["publicKey"]["authenticatorSelection"]["authenticatorAttachment"], "cross-platform");
    let options: CreationChallengeResponse = serde_json::from_value(started["options"].clone()).expect("options");
    let unattested = SoftPasskey::new(true).do_registration(Url::parse(&app.issuer).expect("origin"), options).expect("registers");
    let (status, refused) = finish(&mut admin, &csrf, &started, serde_json::to_value(&unattested).expect("json")).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"], "This passkey could not prove which device made it, and your organisation requires that. Try a security key, or another device.");

    // A security key of the same model under a CA the BLOB does not name: refused.
    let (mut forged, _) = security_key();
    let (status, refused) = register_with(&app, &mut admin, &mut forged, |c| c).await;
    assert_eq!(status, 403, "{refused}");
    // A synced passkey claiming a listed model: no attestation, refused.
    let (status, refused) = register_with(&app, &mut admin, &mut SoftPasskey::new(true), |c| with_aaguid(c, GOOGLE)).await;
    assert_eq!(status, 403, "{refused}");
    assert!(app.state.passkeys.list(&root.id).await.expect("list").is_empty(), "nothing refused was stored");

    // The security key the BLOB vouches for: registered.
    let (status, started, csrf) = start(&mut admin).await;
    assert_eq!(status, 200);
    let options: CreationChallengeResponse = serde_json::from_value(started["options"].clone()).expect("options");
    let attested = key.do_registration(Url::parse(&app.issuer).expect("origin"), options).expect("registers");
    let attested = serde_json::to_value(&attested).expect("json");
    let (status, done) = finish(&mut admin, &csrf, &started, attested.clone()).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["aaguid"], SOFT_TOKEN.to_string());
    // Its ceremony is spent: the same answer again is refused.
    let (status, _) = finish(&mut admin, &csrf, &started, attested).await;
    assert_eq!(status, 400);

    // The console: both policies, where they come from, the BLOB.
    let page = admin.get("/admin/passkeys").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Hardware security keys only (attested)") && page.body.contains("from the server&#39;s configuration"), "{}", page.body);
    assert!(page.body.contains(">7</dd>"), "the BLOB's serial: {}", page.body);

    // An administrator lists the models everyone may use (recent sign-in, CSRF), audited.
    let csrf = page.field("csrf_token").unwrap_or_default();
    let saved = admin.post_form("/admin/passkeys/policy", &[("csrf_token", &csrf), ("audience", "everyone"), ("action", "save"), ("allowed", "listed"), ("aaguids", GOOGLE)]).await;
    assert_eq!(saved.location.as_deref(), Some("/admin/passkeys?notice=passkey-policy-set"), "{}", saved.body);
    assert_eq!(details(&app, "passkey_policy_set").await, vec![format!("passkey policy for everyone: listed (1 AAGUIDs)")]);
    let page = admin.get("/admin/passkeys").await;
    assert!(page.body.contains("Only one listed model") && page.body.contains("chosen here"), "{}", page.body);
    // Nonsense is refused, and changes nothing.
    let bad = admin.post_form("/admin/passkeys/policy", &[("csrf_token", &csrf), ("audience", "everyone"), ("action", "save"), ("allowed", "listed"), ("aaguids", "not-an-aaguid")]).await;
    assert_eq!(bad.status, 400);
    let bad = admin.post_form("/admin/passkeys/policy", &[("csrf_token", &csrf), ("audience", "robots"), ("action", "save"), ("allowed", "any")]).await;
    assert_eq!(bad.status, 400);
    let no_csrf = admin.post_form("/admin/passkeys/policy", &[("csrf_token", "forged"), ("audience", "everyone"), ("action", "reset")]).await;
    assert_ne!(no_csrf.status, 303);
    assert_eq!(details(&app, "passkey_policy_set").await.len(), 1);

    // A new user under the listed policy: an unlisted model is refused, a listed one registers.
    app.state
        .authn
        .create_user(latchkey_authn::NewUser { username: "bob".into(), email: "bob@example.com".into(), password: latchkey_domain::Secret::new(PASSWORD), admin: false })
        .await
        .expect("bob");
    let mut bob = app.browser();
    let login = bob.get("/login").await;
    bob.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", "bob"), ("password", PASSWORD)]).await;
    let (status, refused) = register_with(&app, &mut bob, &mut SoftPasskey::new(true), |c| c).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"].as_str().unwrap_or_default().starts_with("Your organisation does not allow this kind of passkey."), "{refused}");
    let (status, done) = register_with(&app, &mut bob, &mut SoftPasskey::new(true), |c| with_aaguid(c, GOOGLE)).await;
    assert_eq!(status, 200, "{done}");

    // Back to the configuration's policy.
    let reset = admin.post_form("/admin/passkeys/policy", &[("csrf_token", &csrf), ("audience", "everyone"), ("action", "reset")]).await;
    assert_eq!(reset.status, 303);
    assert!(details(&app, "passkey_policy_set").await.contains(&"passkey policy for everyone: the deployment's".to_string()));
    let page = admin.get("/admin/passkeys").await;
    assert!(page.body.contains("Any passkey</strong>"), "{}", page.body);
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("latchkey-mds-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticator_policies_on_sqlite() {
    policies(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticator_policies_on_postgres() {
    policies(Backend::Postgres).await;
}

/// The BLOB is trusted only under the roots given, only while its signer's
/// certificate is good, and only as signed; a revoked model is never trusted.
#[test]
fn the_metadata_blob_is_checked_before_it_is_believed() {
    let (_, key_root) = security_key();
    let signer = Signer::new("Test MDS", false);
    let roots = roots_from_pem(&signer.root_pem).expect("roots");
    let now = std::time::SystemTime::now();
    let models = |status| vec![Model { aaguid: SOFT_TOKEN.to_string(), description: "Key".into(), roots: vec![key_root.clone()], security_key: true, status }];
    let blob = signer.blob(&models("FIDO_CERTIFIED_L2"), 3);
    let read = read_blob(&blob, &roots, now).expect("reads");
    assert_eq!((read.serial, read.authenticators.len()), (3, 1));
    assert!(read.authenticators[0].security_key && !read.authenticators[0].compromised);
    assert!(read.ca_list(|_| true).is_some());

    // Under the FIDO Alliance's roots (the default), a test BLOB is not trusted.
    let fido = roots_from_pem(latchkey_authn::fido_metadata::FIDO_MDS_ROOTS).expect("shipped roots");
    assert!(matches!(read_blob(&blob, &fido, now), Err(MetadataError::Untrusted(_))));
    // Another root: not trusted.
    let other = Signer::new("Other", false);
    assert!(matches!(read_blob(&blob, &roots_from_pem(&other.root_pem).expect("roots"), now), Err(MetadataError::Untrusted(_))));
    // A signer whose certificate expired: not trusted.
    let expired = Signer::new("Test MDS", true);
    assert!(matches!(read_blob(&expired.blob(&models("FIDO_CERTIFIED_L2"), 3), &roots_from_pem(&expired.root_pem).expect("roots"), now), Err(MetadataError::Untrusted(_))));
    // A payload changed after signing: not trusted.
    let mut parts: Vec<String> = blob.split('.').map(str::to_string).collect();
    let other_payload = signer.blob(&models("FIDO_CERTIFIED_L2"), 4);
    parts[1] = other_payload.split('.').nth(1).expect("payload").to_string();
    assert!(matches!(read_blob(&parts.join("."), &roots, now), Err(MetadataError::Untrusted(_))));
    // A revoked model stays listed but gives no root to trust.
    let revoked = read_blob(&signer.blob(&models("REVOKED"), 5), &roots, now).expect("reads");
    assert!(revoked.authenticators[0].compromised);
    assert!(revoked.ca_list(|_| true).is_none());
}
