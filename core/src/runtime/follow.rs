//! Following the database: what a replica does when another replica (or
//! nothing it heard of) changed the shared truth (several replicas on one
//! PostgreSQL database; [`crate::cluster`] calls this on every
//! notification and every few seconds).
//!
//! The database decides; a follower only brings its own process in line,
//! with the same steps as the replica that decided, minus the recording:
//!
//! * a plugin recorded `Active` that is not live here is enabled here
//!   (migrations are found applied, `on_enable` runs here);
//! * a plugin live here but recorded otherwise is taken offline here
//!   (`on_disable`);
//! * a dynamic plugin loaded here with no record left was uninstalled
//!   elsewhere: withdrawn, unloaded, its folder removed (its data is the
//!   database's, purged or kept by the replica that uninstalled it);
//! * a plugin whose stored configuration changed gets `on_config_changed`;
//! * the route grants are read again.
//!
//! Bundles (another version recorded, or a plugin never seen here) are
//! fetched and verified by the marketplace, then swapped in here with
//! [`Runtime::adopt_staged`].
//!
//! What a follower does it announces on its own live feed, marked
//! `followed`, so that it is not published to the others again.

use std::{future::Future, path::Path};

use plugboard_plugin_api::Phase;
use serde::Serialize;

use super::{upgrade::Role, OpsGuard, Runtime, RuntimeError};
use crate::{
    lifecycle::{PluginRecord, PluginState},
    manifest::{BundleInfo, Manifest, ManifestFile},
    registry::PluginKind,
};

/// How long a replica keeps serving its running version of a plugin after
/// another bundle was recorded, while it adopts that one.
const ADOPT_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

tokio::task_local! {
    static FOLLOWING: ();
}

/// Whether the current task is following the database (its announcements
/// are not published to the other replicas).
pub(crate) fn is_following() -> bool {
    FOLLOWING.try_with(|_| ()).is_ok()
}

/// What one pass of [`Runtime::follow_database`] changed here.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Followed {
    /// Enabled here.
    pub enabled: Vec<String>,
    /// Taken offline here.
    pub disabled: Vec<String>,
    /// Withdrawn here (uninstalled elsewhere).
    pub removed: Vec<String>,
    /// Told of a new configuration.
    pub configured: Vec<String>,
    /// What could not be followed, with the reason.
    pub problems: Vec<String>,
}

impl Followed {
    /// Whether the pass changed nothing.
    pub fn is_empty(&self) -> bool {
        self.enabled.is_empty()
            && self.disabled.is_empty()
            && self.removed.is_empty()
            && self.configured.is_empty()
    }
}

impl Runtime {
    /// Runs `f` as a follower: what it announces is not published again.
    pub(crate) async fn as_follower<F: Future>(&self, f: F) -> F::Output {
        FOLLOWING.scope((), f).await
    }

    /// The records of dynamic plugins whose recorded bundle this replica
    /// does not run (another version, or a plugin it never had).
    pub(crate) async fn bundles_to_adopt(&self) -> Result<Vec<PluginRecord>, RuntimeError> {
        let records = self.store().list().await?;
        Ok(records
            .into_iter()
            .filter(|r| r.kind == PluginKind::Dynamic.as_str())
            .filter(|r| r.state != PluginState::PendingUninstall)
            .filter(|r| {
                let Some(want) = &r.bundle_sha256 else {
                    return false;
                };
                !self.runs_bundle(&r.slug, want)
            })
            .collect())
    }

    /// Brings in a verified plugin folder `staged` that the database
    /// records (its bundle's digest is `sha256`): swapped in for the
    /// version running here, or moved into place and loaded for a plugin
    /// never seen here. Nothing is recorded. `Ok(false)` when the database
    /// has meanwhile moved on (the folder is removed).
    pub(crate) async fn adopt_staged(
        &self,
        ops: &OpsGuard<'_>,
        staged: &Path,
        sha256: &str,
    ) -> Result<bool, RuntimeError> {
        let discard = |e: RuntimeError| {
            let _ = std::fs::remove_dir_all(staged);
            e
        };
        let manifest = Manifest::read(staged).map_err(|e| {
            discard(RuntimeError::UpgradeFailed {
                slug: "?".into(),
                phase: "manifest",
                message: e.to_string(),
            })
        })?;
        let slug = manifest.slug.clone();
        if *self.inner.stopping.borrow() {
            let _ = std::fs::remove_dir_all(staged);
            return Ok(false);
        }
        let record = match self.store().get(&slug).await {
            Ok(r) => r,
            Err(e) => return Err(discard(e.into())),
        };
        if !record
            .bundle_sha256
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(sha256))
        {
            let _ = std::fs::remove_dir_all(staged);
            return Ok(false);
        }
        if self.plugin(&slug).is_some() {
            self.swap_in_as(ops, staged, "cluster", "followed", Role::Follow)
                .await
                .map_err(discard)?;
            return Ok(true);
        }
        let folder = self.config().plugin_dir(&slug);
        if folder.exists() {
            // A copy this replica could not load: the recorded one replaces it.
            self.remove_folder(&slug, &folder).map_err(discard)?;
        }
        if let Err(source) = std::fs::rename(staged, &folder) {
            return Err(discard(RuntimeError::DataDir {
                path: folder,
                source,
            }));
        }
        self.load_dynamic(&folder).await?;
        self.announce("installed", &slug);
        Ok(true)
    }

    /// One pass: brings this replica's plugins in line with the database's
    /// records (see the module docs). Bundles are not fetched here.
    pub(crate) async fn follow_database(&self) -> Result<Followed, RuntimeError> {
        let ops = self.lock_ops().await;
        let mut done = Followed::default();
        if *self.inner.stopping.borrow() {
            return Ok(done);
        }
        let records = self.store().list().await?;
        self.withdraw_uninstalled(&ops, &records, &mut done).await;
        let slugs: Vec<String> = records.iter().map(|r| r.slug.clone()).collect();
        for slug in self.dependency_order(&slugs) {
            let (Some(record), Some(entry)) =
                (records.iter().find(|r| r.slug == slug), self.plugin(&slug))
            else {
                continue;
            };
            if record
                .bundle_sha256
                .as_deref()
                .is_some_and(|want| !self.runs_bundle(&slug, want))
            {
                // Another bundle is recorded: the running one keeps serving
                // while the recorded one is adopted (it replaces it live),
                // but not past `ADOPT_GRACE`: a replica that cannot adopt it
                // does not serve another version than the others for long.
                let late = chrono::Utc::now() - record.updated_at > ADOPT_GRACE;
                if entry.is_live() && (record.state != PluginState::Active || late) {
                    self.take_offline(&entry);
                    let _ = self.run_phase(&entry, Phase::Disable).await;
                    self.announce("disabled", &slug);
                    done.disabled.push(slug.clone());
                    if late {
                        done.problems.push(format!(
                            "{slug}: this replica runs {} but {} is recorded and could not be adopted yet: out of service here until it is",
                            entry.version(),
                            record.version
                        ));
                    }
                }
                continue;
            }
            let active = record.state == PluginState::Active;
            if active
                && !entry.is_live()
                && entry.tripped_at().is_some_and(|t| record.updated_at <= t)
            {
                // Tripped here after the record was written: its `Errored`
                // is on its way to the database; not enabled again.
                continue;
            }
            if active && !entry.is_live() {
                if let Some(message) = self.unmet_dependency(&entry) {
                    done.problems.push(format!("{slug}: {message}"));
                    continue;
                }
                if let Err(e) = self.ensure_loaded(&entry, "cluster").await {
                    done.problems.push(e.to_string());
                    continue;
                }
                // Enabled again after a reset elsewhere (or a trip here):
                // its panic count starts again, as on the replica that reset it.
                entry.clear_panics();
                match self
                    .enable_locked(&ops, &entry, "cluster", super::ops::Enabling::Follow)
                    .await
                {
                    Ok(()) => done.enabled.push(slug.clone()),
                    Err(e) => done.problems.push(e.to_string()),
                }
            } else if !active && entry.is_live() {
                self.take_offline(&entry);
                if let Err(e) = self.run_phase(&entry, Phase::Disable).await {
                    tracing::warn!(plugin = %slug, "on_disable failed: {e}");
                }
                self.announce(
                    if record.state == PluginState::Errored {
                        "errored"
                    } else {
                        "disabled"
                    },
                    &slug,
                );
                done.disabled.push(slug.clone());
            }
        }
        self.follow_configs(&mut done).await?;
        if let Err(e) = self.grants().reload().await {
            done.problems.push(format!("grants: {e}"));
        }
        Ok(done)
    }

    /// Withdraws the dynamic plugins loaded here that have no record any
    /// more (uninstalled on another replica).
    async fn withdraw_uninstalled(
        &self,
        _: &OpsGuard<'_>,
        records: &[PluginRecord],
        done: &mut Followed,
    ) {
        for entry in self.entries() {
            if entry.kind() != PluginKind::Dynamic || records.iter().any(|r| r.slug == entry.slug())
            {
                continue;
            }
            let slug = entry.slug().to_string();
            self.inner.plugins.remove(&slug);
            self.take_offline(&entry);
            if entry.is_loaded() {
                if let Err(e) = self.run_phase(&entry, Phase::Unload).await {
                    tracing::warn!(plugin = %slug, "on_unload failed: {e}");
                }
            }
            let slug_name = entry.manifest().slug.clone();
            for folder in [entry.source().cloned(), Some(self.previous_dir(&slug_name))]
                .into_iter()
                .flatten()
                .filter(|f| f.exists())
            {
                if let Err(e) = self.remove_folder(&slug_name, &folder) {
                    done.problems.push(format!("{slug}: {e}"));
                }
            }
            tracing::info!(plugin = %slug, "uninstalled on another replica: withdrawn here");
            self.announce("uninstalled", &slug);
            done.removed.push(slug);
        }
    }

    /// Whether the folder of `slug` here holds the bundle `sha256`.
    pub(crate) fn runs_bundle(&self, slug: &str, sha256: &str) -> bool {
        let folder = match self.plugin(slug).and_then(|e| e.source().cloned()) {
            Some(folder) => folder,
            None => match crate::slug::Slug::parse(slug) {
                Ok(slug) => self.config().plugin_dir(&slug),
                Err(_) => return false,
            },
        };
        BundleInfo::read(&folder).is_some_and(|b| b.sha256.eq_ignore_ascii_case(sha256))
    }

    /// Calls `on_config_changed` on the plugins whose stored configuration
    /// differs from the one this replica last saw (the first pass only
    /// takes note).
    async fn follow_configs(&self, done: &mut Followed) -> Result<(), RuntimeError> {
        let stored = crate::config::load_all(self.db().conn())
            .await
            .map_err(crate::lifecycle::LifecycleError::Db)?;
        let primed = self
            .inner
            .configs_primed
            .swap(true, std::sync::atomic::Ordering::AcqRel);
        for (slug, text) in stored {
            let seen = self.inner.configs_seen.insert(slug.clone(), text.clone());
            if !primed || seen.as_ref() == Some(&text) {
                continue;
            }
            let Some(entry) = self.plugin(&slug) else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                done.problems
                    .push(format!("{slug}: its stored configuration is not JSON"));
                continue;
            };
            if let Err(e) = self
                .call_lifecycle(&entry, "on_config_changed", move |p, ctx| {
                    p.on_config_changed(ctx, &value)
                })
                .await
            {
                tracing::warn!(plugin = %slug, "on_config_changed failed: {e}");
            }
            self.announce("configured", &slug);
            done.configured.push(slug);
        }
        Ok(())
    }

    /// Takes note that this replica applied `slug`'s configuration `text`
    /// itself (so following does not apply it twice).
    pub(super) fn config_applied(&self, slug: &str, text: String) {
        self.inner.configs_seen.insert(slug.to_string(), text);
    }

    /// The live entries, for the replica's heartbeat: (slug, version, live).
    pub(crate) fn running(&self) -> Vec<(String, String, bool)> {
        self.entries()
            .iter()
            .map(|e| (e.slug().to_string(), e.version().to_string(), e.is_live()))
            .collect()
    }
}
