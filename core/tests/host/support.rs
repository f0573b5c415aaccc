//! Shared fixtures: a host on a loopback port over a temporary data folder.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    sync::mpsc,
    thread::JoinHandle,
    time::Duration,
};

use plugboard_core::{
    fault::FaultPolicy,
    http::{self, AdminToken},
    BuiltinPlugin, Runtime, RuntimeConfig,
};
use serde_json::Value;

pub const TOKEN: &str = "test-admin-token";

/// Where `scripts/test` staged the example and fixture plugins.
pub fn staged() -> PathBuf {
    let dir = std::env::var_os("PLUGBOARD_TEST_PLUGINS").map(PathBuf::from).expect(
        "PLUGBOARD_TEST_PLUGINS is not set: run the tests with scripts/test, which builds and stages the plugin libraries",
    );
    assert!(
        dir.join("plugins/guestbook/plugin.json").is_file(),
        "{} holds no staged plugins; run scripts/test",
        dir.display()
    );
    dir.join("plugins")
}

/// Copies staged plugin folders into `data_dir/plugins`.
pub fn stage(data_dir: &Path, slugs: &[&str]) {
    for slug in slugs {
        copy_dir(&staged().join(slug), &data_dir.join("plugins").join(slug));
    }
}

/// Copies a folder and everything in it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A running host.
pub struct Host {
    pub base: String,
    pub runtime: Runtime,
    /// The services the server was given (marketplace, accounts, history).
    pub services: plugboard_core::Services,
    stop: Option<actix_web::dev::ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

pub struct Options {
    pub builtins: Vec<BuiltinPlugin>,
    pub fault_policy: FaultPolicy,
    /// `None`: the SQLite file in the data folder.
    pub database_url: Option<String>,
    /// Plugin SQL skips the namespace rewriter (test-only feature).
    pub sql_rewriter_bypassed: bool,
    /// What each plugin may keep with the `files` capability.
    pub files: plugboard_core::capability::files::FileLimits,
    /// `plugboard serve --safe-mode`.
    pub safe_mode: bool,
    /// Call deadlines and capacities.
    pub limits: plugboard_core::exec::CallLimits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            builtins: plugboard_builtin_plugins::ALL.to_vec(),
            fault_policy: FaultPolicy::default(),
            database_url: None,
            sql_rewriter_bypassed: false,
            files: Default::default(),
            safe_mode: false,
            limits: Default::default(),
        }
    }
}

/// Makes a test plugin.
pub type Factory =
    fn() -> plugboard_plugin_api::PluginResult<Box<dyn plugboard_plugin_api::PluginObject>>;

/// Test plugins as built-ins whose manifests grant every capability but
/// outbound network (capability checks have their own tests).
pub fn probes(makers: &[Factory]) -> Vec<BuiltinPlugin> {
    makers
        .iter()
        .map(|make| {
            let object = make().expect("test plugin starts");
            let slug = object.slug();
            granted(
                *make,
                serde_json::json!({
                    "kv": true, "sql": true, "routes": true, "cron": true, "ui": true,
                    "events": {"emit": [format!("plugin.{slug}.*")], "subscribe": ["*"]}
                }),
            )
        })
        .collect()
}

/// A test plugin as a built-in with every capability (as [`probes`]) and
/// more manifest fields (`limits`, `filters`, `routes`, …).
pub fn probe_with(make: Factory, extra: Value) -> BuiltinPlugin {
    let mut plugin = probes(&[make]).remove(0);
    let mut manifest: Value = serde_json::from_str(plugin.manifest).unwrap();
    for (k, v) in extra.as_object().expect("an object of manifest fields") {
        manifest[k] = v.clone();
    }
    plugin.manifest = Box::leak(manifest.to_string().into_boxed_str());
    plugin
}

/// A test plugin as a built-in whose manifest grants `capabilities`.
pub fn granted(make: Factory, capabilities: Value) -> BuiltinPlugin {
    let object = make().expect("test plugin starts");
    let manifest = serde_json::json!({
        "slug": object.slug(),
        "version": object.version(),
        "capabilities": capabilities,
    });
    BuiltinPlugin {
        manifest: Box::leak(manifest.to_string().into_boxed_str()),
        make,
    }
}

/// Polls `probe` (every 10 ms) until it gives a value, and returns it;
/// fails the test with `what` and the last `progress` after `within`. The
/// one waiting loop of the tests: nothing sleeps a fixed time to "let
/// something happen".
pub fn eventually<T>(what: &str, within: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// [`eventually`] for a condition.
pub fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    eventually(what, within, || done().then_some(()))
}

/// One test per database: `per_database! { fn name(db, url) { … } }` makes
/// `name::sqlite` (`url` is `None`: a SQLite file in the data folder) and
/// `name::postgres` (a fresh database on the PostgreSQL server that
/// `scripts/test` starts), so a failure names the database.
macro_rules! per_database {
    ($(#[$meta:meta])* fn $name:ident($db:ident, $url:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_variables)]
            fn run($db: &'static str, $url: Option<String>) $body

            #[test]
            fn sqlite() {
                run("sqlite", None)
            }

            #[test]
            fn postgres() {
                run("postgres", Some($crate::support::fresh_postgres_database()))
            }
        }
    };
}

/// A new, empty database on the test PostgreSQL server.
pub fn fresh_postgres_database() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let base = std::env::var("PLUGBOARD_TEST_POSTGRES_URL").expect(
        "PLUGBOARD_TEST_POSTGRES_URL is not set: run the tests with scripts/test, which starts PostgreSQL",
    );
    let name = format!(
        "plugboard_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    block_on(async {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(base.clone()).await.unwrap();
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    match base.rfind('/') {
        Some(i) => format!("{}/{name}", &base[..i]),
        None => panic!("bad PostgreSQL URL {base}"),
    }
}

impl Host {
    pub fn start(data_dir: &Path) -> Host {
        Self::start_with(data_dir, Options::default())
    }

    pub fn start_with(data_dir: &Path, options: Options) -> Host {
        let (tx, rx) = mpsc::channel();
        let dir = data_dir.to_path_buf();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let mut config = RuntimeConfig::new(&dir);
                config.fault_policy = options.fault_policy;
                config.database_url = options.database_url;
                config.sql_rewriter_bypassed = options.sql_rewriter_bypassed;
                config.files = options.files;
                config.inspector = inspector();
                config.safe_mode = options.safe_mode;
                config.limits = options.limits;
                let runtime = Runtime::start(config, &options.builtins)
                    .await
                    .expect("runtime starts");
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                let services = plugboard_core::Services::new(runtime.clone());
                let server =
                    http::server(services.clone(), AdminToken::new(TOKEN), listener, 2).unwrap();
                tx.send((format!("http://{addr}"), services, server.handle()))
                    .unwrap();
                server.await.unwrap();
                runtime.shutdown().await;
            })
        });
        let (base, services, stop): (String, plugboard_core::Services, _) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("host started");
        Host {
            base,
            runtime: services.runtime.clone(),
            services,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the server and waits for the runtime to shut down.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            block_on(stop.stop(true));
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An admin request: (status, JSON body).
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        request(method, &self.url(path), Some(TOKEN), body)
    }

    /// A request without the admin token.
    pub fn public(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        request(method, &self.url(path), None, body)
    }

    pub fn state(&self, slug: &str) -> String {
        let (status, v) = self.admin("GET", &format!("/api/admin/plugins/{slug}"), None);
        assert_eq!(status, 200, "{v}");
        v["state"].as_str().unwrap().to_string()
    }

    pub fn enable(&self, slug: &str) -> (u16, Value) {
        self.admin("POST", &format!("/api/admin/plugins/{slug}/enable"), None)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The library check of installs and `catalog_add`: the `plugboard` binary
/// (a test binary has no `__inspect-library` subcommand).
pub fn inspector() -> plugboard_core::inspect::Inspector {
    plugboard_core::inspect::Inspector::new(env!("CARGO_BIN_EXE_plugboard"))
}

/// Any HTTP request; non-2xx statuses are returned, not raised.
pub fn request(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    try_request(method, url, token, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// [`request`], with a transport error (no answer: the server died, say)
/// returned rather than raised.
pub fn try_request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<(u16, Value), ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = match body {
        Some(b) => agent.run(
            req.header("content-type", "application/json")
                .body(b.to_string())
                .unwrap(),
        ),
        None => agent.run(req.body(()).unwrap()),
    }?;
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok((status, json))
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("plugboard-test-")
        .tempdir()
        .unwrap()
}

/// Test-only built-in plugins.
pub mod builtins {
    use plugboard_plugin_api::prelude::*;

    /// Exposes its KV store over routes: `PUT/GET/DELETE /kv/{key}`,
    /// `GET /keys?prefix=`, `POST /clear`.
    pub struct KvProbe(pub &'static str);

    impl KvProbe {
        fn put(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
            let v: serde_json::Value = req.json()?;
            ctx.kv().set(req.param("key").unwrap_or_default(), &v)?;
            Ok(Response::empty(204))
        }
        fn get(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
            match ctx
                .kv()
                .get::<serde_json::Value>(req.param("key").unwrap_or_default())?
            {
                Some(v) => Ok(Response::json(&v)),
                None => Err(PluginError::not_found("no such key")),
            }
        }
        fn delete(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
            let existed = ctx.kv().delete(req.param("key").unwrap_or_default())?;
            Ok(Response::json(&serde_json::json!({ "existed": existed })))
        }
        fn keys(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
            let prefix = req.query_param("prefix").unwrap_or_default();
            Ok(Response::json(&ctx.kv().keys(&prefix)?))
        }
        fn clear(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
            Ok(Response::json(
                &serde_json::json!({ "cleared": ctx.kv().clear()? }),
            ))
        }
        fn boom(&self, _ctx: &Context, _req: &Request) -> PluginResult<Response> {
            panic!("built-in route panicked on purpose")
        }
    }

    impl Plugin for KvProbe {
        fn slug(&self) -> &str {
            self.0
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn routes(&self) -> Vec<Route<Self>> {
            vec![
                Route::put("/kv/{key}", Self::put),
                Route::get("/kv/{key}", Self::get),
                Route::delete("/kv/{key}", Self::delete),
                Route::get("/keys", Self::keys),
                Route::post("/clear", Self::clear),
                Route::get("/boom", Self::boom),
            ]
        }
    }

    /// Implements `user.created`, wanting to run before `before`.
    pub struct Ordered {
        pub slug: &'static str,
        pub before: &'static str,
    }

    impl Plugin for Ordered {
        fn slug(&self) -> &str {
            self.slug
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn hooks(&self) -> Vec<HookSpec> {
            vec![HookSpec::new(Hook::UserCreated).before(self.before)]
        }
    }
}

/// Records `system.startup` / `system.shutdown` in its KV store and serves
/// them at `GET /events`.
pub mod system_probe {
    use plugboard_plugin_api::prelude::*;

    pub struct SystemProbe;

    impl SystemProbe {
        fn record(ctx: &Context, what: &str) -> PluginResult {
            let mut seen: Vec<String> = ctx.kv().get("seen")?.unwrap_or_default();
            seen.push(what.to_string());
            ctx.kv().set("seen", &seen)
        }
        fn events(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
            let seen: Vec<String> = ctx.kv().get("seen")?.unwrap_or_default();
            Ok(Response::json(&seen))
        }
    }

    impl Plugin for SystemProbe {
        fn slug(&self) -> &str {
            "system-probe"
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn hooks(&self) -> Vec<HookSpec> {
            vec![
                HookSpec::new(Hook::SystemStartup),
                HookSpec::new(Hook::SystemShutdown),
            ]
        }
        fn routes(&self) -> Vec<Route<Self>> {
            vec![Route::get("/events", Self::events)]
        }
        fn on_system_startup(&self, ctx: &Context) -> PluginResult {
            Self::record(ctx, "startup")
        }
        fn on_system_shutdown(&self, ctx: &Context) -> PluginResult {
            Self::record(ctx, "shutdown")
        }
    }
}

/// Runs SQL sent to its routes: `POST /exec`, `POST /query` with
/// `{"sql", "params"}`, and `POST /batch` with a list of those.
pub mod sql_probe {
    use plugboard_plugin_api::prelude::*;
    use serde::Deserialize;

    pub struct SqlProbe(pub &'static str);

    #[derive(Deserialize)]
    struct Call {
        sql: String,
        #[serde(default)]
        params: Vec<serde_json::Value>,
    }

    fn refused(e: PluginError) -> PluginError {
        PluginError::invalid(e.message())
    }

    impl SqlProbe {
        fn exec(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
            let c: Call = req.json()?;
            let n = ctx.sql().exec(&c.sql, &c.params).map_err(refused)?;
            Ok(Response::json(&serde_json::json!({ "rows_affected": n })))
        }
        fn query(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
            let c: Call = req.json()?;
            let rows: Vec<serde_json::Value> =
                ctx.sql().query(&c.sql, &c.params).map_err(refused)?;
            Ok(Response::json(&rows))
        }
        fn batch(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
            let calls: Vec<Call> = req.json()?;
            let items: Vec<(&str, Vec<serde_json::Value>)> = calls
                .iter()
                .map(|c| (c.sql.as_str(), c.params.clone()))
                .collect();
            Ok(Response::json(&ctx.sql().batch(&items).map_err(refused)?))
        }
    }

    impl Plugin for SqlProbe {
        fn slug(&self) -> &str {
            self.0
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn migrations(&self) -> Vec<Migration> {
            vec![
                Migration::new(
                    "0001_notes",
                    &["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"],
                )
                .postgres(&["CREATE TABLE notes (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, body TEXT NOT NULL)"]),
                Migration::new(
                    "0002_notes_rank",
                    &["ALTER TABLE notes ADD COLUMN rank INTEGER"],
                ),
            ]
        }
        fn routes(&self) -> Vec<Route<Self>> {
            vec![
                Route::post("/exec", Self::exec),
                Route::post("/query", Self::query),
                Route::post("/batch", Self::batch),
            ]
        }
    }

    /// Its second migration fails.
    pub struct BadMigration;

    impl Plugin for BadMigration {
        fn slug(&self) -> &str {
            "bad-migration"
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn migrations(&self) -> Vec<Migration> {
            vec![
                Migration::new("0001_ok", &["CREATE TABLE t (id INTEGER PRIMARY KEY)"]),
                Migration::new(
                    "0002_broken",
                    &[
                        "CREATE TABLE u (id INTEGER PRIMARY KEY)",
                        "INSERT INTO missing_table VALUES (1)",
                    ],
                ),
            ]
        }
    }
}

/// Records the events it receives (`GET /seen`), emits on request
/// (`POST /emit` with `{"name", "payload", "wait"}`), and can be slow or fail.
pub mod event_probe {
    use plugboard_plugin_api::prelude::*;
    use serde::Deserialize;

    pub struct EventProbe {
        pub slug: &'static str,
        pub patterns: &'static [&'static str],
        /// Milliseconds each delivery takes.
        pub delay_ms: u64,
        /// Fail (`"error"`) or panic (`"panic"`) on every event.
        pub misbehave: Option<&'static str>,
    }

    #[derive(Deserialize)]
    struct EmitBody {
        name: String,
        #[serde(default)]
        payload: serde_json::Value,
        #[serde(default)]
        wait: bool,
    }

    impl EventProbe {
        fn seen(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
            let rows: Vec<serde_json::Value> = ctx
                .sql()
                .query("SELECT name, payload FROM seen ORDER BY n", &[])?;
            Ok(Response::json(&rows))
        }
        fn emit(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
            let b: EmitBody = req.json()?;
            if b.wait {
                let failures = ctx.events().emit_sync(&b.name, &b.payload)?;
                let list: Vec<_> = failures
                    .iter()
                    .map(|f| serde_json::json!({"plugin": f.plugin, "error": f.error}))
                    .collect();
                Ok(Response::json(&list))
            } else {
                ctx.events().emit(&b.name, &b.payload)?;
                Ok(Response::json(&serde_json::json!([])))
            }
        }
    }

    impl Plugin for EventProbe {
        fn slug(&self) -> &str {
            self.slug
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn migrations(&self) -> Vec<Migration> {
            vec![Migration::new(
                "0001_seen",
                &["CREATE TABLE seen (n INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, payload TEXT NOT NULL)"],
            )]
        }
        fn subscriptions(&self) -> Vec<String> {
            self.patterns.iter().map(|p| p.to_string()).collect()
        }
        fn routes(&self) -> Vec<Route<Self>> {
            vec![
                Route::get("/seen", Self::seen),
                Route::post("/emit", Self::emit),
            ]
        }
        fn on_event(&self, ctx: &Context, event: &Event) -> PluginResult {
            match self.misbehave {
                Some("panic") => panic!("event probe panicked on purpose"),
                Some(_) => return Err(PluginError::failed("event probe failed on purpose")),
                None => {}
            }
            if self.delay_ms > 0 {
                std::thread::sleep(std::time::Duration::from_millis(self.delay_ms));
            }
            ctx.sql()
                .exec(
                    "INSERT INTO seen (name, payload) VALUES (?, ?)",
                    &[event.name().into(), event.payload_json().into()],
                )
                .map(|_| ())
        }
    }
}

/// Scheduled jobs: `tick` (every second, counts in KV), `slow` (every
/// second, takes 1.5 s); `Boom` panics every second; `BadSchedule` declares nonsense.
pub mod jobs {
    use plugboard_plugin_api::prelude::*;

    pub struct Ticker;

    impl Ticker {
        fn tick(&self, ctx: &Context) -> PluginResult {
            let n: u64 = ctx.kv().get("ticks")?.unwrap_or(0);
            ctx.kv().set("ticks", &(n + 1))
        }
        fn slow(&self, _ctx: &Context) -> PluginResult {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            Ok(())
        }
    }

    impl Plugin for Ticker {
        fn slug(&self) -> &str {
            "ticker"
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn jobs(&self) -> Vec<Job<Self>> {
            vec![
                Job::new("tick", "every 1s", Self::tick),
                Job::new("slow", "every 1s", Self::slow),
            ]
        }
    }

    pub struct Boom;

    impl Boom {
        fn boom(&self, _ctx: &Context) -> PluginResult {
            panic!("job panicked on purpose")
        }
    }

    impl Plugin for Boom {
        fn slug(&self) -> &str {
            "boom"
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn jobs(&self) -> Vec<Job<Self>> {
            vec![Job::new("boom", "every 1s", Self::boom)]
        }
    }

    pub struct BadSchedule;

    impl BadSchedule {
        fn never(&self, _ctx: &Context) -> PluginResult {
            Ok(())
        }
    }

    impl Plugin for BadSchedule {
        fn slug(&self) -> &str {
            "bad-schedule"
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn jobs(&self) -> Vec<Job<Self>> {
            vec![Job::new("never", "99 * * * *", Self::never)]
        }
    }
}

/// Has a config schema; records what `on_config_changed` received and
/// serves what `ctx.config()` reads at `GET /config`.
pub mod configurable {
    use plugboard_plugin_api::prelude::*;

    pub struct Configurable;

    impl Configurable {
        fn current(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
            let config: serde_json::Value = ctx.config()?;
            let applied: Option<serde_json::Value> = ctx.kv().get("applied")?;
            Ok(Response::json(
                &serde_json::json!({ "config": config, "applied": applied }),
            ))
        }
    }

    impl Plugin for Configurable {
        fn slug(&self) -> &str {
            "configurable"
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn config_schema(&self) -> Option<serde_json::Value> {
            Some(serde_json::json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["targets"],
                "properties": {
                    "api_key": {"type": "string", "format": "password"},
                    "retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3},
                    "mode": {"type": "string", "enum": ["fast", "safe"], "default": "safe"},
                    "targets": {"type": "array", "items": {
                        "type": "object", "required": ["url"], "additionalProperties": false,
                        "properties": {"url": {"type": "string", "pattern": "^https?://"}, "events": {"type": "array", "items": {"type": "string"}}}
                    }}
                }
            }))
        }
        fn routes(&self) -> Vec<Route<Self>> {
            vec![Route::get("/config", Self::current)]
        }
        fn on_config_changed(&self, ctx: &Context, config: &serde_json::Value) -> PluginResult {
            ctx.kv().set("applied", config)
        }
    }
}

/// `fetcher`: `POST /fetch {"url"}` makes an outbound GET through the host.
pub mod fetcher {
    use plugboard_plugin_api::{prelude::*, OutboundRequest};

    pub struct Fetcher;

    impl Fetcher {
        fn fetch(&self, ctx: &Context, req: &Request) -> PluginResult<Response> {
            let body: serde_json::Value = req.json()?;
            let url = body["url"].as_str().unwrap_or_default();
            let res = ctx
                .http()
                .send(&OutboundRequest::new("GET", url).timeout_ms(5_000))?;
            Ok(Response::json(
                &serde_json::json!({"status": res.status, "body": res.body}),
            ))
        }
    }

    impl Plugin for Fetcher {
        fn slug(&self) -> &str {
            "fetcher"
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn routes(&self) -> Vec<Route<Self>> {
            vec![Route::post("/fetch", Self::fetch)]
        }
    }
}

/// A real HTTP server on loopback that answers with scripted statuses and
/// records every request it gets.
pub mod receiver {
    use std::{
        io::{BufRead, BufReader, Read, Write},
        net::TcpListener,
        sync::{Arc, Mutex},
    };

    /// One request the receiver got.
    #[derive(Debug, Clone)]
    pub struct Received {
        pub path: String,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    pub struct Receiver {
        pub url: String,
        received: Arc<Mutex<Vec<Received>>>,
    }

    impl Receiver {
        /// Answers the n-th request with `statuses[n]`, then 200 for the rest.
        pub fn start(statuses: &[u16]) -> Receiver {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/hook", listener.local_addr().unwrap());
            let received = Arc::new(Mutex::new(Vec::new()));
            let (log, statuses) = (Arc::clone(&received), statuses.to_vec());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        continue;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut headers = Vec::new();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = h.trim_end().split_once(':') {
                            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                        }
                    }
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    let _ = reader.read_exact(&mut body);
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(Received {
                            path,
                            headers,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        log.len() - 1
                    };
                    let status = statuses.get(n).copied().unwrap_or(200);
                    let reply = format!("received {n}");
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                        reply.len()
                    );
                }
            });
            Receiver { url, received }
        }

        pub fn received(&self) -> Vec<Received> {
            self.received.lock().unwrap().clone()
        }
    }
}

/// A static file server on loopback: `GET /<name>` answers the file
/// `<dir>/<name>` (404 otherwise), counting requests.
pub mod file_server {
    use std::{
        io::{BufRead, BufReader, Write},
        net::{TcpListener, TcpStream},
        path::PathBuf,
    };

    /// Serves `dir`; returns the base URL (`http://127.0.0.1:port`).
    pub fn serve(dir: PathBuf) -> String {
        loopback(move |request, stream| {
            let name = request
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_string();
            let file = (!name.contains("..")).then(|| dir.join(&name));
            match file.and_then(|f| std::fs::read(f).ok()) {
                Some(bytes) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        bytes.len()
                    );
                    let _ = stream.write_all(&bytes);
                }
                None => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                }
            }
        })
    }

    /// An HTTP/1.1 server on a loopback port, one connection at a time on
    /// its own thread: reads each request's line and headers, then lets
    /// `answer` write the response (`connection: close`). The base URL.
    pub fn loopback(mut answer: impl FnMut(&str, &mut TcpStream) + Send + 'static) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                answer(&request, &mut stream);
            }
        });
        base
    }
}

/// A request with explicit headers: (status, response headers, JSON body).
pub fn send(
    host: &Host,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Vec<(String, String)>, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(host.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = match body {
        Some(b) => agent.run(
            req.header("content-type", "application/json")
                .body(b.to_string())
                .unwrap(),
        ),
        None => agent.run(req.body(()).unwrap()),
    }
    .unwrap();
    let status = resp.status().as_u16();
    let hs = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (
        status,
        hs,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}
