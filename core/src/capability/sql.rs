//! The `sql` capability: the plugin's own tables (its SQLite file or its
//! PostgreSQL schema and role, see `sql::sandbox`) and its migrations,
//! applied before `on_enable`; tables and migration records are removed
//! with its data.

use std::sync::Arc;

use plugboard_plugin_api::abi::Migration;
use sea_orm::DbErr;

use super::{denied, staged_ref, HostCapability, Pending, Staged, StepFailed, Subject};
use crate::{
    capabilities::{Capabilities, Capability},
    registry::PluginEntry,
};

pub(crate) struct Sql;

impl HostCapability for Sql {
    fn name(&self) -> &'static str {
        "sql"
    }
    fn granted(&self, capabilities: &Capabilities) -> bool {
        capabilities.sql
    }
    fn prepare(&self, subject: &Subject<'_>) -> Result<Option<Staged>, StepFailed> {
        let entry = subject.entry;
        let migrations = entry
            .object()
            .migrations()
            .map_err(|e| StepFailed::new("migrations()", e))?;
        if !migrations.is_empty() && !entry.capabilities().sql {
            return Err(denied(entry, Capability::Sql));
        }
        Ok(Some(Box::new(migrations)))
    }
    fn before_enable<'a>(
        &'a self,
        host: &'a super::Host<'a>,
        entry: &'a Arc<PluginEntry>,
        prepared: Option<&'a Staged>,
    ) -> Pending<'a, Result<(), StepFailed>> {
        let migrations = staged_ref::<Vec<Migration>>(prepared)
            .cloned()
            .unwrap_or_default();
        Box::pin(migrate(host, entry, migrations))
    }
    fn purge<'a>(
        &'a self,
        conn: &'a sea_orm::DatabaseTransaction,
        slug: &'a str,
    ) -> Pending<'a, Result<u64, DbErr>> {
        // The records only: the tables themselves go last, in
        // `sql::purge`, once every host row is gone.
        Box::pin(super::kv::delete_rows(conn, "plugin_migrations", slug))
    }
    fn describe<'a>(
        &'a self,
        host: &'a super::Host<'a>,
        slug: &'a str,
        _capabilities: &'a crate::capabilities::Capabilities,
    ) -> Pending<'a, Result<Option<serde_json::Value>, DbErr>> {
        let slug = slug.to_string();
        Box::pin(async move {
            let tables = host
                .db
                .on_bridge(
                    move |host, sandboxes| async move { sandboxes.tables(&host, &slug).await },
                )
                .await?;
            Ok((!tables.is_empty()).then(|| serde_json::json!({ "tables": tables })))
        })
    }
}

/// Applies the plugin's pending migrations; the failing one's error.
async fn migrate(
    host: &super::Host<'_>,
    entry: &PluginEntry,
    migrations: Vec<Migration>,
) -> Result<(), StepFailed> {
    if migrations.is_empty() {
        // Nothing to apply: no SQL place is opened (no file, no role) for a
        // plugin that declares no migrations.
        return Ok(());
    }
    let slug = entry.slug().to_string();
    let outcome = host
        .db
        .on_bridge(move |host, sandboxes| async move {
            let plugin = sandboxes.conn(&host, &slug).await?;
            Ok(crate::sql::migrate::apply(&host, &plugin, &slug, &migrations).await)
        })
        .await;
    match outcome {
        Ok(Ok(applied)) => {
            if !applied.is_empty() {
                tracing::info!(plugin = %entry.slug(), ?applied, "plugin migrations applied");
            }
            Ok(())
        }
        Ok(Err(failure)) => Err(StepFailed::new("migrations", failure)),
        Err(e) => Err(StepFailed::new("migrations", e)),
    }
}
