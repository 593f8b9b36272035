//! OAuth scopes (RFC 6749 §3.3) and the ones latchkey knows.

use std::collections::BTreeSet;
use std::fmt;

/// Scopes latchkey understands. Unknown scopes in a request are dropped
/// (RFC 6749 §3.3 lets the server issue a narrower scope than asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// OIDC Core §3.1.2.1: makes the request an OpenID Connect request.
    OpenId,
    /// OIDC Core §5.4: name and preferred_username.
    Profile,
    /// OIDC Core §5.4: email and email_verified.
    Email,
    /// OIDC Core §11: a refresh token that outlives the browser session.
    OfflineAccess,
    /// latchkey's admin API (client_credentials only, for `--admin` clients).
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [Scope::OpenId, Scope::Profile, Scope::Email, Scope::OfflineAccess, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OpenId => "openid",
            Scope::Profile => "profile",
            Scope::Email => "email",
            Scope::OfflineAccess => "offline_access",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Scopes a relying party may ask for in the authorization code flow.
    /// Scopes that only make sense for a user (not for a client acting for itself).
    pub fn is_user_scope(self) -> bool {
        matches!(self, Scope::OpenId | Scope::Profile | Scope::Email | Scope::OfflineAccess)
    }

    pub fn user_facing(self) -> bool {
        !matches!(self, Scope::Admin)
    }
}

/// An ordered set of scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses a space-delimited scope string, ignoring unknown values.
    pub fn parse_lenient(s: &str) -> ScopeSet {
        ScopeSet(s.split_whitespace().filter_map(Scope::parse).collect())
    }

    /// Parses a space-separated list, refusing unknown scopes (returns the first one).
    pub fn parse_strict(s: &str) -> Result<ScopeSet, String> {
        s.split_whitespace().map(|w| Scope::parse(w).ok_or_else(|| w.to_string())).collect::<Result<BTreeSet<_>, _>>().map(ScopeSet)
    }

    pub fn from_iter(it: impl IntoIterator<Item = Scope>) -> ScopeSet {
        ScopeSet(it.into_iter().collect())
    }

    pub fn contains(&self, s: Scope) -> bool {
        self.0.contains(&s)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersect(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).copied().collect())
    }

    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.union(&other.0).copied().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_drops_unknown_and_orders() {
        let s = ScopeSet::parse_lenient("email  openid bogus profile");
        assert_eq!(s.to_string(), "openid profile email");
        assert!(s.contains(Scope::OpenId));
        assert!(!s.contains(Scope::OfflineAccess));
    }

    #[test]
    fn subset_and_intersection() {
        let a = ScopeSet::parse_lenient("openid email");
        let b = ScopeSet::parse_lenient("openid email profile");
        assert!(a.is_subset(&b));
        assert!(!b.is_subset(&a));
        assert_eq!(b.intersect(&a), a);
    }
}
