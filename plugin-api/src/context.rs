//! The context a plugin receives on every call: its scoped host services.

use abi_stable::std_types::{RResult, RStr};
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    abi::{log_level, HostHandle, HostVTable_Prefix, HostVTable_Ref},
    caller::Caller,
    error::{ErrorKind, PluginError},
};

/// The host's services, scoped to the calling plugin.
///
/// A `Context` is handed to every hook, route handler and lifecycle call; it
/// is only valid during that call. Everything it reaches (KV keys, logs) is
/// the calling plugin's own: a plugin cannot name another plugin's data.
///
/// ```no_run
/// use plugboard_plugin_api::prelude::*;
///
/// fn visit(ctx: &Context) -> PluginResult<u64> {
///     let kv = ctx.kv();
///     let n: u64 = kv.get("visits")?.unwrap_or(0);
///     kv.set("visits", &(n + 1))?;
///     ctx.log().info(&format!("visit number {}", n + 1));
///     Ok(n + 1)
/// }
/// ```
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub(crate) handle: HostHandle,
    pub(crate) vtable: HostVTable_Ref,
    caller: Option<&'a Caller>,
    _call: std::marker::PhantomData<&'a ()>,
}

static NOBODY: Caller = Caller::Anonymous;

impl<'a> Context<'a> {
    /// The same context for a call made by `caller` (the host and the
    /// plugin-side glue do this for route calls; tests may too).
    pub fn with_caller<'b>(self, caller: &'b Caller) -> Context<'b>
    where
        'a: 'b,
    {
        Context {
            handle: self.handle,
            vtable: self.vtable,
            caller: Some(caller),
            _call: std::marker::PhantomData,
        }
    }

    /// Who made the request this route call serves (since 1.5): anonymous,
    /// a signed-in account (id, name, role, this plugin's permissions it
    /// holds) or the admin token. The host has already enforced the route's
    /// access level before the plugin runs. Outside route calls (hooks,
    /// jobs, events, lifecycle) it is [`Caller::Anonymous`].
    ///
    /// ```
    /// use plugboard_plugin_api::{prelude::*, testing::MemoryHost};
    ///
    /// struct Hello;
    /// impl Hello {
    ///     fn hello(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
    ///         Ok(Response::text(match ctx.caller().username() {
    ///             Some(name) => format!("hello {name}"),
    ///             None => "hello stranger".to_string(),
    ///         }))
    ///     }
    /// }
    /// impl Plugin for Hello {
    ///     fn slug(&self) -> &str { "hello" }
    ///     fn version(&self) -> &str { "1.0.0" }
    ///     fn routes(&self) -> Vec<Route<Self>> { vec![Route::get("/hello", Self::hello)] }
    /// }
    ///
    /// let mut host = MemoryHost::new();
    /// let plugin = plugboard_plugin_api::builtin(Hello).unwrap();
    /// let req = Request::new("GET", "/hello", "", &[], &[], b"");
    /// let res = plugin.handle_route(&host.context(), 0, &req).unwrap();
    /// assert_eq!(res.body(), b"hello stranger");
    /// host.set_caller(Caller::account(7, "ann", "user"));
    /// let res = plugin.handle_route(&host.context(), 0, &req).unwrap();
    /// assert_eq!(res.body(), b"hello ann");
    /// ```
    pub fn caller(&self) -> &'a Caller {
        self.caller.unwrap_or(&NOBODY)
    }

    /// The caller, if this context was made for a route call.
    pub fn route_caller(&self) -> Option<&'a Caller> {
        self.caller
    }
}

impl Context<'_> {
    /// Builds a context from its raw parts.
    ///
    /// # Safety
    /// `handle.vtable` must point to a live `HostVTable` (behind abi_stable's
    /// prefix metadata) whose layout was checked compatible with this crate's,
    /// and `handle.data` must be what that vtable's functions expect; both must
    /// stay valid for the context's lifetime.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw(handle: HostHandle) -> Self {
        // SAFETY: the caller guarantees `handle.vtable` came from
        // `HostVTable_Ref::to_raw_ptr` on a checked-compatible vtable.
        let vtable = unsafe {
            HostVTable_Ref(abi_stable::prefix_type::PrefixRef::from_raw(
                handle.vtable
                    as *const abi_stable::prefix_type::WithMetadata_<
                        HostVTable_Prefix,
                        HostVTable_Prefix,
                    >,
            ))
        };
        Self {
            handle,
            vtable,
            caller: None,
            _call: std::marker::PhantomData,
        }
    }

    /// The raw handle, to pass the context on across the boundary.
    pub fn raw(&self) -> HostHandle {
        self.handle
    }

    /// The plugin's key-value store.
    pub fn kv(&self) -> Kv<'_> {
        Kv { ctx: self }
    }

    /// Emitting events in the plugin's namespace (since 1.2).
    pub fn events(&self) -> crate::events::Events<'_> {
        crate::events::Events { ctx: self }
    }

    /// The plugin's configuration (since 1.2): validated against its schema,
    /// defaults applied; `{}` (or `T`'s reading of it) when none is set.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        let f = self
            .vtable
            .config_get()
            .ok_or_else(|| unsupported("config", "1.2.0"))?;
        let text: String = into_result(f(self.handle.data))?.into();
        serde_json::from_str(&text)
            .map_err(|e| PluginError::failed(format!("the configuration does not fit: {e}")))
    }

    /// Outbound HTTP to the hosts the plugin declared (since 1.3).
    pub fn http(&self) -> crate::outbound::Http<'_> {
        crate::outbound::Http { ctx: self }
    }

    /// The plugin's SQL tables (since 1.2).
    pub fn sql(&self) -> Sql<'_> {
        Sql { ctx: self }
    }

    /// The plugin's logger: lines are tagged with the plugin's slug.
    pub fn log(&self) -> Logger<'_> {
        Logger { ctx: self }
    }

    /// The plugin's files (since 1.6; capability `files`): see
    /// [`crate::files`].
    pub fn files(&self) -> crate::files::Files<'_> {
        crate::files::Files { ctx: self }
    }

    /// The host's vtable and this plugin's data pointer, for capability
    /// modules that reach a sub-vtable.
    pub(crate) fn host_vtable(&self) -> (HostVTable_Ref, *const std::ffi::c_void) {
        (self.vtable, self.handle.data)
    }
}

pub(crate) fn unsupported(what: &str, since: &str) -> PluginError {
    PluginError::new(
        ErrorKind::Unsupported,
        format!("this host does not provide {what} (added in plugin-api {since})"),
    )
}

pub(crate) fn into_result<T>(r: RResult<T, PluginError>) -> Result<T, PluginError> {
    r.into_result()
}

/// The plugin's namespaced key-value store; values are JSON.
///
/// Keys are the plugin's own: two plugins can both use `"count"` without
/// meeting. Values are persisted by the host (table `plugin_storage`).
pub struct Kv<'a> {
    ctx: &'a Context<'a>,
}

impl Kv<'_> {
    /// The value under `key`, if any.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, PluginError> {
        match self.get_raw(key)? {
            Some(text) => Ok(Some(serde_json::from_str(&text).map_err(|e| {
                PluginError::failed(format!("stored value of {key:?} does not fit: {e}"))
            })?)),
            None => Ok(None),
        }
    }
    /// The JSON text under `key`, if any.
    pub fn get_raw(&self, key: &str) -> Result<Option<String>, PluginError> {
        let f = self.ctx.vtable.kv_get();
        into_result(f(self.ctx.handle.data, RStr::from(key)))
            .map(|o| o.into_option().map(Into::into))
    }
    /// Stores `value` under `key`.
    pub fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), PluginError> {
        let text = serde_json::to_string(value)
            .map_err(|e| PluginError::failed(format!("cannot encode value: {e}")))?;
        let f = self.ctx.vtable.kv_set();
        into_result(f(self.ctx.handle.data, key.into(), text.as_str().into()))
    }
    /// Deletes `key`; whether it existed.
    pub fn delete(&self, key: &str) -> Result<bool, PluginError> {
        let f = self.ctx.vtable.kv_delete();
        into_result(f(self.ctx.handle.data, key.into()))
    }
    /// The keys that start with `prefix`, sorted.
    pub fn keys(&self, prefix: &str) -> Result<Vec<String>, PluginError> {
        let f = self
            .ctx
            .vtable
            .kv_keys()
            .ok_or_else(|| unsupported("kv.keys", "1.1.0"))?;
        into_result(f(self.ctx.handle.data, prefix.into()))
            .map(|v| v.into_iter().map(Into::into).collect())
    }
    /// Deletes every key of the plugin; the number deleted.
    pub fn clear(&self) -> Result<u64, PluginError> {
        let f = self
            .ctx
            .vtable
            .kv_clear()
            .ok_or_else(|| unsupported("kv.clear", "1.1.0"))?;
        into_result(f(self.ctx.handle.data))
    }
}

/// The plugin's SQL tables.
///
/// Write table names short (`entries`); in the database they are
/// `plugin_{slug}__entries`, in a place of the plugin's own: its own SQLite
/// file, or its own PostgreSQL schema, reached through a database role that
/// can touch nothing else. One statement per call, `?` placeholders,
/// parameters and rows as JSON. Statements that could reach outside the
/// plugin's tables (qualified or quoted names, catalogs, `PRAGMA`, `ATTACH`,
/// `SET`, `SELECT … INTO`, `CREATE TABLE … INHERITS`, several statements,
/// functions outside the host's allowlist of ordinary ones, …) are refused
/// with an error saying why; what slips past that check is refused by the
/// database itself.
///
/// ```no_run
/// use plugboard_plugin_api::prelude::*;
/// use serde_json::json;
///
/// fn count(ctx: &Context, author: &str) -> PluginResult<i64> {
///     let rows: Vec<serde_json::Value> =
///         ctx.sql().query("SELECT count(*) AS n FROM entries WHERE author = ?", &[json!(author)])?;
///     Ok(rows[0]["n"].as_i64().unwrap_or(0))
/// }
/// ```
pub struct Sql<'a> {
    ctx: &'a Context<'a>,
}

impl Sql<'_> {
    fn params(params: &[serde_json::Value]) -> Result<String, PluginError> {
        serde_json::to_string(params)
            .map_err(|e| PluginError::failed(format!("cannot encode parameters: {e}")))
    }
    /// Runs one statement; the number of rows affected.
    pub fn exec(&self, sql: &str, params: &[serde_json::Value]) -> Result<u64, PluginError> {
        let f = self
            .ctx
            .vtable
            .sql_exec()
            .ok_or_else(|| unsupported("sql", "1.2.0"))?;
        let p = Self::params(params)?;
        into_result(f(self.ctx.handle.data, sql.into(), p.as_str().into()))
    }
    /// Runs one query; each row (a JSON object keyed by column) as a `T`.
    pub fn query<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[serde_json::Value],
    ) -> Result<Vec<T>, PluginError> {
        let f = self
            .ctx
            .vtable
            .sql_query()
            .ok_or_else(|| unsupported("sql", "1.2.0"))?;
        let p = Self::params(params)?;
        let text: String =
            into_result(f(self.ctx.handle.data, sql.into(), p.as_str().into()))?.into();
        serde_json::from_str(&text)
            .map_err(|e| PluginError::failed(format!("rows do not fit the requested type: {e}")))
    }
    /// Runs the statements in one transaction: all or nothing. The rows
    /// affected by each.
    pub fn batch(
        &self,
        statements: &[(&str, Vec<serde_json::Value>)],
    ) -> Result<Vec<u64>, PluginError> {
        let f = self
            .ctx
            .vtable
            .sql_batch()
            .ok_or_else(|| unsupported("sql", "1.2.0"))?;
        let items: Vec<serde_json::Value> = statements
            .iter()
            .map(|(sql, params)| serde_json::json!({ "sql": sql, "params": params }))
            .collect();
        let text = serde_json::to_string(&items).map_err(|e| PluginError::failed(e.to_string()))?;
        let out: String = into_result(f(self.ctx.handle.data, text.as_str().into()))?.into();
        serde_json::from_str(&out)
            .map_err(|e| PluginError::failed(format!("bad batch answer: {e}")))
    }
}

/// The plugin's logger; the host tags every line with the plugin's slug.
pub struct Logger<'a> {
    ctx: &'a Context<'a>,
}

impl Logger<'_> {
    fn emit(&self, level: u8, message: &str) {
        (self.ctx.vtable.log())(self.ctx.handle.data, level, message.into());
    }
    /// Logs an error.
    pub fn error(&self, message: &str) {
        self.emit(log_level::ERROR, message)
    }
    /// Logs a warning.
    pub fn warn(&self, message: &str) {
        self.emit(log_level::WARN, message)
    }
    /// Logs information.
    pub fn info(&self, message: &str) {
        self.emit(log_level::INFO, message)
    }
    /// Logs debugging detail.
    pub fn debug(&self, message: &str) {
        self.emit(log_level::DEBUG, message)
    }
}
