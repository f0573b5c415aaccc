//! The binary interface between the host and a dynamic plugin.
//!
//! # How this interface grows
//!
//! abi_stable checks a loaded library's types against the host's and accepts
//! an *implementation* that has more prefix fields than the *interface* it is
//! checked against, never fewer. Both directions of our boundary grow:
//!
//! * the plugin provides [`PluginVTable`] (hooks) and the host reads it;
//! * the host provides [`HostVTable`] (context services) and the plugin reads it.
//!
//! A host on plugin-api 1.2 must load a plugin built against 1.0, whose
//! `HostVTable` has fewer fields than the host's. Were the vtables part of the
//! root module's type, abi_stable would refuse that plugin. So:
//!
//! 1. The root module, [`PluginRoot`], is **frozen**: it never gains a field.
//!    It carries the plugin's plugin-api version, its panic strategy, the type
//!    layouts of both vtables as the plugin saw them, and a constructor.
//! 2. The vtables reach the other side as opaque pointers ([`HostHandle`],
//!    [`PluginHandle`]), so they are not part of the root module's layout.
//! 3. The host checks each vtable itself with
//!    [`check_layout_compatibility`](abi_stable::abi_stability::check_layout_compatibility),
//!    passing the *older* side's layout as the interface: the plugin's view of
//!    `HostVTable` (fewer fields) against the host's, and the plugin's
//!    `PluginVTable` against the host's view. Fields in the shared prefix must
//!    match exactly; later fields are read through `Option` accessors that
//!    consult the provider's own field count at run time.
//! 4. A plugin built against a *newer* minor version than the host's is refused
//!    by version before any layout check: it could call services the host lacks.
//!
//! New services are appended to `HostVTable` after its last field; new hooks to
//! `PluginVTable`. Nothing is ever removed or reordered within a major version.
//!
//! The `unsafe` allowed here is only in the field accessors that abi_stable's
//! `StableAbi` derive generates for prefix types.
#![allow(unsafe_code)]

use std::ffi::c_void;

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RSlice, RStr, RString, RVec},
    type_layout::TypeLayout,
    StableAbi,
};

pub mod v1;

use crate::{
    error::PluginError,
    hooks::{HookSpec, NewUser, PluginEvent, User},
    http::{Request, Response},
};

/// The plugin-api version this crate was built as (`CARGO_PKG_VERSION`).
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The root module every dynamic plugin exports. Frozen: see the module docs.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginRootRef)))]
#[sabi(missing_field(panic))]
pub struct PluginRoot {
    /// The plugin-api version the plugin was built against.
    pub api_version: RStr<'static>,
    /// `true` when the plugin was built with `panic = "unwind"`; the host
    /// refuses `panic = "abort"` builds, whose panics would end the process.
    pub panic_unwind: bool,
    /// The layout of [`PluginVTable_Ref`] as the plugin was built.
    pub plugin_vtable_layout: &'static TypeLayout,
    /// The layout of [`HostVTable_Ref`] as the plugin was built.
    pub host_vtable_layout: &'static TypeLayout,
    /// Creates the plugin instance.
    #[sabi(last_prefix_field)]
    pub instantiate: extern "C" fn() -> RResult<PluginHandle, PluginError>,
}

impl RootModule for PluginRootRef {
    declare_root_module_statics! {PluginRootRef}
    const BASE_NAME: &'static str = "plugboard_plugin";
    const NAME: &'static str = "plugboard_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// A plugin instance as created by [`PluginRoot::instantiate`].
#[repr(C)]
#[derive(StableAbi)]
pub struct PluginHandle {
    /// The plugin's slug, from its code.
    pub slug: RString,
    /// The plugin's version, from its code.
    pub version: RString,
    /// The instance; only the plugin's own vtable functions touch it.
    pub state: *const c_void,
    /// A `PluginVTable_Ref` behind an opaque pointer (see the module docs).
    pub vtable: *const c_void,
}

/// The context handed to every call into a plugin: the host's services
/// ([`HostVTable`]) and the calling plugin's own scope.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostHandle {
    /// A `HostVTable_Ref` behind an opaque pointer.
    pub vtable: *const c_void,
    /// The host's per-plugin data; only the host's vtable functions touch it.
    pub data: *const c_void,
}

/// A route a plugin declares: method and path pattern below its prefix.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: RString,
    /// A pattern such as `/entries/{id}`.
    pub path: RString,
}

/// Log levels crossing the boundary.
pub mod log_level {
    /// Error.
    pub const ERROR: u8 = 1;
    /// Warning.
    pub const WARN: u8 = 2;
    /// Information.
    pub const INFO: u8 = 3;
    /// Debugging detail.
    pub const DEBUG: u8 = 4;
}

/// Lifecycle phases crossing the boundary.
pub mod phase {
    /// `on_load`
    pub const LOAD: u8 = 1;
    /// `on_enable`
    pub const ENABLE: u8 = 2;
    /// `on_disable`
    pub const DISABLE: u8 = 3;
    /// `on_unload`
    pub const UNLOAD: u8 = 4;
}

/// Action hooks whose only data is a user, crossing the boundary.
pub mod user_hook {
    /// `user.created`
    pub const CREATED: u8 = 1;
    /// `user.updated`
    pub const UPDATED: u8 = 2;
    /// `user.deleted`
    pub const DELETED: u8 = 3;
    /// `user.login`
    pub const LOGIN: u8 = 4;
    /// `user.logout`
    pub const LOGOUT: u8 = 5;
}

/// Kinds of [`CallerInfo`] (since 1.5).
pub mod caller_kind {
    /// No credentials.
    pub const ANONYMOUS: u8 = 0;
    /// A signed-in account.
    pub const ACCOUNT: u8 = 1;
    /// The admin bearer token.
    pub const TOKEN: u8 = 2;
}

/// The caller of a route as it crosses the boundary (since 1.5), borrowed
/// for the call; plugins read it as a [`Caller`](crate::Caller).
///
/// `id`, `username`, `role` and `permissions` are meaningful for
/// [`caller_kind::ACCOUNT`] only (zero and empty otherwise).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct CallerInfo<'a> {
    /// One of [`caller_kind`].
    pub kind: u8,
    /// The account's id.
    pub id: i64,
    /// The account's name.
    pub username: RStr<'a>,
    /// The account's role (`user`, `admin`).
    pub role: RStr<'a>,
    /// The calling plugin's permissions the account holds.
    pub permissions: RSlice<'a, RStr<'a>>,
}

impl CallerInfo<'static> {
    /// An anonymous caller.
    pub const EMPTY: CallerInfo<'static> = CallerInfo {
        kind: caller_kind::ANONYMOUS,
        id: 0,
        username: RStr::from_str(""),
        role: RStr::from_str(""),
        permissions: RSlice::from_slice(&[]),
    };
}

/// What a plugin provides to the host. Grows by appending fields.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix))]
#[sabi(missing_field(option))]
pub struct PluginVTable {
    /// Frees the instance.
    pub drop: extern "C" fn(state: *const c_void),
    /// The hooks the plugin implements.
    pub hooks: extern "C" fn(state: *const c_void) -> RResult<RVec<HookSpec>, PluginError>,
    /// The routes the plugin serves (the index is passed to `handle_route`).
    pub routes: extern "C" fn(state: *const c_void) -> RResult<RVec<RouteSpec>, PluginError>,
    /// A lifecycle phase (see [`phase`]).
    pub lifecycle:
        extern "C" fn(state: *const c_void, ctx: HostHandle, phase: u8) -> RResult<(), PluginError>,
    /// A user action hook (see [`user_hook`]).
    pub user_hook: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        hook: u8,
        user: &User,
    ) -> RResult<(), PluginError>,
    /// The `user.before_create` filter: may edit `user`; an `Err` of kind
    /// `Refused` vetoes the creation.
    pub before_user_create: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        user: &mut NewUser,
    ) -> RResult<(), PluginError>,
    /// `system.startup` (`true`) or `system.shutdown` (`false`).
    pub system_hook: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        startup: bool,
    ) -> RResult<(), PluginError>,
    /// `plugin.lifecycle`.
    pub plugin_event: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        event: &PluginEvent<'_>,
    ) -> RResult<(), PluginError>,
    /// Serves the route at `index` in the list from `routes`.
    #[sabi(last_prefix_field)]
    pub handle_route: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        index: u32,
        request: &Request<'_>,
    ) -> RResult<Response, PluginError>,
    /// Since 1.2: the plugin's SQL migrations, in order.
    pub migrations: extern "C" fn(state: *const c_void) -> RResult<RVec<Migration>, PluginError>,
    /// Since 1.2: the event patterns the plugin subscribes to.
    pub subscriptions: extern "C" fn(state: *const c_void) -> RResult<RVec<RString>, PluginError>,
    /// Since 1.2: one event (name and JSON payload) for a subscription.
    pub on_event: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        name: RStr<'_>,
        payload: RStr<'_>,
    ) -> RResult<(), PluginError>,
    /// Since 1.2: the plugin's scheduled jobs (the index is passed to `run_job`).
    pub jobs: extern "C" fn(state: *const c_void) -> RResult<RVec<JobSpec>, PluginError>,
    /// Since 1.2: runs the job at `index`.
    pub run_job: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        index: u32,
    ) -> RResult<(), PluginError>,
    /// Since 1.2: the JSON Schema of the plugin's configuration, if any.
    pub config_schema:
        extern "C" fn(state: *const c_void) -> RResult<ROption<RString>, PluginError>,
    /// Since 1.2: the configuration changed (JSON text, defaults applied).
    pub on_config_changed: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        config: RStr<'_>,
    ) -> RResult<(), PluginError>,
    /// Since 1.4: the plugin replaced version `from_version` (called on the
    /// new version after its migrations, before it goes live).
    pub on_upgrade: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        from_version: RStr<'_>,
    ) -> RResult<(), PluginError>,
    /// Since 1.5: serves the route at `index` for `caller` (the host calls
    /// this instead of `handle_route` when the plugin provides it).
    pub handle_route_as: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        index: u32,
        request: &Request<'_>,
        caller: &CallerInfo<'_>,
    ) -> RResult<Response, PluginError>,
    /// Since 1.7: the routes' documentation, as a JSON array with one
    /// [`RouteDoc`](crate::RouteDoc) per route, in `routes` order.
    pub route_docs: extern "C" fn(state: *const c_void) -> RResult<RString, PluginError>,
}

/// A scheduled job a plugin declares (since 1.2): a name unique within the
/// plugin and a schedule: a 5-field cron expression (`*/5 * * * *`),
/// `@hourly` / `@daily` / `@weekly` / `@monthly`, or an interval of at
/// least a second (`every 30s`, `every 5m`, `every 1h`).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// The job's name.
    pub name: RString,
    /// Its schedule.
    pub schedule: RString,
}

/// One versioned schema migration of a plugin (since 1.2).
///
/// Migrations are applied in order when the plugin is enabled, each in its
/// own transaction, and recorded by id: an applied id is never run again.
/// Table names are the plugin's short names.
///
/// ```
/// use plugboard_plugin_api::abi::Migration;
/// let m = Migration::new("0001_entries", &["CREATE TABLE entries (id INTEGER PRIMARY KEY, body TEXT)"]);
/// assert_eq!(m.id(), "0001_entries");
/// ```
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    id: RString,
    statements: RVec<RString>,
    postgres: RVec<RString>,
}

impl Migration {
    /// A migration: a unique id (sorts in apply order) and its statements.
    pub fn new(id: &str, statements: &[&str]) -> Self {
        Self {
            id: id.into(),
            statements: statements.iter().map(|s| RString::from(*s)).collect(),
            postgres: RVec::new(),
        }
    }
    /// Different statements for PostgreSQL, where its dialect differs (for
    /// example `GENERATED ALWAYS AS IDENTITY` for SQLite's `AUTOINCREMENT`).
    pub fn postgres(mut self, statements: &[&str]) -> Self {
        self.postgres = statements.iter().map(|s| RString::from(*s)).collect();
        self
    }
    /// The PostgreSQL statements (the common ones if none were given).
    pub fn postgres_statements(&self) -> impl Iterator<Item = &str> {
        let list = if self.postgres.is_empty() {
            &self.statements
        } else {
            &self.postgres
        };
        list.iter().map(|s| s.as_str())
    }
    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The statements, one per entry.
    pub fn statements(&self) -> impl Iterator<Item = &str> {
        self.statements.iter().map(|s| s.as_str())
    }
}

/// What the host provides to plugins: the context services. Grows by
/// appending fields; every function receives the calling plugin's
/// [`HostHandle::data`] and acts only within that plugin's scope.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix))]
#[sabi(missing_field(option))]
pub struct HostVTable {
    /// Structured log line tagged with the plugin (see [`log_level`]).
    pub log: extern "C" fn(data: *const c_void, level: u8, message: RStr<'_>),
    /// KV get: the JSON text of the value, if any.
    pub kv_get:
        extern "C" fn(data: *const c_void, key: RStr<'_>) -> RResult<ROption<RString>, PluginError>,
    /// KV set: `value` is JSON text.
    pub kv_set: extern "C" fn(
        data: *const c_void,
        key: RStr<'_>,
        value: RStr<'_>,
    ) -> RResult<(), PluginError>,
    /// KV delete: whether the key existed.
    #[sabi(last_prefix_field)]
    pub kv_delete: extern "C" fn(data: *const c_void, key: RStr<'_>) -> RResult<bool, PluginError>,
    /// Since 1.1: the keys starting with a prefix, sorted.
    pub kv_keys:
        extern "C" fn(data: *const c_void, prefix: RStr<'_>) -> RResult<RVec<RString>, PluginError>,
    /// Since 1.1: deletes every key; the number deleted.
    pub kv_clear: extern "C" fn(data: *const c_void) -> RResult<u64, PluginError>,
    /// Since 1.2: runs one statement in the plugin's namespace; `params` is a
    /// JSON array; returns the number of rows affected.
    pub sql_exec: extern "C" fn(
        data: *const c_void,
        sql: RStr<'_>,
        params: RStr<'_>,
    ) -> RResult<u64, PluginError>,
    /// Since 1.2: runs one query; returns its rows as a JSON array of objects.
    pub sql_query: extern "C" fn(
        data: *const c_void,
        sql: RStr<'_>,
        params: RStr<'_>,
    ) -> RResult<RString, PluginError>,
    /// Since 1.2: runs `[{"sql", "params"}, …]` atomically; returns the rows
    /// affected by each statement as a JSON array.
    pub sql_batch:
        extern "C" fn(data: *const c_void, statements: RStr<'_>) -> RResult<RString, PluginError>,
    /// Since 1.2: emits an event in the plugin's namespace (`plugin.{slug}.…`)
    /// with a JSON payload. With `wait`, delivers to every subscriber before
    /// returning their failures as a JSON array of `{"plugin", "error"}`;
    /// without, queues it and returns `[]` at once.
    pub emit: extern "C" fn(
        data: *const c_void,
        name: RStr<'_>,
        payload: RStr<'_>,
        wait: bool,
    ) -> RResult<RString, PluginError>,
    /// Since 1.2: the plugin's configuration as JSON text (`{}` when none).
    pub config_get: extern "C" fn(data: *const c_void) -> RResult<RString, PluginError>,
    /// Since 1.3: makes an HTTP request for the plugin; `request` and the
    /// answer are JSON ([`OutboundRequest`](crate::OutboundRequest),
    /// [`OutboundResponse`](crate::OutboundResponse)).
    pub http_send:
        extern "C" fn(data: *const c_void, request: RStr<'_>) -> RResult<RString, PluginError>,
    /// Since 1.6: per-plugin file storage, a sub-vtable that grows on its
    /// own ([`crate::files::FilesVTable`]).
    pub files: crate::files::FilesVTable_Ref,
}
