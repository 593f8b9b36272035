//! Upstream identity providers (issue #26): what latchkey, as a relying
//! party, knows of each, and the rules for a first sign-in through one.

use serde::{Deserialize, Serialize};

/// How latchkey talks to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenID Connect: discovery from the issuer, a signed ID token.
    Oidc,
    /// GitHub: OAuth 2.0 without OpenID Connect; who the user is comes from
    /// its API (`/user`, `/user/emails`).
    Github,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Oidc => "oidc",
            ProviderKind::Github => "github",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderKind> {
        [ProviderKind::Oidc, ProviderKind::Github].into_iter().find(|k| k.as_str() == s)
    }
}

/// What a first sign-in does when an account already has the upstream
/// account's email. Never a silent link on the email alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkRule {
    /// The user signs in to the existing account with its own credentials,
    /// then the upstream account is linked (the default).
    #[serde(rename = "existing-sign-in")]
    ExistingSignIn,
    /// Linked at once when the provider says `email_verified` and the
    /// email's domain is one of the provider's domains (the operator trusts
    /// it for them); otherwise as [`LinkRule::ExistingSignIn`].
    #[serde(rename = "verified-email")]
    VerifiedEmail,
}

impl LinkRule {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkRule::ExistingSignIn => "existing-sign-in",
            LinkRule::VerifiedEmail => "verified-email",
        }
    }

    pub fn parse(s: &str) -> Option<LinkRule> {
        [LinkRule::ExistingSignIn, LinkRule::VerifiedEmail].into_iter().find(|k| k.as_str() == s)
    }
}

/// An upstream provider, as configured (its client secret stays sealed in
/// the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// A slug of the name; part of the callback URL.
    pub id: String,
    /// Shown on the button: "Continue with {name}".
    pub name: String,
    pub kind: ProviderKind,
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Lower-case email domains that go to this provider (home-realm discovery).
    pub domains: Vec<String>,
    pub link: LinkRule,
    /// Whether a first sign-in without an account creates one.
    pub signup: bool,
    /// Whether the upstream's own multi-factor claims count here.
    pub trust_upstream_mfa: bool,
    /// Whether signing out of latchkey also signs out of the provider.
    pub upstream_logout: bool,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

impl Provider {
    pub fn enabled(&self) -> bool {
        self.disabled_at.is_none()
    }

    /// Whether `email`'s domain is one of this provider's.
    pub fn serves_email(&self, email: &str) -> bool {
        match email.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => {
                let domain = domain.to_ascii_lowercase();
                self.domains.contains(&domain)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_goes_to_the_provider_of_its_domain_only() {
        let p = Provider {
            id: "corp".into(),
            name: "Corp".into(),
            kind: ProviderKind::Oidc,
            issuer: "https://id.corp.example".into(),
            client_id: "c".into(),
            scopes: vec![],
            domains: vec!["corp.example".into()],
            link: LinkRule::ExistingSignIn,
            signup: false,
            trust_upstream_mfa: false,
            upstream_logout: false,
            disabled_at: None,
            created_at: 0,
        };
        assert!(p.serves_email("alice@corp.example"));
        assert!(p.serves_email("Alice@CORP.example"));
        assert!(!p.serves_email("alice@evilcorp.example"));
        assert!(!p.serves_email("alice@corp.example.evil"));
        assert!(!p.serves_email("@corp.example"));
        assert!(!p.serves_email("corp.example"));
        assert_eq!(LinkRule::parse("verified-email"), Some(LinkRule::VerifiedEmail));
        assert_eq!(ProviderKind::parse("github"), Some(ProviderKind::Github));
    }
}
