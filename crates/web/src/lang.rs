//! The language of a response: `latchkey_i18n::negotiate` over this
//! request's `Accept-Language`, with the `ui_locales` of the authorization
//! request being answered first. Handlers take [`tr`] (or the [`Lang`]
//! extractor) and put it in the page as its field `t`.

use std::convert::Infallible;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::{FromRequest, HttpRequest};
use latchkey_domain::User;
use latchkey_i18n::{negotiate, Locale, Tr};
use latchkey_oauth::PendingAuthorization;

tokio::task_local! {
    static CURRENT: Tr;
}

/// Runs `fut` (one request) with `t` as the language of its error pages,
/// which are rendered where the request is out of reach (`ResponseError`).
pub async fn scope<F: std::future::Future>(t: Tr, fut: F) -> F::Output {
    CURRENT.scope(t, fut).await
}

/// The language of the request being answered (English outside one).
pub fn current() -> Tr {
    CURRENT.try_with(|t| *t).unwrap_or_default()
}

/// The language the browser asks for (`Accept-Language`), else English.
pub fn tr(req: &HttpRequest) -> Tr {
    tr_with(req, None)
}

/// `ui_locales` (an authorization request's) first, then the browser's.
pub fn tr_with(req: &HttpRequest, ui_locales: Option<&str>) -> Tr {
    // A header that is not visible ASCII is ignored, not an error.
    let accept = req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Tr::new(negotiate(ui_locales, accept))
}

/// The language for the pages of an authorization request, if one is being answered.
pub fn tr_for(req: &HttpRequest, pending: Option<&PendingAuthorization>) -> Tr {
    tr_with(req, pending.and_then(|p| p.ui_locales.as_deref()))
}

/// The language of mail to `user`: their profile's `locale` if we speak
/// it, else the language of the request that caused the mail.
pub fn for_user(user: &User, request: Tr) -> Tr {
    user.profile.locale.as_deref().and_then(Locale::from_tag).map(Tr::new).unwrap_or(request)
}

/// The request's language as a handler argument: `Lang(t): Lang`.
pub struct Lang(pub Tr);

impl FromRequest for Lang {
    type Error = Infallible;
    type Future = Ready<Result<Lang, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Lang(tr(req))))
    }
}
