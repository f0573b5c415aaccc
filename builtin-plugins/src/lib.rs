//! Plugins compiled into the `plugboard` binary.
//!
//! The registry is the constant [`ALL`]: for each plugin its manifest
//! (`manifests/{slug}.json`, the same format as a dynamic plugin's
//! `plugin.json`, without `library`) and its constructor, one plugin per
//! module. There is no global mutable state; the host builds its runtime from
//! this list.

use plugboard_plugin_api::{builtin, BuiltinPlugin};

pub mod activity;
pub mod username_policy;
pub mod webhooks;

/// Every built-in plugin.
pub const ALL: &[BuiltinPlugin] = &[
    BuiltinPlugin {
        manifest: include_str!("../manifests/activity.json"),
        make: || builtin(activity::Activity),
    },
    BuiltinPlugin {
        manifest: include_str!("../manifests/username-policy.json"),
        make: || builtin(username_policy::UsernamePolicy),
    },
    BuiltinPlugin {
        manifest: include_str!("../manifests/webhooks.json"),
        make: || builtin(webhooks::Webhooks),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_manifest_names_its_plugin_and_version() {
        for plugin in ALL {
            let manifest: serde_json::Value = serde_json::from_str(plugin.manifest).unwrap();
            let object = (plugin.make)().unwrap();
            assert_eq!(manifest["slug"], object.slug());
            assert_eq!(manifest["version"], object.version());
        }
    }
}
