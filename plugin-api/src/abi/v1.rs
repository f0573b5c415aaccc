//! The ABI of plugins built against plugin-api 1.0–1.5, frozen.
//!
//! Those versions carried the error kind as a closed `#[repr(u8)]` enum of
//! six kinds; since 1.6 the same byte is an open integer
//! ([`crate::ErrorKind`]). The memory representation is identical (one
//! byte, values `0..6`), but abi_stable's layout check compares the types
//! by shape, so the host checks an older plugin's root module and vtables
//! against these copies (the 1.5 shapes, of which the 1.0–1.4 shapes are
//! prefixes) and then uses the current types. The host must never hand such
//! a plugin a kind outside `0..6`: see
//! [`PluginError::for_peer`](crate::PluginError::for_peer).
//!
//! Never edit this file: it is what those plugins were built with.
#![allow(missing_docs)]

use std::ffi::c_void;

use abi_stable::{
    std_types::{ROption, RResult, RStr, RString, RVec},
    type_layout::TypeLayout,
    StableAbi,
};

use super::{CallerInfo, HostHandle, JobSpec, Migration, PluginHandle, RouteSpec};
use crate::{
    hooks::{HookSpec, NewUser, PluginEvent, User},
    http::{Request, Response},
};

/// The closed error kind of plugin-api 1.0–1.5.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Failed = 0,
    Panicked = 1,
    Refused = 2,
    Unsupported = 3,
    Invalid = 4,
    NotFound = 5,
}

/// The error of plugin-api 1.0–1.5 (same fields as [`crate::PluginError`]).
#[repr(C)]
#[derive(StableAbi)]
pub struct PluginError {
    kind: ErrorKind,
    message: RString,
}

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginRootRef)))]
#[sabi(missing_field(panic))]
pub struct PluginRoot {
    pub api_version: RStr<'static>,
    pub panic_unwind: bool,
    pub plugin_vtable_layout: &'static TypeLayout,
    pub host_vtable_layout: &'static TypeLayout,
    #[sabi(last_prefix_field)]
    pub instantiate: extern "C" fn() -> RResult<PluginHandle, PluginError>,
}

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix))]
#[sabi(missing_field(option))]
pub struct PluginVTable {
    pub drop: extern "C" fn(state: *const c_void),
    pub hooks: extern "C" fn(state: *const c_void) -> RResult<RVec<HookSpec>, PluginError>,
    pub routes: extern "C" fn(state: *const c_void) -> RResult<RVec<RouteSpec>, PluginError>,
    pub lifecycle:
        extern "C" fn(state: *const c_void, ctx: HostHandle, phase: u8) -> RResult<(), PluginError>,
    pub user_hook: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        hook: u8,
        user: &User,
    ) -> RResult<(), PluginError>,
    pub before_user_create: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        user: &mut NewUser,
    ) -> RResult<(), PluginError>,
    pub system_hook: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        startup: bool,
    ) -> RResult<(), PluginError>,
    pub plugin_event: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        event: &PluginEvent<'_>,
    ) -> RResult<(), PluginError>,
    #[sabi(last_prefix_field)]
    pub handle_route: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        index: u32,
        request: &Request<'_>,
    ) -> RResult<Response, PluginError>,
    pub migrations: extern "C" fn(state: *const c_void) -> RResult<RVec<Migration>, PluginError>,
    pub subscriptions: extern "C" fn(state: *const c_void) -> RResult<RVec<RString>, PluginError>,
    pub on_event: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        name: RStr<'_>,
        payload: RStr<'_>,
    ) -> RResult<(), PluginError>,
    pub jobs: extern "C" fn(state: *const c_void) -> RResult<RVec<JobSpec>, PluginError>,
    pub run_job: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        index: u32,
    ) -> RResult<(), PluginError>,
    pub config_schema:
        extern "C" fn(state: *const c_void) -> RResult<ROption<RString>, PluginError>,
    pub on_config_changed: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        config: RStr<'_>,
    ) -> RResult<(), PluginError>,
    pub on_upgrade: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        from_version: RStr<'_>,
    ) -> RResult<(), PluginError>,
    pub handle_route_as: extern "C" fn(
        state: *const c_void,
        ctx: HostHandle,
        index: u32,
        request: &Request<'_>,
        caller: &CallerInfo<'_>,
    ) -> RResult<Response, PluginError>,
}

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix))]
#[sabi(missing_field(option))]
pub struct HostVTable {
    pub log: extern "C" fn(data: *const c_void, level: u8, message: RStr<'_>),
    pub kv_get:
        extern "C" fn(data: *const c_void, key: RStr<'_>) -> RResult<ROption<RString>, PluginError>,
    pub kv_set: extern "C" fn(
        data: *const c_void,
        key: RStr<'_>,
        value: RStr<'_>,
    ) -> RResult<(), PluginError>,
    #[sabi(last_prefix_field)]
    pub kv_delete: extern "C" fn(data: *const c_void, key: RStr<'_>) -> RResult<bool, PluginError>,
    pub kv_keys:
        extern "C" fn(data: *const c_void, prefix: RStr<'_>) -> RResult<RVec<RString>, PluginError>,
    pub kv_clear: extern "C" fn(data: *const c_void) -> RResult<u64, PluginError>,
    pub sql_exec: extern "C" fn(
        data: *const c_void,
        sql: RStr<'_>,
        params: RStr<'_>,
    ) -> RResult<u64, PluginError>,
    pub sql_query: extern "C" fn(
        data: *const c_void,
        sql: RStr<'_>,
        params: RStr<'_>,
    ) -> RResult<RString, PluginError>,
    pub sql_batch:
        extern "C" fn(data: *const c_void, statements: RStr<'_>) -> RResult<RString, PluginError>,
    pub emit: extern "C" fn(
        data: *const c_void,
        name: RStr<'_>,
        payload: RStr<'_>,
        wait: bool,
    ) -> RResult<RString, PluginError>,
    pub config_get: extern "C" fn(data: *const c_void) -> RResult<RString, PluginError>,
    pub http_send:
        extern "C" fn(data: *const c_void, request: RStr<'_>) -> RResult<RString, PluginError>,
}
