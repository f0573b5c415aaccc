//! The runtime: the value that owns the database, the loaded plugins, the
//! hook table and the route table, and runs every lifecycle operation.
//!
//! ```text
//! start ─▶ open DB + migrate ─▶ load built-ins + discover dynamic plugins
//!       ─▶ on_load each ─▶ re-enable those persisted Active ─▶ system.startup
//! ```

mod calls;
mod configure;
mod dependencies;
mod discovery;
mod dispatch;
mod follow;
mod ops;
mod paths;
mod quarantine;
mod uninstall;
mod upgrade;

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use arc_swap::ArcSwap;
use dashmap::DashMap;
use plugboard_plugin_api::BuiltinPlugin;
use serde::Serialize;

pub use configure::ConfigView;
pub use dependencies::dependency_order;
pub use dispatch::{HookFailure, HookOrder, HookPayload, OwnedRequest, Refusal};
pub(crate) use follow::is_following;
pub use follow::Followed;
pub use uninstall::{DataPolicy, Uninstalled};
pub(crate) use upgrade::unique;
pub use upgrade::{Draining, Swapped, DRAIN_TIMEOUT};

use crate::{
    db::{Db, DbError},
    events::EventBus,
    fault::FaultPolicy,
    hooks::HookCycle,
    lifecycle::{LifecycleError, LifecycleStore},
    registry::PluginEntry,
    routes::{RouteError, RouteTable},
    scheduler::Scheduler,
};

/// How to run the host.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Holds `plugins/`, the SQLite file and the admin token.
    pub data_dir: PathBuf,
    /// The database URL; `None` means `sqlite://<data_dir>/plugboard.db`.
    pub database_url: Option<String>,
    /// When a plugin's panics take it out of service.
    pub fault_policy: FaultPolicy,
    /// How much each plugin may keep with the `files` capability.
    pub files: crate::file_store::FileLimits,
    /// Safe mode: no dynamic plugin is loaded or enabled at start, and their
    /// recorded states are left as they are (for a host that a plugin keeps
    /// taking down; `plugboard serve --safe-mode`).
    pub safe_mode: bool,
    /// Call deadlines and capacities: host defaults and operator caps.
    pub limits: crate::exec::CallLimits,
    /// Past this many distinct library images of one plugin mapped by
    /// this process (each build loaded once; images are never unmapped),
    /// a warning is logged and the admin shows it.
    pub max_mapped_images: usize,
    /// This process among the replicas sharing a PostgreSQL database
    /// (names the job runs it records; see [`crate::cluster`]).
    pub replica: crate::shared_state::Replica,
    /// How often a replica compares what it runs with the database's
    /// truth, besides on every notification (PostgreSQL only).
    pub reconcile_every: std::time::Duration,
    /// Checks bundle libraries in a child process (by default this
    /// process's executable: see [`crate::inspect`]).
    pub inspector: crate::inspect::Inspector,
    /// A clock for jobs that only the caller moves, starting at this time
    /// (`Scheduler::advance_to`; test hosts). `None`: the wall clock.
    pub manual_clock: Option<chrono::DateTime<chrono::Utc>>,
    /// The `assets/` folder of a built-in plugin by slug, from which its
    /// UI modules are checked and served (test hosts: the plugin's crate).
    pub builtin_assets: std::collections::BTreeMap<String, PathBuf>,
    /// Where every event emitted on the bus is copied (test hosts).
    pub event_tap: Option<crate::events::Tap>,
    /// Test builds only: plugin SQL skips the namespace rewriter, so a
    /// test can prove that the database itself confines it.
    #[cfg(feature = "test-sql-bypass")]
    pub sql_rewriter_bypassed: bool,
}

impl RuntimeConfig {
    /// Defaults for `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            fault_policy: FaultPolicy::default(),
            files: Default::default(),
            safe_mode: false,
            limits: Default::default(),
            max_mapped_images: 8,
            replica: crate::shared_state::Replica::from_host(),
            reconcile_every: std::time::Duration::from_secs(2),
            inspector: Default::default(),
            manual_clock: None,
            event_tap: None,
            builtin_assets: Default::default(),
            #[cfg(feature = "test-sql-bypass")]
            sql_rewriter_bypassed: false,
        }
    }
}

/// A plugin that could not be loaded, with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct LoadProblem {
    /// The plugin's slug, when its manifest could be read.
    pub slug: Option<String>,
    /// Its folder (dynamic plugins).
    pub path: Option<PathBuf>,
    /// What went wrong.
    pub error: String,
}

/// Errors of runtime operations.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The lifecycle store refused or failed.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The plugin is known but its code is not loaded.
    #[error("plugin {slug:?} is not loaded: {reason}")]
    NotLoaded {
        /// The plugin.
        slug: String,
        /// Why.
        reason: String,
    },
    /// Enabling would make a hook's order impossible.
    #[error("cannot enable plugin {slug:?}: {cycle}")]
    HookCycle {
        /// The plugin.
        slug: String,
        /// The cycle.
        cycle: HookCycle,
    },
    /// The plugin's own code failed; it is now `Errored`.
    #[error("plugin {slug:?} failed in {phase}: {message}")]
    PluginFailed {
        /// The plugin.
        slug: String,
        /// `on_load`, `on_enable`, …
        phase: &'static str,
        /// Its error.
        message: String,
    },
    /// Active plugins depend on this one (ask to cascade).
    #[error("plugin {slug:?} is needed by the active plugin(s) {}; disable them first or cascade", dependents.join(", "))]
    HasDependents {
        /// The plugin.
        slug: String,
        /// The active plugins that need it, dependents first.
        dependents: Vec<String>,
    },
    /// A dependency is not active at a matching version.
    #[error("cannot enable plugin {slug:?}: {message}")]
    DependencyInactive {
        /// The plugin.
        slug: String,
        /// Which dependency, and why.
        message: String,
    },
    /// There is no previous version to roll back to.
    #[error("plugin {slug:?} has no previous version to roll back to")]
    NoPrevious {
        /// The plugin.
        slug: String,
    },
    /// A new version could not replace the running one; the running one is
    /// unchanged and still serving.
    #[error("plugin {slug:?} was not updated: {phase}: {message}")]
    UpgradeFailed {
        /// The plugin.
        slug: String,
        /// The step that failed (`load`, `on_load`, `migrations`, `on_upgrade`, …).
        phase: &'static str,
        /// Why.
        message: String,
    },
    /// The plugin declared bad routes; it is now `Errored`.
    #[error("plugin {slug:?} declared bad routes: {error}")]
    Routes {
        /// The plugin.
        slug: String,
        /// The problem.
        error: RouteError,
    },
    /// A configuration does not satisfy the plugin's schema.
    #[error("invalid configuration for plugin {slug:?}: {}", violations.iter().map(|v| format!("{}: {}", if v.path.is_empty() { "/" } else { &v.path }, v.message)).collect::<Vec<_>>().join("; "))]
    InvalidConfig {
        /// The plugin.
        slug: String,
        /// Every violation.
        violations: Vec<crate::config::Violation>,
    },
    /// Built-in plugins are part of the binary: disable them instead.
    #[error("plugin {slug:?} is built in and cannot be uninstalled (disable it instead)")]
    BuiltIn {
        /// The plugin.
        slug: String,
    },
    /// The database could not be opened.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The SQLite database is held by another process.
    #[error(transparent)]
    DatabaseLocked(#[from] crate::private_files::DatabaseLockError),
    /// The data folder could not be prepared.
    #[error("data folder {path}: {source}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

struct Inner {
    config: RuntimeConfig,
    db: Db,
    store: LifecycleStore,
    plugins: DashMap<String, Arc<PluginEntry>>,
    problems: Mutex<Vec<LoadProblem>>,
    hooks: ArcSwap<dispatch::HookTable>,
    routes: RouteTable<Arc<PluginEntry>>,
    bus: Arc<EventBus>,
    scheduler: Scheduler,
    http: Arc<crate::outbound::Client>,
    draining: Mutex<Vec<Draining>>,
    ui: crate::ui::UiRegistry,
    grants: crate::access::Grants,
    changes: tokio::sync::broadcast::Sender<String>,
    /// `true` once the server is stopping: live streams end.
    stopping: tokio::sync::watch::Sender<bool>,
    /// Serialises lifecycle operations within this process; across replicas
    /// the store's compare-and-swap decides.
    ops: tokio::sync::Mutex<()>,
    /// Runs every call into a plugin.
    exec: crate::exec::Executor,
    /// What the previous process had in flight when it died.
    crashed: Vec<crate::exec::InFlight>,
    /// This process among the replicas.
    replica: Arc<crate::shared_state::Replica>,
    /// Each plugin's configuration as this replica last applied it (JSON
    /// text), to tell a change made on another replica.
    configs_seen: DashMap<String, String>,
    /// Whether `configs_seen` was filled once (after that, a configuration
    /// never seen is a new one).
    configs_primed: std::sync::atomic::AtomicBool,
    /// SQLite: the lock that keeps a second process off the database.
    /// Held from the start until [`Runtime::shutdown`] (not until the last
    /// handle goes: a task finishing late must not keep a restart in the
    /// same process out).
    sqlite_lock: Mutex<Option<std::fs::File>>,
}

/// The Plugboard host runtime. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

/// Proof that the lifecycle lock is held ([`Runtime::lock_ops`]): the
/// steps of enable, disable, uninstall, upgrade and install take one, so
/// the compiler checks that nobody runs them unlocked.
pub(crate) struct OpsGuard<'a> {
    _held: tokio::sync::MutexGuard<'a, ()>,
}

/// A handle that does not keep the runtime alive ([`Runtime::downgrade`]).
#[derive(Clone)]
pub struct WeakRuntime(std::sync::Weak<Inner>);

impl WeakRuntime {
    /// The runtime, unless it was dropped.
    pub fn upgrade(&self) -> Option<Runtime> {
        self.0.upgrade().map(|inner| Runtime { inner })
    }
}

/// The data folder and the SQLite file (wherever it is), owner-only: see
/// [`crate::private_files`].
fn secure_files(data_dir: &std::path::Path, url: &str) -> Result<(), RuntimeError> {
    use crate::private_files::{
        create_private_file, secure_data_dir, secure_path, sqlite_file, PrivateFileError,
    };
    let fail = |e: PrivateFileError| RuntimeError::DataDir {
        path: e.path,
        source: e.source,
    };
    let mut changed = secure_data_dir(data_dir).map_err(fail)?;
    if let Some(file) = sqlite_file(url) {
        create_private_file(&file).map_err(fail)?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = file.clone().into_os_string();
            name.push(suffix);
            changed.extend(secure_path(std::path::Path::new(&name)).map_err(fail)?);
        }
    }
    for path in changed {
        // Files at the top (the database, the token) hold secrets: say so.
        // Plugin files and folders made since the last start: quietly.
        if path.parent() == Some(data_dir) && path.is_file() {
            tracing::warn!(path = %path.display(), "was readable by others; now owner-only");
        } else {
            tracing::debug!(path = %path.display(), "was readable by others; now owner-only");
        }
    }
    Ok(())
}

impl Runtime {
    /// Opens the database, loads every plugin and brings the persisted state
    /// back (active plugins are enabled again), then fires `system.startup`.
    pub async fn start(
        config: RuntimeConfig,
        builtins: &[BuiltinPlugin],
    ) -> Result<Runtime, RuntimeError> {
        let began = std::time::Instant::now();
        let data_dir = config.data_dir.clone();
        let url = config
            .database_url
            .clone()
            .unwrap_or_else(|| crate::db::sqlite_url(&data_dir.join("plugboard.db")));
        secure_files(&data_dir, &url)?;
        let sqlite_lock = crate::private_files::sqlite_file(&url)
            .map(|file| crate::private_files::lock_database(&file))
            .transpose()?;
        crate::private_files::create_private_dir(&config.plugins_dir()).map_err(|e| {
            RuntimeError::DataDir {
                path: e.path,
                source: e.source,
            }
        })?;
        let (journal, crashed) =
            crate::exec::Journal::open(&config.data_dir).map_err(|e| RuntimeError::DataDir {
                path: config.data_dir.clone(),
                source: std::io::Error::other(e),
            })?;
        let exec = crate::exec::Executor::new(Some(Arc::new(journal)));
        let db = Db::open(&url, &config.plugin_sql_dir()).await?;
        #[cfg(feature = "test-sql-bypass")]
        if config.sql_rewriter_bypassed {
            db.bypass_sql_rewriter_for_tests();
        }
        let bus = Arc::new(
            EventBus::new(config.fault_policy, exec.clone(), config.event_tap.clone()).map_err(
                |source| RuntimeError::DataDir {
                    path: data_dir.clone(),
                    source,
                },
            )?,
        );
        let scheduler = Scheduler::start(
            db.clone(),
            config.fault_policy,
            exec.clone(),
            config.replica.clone(),
            db.is_shared(),
            config.manual_clock,
        )
        .await
        .map_err(|source| RuntimeError::DataDir {
            path: data_dir.clone(),
            source,
        })?;
        let grants = crate::access::Grants::load(db.conn().clone())
            .await
            .map_err(crate::lifecycle::LifecycleError::from)?;
        let replica = Arc::new(config.replica.clone());
        let runtime = Runtime {
            inner: Arc::new(Inner {
                bus,
                scheduler,
                http: Arc::default(),
                draining: Mutex::new(Vec::new()),
                ui: Default::default(),
                grants,
                changes: tokio::sync::broadcast::channel(256).0,
                stopping: tokio::sync::watch::channel(false).0,
                store: LifecycleStore::new(db.conn().clone()),
                db,
                config,
                plugins: DashMap::new(),
                problems: Mutex::new(Vec::new()),
                hooks: ArcSwap::from_pointee(dispatch::HookTable::default()),
                routes: RouteTable::default(),
                ops: tokio::sync::Mutex::new(()),
                exec,
                crashed,
                configs_seen: DashMap::new(),
                configs_primed: Default::default(),
                replica,
                sqlite_lock: Mutex::new(sqlite_lock),
            }),
        };
        for part in [
            runtime.inner.bus.tripper(),
            runtime.inner.scheduler.tripper(),
        ] {
            let weak = Arc::downgrade(&runtime.inner);
            let _ = part.set(Box::new(move |entry, reason| {
                if let Some(inner) = weak.upgrade() {
                    Runtime { inner }.trip(entry, reason);
                }
            }));
        }
        runtime.repair_folders();
        runtime.quarantine().await?;
        runtime.load_all(builtins).await?;
        runtime.restore_states().await?;
        let entries = runtime.entries();
        tracing::info!(
            plugins = entries.len(),
            active = entries.iter().filter(|e| e.is_live()).count(),
            ms = began.elapsed().as_millis() as u64,
            "plugins loaded and brought back"
        );
        runtime.notify(HookPayload::SystemStartup).await;
        let started = plugboard_plugin_api::platform::SystemStarted::default();
        runtime.emit(
            "system.startup",
            &serde_json::to_value(started).unwrap_or_default(),
        );
        Ok(runtime)
    }

    /// Fires `system.shutdown`, then disables (without persisting: active
    /// plugins come back on the next start) and unloads every plugin.
    pub async fn shutdown(&self) {
        // Nothing follows the database any more (it would bring back what
        // the shutdown takes down).
        self.inner.stopping.send_replace(true);
        self.notify(HookPayload::SystemShutdown).await;
        let stopping = plugboard_plugin_api::platform::SystemStopping::default();
        let payload = serde_json::to_value(stopping).unwrap_or_default();
        for (plugin, error) in self.emit_sync("system.shutdown", &payload) {
            tracing::warn!(plugin = %plugin, "system.shutdown handler failed: {error}");
        }
        let _ops = self.lock_ops().await;
        for entry in self.entries() {
            if entry.is_live() {
                self.take_offline(&entry);
                let _ = self
                    .run_phase(&entry, plugboard_plugin_api::Phase::Disable)
                    .await;
            }
            if entry.is_loaded() {
                let _ = self
                    .run_phase(&entry, plugboard_plugin_api::Phase::Unload)
                    .await;
                entry.set_loaded(false);
            }
        }
        // Nothing scheduled outlives the shutdown.
        self.inner.scheduler.stop();
        // A normal end: nothing in flight is a crash.
        self.inner.exec.retire_journal();
        // Done with the database: another start may take it.
        drop(
            self.inner
                .sqlite_lock
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }

    /// A handle for background tasks that must not keep the runtime alive.
    pub fn downgrade(&self) -> WeakRuntime {
        WeakRuntime(Arc::downgrade(&self.inner))
    }
    /// The configuration.
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }
    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }
    /// The lifecycle store.
    pub fn store(&self) -> &LifecycleStore {
        &self.inner.store
    }
    /// The live route table.
    pub fn routes(&self) -> &RouteTable<Arc<PluginEntry>> {
        &self.inner.routes
    }
    /// The plugin permissions granted to roles.
    pub fn grants(&self) -> &crate::access::Grants {
        &self.inner.grants
    }
    /// The UI registry.
    pub fn ui(&self) -> &crate::ui::UiRegistry {
        &self.inner.ui
    }
    /// State changes (JSON text) as they happen, for live views.
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.inner.changes.subscribe()
    }
    /// Per capability, whether `capabilities` grant it and what `slug`
    /// holds or serves with it (see [`crate::capability`]).
    pub async fn capability_usage(
        &self,
        slug: &str,
        capabilities: &crate::capabilities::Capabilities,
    ) -> Result<serde_json::Map<String, serde_json::Value>, sea_orm::DbErr> {
        crate::capability::describe_all(&self.capability_host(), slug, capabilities).await
    }
    /// Ends the live streams ([`Runtime::changes`] consumers that watch
    /// [`Runtime::stopping`]), so a graceful HTTP stop need not wait for
    /// open browser tabs. Call it before stopping the server.
    pub fn stop_streams(&self) {
        self.inner.stopping.send_replace(true);
    }
    /// Becomes `true` when [`Runtime::stop_streams`] is called.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }
    /// Tells the live feed (and, through [`crate::cluster`], the other
    /// replicas) that `slug` changed. A change made while following the
    /// database is marked `followed`: the replica that made it has told
    /// the others already.
    pub(crate) fn announce(&self, kind: &str, slug: &str) {
        let mut change = serde_json::json!({ "kind": kind, "slug": slug });
        if is_following() {
            change["followed"] = true.into();
        }
        let _ = self.inner.changes.send(change.to_string());
    }

    /// Puts a change another replica announced (`note`, JSON) on this
    /// replica's live feed.
    pub(crate) fn relay(&self, mut note: serde_json::Value) {
        note["followed"] = true.into();
        let _ = self.inner.changes.send(note.to_string());
    }
    /// This process among the replicas.
    pub fn replica(&self) -> &crate::shared_state::Replica {
        &self.inner.replica
    }
    /// The event bus.
    pub fn events(&self) -> &EventBus {
        &self.inner.bus
    }
    /// Emits an event from the host or app code (any name) with a JSON
    /// payload, to every subscribed plugin, without waiting.
    pub fn emit(&self, name: &str, payload: &serde_json::Value) {
        self.inner.bus.emit(name, &payload.to_string());
    }
    /// Emits and waits for every subscriber; their failures as (plugin, error).
    pub fn emit_sync(&self, name: &str, payload: &serde_json::Value) -> Vec<(String, String)> {
        self.inner.bus.emit_sync(name, &payload.to_string())
    }

    /// Takes the lifecycle lock: serialises lifecycle operations within
    /// this process (across replicas the store's compare-and-swap decides).
    /// Every step that must run under it takes the guard as an argument.
    pub(crate) async fn lock_ops(&self) -> OpsGuard<'_> {
        OpsGuard {
            _held: self.inner.ops.lock().await,
        }
    }

    /// The host services for the plugin `manifest` describes.
    pub(crate) fn scope_for(
        &self,
        manifest: &Arc<crate::manifest::Manifest>,
    ) -> crate::scope::PluginScope {
        crate::scope::PluginScope::new(
            manifest,
            self.db().clone(),
            Arc::downgrade(&self.inner.bus) as std::sync::Weak<dyn crate::scope::Emitter>,
            Arc::clone(&self.inner.http),
            self.config().files,
            Arc::clone(&self.inner.replica),
        )
    }

    /// What the capabilities work with (see [`crate::capability::Host`]).
    pub(crate) fn capability_host(&self) -> crate::capability::Host<'_> {
        crate::capability::Host {
            db: &self.inner.db,
            events: &self.inner.bus,
            routes: &self.inner.routes,
            scheduler: &self.inner.scheduler,
            ui: &self.inner.ui,
            files: self.inner.config.files,
        }
    }
    /// The cron scheduler.
    pub fn scheduler(&self) -> &Scheduler {
        &self.inner.scheduler
    }
    /// The fault policy.
    pub fn fault_policy(&self) -> FaultPolicy {
        self.inner.config.fault_policy
    }
    /// A loaded plugin.
    pub fn plugin(&self, slug: &str) -> Option<Arc<PluginEntry>> {
        self.inner.plugins.get(slug).map(|e| Arc::clone(&e))
    }
    /// Every loaded plugin, by slug.
    pub fn entries(&self) -> Vec<Arc<PluginEntry>> {
        let mut v: Vec<_> = self.inner.plugins.iter().map(|e| Arc::clone(&e)).collect();
        v.sort_by(|a, b| a.slug().cmp(b.slug()));
        v
    }
    /// Plugins that could not be loaded.
    pub fn problems(&self) -> Vec<LoadProblem> {
        self.inner
            .problems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    fn add_problem(&self, problem: LoadProblem) {
        tracing::error!(slug = ?problem.slug, path = ?problem.path, "plugin not loaded: {}", problem.error);
        self.inner
            .problems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(problem);
    }
}
