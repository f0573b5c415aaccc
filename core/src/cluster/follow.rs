//! The follower loop: on every notification, after a reconnect, and every
//! `reconcile_every` otherwise, bring this replica in line with the
//! database: first the bundles it does not run, then states, configs and
//! grants ([`crate::runtime::Runtime::follow_database`]).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use super::Wakers;
use crate::{marketplace::Marketplace, runtime::WeakRuntime};

pub(super) async fn run(runtime: WeakRuntime, marketplace: Marketplace, wakers: Arc<Wakers>) {
    // A bundle that could not be adopted is tried again after `RETRY`, and
    // its failure logged once per (plugin, digest).
    let mut failed: HashMap<String, (String, Instant)> = HashMap::new();
    loop {
        let Some(rt) = runtime.upgrade() else { return };
        if *rt.stopping().borrow() {
            return;
        }
        let every = rt.config().reconcile_every;
        // States first: a slow adoption of one plugin never holds up a
        // disable of another.
        follow(&rt).await;
        let mut adopted = false;
        match rt.bundles_to_adopt().await {
            Ok(records) => {
                for record in records {
                    let sha = record.bundle_sha256.clone().unwrap_or_default();
                    if failed
                        .get(&record.slug)
                        .is_some_and(|(s, at)| *s == sha && at.elapsed() < RETRY)
                    {
                        continue;
                    }
                    match marketplace.adopt(&record).await {
                        Ok(true) => {
                            tracing::info!(plugin = %record.slug, version = %record.version, "cluster: now runs the recorded bundle");
                            failed.remove(&record.slug);
                            adopted = true;
                        }
                        Ok(false) => {}
                        Err(e) => {
                            let again =
                                failed.insert(record.slug.clone(), (sha.clone(), Instant::now()));
                            if again.is_none_or(|(s, _)| s != sha) {
                                tracing::error!(plugin = %record.slug, sha256 = %sha, "cluster: cannot run the recorded bundle here (tried again every {} s): {e}", RETRY.as_secs());
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("cluster: cannot read the plugins' records: {e}"),
        }
        if adopted {
            follow(&rt).await;
        }
        drop(rt);
        tokio::select! {
            _ = wakers.follow.notified() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}

const RETRY: Duration = Duration::from_secs(30);

async fn follow(rt: &crate::runtime::Runtime) {
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
}
