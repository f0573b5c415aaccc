//! Sign-in for the browser: `POST /api/auth/login` (fires `user.login`),
//! `POST /api/auth/logout` (fires `user.logout`), `GET /api/auth/session`,
//! self-registration (`GET /api/auth/registration`, `POST
//! /api/auth/register`, when the setting allows it); and accounts
//! (`GET/POST /api/admin/accounts`).

use actix_web::{web, HttpRequest, HttpResponse};
use plugboard_frontend_manifest::Role;
use serde::Deserialize;

use super::{
    auth::{cookie, Admin, Caller, SESSION_COOKIE},
    error::ApiError,
};
use crate::{
    auth::Auth,
    runtime::Runtime,
    settings,
    users::{self, NewAccount, Password, UserError},
};

/// Registers the routes (`/api/auth/*` and, inside `/api/admin`, accounts).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/auth/login", web::post().to(login))
        .route("/api/auth/logout", web::post().to(logout))
        .route("/api/auth/session", web::get().to(session))
        .route("/api/auth/password", web::post().to(change_password))
        .route("/api/auth/registration", web::get().to(registration))
        .route("/api/auth/register", web::post().to(register));
}

/// The account routes (inside `/api/admin`).
pub fn configure_admin(cfg: &mut web::ServiceConfig) {
    cfg.route("/accounts", web::get().to(accounts))
        .route("/accounts", web::post().to(create_account));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

fn session_cookie(req: &HttpRequest, value: &str, max_age: i64) -> String {
    let secure = if req.connection_info().scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

/// The client's address for the sign-in limiter: the peer, or behind a
/// trusted proxy the address it forwards ([`Auth::client_of`]).
fn client(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return String::new();
    };
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    match req.app_data::<web::Data<Auth>>() {
        Some(auth) => auth.client_of(peer, &forwarded),
        None => peer.to_string(),
    }
}

async fn login(
    req: HttpRequest,
    rt: web::Data<Runtime>,
    accounts: web::Data<Auth>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let (token, session) = accounts
        .login(&body.username, &body.password, &client(&req))
        .await?;
    users::signed_in(&rt, session.account_id).await?;
    let max_age = crate::auth::SESSION_TTL.as_secs() as i64;
    Ok(HttpResponse::Ok()
        .insert_header(("set-cookie", session_cookie(&req, &token, max_age)))
        .insert_header(("cache-control", "no-store"))
        .json(session))
}

async fn logout(
    req: HttpRequest,
    rt: web::Data<Runtime>,
    accounts: web::Data<Auth>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    if let (Caller::Session(s), Some(token)) = (&caller, cookie(&req, SESSION_COOKIE)) {
        accounts.logout(&token).await?;
        users::signed_out(&rt, s.account_id, None).await?;
    }
    Ok(HttpResponse::NoContent()
        .insert_header(("set-cookie", session_cookie(&req, "", 0)))
        .finish())
}

async fn session(caller: Caller) -> Result<HttpResponse, ApiError> {
    match caller {
        Caller::Session(s) => Ok(HttpResponse::Ok()
            .insert_header(("cache-control", "no-store"))
            .json(s)),
        Caller::Token => Ok(HttpResponse::Ok().json(serde_json::json!({
            "username": "token", "role": "admin", "csrf_token": null,
            "must_change_password": false
        }))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

async fn change_password(
    caller: Caller,
    accounts: web::Data<Auth>,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let Caller::Session(s) = caller else {
        return Err(ApiError::unprocessable(
            "the bearer token has no password; sign in to change one",
        ));
    };
    accounts
        .change_password(&s.username, &body.current_password, &body.new_password)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn accounts(_: Admin, accounts: web::Data<Auth>) -> Result<HttpResponse, ApiError> {
    let accounts = accounts.accounts().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "accounts": accounts })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccountBody {
    username: String,
    password: String,
    #[serde(default)]
    role: Option<String>,
}

async fn create_account(
    admin: Admin,
    rt: web::Data<Runtime>,
    body: web::Json<NewAccountBody>,
) -> Result<HttpResponse, ApiError> {
    let role = match body.role.as_deref() {
        None => Role::User,
        Some(r) => Role::parse(r).ok_or_else(|| {
            ApiError::unprocessable(format!("role must be user or admin, not {r:?}"))
        })?,
    };
    let account = users::create_account(
        &rt,
        NewAccount {
            username: &body.username,
            role: role.as_str(),
            password: Password::Plain(&body.password),
            must_change_password: false,
        },
        Some(&admin.0.actor_json()),
    )
    .await
    .map_err(account_error)?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "id": account.id, "username": account.username, "role": account.role
    })))
}

/// `/api/admin/accounts` answered 409 `exists` for a taken name.
fn account_error(e: UserError) -> ApiError {
    match e {
        UserError::Taken(name) => {
            ApiError::conflict("exists", format!("account {name:?} already exists"))
        }
        e => e.into(),
    }
}

async fn registration(rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    let open = settings::get(&rt).await?.self_registration;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "open": open })))
}

/// Creates an account (role `user`) for the caller, when self-registration
/// is on; the filters apply as everywhere. The password is hashed under the
/// sign-in limiter (each registration counts against the caller's address).
async fn register(
    req: HttpRequest,
    rt: web::Data<Runtime>,
    accounts: web::Data<Auth>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let open = settings::get(&rt).await?.self_registration;
    if !open {
        return Err(ApiError::forbidden(
            "registration_closed",
            "self-registration is off; an admin creates accounts",
        ));
    }
    users::check_password(&body.password)?;
    let hash = accounts
        .hash_limited(&body.username, &body.password, &client(&req))
        .await?;
    let account = users::create_account(
        &rt,
        NewAccount {
            username: &body.username,
            role: "user",
            password: Password::Hashed(hash),
            must_change_password: false,
        },
        None,
    )
    .await
    .map_err(account_error)?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "id": account.id, "username": account.username, "role": account.role
    })))
}
