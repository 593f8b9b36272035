//! What the SCIM server says of itself (RFC 7644 §4): its configuration,
//! its resource types, and the schemas of their attributes.

use serde_json::{json, Value};

use super::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, MAX_PAGE, USER_SCHEMA};

/// `/ServiceProviderConfig`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/latchkey/latchkey#provisioning-with-scim",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_PAGE },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A SCIM client's token: latchkey scim token create --name <directory>",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") },
    })
}

fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "People who sign in",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": ENTERPRISE_SCHEMA, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups", "description": "Groups of users (the groups claim, API roles)",
            "schema": GROUP_SCHEMA,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

/// An attribute definition (RFC 7643 §7).
fn attr(name: &str, kind: &str, multi: bool, required: bool, unique: &str, subs: Vec<Value>) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": multi, "required": required, "caseExact": name == "id" || name == "externalId",
        "mutability": if name == "id" { "readOnly" } else { "readWrite" }, "returned": "default", "uniqueness": unique, "description": name,
    });
    if !subs.is_empty() {
        a["subAttributes"] = Value::Array(subs);
    }
    a
}

fn plain(name: &str) -> Value {
    attr(name, "string", false, false, "none", vec![])
}

fn multi_valued(name: &str) -> Value {
    attr(name, "complex", true, false, "none", vec![plain("value"), plain("display"), plain("type"), attr("primary", "boolean", false, false, "none", vec![])])
}

fn schemas(base: &str) -> Vec<Value> {
    let mut groups = multi_valued("groups");
    groups["mutability"] = json!("readOnly");
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "User account",
        "attributes": [
            attr("userName", "string", false, true, "server", vec![]),
            attr("name", "complex", false, false, "none", vec![plain("formatted"), plain("familyName"), plain("givenName"), plain("middleName"), plain("honorificPrefix"), plain("honorificSuffix")]),
            plain("displayName"), plain("nickName"), plain("profileUrl"), plain("title"), plain("userType"), plain("preferredLanguage"), plain("locale"), plain("timezone"),
            attr("active", "boolean", false, false, "none", vec![]),
            multi_valued("emails"), multi_valued("phoneNumbers"), multi_valued("ims"), multi_valued("photos"),
            attr("addresses", "complex", true, false, "none", vec![plain("formatted"), plain("streetAddress"), plain("locality"), plain("region"), plain("postalCode"), plain("country"), plain("type")]),
            groups,
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}") },
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
        "attributes": [attr("displayName", "string", false, true, "server", vec![]), multi_valued("members")],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}") },
    });
    let enterprise = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": ENTERPRISE_SCHEMA, "name": "EnterpriseUser", "description": "Enterprise User",
        "attributes": [
            plain("employeeNumber"), plain("costCenter"), plain("organization"), plain("division"), plain("department"),
            attr("manager", "complex", false, false, "none", vec![plain("value"), plain("displayName")]),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{ENTERPRISE_SCHEMA}") },
    });
    vec![user, group, enterprise]
}

fn list(resources: Vec<Value>) -> Value {
    json!({ "schemas": [LIST_SCHEMA], "totalResults": resources.len(), "startIndex": 1, "itemsPerPage": resources.len(), "Resources": resources })
}

/// `/ResourceTypes`, or one of them by id.
pub fn resource_type(base: &str, id: Option<&str>) -> Option<Value> {
    match id {
        None => Some(list(resource_types(base))),
        Some(id) => resource_types(base).into_iter().find(|r| r["id"] == id),
    }
}

/// `/Schemas`, or one of them by URN.
pub fn schema(base: &str, id: Option<&str>) -> Option<Value> {
    match id {
        None => Some(list(schemas(base))),
        Some(id) => schemas(base).into_iter().find(|s| s["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(id))),
    }
}
