//! OAuth scopes (RFC 6749 §3.3): the OpenID Connect ones latchkey knows, and
//! the scopes of registered APIs (names chosen by admins).

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
    /// The user's groups (`groups` claim in ID and access tokens, userinfo).
    Groups,
    /// latchkey's SCIM server (issue #30): client_credentials only, for
    /// clients an administrator allowed it (`client add --scope scim`).
    Scim,
}

impl Scope {
    pub const ALL: [Scope; 7] = [Scope::OpenId, Scope::Profile, Scope::Email, Scope::OfflineAccess, Scope::Admin, Scope::Groups, Scope::Scim];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OpenId => "openid",
            Scope::Profile => "profile",
            Scope::Email => "email",
            Scope::OfflineAccess => "offline_access",
            Scope::Admin => "admin",
            Scope::Groups => "groups",
            Scope::Scim => "scim",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Scopes a relying party may ask for in the authorization code flow.
    /// Scopes that only make sense for a user (not for a client acting for itself).
    pub fn is_user_scope(self) -> bool {
        matches!(self, Scope::OpenId | Scope::Profile | Scope::Email | Scope::OfflineAccess | Scope::Groups)
    }

    pub fn user_facing(self) -> bool {
        !matches!(self, Scope::Admin | Scope::Scim)
    }
}

/// RFC 6749 §3.3 `scope-token`: `1*( %x21 / %x23-5B / %x5D-7E )`, and at
/// most 128 characters here.
pub fn valid_scope_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// An ordered set of scopes: known OpenID Connect scopes, and other scope
/// tokens (the scopes of registered APIs, or names nobody registered; which
/// is which is for the caller to check against the API registry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet {
    known: BTreeSet<Scope>,
    api: BTreeSet<String>,
}

impl ScopeSet {
    /// Parses a space-delimited scope string, ignoring malformed tokens.
    pub fn parse_lenient(s: &str) -> ScopeSet {
        let mut set = ScopeSet::default();
        for w in s.split_whitespace().take(64) {
            match Scope::parse(w) {
                Some(k) => {
                    set.known.insert(k);
                }
                None if valid_scope_token(w) => {
                    set.api.insert(w.to_string());
                }
                None => {}
            }
        }
        set
    }

    /// Parses a space-separated list of known OIDC scopes only, refusing
    /// anything else (returns the first offender).
    pub fn parse_strict(s: &str) -> Result<ScopeSet, String> {
        s.split_whitespace().map(|w| Scope::parse(w).ok_or_else(|| w.to_string())).collect::<Result<BTreeSet<_>, _>>().map(|known| ScopeSet { known, api: BTreeSet::new() })
    }

    /// Parses a space-separated list of well-formed scope tokens, refusing a
    /// malformed one (returns it).
    pub fn parse_tokens(s: &str) -> Result<ScopeSet, String> {
        let set = ScopeSet::parse_lenient(s);
        match s.split_whitespace().find(|w| !valid_scope_token(w)) {
            Some(bad) => Err(bad.chars().take(64).collect()),
            None => Ok(set),
        }
    }

    #[allow(clippy::should_implement_trait)] // a plain constructor; ScopeSet also carries API scopes a FromIterator<Scope> would not
    pub fn from_iter(it: impl IntoIterator<Item = Scope>) -> ScopeSet {
        ScopeSet { known: it.into_iter().collect(), api: BTreeSet::new() }
    }

    /// A set of API scope names (well-formed tokens only).
    pub fn from_api_names<'a>(names: impl IntoIterator<Item = &'a str>) -> ScopeSet {
        ScopeSet { known: BTreeSet::new(), api: names.into_iter().filter(|n| valid_scope_token(n) && Scope::parse(n).is_none()).map(str::to_string).collect() }
    }

    pub fn contains(&self, s: Scope) -> bool {
        self.known.contains(&s)
    }

    pub fn contains_api(&self, name: &str) -> bool {
        self.api.contains(name)
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty() && self.api.is_empty()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.known.is_subset(&other.known) && self.api.is_subset(&other.api)
    }

    pub fn intersect(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet { known: self.known.intersection(&other.known).copied().collect(), api: self.api.intersection(&other.api).cloned().collect() }
    }

    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet { known: self.known.union(&other.known).copied().collect(), api: self.api.union(&other.api).cloned().collect() }
    }

    /// The known OIDC scopes.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.known.iter().copied()
    }

    /// The other scope names (API scopes).
    pub fn api_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.api.iter().map(String::as_str)
    }

    /// Only the known OIDC scopes.
    pub fn oidc_only(&self) -> ScopeSet {
        ScopeSet { known: self.known.clone(), api: BTreeSet::new() }
    }

    /// Only the API scopes.
    pub fn api_only(&self) -> ScopeSet {
        ScopeSet { known: BTreeSet::new(), api: self.api.clone() }
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.known.iter().map(|s| s.as_str()).chain(self.api.iter().map(String::as_str)).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_api_scopes_apart_and_orders() {
        let s = ScopeSet::parse_lenient("email  openid orders:read profile bad\"quote");
        assert_eq!(s.to_string(), "openid profile email orders:read");
        assert!(s.contains(Scope::OpenId) && s.contains_api("orders:read"));
        assert!(!s.contains(Scope::OfflineAccess));
        assert_eq!(s.oidc_only().to_string(), "openid profile email");
        assert_eq!(s.api_only().to_string(), "orders:read");
        assert!(ScopeSet::parse_tokens("a b\\c").is_err());
        assert!(ScopeSet::parse_strict("openid orders:read").is_err());
    }

    #[test]
    fn subset_and_intersection() {
        let a = ScopeSet::parse_lenient("openid email");
        let b = ScopeSet::parse_lenient("openid email profile");
        assert!(a.is_subset(&b));
        assert!(!b.is_subset(&a));
        assert_eq!(b.intersect(&a), a);
    }

    proptest::proptest! {
        /// Any input: the parsers never panic; a lenient parse keeps only
        /// well-formed tokens and reads back the same from its own rendering.
        #[test]
        fn scope_parsers_never_panic_and_round_trip(s in "\\PC{0,200}|[a-z_: ]{0,80}") {
            let set = ScopeSet::parse_lenient(&s);
            proptest::prop_assert_eq!(ScopeSet::parse_lenient(&set.to_string()), set.clone());
            proptest::prop_assert!(set.to_string().split_whitespace().all(valid_scope_token));
            if let Ok(strict) = ScopeSet::parse_strict(&s) {
                proptest::prop_assert!(strict.to_string().split_whitespace().all(|w| Scope::parse(w).is_some()));
            }
            match ScopeSet::parse_tokens(&s) {
                Ok(t) => proptest::prop_assert_eq!(t, set),
                Err(bad) => proptest::prop_assert!(bad.chars().count() <= 64),
            }
        }
    }
}
