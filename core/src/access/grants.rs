//! Permissions granted to roles (table `role_permissions`, migration 11).
//!
//! A plugin declares permissions in its manifest; an admin grants each to
//! roles (`PUT /api/admin/plugins/{slug}/permissions`). Admins hold every
//! permission without a grant, so only the other roles (today: `user`) can
//! be granted one. Grants are read on every plugin route call, so they are
//! kept in memory, loaded at start and replaced after each change commits.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use arc_swap::ArcSwap;
use chrono::Utc;
use plugboard_frontend_manifest::Role;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde::Serialize;

use super::PermissionDecl;
use crate::{
    entity::role_permission,
    lifecycle::{LifecycleError, LifecycleStore},
};

/// Why a change of grants was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// The plugin's manifest declares no such permission.
    #[error("{plugin} declares no permission {name:?}")]
    UnknownPermission {
        /// The plugin.
        plugin: String,
        /// The name given.
        name: String,
    },
    /// Not a role that can be granted a permission.
    #[error("{0:?} is not a role a permission can be granted to (admins hold every permission; roles: user)")]
    Role(String),
    /// The plugin is unknown.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// One permission of a plugin as the admin API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PermissionView {
    /// Its name.
    pub name: String,
    /// What it allows.
    pub description: String,
    /// The roles it is granted to (admins hold it anyway).
    pub roles: Vec<String>,
}

type Table = HashMap<String, Vec<(String, String)>>;

/// The grants of every plugin: (permission, role) pairs by plugin.
pub struct Grants {
    conn: DatabaseConnection,
    by_plugin: ArcSwap<Table>,
    writes: tokio::sync::Mutex<()>,
}

impl Grants {
    /// Reads every grant.
    pub async fn load(conn: DatabaseConnection) -> Result<Grants, DbErr> {
        let grants = Grants {
            by_plugin: ArcSwap::from_pointee(read_all(&conn).await?),
            conn,
            writes: tokio::sync::Mutex::new(()),
        };
        Ok(grants)
    }

    /// The permissions among `declared` that `role` holds for `plugin`:
    /// every one for admins, the granted ones for other roles.
    pub fn held(&self, plugin: &str, role: &str, declared: &[PermissionDecl]) -> Vec<String> {
        if Role::parse(role) == Some(Role::Admin) {
            return declared.iter().map(|d| d.name.clone()).collect();
        }
        let table = self.by_plugin.load();
        let Some(rows) = table.get(plugin) else {
            return Vec::new();
        };
        declared
            .iter()
            .filter(|d| rows.iter().any(|(p, r)| *p == d.name && r == role))
            .map(|d| d.name.clone())
            .collect()
    }

    /// Each declared permission with the roles it is granted to.
    pub fn of_plugin(&self, plugin: &str, declared: &[PermissionDecl]) -> Vec<PermissionView> {
        let table = self.by_plugin.load();
        let rows = table.get(plugin);
        declared
            .iter()
            .map(|d| PermissionView {
                name: d.name.clone(),
                description: d.description.clone(),
                roles: rows
                    .map(|rows| {
                        rows.iter()
                            .filter(|(p, _)| *p == d.name)
                            .map(|(_, r)| r.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Replaces `plugin`'s grants with `wanted` (permission → roles; a
    /// permission left out is granted to nobody), with an audit row naming
    /// `actor`, in one transaction. Refused whole when a permission is not
    /// in `declared` or a role cannot be granted one.
    pub async fn replace(
        &self,
        store: &LifecycleStore,
        plugin: &str,
        declared: &[PermissionDecl],
        wanted: &BTreeMap<String, Vec<String>>,
        actor: &str,
    ) -> Result<Vec<PermissionView>, GrantError> {
        let mut rows: Vec<(String, String)> = Vec::new();
        for (name, roles) in wanted {
            if !declared.iter().any(|d| d.name == *name) {
                return Err(GrantError::UnknownPermission {
                    plugin: plugin.to_string(),
                    name: name.clone(),
                });
            }
            for role in roles {
                if Role::parse(role) != Some(Role::User) {
                    return Err(GrantError::Role(role.clone()));
                }
                if !rows.iter().any(|(p, r)| p == name && r == role) {
                    rows.push((name.clone(), role.clone()));
                }
            }
        }
        let _one_at_a_time = self.writes.lock().await;
        let txn = self.conn.begin().await?;
        role_permission::Entity::delete_many()
            .filter(role_permission::Column::Plugin.eq(plugin))
            .exec(&txn)
            .await?;
        let now = Utc::now();
        for (permission, role) in &rows {
            role_permission::ActiveModel {
                plugin: Set(plugin.to_string()),
                permission: Set(permission.clone()),
                role: Set(role.clone()),
                granted_by: Set(actor.to_string()),
                granted_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
        store
            .audit_note(&txn, plugin, actor, &describe(declared, &rows))
            .await?;
        txn.commit().await?;
        let mut table = Table::clone(&self.by_plugin.load());
        table.insert(plugin.to_string(), rows);
        self.by_plugin.store(Arc::new(table));
        Ok(self.of_plugin(plugin, declared))
    }

    /// Reads every grant again (another replica may have changed them).
    pub async fn reload(&self) -> Result<(), DbErr> {
        let _one_at_a_time = self.writes.lock().await;
        self.by_plugin.store(Arc::new(read_all(&self.conn).await?));
        Ok(())
    }

    /// Deletes every grant of `plugin` (its data is being removed).
    pub async fn forget(&self, plugin: &str) -> Result<u64, DbErr> {
        let _one_at_a_time = self.writes.lock().await;
        let done = role_permission::Entity::delete_many()
            .filter(role_permission::Column::Plugin.eq(plugin))
            .exec(&self.conn)
            .await?;
        let mut table = Table::clone(&self.by_plugin.load());
        table.remove(plugin);
        self.by_plugin.store(Arc::new(table));
        Ok(done.rows_affected)
    }
}

/// The audit note: every declared permission and who holds it now.
fn describe(declared: &[PermissionDecl], rows: &[(String, String)]) -> String {
    let parts: Vec<String> = declared
        .iter()
        .map(|d| {
            let roles: Vec<&str> = rows
                .iter()
                .filter(|(p, _)| *p == d.name)
                .map(|(_, r)| r.as_str())
                .collect();
            if roles.is_empty() {
                format!("{}: admins only", d.name)
            } else {
                format!("{}: admins, {}", d.name, roles.join(", "))
            }
        })
        .collect();
    format!("permissions granted: {}", parts.join("; "))
}

async fn read_all(conn: &DatabaseConnection) -> Result<Table, DbErr> {
    let mut table = Table::new();
    for m in role_permission::Entity::find().all(conn).await? {
        table
            .entry(m.plugin)
            .or_default()
            .push((m.permission, m.role));
    }
    Ok(table)
}
