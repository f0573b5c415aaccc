//! # Plugboard core
//!
//! The host runtime: it loads built-in and dynamic plugins, keeps their
//! persisted lifecycle, gives each a scoped context, dispatches hooks in a
//! resolved order, serves plugin routes, and exposes the admin API.
//!
//! | module | concern |
//! |---|---|
//! | [`runtime`] | the [`Runtime`] value: start-up, lifecycle operations, dispatch |
//! | [`lifecycle`] | states, transitions, compare-and-swap store and audit |
//! | [`loader`] | loading `.so` plugins (the only `unsafe` in the host) |
//! | [`inspect`] | checking a bundle's library in a short-lived child process |
//! | [`manifest`], [`capabilities`] | `plugin.json` and what it grants |
//! | [`capability`] | one module per host capability, and the lifecycle loops over them |
//! | [`slug`] | the checked plugin slug every path is built from |
//! | [`marketplace`] | bundles, signatures, catalogs, install |
//! | [`registry`] | a loaded plugin and the guarded call into it |
//! | [`hooks`] | hook ordering |
//! | [`routes`] | the plugin route table |
//! | [`file_store`] | the files capability's storage |
//! | [`kv`], `scope` | KV storage and the per-plugin host services |
//! | [`sql`] | namespaced SQL: the isolation check, execution, plugin migrations |
//! | [`events`] | the event bus |
//! | [`scheduler`] | plugin cron jobs |
//! | [`config`] | plugin configuration: schema validation, defaults, masking |
//! | [`outbound`] | outbound HTTP made for plugins |
//! | [`metrics`], [`fault`] | per-plugin metrics and the fault policy |
//! | [`prometheus`] | the metrics in the Prometheus text format (`GET /metrics`) |
//! | [`users`] | the user accounts the user hooks fire on |
//! | [`services`] | the services over a runtime (marketplace, accounts, metrics history) |
//! | [`http`] | the actix-web server: admin API and plugin routes |
//! | [`db`] | database connection, migrations, the sync bridge |

pub mod access;
pub mod auth;
mod background;
pub mod capabilities;
pub mod capability;
pub mod cluster;
pub mod config;
pub mod db;
mod entity;
pub mod events;
pub mod exec;
pub mod fault;
pub mod file_store;
pub mod hooks;
pub mod http;
pub mod inspect;
pub mod kv;
pub mod lifecycle;
pub mod loader;
pub mod manifest;
pub mod marketplace;
pub mod metrics;
pub mod outbound;
pub mod private_files;
pub mod prometheus;
pub mod registry;
pub mod routes;
pub mod runtime;
pub mod scheduler;
mod scope;
pub mod services;
pub mod settings;
pub mod shared_state;
pub mod slug;
pub mod sql;
pub mod toolkit;
pub mod ui;
pub mod users;

pub use plugboard_plugin_api::BuiltinPlugin;
pub use runtime::{LoadProblem, Runtime, RuntimeConfig, RuntimeError};
pub use services::Services;
pub use slug::Slug;
