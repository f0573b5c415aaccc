//! The database: connection, migrations, and the bridge that lets synchronous
//! plugin callbacks run async sea-orm queries.
//!
//! Plugin code is synchronous (a dynamic plugin cannot use the host's tokio),
//! and it runs on the executor's plugin-call threads (`crate::exec`), which
//! have no runtime; host code that waits synchronously may run on actix
//! worker threads, single-threaded tokio runtimes where tokio's `block_on`
//! is forbidden. [`Db::block_on`] runs the
//! query on a small runtime of the database's own (the bridge): on
//! PostgreSQL as a task the caller waits for, on SQLite polled on the
//! calling thread (`futures_executor::block_on`) inside the bridge's
//! context, whose threads drive the timers.
//!
//! Those queries use a **pool of their own**, created and only ever used on
//! the bridge runtime. A pooled PostgreSQL connection's socket belongs to the
//! reactor of the runtime that opened it; were the bridge to borrow a
//! connection that an actix thread opened while that very thread is blocked
//! waiting for the bridge, nobody would drive its socket and both would wait
//! for ever (seen in the uninstall tests before the pools were split). Async
//! host code uses the other pool ([`Db::conn`]).

use std::{
    future::Future,
    path::Path,
    sync::{atomic::AtomicBool, Arc},
    time::Duration,
};

use crate::{background::Background, sql::sandbox::Sandboxes};
use plugboard_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

/// Errors opening the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The connection or a migration failed.
    #[error("database {url}: {source}")]
    Open {
        /// The database URL (without credentials).
        url: String,
        /// The cause.
        source: DbErr,
    },
    /// The bridge runtime could not start.
    #[error("cannot start the database runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// The host's database connection.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// Only used inside tasks on `bridge`.
    bridge_conn: DatabaseConnection,
    bridge: tokio::runtime::Handle,
    /// Each plugin's own, confined SQL place (`sql::sandbox`); only used
    /// inside tasks on `bridge`.
    sandboxes: Arc<Sandboxes>,
    /// Test builds only: plugin SQL skips the namespace rewriter.
    rewriter_bypassed: Arc<AtomicBool>,
    /// Whether [`Db::block_on`] runs queries as bridge tasks (PostgreSQL)
    /// or polls them on the caller's thread (SQLite).
    spawn_queries: bool,
    _bridge_owner: Arc<Background>,
}

/// The SQLite URL for a database file, created if missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

impl Db {
    /// Connects to `url` and applies the host's migrations. On SQLite, each
    /// plugin's tables live in its own file under `plugin_sql_dir`; plugin
    /// tables an earlier version kept among the host's are moved there (on
    /// PostgreSQL, into each plugin's schema).
    pub async fn open(url: &str, plugin_sql_dir: &Path) -> Result<Db, DbError> {
        let open_err = |source| DbError::Open {
            url: redact(url),
            source,
        };
        let bridge_rt = Background::new("plugboard-db", 2)?;
        let bridge = bridge_rt
            .handle()
            .cloned()
            .ok_or_else(|| std::io::Error::other("database runtime missing"))?;
        let url_owned = url.to_string();
        let sandbox_dir = plugin_sql_dir.to_path_buf();
        let (conn, bridge_conn, sandboxes) = bridge
            .spawn(async move {
                let connect = || async {
                    let mut opts = ConnectOptions::new(url_owned.clone());
                    opts.max_connections(8)
                        .min_connections(1)
                        .acquire_timeout(Duration::from_secs(10))
                        .sqlx_logging(false);
                    let conn = Database::connect(opts).await?;
                    if conn.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
                        conn.execute_unprepared(
                            "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000;",
                        )
                        .await?;
                    }
                    Ok::<_, DbErr>(conn)
                };
                let conn = connect().await?;
                // sea-orm-migration wraps migrations in a transaction on
                // PostgreSQL only; on SQLite (whose DDL is transactional) a
                // process killed mid-migration left a table without its
                // migration record (found by the kill-during-install test).
                if conn.get_database_backend() == sea_orm::DbBackend::Sqlite {
                    use sea_orm::TransactionTrait;
                    let txn = conn.begin().await?;
                    Migrator::up(&txn, None).await?;
                    txn.commit().await?;
                }
                // Replicas starting together set the database up one at a
                // time (migrations, then the sandbox's grants and revokes,
                // which PostgreSQL refuses to run concurrently on one
                // object): the lock is held until `serialised` ends, and
                // the next replica finds everything done.
                let serialised = if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
                    use sea_orm::TransactionTrait;
                    let txn = conn.begin().await?;
                    txn.execute_unprepared("SELECT pg_advisory_xact_lock(7053470829145203553)")
                        .await?;
                    Migrator::up(&conn, None).await?;
                    Some(txn)
                } else {
                    None
                };
                let bridge_conn = connect().await?;
                let sandboxes = Sandboxes::new(&bridge_conn, &url_owned, &sandbox_dir).await?;
                let moved = sandboxes.relocate_legacy_tables(&bridge_conn).await?;
                if let Some(txn) = serialised {
                    txn.commit().await?;
                }
                if moved > 0 {
                    tracing::info!(tables = moved, "plugin tables moved into their own places");
                }
                Ok::<_, DbErr>((conn, bridge_conn, sandboxes))
            })
            .await
            .map_err(|e| open_err(DbErr::Custom(format!("connect task failed: {e}"))))?
            .map_err(open_err)?;
        let spawn_queries = conn.get_database_backend() == sea_orm::DbBackend::Postgres;
        Ok(Db {
            conn,
            bridge_conn,
            bridge,
            sandboxes: Arc::new(sandboxes),
            rewriter_bypassed: Arc::default(),
            spawn_queries,
            _bridge_owner: Arc::new(bridge_rt),
        })
    }

    /// Test builds only: from now on, plugin SQL reaches the database as
    /// the plugin wrote it, without the namespace rewriter, so that a test
    /// can prove the database's own confinement.
    #[cfg(feature = "test-sql-bypass")]
    pub fn bypass_sql_rewriter_for_tests(&self) {
        self.rewriter_bypassed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// How plugin SQL is checked before it reaches the database.
    pub(crate) fn rewriter(&self) -> crate::sql::exec::Rewriter {
        if self
            .rewriter_bypassed
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            crate::sql::exec::Rewriter::Bypassed
        } else {
            crate::sql::exec::Rewriter::Namespace
        }
    }

    /// Runs a database future for plugin `slug` from synchronous code (like
    /// [`Db::block_on`]); `f` gets the plugin's own confined connection.
    pub(crate) fn plugin_block_on<T, F>(
        &self,
        slug: &str,
        f: impl FnOnce(DatabaseConnection) -> F + Send + 'static,
    ) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, DbErr>> + Send + 'static,
    {
        let sandboxes = Arc::clone(&self.sandboxes);
        let slug = slug.to_string();
        // The plugin call's remaining time bounds the wait (the database
        // still ends the statement at its own statement deadline).
        let left = crate::exec::remaining();
        self.block_on(move |host| async move {
            let query = async {
                let conn = sandboxes.conn(&host, &slug).await?;
                f(conn).await
            };
            match left {
                None => query.await,
                Some(left) => tokio::time::timeout(left, query).await.map_err(|_| {
                    DbErr::Custom(format!(
                        "the plugin call's deadline passed during the query ({} ms left when it began)",
                        left.as_millis()
                    ))
                })?,
            }
        })
    }

    /// Runs `f` as a task on the bridge runtime and waits for it, from async
    /// host code. Everything that touches the plugins' SQL places goes
    /// through here or [`Db::plugin_block_on`] (see the module docs).
    pub(crate) async fn on_bridge<T, F>(
        &self,
        f: impl FnOnce(DatabaseConnection, Arc<Sandboxes>) -> F,
    ) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, DbErr>> + Send + 'static,
    {
        let fut = f(self.bridge_conn.clone(), Arc::clone(&self.sandboxes));
        self.bridge
            .spawn(fut)
            .await
            .map_err(|e| DbErr::Custom(format!("database task failed: {e}")))?
    }

    /// The physical names of plugin `slug`'s tables, in its own place.
    pub fn plugin_tables(&self, slug: &str) -> Result<Vec<String>, DbErr> {
        let sandboxes = Arc::clone(&self.sandboxes);
        let slug = slug.to_string();
        self.block_on(move |host| async move { sandboxes.tables(&host, &slug).await })
    }

    /// Whether several replicas may share this database (PostgreSQL; a
    /// SQLite database belongs to one process).
    pub fn is_shared(&self) -> bool {
        self.spawn_queries
    }

    /// The sea-orm connection, for async host code.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Runs a database future in the background.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.bridge.spawn(fut);
    }

    /// Runs a database future to completion from synchronous code (plugin
    /// callbacks), on any thread, including inside another tokio runtime.
    ///
    /// `f` gets the bridge's own connection pool (see the module docs).
    pub fn block_on<T, F>(&self, f: impl FnOnce(DatabaseConnection) -> F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, DbErr>> + Send + 'static,
    {
        // `unconstrained`: when the caller is a tokio worker (actix, event
        // delivery) its task's cooperative budget would run out inside this
        // loop, and tokio resources would then answer `Pending` for ever,
        // waiting for a yield to the scheduler that never comes.
        let fut = f(self.bridge_conn.clone());
        if self.spawn_queries {
            // PostgreSQL: the query runs as a task on the bridge, and this
            // thread waits for it. Polled on the caller's thread instead,
            // pool acquires stalled for their whole timeout after a few
            // dozen queries in a row, under load (found by the SQL
            // containment test and the access tests); as bridge tasks, 400
            // in a row pass.
            let task = self.bridge.spawn(fut);
            futures_executor::block_on(tokio::task::unconstrained(task))
                .map_err(|e| DbErr::Custom(format!("database task failed: {e}")))?
        } else {
            // SQLite: poll the future on this thread, inside the bridge
            // runtime's context (sqlx's SQLite connections are worker
            // threads, not sockets), with no hop to another thread and back
            // per query: about twice the throughput (BENCHMARKS.md).
            let _bridge = self.bridge.enter();
            futures_executor::block_on(tokio::task::unconstrained(fut))
        }
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}
