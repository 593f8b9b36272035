//! Single-use links mailed to users: account set-up (invitation or sign-up),
//! recovery, email change and its revert. 256 random bits, stored only as a
//! keyed hash, single use, short-lived, superseded by a newer link of the
//! same kind, revoked by any credential change.

use latchkey_domain::{SharedClock, UserId};
use latchkey_store::repo::links::{self as repo, Link};
use latchkey_store::Db;
use latchkey_token::crypto::{random_token, KeyPurpose, KeyedHasher};
use latchkey_token::MasterKey;

use crate::error::AuthnError;

/// Link tokens carry this prefix (secret scanners). NEVER CHANGE IT.
pub const LINK_PREFIX: &str = "lkl_";

/// An invitation waits 72 hours: long enough for a weekend, short enough that
/// a forgotten invitation in a mailbox is soon worthless.
pub const DEFAULT_INVITE_TTL: i64 = 72 * 3600;
/// A sign-up or email-change verification link: a day.
pub const VERIFY_TTL: i64 = 24 * 3600;
/// A recovery link lives 30 minutes by default (15-60 configurable): the
/// person is at the keyboard waiting for the mail.
pub const DEFAULT_RECOVERY_TTL: i64 = 30 * 60;
pub const RECOVERY_TTL_RANGE: (i64, i64) = (15 * 60, 60 * 60);
/// The "this wasn't me" revert link of an email change works for 7 days:
/// longer than anyone takes to notice a mail.
pub const EMAIL_REVERT_TTL: i64 = 7 * 24 * 3600;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Choose a first credential (invitation or sign-up); proves the address.
    Setup,
    Recovery,
    /// Confirms a new address (`email` is the new one).
    EmailChange,
    /// Restores the old address (`email` is the old one).
    EmailRevert,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Setup => "setup",
            Purpose::Recovery => "recovery",
            Purpose::EmailChange => "email_change",
            Purpose::EmailRevert => "email_revert",
        }
    }
}

#[derive(Clone)]
pub struct LinkService {
    db: Db,
    hasher: KeyedHasher,
    clock: SharedClock,
}

impl LinkService {
    pub fn new(db: Db, master: &MasterKey, clock: SharedClock) -> LinkService {
        LinkService { db, hasher: master.hasher(KeyPurpose::AccountLink), clock }
    }

    /// A new link for `user`; earlier unused links of the same purpose stop
    /// working. Returns the raw token (for the URL, never stored).
    pub async fn issue(&self, purpose: Purpose, user: &UserId, email: &str, ttl: i64) -> Result<String, AuthnError> {
        let token = random_token(LINK_PREFIX);
        let now = self.clock.now();
        let link = Link {
            id: uuid::Uuid::new_v4().to_string(),
            purpose: purpose.as_str().to_string(),
            user_id: user.0.clone(),
            token_hash: self.hasher.hash(&token),
            email: email.to_string(),
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
            revoked_at: None,
            factor_at: None,
            factor_browser: None,
        };
        self.db.run(move |c| repo::insert_superseding(c, &link)).await?;
        Ok(token)
    }

    /// The usable link of this purpose behind `token`, if any (unknown,
    /// expired, used, superseded and revoked links all look the same).
    pub async fn open(&self, token: &str, purpose: Purpose) -> Result<Option<Link>, AuthnError> {
        if !token.starts_with(LINK_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let (hash, now) = (self.hasher.hash(token), self.clock.now());
        let link = self.db.run(move |c| repo::find_by_hash(c, &hash)).await?;
        Ok(link.filter(|l| l.purpose == purpose.as_str() && l.usable(now)))
    }

    /// Spends the link; `false` when another use got there first.
    pub async fn consume(&self, link: &Link) -> Result<bool, AuthnError> {
        let (id, now) = (link.id.clone(), self.clock.now());
        Ok(self.db.run(move |c| repo::consume(c, &id, now)).await?)
    }

    /// Records that the account's second factor was presented for this link
    /// by the browser `browser`.
    pub async fn record_factor(&self, link: &Link, browser: &str) -> Result<(), AuthnError> {
        let (id, b, now) = (link.id.clone(), browser.to_string(), self.clock.now());
        Ok(self.db.run(move |c| repo::record_factor(c, &id, &b, now)).await?)
    }

    /// Revokes every unused link of the user (of one purpose, or all): after
    /// any credential change, no older link still works.
    pub async fn revoke_for_user(&self, user: &UserId, purpose: Option<Purpose>) -> Result<usize, AuthnError> {
        let (uid, now) = (user.0.clone(), self.clock.now());
        Ok(self.db.run(move |c| repo::revoke_for_user(c, &uid, purpose.map(Purpose::as_str), now)).await?)
    }

    pub async fn has_live(&self, user: &UserId, purpose: Purpose) -> Result<bool, AuthnError> {
        let (uid, now) = (user.0.clone(), self.clock.now());
        Ok(self.db.run(move |c| repo::has_live(c, &uid, purpose.as_str(), now)).await?)
    }
}
