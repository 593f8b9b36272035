//! Users: the list (search, sort, pages, bulk actions), a user's page,
//! invitations and the actions on a user. Every destructive action asks
//! first ([`ConfirmPage`]) and every action ends on a notice in the
//! reader's language ([`Done`]).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_app::admin::{BulkOutcome, Skipped, UserAction, MAX_BULK_USERS};
use latchkey_app::{AppError, Refusal};
use latchkey_authn::AuthnError;
use latchkey_domain::{Scope, ScopeSet, User, UserId};
use latchkey_i18n::{Arg, Tr};
use latchkey_store::repo::users::{ListOrder, ListedUser};
use serde::{Deserialize, Serialize};

use super::audit::{event_rows, EventRow};
use super::*;
use crate::browser::{check_form_post, with_cookies, CsrfCookie, CSRF_COOKIE};
use crate::error::WebError;
use crate::format::{format_rfc3339, format_time};
use crate::guards::{AdminSession, RecentAdminSession};
use crate::handlers::see_other;
use crate::pages::render;
use crate::plain_words;
use crate::state::AppState;

/// Users a page of the list shows.
const PAGE_SIZE: i64 = 50;
/// The highest page number a link may ask for (beyond it: the last page).
const MAX_PAGE: i64 = 1_000_000;
/// The longest search text looked for.
const MAX_QUERY_CHARS: usize = 200;
/// How long a notice an action left can be shown (its link is signed).
const NOTICE_TTL_SECS: i64 = 600;
/// How many names a notice or a question spells out ("… and 40 more").
const NAMES_SHOWN: usize = 10;

// ---------------------------------------------------------------------------
// Shared pieces: moments, badges, lists of names.

/// A moment in words ("3 days ago"), with the exact UTC time as its title
/// and machine-readable `datetime`.
struct Moment {
    words: String,
    exact: String,
    iso: String,
}

impl Moment {
    fn at(t: Tr, now: i64, then: i64) -> Moment {
        Moment { words: plain_words::ago(t, now, then), exact: format_time(then), iso: format_rfc3339(then) }
    }
}

/// A badge in words ("passkey", "disabled"); `kind` picks its colours.
struct Badge {
    label: String,
    kind: &'static str,
}

/// What a user's badges are made of.
struct Facts {
    admin: bool,
    disabled: bool,
    password: bool,
    passkeys: i64,
    authenticator_app: bool,
    linked: bool,
    signed_in: bool,
}

impl Facts {
    fn of(u: &User, passkeys: i64, authenticator_app: bool, linked: bool, last_sign_in: Option<i64>) -> Facts {
        Facts { admin: u.admin, disabled: u.disabled_at.is_some(), password: u.password_hash.is_some(), passkeys, authenticator_app, linked, signed_in: last_sign_in.is_some() }
    }

    /// Invited and not set up yet: no way in, never signed in.
    fn invited(&self) -> bool {
        !self.signed_in && !self.password && self.passkeys == 0 && !self.linked
    }

    fn badges(&self, t: Tr) -> Vec<Badge> {
        let mut out = Vec::new();
        let mut add = |label: String, kind: &'static str| out.push(Badge { label, kind });
        if self.admin {
            add(t.get("console-badge-admin"), "admin");
        }
        if self.disabled {
            add(t.get("console-badge-disabled"), "off");
        }
        if self.invited() {
            add(t.get("console-badge-invited"), "pending");
        }
        if self.passkeys > 0 {
            add(t.arg("console-badge-passkeys", "count", self.passkeys), "strong");
        }
        if self.authenticator_app {
            add(t.get("console-badge-second-factor"), "strong");
        }
        if self.password && self.passkeys == 0 && !self.authenticator_app {
            add(t.get("console-badge-password-only"), "weak");
        }
        if self.linked {
            add(t.get("console-badge-linked"), "neutral");
        }
        out
    }
}

use super::audit::grouped;

/// The first [`NAMES_SHOWN`] of `names` ("alice, bob, carol"), and how many
/// more there are when `total` is larger.
fn name_list(t: Tr, names: &[String], total: usize) -> String {
    let shown: Vec<&str> = names.iter().take(NAMES_SHOWN).map(String::as_str).collect();
    let joined = shown.join(", ");
    match total.saturating_sub(shown.len()) {
        0 => joined,
        more => t.arg2("console-users-and-more", "names", joined, "count", more),
    }
}

// ---------------------------------------------------------------------------
// Notices: what an action did, carried to the page it redirects to.

/// Which action a notice reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum DoneKind {
    BulkDisabled,
    BulkSessionsEnded,
    NoneSelected,
    SessionsEnded,
    Disabled,
    Enabled,
    AdminGranted,
    AdminRevoked,
    MfaReset,
    RecoveryLinkSent,
    Deleted,
}

/// Why a bulk action left someone alone, as a notice carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum SkipWhy {
    Yourself,
    LastAdmin,
    AlreadyDisabled,
}

impl From<Skipped> for SkipWhy {
    fn from(s: Skipped) -> SkipWhy {
        match s {
            Skipped::Yourself => SkipWhy::Yourself,
            Skipped::LastAdmin => SkipWhy::LastAdmin,
            Skipped::AlreadyDisabled => SkipWhy::AlreadyDisabled,
        }
    }
}

impl SkipWhy {
    fn words(self, t: Tr, username: &str) -> String {
        let key = match self {
            SkipWhy::Yourself => "console-users-skip-yourself",
            SkipWhy::LastAdmin => "console-users-skip-last-admin",
            SkipWhy::AlreadyDisabled => "console-users-skip-already-disabled",
        };
        t.arg(key, "username", username)
    }
}

/// What an action did, for the page it redirects to: `?done=<this as
/// JSON>&sig=<MAC>`. The words are the console's own (a fixed message per
/// [`DoneKind`]; only counts and usernames vary), and the MAC binds the
/// value to this browser's CSRF cookie and an expiry: a link cannot put a
/// count or a name of its choosing on anyone's console (forged, altered,
/// expired or another browser's: nothing is shown).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    k: DoneKind,
    /// How many users (or, for one user's sessions, sessions).
    #[serde(default)]
    n: usize,
    /// The usernames acted on (the first [`NAMES_SHOWN`]).
    #[serde(default)]
    u: Vec<String>,
    /// Those left alone, and why (the first [`NAMES_SHOWN`]).
    #[serde(default)]
    x: Vec<(String, SkipWhy)>,
    /// How many were left alone.
    #[serde(default)]
    y: usize,
    /// Shown until then (epoch seconds).
    e: i64,
}

impl Done {
    fn one(k: DoneKind, user: &User, n: usize, now: i64) -> Done {
        Done { k, n, u: vec![user.username.clone()], x: Vec::new(), y: 0, e: now + NOTICE_TTL_SECS }
    }

    fn bulk(k: DoneKind, outcome: &BulkOutcome, now: i64) -> Done {
        Done {
            k,
            n: outcome.done.len(),
            u: outcome.done.iter().take(NAMES_SHOWN).map(|u| u.username.clone()).collect(),
            x: outcome.skipped.iter().take(NAMES_SHOWN).map(|(u, why)| (u.username.clone(), SkipWhy::from(*why))).collect(),
            y: outcome.skipped.len(),
            e: now + NOTICE_TTL_SECS,
        }
    }

    fn text(&self, t: Tr) -> String {
        let username = self.u.first().map(String::as_str).unwrap_or_default();
        let names = || name_list(t, &self.u, self.n);
        let one = |key: &str| t.arg(key, "username", username);
        let main = match self.k {
            DoneKind::BulkDisabled => t.arg2("console-users-done-disabled", "count", self.n, "names", names()),
            DoneKind::BulkSessionsEnded => t.arg2("console-users-done-sessions-ended", "count", self.n, "names", names()),
            DoneKind::NoneSelected => t.get("console-users-done-none-selected"),
            DoneKind::SessionsEnded => t.arg2("console-user-done-sessions-ended", "count", self.n, "username", username),
            DoneKind::Disabled => one("console-user-done-disabled"),
            DoneKind::Enabled => one("console-user-done-enabled"),
            DoneKind::AdminGranted => one("console-user-done-admin-granted"),
            DoneKind::AdminRevoked => one("console-user-done-admin-revoked"),
            DoneKind::MfaReset => one("console-user-done-mfa-reset"),
            DoneKind::RecoveryLinkSent => one("console-user-done-recovery-link"),
            DoneKind::Deleted => one("console-user-done-deleted"),
        };
        if self.x.is_empty() {
            return main;
        }
        format!("{main} {}", skipped_text(t, &self.x, self.y))
    }
}

/// "Skipped: root (that is you), eve (the last administrator)."
fn skipped_text(t: Tr, skipped: &[(String, SkipWhy)], total: usize) -> String {
    let each: Vec<String> = skipped.iter().map(|(name, why)| why.words(t, name)).collect();
    t.arg("console-users-skipped", "names", name_list(t, &each, total))
}

/// The MAC input of a notice: the browser's CSRF cookie and the notice.
fn done_input(cookie: &str, json: &str) -> String {
    format!("console-notice:{cookie}:{json}")
}

/// `base` with the signed notice `done`, for the browser that posted `req`.
fn done_location(req: &HttpRequest, state: &AppState, base: &str, done: &Done) -> Result<String, WebError> {
    let json = serde_json::to_string(done).map_err(|e| WebError::Internal(e.to_string()))?;
    let sig = state.csrf.tag_b64(&done_input(&CsrfCookie::from_request(req).value, &json));
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("done", &json).append_pair("sig", &sig).finish();
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}{query}"))
}

/// The words of a signed notice, if it is genuine, this browser's and not expired.
fn done_notice(req: &HttpRequest, state: &AppState, t: Tr, done: Option<&str>, sig: Option<&str>) -> Option<String> {
    let (json, sig) = (done?, sig?);
    if json.len() > 8 * 1024 {
        return None;
    }
    let cookie = req.cookie(CSRF_COOKIE)?;
    if !state.csrf.verify_b64(&done_input(cookie.value(), json), sig) {
        return None;
    }
    let done: Done = serde_json::from_str(json).ok()?;
    (done.e >= state.clock.now()).then(|| done.text(t))
}

/// The notice of a page: a signed one an action left, else a fixed `?notice=` code.
fn notice_of(req: &HttpRequest, state: &AppState, done: Option<&str>, sig: Option<&str>, notice: Option<&str>) -> Option<String> {
    done_notice(req, state, crate::lang::tr(req), done, sig).or_else(|| notice_text(crate::lang::tr(req), notice))
}

// ---------------------------------------------------------------------------
// The list.

/// An order of the list, as `?sort=` spells it (`-` first: descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sort {
    by: ListOrder,
    descending: bool,
}

/// The sortable columns: order, `?sort=` name, whether a first click sorts
/// descending (newest first), header message id.
const SORTS: [(ListOrder, &str, bool, &str); 3] = [
    (ListOrder::Username, "username", false, "console-users-col-username"),
    (ListOrder::LastSignIn, "last-sign-in", true, "console-users-col-last-sign-in"),
    (ListOrder::Created, "created", true, "console-users-col-created"),
];

impl Sort {
    const DEFAULT: Sort = Sort { by: ListOrder::Username, descending: false };

    fn parse(s: Option<&str>) -> Sort {
        let s = s.unwrap_or_default();
        let (descending, name) = match s.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, s),
        };
        SORTS.iter().find(|c| c.1 == name).map_or(Sort::DEFAULT, |c| Sort { by: c.0, descending })
    }

    fn param(self) -> String {
        let name = SORTS.iter().find(|c| c.0 == self.by).map_or("username", |c| c.1);
        if self.descending {
            format!("-{name}")
        } else {
            name.to_string()
        }
    }
}

/// Where in the list the admin is: search, order, page.
#[derive(Debug, Clone)]
struct ListAt {
    q: String,
    sort: Sort,
    page: i64,
}

impl ListAt {
    fn new(q: Option<&str>, sort: Option<&str>, page: Option<&str>) -> ListAt {
        let q: String = q.unwrap_or_default().trim().chars().take(MAX_QUERY_CHARS).collect();
        let page = page.and_then(|p| p.trim().parse::<i64>().ok()).unwrap_or(1).clamp(1, MAX_PAGE);
        ListAt { q, sort: Sort::parse(sort), page }
    }

    /// This place's link (defaults left out).
    fn url(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            query.append_pair("q", &self.q);
        }
        if self.sort != Sort::DEFAULT {
            query.append_pair("sort", &self.sort.param());
        }
        if self.page > 1 {
            query.append_pair("page", &self.page.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            "/admin/users".to_string()
        } else {
            format!("/admin/users?{query}")
        }
    }

    fn at(&self, sort: Sort, page: i64) -> ListAt {
        ListAt { q: self.q.clone(), sort, page }
    }

    /// The hidden fields that bring a form back here.
    fn fields(&self) -> Vec<(String, String)> {
        vec![("q".into(), self.q.clone()), ("sort".into(), self.sort.param()), ("page".into(), self.page.to_string())]
    }
}

/// A sortable column header: its link sorts by it (the other way round
/// when it is the current order), `aria-sort` marks the current one.
struct SortHeader {
    label: String,
    href: String,
    aria_sort: &'static str,
    arrow: &'static str,
}

fn headers(t: Tr, at: &ListAt) -> Vec<SortHeader> {
    SORTS
        .iter()
        .map(|(by, _, first_descending, key)| {
            let current = at.sort.by == *by;
            let next = Sort { by: *by, descending: if current { !at.sort.descending } else { *first_descending } };
            let (aria_sort, arrow) = match (current, at.sort.descending) {
                (false, _) => ("", ""),
                (true, false) => ("ascending", "▲"),
                (true, true) => ("descending", "▼"),
            };
            SortHeader { label: t.get(key), href: at.at(next, 1).url(), aria_sort, arrow }
        })
        .collect()
}

struct UserRow {
    id: String,
    short_id: String,
    username: String,
    email: String,
    badges: Vec<Badge>,
    last_sign_in: Option<Moment>,
    created: Moment,
}

impl UserRow {
    fn of(t: Tr, now: i64, l: ListedUser) -> UserRow {
        let facts = Facts::of(&l.user, l.passkeys, l.authenticator_app, l.linked, l.last_sign_in);
        let u = l.user;
        UserRow {
            short_id: short_id(&u.id.0),
            badges: facts.badges(t),
            last_sign_in: l.last_sign_in.map(|at| Moment::at(t, now, at)),
            created: Moment::at(t, now, u.created_at),
            id: u.id.0,
            username: u.username,
            email: u.email,
        }
    }
}

/// The invitation form's values and what was wrong with them.
#[derive(Default)]
struct InviteValues {
    username: String,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    frame: Frame,
    q: String,
    /// The order, kept by a new search (empty: the default).
    sort: String,
    /// "1,234 users" (or how many match the search).
    count: String,
    /// "Showing 51–100" (empty on an empty page).
    range: String,
    /// "Page 2 of 25".
    page_label: String,
    username_header: SortHeader,
    last_sign_in_header: SortHeader,
    created_header: SortHeader,
    users: Vec<UserRow>,
    prev: Option<String>,
    next: Option<String>,
    /// Hidden fields of the bulk form (back to this place in the list).
    back_fields: Vec<(String, String)>,
    invite: InviteValues,
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    sort: Option<String>,
    page: Option<String>,
    notice: Option<String>,
    done: Option<String>,
    sig: Option<String>,
}

pub async fn users(req: HttpRequest, admin: AdminSession, state: web::Data<AppState>, query: web::Query<ListQuery>) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let at = ListAt::new(q.q.as_deref(), q.sort.as_deref(), q.page.as_deref());
    let notice = notice_of(&req, &state, q.done.as_deref(), q.sig.as_deref(), q.notice.as_deref());
    let csrf = CsrfCookie::from_request(&req);
    let p = list_page(&req, &state, &admin, at, notice, InviteValues::default(), &csrf).await?;
    page(&p, &csrf)
}

async fn list_page(req: &HttpRequest, state: &AppState, admin: &AdminSession, mut at: ListAt, notice: Option<String>, invite: InviteValues, csrf: &CsrfCookie) -> Result<UsersPage, WebError> {
    let frame = Frame::new(req, Section::Users, notice);
    let t = frame.t;
    let ops = state.admin(admin.actor());
    let mut found = ops.list_users(&at.q, at.sort.by, at.sort.descending, (at.page - 1) * PAGE_SIZE, PAGE_SIZE).await?;
    let pages = ((found.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    if at.page > pages {
        // A link past the end (users went since): the last page.
        at.page = pages;
        found = ops.list_users(&at.q, at.sort.by, at.sort.descending, (at.page - 1) * PAGE_SIZE, PAGE_SIZE).await?;
    }
    let now = state.clock.now();
    let shown = grouped(t, found.total);
    let count = if at.q.is_empty() {
        t.args("console-users-count", &[("count", Arg::from(found.total)), ("shown", shown.into())])
    } else {
        t.args("console-users-matching", &[("count", Arg::from(found.total)), ("shown", shown.into()), ("q", at.q.as_str().into())])
    };
    let first = (at.page - 1) * PAGE_SIZE + 1;
    let last = first + i64::try_from(found.users.len()).unwrap_or(PAGE_SIZE) - 1;
    let range = if found.users.is_empty() { String::new() } else { t.arg2("console-users-range", "first", grouped(t, first), "last", grouped(t, last)) };
    let mut hs = headers(t, &at).into_iter();
    let (Some(username_header), Some(last_sign_in_header), Some(created_header)) = (hs.next(), hs.next(), hs.next()) else {
        return Err(WebError::Internal("the user list has three sortable columns".into()));
    };
    Ok(UsersPage {
        q: at.q.clone(),
        sort: if at.sort == Sort::DEFAULT { String::new() } else { at.sort.param() },
        count,
        range,
        page_label: t.arg2("console-users-page", "page", at.page, "pages", pages),
        username_header,
        last_sign_in_header,
        created_header,
        users: found.users.into_iter().map(|l| UserRow::of(t, now, l)).collect(),
        prev: (at.page > 1).then(|| at.at(at.sort, at.page - 1).url()),
        next: (at.page < pages).then(|| at.at(at.sort, at.page + 1).url()),
        back_fields: at.fields(),
        invite,
        csrf_token: csrf.form_token(state),
        frame,
    })
}

// ---------------------------------------------------------------------------
// Bulk actions.

/// The bulk form: `user` once per selected user.
struct BulkForm {
    csrf_token: String,
    action: String,
    users: Vec<String>,
    confirmed: bool,
    at: ListAt,
}

impl BulkForm {
    fn read(pairs: Vec<(String, String)>) -> BulkForm {
        let (mut csrf_token, mut action, mut users, mut confirmed) = (String::new(), String::new(), Vec::new(), false);
        let (mut q, mut sort, mut page) = (None, None, None);
        for (name, value) in pairs {
            match name.as_str() {
                "csrf_token" => csrf_token = value,
                "action" => action = value,
                "user" if !users.contains(&value) => users.push(value),
                "confirmed" => confirmed = super::confirmed(Some(&value)),
                "q" => q = Some(value),
                "sort" => sort = Some(value),
                "page" => page = Some(value),
                _ => {}
            }
        }
        let at = ListAt::new(q.as_deref(), sort.as_deref(), page.as_deref());
        BulkForm { csrf_token, action, users, confirmed, at }
    }
}

pub async fn bulk(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, form: web::Form<Vec<(String, String)>>) -> Result<HttpResponse, WebError> {
    let form = BulkForm::read(form.into_inner());
    check_form_post(&req, &state, &form.csrf_token)?;
    let (action, kind) = match form.action.as_str() {
        "end-sessions" => (UserAction::EndSessions, DoneKind::BulkSessionsEnded),
        "disable" => (UserAction::Disable, DoneKind::BulkDisabled),
        _ => return Err(WebError::bad_request("Unknown action.")),
    };
    if form.users.len() > MAX_BULK_USERS {
        return Err(WebError::bad_request(format!("Select at most {MAX_BULK_USERS} users at once.")));
    }
    let back = form.at.url();
    let now = state.clock.now();
    let ops = state.admin(admin.0.actor());
    let users = ops.users_by_ids(&form.users).await?;
    if users.is_empty() {
        let none = Done { k: DoneKind::NoneSelected, n: 0, u: Vec::new(), x: Vec::new(), y: 0, e: now + NOTICE_TTL_SECS };
        return Ok(see_other(&done_location(&req, &state, &back, &none)?));
    }
    let going: Vec<&User> = users.iter().filter(|u| ops.bulk_skips(u, action).is_none()).collect();
    if !form.confirmed && !going.is_empty() {
        let t = crate::lang::tr(&req);
        let names: Vec<String> = going.iter().map(|u| u.username.clone()).collect();
        let listed = name_list(t, &names, names.len());
        let (question, means, label) = match action {
            UserAction::Disable => ("console-users-confirm-disable", "console-users-confirm-disable-means", "console-users-disable-label"),
            _ => ("console-users-confirm-end-sessions", "console-users-confirm-end-means", "console-users-end-label"),
        };
        let mut consequences = vec![t.get(means)];
        let skipped: Vec<(String, SkipWhy)> = users.iter().filter_map(|u| ops.bulk_skips(u, action).map(|why| (u.username.clone(), SkipWhy::from(why)))).collect();
        if !skipped.is_empty() {
            consequences.push(skipped_text(t, &skipped, skipped.len()));
        }
        let mut fields = vec![("csrf_token".to_string(), form.csrf_token.clone()), ("action".to_string(), form.action.clone())];
        fields.extend(users.iter().map(|u| ("user".to_string(), u.id.0.clone())));
        fields.extend(form.at.fields());
        let p = ConfirmPage {
            question: t.arg2(question, "count", going.len(), "names", listed),
            consequences,
            action_url: "/admin/users/bulk".into(),
            fields,
            confirm_label: t.arg(label, "count", going.len()),
            back,
            frame: Frame::new(&req, Section::Users, None),
        };
        return confirm(&p, &CsrfCookie::from_request(&req));
    }
    let outcome = ops.bulk_user_action(users, action).await?;
    Ok(see_other(&done_location(&req, &state, &back, &Done::bulk(kind, &outcome, now))?))
}

// ---------------------------------------------------------------------------
// Invitations.

#[derive(Deserialize)]
pub struct InviteForm {
    csrf_token: String,
    username: String,
    email: String,
}

/// Invites a user (a mailed set-up link, as `latchkey user invite` does)
/// and shows their page with the link, to pass on another way if the mail
/// does not arrive. The link is in this response only, never in a URL.
pub async fn invite(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, form: web::Form<InviteForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let (username, email) = (form.username.trim(), form.email.trim());
    let t = crate::lang::tr(&req);
    let error = match state.invite(&admin.0.actor().audited(), username, email, false).await {
        Ok((user, url)) => {
            let notice = t.arg("console-user-invited", "email", user.email.as_str());
            let p = user_page(&req, &state, &admin.0, user, Some(notice), Some(url)).await?;
            return page(&p, &csrf);
        }
        Err(AppError::Authn(AuthnError::UserExists)) => t.get("console-users-invite-taken"),
        Err(AppError::Authn(AuthnError::InvalidInput(_))) => t.get("console-users-invite-invalid"),
        Err(e) => return Err(e.into()),
    };
    let values = InviteValues { username: username.to_string(), email: email.to_string(), error: Some(error) };
    let p = list_page(&req, &state, &admin.0, ListAt::new(None, None, None), None, values, &csrf).await?;
    with_cookies(render(StatusCode::BAD_REQUEST, &p), &csrf.new)
}

// ---------------------------------------------------------------------------
// A user's page.

struct PasskeyRow {
    name: String,
    /// Its provider's name when a list knows its AAGUID, else its kind.
    kind: String,
    icon: Option<crate::pages::PasskeyIcon>,
    created: Moment,
    last_used: Option<Moment>,
}

struct LinkedRow {
    provider: String,
    upstream: String,
    last_used: Option<Moment>,
}

struct SessionRow {
    device: String,
    ip: String,
    methods: String,
    created: Moment,
    last_seen: Moment,
}

struct AppRow {
    client_id: String,
    name: String,
    /// What it may do, in words ("who they are, their email address").
    can: String,
    since: Moment,
    last_used: Moment,
}

/// A button of the actions section.
struct ActionButton {
    action: &'static str,
    label: String,
    danger: bool,
}

/// The set-up link an invitation mailed, shown once on the page the invitation answers with.
struct Invited {
    url: String,
    /// "alice was invited: this link was mailed to …".
    said: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    frame: Frame,
    id: String,
    username: String,
    email: String,
    email_verified: bool,
    badges: Vec<Badge>,
    created: Moment,
    last_sign_in: Option<Moment>,
    /// The page is the acting admin's own.
    yourself: bool,
    /// "Password set", "No password (passkey only)".
    password: String,
    /// "Authenticator app, 8 backup codes left".
    second_factor: String,
    passkeys: Vec<PasskeyRow>,
    linked: Vec<LinkedRow>,
    sessions: Vec<SessionRow>,
    apps: Vec<AppRow>,
    actions: Vec<ActionButton>,
    invited: Option<Invited>,
    events: Vec<EventRow>,
    /// The choices of the user's own risk policy (issue #32).
    risk_policies: Vec<super::risk_policy::PolicyOption>,
    /// "Passkeys only" (issue #29).
    passkey_only: super::passkey_only::PasskeyOnly,
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct UserQuery {
    notice: Option<String>,
    done: Option<String>,
    sig: Option<String>,
}

fn not_found() -> WebError {
    WebError::Page { status: StatusCode::NOT_FOUND, title: "Not found", message: "No such user.".into() }
}

pub async fn user(req: HttpRequest, admin: AdminSession, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<UserQuery>) -> Result<HttpResponse, WebError> {
    let u = state.authn.user(&UserId(path.into_inner())).await?.ok_or_else(not_found)?;
    let notice = notice_of(&req, &state, query.done.as_deref(), query.sig.as_deref(), query.notice.as_deref());
    let csrf = CsrfCookie::from_request(&req);
    let p = user_page(&req, &state, &admin, u, notice, None).await?;
    page(&p, &csrf)
}

/// What an app may do for the user, in the console's words (third person).
fn scope_words(t: Tr, scope: &str) -> String {
    let scopes = ScopeSet::parse_lenient(scope);
    let mut words: Vec<String> = scopes
        .iter()
        .map(|s| {
            t.get(match s {
                Scope::OpenId => "console-user-scope-openid",
                Scope::Profile => "console-user-scope-profile",
                Scope::Email => "console-user-scope-email",
                Scope::OfflineAccess => "console-user-scope-offline-access",
                Scope::Groups => "console-user-scope-groups",
                Scope::Admin => "console-user-scope-admin",
                Scope::Scim => "console-user-scope-scim",
            })
        })
        .collect();
    words.extend(scopes.api_names().map(str::to_string));
    words.join(", ")
}

async fn user_page(req: &HttpRequest, state: &AppState, admin: &AdminSession, u: User, notice: Option<String>, invite_url: Option<String>) -> Result<UserPage, WebError> {
    let frame = Frame::new(req, Section::Users, notice);
    let t = frame.t;
    let now = state.clock.now();
    let ops = state.admin(admin.actor());
    let passkeys: Vec<PasskeyRow> = state
        .passkeys
        .list(&u.id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            kind: plain_words::passkey_holder(t, &p),
            icon: crate::pages::PasskeyIcon::of(p.provider.as_ref()),
            created: Moment::at(t, now, p.created_at),
            last_used: p.last_used_at.map(|at| Moment::at(t, now, at)),
            name: p.name,
        })
        .collect();
    let linked: Vec<LinkedRow> = state
        .linked_identities(&u.id)
        .await?
        .into_iter()
        .map(|(row, provider)| LinkedRow {
            provider: provider.map(|p| p.name).unwrap_or_else(|| row.provider_id.clone()),
            upstream: row.display,
            last_used: row.last_used_at.map(|at| Moment::at(t, now, at)),
        })
        .collect();
    let sessions: Vec<SessionRow> = state
        .sessions
        .list(&u.id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            device: s.device_name.clone().unwrap_or_else(|| t.get("console-user-unknown-device")),
            ip: s.ip.clone().unwrap_or_else(|| t.get("console-user-unknown-address")),
            methods: plain_words::methods(t, &s.amr),
            created: Moment::at(t, now, s.created_at),
            last_seen: Moment::at(t, now, s.last_seen_at),
        })
        .collect();
    let apps = state
        .oauth
        .connected_apps(&u.id)
        .await?
        .into_iter()
        .map(|a| AppRow { can: scope_words(t, &a.scope), since: Moment::at(t, now, a.since), last_used: Moment::at(t, now, a.last_used_at), client_id: a.client_id, name: a.name })
        .collect();
    let filter = latchkey_store::repo::audit::Filter { user_id: Some(u.id.0.clone()), ..Default::default() };
    let events = event_rows(state, t, &state.oauth.audit_search(filter, None, 20).await?.events).await?;
    let totp = state.mfa.has_second_factor(&u).await?;
    let backup_codes = state.mfa.unused_backup_codes(&u).await?;
    let last_sign_in = ops.last_sign_in(&u).await?;
    let facts = Facts::of(&u, i64::try_from(passkeys.len()).unwrap_or(i64::MAX), totp, !linked.is_empty(), last_sign_in);
    let password = t.get(match (facts.password, passkeys.is_empty(), linked.is_empty()) {
        (true, _, _) => "console-user-password-set",
        (false, false, _) => "console-user-password-passkey-only",
        (false, true, false) => "console-user-password-linked",
        _ if facts.invited() => "console-user-password-invited",
        _ => "console-user-password-none",
    });
    let second_factor = match (totp, backup_codes) {
        (true, n) => t.arg("console-user-app-on", "count", n),
        (false, 0) => t.get("console-user-app-off"),
        (false, n) => t.arg("console-user-app-off-codes", "count", n),
    };
    let yourself = admin.actor().is(&u.id);
    let invited = invite_url.map(|url| Invited {
        said: t.args("console-user-invite-mailed", &[("username", u.username.as_str().into()), ("email", u.email.as_str().into()), ("hours", Arg::from(state.invite_ttl / 3600))]),
        url,
    });
    let action = |action: &'static str, key: &str, danger: bool| ActionButton { action, label: t.get(key), danger };
    let mut actions = vec![action("end-sessions", "console-user-action-end-sessions", false)];
    if facts.disabled {
        actions.push(action("enable", "console-user-action-enable", false));
    } else if !yourself {
        actions.push(action("disable", "console-user-action-disable", true));
    }
    if !facts.admin {
        actions.push(action("grant-admin", "console-user-action-grant-admin", false));
    } else if !yourself {
        actions.push(action("revoke-admin", "console-user-action-revoke-admin", true));
    }
    if totp || backup_codes > 0 {
        actions.push(action("reset-mfa", "console-user-action-reset-mfa", true));
    }
    actions.push(action("recovery-link", "console-user-action-recovery-link", false));
    if !yourself {
        actions.push(action("delete", "console-delete-user", true));
    }
    let risk_policies = super::risk_policy::options(state, t, &u).await?;
    let csrf = CsrfCookie::from_request(req);
    let passkey_only = super::passkey_only::PasskeyOnly { marked: u.passkey_only, by_policy: state.authn.passkey_only.covers(&latchkey_domain::User { passkey_only: false, ..u.clone() }) };
    Ok(UserPage {
        passkey_only,
        risk_policies,
        id: u.id.0.clone(),
        badges: facts.badges(t),
        created: Moment::at(t, now, u.created_at),
        last_sign_in: last_sign_in.map(|at| Moment::at(t, now, at)),
        yourself,
        password,
        second_factor,
        username: u.username,
        email: u.email,
        email_verified: u.email_verified,
        passkeys,
        linked,
        sessions,
        apps,
        actions,
        invited,
        events,
        csrf_token: csrf.form_token(state),
        frame,
    })
}

/// An action of a user's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Delete,
    User(UserAction),
}

impl Act {
    fn parse(s: &str) -> Option<Act> {
        if s == "delete" {
            return Some(Act::Delete);
        }
        UserAction::parse(s).map(Act::User)
    }

    /// Whether it takes something away (asked first).
    fn destructive(self) -> bool {
        matches!(self, Act::Delete | Act::User(UserAction::Disable | UserAction::ResetMfa | UserAction::EndSessions | UserAction::RevokeAdmin))
    }

    /// The rule word of the "not yourself" refusal, for actions never done to oneself.
    fn never_to_oneself(self) -> Option<&'static str> {
        match self {
            Act::Delete => Some("delete"),
            Act::User(UserAction::Disable) => Some("disable"),
            Act::User(UserAction::RevokeAdmin) => Some("demote"),
            _ => None,
        }
    }
}

pub async fn user_action(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<ActionForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let u = state.authn.user(&UserId(path.into_inner())).await?.ok_or_else(|| WebError::bad_request("No such user."))?;
    let act = Act::parse(&form.action).ok_or_else(|| WebError::bad_request("Unknown action."))?;
    let ops = state.admin(admin.0.actor());
    // Refused whatever the answer: say so before asking.
    if let Some(what) = act.never_to_oneself().filter(|_| ops.actor().is(&u.id)) {
        return Err(AppError::Refused(Refusal::NotYourself(what)).into());
    }
    if act.destructive() && !confirmed(form.confirmed.as_deref()) {
        let p = ask(&req, &state, &u, act, &form.csrf_token).await?;
        return confirm(&p, &CsrfCookie::from_request(&req));
    }
    let back = format!("/admin/users/{}", u.id.0);
    let now = state.clock.now();
    let (base, done) = match act {
        Act::Delete => {
            ops.delete_user(&u).await?;
            ("/admin/users".to_string(), Done::one(DoneKind::Deleted, &u, 1, now))
        }
        Act::User(UserAction::EndSessions) => {
            let ended = ops.end_everything(&u).await?;
            (back, Done::one(DoneKind::SessionsEnded, &u, ended, now))
        }
        Act::User(action) => {
            ops.user_action(&u, action).await?;
            let kind = match action {
                UserAction::Disable => DoneKind::Disabled,
                UserAction::Enable => DoneKind::Enabled,
                UserAction::GrantAdmin => DoneKind::AdminGranted,
                UserAction::RevokeAdmin => DoneKind::AdminRevoked,
                UserAction::ResetMfa => DoneKind::MfaReset,
                UserAction::RecoveryLink => DoneKind::RecoveryLinkSent,
                UserAction::EndSessions => DoneKind::SessionsEnded,
            };
            (back, Done::one(kind, &u, 1, now))
        }
    };
    Ok(see_other(&done_location(&req, &state, &base, &done)?))
}

/// The question before a destructive action on `u`, naming what goes.
async fn ask(req: &HttpRequest, state: &AppState, u: &User, act: Act, csrf_token: &str) -> Result<ConfirmPage, WebError> {
    let t = crate::lang::tr(req);
    let name = u.username.as_str();
    let sessions = state.sessions.list(&u.id).await?.len();
    let (question, consequences, label) = match act {
        Act::Delete => {
            let apps = state.oauth.connected_apps(&u.id).await?.len();
            (
                t.arg("console-confirm-delete-user", "username", name),
                vec![t.arg("console-confirm-sessions-end", "count", sessions), t.arg("console-confirm-grants-revoked", "count", apps)],
                t.get("console-delete-user"),
            )
        }
        Act::User(UserAction::Disable) => (
            t.arg("console-user-confirm-disable", "username", name),
            vec![t.arg("console-confirm-sessions-end", "count", sessions), t.get("console-user-confirm-tokens-end"), t.get("console-user-confirm-disable-means")],
            t.get("console-user-action-disable"),
        ),
        Act::User(UserAction::ResetMfa) => {
            let codes = state.mfa.unused_backup_codes(u).await?;
            let removes =
                if state.mfa.has_second_factor(u).await? { t.arg("console-user-confirm-reset-removes", "count", codes) } else { t.arg("console-user-confirm-reset-removes-codes", "count", codes) };
            (
                t.arg("console-user-confirm-reset-mfa", "username", name),
                vec![removes, t.arg("console-confirm-sessions-end", "count", sessions), t.get("console-user-confirm-reset-told")],
                t.get("console-user-action-reset-mfa"),
            )
        }
        Act::User(UserAction::EndSessions) => {
            let devices = state.devices.list(&u.id).await?.len();
            let mut consequences = Vec::new();
            if devices > 0 {
                consequences.push(t.arg("console-user-confirm-devices", "count", devices));
            }
            consequences.extend([t.get("console-user-confirm-tokens-end"), t.get("console-user-confirm-end-means")]);
            (t.arg2("console-user-confirm-end-sessions", "count", sessions, "username", name), consequences, t.get("console-user-action-end-sessions"))
        }
        Act::User(UserAction::RevokeAdmin) => {
            (t.arg("console-user-confirm-revoke-admin", "username", name), vec![t.get("console-user-confirm-revoke-admin-means")], t.get("console-user-action-revoke-admin"))
        }
        Act::User(other) => return Err(WebError::Internal(format!("{} asks nothing first", other.as_str()))),
    };
    let action = match act {
        Act::Delete => "delete",
        Act::User(a) => a.as_str(),
    };
    Ok(ConfirmPage {
        question,
        consequences,
        action_url: format!("/admin/users/{}/action", u.id.0),
        fields: vec![("csrf_token".into(), csrf_token.to_string()), ("action".into(), action.into())],
        confirm_label: label,
        back: format!("/admin/users/{}", u.id.0),
        frame: Frame::new(req, Section::Users, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_i18n::Locale;

    const EN: Tr = Tr::new(Locale::En);
    const DE: Tr = Tr::new(Locale::De);

    #[test]
    fn every_message_this_file_uses_exists_in_every_language() {
        let source = include_str!("users.rs");
        let keys: Vec<&str> = source.split('"').filter(|s| s.starts_with("console-") && s.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !s.ends_with('-')).collect();
        assert!(keys.len() > 60, "the scan finds the keys ({})", keys.len());
        for locale in Locale::ALL {
            for key in &keys {
                assert!(Tr::new(locale).has(key), "{locale} lacks {key}");
            }
        }
    }

    #[test]
    fn counts_are_grouped_in_the_readers_language() {
        assert_eq!(grouped(EN, 0), "0");
        assert_eq!(grouped(EN, 999), "999");
        assert_eq!(grouped(EN, 1234), "1,234");
        assert_eq!(grouped(EN, 1_234_567), "1,234,567");
        assert_eq!(grouped(DE, 1234), "1.234");
    }

    #[test]
    fn sort_parameters_round_trip_and_junk_is_the_default() {
        for s in ["username", "-username", "last-sign-in", "-last-sign-in", "created", "-created"] {
            assert_eq!(Sort::parse(Some(s)).param(), s);
        }
        for junk in ["", "-", "password_hash", "--created", "username;drop"] {
            assert_eq!(Sort::parse(Some(junk)), Sort::DEFAULT, "{junk}");
        }
    }

    #[test]
    fn list_links_keep_the_search_and_leave_defaults_out() {
        assert_eq!(ListAt::new(None, None, None).url(), "/admin/users");
        assert_eq!(ListAt::new(Some(" a&b "), Some("-created"), Some("3")).url(), "/admin/users?q=a%26b&sort=-created&page=3");
        assert_eq!(ListAt::new(None, None, Some("-5")).page, 1);
        assert_eq!(ListAt::new(None, None, Some("99999999999")).page, MAX_PAGE);
    }

    #[test]
    fn headers_mark_the_current_order_and_toggle_it() {
        let at = ListAt::new(None, Some("-last-sign-in"), Some("2"));
        let hs = headers(EN, &at);
        assert_eq!((hs[0].aria_sort, hs[0].href.as_str()), ("", "/admin/users"));
        assert_eq!((hs[1].aria_sort, hs[1].href.as_str()), ("descending", "/admin/users?sort=last-sign-in"));
        assert_eq!((hs[2].aria_sort, hs[2].href.as_str()), ("", "/admin/users?sort=-created"));
    }

    #[test]
    fn badges_in_words() {
        let f = Facts { admin: true, disabled: false, password: true, passkeys: 0, authenticator_app: false, linked: false, signed_in: true };
        let words: Vec<String> = f.badges(EN).into_iter().map(|b| b.label).collect();
        assert_eq!(words, ["admin", "password only"]);
        let f = Facts { admin: false, disabled: false, password: false, passkeys: 0, authenticator_app: false, linked: false, signed_in: false };
        assert_eq!(f.badges(EN).into_iter().map(|b| b.label).collect::<Vec<_>>(), ["invited, no sign-in yet"]);
        let f = Facts { admin: false, disabled: true, password: true, passkeys: 2, authenticator_app: true, linked: false, signed_in: true };
        assert_eq!(f.badges(EN).into_iter().map(|b| b.label).collect::<Vec<_>>(), ["disabled", "2 passkeys", "second factor"]);
    }

    #[test]
    fn notices_name_what_was_done_and_who_was_skipped() {
        let d = Done { k: DoneKind::BulkDisabled, n: 3, u: vec!["alice".into(), "bob".into(), "carol".into()], x: vec![("root".into(), SkipWhy::Yourself)], y: 1, e: 0 };
        assert_eq!(d.text(EN), "3 users disabled: alice, bob, carol. Skipped: root (that is you).");
        let many: Vec<String> = (0..NAMES_SHOWN).map(|i| format!("u{i}")).collect();
        let d = Done { k: DoneKind::BulkSessionsEnded, n: 40, u: many, x: Vec::new(), y: 0, e: 0 };
        assert!(d.text(EN).ends_with("u9 and 30 more."), "{}", d.text(EN));
        let d = Done { k: DoneKind::SessionsEnded, n: 2, u: vec!["alice".into()], x: Vec::new(), y: 0, e: 0 };
        assert!(d.text(DE).contains("alice"), "{}", d.text(DE));
    }
}
