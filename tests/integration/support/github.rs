//! A stand-in for GitHub (the real one cannot be reached from here): its
//! OAuth 2.0 endpoints and the two API calls latchkey makes, laid out as
//! GitHub Enterprise Server serves them (`/login/oauth/…`, `/api/v3/…`).
//! It signs "the user" in at once (no page), checks the client, the code
//! (single use), the redirect URI and PKCE S256, and answers errors the way
//! GitHub does (HTTP 200 with an `error` field).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "gh-client";
pub const CLIENT_SECRET: &str = "gh-secret-0123456789";
const ACCESS_TOKEN: &str = "gho_standin_token";

/// The GitHub account that signs in, and its addresses as `/user/emails` lists them.
#[derive(Clone)]
pub struct GithubAccount {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    /// (email, primary, verified)
    pub emails: Vec<(String, bool, bool)>,
}

#[derive(Default)]
struct Issued {
    /// code → (code_challenge, redirect_uri)
    codes: HashMap<String, (String, String)>,
}

pub struct GithubStandIn {
    /// The web base: the provider's issuer.
    pub base: String,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for GithubStandIn {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref())
}

impl GithubStandIn {
    pub fn start(account: GithubAccount) -> GithubStandIn {
        let issued = Arc::new(Mutex::new(Issued::default()));
        let account = Arc::new(account);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let server = HttpServer::new(move || {
            let (authorize_issued, token_issued) = (issued.clone(), issued.clone());
            let (user_account, emails_account) = (account.clone(), account.clone());
            App::new()
                .route(
                    "/login/oauth/authorize",
                    web::get().to(move |q: web::Query<HashMap<String, String>>| {
                        let issued = authorize_issued.clone();
                        async move {
                            let get = |k: &str| q.get(k).cloned().unwrap_or_default();
                            if get("client_id") != CLIENT_ID || get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
                                return HttpResponse::BadRequest().body("bad authorization request");
                            }
                            let code = format!("code-{}", uuid::Uuid::new_v4().simple());
                            issued.lock().unwrap_or_else(|p| p.into_inner()).codes.insert(code.clone(), (get("code_challenge"), get("redirect_uri")));
                            let mut back = url::Url::parse(&get("redirect_uri")).expect("redirect_uri");
                            back.query_pairs_mut().append_pair("code", &code).append_pair("state", &get("state"));
                            HttpResponse::Found().insert_header(("location", back.to_string())).finish()
                        }
                    }),
                )
                .route(
                    "/login/oauth/access_token",
                    web::post().to(move |form: web::Form<HashMap<String, String>>| {
                        let issued = token_issued.clone();
                        async move {
                            let get = |k: &str| form.get(k).cloned().unwrap_or_default();
                            let taken = issued.lock().unwrap_or_else(|p| p.into_inner()).codes.remove(&get("code"));
                            let ok = get("client_id") == CLIENT_ID
                                && get("client_secret") == CLIENT_SECRET
                                && taken.is_some_and(|(challenge, redirect)| challenge == s256(&get("code_verifier")) && redirect == get("redirect_uri"));
                            // GitHub answers a bad code with 200 and an error field.
                            HttpResponse::Ok().json(if ok {
                                json!({ "access_token": ACCESS_TOKEN, "token_type": "bearer", "scope": "read:user,user:email" })
                            } else {
                                json!({ "error": "bad_verification_code", "error_description": "The code passed is incorrect or expired." })
                            })
                        }
                    }),
                )
                .route(
                    "/api/v3/user",
                    web::get().to(move |req: HttpRequest| {
                        let a = user_account.clone();
                        async move { authorized(&req, || json!({ "id": a.id, "login": a.login, "name": a.name, "email": null })) }
                    }),
                )
                .route(
                    "/api/v3/user/emails",
                    web::get().to(move |req: HttpRequest| {
                        let a = emails_account.clone();
                        async move {
                            authorized(&req, || {
                                Value::Array(a.emails.iter().map(|(email, primary, verified)| json!({ "email": email, "primary": primary, "verified": verified, "visibility": null })).collect())
                            })
                        }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        GithubStandIn { base, handle }
    }
}

fn authorized(req: &HttpRequest, body: impl FnOnce() -> Value) -> HttpResponse {
    let bearer = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if bearer != format!("Bearer {ACCESS_TOKEN}") || req.headers().get("user-agent").is_none() {
        return HttpResponse::Unauthorized().json(json!({ "message": "Bad credentials" }));
    }
    HttpResponse::Ok().json(body())
}
