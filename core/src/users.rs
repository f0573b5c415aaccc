//! User accounts, the one user model: the accounts that sign in are the
//! users whose changes fire the user hooks.
//!
//! Every way an account is created — the admin API (`/api/admin/users`,
//! `/api/admin/accounts`), the shell, the first start, self-registration —
//! goes through [`create_account`], so the `user.before_create` filters may
//! change or refuse it, and `user.created` fires after. `user.updated` and
//! `user.deleted` fire on changes; `user.login` / `user.logout` fire on real
//! sign-ins and sign-outs ([`signed_in`], [`signed_out`]). Payloads are
//! `{id, username, role}`, as before the merge.

use crate::runtime::HookPayload;
use chrono::{DateTime, Utc};
use plugboard_plugin_api::{Hook, NewUser, User};
use sea_orm::{
    sea_query::{Expr, ExprTrait, Query},
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryOrder, Set, SqlErr,
};
use serde::Serialize;

use crate::{
    auth::{hash_password, random_hex},
    entity::user,
    runtime::{Refusal, Runtime},
};

/// A user account (never its password hash).
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// The id.
    pub id: i64,
    /// The user name.
    pub username: String,
    /// The role.
    pub role: String,
    /// Whether it has a password (without one it cannot sign in).
    pub can_sign_in: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<user::Model> for Account {
    fn from(m: user::Model) -> Self {
        Self {
            id: m.id,
            username: m.username,
            role: m.role,
            can_sign_in: !m.password_hash.is_empty(),
            created_at: m.created_at,
            updated_at: m.updated_at.unwrap_or(m.created_at),
        }
    }
}

impl Account {
    fn event_payload(&self, actor: &serde_json::Value) -> serde_json::Value {
        // The payload is the type plugins read (`platform::UserEvent`).
        let event = plugboard_plugin_api::platform::UserEvent::new(
            self.id,
            self.username.clone(),
            self.role.clone(),
            serde_json::from_value(actor.clone())
                .unwrap_or_else(|_| plugboard_plugin_api::platform::Actor::system()),
        );
        serde_json::to_value(event).unwrap_or_default()
    }
    /// This account as the actor of an event: `{"id", "username", "role"}`.
    pub fn as_actor(&self) -> serde_json::Value {
        serde_json::json!({ "id": self.id, "username": self.username, "role": self.role })
    }
    fn hook_view(&self) -> User {
        User {
            id: self.id,
            username: self.username.as_str().into(),
            role: self.role.as_str().into(),
        }
    }
}

/// Errors of user operations.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// A plugin's filter refused it.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The name is taken.
    #[error("user name {0:?} is taken")]
    Taken(String),
    /// No such user.
    #[error("no user with id {0}")]
    NotFound(i64),
    /// Hashing the password failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// The roles accounts may have.
pub const ROLES: [&str; 2] = ["admin", "user"];

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A new account's password.
pub enum Password<'a> {
    /// None: the account cannot sign in until an admin sets one.
    None,
    /// This password (hashed here).
    Plain(&'a str),
    /// Already hashed (an argon2 PHC string), e.g. under the sign-in
    /// limiter's bound.
    Hashed(String),
}

/// What [`create_account`] creates.
pub struct NewAccount<'a> {
    /// The name (the filters may change it; it is stored trimmed).
    pub username: &'a str,
    /// `admin` or `user`.
    pub role: &'a str,
    /// Its password.
    pub password: Password<'a>,
    /// Whether the password must be changed at the next sign-in.
    pub must_change_password: bool,
}

fn validate(username: &str, role: &str) -> Result<(), UserError> {
    let name = username.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(UserError::Invalid(
            "username must be 1 to 64 characters, none of them control characters".into(),
        ));
    }
    if !ROLES.contains(&role) {
        return Err(UserError::Invalid(format!(
            "role must be one of {}",
            ROLES.join(", ")
        )));
    }
    Ok(())
}

/// Refuses a password shorter than [`MIN_PASSWORD_CHARS`].
pub fn check_password(password: &str) -> Result<(), UserError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Err(UserError::Invalid(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters"
        )))
    } else {
        Ok(())
    }
}

async fn hash(password: &str) -> Result<String, UserError> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| UserError::Hash(e.to_string()))?
        .map_err(|e| UserError::Hash(e.to_string()))
}

/// The actor of what the host does on its own (the first start's admin).
pub fn system_actor() -> serde_json::Value {
    serde_json::json!({ "id": null, "username": "system", "role": "admin" })
}

/// Calls the user hook `hook` on the plugins that implement it, then emits
/// the event of the same name (`user.created`, …) with the account as
/// payload, plus `actor`: who did it (`{"id", "username", "role"}`).
/// Failures of plugins are logged; they never fail the operation.
async fn announce(rt: &Runtime, account: &Account, hook: Hook, actor: &serde_json::Value) {
    let view = account.hook_view();
    let payload = match hook {
        Hook::UserCreated => HookPayload::UserCreated(view),
        Hook::UserUpdated => HookPayload::UserUpdated(view),
        Hook::UserDeleted => HookPayload::UserDeleted(view),
        Hook::UserLogin => HookPayload::UserLogin(view),
        _ => HookPayload::UserLogout(view),
    };
    for f in rt.notify(payload).await {
        tracing::warn!(plugin = %f.slug, hook = hook.name(), "hook failed: {}", f.error);
    }
    rt.emit(hook.name(), &account.event_payload(actor));
}

fn taken_or(e: DbErr, username: &str) -> UserError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => UserError::Taken(username.to_string()),
        _ => UserError::Db(e),
    }
}

/// Every account, by id.
pub async fn list(rt: &Runtime) -> Result<Vec<Account>, UserError> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Id)
        .all(rt.db().conn())
        .await?
        .into_iter()
        .map(Account::from)
        .collect())
}

/// One account.
pub async fn get(rt: &Runtime, id: i64) -> Result<Account, UserError> {
    user::Entity::find_by_id(id)
        .one(rt.db().conn())
        .await?
        .map(Account::from)
        .ok_or(UserError::NotFound(id))
}

/// Creates an account without a password (it cannot sign in until an admin
/// sets one): see [`create_account`].
pub async fn create(
    rt: &Runtime,
    username: &str,
    role: &str,
    actor: &serde_json::Value,
) -> Result<Account, UserError> {
    create_account(
        rt,
        NewAccount {
            username,
            role,
            password: Password::None,
            must_change_password: false,
        },
        Some(actor),
    )
    .await
}

/// Creates an account: the `user.before_create` filters may change or
/// refuse it (nothing is written then); `user.created` fires after, naming
/// `actor` (`None`: the new account itself, as in self-registration).
pub async fn create_account(
    rt: &Runtime,
    new: NewAccount<'_>,
    actor: Option<&serde_json::Value>,
) -> Result<Account, UserError> {
    validate(new.username, new.role)?;
    if let Password::Plain(p) = new.password {
        check_password(p)?;
    }
    let filtered = NewUser {
        username: new.username.into(),
        role: new.role.into(),
    };
    let filtered = rt.filter_new_user(filtered).await?;
    let username = filtered.username.trim().to_string();
    let role = filtered.role.to_string();
    validate(&username, &role)?;
    let password_hash = match new.password {
        Password::None => String::new(),
        Password::Plain(p) => hash(p).await?,
        Password::Hashed(h) => h,
    };
    let now = Utc::now();
    let model = user::ActiveModel {
        username: Set(username.clone()),
        password_hash: Set(password_hash),
        role: Set(role),
        must_change_password: Set(new.must_change_password),
        created_at: Set(now),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(rt.db().conn())
    .await
    .map_err(|e| taken_or(e, &username))?;
    let account = Account::from(model);
    let actor = actor.cloned().unwrap_or_else(|| account.as_actor());
    announce(rt, &account, Hook::UserCreated, &actor).await;
    Ok(account)
}

/// On a database without accounts, creates `admin` (through the filters, as
/// every account) with `password` or a generated one that must be changed;
/// returns the generated password (to print once).
pub async fn bootstrap(
    rt: &Runtime,
    password: Option<String>,
) -> Result<Option<String>, UserError> {
    if !list(rt).await?.is_empty() {
        return Ok(None);
    }
    let (password, generated) = match password.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (random_hex(12), true),
    };
    let created = create_account(
        rt,
        NewAccount {
            username: "admin",
            role: "admin",
            password: Password::Plain(&password),
            must_change_password: generated,
        },
        Some(&system_actor()),
    )
    .await;
    match created {
        Ok(_) => Ok(generated.then_some(password)),
        // Another replica starting at the same moment made it.
        Err(UserError::Taken(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Changes an account's name, role and/or password (a new password clears
/// the must-change flag); `user.updated` fires after.
pub async fn update(
    rt: &Runtime,
    id: i64,
    username: Option<&str>,
    role: Option<&str>,
    password: Option<&str>,
    actor: &serde_json::Value,
) -> Result<Account, UserError> {
    let current = get(rt, id).await?;
    let username = username.map_or(current.username.clone(), |u| u.trim().to_string());
    let role = role.unwrap_or(&current.role);
    validate(&username, role)?;
    let mut change = user::ActiveModel {
        id: Set(id),
        username: Set(username.clone()),
        role: Set(role.to_string()),
        updated_at: Set(Some(Utc::now())),
        ..Default::default()
    };
    if let Some(p) = password {
        check_password(p)?;
        change.password_hash = Set(hash(p).await?);
        change.must_change_password = Set(false);
    }
    let model = change
        .update(rt.db().conn())
        .await
        .map_err(|e| taken_or(e, &username))?;
    let account = Account::from(model);
    announce(rt, &account, Hook::UserUpdated, actor).await;
    Ok(account)
}

/// Deletes an account and its sessions; `user.deleted` fires after.
pub async fn delete(
    rt: &Runtime,
    id: i64,
    actor: &serde_json::Value,
) -> Result<Account, UserError> {
    let account = get(rt, id).await?;
    let conn = rt.db().conn();
    conn.execute_raw(
        conn.get_database_backend().build(
            Query::delete()
                .from_table("sessions")
                .and_where(Expr::col("account_id").eq(id)),
        ),
    )
    .await?;
    user::Entity::delete_by_id(id).exec(conn).await?;
    announce(rt, &account, Hook::UserDeleted, actor).await;
    Ok(account)
}

/// `id` signed in: fires `user.login` (the account is its own actor).
pub async fn signed_in(rt: &Runtime, id: i64) -> Result<Account, UserError> {
    let account = get(rt, id).await?;
    announce(rt, &account, Hook::UserLogin, &account.as_actor()).await;
    Ok(account)
}

/// `id` signed out: fires `user.logout`, naming `actor` (`None`: the
/// account itself signed out; else the admin who ended its sessions).
pub async fn signed_out(
    rt: &Runtime,
    id: i64,
    actor: Option<&serde_json::Value>,
) -> Result<Account, UserError> {
    let account = get(rt, id).await?;
    let actor = actor.cloned().unwrap_or_else(|| account.as_actor());
    announce(rt, &account, Hook::UserLogout, &actor).await;
    Ok(account)
}
