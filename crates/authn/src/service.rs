//! Users and how they sign in.

use latchkey_domain::user::valid_username;
use latchkey_domain::{Secret, SharedClock, User, UserId};
use latchkey_store::repo::users;
use latchkey_store::{Db, FastStore, StoreError};
use latchkey_token::crypto::KeyPurpose;
use latchkey_token::MasterKey;

use crate::error::AuthnError;
use crate::password::PasswordHasher;
use crate::password_policy::PasswordPolicy;
use crate::throttle::{LoginThrottle, Subject};
use crate::ways_in::{self, PasswordOutcome, PasswordRefusal, WaysIn};

/// A refused password sign-in.
#[derive(Debug)]
pub struct SignInRefused {
    pub error: AuthnError,
    /// The account the typed name named, if any (issue #24 item 22: an
    /// attack on an account shows in its trail); never the typed text.
    pub target: Option<UserId>,
    /// Whether the browser held a verified device cookie for that account.
    pub known_device: bool,
}

pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password: Secret,
    pub admin: bool,
}

#[derive(Clone)]
pub struct Authenticator {
    db: Db,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
    clock: SharedClock,
    /// What new passwords must be (`LATCHKEY_PASSWORD_MIN_LENGTH`).
    pub policy: PasswordPolicy,
    /// Which accounts may have no password (`LATCHKEY_PASSKEY_ONLY`, issue #29).
    pub passkey_only: crate::passkey_only::PasskeyOnlyPolicy,
}

impl Authenticator {
    pub fn new(db: Db, fast: FastStore, master: &MasterKey, clock: SharedClock) -> Result<Authenticator, AuthnError> {
        Self::with_hashing_threads(db, fast, master, clock, crate::password::hashing_threads())
    }

    /// [`Authenticator::new`] with `threads` password hashing threads.
    pub fn with_hashing_threads(db: Db, fast: FastStore, master: &MasterKey, clock: SharedClock, threads: usize) -> Result<Authenticator, AuthnError> {
        Ok(Authenticator {
            db,
            hasher: PasswordHasher::with_threads(threads)?,
            throttle: LoginThrottle::new(fast, master.hasher(KeyPurpose::LoginName)),
            clock,
            policy: PasswordPolicy::default(),
            passkey_only: Default::default(),
        })
    }

    pub async fn create_user(&self, new: NewUser) -> Result<User, AuthnError> {
        validate_new_user(&new, &self.policy)?;
        let hash = self.hasher.hash(new.password).await?;
        let user = User {
            id: UserId(uuid::Uuid::new_v4().to_string()),
            username: new.username,
            email: new.email,
            password_hash: Some(hash),
            admin: new.admin,
            created_at: self.clock.now(),
            email_verified: false,
            profile: Default::default(),
            disabled_at: None,
            passkey_only: false,
        };
        let u = user.clone();
        self.db.run(move |c| users::insert(c, &u)).await.map_err(map_conflict)?;
        Ok(user)
    }

    /// Checks a username and password. Unknown user and wrong password cost the
    /// same argon2 verification and return the same error. The name is looked
    /// up whatever its case; failures count against the account it names (by
    /// id), or a keyed hash of a name no account has ([`crate::throttle`]).
    /// `known_device` is given the account's id and answers with the id of
    /// the browser's verified device cookie for that account, if any. A
    /// refusal says which account it was aimed at (never the typed text).
    pub async fn sign_in_password(&self, username: &str, password: Secret, ip: Option<&str>, known_device: impl FnOnce(&UserId) -> Option<String>) -> Result<User, SignInRefused> {
        let name = username.to_string();
        let user = self.db.run(move |c| users::find_by_username(c, &name)).await.map_err(|e| SignInRefused { error: e.into(), target: None, known_device: false })?;
        let target = user.as_ref().map(|u| u.id.clone());
        let known = target.as_ref().and_then(known_device);
        let refused = |error: AuthnError| SignInRefused { error, target: target.clone(), known_device: known.is_some() };
        let subject = self.throttle.subject(target.as_ref(), username);
        let attempt = self.throttle.reserve(&subject, ip, known.as_deref()).await.map_err(refused)?;
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let ok = self.hasher.verify(password, stored).await.map_err(refused)?;
        match user {
            Some(u) if ok => {
                self.throttle.succeeded(attempt).await.map_err(refused)?;
                if u.disabled_at.is_some() {
                    tracing::info!(target: "security", event = "login_disabled_account", user_id = %u.id.0);
                    return Err(refused(AuthnError::Disabled));
                }
                Ok(u)
            }
            // Audited by the caller (`login_failed`), attributed to `target`.
            _ => Err(refused(AuthnError::InvalidCredentials)),
        }
    }

    /// Changes a user's password after checking the current one (throttled
    /// like sign-in). The caller ends the user's other sessions and tokens.
    /// `known_device` is the browser's verified device cookie for this user.
    pub async fn change_password(&self, user: &User, current: Secret, new: Secret, ip: Option<&str>, known_device: Option<&str>) -> Result<(), AuthnError> {
        if self.is_passkey_only(user) {
            return Err(AuthnError::PasskeyOnly);
        }
        let subject = Subject::Account(user.id.clone());
        let attempt = self.throttle.reserve(&subject, ip, known_device).await?;
        let id = user.id.clone();
        let stored = self.db.run(move |c| users::find_by_id(c, &id)).await?.and_then(|u| u.password_hash);
        if !self.hasher.verify(current, stored).await? {
            tracing::info!(target: "security", event = "current_password_wrong", user_id = %user.id.0, ip, "wrong current password");
            return Err(AuthnError::InvalidCredentials);
        }
        self.throttle.succeeded(attempt).await?;
        self.set_password(user, new).await
    }

    /// Sets a new password (after the caller proved the right to: a change
    /// with the current password, a set-up or recovery link).
    pub async fn set_password(&self, user: &User, new: Secret) -> Result<(), AuthnError> {
        if self.is_passkey_only(user) {
            return Err(AuthnError::PasskeyOnly);
        }
        self.policy.check(&new, &user.username, &user.email)?;
        let hash = self.hasher.hash(new).await?;
        let id = user.id.clone();
        self.db.run(move |c| users::set_password(c, &id, Some(&hash))).await?;
        Ok(())
    }

    /// How many accounts sign in with passkeys only.
    pub async fn count_passkey_only(&self) -> Result<i64, AuthnError> {
        use crate::passkey_only::PasskeyOnlyPolicy::*;
        let (admins, everyone) = (self.passkey_only == Admins, self.passkey_only == Everyone);
        Ok(self.db.run(move |c| users::count_passkey_only(c, admins, everyone)).await?)
    }

    /// Marks `user` passkey-only or not; whether the user exists.
    pub async fn set_passkey_only(&self, user: &UserId, passkey_only: bool) -> Result<bool, AuthnError> {
        let id = user.clone();
        Ok(self.db.run(move |c| users::set_passkey_only(c, &id, passkey_only)).await?)
    }

    /// Whether `user` signs in with passkeys only (marked, or by the deployment's policy).
    pub fn is_passkey_only(&self, user: &User) -> bool {
        self.passkey_only.covers(user)
    }

    /// Gives a passwordless account a password ([`WaysIn::may_set_password`]).
    /// The caller has checked a recent sign-in and ends the other sessions.
    pub async fn set_first_password(&self, user: &User, new: Secret) -> PasswordOutcome {
        if self.is_passkey_only(user) {
            return Err(AuthnError::PasskeyOnly);
        }
        if user.password_hash.is_some() {
            return Ok(Err(PasswordRefusal::AlreadySet));
        }
        self.policy.check(&new, &user.username, &user.email)?;
        let hash = self.hasher.hash(new).await?;
        let id = user.id.clone();
        let outcome = ways_in::change_if(&self.db, &user.id, WaysIn::may_set_password, move |c| users::set_password(c, &id, Some(&hash))).await?;
        Ok(outcome)
    }

    /// Removes the password when a passkey and a second way in stay
    /// ([`WaysIn::may_remove_password`], checked while holding the user's
    /// row). The caller has checked a recent sign-in and ends the other sessions.
    /// Removes the password of a passkey-only account that has a passkey
    /// (issue #29); refused for any other account.
    pub async fn drop_password_for_passkeys(&self, user: &User) -> PasswordOutcome {
        if !self.is_passkey_only(user) {
            return Ok(Err(PasswordRefusal::AlreadySet));
        }
        let id = user.id.clone();
        ways_in::change_if(&self.db, &user.id, WaysIn::may_drop_password_for_passkeys, move |c| users::set_password(c, &id, None)).await
    }

    pub async fn remove_password(&self, user: &User) -> PasswordOutcome {
        let id = user.id.clone();
        let outcome = ways_in::change_if(&self.db, &user.id, WaysIn::may_remove_password, move |c| users::set_password(c, &id, None)).await?;
        Ok(outcome)
    }

    /// Creates a user with no credential at all (an invitation or a sign-up):
    /// nobody can sign in as them until a set-up link is used.
    pub async fn create_without_credentials(&self, username: &str, email: &str, admin: bool) -> Result<User, AuthnError> {
        validate_identity(username, email)?;
        self.insert_without_credentials(username, email, admin).await
    }

    async fn insert_without_credentials(&self, username: &str, email: &str, admin: bool) -> Result<User, AuthnError> {
        let user = User {
            id: UserId(uuid::Uuid::new_v4().to_string()),
            username: username.to_string(),
            email: email.to_string(),
            password_hash: None,
            admin,
            created_at: self.clock.now(),
            email_verified: false,
            profile: Default::default(),
            disabled_at: None,
            passkey_only: false,
        };
        let u = user.clone();
        self.db.run(move |c| users::insert(c, &u)).await.map_err(map_conflict)?;
        Ok(user)
    }

    /// A user a directory provisioned (SCIM, issue #30): no credential, and
    /// an address only if the directory has one (without, the user signs in
    /// through an upstream provider and no mail reaches them).
    pub async fn create_provisioned(&self, username: &str, email: &str) -> Result<User, AuthnError> {
        // An address, when there is one, is checked as any other.
        validate_identity(username, if email.is_empty() { "placeholder@example.com" } else { email })?;
        self.insert_without_credentials(username, email, false).await
    }

    /// A self-service sign-up: an account without credentials that holds
    /// its username and address only until `expires_at`, its verification
    /// link's expiry ([`Authenticator::release_abandoned_signup`]).
    pub async fn create_signup(&self, username: &str, email: &str, expires_at: i64) -> Result<User, AuthnError> {
        let user = self.create_without_credentials(username, email, false).await?;
        let id = user.id.clone();
        self.db.run(move |c| users::set_signup_expiry(c, &id, expires_at)).await?;
        Ok(user)
    }

    /// Deletes `user` if it is a sign-up that was never completed and whose
    /// verification link has expired; `true` when it did. Invited accounts
    /// are never released: an expired invitation keeps its username.
    pub async fn release_abandoned_signup(&self, user: &UserId) -> Result<bool, AuthnError> {
        let (id, now) = (user.clone(), self.clock.now());
        let released = self.db.run(move |c| users::release_abandoned_signup(c, &id, now)).await?;
        if released {
            tracing::info!(target: "security", event = "signup_released", user_id = %user.0, "an abandoned sign-up gave its username and address back");
        }
        Ok(released)
    }

    /// Sets the user's address; `verified` when a link sent to it was used.
    pub async fn set_email(&self, user: &UserId, email: &str, verified: bool) -> Result<(), AuthnError> {
        let (id, e) = (user.clone(), email.to_string());
        Ok(self.db.run(move |c| users::set_email(c, &id, &e, verified)).await?)
    }

    /// Users with this address (case-insensitive).
    pub async fn find_by_email(&self, email: &str) -> Result<Vec<User>, AuthnError> {
        let e = email.to_string();
        Ok(self.db.run(move |c| users::find_by_email(c, &e)).await?)
    }

    /// The one account a "username or email" names, if exactly one does,
    /// typed by its shape: with an `@` it is an address and only ever
    /// matched against addresses (usernames have no `@`; an older one that
    /// has cannot stand in for someone's address: issue #24 item 5).
    pub async fn find_by_login(&self, login: &str) -> Result<Option<User>, AuthnError> {
        if !login.contains('@') {
            return self.find_by_username(login).await;
        }
        let mut found = self.find_by_email(login).await?;
        Ok(if found.len() == 1 { found.pop() } else { None })
    }

    /// Replaces the user's profile claims (blank fields become unset), after
    /// checking them; `updated_at` is now.
    pub async fn set_profile(&self, user: &UserId, profile: latchkey_domain::Profile) -> Result<latchkey_domain::Profile, AuthnError> {
        let mut profile = check_profile(&profile)?;
        profile.updated_at = Some(self.clock.now());
        let (id, p) = (user.clone(), profile.clone());
        if !self.db.run(move |c| users::set_profile(c, &id, &p)).await? {
            return Err(AuthnError::InvalidInput("no such user".into()));
        }
        Ok(profile)
    }

    /// Disables (`true`) or enables a user.
    /// Disables or enables a user; `false` for no such user. Never disables
    /// the last enabled administrator ([`AuthnError::LastAdmin`]).
    pub async fn set_disabled(&self, user: &UserId, disabled: bool) -> Result<bool, AuthnError> {
        let id = user.clone();
        if !disabled {
            return Ok(self.db.run(move |c| users::set_disabled(c, &id, None)).await?);
        }
        let now = self.clock.now();
        demotion(self.db.run(move |c| users::unless_last_admin(c, &id, users::AdminLoss::Disable(now))).await?)
    }

    /// Grants or takes away admin rights; `false` for no such user. Never
    /// takes them from the last enabled administrator
    /// ([`AuthnError::LastAdmin`]): nobody could open the console again.
    pub async fn set_admin(&self, user: &UserId, admin: bool) -> Result<bool, AuthnError> {
        let id = user.clone();
        if admin {
            return Ok(self.db.run(move |c| users::set_admin(c, &id, true)).await?);
        }
        demotion(self.db.run(move |c| users::revoke_admin_unless_last(c, &id)).await?)
    }

    /// How many enabled administrators there are.
    pub async fn enabled_admins(&self) -> Result<i64, AuthnError> {
        Ok(self.db.run(users::enabled_admins).await?)
    }

    /// Users whose username or email contains `q`.
    pub async fn search_users(&self, q: &str, limit: i64) -> Result<Vec<User>, AuthnError> {
        let q = q.to_string();
        Ok(self.db.run(move |c| users::search(c, &q, limit)).await?)
    }

    /// Deletes the user and everything that hangs off them.
    /// Deletes a user; `false` for no such user. Never the last enabled
    /// administrator ([`AuthnError::LastAdmin`]).
    pub async fn delete_user(&self, user: &UserId) -> Result<bool, AuthnError> {
        let id = user.clone();
        demotion(self.db.run(move |c| users::unless_last_admin(c, &id, users::AdminLoss::Delete)).await?)
    }

    pub async fn find_by_username(&self, username: &str) -> Result<Option<User>, AuthnError> {
        let name = username.to_string();
        Ok(self.db.run(move |c| users::find_by_username(c, &name)).await?)
    }

    pub async fn list_users(&self) -> Result<Vec<User>, AuthnError> {
        Ok(self.db.run(users::list).await?)
    }

    pub async fn user(&self, id: &UserId) -> Result<Option<User>, AuthnError> {
        let id = id.clone();
        Ok(self.db.run(move |c| users::find_by_id(c, &id)).await?)
    }
}

/// A profile as it would be stored: blank fields unset, the rest checked
/// (names without control characters, a language tag, an IANA zone).
pub fn check_profile(profile: &latchkey_domain::Profile) -> Result<latchkey_domain::Profile, AuthnError> {
    let mut profile = profile.clone();
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    profile.name = clean(profile.name);
    profile.given_name = clean(profile.given_name);
    profile.family_name = clean(profile.family_name);
    profile.locale = clean(profile.locale);
    profile.zoneinfo = clean(profile.zoneinfo);
    for v in [&profile.name, &profile.given_name, &profile.family_name].into_iter().flatten() {
        if v.chars().count() > 200 || v.chars().any(char::is_control) {
            return Err(AuthnError::InvalidInput("names are at most 200 characters, without control characters".into()));
        }
    }
    if let Some(l) = &profile.locale {
        let ok = l.len() <= 35 && l.split('-').all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if !ok {
            return Err(AuthnError::InvalidInput("the locale must be a language tag such as en or en-GB".into()));
        }
    }
    if let Some(z) = &profile.zoneinfo {
        if !latchkey_i18n::known_zone(z) {
            return Err(AuthnError::InvalidInput("the time zone must be an IANA name such as Europe/Berlin".into()));
        }
    }
    Ok(profile)
}

pub fn validate_new_user(new: &NewUser, policy: &PasswordPolicy) -> Result<(), AuthnError> {
    validate_identity(&new.username, &new.email)?;
    policy.check(&new.password, &new.username, &new.email)
}

/// A username and an address we can store and mail.
pub fn validate_identity(username: &str, email: &str) -> Result<(), AuthnError> {
    if !valid_username(username) {
        return Err(AuthnError::InvalidInput("username must be 1-64 letters, digits or . - _ (not an email address or a user id)".into()));
    }
    if !valid_email(email) {
        return Err(AuthnError::InvalidInput("email address is not valid".into()));
    }
    Ok(())
}

/// `local@domain`, at most 254 characters, no spaces or control characters
/// (it goes into mail headers).
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else { return false };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.chars().all(|c| c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control()))
}

fn map_conflict(e: StoreError) -> AuthnError {
    match e {
        StoreError::Conflict(_) => AuthnError::UserExists,
        other => AuthnError::Store(other),
    }
}

/// Creates a user synchronously (CLI).
pub fn create_user_blocking(db: &Db, new: NewUser, now: i64, policy: &PasswordPolicy) -> Result<User, AuthnError> {
    validate_new_user(&new, policy)?;
    let hash = crate::password::hash_blocking(&new.password)?;
    let user = User {
        id: UserId(uuid::Uuid::new_v4().to_string()),
        username: new.username,
        email: new.email,
        password_hash: Some(hash),
        admin: new.admin,
        created_at: now,
        email_verified: false,
        profile: Default::default(),
        disabled_at: None,
        passkey_only: false,
    };
    db.run_blocking(|c| users::insert(c, &user)).map_err(map_conflict)?;
    Ok(user)
}

/// `true` done, `false` no such user, or refused as the last administrator.
fn demotion(d: users::Demotion) -> Result<bool, AuthnError> {
    match d {
        users::Demotion::Done => Ok(true),
        users::Demotion::NoSuchUser => Ok(false),
        users::Demotion::LastAdmin => Err(AuthnError::LastAdmin),
    }
}
