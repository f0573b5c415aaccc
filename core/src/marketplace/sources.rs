//! Catalog sources and trusted keys, persisted in the database; syncing a
//! source keeps its last good catalog, so the marketplace works offline and
//! after a restart, and a source that is down or serves bad JSON is reported
//! without losing what was known.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, ExprTrait, Order, Query},
    ConnectionTrait, DatabaseConnection, DbErr, Statement, StatementBuilder,
};
use serde::Serialize;

use super::{
    catalog::{Catalog, CatalogEntry},
    install::TrustPolicy,
    signing::PublicKey,
};

/// How long a synced catalog is fresh.
pub const TTL: Duration = Duration::from_secs(600);
/// How long after a failed sync a source is tried again (unless a sync is
/// forced): browsing must not wait on a source that is down every time.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);
/// The largest catalog document read.
pub const MAX_CATALOG: u64 = 8 << 20;

/// A configured catalog source.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// Its id.
    pub id: i64,
    /// A file path or an `http(s)` URL.
    pub location: String,
    /// Whether unsigned bundles from it are accepted.
    pub allow_unsigned: bool,
    /// When it was added.
    pub added_at: DateTime<Utc>,
    /// The last successful sync.
    pub synced_at: Option<DateTime<Utc>>,
    /// The last sync's error (the last good catalog is kept).
    pub last_error: Option<String>,
    /// Entries in its last good catalog.
    pub entries: usize,
    /// Shared, never copied: a clone of the source is a reference count.
    #[serde(skip)]
    catalog: Option<Arc<Catalog>>,
}

impl Source {
    /// The entries of its last good catalog (empty if it never synced).
    pub fn entries(&self) -> &[CatalogEntry] {
        self.catalog
            .as_deref()
            .map_or(&[], |c| c.entries.as_slice())
    }
}

/// A trusted publisher key.
#[derive(Debug, Clone, Serialize)]
pub struct TrustedKey {
    /// Its id.
    pub key_id: String,
    /// The public key (hex).
    pub public_key: String,
    /// A label.
    pub name: String,
    /// When it was added.
    pub added_at: DateTime<Utc>,
}

/// Marketplace state over the host's database.
#[derive(Clone)]
pub struct Sources {
    conn: DatabaseConnection,
    /// When each source last failed to sync (in memory: a restart tries
    /// every source once).
    failed_at: std::sync::Arc<dashmap::DashMap<i64, std::time::Instant>>,
}

const SOURCES: &str = "catalog_sources";
const KEYS: &str = "trusted_keys";

/// Why a catalog document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogFetchError {
    /// The HTTP request failed.
    #[error("{0}")]
    Http(#[from] ureq::Error),
    /// The file could not be read.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The document is over [`MAX_CATALOG`] bytes.
    #[error("larger than {MAX_CATALOG} bytes")]
    TooLarge,
    /// The document is not a catalog.
    #[error("not a valid catalog: {0}")]
    Invalid(#[from] serde_json::Error),
    /// The blocking task reading it failed.
    #[error("the catalog fetch task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Reads a catalog document at `location` (file path, `file://` or http(s)).
pub fn fetch_catalog(location: &str) -> Result<Catalog, CatalogFetchError> {
    let text = fetch_catalog_text(location)?;
    Ok(serde_json::from_str(&text)?)
}

/// Reads and validates the catalog document at `location`; its text, as
/// read (the parsed copy is dropped at once: a sync holds one parsed
/// catalog at most).
fn fetch_valid_catalog(location: &str) -> Result<String, CatalogFetchError> {
    let text = fetch_catalog_text(location)?;
    serde_json::from_str::<Catalog>(&text)?;
    Ok(text)
}

/// The text of the catalog document at `location`, at most
/// [`MAX_CATALOG`] bytes.
fn fetch_catalog_text(location: &str) -> Result<String, CatalogFetchError> {
    let text = if location.starts_with("http://") || location.starts_with("https://") {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut res = agent.get(location).call()?;
        res.body_mut()
            .with_config()
            .limit(MAX_CATALOG)
            .read_to_string()?
    } else {
        let path = location.strip_prefix("file://").unwrap_or(location);
        let file = |source| CatalogFetchError::File {
            path: path.to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(file)?;
        if meta.len() > MAX_CATALOG {
            return Err(CatalogFetchError::TooLarge);
        }
        std::fs::read_to_string(path).map_err(file)?
    };
    Ok(text)
}

impl Sources {
    /// Over `conn`.
    pub fn new(conn: DatabaseConnection) -> Self {
        Self {
            conn,
            failed_at: Default::default(),
        }
    }

    /// `query` for this connection's database: its own placeholders, every
    /// value bound (nothing is spliced into the SQL text).
    fn build(&self, query: &impl StatementBuilder) -> Statement {
        self.conn.get_database_backend().build(query)
    }

    /// Every source, oldest first.
    pub async fn list(&self) -> Result<Vec<Source>, DbErr> {
        self.rows(true).await
    }

    /// Every source, with its catalog parsed or not (`entries` is 0 then).
    async fn rows(&self, with_catalog: bool) -> Result<Vec<Source>, DbErr> {
        let mut query = Query::select();
        query
            .columns([
                "id",
                "location",
                "allow_unsigned",
                "added_at",
                "synced_at",
                "last_error",
            ])
            .from(SOURCES)
            .order_by("id", Order::Asc);
        if with_catalog {
            query.column("catalog");
        } else {
            query.expr_as(Expr::cust("CAST(NULL AS TEXT)"), "catalog");
        }
        let rows = self.conn.query_all_raw(self.build(&query)).await?;
        rows.iter()
            .map(|r| {
                let text: Option<String> = r.try_get("", "catalog")?;
                let catalog = text
                    .and_then(|t| serde_json::from_str::<Catalog>(&t).ok())
                    .map(Arc::new);
                Ok(Source {
                    id: r.try_get("", "id")?,
                    location: r.try_get("", "location")?,
                    allow_unsigned: r.try_get("", "allow_unsigned")?,
                    added_at: r.try_get("", "added_at")?,
                    synced_at: r.try_get("", "synced_at")?,
                    last_error: r.try_get("", "last_error")?,
                    entries: catalog.as_ref().map_or(0, |c| c.entries.len()),
                    catalog,
                })
            })
            .collect()
    }

    /// Adds a source (idempotent on `location`); returns it.
    pub async fn add(&self, location: &str, allow_unsigned: bool) -> Result<Source, DbErr> {
        if !self.list().await?.iter().any(|s| s.location == location) {
            let insert = Query::insert()
                .into_table(SOURCES)
                .columns(["location", "allow_unsigned", "added_at"])
                .values_panic([location.into(), allow_unsigned.into(), Utc::now().into()])
                .to_owned();
            self.conn.execute_raw(self.build(&insert)).await?;
        }
        self.list()
            .await?
            .into_iter()
            .find(|s| s.location == location)
            .ok_or_else(|| DbErr::RecordNotFound(location.to_string()))
    }

    /// Removes a source; whether it existed.
    pub async fn remove(&self, id: i64) -> Result<bool, DbErr> {
        let delete = Query::delete()
            .from_table(SOURCES)
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        let res = self.conn.execute_raw(self.build(&delete)).await?;
        Ok(res.rows_affected() > 0)
    }

    /// Syncs the sources that are stale (all with `force`); a failure is
    /// recorded on the source and its last good catalog kept, and the
    /// source is not tried again for [`RETRY_AFTER`] unless forced.
    pub async fn sync(&self, force: bool) -> Result<Vec<Source>, DbErr> {
        // Which are due needs no catalog: none is parsed here.
        for s in self.rows(false).await? {
            let fresh = s
                .synced_at
                .is_some_and(|t| (Utc::now() - t).to_std().unwrap_or_default() < TTL);
            let failed_lately = self
                .failed_at
                .get(&s.id)
                .is_some_and(|t| t.elapsed() < RETRY_AFTER);
            let due = if s.last_error.is_some() {
                !failed_lately
            } else {
                !fresh
            };
            if !force && !due {
                continue;
            }
            let location = s.location.clone();
            let fetched = tokio::task::spawn_blocking(move || fetch_valid_catalog(&location))
                .await
                .unwrap_or_else(|e| Err(e.into()));
            if fetched.is_ok() {
                self.failed_at.remove(&s.id);
            } else {
                self.failed_at.insert(s.id, std::time::Instant::now());
            }
            let mut update = Query::update();
            update.table(SOURCES).and_where(Expr::col("id").eq(s.id));
            match fetched {
                Ok(text) => update.values([
                    ("catalog", text.into()),
                    ("synced_at", Utc::now().into()),
                    ("last_error", Expr::null()),
                ]),
                Err(e) => {
                    tracing::warn!(source = %s.location, "catalog sync failed: {e}");
                    update.values([("last_error", e.to_string().into())])
                }
            };
            self.conn.execute_raw(self.build(&update)).await?;
        }
        self.list().await
    }

    /// Every entry of `sources`' last good catalogs, with its source, by
    /// reference: nothing is copied (browsing a catalog of n entries must
    /// cost O(n), not a copy of the catalog per entry).
    pub fn offers(sources: &[Source]) -> impl Iterator<Item = (&Source, &CatalogEntry)> {
        sources
            .iter()
            .flat_map(|s| s.entries().iter().map(move |e| (s, e)))
    }

    /// The trusted keys.
    pub async fn keys(&self) -> Result<Vec<TrustedKey>, DbErr> {
        let query = Query::select()
            .columns(["key_id", "public_key", "name", "added_at"])
            .from(KEYS)
            .order_by("added_at", Order::Asc)
            .to_owned();
        let rows = self.conn.query_all_raw(self.build(&query)).await?;
        rows.iter()
            .map(|r| {
                Ok(TrustedKey {
                    key_id: r.try_get("", "key_id")?,
                    public_key: r.try_get("", "public_key")?,
                    name: r.try_get("", "name")?,
                    added_at: r.try_get("", "added_at")?,
                })
            })
            .collect()
    }

    /// Trusts a key (idempotent).
    pub async fn trust(&self, key: &PublicKey, name: &str) -> Result<(), DbErr> {
        if self.keys().await?.iter().any(|k| k.key_id == key.key_id) {
            return Ok(());
        }
        let insert = Query::insert()
            .into_table(KEYS)
            .columns(["key_id", "public_key", "name", "added_at"])
            .values_panic([
                key.key_id.clone().into(),
                key.public_key.clone().into(),
                name.into(),
                Utc::now().into(),
            ])
            .to_owned();
        self.conn.execute_raw(self.build(&insert)).await?;
        Ok(())
    }

    /// Stops trusting a key; whether it was trusted.
    pub async fn distrust(&self, key_id: &str) -> Result<bool, DbErr> {
        let delete = Query::delete()
            .from_table(KEYS)
            .and_where(Expr::col("key_id").eq(key_id))
            .to_owned();
        let res = self.conn.execute_raw(self.build(&delete)).await?;
        Ok(res.rows_affected() > 0)
    }

    /// The trust policy for installing from `source`.
    pub async fn policy_for(&self, source: &Source) -> Result<TrustPolicy, DbErr> {
        Ok(TrustPolicy {
            keys: self
                .keys()
                .await?
                .into_iter()
                .map(|k| PublicKey {
                    key_id: k.key_id,
                    public_key: k.public_key,
                })
                .collect(),
            allow_unsigned: source.allow_unsigned,
            asks: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::DbBackend;

    use super::*;

    /// The test PostgreSQL server (`scripts/postgres`) and a SQLite file.
    async fn connections(dir: &std::path::Path) -> Vec<(&'static str, DatabaseConnection)> {
        let url = std::env::var("PLUGBOARD_TEST_POSTGRES_URL").expect(
            "PLUGBOARD_TEST_POSTGRES_URL is not set: run the tests with scripts/test, which starts PostgreSQL",
        );
        let sqlite = crate::db::sqlite_url(&dir.join("t.db"));
        vec![
            (
                "sqlite",
                sea_orm::Database::connect(sqlite).await.expect("sqlite"),
            ),
            (
                "postgres",
                sea_orm::Database::connect(url).await.expect("postgres"),
            ),
        ]
    }

    /// A statement whose SQL text holds a literal with `?` in it, next to a
    /// bound value, as this module builds statements. (With the old
    /// `stmt(backend, "SELECT 'why?' AS lit, ? AS n", ..)`, PostgreSQL got
    /// `'why$1'` and `$2` and refused: "bind message supplies 1 parameters,
    /// but prepared statement requires 2".)
    fn literal_and_value(backend: DbBackend) -> Statement {
        backend.build(
            Query::select()
                .expr_as(Expr::cust("'why?'"), "lit")
                .expr_as(Expr::val(7i64), "n"),
        )
    }

    #[tokio::test]
    async fn a_question_mark_in_a_literal_stays_a_question_mark() {
        let dir = std::env::temp_dir().join(format!("pb-sources-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (db, conn) in connections(&dir).await {
            let row = conn
                .query_one_raw(literal_and_value(conn.get_database_backend()))
                .await
                .unwrap_or_else(|e| panic!("{db}: {e}"))
                .unwrap_or_else(|| panic!("{db}: no row"));
            let lit: String = row.try_get("", "lit").unwrap();
            let n: i64 = row.try_get("", "n").unwrap();
            assert_eq!((lit.as_str(), n), ("why?", 7), "{db}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
