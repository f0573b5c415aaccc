//! A loaded plugin and the guarded way to call it.

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Instant,
};

use quanta::Clock;

use plugboard_plugin_api::{
    host::context_for, Context, ErrorKind, Hook, HookSpec, PluginError, PluginObject,
};
use serde::Serialize;

use crate::{
    capabilities::Capabilities,
    exec::{CallLimits, CallPoint, ExecError, Lane, PointKind},
    fault::{FaultPolicy, PanicWindow},
    manifest::Manifest,
    metrics::{Metrics, Outcome},
    scope::PluginScope,
};

/// Where a plugin comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    /// Compiled into the binary.
    Builtin,
    /// Loaded from a library in the plugins folder.
    Dynamic,
}

impl PluginKind {
    /// `builtin` or `dynamic`.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Builtin => "builtin",
            PluginKind::Dynamic => "dynamic",
        }
    }
}

/// Why a call into a plugin did not return a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The plugin is not enabled, or was taken out of service.
    #[error("plugin {0:?} is not active")]
    Unavailable(String),
    /// The plugin returned an error or panicked.
    #[error("plugin {slug:?}: {error}")]
    Plugin {
        /// The plugin.
        slug: String,
        /// What it returned.
        error: PluginError,
        /// Whether this call tripped the fault policy.
        tripped: bool,
    },
    /// The call was refused (the plugin's capacity is in use) or not
    /// waited for past its deadline.
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// What the runtime does when a plugin trips the fault policy during a
/// call made outside it (event delivery, cron jobs).
pub(crate) type Tripper = Box<dyn Fn(&Arc<PluginEntry>, String) + Send + Sync>;

/// A plugin's deadlines, from its manifest within the operator's caps.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// Routes, hooks, filters, events.
    pub call: std::time::Duration,
    /// Cron jobs.
    pub job: std::time::Duration,
    /// Lifecycle calls.
    pub lifecycle: std::time::Duration,
    /// The operator's cap on any deadline.
    pub max: std::time::Duration,
}

impl Deadlines {
    /// A deadline a manifest gives one entry point (a route, a filter), in
    /// milliseconds, within the operator's cap; else the plugin's.
    pub fn own(&self, asked_ms: Option<u64>) -> std::time::Duration {
        asked_ms.map_or(self.call, |ms| {
            std::time::Duration::from_millis(ms)
                .clamp(std::time::Duration::from_millis(1), self.max)
        })
    }
}

/// A loaded plugin: its instance, its scope and its health.
pub struct PluginEntry {
    slug: String,
    generation: u64,
    kind: PluginKind,
    source: Option<PathBuf>,
    /// Where its UI modules are: `<source>/assets`, or a built-in's folder
    /// from `RuntimeConfig::builtin_assets`.
    assets: Option<PathBuf>,
    api_version: String,
    manifest: Arc<Manifest>,
    object: Box<dyn PluginObject>,
    scope: PluginScope,
    metrics: Metrics,
    panics: PanicWindow,
    /// When the fault policy last took it out of service here (until it
    /// is enabled again).
    tripped_at: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    live: AtomicBool,
    loaded: AtomicBool,
    hooks: Mutex<Vec<(Hook, HookSpec)>>,
    lane: Arc<Lane>,
    deadlines: Deadlines,
    points: Mutex<Vec<Arc<CallPoint>>>,
    /// Cycle-counter clock (falls back to the OS clock where the TSC is unusable).
    clock: Clock,
}

impl PluginEntry {
    pub(crate) fn new(
        kind: PluginKind,
        source: Option<PathBuf>,
        api_version: String,
        manifest: Arc<Manifest>,
        object: Box<dyn PluginObject>,
        scope: PluginScope,
        limits: &CallLimits,
    ) -> Self {
        static GENERATIONS: AtomicU64 = AtomicU64::new(1);
        let scope = scope.for_api(&api_version);
        let own = &manifest.limits;
        let deadlines = Deadlines {
            call: limits.deadline_or(own.deadline_ms, limits.deadline),
            job: limits.deadline_or(own.job_deadline_ms, limits.job_deadline),
            lifecycle: limits.deadline_or(None, limits.lifecycle_deadline),
            max: limits.max_deadline,
        };
        let lane = Arc::new(Lane::new(limits.capacity_or(own.capacity)));
        Self {
            slug: object.slug().to_string(),
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
            kind,
            assets: source.as_ref().map(|s| s.join("assets")),
            source,
            api_version,
            manifest,
            object,
            scope,
            metrics: Metrics::default(),
            panics: PanicWindow::default(),
            tripped_at: Mutex::new(None),
            live: AtomicBool::new(false),
            loaded: AtomicBool::new(false),
            hooks: Mutex::new(Vec::new()),
            lane,
            deadlines,
            points: Mutex::new(Vec::new()),
            clock: Clock::new(),
        }
    }

    /// Its capacity and the calls running now.
    pub fn lane(&self) -> &Arc<Lane> {
        &self.lane
    }
    /// Its deadlines.
    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }
    /// The entry point `name` of `kind` (made on first use), with
    /// `deadline`.
    pub fn point(
        &self,
        kind: PointKind,
        name: &str,
        deadline: std::time::Duration,
    ) -> Arc<CallPoint> {
        let mut points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = points
            .iter()
            .find(|p| p.kind() == kind && p.name() == name && p.deadline() == deadline)
        {
            return Arc::clone(p);
        }
        let p = Arc::new(CallPoint::new(&self.slug, kind, name, deadline));
        points.push(Arc::clone(&p));
        p
    }
    /// The entry point of lifecycle call `name` (`on_enable`, …).
    pub fn lifecycle_point(&self, name: &str) -> Arc<CallPoint> {
        self.point(PointKind::Lifecycle, name, self.deadlines.lifecycle)
    }
    /// Every entry point called so far, in the order first used.
    pub fn points(&self) -> Vec<Arc<CallPoint>> {
        self.points
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    /// Counts a call that was still running at its deadline toward the
    /// fault policy; `true` when the policy trips.
    pub(crate) fn record_stuck(&self, policy: FaultPolicy) -> bool {
        self.panics.record(policy, Instant::now())
    }

    /// The slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }
    /// Which loaded instance this is: every load (start, install, update,
    /// rollback) gets a new, larger number.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// The version the code reports.
    pub fn version(&self) -> &str {
        self.object.version()
    }
    /// Built-in or dynamic.
    pub fn kind(&self) -> PluginKind {
        self.kind
    }
    /// The plugin's folder (dynamic plugins).
    pub fn source(&self) -> Option<&PathBuf> {
        self.source.as_ref()
    }
    /// The folder its UI modules are served from (`assets/`), if any.
    pub fn assets_dir(&self) -> Option<&std::path::Path> {
        self.assets.as_deref()
    }
    /// Serves its UI modules from `dir` (a built-in's, which has no folder).
    pub(crate) fn with_assets(mut self, dir: PathBuf) -> Self {
        self.assets = Some(dir);
        self
    }
    /// The plugin-api version it was built against.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }
    /// Its manifest (for a built-in, the one compiled in).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// What its manifest grants.
    pub fn capabilities(&self) -> &Capabilities {
        &self.manifest.capabilities
    }
    /// Its call metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    /// The instance (for calls that need no guard, like `routes()`).
    pub(crate) fn object(&self) -> &dyn PluginObject {
        &*self.object
    }
    /// Whether routes and hooks are live.
    #[inline]
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }
    pub(crate) fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release)
    }
    pub(crate) fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }
    pub(crate) fn set_loaded(&self, loaded: bool) {
        self.loaded.store(loaded, Ordering::Release)
    }
    pub(crate) fn clear_panics(&self) {
        self.panics.clear();
        *self.tripped_at.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
    /// Notes that the fault policy took it out of service now.
    pub(crate) fn set_tripped(&self) {
        *self.tripped_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(chrono::Utc::now());
    }
    /// When the fault policy took it out of service here, if it did since
    /// it was last enabled.
    pub(crate) fn tripped_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        *self.tripped_at.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// The hooks it declared when last enabled.
    pub fn declared_hooks(&self) -> Vec<(Hook, HookSpec)> {
        self.hooks.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub(crate) fn set_declared_hooks(&self, hooks: Vec<(Hook, HookSpec)>) {
        *self.hooks.lock().unwrap_or_else(|p| p.into_inner()) = hooks;
    }

    /// Calls into the plugin with its context: timed, counted, and checked
    /// against the fault policy. `require_live` refuses the call when the
    /// plugin is not enabled (hooks and routes); lifecycle calls pass `false`.
    #[inline]
    pub fn call<T>(
        &self,
        policy: FaultPolicy,
        require_live: bool,
        f: impl FnOnce(&dyn PluginObject, &Context<'_>) -> Result<T, PluginError>,
    ) -> Result<T, CallError> {
        self.call_at(None, policy, require_live, f)
    }

    /// Runs `f` with the plugin's own context (its KV, SQL, files, events
    /// and config, exactly as the plugin's code sees them) without calling
    /// the plugin: for tools and test hosts that look at what it stored.
    pub fn with_context<T>(&self, f: impl FnOnce(&Context<'_>) -> T) -> T {
        f(&context_for(&self.scope))
    }

    /// [`PluginEntry::call`], also counted in `point`'s metrics.
    #[inline]
    pub fn call_at<T>(
        &self,
        point: Option<&CallPoint>,
        policy: FaultPolicy,
        require_live: bool,
        f: impl FnOnce(&dyn PluginObject, &Context<'_>) -> Result<T, PluginError>,
    ) -> Result<T, CallError> {
        if require_live && !self.is_live() {
            return Err(CallError::Unavailable(self.slug.clone()));
        }
        let ctx = context_for(&self.scope);
        let start = self.clock.raw();
        let result = f(&*self.object, &ctx);
        let elapsed = self.clock.delta_as_nanos(start, self.clock.raw());
        match result {
            Ok(v) => {
                self.metrics.record(elapsed, Outcome::Ok);
                if let Some(p) = point {
                    p.metrics().record(elapsed, Outcome::Ok);
                }
                Ok(v)
            }
            Err(error) => {
                let panicked = error.kind() == ErrorKind::Panicked;
                let outcome = if panicked {
                    Outcome::Panic
                } else {
                    Outcome::Error
                };
                self.metrics.record(elapsed, outcome);
                if let Some(p) = point {
                    p.metrics().record(elapsed, outcome);
                }
                let tripped = panicked && self.panics.record(policy, Instant::now());
                if panicked {
                    tracing::error!(plugin = %self.slug, "plugin panicked: {error}");
                }
                Err(CallError::Plugin {
                    slug: self.slug.clone(),
                    error,
                    tripped,
                })
            }
        }
    }
}
