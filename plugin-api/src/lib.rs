//! # Plugboard plugin API
//!
//! The crate plugin authors depend on. It holds the contract between the
//! Plugboard host and its plugins and nothing else:
//!
//! * [`Plugin`]: the one trait every plugin implements, built-in or dynamic;
//! * [`Context`]: the host services a plugin gets on every call (KV, SQL,
//!   events, config, outbound HTTP, logs);
//! * [`Request`] / [`Response`]: what a plugin route receives and returns;
//! * [`Caller`]: who is calling a route (`ctx.caller()`, since 1.5): the host
//!   authenticates and enforces each route's access (declared in the
//!   manifest) before the plugin runs, and never passes credentials on;
//! * [`Hook`] / [`HookSpec`]: platform hooks and their ordering;
//! * [`platform`]: the events the host emits, as types (since 1.7);
//! * [`Route`]'s documentation ([`RouteDoc`], since 1.7): the host's OpenAPI
//!   document lists it;
//! * [`testing::MemoryHost`]: a plugin without a host, for unit tests (the
//!   `plugboard-test-host` crate runs it on the real host instead);
//! * [`export_plugin!`]: turns a `cdylib` into a loadable plugin;
//! * [`abi`]: the FFI-safe root module and vtables, and how they evolve.
//!
//! ```no_run
//! use plugboard_plugin_api::prelude::*;
//!
//! #[derive(Default)]
//! pub struct Hello;
//!
//! impl Hello {
//!     fn hello(&self, _ctx: &Context, _req: &Request) -> PluginResult<Response> {
//!         Ok(Response::json(&serde_json::json!({"hello": "world"})))
//!     }
//! }
//!
//! impl Plugin for Hello {
//!     fn slug(&self) -> &str { "hello" }
//!     fn version(&self) -> &str { env!("CARGO_PKG_VERSION") }
//!     fn routes(&self) -> Vec<Route<Self>> { vec![Route::get("/hello", Self::hello)] }
//! }
//!
//! export_plugin!(Hello::default());
//! ```
//!
//! Panics never cross the boundary: every generated entry point catches them
//! and returns a [`PluginError`] of kind [`ErrorKind::Panicked`].

pub mod abi;
mod caller;
mod context;
mod error;
mod events;
pub mod files;
pub mod guest;
mod hooks;
pub mod host;
mod http;
mod object;
mod outbound;
pub mod platform;
mod plugin;
pub mod testing;

pub use abi::Migration;
pub use caller::{Caller, CallerAccount};
pub use context::{Context, Kv, Logger, Sql};
pub use error::{ErrorKind, PluginError, PluginResult};
pub use events::{event_matches, Event, EventFailure, Events};
pub use guest::{builtin, BuiltinPlugin};
pub use hooks::{Hook, HookCall, HookSpec, NewUser, Phase, PluginEvent, User};
pub use http::{Method, Request, Response};
pub use object::PluginObject;
pub use outbound::{Http, OutboundRequest, OutboundResponse};
pub use plugin::{Handler, Job, JobHandler, Plugin, Route, RouteDoc};

/// Everything a plugin author needs, in one import.
pub mod prelude {
    pub use crate::{
        export_plugin, Caller, Context, ErrorKind, Event, Hook, HookSpec, Job, Method, Migration,
        NewUser, Plugin, PluginError, PluginEvent, PluginResult, Request, Response, Route, User,
    };
}

#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_macro_uses_the_loader_symbol_name() {
        assert_eq!(
            abi_stable::library::ROOT_MODULE_LOADER_NAME,
            "_1as_0lib_1header_0root_bmodule_bloader"
        );
    }
}
