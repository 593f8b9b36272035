//! Request rate limits of the pages (sign-up, recovery, links, passkeys).

use latchkey_authn::rate_limit::Limit;
use latchkey_authn::AuthnError;
use latchkey_domain::SecurityEvent;

use crate::error::WebError;
use crate::state::AppState;

/// Counts a request against a rate limit; over it, a 429 (`json` on the
/// JSON endpoints), audited.
pub async fn rate(state: &AppState, limit: Limit, key: &str, json: bool) -> Result<(), WebError> {
    match state.limiter.hit(limit, key).await {
        Ok(()) => Ok(()),
        Err(AuthnError::RateLimited { retry_after }) => {
            state.oauth.record(&latchkey_oauth::audit::caller(), SecurityEvent::RateLimited { limit: limit.name.into() }).await;
            Err(WebError::RateLimited { retry_after, json })
        }
        Err(e) => Err(e.into()),
    }
}
