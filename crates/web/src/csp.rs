//! The pages' `Content-Security-Policy`.

/// The pages' `Content-Security-Policy`: our own origin only, except images
/// also from `image_origins` (the brand's logo host; on the consent page, the
/// client's logo host). Each is a `scheme://host[:port]` tuple origin.
pub fn content_security_policy(image_origins: &[Option<String>]) -> String {
    let extra: String = image_origins.iter().flatten().map(|o| format!(" {o}")).collect();
    format!("default-src 'self'; img-src 'self'{extra}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
}

/// Replaces a page's policy with one whose `img-src` also names the origins
/// of `logos` (registered client logos; each checked at registration), when
/// there are any.
pub(crate) fn allow_logos(resp: &mut actix_web::HttpResponse, state: &crate::AppState, logos: impl IntoIterator<Item = Option<String>>) {
    let extra: Vec<Option<String>> = logos.into_iter().map(|l| l.as_deref().and_then(crate::branding::image_origin)).filter(Option::is_some).collect();
    if extra.is_empty() {
        return;
    }
    let mut origins = vec![state.brand.logo_origin()];
    origins.extend(extra);
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&content_security_policy(&origins)) {
        resp.headers_mut().insert(actix_web::http::header::CONTENT_SECURITY_POLICY, v);
    }
}
