//! Where a plugin's SQL runs: a connection pool of its own, confined by the
//! database engine to the plugin's own tables.
//!
//! The namespace rewriter (`sql::namespace`) is the friendly first line: it
//! renames and explains. This module is the line that holds when the
//! rewriter misses a shape:
//!
//! * **SQLite** ([`sqlite`]): each plugin's tables live in a database file
//!   of its own, `<data>/plugin-sql/<slug>.db`, so the host's tables and the
//!   other plugins' are not in the file the plugin's connections open. Those
//!   connections cannot attach another file (`SQLITE_LIMIT_ATTACHED` = 0),
//!   run in SQLite's defensive mode, and carry an authorizer that refuses
//!   every table outside the plugin's prefix, every function outside the
//!   allowlist, pragmas, views, triggers, virtual tables and `ATTACH`.
//! * **PostgreSQL** ([`postgres`]): each plugin has a schema
//!   (`plugin_<slug>`) owned by a role of its own, and its statements run on
//!   connections that log in as that role, with the search path pinned to
//!   the schema. The role has no privilege on anything else, so the
//!   engine's permission checks refuse the host's tables, sequences, files
//!   and other schemas; since the session user *is* the plugin's role,
//!   `RESET ROLE`, `SET ROLE` or `set_config('role', …)` cannot lead back to
//!   the host's role.
//!
//! Every pool is created and used on the database bridge's runtime only
//! (`Db::plugin_block_on`, `Db::on_bridge`): a connection belongs to the
//! reactor of the runtime that opened it.

mod authorizer;
mod postgres;
mod relocate;
mod sqlite;

use std::{path::Path, sync::Arc};

use dashmap::DashMap;
use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use tokio::sync::OnceCell;

/// The isolated SQL places of every plugin, opened on first use.
pub(crate) struct Sandboxes {
    place: Place,
    pools: DashMap<String, Arc<OnceCell<DatabaseConnection>>>,
}

enum Place {
    Sqlite(sqlite::Files),
    Postgres(postgres::Roles),
}

impl Sandboxes {
    /// The sandboxes beside the host database `host` (opened from `url`);
    /// SQLite files go into `sqlite_dir`.
    pub(crate) async fn new(
        host: &DatabaseConnection,
        url: &str,
        sqlite_dir: &Path,
    ) -> Result<Self, DbErr> {
        let place = match host.get_database_backend() {
            DbBackend::Postgres => Place::Postgres(postgres::Roles::new(host, url).await?),
            _ => Place::Sqlite(sqlite::Files::new(sqlite_dir)),
        };
        Ok(Self {
            place,
            pools: DashMap::new(),
        })
    }

    /// `slug`'s connection pool, provisioned and opened on first use.
    pub(crate) async fn conn(
        &self,
        host: &DatabaseConnection,
        slug: &str,
    ) -> Result<DatabaseConnection, DbErr> {
        let cell = match self.pools.get(slug) {
            Some(cell) => Arc::clone(&cell),
            None => Arc::clone(self.pools.entry(slug.to_string()).or_default().value()),
        };
        cell.get_or_try_init(|| async {
            match &self.place {
                Place::Sqlite(files) => files.open(slug).await,
                Place::Postgres(roles) => roles.open(host, slug).await,
            }
        })
        .await
        .cloned()
    }

    /// Closes `slug`'s pool (uninstall); the next use opens it again. A
    /// connection still busy after a few seconds is left to its database
    /// (PostgreSQL: terminated by `remove`).
    pub(crate) async fn close(&self, slug: &str) {
        if let Some((_, cell)) = self.pools.remove(slug) {
            if let Some(conn) = cell.get() {
                let closing = conn.clone().close();
                if tokio::time::timeout(std::time::Duration::from_secs(5), closing)
                    .await
                    .is_err()
                {
                    tracing::warn!(plugin = slug, "SQL connections still busy at close");
                }
            }
        }
    }

    /// The physical names of `slug`'s tables.
    pub(crate) async fn tables(
        &self,
        host: &DatabaseConnection,
        slug: &str,
    ) -> Result<Vec<String>, DbErr> {
        match &self.place {
            Place::Sqlite(files) => files.tables(slug).await,
            Place::Postgres(roles) => roles.tables(host, slug).await,
        }
    }

    /// Removes everything `slug` stored in its SQL place (uninstall with
    /// data); the names of the tables that were dropped.
    pub(crate) async fn remove(
        &self,
        host: &DatabaseConnection,
        slug: &str,
    ) -> Result<Vec<String>, DbErr> {
        let tables = self.tables(host, slug).await?;
        self.close(slug).await;
        match &self.place {
            Place::Sqlite(files) => files.remove(slug)?,
            Place::Postgres(roles) => roles.remove(host, slug).await?,
        }
        Ok(tables)
    }

    /// Moves plugin tables that an earlier version kept among the host's
    /// tables into each plugin's own place, data kept. Returns how many
    /// tables moved.
    pub(crate) async fn relocate_legacy_tables(
        &self,
        host: &DatabaseConnection,
    ) -> Result<usize, DbErr> {
        match &self.place {
            Place::Sqlite(files) => relocate::sqlite(host, files).await,
            Place::Postgres(roles) => relocate::postgres(host, roles).await,
        }
    }
}

/// The slug whose table `name` is (`plugin_{slug with _}__{short}`), for
/// tables found in the host's own namespace.
fn slug_of_table(name: &str) -> Option<String> {
    let rest = name.strip_prefix("plugin_")?;
    let (slug, short) = rest.split_once("__")?;
    let slug = slug.replace('_', "-");
    (!short.is_empty() && crate::slug::Slug::is_valid(&slug)).then_some(slug)
}

#[cfg(test)]
mod tests {
    use super::slug_of_table;

    #[test]
    fn a_table_name_gives_back_its_slug() {
        assert_eq!(
            slug_of_table("plugin_username_policy__rules").as_deref(),
            Some("username-policy")
        );
        assert_eq!(slug_of_table("plugin_storage"), None);
        assert_eq!(slug_of_table("plugin_job_runs"), None);
        assert_eq!(slug_of_table("plugin_x__"), None);
        assert_eq!(slug_of_table("accounts"), None);
    }
}
