//! Removing a plugin's data when it is uninstalled "with data": its rows in
//! the host's tables (KV, configuration, migration records, job runs, in
//! one transaction), then its own SQL place (its SQLite file, or its
//! PostgreSQL schema and role; see `sql::sandbox`).

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, TransactionTrait};

use crate::db::Db;

/// What was removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Purged {
    /// The tables dropped (physical names).
    pub tables: Vec<String>,
    /// KV entries deleted.
    pub kv_entries: u64,
}

/// The host tables that hold per-plugin rows, keyed by their `plugin` column.
const HOST_TABLES: &[&str] = &[
    "plugin_storage",
    "plugin_config",
    "plugin_migrations",
    "plugin_job_runs",
];

/// Deletes `slug`'s rows from the host tables, then drops its SQL place.
pub async fn purge(db: &Db, slug: &str) -> Result<Purged, DbErr> {
    let slug = slug.to_string();
    db.on_bridge(move |conn, sandboxes| async move {
        let backend = conn.get_database_backend();
        let placeholder = if backend == DbBackend::Postgres {
            "$1"
        } else {
            "?"
        };
        let txn = conn.begin().await?;
        let mut kv_entries = 0;
        for host_table in HOST_TABLES {
            let res = txn
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    format!("DELETE FROM {host_table} WHERE plugin = {placeholder}"),
                    [slug.as_str().into()],
                ))
                .await?;
            if *host_table == "plugin_storage" {
                kv_entries = res.rows_affected();
            }
        }
        txn.commit().await?;
        let tables = sandboxes.remove(&conn, &slug).await?;
        Ok(Purged { tables, kv_entries })
    })
    .await
}
