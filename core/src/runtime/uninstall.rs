//! Uninstalling a dynamic plugin, keeping or removing its data.
//!
//! ```text
//! Active ─disable─▶ Inactive/Installed/Errored ─CAS─▶ PendingUninstall
//!   ─▶ withdrawn, on_unload ─▶ [data=remove: tables dropped, KV/config/
//!   migration records/job runs deleted] ─▶ folder moved out ─▶ row removed
//! ```
//!
//! `PendingUninstall` is persisted first, so a process killed midway finishes
//! the uninstall at the next start (keeping the data: the choice to remove it
//! is not replayed).

use std::path::PathBuf;

use plugboard_plugin_api::Phase;
use serde::Serialize;

use super::{OpsGuard, Runtime, RuntimeError};
use crate::{
    capability::purge::{self, Purged},
    lifecycle::{PluginState, Transition},
    manifest::{Manifest, ManifestFile},
    registry::PluginKind,
    slug::Slug,
};

/// What happens to a plugin's data when it is uninstalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPolicy {
    /// Tables, KV and configuration stay, for a later reinstall.
    Keep,
    /// Tables are dropped and every row of the plugin deleted.
    Remove,
}

/// The outcome of an uninstall.
#[derive(Debug, Clone, Serialize)]
pub struct Uninstalled {
    /// The plugin.
    pub slug: String,
    /// What was asked for its data.
    pub data: DataPolicy,
    /// What was removed (`data=remove`).
    pub removed: Option<Purged>,
    /// The folder its files were removed from.
    pub folder: Option<PathBuf>,
}

impl Runtime {
    /// Uninstalls a dynamic plugin (disabling it first if it is active).
    /// Refused while active plugins depend on it.
    pub async fn uninstall(
        &self,
        slug: &Slug,
        data: DataPolicy,
        actor: &str,
    ) -> Result<Uninstalled, RuntimeError> {
        self.uninstall_cascading(slug, data, false, actor).await
    }

    /// [`Runtime::uninstall`]; with `cascade`, the active plugins that
    /// depend on it are disabled first (they stay installed).
    pub async fn uninstall_cascading(
        &self,
        slug: &Slug,
        data: DataPolicy,
        cascade: bool,
        actor: &str,
    ) -> Result<Uninstalled, RuntimeError> {
        let ops = self.lock_ops().await;
        let record = self.store().get(slug).await?;
        if record.kind == PluginKind::Builtin.as_str() {
            return Err(RuntimeError::BuiltIn {
                slug: slug.to_string(),
            });
        }
        if record.state == PluginState::Active {
            self.release_dependents(&ops, slug, cascade, actor).await?;
            self.disable_locked(&ops, slug, actor).await?;
        }
        if record.state != PluginState::PendingUninstall {
            self.store()
                .transition(slug, Transition::Uninstall, actor, None)
                .await?;
        }
        self.finish_uninstall(&ops, slug, data, actor).await
    }

    /// The steps after `PendingUninstall` is recorded (under the lifecycle
    /// lock).
    pub(super) async fn finish_uninstall(
        &self,
        _: &OpsGuard<'_>,
        slug: &Slug,
        data: DataPolicy,
        actor: &str,
    ) -> Result<Uninstalled, RuntimeError> {
        let folder = self.folder_of(slug);
        if let Some((_, entry)) = self.inner.plugins.remove(slug.as_str()) {
            self.take_offline(&entry);
            if entry.is_loaded() {
                if let Err(e) = self.run_phase(&entry, Phase::Unload).await {
                    tracing::warn!(plugin = %slug, "on_unload failed: {e}");
                }
            }
        }
        let removed = match data {
            DataPolicy::Keep => None,
            DataPolicy::Remove => {
                self.wait_withdrawn_elsewhere(slug).await;
                self.grants()
                    .forget(slug)
                    .await
                    .map_err(crate::lifecycle::LifecycleError::Db)?;
                Some(
                    purge::purge(self.db(), slug)
                        .await
                        .map_err(crate::lifecycle::LifecycleError::Db)?,
                )
            }
        };
        if let Some(folder) = &folder {
            self.remove_folder(slug, folder)?;
        }
        let previous = self.previous_dir(slug);
        if previous.exists() {
            self.remove_folder(slug, &previous)?;
        }
        let note = match &removed {
            Some(p) => format!(
                "data removed: {} table(s), {} KV entries",
                p.tables.len(),
                p.kv_entries
            ),
            None => "data kept".to_string(),
        };
        self.store().remove(slug, actor, Some(&note)).await?;
        tracing::info!(plugin = %slug, actor, "plugin uninstalled ({note})");
        self.notify_lifecycle("uninstalled", slug).await;
        Ok(Uninstalled {
            slug: slug.to_string(),
            data,
            removed,
            folder,
        })
    }

    /// With several replicas: waits (at most 5 s) until no other live
    /// replica's heartbeat shows `slug` live, so none of them writes its
    /// data while it is purged.
    async fn wait_withdrawn_elsewhere(&self, slug: &Slug) {
        if !self.db().is_shared() {
            return;
        }
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match crate::shared_state::live_elsewhere(self.db().conn(), self.replica(), slug).await
            {
                Ok(names) if names.is_empty() => return,
                Ok(names) if std::time::Instant::now() >= until => {
                    tracing::warn!(plugin = %slug, still_live_on = ?names, "purging while other replicas still show the plugin live");
                    return;
                }
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                Err(e) => {
                    tracing::warn!(plugin = %slug, "cannot read the other replicas' heartbeats: {e}");
                    return;
                }
            }
        }
    }

    /// The plugin's folder: where it was loaded from, or the folder whose
    /// manifest names it (a plugin whose library failed to load).
    fn folder_of(&self, slug: &Slug) -> Option<PathBuf> {
        if let Some(folder) = self.plugin(slug).and_then(|e| e.source().cloned()) {
            return Some(folder);
        }
        std::fs::read_dir(self.config().plugins_dir())
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| Manifest::read(p).is_ok_and(|m| m.slug == *slug))
    }

    /// Moves the folder out of `plugins/` in one rename (so a crash never
    /// leaves half a plugin there), then deletes it.
    pub(super) fn remove_folder(&self, slug: &Slug, folder: &PathBuf) -> Result<(), RuntimeError> {
        let target = self.config().trash_dir(slug, "");
        let io = |source| RuntimeError::DataDir {
            path: folder.clone(),
            source,
        };
        std::fs::create_dir_all(target.parent().unwrap_or(folder)).map_err(io)?;
        std::fs::rename(folder, &target).map_err(io)?;
        if let Err(e) = std::fs::remove_dir_all(&target) {
            tracing::warn!(plugin = %slug, "could not delete {}: {e}", target.display());
        }
        Ok(())
    }
}
