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
    outbound::{OutboundRequest, OutboundResponse},
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

/// The services a host gives one plugin, one trait per capability
/// ([`KvHost`], [`SqlHost`], [`EventsHost`], [`ConfigHost`],
/// [`NetworkHost`]; [`files`](HostServices::files) for the capabilities
/// added since 1.6, which a host may not offer). Each value is scoped to one
/// plugin: the host creates one per plugin and the plugin can reach nothing
/// else.
///
/// Implemented by the Plugboard host and by
/// [`MemoryHost`](crate::testing::MemoryHost); a test double can implement
/// it to run a plugin without a host. (The binary interface is
/// [`HostVTable`](crate::abi::HostVTable), unchanged by this grouping.)
pub trait HostServices:
    KvHost + SqlHost + EventsHost + ConfigHost + NetworkHost + Send + Sync + 'static
{
    /// Writes a log line tagged with the plugin.
    fn log(&self, level: LogLevel, message: &str);
    /// The plugin's file storage (since 1.6), if this host offers it.
    fn files(&self) -> Option<&dyn crate::files::FilesHost> {
        None
    }
    /// How many error kinds the plugin being served knows (see
    /// [`ErrorKind`](crate::ErrorKind)): errors handed to it with a kind
    /// outside `0..n` become `Failed`. A plugin built against plugin-api
    /// 1.0–1.5 knows [`ErrorKind::KNOWN_TO_V1`](crate::ErrorKind::KNOWN_TO_V1).
    fn peer_error_kinds(&self) -> u8 {
        u8::MAX
    }
}

/// The `kv` capability: JSON values under string keys, in the plugin's
/// namespace.
pub trait KvHost {
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

/// The `sql` capability: statements in the plugin's own tables.
pub trait SqlHost {
    /// Runs one statement in the plugin's namespace; rows affected.
    fn sql_exec(&self, sql: &str, params: &[serde_json::Value]) -> PluginResult<u64>;
    /// Runs one query in the plugin's namespace; rows as JSON objects.
    fn sql_query(
        &self,
        sql: &str,
        params: &[serde_json::Value],
    ) -> PluginResult<Vec<serde_json::Value>>;
    /// Runs statements atomically; rows affected by each.
    fn sql_batch(&self, statements: &[(String, Vec<serde_json::Value>)]) -> PluginResult<Vec<u64>>;
}

/// The `events` capability (emitting; subscriptions are declared by the
/// plugin and delivered by the host).
pub trait EventsHost {
    /// Emits an event in the plugin's namespace; with `wait`, the
    /// subscribers' failures as `(plugin, error)`.
    fn emit(
        &self,
        name: &str,
        payload_json: &str,
        wait: bool,
    ) -> PluginResult<Vec<(String, String)>>;
}

/// The plugin's configuration.
pub trait ConfigHost {
    /// The plugin's configuration as JSON text (`{}` when none).
    fn config_get(&self) -> PluginResult<String>;
}

/// The `network` capability: outbound HTTP.
pub trait NetworkHost {
    /// Makes an HTTP request for the plugin (since 1.3). The default refuses.
    fn http_send(&self, request: &OutboundRequest) -> PluginResult<OutboundResponse> {
        Err(PluginError::new(
            crate::ErrorKind::Unsupported,
            format!("outbound http to {} is not available here", request.url),
        ))
    }
}

/// A context for a call into a plugin, over `services`.
///
/// ```
/// use plugboard_plugin_api::host::{
///     context_for, ConfigHost, EventsHost, HostServices, KvHost, LogLevel, NetworkHost, SqlHost,
/// };
/// use plugboard_plugin_api::PluginResult;
///
/// struct Quiet;
/// impl HostServices for Quiet {
///     fn log(&self, _: LogLevel, _: &str) {}
/// }
/// impl KvHost for Quiet {
///     fn kv_get(&self, _: &str) -> PluginResult<Option<String>> { Ok(Some("41".into())) }
///     fn kv_set(&self, _: &str, _: &str) -> PluginResult<()> { Ok(()) }
///     fn kv_delete(&self, _: &str) -> PluginResult<bool> { Ok(false) }
///     fn kv_keys(&self, _: &str) -> PluginResult<Vec<String>> { Ok(vec![]) }
///     fn kv_clear(&self) -> PluginResult<u64> { Ok(0) }
/// }
/// impl SqlHost for Quiet {
///     fn sql_exec(&self, _: &str, _: &[serde_json::Value]) -> PluginResult<u64> { Ok(0) }
///     fn sql_query(&self, _: &str, _: &[serde_json::Value]) -> PluginResult<Vec<serde_json::Value>> { Ok(vec![]) }
///     fn sql_batch(&self, _: &[(String, Vec<serde_json::Value>)]) -> PluginResult<Vec<u64>> { Ok(vec![]) }
/// }
/// impl EventsHost for Quiet {
///     fn emit(&self, _: &str, _: &str, _: bool) -> PluginResult<Vec<(String, String)>> { Ok(vec![]) }
/// }
/// impl ConfigHost for Quiet {
///     fn config_get(&self) -> PluginResult<String> { Ok("{}".into()) }
/// }
/// impl NetworkHost for Quiet {} // outbound HTTP refused (the default)
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
pub(crate) fn services<'a, S>(data: *const c_void) -> &'a S {
    // SAFETY: see the invariant above.
    unsafe { &*(data as *const S) }
}

/// Runs one service call for the plugin behind `data`: panics caught, and
/// the error readable by that plugin (kinds it does not know become `Failed`).
pub(crate) fn serve<S: HostServices, T>(
    data: *const c_void,
    f: impl FnOnce() -> PluginResult<T>,
) -> PluginResult<T> {
    guard(f).map_err(|e| e.for_peer(services::<S>(data).peer_error_kinds()))
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
    serve::<S, _>(data, || services::<S>(data).kv_get(key.as_str()))
        .map(|v| v.map(RString::from).into())
        .into()
}

extern "C" fn kv_set<S: HostServices>(
    data: *const c_void,
    key: RStr<'_>,
    value: RStr<'_>,
) -> RResult<(), PluginError> {
    serve::<S, _>(data, || {
        services::<S>(data).kv_set(key.as_str(), value.as_str())
    })
    .into()
}

extern "C" fn kv_delete<S: HostServices>(
    data: *const c_void,
    key: RStr<'_>,
) -> RResult<bool, PluginError> {
    serve::<S, _>(data, || services::<S>(data).kv_delete(key.as_str())).into()
}

extern "C" fn kv_keys<S: HostServices>(
    data: *const c_void,
    prefix: RStr<'_>,
) -> RResult<RVec<RString>, PluginError> {
    serve::<S, _>(data, || services::<S>(data).kv_keys(prefix.as_str()))
        .map(|keys| keys.into_iter().map(RString::from).collect())
        .into()
}

extern "C" fn kv_clear<S: HostServices>(data: *const c_void) -> RResult<u64, PluginError> {
    serve::<S, _>(data, || services::<S>(data).kv_clear()).into()
}

fn json_params(params: RStr<'_>) -> PluginResult<Vec<serde_json::Value>> {
    if params.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(params.as_str())
        .map_err(|e| PluginError::invalid(format!("SQL parameters must be a JSON array: {e}")))
}

extern "C" fn sql_exec<S: HostServices>(
    data: *const c_void,
    sql: RStr<'_>,
    params: RStr<'_>,
) -> RResult<u64, PluginError> {
    serve::<S, _>(data, || {
        services::<S>(data).sql_exec(sql.as_str(), &json_params(params)?)
    })
    .into()
}

extern "C" fn sql_query<S: HostServices>(
    data: *const c_void,
    sql: RStr<'_>,
    params: RStr<'_>,
) -> RResult<RString, PluginError> {
    serve::<S, _>(data, || {
        let rows = services::<S>(data).sql_query(sql.as_str(), &json_params(params)?)?;
        serde_json::to_string(&rows)
            .map(RString::from)
            .map_err(|e| PluginError::failed(format!("cannot encode rows: {e}")))
    })
    .into()
}

extern "C" fn sql_batch<S: HostServices>(
    data: *const c_void,
    statements: RStr<'_>,
) -> RResult<RString, PluginError> {
    #[derive(serde::Deserialize)]
    struct Item {
        sql: String,
        #[serde(default)]
        params: Vec<serde_json::Value>,
    }
    serve::<S, _>(data, || {
        let items: Vec<Item> = serde_json::from_str(statements.as_str()).map_err(|e| {
            PluginError::invalid(format!(
                "a SQL batch is a JSON array of {{sql, params}}: {e}"
            ))
        })?;
        let items: Vec<(String, Vec<serde_json::Value>)> =
            items.into_iter().map(|i| (i.sql, i.params)).collect();
        let counts = services::<S>(data).sql_batch(&items)?;
        serde_json::to_string(&counts)
            .map(RString::from)
            .map_err(|e| PluginError::failed(format!("cannot encode counts: {e}")))
    })
    .into()
}

extern "C" fn emit<S: HostServices>(
    data: *const c_void,
    name: RStr<'_>,
    payload: RStr<'_>,
    wait: bool,
) -> RResult<RString, PluginError> {
    serve::<S, _>(data, || {
        let failures = services::<S>(data).emit(name.as_str(), payload.as_str(), wait)?;
        let list: Vec<serde_json::Value> = failures
            .into_iter()
            .map(|(plugin, error)| serde_json::json!({ "plugin": plugin, "error": error }))
            .collect();
        Ok(RString::from(serde_json::Value::from(list).to_string()))
    })
    .into()
}

extern "C" fn config_get<S: HostServices>(data: *const c_void) -> RResult<RString, PluginError> {
    serve::<S, _>(data, || services::<S>(data).config_get().map(RString::from)).into()
}

extern "C" fn http_send<S: HostServices>(
    data: *const c_void,
    request: RStr<'_>,
) -> RResult<RString, PluginError> {
    serve::<S, _>(data, || {
        let request: OutboundRequest = serde_json::from_str(request.as_str())
            .map_err(|e| PluginError::invalid(format!("bad outbound request: {e}")))?;
        let response = services::<S>(data).http_send(&request)?;
        serde_json::to_string(&response)
            .map(RString::from)
            .map_err(|e| PluginError::failed(format!("cannot encode the response: {e}")))
    })
    .into()
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
        sql_exec: sql_exec::<S>,
        sql_query: sql_query::<S>,
        sql_batch: sql_batch::<S>,
        emit: emit::<S>,
        config_get: config_get::<S>,
        http_send: http_send::<S>,
        files: crate::files::FilesVTableFor::<S>::REF,
    });
    const REF: HostVTable_Ref = HostVTable_Ref(Self::WM.static_as_prefix());
}
