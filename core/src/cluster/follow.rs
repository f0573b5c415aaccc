//! The follower loop: on every notification, after a reconnect, and every
//! `reconcile_every` otherwise, bring this replica in line with the
//! database: first the bundles it does not run, then states, configs and
//! grants ([`crate::runtime::Runtime::follow_database`]).

use std::{collections::HashMap, sync::Arc};

use super::Wakers;
use crate::{marketplace::Marketplace, runtime::WeakRuntime};

pub(super) async fn run(runtime: WeakRuntime, marketplace: Marketplace, wakers: Arc<Wakers>) {
    // A failure to adopt a bundle is logged once per (plugin, digest), not
    // every pass.
    let mut reported: HashMap<String, String> = HashMap::new();
    loop {
        let Some(rt) = runtime.upgrade() else { return };
        if *rt.stopping().borrow() {
            return;
        }
        let every = rt.config().reconcile_every;
        match rt.bundles_to_adopt().await {
            Ok(records) => {
                for record in records {
                    let sha = record.bundle_sha256.clone().unwrap_or_default();
                    match marketplace.adopt(&record).await {
                        Ok(true) => {
                            tracing::info!(plugin = %record.slug, version = %record.version, "cluster: now runs the recorded bundle");
                            reported.remove(&record.slug);
                        }
                        Ok(false) => {}
                        Err(e) => {
                            if reported.get(&record.slug) != Some(&sha) {
                                tracing::error!(plugin = %record.slug, sha256 = %sha, "cluster: cannot run the recorded bundle here: {e}");
                                reported.insert(record.slug.clone(), sha);
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("cluster: cannot read the plugins' records: {e}"),
        }
        match rt.as_follower(rt.follow_database()).await {
            Ok(done) => {
                if !done.is_empty() {
                    tracing::info!(
                        enabled = ?done.enabled,
                        disabled = ?done.disabled,
                        removed = ?done.removed,
                        configured = ?done.configured,
                        "cluster: followed the database"
                    );
                }
                for problem in done.problems {
                    tracing::warn!("cluster: {problem}");
                }
            }
            Err(e) => tracing::warn!("cluster: cannot follow the database: {e}"),
        }
        drop(rt);
        tokio::select! {
            _ = wakers.follow.notified() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}
