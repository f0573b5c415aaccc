//! Bundles for the other replicas (several replicas on one PostgreSQL).
//!
//! The replica that installs or updates a plugin keeps the verified bundle
//! in the database, with the catalog entry it was checked against
//! ([`crate::shared_state::bundles`]). A replica whose folder holds
//! another bundle than the one recorded for a plugin (or none) fetches it
//! by digest, verifies it **exactly as an install does** (digest,
//! signature against the trusted keys, extraction limits, manifest = entry,
//! load check in a child process), and swaps it in as a follower.

use std::sync::Arc;

use super::{
    catalog::CatalogEntry,
    install::{InstallError, TrustPolicy},
    jobs::Progress,
    signing::PublicKey,
};
use crate::{lifecycle::PluginRecord, runtime::RuntimeError, shared_state::bundles};

impl super::Marketplace {
    /// Keeps a verified bundle for the other replicas (PostgreSQL only;
    /// one process on SQLite has nobody to share it with).
    pub(super) async fn keep_for_replicas(
        &self,
        entry: &CatalogEntry,
        sha256: &str,
        bytes: &[u8],
    ) -> Result<(), InstallError> {
        let db = self.runtime().db();
        if !db.is_shared() {
            return Ok(());
        }
        let text = serde_json::to_string(entry).unwrap_or_default();
        bundles::keep(db.conn(), sha256, &entry.slug, &entry.version, &text, bytes)
            .await
            .map_err(InstallError::Shared)
    }

    /// Brings this replica to the bundle `record` names: fetched from the
    /// database, verified as an install verifies, swapped in (or installed)
    /// here without recording anything. `Ok(false)` when the record moved
    /// on meanwhile (the next pass takes the new one).
    pub async fn adopt(&self, record: &PluginRecord) -> Result<bool, InstallError> {
        let Some(sha256) = record.bundle_sha256.clone() else {
            return Ok(false);
        };
        let db = self.runtime().db();
        let stored = bundles::fetch(db.conn(), &sha256)
            .await
            .map_err(InstallError::Shared)?
            .ok_or_else(|| {
                InstallError::Incompatible(format!(
                    "the bundle {sha256} of {} is not kept in the database",
                    record.slug
                ))
            })?;
        let entry: CatalogEntry = serde_json::from_str(&stored.entry).map_err(|e| {
            InstallError::Incompatible(format!("the kept catalog entry of {}: {e}", record.slug))
        })?;
        if entry.slug != record.slug.as_str() || !entry.sha256.eq_ignore_ascii_case(&sha256) {
            return Err(InstallError::Incompatible(format!(
                "the bundle {sha256} kept for {} is listed as {} {}",
                record.slug, entry.slug, entry.sha256
            )));
        }
        // The platform and the host and plugin-api ranges, as an install
        // checks them (a replica not upgraded yet refuses a bundle that
        // needs the new host).
        super::install::check_requirements(&entry)?;
        let keys = self
            .sources()
            .keys()
            .await
            .map_err(InstallError::Shared)?
            .into_iter()
            .map(|k| PublicKey {
                key_id: k.key_id,
                public_key: k.public_key,
            })
            .collect();
        // A signed bundle is verified against today's trusted keys; an
        // unsigned one was accepted by its source's policy when installed.
        let trust = TrustPolicy {
            keys,
            allow_unsigned: entry.signature.is_none(),
            asks: None,
        };
        let quiet: Progress = Arc::new(|_, _, _| {});
        let this = self.clone();
        let staged = tokio::task::spawn_blocking(move || {
            this.stage_verified(&stored.content, &entry, &trust, &quiet)
        })
        .await
        .map_err(InstallError::StagingTask)??;
        let runtime = self.runtime();
        let ops = runtime.lock_ops().await;
        runtime
            .as_follower(runtime.adopt_staged(&ops, &staged.dir, &sha256))
            .await
            .map_err(|e: RuntimeError| e.into())
    }
}
