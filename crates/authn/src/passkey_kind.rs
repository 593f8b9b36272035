//! What kind of authenticator holds a passkey, as far as its registration
//! tells: synced (backed up to a password manager or platform account), bound
//! to one device, or a roaming security key. Read from the stored credential's
//! JSON (webauthn-rs keeps the flags there; its internals are not public API).

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyKind {
    /// Backup-eligible (WebAuthn BE flag): it can live on several devices.
    Synced,
    /// Not backup-eligible, kept by the device's own authenticator (`internal` transport).
    DeviceBound,
    /// Not backup-eligible, reached over USB, NFC or Bluetooth.
    SecurityKey,
    /// The registration said too little to tell.
    Unknown,
}

impl PasskeyKind {
    /// How the account page names it.
    pub fn in_words(self) -> &'static str {
        match self {
            PasskeyKind::Synced => "Synced passkey",
            PasskeyKind::DeviceBound => "Saved on one device",
            PasskeyKind::SecurityKey => "Security key",
            PasskeyKind::Unknown => "Passkey",
        }
    }
}

/// The kind of a stored passkey (`serde_json` of webauthn-rs's `Passkey`).
pub fn kind_of(stored_json: &str) -> PasskeyKind {
    let Ok(v) = serde_json::from_str::<Value>(stored_json) else { return PasskeyKind::Unknown };
    let cred = &v["cred"];
    if cred["backup_eligible"].as_bool() == Some(true) || cred["backup_state"].as_bool() == Some(true) {
        return PasskeyKind::Synced;
    }
    let transports: Vec<&str> = cred["transports"].as_array().map(|t| t.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if transports.contains(&"internal") {
        PasskeyKind::DeviceBound
    } else if transports.iter().any(|t| matches!(*t, "usb" | "nfc" | "ble")) {
        PasskeyKind::SecurityKey
    } else {
        PasskeyKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_the_stored_flags() {
        let json = |be: bool, transports: &str| format!(r#"{{"cred":{{"backup_eligible":{be},"backup_state":false,"transports":{transports}}}}}"#);
        assert_eq!(kind_of(&json(true, "null")), PasskeyKind::Synced);
        assert_eq!(kind_of(&json(true, r#"["usb"]"#)), PasskeyKind::Synced, "backed up wins over the transport");
        assert_eq!(kind_of(&json(false, r#"["internal","hybrid"]"#)), PasskeyKind::DeviceBound);
        assert_eq!(kind_of(&json(false, r#"["usb","nfc"]"#)), PasskeyKind::SecurityKey);
        assert_eq!(kind_of(&json(false, "null")), PasskeyKind::Unknown);
        assert_eq!(kind_of("not json"), PasskeyKind::Unknown);
    }
}
