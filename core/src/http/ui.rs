//! The browser side: `GET /api/ui/manifest` (what the caller may see),
//! plugin assets under `/plugins/{slug}/assets/{version}/…`, and
//! `GET /api/admin/stream` (server-sent events on every state change).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use futures_util::stream;
use plugboard_frontend_manifest::Viewer;

use super::{
    auth::{Admin, Caller},
    error::ApiError,
};
use crate::runtime::Runtime;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/ui/manifest", web::get().to(manifest))
        .route("/api/ui/schema", web::get().to(schema))
        .route("/api/admin/stream", web::get().to(changes))
        .service(
            web::resource("/plugins/{slug}/assets/{version}/{path:.*}")
                .route(web::get().to(asset))
                .route(web::head().to(asset)),
        );
}

async fn manifest(caller: Caller, rt: web::Data<Runtime>) -> HttpResponse {
    let viewer = Viewer {
        username: caller.name().to_string(),
        role: caller.role(),
    };
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(rt.ui().manifest_for(viewer))
}

async fn schema() -> HttpResponse {
    HttpResponse::Ok().json(plugboard_frontend_manifest::manifest_schema())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A file from the plugin's `assets/`, for its current version only; URLs
/// carry the version, so a response may be cached for a year.
async fn asset(
    rt: web::Data<Runtime>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, version, file) = path.into_inner();
    let not_found = || ApiError::not_found(format!("no asset {file:?} for {slug} {version}"));
    let entry = rt.plugin(&slug).ok_or_else(not_found)?;
    if entry.version() != version {
        return Err(not_found());
    }
    let assets = entry.assets_dir().ok_or_else(not_found)?.to_path_buf();
    let full = crate::ui::asset_path(&assets, &file).ok_or_else(not_found)?;
    let bytes = web::block(move || std::fs::read(full))
        .await?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory => not_found(),
            _ => ApiError::internal(format!("reading asset {file:?} of {slug}: {e}")),
        })?;
    Ok(HttpResponse::Ok()
        .insert_header(("content-type", content_type(&file)))
        .insert_header(("cache-control", "public, max-age=31536000, immutable"))
        .insert_header(("x-content-type-options", "nosniff"))
        .body(bytes))
}

/// `text/event-stream`: one `change` event (`{"kind", "slug"}`) per state
/// change, and a comment every 15 s to keep the connection open. The stream
/// ends when the server is stopping ([`Runtime::stop_streams`]).
async fn changes(_: Admin, rt: web::Data<Runtime>) -> HttpResponse {
    let stopping = rt.stopping();
    let events = stream::unfold(
        (rt.changes(), stopping),
        |(mut rx, mut stopping)| async move {
            let item = tokio::select! {
                received = tokio::time::timeout(Duration::from_secs(15), rx.recv()) => match received {
                    Ok(Ok(change)) => format!("event: change\ndata: {change}\n\n"),
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                        "event: change\ndata: {\"kind\":\"resync\",\"slug\":\"\"}\n\n".to_string()
                    }
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return None,
                    Err(_) => ": keep-alive\n\n".to_string(),
                },
                _ = stopping.wait_for(|stop| *stop) => return None,
            };
            Some((
                Ok::<_, actix_web::Error>(web::Bytes::from(item)),
                (rx, stopping),
            ))
        },
    );
    HttpResponse::Ok()
        .insert_header(("content-type", "text/event-stream"))
        .insert_header(("cache-control", "no-store"))
        .streaming(events)
}
