//! Lifecycle operations: enable, disable, reset, and failing a plugin.

use std::sync::Arc;

use plugboard_plugin_api::{Hook, Phase};

use super::{OpsGuard, Runtime, RuntimeError};
use crate::{
    capability,
    lifecycle::{LifecycleError, PluginRecord, Transition},
    registry::PluginEntry,
};

/// What a plugin declared, checked and ready to publish: its hooks, and
/// what each capability staged.
pub(super) struct Prepared {
    hooks: Vec<(Hook, plugboard_plugin_api::HookSpec)>,
    capabilities: capability::Prepared,
}

/// Why [`Runtime::prepare`] refused.
pub(super) enum Unprepared {
    /// Its hooks would make an order impossible (the plugin is not at fault
    /// alone; nothing changes).
    Cycle(crate::hooks::HookCycle),
    /// The plugin declared something invalid: (phase, message).
    Failed(&'static str, String),
}

/// What an enable tells the store and the other plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Enabling {
    /// A change made here (an operator, or the first start of a built-in):
    /// recorded `Active`, and announced (the `plugin.lifecycle` hook, the
    /// `plugins.enabled` event, the admin's live updates).
    Persist,
    /// A change another replica recorded: announced, not recorded again.
    Follow,
    /// The start bringing back a plugin recorded `Active`: not a change,
    /// so neither recorded nor announced (`system.startup` follows once
    /// every plugin is up).
    Restore,
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
        let ops = self.lock_ops().await;
        self.enable_installed(&ops, slug, actor).await
    }

    /// [`Runtime::enable`] with the ops lock already held.
    pub(crate) async fn enable_installed(
        &self,
        ops: &OpsGuard<'_>,
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
        self.enable_locked(ops, &entry, actor, Enabling::Persist)
            .await?;
        Ok(self.store().get(slug).await?)
    }

    /// The enable steps, with the ops lock held; `how` says whether the
    /// store and the other plugins hear of it.
    pub(super) async fn enable_locked(
        &self,
        _: &OpsGuard<'_>,
        entry: &Arc<PluginEntry>,
        actor: &str,
        how: Enabling,
    ) -> Result<(), RuntimeError> {
        let persist = how == Enabling::Persist;
        let slug = entry.slug().to_string();
        let prepared = match self.prepare(entry) {
            Ok(p) => p,
            Err(Unprepared::Cycle(cycle)) => return Err(RuntimeError::HookCycle { slug, cycle }),
            Err(Unprepared::Failed(phase, message)) => {
                return Err(self.fail(&slug, phase, actor, &message).await)
            }
        };
        if let Err((phase, message)) = self.before_enable(entry, &prepared).await {
            return Err(self.fail(&slug, phase, actor, &message).await);
        }
        if let Err(e) = self.run_phase(entry, Phase::Enable).await {
            return Err(self.fail(&slug, "on_enable", actor, &e.to_string()).await);
        }
        if persist {
            if let Err(e) = self
                .store()
                .transition(&slug, Transition::Enable, actor, None)
                .await
            {
                // Another replica won the race: undo our enable.
                let _ = self.run_phase(entry, Phase::Disable).await;
                return Err(e.into());
            }
        }
        if let Err(failure) = self.go_live(entry, prepared).await {
            // Active was recorded; it ends Errored with the cause.
            let _ = self.run_phase(entry, Phase::Disable).await;
            return Err(self
                .fail(&slug, failure.phase, actor, &failure.message)
                .await);
        }
        tracing::info!(plugin = %slug, actor, "plugin enabled");
        if how != Enabling::Restore {
            self.notify_lifecycle("enabled", &slug).await;
        }
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
        let specs = entry
            .object()
            .hooks()
            .map_err(|e| Unprepared::Failed("hooks()", e.to_string()))?;
        let mut hooks = Vec::new();
        for spec in specs {
            match spec.hook() {
                Some(hook) => hooks.push((hook, spec)),
                None => {
                    tracing::warn!(plugin = %slug, "ignoring unknown hook {:?}", spec.hook_name())
                }
            }
        }
        // Refused (without failing the plugin) if its hooks would make an order impossible.
        self.check_hook_order_with(entry, &hooks)
            .map_err(Unprepared::Cycle)?;
        let capabilities = capability::prepare_all(&capability::Subject { entry, folder })
            .map_err(|f| Unprepared::Failed(f.phase, f.message))?;
        Ok(Prepared {
            hooks,
            capabilities,
        })
    }

    /// Runs each capability's step before `on_enable` (SQL migrations).
    pub(super) async fn before_enable(
        &self,
        entry: &Arc<PluginEntry>,
        prepared: &Prepared,
    ) -> Result<(), (&'static str, String)> {
        capability::before_enable_all(&self.capability_host(), entry, &prepared.capabilities)
            .await
            .map_err(|f| (f.phase, f.message))
    }

    /// Publishes what `entry` declared: routes, hooks, subscriptions, jobs
    /// and UI now reach it (replacing an older generation's, if any). If a
    /// capability cannot go live, every one is withdrawn again and the
    /// failure returned: nothing stays half-live.
    pub(super) async fn go_live(
        &self,
        entry: &Arc<PluginEntry>,
        prepared: Prepared,
    ) -> Result<(), capability::StepFailed> {
        // A plugin with no hooks, replacing none, leaves the table as it is
        // (the start of many such plugins skips a walk over all of them).
        let changes_hooks = !prepared.hooks.is_empty() || self.in_hook_table(entry.slug());
        entry.set_declared_hooks(prepared.hooks);
        entry.set_live(true);
        let outcome =
            capability::go_live_all(&self.capability_host(), entry, prepared.capabilities).await;
        if outcome.is_err() {
            entry.set_live(false);
        }
        if changes_hooks {
            self.rebuild_hooks();
        }
        outcome
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
        let ops = self.lock_ops().await;
        let record = self.store().get(slug).await?;
        if record.state.apply(Transition::Disable).is_some() {
            self.release_dependents(&ops, slug, cascade, actor).await?;
        }
        self.disable_locked(&ops, slug, actor).await
    }

    /// The disable steps, with the ops lock held.
    pub(super) async fn disable_locked(
        &self,
        _: &OpsGuard<'_>,
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
            if let Err(e) = self.run_phase(&entry, Phase::Disable).await {
                tracing::warn!(plugin = slug, "on_disable failed: {e}");
                error = Some(format!("on_disable: {e}"));
            }
        }
        let record = self
            .store()
            .transition(slug, Transition::Disable, actor, error.as_deref())
            .await?;
        self.notify_lifecycle("disabled", slug).await;
        Ok(record)
    }

    /// Moves an `Errored` plugin back to `Inactive` and forgets its panics.
    pub async fn reset(&self, slug: &str, actor: &str) -> Result<PluginRecord, RuntimeError> {
        let _ops = self.lock_ops().await;
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
        capability::take_offline_all(&self.capability_host(), entry.slug());
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
        if super::is_following() {
            // A follower's own trouble (a slow or failing `on_enable`
            // here) is this replica's: it stays offline here and says so,
            // and the record the others follow is left as decided.
            tracing::error!(
                plugin = slug,
                "plugin failed here while following the database, in {phase}: {message}"
            );
            return RuntimeError::PluginFailed {
                slug: slug.to_string(),
                phase,
                message: message.to_string(),
            };
        }
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
        entry.set_tripped();
        self.take_offline(entry);
        let policy = self.fault_policy();
        let message = format!(
            "fault policy: {} faults (panics, calls stuck past their deadline) within {} s; last: {reason}",
            policy.max_panics,
            policy.window.as_secs()
        );
        tracing::error!(plugin = entry.slug(), "{message}");
        self.announce("errored", entry.slug());
        let store = self.store().clone();
        let slug = entry.slug().to_string();
        let runtime = self.downgrade();
        self.db().spawn(async move {
            match store
                .transition(&slug, Transition::Fail, "fault-policy", Some(&message))
                .await
            {
                Ok(_) => {
                    // Once recorded: the other replicas follow what they read.
                    if let Some(rt) = runtime.upgrade() {
                        rt.announce("errored", &slug);
                    }
                }
                Err(LifecycleError::InvalidTransition { .. }) => {}
                Err(e) => tracing::error!(plugin = %slug, "cannot record the failure: {e}"),
            }
        });
    }

    pub(super) async fn notify_lifecycle(&self, kind: &str, slug: &str) {
        self.announce(kind, slug);
        let failures = self
            .notify(super::HookPayload::PluginLifecycle {
                kind: kind.into(),
                slug: slug.into(),
            })
            .await;
        let changed = plugboard_plugin_api::platform::PluginChanged::new(slug);
        self.emit(
            &format!("plugins.{kind}"),
            &serde_json::to_value(changed).unwrap_or_default(),
        );
        for f in failures {
            tracing::warn!(plugin = %f.slug, hook = Hook::PluginLifecycle.name(), "{}", f.error);
        }
    }
}
