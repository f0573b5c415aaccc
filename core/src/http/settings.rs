//! Host settings for admins: `GET/PUT /api/admin/settings`.

use actix_web::{web, HttpResponse};

use super::{auth::Admin, error::ApiError};
use crate::{runtime::Runtime, settings};

/// Registers the routes (inside `/api/admin`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(get))
        .route("/settings", web::put().to(put));
}

async fn get(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    let current = settings::get(&rt).await?;
    Ok(HttpResponse::Ok().json(current))
}

async fn put(
    _: Admin,
    rt: web::Data<Runtime>,
    body: web::Json<settings::Settings>,
) -> Result<HttpResponse, ApiError> {
    settings::set(&rt, &body).await?;
    Ok(HttpResponse::Ok().json(body.into_inner()))
}
