//! Groups and their members (an API's roles are granted to groups).

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

use super::{created, json_schema, not_found, ok, user_named, AdminClient, Removed};
use crate::error::WebError;
use crate::state::AppState;

const TAG: &str = "groups";

/// A group and its members' usernames.
#[derive(Serialize, ToSchema)]
pub struct GroupView {
    pub name: String,
    pub members: Vec<String>,
}

#[utoipa::path(summary = "List groups and members", tag = TAG, operation_id = "listGroups", responses((status = 200, description = "Every group", body = Vec<GroupView>)))]
#[get("/groups")]
pub async fn list_groups(caller: AdminClient, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let groups = state.admin(caller.by()).list_groups().await.map_err(WebError::api)?;
    Ok(ok(groups.into_iter().map(|(name, members)| GroupView { name, members }).collect::<Vec<_>>()))
}

fn group_name_schema() -> Object {
    json_schema(json!({ "type": "string", "minLength": 1, "pattern": "\\S" }))
}

/// A group's name.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct GroupName {
    #[schema(schema_with = group_name_schema)]
    pub name: String,
}

#[utoipa::path(
    summary = "Create a group",
    tag = TAG,
    operation_id = "createGroup",
    request_body = GroupName,
    responses((status = 201, description = "Created", body = GroupName), (status = 400, description = "invalid_request"), (status = 409, description = "it already exists", body = super::Error))
)]
#[post("/groups")]
pub async fn create_group(caller: AdminClient, state: web::Data<AppState>, body: web::Json<GroupName>) -> Result<HttpResponse, WebError> {
    state.admin(caller.by()).create_group(&body.name).await.map_err(WebError::api)?;
    Ok(created(body.into_inner()))
}

#[utoipa::path(
    summary = "Remove a group",
    tag = TAG,
    operation_id = "deleteGroup",
    responses((status = 200, description = "Removed: the group's name", body = Removed), (status = 404, description = "no such group", body = super::Error))
)]
#[delete("/groups/{name}")]
pub async fn delete_group(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    if !state.admin(caller.by()).remove_group(&path).await.map_err(WebError::api)? {
        return Err(not_found("group"));
    }
    Ok(ok(Removed { removed: path.into_inner() }))
}

/// A member to add.
#[derive(Deserialize, ToSchema)]
pub struct MemberRequest {
    /// A username or user id.
    #[schema(min_length = 1)]
    username: String,
}

/// The group and the member added.
#[derive(Serialize, ToSchema)]
pub struct MemberAdded {
    pub group: String,
    pub username: String,
}

#[utoipa::path(
    summary = "Add a member",
    tag = TAG,
    operation_id = "addGroupMember",
    request_body = MemberRequest,
    responses((status = 200, description = "Added", body = MemberAdded), (status = 400, description = "invalid_request"), (status = 404, description = "no such group or user", body = super::Error))
)]
#[post("/groups/{name}/members")]
pub async fn add_member(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<MemberRequest>) -> Result<HttpResponse, WebError> {
    let user = user_named(&state, &body.username).await?;
    state.admin(caller.by()).add_group_member(&path, &user.id).await.map_err(WebError::api)?;
    Ok(ok(MemberAdded { group: path.into_inner(), username: user.username }))
}

#[utoipa::path(
    summary = "Remove a member",
    tag = TAG,
    operation_id = "removeGroupMember",
    responses((status = 200, description = "Removed: the username", body = Removed), (status = 404, description = "no such group, user or member", body = super::Error))
)]
#[delete("/groups/{name}/members/{username}")]
pub async fn remove_member(caller: AdminClient, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (group, username) = path.into_inner();
    let user = user_named(&state, &username).await?;
    if !state.admin(caller.by()).remove_group_member(&group, &user.id).await.map_err(WebError::api)? {
        return Err(not_found("member"));
    }
    Ok(ok(Removed { removed: username }))
}
