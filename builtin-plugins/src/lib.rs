//! Plugins compiled into the `plugboard` binary.
//!
//! The registry is the constant [`ALL`]: one factory per plugin, one plugin
//! per module. There is no global mutable state; the host builds its runtime
//! from this list.

use plugboard_plugin_api::{builtin, PluginObject, PluginResult};

pub mod activity;
pub mod username_policy;

/// Creates a built-in plugin instance.
pub type Factory = fn() -> PluginResult<Box<dyn PluginObject>>;

/// Every built-in plugin.
pub const ALL: &[Factory] = &[
    || builtin(activity::Activity),
    || builtin(username_policy::UsernamePolicy),
];
