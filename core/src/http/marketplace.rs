//! Admin API for the marketplace: the catalog (search, filters, sync),
//! sources, trusted keys, and installs with progress.

use actix_web::{http::StatusCode, web, HttpResponse};
use serde::Deserialize;

use super::{auth::Admin, error::ApiError};
use crate::{
    marketplace::{
        browse::Query, install::InstallError, jobs::Progress, signing::PublicKey,
        updates::UpdateError,
    },
    runtime::Runtime,
    slug::Slug,
};

/// Registers the marketplace routes (inside `/api/admin`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/catalog", web::get().to(catalog))
        .route("/catalog/sync", web::post().to(sync))
        .route("/catalog/sources", web::get().to(sources))
        .route("/catalog/sources", web::post().to(add_source))
        .route("/catalog/sources/{id}", web::delete().to(remove_source))
        .route("/trusted-keys", web::get().to(keys))
        .route("/trusted-keys", web::post().to(add_key))
        .route("/trusted-keys/{key_id}", web::delete().to(remove_key))
        .route("/plugins/install", web::post().to(install))
        .route("/installs", web::get().to(installs))
        .route("/installs/{id}", web::get().to(install_status))
        .route("/updates", web::get().to(updates))
        .route("/updates/{id}/apply", web::post().to(apply_update))
        .route("/updates/{id}/dismiss", web::post().to(dismiss_update))
        .route("/plugins/{slug}/rollback", web::post().to(rollback));
}

fn db(e: sea_orm::DbErr) -> ApiError {
    ApiError::internal(e.to_string())
}

impl From<InstallError> for ApiError {
    fn from(e: InstallError) -> Self {
        match e {
            InstallError::AlreadyInstalled(_) => {
                ApiError::conflict("already_installed", e.to_string())
            }
            InstallError::Fetch { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, "fetch_failed", e.to_string())
            }
            InstallError::Downgrade { .. } => {
                ApiError::conflict("downgrade_refused", e.to_string())
            }
            InstallError::UpToDate { .. } => ApiError::conflict("up_to_date", e.to_string()),
            InstallError::Unresolvable(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "dependencies_unresolvable",
                e.to_string(),
            ),
            InstallError::Runtime(r) => r.into(),
            other => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "install_refused",
                other.to_string(),
            ),
        }
    }
}

async fn catalog(
    _: Admin,
    rt: web::Data<Runtime>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    // `{"entries", "sources"}`, serialized straight from the shared
    // catalogs (no JSON tree of the whole catalog in between).
    Ok(HttpResponse::Ok().json(rt.catalog(&q).await.map_err(db)?))
}

async fn sync(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    let sources = rt.marketplace().sync(true).await.map_err(db)?;
    rt.detect_updates(&sources).await.map_err(db)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "sources": sources })))
}

async fn sources(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    let sources = rt.marketplace().list().await.map_err(db)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "sources": sources })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSource {
    location: String,
    #[serde(default)]
    allow_unsigned: bool,
}

async fn add_source(
    _: Admin,
    rt: web::Data<Runtime>,
    body: web::Json<NewSource>,
) -> Result<HttpResponse, ApiError> {
    let location = body.location.trim();
    let remote = location.starts_with("http://") || location.starts_with("https://");
    if location.is_empty()
        || (location.contains("://") && !remote && !location.starts_with("file://"))
    {
        return Err(ApiError::unprocessable(
            "location must be a file path, file:// or an http(s) URL",
        ));
    }
    rt.marketplace()
        .add(location, body.allow_unsigned)
        .await
        .map_err(db)?;
    let sources = rt.marketplace().sync(false).await.map_err(db)?;
    let added = sources.into_iter().find(|s| s.location == location);
    Ok(HttpResponse::Created().json(added))
}

async fn remove_source(
    _: Admin,
    rt: web::Data<Runtime>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    if rt.marketplace().remove(*id).await.map_err(db)? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(format!("no catalog source {id}")))
    }
}

async fn keys(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    let keys = rt.marketplace().keys().await.map_err(db)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "keys": keys })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    public_key: String,
    #[serde(default)]
    name: String,
}

async fn add_key(
    _: Admin,
    rt: web::Data<Runtime>,
    body: web::Json<NewKey>,
) -> Result<HttpResponse, ApiError> {
    let key = PublicKey::parse(body.public_key.trim())
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    rt.marketplace().trust(&key, &body.name).await.map_err(db)?;
    Ok(HttpResponse::Created().json(key))
}

async fn remove_key(
    _: Admin,
    rt: web::Data<Runtime>,
    key_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if rt.marketplace().distrust(&key_id).await.map_err(db)? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(format!("no trusted key {key_id}")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallRequest {
    slug: Slug,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    enable: bool,
    /// Allows replacing an installed plugin by an older version.
    #[serde(default)]
    downgrade: bool,
}

async fn install(
    _: Admin,
    rt: web::Data<Runtime>,
    body: web::Json<InstallRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = rt
        .start_install(
            &body.slug,
            body.version.as_deref(),
            body.enable,
            body.downgrade,
            "admin",
        )
        .await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("location", format!("/api/admin/installs/{id}")))
        .json(rt.installs().get(id)))
}

async fn installs(_: Admin, rt: web::Data<Runtime>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "installs": rt.installs().list() }))
}

async fn install_status(
    _: Admin,
    rt: web::Data<Runtime>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    rt.installs()
        .get(*id)
        .map(|j| HttpResponse::Ok().json(j))
        .ok_or_else(|| ApiError::not_found(format!("no install {id}")))
}

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::NotFound(_) => ApiError::not_found(e.to_string()),
            UpdateError::NotPending { .. } => ApiError::conflict("not_pending", e.to_string()),
            UpdateError::Withdrawn { .. } => ApiError::conflict("withdrawn", e.to_string()),
            UpdateError::Install(i) => i.into(),
            UpdateError::Db(d) => db(d),
        }
    }
}

async fn updates(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    let updates = rt.updates().await.map_err(db)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "updates": updates,
        "draining": rt.draining(),
    })))
}

/// Applies an update: installs through the pipeline and hot-reloads; the
/// answer comes after the cutover (the old generation drains afterwards).
async fn apply_update(
    _: Admin,
    rt: web::Data<Runtime>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let quiet: Progress = std::sync::Arc::new(|_, _, _| {});
    let swapped = rt.apply_update(*id, "admin", quiet).await?;
    Ok(HttpResponse::Ok().json(swapped))
}

async fn dismiss_update(
    _: Admin,
    rt: web::Data<Runtime>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rt.dismiss_update(*id).await?))
}

async fn rollback(
    _: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<Slug>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rt.rollback(&slug, "admin").await?))
}
