//! The device authorization grant (RFC 8628): a device without a usable
//! browser (a TV, a command-line tool) asks `/device_authorization` for a
//! device code and a short user code, shows the user code, and polls `/token`
//! while the user signs in on another device at `/device`, enters the code and
//! allows or denies the request.
//!
//! Everything lives in the fast store, so any node can answer any step:
//!
//! - `device:{h}` — the request ([`DeviceRequest`]), `h` a keyed hash of the device code;
//! - `device-user:{u}` — `h`, for the user code (`u` its keyed hash);
//! - `device-answer:{h}` — the user's answer, written once (`put_if_absent`:
//!   approval and denial race to one winner across nodes), then *spent* by
//!   the one poll that gets the tokens (`spend`);
//! - `device-poll:{h}` — when the device last polled and at what interval it must;
//! - `device-guess:{ip}` — wrong user codes entered from one address.

use latchkey_domain::{Actor, SecurityEvent};
use std::time::Duration;

use latchkey_domain::{ClientId, ClientKind, GrantType, ScopeSet, Session};
use latchkey_store::repo::{grants as grant_repo, sessions as session_repo};
use latchkey_store::{FastStore, StoreError};
use latchkey_token::crypto::{random_bytes, random_token};
use serde::{Deserialize, Serialize};

use crate::authorize::{self, MAX_SCOPE_LEN};
use crate::client_auth::ClientCredentials;
use crate::error::{ErrorCode, OAuthError};
use crate::service::OAuthService;

/// Device codes carry this prefix so secret scanners can spot leaked ones.
/// NEVER CHANGE IT.
pub const DEVICE_CODE_PREFIX: &str = "lkd_";
/// How long the user has to enter the code and answer (RFC 8628 §3.2
/// `expires_in`): time to find a phone, sign in with a second factor and
/// read the consent page, and no more.
pub const DEVICE_CODE_TTL_SECS: i64 = 600;
/// The polling interval a device is given (RFC 8628 §3.2 `interval`; 5 s is
/// the RFC's default).
pub const POLL_INTERVAL_SECS: i64 = 5;
/// What each `slow_down` adds to a device code's interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP_SECS: i64 = 5;
/// The request stays in the store this long after it expired, so a late
/// poll is told `expired_token` rather than `invalid_grant` (the store's TTL
/// only frees memory; `expires_at` is what is enforced).
const EXPIRED_KEPT_SECS: i64 = 600;
/// RFC 8628 §6.1: base-20 consonants, no vowels (no words can be spelled)
/// and no letters that look like digits; case does not matter when typed.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// 20^8 ≈ 2.6 × 10^10 codes (34 bits), shown as `XXXX-XXXX`.
pub const USER_CODE_LEN: usize = 8;
/// Wrong user codes allowed from one address per [`WRONG_USER_CODE_WINDOW`].
/// Why a limit: the user code is short so that people can type it, and a
/// guessed code lets the guesser answer someone else's request (deny it, or
/// connect that device to the guesser's account). With 10 guesses per address
/// per code lifetime, an attacker holding 1,000 addresses against 10,000
/// codes live at once expects one hit per ~2,500 lifetimes (RFC 8628 §5.1);
/// someone typing their own code misreads it once or twice, not ten times.
pub const MAX_WRONG_USER_CODES_PER_IP: i64 = 10;
/// The window of [`MAX_WRONG_USER_CODES_PER_IP`]: one device code's lifetime.
pub const WRONG_USER_CODE_WINDOW: Duration = Duration::from_secs(DEVICE_CODE_TTL_SECS as u64);
/// Tries at finding a user code no live request has (a clash is already
/// one in millions; five in a row do not happen).
const USER_CODE_TRIES: usize = 5;

/// A random user code, formatted `XXXX-XXXX`.
pub fn generate_user_code() -> String {
    let mut code = String::with_capacity(USER_CODE_LEN);
    while code.len() < USER_CODE_LEN {
        for b in random_bytes::<16>() {
            // 240 = 12 × 20: rejecting the rest keeps every letter equally likely.
            if b < 240 && code.len() < USER_CODE_LEN {
                code.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
            }
        }
    }
    format_user_code(&code)
}

/// What the user typed, as a canonical code (8 letters of the alphabet, no
/// separator): upper-cased, with dashes and spaces dropped. `None` when it
/// cannot be a user code.
pub fn normalize_user_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input.chars().filter(|c| *c != '-' && !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    let valid = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// A canonical code as shown: `XXXX-XXXX`.
pub fn format_user_code(canonical: &str) -> String {
    let (a, b) = canonical.split_at(canonical.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// The answer of `/device_authorization` (RFC 8628 §3.2).
#[derive(Debug, Serialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// A pending device request, stored under the device code's hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeviceRequest {
    pub(crate) client_id: String,
    pub(crate) scope: String,
    /// RFC 8707: the API named at `/device_authorization`.
    pub(crate) resource: Option<String>,
    /// As shown (`XXXX-XXXX`).
    pub(crate) user_code: String,
    pub(crate) expires_at: i64,
}

/// The user's answer: written once, whoever races.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub(crate) enum DeviceAnswer {
    Denied,
    Approved { user_id: String, sid: String, auth_time: i64, amr: Vec<String>, acr: String },
}

/// How often a device may poll, and when it last did.
#[derive(Debug, Serialize, Deserialize)]
struct PollState {
    last: i64,
    interval: i64,
}

/// A device request found by its user code, for the consent page.
#[derive(Debug, Clone)]
pub struct DeviceApproval {
    /// As shown (`XXXX-XXXX`).
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    hash: String,
}

impl DeviceApproval {
    pub fn scopes(&self) -> ScopeSet {
        ScopeSet::parse_lenient(&self.scope)
    }
}

/// What a user code leads to.
#[derive(Debug)]
pub enum UserCodeLookup {
    Found(DeviceApproval),
    /// Not a live code (mistyped, made up, expired).
    Unknown,
    /// A live code that was already allowed or denied.
    AlreadyAnswered,
    /// Too many wrong codes from this address: nothing is looked up.
    TooManyAttempts,
}

/// The outcome of the user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerOutcome {
    Recorded,
    /// Someone answered first (another tab, another node): that answer stands.
    AlreadyAnswered,
    Expired,
}

fn device_key(hash: &str) -> String {
    format!("device:{hash}")
}

fn user_code_key(hash: &str) -> String {
    format!("device-user:{hash}")
}

pub(crate) fn answer_key(hash: &str) -> String {
    format!("device-answer:{hash}")
}

fn poll_key(hash: &str) -> String {
    format!("device-poll:{hash}")
}

fn guess_key(ip: Option<&str>) -> String {
    format!("device-guess:{}", ip.unwrap_or("unknown"))
}

/// The parked request of the device code whose keyed hash is `hash`.
pub(crate) async fn device_request(fast: &FastStore, hash: &str) -> Result<Option<DeviceRequest>, StoreError> {
    match fast.single_use().get(&device_key(hash)).await? {
        Some(json) => Ok(Some(serde_json::from_str(&json)?)),
        None => Ok(None),
    }
}

/// How long every entry of one request is kept.
pub(crate) fn store_ttl() -> Duration {
    Duration::from_secs((DEVICE_CODE_TTL_SECS + EXPIRED_KEPT_SECS) as u64)
}

impl OAuthService {
    fn user_code_hash(&self, canonical: &str) -> String {
        self.device_codes.hash(&format!("user-code:{canonical}"))
    }

    /// `POST /device_authorization` (RFC 8628 §3.1): authenticates the client
    /// as the token endpoint does, checks the scopes as `/authorize` would,
    /// and parks the request. `ip` is whose share of the parked requests'
    /// memory a public client's request counts against (as at `/authorize`).
    pub async fn device_authorization(&self, creds: &ClientCredentials, scope: Option<&str>, resource: Option<&str>, ip: Option<&str>) -> Result<DeviceAuthorization, OAuthError> {
        let client = self.authenticate_client(creds).await?;
        if !client.allows_grant(GrantType::DeviceCode) {
            return Err(OAuthError::new(ErrorCode::UnauthorizedClient, "this client may not use the device authorization grant"));
        }
        if scope.is_some_and(|s| s.len() > MAX_SCOPE_LEN) {
            return Err(OAuthError::invalid_request("parameter scope is too long"));
        }
        let apis = self.apis_for(resource.as_slice(), &ScopeSet::parse_lenient(scope.unwrap_or("")), &client).await?;
        let api = crate::apis::resource(&apis, resource)?;
        let granted = authorize::granted_scopes(&apis, &client, &ScopeSet::parse_lenient(scope.unwrap_or("")), api)?;
        // Anyone can claim a public client's id: its requests count against
        // the address that made them, a confidential client's against itself.
        let owner = match (client.kind(), ip) {
            (ClientKind::Public, Some(ip)) => ip.to_string(),
            _ => format!("client:{}", client.id.0),
        };
        let device_code = random_token(DEVICE_CODE_PREFIX);
        let hash = self.device_codes.hash(&device_code);
        let mut user_code = None;
        for _ in 0..USER_CODE_TRIES {
            let candidate = generate_user_code();
            let canonical = candidate.replace('-', "");
            if self.fast.single_use().put_evictable_if_absent(&user_code_key(&self.user_code_hash(&canonical)), &hash, store_ttl(), &owner).await? {
                user_code = Some(candidate);
                break;
            }
        }
        let user_code = user_code.ok_or_else(|| OAuthError::new(ErrorCode::TemporarilyUnavailable, "no free user code; try again"))?;
        let request = DeviceRequest {
            client_id: client.id.0.clone(),
            scope: granted.to_string(),
            resource: api.map(|a| a.audience.clone()),
            user_code: user_code.clone(),
            expires_at: self.clock.now() + DEVICE_CODE_TTL_SECS,
        };
        let json = serde_json::to_string(&request).map_err(StoreError::from)?;
        self.fast.single_use().put_evictable(&device_key(&hash), &json, store_ttl(), &owner).await?;
        tracing::info!(target: "security", event = "device_authorization", client_id = %client.id.0);
        let verification_uri = format!("{}/device", self.config.issuer.trim_end_matches('/'));
        Ok(DeviceAuthorization {
            verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
            verification_uri,
            device_code,
            user_code,
            expires_in: DEVICE_CODE_TTL_SECS,
            interval: POLL_INTERVAL_SECS,
        })
    }

    /// The live request a user code names, as typed by a user at `/device`.
    /// Every attempt from `ip` is counted before anything is looked up, and
    /// a right code gives its count back: past
    /// [`MAX_WRONG_USER_CODES_PER_IP`] wrong ones, even a right code is
    /// refused until the window ends (so guessing stays blind).
    pub async fn lookup_user_code(&self, input: &str, ip: Option<&str>) -> Result<UserCodeLookup, StoreError> {
        let counter = guess_key(ip);
        if self.fast.incr_window(&counter, WRONG_USER_CODE_WINDOW).await? > MAX_WRONG_USER_CODES_PER_IP {
            tracing::warn!(target: "security", event = "user_code_guess_limit", ip = ip.unwrap_or("unknown"), "too many wrong user codes from one address");
            return Ok(UserCodeLookup::TooManyAttempts);
        }
        let found = self.find_user_code(input).await?;
        match &found {
            UserCodeLookup::Unknown => tracing::info!(target: "security", event = "user_code_wrong", ip = ip.unwrap_or("unknown")),
            _ => self.fast.decrement(&counter).await?,
        }
        Ok(found)
    }

    async fn find_user_code(&self, input: &str) -> Result<UserCodeLookup, StoreError> {
        let Some(canonical) = normalize_user_code(input) else { return Ok(UserCodeLookup::Unknown) };
        let Some(hash) = self.fast.single_use().get(&user_code_key(&self.user_code_hash(&canonical))).await? else { return Ok(UserCodeLookup::Unknown) };
        let Some(request) = self.device_request(&hash).await? else { return Ok(UserCodeLookup::Unknown) };
        if request.expires_at <= self.clock.now() {
            return Ok(UserCodeLookup::Unknown);
        }
        if self.fast.single_use().get(&answer_key(&hash)).await?.is_some() {
            return Ok(UserCodeLookup::AlreadyAnswered);
        }
        Ok(UserCodeLookup::Found(DeviceApproval { user_code: request.user_code, client_id: request.client_id, scope: request.scope, hash }))
    }

    async fn device_request(&self, hash: &str) -> Result<Option<DeviceRequest>, StoreError> {
        device_request(&self.fast, hash).await
    }

    /// The signed-in user allows or denies a device request. The first
    /// answer wins, on any node (`put_if_absent`); an approval is bound to
    /// `session` as a code would be (its tokens end with it unless
    /// `offline_access`), recorded as the user's grant to the client (so
    /// `/account` can disconnect it), and audited like consent.
    pub async fn answer_device(&self, device: &DeviceApproval, session: &Session, allow: bool) -> Result<AnswerOutcome, StoreError> {
        let now = self.clock.now();
        if self.device_request(&device.hash).await?.is_none_or(|r| r.expires_at <= now) {
            return Ok(AnswerOutcome::Expired);
        }
        let answer = if allow {
            DeviceAnswer::Approved {
                user_id: session.user_id.0.clone(),
                sid: session.sid.clone(),
                auth_time: session.auth_time,
                amr: session.amr.iter().map(|a| a.as_str().to_string()).collect(),
                acr: session.acr().as_str().to_string(),
            }
        } else {
            DeviceAnswer::Denied
        };
        let json = serde_json::to_string(&answer)?;
        if !self.fast.single_use().put_if_absent(&answer_key(&device.hash), &json, store_ttl()).await? {
            tracing::info!(target: "security", event = "device_answer_refused", client_id = %device.client_id, user_id = %session.user_id.0, "the device request was already answered");
            return Ok(AnswerOutcome::AlreadyAnswered);
        }
        let (user, client, scope) = (session.user_id.clone(), ClientId(device.client_id.clone()), device.scope.clone());
        let answer = if allow { SecurityEvent::DeviceApproved { user, client, scope } } else { SecurityEvent::DeviceDenied { user, client, scope } };
        self.record(&Actor::User(session.user_id.clone()), answer).await;
        if allow {
            let (id, user, client, scopes) = (uuid::Uuid::new_v4().to_string(), session.user_id.clone(), ClientId(device.client_id.clone()), device.scopes());
            let sid = session.sid.clone();
            self.db
                .run(move |c| {
                    grant_repo::upsert(c, &id, &user, &client, &scopes, now)?;
                    // The session now signed in a relying party (back-channel logout).
                    session_repo::add_client(c, &sid, &client.0, now)
                })
                .await?;
        }
        Ok(AnswerOutcome::Recorded)
    }
}

/// The answer to a poll before the user answered: `authorization_pending`,
/// or `slow_down` when it came sooner than the code's interval after the
/// previous poll, which then grows by [`SLOW_DOWN_STEP_SECS`] for good.
/// (Read, then write: two polls racing on two nodes may both pass, which
/// costs one extra cheap answer and nothing else.)
pub(crate) async fn still_pending(fast: &FastStore, hash: &str, now: i64) -> Result<OAuthError, StoreError> {
    let key = poll_key(hash);
    let previous: Option<PollState> = match fast.single_use().get(&key).await? {
        Some(json) => Some(serde_json::from_str(&json)?),
        None => None,
    };
    let (state, error) = match previous {
        Some(p) if now - p.last < p.interval => {
            let interval = p.interval + SLOW_DOWN_STEP_SECS;
            (PollState { last: now, interval }, OAuthError::new(ErrorCode::SlowDown, format!("polled too fast: wait at least {interval} s between polls")))
        }
        p => (PollState { last: now, interval: p.map_or(POLL_INTERVAL_SECS, |p| p.interval) }, OAuthError::new(ErrorCode::AuthorizationPending, "the user has not answered yet")),
    };
    // Polls of parked device requests: at most one small state per request.
    fast.single_use().put_evictable(&key, &serde_json::to_string(&state)?, store_ttl(), "device-polls").await?;
    Ok(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_letters_of_the_alphabet_in_two_groups() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2_000 {
            let code = generate_user_code();
            assert_eq!(code.len(), USER_CODE_LEN + 1, "{code}");
            assert_eq!(code.as_bytes()[4], b'-', "{code}");
            assert!(code.bytes().filter(|b| *b != b'-').all(|b| USER_CODE_ALPHABET.contains(&b)), "{code}");
            assert_eq!(normalize_user_code(&code).map(|c| format_user_code(&c)), Some(code.clone()), "round trip");
            seen.insert(code);
        }
        assert!(seen.len() > 1_990, "codes are random: {} distinct of 2000", seen.len());
    }

    #[test]
    fn every_letter_of_the_alphabet_is_used() {
        let mut counts = [0u32; 20];
        for _ in 0..1_000 {
            for b in generate_user_code().bytes().filter(|b| *b != b'-') {
                if let Some(i) = USER_CODE_ALPHABET.iter().position(|a| *a == b) {
                    counts[i] += 1;
                }
            }
        }
        // 8,000 letters: 400 expected each; a biased draw would show.
        assert!(counts.iter().all(|c| (300..500).contains(c)), "{counts:?}");
    }

    #[test]
    fn typed_codes_are_normalized() {
        for typed in ["BCDF-GHJK", "bcdf-ghjk", "BCDFGHJK", "bcdfghjk", " bcdf ghjk ", "Bc-Df-Gh-Jk", "BCDF\u{a0}GHJK"] {
            assert_eq!(normalize_user_code(typed).as_deref(), Some("BCDFGHJK"), "{typed:?}");
        }
        for wrong in ["", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "BCDF_GHJK", "ВCDF-GHJK", &"B".repeat(100)] {
            assert_eq!(normalize_user_code(wrong), None, "{wrong:?}");
        }
        assert_eq!(format_user_code("BCDFGHJK"), "BCDF-GHJK");
    }
}
