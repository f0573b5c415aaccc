//! `GET /metrics`: Prometheus text exposition (see [`crate::prometheus`]),
//! for the admin token or an admin session on the main address; or, with
//! `plugboard serve --metrics-bind ADDR`, on an address of its own that
//! serves nothing else and asks for no token (for a scraper on a private
//! network: bind it to an address only the monitoring can reach).

use std::net::TcpListener;

use actix_web::{dev::Server, web, App, HttpResponse, HttpServer};

use super::{auth::Admin, error::ApiError};
use crate::runtime::Runtime;

/// Registers `GET /metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

async fn metrics(_: Admin, rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    exposition(&rt).await
}

async fn exposition(rt: &Runtime) -> Result<HttpResponse, ApiError> {
    let records = rt.store().list().await?;
    let text = crate::prometheus::render(&rt.entries(), &records, rt.executor().threads());
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(text))
}

async fn open_metrics(rt: web::Data<Runtime>) -> Result<HttpResponse, ApiError> {
    exposition(&rt).await
}

/// A server on `listener` with `GET /metrics` only, without a token, and
/// one worker (call `.await` on it to run).
pub fn metrics_server(rt: Runtime, listener: TcpListener) -> std::io::Result<Server> {
    let rt = web::Data::new(rt);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(rt.clone())
            .route("/metrics", web::get().to(open_metrics))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::not_found("this address serves GET /metrics only"))
            }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}
