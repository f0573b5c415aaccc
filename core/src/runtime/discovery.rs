//! Start-up: built-ins from the explicit list, dynamic plugins from the
//! plugins folder, then each plugin's persisted state brought back.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
};

use futures_util::StreamExt as _;
use plugboard_plugin_api::{abi::API_VERSION, BuiltinPlugin, Phase};

use super::{ops::Enabling, LoadProblem, Runtime, RuntimeError};
use crate::{
    lifecycle::{PluginRecord, PluginState, Transition},
    loader::StagedLibrary,
    manifest::{Manifest, ManifestFile},
    registry::{PluginEntry, PluginKind},
};

/// Plugin records read once by the start, so that loading many plugins
/// asks the database once rather than several times per plugin. A slug
/// whose record the start rewrote, or whose row could not be read, is read
/// again from the store when asked for (so is every slug of a
/// [`Records::read_through`]).
pub(super) struct Records {
    known: HashMap<String, PluginRecord>,
    stale: HashSet<String>,
    read_through: bool,
}

impl Records {
    /// No snapshot: every lookup reads the store (one plugin's load).
    fn read_through() -> Self {
        Self {
            known: HashMap::new(),
            stale: HashSet::new(),
            read_through: true,
        }
    }

    /// `slug`'s record (`None`: it has none).
    async fn get(
        &self,
        runtime: &Runtime,
        slug: &str,
    ) -> Result<Option<PluginRecord>, RuntimeError> {
        if self.read_through || self.stale.contains(slug) {
            return runtime.record_of(slug).await;
        }
        Ok(self.known.get(slug).cloned())
    }

    /// The start wrote `slug`'s record: read it again when asked.
    fn touched(&mut self, slug: &str) {
        self.stale.insert(slug.to_string());
    }
}

/// A dynamic plugin found in its folder, its library to be loaded (or why
/// it cannot be).
struct Found {
    folder: PathBuf,
    manifest: Manifest,
    library: Result<PathBuf, String>,
}

/// How many libraries the start stages (copies and hashes) at once.
fn staging_parallelism() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8)
}

impl Runtime {
    pub(super) async fn load_all(&self, builtins: &[BuiltinPlugin]) -> Result<(), RuntimeError> {
        let mut records = self.records().await?;
        for builtin in builtins {
            if let Err(error) = self.load_builtin(builtin, &records).await? {
                self.add_problem(error);
            }
        }
        let dir = self.config().plugins_dir();
        let mut folders: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect(),
            Err(e) => {
                self.add_problem(LoadProblem {
                    slug: None,
                    path: Some(dir.clone()),
                    error: format!("cannot read the plugins folder: {e}"),
                });
                Vec::new()
            }
        };
        folders.sort();
        if self.config().safe_mode {
            // Not even opened: a library that crashes when loaded is what
            // safe mode is for. Their records stay as they are.
            tracing::warn!(
                count = folders.len(),
                "safe mode: no dynamic plugin is loaded or enabled"
            );
            return Ok(());
        }
        let mut found: Vec<Found> = Vec::new();
        for folder in folders {
            if self.uninstalled_elsewhere(&folder).await? {
                continue;
            }
            found.extend(self.find(&folder));
        }
        // Staging (copying, hashing) runs ahead on blocking threads, a few
        // libraries at a time; mapping runs the library's code, so it goes
        // one at a time, in folder order (a crash then names one plugin).
        let scratch = self.config().loaded_dir();
        let mut staged = futures_util::stream::iter(found.into_iter().map(|one| {
            let stage = one
                .library
                .as_ref()
                .ok()
                .map(|library| Self::stage_library(library.clone(), scratch.clone()));
            async move {
                let staged = match stage {
                    Some(stage) => Some(stage.await),
                    None => None,
                };
                (one, staged)
            }
        }))
        .buffered(staging_parallelism());
        while let Some((one, staged)) = staged.next().await {
            self.load_found(one, staged, &mut records).await?;
        }
        Ok(())
    }

    /// Every plugin record, read once (see [`Records`]).
    pub(super) async fn records(&self) -> Result<Records, RuntimeError> {
        let mut records = Records {
            known: HashMap::new(),
            stale: HashSet::new(),
            read_through: false,
        };
        for (slug, record) in self.store().list_each().await? {
            match record {
                Ok(record) => {
                    records.known.insert(slug, record);
                }
                Err(e) => {
                    // Its error comes up where it did before: when a folder
                    // of that plugin is loaded (reading it again).
                    tracing::warn!(plugin = %slug, "its record cannot be read: {e}");
                    records.touched(&slug);
                }
            }
        }
        Ok(records)
    }

    /// With several replicas: a folder installed from a bundle whose plugin
    /// has no record any more, and whose last audit row says `uninstalled`,
    /// was uninstalled by another replica while this one was down. It is removed, not loaded (loading it would record it
    /// installed again).
    async fn uninstalled_elsewhere(&self, folder: &Path) -> Result<bool, RuntimeError> {
        if !self.db().is_shared() || crate::manifest::BundleInfo::read(folder).is_none() {
            return Ok(false);
        }
        let Ok(manifest) = Manifest::read(folder) else {
            return Ok(false);
        };
        match self.store().get(&manifest.slug).await {
            Ok(_) => Ok(false),
            Err(crate::lifecycle::LifecycleError::NotFound(_)) => {
                // Only when the database says it was uninstalled: a data
                // folder first started against a new database keeps its
                // plugins (they are recorded as installed).
                let last = self.store().audit(Some(&manifest.slug), 1).await?;
                if last.first().is_none_or(|a| a.to != "uninstalled") {
                    return Ok(false);
                }
                tracing::info!(plugin = %manifest.slug, "uninstalled on another replica: its folder is removed");
                self.remove_folder(&manifest.slug, &folder.to_path_buf())?;
                Ok(true)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Loads one built-in plugin; `Ok(Err(problem))` when it is refused.
    async fn load_builtin(
        &self,
        builtin: &BuiltinPlugin,
        records: &Records,
    ) -> Result<Result<(), LoadProblem>, RuntimeError> {
        let problem = |slug: Option<String>, error: String| LoadProblem {
            slug,
            path: None,
            error,
        };
        let mut manifest = match Manifest::parse(builtin.manifest, Path::new("<built-in manifest>"))
        {
            Ok(m) => m,
            Err(e) => return Ok(Err(problem(None, e.to_string()))),
        };
        let object = match (builtin.make)() {
            Ok(object) => object,
            Err(e) => {
                return Ok(Err(problem(
                    Some(manifest.slug.to_string()),
                    format!("built-in plugin {:?} failed to start: {e}", manifest.slug),
                )))
            }
        };
        if object.slug() != manifest.slug || object.version() != manifest.version {
            return Ok(Err(problem(
                Some(manifest.slug.to_string()),
                format!(
                    "built-in manifest says {} {} but the code is {} {}",
                    manifest.slug,
                    manifest.version,
                    object.slug(),
                    object.version()
                ),
            )));
        }
        crate::capabilities::infer_from_code(&mut manifest, object.as_ref());
        let manifest = Arc::new(manifest);
        let scope = self.scope_for(&manifest);
        let mut entry = PluginEntry::new(
            PluginKind::Builtin,
            None,
            API_VERSION.into(),
            manifest,
            object,
            scope,
            &self.config().limits,
        );
        if let Some(dir) = self.config().builtin_assets.get(entry.slug()) {
            entry = entry.with_assets(dir.clone());
        }
        let record = records.get(self, entry.slug()).await?;
        self.register(entry, "built-in", record.as_ref()).await?;
        Ok(Ok(()))
    }

    /// Loads the plugin in `folder` (an install, or a bundle adopted from
    /// another replica): its record is read, its library staged and mapped.
    pub(crate) async fn load_dynamic(&self, folder: &Path) -> Result<(), RuntimeError> {
        let Some(one) = self.find(folder) else {
            return Ok(());
        };
        self.load_found(one, None, &mut Records::read_through())
            .await
    }

    /// `slug`'s record, if it has one.
    async fn record_of(&self, slug: &str) -> Result<Option<PluginRecord>, RuntimeError> {
        match self.store().get(slug).await {
            Ok(r) => Ok(Some(r)),
            Err(crate::lifecycle::LifecycleError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads `folder`'s manifest. `None` (and a problem listed) when it
    /// cannot be read or its slug is taken by a plugin already loaded.
    /// Writes nothing.
    fn find(&self, folder: &Path) -> Option<Found> {
        let manifest = match Manifest::read(folder) {
            Ok(m) => m,
            Err(e) => {
                self.add_problem(LoadProblem {
                    slug: None,
                    path: Some(folder.to_path_buf()),
                    error: e.to_string(),
                });
                return None;
            }
        };
        if let Some(problem) = self.duplicate(&manifest, folder) {
            self.add_problem(problem);
            return None;
        }
        let library = manifest.library_file(folder).map_err(|e| e.to_string());
        Some(Found {
            folder: folder.to_path_buf(),
            manifest,
            library,
        })
    }

    /// The problem of a folder whose slug a loaded plugin already has.
    fn duplicate(&self, manifest: &Manifest, folder: &Path) -> Option<LoadProblem> {
        let existing = self.plugin(&manifest.slug)?;
        let other = existing
            .source()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "a built-in plugin".into());
        Some(LoadProblem {
            slug: Some(manifest.slug.to_string()),
            path: Some(folder.to_path_buf()),
            error: format!(
                "duplicate slug {:?}: already provided by {other}",
                manifest.slug
            ),
        })
    }

    /// Loads one found plugin, in folder order: a slug loaded meanwhile (an
    /// earlier folder) is a duplicate; no library, or a library whose
    /// loading killed the host, is recorded `Errored`; otherwise its library
    /// (`staged` ahead, or staged now) is mapped and the plugin registered.
    async fn load_found(
        &self,
        one: Found,
        staged: Option<Result<StagedLibrary, String>>,
        records: &mut Records,
    ) -> Result<(), RuntimeError> {
        let Found {
            folder,
            manifest,
            library,
        } = one;
        if let Some(problem) = self.duplicate(&manifest, &folder) {
            self.add_problem(problem);
            return Ok(());
        }
        let slug = manifest.slug.to_string();
        let library = match library {
            Ok(library) => library,
            Err(cause) => {
                records.touched(&slug);
                return self.unloadable(manifest, &folder, cause).await;
            }
        };
        let record = records.get(self, &slug).await?;
        if let Some(crash) = self.crash_at_load(&slug, &manifest.version, record.as_ref()) {
            records.touched(&slug);
            return self.quarantined_at_load(&manifest, &folder, crash).await;
        }
        let loaded = match staged {
            Some(Ok(staged)) => self.load_staged(&manifest, staged).await,
            Some(Err(e)) => Err(e),
            None => {
                self.load_library(&manifest, library, self.config().loaded_dir())
                    .await
            }
        };
        match loaded {
            Ok(plugin) => {
                let api = plugin.api_version().to_string();
                let mut manifest = manifest;
                crate::capabilities::infer_from_code(&mut manifest, &plugin);
                let manifest = Arc::new(manifest);
                let scope = self.scope_for(&manifest);
                let entry = PluginEntry::new(
                    PluginKind::Dynamic,
                    Some(folder),
                    api,
                    manifest,
                    Box::new(plugin),
                    scope,
                    &self.config().limits,
                );
                self.register(entry, "dynamic", record.as_ref()).await
            }
            Err(e) => {
                records.touched(&slug);
                self.unloadable(manifest, &folder, e).await
            }
        }
    }

    /// A plugin known by its manifest whose library cannot be loaded
    /// (`cause`): recorded as Errored, and listed among the problems.
    async fn unloadable(
        &self,
        manifest: Manifest,
        folder: &Path,
        cause: String,
    ) -> Result<(), RuntimeError> {
        let error = format!("plugin {:?} ({}): {cause}", manifest.slug, folder.display());
        if super::is_following() {
            // Adopted from another replica but not loadable here: this
            // replica's problem, not the record's.
            self.add_problem(LoadProblem {
                slug: Some(manifest.slug.into()),
                path: Some(folder.to_path_buf()),
                error,
            });
            return Ok(());
        }
        let store = self.store();
        let rec = store
            .ensure(&manifest.slug, &manifest.version, "dynamic")
            .await?;
        if rec.state.apply(Transition::Fail).is_some() {
            store
                .transition(&manifest.slug, Transition::Fail, "system", Some(&error))
                .await?;
        }
        self.add_problem(LoadProblem {
            slug: Some(manifest.slug.into()),
            path: Some(folder.to_path_buf()),
            error,
        });
        Ok(())
    }

    /// Adds a loaded plugin to the runtime, recording it (or what changed
    /// in its folder) unless `record`, its record as read before, already
    /// says so.
    async fn register(
        &self,
        entry: PluginEntry,
        origin: &str,
        record: Option<&PluginRecord>,
    ) -> Result<(), RuntimeError> {
        let slug = entry.slug().to_string();
        if self.plugin(&slug).is_some() {
            self.add_problem(LoadProblem {
                slug: Some(slug.clone()),
                path: entry.source().cloned(),
                error: format!(
                    "duplicate slug {slug:?}: a {origin} plugin with this slug is already loaded"
                ),
            });
            return Ok(());
        }
        let (version, kind) = (entry.version(), entry.kind().as_str());
        if !self.db().is_shared() && entry.kind() == PluginKind::Dynamic {
            // One process: the folder is the truth (it may have been
            // replaced by hand since a bundle was installed).
            let bundle = entry
                .source()
                .and_then(|f| crate::manifest::BundleInfo::read(f))
                .map(|b| b.sha256.to_ascii_lowercase());
            let recorded = record.is_some_and(|r| {
                r.version == version && r.kind == kind && r.bundle_sha256 == bundle
            });
            if !recorded {
                self.store()
                    .ensure_from_folder(&slug, version, kind, bundle.as_deref())
                    .await?;
            }
        } else {
            let recorded = record.is_some_and(|r| {
                r.bundle_sha256.is_some() || (r.version == version && r.kind == kind)
            });
            if !recorded {
                self.store().ensure(&slug, version, kind).await?;
            }
        }
        self.inner.plugins.insert(slug, Arc::new(entry));
        Ok(())
    }

    /// Calls `on_load` on every plugin, then enables the ones persisted as
    /// `Active` and the built-ins still `Installed` (first start).
    pub(super) async fn restore_states(&self) -> Result<(), RuntimeError> {
        let ops = self.lock_ops().await;
        let records = self.records().await?;
        let slugs: Vec<String> = self
            .entries()
            .iter()
            .map(|e| e.slug().to_string())
            .collect();
        // Dependencies come up before the plugins that need them.
        for slug in self.dependency_order(&slugs) {
            let Some(entry) = self.plugin(&slug) else {
                continue;
            };
            let record = records
                .get(self, entry.slug())
                .await?
                .ok_or_else(|| crate::lifecycle::LifecycleError::NotFound(slug.clone()))?;
            if record.state == PluginState::PendingUninstall {
                // An uninstall was interrupted: finish it (data kept).
                let slug = entry.manifest().slug.clone();
                if let Err(e) = self
                    .finish_uninstall(&ops, &slug, super::DataPolicy::Keep, "system")
                    .await
                {
                    tracing::error!(plugin = %slug, "could not finish the uninstall: {e}");
                }
                continue;
            }
            if record.state == PluginState::Errored {
                continue; // stays out of service until an operator resets it
            }
            if self.db().is_shared()
                && record
                    .bundle_sha256
                    .as_deref()
                    .is_some_and(|want| !self.runs_bundle(&slug, want))
            {
                // Another replica moved it to another bundle: following the
                // database brings that one in and enables it.
                continue;
            }
            if let Err(e) = self.ensure_loaded(&entry, "system").await {
                tracing::error!(plugin = entry.slug(), "{e}");
                continue;
            }
            let bring_up = record.state == PluginState::Active
                || (record.state == PluginState::Installed && entry.kind() == PluginKind::Builtin);
            if bring_up {
                if let Some(message) = self.unmet_dependency(&entry) {
                    let _ = self
                        .fail(entry.slug(), "dependencies", "system", &message)
                        .await;
                    continue;
                }
                // Active already: brought back, not a change (nothing is
                // recorded or announced; `system.startup` follows).
                let how = if record.state == PluginState::Active {
                    Enabling::Restore
                } else {
                    Enabling::Persist
                };
                if let Err(e) = self.enable_locked(&ops, &entry, "system", how).await {
                    tracing::error!(plugin = entry.slug(), "could not re-enable: {e}");
                }
            }
        }
        Ok(())
    }

    /// Runs `on_load` once; a failure moves the plugin to `Errored`.
    pub(super) async fn ensure_loaded(
        &self,
        entry: &Arc<PluginEntry>,
        actor: &str,
    ) -> Result<(), RuntimeError> {
        if entry.is_loaded() {
            return Ok(());
        }
        match self.run_phase(entry, Phase::Load).await {
            Ok(()) => {
                entry.set_loaded(true);
                Ok(())
            }
            Err(e) => Err(self
                .fail(entry.slug(), "on_load", actor, &e.to_string())
                .await),
        }
    }
}
