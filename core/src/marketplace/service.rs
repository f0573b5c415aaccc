//! The marketplace as a service of its own: catalog sources and trusted
//! keys, installs and their jobs, and the update queue, over a handle to
//! the runtime. The dependency points one way: the marketplace calls the
//! runtime (load, enable, hot reload); the runtime knows nothing of it.
//!
//! ```no_run
//! # async fn demo(runtime: plugboard_core::Runtime) -> Result<(), sea_orm::DbErr> {
//! use plugboard_core::marketplace::Marketplace;
//! let market = Marketplace::new(runtime);
//! let sources = market.sources().sync(true).await?;
//! market.detect_updates(&sources).await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use super::{jobs::InstallJobs, sources::Sources};
use crate::runtime::Runtime;

/// Catalog sources, installs, install jobs and updates. Cheap to clone.
#[derive(Clone)]
pub struct Marketplace {
    runtime: Runtime,
    sources: Sources,
    jobs: Arc<InstallJobs>,
}

impl Marketplace {
    /// The marketplace of `runtime` (sources and keys are read from its
    /// database).
    pub fn new(runtime: Runtime) -> Self {
        Marketplace {
            sources: Sources::new(runtime.db().conn().clone()),
            jobs: Arc::new(if runtime.db().is_shared() {
                InstallJobs::shared(runtime.db(), &runtime.replica().name)
            } else {
                InstallJobs::default()
            }),
            runtime,
        }
    }
    /// The runtime it installs into.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
    /// Catalog sources and trusted keys.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }
    /// Install jobs started over the API.
    pub fn jobs(&self) -> &InstallJobs {
        &self.jobs
    }
}
