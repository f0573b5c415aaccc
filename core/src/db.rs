//! The database: connection, migrations, and the bridge that lets synchronous
//! plugin callbacks run async sea-orm queries.
//!
//! Plugin code is synchronous (a dynamic plugin cannot use the host's tokio),
//! and it runs on actix worker threads, which are single-threaded tokio
//! runtimes where tokio's `block_on` is forbidden. [`Db::block_on`] polls
//! the query on the calling thread (`futures_executor::block_on`) inside the
//! context of a small runtime of its own (the bridge), whose threads drive
//! the sockets and timers.
//!
//! Those queries use a **pool of their own**, created and only ever used on
//! the bridge runtime. A pooled PostgreSQL connection's socket belongs to the
//! reactor of the runtime that opened it; were the bridge to borrow a
//! connection that an actix thread opened while that very thread is blocked
//! waiting for the bridge, nobody would drive its socket and both would wait
//! for ever (seen in the uninstall tests before the pools were split). Async
//! host code uses the other pool ([`Db::conn`]).

use std::{future::Future, path::Path, time::Duration};

use crate::background::Background;
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
    _bridge_owner: std::sync::Arc<Background>,
}

/// The SQLite URL for a database file, created if missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

impl Db {
    /// Connects to `url` and applies the host's migrations.
    pub async fn open(url: &str) -> Result<Db, DbError> {
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
        let (conn, bridge_conn) = bridge
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
                } else {
                    Migrator::up(&conn, None).await?;
                }
                let bridge_conn = connect().await?;
                Ok::<_, DbErr>((conn, bridge_conn))
            })
            .await
            .map_err(|e| open_err(DbErr::Custom(format!("connect task failed: {e}"))))?
            .map_err(open_err)?;
        Ok(Db {
            conn,
            bridge_conn,
            bridge,
            _bridge_owner: std::sync::Arc::new(bridge_rt),
        })
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
        // Poll the future on this thread, inside the bridge runtime's
        // context: its sockets and timers belong to the bridge's drivers,
        // which the bridge's own threads keep turning, so nothing here waits
        // on the (blocked) caller's runtime, and there is no hop to another
        // thread and back per query.
        //
        // `unconstrained`: when the caller is a tokio worker (actix, event
        // delivery) its task's cooperative budget would run out inside this
        // loop, and tokio resources would then answer `Pending` for ever,
        // waiting for a yield to the scheduler that never comes.
        let _bridge = self.bridge.enter();
        futures_executor::block_on(tokio::task::unconstrained(f(self.bridge_conn.clone())))
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
