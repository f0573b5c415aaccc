//! SQLite: one database file per plugin, opened through confined
//! connections (see `authorizer`).

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use sea_orm::{
    sqlx::{
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
        ConnectOptions as _, Connection as _,
    },
    DatabaseConnection, DbErr, SqlxSqliteConnector,
};

use super::authorizer;
use crate::{slug::Slug, sql::table_prefix};

/// The folder of the plugins' database files.
pub(super) struct Files {
    dir: PathBuf,
}

/// A pool's size per plugin: SQLite has one writer at a time anyway.
const MAX_CONNECTIONS: u32 = 4;

impl Files {
    pub(super) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// `<dir>/<slug>.db`, the slug checked by the one `Slug` type (so the
    /// name stays inside `dir`).
    pub(super) fn path(&self, slug: &str) -> Result<PathBuf, DbErr> {
        let slug = Slug::parse(slug).map_err(|e| DbErr::Custom(e.to_string()))?;
        Ok(self.dir.join(format!("{slug}.db")))
    }

    /// Creates the folder (owner only) and the file (owner only) if missing.
    pub(super) fn create(&self, slug: &str) -> Result<PathBuf, DbErr> {
        let path = self.path(slug)?;
        let io = |e: std::io::Error| DbErr::Custom(format!("{}: {e}", path.display()));
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(&self.dir).map_err(io)?;
        let mut file = std::fs::OpenOptions::new();
        file.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        file.open(&path).map_err(io)?;
        Ok(path)
    }

    fn options(path: &Path) -> Result<SqliteConnectOptions, DbErr> {
        let opts = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .filename(path)
            .create_if_missing(false)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        Ok(opts)
    }

    /// Opens `slug`'s confined pool (creating its file on first use).
    pub(super) async fn open(&self, slug: &str) -> Result<DatabaseConnection, DbErr> {
        let path = self.create(slug)?;
        let policy = authorizer::policy_for(slug);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .idle_timeout(Some(Duration::from_secs(60)))
            .acquire_timeout(Duration::from_secs(10))
            // A local file: nothing to test before each use (a ping is a
            // round trip to the connection's worker thread per statement).
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    authorizer::install(&mut handle, policy)
                        .map_err(|e| sea_orm::sqlx::Error::Configuration(Box::new(e)))
                })
            })
            .connect_with(Self::options(&path)?)
            .await
            .map_err(|e| DbErr::Custom(format!("opening {}: {e}", path.display())))?;
        Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
    }

    /// The host's own, unconfined look at `slug`'s file: its table names.
    pub(super) async fn tables(&self, slug: &str) -> Result<Vec<String>, DbErr> {
        let path = self.path(slug)?;
        if !path.exists() {
            return Ok(Vec::new());
        }
        let mut conn = Self::options(&path)?
            .connect()
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        let pattern = format!("{}%", table_prefix(slug).replace('_', "\\_"));
        let names: Vec<(String,)> = sea_orm::sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name LIKE ? ESCAPE '\\' ORDER BY name",
        )
        .bind(pattern)
        .fetch_all(&mut conn)
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
        let _ = conn.close().await;
        Ok(names.into_iter().map(|(n,)| n).collect())
    }

    /// Deletes `slug`'s file (and its WAL and shared-memory files). The
    /// pool must be closed first.
    pub(super) fn remove(&self, slug: &str) -> Result<(), DbErr> {
        let path = self.path(slug)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(DbErr::Custom(format!("{}: {e}", file.display()))),
            }
        }
        Ok(())
    }
}
