//! Admin API for user accounts.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{auth::Admin, error::ApiError};
use crate::{runtime::Runtime, users};

/// Registers the user routes (inside `/api/admin`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/{id}", web::get().to(show))
        .route("/users/{id}", web::patch().to(update))
        .route("/users/{id}", web::delete().to(remove))
        .route("/users/{id}/login", web::post().to(login))
        .route("/users/{id}/logout", web::post().to(logout));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    username: String,
    #[serde(default = "default_role")]
    role: String,
}

fn default_role() -> String {
    "user".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchUserBody {
    username: Option<String>,
    role: Option<String>,
}

async fn list(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(serde_json::json!({ "users": users::list(&rt).await? })))
}

async fn create(
    admin: Admin,
    rt: web::Data<Runtime>,
    body: web::Json<NewUserBody>,
) -> Result<HttpResponse, ApiError> {
    let account = users::create(&rt, &body.username, &body.role, &admin.0.actor_json()).await?;
    Ok(HttpResponse::Created().json(account))
}

async fn show(
    _: Admin,
    rt: web::Data<Runtime>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(users::get(&rt, *id).await?))
}

async fn update(
    admin: Admin,
    rt: web::Data<Runtime>,
    id: web::Path<i64>,
    body: web::Json<PatchUserBody>,
) -> Result<HttpResponse, ApiError> {
    let account = users::update(
        &rt,
        *id,
        body.username.as_deref(),
        body.role.as_deref(),
        &admin.0.actor_json(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(account))
}

async fn remove(
    admin: Admin,
    rt: web::Data<Runtime>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(users::delete(&rt, *id, &admin.0.actor_json()).await?))
}

async fn login(
    admin: Admin,
    rt: web::Data<Runtime>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(
        HttpResponse::Ok()
            .json(users::record_session(&rt, *id, true, &admin.0.actor_json()).await?),
    )
}

async fn logout(
    admin: Admin,
    rt: web::Data<Runtime>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(users::record_session(&rt, *id, false, &admin.0.actor_json()).await?))
}
