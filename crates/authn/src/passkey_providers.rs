//! Who made a passkey: its provider ("iCloud Keychain", "Google Password
//! Manager", "1Password", "Windows Hello", …) and that provider's icon, from
//! the AAGUID its registration carried.
//!
//! The names come from the community-maintained list
//! passkeydeveloper/passkey-authenticator-aaguids (`aaguid.json`), shipped
//! in the binary (`data/passkey-aaguids.json`, see `data/README.md`). An
//! operator replaces it with a file in the same format (`latchkey passkeys
//! aaguids --file`): kept in the database, so every node shows the new names
//! at the next page, without a restart. A passkey whose AAGUID no list knows
//! falls back to its kind ("Synced passkey", "Security key").
//!
//! Icons are the list's `data:` URIs, checked when the list is read (SVG or
//! PNG only, at most [`MAX_ICON_BYTES`]) and served by latchkey itself
//! (`/passkey-icons/<aaguid>/<light|dark>`): the pages make no third-party
//! requests and their CSP stays `img-src 'self'`.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine;
use latchkey_store::repo::passkey_providers::{self as repo, ProviderRow};
use latchkey_store::Db;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AuthnError;

/// The shipped list: upstream's `aaguid.json`, unchanged.
pub const SHIPPED_LIST: &str = include_str!("../data/passkey-aaguids.json");

/// The largest icon kept (decoded): upstream's are under 16 KB.
pub const MAX_ICON_BYTES: usize = 128 * 1024;

/// The longest provider name kept.
pub const MAX_NAME_CHARS: usize = 100;

/// The content types an icon may have: nothing else is ever served.
pub const SVG: &str = "image/svg+xml";
pub const PNG: &str = "image/png";

/// One provider of a list, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Lower-case, hyphenated.
    pub aaguid: String,
    pub name: String,
    /// `data:` URIs, each a valid SVG or PNG icon.
    pub icon_light: Option<String>,
    pub icon_dark: Option<String>,
}

/// A list as read from its JSON, with what was left out of it.
#[derive(Debug, Clone)]
pub struct ProviderList {
    pub providers: Vec<Provider>,
    /// Icons not kept, in words ("<aaguid> (<name>) icon_dark: not SVG or PNG").
    pub dropped_icons: Vec<String>,
}

/// An icon, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icon {
    /// [`SVG`] or [`PNG`].
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// What a page shows of a passkey's provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderName {
    pub name: String,
    /// The icons' addresses on this server (`/passkey-icons/…?v=…`); a
    /// missing variant is the other one.
    pub icon_light: Option<String>,
    pub icon_dark: Option<String>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    #[serde(default)]
    icon_light: Option<String>,
    #[serde(default)]
    icon_dark: Option<String>,
}

/// The canonical form of an AAGUID (lower-case, hyphenated), or `None` for
/// anything else, including the all-zero AAGUID (the authenticator said nothing).
pub fn canonical_aaguid(text: &str) -> Option<String> {
    let id = Uuid::parse_str(text.trim()).ok()?;
    (!id.is_nil()).then(|| id.hyphenated().to_string())
}

/// The AAGUID of a registration's attestation object (CBOR, WebAuthn §6.5):
/// bytes 37..53 of its `authData` when attested credential data is present.
/// `None` when there is none or it is all zeros.
pub fn aaguid_of_attestation(attestation_object: &[u8]) -> Option<String> {
    let value: serde_cbor_2::Value = serde_cbor_2::from_slice(attestation_object).ok()?;
    let serde_cbor_2::Value::Map(map) = value else { return None };
    let auth_data = map.iter().find_map(|(k, v)| match (k, v) {
        (serde_cbor_2::Value::Text(k), serde_cbor_2::Value::Bytes(b)) if k == "authData" => Some(b),
        _ => None,
    })?;
    // rpIdHash (32), flags (1), signCount (4), then the AT data: aaguid (16).
    let flags = *auth_data.get(32)?;
    if flags & 0x40 == 0 {
        return None;
    }
    let bytes: [u8; 16] = auth_data.get(37..53)?.try_into().ok()?;
    let id = Uuid::from_bytes(bytes);
    (!id.is_nil()).then(|| id.hyphenated().to_string())
}

/// Standard base64, padded or not.
const LENIENT: base64::engine::GeneralPurpose =
    base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent));

/// Decodes and checks a list's icon: a base64 `data:` URI of an SVG or PNG
/// image, at most [`MAX_ICON_BYTES`].
pub fn decode_icon(uri: &str) -> Result<Icon, &'static str> {
    let rest = uri.trim().strip_prefix("data:").ok_or("not a data: URI")?;
    let (meta, data) = rest.split_once(',').ok_or("not a data: URI")?;
    let mut params = meta.split(';');
    let content_type = match params.next().map(|m| m.trim().to_ascii_lowercase()).as_deref() {
        Some(SVG) => SVG,
        Some(PNG) => PNG,
        _ => return Err("not SVG or PNG"),
    };
    if !params.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Err("not base64");
    }
    let data: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = LENIENT.decode(data).map_err(|_| "not valid base64")?;
    if bytes.len() > MAX_ICON_BYTES {
        return Err("larger than 128 KB");
    }
    let fits = match content_type {
        PNG => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        _ => std::str::from_utf8(&bytes).is_ok_and(|s| s.contains("<svg")),
    };
    if !fits {
        return Err("its content is not what its type says");
    }
    Ok(Icon { content_type, bytes })
}

/// Reads a list in the community list's format:
/// `{"<aaguid>": {"name": …, "icon_light": "data:…", "icon_dark": "data:…"}}`.
/// A key that is not an AAGUID or a name that is empty, too long or holds
/// control characters refuses the whole list (it names the entry); an icon
/// that is not a valid SVG or PNG `data:` URI is left out (and said so).
pub fn parse_list(json: &str) -> Result<ProviderList, String> {
    let entries: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).map_err(|e| format!("the file is not a JSON object of AAGUIDs: {e}"))?;
    let mut providers = Vec::with_capacity(entries.len());
    let mut dropped_icons = Vec::new();
    for (key, value) in entries {
        let aaguid = canonical_aaguid(&key).ok_or_else(|| format!("{key:?} is not an AAGUID (a UUID, not all zeros)"))?;
        let entry: Entry = serde_json::from_value(value).map_err(|e| format!("{key}: {e} (each entry needs a \"name\"; \"icon_light\" and \"icon_dark\" are optional)"))?;
        let name = entry.name.trim().to_string();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(format!("{key}: the name must be 1-{MAX_NAME_CHARS} characters without control characters"));
        }
        let mut keep = |field: &str, icon: Option<String>| {
            let icon = icon.filter(|i| !i.trim().is_empty())?;
            match decode_icon(&icon) {
                Ok(_) => Some(icon),
                Err(why) => {
                    dropped_icons.push(format!("{aaguid} ({name}) {field}: {why}"));
                    None
                }
            }
        };
        let icon_light = keep("icon_light", entry.icon_light);
        let icon_dark = keep("icon_dark", entry.icon_dark);
        providers.push(Provider { aaguid, name, icon_light, icon_dark });
    }
    if providers.iter().map(|p| &p.aaguid).collect::<std::collections::HashSet<_>>().len() != providers.len() {
        return Err("the file names an AAGUID twice (in different letter case)".into());
    }
    providers.sort_by(|a, b| a.aaguid.cmp(&b.aaguid));
    Ok(ProviderList { providers, dropped_icons })
}

/// The shipped list, read once.
fn shipped() -> &'static HashMap<String, Provider> {
    static LIST: OnceLock<HashMap<String, Provider>> = OnceLock::new();
    LIST.get_or_init(|| match parse_list(SHIPPED_LIST) {
        Ok(list) => list.providers.into_iter().map(|p| (p.aaguid.clone(), p)).collect(),
        Err(e) => {
            // A test keeps this from happening; the kinds are the fallback.
            tracing::error!(error = %e, "the shipped passkey provider list could not be read");
            HashMap::new()
        }
    })
}

/// How many providers the shipped list names.
pub fn shipped_count() -> usize {
    shipped().len()
}

fn from_row(r: ProviderRow) -> Provider {
    Provider { aaguid: r.aaguid, name: r.name, icon_light: r.icon_light, icon_dark: r.icon_dark }
}

/// A short fingerprint of an icon, for its address (a changed icon is a new URL).
fn version(icon: &str) -> String {
    latchkey_token::crypto::sha256_b64url(icon.as_bytes()).chars().take(10).collect()
}

fn name_of(p: &Provider) -> ProviderName {
    let url = |variant: &str, icon: &Option<String>| icon.as_deref().map(|i| format!("/passkey-icons/{}/{variant}?v={}", p.aaguid, version(i)));
    let light = url("light", &p.icon_light);
    let dark = url("dark", &p.icon_dark);
    // One variant stands in for the other.
    ProviderName { name: p.name.clone(), icon_light: light.clone().or_else(|| dark.clone()), icon_dark: dark.or(light) }
}

/// Where a list is: the one shipped, or the operator's (`count` providers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSource {
    Shipped(usize),
    Operator(usize),
}

/// The provider lists: the operator's in the database, else the shipped one.
#[derive(Clone)]
pub struct PasskeyProviders {
    db: Db,
}

impl PasskeyProviders {
    pub fn new(db: Db) -> PasskeyProviders {
        PasskeyProviders { db }
    }

    /// The providers of these AAGUIDs that the list in force knows.
    async fn providers(&self, aaguids: Vec<String>) -> Result<Vec<Provider>, AuthnError> {
        if aaguids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = aaguids.clone();
        let operator = self.db.run(move |c| if repo::count(c)? > 0 { repo::find_many(c, &wanted).map(Some) } else { Ok(None) }).await?;
        Ok(match operator {
            Some(rows) => rows.into_iter().map(from_row).collect(),
            None => aaguids.iter().filter_map(|a| shipped().get(a).cloned()).collect(),
        })
    }

    /// Names (and icon addresses) of these AAGUIDs' providers, by AAGUID.
    pub async fn names(&self, aaguids: Vec<String>) -> Result<HashMap<String, ProviderName>, AuthnError> {
        Ok(self.providers(aaguids).await?.iter().map(|p| (p.aaguid.clone(), name_of(p))).collect())
    }

    /// The provider of one AAGUID.
    pub async fn name(&self, aaguid: Option<&str>) -> Result<Option<ProviderName>, AuthnError> {
        let Some(a) = aaguid else { return Ok(None) };
        Ok(self.names(vec![a.to_string()]).await?.remove(a))
    }

    /// An icon of a provider (`dark`: the dark-mode one; a missing variant
    /// is the other one), decoded.
    pub async fn icon(&self, aaguid: &str, dark: bool) -> Result<Option<Icon>, AuthnError> {
        let Some(aaguid) = canonical_aaguid(aaguid) else { return Ok(None) };
        let Some(p) = self.providers(vec![aaguid]).await?.into_iter().next() else { return Ok(None) };
        let (first, second) = if dark { (p.icon_dark, p.icon_light) } else { (p.icon_light, p.icon_dark) };
        Ok(first.or(second).and_then(|uri| decode_icon(&uri).ok()))
    }

    /// Which list is in force.
    pub async fn source(&self) -> Result<ListSource, AuthnError> {
        let n = self.db.run(repo::count).await?;
        Ok(match usize::try_from(n).unwrap_or(0) {
            0 => ListSource::Shipped(shipped_count()),
            n => ListSource::Operator(n),
        })
    }

    /// Puts the operator's list in force (an empty list: the shipped one again).
    pub async fn replace(&self, list: &ProviderList) -> Result<usize, AuthnError> {
        let rows: Vec<ProviderRow> =
            list.providers.iter().map(|p| ProviderRow { aaguid: p.aaguid.clone(), name: p.name.clone(), icon_light: p.icon_light.clone(), icon_dark: p.icon_dark.clone() }).collect();
        Ok(self.db.run(move |c| repo::replace_all(c, &rows)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    fn svg_uri(svg: &str) -> String {
        format!("data:image/svg+xml;base64,{}", B64.encode(svg))
    }

    #[test]
    fn the_shipped_list_reads_whole() {
        let list = parse_list(SHIPPED_LIST).expect("the shipped list reads");
        assert!(list.providers.len() >= 40, "{}", list.providers.len());
        assert!(list.dropped_icons.is_empty(), "every shipped icon is kept: {:?}", list.dropped_icons);
        let gpm = list.providers.iter().find(|p| p.aaguid == "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4").expect("Google Password Manager");
        assert_eq!(gpm.name, "Google Password Manager");
        assert!(gpm.icon_light.is_some() && gpm.icon_dark.is_some());
        assert_eq!(shipped_count(), list.providers.len());
    }

    #[test]
    fn icons_are_svg_or_png_and_nothing_else() {
        let svg = decode_icon(&svg_uri("<svg xmlns=\"http://www.w3.org/2000/svg\"/>")).expect("svg");
        assert_eq!(svg.content_type, SVG);
        let png = decode_icon(&format!("data:image/png;base64,{}", B64.encode(b"\x89PNG\r\n\x1a\nrest"))).expect("png");
        assert_eq!(png.content_type, PNG);
        assert!(decode_icon(&format!("data:text/html;base64,{}", B64.encode("<svg><script>alert(1)</script></svg>"))).is_err(), "html is never an icon");
        assert!(decode_icon(&format!("data:image/png;base64,{}", B64.encode("<svg/>"))).is_err(), "a PNG that is not one");
        assert!(decode_icon(&format!("data:image/svg+xml;base64,{}", B64.encode("<html></html>"))).is_err(), "an SVG that is not one");
        assert!(decode_icon("data:image/svg+xml,<svg/>").is_err(), "base64 only");
        assert!(decode_icon("https://example.com/icon.svg").is_err(), "no remote icons");
        assert!(decode_icon(&svg_uri(&format!("<svg>{}</svg>", "x".repeat(MAX_ICON_BYTES)))).is_err(), "too large");
    }

    #[test]
    fn a_list_is_checked_entry_by_entry() {
        let good = svg_uri("<svg/>");
        let json = format!(
            r#"{{"EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4": {{"name": " Example Vault ", "icon_light": "{good}", "icon_dark": "data:image/gif;base64,R0lG"}}, "00000000-0000-0000-0000-000000000001": {{"name": "Key"}}}}"#
        );
        let list = parse_list(&json).expect("reads");
        assert_eq!(list.providers.len(), 2);
        let p = &list.providers[1];
        assert_eq!((p.aaguid.as_str(), p.name.as_str()), ("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", "Example Vault"));
        assert_eq!((p.icon_light.as_deref(), p.icon_dark.as_deref()), (Some(good.as_str()), None));
        assert_eq!(list.dropped_icons.len(), 1, "the GIF is left out and said so");
        assert!(parse_list(r#"{"not-a-uuid": {"name": "X"}}"#).is_err());
        assert!(parse_list(r#"{"00000000-0000-0000-0000-000000000000": {"name": "X"}}"#).is_err(), "the nil AAGUID names nothing");
        assert!(parse_list(r#"{"00000000-0000-0000-0000-000000000001": {"name": ""}}"#).is_err());
        assert!(parse_list(r#"{"00000000-0000-0000-0000-000000000001": {"name": "a\u0007b"}}"#).is_err());
        assert!(parse_list(r#"{"00000000-0000-0000-0000-000000000001": {}}"#).is_err(), "a name is needed");
        assert!(parse_list("[]").is_err());
        assert!(parse_list("{}").expect("an empty list reads").providers.is_empty());
    }

    #[test]
    fn a_missing_variant_is_the_other_one() {
        let p = Provider { aaguid: "00000000-0000-0000-0000-000000000001".into(), name: "Key".into(), icon_light: Some(svg_uri("<svg/>")), icon_dark: None };
        let n = name_of(&p);
        assert!(n.icon_light.as_deref().is_some_and(|u| u.starts_with("/passkey-icons/00000000-0000-0000-0000-000000000001/light?v=")));
        assert_eq!(n.icon_dark, n.icon_light);
        let bare = name_of(&Provider { icon_light: None, ..p });
        assert_eq!((bare.icon_light, bare.icon_dark), (None, None));
    }

    #[test]
    fn the_aaguid_comes_from_the_attested_credential_data() {
        let aaguid = Uuid::parse_str("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4").expect("uuid");
        let auth_data = |flags: u8, id: &[u8; 16]| {
            let mut d = vec![0u8; 32];
            d.push(flags);
            d.extend_from_slice(&[0, 0, 0, 0]);
            d.extend_from_slice(id);
            d.extend_from_slice(&[0, 2, 1, 2]);
            d
        };
        let object = |auth: Vec<u8>| {
            let mut map = std::collections::BTreeMap::new();
            map.insert(serde_cbor_2::Value::Text("fmt".into()), serde_cbor_2::Value::Text("none".into()));
            map.insert(serde_cbor_2::Value::Text("attStmt".into()), serde_cbor_2::Value::Map(Default::default()));
            map.insert(serde_cbor_2::Value::Text("authData".into()), serde_cbor_2::Value::Bytes(auth));
            serde_cbor_2::to_vec(&serde_cbor_2::Value::Map(map)).expect("cbor")
        };
        assert_eq!(aaguid_of_attestation(&object(auth_data(0x45, aaguid.as_bytes()))).as_deref(), Some("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"));
        assert_eq!(aaguid_of_attestation(&object(auth_data(0x45, &[0; 16]))), None, "all zeros says nothing");
        assert_eq!(aaguid_of_attestation(&object(auth_data(0x05, aaguid.as_bytes()))), None, "no attested credential data");
        assert_eq!(aaguid_of_attestation(b"not cbor"), None);
        assert_eq!(aaguid_of_attestation(&object(vec![0; 20])), None, "too short");
    }
}
