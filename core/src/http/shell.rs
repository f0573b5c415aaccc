//! The admin shell: a page and plain ES modules compiled into the binary
//! (no Node at build time). `/admin/…` and the plugin pages under
//! `/plugins/{slug}/…` all answer the same page; the shell routes in the
//! browser and renders plugin contributions from `GET /api/ui/manifest`.

use actix_web::{web, HttpResponse};

/// (URL path under `/shell/`, content type, contents).
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/api.js"),
    ),
    (
        "views.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/views.js"),
    ),
    (
        "marketplace.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/marketplace.js"),
    ),
    (
        "settings.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/settings.js"),
    ),
    (
        "schema-form.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/schema-form.js"),
    ),
    (
        "icons.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/icons.js"),
    ),
    (
        "contributions.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/contributions.js"),
    ),
    (
        "access.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/access.js"),
    ),
    (
        "format.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/format.js"),
    ),
    (
        "apidocs.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/apidocs.js"),
    ),
    (
        "markdown.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/markdown.js"),
    ),
    (
        "catalog.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/catalog.js"),
    ),
    (
        "plugin-page.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/plugin-page.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_str!("../../shell/charts.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../shell/style.css"),
    ),
];

const INDEX: &str = include_str!("../../shell/index.html");

/// Registers `/`, `/admin…`, `/plugins/{slug}…` and `/shell/{file}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(root))
        .route("/admin", web::get().to(index))
        .route("/admin/{tail:.*}", web::get().to(index))
        .route("/plugins/{slug}", web::get().to(index))
        .route("/plugins/{slug}/{tail:.*}", web::get().to(index))
        .route("/shell/{file}", web::get().to(file));
}

async fn root() -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("location", "/admin"))
        .finish()
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("content-type", "text/html; charset=utf-8"))
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-frame-options", "DENY"))
        .insert_header(("x-content-type-options", "nosniff"))
        .body(INDEX)
}

async fn file(name: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, ty, body)) => HttpResponse::Ok()
            .insert_header(("content-type", *ty))
            .insert_header(("cache-control", "no-cache"))
            .insert_header(("x-content-type-options", "nosniff"))
            .body(*body),
        None => HttpResponse::NotFound().finish(),
    }
}
