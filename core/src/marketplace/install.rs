//! Installing a plugin from a catalog entry: one pipeline, nothing
//! half-installed.
//!
//! ```text
//! fetch (size limit, timeout) → sha256 → signature (trusted keys, or the
//! source allows unsigned) → platform, host and plugin-api ranges,
//! dependencies → extract into <data>/.staging/<slug>-<n> (no traversal,
//! absolute paths or links; size limits) → manifest = catalog entry → load
//! check → rename into <data>/plugins/<slug> → recorded Installed → enable
//! if asked
//! ```
//!
//! Every failure removes the staging folder and changes nothing else. The
//! move into `plugins/` is one `rename` on the same file system, so a crash
//! leaves either no plugin or a whole one; a start removes what a crash left
//! in `.staging`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
    bundle::{self, BundleError, Limits},
    catalog::{current_platform, CatalogEntry},
    download::{self, DownloadError},
    jobs::{Progress, Stage},
    signing::{self, PublicKey, SignatureError},
};
use crate::{
    lifecycle::PluginRecord,
    loader,
    manifest::{Manifest, ManifestFile},
    runtime::RuntimeError,
};

pub use super::download::{DOWNLOAD_TIMEOUT, MAX_BUNDLE};

/// Which signatures are accepted.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    /// Trusted publisher keys.
    pub keys: Vec<PublicKey>,
    /// Whether unsigned bundles (no signature or key id) are accepted from
    /// this source. A signed bundle is always verified.
    pub allow_unsigned: bool,
    /// The ids of what the admin accepted that this plugin may do
    /// ([`super::consent`]): its bundle's manifest may ask for nothing
    /// else. `None`: whatever its manifest asks for (an API caller with the
    /// admin token, or the command line, takes the manifest as it is).
    pub asks: Option<std::collections::BTreeSet<String>>,
}

/// Why an install was refused. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The plugin (or a folder with its slug) is already there.
    #[error("plugin {0:?} is already installed")]
    AlreadyInstalled(String),
    /// No catalog offers the plugin (at that version).
    #[error("{} {slug}{}", location.as_deref().map_or("no catalog source offers".to_string(), |l| format!("{l} offers no")), version.as_deref().map(|v| format!(" {v}")).unwrap_or_default())]
    NotOffered {
        /// The catalog asked (`None`: every configured source).
        location: Option<String>,
        /// The plugin.
        slug: String,
        /// The version asked for.
        version: Option<String>,
    },
    /// The bundle could not be fetched.
    #[error("cannot fetch {url}: {why}")]
    Fetch {
        /// Where from.
        url: String,
        /// Why.
        why: String,
    },
    /// The entry's download location breaks the rules (nothing was read:
    /// see [`super::download`]).
    #[error("{0}")]
    DownloadRefused(DownloadError),
    /// The bundle's digest differs from the catalog's.
    #[error("sha256 mismatch: the catalog says {expected}, the bundle is {actual}")]
    Digest {
        /// The catalog's.
        expected: String,
        /// The bundle's.
        actual: String,
    },
    /// No signature, and the source does not allow unsigned bundles.
    #[error("bundle of {0:?} is unsigned and this source does not allow unsigned bundles")]
    Unsigned(String),
    /// Signed with a key that is not trusted.
    #[error("bundle is signed with key {0:?}, which is not a trusted publisher key")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The bundle is malformed or unsafe.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The entry or the bundle's manifest is not installable here.
    #[error("{0}")]
    Incompatible(String),
    /// A dependency is missing or at the wrong version.
    #[error("dependency not satisfied: {0}")]
    Dependency(String),
    /// Dependencies that cannot be resolved (missing, conflict, cycle).
    #[error(transparent)]
    Unresolvable(#[from] super::deps::DependencyError),
    /// Plugins of the plan ask for things the admin has not accepted
    /// (nothing was downloaded).
    #[error("consent required: {}", .0.iter().map(|m| format!("{} asks to {}", m.slug, super::consent::words(&m.asks))).collect::<Vec<_>>().join("; "))]
    ConsentRequired(Vec<super::consent::Missing>),
    /// The bundle's manifest asks for more than the admin accepted (or an
    /// approved update's catalog entry showed); nothing was installed.
    #[error(
        "the bundle of {slug} asks for more than was accepted: {}",
        super::consent::words(asks)
    )]
    AsksMore {
        /// The plugin.
        slug: String,
        /// What it asks for beyond what was accepted.
        asks: Vec<super::consent::Ask>,
    },
    /// The offered version is older than the installed one.
    #[error(
        "{slug} {offered} is older than the installed {installed}; ask for a downgrade explicitly"
    )]
    Downgrade {
        /// The plugin.
        slug: String,
        /// The version offered.
        offered: String,
        /// The version installed.
        installed: String,
    },
    /// The offered bundle is the installed one.
    #[error("{slug} {version} with this digest is already installed")]
    UpToDate {
        /// The plugin.
        slug: String,
        /// Its version.
        version: String,
    },
    /// The library did not pass the load check (run in a child process).
    #[error("load check failed: {0}")]
    Load(#[from] crate::inspect::InspectError),
    /// The library is another plugin or version than its manifest says.
    #[error("load check failed: {0}")]
    Identity(#[from] loader::IdentityMismatch),
    /// The blocking task that verifies and stages the bundle panicked or
    /// was cancelled.
    #[error("the staging task failed: {0}")]
    StagingTask(tokio::task::JoinError),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Recording or enabling failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The bundle could not be kept for, or read back by, the other
    /// replicas (the database failed).
    #[error("the bundle shared with the other replicas: {0}")]
    Shared(sea_orm::DbErr),
}

impl From<DownloadError> for InstallError {
    fn from(e: DownloadError) -> Self {
        match e {
            DownloadError::Fetch { url, why } => InstallError::Fetch { url, why },
            refused @ DownloadError::Refused { .. } => InstallError::DownloadRefused(refused),
        }
    }
}

/// The outcome of an install.
#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    /// The plugin as recorded.
    pub plugin: PluginRecord,
    /// Its folder.
    pub folder: PathBuf,
    /// The bundle's SHA-256.
    pub sha256: String,
    /// The key that signed it, if any.
    pub key_id: Option<String>,
}

/// Checks digest and signature of `bytes` against `entry` and `trust`.
pub fn verify(
    bytes: &[u8],
    entry: &CatalogEntry,
    trust: &TrustPolicy,
) -> Result<String, InstallError> {
    let actual = signing::sha256_hex(bytes);
    if !actual.eq_ignore_ascii_case(&entry.sha256) {
        return Err(InstallError::Digest {
            expected: entry.sha256.clone(),
            actual,
        });
    }
    match (&entry.signature, &entry.key_id) {
        (Some(sig), Some(key_id)) => {
            let key = trust
                .keys
                .iter()
                .find(|k| &k.key_id == key_id)
                .ok_or_else(|| InstallError::UnknownKey(key_id.clone()))?;
            signing::verify(key, &actual, sig)?;
        }
        _ if trust.allow_unsigned => {}
        _ => return Err(InstallError::Unsigned(entry.slug.to_string())),
    }
    Ok(actual)
}

pub(super) fn check_requirements(entry: &CatalogEntry) -> Result<(), InstallError> {
    let platform = current_platform();
    if entry.platform != platform {
        return Err(InstallError::Incompatible(format!(
            "bundle is built for {}, this host is {platform}",
            entry.platform
        )));
    }
    let check = |what: &str, req: &Option<String>, have: &str| -> Result<(), InstallError> {
        let Some(req) = req else { return Ok(()) };
        let parsed = semver::VersionReq::parse(req).map_err(|e| {
            InstallError::Incompatible(format!("bad {what} requirement {req:?}: {e}"))
        })?;
        let have_v = semver::Version::parse(have)
            .map_err(|e| InstallError::Incompatible(format!("bad {what} version {have}: {e}")))?;
        if parsed.matches(&have_v) {
            Ok(())
        } else {
            Err(InstallError::Incompatible(format!(
                "needs {what} {req}, this host has {have}"
            )))
        }
    };
    check("host", &entry.requires.host, env!("CARGO_PKG_VERSION"))?;
    check(
        "plugin-api",
        &entry.requires.plugin_api,
        plugboard_plugin_api::abi::API_VERSION,
    )
}

pub use crate::manifest::{BundleInfo, BUNDLE_INFO};

/// A verified bundle extracted into a staging folder.
pub(crate) struct Staged {
    pub(crate) dir: PathBuf,
    pub(crate) sha256: String,
}

impl super::Marketplace {
    /// Installs `entry` from the catalog at `catalog_location`; enables it
    /// when `enable`. See the module docs for the steps.
    pub async fn install(
        &self,
        entry: &CatalogEntry,
        catalog_location: &str,
        trust: &TrustPolicy,
        enable: bool,
        actor: &str,
    ) -> Result<Installed, InstallError> {
        let quiet: Progress = std::sync::Arc::new(|_, _, _| {});
        self.install_with_progress(entry, catalog_location, trust, enable, actor, quiet)
            .await
    }

    /// [`super::Marketplace::install`], reporting each stage to `progress`.
    pub async fn install_with_progress(
        &self,
        entry: &CatalogEntry,
        catalog_location: &str,
        trust: &TrustPolicy,
        enable: bool,
        actor: &str,
        progress: Progress,
    ) -> Result<Installed, InstallError> {
        self.check_installable(entry).await?;
        // Download, checks and extraction run without the lifecycle lock:
        // a slow source must not hold up enabling or disabling other plugins.
        let staged = self
            .fetch_and_stage(entry, catalog_location, trust, &progress)
            .await?;
        let ops = self.runtime().lock_ops().await;
        // Again under the lock: another install may have won meanwhile.
        if let Err(e) = self.check_installable(entry).await {
            let _ = std::fs::remove_dir_all(&staged.dir);
            return Err(e);
        }
        let plugins = self.runtime().config().plugins_dir();
        let folder = self.runtime().config().plugin_dir(&entry.slug);
        progress(Stage::Installing, 0, None);
        if let Err(source) =
            std::fs::create_dir_all(&plugins).and_then(|()| std::fs::rename(&staged.dir, &folder))
        {
            let _ = std::fs::remove_dir_all(&staged.dir);
            return Err(InstallError::Io {
                path: folder,
                source,
            });
        }
        // Recorded first, so the audit names who installed it (discovery
        // would record the folder as found by `system`).
        self.runtime()
            .store()
            .record_installed(
                &entry.slug,
                &entry.version,
                "dynamic",
                &staged.sha256,
                actor,
            )
            .await
            .map_err(RuntimeError::from)?;
        self.runtime().load_dynamic(&folder).await?;
        if self.runtime().plugin(&entry.slug).is_none() {
            return Err(RuntimeError::NotLoaded {
                slug: entry.slug.to_string(),
                reason: "the installed plugin did not load (see the plugin's problems)".into(),
            }
            .into());
        }
        // Every replica runs this bundle (see `crate::cluster`).
        self.runtime()
            .store()
            .set_bundle(&entry.slug, Some(&staged.sha256))
            .await
            .map_err(RuntimeError::from)?;
        let asks = Manifest::read(&folder)
            .map(|m| super::consent::of_manifest(&m))
            .unwrap_or_default();
        if !asks.is_empty() {
            self.audit_consent(&entry.slug, actor, "on install", &asks)
                .await?;
        }
        self.runtime().announce("installed", &entry.slug);
        tracing::info!(plugin = %entry.slug, version = %entry.version, sha256 = %staged.sha256, actor, "plugin installed");
        if enable {
            progress(Stage::Enabling, 0, None);
            self.runtime()
                .enable_installed(&ops, &entry.slug, actor)
                .await?;
        }
        Ok(Installed {
            plugin: self
                .runtime()
                .store()
                .get(&entry.slug)
                .await
                .map_err(RuntimeError::from)?,
            folder,
            sha256: staged.sha256,
            key_id: entry.key_id.clone(),
        })
    }

    /// Replaces the installed plugin by `entry` through the same pipeline,
    /// then hot-reloads it ([`Runtime::swap_in`]). An older version is
    /// refused unless `allow_downgrade`.
    pub async fn update_with_progress(
        &self,
        entry: &CatalogEntry,
        catalog_location: &str,
        trust: &TrustPolicy,
        allow_downgrade: bool,
        actor: &str,
        progress: Progress,
    ) -> Result<crate::runtime::Swapped, InstallError> {
        self.check_updatable(entry, allow_downgrade).await?;
        // As for an install, the download runs without the lifecycle lock.
        let staged = self
            .fetch_and_stage(entry, catalog_location, trust, &progress)
            .await?;
        let ops = self.runtime().lock_ops().await;
        let (installed, offered) = match self.check_updatable(entry, allow_downgrade).await {
            Ok(versions) => versions,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staged.dir);
                return Err(e);
            }
        };
        progress(Stage::Installing, 0, None);
        let verb = if installed.is_some_and(|i| offered < i) {
            "downgraded"
        } else {
            "updated"
        };
        // What the new version asks for beyond the running one: granted
        // by this update, and audited as such.
        let before = self
            .runtime()
            .plugin(&entry.slug)
            .map(|p| super::consent::of_manifest(p.manifest()))
            .unwrap_or_default();
        let after = Manifest::read(&staged.dir)
            .map(|m| super::consent::of_manifest(&m))
            .unwrap_or_default();
        match self.runtime().swap_in(&ops, &staged.dir, actor, verb).await {
            Ok(swapped) => {
                let more = super::consent::added(&before, &after);
                if !more.is_empty() {
                    self.audit_consent(&entry.slug, actor, "on update", &more)
                        .await?;
                }
                Ok(swapped)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staged.dir);
                Err(e.into())
            }
        }
    }

    /// An audit row: `actor` granted `asks` to `slug` (`when`: "on
    /// install", "on update").
    pub(super) async fn audit_consent(
        &self,
        slug: &str,
        actor: &str,
        when: &str,
        asks: &[super::consent::Ask],
    ) -> Result<(), InstallError> {
        let store = self.runtime().store();
        let note = format!("granted {when}: {}", super::consent::words(asks));
        store
            .audit_note(self.runtime().db().conn(), slug, actor, &note)
            .await
            .map_err(|e| InstallError::Runtime(e.into()))
    }

    /// `entry`'s plugin is not installed (nor its folder present) and its
    /// dependencies are.
    async fn check_installable(&self, entry: &CatalogEntry) -> Result<(), InstallError> {
        let folder = self.runtime().config().plugin_dir(&entry.slug);
        if self.runtime().plugin(&entry.slug).is_some()
            || folder.exists()
            || self.runtime().store().get(&entry.slug).await.is_ok()
        {
            return Err(InstallError::AlreadyInstalled(entry.slug.to_string()));
        }
        self.check_dependencies_installed(entry)
    }

    /// `entry` may replace the installed plugin: not older (unless
    /// `allow_downgrade`), not the same bundle, its dependencies installed
    /// and its dependents accepting it. The installed and offered versions.
    async fn check_updatable(
        &self,
        entry: &CatalogEntry,
        allow_downgrade: bool,
    ) -> Result<(Option<semver::Version>, semver::Version), InstallError> {
        let record = self
            .runtime()
            .store()
            .get(&entry.slug)
            .await
            .map_err(RuntimeError::from)?;
        let installed = semver::Version::parse(&record.version).ok();
        let offered = semver::Version::parse(&entry.version)
            .map_err(|e| InstallError::Incompatible(format!("version {}: {e}", entry.version)))?;
        if installed.as_ref().is_some_and(|i| offered < *i) && !allow_downgrade {
            return Err(InstallError::Downgrade {
                slug: entry.slug.to_string(),
                offered: entry.version.clone(),
                installed: record.version,
            });
        }
        let folder = self.runtime().config().plugin_dir(&entry.slug);
        if BundleInfo::read(&folder).is_some_and(|b| {
            b.version == entry.version && b.sha256.eq_ignore_ascii_case(&entry.sha256)
        }) {
            return Err(InstallError::UpToDate {
                slug: entry.slug.to_string(),
                version: entry.version.clone(),
            });
        }
        self.check_dependencies_installed(entry)?;
        self.check_dependents_accept(&entry.slug, &offered)?;
        Ok((installed, offered))
    }

    /// Every dependency of `entry` is installed at a matching version.
    fn check_dependencies_installed(&self, entry: &CatalogEntry) -> Result<(), InstallError> {
        for dep in &entry.dependencies {
            let req = dep
                .requirement()
                .map_err(|e| InstallError::Dependency(e.to_string()))?;
            let have = self.runtime().plugin(&dep.slug).ok_or_else(|| {
                InstallError::Dependency(format!("{} {} is not installed", dep.slug, dep.version))
            })?;
            let ok = semver::Version::parse(have.version()).is_ok_and(|v| req.matches(&v));
            if !ok {
                return Err(InstallError::Dependency(format!(
                    "{} {} is needed, {} is installed",
                    dep.slug,
                    dep.version,
                    have.version()
                )));
            }
        }
        Ok(())
    }

    /// Every installed plugin that depends on `slug` accepts `version`.
    fn check_dependents_accept(
        &self,
        slug: &str,
        version: &semver::Version,
    ) -> Result<(), InstallError> {
        for other in self.runtime().entries() {
            for dep in other
                .manifest()
                .dependencies
                .iter()
                .filter(|d| d.slug == slug)
            {
                if !dep.requirement().is_ok_and(|r| r.matches(version)) {
                    return Err(InstallError::Dependency(format!(
                        "{} needs {slug} {}, which {version} does not satisfy",
                        other.slug(),
                        dep.version
                    )));
                }
            }
        }
        Ok(())
    }

    /// Requirements → fetch → sha256 → signature → extract into a fresh
    /// staging folder → manifest = entry → load check → [`BundleInfo`]
    /// written. On failure the staging folder is gone.
    async fn fetch_and_stage(
        &self,
        entry: &CatalogEntry,
        catalog_location: &str,
        trust: &TrustPolicy,
        progress: &Progress,
    ) -> Result<Staged, InstallError> {
        check_requirements(entry)?;
        let (catalog, url) = (catalog_location.to_string(), entry.download_url.clone());
        progress(Stage::Downloading, 0, None);
        let report = std::sync::Arc::clone(progress);
        let bytes = tokio::task::spawn_blocking(move || {
            let from = download::locate(&catalog, &url)?;
            download::fetch(&from, &|n, total| report(Stage::Downloading, n, total))
        })
        .await
        .map_err(|e| InstallError::Fetch {
            url: entry.download_url.clone(),
            why: e.to_string(),
        })??;
        // Verifying, extracting and the load check are CPU and disk work:
        // on a blocking thread, not on the caller's (an HTTP worker's) one.
        let (rt, entry_owned, trust_owned, progress_owned) = (
            self.clone(),
            entry.clone(),
            trust.clone(),
            std::sync::Arc::clone(progress),
        );
        let (staged, bytes) = tokio::task::spawn_blocking(move || {
            let staged = rt.stage_verified(&bytes, &entry_owned, &trust_owned, &progress_owned);
            (staged, bytes)
        })
        .await
        .map_err(InstallError::StagingTask)?;
        let staged = staged?;
        if let Err(e) = self.keep_for_replicas(entry, &staged.sha256, &bytes).await {
            let _ = std::fs::remove_dir_all(&staged.dir);
            return Err(e);
        }
        Ok(staged)
    }

    /// sha256 → signature → extract into a fresh staging folder → manifest
    /// = entry → load check → [`BundleInfo`] written. On failure the staging
    /// folder is gone.
    pub(super) fn stage_verified(
        &self,
        bytes: &[u8],
        entry: &CatalogEntry,
        trust: &TrustPolicy,
        progress: &Progress,
    ) -> Result<Staged, InstallError> {
        progress(Stage::Verifying, 0, None);
        let sha256 = verify(bytes, entry, trust)?;
        let staging = self.runtime().config().staging_dir(&entry.slug, "");
        std::fs::create_dir_all(&staging).map_err(|source| InstallError::Io {
            path: staging.clone(),
            source,
        })?;
        let info = BundleInfo {
            slug: entry.slug.to_string(),
            version: entry.version.clone(),
            sha256: sha256.clone(),
            key_id: entry.key_id.clone(),
        };
        let result = self
            .stage_and_check(bytes, entry, trust, &staging, progress)
            .and_then(|()| {
                let text = serde_json::to_vec_pretty(&info).unwrap_or_default();
                std::fs::write(staging.join(BUNDLE_INFO), text).map_err(|source| InstallError::Io {
                    path: staging.join(BUNDLE_INFO),
                    source,
                })
            });
        match result {
            Ok(()) => Ok(Staged {
                dir: staging,
                sha256,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                Err(e)
            }
        }
    }

    fn stage_and_check(
        &self,
        bytes: &[u8],
        entry: &CatalogEntry,
        trust: &TrustPolicy,
        staging: &Path,
        progress: &Progress,
    ) -> Result<(), InstallError> {
        progress(Stage::Extracting, 0, None);
        bundle::extract(bytes, staging, Limits::default())?;
        progress(Stage::Checking, 0, None);
        let manifest = Manifest::read(staging)
            .map_err(|e| InstallError::Incompatible(format!("bundle manifest: {e}")))?;
        if manifest.slug != entry.slug || manifest.version != entry.version {
            return Err(InstallError::Incompatible(format!(
                "the catalog offers {} {} but the bundle holds {} {}",
                entry.slug, entry.version, manifest.slug, manifest.version
            )));
        }
        if manifest.dependencies != entry.dependencies {
            return Err(InstallError::Incompatible(format!(
                "the bundle's manifest declares other dependencies than the catalog shows: {}",
                serde_json::to_string(&manifest.dependencies).unwrap_or_default()
            )));
        }
        if manifest.capabilities != entry.capabilities {
            return Err(InstallError::Incompatible(format!(
                "the bundle's manifest declares other capabilities than the catalog shows: {}",
                serde_json::to_string(&manifest.capabilities).unwrap_or_default()
            )));
        }
        // A catalog that lists permissions must list the bundle's.
        if !entry.permissions.is_empty() && manifest.permissions != entry.permissions {
            return Err(InstallError::Incompatible(format!(
                "the bundle's manifest declares other permissions than the catalog shows: {}",
                serde_json::to_string(&manifest.permissions).unwrap_or_default()
            )));
        }
        // What the admin accepted is checked on the bundle's own manifest
        // (the catalog's list was only the preview).
        if let Some(allowed) = &trust.asks {
            let more = super::consent::beyond(&super::consent::of_manifest(&manifest), allowed);
            if !more.is_empty() {
                return Err(InstallError::AsksMore {
                    slug: manifest.slug.to_string(),
                    asks: more,
                });
            }
        }
        let library = manifest
            .library_file(staging)
            .map_err(|e| InstallError::Incompatible(e.to_string()))?;
        // In a child process: the host maps the library only when it
        // enables the plugin, and a constructor that crashes ends the child.
        let report = self.runtime().config().inspector.inspect(&library)?;
        loader::check_identity(&manifest, &report.slug, &report.version)?;
        Ok(())
    }
}
