//! The marketplace as the admin sees it: entries from every source, each
//! marked installed / enabled / update available; search and filters; and
//! installing an entry by slug as a followable job.

use std::collections::{HashMap, HashSet};

pub use super::listing::{Browse, Listing, Query};
use super::{
    catalog::{newer, CatalogEntry},
    consent::{self, Accepted, Missing},
    install::{InstallError, TrustPolicy},
    listing::Hit,
    sources::{Source, Sources},
};
use crate::slug::Slug;

/// A catalog file read by the caller, and how far its publishers are
/// trusted: where [`super::Marketplace::install_from_catalog`] installs from.
#[derive(Debug, Clone, Copy)]
pub struct CatalogFile<'a> {
    /// The catalog.
    pub catalog: &'a super::catalog::Catalog,
    /// Where it was read (bundle URLs are relative to it).
    pub location: &'a str,
    /// Trusted keys and whether unsigned bundles are accepted.
    pub trust: &'a TrustPolicy,
}

impl super::Marketplace {
    /// The catalog (stale sources synced first), filtered by `query`.
    ///
    /// Linear in the catalogs' size, and nothing is copied per entry: the
    /// answer keeps the sources' (shared) catalogs and, per match, where
    /// it is and what this installation has of it.
    pub async fn catalog(&self, query: &Query) -> Result<Browse, sea_orm::DbErr> {
        let sources = self.sources().sync(false).await?;
        self.detect_updates(&sources).await?;
        let pending = self.pending_updates().await?;
        let records = self.runtime().store().list().await.map_err(|e| match e {
            crate::lifecycle::LifecycleError::Db(d) => d,
            other => sea_orm::DbErr::Custom(other.to_string()),
        })?;
        let records: HashMap<&str, _> = records.iter().map(|r| (r.slug.as_str(), r)).collect();
        let pending: HashSet<(&str, &str, String)> = pending
            .iter()
            .map(|u| {
                (
                    u.slug.as_str(),
                    u.to_version.as_str(),
                    u.to_sha256.to_ascii_lowercase(),
                )
            })
            .collect();
        let q = query.q.as_deref().map(str::to_lowercase);
        let mut hits = Vec::new();
        for (s, source) in sources.iter().enumerate() {
            for (e, entry) in source.entries().iter().enumerate() {
                if !query.matches(q.as_deref(), entry) {
                    continue;
                }
                let record = records.get(entry.slug.as_str());
                let update_available = pending.contains(&(
                    entry.slug.as_str(),
                    entry.version.as_str(),
                    entry.sha256.to_ascii_lowercase(),
                ));
                hits.push(Hit {
                    source: s,
                    entry: e,
                    installed_version: record.map(|r| r.version.clone()),
                    state: record.map(|r| r.state.as_str()),
                    update_available,
                });
            }
        }
        Ok(Browse::new(sources, hits))
    }

    /// Finds `slug` (at `version`, else the newest) in the synced sources.
    pub async fn find_in_catalog(
        &self,
        slug: &str,
        version: Option<&str>,
    ) -> Result<Option<(Source, CatalogEntry)>, sea_orm::DbErr> {
        let sources = self.sources().sync(false).await?;
        let mut best: Option<(&Source, &CatalogEntry)> = None;
        for (source, entry) in Sources::offers(&sources) {
            if entry.slug != slug || version.is_some_and(|v| v != entry.version) {
                continue;
            }
            if best.is_none_or(|(_, b)| newer(&entry.version, &b.version)) {
                best = Some((source, entry));
            }
        }
        Ok(best.map(|(s, e)| (s.clone(), e.clone())))
    }

    /// Starts installing `slug` from the catalog in the background, with
    /// the missing plugins it depends on (dependencies first); the job id
    /// to follow. Refuses at once what is known up front: already
    /// installed, not offered, unresolvable dependencies. If one plugin of
    /// the plan fails, the ones this job installed before it are removed.
    ///
    /// For an installed plugin, an explicit `version` replaces it by that
    /// version (hot reload); an older one only with `allow_downgrade`.
    ///
    /// With `accepted`, every plugin of the plan must have what its catalog
    /// entry asks for accepted (else [`InstallError::ConsentRequired`],
    /// before anything is downloaded), and its bundle may ask for nothing
    /// more ([`super::consent`]); `None` takes each manifest as it is.
    pub async fn start_install(
        &self,
        slug: &str,
        version: Option<&str>,
        enable: bool,
        allow_downgrade: bool,
        accepted: Option<&Accepted>,
        actor: &str,
    ) -> Result<u64, InstallError> {
        let db = |e: sea_orm::DbErr| {
            InstallError::Runtime(crate::lifecycle::LifecycleError::Db(e).into())
        };
        let installed =
            self.runtime().plugin(slug).is_some() || self.runtime().store().get(slug).await.is_ok();
        if installed && version.is_none() {
            return Err(InstallError::AlreadyInstalled(slug.to_string()));
        }
        let (source, entry) = self
            .find_in_catalog(slug, version)
            .await
            .map_err(db)?
            .ok_or_else(|| InstallError::NotOffered {
                location: None,
                slug: slug.to_string(),
                version: version.map(str::to_string),
            })?;
        if let Some(current) = self.runtime().plugin(slug) {
            let older = matches!(
                (semver::Version::parse(&entry.version), semver::Version::parse(current.version())),
                (Ok(o), Ok(i)) if o < i
            );
            if older && !allow_downgrade {
                return Err(InstallError::Downgrade {
                    slug: slug.to_string(),
                    offered: entry.version.clone(),
                    installed: current.version().to_string(),
                });
            }
        }
        let sources = self.sources().list().await.map_err(db)?;
        let available: Vec<CatalogEntry> =
            Sources::offers(&sources).map(|(_, e)| e.clone()).collect();
        let deps = super::deps::plan(&entry, &available, &self.installed_versions(slug))?;
        let mut steps = Vec::new();
        for dep in deps {
            let source = Sources::offers(&sources)
                .find(|(_, e)| **e == dep)
                .map(|(s, _)| s.clone())
                .unwrap_or_else(|| source.clone());
            steps.push((source, dep));
        }
        steps.push((source, entry.clone()));
        if let Some(accepted) = accepted {
            let missing: Vec<Missing> = steps
                .iter()
                .map(|(_, e)| Missing {
                    slug: e.slug.to_string(),
                    asks: accepted.missing(e.slug.as_str(), &consent::of_entry(e)),
                })
                .filter(|m| !m.asks.is_empty())
                .collect();
            if !missing.is_empty() {
                return Err(InstallError::ConsentRequired(missing));
            }
        }
        let mut plan = Vec::new();
        for (source, e) in &mut steps {
            let mut trust = self.sources().policy_for(source).await.map_err(db)?;
            trust.asks = accepted.map(|a| a.of(e.slug.as_str()));
            plan.push((source.location.clone(), trust, e.clone()));
        }
        let (id, progress) = self.jobs().start(&entry.slug, &entry.version);
        self.jobs().set_plan(
            id,
            plan.iter()
                .map(|(_, _, e)| format!("{} {}", e.slug, e.version))
                .collect(),
        );
        let (rt, actor) = (self.clone(), actor.to_string());
        actix_web::rt::spawn(async move {
            let result = if installed {
                let (location, trust, entry) = plan.pop().expect("the plan ends with the plugin");
                rt.update_with_progress(
                    &entry,
                    &location,
                    &trust,
                    allow_downgrade,
                    &actor,
                    progress,
                )
                .await
                .map(|_| ())
            } else {
                rt.install_plan(id, plan, enable, &actor, progress).await
            };
            rt.jobs().finish(id, result.err().map(|e| e.to_string()));
        });
        Ok(id)
    }

    /// Installs `slug` (the newest, or `version`) from one catalog file,
    /// with the missing plugins it depends on, dependencies first: what
    /// `plugboard plugin install` runs, through the same pipeline and plan as
    /// [`Runtime::start_install`], waiting for the end. Returns the plan
    /// (`"slug version"` in install order). If one plugin of the plan fails,
    /// the ones installed before it are removed.
    pub async fn install_from_catalog(
        &self,
        from: CatalogFile<'_>,
        slug: &str,
        version: Option<&str>,
        enable: bool,
        actor: &str,
    ) -> Result<Vec<String>, InstallError> {
        let CatalogFile {
            catalog,
            location,
            trust,
        } = from;
        let installed =
            self.runtime().plugin(slug).is_some() || self.runtime().store().get(slug).await.is_ok();
        if installed {
            return Err(InstallError::AlreadyInstalled(slug.to_string()));
        }
        let entry = catalog
            .find(slug, version)
            .ok_or_else(|| InstallError::NotOffered {
                location: Some(location.to_string()),
                slug: slug.to_string(),
                version: version.map(str::to_string),
            })?;
        let mut plan: Vec<(String, TrustPolicy, CatalogEntry)> =
            super::deps::plan(entry, &catalog.entries, &self.installed_versions(slug))?
                .into_iter()
                .chain([entry.clone()])
                .map(|e| (location.to_string(), trust.clone(), e))
                .collect();
        let steps: Vec<String> = plan
            .iter()
            .map(|(_, _, e)| format!("{} {}", e.slug, e.version))
            .collect();
        let (id, progress) = self.jobs().start(&entry.slug, &entry.version);
        self.jobs().set_plan(id, steps.clone());
        let result = self
            .install_plan(id, std::mem::take(&mut plan), enable, actor, progress)
            .await;
        self.jobs()
            .finish(id, result.as_ref().err().map(|e| e.to_string()));
        result.map(|()| steps)
    }

    /// The installed plugins' versions, but `except`'s.
    fn installed_versions(&self, except: &str) -> HashMap<String, semver::Version> {
        self.runtime()
            .entries()
            .iter()
            .filter(|e| e.slug() != except)
            .filter_map(|e| {
                Some((
                    e.slug().to_string(),
                    semver::Version::parse(e.version()).ok()?,
                ))
            })
            .collect()
    }

    /// Installs each entry in order (dependencies are enabled when the last
    /// one is to be); on a failure, removes what this plan installed.
    async fn install_plan(
        &self,
        id: u64,
        plan: Vec<(String, TrustPolicy, CatalogEntry)>,
        enable: bool,
        actor: &str,
        progress: super::jobs::Progress,
    ) -> Result<(), InstallError> {
        let mut done: Vec<Slug> = Vec::new();
        for (location, trust, entry) in &plan {
            self.jobs().set_current(id, &entry.slug);
            let result = self
                .install_with_progress(entry, location, trust, enable, actor, progress.clone())
                .await;
            if let Err(e) = result {
                for slug in done.iter().rev() {
                    if let Err(undo) = self
                        .runtime()
                        .uninstall(slug, crate::runtime::DataPolicy::Remove, actor)
                        .await
                    {
                        tracing::error!(plugin = %slug, "could not remove after a failed install: {undo}");
                    }
                }
                return Err(e);
            }
            done.push(entry.slug.clone());
        }
        Ok(())
    }
}
