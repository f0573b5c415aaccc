//! Calling plugins: the resolved hook table, hook dispatch, and routes.

use std::sync::Arc;

use abi_stable::std_types::{RStr, Tuple2};
use plugboard_plugin_api::{
    ErrorKind, Hook, HookCall, NewUser, PluginEvent, Request, Response, User,
};
use serde::Serialize;

use super::Runtime;
use crate::{
    exec::{Admission, CallPoint, PointKind, Step, StepFn, StepOutcome},
    hooks::{resolve_order, HookCycle, HookDecl},
    manifest::OnFailure,
    registry::{CallError, PluginEntry, PluginKind},
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
    /// The same plugins' lanes and entry points, for the executor.
    steps: [Arc<[Step]>; HOOKS],
    explained: Vec<HookOrder>,
}

/// The executor's step for `entry`'s implementation of `hook`: its entry
/// point, deadline, and (for a filter) failure policy.
fn step_for(entry: &Arc<PluginEntry>, hook: Hook) -> Step {
    let filter = hook.is_filter().then(|| {
        entry
            .manifest()
            .filters
            .get(hook.name())
            .copied()
            .unwrap_or_default()
    });
    let deadline = entry.deadlines().own(filter.and_then(|f| f.deadline_ms));
    let kind = if hook.is_filter() {
        PointKind::Filter
    } else {
        PointKind::Hook
    };
    Step {
        lane: Arc::clone(entry.lane()),
        point: entry.point(kind, hook.name(), deadline),
        journaled: entry.kind() == PluginKind::Dynamic,
        halt_on_failure: filter.is_some_and(|f| f.on_failure == OnFailure::Reject),
    }
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
            table.steps[slot(hook)] = idx.iter().map(|&i| step_for(&owners[i], hook)).collect();
            table.explained.push(HookOrder {
                hook: hook.name(),
                filter: hook.is_filter(),
                order: idx
                    .iter()
                    .map(|&i| {
                        let mut d = decls[i].clone();
                        if hook.is_filter() {
                            let policy = owners[i]
                                .manifest()
                                .filters
                                .get(hook.name())
                                .copied()
                                .unwrap_or_default();
                            d.on_failure = Some(policy.on_failure.as_str());
                        }
                        d
                    })
                    .collect(),
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
        if hooks.is_empty() {
            // Nothing of its own to order among the others' (the start of
            // many plugins without hooks skips this walk over all of them).
            return Ok(());
        }
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

    /// Whether the hook table holds any hook of `slug`.
    pub(super) fn in_hook_table(&self, slug: &str) -> bool {
        self.inner
            .hooks
            .load()
            .order
            .iter()
            .any(|owners| owners.iter().any(|e| e.slug() == slug))
    }

    /// The resolved order of every hook.
    pub fn hook_orders(&self) -> Vec<HookOrder> {
        self.inner.hooks.load().explained.clone()
    }

    pub(super) fn after_call<T>(
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
    /// order, as one chain on the executor (one handoff; each plugin's call
    /// with its own deadline and capacity). One plugin's error, panic or
    /// deadline never stops the others; the failures are returned (and
    /// counted in each plugin's metrics).
    pub async fn notify(&self, payload: HookPayload) -> Vec<HookFailure> {
        let table = self.inner.hooks.load_full();
        let slot = slot(payload.hook());
        let (targets, steps) = (
            Arc::clone(&table.order[slot]),
            Arc::clone(&table.steps[slot]),
        );
        if targets.is_empty() {
            return Vec::new();
        }
        let policy = self.fault_policy();
        let call: StepFn<(), Result<(), CallError>> = {
            let (targets, steps) = (Arc::clone(&targets), Arc::clone(&steps));
            Arc::new(move |i, _| {
                targets[i].call_at(Some(&steps[i].point), policy, true, |p, ctx| {
                    p.call_hook(ctx, &mut payload.call())
                })
            })
        };
        let (_, outcomes) = self.inner.exec.chain(steps, (), call, |_| false).await;
        let mut failures = Vec::new();
        for (entry, outcome) in targets.iter().zip(outcomes) {
            if let Some(error) = self.step_failure(entry, outcome) {
                failures.push(HookFailure {
                    slug: entry.slug().to_string(),
                    error: error.to_string(),
                });
            }
        }
        failures
    }

    /// What went wrong in one step of a chain, if anything (a plugin taken
    /// out of service meanwhile is not a failure).
    fn step_failure(
        &self,
        entry: &Arc<PluginEntry>,
        outcome: StepOutcome<Result<(), CallError>>,
    ) -> Option<CallError> {
        let result = match outcome {
            StepOutcome::Done(r) => self.after_call(entry, r),
            StepOutcome::Busy(e) => Err(CallError::Exec(e)),
            StepOutcome::Deadline(e) => Err(self.exec_failed(entry, e)),
            StepOutcome::Lost(e) => Err(CallError::Exec(e)),
            StepOutcome::NotReached => Ok(()),
        };
        match result {
            Ok(()) | Err(CallError::Unavailable(_)) => None,
            Err(e) => Some(e),
        }
    }

    /// Runs the `user.before_create` filter chain and returns the user as
    /// the filters left it. Each plugin may change the user; a refusal stops
    /// the chain. A filter that fails (an error, a panic, its deadline, its
    /// capacity in use) is handled by its policy (manifest `filters`):
    /// `reject`, the default, refuses the user (fail closed); `skip` goes
    /// on as if that filter were not there (fail open).
    pub async fn filter_new_user(&self, user: NewUser) -> Result<NewUser, Refusal> {
        let table = self.inner.hooks.load_full();
        let slot = slot(Hook::BeforeUserCreate);
        let (targets, steps) = (
            Arc::clone(&table.order[slot]),
            Arc::clone(&table.steps[slot]),
        );
        if targets.is_empty() {
            return Ok(user);
        }
        let policy = self.fault_policy();
        let call: StepFn<NewUser, (Result<(), CallError>, bool)> = {
            let (targets, steps) = (Arc::clone(&targets), Arc::clone(&steps));
            Arc::new(move |i, user: &mut NewUser| {
                let before = user.clone();
                let r = targets[i].call_at(Some(&steps[i].point), policy, true, |p, ctx| {
                    p.call_hook(ctx, &mut HookCall::BeforeUserCreate(user))
                });
                let refused = matches!(&r, Err(CallError::Plugin { error, .. }) if error.kind() == ErrorKind::Refused);
                let failed = matches!(&r, Err(CallError::Plugin { .. })) && !refused;
                if failed && !steps[i].halt_on_failure {
                    *user = before;
                }
                (r, refused || (failed && steps[i].halt_on_failure))
            })
        };
        let (user, outcomes) = self
            .inner
            .exec
            .chain(Arc::clone(&steps), user, call, |(_, stop)| *stop)
            .await;
        for ((entry, step), outcome) in targets.iter().zip(steps.iter()).zip(outcomes) {
            let outcome = match outcome {
                StepOutcome::Done((r, _)) => StepOutcome::Done(r),
                StepOutcome::Busy(e) => StepOutcome::Busy(e),
                StepOutcome::Deadline(e) => StepOutcome::Deadline(e),
                StepOutcome::Lost(e) => StepOutcome::Lost(e),
                StepOutcome::NotReached => StepOutcome::NotReached,
            };
            match self.step_failure(entry, outcome) {
                None => {}
                Some(CallError::Plugin { slug, error, .. })
                    if error.kind() == ErrorKind::Refused =>
                {
                    return Err(Refusal {
                        slug,
                        message: error.message().to_string(),
                    });
                }
                Some(e) if step.halt_on_failure => {
                    tracing::warn!(plugin = %entry.slug(), "user.before_create filter failed; it fails closed: {e}");
                    return Err(Refusal {
                        slug: entry.slug().to_string(),
                        message: format!(
                            "its filter failed, and it fails closed (on_failure: reject): {e}"
                        ),
                    });
                }
                Some(e) => {
                    tracing::warn!(plugin = %entry.slug(), "user.before_create filter skipped (on_failure: skip): {e}");
                }
            }
        }
        Ok(user)
    }

    /// Serves one request from `caller` with the plugin's route at `index`
    /// (the caller's access was checked before; the plugin reads it with
    /// `ctx.caller()`), on the executor with the route's deadline.
    pub async fn call_route(
        &self,
        entry: &Arc<PluginEntry>,
        point: Arc<CallPoint>,
        index: u32,
        request: OwnedRequest,
        caller: plugboard_plugin_api::Caller,
    ) -> Result<Response, CallError> {
        self.call_plugin(entry, point, Admission::Counted, true, move |p, ctx| {
            request.with(|request| p.handle_route(&ctx.with_caller(&caller), index, request))
        })
        .await
    }
}

/// A request's parts, owned, so that the call can leave the HTTP worker.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    /// The method.
    pub method: String,
    /// The path below the plugin's prefix.
    pub path: String,
    /// The query string.
    pub query: String,
    /// Headers (credentials already removed).
    pub headers: Vec<(String, String)>,
    /// Route parameters.
    pub params: Vec<(String, String)>,
    /// The body.
    pub body: actix_web::web::Bytes,
}

impl OwnedRequest {
    /// Calls `f` with the FFI view of the request.
    pub fn with<T>(&self, f: impl FnOnce(&Request<'_>) -> T) -> T {
        fn pairs(v: &[(String, String)]) -> Vec<Tuple2<RStr<'_>, RStr<'_>>> {
            v.iter()
                .map(|(k, v)| Tuple2(RStr::from(k.as_str()), RStr::from(v.as_str())))
                .collect()
        }
        let (headers, params) = (pairs(&self.headers), pairs(&self.params));
        f(&Request::new(
            &self.method,
            &self.path,
            &self.query,
            &headers,
            &params,
            &self.body,
        ))
    }
}

/// A hook call's data, owned, so that the chain can leave the caller's
/// thread.
#[derive(Debug, Clone)]
pub enum HookPayload {
    /// `user.created`.
    UserCreated(User),
    /// `user.updated`.
    UserUpdated(User),
    /// `user.deleted`.
    UserDeleted(User),
    /// `user.login`.
    UserLogin(User),
    /// `user.logout`.
    UserLogout(User),
    /// `system.startup`.
    SystemStartup,
    /// `system.shutdown`.
    SystemShutdown,
    /// `plugin.lifecycle`: what happened (`enabled`, …) to which plugin.
    PluginLifecycle {
        /// `installed`, `enabled`, `disabled`, ….
        kind: String,
        /// The plugin.
        slug: String,
    },
}

impl HookPayload {
    /// The hook.
    pub fn hook(&self) -> Hook {
        match self {
            HookPayload::UserCreated(_) => Hook::UserCreated,
            HookPayload::UserUpdated(_) => Hook::UserUpdated,
            HookPayload::UserDeleted(_) => Hook::UserDeleted,
            HookPayload::UserLogin(_) => Hook::UserLogin,
            HookPayload::UserLogout(_) => Hook::UserLogout,
            HookPayload::SystemStartup => Hook::SystemStartup,
            HookPayload::SystemShutdown => Hook::SystemShutdown,
            HookPayload::PluginLifecycle { .. } => Hook::PluginLifecycle,
        }
    }
    /// The FFI call.
    pub fn call(&self) -> HookCall<'_> {
        match self {
            HookPayload::UserCreated(u) => HookCall::UserCreated(u),
            HookPayload::UserUpdated(u) => HookCall::UserUpdated(u),
            HookPayload::UserDeleted(u) => HookCall::UserDeleted(u),
            HookPayload::UserLogin(u) => HookCall::UserLogin(u),
            HookPayload::UserLogout(u) => HookCall::UserLogout(u),
            HookPayload::SystemStartup => HookCall::SystemStartup,
            HookPayload::SystemShutdown => HookCall::SystemShutdown,
            HookPayload::PluginLifecycle { kind, slug } => HookCall::PluginLifecycle(PluginEvent {
                kind: kind.as_str().into(),
                slug: slug.as_str().into(),
            }),
        }
    }
}
