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
}

/// A loaded plugin: its instance, its scope and its health.
pub struct PluginEntry {
    slug: String,
    generation: u64,
    kind: PluginKind,
    source: Option<PathBuf>,
    api_version: String,
    manifest: Arc<Manifest>,
    object: Box<dyn PluginObject>,
    scope: PluginScope,
    metrics: Metrics,
    panics: PanicWindow,
    live: AtomicBool,
    loaded: AtomicBool,
    hooks: Mutex<Vec<(Hook, HookSpec)>>,
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
    ) -> Self {
        static GENERATIONS: AtomicU64 = AtomicU64::new(1);
        let scope = scope.for_api(&api_version);
        Self {
            slug: object.slug().to_string(),
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
            kind,
            source,
            api_version,
            manifest,
            object,
            scope,
            metrics: Metrics::default(),
            panics: PanicWindow::default(),
            live: AtomicBool::new(false),
            loaded: AtomicBool::new(false),
            hooks: Mutex::new(Vec::new()),
            clock: Clock::new(),
        }
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
        self.panics.clear()
    }
    /// The hooks it declared when last enabled.
    pub fn declared_hooks(&self) -> Vec<(Hook, HookSpec)> {
        self.hooks.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub(crate) fn set_declared_hooks(&self, hooks: Vec<(Hook, HookSpec)>) {
        *self.hooks.lock().unwrap_or_else(|p| p.into_inner()) = hooks;
    }

    /// Runs a lifecycle phase (no live check).
    pub(crate) fn run_phase(
        &self,
        policy: FaultPolicy,
        phase: plugboard_plugin_api::Phase,
    ) -> Result<(), CallError> {
        self.call(policy, false, |p, ctx| p.lifecycle(ctx, phase))
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
                Ok(v)
            }
            Err(error) => {
                let panicked = error.kind() == ErrorKind::Panicked;
                self.metrics.record(
                    elapsed,
                    if panicked {
                        Outcome::Panic
                    } else {
                        Outcome::Error
                    },
                );
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
