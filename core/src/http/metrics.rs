//! `GET /metrics`: Prometheus text exposition (see [`crate::prometheus`]),
//! for the admin token or an admin session.

use actix_web::{web, HttpResponse};

use super::{auth::Admin, error::ApiError};
use crate::runtime::Runtime;

/// Registers `GET /metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

async fn metrics(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    let records = rt.store().list().await?;
    let text = crate::prometheus::render(&rt.entries(), &records, rt.executor().threads());
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(text))
}
