//! Removing a plugin's data when it is uninstalled "with data": its rows in
//! the host's tables (every capability's, in one transaction), then its own SQL place (its SQLite file, or its
//! PostgreSQL schema and role; see `sql::sandbox`).

use sea_orm::{DbErr, TransactionTrait};

use crate::db::Db;

/// What was removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Purged {
    /// The tables dropped (physical names).
    pub tables: Vec<String>,
    /// KV entries deleted.
    pub kv_entries: u64,
    /// Files deleted.
    pub files: u64,
}

/// Deletes `slug`'s rows of every capability (one transaction: KV,
/// configuration, files, migration records, job runs), then drops its SQL
/// place.
pub async fn purge(db: &Db, slug: &str) -> Result<Purged, DbErr> {
    let slug = slug.to_string();
    db.on_bridge(move |conn, sandboxes| async move {
        let txn = conn.begin().await?;
        let removed = super::purge_all(&txn, &slug).await?;
        txn.commit().await?;
        let count = |name| {
            removed
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, c)| *c)
        };
        let (kv_entries, files) = (count("kv"), count("files"));
        let tables = sandboxes.remove(&conn, &slug).await?;
        Ok(Purged {
            tables,
            kv_entries,
            files,
        })
    })
    .await
}
