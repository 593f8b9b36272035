//! Passkeys named by their provider (issue #29): the AAGUID of a
//! registration picks a name and an icon from the list in force (the one
//! shipped in latchkey, or the operator's), shown on `/account`, in the
//! console and in the mail; icons are served by latchkey itself.
//!
//! The software authenticator registers with an all-zero AAGUID and a
//! packed self-attestation over it. To play a named authenticator, its
//! attestation object is rewritten here to what a real one that does not
//! attest sends: `fmt: none`, no statement, and the AAGUID in the
//! attested credential data (nothing signs it, as with real passkeys).

use base64::Engine;
use latchkey_authn::passkey_providers::{parse_list, ProviderList};
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;

use crate::accounts::wait_for_mail;
use crate::console::admin_browser;
use crate::passkeys::{passkey_sign_in, password_sign_in};
use crate::support::{Backend, Browser, TestApp, PASSWORD, USERNAME};

/// Google Password Manager in the shipped list.
const GOOGLE: &str = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";
/// On no list.
const UNLISTED: &str = "6c3b1f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The attestation object of `credential` (JSON, base64url fields) rewritten
/// to `fmt: none` with `aaguid` in its attested credential data.
pub(crate) fn with_aaguid(mut credential: Value, aaguid: &str) -> Value {
    use serde_cbor_2::Value as Cbor;
    let field = &mut credential["response"]["attestationObject"];
    let bytes = B64URL.decode(field.as_str().expect("attestation object")).expect("base64url");
    let Cbor::Map(mut map) = serde_cbor_2::from_slice(&bytes).expect("CBOR") else { panic!("not a map") };
    let Some(Cbor::Bytes(auth_data)) = map.get_mut(&Cbor::Text("authData".into())) else { panic!("no authData") };
    assert_ne!(auth_data[32] & 0x40, 0, "attested credential data present");
    auth_data[37..53].copy_from_slice(uuid::Uuid::parse_str(aaguid).expect("uuid").as_bytes());
    map.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
    map.insert(Cbor::Text("attStmt".into()), Cbor::Map(Default::default()));
    *field = Value::String(B64URL.encode(serde_cbor_2::to_vec(&Cbor::Map(map)).expect("CBOR")));
    credential
}

/// Registers a soft passkey that says it is `aaguid` for the signed-in `browser`.
async fn register_as(app: &TestApp, browser: &mut Browser, name: &str, aaguid: &str) -> SoftPasskey {
    let account = browser.get("/account").await;
    let csrf = account.field("csrf_token").unwrap_or_default();
    let (status, start) = browser.post_json("/account/passkeys/register/start", &csrf, &json!({})).await;
    assert_eq!(status, 200, "{start}");
    let options: CreationChallengeResponse = serde_json::from_value(start["options"].clone()).expect("creation options");
    let mut key = SoftPasskey::new(true);
    let credential = key.do_registration(Url::parse(&app.issuer).expect("origin"), options).expect("soft passkey registers");
    let credential = with_aaguid(serde_json::to_value(&credential).expect("json"), aaguid);
    let (status, done) = browser.post_json("/account/passkeys/register/finish", &csrf, &json!({ "ceremony": start["ceremony"], "name": name, "credential": credential })).await;
    assert_eq!(status, 200, "{done}");
    key
}

/// The icon addresses a page shows (`/passkey-icons/…`).
fn icon_urls(html: &str) -> Vec<String> {
    html.split("/passkey-icons/").skip(1).map(|rest| format!("/passkey-icons/{}", rest.split('"').next().unwrap_or_default().replace("&amp;", "&"))).collect()
}

async fn named_by_provider(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    password_sign_in(&mut browser).await;
    let mut phone = register_as(&app, &mut browser, "Work phone", GOOGLE).await;

    // /account: the provider's name instead of the kind, its icon from latchkey itself.
    let account = browser.get("/account").await;
    assert!(account.body.contains("Work phone") && account.body.contains("Google Password Manager"), "{}", account.body);
    let icons = icon_urls(&account.body);
    assert!(icons.iter().any(|u| u.starts_with(&format!("/passkey-icons/{GOOGLE}/light?v="))), "{icons:?}");
    assert!(icons.iter().any(|u| u.starts_with(&format!("/passkey-icons/{GOOGLE}/dark?v="))), "{icons:?}");
    assert!(!account.body.contains("data:image"), "icons are addresses on latchkey, not inline data");
    for url in &icons {
        let icon = app.http().get(app.url(url)).send().await.expect("icon");
        assert_eq!(icon.status(), 200, "{url}");
        let headers = icon.headers();
        assert_eq!(headers["content-type"], "image/svg+xml");
        assert!(headers["content-security-policy"].to_str().unwrap_or_default().contains("sandbox"), "an icon opened alone runs nothing");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(icon.text().await.unwrap_or_default().contains("<svg"));
    }
    // The mail about the new passkey names where it is saved.
    let mail = wait_for_mail(&app, "alice@example.com", "A sign-in method was added to your account").await;
    assert!(mail.body.contains("saved in Google Password Manager"), "{}", mail.body);

    // An AAGUID on no list: today's kind, no icon (a second passkey needs the first).
    let login = browser.get("/login").await;
    let (status, done, _) = passkey_sign_in(&mut browser, &login, &mut phone, &app.issuer).await;
    assert_eq!(status, 200, "{done}");
    register_as(&app, &mut browser, "Corp token", UNLISTED).await;
    let account = browser.get("/account").await;
    assert!(account.body.contains("Corp token"));
    assert!(!icon_urls(&account.body).iter().any(|u| u.contains(UNLISTED)), "no icon for an unlisted authenticator");

    // The console names both, with the same icons.
    let (mut admin, _, _) = admin_browser(&app).await;
    let page = admin.get(&format!("/admin/users/{}", alice.id.0)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Google Password Manager") && page.body.contains("Corp token"), "{}", page.body);
    assert!(icon_urls(&page.body).iter().any(|u| u.contains(GOOGLE)));

    // The operator's list (what `latchkey passkeys aaguids --file` stores)
    // is in force at the next page, on every node, without a restart.
    let logo = format!("data:image/svg+xml;base64,{}", B64.encode(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>"#));
    let list = parse_list(&json!({ UNLISTED: { "name": "Corp <Token>", "icon_light": logo, "icon_dark": "data:text/html;base64,PHNjcmlwdD4=" } }).to_string()).expect("list");
    assert_eq!(list.dropped_icons.len(), 1, "an HTML 'icon' is left out: {:?}", list.dropped_icons);
    app.state.passkeys.providers.replace(&list).await.expect("replace");
    let other = if backend == Backend::Postgres { Some(app.second_node().await) } else { None };
    let account = browser.get("/account").await;
    let escaped = ["Corp &lt;Token&gt;", "Corp &#60;Token&#62;"].iter().any(|e| account.body.contains(e));
    assert!(escaped && !account.body.contains("Corp <Token>"), "the operator's names, escaped");
    assert!(!account.body.contains("Google Password Manager"), "the operator's list replaces the shipped one");
    let shown = icon_urls(&account.body);
    assert!(!shown.is_empty() && shown.iter().all(|u| u.starts_with(&format!("/passkey-icons/{UNLISTED}/light?v="))), "the light icon stands in for the dropped dark one: {shown:?}");
    let served = app.http().get(app.url(&format!("/passkey-icons/{UNLISTED}/dark"))).send().await.expect("icon");
    assert_eq!(served.headers()["content-type"], "image/svg+xml", "the dropped HTML variant is never served");
    if let Some(node) = other {
        let served = node.http().get(node.url(&format!("/passkey-icons/{UNLISTED}/light"))).send().await.expect("icon");
        assert_eq!(served.status(), 200, "the other node serves the operator's icon at once");
    }
    // Back to the shipped list.
    app.state.passkeys.providers.replace(&ProviderList { providers: Vec::new(), dropped_icons: Vec::new() }).await.expect("shipped");
    assert!(browser.get("/account").await.body.contains("Google Password Manager"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_are_named_by_their_provider_on_sqlite() {
    named_by_provider(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_are_named_by_their_provider_on_postgres() {
    named_by_provider(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn icon_addresses_take_only_listed_aaguids_and_two_variants() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let get = |path: String| {
        let (http, url) = (app.http(), app.url(&path));
        async move { http.get(url).send().await.expect("icon").status().as_u16() }
    };
    assert_eq!(get(format!("/passkey-icons/{GOOGLE}/light")).await, 200);
    assert_eq!(get(format!("/passkey-icons/{}/dark", GOOGLE.to_uppercase())).await, 200, "AAGUIDs in any letter case");
    assert_eq!(get(format!("/passkey-icons/{GOOGLE}/script")).await, 404);
    assert_eq!(get(format!("/passkey-icons/{UNLISTED}/light")).await, 404);
    assert_eq!(get("/passkey-icons/00000000-0000-0000-0000-000000000000/light".into()).await, 404);
    assert_eq!(get("/passkey-icons/..%2F..%2Fetc%2Fpasswd/light".into()).await, 404);
    assert_eq!(get(format!("/passkey-icons/{}/light", "a".repeat(5000))).await, 404);
}
