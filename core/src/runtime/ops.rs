//! Lifecycle operations: enable, disable, reset, and failing a plugin.

use std::sync::Arc;

use plugboard_plugin_api::{Hook, HookCall, Phase, PluginEvent};

use super::{Runtime, RuntimeError};
use crate::{
    capabilities::Declared,
    lifecycle::{LifecycleError, PluginRecord, Transition},
    registry::PluginEntry,
    routes,
};

/// What a plugin declared, checked and ready to publish.
pub(super) struct Prepared {
    hooks: Vec<(Hook, plugboard_plugin_api::HookSpec)>,
    routes: Vec<routes::RouteEntry>,
    subscriptions: Vec<String>,
    jobs: Vec<(String, crate::scheduler::Schedule, String)>,
    pub(super) migrations: Vec<plugboard_plugin_api::abi::Migration>,
    ui: Vec<plugboard_frontend_manifest::Contribution>,
}

/// Why [`Runtime::prepare`] refused.
pub(super) enum Unprepared {
    /// Its hooks would make an order impossible (the plugin is not at fault
    /// alone; nothing changes).
    Cycle(crate::hooks::HookCycle),
    /// The plugin declared something invalid: (phase, message).
    Failed(&'static str, String),
}

impl Runtime {
    fn loaded_entry(
        &self,
        slug: &str,
        reason_if_missing: Option<String>,
    ) -> Result<Arc<PluginEntry>, RuntimeError> {
        self.plugin(slug).ok_or_else(|| RuntimeError::NotLoaded {
            slug: slug.to_string(),
            reason: reason_if_missing.unwrap_or_else(|| {
                "its library failed to load (see the plugin's last error)".into()
            }),
        })
    }

    /// Enables a plugin: `on_enable`, then its routes and hooks go live.
    pub async fn enable(&self, slug: &str, actor: &str) -> Result<PluginRecord, RuntimeError> {
        let _guard = self.inner.ops.lock().await;
        self.enable_installed(slug, actor).await
    }

    /// [`Runtime::enable`] with the ops lock already held.
    pub(crate) async fn enable_installed(
        &self,
        slug: &str,
        actor: &str,
    ) -> Result<PluginRecord, RuntimeError> {
        let record = self.store().get(slug).await?;
        if record.state.apply(Transition::Enable).is_none() {
            return Err(LifecycleError::InvalidTransition {
                slug: slug.to_string(),
                from: record.state,
                transition: Transition::Enable,
            }
            .into());
        }
        let entry = self.loaded_entry(slug, None)?;
        if let Some(message) = self.unmet_dependency(&entry) {
            return Err(RuntimeError::DependencyInactive {
                slug: slug.to_string(),
                message,
            });
        }
        self.ensure_loaded(&entry, actor).await?;
        self.enable_locked(&entry, actor, true).await?;
        Ok(self.store().get(slug).await?)
    }

    /// The enable steps, with the ops lock held. `persist` is false when the
    /// store already says `Active` (bringing state back at start-up).
    pub(super) async fn enable_locked(
        &self,
        entry: &Arc<PluginEntry>,
        actor: &str,
        persist: bool,
    ) -> Result<(), RuntimeError> {
        let slug = entry.slug().to_string();
        let prepared = match self.prepare(entry) {
            Ok(p) => p,
            Err(Unprepared::Cycle(cycle)) => return Err(RuntimeError::HookCycle { slug, cycle }),
            Err(Unprepared::Failed(phase, message)) => {
                return Err(self.fail(&slug, phase, actor, &message).await)
            }
        };
        if let Err((phase, message)) = self.migrate(entry, &prepared.migrations).await {
            return Err(self.fail(&slug, phase, actor, &message).await);
        }
        if let Err(e) = entry.call(self.fault_policy(), false, |p, ctx| {
            p.lifecycle(ctx, Phase::Enable)
        }) {
            return Err(self.fail(&slug, "on_enable", actor, &e.to_string()).await);
        }
        if persist {
            if let Err(e) = self
                .store()
                .transition(&slug, Transition::Enable, actor, None)
                .await
            {
                // Another replica won the race: undo our enable.
                let _ = entry.call(self.fault_policy(), false, |p, ctx| {
                    p.lifecycle(ctx, Phase::Disable)
                });
                return Err(e.into());
            }
        }
        self.go_live(entry, prepared).await;
        tracing::info!(plugin = %slug, actor, "plugin enabled");
        self.notify_lifecycle("enabled", &slug);
        Ok(())
    }

    /// Reads and checks everything `entry` declares (hooks, routes,
    /// subscriptions, jobs, migrations) against its capabilities and the
    /// other plugins' hook order. Changes nothing.
    pub(super) fn prepare(&self, entry: &Arc<PluginEntry>) -> Result<Prepared, Unprepared> {
        self.prepare_from(entry, entry.source().map(|p| p.as_path()))
    }

    /// [`Runtime::prepare`] with the plugin's files (UI assets) read from
    /// `folder` (an update's staging folder, before it moves into place).
    pub(super) fn prepare_from(
        &self,
        entry: &Arc<PluginEntry>,
        folder: Option<&std::path::Path>,
    ) -> Result<Prepared, Unprepared> {
        let slug = entry.slug();
        let object = entry.object();
        let failed = |phase: &'static str| move |e: String| Unprepared::Failed(phase, e);
        let specs = object
            .hooks()
            .map_err(|e| e.to_string())
            .map_err(failed("hooks()"))?;
        let mut hooks = Vec::new();
        for spec in specs {
            match spec.hook() {
                Some(hook) => hooks.push((hook, spec)),
                None => {
                    tracing::warn!(plugin = %slug, "ignoring unknown hook {:?}", spec.hook_name())
                }
            }
        }
        let (route_count, routes) = object
            .routes()
            .map_err(|e| e.to_string())
            .and_then(|specs| {
                routes::compile(&specs)
                    .map(|c| (specs.len(), c))
                    .map_err(|e| e.to_string())
            })
            .map_err(failed("routes()"))?;
        let mut routes = routes;
        crate::access::assign(&mut routes, &entry.manifest().routes)
            .map_err(|e| Unprepared::Failed("routes", e))?;
        // Refused (without failing the plugin) if its hooks would make an order impossible.
        self.check_hook_order_with(entry, &hooks)
            .map_err(Unprepared::Cycle)?;
        let subscriptions = object
            .subscriptions()
            .map_err(|e| e.to_string())
            .and_then(|s| {
                s.iter()
                    .try_for_each(|p| crate::events::Pattern::parse(p).map(|_| ()))?;
                Ok(s)
            })
            .map_err(failed("subscriptions()"))?;
        let jobs = object
            .jobs()
            .map_err(|e| e.to_string())
            .and_then(|specs| {
                specs
                    .iter()
                    .map(|j| {
                        crate::scheduler::Schedule::parse(&j.schedule)
                            .map(|s| (j.name.to_string(), s, j.schedule.to_string()))
                            .map_err(|e| format!("job {}: {e}", j.name))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(failed("jobs()"))?;
        let migrations = object
            .migrations()
            .map_err(|e| e.to_string())
            .map_err(failed("migrations()"))?;
        let declared = Declared {
            routes: route_count,
            jobs: jobs.len(),
            migrations: migrations.len(),
            subscriptions: &subscriptions,
            ui: {
                let ui = &entry.manifest().ui;
                ui.widgets.len()
                    + ui.admin_widgets.len()
                    + ui.pages.len()
                    + ui.admin_pages.len()
                    + ui.menu_items.len()
            },
        };
        entry
            .capabilities()
            .check_declared(slug, &declared)
            .map_err(|denied| Unprepared::Failed("capabilities", denied.to_string()))?;
        let ui = crate::ui::contributions(
            slug,
            entry.version(),
            &entry.manifest().ui,
            folder.map(|f| f.join("assets")).as_deref(),
        )
        .map_err(|e| Unprepared::Failed("ui", e))?;
        Ok(Prepared {
            hooks,
            routes,
            subscriptions,
            jobs,
            migrations,
            ui,
        })
    }

    /// Applies the plugin's pending migrations; the failing one's error.
    pub(super) async fn migrate(
        &self,
        entry: &PluginEntry,
        migrations: &[plugboard_plugin_api::abi::Migration],
    ) -> Result<(), (&'static str, String)> {
        if migrations.is_empty() {
            // Nothing to apply: no SQL place is opened (no file, no role)
            // for a plugin that declares no migrations.
            return Ok(());
        }
        let slug = entry.slug().to_string();
        let migrations = migrations.to_vec();
        let outcome = self
            .db()
            .on_bridge(move |host, sandboxes| async move {
                let plugin = sandboxes.conn(&host, &slug).await?;
                Ok(crate::sql::migrate::apply(&host, &plugin, &slug, &migrations).await)
            })
            .await;
        match outcome {
            Ok(Ok(applied)) if !applied.is_empty() => {
                tracing::info!(plugin = %entry.slug(), ?applied, "plugin migrations applied");
                Ok(())
            }
            Ok(Ok(_)) => Ok(()),
            Ok(Err(failure)) => Err(("migrations", failure.to_string())),
            Err(e) => Err(("migrations", e.to_string())),
        }
    }

    /// Publishes what `entry` declared: routes, hooks, subscriptions and
    /// jobs now reach it (replacing an older generation's, if any).
    pub(super) async fn go_live(&self, entry: &Arc<PluginEntry>, prepared: Prepared) {
        let slug = entry.slug();
        entry.set_declared_hooks(prepared.hooks);
        entry.set_live(true);
        self.routes()
            .publish(slug, prepared.routes, Arc::clone(entry));
        if let Err(e) = self.events().subscribe(entry, &prepared.subscriptions) {
            tracing::error!(plugin = %slug, "subscriptions refused: {e}");
        }
        if let Err(e) = self.scheduler().schedule(entry, &prepared.jobs).await {
            tracing::error!(plugin = %slug, "jobs not scheduled: {e}");
        }
        self.ui().publish(slug, prepared.ui);
        self.rebuild_hooks();
    }

    /// Disables a plugin: its routes and hooks vanish, then `on_disable`.
    /// Refused while active plugins depend on it.
    pub async fn disable(&self, slug: &str, actor: &str) -> Result<PluginRecord, RuntimeError> {
        self.disable_cascading(slug, false, actor).await
    }

    /// [`Runtime::disable`]; with `cascade`, the active plugins that depend
    /// on it are disabled first (dependents before dependencies).
    pub async fn disable_cascading(
        &self,
        slug: &str,
        cascade: bool,
        actor: &str,
    ) -> Result<PluginRecord, RuntimeError> {
        let _guard = self.inner.ops.lock().await;
        let record = self.store().get(slug).await?;
        if record.state.apply(Transition::Disable).is_some() {
            self.release_dependents(slug, cascade, actor).await?;
        }
        self.disable_locked(slug, actor).await
    }

    /// The disable steps, with the ops lock held.
    pub(super) async fn disable_locked(
        &self,
        slug: &str,
        actor: &str,
    ) -> Result<PluginRecord, RuntimeError> {
        let record = self.store().get(slug).await?;
        if record.state.apply(Transition::Disable).is_none() {
            return Err(LifecycleError::InvalidTransition {
                slug: slug.to_string(),
                from: record.state,
                transition: Transition::Disable,
            }
            .into());
        }
        let mut error = None;
        if let Some(entry) = self.plugin(slug) {
            self.take_offline(&entry);
            if let Err(e) = entry.call(self.fault_policy(), false, |p, ctx| {
                p.lifecycle(ctx, Phase::Disable)
            }) {
                tracing::warn!(plugin = slug, "on_disable failed: {e}");
                error = Some(format!("on_disable: {e}"));
            }
        }
        let record = self
            .store()
            .transition(slug, Transition::Disable, actor, error.as_deref())
            .await?;
        self.notify_lifecycle("disabled", slug);
        Ok(record)
    }

    /// Moves an `Errored` plugin back to `Inactive` and forgets its panics.
    pub async fn reset(&self, slug: &str, actor: &str) -> Result<PluginRecord, RuntimeError> {
        let _guard = self.inner.ops.lock().await;
        let record = self
            .store()
            .transition(slug, Transition::Reset, actor, None)
            .await?;
        if let Some(entry) = self.plugin(slug) {
            entry.clear_panics();
        }
        self.announce("reset", slug);
        Ok(record)
    }

    /// Withdraws a plugin's routes and hooks at once (no database access).
    pub(super) fn take_offline(&self, entry: &PluginEntry) {
        entry.set_live(false);
        self.routes().withdraw(entry.slug());
        self.events().unsubscribe(entry.slug());
        self.scheduler().unschedule(entry.slug());
        self.ui().withdraw(entry.slug());
        self.rebuild_hooks();
    }

    /// Takes a plugin out of service and records `Errored` with the reason;
    /// returns the error to report.
    pub(super) async fn fail(
        &self,
        slug: &str,
        phase: &'static str,
        actor: &str,
        message: &str,
    ) -> RuntimeError {
        if let Some(entry) = self.plugin(slug) {
            self.take_offline(&entry);
        }
        let text = format!("{phase}: {message}");
        match self
            .store()
            .transition(slug, Transition::Fail, actor, Some(&text))
            .await
        {
            Ok(_) | Err(LifecycleError::InvalidTransition { .. }) => {}
            Err(e) => tracing::error!(plugin = slug, "cannot record the failure: {e}"),
        }
        tracing::error!(plugin = slug, "plugin failed in {phase}: {message}");
        self.announce("errored", slug);
        RuntimeError::PluginFailed {
            slug: slug.to_string(),
            phase,
            message: message.to_string(),
        }
    }

    /// The fault policy tripped during a call: out of service now, `Errored`
    /// recorded in the background (the caller may be on a request thread).
    pub(crate) fn trip(&self, entry: &Arc<PluginEntry>, reason: String) {
        self.take_offline(entry);
        let policy = self.fault_policy();
        let message = format!(
            "fault policy: {} panics within {} s; last: {reason}",
            policy.max_panics,
            policy.window.as_secs()
        );
        tracing::error!(plugin = entry.slug(), "{message}");
        self.announce("errored", entry.slug());
        let store = self.store().clone();
        let slug = entry.slug().to_string();
        self.db().spawn(async move {
            match store
                .transition(&slug, Transition::Fail, "fault-policy", Some(&message))
                .await
            {
                Ok(_) | Err(LifecycleError::InvalidTransition { .. }) => {}
                Err(e) => tracing::error!(plugin = %slug, "cannot record the failure: {e}"),
            }
        });
    }

    pub(super) fn notify_lifecycle(&self, kind: &str, slug: &str) {
        self.announce(kind, slug);
        let event = PluginEvent {
            kind: kind.into(),
            slug: slug.into(),
        };
        let failures = self.notify(&mut HookCall::PluginLifecycle(event));
        self.emit(
            &format!("plugins.{kind}"),
            &serde_json::json!({ "slug": slug }),
        );
        for f in failures {
            tracing::warn!(plugin = %f.slug, hook = Hook::PluginLifecycle.name(), "{}", f.error);
        }
    }
}
