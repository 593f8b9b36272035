//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource as JSON, as real
//! provisioners send it: Entra ID's `"Operations"` and `"op": "Replace"`,
//! booleans as strings (`"True"`), value paths such as
//! `emails[type eq "work"].value`, extension attributes by their URN.
//!
//! The resource is then read back as a whole (and checked) by its type.

use serde_json::{Map, Value};

use super::filter::{self, matches, member, parse_attr_path, AttrPath, Filter};
use super::ScimError;

/// At most this many operations in one request.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One operation: what it does, where (`None`: the resource itself), with what.
#[derive(Debug, Clone)]
pub struct Operation {
    pub op: OpKind,
    pub path: Option<Path>,
    pub value: Option<Value>,
}

/// `attr[.sub]`, or `attr[filter][.sub]`.
#[derive(Debug, Clone)]
pub struct Path {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a filter (`.value`).
    pub sub_after_filter: Option<String>,
}

impl Path {
    /// The top attribute's name (what a resource type looks at, e.g. `members`).
    pub fn top(&self) -> &str {
        &self.attr.attr
    }
}

fn bad_path(detail: impl Into<String>) -> ScimError {
    ScimError::InvalidPath(detail.into())
}

pub fn parse_path(text: &str) -> Result<Path, ScimError> {
    let text = text.trim();
    match text.find('[') {
        None => Ok(Path { attr: parse_attr_path(text).map_err(|_| bad_path(format!("{text:?} is not a path")))?, filter: None, sub_after_filter: None }),
        Some(open) => {
            let close = text.rfind(']').ok_or_else(|| bad_path("a bracket is not closed"))?;
            if close < open {
                return Err(bad_path("a bracket is not closed"));
            }
            let attr = parse_attr_path(&text[..open]).map_err(|_| bad_path(format!("{text:?} is not a path")))?;
            let inner = filter::parse(&text[open + 1..close]).map_err(|e| bad_path(e.to_string()))?;
            let rest = &text[close + 1..];
            let sub = match rest.strip_prefix('.') {
                Some(s) if !s.is_empty() => Some(s.to_string()),
                None if rest.is_empty() => None,
                _ => return Err(bad_path(format!("{text:?} is not a path"))),
            };
            Ok(Path { attr, filter: Some(inner), sub_after_filter: sub })
        }
    }
}

/// Reads the operations of a PatchOp request body.
pub fn parse_request(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let ops = member(body, "Operations").and_then(Value::as_array).ok_or_else(|| ScimError::InvalidSyntax("a PatchOp needs \"Operations\"".into()))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::TooMany(format!("at most {MAX_OPERATIONS} operations")));
    }
    ops.iter()
        .map(|o| {
            let op = match member(o, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("add") => OpKind::Add,
                Some("replace") => OpKind::Replace,
                Some("remove") => OpKind::Remove,
                _ => return Err(ScimError::InvalidSyntax("each operation's \"op\" is add, replace or remove".into())),
            };
            let path = match member(o, "path").and_then(Value::as_str) {
                Some(p) if !p.trim().is_empty() => Some(parse_path(p)?),
                _ => None,
            };
            let value = member(o, "value").cloned();
            if op != OpKind::Remove && value.is_none() {
                return Err(ScimError::InvalidValue("add and replace need a \"value\"".into()));
            }
            if op == OpKind::Remove && path.is_none() {
                return Err(ScimError::NoTarget("remove needs a \"path\"".into()));
            }
            Ok(Operation { op, path, value })
        })
        .collect()
}

/// The key of `obj` naming `name` whatever its case, or `name` itself.
fn key_of(obj: &Map<String, Value>, name: &str) -> String {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.to_string())
}

/// The object an attribute path's top attribute lives in (the resource, or
/// its extension object by URN, made if missing).
fn container<'a>(resource: &'a mut Value, path: &AttrPath) -> Result<&'a mut Map<String, Value>, ScimError> {
    let root = resource.as_object_mut().ok_or_else(|| ScimError::InvalidSyntax("the resource is not an object".into()))?;
    match &path.schema {
        Some(urn) if !filter::is_core(urn) => {
            let key = key_of(root, urn);
            let ext = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            ext.as_object_mut().ok_or_else(|| ScimError::InvalidSyntax("an extension is not an object".into()))
        }
        _ => Ok(root),
    }
}

/// Merges `value` into `target` as `add` does: arrays append (no duplicates), objects merge.
fn add_into(target: &mut Value, value: Value) {
    match (target, value) {
        (Value::Array(items), Value::Array(new)) => {
            for v in new {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
        }
        (Value::Array(items), v) => {
            if !items.contains(&v) {
                items.push(v);
            }
        }
        (Value::Object(obj), Value::Object(new)) => {
            for (k, v) in new {
                let key = key_of(obj, &k);
                match obj.get_mut(&key) {
                    Some(existing) if existing.is_object() || existing.is_array() => add_into(existing, v),
                    _ => {
                        obj.insert(key, v);
                    }
                }
            }
        }
        (t, v) => *t = v,
    }
}

fn apply_one(resource: &mut Value, op: &Operation) -> Result<(), ScimError> {
    let Some(path) = &op.path else {
        // No path: the value is a partial resource (keys may be URNs or dotted paths).
        let Some(Value::Object(fields)) = op.value.clone() else {
            return Err(ScimError::InvalidValue("without a path the value is an object".into()));
        };
        for (k, v) in fields {
            let sub = Operation { op: op.op, path: Some(parse_path(&k)?), value: Some(v) };
            apply_one(resource, &sub)?;
        }
        return Ok(());
    };
    let obj = container(resource, &path.attr)?;
    let top = key_of(obj, &path.attr.attr);
    match (&path.filter, &path.attr.sub) {
        // attr.sub (no filter): a sub-attribute of a complex attribute.
        (None, Some(sub)) => {
            let parent = obj.entry(top).or_insert_with(|| Value::Object(Map::new()));
            if !parent.is_object() {
                *parent = Value::Object(Map::new());
            }
            let parent = parent.as_object_mut().ok_or_else(|| bad_path("not a complex attribute"))?;
            let key = key_of(parent, sub);
            match op.op {
                OpKind::Remove => {
                    parent.remove(&key);
                }
                _ => {
                    parent.insert(key, op.value.clone().unwrap_or(Value::Null));
                }
            }
        }
        (None, None) => match op.op {
            OpKind::Remove => {
                obj.remove(&top);
            }
            OpKind::Replace => {
                obj.insert(top, op.value.clone().unwrap_or(Value::Null));
            }
            OpKind::Add => match obj.get_mut(&top) {
                Some(existing) => add_into(existing, op.value.clone().unwrap_or(Value::Null)),
                None => {
                    obj.insert(top, op.value.clone().unwrap_or(Value::Null));
                }
            },
        },
        (Some(filter), _) => {
            let items = obj.entry(top).or_insert_with(|| Value::Array(Vec::new()));
            if !items.is_array() {
                *items = Value::Array(Vec::new());
            }
            let Value::Array(items) = items else { return Err(bad_path("not a multi-valued attribute")) };
            match (&op.op, &path.sub_after_filter) {
                (OpKind::Remove, None) => items.retain(|item| !matches(item, filter)),
                (OpKind::Remove, Some(sub)) => {
                    for item in items.iter_mut().filter(|i| matches(i, filter)) {
                        if let Some(o) = item.as_object_mut() {
                            let key = key_of(o, sub);
                            o.remove(&key);
                        }
                    }
                }
                (_, sub) => {
                    let value = op.value.clone().unwrap_or(Value::Null);
                    let mut hit = false;
                    for item in items.iter_mut().filter(|i| matches(i, filter)) {
                        hit = true;
                        match (sub, item.as_object_mut()) {
                            (Some(sub), Some(o)) => {
                                let key = key_of(o, sub);
                                o.insert(key, value.clone());
                            }
                            (None, _) => add_into(item, value.clone()),
                            _ => {}
                        }
                    }
                    if !hit {
                        // Entra ID sets `emails[type eq "work"].value` on a user
                        // that has no work address yet: the element is made,
                        // with what the filter's equalities say.
                        let mut made = Map::new();
                        seed(filter, &mut made);
                        match sub {
                            Some(sub) => {
                                made.insert(sub.clone(), value);
                            }
                            None => {
                                if let Value::Object(v) = value {
                                    made.extend(v);
                                }
                            }
                        }
                        items.push(Value::Object(made));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The attributes a filter's equalities fix (`type eq "work"` → `type: work`).
fn seed(filter: &Filter, into: &mut Map<String, Value>) {
    match filter {
        Filter::Compare(p, filter::Op::Eq, v) if p.sub.is_none() && p.schema.is_none() => {
            into.insert(p.attr.clone(), v.clone());
        }
        Filter::And(a, b) => {
            seed(a, into);
            seed(b, into);
        }
        _ => {}
    }
}

/// Applies `ops` to `resource`, in order.
pub fn apply(resource: &mut Value, ops: &[Operation]) -> Result<(), ScimError> {
    for op in ops {
        apply_one(resource, op)?;
    }
    Ok(())
}

/// A boolean as provisioners send one: `true`, or `"True"`.
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(resource: Value, body: Value) -> Value {
        let mut r = resource;
        apply(&mut r, &parse_request(&body).expect("parses")).expect("applies");
        r
    }

    #[test]
    fn entra_shapes() {
        let user = json!({ "userName": "a@example.com", "active": true, "emails": [{ "type": "work", "value": "a@example.com", "primary": true }] });
        let body = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            { "op": "Replace", "path": "active", "value": "False" },
            { "op": "Add", "path": "emails[type eq \"work\"].value", "value": "b@example.com" },
            { "op": "Add", "path": "name.givenName", "value": "Bea" },
            { "op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales" },
            { "op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+49 30 1234" },
        ]});
        let r = patched(user, body);
        assert_eq!(boolean(&r["active"]), Some(false));
        assert_eq!(r["emails"], json!([{ "type": "work", "value": "b@example.com", "primary": true }]));
        assert_eq!(r["name"]["givenName"], "Bea");
        assert_eq!(r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"], "Sales");
        assert_eq!(r["phoneNumbers"], json!([{ "type": "mobile", "value": "+49 30 1234" }]));
    }

    #[test]
    fn no_path_members_and_removes() {
        let group = json!({ "displayName": "Sales", "members": [{ "value": "u1" }, { "value": "u2" }] });
        let r = patched(
            group.clone(),
            json!({ "Operations": [
                { "op": "add", "path": "members", "value": [{ "value": "u3" }, { "value": "u1" }] },
                { "op": "remove", "path": "members[value eq \"u2\"]" },
                { "op": "replace", "value": { "displayName": "Sales EMEA" } },
            ]}),
        );
        assert_eq!(r["members"], json!([{ "value": "u1" }, { "value": "u3" }]));
        assert_eq!(r["displayName"], "Sales EMEA");
        let r = patched(group, json!({ "Operations": [{ "op": "remove", "path": "members" }] }));
        assert!(r.get("members").is_none());
    }

    #[test]
    fn bad_requests_are_scim_errors() {
        assert!(parse_request(&json!({})).is_err());
        assert!(parse_request(&json!({ "Operations": [{ "op": "move", "path": "a" }] })).is_err());
        assert!(matches!(parse_request(&json!({ "Operations": [{ "op": "remove" }] })), Err(ScimError::NoTarget(_))));
        assert!(matches!(parse_request(&json!({ "Operations": [{ "op": "add", "path": "emails[type eq", "value": 1 }] })), Err(ScimError::InvalidPath(_))));
        let many: Vec<Value> = (0..=MAX_OPERATIONS).map(|_| json!({ "op": "remove", "path": "title" })).collect();
        assert!(parse_request(&json!({ "Operations": many })).is_err());
    }
}
