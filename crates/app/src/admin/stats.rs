//! The console's overview (issue #28): today's figures and, for each of the
//! last [`DAYS`] days, the sign-ins by method, the failures and throttling,
//! and how many users had a passkey or a second factor.
//!
//! Days are UTC calendar days; the last one is today, up to now. The trail
//! is counted per day in the database (`latchkey_store::repo::stats`), in
//! windows the `(kind, at)` index answers; nothing here loads an event.
//!
//! **Adoption over time is derived from the audit trail, working back from
//! today's counts**, not from stored daily snapshots. Snapshots would need a
//! job that runs every day and would have nothing for the days before it
//! first ran; the trail already holds every change of a credential (the
//! retention of 400 days is far beyond the window) and today's numbers come
//! from the credentials themselves. So the last day is exactly today's
//! count, and each earlier day undoes the changes made after it, user by
//! user, for the few users who changed something in the window:
//!
//! - passkeys are counted: each `passkey_added` is one more, each
//!   `passkey_removed` one less, so a user's count at the end of a day is
//!   today's minus what was added since plus what was removed since;
//! - the authenticator app is on or off: `totp_enrolled` turns it on (only
//!   possible while it is off), `totp_removed` and `mfa_reset_by_admin` turn
//!   it off; at the end of a day it is what the day's last such event left,
//!   or, before the first one in the window, the opposite of what that one did;
//! - a credential removed from the account's review page
//!   (`recent_credential_removed` from the account; a mail link's row names
//!   the kind) was added in the 7 days before: the app, if the user had
//!   added one then and nothing else explains why it is gone today; else a
//!   passkey added then; else nothing we can see.
//!
//! Limits, by construction: an account deleted since is left out of every
//! day (its credentials went with it, so no count of today includes it);
//! a change made without an audit row (none is, today) would be missed.

use std::collections::{HashMap, HashSet};

use latchkey_authn::added::RECENTLY_ADDED_SECS;
use latchkey_domain::{Amr, EventKind};
use latchkey_store::repo::stats::{self as repo, Accounts, DayCount, UserCredentials, UserDayCount, DAY};

use super::Admin;
use crate::AppError;

/// The charts cover today and the 29 days before it.
pub const DAYS: usize = 30;

/// Days of credential changes read before the window: a removal on the
/// review page names a credential added up to 7 days before it.
const LOOKBACK_DAYS: i64 = (RECENTLY_ADDED_SECS + DAY - 1) / DAY;

/// How a sign-in proved who it was, from the methods its `sign_in` row lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInMethod {
    /// A passkey alone.
    Passkey,
    /// A password, then an authenticator-app or backup code or a passkey.
    PasswordAndSecondFactor,
    PasswordOnly,
    /// Through an upstream identity provider (with or without a second step here).
    Federated,
    /// None of these (no sign-in records anything else today).
    Other,
}

impl SignInMethod {
    /// In the charts' order.
    pub const ALL: [SignInMethod; 5] = [SignInMethod::Passkey, SignInMethod::PasswordAndSecondFactor, SignInMethod::PasswordOnly, SignInMethod::Federated, SignInMethod::Other];

    pub fn of(methods: &[Amr]) -> SignInMethod {
        let has = |m: Amr| methods.contains(&m);
        let key = has(Amr::Hwk) || has(Amr::Swk);
        if has(Amr::Fed) {
            SignInMethod::Federated
        } else if has(Amr::Pwd) && (key || has(Amr::Otp) || has(Amr::Mfa)) {
            SignInMethod::PasswordAndSecondFactor
        } else if has(Amr::Pwd) {
            SignInMethod::PasswordOnly
        } else if key {
            SignInMethod::Passkey
        } else {
            SignInMethod::Other
        }
    }

    /// From a `sign_in` row's detail: `methods pwd otp mfa, remembered
    /// device` (and since issue #32 maybe `; risk medium: …` after it).
    pub fn of_detail(detail: &str) -> SignInMethod {
        match detail.strip_prefix("methods ") {
            Some(rest) => SignInMethod::of(&Amr::split(rest.split([',', ';']).next().unwrap_or_default())),
            None => SignInMethod::Other,
        }
    }

    /// A name for markup and tests.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Passkey => "passkey",
            SignInMethod::PasswordAndSecondFactor => "password-second-factor",
            SignInMethod::PasswordOnly => "password-only",
            SignInMethod::Federated => "federated",
            SignInMethod::Other => "other",
        }
    }
}

/// What went wrong with a sign-in, or held it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// `login_failed`: a wrong password or an unknown user.
    WrongPassword,
    /// `second_factor_failed`, not throttled: a wrong code.
    WrongSecondFactor,
    /// `passkey_sign_in_failed`, `federated_sign_in_failed`.
    Refused,
    /// `login_throttled`, and `second_factor_failed` when throttled.
    Throttled,
    /// `rate_limited`: a request over a rate limit.
    RateLimited,
}

impl Failure {
    pub const ALL: [Failure; 5] = [Failure::WrongPassword, Failure::WrongSecondFactor, Failure::Refused, Failure::Throttled, Failure::RateLimited];

    /// The kinds counted, and those whose detail tells two failures apart.
    const KINDS: [EventKind; 6] =
        [EventKind::LoginFailed, EventKind::SecondFactorFailed, EventKind::LoginThrottled, EventKind::RateLimited, EventKind::PasskeySignInFailed, EventKind::FederatedSignInFailed];
    const DETAILED: [EventKind; 1] = [EventKind::SecondFactorFailed];

    fn of(kind: &str, detail: &str) -> Option<Failure> {
        Some(match EventKind::from_kind(kind)? {
            EventKind::LoginFailed => Failure::WrongPassword,
            // `SecurityEvent::SecondFactorFailed { throttled: true }` words its row "throttled".
            EventKind::SecondFactorFailed if detail == "throttled" => Failure::Throttled,
            EventKind::SecondFactorFailed => Failure::WrongSecondFactor,
            EventKind::LoginThrottled => Failure::Throttled,
            EventKind::RateLimited => Failure::RateLimited,
            EventKind::PasskeySignInFailed | EventKind::FederatedSignInFailed => Failure::Refused,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Failure::WrongPassword => "wrong-password",
            Failure::WrongSecondFactor => "wrong-second-factor",
            Failure::Refused => "refused",
            Failure::Throttled => "throttled",
            Failure::RateLimited => "rate-limited",
        }
    }
}

/// Who had what, at the end of each day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Adoption {
    /// Users with at least one passkey.
    Passkey,
    /// Users with a passkey or an authenticator app.
    SecondFactor,
}

impl Adoption {
    pub const ALL: [Adoption; 2] = [Adoption::Passkey, Adoption::SecondFactor];

    pub fn as_str(self) -> &'static str {
        match self {
            Adoption::Passkey => "passkey",
            Adoption::SecondFactor => "second-factor",
        }
    }
}

/// One stack or line of a chart: a number per day, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series<K> {
    pub of: K,
    pub per_day: Vec<i64>,
}

impl<K> Series<K> {
    pub fn total(&self) -> i64 {
        self.per_day.iter().sum()
    }
}

/// The figures of now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub accounts: Accounts,
    pub active_sessions: i64,
    /// Wrong passwords and second factors in the last 24 hours.
    pub failures_24h: i64,
    /// Refresh tokens replayed in the last 24 hours.
    pub reuse_24h: i64,
    /// Accounts that sign in with passkeys only (issue #29).
    pub passkey_only: i64,
}

/// Everything the overview shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    pub now: i64,
    /// The UTC midnight each day starts at, oldest first; the last is today.
    pub days: Vec<i64>,
    pub figures: Figures,
    pub sign_ins: Vec<Series<SignInMethod>>,
    pub failures: Vec<Series<Failure>>,
    pub adoption: Vec<Series<Adoption>>,
}

impl Admin<'_> {
    /// The overview, at the app clock's now.
    pub async fn overview(&self) -> Result<Overview, AppError> {
        let app = self.app;
        let now = app.clock.now();
        let today = now.div_euclid(DAY) * DAY;
        let from = today - (DAYS as i64 - 1) * DAY;
        let until = today + DAY;
        let since = from - LOOKBACK_DAYS * DAY;
        let limits = app.sessions.limits;
        let (accounts, active_sessions, sign_ins, failures, changes, credentials) = app
            .stores
            .db
            .scan(move |c| {
                let accounts = repo::accounts(c)?;
                let active = repo::live_sessions(c, now, limits.idle, limits.absolute)?;
                let sign_ins = repo::events_per_day(c, &[EventKind::SignIn], &[EventKind::SignIn], from, until)?;
                let failures = repo::events_per_day(c, &Failure::KINDS, &Failure::DETAILED, from, until)?;
                let changes = repo::user_events_per_day(c, &CHANGES, since, until)?;
                let users: Vec<String> = changes.iter().map(|r| r.user_id.clone()).collect::<HashSet<_>>().into_iter().collect();
                let credentials = repo::user_credentials(c, &users)?;
                Ok((accounts, active, sign_ins, failures, changes, credentials))
            })
            .await?;
        let day_ago = now - DAY;
        let failures_24h = app.oauth.audit_count_since(EventKind::LoginFailed, day_ago).await? + app.oauth.audit_count_since(EventKind::SecondFactorFailed, day_ago).await?;
        let reuse_24h = app.oauth.audit_count_since(EventKind::RefreshTokenReuse, day_ago).await?;
        let passkey_only = app.authn.count_passkey_only().await?;
        let sign_ins = series(&SignInMethod::ALL, sign_ins.iter().map(|r| (r.day, Some(SignInMethod::of_detail(&r.detail)), r.n)));
        let failures = series(&Failure::ALL, failures.iter().map(|r: &DayCount| (r.day, Failure::of(&r.kind, &r.detail), r.n)));
        let adoption = adoption((accounts.with_passkey, accounts.with_second_factor), &credentials, &changes, LOOKBACK_DAYS);
        Ok(Overview {
            now,
            days: (0..DAYS as i64).map(|d| from + d * DAY).collect(),
            figures: Figures { accounts, active_sessions, failures_24h, reuse_24h, passkey_only },
            sign_ins,
            failures,
            adoption,
        })
    }
}

/// `(day, what, n)` counts summed into one series per member of `all`.
fn series<K: Copy + Eq>(all: &[K], counts: impl Iterator<Item = (i64, Option<K>, i64)>) -> Vec<Series<K>> {
    let mut out: Vec<Series<K>> = all.iter().map(|k| Series { of: *k, per_day: vec![0; DAYS] }).collect();
    for (day, what, n) in counts {
        let (Some(what), Ok(day)) = (what, usize::try_from(day)) else { continue };
        if let Some(slot) = out.iter_mut().find(|s| s.of == what).and_then(|s| s.per_day.get_mut(day)) {
            *slot += n;
        }
    }
    out
}

/// The kinds that change whether a user has a passkey or an authenticator app.
const CHANGES: [EventKind; 6] = [EventKind::PasskeyAdded, EventKind::PasskeyRemoved, EventKind::TotpEnrolled, EventKind::TotpRemoved, EventKind::MfaResetByAdmin, EventKind::RecentCredentialRemoved];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    PasskeyAdded,
    PasskeyRemoved,
    AppAdded,
    AppRemoved,
    /// Removed on the account's review page: a passkey or the app.
    RecentRemoved,
}

impl Change {
    fn of(row: &UserDayCount) -> Option<Change> {
        Some(match EventKind::from_kind(&row.kind)? {
            EventKind::PasskeyAdded => Change::PasskeyAdded,
            EventKind::PasskeyRemoved => Change::PasskeyRemoved,
            EventKind::TotpEnrolled => Change::AppAdded,
            EventKind::TotpRemoved | EventKind::MfaResetByAdmin => Change::AppRemoved,
            EventKind::RecentCredentialRemoved => match row.credential.as_str() {
                "passkey" => Change::PasskeyRemoved,
                "app" => Change::AppRemoved,
                _ => Change::RecentRemoved,
            },
            _ => return None,
        })
    }

    fn is_app(self) -> bool {
        matches!(self, Change::AppAdded | Change::AppRemoved)
    }
}

/// One user's changes of one kind on one day.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// Day of the window (negative: before it).
    day: i64,
    change: Change,
    first_at: i64,
    last_at: i64,
    n: i64,
}

/// Users with a passkey and with a second factor at the end of each day,
/// from today's totals (`today`), the current credentials of the users who
/// changed some (`now`) and their changes (`rows`, days counted from
/// `lookback` days before the window). See the module notes.
fn adoption(today: (i64, i64), now: &[UserCredentials], rows: &[UserDayCount], lookback: i64) -> Vec<Series<Adoption>> {
    let mut passkey = vec![today.0; DAYS];
    let mut second = vec![today.1; DAYS];
    let mut groups: HashMap<&str, Vec<Group>> = HashMap::new();
    for r in rows {
        if let Some(change) = Change::of(r) {
            groups.entry(r.user_id.as_str()).or_default().push(Group { day: r.day - lookback, change, first_at: r.first_at, last_at: r.last_at, n: r.n });
        }
    }
    for user in now {
        let Some(groups) = groups.get_mut(user.user_id.as_str()) else { continue };
        resolve_review_removals(user, groups);
        let had_now = (user.passkeys > 0, user.passkeys > 0 || user.app);
        for day in 0..DAYS {
            let (p, s) = had_at_end_of(user, groups, day as i64);
            passkey[day] += i64::from(p) - i64::from(had_now.0);
            second[day] += i64::from(p || s) - i64::from(had_now.1);
        }
    }
    vec![Series { of: Adoption::Passkey, per_day: passkey }, Series { of: Adoption::SecondFactor, per_day: second }]
}

/// Decides what each review-page removal removed (see the module notes);
/// one that matches nothing is dropped.
fn resolve_review_removals(user: &UserCredentials, groups: &mut Vec<Group>) {
    let snapshot = groups.clone();
    for g in groups.iter_mut().filter(|g| g.change == Change::RecentRemoved) {
        let added_before = |kind: Change| snapshot.iter().any(|a| a.change == kind && a.first_at <= g.last_at && a.last_at >= g.first_at - RECENTLY_ADDED_SECS);
        let app_before = snapshot.iter().filter(|a| a.change.is_app() && a.last_at <= g.first_at).max_by_key(|a| a.last_at).map(|a| a.change);
        let app_after = snapshot.iter().any(|a| a.change.is_app() && a.first_at > g.last_at);
        // The app was added shortly before, was still there, is gone today
        // and nothing else removed it: this removal did.
        let app_gone_here = added_before(Change::AppAdded) && app_before == Some(Change::AppAdded) && !app_after && !user.app;
        g.change = if app_gone_here {
            Change::AppRemoved
        } else if added_before(Change::PasskeyAdded) {
            Change::PasskeyRemoved
        } else if added_before(Change::AppAdded) {
            Change::AppRemoved
        } else {
            Change::RecentRemoved
        };
    }
    groups.retain(|g| g.change != Change::RecentRemoved);
}

/// Whether the user had a passkey, and an app, at the end of `day`.
fn had_at_end_of(user: &UserCredentials, groups: &[Group], day: i64) -> (bool, bool) {
    let since: i64 = groups
        .iter()
        .filter(|g| g.day > day)
        .map(|g| match g.change {
            Change::PasskeyAdded => g.n,
            Change::PasskeyRemoved => -g.n,
            _ => 0,
        })
        .sum();
    let passkeys = user.passkeys - since;
    let app_groups = || groups.iter().filter(|g| g.change.is_app());
    let app = if !app_groups().any(|g| g.day > day) {
        user.app
    } else if let Some(last) = app_groups().filter(|g| g.day <= day).max_by_key(|g| g.last_at) {
        last.change == Change::AppAdded
    } else {
        // Before the first change: what that change undid.
        app_groups().min_by_key(|g| g.first_at).is_some_and(|first| first.change != Change::AppAdded)
    };
    (passkeys > 0, app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_name_the_way_in() {
        assert_eq!(SignInMethod::of_detail("methods hwk user mfa"), SignInMethod::Passkey);
        assert_eq!(SignInMethod::of_detail("methods swk user mfa, new device"), SignInMethod::Passkey);
        assert_eq!(SignInMethod::of_detail("methods pwd otp mfa, remembered device, new device"), SignInMethod::PasswordAndSecondFactor);
        assert_eq!(SignInMethod::of_detail("methods pwd hwk user mfa"), SignInMethod::PasswordAndSecondFactor, "a passkey as the second step");
        assert_eq!(SignInMethod::of_detail("methods pwd"), SignInMethod::PasswordOnly);
        assert_eq!(SignInMethod::of_detail("methods pwd, remembered device"), SignInMethod::PasswordOnly);
        assert_eq!(SignInMethod::of_detail("methods fed"), SignInMethod::Federated);
        assert_eq!(SignInMethod::of_detail("methods fed otp mfa"), SignInMethod::Federated);
        assert_eq!(SignInMethod::of_detail("methods "), SignInMethod::Other);
        assert_eq!(SignInMethod::of_detail("methods pwd; risk low"), SignInMethod::PasswordOnly, "the risk after the methods (issue #32)");
        assert_eq!(SignInMethod::of_detail("methods pwd otp mfa, new device; risk medium: unknown device; from Berlin, Germany"), SignInMethod::PasswordAndSecondFactor);
        assert_eq!(SignInMethod::of_detail("signed in"), SignInMethod::Other);
    }

    #[test]
    fn failures_tell_throttling_from_wrong_codes() {
        assert_eq!(Failure::of("second_factor_failed", "throttled"), Some(Failure::Throttled));
        assert_eq!(Failure::of("second_factor_failed", "wrong code"), Some(Failure::WrongSecondFactor));
        assert_eq!(Failure::of("login_throttled", ""), Some(Failure::Throttled));
        assert_eq!(Failure::of("federated_sign_in_failed", ""), Some(Failure::Refused));
        assert_eq!(Failure::of("sign_in", ""), None);
        for k in Failure::KINDS {
            assert!(Failure::of(k.as_str(), "").is_some(), "{k:?} is counted somewhere");
        }
    }

    #[test]
    fn counts_land_on_their_day_and_outside_days_are_dropped() {
        let s = series(
            &[Failure::WrongPassword, Failure::Throttled],
            [
                (0, Some(Failure::WrongPassword), 2),
                (29, Some(Failure::Throttled), 1),
                (29, Some(Failure::Throttled), 3),
                (30, Some(Failure::Throttled), 9),
                (-1, Some(Failure::WrongPassword), 9),
                (3, None, 9),
            ]
            .into_iter(),
        );
        assert_eq!(s[0].per_day[0], 2);
        assert_eq!(s[1].per_day[29], 4);
        assert_eq!((s[0].total(), s[1].total()), (2, 4));
    }

    fn row(user: &str, day: i64, kind: EventKind, at: i64, n: i64) -> UserDayCount {
        UserDayCount { user_id: user.into(), day: day + LOOKBACK_DAYS, kind: kind.as_str().into(), credential: String::new(), first_at: at, last_at: at, n }
    }

    fn at(day: i64) -> i64 {
        1_800_000_000 + day * DAY
    }

    fn now(user: &str, passkeys: i64, app: bool) -> UserCredentials {
        UserCredentials { user_id: user.into(), passkeys, app }
    }

    #[test]
    fn without_changes_every_day_is_today() {
        let a = adoption((3, 5), &[], &[], LOOKBACK_DAYS);
        assert_eq!(a[0].per_day, vec![3; DAYS]);
        assert_eq!(a[1].per_day, vec![5; DAYS]);
    }

    #[test]
    fn passkeys_are_counted_back_from_today() {
        use EventKind::*;
        let rows = [
            row("bob", 5, PasskeyAdded, at(5), 1),
            // Two added, one removed: still one today.
            row("carol", 10, PasskeyAdded, at(10), 1),
            row("carol", 12, PasskeyAdded, at(12), 1),
            row("carol", 20, PasskeyRemoved, at(20), 1),
            // Added and removed the same day: never at the end of a day.
            row("frank", 8, PasskeyAdded, at(8), 1),
            row("frank", 8, PasskeyRemoved, at(8) + 60, 1),
            // Added long before, removed on day 18.
            row("grace", 18, PasskeyRemoved, at(18), 1),
        ];
        let users = [now("bob", 1, false), now("carol", 1, false), now("frank", 0, false), now("grace", 0, false)];
        let a = adoption((2, 2), &users, &rows, LOOKBACK_DAYS);
        let want: Vec<i64> = (0..DAYS as i64).map(|d| i64::from(d >= 5) + i64::from(d >= 10) + i64::from(d <= 17)).collect();
        assert_eq!(a[0].per_day, want);
        assert_eq!(a[1].per_day, want, "a passkey is a second factor");
        assert_eq!(a[0].per_day[DAYS - 1], 2, "today is today's count");
    }

    #[test]
    fn the_app_is_on_or_off() {
        use EventKind::*;
        let rows = [
            row("dave", 3, TotpEnrolled, at(3), 1),
            row("dave", 15, TotpRemoved, at(15), 1),
            // Reset by an admin, enrolled again the same day.
            row("erin", 7, MfaResetByAdmin, at(7), 1),
            row("erin", 7, TotpEnrolled, at(7) + 600, 1),
            // Removed on day 20, never added in the window: had it before.
            row("mike", 20, TotpRemoved, at(20), 1),
        ];
        let users = [now("dave", 0, false), now("erin", 0, true), now("mike", 0, false)];
        let a = adoption((0, 1), &users, &rows, LOOKBACK_DAYS);
        let want: Vec<i64> = (0..DAYS as i64).map(|d| i64::from((3..15).contains(&d)) + 1 + i64::from(d < 20)).collect();
        assert_eq!(a[1].per_day, want);
        assert_eq!(a[0].per_day, vec![0; DAYS]);
    }

    #[test]
    fn a_review_removal_is_the_app_when_only_that_explains_today() {
        use EventKind::*;
        // judy: passkey on day 10 (kept), app on day 12, one of them removed on day 14; the app is gone today.
        let judy = [row("judy", 10, PasskeyAdded, at(10), 1), row("judy", 12, TotpEnrolled, at(12), 1), row("judy", 14, RecentCredentialRemoved, at(14), 1)];
        let a = adoption((1, 1), &[now("judy", 1, false)], &judy, LOOKBACK_DAYS);
        assert_eq!(a[0].per_day, (0..DAYS as i64).map(|d| i64::from(d >= 10)).collect::<Vec<_>>());
        // heidi: app long ago (kept), passkey on day 9, removed on day 11: the passkey.
        let heidi = [row("heidi", 9, PasskeyAdded, at(9), 1), row("heidi", 11, RecentCredentialRemoved, at(11), 1)];
        let a = adoption((0, 1), &[now("heidi", 0, true)], &heidi, LOOKBACK_DAYS);
        assert_eq!(a[0].per_day, (0..DAYS as i64).map(|d| i64::from(d == 9 || d == 10)).collect::<Vec<_>>());
        assert_eq!(a[1].per_day, vec![1; DAYS]);
        // A passkey added before the window (in the look-back) and removed on day 2.
        let early = [row("kim", -3, PasskeyAdded, at(-3), 1), row("kim", 2, RecentCredentialRemoved, at(2), 1)];
        let a = adoption((0, 0), &[now("kim", 0, false)], &early, LOOKBACK_DAYS);
        assert_eq!(a[0].per_day, (0..DAYS as i64).map(|d| i64::from(d < 2)).collect::<Vec<_>>());
        // A mail link's removal names its credential.
        let mut named = row("lea", 4, RecentCredentialRemoved, at(4), 1);
        named.credential = "app".into();
        let a =
            adoption((0, 0), &[now("lea", 0, false)], &[row("lea", 1, PasskeyAdded, at(1), 1), row("lea", 1, TotpEnrolled, at(1), 1), named, row("lea", 5, PasskeyRemoved, at(5), 1)], LOOKBACK_DAYS);
        assert_eq!(a[0].per_day, (0..DAYS as i64).map(|d| i64::from((1..5).contains(&d))).collect::<Vec<_>>());
        assert_eq!(a[1].per_day, (0..DAYS as i64).map(|d| i64::from((1..5).contains(&d))).collect::<Vec<_>>());
    }

    #[test]
    fn deleted_users_and_unknown_rows_change_nothing() {
        use EventKind::*;
        // No current credentials for "gone": the account no longer exists.
        let a = adoption((1, 1), &[], &[row("gone", 4, PasskeyAdded, at(4), 1)], LOOKBACK_DAYS);
        assert_eq!(a[0].per_day, vec![1; DAYS]);
        let a = adoption((1, 1), &[now("x", 1, false)], &[row("x", 4, SignIn, at(4), 1)], LOOKBACK_DAYS);
        assert_eq!(a[0].per_day, vec![1; DAYS]);
    }
}
