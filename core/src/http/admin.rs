//! Admin API for plugins: list, inspect, enable / disable / reset, uninstall,
//! audit, hook order.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{auth::Admin, error::ApiError};
use crate::{
    exec::PointKind,
    lifecycle::PluginRecord,
    metrics::MetricsSnapshot,
    registry::PluginEntry,
    routes::RouteInfo,
    runtime::{DataPolicy, Runtime},
    slug::Slug,
};

/// Registers the plugin admin routes (inside `/api/admin`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/plugins", web::get().to(list))
        .route("/plugins/{slug}", web::get().to(show))
        .route("/plugins/{slug}", web::delete().to(uninstall))
        .route("/plugins/{slug}/enable", web::post().to(enable))
        .route("/plugins/{slug}/disable", web::post().to(disable))
        .route("/plugins/{slug}/reset", web::post().to(reset))
        .route("/plugins/{slug}/jobs", web::get().to(jobs))
        .route("/plugins/{slug}/config", web::get().to(get_config))
        .route("/plugins/{slug}/config", web::put().to(put_config))
        .route("/audit", web::get().to(audit))
        .route("/hooks", web::get().to(hooks))
        .route("/events", web::get().to(events))
        .route("/replicas", web::get().to(replicas));
}

/// What the admin API shows of a plugin.
#[derive(Debug, Serialize)]
pub struct PluginView {
    slug: String,
    version: String,
    kind: String,
    name: Option<String>,
    description: Option<String>,
    state: String,
    /// What its manifest grants (`null` when its code is not loaded).
    capabilities: Option<crate::capabilities::Capabilities>,
    /// Whether `capabilities` were inferred from its code: its manifest,
    /// written for an older host, declares none.
    capabilities_inferred: bool,
    last_error: Option<String>,
    error_at: Option<chrono::DateTime<chrono::Utc>>,
    loaded: bool,
    api_version: Option<String>,
    source: Option<String>,
    routes: Vec<RouteInfo>,
    hooks: Vec<HookView>,
    metrics: Option<MetricsSnapshot>,
    /// What it did in each of the last sampling intervals, oldest first
    /// (`GET /api/admin/plugins/{slug}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_history: Option<Vec<crate::metrics::Sample>>,
    /// Per capability: whether it is granted, and what the plugin holds or
    /// serves with it (`GET /api/admin/plugins/{slug}` only): its tables,
    /// files with sizes, KV entries, routes, network hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    capability_usage: Option<serde_json::Map<String, serde_json::Value>>,
    /// The loaded instance (a new one after every load, update or rollback).
    generation: Option<u64>,
    /// The plugins it needs.
    dependencies: Vec<crate::manifest::Dependency>,
    /// The bundle it was installed from.
    bundle: Option<crate::marketplace::install::BundleInfo>,
    /// The version a rollback would go back to.
    previous_version: Option<String>,
    /// Its live UI contributions.
    ui: Vec<plugboard_frontend_manifest::Contribution>,
    /// How many distinct library images of it this process maps, and the
    /// operator's cap past which that is a warning.
    mapped_images: usize,
    mapped_images_cap: usize,
    /// What it asks for, in words (empty when its code is not loaded).
    asks: Vec<crate::marketplace::consent::Ask>,
    /// Its bundle's readme and changelog, Markdown (`GET
    /// /api/admin/plugins/{slug}` only; absent when it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    readme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changelog: Option<String>,
    /// Each entry point called so far (routes, hooks, filters, events,
    /// jobs, lifecycle) with its deadline and figures.
    calls: Vec<CallView>,
    /// Its capacity and the calls running now.
    lane: Option<LaneView>,
}

/// One entry point of a plugin, as the admin shows it.
#[derive(Debug, Serialize)]
pub struct CallView {
    /// `route`, `hook`, `filter`, `event`, `job` or `lifecycle`.
    kind: &'static str,
    /// `GET /entries`, `user.created`, `on_enable`, ….
    name: String,
    /// Its deadline.
    deadline_ms: u128,
    /// For a filter: `reject` or `skip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    on_failure: Option<&'static str>,
    #[serde(flatten)]
    metrics: MetricsSnapshot,
    /// Calls still running at their deadline.
    deadline_hits: u64,
    /// Calls counted stuck.
    stuck: u64,
    /// Calls refused for capacity (503).
    busy: u64,
}

/// A plugin's capacity and what is running.
#[derive(Debug, Serialize)]
pub struct LaneView {
    capacity: u32,
    in_use: u32,
    stuck: u32,
}

/// A plugin among the slowest: its slowest entry point by p99 latency.
#[derive(Debug, Serialize)]
pub struct Slowest {
    plugin: String,
    kind: &'static str,
    name: String,
    p99_us: f64,
    calls: u64,
    stuck: u64,
}

fn calls_of(entry: &PluginEntry) -> Vec<CallView> {
    entry
        .points()
        .iter()
        .map(|p| CallView {
            kind: p.kind().as_str(),
            name: p.name().to_string(),
            deadline_ms: p.deadline().as_millis(),
            on_failure: (p.kind() == PointKind::Filter).then(|| {
                entry
                    .manifest()
                    .filters
                    .get(p.name())
                    .map(|f| f.on_failure)
                    .unwrap_or_default()
                    .as_str()
            }),
            metrics: p.metrics().snapshot(),
            deadline_hits: p.deadline_hits(),
            stuck: p.stuck(),
            busy: p.busy(),
        })
        .collect()
}

/// The loaded plugins whose slowest entry point (lifecycle calls aside)
/// has the highest p99 latency, slowest first (at most `n`).
fn slowest(rt: &Runtime, n: usize) -> Vec<Slowest> {
    let mut out: Vec<Slowest> = rt
        .entries()
        .iter()
        .filter_map(|e| {
            calls_of(e)
                .into_iter()
                .filter(|c| c.kind != "lifecycle" && c.metrics.calls > 0)
                .max_by(|a, b| a.metrics.p99_us.total_cmp(&b.metrics.p99_us))
                .map(|c| Slowest {
                    plugin: e.slug().to_string(),
                    kind: c.kind,
                    name: c.name,
                    p99_us: c.metrics.p99_us,
                    calls: c.metrics.calls,
                    stuck: c.stuck,
                })
        })
        .collect();
    out.sort_by(|a, b| b.p99_us.total_cmp(&a.p99_us));
    out.truncate(n);
    out
}

#[derive(Debug, Serialize)]
struct HookView {
    hook: String,
    priority: i32,
    before: Vec<String>,
    after: Vec<String>,
}

fn view(rt: &Runtime, record: PluginRecord) -> PluginView {
    let entry = rt.plugin(&record.slug);
    PluginView {
        routes: rt.routes().list(&record.slug),
        hooks: entry
            .as_ref()
            .map(|e| {
                e.declared_hooks()
                    .into_iter()
                    .map(|(h, s)| HookView {
                        hook: h.name().to_string(),
                        priority: s.priority_value(),
                        before: s.before_slugs().map(str::to_string).collect(),
                        after: s.after_slugs().map(str::to_string).collect(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        loaded: entry.is_some(),
        name: entry.as_ref().and_then(|e| e.manifest().name.clone()),
        description: entry
            .as_ref()
            .and_then(|e| e.manifest().description.clone()),
        capabilities: entry.as_ref().map(|e| e.capabilities().clone()),
        capabilities_inferred: entry.as_ref().is_some_and(|e| e.capabilities().inferred),
        api_version: entry.as_ref().map(|e| e.api_version().to_string()),
        source: entry
            .as_ref()
            .and_then(|e| e.source().map(|p| p.display().to_string())),
        metrics: entry.as_ref().map(|e| e.metrics().snapshot()),
        metrics_history: None,
        capability_usage: None,
        generation: entry.as_ref().map(|e| e.generation()),
        ui: rt.ui().of(&record.slug),
        mapped_images: crate::loader::mapped_images(&record.slug),
        mapped_images_cap: rt.config().max_mapped_images,
        asks: entry
            .as_ref()
            .map(|e| crate::marketplace::consent::of_manifest(e.manifest()))
            .unwrap_or_default(),
        readme: None,
        changelog: None,
        calls: entry.as_deref().map(calls_of).unwrap_or_default(),
        lane: entry.as_ref().map(|e| LaneView {
            capacity: e.lane().capacity(),
            in_use: e.lane().in_use(),
            stuck: e.lane().stuck_now(),
        }),
        dependencies: entry
            .as_ref()
            .map(|e| e.manifest().dependencies.clone())
            .unwrap_or_default(),
        bundle: entry
            .as_ref()
            .and_then(|e| e.source())
            .and_then(|f| crate::marketplace::install::BundleInfo::read(f)),
        previous_version: Slug::parse(&record.slug)
            .ok()
            .and_then(|slug| {
                use crate::manifest::ManifestFile;
                crate::manifest::Manifest::read(&rt.previous_dir(&slug)).ok()
            })
            .map(|m| m.version),
        slug: record.slug,
        version: record.version,
        kind: record.kind,
        state: record.state.as_str().to_string(),
        last_error: record.last_error,
        error_at: record.error_at,
    }
}

async fn list(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    let records = rt.store().list().await?;
    let plugins: Vec<PluginView> = records.into_iter().map(|r| view(&rt, r)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "plugins": plugins,
        "problems": rt.problems(),
        "safe_mode": rt.config().safe_mode,
        "slowest": slowest(&rt, 5),
    })))
}

async fn show(
    _: Admin,
    rt: web::Data<Runtime>,
    history: web::Data<crate::services::MetricsHistory>,
    slug: web::Path<Slug>,
) -> Result<HttpResponse, ApiError> {
    let record = rt.store().get(&slug).await?;
    let mut view = view(&rt, record);
    view.metrics_history = Some(history.of(&slug));
    if let Some(folder) = rt.plugin(&slug).and_then(|e| e.source().cloned()) {
        use crate::marketplace::author::{read_document, DOCUMENTS};
        view.readme = read_document(&folder, DOCUMENTS[0]);
        view.changelog = read_document(&folder, DOCUMENTS[1]);
    }
    if let Some(capabilities) = &view.capabilities {
        view.capability_usage = Some(rt.capability_usage(&slug, capabilities).await?);
    }
    Ok(HttpResponse::Ok().json(view))
}

async fn enable(
    admin: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<Slug>,
) -> Result<HttpResponse, ApiError> {
    let record = rt.enable(&slug, &admin.0.actor()).await?;
    Ok(HttpResponse::Ok().json(view(&rt, record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CascadeQuery {
    /// Also disable the active plugins that depend on this one.
    #[serde(default)]
    cascade: bool,
}

async fn disable(
    admin: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<Slug>,
    query: web::Query<CascadeQuery>,
) -> Result<HttpResponse, ApiError> {
    let record = rt
        .disable_cascading(&slug, query.cascade, &admin.0.actor())
        .await?;
    Ok(HttpResponse::Ok().json(view(&rt, record)))
}

async fn reset(
    admin: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<Slug>,
) -> Result<HttpResponse, ApiError> {
    let record = rt.reset(&slug, &admin.0.actor()).await?;
    Ok(HttpResponse::Ok().json(view(&rt, record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UninstallQuery {
    /// `keep` (default) or `remove`.
    #[serde(default)]
    data: Option<String>,
    /// Disable the active plugins that depend on this one first.
    #[serde(default)]
    cascade: bool,
}

async fn uninstall(
    admin: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<Slug>,
    query: web::Query<UninstallQuery>,
) -> Result<HttpResponse, ApiError> {
    let data = match query.data.as_deref() {
        None | Some("keep") => DataPolicy::Keep,
        Some("remove") => DataPolicy::Remove,
        Some(other) => {
            return Err(ApiError::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("data must be keep or remove, not {other:?}"),
            ))
        }
    };
    let done = rt
        .uninstall_cascading(&slug, data, query.cascade, &admin.0.actor())
        .await?;
    Ok(HttpResponse::Ok().json(done))
}

#[derive(Deserialize)]
struct AuditQuery {
    plugin: Option<String>,
    limit: Option<u64>,
}

async fn audit(
    _: Admin,
    rt: web::Data<Runtime>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let entries = rt
        .store()
        .audit(q.plugin.as_deref(), q.limit.unwrap_or(100).min(1000))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "entries": entries })))
}

async fn hooks(_: Admin, rt: web::Data<Runtime>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "hooks": rt.hook_orders() }))
}

async fn events(_: Admin, rt: web::Data<Runtime>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "queue_capacity": crate::events::EventBus::QUEUE_CAPACITY,
        "full_queue_policy": "drop the new event for that subscriber and count it",
        "intake_capacity": crate::events::EventBus::INTAKE_CAPACITY,
        "intake": rt.events().intake(),
        "subscribers": rt.events().subscribers(),
    }))
}

/// Every replica on this database, with what each runs (PostgreSQL); on
/// SQLite, `shared: false` and this process alone.
async fn replicas(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    let list = if rt.db().is_shared() {
        crate::cluster::replicas(rt.db().conn()).await?
    } else {
        Vec::new()
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "shared": rt.db().is_shared(),
        "this": rt.replica().name,
        "replicas": list,
    })))
}

async fn jobs(
    _: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<Slug>,
) -> Result<HttpResponse, ApiError> {
    rt.store().get(&slug).await?;
    Ok(
        HttpResponse::Ok()
            .json(serde_json::json!({ "jobs": rt.scheduler().list(&slug, 20).await })),
    )
}

async fn get_config(
    _: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<Slug>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rt.plugin_config(&slug).await?))
}

async fn put_config(
    _: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<Slug>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rt.set_plugin_config(&slug, body.into_inner()).await?))
}
