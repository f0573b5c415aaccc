//! Applying a plugin's own SQL migrations: in order, each in a transaction,
//! recorded in `plugin_migrations` so that none runs twice.

use std::collections::HashSet;

use chrono::Utc;
use plugboard_plugin_api::Migration;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, Set, Statement, TransactionTrait,
};

use super::{exec::backend_of, namespace::namespace};
use crate::entity::plugin_migration;

/// A migration that failed; nothing of it was applied.
#[derive(Debug, thiserror::Error)]
#[error("migration {id} failed: {message}")]
pub struct MigrationFailure {
    /// The migration's id.
    pub id: String,
    /// Why.
    pub message: String,
}

/// The ids of the migrations applied for `slug`.
pub async fn applied(conn: &DatabaseConnection, slug: &str) -> Result<HashSet<String>, DbErr> {
    Ok(plugin_migration::Entity::find()
        .filter(plugin_migration::Column::Plugin.eq(slug))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect())
}

/// Applies every migration not yet applied, in order; returns the ids applied.
/// Stops at the first failure, which is rolled back.
///
/// The statements run on the plugin's own confined connection (`plugin`),
/// so the database holds them to the plugin's place like any other plugin
/// statement; the record goes to the host's `plugin_migrations` (`conn`)
/// right after each migration commits. (A crash between the two leaves the
/// migration applied but unrecorded: its next run fails on the objects it
/// already created, and the plugin ends `Errored` saying so.)
pub async fn apply(
    conn: &DatabaseConnection,
    plugin: &DatabaseConnection,
    slug: &str,
    migrations: &[Migration],
) -> Result<Vec<String>, MigrationFailure> {
    let fail = |id: &str, message: String| MigrationFailure {
        id: id.to_string(),
        message,
    };
    let mut seen = HashSet::new();
    for m in migrations {
        if !seen.insert(m.id()) {
            return Err(fail(m.id(), "duplicate migration id".into()));
        }
    }
    let backend = backend_of(conn);
    // Replicas enabling the plugin at once apply its migrations one at a
    // time: the lock is held until `serialised` ends, and the next replica
    // then finds them recorded.
    let serialised = match backend {
        super::Backend::Postgres => {
            let txn = conn.begin().await.map_err(|e| fail("-", e.to_string()))?;
            txn.execute_raw(Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                [format!("plugboard-migrate:{slug}").into()],
            ))
            .await
            .map_err(|e| fail("-", e.to_string()))?;
            Some(txn)
        }
        super::Backend::Sqlite => None,
    };
    let result = apply_unlocked(conn, plugin, slug, migrations, backend).await;
    if let Some(txn) = serialised {
        let _ = txn.commit().await;
    }
    result
}

async fn apply_unlocked(
    conn: &DatabaseConnection,
    plugin: &DatabaseConnection,
    slug: &str,
    migrations: &[Migration],
    backend: super::Backend,
) -> Result<Vec<String>, MigrationFailure> {
    let fail = |id: &str, message: String| MigrationFailure {
        id: id.to_string(),
        message,
    };
    let done = applied(conn, slug)
        .await
        .map_err(|e| fail("-", e.to_string()))?;
    let mut newly = Vec::new();
    for m in migrations.iter().filter(|m| !done.contains(m.id())) {
        let source: Vec<&str> = match backend {
            super::Backend::Postgres => m.postgres_statements().collect(),
            super::Backend::Sqlite => m.statements().collect(),
        };
        let statements: Vec<String> = source
            .into_iter()
            .map(|s| namespace(s, slug, backend).map_err(|e| fail(m.id(), e.to_string())))
            .collect::<Result<_, _>>()?;
        let txn = plugin
            .begin()
            .await
            .map_err(|e| fail(m.id(), e.to_string()))?;
        for sql in statements {
            if let Err(e) = txn
                .execute_raw(Statement::from_string(plugin.get_database_backend(), sql))
                .await
            {
                let _ = txn.rollback().await;
                return Err(fail(m.id(), e.to_string()));
            }
        }
        txn.commit()
            .await
            .map_err(|e| fail(m.id(), e.to_string()))?;
        let record = plugin_migration::ActiveModel {
            plugin: Set(slug.to_string()),
            id: Set(m.id().to_string()),
            applied_at: Set(Utc::now()),
        };
        record
            .insert(conn)
            .await
            .map_err(|e| fail(m.id(), format!("applied, but not recorded: {e}")))?;
        newly.push(m.id().to_string());
    }
    Ok(newly)
}
