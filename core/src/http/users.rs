//! Admin API for user accounts (the same accounts that sign in).
//!
//! `POST /users/{id}/logout` ends the user's sessions (a real sign-out, so
//! `user.logout` fires when there was one). `POST /users/{id}/login` is
//! gone: `user.login` fires when the user signs in (`POST /api/auth/login`).

use actix_web::{http::StatusCode, web, HttpResponse};
use serde::Deserialize;

use super::{auth::Admin, error::ApiError};
use crate::{auth::Auth, runtime::Runtime, users};

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
    /// Sets the password (an account merged from the old `users` table has
    /// none and cannot sign in until one is set).
    password: Option<String>,
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
        body.password.as_deref(),
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

async fn login(_: Admin) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::GONE,
        "gone",
        "an admin cannot sign a user in: user.login fires when the user signs in (POST /api/auth/login)",
    ))
}

async fn logout(
    admin: Admin,
    rt: web::Data<Runtime>,
    accounts: web::Data<Auth>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let user = users::get(&rt, *id).await?;
    let ended = accounts.end_sessions(user.id).await?;
    if ended > 0 {
        users::signed_out(&rt, user.id, Some(&admin.0.actor_json())).await?;
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "user": user, "sessions_ended": ended })))
}
