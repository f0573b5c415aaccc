//! Start-up: built-ins from the explicit list, dynamic plugins from the
//! plugins folder, then each plugin's persisted state brought back.

use std::{path::Path, sync::Arc};

use plugboard_plugin_api::{abi::API_VERSION, BuiltinPlugin, Phase};

use super::{LoadProblem, Runtime, RuntimeError};
use crate::{
    lifecycle::{PluginState, Transition},
    manifest::{Manifest, ManifestFile},
    registry::{PluginEntry, PluginKind},
};

impl Runtime {
    pub(super) async fn load_all(&self, builtins: &[BuiltinPlugin]) -> Result<(), RuntimeError> {
        for builtin in builtins {
            if let Err(error) = self.load_builtin(builtin).await? {
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
        for folder in folders {
            if self.uninstalled_elsewhere(&folder).await? {
                continue;
            }
            self.load_dynamic(&folder).await?;
        }
        Ok(())
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
        self.register(entry, "built-in").await?;
        Ok(Ok(()))
    }

    pub(crate) async fn load_dynamic(&self, folder: &Path) -> Result<(), RuntimeError> {
        let manifest = match Manifest::read(folder) {
            Ok(m) => m,
            Err(e) => {
                self.add_problem(LoadProblem {
                    slug: None,
                    path: Some(folder.to_path_buf()),
                    error: e.to_string(),
                });
                return Ok(());
            }
        };
        if let Some(existing) = self.plugin(&manifest.slug) {
            let other = existing
                .source()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "a built-in plugin".into());
            self.add_problem(LoadProblem {
                slug: Some(manifest.slug.to_string()),
                path: Some(folder.to_path_buf()),
                error: format!(
                    "duplicate slug {:?}: already provided by {other}",
                    manifest.slug
                ),
            });
            return Ok(());
        }
        let scratch = self.config().loaded_dir();
        let library = match manifest.library_file(folder) {
            Ok(library) => library,
            Err(e) => return self.unloadable(manifest, folder, e.to_string()).await,
        };
        if let Some(crash) = self
            .crashed_while_loading(&manifest.slug, &manifest.version)
            .await?
        {
            return self.quarantined_at_load(&manifest, folder, crash).await;
        }
        let loaded = self.load_library(&manifest, library, scratch).await;
        match loaded {
            Ok(plugin) => {
                let api = plugin.api_version().to_string();
                let mut manifest = manifest;
                crate::capabilities::infer_from_code(&mut manifest, &plugin);
                let manifest = Arc::new(manifest);
                let scope = self.scope_for(&manifest);
                let entry = PluginEntry::new(
                    PluginKind::Dynamic,
                    Some(folder.to_path_buf()),
                    api,
                    manifest,
                    Box::new(plugin),
                    scope,
                    &self.config().limits,
                );
                self.register(entry, "dynamic").await
            }
            Err(e) => self.unloadable(manifest, folder, e).await,
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

    async fn register(&self, entry: PluginEntry, origin: &str) -> Result<(), RuntimeError> {
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
        if !self.db().is_shared() && entry.kind() == PluginKind::Dynamic {
            // One process: the folder is the truth (it may have been
            // replaced by hand since a bundle was installed).
            let bundle = entry
                .source()
                .and_then(|f| crate::manifest::BundleInfo::read(f))
                .map(|b| b.sha256);
            self.store()
                .ensure_from_folder(
                    &slug,
                    entry.version(),
                    entry.kind().as_str(),
                    bundle.as_deref(),
                )
                .await?;
        } else {
            self.store()
                .ensure(&slug, entry.version(), entry.kind().as_str())
                .await?;
        }
        self.inner.plugins.insert(slug, Arc::new(entry));
        Ok(())
    }

    /// Calls `on_load` on every plugin, then enables the ones persisted as
    /// `Active` and the built-ins still `Installed` (first start).
    pub(super) async fn restore_states(&self) -> Result<(), RuntimeError> {
        let ops = self.lock_ops().await;
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
            let record = self.store().get(entry.slug()).await?;
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
                let persist = record.state != PluginState::Active;
                if let Err(e) = self.enable_locked(&ops, &entry, "system", persist).await {
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
