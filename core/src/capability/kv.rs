//! The `kv` capability: the plugin's key-value store (`plugin_storage`);
//! checked at each call in `scope.rs`, removed with its data.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::{HostCapability, Pending};
use crate::capabilities::Capabilities;

pub(crate) struct Kv;

impl HostCapability for Kv {
    fn name(&self) -> &'static str {
        "kv"
    }
    fn granted(&self, capabilities: &Capabilities) -> bool {
        capabilities.kv
    }
    fn purge<'a>(
        &'a self,
        conn: &'a sea_orm::DatabaseTransaction,
        slug: &'a str,
    ) -> Pending<'a, Result<u64, DbErr>> {
        Box::pin(delete_rows(conn, "plugin_storage", slug))
    }
    fn describe<'a>(
        &'a self,
        host: &'a super::Host<'a>,
        slug: &'a str,
        _capabilities: &'a crate::capabilities::Capabilities,
    ) -> Pending<'a, Result<Option<serde_json::Value>, DbErr>> {
        Box::pin(async move {
            let n = count_rows(host.db.conn(), "plugin_storage", slug).await?;
            Ok((n > 0).then(|| serde_json::json!({ "entries": n })))
        })
    }
}

/// Deletes `slug`'s rows from the host table `table` (keyed by `plugin`).
pub(super) async fn delete_rows(
    conn: &impl ConnectionTrait,
    table: &'static str,
    slug: &str,
) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let res = conn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!("DELETE FROM {table} WHERE plugin = {placeholder}"),
            [slug.into()],
        ))
        .await?;
    Ok(res.rows_affected())
}

/// Counts `slug`'s rows in the host table `table`.
pub(super) async fn count_rows(
    conn: &impl ConnectionTrait,
    table: &'static str,
    slug: &str,
) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT COUNT(*) AS n FROM {table} WHERE plugin = {placeholder}"),
            [slug.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0) as u64)
}
