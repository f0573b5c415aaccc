//! The host's services over one runtime: what the HTTP server serves, each
//! as its own state.
//!
//! ```text
//!  http ──▶ Marketplace ──┐
//!       ──▶ Auth          │  (accounts, sessions, sign-in limiter)
//!       ──▶ MetricsHistory├──▶ Runtime (registry, lifecycle, dispatch)
//!       ──▶ Runtime ──────┘
//! ```
//!
//! Each service holds what it needs (a runtime handle, the database) and
//! the runtime holds none of them: dependencies point one way.

use std::sync::Arc;

use crate::{auth::Auth, marketplace::Marketplace, metrics::History, runtime::Runtime};

/// Every service of one host. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// The runtime: registry, lifecycle, dispatch.
    pub runtime: Runtime,
    /// Catalog sources, installs and updates.
    pub marketplace: Marketplace,
    /// Accounts, sessions and the sign-in limiter.
    pub accounts: Arc<Auth>,
    /// Each plugin's recent metrics.
    pub history: MetricsHistory,
}

impl Services {
    /// The services of `runtime`; starts sampling metrics in the background
    /// (every [`History::EVERY`], for as long as the runtime lives).
    pub fn new(runtime: Runtime) -> Services {
        Services {
            marketplace: Marketplace::new(runtime.clone()),
            accounts: Arc::new(Auth::new(runtime.db().conn().clone())),
            history: MetricsHistory::start(&runtime),
            runtime,
        }
    }
}

impl From<Runtime> for Services {
    fn from(runtime: Runtime) -> Services {
        Services::new(runtime)
    }
}

/// Each loaded plugin's recent metrics, sampled from the runtime.
#[derive(Clone)]
pub struct MetricsHistory {
    runtime: Runtime,
    history: Arc<History>,
}

impl MetricsHistory {
    /// Samples `runtime`'s plugins every [`History::EVERY`] until the
    /// runtime is dropped.
    fn start(runtime: &Runtime) -> MetricsHistory {
        let history = MetricsHistory {
            runtime: runtime.clone(),
            history: Arc::default(),
        };
        let (weak_runtime, weak_history) = (runtime.downgrade(), Arc::downgrade(&history.history));
        runtime.db().spawn(async move {
            let mut every = tokio::time::interval(History::EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                let (Some(runtime), Some(history)) =
                    (weak_runtime.upgrade(), weak_history.upgrade())
                else {
                    break;
                };
                MetricsHistory { runtime, history }.sample();
            }
        });
        history
    }

    /// Adds one sample to every loaded plugin's history and forgets the
    /// plugins no longer loaded (uninstalled).
    pub fn sample(&self) {
        let at = chrono::Utc::now();
        let entries = self.runtime.entries();
        for entry in &entries {
            self.history.sample(entry.slug(), entry.metrics(), at);
        }
        self.history
            .retain(|slug| entries.iter().any(|e| e.slug() == slug));
    }

    /// `slug`'s recent metrics, one sample per interval, oldest first.
    pub fn of(&self, slug: &str) -> Vec<crate::metrics::Sample> {
        if self.runtime.plugin(slug).is_none() {
            return Vec::new();
        }
        self.history.of(slug)
    }
}
