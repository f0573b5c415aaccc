//! Test support for plugin authors: run a plugin without a host.
//!
//! `MemoryHost` has no SQL and none of the host's checks (key rules, event
//! namespaces, capabilities, access levels): a test passing here can fail
//! on a server. The `plugboard-test-host` crate runs a plugin on the real
//! host in-process instead; use this for pure unit tests.
//!
//! [`MemoryHost`] implements the host services in memory (KV in a sorted map,
//! logs captured), so a plugin's routes and hooks can be unit-tested through
//! its `rlib`:
//!
//! ```
//! use plugboard_plugin_api::{prelude::*, testing::MemoryHost};
//!
//! struct Counter;
//! impl Counter {
//!     fn bump(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
//!         let n: u64 = ctx.kv().get("n")?.unwrap_or(0) + 1;
//!         ctx.kv().set("n", &n)?;
//!         Ok(Response::json(&n))
//!     }
//! }
//! impl Plugin for Counter {
//!     fn slug(&self) -> &str { "counter" }
//!     fn version(&self) -> &str { "1.0.0" }
//!     fn routes(&self) -> Vec<Route<Self>> { vec![Route::post("/bump", Self::bump)] }
//! }
//!
//! let host = MemoryHost::new();
//! let plugin = plugboard_plugin_api::builtin(Counter).unwrap();
//! let req = Request::new("POST", "/bump", "", &[], &[], b"");
//! let res = plugin.handle_route(&host.context(), 0, &req).unwrap();
//! assert_eq!(res.body(), b"1");
//! assert_eq!(host.kv_value("n").as_deref(), Some("1"));
//! ```

use std::{collections::BTreeMap, sync::Mutex};

use crate::{
    caller::Caller,
    context::Context,
    error::PluginResult,
    host::{
        context_for, ConfigHost, EventsHost, HostServices, KvHost, LogLevel, NetworkHost, SqlHost,
    },
    outbound::{OutboundRequest, OutboundResponse},
};

fn no_sql() -> crate::PluginError {
    crate::PluginError::new(
        crate::ErrorKind::Unsupported,
        "MemoryHost has no SQL database; test SQL through a Plugboard host",
    )
}

/// In-memory host services for tests (KV, files, logs, events, config,
/// recorded outbound HTTP; no SQL).
pub struct MemoryHost {
    kv: Mutex<BTreeMap<String, String>>,
    logs: Mutex<Vec<(LogLevel, String)>>,
    events: Mutex<Vec<(String, String)>>,
    config: Mutex<serde_json::Value>,
    outbound: Mutex<Vec<OutboundRequest>>,
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    http_status: Mutex<u16>,
    caller: Caller,
}

impl Default for MemoryHost {
    fn default() -> Self {
        Self {
            kv: Mutex::default(),
            files: Mutex::default(),
            logs: Mutex::default(),
            events: Mutex::default(),
            config: Mutex::new(serde_json::json!({})),
            outbound: Mutex::default(),
            http_status: Mutex::new(200),
            caller: Caller::Anonymous,
        }
    }
}

impl MemoryHost {
    /// An empty host.
    pub fn new() -> Self {
        Self::default()
    }
    /// A context over this host, to pass to a plugin's methods; route
    /// handlers see the caller set with [`MemoryHost::set_caller`].
    pub fn context(&self) -> Context<'_> {
        context_for(self).with_caller(&self.caller)
    }
    /// Sets who calls the plugin's routes from now on (default:
    /// [`Caller::Anonymous`]). `MemoryHost` does not enforce access levels;
    /// the host does that before a route runs.
    ///
    /// ```
    /// use plugboard_plugin_api::{prelude::*, testing::MemoryHost};
    ///
    /// let mut host = MemoryHost::new();
    /// host.set_caller(Caller::account(3, "mod", "user").with_permissions(&["moderate"]));
    /// assert!(host.context().caller().has_permission("moderate"));
    /// ```
    pub fn set_caller(&mut self, caller: Caller) {
        self.caller = caller;
    }
    /// The JSON text stored under `key`.
    pub fn kv_value(&self, key: &str) -> Option<String> {
        self.kv
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }
    /// Every event emitted so far: (name, JSON payload).
    pub fn events(&self) -> Vec<(String, String)> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    /// Sets the configuration the plugin reads with `ctx.config()`.
    pub fn set_config(&self, config: serde_json::Value) {
        *self.config.lock().unwrap_or_else(|p| p.into_inner()) = config;
    }
    /// Every outbound HTTP request so far (none leaves the process).
    pub fn outbound_requests(&self) -> Vec<OutboundRequest> {
        self.outbound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    /// The status every outbound request is answered with (default 200).
    pub fn set_http_status(&self, status: u16) {
        *self.http_status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }
    /// Every log line so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl MemoryHost {
    /// The largest file [`MemoryHost`] stores (the real host's default).
    pub const MAX_FILE: usize = 8 << 20;

    /// The content of a stored file, to assert on in tests.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }
}

impl crate::files::FilesHost for MemoryHost {
    fn put(&self, name: &str, bytes: &[u8]) -> PluginResult<()> {
        check_file_name(name)?;
        if bytes.len() > Self::MAX_FILE {
            return Err(crate::PluginError::invalid(format!(
                "file {name:?} is {} bytes; one file may hold at most {} bytes",
                bytes.len(),
                Self::MAX_FILE
            )));
        }
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), bytes.to_vec());
        Ok(())
    }
    fn get(&self, name: &str) -> PluginResult<Option<Vec<u8>>> {
        check_file_name(name)?;
        Ok(self.file(name))
    }
    fn delete(&self, name: &str) -> PluginResult<bool> {
        check_file_name(name)?;
        Ok(self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .is_some())
    }
    fn list(&self, prefix: &str) -> PluginResult<Vec<crate::files::FileEntry>> {
        Ok(self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(n, b)| crate::files::FileEntry::new(n.clone(), b.len() as u64))
            .collect())
    }
}

/// The host's naming rule, so a test fails here where production would.
fn check_file_name(name: &str) -> PluginResult<()> {
    if crate::files::valid_name(name) {
        Ok(())
    } else {
        Err(crate::PluginError::invalid(format!(
            "invalid file name {name:?}"
        )))
    }
}

impl HostServices for MemoryHost {
    fn files(&self) -> Option<&dyn crate::files::FilesHost> {
        Some(self)
    }
    fn log(&self, level: LogLevel, message: &str) {
        self.logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((level, message.to_string()));
    }
}

impl KvHost for MemoryHost {
    fn kv_get(&self, key: &str) -> PluginResult<Option<String>> {
        Ok(self.kv_value(key))
    }
    fn kv_set(&self, key: &str, value_json: &str) -> PluginResult<()> {
        self.kv
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), value_json.to_string());
        Ok(())
    }
    fn kv_delete(&self, key: &str) -> PluginResult<bool> {
        Ok(self
            .kv
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
            .is_some())
    }
    fn kv_keys(&self, prefix: &str) -> PluginResult<Vec<String>> {
        Ok(self
            .kv
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    fn kv_clear(&self) -> PluginResult<u64> {
        let mut kv = self.kv.lock().unwrap_or_else(|p| p.into_inner());
        let n = kv.len() as u64;
        kv.clear();
        Ok(n)
    }
}

impl SqlHost for MemoryHost {
    fn sql_exec(&self, _sql: &str, _params: &[serde_json::Value]) -> PluginResult<u64> {
        Err(no_sql())
    }
    fn sql_query(
        &self,
        _sql: &str,
        _params: &[serde_json::Value],
    ) -> PluginResult<Vec<serde_json::Value>> {
        Err(no_sql())
    }
    fn sql_batch(
        &self,
        _statements: &[(String, Vec<serde_json::Value>)],
    ) -> PluginResult<Vec<u64>> {
        Err(no_sql())
    }
}

impl EventsHost for MemoryHost {
    fn emit(
        &self,
        name: &str,
        payload_json: &str,
        _wait: bool,
    ) -> PluginResult<Vec<(String, String)>> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name.to_string(), payload_json.to_string()));
        Ok(Vec::new())
    }
}

impl ConfigHost for MemoryHost {
    fn config_get(&self) -> PluginResult<String> {
        Ok(self
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .to_string())
    }
}

impl NetworkHost for MemoryHost {
    fn http_send(&self, request: &OutboundRequest) -> PluginResult<OutboundResponse> {
        self.outbound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        Ok(OutboundResponse {
            status: *self.http_status.lock().unwrap_or_else(|p| p.into_inner()),
            headers: Vec::new(),
            body: String::new(),
        })
    }
}
