//! "Not yourself" and "never the last administrator", for every actor the
//! console, the admin API and the CLI act as.

use latchkey_app::admin::{Actor, UserAction};
use latchkey_app::{AppError, Refusal};

use crate::harness::Harness;

fn refused(r: Result<(), AppError>) -> Refusal {
    match r {
        Err(AppError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_admin_cannot_disable_delete_or_demote_themself() {
    let h = Harness::new().await;
    let root = h.user("root", true).await;
    h.user("backup", true).await;
    for actor in [Actor::User(root.id.clone()), Actor::Token { client: "admin-app".into(), subject: root.id.0.clone() }] {
        let ops = h.app.admin(actor.clone());
        assert_eq!(refused(ops.user_action(&root, UserAction::Disable).await), Refusal::NotYourself("disable"), "{actor:?}");
        assert_eq!(refused(ops.user_action(&root, UserAction::RevokeAdmin).await), Refusal::NotYourself("demote"), "{actor:?}");
        assert_eq!(refused(ops.delete_user(&root).await), Refusal::NotYourself("delete"), "{actor:?}");
        let now = h.reload(&root).await;
        assert!(now.admin && now.disabled_at.is_none(), "{actor:?} changed nothing");
        // Enabling oneself and granting what one has are not losses.
        ops.user_action(&root, UserAction::Enable).await.expect("enable is no loss");
    }
}

#[tokio::test]
async fn no_door_removes_the_last_enabled_administrator() {
    let h = Harness::new().await;
    let alice = h.user("alice", true).await;
    let bob = h.user("bob", false).await;
    // The admin API's client-credentials token and the CLI are nobody's account.
    for actor in [Actor::Token { client: "admin-app".into(), subject: "admin-app".into() }, Actor::Cli] {
        let ops = h.app.admin(actor.clone());
        assert_eq!(refused(ops.user_action(&alice, UserAction::Disable).await), Refusal::LastAdmin, "{actor:?}");
        assert_eq!(refused(ops.user_action(&alice, UserAction::RevokeAdmin).await), Refusal::LastAdmin, "{actor:?}");
        assert_eq!(refused(ops.delete_user(&alice).await), Refusal::LastAdmin, "{actor:?}");
        let now = h.reload(&alice).await;
        assert!(now.admin && now.disabled_at.is_none(), "{actor:?}: alice is still the administrator");
    }
    // A refused deletion ended nothing: alice's sessions live on.
    let session = h.app.sessions.create(&alice.id, vec![latchkey_domain::Amr::Pwd], Default::default(), None).await.expect("session");
    assert!(h.app.admin(Actor::Cli).delete_user(&alice).await.is_err());
    assert_eq!(h.app.sessions.list(&alice.id).await.expect("list").len(), 1, "{}", session.session.sid);
    // With a second administrator, each of those works.
    let cli = h.app.admin(Actor::Cli);
    cli.user_action(&bob, UserAction::GrantAdmin).await.expect("bob promoted");
    cli.user_action(&alice, UserAction::Disable).await.expect("alice disabled: bob is left");
    assert_eq!(h.app.sessions.list(&alice.id).await.expect("list").len(), 0, "disabling ended alice's session");
    // Bob is now the last enabled one: disabled alice does not count.
    let bob = h.reload(&bob).await;
    assert_eq!(refused(cli.delete_user(&bob).await), Refusal::LastAdmin);
    cli.user_action(&alice, UserAction::Enable).await.expect("alice back");
    cli.delete_user(&bob).await.expect("bob deleted: alice is left");
    assert!(h.app.authn.user(&bob.id).await.expect("lookup").is_none());
}

#[tokio::test]
async fn two_admins_disabling_each_other_at_once_leave_one() {
    let h = Harness::new().await;
    let alice = h.user("alice", true).await;
    let bob = h.user("bob", true).await;
    let (by_alice, by_bob) = (h.app.admin(Actor::User(alice.id.clone())), h.app.admin(Actor::User(bob.id.clone())));
    let (a, b) = tokio::join!(by_alice.user_action(&bob, UserAction::Disable), by_bob.user_action(&alice, UserAction::Disable));
    assert!(a.is_ok() != b.is_ok(), "exactly one wins: {a:?} {b:?}");
    let enabled = [h.reload(&alice).await, h.reload(&bob).await].iter().filter(|u| u.disabled_at.is_none()).count();
    assert_eq!(enabled, 1);
}

#[tokio::test]
async fn actions_on_a_user_gone_meanwhile_say_not_found() {
    let h = Harness::new().await;
    h.user("root", true).await;
    let gone = h.user("gone", false).await;
    let ops = h.app.admin(Actor::Cli);
    ops.delete_user(&gone).await.expect("deleted");
    for action in [UserAction::Disable, UserAction::Enable, UserAction::GrantAdmin] {
        assert!(matches!(ops.user_action(&gone, action).await, Err(AppError::NotFound("user"))), "{action:?}");
    }
    assert!(matches!(ops.user("gone").await, Err(AppError::NotFound("user"))));
    assert!(UserAction::parse("delete").is_none() && UserAction::parse("disable\n").is_none(), "actions are exact names");
    assert!(UserAction::ALL.iter().all(|a| UserAction::parse(a.as_str()) == Some(*a)));
}

/// The console's bulk actions keep the same rules, skipping (and naming)
/// whom they may not touch instead of failing the whole selection.
#[tokio::test]
async fn bulk_actions_skip_oneself_the_last_administrator_and_the_already_disabled() {
    use latchkey_app::admin::{Skipped, MAX_BULK_USERS};
    let h = Harness::new().await;
    let alice = h.user("alice", true).await;
    let bob = h.user("bob", false).await;
    let carol = h.user("carol", false).await;
    h.app.sessions.create(&bob.id, vec![latchkey_domain::Amr::Pwd], Default::default(), None).await.expect("session");
    // Nobody's account (the CLI): alice is the last administrator.
    let cli = h.app.admin(Actor::Cli);
    let out = cli.bulk_user_action(vec![alice.clone(), bob.clone()], UserAction::Disable).await.expect("bulk");
    assert_eq!(out.done.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["bob"]);
    assert_eq!(out.skipped.iter().map(|(u, why)| (u.username.as_str(), *why)).collect::<Vec<_>>(), [("alice", Skipped::LastAdmin)]);
    assert_eq!(out.sessions_ended, 1);
    assert!(h.reload(&alice).await.disabled_at.is_none() && h.reload(&bob).await.disabled_at.is_some());
    // Alice herself: never herself; bob is disabled already.
    let by_alice = h.app.admin(Actor::User(alice.id.clone()));
    let out = by_alice.bulk_user_action(vec![alice.clone(), h.reload(&bob).await, carol.clone()], UserAction::Disable).await.expect("bulk");
    assert_eq!(out.done.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["carol"]);
    assert_eq!(out.skipped.iter().map(|(u, why)| (u.username.as_str(), *why)).collect::<Vec<_>>(), [("alice", Skipped::Yourself), ("bob", Skipped::AlreadyDisabled)]);
    let session = h.app.sessions.create(&alice.id, vec![latchkey_domain::Amr::Pwd], Default::default(), None).await.expect("session");
    let out = by_alice.bulk_user_action(vec![alice.clone(), carol.clone()], UserAction::EndSessions).await.expect("bulk");
    assert_eq!((out.done.len(), out.skipped.len()), (1, 1));
    assert_eq!(h.app.sessions.list(&alice.id).await.expect("list").len(), 1, "her own session lives on: {}", session.session.sid);
    // Only ending sessions and disabling, and not without bound.
    assert!(matches!(by_alice.bulk_user_action(vec![carol.clone()], UserAction::GrantAdmin).await, Err(AppError::Invalid(_))));
    assert!(matches!(by_alice.bulk_user_action(vec![carol.clone(); MAX_BULK_USERS + 1], UserAction::EndSessions).await, Err(AppError::Invalid(_))));
    assert!(!h.reload(&carol).await.admin);
}
