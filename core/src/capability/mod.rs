//! Host capabilities: one module per service a plugin can be granted, and
//! one trait they all implement, so the lifecycle is a loop over [`ALL`].
//!
//! ```text
//! enable:  prepare (each: read + check what the plugin declares; nothing changes)
//!          ─▶ before_enable (each, in order: sql applies migrations)
//!          ─▶ on_enable ─▶ Active ─▶ go_live (each; a failure takes every
//!             capability offline again and ends Errored with the cause)
//! disable: take_offline (each, reverse order) ─▶ on_disable
//! uninstall with data=remove: purge (each) ─▶ sql drops the plugin's tables
//! admin detail: describe (each)
//! ```
//!
//! A capability's name, its manifest key, its check against what the plugin
//! declares and its admin description live in its module. Adding one
//! (recipe in ARCHITECTURE.md): its module here and its entry in [`ALL`],
//! the `plugin-api` side (a sub-vtable appended to `HostVTable`, a
//! `Context` accessor), its field in the manifest's `Capabilities`, and its
//! host service in `scope.rs`.

mod config;
mod cron;
mod events;
pub mod files;
mod kv;
mod network;
pub mod purge;
mod routes;
mod sql;
mod ui;

use std::{any::Any, future::Future, path::Path, pin::Pin, sync::Arc};

use sea_orm::{DatabaseTransaction, DbErr};

use crate::{
    capabilities::Capabilities, db::Db, events::EventBus, file_store::FileLimits,
    registry::PluginEntry, routes::RouteTable, scheduler::Scheduler, ui::UiRegistry,
};

/// The parts of the host the capabilities work with (the runtime lends
/// them; capabilities never see the runtime itself, so the dependency
/// points one way).
pub(crate) struct Host<'a> {
    pub db: &'a Db,
    pub events: &'a EventBus,
    pub routes: &'a RouteTable<Arc<PluginEntry>>,
    pub scheduler: &'a Scheduler,
    pub ui: &'a UiRegistry,
    pub files: FileLimits,
}

/// A boxed future, as the trait's async steps return.
pub(crate) type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a capability read from a plugin at `prepare`, handed back at
/// `go_live` (each capability knows its own type).
pub(crate) type Staged = Box<dyn Any + Send + Sync>;

/// Why a step failed: the phase (`routes()`, `jobs`, …) and the cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{phase}: {message}")]
pub(crate) struct StepFailed {
    /// Where it failed.
    pub phase: &'static str,
    /// Why.
    pub message: String,
}

impl StepFailed {
    pub(crate) fn new(phase: &'static str, message: impl ToString) -> Self {
        Self {
            phase,
            message: message.to_string(),
        }
    }
}

/// The plugin a step is about, and where its files are (an update's staging
/// folder before it moves into place).
pub(crate) struct Subject<'a> {
    pub entry: &'a Arc<PluginEntry>,
    pub folder: Option<&'a Path>,
}

/// One host capability.
pub(crate) trait HostCapability: Sync {
    /// Its name: the manifest key and the word refusals use.
    fn name(&self) -> &'static str;
    /// Whether `capabilities` grant it (for the admin).
    fn granted(&self, capabilities: &Capabilities) -> bool;
    /// Reads and checks what the plugin declares for this capability
    /// against its manifest. Changes nothing.
    fn prepare(&self, _subject: &Subject<'_>) -> Result<Option<Staged>, StepFailed> {
        Ok(None)
    }
    /// Runs before `on_enable` (SQL applies the plugin's migrations).
    fn before_enable<'a>(
        &'a self,
        _host: &'a Host<'a>,
        _entry: &'a Arc<PluginEntry>,
        _staged: Option<&'a Staged>,
    ) -> Pending<'a, Result<(), StepFailed>> {
        Box::pin(async { Ok(()) })
    }
    /// Publishes what was prepared: it reaches the plugin from now on.
    fn go_live<'a>(
        &'a self,
        _host: &'a Host<'a>,
        _entry: &'a Arc<PluginEntry>,
        _staged: Option<Staged>,
    ) -> Pending<'a, Result<(), StepFailed>> {
        Box::pin(async { Ok(()) })
    }
    /// Withdraws what went live (no database access; may run on a request
    /// thread when the fault policy trips).
    fn take_offline(&self, _host: &Host<'_>, _slug: &str) {}
    /// Deletes the plugin's data of this capability (uninstall with
    /// `data=remove`); how many items, for the audit note.
    fn purge<'a>(
        &'a self,
        _conn: &'a sea_orm::DatabaseTransaction,
        _slug: &'a str,
    ) -> Pending<'a, Result<u64, DbErr>> {
        Box::pin(async { Ok(0) })
    }
    /// What the admin shows about the plugin's use of it (`None`: nothing).
    fn describe<'a>(
        &'a self,
        _host: &'a Host<'a>,
        _slug: &'a str,
        _capabilities: &'a Capabilities,
    ) -> Pending<'a, Result<Option<serde_json::Value>, DbErr>> {
        Box::pin(async { Ok(None) })
    }
}

/// Every capability, in enable order (disable runs it backwards).
pub(crate) const ALL: &[&dyn HostCapability] = &[
    &kv::Kv,
    &config::Config,
    &files::Files,
    &sql::Sql,
    &network::Network,
    &events::Events,
    &cron::Cron,
    &routes::Routes,
    &ui::Ui,
];

/// What every capability prepared for one plugin, in [`ALL`]'s order.
pub(crate) struct Prepared(Vec<Option<Staged>>);

/// Runs every capability's `prepare`.
pub(crate) fn prepare_all(subject: &Subject<'_>) -> Result<Prepared, StepFailed> {
    ALL.iter()
        .map(|c| c.prepare(subject))
        .collect::<Result<Vec<_>, _>>()
        .map(Prepared)
}

/// Runs every capability's `before_enable`, in order.
pub(crate) async fn before_enable_all(
    host: &Host<'_>,
    entry: &Arc<PluginEntry>,
    prepared: &Prepared,
) -> Result<(), StepFailed> {
    for (capability, staged) in ALL.iter().zip(&prepared.0) {
        capability
            .before_enable(host, entry, staged.as_ref())
            .await?;
    }
    Ok(())
}

/// Runs every capability's `go_live`; on the first failure, takes every
/// capability offline again and returns the failure.
pub(crate) async fn go_live_all(
    host: &Host<'_>,
    entry: &Arc<PluginEntry>,
    prepared: Prepared,
) -> Result<(), StepFailed> {
    for (capability, staged) in ALL.iter().zip(prepared.0) {
        if let Err(failure) = capability.go_live(host, entry, staged).await {
            take_offline_all(host, entry.slug());
            return Err(failure);
        }
    }
    Ok(())
}

/// Runs every capability's `take_offline`, in reverse order.
pub(crate) fn take_offline_all(host: &Host<'_>, slug: &str) {
    for capability in ALL.iter().rev() {
        capability.take_offline(host, slug);
    }
}

/// Runs every capability's `purge`; what each removed, by name.
pub(crate) async fn purge_all(
    conn: &DatabaseTransaction,
    slug: &str,
) -> Result<Vec<(&'static str, u64)>, DbErr> {
    let mut removed = Vec::new();
    for capability in ALL {
        removed.push((capability.name(), capability.purge(conn, slug).await?));
    }
    Ok(removed)
}

/// Every capability's admin description of `slug`, by name: whether it is
/// granted, and what it holds or serves.
pub(crate) async fn describe_all(
    host: &Host<'_>,
    slug: &str,
    capabilities: &Capabilities,
) -> Result<serde_json::Map<String, serde_json::Value>, DbErr> {
    let mut out = serde_json::Map::new();
    for capability in ALL {
        let mut item = serde_json::json!({ "granted": capability.granted(capabilities) });
        if let Some(detail) = capability.describe(host, slug, capabilities).await? {
            item["detail"] = detail;
        }
        out.insert(capability.name().to_string(), item);
    }
    Ok(out)
}

/// The refusal for a declaration the manifest does not grant.
pub(crate) fn denied(
    entry: &PluginEntry,
    capability: crate::capabilities::Capability,
) -> StepFailed {
    StepFailed::new(
        "capabilities",
        crate::capabilities::CapabilityDenied {
            slug: entry.slug().to_string(),
            capability,
        },
    )
}

/// Downcasts what `prepare` staged (a capability reading its own type).
pub(crate) fn staged<T: 'static>(staged: Option<Staged>) -> Option<T> {
    staged.and_then(|s| s.downcast::<T>().ok()).map(|b| *b)
}

/// Borrows what `prepare` staged.
pub(crate) fn staged_ref<T: 'static>(staged: Option<&Staged>) -> Option<&T> {
    staged.and_then(|s| s.downcast_ref::<T>())
}
