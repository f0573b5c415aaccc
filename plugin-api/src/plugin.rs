//! The one trait every plugin implements, built-in or dynamic.

use crate::{
    context::Context,
    error::PluginResult,
    hooks::{HookSpec, NewUser, PluginEvent, User},
    http::{Method, Request, Response},
};

/// A route handler: a method of the plugin.
pub type Handler<P> = fn(&P, &Context<'_>, &Request<'_>) -> PluginResult<Response>;

/// A route a plugin serves below `/api/plugins/{slug}`.
///
/// ```
/// use plugboard_plugin_api::prelude::*;
///
/// struct Hello;
/// impl Hello {
///     fn hello(&self, _ctx: &Context, req: &Request) -> PluginResult<Response> {
///         Ok(Response::text(format!("hello {}", req.param("name").unwrap_or("you"))))
///     }
/// }
/// let route = Route::get("/hello/{name}", Hello::hello);
/// assert_eq!(route.method(), Method::Get);
/// assert_eq!(route.path(), "/hello/{name}");
/// ```
pub struct Route<P> {
    method: Method,
    path: String,
    handler: Handler<P>,
    doc: RouteDoc,
}

/// What a route's documentation says (since 1.7): the host lists every
/// live route in its OpenAPI document (`GET /api/openapi.json`) with its
/// method, path and access level, and with this when the route gives it.
/// Schemas are JSON Schemas, made from Rust types with
/// [`Route::accepts`] and [`Route::responds`] (`schemars`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RouteDoc {
    /// One line: what the route does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// More, in Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema of the request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<serde_json::Value>,
    /// The JSON Schema of the response body, by status (`"200"`, `"201"`;
    /// `null`: no body).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub responses: std::collections::BTreeMap<String, serde_json::Value>,
}

impl<P> Route<P> {
    /// A route for `method` on `path` (a pattern such as `/entries/{id}`).
    pub fn new(method: Method, path: impl Into<String>, handler: Handler<P>) -> Self {
        Self {
            method,
            path: path.into(),
            handler,
            doc: RouteDoc::default(),
        }
    }
    /// A `GET` route.
    pub fn get(path: impl Into<String>, handler: Handler<P>) -> Self {
        Self::new(Method::Get, path, handler)
    }
    /// A `POST` route.
    pub fn post(path: impl Into<String>, handler: Handler<P>) -> Self {
        Self::new(Method::Post, path, handler)
    }
    /// A `PUT` route.
    pub fn put(path: impl Into<String>, handler: Handler<P>) -> Self {
        Self::new(Method::Put, path, handler)
    }
    /// A `PATCH` route.
    pub fn patch(path: impl Into<String>, handler: Handler<P>) -> Self {
        Self::new(Method::Patch, path, handler)
    }
    /// A `DELETE` route.
    pub fn delete(path: impl Into<String>, handler: Handler<P>) -> Self {
        Self::new(Method::Delete, path, handler)
    }
    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }
    /// The path pattern.
    pub fn path(&self) -> &str {
        &self.path
    }
    pub(crate) fn handler(&self) -> Handler<P> {
        self.handler
    }

    /// Documents the route in one line (since 1.7; see [`RouteDoc`]).
    ///
    /// ```
    /// use plugboard_plugin_api::prelude::*;
    /// use schemars::JsonSchema;
    ///
    /// #[derive(serde::Deserialize, JsonSchema)]
    /// struct NewNote { body: String }
    /// #[derive(serde::Serialize, JsonSchema)]
    /// struct Created { id: i64 }
    ///
    /// struct Notes;
    /// impl Notes {
    ///     fn create(&self, _ctx: &Context, req: &Request) -> PluginResult<Response> {
    ///         let note: NewNote = req.json()?;
    ///         Ok(Response::json(&Created { id: note.body.len() as i64 }).with_status(201))
    ///     }
    /// }
    /// let route = Route::post("/notes", Notes::create)
    ///     .summary("Writes a note")
    ///     .accepts::<NewNote>()
    ///     .responds::<Created>(201);
    /// let doc = route.doc();
    /// assert_eq!(doc.summary.as_deref(), Some("Writes a note"));
    /// assert_eq!(doc.request.as_ref().unwrap()["properties"]["body"]["type"], "string");
    /// assert!(doc.responses["201"]["properties"]["id"].is_object());
    /// ```
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.doc.summary = Some(summary.into());
        self
    }

    /// Documents the route at length (Markdown).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.doc.description = Some(description.into());
        self
    }

    /// The request body is JSON of type `T`.
    pub fn accepts<T: schemars::JsonSchema>(mut self) -> Self {
        self.doc.request = serde_json::to_value(schemars::schema_for!(T)).ok();
        self
    }

    /// The route answers `status` with JSON of type `T`.
    pub fn responds<T: schemars::JsonSchema>(mut self, status: u16) -> Self {
        let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
        self.doc.responses.insert(status.to_string(), schema);
        self
    }

    /// The route answers `status` with no body (`204`, say).
    pub fn responds_empty(mut self, status: u16) -> Self {
        self.doc
            .responses
            .insert(status.to_string(), serde_json::Value::Null);
        self
    }

    /// What the route's documentation says.
    pub fn doc(&self) -> &RouteDoc {
        &self.doc
    }
}

/// A job handler: a method of the plugin.
pub type JobHandler<P> = fn(&P, &Context<'_>) -> PluginResult;

/// A named, scheduled job. See [`JobSpec`](crate::abi::JobSpec) for schedules.
///
/// ```
/// use plugboard_plugin_api::prelude::*;
///
/// struct Janitor;
/// impl Janitor {
///     fn sweep(&self, ctx: &Context) -> PluginResult {
///         ctx.sql().exec("DELETE FROM sessions WHERE expired = 1", &[]).map(|_| ())
///     }
/// }
/// let job = Job::new("sweep", "@hourly", Janitor::sweep);
/// assert_eq!((job.name(), job.schedule()), ("sweep", "@hourly"));
/// ```
pub struct Job<P> {
    name: String,
    schedule: String,
    handler: JobHandler<P>,
}

impl<P> Job<P> {
    /// A job named `name` running `handler` on `schedule`.
    pub fn new(
        name: impl Into<String>,
        schedule: impl Into<String>,
        handler: JobHandler<P>,
    ) -> Self {
        Self {
            name: name.into(),
            schedule: schedule.into(),
            handler,
        }
    }
    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The schedule.
    pub fn schedule(&self) -> &str {
        &self.schedule
    }
    pub(crate) fn handler(&self) -> JobHandler<P> {
        self.handler
    }
}

/// A Plugboard plugin.
///
/// Implement this trait for built-in and dynamic plugins alike; every method
/// but `slug` and `version` has a default, so override only what you need.
/// Hooks are called only if declared in [`Plugin::hooks`]; routes go live when
/// the plugin is enabled and vanish when it is disabled.
///
/// Every call is guarded: a panic in any method becomes an error for that
/// call (and counts toward the host's fault policy), never a crash.
///
/// ```
/// use plugboard_plugin_api::prelude::*;
///
/// #[derive(Default)]
/// struct Greeter;
///
/// impl Greeter {
///     fn hello(&self, _ctx: &Context, _req: &Request) -> PluginResult<Response> {
///         Ok(Response::json(&serde_json::json!({"hello": "world"})))
///     }
/// }
///
/// impl Plugin for Greeter {
///     fn slug(&self) -> &str { "greeter" }
///     fn version(&self) -> &str { "0.1.0" }
///     fn hooks(&self) -> Vec<HookSpec> { vec![HookSpec::new(Hook::UserCreated)] }
///     fn routes(&self) -> Vec<Route<Self>> { vec![Route::get("/hello", Self::hello)] }
///     fn on_user_created(&self, ctx: &Context, user: &User) -> PluginResult {
///         ctx.log().info(&format!("welcome, {}", user.username));
///         Ok(())
///     }
/// }
/// ```
pub trait Plugin: Send + Sync + 'static {
    /// The plugin's unique slug (`[a-z0-9-]`, must match its manifest).
    fn slug(&self) -> &str;
    /// The plugin's semver version (must match its manifest).
    fn version(&self) -> &str;

    /// The hooks this plugin implements, with their ordering wishes.
    fn hooks(&self) -> Vec<HookSpec> {
        Vec::new()
    }
    /// The routes this plugin serves while enabled.
    fn routes(&self) -> Vec<Route<Self>>
    where
        Self: Sized,
    {
        Vec::new()
    }

    /// The plugin's SQL migrations, applied in order when it is enabled.
    fn migrations(&self) -> Vec<crate::abi::Migration> {
        Vec::new()
    }

    /// Event patterns to receive: a name (`user.created`), a prefix
    /// (`user.*`, `plugin.guestbook.*`) or `*`. Active while enabled.
    fn subscriptions(&self) -> Vec<String> {
        Vec::new()
    }
    /// An event matching one of [`Plugin::subscriptions`].
    fn on_event(&self, _ctx: &Context<'_>, _event: &crate::Event<'_>) -> PluginResult {
        Ok(())
    }

    /// The plugin's scheduled jobs, active while it is enabled.
    fn jobs(&self) -> Vec<Job<Self>>
    where
        Self: Sized,
    {
        Vec::new()
    }

    /// The JSON Schema of the plugin's configuration. The host validates
    /// every change against it, fills in defaults, and never shows values of
    /// properties with `"format": "password"`.
    fn config_schema(&self) -> Option<serde_json::Value> {
        None
    }
    /// The configuration changed (already validated, defaults applied).
    fn on_config_changed(&self, _ctx: &Context<'_>, _config: &serde_json::Value) -> PluginResult {
        Ok(())
    }
    /// This version of the plugin replaced `from_version` (an update or a
    /// rollback). Called once on the new version after its migrations ran
    /// and before it receives requests; an error keeps the old version
    /// active and reports the failure.
    ///
    /// ```
    /// use plugboard_plugin_api::prelude::*;
    ///
    /// struct Notes;
    /// impl Plugin for Notes {
    ///     fn slug(&self) -> &str { "notes" }
    ///     fn version(&self) -> &str { "2.0.0" }
    ///     fn on_upgrade(&self, ctx: &Context, from_version: &str) -> PluginResult {
    ///         ctx.kv().set("upgraded_from", from_version)?;
    ///         Ok(())
    ///     }
    /// }
    /// ```
    fn on_upgrade(&self, _ctx: &Context<'_>, _from_version: &str) -> PluginResult {
        Ok(())
    }

    /// Called once after the plugin is loaded.
    fn on_load(&self, _ctx: &Context<'_>) -> PluginResult {
        Ok(())
    }
    /// Called when the plugin is enabled; an error leaves it `Errored`.
    fn on_enable(&self, _ctx: &Context<'_>) -> PluginResult {
        Ok(())
    }
    /// Called when the plugin is disabled.
    fn on_disable(&self, _ctx: &Context<'_>) -> PluginResult {
        Ok(())
    }
    /// Called before the plugin is unloaded.
    fn on_unload(&self, _ctx: &Context<'_>) -> PluginResult {
        Ok(())
    }

    /// Filter: a user is about to be created. Change `user` to transform it,
    /// or return [`PluginError::refused`](crate::PluginError::refused) to veto.
    fn before_user_create(&self, _ctx: &Context<'_>, _user: &mut NewUser) -> PluginResult {
        Ok(())
    }
    /// A user was created.
    fn on_user_created(&self, _ctx: &Context<'_>, _user: &User) -> PluginResult {
        Ok(())
    }
    /// A user was updated.
    fn on_user_updated(&self, _ctx: &Context<'_>, _user: &User) -> PluginResult {
        Ok(())
    }
    /// A user was deleted.
    fn on_user_deleted(&self, _ctx: &Context<'_>, _user: &User) -> PluginResult {
        Ok(())
    }
    /// A user signed in.
    fn on_user_login(&self, _ctx: &Context<'_>, _user: &User) -> PluginResult {
        Ok(())
    }
    /// A user signed out.
    fn on_user_logout(&self, _ctx: &Context<'_>, _user: &User) -> PluginResult {
        Ok(())
    }
    /// The host finished starting.
    fn on_system_startup(&self, _ctx: &Context<'_>) -> PluginResult {
        Ok(())
    }
    /// The host is shutting down.
    fn on_system_shutdown(&self, _ctx: &Context<'_>) -> PluginResult {
        Ok(())
    }
    /// Another plugin was installed, enabled or disabled.
    fn on_plugin_event(&self, _ctx: &Context<'_>, _event: &PluginEvent<'_>) -> PluginResult {
        Ok(())
    }
}
