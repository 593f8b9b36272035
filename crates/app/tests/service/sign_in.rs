//! The sign-in state machine below HTTP: a second-factor step is bound to
//! its browser and used once (its 5-minute lifetime is the fast store's TTL); a disabled account signs in nowhere.

use latchkey_app::sign_in::SignIn;
use latchkey_app::AppError;
use latchkey_authn::ClientInfo;
use latchkey_domain::Amr;
use latchkey_i18n::Tr;

use crate::harness::Harness;

const BROWSER: &str = "browser-a";

#[tokio::test]
async fn a_second_factor_step_is_bound_and_used_once() {
    let h = Harness::new().await;
    let alice = h.user("alice", false).await;
    let step = h.app.owe_second_factor(&alice, vec![latchkey_domain::Amr::Pwd], Some("authz-1".into()), None, true, BROWSER.into()).await.expect("step");
    // Another browser presenting the step finds nothing.
    assert!(matches!(h.app.second_factor_due(&step, |b| b == "browser-b").await, Err(AppError::Expired)));
    let due = h.app.second_factor_due(&step, |b| b == BROWSER).await.expect("due");
    assert_eq!((due.user(), due.authz.as_deref(), due.remember), (alice.id.clone(), Some("authz-1"), true));
    // Two answers race: one wins.
    let (a, b) = tokio::join!(h.app.take_second_factor_step(&step), h.app.take_second_factor_step(&step));
    assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
    assert!(matches!(h.app.second_factor_due(&step, |_| true).await, Err(AppError::Expired)), "used up");
    assert!(matches!(h.app.second_factor_due("made-up", |_| true).await, Err(AppError::Expired)));
}

#[tokio::test]
async fn signing_in_rotates_the_session_and_ends_another_users() {
    let h = Harness::new().await;
    let alice = h.user("alice", false).await;
    let mallory = h.user("mallory", false).await;
    let info = || ClientInfo { ip: Some("192.0.2.1".into()), user_agent: Some("test".into()) };
    let planted = h.app.start_session(SignIn { user: &mallory, amr: vec![Amr::Pwd], client: info(), current: None, remember: false, client_id: None, language: Tr::default() }).await.expect("mallory");
    // Alice signs in on the browser that carried mallory's session.
    let first = h
        .app
        .start_session(SignIn { user: &alice, amr: vec![Amr::Pwd], client: info(), current: Some(planted.session.clone()), remember: false, client_id: Some("client-1"), language: Tr::default() })
        .await
        .expect("alice");
    assert_ne!(first.session.sid, planted.session.sid);
    assert!(h.app.sessions.list(&mallory.id).await.expect("list").is_empty(), "the planted session ended");
    // Alice's step-up keeps her session (and its sid) under a new cookie value.
    let stepped = h
        .app
        .start_session(SignIn {
            user: &alice,
            amr: vec![Amr::Pwd, Amr::Otp, Amr::Mfa],
            client: info(),
            current: Some(first.session.clone()),
            remember: false,
            client_id: None,
            language: Tr::default(),
        })
        .await
        .expect("step-up");
    assert_eq!(stepped.session.sid, first.session.sid);
    assert_ne!(stepped.cookie_value, first.cookie_value);
    // Remember me: a device token, and a fresh session bound to it.
    let remembered = h
        .app
        .start_session(SignIn { user: &alice, amr: vec![Amr::Pwd], client: info(), current: Some(stepped.session), remember: true, client_id: None, language: Tr::default() })
        .await
        .expect("remember");
    assert!(remembered.device_token.is_some() && remembered.session.device_id.is_some());
}

#[tokio::test]
async fn a_disabled_account_signs_in_nowhere() {
    let h = Harness::new().await;
    h.user("root", true).await;
    let alice = h.user("alice", false).await;
    h.app.admin(latchkey_app::admin::Actor::Cli).set_disabled(&alice, true).await.expect("disabled");
    let alice = h.reload(&alice).await;
    let r = h.app.start_session(SignIn { user: &alice, amr: vec![Amr::Pwd], client: ClientInfo::default(), current: None, remember: false, client_id: None, language: Tr::default() }).await;
    assert!(matches!(r, Err(AppError::Authn(latchkey_authn::AuthnError::Disabled))), "{:?}", r.err());
    assert!(h.app.sessions.list(&alice.id).await.expect("list").is_empty());
}

#[tokio::test]
async fn a_this_wasnt_me_link_is_genuine_and_lasts_seven_days() {
    let h = Harness::new().await;
    let link = h.app.not_me_link("sid-1");
    let token = link.split("?t=").nth(1).expect("token").to_string();
    assert_eq!(h.app.parse_not_me(&token).as_deref(), Some("sid-1"));
    // Another session's id under the same tag, or a longer life, is refused.
    let (payload, tag) = token.rsplit_once('.').expect("tagged");
    let (_, exp) = payload.rsplit_once('.').expect("expiry");
    assert_eq!(h.app.parse_not_me(&format!("sid-2.{exp}.{tag}")), None);
    assert_eq!(h.app.parse_not_me(&format!("sid-1.{}.{tag}", exp.parse::<i64>().expect("number") + 86_400)), None);
    assert_eq!(h.app.parse_not_me("sid-1"), None);
    h.clock.advance(7 * 24 * 3600 + 1);
    assert_eq!(h.app.parse_not_me(&token), None, "expired");
}
