//! Calling plugins: the resolved hook table, hook dispatch, and routes.

use std::sync::Arc;

use plugboard_plugin_api::{ErrorKind, Hook, HookCall, NewUser, Request, Response};
use serde::Serialize;

use super::Runtime;
use crate::{
    hooks::{resolve_order, HookCycle, HookDecl},
    registry::{CallError, PluginEntry},
};

const HOOKS: usize = Hook::ALL.len();

fn slot(hook: Hook) -> usize {
    match hook {
        Hook::BeforeUserCreate => 0,
        Hook::UserCreated => 1,
        Hook::UserUpdated => 2,
        Hook::UserDeleted => 3,
        Hook::UserLogin => 4,
        Hook::UserLogout => 5,
        Hook::SystemStartup => 6,
        Hook::SystemShutdown => 7,
        Hook::PluginLifecycle => 8,
    }
}

/// For each hook, the live plugins that implement it, in call order.
#[derive(Default)]
pub(super) struct HookTable {
    order: [Arc<[Arc<PluginEntry>]>; HOOKS],
    explained: Vec<HookOrder>,
}

/// The resolved order of one hook, as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HookOrder {
    /// The hook's name.
    pub hook: &'static str,
    /// Whether it is a filter (may veto or transform).
    pub filter: bool,
    /// The plugins in call order, each with what put it there.
    pub order: Vec<HookDecl>,
}

/// A plugin's failure during an action hook (other plugins still ran).
#[derive(Debug, Clone, Serialize)]
pub struct HookFailure {
    /// The plugin.
    pub slug: String,
    /// Its error.
    pub error: String,
}

/// A filter hook vetoed the operation.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("refused by plugin {slug:?}: {message}")]
pub struct Refusal {
    /// The plugin that refused.
    pub slug: String,
    /// Its message.
    pub message: String,
}

fn decls_of(entries: &[Arc<PluginEntry>], hook: Hook) -> (Vec<HookDecl>, Vec<Arc<PluginEntry>>) {
    let mut decls = Vec::new();
    let mut owners = Vec::new();
    for e in entries {
        for (h, spec) in e.declared_hooks() {
            if h == hook {
                decls.push(HookDecl::from_spec(e.slug(), &spec));
                owners.push(Arc::clone(e));
            }
        }
    }
    (decls, owners)
}

impl Runtime {
    fn live_entries(&self) -> Vec<Arc<PluginEntry>> {
        self.entries().into_iter().filter(|e| e.is_live()).collect()
    }

    /// Recomputes the hook table from the live plugins.
    pub(super) fn rebuild_hooks(&self) {
        let live = self.live_entries();
        let mut table = HookTable::default();
        for hook in Hook::ALL {
            let (decls, owners) = decls_of(&live, hook);
            // Cycles are refused at enable, so this only fails if a plugin
            // changed its declarations since; fall back to (priority, slug).
            let idx = resolve_order(hook.name(), &decls).unwrap_or_else(|_| {
                let mut idx: Vec<usize> = (0..decls.len()).collect();
                idx.sort_by_key(|&i| (decls[i].priority, decls[i].slug.clone()));
                idx
            });
            table.order[slot(hook)] = idx.iter().map(|&i| Arc::clone(&owners[i])).collect();
            table.explained.push(HookOrder {
                hook: hook.name(),
                filter: hook.is_filter(),
                order: idx.iter().map(|&i| decls[i].clone()).collect(),
            });
        }
        self.inner.hooks.store(Arc::new(table));
    }

    /// Whether the hooks of the live plugins plus `entry` declaring `hooks`
    /// can still be ordered.
    pub(super) fn check_hook_order_with(
        &self,
        entry: &Arc<PluginEntry>,
        hooks: &[(Hook, plugboard_plugin_api::HookSpec)],
    ) -> Result<(), HookCycle> {
        let others: Vec<_> = self
            .live_entries()
            .into_iter()
            .filter(|e| e.slug() != entry.slug())
            .collect();
        for hook in Hook::ALL {
            let (mut decls, _) = decls_of(&others, hook);
            decls.extend(
                hooks
                    .iter()
                    .filter(|(h, _)| *h == hook)
                    .map(|(_, spec)| HookDecl::from_spec(entry.slug(), spec)),
            );
            resolve_order(hook.name(), &decls)?;
        }
        Ok(())
    }

    /// The resolved order of every hook.
    pub fn hook_orders(&self) -> Vec<HookOrder> {
        self.inner.hooks.load().explained.clone()
    }

    fn after_call<T>(
        &self,
        entry: &Arc<PluginEntry>,
        result: Result<T, CallError>,
    ) -> Result<T, CallError> {
        if let Err(CallError::Plugin {
            tripped: true,
            error,
            ..
        }) = &result
        {
            self.trip(entry, error.to_string());
        }
        result
    }

    /// Calls an action hook on every live plugin that implements it, in
    /// order. One plugin's error or panic never stops the others; the
    /// failures are returned (and counted in each plugin's metrics).
    #[inline]
    pub fn notify(&self, call: &mut HookCall<'_>) -> Vec<HookFailure> {
        let table = self.inner.hooks.load();
        let targets = &table.order[slot(call.hook())];
        let mut failures = Vec::new();
        for entry in targets.iter() {
            let r = entry.call(self.fault_policy(), true, |p, ctx| p.call_hook(ctx, call));
            match self.after_call(entry, r) {
                Ok(()) | Err(CallError::Unavailable(_)) => {}
                Err(CallError::Plugin { slug, error, .. }) => failures.push(HookFailure {
                    slug,
                    error: error.to_string(),
                }),
            }
        }
        failures
    }

    /// Runs the `user.before_create` filter chain. Each plugin may change
    /// the user; the first refusal stops the chain. A plugin that fails or
    /// panics (rather than refusing) is skipped and logged: a broken filter
    /// does not block user creation.
    pub fn filter_new_user(&self, user: &mut NewUser) -> Result<(), Refusal> {
        let table = self.inner.hooks.load();
        for entry in table.order[slot(Hook::BeforeUserCreate)].iter() {
            let r = entry.call(self.fault_policy(), true, |p, ctx| {
                p.call_hook(ctx, &mut HookCall::BeforeUserCreate(user))
            });
            match self.after_call(entry, r) {
                Ok(()) | Err(CallError::Unavailable(_)) => {}
                Err(CallError::Plugin { slug, error, .. })
                    if error.kind() == ErrorKind::Refused =>
                {
                    return Err(Refusal {
                        slug,
                        message: error.message().to_string(),
                    });
                }
                Err(e) => tracing::warn!("before_user_create filter skipped: {e}"),
            }
        }
        Ok(())
    }

    /// Serves one request from `caller` with the plugin's route at `index`
    /// (the caller's access was checked before; the plugin reads it with
    /// `ctx.caller()`).
    pub fn call_route(
        &self,
        entry: &Arc<PluginEntry>,
        index: u32,
        request: &Request<'_>,
        caller: &plugboard_plugin_api::Caller,
    ) -> Result<Response, CallError> {
        let r = entry.call(self.fault_policy(), true, |p, ctx| {
            p.handle_route(&ctx.with_caller(caller), index, request)
        });
        self.after_call(entry, r)
    }
}
