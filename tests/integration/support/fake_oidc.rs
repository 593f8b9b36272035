//! A deliberately wrong OpenID provider: real discovery, keys and code
//! flow, but ID tokens forged the way an attacker or a broken provider
//! would (wrong `iss`, `aud`, `azp` or `nonce`, expired, unsigned, signed
//! with another key). node-oidc-provider cannot be made to sign those; this
//! stand-in does, with an ES256 key made for the run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

pub const CLIENT_ID: &str = "fake-client";
pub const CLIENT_SECRET: &str = "fake-secret-0123456789";

/// How the next ID token is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forgery {
    Honest,
    WrongIssuer,
    WrongAudience,
    /// Two audiences, `azp` naming the other client.
    OtherAuthorizedParty,
    WrongNonce,
    Expired,
    /// `alg: none`, no signature.
    Unsigned,
    /// Signed by a key the provider does not publish (same `kid`).
    OtherKey,
    /// Multi-tenant: `iss` names another tenant than the token's `tid`.
    OtherTenant,
}

struct State {
    forgery: Forgery,
    /// code → nonce of its authorization request
    codes: HashMap<String, String>,
}

pub struct FakeOidc {
    pub issuer: String,
    state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for FakeOidc {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn key() -> (EcdsaKeyPair, Vec<u8>) {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key");
    let der = pair.to_pkcs8v1().expect("pkcs8").as_ref().to_vec();
    (pair, der)
}

impl FakeOidc {
    pub fn set(&self, forgery: Forgery) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).forgery = forgery;
    }

    pub fn start() -> FakeOidc {
        Self::start_with(None)
    }

    /// Like Microsoft Entra ID's `organizations`: discovery under
    /// `<base>/organizations/v2.0` names the issuer `<base>/{tenantid}/v2.0`,
    /// and the ID tokens of the tenant `tid` say `iss` `<base>/<tid>/v2.0`.
    pub fn start_multi_tenant(tid: &str) -> FakeOidc {
        Self::start_with(Some(tid.to_string()))
    }

    fn start_with(tenant: Option<String>) -> FakeOidc {
        let (published, published_der) = key();
        let (_, other_der) = key();
        let point = published.public_key().as_ref().to_vec();
        let jwk = json!({ "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]) });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        // What an admin configures, what discovery names, what tokens say.
        let (issuer, discovered_as, iss) = match &tenant {
            Some(tid) => (format!("{base}/organizations/v2.0"), format!("{base}/{{tenantid}}/v2.0"), format!("{base}/{tid}/v2.0")),
            None => (base.clone(), base.clone(), base.clone()),
        };
        let state = Arc::new(Mutex::new(State { forgery: Forgery::Honest, codes: HashMap::new() }));
        let (discovery_path, shared) = (format!("{}/.well-known/openid-configuration", issuer.strip_prefix(&base).unwrap_or("")), state.clone());
        let server = HttpServer::new(move || {
            let (jwk, base, discovered_as, tenant) = (jwk.clone(), base.clone(), discovered_as.clone(), tenant.clone());
            let (authorize_state, token_state) = (shared.clone(), shared.clone());
            let (published_der, other_der) = (published_der.clone(), other_der.clone());
            let (token_iss, token_tenant, authorize_iss) = (iss.clone(), tenant.clone(), iss.clone());
            App::new()
                .route(
                    &discovery_path,
                    web::get().to(move || {
                        let (issuer, base) = (discovered_as.clone(), base.clone());
                        async move {
                            HttpResponse::Ok().json(json!({
                                "issuer": issuer, "authorization_endpoint": format!("{base}/authorize"), "token_endpoint": format!("{base}/token"),
                                "jwks_uri": format!("{base}/jwks"), "response_types_supported": ["code"], "subject_types_supported": ["public"],
                                "id_token_signing_alg_values_supported": ["ES256"], "authorization_response_iss_parameter_supported": true,
                            }))
                        }
                    }),
                )
                .route(
                    "/jwks",
                    web::get().to(move || {
                        let jwk = jwk.clone();
                        async move { HttpResponse::Ok().json(json!({ "keys": [jwk] })) }
                    }),
                )
                .route(
                    "/authorize",
                    web::get().to(move |q: web::Query<HashMap<String, String>>| {
                        let (state, iss) = (authorize_state.clone(), authorize_iss.clone());
                        async move {
                            let code = format!("code-{}", uuid::Uuid::new_v4().simple());
                            state.lock().unwrap_or_else(|p| p.into_inner()).codes.insert(code.clone(), q.get("nonce").cloned().unwrap_or_default());
                            let mut back = url::Url::parse(q.get("redirect_uri").map(String::as_str).unwrap_or_default()).expect("redirect_uri");
                            back.query_pairs_mut().append_pair("code", &code).append_pair("state", q.get("state").map(String::as_str).unwrap_or_default()).append_pair("iss", &iss);
                            HttpResponse::Found().insert_header(("location", back.to_string())).finish()
                        }
                    }),
                )
                .route(
                    "/token",
                    web::post().to(move |form: web::Form<HashMap<String, String>>| {
                        let (state, iss, tenant) = (token_state.clone(), token_iss.clone(), token_tenant.clone());
                        let (published_der, other_der) = (published_der.clone(), other_der.clone());
                        async move {
                            let (forgery, nonce) = {
                                let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                                let nonce = s.codes.remove(form.get("code").map(String::as_str).unwrap_or_default());
                                (s.forgery, nonce)
                            };
                            let Some(nonce) = nonce else { return HttpResponse::BadRequest().json(json!({ "error": "invalid_grant" })) };
                            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
                            let mut claims = json!({ "iss": iss, "aud": CLIENT_ID, "sub": "fake-user", "iat": now, "exp": now + 300, "nonce": nonce,
                                "email": "victim@example.com", "email_verified": true });
                            if let Some(tid) = &tenant {
                                claims["tid"] = json!(tid);
                            }
                            match forgery {
                                Forgery::OtherTenant => claims["iss"] = json!(iss.replace(tenant.as_deref().unwrap_or("-"), "00000000-0000-0000-0000-000000000000")),
                                Forgery::WrongIssuer => claims["iss"] = json!("https://evil.example"),
                                Forgery::WrongAudience => claims["aud"] = json!("someone-else"),
                                Forgery::OtherAuthorizedParty => {
                                    claims["aud"] = json!([CLIENT_ID, "someone-else"]);
                                    claims["azp"] = json!("someone-else");
                                }
                                Forgery::WrongNonce => claims["nonce"] = json!("not-the-nonce"),
                                Forgery::Expired => {
                                    claims["iat"] = json!(now - 7200);
                                    claims["exp"] = json!(now - 3600);
                                }
                                Forgery::Honest | Forgery::Unsigned | Forgery::OtherKey => {}
                            }
                            let id_token = if forgery == Forgery::Unsigned {
                                format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), URL_SAFE_NO_PAD.encode(claims.to_string()))
                            } else {
                                let der = if forgery == Forgery::OtherKey { &other_der } else { &published_der };
                                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
                                header.kid = Some("k1".into());
                                jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(der)).expect("sign")
                            };
                            HttpResponse::Ok().json(json!({ "access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token }))
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
        FakeOidc { issuer, state, handle }
    }
}
