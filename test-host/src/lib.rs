//! # Plugboard test host
//!
//! Tests a plugin on the **real** Plugboard host, in-process: the same
//! runtime, checks and HTTP stack a server runs, on a fresh data folder
//! with SQLite, so a test fails where production would refuse.
//!
//! * routes are called by method and path over HTTP on loopback, with the
//!   caller chosen per request (anonymous, a `user` or `admin` account, the
//!   admin token), and the route's access level from the manifest applies;
//! * KV keys, SQL (namespacing, the engine's authorizer), migrations,
//!   capabilities, event names and outbound hosts are checked by the host's
//!   own code, and refused with the same error kinds and messages;
//! * every event emitted is captured ([`TestHost::events`]), and events
//!   can be delivered to the plugin's subscriptions ([`TestHost::deliver`]);
//! * jobs fire when the test moves the clock ([`TestHost::advance`]), through
//!   the same run path (records, deadlines, fault policy).
//!
//! The plugin runs as a built-in (its `rlib`, in the test's process): a
//! debugger and coverage see it, and no library has to be built first. The
//! manifest is the crate's `plugin.json`.
//!
//! ```
//! use plugboard_plugin_api::prelude::*;
//! use plugboard_test_host::TestHost;
//!
//! #[derive(Default)]
//! struct Counter;
//!
//! impl Counter {
//!     fn bump(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
//!         let n: u64 = ctx.kv().get("n")?.unwrap_or(0) + 1;
//!         ctx.kv().set("n", &n)?;
//!         ctx.events().emit("plugin.counter.bumped", &n)?;
//!         Ok(Response::json(&n))
//!     }
//! }
//!
//! impl Plugin for Counter {
//!     fn slug(&self) -> &str { "counter" }
//!     fn version(&self) -> &str { "1.0.0" }
//!     fn routes(&self) -> Vec<Route<Self>> { vec![Route::post("/bump", Self::bump)] }
//! }
//!
//! let host = TestHost::of::<Counter>()
//!     .manifest(r#"{
//!         "slug": "counter", "version": "1.0.0",
//!         "capabilities": { "kv": true, "routes": true,
//!                           "events": { "emit": ["plugin.counter.*"] } },
//!         "routes": [{ "method": "POST", "path": "/bump", "access": "user" }]
//!     }"#)
//!     .start()
//!     .unwrap();
//!
//! // The route's access level applies: nobody signed in is refused.
//! assert_eq!(host.post("/bump").send().status(), 401);
//! let res = host.post("/bump").as_user("ann").send();
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.json::<u64>(), 1);
//! assert_eq!(host.kv::<u64>("n").unwrap(), Some(1));
//! assert_eq!(host.events().last().unwrap().name, "plugin.counter.bumped");
//! ```

mod call;
mod error;
mod host;

pub use call::{Call, TestResponse};
pub use error::TestHostError;
pub use host::{default_start, Builder, Emitted, MakePlugin, TestHost};
pub use plugboard_core::scheduler::{manual::Fired, JobRun};
