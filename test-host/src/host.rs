//! The test host: the real Plugboard runtime and HTTP server, in-process,
//! on a fresh data folder, with one plugin.

use std::{
    collections::{BTreeMap, HashMap},
    net::TcpListener,
    path::{Path, PathBuf},
    sync::{mpsc, Mutex},
    thread::JoinHandle,
    time::Duration,
};

use chrono::{DateTime, Utc};
use plugboard_core::{
    http::{self, AdminToken},
    scheduler::{manual::Fired, JobRun},
    toolkit::admin_client::{AdminClient, AdminError},
    Runtime, RuntimeConfig, Services,
};
use plugboard_plugin_api::{BuiltinPlugin, Context, Plugin, PluginObject, PluginResult};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::{
    call::{As, Call, TestResponse},
    error::TestHostError,
};

/// Makes the plugin's instance (what `export_plugin!` is given).
pub type MakePlugin = fn() -> PluginResult<Box<dyn PluginObject>>;

fn make_default<P: Plugin + Default>() -> PluginResult<Box<dyn PluginObject>> {
    plugboard_plugin_api::builtin(P::default())
}

/// The clock jobs see when a test does not choose one: 2026-01-01T00:00:00Z.
pub fn default_start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default()
}

/// An event emitted on the host's bus while the test ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    /// Its name (`plugin.{slug}.…`, `user.created`, …).
    pub name: String,
    /// Its payload as JSON text.
    pub payload: String,
}

impl Emitted {
    /// The payload as `T`.
    ///
    /// # Panics
    /// When it is not JSON of that shape.
    pub fn payload<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.payload)
            .unwrap_or_else(|e| panic!("event {}: payload {}: {e}", self.name, self.payload))
    }
}

/// The bus's tap and the events read from it so far.
type Captured = (mpsc::Receiver<(String, String)>, Vec<Emitted>);

/// How to start a [`TestHost`]: [`TestHost::of`] or [`TestHost::builder`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct Builder {
    make: MakePlugin,
    manifest: ManifestFrom,
    config: Option<Value>,
    grants: Vec<String>,
    clock: DateTime<Utc>,
    assets: Option<PathBuf>,
}

enum ManifestFrom {
    /// `plugin.json` in the crate being tested (`CARGO_MANIFEST_DIR`).
    CrateDir,
    Dir(PathBuf),
    Text(String),
}

impl Builder {
    /// Reads `plugin.json` from `dir` (default: the crate being tested,
    /// `$CARGO_MANIFEST_DIR/plugin.json`).
    pub fn manifest_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.manifest = ManifestFrom::Dir(dir.into());
        self
    }

    /// Uses this manifest text instead of a `plugin.json` file.
    pub fn manifest(mut self, json: impl Into<String>) -> Self {
        self.manifest = ManifestFrom::Text(json.into());
        self
    }

    /// Where the plugin's UI modules are (default: `assets/` beside the
    /// manifest): the host checks that each module the manifest names is
    /// there, and serves them.
    pub fn assets_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.assets = Some(dir.into());
        self
    }

    /// Sets the plugin's configuration once it is active, through the admin
    /// API (checked against the manifest's `config_schema`, and
    /// `on_config_changed` called, as on a server).
    pub fn config(mut self, config: Value) -> Self {
        self.config = Some(config);
        self
    }

    /// Grants one of the plugin's declared permissions to the `user` role
    /// (admins hold them all), as an admin would on the plugin's page.
    pub fn grant(mut self, permission: &str) -> Self {
        self.grants.push(permission.to_string());
        self
    }

    /// Where the job clock starts (default [`default_start`]).
    pub fn clock_at(mut self, start: DateTime<Utc>) -> Self {
        self.clock = start;
        self
    }

    /// Starts the host with the plugin and enables it.
    ///
    /// Fails with the host's own words when the host refuses the manifest
    /// or the plugin does not become active ([`TestHostError::NotActive`]).
    pub fn start(self) -> Result<TestHost, TestHostError> {
        let dir = match &self.manifest {
            ManifestFrom::Text(_) => None,
            ManifestFrom::Dir(d) => Some(d.clone()),
            ManifestFrom::CrateDir => {
                let dir = std::env::var_os("CARGO_MANIFEST_DIR").ok_or_else(|| {
                    TestHostError::Start(
                        "CARGO_MANIFEST_DIR is not set (run under cargo test, or give manifest_dir)"
                            .into(),
                    )
                })?;
                Some(PathBuf::from(dir))
            }
        };
        let manifest = match (&self.manifest, &dir) {
            (ManifestFrom::Text(t), _) => t.clone(),
            (_, Some(d)) => read_manifest(d)?,
            (_, None) => unreachable!("a folder for every manifest but text"),
        };
        let assets = self.assets.or_else(|| dir.map(|d| d.join("assets")));
        let host = TestHost::launch(self.make, manifest, assets, self.clock)?;
        if !self.grants.is_empty() {
            let grants: BTreeMap<String, Vec<String>> = self
                .grants
                .iter()
                .map(|p| (p.clone(), vec!["user".to_string()]))
                .collect();
            host.admin_api(
                "PUT",
                &format!("/api/admin/plugins/{}/permissions", host.slug),
                Some(serde_json::json!({ "grants": grants })),
            )?;
        }
        if let Some(config) = self.config {
            host.set_config(config)?;
        }
        Ok(host)
    }
}

fn read_manifest(dir: &Path) -> Result<String, TestHostError> {
    let path = dir.join("plugin.json");
    std::fs::read_to_string(&path).map_err(|source| TestHostError::Manifest { path, source })
}

/// The real Plugboard host, in-process, with one plugin: the plugin's
/// routes are called over HTTP on loopback through the server's own stack
/// (authentication, the route's access level, CSRF, body limits), its SQL
/// runs on SQLite through the namespace rewriter and the engine's
/// authorizer, its migrations, capabilities and event names are checked as
/// on a server, and its jobs fire when the test moves the clock.
///
/// Each host has a data folder of its own (removed when it is dropped), so
/// tests run in parallel. Use it from ordinary `#[test]` functions: its
/// calls block, and it runs its own runtimes (inside `#[tokio::test]` they
/// would panic, as any blocking call on an async runtime's thread).
///
/// ```no_run
/// # use plugboard_plugin_api::prelude::*;
/// # #[derive(Default)] struct Hello;
/// # impl Plugin for Hello { fn slug(&self) -> &str { "hello" } fn version(&self) -> &str { "0.1.0" } }
/// use plugboard_test_host::TestHost;
///
/// let host = TestHost::of::<Hello>().start().unwrap(); // reads ./plugin.json
/// let res = host.get("/greeting").as_user("ann").send();
/// assert_eq!(res.status(), 200);
/// ```
pub struct TestHost {
    slug: String,
    base: String,
    token: String,
    runtime: Runtime,
    services: Services,
    events: Mutex<Captured>,
    sessions: Mutex<HashMap<String, (String, String, String)>>,
    agent: ureq::Agent,
    admin: AdminClient,
    stop: Option<actix_web::dev::ServerHandle>,
    thread: Option<JoinHandle<()>>,
    _data: tempfile::TempDir,
}

impl TestHost {
    /// A host for plugin `P`, made with `P::default()`.
    pub fn of<P: Plugin + Default>() -> Builder {
        Self::builder(make_default::<P>)
    }

    /// A host for the plugin `make` creates, e.g.
    /// `TestHost::builder(|| plugboard_plugin_api::builtin(Hello::new(3)))`.
    pub fn builder(make: MakePlugin) -> Builder {
        Builder {
            make,
            manifest: ManifestFrom::CrateDir,
            config: None,
            grants: Vec::new(),
            clock: default_start(),
            assets: None,
        }
    }

    fn launch(
        make: MakePlugin,
        manifest: String,
        assets: Option<PathBuf>,
        clock: DateTime<Utc>,
    ) -> Result<TestHost, TestHostError> {
        let data = tempfile::Builder::new()
            .prefix("plugboard-test-host-")
            .tempdir()
            .map_err(|e| TestHostError::Start(format!("cannot make a data folder: {e}")))?;
        let (tap, tapped) = mpsc::channel();
        let mut config = RuntimeConfig::new(data.path());
        config.manual_clock = Some(clock);
        config.event_tap = Some(tap);
        let slug = serde_json::from_str::<Value>(&manifest)
            .ok()
            .and_then(|m| m.get("slug")?.as_str().map(str::to_string));
        if let (Some(slug), Some(assets)) = (slug, assets) {
            config.builtin_assets.insert(slug, assets);
        }
        let token = random_token();
        let builtin = BuiltinPlugin {
            manifest: Box::leak(manifest.into_boxed_str()),
            make,
        };
        let (ready, started) = mpsc::channel();
        let server_token = token.clone();
        let thread = std::thread::Builder::new()
            .name("plugboard-test-host".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let runtime = match Runtime::start(config, &[builtin]).await {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = ready.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let listening = TcpListener::bind("127.0.0.1:0").and_then(|l| {
                        let addr = l.local_addr()?;
                        let services = Services::new(runtime.clone());
                        let server =
                            http::server(services.clone(), AdminToken::new(&server_token), l, 1)?;
                        Ok((addr, services, server))
                    });
                    match listening {
                        Ok((addr, services, server)) => {
                            let _ = ready.send(Ok((
                                format!("http://{addr}"),
                                services,
                                server.handle(),
                            )));
                            let _ = server.await;
                        }
                        Err(e) => {
                            let _ = ready.send(Err(format!("cannot serve: {e}")));
                        }
                    }
                    runtime.shutdown().await;
                })
            })
            .map_err(|e| TestHostError::Start(e.to_string()))?;
        let (base, services, stop) = started
            .recv()
            .map_err(|_| TestHostError::Start("the host thread ended".into()))?
            .map_err(TestHostError::Start)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let runtime = services.runtime.clone();
        let admin = AdminClient::new(&base, &token);
        let mut host = TestHost {
            slug: String::new(),
            base,
            token,
            runtime,
            services,
            events: Mutex::new((tapped, Vec::new())),
            sessions: Mutex::default(),
            agent,
            admin,
            stop: Some(stop),
            thread: Some(thread),
            _data: data,
        };
        host.slug = host.check_active()?;
        host.settle();
        Ok(host)
    }

    /// The plugin's slug, once the host says it is active.
    fn check_active(&self) -> Result<String, TestHostError> {
        let Some(entry) = self.runtime.entries().into_iter().next() else {
            let reason = self
                .runtime
                .problems()
                .into_iter()
                .map(|p| p.error)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(TestHostError::Start(reason));
        };
        let slug = entry.slug().to_string();
        let record = block_on(self.runtime.store().get(&slug))
            .map_err(|e| TestHostError::Host(e.to_string()))?;
        if !entry.is_live() {
            return Err(TestHostError::NotActive {
                slug,
                state: record.state.as_str().to_string(),
                reason: record.last_error.unwrap_or_default(),
            });
        }
        Ok(slug)
    }

    /// The plugin's slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The full URL of a path below the plugin's route prefix, for a test
    /// that brings its own HTTP client.
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/plugins/{}{}", self.base, self.slug, path)
    }

    /// The host's base URL (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The admin bearer token of this host.
    pub fn admin_token(&self) -> &str {
        &self.token
    }

    /// The runtime, for what this API does not cover.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// A request with any method.
    pub fn request(&self, method: &str, path: &str) -> Call<'_> {
        Call {
            host: self,
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            caller: As::Anonymous,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` to one of the plugin's routes (`/entries`).
    pub fn get(&self, path: &str) -> Call<'_> {
        self.request("GET", path)
    }

    /// A `POST`.
    pub fn post(&self, path: &str) -> Call<'_> {
        self.request("POST", path)
    }

    /// A `PUT`.
    pub fn put(&self, path: &str) -> Call<'_> {
        self.request("PUT", path)
    }

    /// A `PATCH`.
    pub fn patch(&self, path: &str) -> Call<'_> {
        self.request("PATCH", path)
    }

    /// A `DELETE`.
    pub fn delete(&self, path: &str) -> Call<'_> {
        self.request("DELETE", path)
    }

    pub(crate) fn send(&self, call: Call<'_>) -> TestResponse {
        let url = self.url(&call.path);
        let mut req = ureq::http::Request::builder()
            .method(call.method.as_str())
            .uri(&url);
        match &call.caller {
            As::Anonymous => {}
            As::Token => req = req.header("authorization", format!("Bearer {}", self.token)),
            As::User(name) | As::Admin(name) => {
                let role = if matches!(call.caller, As::Admin(_)) {
                    "admin"
                } else {
                    "user"
                };
                let (token, csrf) = self
                    .session(name, role)
                    .unwrap_or_else(|e| panic!("cannot sign {name} in: {e}"));
                req = req
                    .header(
                        "cookie",
                        format!("{}={token}", plugboard_core::http::auth::SESSION_COOKIE),
                    )
                    .header("x-csrf-token", csrf);
            }
        }
        for (k, v) in &call.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let sent = match call.body {
            Some((bytes, content_type)) => self.agent.run(
                req.header("content-type", content_type)
                    .body(bytes)
                    .unwrap_or_else(|e| panic!("{} {url}: {e}", call.method)),
            ),
            None => self.agent.run(
                req.body(())
                    .unwrap_or_else(|e| panic!("{} {url}: {e}", call.method)),
            ),
        };
        let resp = sent.unwrap_or_else(|e| panic!("{} {url}: no answer: {e}", call.method));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = resp
            .into_body()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("{} {url}: reading the body: {e}", call.method));
        self.settle();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Waits until every event emitted so far has been delivered to its
    /// subscribers (at most 30 s). Every method of the test host that can
    /// emit events calls it before returning, so a test sees their
    /// effects without waiting: on a server delivery is asynchronous, and
    /// nothing else differs.
    ///
    /// # Panics
    /// When events are still being delivered after 30 s (a subscriber that
    /// never returns): the test would otherwise check a state that is not
    /// settled.
    pub fn settle(&self) {
        if !self.runtime.events().drain(Duration::from_secs(30)) {
            panic!("events emitted during the test were still being delivered after 30 s");
        }
    }

    /// The session of account `name` (made with `role` on first use):
    /// (token, CSRF token).
    fn session(&self, name: &str, role: &str) -> Result<(String, String), TestHostError> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, csrf, had)) = sessions.get(name) {
            if had != role {
                return Err(TestHostError::Host(format!(
                    "account {name:?} was made with role {had}; use another name for a {role}"
                )));
            }
            return Ok((token.clone(), csrf.clone()));
        }
        let account = self.create_account(name, role)?;
        let opened = block_on(self.services.accounts.open_session(account))
            .map_err(|e| TestHostError::Host(e.to_string()))?
            .ok_or_else(|| TestHostError::Host(format!("account {name:?} vanished")))?;
        let (token, session) = opened;
        sessions.insert(
            name.to_string(),
            (token.clone(), session.csrf_token.clone(), role.to_string()),
        );
        Ok((token, session.csrf_token))
    }

    /// Creates an account as an admin would (`user.before_create` filters,
    /// then `user.created` and the user hooks, as on a server); its id.
    pub fn create_account(&self, username: &str, role: &str) -> Result<i64, TestHostError> {
        let actor = plugboard_core::users::system_actor();
        block_on(plugboard_core::users::create(
            &self.runtime,
            username,
            role,
            &actor,
        ))
        .map(|a| {
            self.settle();
            a.id
        })
        .map_err(|e| TestHostError::Host(e.to_string()))
    }

    /// An admin API call with the token; the JSON answer, or the refusal.
    fn admin_api(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, TestHostError> {
        let answer = self.admin.call(method, path, body);
        self.settle();
        answer.map_err(|e| match e {
            AdminError::Api { status, body, .. } => TestHostError::Refused {
                status,
                body: *body,
            },
            AdminError::Transport(why) => TestHostError::Host(why),
        })
    }

    /// Sets the plugin's configuration through the admin API: refused as on
    /// a server when it fails the manifest's `config_schema`; the plugin's
    /// `on_config_changed` runs before this returns.
    pub fn set_config(&self, config: Value) -> Result<(), TestHostError> {
        self.admin_api(
            "PUT",
            &format!("/api/admin/plugins/{}/config", self.slug),
            Some(config),
        )
        .map(drop)
    }

    /// Disables the plugin (its `on_disable` runs; routes, jobs and
    /// subscriptions go offline).
    pub fn disable(&self) -> Result<(), TestHostError> {
        self.admin_api(
            "POST",
            &format!("/api/admin/plugins/{}/disable", self.slug),
            None,
        )
        .map(drop)
    }

    /// Enables it again.
    pub fn enable(&self) -> Result<(), TestHostError> {
        self.admin_api(
            "POST",
            &format!("/api/admin/plugins/{}/enable", self.slug),
            None,
        )
        .map(drop)
    }

    /// Every event emitted on the bus since the host started (by the plugin,
    /// or by the host: `user.created`, …), in emit order. Events the host
    /// refused to emit (outside the plugin's namespace, not in its
    /// manifest's `events.emit`) are not here: the plugin got the error.
    pub fn events(&self) -> Vec<Emitted> {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let (rx, seen) = &mut *events;
        seen.extend(
            rx.try_iter()
                .map(|(name, payload)| Emitted { name, payload }),
        );
        seen.clone()
    }

    /// [`TestHost::events`], then forgets them (the next call starts empty).
    pub fn take_events(&self) -> Vec<Emitted> {
        let all = self.events();
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clear();
        all
    }

    /// Emits an event as the host (or another plugin) would, and delivers
    /// it to the matching subscribers before returning; their failures as
    /// `(plugin, error)`.
    pub fn deliver<T: Serialize + ?Sized>(&self, name: &str, payload: &T) -> Vec<(String, String)> {
        let payload = serde_json::to_string(payload)
            .unwrap_or_else(|e| panic!("event {name}: cannot encode the payload: {e}"));
        let failures = self.runtime.events().emit_sync(name, &payload);
        self.settle();
        failures
    }

    /// The job clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.runtime.scheduler().now()
    }

    /// Moves the job clock forward by `by`, running every job due on the
    /// way, in time order, each to its end; the runs it caused. Every tick
    /// runs (an `every 1s` job moved a day runs 86 400 times): move the
    /// clock in the steps the test needs. Runs never overlap here, so the
    /// `skipped` outcome a server records for a tick that comes while the
    /// previous run is still going does not happen on the test host.
    pub fn advance(&self, by: Duration) -> Result<Vec<Fired>, TestHostError> {
        let by = chrono::Duration::from_std(by).map_err(|e| TestHostError::Jobs(e.to_string()))?;
        self.advance_to(self.now() + by)
    }

    /// Moves the job clock to `to` (see [`TestHost::advance`]).
    pub fn advance_to(&self, to: DateTime<Utc>) -> Result<Vec<Fired>, TestHostError> {
        let fired = block_on(self.runtime.scheduler().advance_to(to))
            .map_err(|e| TestHostError::Jobs(e.to_string()));
        self.settle();
        fired
    }

    /// The recorded runs of job `name`, newest first (outcome `ok`,
    /// `error`, `panic`, `deadline` or `skipped`, with the error).
    pub fn job_runs(&self, name: &str) -> Vec<JobRun> {
        block_on(self.runtime.scheduler().list(&self.slug, 1000))
            .into_iter()
            .find(|j| j.name == name)
            .map(|j| j.recent_runs)
            .unwrap_or_default()
    }

    /// Runs `f` with the plugin's own context, as its code sees it: its
    /// KV, its SQL tables (namespaced), its files, its config.
    ///
    /// # Panics
    /// When the plugin is no longer loaded.
    pub fn with_context<T>(&self, f: impl FnOnce(&Context<'_>) -> T) -> T {
        let entry = self
            .runtime
            .plugin(&self.slug)
            .unwrap_or_else(|| panic!("plugin {} is not loaded", self.slug));
        let out = entry.with_context(f);
        self.settle();
        out
    }

    /// The value the plugin stored under KV `key`.
    pub fn kv<T: DeserializeOwned>(&self, key: &str) -> PluginResult<Option<T>> {
        self.with_context(|ctx| ctx.kv().get(key))
    }

    /// A query in the plugin's tables, as the plugin would run it.
    pub fn query(&self, sql: &str, params: &[Value]) -> PluginResult<Vec<Value>> {
        self.with_context(|ctx| ctx.sql().query(sql, params))
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            block_on(stop.stop(true));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs a future to its end on a small runtime of its own (the host's
/// database calls do not depend on the caller's runtime).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot make a runtime: {e}"))
        .block_on(f)
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .unwrap_or_else(|e| panic!("no randomness for the admin token: {e}"));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
