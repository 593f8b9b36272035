//! SCIM Users as latchkey's users (RFC 7643 §4.1, with the enterprise
//! extension). What latchkey uses is mapped (userName, name, displayName,
//! emails, active, locale, timezone, externalId); everything else a
//! provisioner sends (title, phone numbers, the enterprise extension, …)
//! is kept as it came, so a whole PUT reads back as it was written.
//!
//! - A SCIM userName that is not a latchkey username (an address, most
//!   often) is kept as the userName; the latchkey username is derived from
//!   it (`bjensen` for `bjensen@example.com`, then `bjensen-2`, …).
//! - Users created by SCIM have no password: they get in as the SCIM
//!   client's onboarding says (an invitation mailed at once, or an
//!   upstream provider).
//! - `active: false` disables exactly as the console does (sessions,
//!   devices, tokens and links end); DELETE deletes as the console does.
//! - Administrators' accounts are read-only to SCIM.

use latchkey_domain::{Profile, SecurityEvent, User, UserId};
use latchkey_store::repo::scim::{self as repo, ScimUserData};
use serde_json::{json, Map, Value};

use super::clients::{Onboarding, ScimClient};
use super::patch::{self, boolean};
use super::{check_if_match, datetime, filter, list_response, version_of, ListQuery, ScimError, ENTERPRISE_SCHEMA, USER_SCHEMA};
use crate::App;

/// The attributes latchkey maps; everything else is kept as sent.
const MAPPED: [&str; 13] = ["schemas", "id", "meta", "userName", "externalId", "name", "displayName", "emails", "active", "locale", "timezone", "groups", "password"];

/// The most bytes of attributes latchkey keeps for a user without using them.
pub const MAX_KEPT_BYTES: usize = 16 * 1024;

/// What a SCIM User says of latchkey's user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserFields {
    pub user_name: String,
    pub external_id: Option<String>,
    /// The account's address; empty when the directory has none (the user
    /// then signs in through an upstream provider, and no mail reaches them).
    pub email: String,
    pub active: bool,
    pub profile: Profile,
    /// Everything else, kept as sent (an object).
    pub kept: Map<String, Value>,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Reads a SCIM User (as created, replaced or patched).
pub fn fields_of(resource: &Value) -> Result<UserFields, ScimError> {
    let obj = resource.as_object().ok_or_else(|| ScimError::InvalidSyntax("a User is a JSON object".into()))?;
    let user_name = text(filter::member(resource, "userName")).ok_or_else(|| ScimError::InvalidValue("userName is required".into()))?;
    if user_name.chars().count() > 254 || user_name.chars().any(char::is_control) {
        return Err(ScimError::InvalidValue("userName is at most 254 characters, none of them control characters".into()));
    }
    let emails = filter::member(resource, "emails").and_then(Value::as_array).cloned().unwrap_or_default();
    let primary = emails.iter().find(|e| filter::member(e, "primary").and_then(boolean) == Some(true)).or_else(|| emails.first());
    let email =
        primary.and_then(|e| text(filter::member(e, "value"))).or_else(|| (user_name.contains('@') && latchkey_authn::service::valid_email(&user_name)).then(|| user_name.clone())).unwrap_or_default();
    if !email.is_empty() && !latchkey_authn::service::valid_email(&email) {
        return Err(ScimError::InvalidValue(format!("{email:?} is not an email address")));
    }
    let active = match filter::member(resource, "active") {
        None | Some(Value::Null) => true,
        Some(v) => boolean(v).ok_or_else(|| ScimError::InvalidValue("active is true or false".into()))?,
    };
    let name = filter::member(resource, "name");
    let profile = Profile {
        name: text(filter::member(resource, "displayName")).or_else(|| text(name.and_then(|n| filter::member(n, "formatted")))),
        given_name: text(name.and_then(|n| filter::member(n, "givenName"))),
        family_name: text(name.and_then(|n| filter::member(n, "familyName"))),
        locale: text(filter::member(resource, "locale")).map(|l| l.replace('_', "-")),
        zoneinfo: text(filter::member(resource, "timezone")),
        updated_at: None,
    };
    let mut profile = profile;
    let mut unmapped = Vec::new();
    // A locale or time zone latchkey cannot use is kept as sent, not mapped.
    if profile.locale.is_some() && latchkey_authn::service::check_profile(&Profile { locale: profile.locale.clone(), ..Profile::default() }).is_err() {
        profile.locale = None;
        unmapped.push("locale");
    }
    if profile.zoneinfo.is_some() && latchkey_authn::service::check_profile(&Profile { zoneinfo: profile.zoneinfo.clone(), ..Profile::default() }).is_err() {
        profile.zoneinfo = None;
        unmapped.push("timezone");
    }
    latchkey_authn::service::check_profile(&profile).map_err(|e| ScimError::InvalidValue(e.to_string()))?;
    let mut kept: Map<String, Value> = obj.iter().filter(|(k, _)| !MAPPED.iter().any(|m| m.eq_ignore_ascii_case(k))).map(|(k, v)| (k.clone(), v.clone())).collect();
    for attr in unmapped {
        if let Some((k, v)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(attr)) {
            kept.insert(k.clone(), v.clone());
        }
    }
    // Every address is kept (the primary one is also the account's).
    if !emails.is_empty() {
        kept.insert("emails".into(), Value::Array(emails));
    }
    if let Some(n) = name {
        kept.insert("name".into(), n.clone());
    }
    if serde_json::to_vec(&kept).map(|b| b.len()).unwrap_or(usize::MAX) > MAX_KEPT_BYTES {
        return Err(ScimError::InvalidValue(format!("at most {MAX_KEPT_BYTES} bytes of other attributes")));
    }
    Ok(UserFields { user_name, external_id: text(filter::member(resource, "externalId")), email, active, profile, kept })
}

/// The SCIM User of `user`.
pub fn resource_of(user: &User, data: &ScimUserData, groups: &[(String, String)], base: &str) -> Value {
    let kept: Map<String, Value> = data.attributes.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default();
    let mut r = Map::new();
    let mut schemas = vec![json!(USER_SCHEMA)];
    if kept.keys().any(|k| k.eq_ignore_ascii_case(ENTERPRISE_SCHEMA)) {
        schemas.push(json!(ENTERPRISE_SCHEMA));
    }
    r.insert("schemas".into(), Value::Array(schemas));
    r.insert("id".into(), json!(user.id.0));
    if let Some(e) = &data.external_id {
        r.insert("externalId".into(), json!(e));
    }
    r.insert("userName".into(), json!(data.user_name.clone().unwrap_or_else(|| user.username.clone())));
    let mut name = kept.get("name").and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(g) = &user.profile.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &user.profile.family_name {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        r.insert("name".into(), Value::Object(name));
    }
    if let Some(n) = &user.profile.name {
        r.insert("displayName".into(), json!(n));
    }
    let emails = match kept.get("emails") {
        Some(Value::Array(list)) if list.iter().any(|e| e.get("value").and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(&user.email))) => Some(Value::Array(list.clone())),
        _ if user.email.is_empty() => None,
        _ => Some(json!([{ "value": user.email, "type": "work", "primary": true }])),
    };
    if let Some(emails) = emails {
        r.insert("emails".into(), emails);
    }
    r.insert("active".into(), json!(user.disabled_at.is_none()));
    if let Some(l) = &user.profile.locale {
        r.insert("locale".into(), json!(l));
    }
    if let Some(z) = &user.profile.zoneinfo {
        r.insert("timezone".into(), json!(z));
    }
    for (k, v) in kept {
        if !r.contains_key(&k) && !k.eq_ignore_ascii_case("emails") && !k.eq_ignore_ascii_case("name") {
            r.insert(k, v);
        }
    }
    if !groups.is_empty() {
        r.insert("groups".into(), Value::Array(groups.iter().map(|(id, name)| json!({ "value": id, "display": name, "$ref": format!("{base}/Groups/{id}") })).collect()));
    }
    let last_modified = user.profile.updated_at.unwrap_or(user.created_at).max(user.created_at);
    r.insert("meta".into(), json!({ "resourceType": "User", "created": datetime(user.created_at), "lastModified": datetime(last_modified), "location": format!("{base}/Users/{}", user.id.0) }));
    let mut resource = Value::Object(r);
    let version = version_of(&resource);
    resource["meta"]["version"] = json!(version);
    resource
}

/// A latchkey username for a SCIM userName: itself when it is one and free,
/// else its local part with other characters made `-`, then `-2`, `-3`, ….
fn derive_username(user_name: &str, taken: impl Fn(&str) -> bool) -> String {
    if latchkey_domain::user::valid_username(user_name) && !taken(user_name) {
        return user_name.to_string();
    }
    let local = user_name.split('@').next().unwrap_or(user_name);
    let mut base: String = local.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '-' }).take(56).collect();
    if base.trim_matches(|c| c == '-' || c == '.').is_empty() || latchkey_domain::user::looks_like_user_id(&base) {
        base = "user".into();
    }
    if !taken(&base) {
        return base;
    }
    (2..).map(|n| format!("{base}-{n}")).find(|candidate| !taken(candidate)).unwrap_or(base)
}

impl App {
    /// The groups of `user` as (id, name).
    async fn scim_groups_of(&self, user: &UserId) -> Result<Vec<(String, String)>, ScimError> {
        let id = user.0.clone();
        let groups = self.stores.db.run(repo::groups).await?;
        Ok(groups.into_iter().filter(|g| g.members.iter().any(|(u, _)| *u == id)).map(|g| (g.id, g.name)).collect())
    }

    async fn scim_user_resource(&self, user: &User, base: &str) -> Result<Value, ScimError> {
        let id = user.id.0.clone();
        let data = self.stores.db.run(move |c| repo::user_data(c, &id)).await?.unwrap_or_default();
        let groups = self.scim_groups_of(&user.id).await?;
        Ok(resource_of(user, &data, &groups, base))
    }

    async fn scim_user_by_id(&self, id: &str) -> Result<User, ScimError> {
        if !latchkey_domain::user::looks_like_user_id(id) {
            return Err(ScimError::NotFound("User"));
        }
        self.authn.user(&UserId(id.to_ascii_lowercase())).await?.ok_or(ScimError::NotFound("User"))
    }

    /// `GET /Users/{id}`.
    pub async fn scim_get_user(&self, id: &str, base: &str) -> Result<Value, ScimError> {
        let user = self.scim_user_by_id(id).await?;
        self.scim_user_resource(&user, base).await
    }

    /// `GET /Users`: every user as SCIM shows them, filtered, sorted, paged.
    /// `userName eq "…"` (what provisioners ask before creating) is one lookup.
    pub async fn scim_list_users(&self, query: &ListQuery, base: &str) -> Result<Value, ScimError> {
        let parsed = query.filter.as_deref().filter(|f| !f.trim().is_empty()).map(filter::parse).transpose()?;
        let users = match parsed.as_ref().and_then(|f| filter::equality_on(f, "userName")) {
            Some(name) => self.scim_find_by_user_name(&name).await?.into_iter().collect(),
            None => self.authn.list_users().await?,
        };
        let data: std::collections::HashMap<String, ScimUserData> = self.stores.db.run(repo::all_user_data).await?.into_iter().collect();
        let groups = self.stores.db.run(repo::groups).await?;
        let resources = users
            .iter()
            .map(|u| {
                let of: Vec<(String, String)> = groups.iter().filter(|g| g.members.iter().any(|(m, _)| *m == u.id.0)).map(|g| (g.id.clone(), g.name.clone())).collect();
                resource_of(u, data.get(&u.id.0).unwrap_or(&ScimUserData::default()), &of, base)
            })
            .collect();
        list_response(resources, query)
    }

    /// The user a SCIM userName names: its SCIM userName, else its username.
    async fn scim_find_by_user_name(&self, name: &str) -> Result<Option<User>, ScimError> {
        let n = name.to_string();
        if let Some(id) = self.stores.db.run(move |c| repo::user_by_scim_name(c, &n)).await? {
            return Ok(self.authn.user(&UserId(id)).await?);
        }
        if latchkey_domain::user::valid_username(name) {
            return Ok(self.authn.find_by_username(name).await?);
        }
        Ok(None)
    }

    /// `POST /Users`.
    pub async fn scim_create_user(&self, client: &ScimClient, body: &Value, base: &str) -> Result<Value, ScimError> {
        let fields = fields_of(body)?;
        if self.scim_find_by_user_name(&fields.user_name).await?.is_some() {
            return Err(ScimError::Uniqueness(format!("a user named {:?} exists", fields.user_name)));
        }
        let existing: Vec<String> = self.authn.list_users().await?.into_iter().map(|u| u.username.to_ascii_lowercase()).collect();
        let username = derive_username(&fields.user_name, |c| existing.contains(&c.to_ascii_lowercase()));
        let user = self.authn.create_provisioned(&username, &fields.email).await?;
        let data = ScimUserData {
            external_id: fields.external_id.clone(),
            user_name: Some(fields.user_name.clone()),
            client_id: Some(client.id.clone()),
            attributes: Some(Value::Object(fields.kept.clone()).to_string()),
        };
        let (id, now) = (user.id.0.clone(), self.clock.now());
        if let Err(e) = self.stores.db.run(move |c| repo::set_user_data(c, &id, &data, now)).await {
            // Two creations of one userName at once: the unique index lets one win.
            self.authn.delete_user(&user.id).await?;
            return Err(match e {
                latchkey_store::StoreError::Conflict(_) => ScimError::Uniqueness(format!("a user named {:?} exists", fields.user_name)),
                other => other.into(),
            });
        }
        if fields.profile != Profile::default() {
            self.authn.set_profile(&user.id, fields.profile.clone()).await?;
        }
        self.oauth.record(&client.actor().audited(), SecurityEvent::ScimUserCreated { user: user.id.clone(), username: username.clone() }).await;
        if !fields.active {
            self.admin(client.actor()).set_disabled(&user, true).await?;
        } else if client.onboarding == Onboarding::Invite && !user.email.is_empty() {
            let token = self.links.issue(latchkey_authn::Purpose::Setup, &user.id, &user.email, self.invite_ttl).await?;
            let url = self.link_url("/setup", &token);
            let notice = latchkey_authn::Notice::Invitation { username: &username, url: &url, hours: self.invite_ttl / 3600 };
            self.notify(&user.email, latchkey_i18n::Tr::default(), notice).await;
        }
        self.scim_get_user(&user.id.0, base).await
    }

    /// `PUT /Users/{id}`: the whole user as sent (what is not sent is gone).
    pub async fn scim_replace_user(&self, client: &ScimClient, id: &str, body: &Value, if_match: Option<&str>, base: &str) -> Result<Value, ScimError> {
        let user = self.scim_user_by_id(id).await?;
        let current = self.scim_user_resource(&user, base).await?;
        check_if_match(if_match, current["meta"]["version"].as_str().unwrap_or_default())?;
        self.scim_write_user(client, &user, fields_of(body)?, base).await
    }

    /// `PATCH /Users/{id}`.
    pub async fn scim_patch_user(&self, client: &ScimClient, id: &str, body: &Value, if_match: Option<&str>, base: &str) -> Result<Value, ScimError> {
        let ops = patch::parse_request(body)?;
        let user = self.scim_user_by_id(id).await?;
        let mut resource = self.scim_user_resource(&user, base).await?;
        check_if_match(if_match, resource["meta"]["version"].as_str().unwrap_or_default())?;
        patch::apply(&mut resource, &ops)?;
        self.scim_write_user(client, &user, fields_of(&resource)?, base).await
    }

    /// Writes what a replaced or patched User says.
    async fn scim_write_user(&self, client: &ScimClient, user: &User, fields: UserFields, base: &str) -> Result<Value, ScimError> {
        if user.admin {
            return Err(ScimError::Mutability("administrators' accounts are changed in latchkey's console, not by SCIM".into()));
        }
        if let Some(other) = self.scim_find_by_user_name(&fields.user_name).await? {
            if other.id != user.id {
                return Err(ScimError::Uniqueness(format!("a user named {:?} exists", fields.user_name)));
            }
        }
        let id = user.id.0.clone();
        let before = self.stores.db.run(move |c| repo::user_data(c, &id)).await?.unwrap_or_default();
        let data = ScimUserData {
            external_id: fields.external_id.clone(),
            user_name: Some(fields.user_name.clone()),
            client_id: before.client_id.clone().or_else(|| Some(client.id.clone())),
            attributes: Some(Value::Object(fields.kept.clone()).to_string()),
        };
        let (id, now) = (user.id.0.clone(), self.clock.now());
        self.stores.db.run(move |c| repo::set_user_data(c, &id, &data, now)).await.map_err(|e| match e {
            latchkey_store::StoreError::Conflict(_) => ScimError::Uniqueness(format!("a user named {:?} exists", fields.user_name)),
            other => other.into(),
        })?;
        if !fields.email.eq_ignore_ascii_case(&user.email) {
            // The directory's address; proven again by a link before it counts as verified.
            self.authn.set_email(&user.id, &fields.email, false).await?;
        }
        if fields.profile != (Profile { updated_at: None, ..user.profile.clone() }) {
            self.authn.set_profile(&user.id, fields.profile.clone()).await?;
        }
        let admin = self.admin(client.actor());
        match (user.disabled_at.is_some(), fields.active) {
            (false, false) => admin.set_disabled(user, true).await?,
            (true, true) => admin.set_disabled(user, false).await?,
            _ => {}
        }
        self.oauth.record(&client.actor().audited(), SecurityEvent::ScimUserUpdated { user: user.id.clone() }).await;
        self.scim_get_user(&user.id.0, base).await
    }

    /// `DELETE /Users/{id}`: deleted as the console deletes.
    pub async fn scim_delete_user(&self, client: &ScimClient, id: &str, if_match: Option<&str>, base: &str) -> Result<(), ScimError> {
        let user = self.scim_user_by_id(id).await?;
        if user.admin {
            return Err(ScimError::Mutability("administrators' accounts are deleted in latchkey's console, not by SCIM".into()));
        }
        let current = self.scim_user_resource(&user, base).await?;
        check_if_match(if_match, current["meta"]["version"].as_str().unwrap_or_default())?;
        self.admin(client.actor()).delete_user(&user).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_come_from_scim_user_names() {
        let none = |_: &str| false;
        assert_eq!(derive_username("bjensen", none), "bjensen");
        assert_eq!(derive_username("b.jensen@example.com", none), "b.jensen");
        assert_eq!(derive_username("Barbara Jensen+work@example.com", none), "Barbara-Jensen-work");
        assert_eq!(derive_username("@@@", none), "user");
        assert_eq!(derive_username("2819c223-7f76-453a-919d-413861904646", none), "user", "never shaped like a user id");
        let taken = |n: &str| n == "bjensen" || n == "bjensen-2";
        assert_eq!(derive_username("bjensen@example.com", taken), "bjensen-3");
    }

    #[test]
    fn a_user_reads_whole_or_says_what_is_wrong() {
        let f = fields_of(&json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "userName": "bjensen@example.com",
            "externalId": "00u1",
            "name": { "givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen" },
            "emails": [{ "value": "home@jensen.org", "type": "home" }, { "value": "bjensen@example.com", "type": "work", "primary": "True" }],
            "active": "False",
            "locale": "en_US",
            "title": "Tour Guide",
            ENTERPRISE_SCHEMA: { "employeeNumber": "701984" },
            "password": "never kept",
        }))
        .expect("reads");
        assert_eq!((f.email.as_str(), f.active, f.external_id.as_deref()), ("bjensen@example.com", false, Some("00u1")));
        assert_eq!(f.profile.name.as_deref(), Some("Ms. Barbara J Jensen"));
        assert_eq!(f.profile.locale.as_deref(), Some("en-US"));
        assert_eq!(f.kept["title"], "Tour Guide");
        assert!(f.kept.contains_key(ENTERPRISE_SCHEMA) && !f.kept.contains_key("password"), "a password is never kept");
        assert!(matches!(fields_of(&json!({ "emails": [] })), Err(ScimError::InvalidValue(_))));
        assert_eq!(fields_of(&json!({ "userName": "x" })).expect("no address at all").email, "", "no address: an upstream provider's user");
        assert!(matches!(fields_of(&json!({ "userName": "x", "emails": [{ "value": "not an address" }] })), Err(ScimError::InvalidValue(_))));
        let odd = fields_of(&json!({ "userName": "x", "locale": "Klingon_Empire!", "timezone": "Mars/Olympus" })).expect("reads");
        assert_eq!((odd.profile.locale, odd.profile.zoneinfo), (None, None));
        assert_eq!((odd.kept["locale"].as_str(), odd.kept["timezone"].as_str()), (Some("Klingon_Empire!"), Some("Mars/Olympus")), "kept as sent");
        assert!(matches!(fields_of(&json!({ "userName": "x@example.com", "active": "maybe" })), Err(ScimError::InvalidValue(_))));
        assert!(matches!(fields_of(&json!({ "userName": "x\u{0}@example.com" })), Err(ScimError::InvalidValue(_))));
        assert!(matches!(fields_of(&json!({ "userName": "x@example.com", "title": "a".repeat(MAX_KEPT_BYTES) })), Err(ScimError::InvalidValue(_))));
    }
}
