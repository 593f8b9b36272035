//! The configuration file (`--config latchkey.toml` or `LATCHKEY_CONFIG`).
//!
//! One precedence rule: flags > environment > file > defaults. The file's
//! keys are the settings' names without the `LATCHKEY_` prefix, in lower case
//! (`issuer`, `database_url`, `session_idle_secs`, …); each becomes the
//! environment variable it names unless that variable is already set, and
//! clap's flags win over both. An unknown key is an error, not a silent no-op.

use std::path::PathBuf;

/// Every setting the file may hold.
pub const KEYS: [&str; 51] = [
    "bind",
    "workers",
    "issuer",
    "database_url",
    "redis_url",
    "redis_prefix",
    "master_key",
    "data_dir",
    "refresh_idle_secs",
    "refresh_absolute_secs",
    "refresh_grace_secs",
    "token_pepper",
    "key_rotation_days",
    "session_idle_secs",
    "session_absolute_secs",
    "session_binding",
    "smtp_url",
    "mail_from",
    "trusted_proxies",
    "forwarded_header",
    "signup",
    "invite_ttl_secs",
    "recovery_ttl_secs",
    "password_min_length",
    "hashing_threads",
    "audit_retention_days",
    "metrics_bind",
    "endpoint_rate_limit",
    "log",
    "log_format",
    "otlp_endpoint",
    "otlp_service_name",
    "require_par",
    "dpop_require_nonce",
    "brand_name",
    "brand_logo_url",
    "brand_color",
    "risk_policy",
    "risk_policy_admins",
    "geoip_db",
    "risk_blocklist",
    "webauthn_rp_id",
    "webauthn_related_origins",
    "passkey_only",
    "passkey_policy",
    "passkey_policy_admins",
    "passkey_aaguids",
    "passkey_attestation",
    "fido_mds",
    "fido_mds_root",
    "ssf_allow_private",
];

/// `--config PATH` / `--config=PATH` from the arguments, else `LATCHKEY_CONFIG`.
fn path() -> Option<PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    for (i, a) in args.iter().enumerate() {
        if a == "--config" {
            return args.get(i + 1).map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("LATCHKEY_CONFIG").map(PathBuf::from)
}

/// Reads the file, if any, into the environment (without overriding it).
pub fn apply() -> Result<(), String> {
    let Some(path) = path() else { return Ok(()) };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read the configuration file {}: {e}", path.display()))?;
    for (key, value) in parse(&text).map_err(|e| format!("{}: {e}", path.display()))? {
        let var = format!("LATCHKEY_{}", key.to_ascii_uppercase());
        if std::env::var_os(&var).is_none() {
            // Set in `main` before the runtime starts any other thread.
            std::env::set_var(&var, value);
        }
    }
    Ok(())
}

/// The file's settings as `(key, value)`; refuses unknown keys and nested tables.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.message().to_string())?;
    table
        .into_iter()
        .map(|(k, v)| {
            if !KEYS.contains(&k.as_str()) {
                return Err(format!("unknown setting {k:?} (known: {})", KEYS.join(", ")));
            }
            let value = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect::<Vec<_>>().join(","),
                other => return Err(format!("{k}: unsupported value {other}")),
            };
            Ok((k, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_values_and_unknown_keys_are_refused() {
        let parsed = parse("issuer = \"https://id.example\"\nsession_idle_secs = 600\ntrusted_proxies = [\"10.0.0.0/8\", \"192.168.0.1\"]\n").unwrap_or_default();
        assert_eq!(parsed.iter().find(|(k, _)| k == "session_idle_secs").map(|(_, v)| v.as_str()), Some("600"));
        assert_eq!(parsed.iter().find(|(k, _)| k == "trusted_proxies").map(|(_, v)| v.as_str()), Some("10.0.0.0/8,192.168.0.1"));
        assert!(parse("isuer = \"typo\"").is_err_and(|e| e.contains("unknown setting")));
        assert!(parse("not toml at all =").is_err());
    }
}
