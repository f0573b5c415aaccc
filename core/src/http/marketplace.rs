//! Admin API for the marketplace: the catalog (search, filters, sync),
//! sources, trusted keys, and installs with progress.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{
    auth::{Admin, Caller},
    error::ApiError,
};
use crate::{
    marketplace::{
        browse::Query, consent::Accepted, jobs::Progress, signing::PublicKey, Marketplace,
    },
    runtime::Runtime,
    slug::Slug,
};

/// Registers the marketplace routes (inside `/api/admin`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/catalog", web::get().to(catalog))
        .route("/catalog/entries/{slug}", web::get().to(catalog_detail))
        .route("/catalog/image", web::get().to(catalog_image))
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
        .route("/updates/{id}/approve", web::post().to(approve_update))
        .route("/updates/{id}/dismiss", web::post().to(dismiss_update))
        .route("/plugins/{slug}/rollback", web::post().to(rollback));
}

async fn catalog(
    _: Admin,
    m: web::Data<Marketplace>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    // `{"entries", "sources"}`, serialized straight from the shared
    // catalogs (no JSON tree of the whole catalog in between).
    Ok(HttpResponse::Ok().json(m.catalog(&q).await?))
}

/// One plugin of the catalogs: every version with its publisher,
/// signature status, pictures and what it asks for.
async fn catalog_detail(
    _: Admin,
    m: web::Data<Marketplace>,
    slug: web::Path<Slug>,
) -> Result<HttpResponse, ApiError> {
    m.catalog_detail(&slug)
        .await?
        .map(|d| HttpResponse::Ok().json(d))
        .ok_or_else(|| ApiError::not_found(format!("no catalog source offers {slug}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageQuery {
    source: i64,
    url: String,
}

/// A picture a catalog names, fetched by the host and served as an image
/// that can do nothing but be shown.
async fn catalog_image(
    _: Admin,
    m: web::Data<Marketplace>,
    q: web::Query<ImageQuery>,
) -> Result<HttpResponse, ApiError> {
    use crate::marketplace::detail::ImageError;
    match m.catalog_image(q.source, &q.url).await {
        Ok((bytes, kind)) => Ok(HttpResponse::Ok()
            .content_type(kind)
            .insert_header(("x-content-type-options", "nosniff"))
            .insert_header(("content-security-policy", "default-src 'none'; sandbox"))
            .insert_header(("cache-control", "private, max-age=3600"))
            .body(bytes)),
        Err(e @ (ImageError::NoSource(_) | ImageError::NotNamed(..))) => {
            Err(ApiError::not_found(e.to_string()))
        }
        Err(ImageError::Download(
            d @ crate::marketplace::download::DownloadError::Fetch { .. },
        )) => Err(ApiError::new(
            actix_web::http::StatusCode::BAD_GATEWAY,
            "fetch_failed",
            d.to_string(),
        )),
        Err(e @ (ImageError::Download(_) | ImageError::NotAnImage(_))) => Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "not_an_image",
            e.to_string(),
        )),
        Err(ImageError::Db(e)) => Err(e.into()),
    }
}

async fn sync(_: Admin, m: web::Data<Marketplace>) -> Result<HttpResponse, ApiError> {
    let sources = m.sources().sync(true).await?;
    m.detect_updates(&sources).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "sources": sources })))
}

async fn sources(_: Admin, m: web::Data<Marketplace>) -> Result<HttpResponse, ApiError> {
    let sources = m.sources().list().await?;
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
    m: web::Data<Marketplace>,
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
    m.sources().add(location, body.allow_unsigned).await?;
    let sources = m.sources().sync(false).await?;
    let added = sources.into_iter().find(|s| s.location == location);
    Ok(HttpResponse::Created().json(added))
}

async fn remove_source(
    _: Admin,
    m: web::Data<Marketplace>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    if m.sources().remove(*id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(format!("no catalog source {id}")))
    }
}

async fn keys(_: Admin, m: web::Data<Marketplace>) -> Result<HttpResponse, ApiError> {
    let keys = m.sources().keys().await?;
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
    m: web::Data<Marketplace>,
    body: web::Json<NewKey>,
) -> Result<HttpResponse, ApiError> {
    let key = PublicKey::parse(body.public_key.trim())
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    m.sources().trust(&key, &body.name).await?;
    Ok(HttpResponse::Created().json(key))
}

async fn remove_key(
    _: Admin,
    m: web::Data<Marketplace>,
    key_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if m.sources().distrust(&key_id).await? {
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
    /// What the admin accepted, per plugin of the plan: the ids of its
    /// asks (see `marketplace::consent`). Required from a browser session;
    /// a caller with the admin token who leaves it out takes each manifest
    /// as it is.
    #[serde(default)]
    accept: Option<Accepted>,
}

async fn install(
    admin: Admin,
    m: web::Data<Marketplace>,
    body: web::Json<InstallRequest>,
) -> Result<HttpResponse, ApiError> {
    // A person in the browser must have seen and accepted the list: without
    // `accept`, nothing is accepted and the answer lists what to accept.
    let none = Accepted::default();
    let accepted = match (&body.accept, &admin.0) {
        (Some(a), _) => Some(a),
        (None, Caller::Session(_)) => Some(&none),
        (None, Caller::Token) => None,
    };
    let id = m
        .start_install(
            &body.slug,
            body.version.as_deref(),
            body.enable,
            body.downgrade,
            accepted,
            &admin.0.actor(),
        )
        .await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("location", format!("/api/admin/installs/{id}")))
        .json(m.jobs().get(id)))
}

async fn installs(_: Admin, m: web::Data<Marketplace>) -> Result<HttpResponse, ApiError> {
    let installs = m.jobs().list_everywhere().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "installs": installs })))
}

async fn install_status(
    _: Admin,
    m: web::Data<Marketplace>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    m.jobs()
        .find(*id)
        .await?
        .map(|j| HttpResponse::Ok().json(j))
        .ok_or_else(|| ApiError::not_found(format!("no install {id}")))
}

async fn updates(_: Admin, m: web::Data<Marketplace>) -> Result<HttpResponse, ApiError> {
    let updates = m.updates().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "updates": updates,
        "draining": m.runtime().draining(),
    })))
}

/// Applies an update: installs through the pipeline and hot-reloads; the
/// answer comes after the cutover (the old generation drains afterwards).
async fn apply_update(
    admin: Admin,
    m: web::Data<Marketplace>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let quiet: Progress = std::sync::Arc::new(|_, _, _| {});
    let swapped = m.apply_update(*id, &admin.0.actor(), quiet).await?;
    Ok(HttpResponse::Ok().json(swapped))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    /// The bundle the admin looked at: a row re-targeted since is refused.
    to_sha256: String,
}

/// Approves an update that asks for more than the running version, for the
/// bundle shown (it becomes pending; the audit names who approved what).
async fn approve_update(
    admin: Admin,
    m: web::Data<Marketplace>,
    id: web::Path<i64>,
    body: web::Json<Approval>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        m.approve_update(*id, &body.to_sha256, &admin.0.actor())
            .await?,
    ))
}

async fn dismiss_update(
    _: Admin,
    m: web::Data<Marketplace>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(m.dismiss_update(*id).await?))
}

async fn rollback(
    admin: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<Slug>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rt.rollback(&slug, &admin.0.actor()).await?))
}
