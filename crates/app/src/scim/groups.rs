//! SCIM Groups as latchkey's groups (the `groups` claim, API roles).
//! Members are users only. PATCH of members is applied member by member
//! (Entra ID adds and removes in groups of thousands, a few at a time);
//! a whole replacement is one transaction.

use latchkey_domain::UserId;
use latchkey_store::repo::scim::{self as repo, GroupRow};
use serde_json::{json, Value};

use super::clients::ScimClient;
use super::filter::{self, Filter};
use super::patch::{self, OpKind};
use super::{check_if_match, datetime, list_response, version_of, ListQuery, ScimError, GROUP_SCHEMA};
use crate::App;

/// The SCIM Group of a row.
pub fn resource_of(g: &GroupRow, base: &str) -> Value {
    let mut r = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id,
        "displayName": g.name,
        "members": g.members.iter().map(|(id, name)| json!({ "value": id, "display": name, "type": "User", "$ref": format!("{base}/Users/{id}") })).collect::<Vec<_>>(),
        "meta": { "resourceType": "Group", "created": datetime(g.created_at), "lastModified": datetime(g.updated_at.unwrap_or(g.created_at)), "location": format!("{base}/Groups/{}", g.id) },
    });
    if let Some(e) = &g.external_id {
        r["externalId"] = json!(e);
    }
    let version = version_of(&r);
    r["meta"]["version"] = json!(version);
    r
}

/// The member ids a `members` value names (`[{"value": id}, …]`).
fn member_ids(value: &Value) -> Result<Vec<String>, ScimError> {
    let items = match value {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![value.clone()],
        Value::Null => Vec::new(),
        _ => return Err(ScimError::InvalidValue("members are [{\"value\": id}]".into())),
    };
    items.iter().map(|m| filter::member(m, "value").and_then(Value::as_str).map(str::to_ascii_lowercase).ok_or_else(|| ScimError::InvalidValue("each member has a \"value\"".into()))).collect()
}

/// The member ids a remove's filter (`members[value eq "id"]`) names.
fn filtered_ids(f: &Filter, members: &[(String, String)]) -> Vec<String> {
    members.iter().filter(|(id, name)| filter::matches(&json!({ "value": id, "display": name }), f)).map(|(id, _)| id.clone()).collect()
}

fn display_name(body: &Value) -> Result<String, ScimError> {
    let name = filter::member(body, "displayName").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| ScimError::InvalidValue("displayName is required".into()))?;
    // latchkey group names travel in the `groups` claim: no spaces.
    Ok(name.split_whitespace().collect::<Vec<_>>().join("-"))
}

impl App {
    async fn scim_group_row(&self, id: &str) -> Result<GroupRow, ScimError> {
        let i = id.to_string();
        self.stores.db.run(move |c| repo::group(c, &i)).await?.ok_or(ScimError::NotFound("Group"))
    }

    pub async fn scim_get_group(&self, id: &str, base: &str) -> Result<Value, ScimError> {
        Ok(resource_of(&self.scim_group_row(id).await?, base))
    }

    pub async fn scim_list_groups(&self, query: &ListQuery, base: &str) -> Result<Value, ScimError> {
        let groups = self.stores.db.run(repo::groups).await?;
        list_response(groups.iter().map(|g| resource_of(g, base)).collect(), query)
    }

    /// `POST /Groups`.
    pub async fn scim_create_group(&self, client: &ScimClient, body: &Value, base: &str) -> Result<Value, ScimError> {
        let name = display_name(body)?;
        let admin = self.admin(client.actor());
        admin.create_group(&name).await.map_err(|e| match e {
            crate::AppError::Conflict(_) => ScimError::Uniqueness(format!("a group named {name:?} exists")),
            other => other.into(),
        })?;
        let n = name.clone();
        let id = self.stores.db.run(move |c| latchkey_store::repo::groups::find_id(c, &n)).await?.ok_or(ScimError::NotFound("Group"))?;
        let external = filter::member(body, "externalId").and_then(Value::as_str).map(str::to_string);
        let (i, n, now) = (id.clone(), name.clone(), self.clock.now());
        self.stores.db.run(move |c| repo::update_group(c, &i, &n, external.as_deref(), now)).await?;
        if let Some(m) = filter::member(body, "members") {
            self.scim_add_members(client, &id, &name, &member_ids(m)?).await?;
        }
        self.scim_get_group(&id, base).await
    }

    async fn scim_add_members(&self, client: &ScimClient, group_id: &str, group: &str, ids: &[String]) -> Result<(), ScimError> {
        let admin = self.admin(client.actor());
        for id in ids {
            if !latchkey_domain::user::looks_like_user_id(id) || self.authn.user(&UserId(id.clone())).await?.is_none() {
                return Err(ScimError::InvalidValue(format!("no user {id:?}")));
            }
            admin.add_group_member(group, &UserId(id.clone())).await?;
        }
        let (g, now) = (group_id.to_string(), self.clock.now());
        self.stores.db.run(move |c| repo::touch_group(c, &g, now)).await?;
        Ok(())
    }

    async fn scim_remove_members(&self, client: &ScimClient, group_id: &str, group: &str, ids: &[String]) -> Result<(), ScimError> {
        let admin = self.admin(client.actor());
        for id in ids {
            admin.remove_group_member(group, &UserId(id.clone())).await?;
        }
        let (g, now) = (group_id.to_string(), self.clock.now());
        self.stores.db.run(move |c| repo::touch_group(c, &g, now)).await?;
        Ok(())
    }

    /// Renames a group (audited as a change of its name by the SCIM client).
    async fn scim_rename_group(&self, row: &GroupRow, name: &str, external_id: Option<&str>) -> Result<(), ScimError> {
        let (i, n, e, now) = (row.id.clone(), name.to_string(), external_id.map(str::to_string), self.clock.now());
        self.stores.db.run(move |c| repo::update_group(c, &i, &n, e.as_deref(), now)).await.map_err(|e| match e {
            latchkey_store::StoreError::Conflict(_) => ScimError::Uniqueness(format!("a group named {name:?} exists")),
            other => other.into(),
        })?;
        self.oauth.forget_cached_apis();
        Ok(())
    }

    /// `PUT /Groups/{id}`: name and members as sent.
    pub async fn scim_replace_group(&self, client: &ScimClient, id: &str, body: &Value, if_match: Option<&str>, base: &str) -> Result<Value, ScimError> {
        let row = self.scim_group_row(id).await?;
        check_if_match(if_match, resource_of(&row, base)["meta"]["version"].as_str().unwrap_or_default())?;
        let name = display_name(body)?;
        let external = filter::member(body, "externalId").and_then(Value::as_str).map(str::to_string);
        self.scim_rename_group(&row, &name, external.as_deref()).await?;
        let wanted = member_ids(filter::member(body, "members").unwrap_or(&Value::Null))?;
        let current: Vec<String> = row.members.iter().map(|(u, _)| u.clone()).collect();
        let add: Vec<String> = wanted.iter().filter(|w| !current.contains(w)).cloned().collect();
        let remove: Vec<String> = current.iter().filter(|c| !wanted.contains(c)).cloned().collect();
        self.scim_add_members(client, id, &name, &add).await?;
        self.scim_remove_members(client, id, &name, &remove).await?;
        self.scim_get_group(id, base).await
    }

    /// `PATCH /Groups/{id}`: members added and removed one by one, the name replaced.
    pub async fn scim_patch_group(&self, client: &ScimClient, id: &str, body: &Value, if_match: Option<&str>, base: &str) -> Result<Value, ScimError> {
        let ops = patch::parse_request(body)?;
        let row = self.scim_group_row(id).await?;
        check_if_match(if_match, resource_of(&row, base)["meta"]["version"].as_str().unwrap_or_default())?;
        let mut name = row.name.clone();
        let mut external = row.external_id.clone();
        for op in ops {
            let top = op.path.as_ref().map(|p| p.top().to_ascii_lowercase());
            match (op.op, top.as_deref()) {
                (OpKind::Add, Some("members")) => self.scim_add_members(client, id, &name, &member_ids(op.value.as_ref().unwrap_or(&Value::Null))?).await?,
                (OpKind::Remove, Some("members")) => {
                    let current = self.scim_group_row(id).await?.members;
                    let ids = match (op.path.as_ref().and_then(|p| p.filter.as_ref()), &op.value) {
                        (Some(f), _) => filtered_ids(f, &current),
                        (None, Some(v)) => member_ids(v)?,
                        // `remove members`: all of them.
                        (None, None) => current.iter().map(|(u, _)| u.clone()).collect(),
                    };
                    self.scim_remove_members(client, id, &name, &ids).await?;
                }
                (OpKind::Replace, Some("members")) => {
                    let wanted = member_ids(op.value.as_ref().unwrap_or(&Value::Null))?;
                    let current: Vec<String> = self.scim_group_row(id).await?.members.into_iter().map(|(u, _)| u).collect();
                    let add: Vec<String> = wanted.iter().filter(|w| !current.contains(w)).cloned().collect();
                    let remove: Vec<String> = current.into_iter().filter(|c| !wanted.contains(c)).collect();
                    self.scim_add_members(client, id, &name, &add).await?;
                    self.scim_remove_members(client, id, &name, &remove).await?;
                }
                (OpKind::Add | OpKind::Replace, Some("displayname")) => name = display_name(&json!({ "displayName": op.value }))?,
                (OpKind::Add | OpKind::Replace, Some("externalid")) => external = op.value.as_ref().and_then(Value::as_str).map(str::to_string),
                (OpKind::Add | OpKind::Replace, None) => {
                    let value = op.value.clone().unwrap_or(Value::Null);
                    if let Some(n) = filter::member(&value, "displayName") {
                        name = display_name(&json!({ "displayName": n }))?;
                    }
                    if let Some(e) = filter::member(&value, "externalId") {
                        external = e.as_str().map(str::to_string);
                    }
                    if let Some(m) = filter::member(&value, "members") {
                        self.scim_add_members(client, id, &name, &member_ids(m)?).await?;
                    }
                }
                (_, other) => return Err(ScimError::InvalidPath(format!("a Group's {} cannot be changed", other.unwrap_or("?")))),
            }
        }
        if name != row.name || external != row.external_id {
            self.scim_rename_group(&row, &name, external.as_deref()).await?;
        }
        self.scim_get_group(id, base).await
    }

    /// `DELETE /Groups/{id}`.
    pub async fn scim_delete_group(&self, client: &ScimClient, id: &str, if_match: Option<&str>, base: &str) -> Result<(), ScimError> {
        let row = self.scim_group_row(id).await?;
        check_if_match(if_match, resource_of(&row, base)["meta"]["version"].as_str().unwrap_or_default())?;
        self.admin(client.actor()).remove_group(&row.name).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_names_read() {
        assert_eq!(member_ids(&json!([{ "value": "A" }, { "value": "b" }])).expect("ids"), vec!["a", "b"]);
        assert!(member_ids(&json!([{ "display": "x" }])).is_err());
        assert_eq!(display_name(&json!({ "displayName": " Sales  EMEA " })).expect("name"), "Sales-EMEA");
        assert!(display_name(&json!({})).is_err());
        let f = filter::parse(r#"value eq "u2""#).expect("filter");
        assert_eq!(filtered_ids(&f, &[("u1".into(), "a".into()), ("u2".into(), "b".into())]), vec!["u2"]);
    }
}
