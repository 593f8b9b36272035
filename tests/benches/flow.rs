//! The whole sign-in as a relying party sees it, under load (issue #31, part 3):
//! a driver that runs whole authorization code flows against a running server
//! — latchkey or node-oidc-provider (`bench/peer`) — and reports flows per
//! second and the latency of the whole flow. `bench/whole_flow.sh` starts the
//! servers and runs it side by side; the figures go to docs/BENCHMARKS.md.
//!
//! A flow: `/authorize` (PKCE S256, state, nonce) in a browser with a cookie
//! jar, whatever pages the server shows (sign-in, consent), the redirect back
//! with a code, the code exchanged at the token endpoint (`client_secret_basic`),
//! and the ID token verified by the client: RS256 signature against the
//! server's JWKS (fetched once, again for an unknown `kid`), `iss`, `aud`,
//! `exp` and `nonce`. One HTTP client (keep-alive connections) for every
//! browser; each browser keeps its own cookies.
//!
//!   cargo bench -p latchkey-tests --bench flow -- flow issuer=http://localhost:18400 client_id=… secret=… kind=returning
//!
//! Commands (arguments `key=value`):
//! - `flow`: `issuer`, `client_id`, `secret`, `kind` (`returning`: each
//!   browser signs in once, then every flow is `/authorize` → code → token with
//!   the session and consent remembered; `password`: a new browser per flow,
//!   the sign-in form and consent (`prompt=consent`); `passkey`: the same with
//!   a passkey (software authenticator; latchkey only)), `conc` (16 browsers),
//!   `secs` (10), `warmup` (2), `user` / `password` (the account of
//!   `returning`; `password` and `passkey` use users `{user}{n}` for n < conc,
//!   in turn (one account's sign-ins from unknown devices are limited), and
//!   `passkey` registers a passkey for each first), `rate` (flows per second started on a clock instead of
//!   `conc` browsers in a loop), `pids` (server processes whose CPU to report),
//!   `label`. Prints one JSON line.
//! - `argon2`: `threads` (2), `secs` (10): raw argon2id verifications per
//!   second at latchkey's cost (the `argon2` crate's defaults, m = 19 MiB,
//!   t = 2, p = 1, as `latchkey_authn::password` uses), each thread reusing
//!   its memory as latchkey's hashing threads do; then latchkey's own
//!   `PasswordHasher` (its thread count, nice 19) with `threads` callers.
//!
//! latchkey's pages get an `X-Forwarded-For` address per browser (the server
//! must trust 127.0.0.1 as a proxy): per-address limits (passkey starts,
//! parked authorization requests) are not what this measures.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;

const REDIRECT_URI: &str = "http://localhost:3999/cb";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

type Result<T> = std::result::Result<T, String>;

fn arg(args: &HashMap<String, String>, key: &str, default: &str) -> String {
    args.get(key).cloned().unwrap_or_else(|| default.to_string())
}

fn num(args: &HashMap<String, String>, key: &str, default: f64) -> f64 {
    args.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
    URL_SAFE_NO_PAD.encode(buf)
}

// ---------------------------------------------------------------- a browser

/// Cookies of one browser, by name (one host; paths ignored, as every
/// cookie these servers set is meant for the pages this driver visits).
#[derive(Default, Clone)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, headers: &reqwest::header::HeaderMap) {
        for c in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            let first = c.split(';').next().unwrap_or("");
            if let Some((name, value)) = first.split_once('=') {
                let lower = c.to_ascii_lowercase();
                if value.is_empty() || lower.contains("max-age=0") || lower.contains("expires=thu, 01 jan 1970") {
                    self.0.remove(name.trim());
                } else {
                    self.0.insert(name.trim().to_string(), value.trim().to_string());
                }
            }
        }
    }
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

struct Browser<'a> {
    d: &'a Driver,
    jar: Jar,
    /// `X-Forwarded-For` (latchkey trusts 127.0.0.1 as a proxy in the bench).
    address: String,
}

impl Browser<'_> {
    async fn send(&mut self, req: reqwest::RequestBuilder) -> Result<Answer> {
        let mut req = req.header("user-agent", UA).header("x-forwarded-for", &self.address);
        if !self.jar.0.is_empty() {
            req = req.header("cookie", self.jar.header());
        }
        let resp = req.send().await.map_err(|e| format!("transport: {e}"))?;
        let status = resp.status().as_u16();
        self.jar.keep(resp.headers());
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.text().await.map_err(|e| format!("body: {e}"))?;
        Ok(Answer { status, location, body })
    }

    async fn get(&mut self, url: &str) -> Result<Answer> {
        let req = self.d.http.get(url);
        self.send(req).await
    }

    async fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> Result<Answer> {
        let body = serde_urlencoded::to_string(fields).map_err(|e| e.to_string())?;
        let req = self.d.http.post(url).header("content-type", "application/x-www-form-urlencoded").header("origin", self.d.origin.as_str()).body(body);
        self.send(req).await
    }

    async fn post_json(&mut self, url: &str, csrf: &str, body: &Value) -> Result<(u16, Value)> {
        let req = self.d.http.post(url).header("content-type", "application/json").header("x-csrf-token", csrf).header("origin", self.d.origin.as_str()).body(body.to_string());
        let a = self.send(req).await?;
        Ok((a.status, serde_json::from_str(&a.body).unwrap_or(Value::Null)))
    }
}

// ---------------------------------------------------------------- pages

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#x27;", "'").replace("&#39;", "'").replace("&#x2F;", "/").replace("&#47;", "/").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// A form of a page: its action and hidden fields.
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
    body: String,
}

fn forms(page: &str) -> Vec<Form> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<form") {
        let after = &rest[start..];
        let Some(end) = after.find("</form>") else { break };
        let whole = &after[..end];
        let open_end = whole.find('>').unwrap_or(whole.len());
        let action = attr(&whole[..open_end], "action").unwrap_or_default();
        let mut hidden = Vec::new();
        let mut inputs = whole;
        while let Some(i) = inputs.find("<input") {
            let tag_end = inputs[i..].find('>').map_or(inputs.len(), |e| i + e);
            let tag = &inputs[i..tag_end];
            if tag.contains("type=\"hidden\"") {
                if let Some(name) = attr(tag, "name") {
                    hidden.push((name, attr(tag, "value").unwrap_or_default()));
                }
            }
            inputs = &inputs[tag_end..];
        }
        out.push(Form { action, hidden, body: whole.to_string() });
        rest = &after[end..];
    }
    out
}

fn absolute(base: &str, location: &str) -> Result<String> {
    Url::parse(base).and_then(|b| b.join(location)).map(|u| u.to_string()).map_err(|e| format!("bad location {location}: {e}"))
}

// ---------------------------------------------------------------- the driver

/// A browser's passkey and account, used by one flow at a time.
type Slot = Arc<tokio::sync::Mutex<(Option<SoftPasskey>, String)>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Returning,
    Password,
    Passkey,
}

struct Driver {
    http: reqwest::Client,
    issuer: String,
    origin: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    keys: RwLock<HashMap<String, DecodingKey>>,
    client_id: String,
    secret: String,
    kind: Kind,
    user: String,
    password: String,
    /// Addresses handed out to browsers.
    next_address: AtomicU64,
}

/// What the relying party keeps while the user is away.
struct Pending {
    url: String,
    state: String,
    nonce: String,
    verifier: String,
}

impl Driver {
    async fn new(args: &HashMap<String, String>) -> Driver {
        let issuer = arg(args, "issuer", "http://localhost:18400").trim_end_matches('/').to_string();
        let url = Url::parse(&issuer).expect("issuer URL");
        let host = url.host_str().expect("issuer host").to_string();
        let port = url.port_or_known_default().expect("issuer port");
        let origin = format!("{}://{}", url.scheme(), url.authority());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()
            .expect("http client");
        let meta: Value = http.get(format!("{issuer}/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("discovery JSON");
        let get = |k: &str| meta[k].as_str().unwrap_or_else(|| panic!("{k} in discovery: {meta}")).to_string();
        let kind = match arg(args, "kind", "returning").as_str() {
            "returning" => Kind::Returning,
            "password" => Kind::Password,
            "passkey" => Kind::Passkey,
            other => panic!("unknown kind {other}: returning, password or passkey"),
        };
        let d = Driver {
            authorization_endpoint: get("authorization_endpoint"),
            token_endpoint: get("token_endpoint"),
            jwks_uri: get("jwks_uri"),
            issuer: get("issuer"),
            origin,
            http,
            keys: RwLock::new(HashMap::new()),
            client_id: arg(args, "client_id", "rp-1"),
            secret: arg(args, "secret", "rp-secret-1"),
            kind,
            user: arg(args, "user", "bench"),
            password: arg(args, "password", "violet harbor quill 1997"),
            next_address: AtomicU64::new(1),
        };
        d.fetch_keys().await.expect("JWKS");
        d
    }

    async fn fetch_keys(&self) -> Result<()> {
        let set: JwkSet = self.http.get(&self.jwks_uri).send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        let mut keys = self.keys.write().expect("keys lock");
        for jwk in &set.keys {
            if let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) {
                keys.insert(kid, key);
            }
        }
        Ok(())
    }

    fn browser(&self) -> Browser<'_> {
        let n = self.next_address.fetch_add(1, Ordering::Relaxed);
        Browser { d: self, jar: Jar::default(), address: format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff) }
    }

    fn authorize_url(&self, extra: &[(&str, &str)]) -> Pending {
        let verifier = random_b64(32);
        let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()));
        let (state, nonce) = (random_b64(12), random_b64(12));
        let mut q = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        q.extend_from_slice(extra);
        let url = format!("{}?{}", self.authorization_endpoint, serde_urlencoded::to_string(&q).expect("query"));
        Pending { url, state, nonce, verifier }
    }

    /// Follows the flow from the authorization URL to the code, answering
    /// the pages on the way (sign-in with `username`, consent: allow).
    async fn browse(&self, b: &mut Browser<'_>, pending: &Pending, username: &str, key: Option<&mut SoftPasskey>) -> Result<String> {
        let mut url = pending.url.clone();
        let mut key = key;
        let mut answer = b.get(&url).await?;
        for _ in 0..12 {
            if let Some(location) = answer.location.clone() {
                let next = absolute(&url, &location)?;
                if next.starts_with(REDIRECT_URI) {
                    let back = Url::parse(&next).map_err(|e| e.to_string())?;
                    let get = |k: &str| back.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
                    if get("state").as_deref() != Some(pending.state.as_str()) {
                        return Err(format!("state mismatch or error: {next}"));
                    }
                    return get("code").ok_or_else(|| format!("no code: {next}"));
                }
                url = next;
                answer = b.get(&url).await?;
                continue;
            }
            if answer.status != 200 {
                return Err(format!("{url}: status {} {}", answer.status, answer.body.chars().take(300).collect::<String>()));
            }
            let page = std::mem::take(&mut answer.body);
            let found = forms(&page);
            let login = found.iter().find(|f| f.body.contains("type=\"password\""));
            let consent = found.iter().find(|f| f.body.contains("name=\"decision\" value=\"allow\"") || f.body.contains("name=\"prompt\" value=\"consent\""));
            if let (Some(form), Some(k)) = (login, key.as_deref_mut()) {
                // latchkey's passkey sign-in (static/passkeys.js): start, sign, finish.
                let field = |n: &str| form.hidden.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
                let csrf = field("csrf_token");
                let (status, start) = b.post_json(&format!("{}/login/passkey/start", self.issuer), &csrf, &json!({ "username": username, "authz": field("authz") })).await?;
                if status != 200 {
                    return Err(format!("passkey start: {status} {start}"));
                }
                let options: RequestChallengeResponse = serde_json::from_value(start["options"].clone()).map_err(|e| format!("request options: {e}"))?;
                let credential = k.do_authentication(Url::parse(&self.origin).map_err(|e| e.to_string())?, options).map_err(|e| format!("soft passkey: {e:?}"))?;
                let (status, done) = b.post_json(&format!("{}/login/passkey/finish", self.issuer), &csrf, &json!({ "ceremony": start["ceremony"], "credential": credential })).await?;
                let next = done["redirect"].as_str().filter(|_| status == 200).ok_or_else(|| format!("passkey finish: {status} {done}"))?;
                url = absolute(&url, next)?;
                answer = b.get(&url).await?;
            } else if let Some(form) = login {
                let mut fields = form.hidden.clone();
                let name_field = if form.body.contains("name=\"username\"") { "username" } else { "login" };
                fields.push((name_field.to_string(), username.to_string()));
                fields.push(("password".to_string(), self.password.clone()));
                let action = absolute(&url, &form.action)?;
                answer = b.post_form(&action, &fields).await?;
                url = action;
            } else if let Some(form) = consent {
                let mut fields = form.hidden.clone();
                if form.body.contains("name=\"decision\"") {
                    fields.push(("decision".to_string(), "allow".to_string()));
                }
                let action = absolute(&url, &form.action)?;
                answer = b.post_form(&action, &fields).await?;
                url = action;
            } else {
                let text: String = page.split('<').filter_map(|s| s.split_once('>').map(|(_, t)| t.trim())).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ");
                return Err(format!("stuck at {url}: {}", text.chars().take(300).collect::<String>()));
            }
        }
        Err("too many steps".into())
    }

    /// The code exchanged, the ID token verified.
    async fn redeem(&self, code: &str, pending: &Pending) -> Result<Value> {
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI), ("code_verifier", pending.verifier.as_str())];
        let resp = self.http.post(&self.token_endpoint).basic_auth(&self.client_id, Some(&self.secret)).form(&form).send().await.map_err(|e| format!("token: {e}"))?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.map_err(|e| format!("token JSON: {e}"))?;
        let id_token = body["id_token"].as_str().filter(|_| status == 200).ok_or_else(|| format!("token: {status} {body}"))?;
        self.verify(id_token, &pending.nonce).await
    }

    async fn verify(&self, id_token: &str, nonce: &str) -> Result<Value> {
        let header = jsonwebtoken::decode_header(id_token).map_err(|e| format!("ID token header: {e}"))?;
        let kid = header.kid.clone().unwrap_or_default();
        if !self.keys.read().expect("keys lock").contains_key(&kid) {
            self.fetch_keys().await?;
        }
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[&self.client_id]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        let claims = {
            let keys = self.keys.read().expect("keys lock");
            let key = keys.get(&kid).ok_or_else(|| format!("no key {kid}"))?;
            jsonwebtoken::decode::<Value>(id_token, key, &validation).map_err(|e| format!("ID token: {e}"))?.claims
        };
        if claims["nonce"].as_str() != Some(nonce) {
            return Err(format!("nonce mismatch: {claims}"));
        }
        Ok(claims)
    }

    /// One whole flow in `b`; consent asked for unless the user is returning.
    async fn flow(&self, b: &mut Browser<'_>, username: &str, key: Option<&mut SoftPasskey>) -> Result<()> {
        let extra: &[(&str, &str)] = if self.kind == Kind::Returning { &[] } else { &[("prompt", "consent")] };
        let pending = self.authorize_url(extra);
        let code = self.browse(b, &pending, username, key).await?;
        self.redeem(&code, &pending).await.map(|_| ())
    }

    /// Signs `username` in with the password at latchkey's `/login` (no
    /// client) and registers a soft passkey for it.
    async fn register_passkey(&self, username: &str) -> Result<SoftPasskey> {
        let mut b = self.browser();
        let login = b.get(&format!("{}/login", self.issuer)).await?;
        let form = forms(&login.body).into_iter().find(|f| f.body.contains("type=\"password\"")).ok_or("no sign-in form")?;
        let mut fields = form.hidden.clone();
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), self.password.clone()));
        let done = b.post_form(&format!("{}/login", self.issuer), &fields).await?;
        if done.location.as_deref() != Some("/account") {
            return Err(format!("password sign-in of {username}: {} {:?} {}", done.status, done.location, done.body.chars().take(300).collect::<String>()));
        }
        let account = b.get(&format!("{}/account", self.issuer)).await?;
        let csrf = forms(&account.body).iter().flat_map(|f| f.hidden.iter()).find(|(k, _)| k == "csrf_token").map(|(_, v)| v.clone()).ok_or("no csrf token on /account")?;
        let (status, start) = b.post_json(&format!("{}/account/passkeys/register/start", self.issuer), &csrf, &json!({})).await?;
        if status != 200 {
            return Err(format!("register start: {status} {start}"));
        }
        let options: CreationChallengeResponse = serde_json::from_value(start["options"].clone()).map_err(|e| format!("creation options: {e}"))?;
        let mut key = SoftPasskey::new(true);
        let credential = key.do_registration(Url::parse(&self.origin).map_err(|e| e.to_string())?, options).map_err(|e| format!("soft passkey registers: {e:?}"))?;
        let (status, done) =
            b.post_json(&format!("{}/account/passkeys/register/finish", self.issuer), &csrf, &json!({ "ceremony": start["ceremony"], "name": "bench key", "credential": credential })).await?;
        if status != 200 {
            return Err(format!("register finish: {status} {done}"));
        }
        Ok(key)
    }
}

// ---------------------------------------------------------------- measuring

#[derive(Default)]
struct Tally {
    latencies: Mutex<Vec<Duration>>,
    ok: AtomicU64,
    /// Every flow that went through, the warm-up's and the last ones' too.
    all: AtomicU64,
    failed: AtomicU64,
    notes: Mutex<Vec<String>>,
}

impl Tally {
    fn record(&self, started: Instant, window: (Instant, Instant), result: Result<()>) {
        let end = Instant::now();
        if result.is_ok() {
            self.all.fetch_add(1, Ordering::Relaxed);
        }
        match result {
            Ok(()) if started >= window.0 && end <= window.1 => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                self.latencies.lock().expect("latencies lock").push(end - started);
            }
            Ok(()) => {}
            Err(e) => {
                if started >= window.0 && end <= window.1 {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                }
                let mut notes = self.notes.lock().expect("notes lock");
                if notes.len() < 5 {
                    notes.push(e);
                }
            }
        }
    }
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    sorted.get(((sorted.len().max(1) - 1) as f64 * q).round() as usize).copied().unwrap_or_default().as_secs_f64() * 1e3
}

/// CPU time (user + system) of a process and its threads, in seconds.
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks: f64 = fields.get(11..13).map(|f| f.iter().filter_map(|t| t.parse::<f64>().ok()).sum()).unwrap_or(0.0);
    ticks / 100.0
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

async fn run_flows(args: HashMap<String, String>) {
    let d = Arc::new(Driver::new(&args).await);
    let conc = num(&args, "conc", 16.0) as usize;
    let secs = num(&args, "secs", 10.0);
    let warmup = num(&args, "warmup", 2.0);
    let rate = num(&args, "rate", 0.0);
    let label = arg(&args, "label", &format!("{:?}", d.kind));
    let pids: Vec<String> = arg(&args, "pids", "").split(',').filter(|p| !p.is_empty()).map(str::to_string).collect();

    // Set up the browsers: a signed-in session with consent given
    // (returning), or a passkey per user (passkey).
    let setup = Instant::now();
    let mut browsers = Vec::new();
    for n in 0..conc {
        match d.kind {
            Kind::Returning => {
                let mut b = d.browser();
                let pending = d.authorize_url(&[]);
                let code = d.browse(&mut b, &pending, &d.user, None).await.unwrap_or_else(|e| panic!("sign-in of browser {n}: {e}"));
                d.redeem(&code, &pending).await.unwrap_or_else(|e| panic!("first code of browser {n}: {e}"));
                browsers.push((b.jar, b.address, None, d.user.clone()));
            }
            Kind::Password => browsers.push((Jar::default(), String::new(), None, format!("{}{n}", d.user))),
            Kind::Passkey => {
                let user = format!("{}{n}", d.user);
                let key = d.register_passkey(&user).await.unwrap_or_else(|e| panic!("passkey of {user}: {e}"));
                browsers.push((Jar::default(), String::new(), Some(key), user));
            }
        }
    }
    let setup_secs = setup.elapsed().as_secs_f64();

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let window = (start + Duration::from_secs_f64(warmup), start + Duration::from_secs_f64(warmup + secs));
    let mut tasks = Vec::new();
    if rate > 0.0 {
        // Open loop: a flow started every 1/rate s, whatever the last one does.
        let (d, tally, stop) = (d.clone(), tally.clone(), stop.clone());
        let keys: Vec<Slot> = browsers.into_iter().map(|(_, _, k, u)| Arc::new(tokio::sync::Mutex::new((k, u)))).collect();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            let mut running = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let (d, tally, slot) = (d.clone(), tally.clone(), keys[i % keys.len().max(1)].clone());
                let n = i;
                i += 1;
                running.push(tokio::spawn(async move {
                    let t = Instant::now();
                    let mut b = d.browser();
                    let r = if d.kind == Kind::Passkey {
                        // A passkey signs one ceremony at a time (its counter).
                        let mut slot = slot.lock().await;
                        let (key, user) = &mut *slot;
                        let user = user.clone();
                        d.flow(&mut b, &user, key.as_mut()).await
                    } else {
                        // Users in turn: one account's sign-ins from unknown devices
                        // are limited (10 attempts in flight or failed per 15 minutes).
                        d.flow(&mut b, &format!("{}{}", d.user, n % conc.max(1)), None).await
                    };
                    tally.record(t, window, r);
                }));
            }
            for r in running {
                let _ = r.await;
            }
        }));
    } else {
        for (jar, address, key, user) in browsers {
            let (d, tally, stop) = (d.clone(), tally.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut key = key;
                while !stop.load(Ordering::Relaxed) {
                    let mut b = d.browser();
                    if d.kind == Kind::Returning {
                        b.jar = jar.clone();
                        b.address = address.clone();
                    }
                    let t = Instant::now();
                    let r = d.flow(&mut b, &user, key.as_mut()).await;
                    tally.record(t, window, r);
                }
            }));
        }
    }
    tokio::time::sleep_until(tokio::time::Instant::from_std(window.0)).await;
    let cpu0: Vec<f64> = pids.iter().map(|p| cpu_secs(p)).collect();
    let me0 = cpu_secs("self");
    let load_before = loadavg();
    tokio::time::sleep_until(tokio::time::Instant::from_std(window.1)).await;
    let cpu1: Vec<f64> = pids.iter().map(|p| cpu_secs(p)).collect();
    let me1 = cpu_secs("self");
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let mut lat = std::mem::take(&mut *tally.latencies.lock().expect("latencies lock"));
    lat.sort();
    let ok = tally.ok.load(Ordering::Relaxed);
    let cpu: Vec<u64> = cpu0.iter().zip(&cpu1).map(|(a, b)| ((b - a) / secs * 100.0).round() as u64).collect();
    let out = json!({
        "label": label,
        "kind": format!("{:?}", d.kind).to_lowercase(),
        "issuer": d.issuer,
        "conc": conc,
        "rate": rate,
        "secs": secs,
        "flows": ok,
        "flows_all": tally.all.load(Ordering::Relaxed),
        "failed": tally.failed.load(Ordering::Relaxed),
        "flows_per_s": (ok as f64 / secs * 10.0).round() / 10.0,
        "p50_ms": (quantile(&lat, 0.5) * 100.0).round() / 100.0,
        "p90_ms": (quantile(&lat, 0.9) * 100.0).round() / 100.0,
        "p99_ms": (quantile(&lat, 0.99) * 100.0).round() / 100.0,
        "server_cpu_pct": cpu,
        "driver_cpu_pct": ((me1 - me0) / secs * 100.0).round(),
        "loadavg_before": load_before,
        "setup_secs": (setup_secs * 10.0).round() / 10.0,
        "notes": tally.notes.lock().expect("notes lock").clone(),
    });
    println!("{out}");
}

// ---------------------------------------------------------------- argon2id

/// Raw argon2id verifications per second on `threads` threads, each reusing
/// its memory like latchkey's hashing threads; then latchkey's hasher.
async fn run_argon2(args: HashMap<String, String>) {
    use argon2::{Algorithm, Argon2, Block, Params, Version};
    let threads = num(&args, "threads", 2.0) as usize;
    let secs = num(&args, "secs", 10.0);
    let params = Params::default();
    let password = b"violet harbor quill 1997";
    let salt = [7u8; 16];
    let mut expected = [0u8; 32];
    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    a.hash_password_into(password, &salt, &mut expected).expect("argon2id");
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let count = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (count, params) = (count.clone(), params.clone());
            std::thread::spawn(move || {
                let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                let mut blocks = vec![Block::default(); params.block_count()];
                let mut out = [0u8; 32];
                while Instant::now() < deadline {
                    a.hash_password_into_with_memory(password, &salt, &mut out, &mut blocks).expect("argon2id");
                    assert_eq!(out, expected);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("argon2 thread");
    }
    let raw = count.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64();

    // latchkey's own hasher: its dedicated threads (half the cores), `threads` callers.
    let hasher = latchkey_authn::PasswordHasher::new().expect("hasher");
    let stored = hasher.hash(latchkey_domain::Secret::new("violet harbor quill 1997")).await.expect("hash");
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let t = Instant::now();
    let calls = (0..threads).map(|_| {
        let (hasher, stored) = (hasher.clone(), stored.clone());
        async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                assert!(hasher.verify(latchkey_domain::Secret::new("violet harbor quill 1997"), Some(stored.clone())).await.expect("verify"));
                n += 1;
            }
            n
        }
    });
    let n: u64 = futures_util::future::join_all(calls).await.into_iter().sum();
    let pooled = n as f64 / t.elapsed().as_secs_f64();
    let out = json!({
        "label": "argon2id",
        "params": format!("m={} KiB, t={}, p={}", params.m_cost(), params.t_cost(), params.p_cost()),
        "threads": threads,
        "raw_verifications_per_s": (raw * 10.0).round() / 10.0,
        "latchkey_hasher_threads": latchkey_authn::password::hashing_threads(),
        "latchkey_hasher_verifications_per_s": (pooled * 10.0).round() / 10.0,
        "loadavg": loadavg(),
    });
    println!("{out}");
}

fn main() {
    // `cargo bench` adds `--bench`; everything else is `command key=value…`.
    let words: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let command = words.first().cloned().unwrap_or_else(|| "flow".into());
    let args: HashMap<String, String> = words.iter().skip(1).filter_map(|w| w.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let threads = num(&args, "driver_threads", 2.0) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().expect("tokio runtime");
    rt.block_on(async {
        match command.as_str() {
            "flow" => run_flows(args).await,
            "argon2" => run_argon2(args).await,
            other => panic!("unknown command {other}: flow or argon2"),
        }
    });
}
