//! Admin API for the permissions plugins declare and the roles they are
//! granted to: `GET/PUT /api/admin/plugins/{slug}/permissions`.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{auth::Admin, error::ApiError};
use crate::runtime::Runtime;

/// Registers the routes (inside `/api/admin`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/plugins/{slug}/permissions", web::get().to(show))
        .route("/plugins/{slug}/permissions", web::put().to(replace));
}

/// The roles a permission can be granted to (admins hold every permission).
const GRANTABLE_ROLES: [&str; 1] = ["user"];

fn declared(rt: &Runtime, slug: &str) -> Result<Vec<crate::access::PermissionDecl>, ApiError> {
    rt.plugin(slug)
        .map(|e| e.manifest().permissions.clone())
        .ok_or_else(|| ApiError::not_found(format!("no plugin {slug:?} is loaded")))
}

async fn show(
    _: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let declared = declared(&rt, &slug)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "permissions": rt.grants().of_plugin(&slug, &declared),
        "grantable_roles": GRANTABLE_ROLES,
    })))
}

/// `{"grants": {"moderate": ["user"], …}}`: the whole new set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantsBody {
    grants: BTreeMap<String, Vec<String>>,
}

async fn replace(
    admin: Admin,
    rt: web::Data<Runtime>,
    slug: web::Path<String>,
    body: web::Json<GrantsBody>,
) -> Result<HttpResponse, ApiError> {
    let declared = declared(&rt, &slug)?;
    let actor = admin.0.actor();
    let permissions = rt
        .grants()
        .replace(rt.store(), &slug, &declared, &body.grants, &actor)
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "permissions": permissions,
        "grantable_roles": GRANTABLE_ROLES,
    })))
}
