//! Removing a plugin's data when it is uninstalled "with data": its tables
//! (every `plugin_{slug}__*` relation) and its rows in the host's tables (KV,
//! configuration, migration records, job runs), in one transaction.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};

use super::table_prefix;

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

/// The physical names of `slug`'s tables.
pub async fn tables<C: ConnectionTrait>(conn: &C, slug: &str) -> Result<Vec<String>, DbErr> {
    let backend = conn.get_database_backend();
    // `_` is a LIKE wildcard: escape it so the prefix matches literally.
    let pattern = format!("{}%", table_prefix(slug).replace('_', "\\_"));
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name LIKE $1 ESCAPE '\\' \
             ORDER BY table_name"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name LIKE ? ESCAPE '\\' ORDER BY name"
        }
    };
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [pattern.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "name"))
        .collect()
}

/// Drops every table of `slug` and deletes its rows from the host tables.
pub async fn purge(conn: &DatabaseConnection, slug: &str) -> Result<Purged, DbErr> {
    let backend = conn.get_database_backend();
    let txn = conn.begin().await?;
    let tables = tables(&txn, slug).await?;
    for table in &tables {
        // The names come from the catalog and match `plugin_{slug}__[a-z0-9_]*`.
        debug_assert!(table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let cascade = if backend == DbBackend::Postgres {
            " CASCADE"
        } else {
            ""
        };
        txn.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}{cascade}"))
            .await?;
    }
    let mut kv_entries = 0;
    for host_table in HOST_TABLES {
        let placeholder = if backend == DbBackend::Postgres {
            "$1"
        } else {
            "?"
        };
        let res = txn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!("DELETE FROM {host_table} WHERE plugin = {placeholder}"),
                [slug.into()],
            ))
            .await?;
        if *host_table == "plugin_storage" {
            kv_entries = res.rows_affected();
        }
    }
    txn.commit().await?;
    Ok(Purged { tables, kv_entries })
}
