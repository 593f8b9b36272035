//! What administrators do, and the rules they may not break whichever door
//! they come through: the console (a signed-in admin), the admin API (a
//! token with the `admin` scope) or the CLI on the server.
//!
//! Rules kept here, for every door:
//! - not yourself: an administrator cannot disable, delete or demote the
//!   account they are acting as ([`Refusal::NotYourself`]);
//! - never the last administrator: no door disables, deletes or demotes
//!   the last enabled one ([`Refusal::LastAdmin`], checked in one
//!   transaction with the change, so two admins acting at once cannot both
//!   pass it).
//!
//! Every action is audited with who did it ([`Actor::audit_name`]).

pub mod alerts;
mod clients;
mod grants;
mod passkey_policy;
pub mod stats;
mod users;

/// The actions, named once for every door (`latchkey_domain::admin`).
pub use latchkey_domain::admin::{ClientAction, UserAction};
/// What a bulk action on users did, and whom it left alone.
pub use users::{BulkOutcome, Skipped, MAX_BULK_USERS};

use latchkey_domain::{User, UserId};

use crate::{App, AppError, Refusal};

/// Who is acting as an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An administrator signed in to the console.
    User(UserId),
    /// An admin API bearer token: the admin client it was issued to, and
    /// its subject (a user id when a user obtained it, else the client).
    Token { client: String, subject: String },
    /// The command line on the server (whoever can read its configuration).
    Cli,
    /// A SCIM client provisioning users (issue #30): its id and name.
    Scim { client: String, name: String },
}

impl Actor {
    /// Whether this actor is `user` (the "not yourself" rule).
    pub fn is(&self, user: &UserId) -> bool {
        match self {
            Actor::User(id) => id == user,
            Actor::Token { subject, .. } => *subject == user.0,
            Actor::Cli | Actor::Scim { .. } => false,
        }
    }

    /// The actor column of the audit trail.
    pub fn audited(&self) -> latchkey_domain::Actor {
        match self {
            Actor::User(id) => latchkey_domain::Actor::Admin(id.clone()),
            Actor::Token { client, .. } => latchkey_domain::Actor::Client(latchkey_domain::ClientId(client.clone())),
            Actor::Cli => latchkey_domain::Actor::Cli,
            Actor::Scim { client, .. } => latchkey_domain::Actor::Scim(client.clone()),
        }
    }

    /// How the audit trail names the actor.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::User(id) => format!("admin {}", id.0),
            Actor::Token { client, .. } => format!("admin client {client}"),
            Actor::Cli => "the command line".to_string(),
            Actor::Scim { name, .. } => format!("SCIM client {name}"),
        }
    }
}

/// The administration use cases, as one actor: `app.admin(actor)`.
pub struct Admin<'a> {
    pub(crate) app: &'a App,
    pub(crate) actor: Actor,
}

impl App {
    /// Acts as the administrator `actor`.
    pub fn admin(&self, actor: Actor) -> Admin<'_> {
        Admin { app: self, actor }
    }
}

impl Admin<'_> {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Refuses when the actor is `user` (`what`: "disable", "delete", "demote").
    fn not_yourself(&self, user: &User, what: &'static str) -> Result<(), AppError> {
        if self.actor.is(&user.id) {
            return Err(Refusal::NotYourself(what).into());
        }
        Ok(())
    }

    /// A user by id or username, typed by its shape: a UUID is only ever
    /// looked up as an id, anything else only as a username (whatever its
    /// case). A username shaped like another account's id (possible before
    /// issue #24 item 5) can therefore never stand in for that account.
    pub async fn find_user(&self, name_or_id: &str) -> Result<Option<User>, AppError> {
        if latchkey_domain::user::looks_like_user_id(name_or_id) {
            return Ok(self.app.authn.user(&UserId(name_or_id.to_ascii_lowercase())).await?);
        }
        Ok(self.app.authn.find_by_username(name_or_id).await?)
    }

    /// [`Admin::find_user`], or [`AppError::NotFound`].
    pub async fn user(&self, name_or_id: &str) -> Result<User, AppError> {
        self.find_user(name_or_id).await?.ok_or(AppError::NotFound("user"))
    }
}
