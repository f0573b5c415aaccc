//! Crash quarantine: a plugin that was in flight when the process died
//! (the in-flight journal, [`crate::exec::Journal`]) is set `Errored` with
//! what the host was calling, and is not enabled until an operator resets
//! it. A plugin that died while its library was being loaded is not even
//! loaded at the following starts (loading it is what killed the host).

use std::{path::PathBuf, sync::Arc};

use super::{Runtime, RuntimeError};
use crate::{
    exec::{Admission, Call, CallPoint, Lane, PointKind},
    lifecycle::{LifecycleError, PluginRecord, PluginState, Transition},
    loader::{self, DynamicPlugin, StagedLibrary},
    manifest::Manifest,
};

/// How a quarantined plugin's last error begins.
pub(super) const CRASH_PREFIX: &str = "the host process died while calling ";
/// The entry point name of loading `version` of a library (its
/// constructor runs then).
fn load_name(version: &str) -> String {
    format!("library's constructor (loading {version})")
}

impl Runtime {
    /// Sets every plugin that was in flight when the previous process died
    /// to `Errored`, with what it was doing.
    pub(super) async fn quarantine(&self) -> Result<(), RuntimeError> {
        for c in &self.inner.crashed {
            let message = format!("{CRASH_PREFIX}{}", c.what);
            tracing::error!(
                plugin = %c.slug,
                "crash quarantine: {message}; the plugin is Errored until an operator resets it"
            );
            self.record_quarantine(&c.slug, &message).await?;
        }
        Ok(())
    }

    /// `slug` is `Errored` with `message` (whatever its state was, but for
    /// an uninstall under way; a plugin the store does not know yet is
    /// recorded when discovery finds it).
    async fn record_quarantine(&self, slug: &str, message: &str) -> Result<(), RuntimeError> {
        let store = self.store();
        let result = match store.get(slug).await {
            Ok(r) if r.state == PluginState::Errored => {
                store.amend_error(slug, "crash-quarantine", message).await
            }
            Ok(_) => {
                store
                    .transition(slug, Transition::Fail, "crash-quarantine", Some(message))
                    .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(_)
            | Err(LifecycleError::InvalidTransition { .. })
            | Err(LifecycleError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The quarantine message, if the host died while loading `version` of
    /// `slug`'s library (at the last start, or earlier and nobody has
    /// reset it). Another version (an update's staged library that killed
    /// the host) does not hold back the installed one. `record`: its record.
    pub(super) fn crash_at_load(
        &self,
        slug: &str,
        version: &str,
        record: Option<&PluginRecord>,
    ) -> Option<String> {
        let load_label = format!("its {}", load_name(version));
        if self
            .inner
            .crashed
            .iter()
            .any(|c| c.slug == slug && c.what == load_label)
        {
            return Some(format!("{CRASH_PREFIX}{load_label}"));
        }
        record
            .filter(|r| r.state == PluginState::Errored)
            .and_then(|r| r.last_error.clone())
            .filter(|e| e.starts_with(CRASH_PREFIX) && e.ends_with(&load_label))
    }

    /// Records a plugin whose library is not loaded because loading it
    /// killed the host: `Errored` with `message`, and listed among the
    /// problems.
    pub(super) async fn quarantined_at_load(
        &self,
        manifest: &Manifest,
        folder: &std::path::Path,
        message: String,
    ) -> Result<(), RuntimeError> {
        let record = self
            .store()
            .ensure(&manifest.slug, &manifest.version, "dynamic")
            .await?;
        if record.last_error.as_deref() != Some(message.as_str()) {
            self.record_quarantine(&manifest.slug, &message).await?;
        }
        self.add_problem(super::LoadProblem {
            slug: Some(manifest.slug.to_string()),
            path: Some(folder.to_path_buf()),
            error: format!("{message}; not loaded until an operator resets it"),
        });
        Ok(())
    }

    /// Loads a library (its constructor runs): [`Runtime::stage_library`],
    /// then [`Runtime::load_staged`].
    pub(super) async fn load_library(
        &self,
        manifest: &Manifest,
        library: PathBuf,
        scratch: PathBuf,
    ) -> Result<DynamicPlugin, String> {
        let staged = Self::stage_library(library, scratch).await?;
        self.load_staged(manifest, staged).await
    }

    /// Copies and hashes a library on a blocking thread ([`loader::stage_library`]):
    /// no plugin code runs, so many may be staged at once.
    pub(super) async fn stage_library(
        library: PathBuf,
        scratch: PathBuf,
    ) -> Result<StagedLibrary, String> {
        tokio::task::spawn_blocking(move || loader::stage_library(&library, &scratch))
            .await
            .map_err(|e| format!("staging the library failed: {e}"))?
            .map_err(|e| e.to_string())
    }

    /// Maps a staged library and checks it is the plugin `manifest`
    /// describes; its code runs here, so on the executor: journaled (a
    /// crash quarantines this plugin alone), with the lifecycle deadline.
    pub(super) async fn load_staged(
        &self,
        manifest: &Manifest,
        staged: StagedLibrary,
    ) -> Result<DynamicPlugin, String> {
        let deadline = self
            .config()
            .limits
            .deadline_or(None, self.config().limits.lifecycle_deadline);
        let call = Call {
            lane: Arc::new(Lane::new(1)),
            point: Arc::new(CallPoint::new(
                &manifest.slug,
                PointKind::Lifecycle,
                &load_name(&manifest.version),
                deadline,
            )),
            admission: Admission::Exempt,
            journaled: true,
        };
        let manifest = manifest.clone();
        let slug = manifest.slug.to_string();
        let plugin = self
            .executor()
            .run(call, move || staged.load_as(&manifest))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let mapped = loader::mapped_images(&slug);
        if mapped > self.config().max_mapped_images {
            tracing::warn!(
                plugin = %slug,
                mapped,
                cap = self.config().max_mapped_images,
                "this process maps {mapped} different library images of {slug} (they are never unmapped); \
                 restart it to release the old ones"
            );
        }
        Ok(plugin)
    }
}
