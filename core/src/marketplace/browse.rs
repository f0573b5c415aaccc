//! The marketplace as the admin sees it: entries from every source, each
//! marked installed / enabled / update available; search and filters; and
//! installing an entry by slug as a followable job.

use serde::Serialize;

use super::{catalog::CatalogEntry, install::InstallError, sources::Source};
use crate::runtime::Runtime;

/// One catalog entry with what this installation has of it.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// The entry.
    #[serde(flatten)]
    pub entry: CatalogEntry,
    /// The source it comes from.
    pub source_id: i64,
    /// The installed version, if any.
    pub installed_version: Option<String>,
    /// The installed plugin's state, if any.
    pub state: Option<String>,
    /// Whether this entry is newer than the installed version.
    pub update_available: bool,
}

/// Search and filters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Text in slug, name, description or tags (case-insensitive).
    pub q: Option<String>,
    /// Exact category.
    pub category: Option<String>,
    /// Exact tag.
    pub tag: Option<String>,
}

impl Query {
    fn matches(&self, e: &CatalogEntry) -> bool {
        let text_ok = self.q.as_deref().is_none_or(|q| {
            let q = q.to_lowercase();
            [&e.slug, &e.name, &e.description]
                .iter()
                .any(|f| f.to_lowercase().contains(&q))
                || e.tags.iter().any(|t| t.to_lowercase().contains(&q))
        });
        text_ok
            && self.category.as_deref().is_none_or(|c| e.category == c)
            && self
                .tag
                .as_deref()
                .is_none_or(|t| e.tags.iter().any(|x| x == t))
    }
}

fn newer(a: &str, b: &str) -> bool {
    matches!((semver::Version::parse(a), semver::Version::parse(b)), (Ok(x), Ok(y)) if x > y)
}

impl Runtime {
    /// The catalog (stale sources synced first), filtered by `query`.
    pub async fn catalog(&self, query: &Query) -> Result<Vec<Listing>, sea_orm::DbErr> {
        let sources = self.marketplace().sync(false).await?;
        let records = self.store().list().await.map_err(|e| match e {
            crate::lifecycle::LifecycleError::Db(d) => d,
            other => sea_orm::DbErr::Custom(other.to_string()),
        })?;
        let mut out = Vec::new();
        for s in &sources {
            for (source, entry) in self.marketplace().entries_of(s) {
                if !query.matches(&entry) {
                    continue;
                }
                let record = records.iter().find(|r| r.slug == entry.slug);
                out.push(Listing {
                    source_id: source.id,
                    installed_version: record.map(|r| r.version.clone()),
                    state: record.map(|r| r.state.as_str().to_string()),
                    update_available: record.is_some_and(|r| newer(&entry.version, &r.version)),
                    entry,
                });
            }
        }
        Ok(out)
    }

    /// Finds `slug` (at `version`, else the newest) in the synced sources.
    pub async fn find_in_catalog(
        &self,
        slug: &str,
        version: Option<&str>,
    ) -> Result<Option<(Source, CatalogEntry)>, sea_orm::DbErr> {
        let sources = self.marketplace().sync(false).await?;
        let mut best: Option<(Source, CatalogEntry)> = None;
        for s in &sources {
            for (source, entry) in self.marketplace().entries_of(s) {
                if entry.slug != slug || version.is_some_and(|v| v != entry.version) {
                    continue;
                }
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| newer(&entry.version, &b.version))
                {
                    best = Some((source, entry));
                }
            }
        }
        Ok(best)
    }

    /// Starts installing `slug` from the catalog in the background; the job
    /// id to follow. Refuses at once what is known up front.
    pub async fn start_install(
        &self,
        slug: &str,
        version: Option<&str>,
        enable: bool,
        actor: &str,
    ) -> Result<u64, InstallError> {
        if self.plugin(slug).is_some() || self.store().get(slug).await.is_ok() {
            return Err(InstallError::AlreadyInstalled(slug.to_string()));
        }
        let (source, entry) = self
            .find_in_catalog(slug, version)
            .await
            .map_err(|e| InstallError::Runtime(crate::lifecycle::LifecycleError::Db(e).into()))?
            .ok_or_else(|| {
                InstallError::Incompatible(format!(
                    "no catalog source offers {slug}{}",
                    version.map(|v| format!(" {v}")).unwrap_or_default()
                ))
            })?;
        let trust =
            self.marketplace().policy_for(&source).await.map_err(|e| {
                InstallError::Runtime(crate::lifecycle::LifecycleError::Db(e).into())
            })?;
        let (id, progress) = self.installs().start(&entry.slug, &entry.version);
        let (rt, actor) = (self.clone(), actor.to_string());
        actix_web::rt::spawn(async move {
            let result = rt
                .install_with_progress(&entry, &source.location, &trust, enable, &actor, progress)
                .await;
            rt.installs()
                .finish(id, result.err().map(|e| e.to_string()));
        });
        Ok(id)
    }
}
