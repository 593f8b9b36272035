//! The access log: one line per request, with the request id, and no secrets.
//! Query parameters that carry tokens, codes, links or personal data
//! (`id_token_hint`, `code`, `token`, `t`, `login_hint`, …) are logged as
//! `[redacted]`; bodies and headers are never logged.

/// Query parameters whose values never reach a log line.
const SECRET_PARAMS: [&str; 11] = ["id_token_hint", "code", "token", "t", "refresh_token", "login_hint", "code_verifier", "client_secret", "state", "nonce", "m"];

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
                if SECRET_PARAMS.contains(&k) { format!("{name}=[redacted]") } else { pair.chars().take(128).collect() }
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
}
