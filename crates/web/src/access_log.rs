//! The access log: one line per request, with the request id, and no secrets.
//! Query parameters that carry tokens, codes, links or personal data
//! (`id_token_hint`, `code`, `token`, `t`, `login_hint`, …) are logged as
//! `[redacted]`; bodies and headers are never logged.

/// Query parameters whose values never reach a log line. `authz` (a parked
/// authorization request's handle: it answers that request in a browser
/// bound to it, but says which request a victim is on), `user_code` (the
/// device grant's code: whoever types it first approves the device) and
/// `request_uri` (a pushed request's handle) joined in issue #24 item 11.
const SECRET_PARAMS: [&str; 14] = ["id_token_hint", "code", "token", "t", "refresh_token", "login_hint", "code_verifier", "client_secret", "state", "nonce", "m", "authz", "user_code", "request_uri"];

/// Whether the parameter named `raw` (as sent, percent-encoded) is one of
/// [`SECRET_PARAMS`]: compared after decoding, as the handlers decode it
/// (`user%5Fcode` is `user_code` to them).
fn is_secret(raw: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(raw.as_bytes()).next().map(|(k, _)| k.into_owned()).unwrap_or_default();
    SECRET_PARAMS.contains(&raw) || SECRET_PARAMS.contains(&decoded.as_str())
}

/// `path?query` with the values of [`SECRET_PARAMS`] replaced, at most 512 characters.
pub fn redacted_target(path: &str, query: &str) -> String {
    let mut out = path.chars().take(256).collect::<String>();
    if !query.is_empty() {
        out.push('?');
        let parts: Vec<String> = query
            .split('&')
            .take(40)
            .map(|pair| {
                let (k, _) = pair.split_once('=').unwrap_or((pair, ""));
                let name = k.chars().take(64).collect::<String>();
                if is_secret(k) {
                    format!("{name}=[redacted]")
                } else {
                    pair.chars().take(128).collect()
                }
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out.chars().filter(|c| !c.is_control()).take(512).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_queries_are_redacted() {
        let line = redacted_target("/end-session", "id_token_hint=eyJhbGciOi.x.y&post_logout_redirect_uri=https%3A%2F%2Fa&state=s3cr3t");
        assert_eq!(line, "/end-session?id_token_hint=[redacted]&post_logout_redirect_uri=https%3A%2F%2Fa&state=[redacted]");
        assert_eq!(redacted_target("/setup", "t=lkl_secret"), "/setup?t=[redacted]");
        assert!(!redacted_target("/x", "a=\r\nb").contains('\n'));
    }

    /// Issue #24 item 11: the handles of parked and pushed requests and the
    /// device grant's user code, also when their names are percent-encoded.
    #[test]
    fn request_handles_and_user_codes_are_redacted() {
        assert_eq!(redacted_target("/login", "authz=abc123&next=%2Faccount"), "/login?authz=[redacted]&next=%2Faccount");
        assert_eq!(redacted_target("/device", "user_code=WDJB-MJHT"), "/device?user_code=[redacted]");
        assert_eq!(redacted_target("/authorize", "client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Asecret"), "/authorize?client_id=app&request_uri=[redacted]");
        assert_eq!(redacted_target("/device", "user%5Fcode=WDJB-MJHT"), "/device?user%5Fcode=[redacted]");
        assert_eq!(redacted_target("/login", "auth%7A=abc"), "/login?auth%7A=[redacted]");
    }
}
