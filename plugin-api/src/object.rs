//! The host's view of a plugin instance, the same for built-in and dynamic ones.

use crate::{
    abi::RouteSpec,
    context::Context,
    error::PluginResult,
    hooks::{HookCall, HookSpec, Phase},
    http::{Request, Response},
};

/// A plugin instance as the host drives it.
///
/// Built-ins get one from [`builtin`](crate::builtin) (an in-process adapter that
/// catches panics); dynamic plugins get one from the host's loader (a client of
/// the plugin's vtable, whose functions catch panics on the plugin's side).
/// Every method returns an error instead of panicking.
pub trait PluginObject: Send + Sync {
    /// The slug the plugin's code reports.
    fn slug(&self) -> &str;
    /// The version the plugin's code reports.
    fn version(&self) -> &str;
    /// The hooks the plugin implements.
    fn hooks(&self) -> PluginResult<Vec<HookSpec>>;
    /// The routes the plugin serves; a route's index is passed to
    /// [`PluginObject::handle_route`].
    fn routes(&self) -> PluginResult<Vec<RouteSpec>>;
    /// The plugin's SQL migrations, in order.
    fn migrations(&self) -> PluginResult<Vec<crate::abi::Migration>>;
    /// The event patterns the plugin subscribes to.
    fn subscriptions(&self) -> PluginResult<Vec<String>>;
    /// Delivers one event.
    fn on_event(&self, ctx: &Context<'_>, name: &str, payload: &str) -> PluginResult;
    /// The plugin's scheduled jobs; a job's index is passed to `run_job`.
    fn jobs(&self) -> PluginResult<Vec<crate::abi::JobSpec>>;
    /// Runs the job at `index`.
    fn run_job(&self, ctx: &Context<'_>, index: u32) -> PluginResult;
    /// The JSON Schema of the plugin's configuration.
    fn config_schema(&self) -> PluginResult<Option<serde_json::Value>>;
    /// The configuration changed.
    fn on_config_changed(&self, ctx: &Context<'_>, config: &serde_json::Value) -> PluginResult;
    /// This version replaced `from_version` (after its migrations).
    fn on_upgrade(&self, ctx: &Context<'_>, from_version: &str) -> PluginResult;
    /// A lifecycle phase.
    fn lifecycle(&self, ctx: &Context<'_>, phase: Phase) -> PluginResult;
    /// One hook call.
    fn call_hook(&self, ctx: &Context<'_>, call: &mut HookCall<'_>) -> PluginResult;
    /// Serves the route at `index`.
    fn handle_route(
        &self,
        ctx: &Context<'_>,
        index: u32,
        request: &Request<'_>,
    ) -> PluginResult<Response>;
    /// The routes' documentation, one per route in [`routes`](Self::routes)
    /// order (since 1.7; empty for a plugin that gives none).
    fn route_docs(&self) -> PluginResult<Vec<crate::RouteDoc>> {
        Ok(Vec::new())
    }
}
