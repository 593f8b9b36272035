//! Second factors: TOTP (RFC 6238, via totp-rs) and single-use backup codes.
//!
//! SHA-1, 6 digits, 30 s steps — what every authenticator app supports — and
//! ±1 step of clock skew. A time step is accepted at most once per user.

use latchkey_domain::{Amr, SharedClock, User};
use latchkey_store::repo::mfa::{self as repo, TotpCredential};
use latchkey_store::{Db, FastStore};
use latchkey_token::crypto::{KeyPurpose, KeyedHasher};
use latchkey_token::MasterKey;
use totp_rs::{Builder as TotpBuilder, Secret as TotpSecret, Totp};

use crate::error::AuthnError;
use crate::throttle::{LoginThrottle, Subject};
use crate::ways_in::{RecoveryGate, WaysIn};

/// Ten backup codes: enough for a long trip without the phone.
pub const BACKUP_CODE_COUNT: usize = 10;
/// Crockford-style alphabet without look-alikes (no 0/O, 1/I/L).
const BACKUP_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

pub struct TotpEnrolment {
    /// Base32 secret, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://` URI, for the QR code.
    pub url: String,
}

#[derive(Clone)]
pub struct MfaService {
    db: Db,
    master: MasterKey,
    backup: KeyedHasher,
    clock: SharedClock,
    throttle: LoginThrottle,
    issuer: String,
}

fn totp_for(secret_b32: &str, account: &str, issuer: &str) -> Result<Totp, AuthnError> {
    let secret = TotpSecret::try_from_base32(secret_b32).map_err(|e| AuthnError::InvalidInput(format!("totp secret: {e:?}")))?;
    TotpBuilder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(issuer.replace(':', "_")))
        .build()
        .map_err(|e| AuthnError::InvalidInput(format!("totp: {e:?}")))
}

fn normalize(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase()
}

impl MfaService {
    pub fn new(db: Db, fast: FastStore, master: &MasterKey, clock: SharedClock, issuer: &str) -> MfaService {
        let issuer = url::Url::parse(issuer).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| "latchkey".into());
        MfaService {
            db,
            master: master.clone(),
            backup: master.hasher(KeyPurpose::BackupCode),
            clock,
            throttle: LoginThrottle::new(fast, master.hasher(KeyPurpose::LoginName)).for_second_factor(),
            issuer,
        }
    }

    fn context(user_id: &str) -> String {
        format!("totp:{user_id}")
    }

    async fn credential(&self, user_id: &str) -> Result<Option<TotpCredential>, AuthnError> {
        let id = user_id.to_string();
        Ok(self.db.run(move |c| repo::find(c, &id)).await?)
    }

    /// Whether the user has a confirmed second factor.
    pub async fn has_second_factor(&self, user: &User) -> Result<bool, AuthnError> {
        Ok(self.credential(&user.id.0).await?.is_some_and(|c| c.confirmed_at.is_some()))
    }

    /// What recovery must ask for before it lets anyone set a credential:
    /// an authenticator-app or backup code, a passkey that is the second
    /// factor of a password account, or nothing.
    pub async fn recovery_gate(&self, user: &User) -> Result<RecoveryGate, AuthnError> {
        let id = user.id.clone();
        Ok(self.db.run(move |c| WaysIn::read(c, &id)).await?.recovery_gate())
    }

    /// When the confirmed authenticator app was added (its confirmation), if any.
    pub async fn app_added_at(&self, user: &User) -> Result<Option<i64>, AuthnError> {
        Ok(self.credential(&user.id.0).await?.and_then(|c| c.confirmed_at))
    }

    /// Starts enrolment with a fresh secret; confirmed by the first valid code.
    pub async fn start_totp(&self, user: &User) -> Result<TotpEnrolment, AuthnError> {
        if self.has_second_factor(user).await? {
            return Err(AuthnError::InvalidInput("an authenticator app is already set up".into()));
        }
        let secret = TotpSecret::generate().to_base32();
        let totp = totp_for(&secret, &user.username, &self.issuer)?;
        let url = totp.to_url().map_err(|e| AuthnError::InvalidInput(format!("totp url: {e:?}")))?;
        let sealed = self.master.encrypt(secret.as_bytes(), &Self::context(&user.id.0)).map_err(|e| AuthnError::InvalidInput(e.to_string()))?;
        let cred = TotpCredential { user_id: user.id.0.clone(), secret_enc: sealed, confirmed_at: None, last_step: 0, created_at: self.clock.now() };
        self.db.run(move |c| repo::put_pending(c, &cred)).await?;
        Ok(TotpEnrolment { secret, url })
    }

    /// The current enrolment (secret and URI) of an unconfirmed credential.
    pub async fn pending_totp(&self, user: &User) -> Result<Option<TotpEnrolment>, AuthnError> {
        match self.credential(&user.id.0).await? {
            Some(c) if c.confirmed_at.is_none() => {
                let secret = self.secret_of(&c)?;
                let url = totp_for(&secret, &user.username, &self.issuer)?.to_url().map_err(|e| AuthnError::InvalidInput(format!("totp url: {e:?}")))?;
                Ok(Some(TotpEnrolment { secret, url }))
            }
            _ => Ok(None),
        }
    }

    fn secret_of(&self, c: &TotpCredential) -> Result<String, AuthnError> {
        let plain = self.master.decrypt(&c.secret_enc, &Self::context(&c.user_id)).map_err(|e| AuthnError::InvalidInput(e.to_string()))?;
        String::from_utf8(plain).map_err(|_| AuthnError::InvalidInput("totp secret is corrupt".into()))
    }

    /// Checks a TOTP code against the credential (pending or confirmed) and
    /// accepts its time step once.
    async fn check_totp(&self, user: &User, code: &str) -> Result<bool, AuthnError> {
        let Some(cred) = self.credential(&user.id.0).await? else { return Ok(false) };
        let totp = totp_for(&self.secret_of(&cred)?, &user.username, &self.issuer)?;
        let digits: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() != 6 {
            return Ok(false);
        }
        let Some(step) = totp.check(&digits, u64::try_from(self.clock.now()).unwrap_or(0)) else { return Ok(false) };
        let (id, now, step) = (user.id.0.clone(), self.clock.now(), i64::try_from(step).unwrap_or(i64::MAX));
        Ok(self.db.run(move |c| repo::accept_step(c, &id, step, now)).await?)
    }

    /// Confirms enrolment with a first code; returns the backup codes (shown once).
    pub async fn confirm_totp(&self, user: &User, code: &str) -> Result<Vec<String>, AuthnError> {
        if self.has_second_factor(user).await? {
            return Err(AuthnError::InvalidInput("an authenticator app is already set up".into()));
        }
        if !self.check_totp(user, code).await? {
            return Err(AuthnError::InvalidCredentials);
        }
        self.regenerate_backup_codes(user).await
    }

    /// Verifies a second factor: a TOTP code or an unused backup code.
    /// Throttled per account and per IP like passwords.
    /// Checks a TOTP or backup code. `known_device` (a verified device cookie
    /// for this account) counts failures against that browser instead of the
    /// account's unknown devices, as for passwords: someone who has the
    /// password cannot lock the owner's own browser out of the second step.
    pub async fn verify(&self, user: &User, code: &str, ip: Option<&str>, known_device: Option<&str>) -> Result<Amr, AuthnError> {
        let attempt = self.throttle.reserve(&Subject::Account(user.id.clone()), ip, known_device).await?;
        let ok = if self.check_totp(user, code).await? {
            true
        } else {
            let hash = self.backup.hash(&normalize(code));
            let (id, now) = (user.id.0.clone(), self.clock.now());
            self.db.run(move |c| repo::use_backup_code(c, &id, &hash, now)).await?
        };
        if ok {
            self.throttle.succeeded(attempt).await?;
            Ok(Amr::Otp)
        } else {
            Err(AuthnError::InvalidCredentials)
        }
    }

    /// New backup codes (the old ones stop working); returned once, stored hashed.
    pub async fn regenerate_backup_codes(&self, user: &User) -> Result<Vec<String>, AuthnError> {
        let codes: Vec<String> = (0..BACKUP_CODE_COUNT).map(|_| backup_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| self.backup.hash(&normalize(c))).collect();
        let id = user.id.0.clone();
        self.db.run(move |c| repo::replace_backup_codes(c, &id, &hashes)).await?;
        Ok(codes)
    }

    pub async fn unused_backup_codes(&self, user: &User) -> Result<i64, AuthnError> {
        let id = user.id.0.clone();
        Ok(self.db.run(move |c| repo::unused_backup_codes(c, &id)).await?)
    }

    pub async fn remove_totp(&self, user: &User) -> Result<(), AuthnError> {
        let id = user.id.0.clone();
        self.db.run(move |c| repo::remove(c, &id)).await?;
        Ok(())
    }
}

/// `XXXX-XXXX` from a 31-letter alphabet: ~39 bits, plenty for a single-use,
/// throttled code.
fn backup_code() -> String {
    let raw = latchkey_token::crypto::random_bytes::<8>();
    let chars: String = raw.iter().map(|b| BACKUP_ALPHABET[usize::from(*b) % BACKUP_ALPHABET.len()] as char).collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_codes_are_well_formed_and_normalize() {
        let c = backup_code();
        assert_eq!(c.len(), 9);
        assert_eq!(normalize(&c.to_lowercase()), normalize(&c));
        assert_ne!(backup_code(), backup_code());
    }
}
