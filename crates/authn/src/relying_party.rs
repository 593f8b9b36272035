//! Who the passkeys belong to (issue #29): the WebAuthn relying-party id
//! and the other origins allowed to use it.
//!
//! By default the relying-party id is the issuer's host and only the
//! issuer's origin may run a ceremony, as before. An operator whose product
//! lives on several domains sets a relying-party id (the issuer's host or a
//! parent domain of it: `example.com` for `https://login.example.com`) and
//! a list of **related origins** (WebAuthn Level 3 §5.11, "related origin
//! requests"): browsers that support them fetch
//! `https://<rp id>/.well-known/webauthn` and let those origins use the
//! passkeys of the relying-party id; latchkey serves that document and
//! accepts ceremonies whose client data names one of them.

use webauthn_rs::prelude::Url;

/// Browsers honour related origins of at most this many distinct
/// registrable domains (labels) and ignore the rest (Chrome's and Safari's
/// limit, from the WebAuthn Level 3 algorithm); more would look configured
/// and silently fail.
pub const MAX_RELATED_LABELS: usize = 5;

/// The longest relying-party id accepted (a DNS name's limit).
const MAX_RP_ID_CHARS: usize = 253;

/// The relying party as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelyingParty {
    /// `LATCHKEY_WEBAUTHN_RP_ID`: `None` is the issuer's host.
    pub id: Option<String>,
    /// `LATCHKEY_WEBAUTHN_RELATED_ORIGINS`: origins (`https://shop.example.co.uk`).
    pub related_origins: Vec<Url>,
}

/// A relying party that cannot be used, in words naming the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelyingPartyError {
    #[error("LATCHKEY_ISSUER={0}: it has no host to be the passkeys' relying-party id")]
    NoHost(String),
    #[error("LATCHKEY_WEBAUTHN_RP_ID={rp_id}: the issuer's host {host} must be it or a subdomain of it (passkeys made for {rp_id} are only usable on it and its subdomains)")]
    NotAParent { rp_id: String, host: String },
    #[error("LATCHKEY_WEBAUTHN_RP_ID={0}: not a domain name (lower-case letters, digits, hyphens and dots)")]
    NotADomain(String),
    #[error("LATCHKEY_WEBAUTHN_RELATED_ORIGINS: {origin:?} is not an origin ({why}); give https://host[:port], comma-separated")]
    BadOrigin { origin: String, why: &'static str },
    #[error("LATCHKEY_WEBAUTHN_RELATED_ORIGINS: {0} different domains; browsers use related origins of at most {MAX_RELATED_LABELS}")]
    TooManyDomains(usize),
}

/// Reads `LATCHKEY_WEBAUTHN_RELATED_ORIGINS`: comma-separated origins, each
/// https (http only for localhost), with no path, query or credentials.
pub fn parse_origins(list: &str) -> Result<Vec<Url>, RelyingPartyError> {
    let mut origins: Vec<Url> = Vec::new();
    for text in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = |why| RelyingPartyError::BadOrigin { origin: text.to_string(), why };
        let url = Url::parse(text).map_err(|_| bad("not a URL"))?;
        let host = url.host_str().ok_or_else(|| bad("no host"))?;
        let local = host == "localhost" || host.ends_with(".localhost");
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            _ => return Err(bad("https only, http only on localhost")),
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() || !matches!(url.path(), "" | "/") {
            return Err(bad("an origin has no path, query or user"));
        }
        if !origins.contains(&url) {
            origins.push(url);
        }
    }
    let mut labels: Vec<&str> = origins.iter().filter_map(|o| o.host_str()).map(registrable_label).collect();
    labels.sort_unstable();
    labels.dedup();
    if labels.len() > MAX_RELATED_LABELS {
        return Err(RelyingPartyError::TooManyDomains(labels.len()));
    }
    Ok(origins)
}

/// The label browsers count related origins by: the name just left of the
/// top-level part (`example` of `shop.example.co.uk` and of `example.com`).
/// An approximation of the public suffix list good enough for the limit:
/// a two-letter country code with a short second level (`co.uk`, `com.au`)
/// counts as the suffix.
fn registrable_label(host: &str) -> &str {
    let parts: Vec<&str> = host.split('.').collect();
    let n = parts.len();
    let country_second_level = n >= 3 && parts[n - 1].len() == 2 && parts[n - 2].len() <= 3;
    match (n, country_second_level) {
        (0 | 1, _) => host,
        (_, true) => parts[n - 3],
        _ => parts[n - 2],
    }
}

impl RelyingParty {
    /// The relying-party id for `issuer`, checked: the issuer's host or a
    /// parent domain of it.
    pub fn id_for(&self, issuer: &Url) -> Result<String, RelyingPartyError> {
        let host = issuer.host_str().ok_or_else(|| RelyingPartyError::NoHost(issuer.to_string()))?.to_ascii_lowercase();
        let Some(id) = self.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) else { return Ok(host) };
        let domain_like = id.len() <= MAX_RP_ID_CHARS
            && id.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        if !domain_like {
            return Err(RelyingPartyError::NotADomain(id.to_string()));
        }
        if host == id || host.ends_with(&format!(".{id}")) {
            Ok(id.to_string())
        } else {
            Err(RelyingPartyError::NotAParent { rp_id: id.to_string(), host })
        }
    }

    /// The `/.well-known/webauthn` document: the related origins, `None`
    /// when there are none (the address then answers 404).
    pub fn well_known(&self) -> Option<serde_json::Value> {
        if self.related_origins.is_empty() {
            return None;
        }
        let origins: Vec<String> = self.related_origins.iter().map(|o| o.origin().ascii_serialization()).collect();
        Some(serde_json::json!({ "origins": origins }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn the_id_is_the_issuers_host_or_a_parent_of_it() {
        let login = issuer("https://login.example.com/");
        assert_eq!(RelyingParty::default().id_for(&login), Ok("login.example.com".into()));
        let with = |id: &str| RelyingParty { id: Some(id.into()), related_origins: vec![] }.id_for(&login);
        assert_eq!(with("example.com"), Ok("example.com".into()));
        assert_eq!(with("login.example.com"), Ok("login.example.com".into()));
        assert!(matches!(with("ample.com"), Err(RelyingPartyError::NotAParent { .. })), "a suffix is not a parent domain");
        assert!(matches!(with("other.example"), Err(RelyingPartyError::NotAParent { .. })));
        assert!(matches!(with("sub.login.example.com"), Err(RelyingPartyError::NotAParent { .. })), "a subdomain of the issuer is not a parent");
        for bad in ["Example.com", "example..com", "https://example.com", "exa mple.com", "-example.com", "exa\tmple.com"] {
            assert!(matches!(with(bad), Err(RelyingPartyError::NotADomain(_))), "{bad:?}");
        }
    }

    #[test]
    fn related_origins_are_origins_and_few_domains() {
        let ok = parse_origins(" https://shop.example.co.uk , https://example.de:8443,https://shop.example.co.uk,http://localhost:3000").expect("origins");
        assert_eq!(ok.iter().map(|o| o.origin().ascii_serialization()).collect::<Vec<_>>(), ["https://shop.example.co.uk", "https://example.de:8443", "http://localhost:3000"]);
        assert_eq!(parse_origins("").expect("none"), Vec::<Url>::new());
        for (bad, why) in [
            ("http://example.de", "https only"),
            ("https://example.de/login", "no path"),
            ("https://user@example.de", "no path"),
            ("https://example.de/?q=1", "no path"),
            ("javascript:alert(1)", "no host"),
            ("example.de", "not a URL"),
        ] {
            match parse_origins(bad) {
                Err(RelyingPartyError::BadOrigin { why: w, .. }) => assert!(w.contains(why), "{bad}: {w}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let six = "https://a.com,https://b.com,https://c.com,https://d.com,https://e.com,https://f.com";
        assert_eq!(parse_origins(six), Err(RelyingPartyError::TooManyDomains(6)));
        // Many origins of one product's five domains are fine.
        assert!(parse_origins("https://a.com,https://www.a.com,https://a.co.uk,https://b.com,https://c.com,https://d.com,https://e.de").is_ok());
    }

    #[test]
    fn the_well_known_document_lists_the_related_origins() {
        assert_eq!(RelyingParty::default().well_known(), None);
        let rp = RelyingParty { id: None, related_origins: parse_origins("https://example.de,https://shop.example.co.uk:8443").expect("origins") };
        assert_eq!(rp.well_known(), Some(serde_json::json!({ "origins": ["https://example.de", "https://shop.example.co.uk:8443"] })));
    }
}
