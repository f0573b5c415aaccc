//! Hot reload: replacing a dynamic plugin's code while it serves.
//!
//! ```text
//! staged folder ─▶ load the library, on_load ─▶ new generation
//!   ─▶ prepare (hooks, routes, jobs, subscriptions, capabilities)
//!   ─▶ migrations ─▶ on_upgrade(from_version) ─▶ on_enable (if active)
//!   ─▶ files: plugins/<slug> → previous/<slug>, staged → plugins/<slug>
//!   ─▶ cutover: plugin map, routes, subscriptions, jobs, hooks → new generation
//!   ─▶ drain: the old generation finishes the calls it is running, then
//!      on_disable + on_unload on it, and it is dropped
//! ```
//!
//! The cutover is an epoch fence: every lookup after it (route table, plugin
//! map, hook table, event bus) reaches the new generation; a call that
//! looked the old one up before it holds an `Arc` to it, and the old
//! generation stays callable until the last such `Arc` is gone. A failure
//! before the cutover leaves the old generation serving and nothing moved
//! (migrations that succeeded stay applied: they are forward-only).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use plugboard_plugin_api::Phase;
use serde::Serialize;

use super::{ops::Unprepared, OpsGuard, Runtime, RuntimeError};
use crate::{
    lifecycle::{PluginRecord, PluginState},
    manifest::{Manifest, ManifestFile},
    registry::{PluginEntry, PluginKind},
    slug::Slug,
};

/// How long an old generation may take to finish its calls before it is
/// disabled anyway.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The outcome of a hot reload.
#[derive(Debug, Clone, Serialize)]
pub struct Swapped {
    /// The plugin.
    pub slug: String,
    /// The version replaced.
    pub from_version: String,
    /// The version now serving.
    pub to_version: String,
    /// The new generation.
    pub generation: u64,
    /// The old generation (draining in the background), if one was loaded.
    pub previous_generation: Option<u64>,
    /// The record after the change.
    pub plugin: PluginRecord,
}

/// An old generation still finishing its calls after an update.
#[derive(Debug, Clone, Serialize)]
pub struct Draining {
    /// The plugin.
    pub slug: String,
    /// The old version.
    pub version: String,
    /// The old generation.
    pub generation: u64,
    /// When the cutover happened.
    pub since: DateTime<Utc>,
}

/// Who decides a change: the replica an admin asked, or one following
/// the database's record of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Decides and records it.
    Lead,
    /// Applies what another replica recorded.
    Follow,
}

impl Runtime {
    /// The folder that keeps the previous version of `slug` (for rollback).
    pub fn previous_dir(&self, slug: &Slug) -> PathBuf {
        self.config().previous_dir(slug)
    }

    /// Old generations still draining.
    pub fn draining(&self) -> Vec<Draining> {
        self.inner
            .draining
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the code of the installed dynamic plugin by the complete
    /// plugin folder `staged` (see the module docs). The ops lock must be
    /// held. `note` goes into the audit trail (`updated 1.0.0 → 2.0.0`).
    pub(crate) async fn swap_in(
        &self,
        ops: &OpsGuard<'_>,
        staged: &Path,
        actor: &str,
        verb: &str,
    ) -> Result<Swapped, RuntimeError> {
        self.swap_in_as(ops, staged, actor, verb, Role::Lead).await
    }

    /// [`Runtime::swap_in`] as the replica that decided it (`Lead`: runs
    /// `on_upgrade`, records the version and bundle), or as one that
    /// follows the database (`Follow`: another replica did that; this one
    /// only replaces its code, see [`crate::cluster`]).
    pub(crate) async fn swap_in_as(
        &self,
        _: &OpsGuard<'_>,
        staged: &Path,
        actor: &str,
        verb: &str,
        role: Role,
    ) -> Result<Swapped, RuntimeError> {
        let failed =
            |slug: &str, phase: &'static str, message: String| RuntimeError::UpgradeFailed {
                slug: slug.to_string(),
                phase,
                message,
            };
        let manifest =
            Manifest::read(staged).map_err(|e| failed("?", "manifest", e.to_string()))?;
        let slug = manifest.slug.clone();
        let record = self.store().get(&slug).await?;
        if record.kind != PluginKind::Dynamic.as_str() {
            return Err(RuntimeError::BuiltIn { slug: slug.into() });
        }
        if record.state == PluginState::PendingUninstall {
            return Err(failed(
                &slug,
                "state",
                "the plugin is being uninstalled".into(),
            ));
        }
        let old = self.plugin(&slug);
        let from_version = old
            .as_ref()
            .map(|o| o.version().to_string())
            .unwrap_or_else(|| record.version.clone());
        let folder = self.config().plugin_dir(&slug);

        // The new generation, loaded from the staged folder.
        let library = manifest
            .library_file(staged)
            .map_err(|e| failed(&slug, "load", e.to_string()))?;
        let scratch = self.config().loaded_dir();
        let object = self
            .load_library(&manifest, library, scratch)
            .await
            .map_err(|e| failed(&slug, "load", e))?;
        let api = object.api_version().to_string();
        let mut manifest = manifest;
        crate::capabilities::infer_from_code(&mut manifest, &object);
        let manifest = Arc::new(manifest);
        let scope = self.scope_for(&manifest);
        let new = Arc::new(PluginEntry::new(
            PluginKind::Dynamic,
            Some(folder.clone()),
            api,
            manifest,
            Box::new(object),
            scope,
            &self.config().limits,
        ));
        self.run_phase(&new, Phase::Load)
            .await
            .map_err(|e| failed(&slug, "on_load", e.to_string()))?;
        new.set_loaded(true);
        let unload_new = |enabled: bool| {
            let (rt, new) = (self.clone(), Arc::clone(&new));
            async move {
                if enabled {
                    let _ = rt.run_phase(&new, Phase::Disable).await;
                }
                let _ = rt.run_phase(&new, Phase::Unload).await;
            }
        };

        let prepared = match self.prepare_from(&new, Some(staged)) {
            Ok(p) => p,
            Err(Unprepared::Cycle(cycle)) => {
                unload_new(false).await;
                return Err(RuntimeError::HookCycle {
                    slug: slug.into(),
                    cycle,
                });
            }
            Err(Unprepared::Failed(phase, message)) => {
                unload_new(false).await;
                return Err(failed(&slug, phase, message));
            }
        };
        if let Err((phase, message)) = self.before_enable(&new, &prepared).await {
            unload_new(false).await;
            return Err(failed(&slug, phase, message));
        }
        let from = from_version.clone();
        if role == Role::Lead {
            if let Err(e) = self
                .call_lifecycle(&new, "on_upgrade", move |p, ctx| p.on_upgrade(ctx, &from))
                .await
            {
                unload_new(false).await;
                return Err(failed(&slug, "on_upgrade", e.to_string()));
            }
        }
        let active = record.state == PluginState::Active;
        if active {
            if let Err(e) = self.run_phase(&new, Phase::Enable).await {
                unload_new(false).await;
                return Err(failed(&slug, "on_enable", e.to_string()));
            }
        }

        // Files: the current folder becomes the previous version.
        if let Err(e) = self.move_folders(&slug, &folder, staged) {
            unload_new(active).await;
            return Err(failed(&slug, "files", e.to_string()));
        }

        // Cutover.
        self.inner
            .plugins
            .insert(slug.to_string(), Arc::clone(&new));
        let live = if active {
            self.go_live(&new, prepared).await
        } else {
            self.rebuild_hooks();
            Ok(())
        };
        let note = format!("{verb} {from_version} → {}", new.version());
        let plugin = match role {
            Role::Lead => {
                let bundle = crate::manifest::BundleInfo::read(&folder).map(|b| b.sha256);
                self.store().set_bundle(&slug, bundle.as_deref()).await?;
                self.store()
                    .record_version(&slug, new.version(), actor, &note)
                    .await?
            }
            Role::Follow => self.store().get(&slug).await?,
        };
        if let Err(failure) = live {
            // The new version is in place but could not go live: it ends
            // Errored with the cause (the old one is drained below).
            let _ = self.run_phase(&new, Phase::Disable).await;
            if let Some(old) = old {
                self.drain(old);
            }
            return Err(self
                .fail(&slug, failure.phase, actor, &failure.message)
                .await);
        }
        tracing::info!(plugin = %slug, generation = new.generation(), actor, "{note}");
        let previous_generation = old.as_ref().map(|o| o.generation());
        if let Some(old) = old {
            self.drain(old);
        }
        self.notify_lifecycle("upgraded", &slug).await;
        Ok(Swapped {
            slug: slug.into(),
            from_version,
            to_version: new.version().to_string(),
            generation: new.generation(),
            previous_generation,
            plugin,
        })
    }

    /// Goes back to the previous version of `slug` in one step, by the same
    /// hot reload (the current version becomes the previous one, so a
    /// second rollback goes forward again). Migrations are not undone.
    ///
    /// The folder swapped in must hold `slug`'s own manifest: a
    /// `previous/<slug>` naming another plugin is refused before anything
    /// is loaded.
    pub async fn rollback(&self, slug: &Slug, actor: &str) -> Result<Swapped, RuntimeError> {
        let ops = self.lock_ops().await;
        let previous = self.previous_dir(slug);
        let names_it = Manifest::read(&previous).is_ok_and(|m| m.slug == *slug);
        if !names_it {
            return Err(RuntimeError::NoPrevious {
                slug: slug.to_string(),
            });
        }
        let staging = self.config().staging_root();
        let staged = self.config().staging_dir(slug, "rollback");
        let io = |source| RuntimeError::DataDir {
            path: previous.clone(),
            source,
        };
        std::fs::create_dir_all(&staging).map_err(io)?;
        std::fs::rename(&previous, &staged).map_err(io)?;
        match self.swap_in(&ops, &staged, actor, "rolled back").await {
            Ok(s) => Ok(s),
            Err(e) => {
                if staged.exists() && !previous.exists() {
                    let _ = std::fs::rename(&staged, &previous);
                }
                Err(e)
            }
        }
    }

    /// `plugins/<slug>` → `previous/<slug>` (replacing an older one), then
    /// `staged` → `plugins/<slug>`; undone if the second rename fails. A
    /// crash between the two is repaired at start-up
    /// ([`Runtime::repair_folders`]).
    fn move_folders(&self, slug: &Slug, folder: &Path, staged: &Path) -> std::io::Result<()> {
        let previous = self.previous_dir(slug);
        std::fs::create_dir_all(previous.parent().unwrap_or(Path::new(".")))?;
        if previous.exists() {
            let target = self.config().trash_dir(slug, "previous");
            std::fs::create_dir_all(target.parent().unwrap_or(Path::new(".")))?;
            std::fs::rename(&previous, &target)?;
            let _ = std::fs::remove_dir_all(&target);
        }
        let had_folder = folder.exists();
        if had_folder {
            std::fs::rename(folder, &previous)?;
        }
        if let Err(e) = std::fs::rename(staged, folder) {
            if had_folder {
                let _ = std::fs::rename(&previous, folder);
            }
            return Err(e);
        }
        Ok(())
    }

    /// At start: puts back what an interrupted update or rollback moved (a
    /// plugin found only in `previous/`, a previous version left in
    /// `.staging` by a rollback), then deletes what an interrupted install
    /// left in `.staging` (never inside `plugins/`) and the library copies
    /// a process that died left in `.loaded`.
    pub(super) fn repair_folders(&self) {
        crate::loader::remove_stale_copies(&self.config().loaded_dir());
        let staging = self.config().staging_root();
        for dir in std::fs::read_dir(&staging).into_iter().flatten().flatten() {
            let name = dir.file_name().to_string_lossy().into_owned();
            let slug = super::paths::scratch_slug(&name, "rollback");
            if let Some(slug) = slug {
                let previous = self.previous_dir(&slug);
                if !previous.exists() {
                    let _ = std::fs::rename(dir.path(), &previous);
                }
            }
        }
        if staging.exists() {
            if let Err(e) = std::fs::remove_dir_all(&staging) {
                tracing::warn!("cannot clean {}: {e}", staging.display());
            }
        }
        let Ok(dirs) = std::fs::read_dir(self.config().previous_root()) else {
            return;
        };
        for dir in dirs.filter_map(Result::ok) {
            let name = dir.file_name();
            let Some(slug) = name.to_str().and_then(|n| Slug::parse(n).ok()) else {
                continue;
            };
            let folder = self.config().plugin_dir(&slug);
            if !folder.exists() {
                tracing::warn!(
                    "restoring {} from previous/ (an update was interrupted)",
                    folder.display()
                );
                if let Err(e) = std::fs::rename(dir.path(), &folder) {
                    tracing::error!("cannot restore {}: {e}", folder.display());
                }
            }
        }
    }

    /// Lets the old generation finish what it is running, then disables and
    /// unloads it, on a thread of its own.
    fn drain(&self, old: Arc<PluginEntry>) {
        let info = Draining {
            slug: old.slug().to_string(),
            version: old.version().to_string(),
            generation: old.generation(),
            since: Utc::now(),
        };
        self.inner
            .draining
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(info);
        let runtime = Arc::downgrade(&self.inner);
        // On the database's runtime (it lives as long as the runtime does),
        // so that the old generation's last calls go through the executor.
        self.db().spawn(async move {
            let start = Instant::now();
            // The drainer's own reference is the last one when every call
            // that looked the old generation up has returned.
            while Arc::strong_count(&old) > 1 && start.elapsed() < DRAIN_TIMEOUT {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let left = Arc::strong_count(&old) - 1;
            if left > 0 {
                tracing::warn!(
                    plugin = old.slug(),
                    generation = old.generation(),
                    left,
                    "drain timed out; disabling the old generation anyway"
                );
            }
            let was_live = old.is_live();
            old.set_live(false);
            let Some(inner) = runtime.upgrade() else {
                return;
            };
            let rt = Runtime { inner };
            if was_live {
                let _ = rt.run_phase(&old, Phase::Disable).await;
            }
            let _ = rt.run_phase(&old, Phase::Unload).await;
            old.set_loaded(false);
            tracing::info!(
                plugin = old.slug(),
                generation = old.generation(),
                waited_ms = start.elapsed().as_millis() as u64,
                "old generation drained"
            );
            rt.inner
                .draining
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|d| d.generation != old.generation());
        });
    }
}

/// A unique suffix for scratch folder names.
pub(crate) fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}
