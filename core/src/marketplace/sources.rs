//! Catalog sources and trusted keys, persisted in the database; syncing a
//! source keeps its last good catalog, so the marketplace works offline and
//! after a restart, and a source that is down or serves bad JSON is reported
//! without losing what was known.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value};
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

/// A raw statement with `?` placeholders, numbered for PostgreSQL.
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Reads a catalog document at `location` (file path, `file://` or http(s)).
pub fn fetch_catalog(location: &str) -> Result<Catalog, String> {
    let text = fetch_catalog_text(location)?;
    serde_json::from_str(&text).map_err(|e| format!("not a valid catalog: {e}"))
}

/// Reads and validates the catalog document at `location`; its text, as
/// read (the parsed copy is dropped at once: a sync holds one parsed
/// catalog at most).
fn fetch_valid_catalog(location: &str) -> Result<String, String> {
    let text = fetch_catalog_text(location)?;
    serde_json::from_str::<Catalog>(&text).map_err(|e| format!("not a valid catalog: {e}"))?;
    Ok(text)
}

/// The text of the catalog document at `location`, at most
/// [`MAX_CATALOG`] bytes.
fn fetch_catalog_text(location: &str) -> Result<String, String> {
    let text = if location.starts_with("http://") || location.starts_with("https://") {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut res = agent.get(location).call().map_err(|e| e.to_string())?;
        res.body_mut()
            .with_config()
            .limit(MAX_CATALOG)
            .read_to_string()
            .map_err(|e| e.to_string())?
    } else {
        let path = location.strip_prefix("file://").unwrap_or(location);
        let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
        if meta.len() > MAX_CATALOG {
            return Err(format!("larger than {MAX_CATALOG} bytes"));
        }
        std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
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

    fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Every source, oldest first.
    pub async fn list(&self) -> Result<Vec<Source>, DbErr> {
        self.rows(true).await
    }

    /// Every source, with its catalog parsed or not (`entries` is 0 then).
    async fn rows(&self, with_catalog: bool) -> Result<Vec<Source>, DbErr> {
        let catalog_column = if with_catalog {
            "catalog"
        } else {
            "CAST(NULL AS TEXT) AS catalog"
        };
        let rows = self
            .conn
            .query_all_raw(stmt(
                self.backend(),
                &format!("SELECT id, location, allow_unsigned, added_at, synced_at, last_error, {catalog_column} FROM catalog_sources ORDER BY id"),
                vec![],
            ))
            .await?;
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
            self.conn
                .execute_raw(stmt(
                    self.backend(),
                    "INSERT INTO catalog_sources (location, allow_unsigned, added_at) VALUES (?, ?, ?)",
                    vec![location.into(), allow_unsigned.into(), Utc::now().into()],
                ))
                .await?;
        }
        self.list()
            .await?
            .into_iter()
            .find(|s| s.location == location)
            .ok_or_else(|| DbErr::RecordNotFound(location.to_string()))
    }

    /// Removes a source; whether it existed.
    pub async fn remove(&self, id: i64) -> Result<bool, DbErr> {
        let res = self
            .conn
            .execute_raw(stmt(
                self.backend(),
                "DELETE FROM catalog_sources WHERE id = ?",
                vec![id.into()],
            ))
            .await?;
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
                .unwrap_or_else(|e| Err(e.to_string()));
            if fetched.is_ok() {
                self.failed_at.remove(&s.id);
            } else {
                self.failed_at.insert(s.id, std::time::Instant::now());
            }
            let update = match fetched {
                Ok(text) => stmt(
                    self.backend(),
                    "UPDATE catalog_sources SET catalog = ?, synced_at = ?, last_error = NULL WHERE id = ?",
                    vec![
                        text.into(),
                        Utc::now().into(),
                        s.id.into(),
                    ],
                ),
                Err(e) => {
                    tracing::warn!(source = %s.location, "catalog sync failed: {e}");
                    stmt(
                        self.backend(),
                        "UPDATE catalog_sources SET last_error = ? WHERE id = ?",
                        vec![e.into(), s.id.into()],
                    )
                }
            };
            self.conn.execute_raw(update).await?;
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
        let rows = self
            .conn
            .query_all_raw(stmt(
                self.backend(),
                "SELECT key_id, public_key, name, added_at FROM trusted_keys ORDER BY added_at",
                vec![],
            ))
            .await?;
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
        self.conn
            .execute_raw(stmt(
                self.backend(),
                "INSERT INTO trusted_keys (key_id, public_key, name, added_at) VALUES (?, ?, ?, ?)",
                vec![
                    key.key_id.clone().into(),
                    key.public_key.clone().into(),
                    name.into(),
                    Utc::now().into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// Stops trusting a key; whether it was trusted.
    pub async fn distrust(&self, key_id: &str) -> Result<bool, DbErr> {
        let res = self
            .conn
            .execute_raw(stmt(
                self.backend(),
                "DELETE FROM trusted_keys WHERE key_id = ?",
                vec![key_id.into()],
            ))
            .await?;
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
        })
    }
}
