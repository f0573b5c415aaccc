//! User accounts: the host domain whose changes fire the user hooks.

use chrono::{DateTime, Utc};
use plugboard_plugin_api::{Hook, HookCall, NewUser, User};
use sea_orm::{ActiveModelTrait, DbErr, EntityTrait, QueryOrder, Set, SqlErr};
use serde::Serialize;

use crate::{
    entity::user,
    runtime::{Refusal, Runtime},
};

/// A user account.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// The id.
    pub id: i64,
    /// The user name.
    pub username: String,
    /// The role.
    pub role: String,
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
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl Account {
    fn event_payload(&self, actor: &serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "id": self.id, "username": self.username, "role": self.role, "actor": actor
        })
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
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// The roles accounts may have.
pub const ROLES: [&str; 2] = ["admin", "user"];

fn validate(username: &str, role: &str) -> Result<(), UserError> {
    if username.trim().is_empty() || username.len() > 64 {
        return Err(UserError::Invalid(
            "username must be 1 to 64 characters".into(),
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

/// Calls the user hook `hook` on the plugins that implement it, then emits
/// the event of the same name (`user.created`, …) with the account as
/// payload, plus `actor`: who did it (`{"id", "username", "role"}`).
/// Failures of plugins are logged; they never fail the operation.
fn announce(rt: &Runtime, account: &Account, hook: Hook, actor: &serde_json::Value) {
    let view = account.hook_view();
    let mut call = match hook {
        Hook::UserCreated => HookCall::UserCreated(&view),
        Hook::UserUpdated => HookCall::UserUpdated(&view),
        Hook::UserDeleted => HookCall::UserDeleted(&view),
        Hook::UserLogin => HookCall::UserLogin(&view),
        _ => HookCall::UserLogout(&view),
    };
    for f in rt.notify(&mut call) {
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

/// Creates an account: the `user.before_create` filters may change or refuse
/// it; `user.created` fires after.
/// `actor` (`{"id", "username", "role"}`) goes into the event payload.
pub async fn create(
    rt: &Runtime,
    username: &str,
    role: &str,
    actor: &serde_json::Value,
) -> Result<Account, UserError> {
    validate(username, role)?;
    let mut new = NewUser {
        username: username.into(),
        role: role.into(),
    };
    rt.filter_new_user(&mut new)?;
    validate(&new.username, &new.role)?;
    let now = Utc::now();
    let model = user::ActiveModel {
        username: Set(new.username.to_string()),
        role: Set(new.role.to_string()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(rt.db().conn())
    .await
    .map_err(|e| taken_or(e, &new.username))?;
    let account = Account::from(model);
    announce(rt, &account, Hook::UserCreated, actor);
    Ok(account)
}

/// Changes an account's name and/or role; `user.updated` fires after.
pub async fn update(
    rt: &Runtime,
    id: i64,
    username: Option<&str>,
    role: Option<&str>,
    actor: &serde_json::Value,
) -> Result<Account, UserError> {
    let current = get(rt, id).await?;
    let username = username.unwrap_or(&current.username);
    let role = role.unwrap_or(&current.role);
    validate(username, role)?;
    let model = user::ActiveModel {
        id: Set(id),
        username: Set(username.to_string()),
        role: Set(role.to_string()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(rt.db().conn())
    .await
    .map_err(|e| taken_or(e, username))?;
    let account = Account::from(model);
    announce(rt, &account, Hook::UserUpdated, actor);
    Ok(account)
}

/// Deletes an account; `user.deleted` fires after.
pub async fn delete(
    rt: &Runtime,
    id: i64,
    actor: &serde_json::Value,
) -> Result<Account, UserError> {
    let account = get(rt, id).await?;
    user::Entity::delete_by_id(id).exec(rt.db().conn()).await?;
    announce(rt, &account, Hook::UserDeleted, actor);
    Ok(account)
}

/// Records a sign-in or sign-out of `id`, firing `user.login` / `user.logout`.
pub async fn record_session(
    rt: &Runtime,
    id: i64,
    login: bool,
    actor: &serde_json::Value,
) -> Result<Account, UserError> {
    let account = get(rt, id).await?;
    announce(
        rt,
        &account,
        if login {
            Hook::UserLogin
        } else {
            Hook::UserLogout
        },
        actor,
    );
    Ok(account)
}
