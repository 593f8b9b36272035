//! Users and how they sign in.

use latchkey_domain::user::valid_username;
use latchkey_domain::{SharedClock, Secret, User, UserId};
use latchkey_store::repo::users;
use latchkey_store::{Db, FastStore, StoreError};

use crate::error::AuthnError;
use crate::password::PasswordHasher;
use crate::throttle::LoginThrottle;

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
}

impl Authenticator {
    pub fn new(db: Db, fast: FastStore, clock: SharedClock) -> Result<Authenticator, AuthnError> {
        Ok(Authenticator { db, hasher: PasswordHasher::new()?, throttle: LoginThrottle::new(fast), clock })
    }

    pub async fn create_user(&self, new: NewUser) -> Result<User, AuthnError> {
        validate_new_user(&new)?;
        let hash = self.hasher.hash(new.password).await?;
        let user = User {
            id: UserId(uuid::Uuid::new_v4().to_string()),
            username: new.username,
            email: new.email,
            password_hash: Some(hash),
            admin: new.admin,
            created_at: self.clock.now(),
        };
        let u = user.clone();
        self.db.run(move |c| users::insert(c, &u)).await.map_err(map_conflict)?;
        Ok(user)
    }

    /// Checks a username and password. Unknown user and wrong password cost the
    /// same argon2 verification and return the same error.
    pub async fn authenticate_password(&self, username: &str, password: Secret, ip: Option<&str>) -> Result<User, AuthnError> {
        let attempt = self.throttle.reserve(username, ip).await?;
        let name = username.to_string();
        let user = self.db.run(move |c| users::find_by_username(c, &name)).await?;
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let ok = self.hasher.verify(password, stored).await?;
        match user {
            Some(u) if ok => {
                self.throttle.succeeded(attempt).await?;
                Ok(u)
            }
            _ => {
                tracing::info!(target: "security", event = "login_failed", username, ip, "failed password sign-in");
                Err(AuthnError::InvalidCredentials)
            }
        }
    }

    /// Changes a user's password after checking the current one (throttled
    /// like sign-in). The caller ends the user's other sessions and tokens.
    pub async fn change_password(&self, user: &User, current: Secret, new: Secret, ip: Option<&str>) -> Result<(), AuthnError> {
        self.authenticate_password(&user.username, current, ip).await?;
        PasswordHasher::check_policy(&new)?;
        let hash = self.hasher.hash(new).await?;
        let id = user.id.clone();
        self.db.run(move |c| users::set_password_hash(c, &id, &hash)).await?;
        tracing::info!(target: "security", event = "password_changed", user_id = %user.id.0);
        Ok(())
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

pub fn validate_new_user(new: &NewUser) -> Result<(), AuthnError> {
    if !valid_username(&new.username) {
        return Err(AuthnError::InvalidInput("username must be 1-64 letters, digits or . - _ @".into()));
    }
    if !new.email.contains('@') || new.email.len() > 254 {
        return Err(AuthnError::InvalidInput("email address is not valid".into()));
    }
    PasswordHasher::check_policy(&new.password)
}

fn map_conflict(e: StoreError) -> AuthnError {
    match e {
        StoreError::Conflict(_) => AuthnError::UserExists,
        other => AuthnError::Store(other),
    }
}

/// Creates a user synchronously (CLI).
pub fn create_user_blocking(db: &Db, new: NewUser, now: i64) -> Result<User, AuthnError> {
    validate_new_user(&new)?;
    let hash = crate::password::hash_blocking(&new.password)?;
    let user = User {
        id: UserId(uuid::Uuid::new_v4().to_string()),
        username: new.username,
        email: new.email,
        password_hash: Some(hash),
        admin: new.admin,
        created_at: now,
    };
    db.run_blocking(|c| users::insert(c, &user)).map_err(map_conflict)?;
    Ok(user)
}
