//! Installed bundles by digest, so that a replica that has never seen a
//! plugin gets the very bytes the installing replica verified, together
//! with the catalog entry they were checked against (it verifies them
//! again, exactly as an install does, before loading anything).
//!
//! In the database rather than fetched again from the catalog source: the
//! source may be a file on the installing replica only, may have moved on
//! to another version, or may be down; the database is already the one
//! place every replica reaches.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::pg;

/// A stored bundle.
#[derive(Debug, Clone)]
pub struct StoredBundle {
    /// The catalog entry it was verified against (JSON).
    pub entry: String,
    /// The bundle.
    pub content: Vec<u8>,
}

/// Keeps `content` (whose SHA-256 is `sha256`) unless it is already kept.
pub async fn keep(
    db: &DatabaseConnection,
    sha256: &str,
    slug: &str,
    version: &str,
    entry: &str,
    content: &[u8],
) -> Result<(), DbErr> {
    db.execute_raw(pg(
        "INSERT INTO plugin_bundles (sha256, slug, version, entry, size, content, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (sha256) DO NOTHING",
        [
            sha256.to_ascii_lowercase().into(),
            slug.into(),
            version.into(),
            entry.into(),
            (content.len() as i64).into(),
            content.to_vec().into(),
        ],
    ))
    .await
    .map(|_| ())
}

/// The bundle with digest `sha256`, if kept.
pub async fn fetch(db: &DatabaseConnection, sha256: &str) -> Result<Option<StoredBundle>, DbErr> {
    let Some(row) = db
        .query_one_raw(pg(
            "SELECT entry, content FROM plugin_bundles WHERE sha256 = $1",
            [sha256.to_ascii_lowercase().into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(StoredBundle {
        entry: row.try_get("", "entry")?,
        content: row.try_get("", "content")?,
    }))
}

/// Forgets the bundles of `slug` other than `keep` (its current and
/// previous versions), once no replica can need them.
pub async fn forget_others(
    db: &DatabaseConnection,
    slug: &str,
    keep: &[String],
) -> Result<u64, DbErr> {
    let keep: Vec<String> = keep.iter().map(|s| s.to_ascii_lowercase()).collect();
    db.execute_raw(pg(
        "DELETE FROM plugin_bundles WHERE slug = $1 AND NOT (sha256 = ANY($2))",
        [slug.into(), keep.into()],
    ))
    .await
    .map(|r| r.rows_affected())
}
