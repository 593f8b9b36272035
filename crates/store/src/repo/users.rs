use diesel::prelude::*;
use latchkey_domain::{Profile, User, UserId};

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{passkeys, users};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
struct UserRow {
    id: String,
    username: String,
    email: String,
    password_hash: Option<String>,
    admin: bool,
    created_at: i64,
    email_verified: bool,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    locale: Option<String>,
    updated_at: Option<i64>,
    disabled_at: Option<i64>,
    zoneinfo: Option<String>,
    passkey_only: bool,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            username: r.username,
            email: r.email,
            password_hash: r.password_hash,
            admin: r.admin,
            created_at: r.created_at,
            email_verified: r.email_verified,
            profile: Profile { name: r.name, given_name: r.given_name, family_name: r.family_name, locale: r.locale, zoneinfo: r.zoneinfo, updated_at: r.updated_at },
            disabled_at: r.disabled_at,
            passkey_only: r.passkey_only,
        }
    }
}

pub fn insert(conn: &mut DbConnection, user: &User) -> Result<(), StoreError> {
    let row = UserRow {
        id: user.id.0.clone(),
        username: user.username.clone(),
        email: user.email.clone(),
        password_hash: user.password_hash.clone(),
        admin: user.admin,
        created_at: user.created_at,
        email_verified: user.email_verified,
        name: user.profile.name.clone(),
        given_name: user.profile.given_name.clone(),
        family_name: user.profile.family_name.clone(),
        locale: user.profile.locale.clone(),
        updated_at: user.profile.updated_at,
        disabled_at: user.disabled_at,
        passkey_only: user.passkey_only,
        zoneinfo: user.profile.zoneinfo.clone(),
    };
    diesel::insert_into(users::table).values(&row).execute(conn)?;
    Ok(())
}

/// The user with this username, whatever its case: usernames are unique
/// case-insensitively (ASCII; the `users_username_ci` index serves this).
pub fn find_by_username(conn: &mut DbConnection, username: &str) -> Result<Option<User>, StoreError> {
    Ok(users::table.filter(lower(users::username).eq(username.to_ascii_lowercase())).select(UserRow::as_select()).first(conn).optional()?.map(User::from))
}

pub fn find_by_id(conn: &mut DbConnection, id: &UserId) -> Result<Option<User>, StoreError> {
    Ok(users::table.find(&id.0).select(UserRow::as_select()).first(conn).optional()?.map(User::from))
}

/// [`find_by_id`] on a connection of the request's own thread (PostgreSQL; see [`crate::pg_async`]).
pub(crate) async fn find_by_id_async(conn: &mut diesel_async::AsyncPgConnection, id: &UserId) -> Result<Option<User>, StoreError> {
    let query = users::table.find(id.0.clone()).select(UserRow::as_select());
    Ok(diesel_async::RunQueryDsl::first::<UserRow>(query, conn).await.optional()?.map(User::from))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<User>, StoreError> {
    Ok(users::table.order(users::username.asc()).select(UserRow::as_select()).load(conn)?.into_iter().map(User::from).collect())
}

pub fn set_password_hash(conn: &mut DbConnection, id: &UserId, hash: &str) -> Result<(), StoreError> {
    let n = diesel::update(users::table.find(&id.0)).set(users::password_hash.eq(hash)).execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Sets a password hash (`None`: no password, passkeys only).
pub fn set_password(conn: &mut DbConnection, id: &UserId, hash: Option<&str>) -> Result<(), StoreError> {
    let n = diesel::update(users::table.find(&id.0)).set(users::password_hash.eq(hash)).execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Sets the address and whether it is proven.
pub fn set_email(conn: &mut DbConnection, id: &UserId, email: &str, verified: bool) -> Result<(), StoreError> {
    diesel::update(users::table.find(&id.0)).set((users::email.eq(email), users::email_verified.eq(verified))).execute(conn)?;
    Ok(())
}

/// Marks a user as a self-service sign-up that holds its username and
/// address until `expires_at` (its verification link's expiry) unless it is
/// completed by then.
pub fn set_signup_expiry(conn: &mut DbConnection, id: &UserId, expires_at: i64) -> Result<(), StoreError> {
    diesel::update(users::table.find(&id.0)).set(users::signup_expires_at.eq(Some(expires_at))).execute(conn)?;
    Ok(())
}

/// Deletes the user if, and only if, it is an abandoned sign-up: a
/// self-service sign-up (never an invitation) whose verification link
/// expired before `now`, with no proven address, password or passkey.
/// One conditional delete, so an account completed meanwhile stays.
pub fn release_abandoned_signup(conn: &mut DbConnection, id: &UserId, now: i64) -> Result<bool, StoreError> {
    let abandoned = users::table
        .filter(users::id.eq(&id.0))
        .filter(users::signup_expires_at.le(now))
        .filter(users::email_verified.eq(false))
        .filter(users::password_hash.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(passkeys::table.filter(passkeys::user_id.eq(&id.0)))));
    Ok(diesel::delete(abandoned).execute(conn)? == 1)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Users with this address (case-insensitive).
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> Result<Vec<User>, StoreError> {
    Ok(users::table.filter(lower(users::email).eq(email.to_lowercase())).select(UserRow::as_select()).load(conn)?.into_iter().map(User::from).collect())
}

/// Deletes a user; sessions, devices, tokens, passkeys, factors and grants go
/// with it (ON DELETE CASCADE). The audit trail keeps the id.
pub fn delete(conn: &mut DbConnection, id: &UserId) -> Result<bool, StoreError> {
    Ok(diesel::delete(users::table.find(&id.0)).execute(conn)? == 1)
}

/// Replaces the profile claims.
pub fn set_profile(conn: &mut DbConnection, id: &UserId, p: &Profile) -> Result<bool, StoreError> {
    Ok(diesel::update(users::table.find(&id.0))
        .set((
            users::name.eq(&p.name),
            users::given_name.eq(&p.given_name),
            users::family_name.eq(&p.family_name),
            users::locale.eq(&p.locale),
            users::zoneinfo.eq(&p.zoneinfo),
            users::updated_at.eq(p.updated_at),
        ))
        .execute(conn)?
        == 1)
}

/// Disables (`Some(now)`) or enables (`None`) a user.
pub fn set_disabled(conn: &mut DbConnection, id: &UserId, at: Option<i64>) -> Result<bool, StoreError> {
    Ok(diesel::update(users::table.find(&id.0)).set(users::disabled_at.eq(at)).execute(conn)? == 1)
}

/// Users whose username or email contains `q` (case-insensitive), by name.
pub fn search(conn: &mut DbConnection, q: &str, limit: i64) -> Result<Vec<User>, StoreError> {
    let pattern = format!("%{}%", q.to_lowercase().replace(['\\', '%', '_'], ""));
    Ok(users::table
        .filter(lower(users::username).like(pattern.clone()).or(lower(users::email).like(pattern)))
        .order(users::username.asc())
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(User::from)
        .collect())
}

/// Grants (`true`) or takes away admin rights.
pub fn set_admin(conn: &mut DbConnection, id: &UserId, admin: bool) -> Result<bool, StoreError> {
    Ok(diesel::update(users::table.find(&id.0)).set(users::admin.eq(admin)).execute(conn)? == 1)
}

/// What a change that could leave no administrator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demotion {
    Done,
    NoSuchUser,
    /// Refused: no other enabled administrator would be left.
    LastAdmin,
}

/// How many enabled administrators there are.
pub fn enabled_admins(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(users::table.filter(users::admin.eq(true)).filter(users::disabled_at.is_null()).count().get_result(conn)?)
}

/// A change that takes an administrator away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminLoss {
    /// Admin rights taken away.
    Demote,
    /// The account disabled (at this time).
    Disable(i64),
    /// The account deleted.
    Delete,
}

/// Takes admin rights away unless no other enabled administrator would be
/// left. See [`unless_last_admin`].
pub fn revoke_admin_unless_last(conn: &mut DbConnection, id: &UserId) -> Result<Demotion, StoreError> {
    unless_last_admin(conn, id, AdminLoss::Demote)
}

/// Demotes, disables or deletes a user unless that would leave no enabled
/// administrator (a user who is not one changes freely). Checked and written
/// in one write transaction that holds every admin row (PostgreSQL: `FOR
/// UPDATE`; SQLite: `BEGIN IMMEDIATE`), so two admins disabling each other
/// at once cannot both succeed.
pub fn unless_last_admin(conn: &mut DbConnection, id: &UserId, loss: AdminLoss) -> Result<Demotion, StoreError> {
    crate::db::write_transaction(conn, |conn| {
        if let DbConnection::Pg(pg) = conn {
            users::table.filter(users::admin.eq(true)).select(users::id).for_update().load::<String>(pg)?;
        }
        let Some((admin, disabled_at)) = users::table.find(&id.0).select((users::admin, users::disabled_at)).first::<(bool, Option<i64>)>(conn).optional()? else {
            return Ok(Demotion::NoSuchUser);
        };
        if admin && disabled_at.is_none() {
            let others: i64 = users::table.filter(users::admin.eq(true)).filter(users::disabled_at.is_null()).filter(users::id.ne(&id.0)).count().get_result(conn)?;
            if others == 0 {
                return Ok(Demotion::LastAdmin);
            }
        }
        match loss {
            AdminLoss::Demote => diesel::update(users::table.find(&id.0)).set(users::admin.eq(false)).execute(conn)?,
            AdminLoss::Disable(at) => diesel::update(users::table.find(&id.0)).set(users::disabled_at.eq(Some(at))).execute(conn)?,
            AdminLoss::Delete => diesel::delete(users::table.find(&id.0)).execute(conn)?,
        };
        Ok(Demotion::Done)
    })
}

/// Runs `f` in a write transaction that holds the user's row: changes to one
/// user's ways in (removing a passkey, removing or setting the password) run
/// one after the other, so each sees what the one before it left and no two
/// removals that are each allowed alone can together leave no way in.
/// PostgreSQL: `SELECT … FOR UPDATE` on the row; SQLite: `BEGIN IMMEDIATE`
/// already makes writers take turns.
pub fn with_user_locked<T>(conn: &mut DbConnection, id: &UserId, f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>) -> Result<T, StoreError> {
    crate::db::write_transaction(conn, |conn| {
        if let DbConnection::Pg(pg) = conn {
            users::table.find(&id.0).select(users::id).for_update().load::<String>(pg)?;
        }
        f(conn)
    })
}

diesel::define_sql_function!(fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::BigInt>, y: diesel::sql_types::BigInt) -> diesel::sql_types::BigInt);

/// The column the console's user list is ordered by (then by username and
/// id, so every order is total and paging shows each user once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// By username, case-insensitively.
    Username,
    /// By the newest session's start; never signed in counts as the oldest.
    LastSignIn,
    /// By when the account was created.
    Created,
}

/// A user as the console's list shows them: the account and the facts its
/// badges are made of.
#[derive(Debug, Clone)]
pub struct ListedUser {
    pub user: User,
    /// How many passkeys they registered.
    pub passkeys: i64,
    /// Whether a confirmed authenticator app is their second factor.
    pub authenticator_app: bool,
    /// Whether an account at an upstream provider is linked to theirs.
    pub linked: bool,
    /// When their newest session started (sessions are kept once revoked).
    pub last_sign_in: Option<i64>,
}

/// One page of the console's user list.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// How many users match, on every page.
    pub total: i64,
    pub users: Vec<ListedUser>,
}

/// A row of [`list_page`]: the user, passkeys, authenticator app, linked account, last sign-in.
type ListedRow = (UserRow, Option<i64>, bool, bool, Option<i64>);

/// Users whose username or email contains `q` (case-insensitive; empty:
/// everyone), `limit` of them from `offset` in `order`, with the facts of
/// their badges. Two queries whatever the page size: the count, and the page
/// with each user's facts as correlated subqueries (each served by an index
/// on `user_id`).
pub fn list_page(conn: &mut DbConnection, q: &str, order: ListOrder, descending: bool, offset: i64, limit: i64) -> Result<ListPage, StoreError> {
    use crate::schema::{federated_identities, sessions, totp_credentials};
    use diesel::dsl::{exists, max};
    let pattern = format!("%{}%", q.to_lowercase().replace(['\\', '%', '_'], ""));
    let total: i64 = users::table.filter(lower(users::username).like(pattern.clone()).or(lower(users::email).like(pattern.clone()))).count().get_result(conn)?;
    let last_sign_in = || sessions::table.filter(sessions::user_id.eq(users::id)).select(max(sessions::created_at)).single_value();
    let passkey_count = passkeys::table.filter(passkeys::user_id.eq(users::id)).count().single_value();
    let app = exists(totp_credentials::table.filter(totp_credentials::user_id.eq(users::id)).filter(totp_credentials::confirmed_at.is_not_null()));
    let linked = exists(federated_identities::table.filter(federated_identities::user_id.eq(users::id)));
    let mut query = users::table
        .filter(lower(users::username).like(pattern.clone()).or(lower(users::email).like(pattern)))
        .select((UserRow::as_select(), passkey_count, app, linked, last_sign_in()))
        .offset(offset.max(0))
        .limit(limit.max(0))
        .into_boxed();
    query = match (order, descending) {
        (ListOrder::Username, false) => query.order_by(lower(users::username).asc()),
        (ListOrder::Username, true) => query.order_by(lower(users::username).desc()),
        (ListOrder::LastSignIn, false) => query.order_by(coalesce(last_sign_in(), 0).asc()),
        (ListOrder::LastSignIn, true) => query.order_by(coalesce(last_sign_in(), 0).desc()),
        (ListOrder::Created, false) => query.order_by(users::created_at.asc()),
        (ListOrder::Created, true) => query.order_by(users::created_at.desc()),
    };
    let rows: Vec<ListedRow> = query.then_order_by(lower(users::username).asc()).then_order_by(users::id.asc()).load(conn)?;
    let users = rows
        .into_iter()
        .map(|(row, passkeys, authenticator_app, linked, last_sign_in)| ListedUser { user: User::from(row), passkeys: passkeys.unwrap_or(0), authenticator_app, linked, last_sign_in })
        .collect();
    Ok(ListPage { total, users })
}

/// The users with these ids (those that exist), by username.
pub fn find_by_ids(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<User>, StoreError> {
    Ok(users::table.filter(users::id.eq_any(ids)).order((lower(users::username).asc(), users::id.asc())).select(UserRow::as_select()).load(conn)?.into_iter().map(User::from).collect())
}

/// When the user's newest session started, if they ever signed in.
pub fn last_sign_in(conn: &mut DbConnection, id: &UserId) -> Result<Option<i64>, StoreError> {
    use crate::schema::sessions;
    Ok(sessions::table.filter(sessions::user_id.eq(&id.0)).select(diesel::dsl::max(sessions::created_at)).first::<Option<i64>>(conn)?)
}

/// Makes `id` passkey-only or not (issue #29); whether the user exists.
pub fn set_passkey_only(conn: &mut DbConnection, id: &UserId, passkey_only: bool) -> Result<bool, StoreError> {
    Ok(diesel::update(users::table.find(&id.0)).set(users::passkey_only.eq(passkey_only)).execute(conn)? == 1)
}

/// How many accounts are passkey-only (issue #29): those marked, and
/// with `admins` every administrator's, with `everyone` every account.
pub fn count_passkey_only(conn: &mut DbConnection, admins: bool, everyone: bool) -> Result<i64, StoreError> {
    if everyone {
        return Ok(users::table.count().get_result(conn)?);
    }
    let mut query = users::table.into_boxed().filter(users::passkey_only.eq(true));
    if admins {
        query = query.or_filter(users::admin.eq(true));
    }
    Ok(query.count().get_result(conn)?)
}
