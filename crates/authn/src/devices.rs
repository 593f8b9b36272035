//! "Keep me signed in": a long-lived device token in its own cookie, stored
//! hashed, rotated on every use. When the browser session has expired, the
//! token starts a new one; a replayed (already rotated) token ends the device.

use latchkey_domain::{Amr, SharedClock, UserId};
use latchkey_store::repo::devices::{self as repo, Device, Use};
use latchkey_store::Db;
use latchkey_token::crypto::{random_token, KeyPurpose, KeyedHasher};
use latchkey_token::MasterKey;

use crate::error::AuthnError;

/// Remembered devices last 30 days from when the box was ticked; using the
/// device does not extend that.
pub const DEFAULT_DEVICE_LIFETIME: i64 = 30 * 24 * 3600;
/// Two tabs restoring from the same device token at once (browsers reopen
/// tabs at start-up) are not theft: within 5 seconds of a rotation the
/// previous token still restores, without rotating again. Long enough for a
/// burst of tab restores, far too short to be worth stealing a cookie for.
pub const DEVICE_REUSE_GRACE_SECS: i64 = 5;
/// Device tokens carry this prefix (secret scanners). NEVER CHANGE IT.
pub const DEVICE_PREFIX: &str = "lkd_";

#[derive(Clone)]
pub struct DeviceService {
    db: Db,
    hasher: KeyedHasher,
    clock: SharedClock,
    pub lifetime: i64,
}

/// What presenting a device token led to.
pub enum Restore {
    /// Valid: here is who it belongs to, when they last signed in
    /// interactively (the device's creation), and the rotated token for the
    /// cookie (`None` within the reuse grace: the cookie already has it).
    Restored {
        user_id: UserId,
        amr: Vec<Amr>,
        device_id: String,
        auth_time: i64,
        token: Option<String>,
    },
    /// A rotated token came back: the device is ended (so are its sessions, by the caller).
    Replayed {
        device_id: String,
        user_id: UserId,
    },
    Invalid,
}

impl DeviceService {
    pub fn new(db: Db, master: &MasterKey, clock: SharedClock) -> DeviceService {
        DeviceService { db, hasher: master.hasher(KeyPurpose::Device), clock, lifetime: DEFAULT_DEVICE_LIFETIME }
    }

    /// Remembers this device for `user`. Returns the device id and the raw token (for the cookie).
    pub async fn remember(&self, user: &UserId, amr: &[Amr], name: String) -> Result<(String, String), AuthnError> {
        let now = self.clock.now();
        let token = random_token(DEVICE_PREFIX);
        let device = Device {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.0.clone(),
            token_hash: self.hasher.hash(&token),
            previous_hash: None,
            name,
            amr: Amr::join(amr),
            created_at: now,
            last_used_at: now,
            expires_at: now + self.lifetime,
            revoked_at: None,
        };
        let id = device.id.clone();
        self.db.run(move |c| repo::insert(c, &device)).await?;
        Ok((id, token))
    }

    pub async fn restore(&self, token: &str) -> Result<Restore, AuthnError> {
        let (hash, next) = (self.hasher.hash(token), random_token(DEVICE_PREFIX));
        let (next_hash, now) = (self.hasher.hash(&next), self.clock.now());
        let used = self.db.run(move |c| repo::use_token(c, &hash, &next_hash, now, DEVICE_REUSE_GRACE_SECS)).await?;
        Ok(match used {
            Use::Rotated(d) => Restore::Restored { user_id: UserId(d.user_id), amr: Amr::split(&d.amr), device_id: d.id, auth_time: d.created_at, token: Some(next) },
            Use::JustRotated(d) => Restore::Restored { user_id: UserId(d.user_id), amr: Amr::split(&d.amr), device_id: d.id, auth_time: d.created_at, token: None },
            Use::Replayed(d) => {
                let id = d.id.clone();
                self.db.run(move |c| repo::revoke(c, &id, now)).await?;
                Restore::Replayed { device_id: d.id, user_id: UserId(d.user_id) }
            }
            Use::Unusable => Restore::Invalid,
        })
    }

    pub async fn forget(&self, device_id: &str) -> Result<(), AuthnError> {
        let (id, now) = (device_id.to_string(), self.clock.now());
        Ok(self.db.run(move |c| repo::revoke(c, &id, now)).await?)
    }

    /// The user's remembered devices that can still restore a session.
    pub async fn list(&self, user: &UserId) -> Result<Vec<Device>, AuthnError> {
        let (uid, now) = (user.0.clone(), self.clock.now());
        Ok(self.db.run(move |c| repo::live_for_user(c, &uid, now)).await?)
    }

    pub async fn find(&self, device_id: &str) -> Result<Option<Device>, AuthnError> {
        let id = device_id.to_string();
        Ok(self.db.run(move |c| repo::find(c, &id)).await?)
    }

    /// Forgets every device of the user except `keep` (this browser's).
    pub async fn forget_all_except(&self, user: &UserId, keep: Option<&str>) -> Result<usize, AuthnError> {
        let mut n = 0;
        for d in self.list(user).await? {
            if Some(d.id.as_str()) != keep {
                self.forget(&d.id).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    pub async fn forget_all(&self, user: &UserId) -> Result<usize, AuthnError> {
        let (uid, now) = (user.0.clone(), self.clock.now());
        Ok(self.db.run(move |c| repo::revoke_for_user(c, &uid, now)).await?)
    }
}
