//! Every call into a plugin goes through here: onto the executor's pool,
//! with the entry point's deadline and the plugin's capacity (see
//! [`crate::exec`]), and back with the fault policy applied.

use std::sync::Arc;

use plugboard_plugin_api::{Context, Phase, PluginError, PluginObject};

use super::Runtime;
use crate::{
    exec::{Admission, Call, CallPoint, ExecError, Executor},
    registry::{CallError, PluginEntry, PluginKind},
};

/// The name of a lifecycle phase's entry point.
pub(crate) fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Load => "on_load",
        Phase::Enable => "on_enable",
        Phase::Disable => "on_disable",
        Phase::Unload => "on_unload",
    }
}

impl Runtime {
    /// The executor plugin calls run on.
    pub fn executor(&self) -> &Executor {
        &self.inner.exec
    }

    /// Calls `f` in `entry` at `point`, on the executor.
    pub(crate) async fn call_plugin<T, F>(
        &self,
        entry: &Arc<PluginEntry>,
        point: Arc<CallPoint>,
        admission: Admission,
        require_live: bool,
        f: F,
    ) -> Result<T, CallError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn PluginObject, &Context<'_>) -> Result<T, PluginError> + Send + 'static,
    {
        let (target, at, policy) = (Arc::clone(entry), Arc::clone(&point), self.fault_policy());
        let call = Call {
            lane: Arc::clone(entry.lane()),
            point,
            admission,
            journaled: entry.kind() == PluginKind::Dynamic,
        };
        let result = match self
            .inner
            .exec
            .run(call, move || {
                target.call_at(Some(&at), policy, require_live, f)
            })
            .await
        {
            Ok(r) => r,
            Err(e) => Err(self.exec_failed(entry, e)),
        };
        self.after_call(entry, result)
    }

    /// A lifecycle call (`on_enable`, `configure`, …): never refused for
    /// capacity, and made whether or not the plugin is live.
    pub(crate) async fn call_lifecycle<T, F>(
        &self,
        entry: &Arc<PluginEntry>,
        name: &str,
        f: F,
    ) -> Result<T, CallError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn PluginObject, &Context<'_>) -> Result<T, PluginError> + Send + 'static,
    {
        let point = entry.lifecycle_point(name);
        self.call_plugin(entry, point, Admission::Exempt, false, f)
            .await
    }

    /// Runs lifecycle `phase` of `entry`.
    pub(crate) async fn run_phase(
        &self,
        entry: &Arc<PluginEntry>,
        phase: Phase,
    ) -> Result<(), CallError> {
        self.call_lifecycle(entry, phase_name(phase), move |p, ctx| {
            p.lifecycle(ctx, phase)
        })
        .await
    }

    /// A call the executor refused or stopped waiting for: a call stuck past
    /// its deadline counts toward the fault policy, like a panic.
    pub(crate) fn exec_failed(&self, entry: &Arc<PluginEntry>, e: ExecError) -> CallError {
        if matches!(e, ExecError::Deadline { .. }) && entry.record_stuck(self.fault_policy()) {
            self.trip(entry, e.to_string());
        }
        CallError::Exec(e)
    }
}
