//! The HTTP server: health, the admin API (bearer token), and plugin routes.
//!
//! | path | handler module |
//! |---|---|
//! | `GET /healthz` | here |
//! | `GET /metrics` (Prometheus text; admin) | [`metrics`] |
//! | `/api/admin/plugins…`, `/api/admin/audit`, `/api/admin/hooks` | [`admin`] |
//! | `/api/admin/catalog…`, `/api/admin/trusted-keys…`, `/api/admin/plugins/install`, `/api/admin/installs…` | [`marketplace`] |
//! | `/api/admin/users…` | [`users`] |
//! | `/api/admin/plugins/{slug}/permissions` | [`access`] |
//! | `/api/admin/settings` | [`settings`] |
//! | `/api/auth/*`, `/api/admin/accounts` | [`session`] |
//! | `/api/plugins/{slug}/…` | [`plugin_routes`] |
//! | `GET /api/openapi.json` (signed in) | [`openapi`] |

pub mod access;
pub mod admin;
pub mod auth;
pub mod error;
pub mod marketplace;
pub mod metrics;
pub mod openapi;
pub mod plugin_routes;
pub mod request_id;
pub mod session;
pub mod settings;
pub mod shell;
pub mod ui;
pub mod users;

use std::net::TcpListener;

use actix_web::{dev::Server, web, App, HttpResponse, HttpServer};

pub use auth::AdminToken;
pub use error::ApiError;

use crate::{Runtime, Services};

async fn healthz(rt: web::Data<Runtime>) -> HttpResponse {
    let plugins = rt.entries();
    HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "plugins_loaded": plugins.len(),
        "plugins_active": plugins.iter().filter(|p| p.is_live()).count(),
        "safe_mode": rt.config().safe_mode,
    }))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such endpoint"))
}

/// Registers every route on an actix app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(1 << 20)
            .error_handler(|e, _| {
                ApiError::unprocessable(format!("invalid JSON body: {e}")).into()
            }),
    )
    .app_data(
        web::PathConfig::default().error_handler(|e, _| ApiError::not_found(e.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::unprocessable(e.to_string()).into()),
    )
    // Plugin routes first: actix tries the services in this order, so a
    // plugin request meets one prefix check instead of every host route
    // (the assets route is a regex) before reaching its scope.
    .configure(plugin_routes::configure)
    .route("/healthz", web::get().to(healthz))
    .configure(metrics::configure)
    .configure(session::configure)
    .configure(ui::configure)
    .configure(openapi::configure)
    .service(
        web::scope("/api/admin")
            .configure(marketplace::configure)
            .configure(admin::configure)
            .configure(access::configure)
            .configure(session::configure_admin)
            .configure(settings::configure)
            .configure(users::configure),
    )
    .configure(shell::configure)
    .default_service(web::to(not_found));
}

/// An HTTP server for `services` (or a runtime, whose services it then
/// makes) on `listener` (call `.await` on it to run). Each service is its
/// own app data: a handler asks for the one it uses.
pub fn server(
    services: impl Into<Services>,
    token: AdminToken,
    listener: TcpListener,
    workers: usize,
) -> std::io::Result<Server> {
    let services = services.into();
    let rt = web::Data::new(services.runtime);
    let marketplace = web::Data::new(services.marketplace);
    let accounts = web::Data::from(services.accounts);
    let history = web::Data::new(services.history);
    let token = web::Data::new(token);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(rt.clone())
            .app_data(marketplace.clone())
            .app_data(accounts.clone())
            .app_data(history.clone())
            .app_data(token.clone())
            .wrap(actix_web::middleware::from_fn(request_id::assign))
            .configure(configure)
    })
    .workers(workers.max(1))
    .disable_signals()
    .listen(listener)?
    .run())
}
