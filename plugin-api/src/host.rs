//! Host-side glue of the contract: the [`HostVTable`] built over any
//! [`HostServices`] implementation, and the safe way to make a [`Context`].
#![allow(unsafe_code)]

use std::{ffi::c_void, marker::PhantomData};

use abi_stable::{
    prefix_type::WithMetadata,
    std_types::{ROption, RResult, RStr, RString, RVec},
};

use crate::{
    abi::{HostHandle, HostVTable, HostVTable_Ref},
    context::Context,
    error::{PluginError, PluginResult},
    guest::guard,
};

/// Log levels a plugin can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Error.
    Error,
    /// Warning.
    Warn,
    /// Information.
    Info,
    /// Debugging detail.
    Debug,
}

/// The services a host gives one plugin. Each value is scoped to one plugin:
/// the host creates one per plugin and the plugin can reach nothing else.
///
/// Implemented by the Plugboard host; a test double can implement it to run
/// a plugin without a host.
pub trait HostServices: Send + Sync + 'static {
    /// Writes a log line tagged with the plugin.
    fn log(&self, level: LogLevel, message: &str);
    /// The JSON text stored under `key`.
    fn kv_get(&self, key: &str) -> PluginResult<Option<String>>;
    /// Stores JSON text under `key`.
    fn kv_set(&self, key: &str, value_json: &str) -> PluginResult<()>;
    /// Deletes `key`; whether it existed.
    fn kv_delete(&self, key: &str) -> PluginResult<bool>;
    /// The keys starting with `prefix`, sorted.
    fn kv_keys(&self, prefix: &str) -> PluginResult<Vec<String>>;
    /// Deletes every key; how many.
    fn kv_clear(&self) -> PluginResult<u64>;
}

/// A context for a call into a plugin, over `services`.
///
/// ```
/// use plugboard_plugin_api::{host::{context_for, HostServices, LogLevel}, PluginResult};
///
/// struct Quiet;
/// impl HostServices for Quiet {
///     fn log(&self, _: LogLevel, _: &str) {}
///     fn kv_get(&self, _: &str) -> PluginResult<Option<String>> { Ok(Some("41".into())) }
///     fn kv_set(&self, _: &str, _: &str) -> PluginResult<()> { Ok(()) }
///     fn kv_delete(&self, _: &str) -> PluginResult<bool> { Ok(false) }
///     fn kv_keys(&self, _: &str) -> PluginResult<Vec<String>> { Ok(vec![]) }
///     fn kv_clear(&self) -> PluginResult<u64> { Ok(0) }
/// }
/// let services = Quiet;
/// let ctx = context_for(&services);
/// assert_eq!(ctx.kv().get::<u32>("answer").unwrap(), Some(41));
/// ```
pub fn context_for<S: HostServices>(services: &S) -> Context<'_> {
    let handle = HostHandle {
        vtable: HostVTableFor::<S>::REF.0.to_raw_ptr() as *const c_void,
        data: services as *const S as *const c_void,
    };
    // SAFETY: the vtable is this crate's own `HostVTable` for `S` (so its
    // layout is ours), and `data` points to an `S` that outlives the context.
    unsafe { Context::from_raw(handle) }
}

// Invariant for the functions below: `data` is the `*const S` that
// `context_for::<S>` put in the handle, alive for the duration of the call.
fn services<'a, S>(data: *const c_void) -> &'a S {
    // SAFETY: see the invariant above.
    unsafe { &*(data as *const S) }
}

extern "C" fn log<S: HostServices>(data: *const c_void, level: u8, message: RStr<'_>) {
    use crate::abi::log_level;
    let level = match level {
        log_level::ERROR => LogLevel::Error,
        log_level::WARN => LogLevel::Warn,
        log_level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Info,
    };
    let _ = guard(|| {
        services::<S>(data).log(level, message.as_str());
        Ok(())
    });
}

extern "C" fn kv_get<S: HostServices>(
    data: *const c_void,
    key: RStr<'_>,
) -> RResult<ROption<RString>, PluginError> {
    guard(|| services::<S>(data).kv_get(key.as_str()))
        .map(|v| v.map(RString::from).into())
        .into()
}

extern "C" fn kv_set<S: HostServices>(
    data: *const c_void,
    key: RStr<'_>,
    value: RStr<'_>,
) -> RResult<(), PluginError> {
    guard(|| services::<S>(data).kv_set(key.as_str(), value.as_str())).into()
}

extern "C" fn kv_delete<S: HostServices>(
    data: *const c_void,
    key: RStr<'_>,
) -> RResult<bool, PluginError> {
    guard(|| services::<S>(data).kv_delete(key.as_str())).into()
}

extern "C" fn kv_keys<S: HostServices>(
    data: *const c_void,
    prefix: RStr<'_>,
) -> RResult<RVec<RString>, PluginError> {
    guard(|| services::<S>(data).kv_keys(prefix.as_str()))
        .map(|keys| keys.into_iter().map(RString::from).collect())
        .into()
}

extern "C" fn kv_clear<S: HostServices>(data: *const c_void) -> RResult<u64, PluginError> {
    guard(|| services::<S>(data).kv_clear()).into()
}

struct HostVTableFor<S>(PhantomData<S>);

impl<S: HostServices> HostVTableFor<S> {
    const WM: &'static WithMetadata<HostVTable> = &WithMetadata::new(HostVTable {
        log: log::<S>,
        kv_get: kv_get::<S>,
        kv_set: kv_set::<S>,
        kv_delete: kv_delete::<S>,
        kv_keys: kv_keys::<S>,
        kv_clear: kv_clear::<S>,
    });
    const REF: HostVTable_Ref = HostVTable_Ref(Self::WM.static_as_prefix());
}
