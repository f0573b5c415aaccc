//! Capabilities: what a plugin's manifest says it uses, and the checks that
//! hold it to that.
//!
//! ```json
//! "capabilities": {
//!   "kv": true, "sql": true, "routes": true, "cron": true, "ui": false,
//!   "events": { "emit": ["plugin.guestbook.*"], "subscribe": ["user.*"] },
//!   "network": ["hooks.example.com", "*.example.org", "127.0.0.1"]
//! }
//! ```
//!
//! Anything left out is not granted. Host services check at each call
//! (KV, SQL, emit, outbound HTTP); what a plugin declares in code (routes,
//! jobs, subscriptions, migrations) is checked when it is enabled. A refusal
//! names the missing capability.
//!
//! The types and checks live in `plugboard-manifest`
//! ([`plugboard_manifest::capabilities`]); this path keeps the host's
//! imports. What stays here needs the plugin's code: inferring the
//! capabilities of a manifest without them ([`infer_from_code`]).

use plugboard_plugin_api::PluginObject;

use crate::manifest::Manifest;

pub use plugboard_manifest::capabilities::{
    Capabilities, CapabilitiesError, Capability, CapabilityDenied, Declared, EventCapabilities,
};

/// For a manifest without `capabilities` (written for a host older than
/// them): grants what `object`'s code declares — routes, jobs, migrations,
/// subscriptions — plus the manifest's UI contributions and `kv`, marked
/// inferred ([`Capabilities::inferred`]). A manifest with capabilities is
/// left as it is, and the code is not asked.
///
/// A declaration the code fails to give counts as none: enabling the
/// plugin asks again and reports the failure.
pub(crate) fn infer_from_code(manifest: &mut Manifest, object: &dyn PluginObject) {
    if !manifest.capabilities.inferred {
        return;
    }
    let subscriptions = object.subscriptions().unwrap_or_default();
    let declared = Declared {
        routes: object.routes().map_or(0, |r| r.len()),
        jobs: object.jobs().map_or(0, |j| j.len()),
        migrations: object.migrations().map_or(0, |m| m.len()),
        subscriptions: &subscriptions,
        ui: 0,
    };
    manifest.infer_capabilities(&declared);
    tracing::info!(
        plugin = %manifest.slug,
        capabilities = ?manifest.capabilities,
        "the manifest declares no capabilities: inferred from the plugin's code"
    );
}
