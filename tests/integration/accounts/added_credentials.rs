//! A sign-in method added by an intruder is mailed, ends the other sessions,
//! and is offered for removal by "This wasn't me" and by recovery.

use super::{link_in, wait_for_mail};
use crate::mfa::{answer_second_step, enrol, sign_in_password};
use crate::passkeys::register;
use crate::sessions::signed_in;
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

const EMAIL: &str = "alice@example.com";
const ADDED: &str = "A sign-in method was added to your account";

/// The intruder (who has the password of a password-only account) adds a
/// passkey: the owner's session ends and the owner is mailed; the mail's
/// "This wasn't me" ends the intruder's session and removes the passkey
/// (CSRF-checked, only with a genuine link, only what was added recently).
async fn an_intruders_passkey_is_mailed_and_removed(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let mut owner = app.browser();
    crate::passkeys::password_sign_in(&mut owner).await;
    let mut intruder = app.browser();
    crate::passkeys::password_sign_in(&mut intruder).await;
    let _evil = register(&app, &mut intruder, "Evil key").await;
    assert!(!signed_in(&mut owner).await, "adding a credential ends every other session");
    assert!(signed_in(&mut intruder).await);

    let mail = wait_for_mail(&app, EMAIL, ADDED).await;
    assert!(mail.body.contains("Evil key"), "the mail names the passkey: {}", mail.body);
    let link = link_in(&mail.body, &format!("{}/account/not-me?t=", app.issuer));
    let t = super::token_of(&link);

    // The owner's browser, not signed in: the link alone authorises.
    let mut rescue = app.browser();
    let page = rescue.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.field("csrf_token").unwrap_or_default();
    let done = rescue.post_form("/account/not-me", &[("csrf_token", &csrf), ("t", &t)]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(!signed_in(&mut intruder).await, "the session that added it ended");
    assert!(done.body.contains("Passkey “Evil key”") && done.body.contains(r#"action="/account/not-me/remove""#), "offered for removal: {}", done.body);
    let id = done.body.split(r#"name="id" value=""#).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_string();
    assert!(!id.is_empty());
    let csrf = done.field("csrf_token").unwrap_or_default();

    let forged = rescue.post_form("/account/not-me/remove", &[("csrf_token", "forged"), ("t", &t), ("kind", "passkey"), ("id", &id)]).await;
    assert_eq!(forged.status, 403, "CSRF-checked");
    let mut tampered = t.clone();
    tampered.pop();
    tampered.push(if t.ends_with('A') { 'B' } else { 'A' });
    let bad_link = rescue.post_form("/account/not-me/remove", &[("csrf_token", &csrf), ("t", &tampered), ("kind", "passkey"), ("id", &id)]).await;
    assert_eq!(bad_link.status, 400, "only with a genuine link");
    let user = app.state.authn.find_by_username(USERNAME).await.expect("db").expect("alice");
    assert_eq!(app.state.passkeys.list(&user.id).await.expect("passkeys").len(), 1, "nothing removed yet");

    let removed = rescue.post_form("/account/not-me/remove", &[("csrf_token", &csrf), ("t", &t), ("kind", "passkey"), ("id", &id)]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(!removed.body.contains("Evil key") && removed.body.contains("Nothing was added recently."), "{}", removed.body);
    assert!(app.state.passkeys.list(&user.id).await.expect("passkeys").is_empty(), "the intruder's passkey is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intruders_passkey_is_mailed_and_removed_on_sqlite() {
    an_intruders_passkey_is_mailed_and_removed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intruders_passkey_is_mailed_and_removed_on_postgres_and_redis() {
    an_intruders_passkey_is_mailed_and_removed(Backend::Postgres).await;
}

/// An authenticator app set up by an intruder is mailed too, and ends the
/// owner's session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intruders_authenticator_app_is_mailed() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let mut owner = app.browser();
    sign_in_password(&mut owner).await;
    let mut intruder = app.browser();
    sign_in_password(&mut intruder).await;
    enrol(&app, &mut intruder).await;
    assert!(!signed_in(&mut owner).await, "the owner's session ended");
    let mail = wait_for_mail(&app, EMAIL, ADDED).await;
    assert!(mail.body.contains("authenticator app") && mail.body.contains("/account/not-me?t="), "{}", mail.body);
}

/// The owner (password + authenticator app for long) recovers after an
/// intruder added a passkey: the recovery lands on the review page, which
/// lists only the intruder's passkey and removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_offers_to_remove_what_was_added() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let mut owner = app.browser();
    sign_in_password(&mut owner).await;
    let (secret, backup) = enrol(&app, &mut owner).await;
    app.clock.advance(latchkey_authn::added::RECENTLY_ADDED_SECS + 3600);

    // The intruder phished the password and a code, and adds a passkey.
    let mut intruder = app.browser();
    let first = sign_in_password(&mut intruder).await;
    let step = first.location.clone().unwrap_or_default();
    answer_second_step(&mut intruder, &step, &crate::mfa::code_at(&secret, app.clock_now())).await;
    let _evil = register(&app, &mut intruder, "Evil key").await;
    app.clock.advance(120);

    let link = super::recovery::recovery_link(&app, USERNAME).await;
    let t = super::token_of(&link);
    let mut rescue = app.browser();
    let page = rescue.get(&link).await;
    let passed = rescue.post_form("/recover/verify", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("t", &t), ("code", &backup[0])]).await;
    assert_eq!(passed.status, 303, "{}", passed.body);
    let done = super::set_password(&mut rescue, "/recover", &link, "a completely new passphrase").await;
    assert_eq!(done.location.as_deref(), Some("/account/review"), "{}", done.body);
    assert!(!signed_in(&mut intruder).await);
    let review = rescue.get("/account/review").await;
    assert_eq!(review.status, 200, "{}", review.body);
    assert!(review.body.contains("Passkey “Evil key”"), "{}", review.body);
    assert!(!review.body.contains("Authenticator app"), "the owner's old app is not a suspect");
    let id = review.body.split(r#"name="id" value=""#).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_string();
    let csrf = review.field("csrf_token").unwrap_or_default();
    assert_eq!(rescue.post_form("/account/review/remove", &[("csrf_token", "forged"), ("kind", "passkey"), ("id", &id)]).await.status, 403, "CSRF-checked");
    let removed = rescue.post_form("/account/review/remove", &[("csrf_token", &csrf), ("kind", "passkey"), ("id", &id)]).await;
    assert_eq!(removed.location.as_deref(), Some("/account/review"), "{}", removed.body);
    let user = app.state.authn.find_by_username(USERNAME).await.expect("db").expect("alice");
    assert!(app.state.passkeys.list(&user.id).await.expect("passkeys").is_empty(), "removed");
    assert!(rescue.get("/account/review").await.body.contains("Nothing was added recently."));
    // Later (no recent sign-in: 5 minutes, as for any change of sign-in methods), the page asks for one.
    app.clock.advance(5 * 60 + 1);
    let stale = rescue.get("/account/review").await;
    assert_eq!(stale.location.as_deref(), Some("/login?next=/account/review"));
}
