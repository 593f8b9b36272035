//! A sign-in through an upstream provider, from the button to a known user.
//!
//! 1. [`App::federation_start`] keeps a flow (PKCE verifier, `nonce`, the
//!    provider, the authorization request it belongs to) for
//!    [`FLOW_TTL`], keyed by a hash of its `state` and bound to the browser,
//!    and returns the provider's authorization URL.
//! 2. [`App::federation_callback`] takes the flow once (a replayed `state`
//!    finds nothing), checks it is this browser's and this provider's (a
//!    response for provider A at B's callback is refused: mix-up), checks
//!    RFC 9207 `iss` when sent, redeems the code and verifies the ID token.
//! 3. The upstream account is resolved ([`Arrival`]): a **linked** identity
//!    (provider + subject, never the email) signs in. Otherwise an account
//!    with that email is **never linked silently**: under
//!    [`LinkRule::ExistingSignIn`] the user must sign in to it with its own
//!    credentials first ([`App::finish_pending_link`]); under
//!    [`LinkRule::VerifiedEmail`] it is linked at once only when the
//!    provider says `email_verified` and the domain is one of the
//!    provider's. Otherwise sign-up (when on) creates the account.

use std::time::Duration;

use latchkey_authn::notice::Notice;
use latchkey_domain::{Actor, Amr, LinkRule, Provider, SecurityEvent, Session, User, UserId};
use latchkey_i18n::Tr;
use latchkey_store::repo::providers::{self as repo, IdentityRow};
use latchkey_token::crypto::{random_token, sha256_b64url};
use serde::{Deserialize, Serialize};

use super::upstream::UpstreamIdentity;
use super::FederationError;
use crate::{App, AppError};

/// From the button to the callback: long enough to sign in at the
/// provider (with its own second factor), short enough to be useless later.
pub const FLOW_TTL: Duration = Duration::from_secs(10 * 60);
/// From "sign in to your existing account to link" to that sign-in.
pub const LINK_TTL: Duration = Duration::from_secs(10 * 60);

/// A flow under way, as kept in the fast store.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flow {
    provider: String,
    nonce: String,
    pkce_verifier: String,
    /// The browser that started it ([`App::federation_callback`]'s `owns`).
    browser: String,
    authz: Option<String>,
    next: Option<String>,
    /// "Link another" from the account page: the signed-in user to link
    /// the upstream account to, instead of signing in.
    #[serde(default)]
    link_to: Option<String>,
}

/// An upstream account waiting to be linked to the account that has its
/// email, once the user signs in to that account.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingLink {
    provider: String,
    subject: String,
    display: String,
    /// The account that has the upstream account's email: only a sign-in
    /// to this account links.
    user_id: String,
    browser: String,
}

fn flow_key(state: &str) -> String {
    format!("federation-flow:{}", sha256_b64url(state.as_bytes()))
}

fn link_key(id: &str) -> String {
    format!("federation-link:{}", sha256_b64url(id.as_bytes()))
}

/// Which upstream account (and session) signed a latchkey session in: kept
/// with the session for the provider's back-channel logout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamSession {
    pub provider: String,
    pub subject: String,
    pub sid: Option<String>,
}

impl UpstreamSession {
    fn of(provider: &Provider, identity: &UpstreamIdentity) -> UpstreamSession {
        UpstreamSession { provider: provider.id.clone(), subject: identity.subject.clone(), sid: identity.sid.clone() }
    }
}

/// What the provider sent to the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer of the response, when the provider sends it.
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// Where a federated sign-in arrived.
#[derive(Debug)]
pub enum Arrival {
    /// The user is known (linked before, linked now by the verified-email
    /// rule, or just created): sign them in with `amr`.
    SignIn { user: Box<User>, amr: Vec<Amr>, authz: Option<String>, next: Option<String>, upstream: UpstreamSession },
    /// An account has this email: the user signs in to it to link. `link`
    /// goes into a cookie for that sign-in.
    ConfirmLink { link: String, provider: String, authz: Option<String>, next: Option<String> },
    /// "Link another": the upstream account is now linked to `user` (the
    /// signed-in user who started it), no sign-in.
    Linked { user: UserId, provider: String },
}

impl App {
    /// Starts a sign-in through `provider_id` for the browser `browser`;
    /// returns the provider's authorization URL.
    /// `link_to`: "Link another" for this signed-in user, not a sign-in.
    pub async fn federation_start(
        &self,
        provider_id: &str,
        browser: String,
        authz: Option<String>,
        next: Option<String>,
        login_hint: Option<&str>,
        link_to: Option<&UserId>,
    ) -> Result<String, AppError> {
        let provider = self.provider(provider_id).await.map_err(|_| FederationError::UnknownProvider)?;
        if !provider.enabled() {
            return Err(FederationError::ProviderDisabled(provider.name).into());
        }
        let secret = self.provider_secret(&provider.id).await?;
        let started = self.upstreams.start(&provider, &secret, &self.provider_redirect_uri(&provider.id), login_hint).await?;
        let link_to = link_to.map(|u| u.0.clone());
        let flow = Flow { provider: provider.id, nonce: started.nonce, pkce_verifier: started.pkce_verifier, browser, authz, next, link_to };
        let json = serde_json::to_string(&flow).map_err(|e| AppError::Invalid(e.to_string()))?;
        self.stores.fast.single_use().put(&flow_key(&started.state), &json, FLOW_TTL).await?;
        Ok(started.url)
    }

    /// The provider's answer at `provider_id`'s callback, from a browser
    /// `owns` says whether it started the flow. Failures after the flow was
    /// found are audited.
    pub async fn federation_callback(&self, provider_id: &str, answer: Callback, owns: impl FnOnce(&str) -> bool, t: Tr) -> Result<Arrival, AppError> {
        let state = answer.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 512).ok_or(AppError::Expired)?;
        // Taken, not read: of two uses of one `state`, one finds it.
        let json = self.stores.fast.single_use().take(&flow_key(state)).await?.ok_or(AppError::Expired)?;
        let flow: Flow = serde_json::from_str(&json).map_err(|_| AppError::Expired)?;
        if !owns(&flow.browser) {
            return Err(AppError::Expired);
        }
        let provider = self.provider(&flow.provider).await.map_err(|_| FederationError::UnknownProvider)?;
        match self.arrive(&provider, provider_id, &flow, &answer, t).await {
            Ok(arrival) => Ok(arrival),
            Err(e) => {
                if let AppError::Federation(f) = &e {
                    let event = SecurityEvent::FederatedSignInFailed { user: None, provider: provider.id.clone(), reason: failure_reason(f) };
                    self.oauth.record(&Actor::Anonymous, event).await;
                }
                Err(e)
            }
        }
    }

    async fn arrive(&self, provider: &Provider, at: &str, flow: &Flow, answer: &Callback, t: Tr) -> Result<Arrival, AppError> {
        let invalid = |reason: &str| FederationError::InvalidResponse { provider: provider.name.clone(), reason: reason.into() };
        if provider.id != at {
            return Err(invalid("mix-up: the flow was started for another provider").into());
        }
        if !provider.enabled() {
            return Err(FederationError::ProviderDisabled(provider.name.clone()).into());
        }
        if let Some(error) = &answer.error {
            let error: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
            return Err(FederationError::UpstreamRefused { provider: provider.name.clone(), error }.into());
        }
        if answer.iss.as_deref().is_some_and(|iss| !self.upstreams.issuer_names(provider, iss)) {
            return Err(invalid("mix-up: the response names another issuer (RFC 9207)").into());
        }
        let code = answer.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 2048).ok_or_else(|| invalid("no code"))?;
        let secret = self.provider_secret(&provider.id).await?;
        let identity = self.upstreams.finish(provider, &secret, &self.provider_redirect_uri(&provider.id), code, &flow.pkce_verifier, &flow.nonce).await?;
        self.resolve(provider, identity, flow, t).await
    }

    /// Who the upstream account is here (the linking rules).
    async fn resolve(&self, provider: &Provider, identity: UpstreamIdentity, flow: &Flow, t: Tr) -> Result<Arrival, AppError> {
        let amr = methods(provider, &identity);
        let (pid, sub) = (provider.id.clone(), identity.subject.clone());
        let linked = self.stores.db.run(move |c| repo::identity(c, &pid, &sub)).await?;
        if let Some(owner) = &flow.link_to {
            let owner = self.authn.user(&UserId(owner.clone())).await?.ok_or(AppError::Expired)?;
            match linked {
                Some(link) if link.user_id == owner.id.0 => {}
                Some(_) => return Err(FederationError::LinkedElsewhere(provider.name.clone()).into()),
                None => {
                    let account = format!("{}/account", self.issuer.trim_end_matches('/'));
                    self.link(provider, &identity, &owner, "account-page", &account, t).await?;
                }
            }
            return Ok(Arrival::Linked { user: owner.id, provider: provider.name.clone() });
        }
        if let Some(link) = linked {
            let user = self.authn.user(&UserId(link.user_id.clone())).await?.ok_or(AppError::NotFound("user"))?;
            let (pid, sub, now) = (provider.id.clone(), identity.subject.clone(), self.clock.now());
            self.stores.db.run(move |c| repo::touch(c, &pid, &sub, now)).await?;
            return Ok(Arrival::SignIn { user: Box::new(user), amr, authz: flow.authz.clone(), next: flow.next.clone(), upstream: UpstreamSession::of(provider, &identity) });
        }
        let holders = match &identity.email {
            Some(email) => self.authn.find_by_email(email).await?,
            None => Vec::new(),
        };
        if let Some(holder) = holders.into_iter().next() {
            let trusted = provider.link == LinkRule::VerifiedEmail && identity.email_verified && identity.email.as_deref().is_some_and(|e| provider.serves_email(e));
            if trusted {
                // No session yet to end from the mail: it points at the
                // account page, where the link can be removed.
                let account = format!("{}/account", self.issuer.trim_end_matches('/'));
                self.link(provider, &identity, &holder, "verified-email", &account, t).await?;
                return Ok(Arrival::SignIn { user: Box::new(holder), amr, authz: flow.authz.clone(), next: flow.next.clone(), upstream: UpstreamSession::of(provider, &identity) });
            }
            let id = random_token("");
            let pending = PendingLink { provider: provider.id.clone(), subject: identity.subject.clone(), display: identity.display(), user_id: holder.id.0.clone(), browser: flow.browser.clone() };
            let json = serde_json::to_string(&pending).map_err(|e| AppError::Invalid(e.to_string()))?;
            self.stores.fast.single_use().put(&link_key(&id), &json, LINK_TTL).await?;
            return Ok(Arrival::ConfirmLink { link: id, provider: provider.name.clone(), authz: flow.authz.clone(), next: flow.next.clone() });
        }
        if !provider.signup {
            return Err(FederationError::NoAccount(provider.name.clone()).into());
        }
        let email = identity.email.clone().ok_or_else(|| FederationError::NoEmail(provider.name.clone()))?;
        let user = self.sign_up_federated(provider, &identity, &email).await?;
        Ok(Arrival::SignIn { user: Box::new(user), amr, authz: flow.authz.clone(), next: flow.next.clone(), upstream: UpstreamSession::of(provider, &identity) })
    }

    /// Creates the account of a first sign-in (no password, no passkey yet:
    /// the upstream is its way in), its email verified only if the
    /// provider verified it, and links it.
    async fn sign_up_federated(&self, provider: &Provider, identity: &UpstreamIdentity, email: &str) -> Result<User, AppError> {
        let base = username_base(identity, email);
        let mut user = None;
        for attempt in 0..20 {
            let name = if attempt == 0 { base.clone() } else { format!("{base}{}", attempt + 1) };
            match self.authn.create_without_credentials(&name, email, false).await {
                Ok(u) => {
                    user = Some(u);
                    break;
                }
                Err(latchkey_authn::AuthnError::UserExists) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let mut user = user.ok_or_else(|| AppError::Conflict("no free username for the new account".into()))?;
        if identity.email_verified {
            self.authn.set_email(&user.id, email, true).await?;
            user.email_verified = true;
        }
        if let Err(e) = self.link_row(provider, identity, &user).await {
            // Nothing half-created: the account goes with the failed link.
            let _ = self.authn.delete_user(&user.id).await;
            return Err(e);
        }
        self.oauth.record(&Actor::Anonymous, SecurityEvent::FederatedSignUp { user: user.id.clone(), provider: provider.id.clone() }).await;
        self.oauth.record(&Actor::Anonymous, linked_event(provider, &user, "sign-up")).await;
        Ok(user)
    }

    async fn link_row(&self, provider: &Provider, identity: &UpstreamIdentity, user: &User) -> Result<(), AppError> {
        let row = IdentityRow {
            provider_id: provider.id.clone(),
            subject: identity.subject.clone(),
            user_id: user.id.0.clone(),
            display: identity.display().chars().take(256).collect(),
            linked_at: self.clock.now(),
            last_used_at: Some(self.clock.now()),
        };
        self.stores.db.run(move |c| repo::link(c, &row)).await.map_err(|e| match e {
            latchkey_store::StoreError::Conflict(_) => FederationError::LinkedElsewhere(provider.name.clone()).into(),
            other => AppError::from(other),
        })
    }

    /// Links and tells the account's owner (audited, mailed). `not_me_url`:
    /// what the mail offers to undo it with.
    async fn link(&self, provider: &Provider, identity: &UpstreamIdentity, user: &User, via: &str, not_me_url: &str, t: Tr) -> Result<(), AppError> {
        self.link_row(provider, identity, user).await?;
        self.oauth.record(&Actor::User(user.id.clone()), linked_event(provider, user, via)).await;
        let notice = Notice::ProviderLinked { username: &user.username, provider: &provider.name, not_me_url };
        self.notify(&user.email, crate::sessions::mail_language(user, t), notice).await;
        Ok(())
    }

    /// After a sign-in to `user` in the browser `owns` names: links the
    /// upstream account waiting under `link`, if it was waiting for this
    /// account. Returns the provider's name when it linked. A link waiting
    /// for another account (someone signed in to a different one) is
    /// dropped, never applied.
    /// `session`: the one the sign-in started, which the mail's "This wasn't
    /// me" ends.
    pub async fn finish_pending_link(&self, link: &str, user: &User, session: &Session, owns: impl FnOnce(&str) -> bool, t: Tr) -> Result<Option<String>, AppError> {
        let Some(json) = self.stores.fast.single_use().take(&link_key(link)).await? else { return Ok(None) };
        let Ok(pending) = serde_json::from_str::<PendingLink>(&json) else { return Ok(None) };
        if pending.user_id != user.id.0 || !owns(&pending.browser) {
            return Ok(None);
        }
        let provider = self.provider(&pending.provider).await?;
        if !provider.enabled() {
            return Ok(None);
        }
        let identity = UpstreamIdentity { subject: pending.subject, email: None, email_verified: false, name: Some(pending.display), preferred_username: None, amr: vec![], sid: None };
        let not_me = self.not_me_link(&session.sid);
        self.link(&provider, &identity, user, "sign-in", &not_me, t).await?;
        Ok(Some(provider.name))
    }

    /// The name of the provider whose account waits under `link` for a
    /// sign-in (the sign-in page says so), if it still waits.
    pub async fn pending_link_provider(&self, link: &str) -> Result<Option<String>, AppError> {
        let Some(json) = self.stores.fast.single_use().get(&link_key(link)).await? else { return Ok(None) };
        let Ok(pending) = serde_json::from_str::<PendingLink>(&json) else { return Ok(None) };
        Ok(self.provider(&pending.provider).await.ok().map(|p| p.name))
    }
}

fn linked_event(provider: &Provider, user: &User, via: &str) -> SecurityEvent {
    SecurityEvent::IdentityLinked { user: user.id.clone(), provider: provider.id.clone(), via: via.into() }
}

/// `fed`, plus what the upstream asserted only when the provider is
/// trusted for it: its `mfa`, and one-time codes or keys it names.
pub fn methods(provider: &Provider, identity: &UpstreamIdentity) -> Vec<Amr> {
    let mut amr = vec![Amr::Fed];
    if provider.trust_upstream_mfa {
        for a in identity.amr.iter().filter_map(|a| Amr::parse(a)) {
            if matches!(a, Amr::Mfa | Amr::Otp | Amr::Hwk | Amr::Swk | Amr::User) && !amr.contains(&a) {
                amr.push(a);
            }
        }
    }
    amr
}

/// A username for a new account: the upstream's preferred username, else
/// the email's local part, reduced to the characters usernames allow.
fn username_base(identity: &UpstreamIdentity, email: &str) -> String {
    let wanted = identity.preferred_username.as_deref().filter(|u| !u.contains('@')).unwrap_or_else(|| email.split('@').next().unwrap_or(""));
    let base: String = wanted.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).take(48).collect();
    if base.is_empty() {
        "user".into()
    } else {
        base
    }
}

fn failure_reason(e: &FederationError) -> String {
    match e {
        FederationError::InvalidResponse { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::ProviderKind;

    fn provider(trust: bool) -> Provider {
        Provider {
            id: "corp".into(),
            name: "Corp".into(),
            kind: ProviderKind::Oidc,
            issuer: "https://id.corp.example".into(),
            client_id: "c".into(),
            scopes: vec![],
            domains: vec![],
            link: LinkRule::ExistingSignIn,
            signup: false,
            trust_upstream_mfa: trust,
            upstream_logout: false,
            disabled_at: None,
            created_at: 0,
        }
    }

    fn identity(amr: &[&str]) -> UpstreamIdentity {
        UpstreamIdentity {
            subject: "s".into(),
            email: None,
            email_verified: false,
            name: None,
            preferred_username: Some("alice@corp".into()),
            amr: amr.iter().map(|a| a.to_string()).collect(),
            sid: None,
        }
    }

    #[test]
    fn upstream_methods_count_only_when_trusted() {
        assert_eq!(methods(&provider(false), &identity(&["pwd", "mfa", "otp"])), vec![Amr::Fed]);
        assert_eq!(methods(&provider(true), &identity(&["pwd", "mfa", "otp"])), vec![Amr::Fed, Amr::Mfa, Amr::Otp]);
        assert_eq!(methods(&provider(true), &identity(&["pwd"])), vec![Amr::Fed], "a password upstream is not a second factor here");
        assert_eq!(latchkey_domain::Acr::from_methods(&methods(&provider(false), &identity(&["mfa"]))), latchkey_domain::Acr::Password);
    }

    #[test]
    fn usernames_for_new_accounts_are_usable() {
        assert_eq!(username_base(&identity(&[]), "alice.smith@corp.example"), "alice.smith", "an @ in the upstream's name is not taken");
        let plain = UpstreamIdentity { preferred_username: Some("Bob <script>".into()), ..identity(&[]) };
        assert_eq!(username_base(&plain, "x@y.z"), "Bobscript");
        let none = UpstreamIdentity { preferred_username: None, ..identity(&[]) };
        assert_eq!(username_base(&none, "\u{0}@y.z"), "user");
    }
}
