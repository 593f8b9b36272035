//! The HTTP client the `openidconnect` and `oauth2` crates make their calls
//! with (upstream code exchanges, userinfo): latchkey's reqwest client, each
//! call a client span carrying its `traceparent` (issue #31), as every other
//! outgoing call of latchkey's is.

use std::future::Future;
use std::pin::Pin;

use oauth2::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};

/// `request_async(&Traced(&http))` instead of `request_async(&http)`.
pub struct Traced<'a>(pub &'a reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Traced<'_> {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request: reqwest::Request = request.try_into().map_err(Box::new)?;
            let response = latchkey_oauth::trace::execute_traced(self.0, request).await.map_err(Box::new)?;
            let mut builder = oauth2::http::Response::builder().status(response.status()).version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            Ok(builder.body(response.bytes().await.map_err(Box::new)?.to_vec())?)
        })
    }
}
