//! One plugin's view of the host: the [`HostServices`] behind its `Context`.

use std::sync::{Arc, Weak};

use plugboard_plugin_api::{
    files::{FileEntry, FilesHost},
    host::{ConfigHost, EventsHost, HostServices, KvHost, LogLevel, NetworkHost, SqlHost},
    ErrorKind, OutboundRequest, OutboundResponse, PluginError, PluginResult,
};
use sea_orm::DbErr;

use crate::{
    capabilities::{Capability, CapabilityDenied},
    db::Db,
    file_store::{self as files, FileLimits},
    kv,
    manifest::Manifest,
    outbound, sql,
};

/// Where a plugin's events go: the event bus, behind a trait so that the
/// scope (which the bus's subscribers hold) does not depend on the bus.
pub(crate) trait Emitter: Send + Sync {
    /// Queues `name` for every subscriber; does not wait.
    fn emit(&self, name: &str, payload_json: &str);
    /// Delivers `name` to every subscriber and waits; their failures as
    /// (plugin, error).
    fn emit_sync(&self, name: &str, payload_json: &str) -> Vec<(String, String)>;
}

/// The services of one plugin, scoped by its slug and held to the
/// capabilities its manifest declares.
pub(crate) struct PluginScope {
    /// This process among the replicas (names the cluster events it emits).
    replica: Arc<crate::shared_state::Replica>,
    slug: Arc<str>,
    manifest: Arc<Manifest>,
    db: Db,
    bus: Weak<dyn Emitter>,
    http: Arc<outbound::Client>,
    files: FileLimits,
    /// How many error kinds the plugin knows (see `ErrorKind`).
    peer_error_kinds: u8,
}

impl PluginScope {
    /// The scope of the plugin `manifest` describes.
    pub(crate) fn new(
        manifest: &Arc<Manifest>,
        db: Db,
        bus: Weak<dyn Emitter>,
        http: Arc<outbound::Client>,
        files: FileLimits,
        replica: Arc<crate::shared_state::Replica>,
    ) -> Self {
        Self {
            replica,
            slug: manifest.slug.as_str().into(),
            manifest: Arc::clone(manifest),
            db,
            bus,
            http,
            files,
            peer_error_kinds: u8::MAX,
        }
    }

    /// This scope for a plugin built against plugin-api `api_version`: a
    /// 1.0–1.5 plugin reads error kinds as a closed enum of six, so it is
    /// never handed another.
    pub(crate) fn for_api(mut self, api_version: &str) -> Self {
        let v1 = semver::Version::parse(api_version).is_ok_and(|v| v.major == 1 && v.minor < 6);
        if v1 {
            self.peer_error_kinds = ErrorKind::KNOWN_TO_V1;
        }
        self
    }

    /// `Ok` when `granted`, else the refusal naming `capability`.
    fn require(&self, granted: bool, capability: Capability) -> PluginResult<()> {
        if granted {
            Ok(())
        } else {
            Err(denied(&self.slug, capability))
        }
    }

    fn require_kv(&self) -> PluginResult<()> {
        self.require(self.manifest.capabilities.kv, Capability::Kv)
    }

    fn require_sql(&self) -> PluginResult<()> {
        self.require(self.manifest.capabilities.sql, Capability::Sql)
    }

    fn run<T, F>(
        &self,
        op: &str,
        f: impl FnOnce(sea_orm::DatabaseConnection, Arc<str>) -> F,
    ) -> PluginResult<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, DbErr>> + Send + 'static,
    {
        let slug = Arc::clone(&self.slug);
        self.db
            .block_on(|conn| f(conn, slug))
            .map_err(|e| db_failure(op, e))
    }

    /// Like `run`, on the plugin's own confined SQL connection.
    fn run_sql<T, F>(
        &self,
        op: &str,
        f: impl FnOnce(sea_orm::DatabaseConnection, Arc<str>) -> F + Send + 'static,
    ) -> PluginResult<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, DbErr>> + Send + 'static,
    {
        let slug = Arc::clone(&self.slug);
        self.db
            .plugin_block_on(&self.slug, |conn| f(conn, slug))
            .map_err(|e| db_failure(op, e))
    }
}

impl FilesHost for PluginScope {
    fn put(&self, name: &str, bytes: &[u8]) -> PluginResult<()> {
        self.require(self.manifest.capabilities.files, Capability::Files)?;
        // Refused before the bytes are copied (a huge put costs nothing).
        files::check_put(name, bytes.len() as u64, self.files)
            .map_err(|e| file_error("files.put", e))?;
        let (name, bytes, limits) = (name.to_string(), bytes.to_vec(), self.files);
        self.run_files("files.put", move |db, slug| async move {
            files::put(&db, &slug, &name, &bytes, limits).await
        })
    }
    fn get(&self, name: &str) -> PluginResult<Option<Vec<u8>>> {
        self.require(self.manifest.capabilities.files, Capability::Files)?;
        let name = name.to_string();
        self.run_files("files.get", move |db, slug| async move {
            files::get(&db, &slug, &name).await
        })
    }
    fn delete(&self, name: &str) -> PluginResult<bool> {
        self.require(self.manifest.capabilities.files, Capability::Files)?;
        let name = name.to_string();
        self.run_files("files.delete", move |db, slug| async move {
            files::delete(&db, &slug, &name).await
        })
    }
    fn list(&self, prefix: &str) -> PluginResult<Vec<FileEntry>> {
        self.require(self.manifest.capabilities.files, Capability::Files)?;
        let prefix = prefix.to_string();
        let listed = self.run_files("files.list", move |db, slug| async move {
            files::list(&db, &slug, &prefix).await
        })?;
        Ok(listed
            .into_iter()
            .map(|f| FileEntry::new(f.name, f.size))
            .collect())
    }
}

impl PluginScope {
    /// Runs a file operation; its refusals keep their kind.
    fn run_files<T, F>(
        &self,
        op: &str,
        f: impl FnOnce(sea_orm::DatabaseConnection, Arc<str>) -> F + Send + 'static,
    ) -> PluginResult<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, files::FileError>> + Send + 'static,
    {
        let slug = Arc::clone(&self.slug);
        let outcome = self
            .db
            .block_on(move |conn| async move { Ok(f(conn, slug).await) })
            .map_err(|e| db_failure(op, e))?;
        outcome.map_err(|e| file_error(op, e))
    }
}

/// What a plugin is told when a file operation fails.
fn file_error(op: &str, e: files::FileError) -> PluginError {
    match e {
        files::FileError::BadName(_) | files::FileError::TooLarge { .. } => {
            PluginError::invalid(e.to_string())
        }
        files::FileError::OverQuota { .. } => PluginError::new(ErrorKind::Refused, e.to_string()),
        files::FileError::Db(e) => db_failure(op, e),
    }
}

impl HostServices for PluginScope {
    fn files(&self) -> Option<&dyn FilesHost> {
        Some(self)
    }
    fn peer_error_kinds(&self) -> u8 {
        self.peer_error_kinds
    }
    fn log(&self, level: LogLevel, message: &str) {
        let plugin = &*self.slug;
        match level {
            LogLevel::Error => tracing::error!(target: "plugin", plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "plugin", plugin, "{message}"),
            LogLevel::Info => tracing::info!(target: "plugin", plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "plugin", plugin, "{message}"),
        }
    }
}

impl KvHost for PluginScope {
    fn kv_get(&self, key: &str) -> PluginResult<Option<String>> {
        self.require_kv()?;
        let key = key.to_string();
        self.run("kv.get", |db, slug| async move {
            kv::get(&db, &slug, &key).await
        })
    }
    fn kv_set(&self, key: &str, value_json: &str) -> PluginResult<()> {
        self.require_kv()?;
        let (key, value) = (key.to_string(), value_json.to_string());
        self.run("kv.set", |db, slug| async move {
            kv::set(&db, &slug, &key, &value).await
        })
    }
    fn kv_delete(&self, key: &str) -> PluginResult<bool> {
        self.require_kv()?;
        let key = key.to_string();
        self.run("kv.delete", |db, slug| async move {
            kv::delete(&db, &slug, &key).await
        })
    }
    fn kv_keys(&self, prefix: &str) -> PluginResult<Vec<String>> {
        self.require_kv()?;
        let prefix = prefix.to_string();
        self.run("kv.keys", |db, slug| async move {
            kv::keys(&db, &slug, &prefix).await
        })
    }
    fn kv_clear(&self) -> PluginResult<u64> {
        self.require_kv()?;
        self.run(
            "kv.clear",
            |db, slug| async move { kv::clear(&db, &slug).await },
        )
    }
}

impl SqlHost for PluginScope {
    fn sql_exec(&self, sql: &str, params: &[serde_json::Value]) -> PluginResult<u64> {
        self.require_sql()?;
        let (sql, params, rewriter) = (sql.to_string(), params.to_vec(), self.db.rewriter());
        self.run_sql("sql.exec", move |db, slug| async move {
            sql::exec::exec(&db, &slug, &sql, &params, rewriter).await
        })
    }
    fn sql_query(
        &self,
        sql: &str,
        params: &[serde_json::Value],
    ) -> PluginResult<Vec<serde_json::Value>> {
        self.require_sql()?;
        let (sql, params, rewriter) = (sql.to_string(), params.to_vec(), self.db.rewriter());
        self.run_sql("sql.query", move |db, slug| async move {
            sql::exec::query(&db, &slug, &sql, &params, rewriter).await
        })
    }
    fn sql_batch(&self, statements: &[(String, Vec<serde_json::Value>)]) -> PluginResult<Vec<u64>> {
        self.require_sql()?;
        let (statements, rewriter) = (statements.to_vec(), self.db.rewriter());
        self.run_sql("sql.batch", move |db, slug| async move {
            sql::exec::batch(&db, &slug, &statements, rewriter).await
        })
    }
}

impl EventsHost for PluginScope {
    fn emit(
        &self,
        name: &str,
        payload_json: &str,
        wait: bool,
    ) -> PluginResult<Vec<(String, String)>> {
        let own = format!("plugin.{}.", self.slug);
        let rest = name.strip_prefix(own.as_str()).unwrap_or_default();
        if rest.is_empty() || !plugboard_manifest::pattern::is_valid_name(name) {
            return Err(PluginError::new(
                ErrorKind::Refused,
                format!(
                    "plugin {} may emit only events named {own}<name>, not {name:?}",
                    self.slug
                ),
            ));
        }
        self.require(
            self.manifest.capabilities.allows_emit(name),
            Capability::Emit(name.to_string()),
        )?;
        serde_json::from_str::<serde::de::IgnoredAny>(payload_json)
            .map_err(|e| PluginError::invalid(format!("event payloads must be JSON: {e}")))?;
        if self.db.is_shared() && self.manifest.capabilities.emits_to_cluster(name) {
            // To every replica, through the database (delivered here too,
            // by this replica's reader, like everywhere else). Stored
            // before the call returns, so this plugin's emits keep their
            // order; nobody is waited for.
            let (replica, name, payload) = (
                Arc::clone(&self.replica),
                name.to_string(),
                payload_json.to_string(),
            );
            self.run("events", move |db, slug| async move {
                crate::shared_state::events::append(&db, &replica, &slug, &name, &payload).await
            })?;
            return Ok(Vec::new());
        }
        let bus = self
            .bus
            .upgrade()
            .ok_or_else(|| PluginError::failed("the event bus is shut down"))?;
        if wait {
            Ok(bus.emit_sync(name, payload_json))
        } else {
            bus.emit(name, payload_json);
            Ok(Vec::new())
        }
    }
}

impl ConfigHost for PluginScope {
    fn config_get(&self) -> PluginResult<String> {
        let stored = self.run("config", |db, slug| async move {
            crate::config::load(&db, &slug).await
        })?;
        Ok(stored.unwrap_or_else(|| serde_json::json!({})).to_string())
    }
}

impl NetworkHost for PluginScope {
    fn http_send(&self, request: &OutboundRequest) -> PluginResult<OutboundResponse> {
        let host =
            outbound::host_of(&request.url).map_err(|e| PluginError::invalid(e.to_string()))?;
        self.require(
            self.manifest.capabilities.allows_host(&host),
            Capability::Network(host),
        )?;
        self.http.send(request).map_err(|e| match e {
            outbound::OutboundError::Transport { .. } => PluginError::failed(e.to_string()),
            _ => PluginError::invalid(e.to_string()),
        })
    }
}

fn db_failure(op: &str, e: DbErr) -> PluginError {
    let message = match e {
        DbErr::Custom(m) => m,
        other => other.to_string(),
    };
    PluginError::failed(format!("{op}: {message}"))
}

/// The error a plugin receives for a use its manifest does not declare.
pub(crate) fn denied(slug: &str, capability: Capability) -> PluginError {
    PluginError::new(
        ErrorKind::Refused,
        CapabilityDenied {
            slug: slug.to_string(),
            capability,
        }
        .to_string(),
    )
}
