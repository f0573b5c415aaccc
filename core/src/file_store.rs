//! The storage of the `files` capability: each plugin's named blobs
//! (`ctx.files()`); the capability itself (grant, purge, admin detail) is
//! `capability::files`.
//!
//! Stored in the host database (`plugin_files`: plugin, name, size,
//! content), not in the data folder, so every replica on one PostgreSQL
//! sees the same files and a backup of the database holds them. A put
//! checks the per-file limit first, then writes only if the plugin's total
//! stays within its quota, in one conditional statement (on PostgreSQL
//! under a per-plugin transaction lock, so concurrent puts cannot both pass).
//!
//! Declared in `plugin.json` as `"capabilities": { "files": true }`;
//! removed with the plugin's data (`?data=remove`); listed with sizes in
//! the admin's plugin detail.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, TransactionTrait};
use serde::Serialize;

/// The capability's name, as written in manifests and refusals.
pub const NAME: &str = "files";

/// How much a plugin may store; set by the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// The largest single file, in bytes.
    pub max_file: u64,
    /// The most one plugin may hold in all, in bytes.
    pub quota: u64,
    /// The most files one plugin may hold (empty files cost no bytes, and
    /// every file costs a row).
    pub max_files: u64,
}

impl Default for FileLimits {
    /// 8 MiB per file, 64 MiB and 4 096 files per plugin.
    fn default() -> Self {
        Self {
            max_file: 8 << 20,
            quota: 64 << 20,
            max_files: 4096,
        }
    }
}

/// Why a file operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The name breaks the naming rules.
    #[error("invalid file name {0:?}: use 1-200 bytes of letters, digits, '.', '_', '-' and '/' with no empty, '.' or '..' segment")]
    BadName(String),
    /// The file is larger than one file may be.
    #[error("file {name:?} is {size} bytes; one file may hold at most {max} bytes")]
    TooLarge {
        /// The file.
        name: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Storing it would take the plugin past its quota.
    #[error(
        "storing {name:?} ({size} bytes) would exceed the plugin's file quota of {quota} bytes or {max_files} files"
    )]
    OverQuota {
        /// The file.
        name: String,
        /// Its size.
        size: u64,
        /// The quota.
        quota: u64,
        /// The most files.
        max_files: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// One stored file, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFile {
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

fn check_name(name: &str) -> Result<(), FileError> {
    if plugboard_plugin_api::files::valid_name(name) {
        Ok(())
    } else {
        Err(FileError::BadName(name.to_string()))
    }
}

/// `?` placeholders for SQLite, `$n` for PostgreSQL: the database layer's own.
fn stmt(
    backend: DbBackend,
    sqlite: &str,
    postgres: &str,
    values: Vec<sea_orm::Value>,
) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        postgres
    } else {
        sqlite
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The checks a put passes before anything is copied or stored: the
/// name, and the per-file limit.
pub fn check_put(name: &str, size: u64, limits: FileLimits) -> Result<(), FileError> {
    check_name(name)?;
    if size > limits.max_file {
        return Err(FileError::TooLarge {
            name: name.into(),
            size,
            max: limits.max_file,
        });
    }
    Ok(())
}

/// Stores `bytes` under `name` for `plugin`, within `limits`.
pub async fn put(
    db: &sea_orm::DatabaseConnection,
    plugin: &str,
    name: &str,
    bytes: &[u8],
    limits: FileLimits,
) -> Result<(), FileError> {
    let size = bytes.len() as u64;
    check_put(name, size, limits)?;
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    if backend == DbBackend::Postgres {
        // Puts of one plugin queue here; the quota check below then sees
        // every committed put before it.
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock(hashtext('plugin_files:' || $1))",
            [plugin.into()],
        ))
        .await?;
    }
    let values: Vec<sea_orm::Value> = vec![
        plugin.into(),
        name.into(),
        (size as i64).into(),
        bytes.to_vec().into(),
        chrono::Utc::now().into(),
        (limits.quota as i64).into(),
        (limits.max_files as i64).into(),
    ];
    let written = txn
        .execute_raw(stmt(
            backend,
            "INSERT INTO plugin_files (plugin, name, size, content, updated_at) \
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE \
             (SELECT COALESCE(SUM(size), 0) FROM plugin_files WHERE plugin = ?1 AND name <> ?2) + ?3 <= ?6 \
             AND (SELECT COUNT(*) FROM plugin_files WHERE plugin = ?1 AND name <> ?2) < ?7 \
             ON CONFLICT (plugin, name) DO UPDATE SET size = excluded.size, \
             content = excluded.content, updated_at = excluded.updated_at",
            "INSERT INTO plugin_files (plugin, name, size, content, updated_at) \
             SELECT $1, $2, $3, $4, $5 WHERE \
             (SELECT COALESCE(SUM(size), 0) FROM plugin_files WHERE plugin = $1 AND name <> $2) + $3 <= $6 \
             AND (SELECT COUNT(*) FROM plugin_files WHERE plugin = $1 AND name <> $2) < $7 \
             ON CONFLICT (plugin, name) DO UPDATE SET size = excluded.size, \
             content = excluded.content, updated_at = excluded.updated_at",
            values,
        ))
        .await?
        .rows_affected();
    txn.commit().await?;
    if written == 0 {
        return Err(FileError::OverQuota {
            name: name.into(),
            size,
            quota: limits.quota,
            max_files: limits.max_files,
        });
    }
    Ok(())
}

/// The content of `name`, if `plugin` stored it.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    plugin: &str,
    name: &str,
) -> Result<Option<Vec<u8>>, FileError> {
    check_name(name)?;
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            backend,
            "SELECT content FROM plugin_files WHERE plugin = ? AND name = ?",
            "SELECT content FROM plugin_files WHERE plugin = $1 AND name = $2",
            vec![plugin.into(), name.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<Vec<u8>>("", "content"))
        .transpose()?)
}

/// Deletes `name`; whether it existed.
pub async fn delete<C: ConnectionTrait>(
    db: &C,
    plugin: &str,
    name: &str,
) -> Result<bool, FileError> {
    check_name(name)?;
    let backend = db.get_database_backend();
    let res = db
        .execute_raw(stmt(
            backend,
            "DELETE FROM plugin_files WHERE plugin = ? AND name = ?",
            "DELETE FROM plugin_files WHERE plugin = $1 AND name = $2",
            vec![plugin.into(), name.into()],
        ))
        .await?;
    Ok(res.rows_affected() > 0)
}

/// The files of `plugin` whose names start with `prefix`, by name.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    plugin: &str,
    prefix: &str,
) -> Result<Vec<StoredFile>, FileError> {
    // Names are ASCII; a prefix outside the name alphabet matches nothing.
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
    {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT name, size FROM plugin_files WHERE plugin = ? AND substr(name, 1, ?) = ? ORDER BY name",
            "SELECT name, size FROM plugin_files WHERE plugin = $1 AND substr(name, 1, $2) = $3 ORDER BY name",
            vec![plugin.into(), (prefix.len() as i32).into(), prefix.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(StoredFile {
                name: r.try_get("", "name")?,
                size: r.try_get::<i64>("", "size")? as u64,
            })
        })
        .collect()
}
