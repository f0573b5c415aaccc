//! `GET /api/openapi.json`: the host's API and every live plugin route, as
//! an OpenAPI 3.1 document, built from the route table on each request (so
//! it follows enable, disable and updates).
//!
//! * The host's own endpoints are the table [`HOST_API`]; a test compares
//!   it with the routes the HTTP modules register, so it cannot drift.
//! * Each plugin route is listed with its method, path and access level
//!   (`x-plugboard-access`, and the security schemes it accepts), and with
//!   what the plugin documents (plugin-api 1.7: [`Route::summary`],
//!   [`Route::accepts`], [`Route::responds`]). A route that documents
//!   nothing is still listed.
//! * A plugin's schemas (made by `schemars`, JSON Schema 2020-12) keep
//!   their definitions in `components/schemas` as `{slug}.{Name}`, their
//!   references rewritten to point there.
//!
//! Reading it needs a signed-in caller (session or token), and it lists
//! only what that caller may call: admins and the token see everything; an
//! account sees the host's public and signed-in endpoints and the plugin
//! routes its role admits (public, user, the permissions it holds).
//!
//! [`Route::summary`]: plugboard_plugin_api::Route::summary
//! [`Route::accepts`]: plugboard_plugin_api::Route::accepts
//! [`Route::responds`]: plugboard_plugin_api::Route::responds

use actix_web::{web, HttpResponse};
use plugboard_manifest::access::Access;
use serde_json::{json, Map, Value};

use super::auth::Caller;
use crate::{routes::DocumentedRoute, Runtime};

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi));
}

async fn openapi(caller: Caller, rt: web::Data<Runtime>) -> HttpResponse {
    HttpResponse::Ok().json(document(&rt, &caller))
}

/// Who may call a host endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAccess {
    /// Anyone.
    Public,
    /// A signed-in account or the token.
    User,
    /// An admin account or the token.
    Admin,
}

/// One endpoint of the host: method, path (OpenAPI template), access,
/// summary.
pub type HostEndpoint = (&'static str, &'static str, HostAccess, &'static str);

use HostAccess::{Admin, Public, User};

/// Every endpoint of the host's own API (the shell's pages and the plugins'
/// asset files aside).
pub const HOST_API: &[HostEndpoint] = &[
    (
        "get",
        "/healthz",
        Public,
        "Health: plugins loaded and active",
    ),
    (
        "get",
        "/metrics",
        Admin,
        "Every plugin's figures (Prometheus text)",
    ),
    ("get", "/api/openapi.json", User, "This document"),
    (
        "post",
        "/api/auth/login",
        Public,
        "Signs in (sets the session cookie)",
    ),
    ("post", "/api/auth/logout", User, "Signs out"),
    (
        "get",
        "/api/auth/session",
        User,
        "The signed-in session and its CSRF token",
    ),
    (
        "post",
        "/api/auth/password",
        User,
        "Changes the signed-in account's password",
    ),
    (
        "get",
        "/api/auth/registration",
        Public,
        "Whether self-registration is open",
    ),
    (
        "post",
        "/api/auth/register",
        Public,
        "Registers an account (when open)",
    ),
    (
        "get",
        "/api/ui/manifest",
        Public,
        "The UI contributions of the live plugins",
    ),
    (
        "get",
        "/api/ui/schema",
        Public,
        "The JSON Schema of the UI manifest",
    ),
    (
        "get",
        "/api/admin/stream",
        Admin,
        "Live changes (server-sent events)",
    ),
    (
        "get",
        "/api/admin/plugins",
        Admin,
        "Every plugin with its state",
    ),
    (
        "get",
        "/api/admin/plugins/{slug}",
        Admin,
        "One plugin in detail",
    ),
    (
        "delete",
        "/api/admin/plugins/{slug}",
        Admin,
        "Uninstalls a plugin (keeping or removing its data)",
    ),
    (
        "post",
        "/api/admin/plugins/{slug}/enable",
        Admin,
        "Enables a plugin",
    ),
    (
        "post",
        "/api/admin/plugins/{slug}/disable",
        Admin,
        "Disables a plugin",
    ),
    (
        "post",
        "/api/admin/plugins/{slug}/reset",
        Admin,
        "Clears a plugin's error and panic count",
    ),
    (
        "get",
        "/api/admin/plugins/{slug}/jobs",
        Admin,
        "A plugin's jobs and their recent runs",
    ),
    (
        "get",
        "/api/admin/plugins/{slug}/config",
        Admin,
        "A plugin's configuration and schema",
    ),
    (
        "put",
        "/api/admin/plugins/{slug}/config",
        Admin,
        "Replaces a plugin's configuration",
    ),
    (
        "get",
        "/api/admin/plugins/{slug}/permissions",
        Admin,
        "A plugin's permissions and the roles granted them",
    ),
    (
        "put",
        "/api/admin/plugins/{slug}/permissions",
        Admin,
        "Replaces a plugin's grants",
    ),
    (
        "post",
        "/api/admin/plugins/{slug}/rollback",
        Admin,
        "Rolls a plugin back to its previous version",
    ),
    (
        "post",
        "/api/admin/plugins/install",
        Admin,
        "Installs (or updates) a plugin from the catalog",
    ),
    ("get", "/api/admin/installs", Admin, "Install jobs"),
    (
        "get",
        "/api/admin/installs/{id}",
        Admin,
        "One install job's progress",
    ),
    (
        "get",
        "/api/admin/updates",
        Admin,
        "Updates offered and plugins draining",
    ),
    (
        "post",
        "/api/admin/updates/{id}/apply",
        Admin,
        "Applies an update (hot reload)",
    ),
    (
        "post",
        "/api/admin/updates/{id}/approve",
        Admin,
        "Approves an update that asks for more than the running version",
    ),
    (
        "post",
        "/api/admin/updates/{id}/dismiss",
        Admin,
        "Dismisses an update",
    ),
    (
        "get",
        "/api/admin/catalog",
        Admin,
        "The catalog: every plugin offered",
    ),
    (
        "get",
        "/api/admin/catalog/entries/{slug}",
        Admin,
        "One plugin of the catalogs: versions, publisher, signature, what it asks for",
    ),
    (
        "get",
        "/api/admin/catalog/image",
        Admin,
        "A picture a catalog names (icon or screenshot), fetched by the host",
    ),
    (
        "post",
        "/api/admin/catalog/sync",
        Admin,
        "Reads every catalog source again",
    ),
    (
        "get",
        "/api/admin/catalog/sources",
        Admin,
        "Catalog sources",
    ),
    (
        "post",
        "/api/admin/catalog/sources",
        Admin,
        "Adds a catalog source",
    ),
    (
        "delete",
        "/api/admin/catalog/sources/{id}",
        Admin,
        "Removes a catalog source",
    ),
    (
        "get",
        "/api/admin/trusted-keys",
        Admin,
        "Trusted publisher keys",
    ),
    (
        "post",
        "/api/admin/trusted-keys",
        Admin,
        "Trusts a publisher key",
    ),
    (
        "delete",
        "/api/admin/trusted-keys/{key_id}",
        Admin,
        "Stops trusting a publisher key",
    ),
    ("get", "/api/admin/audit", Admin, "The audit log"),
    (
        "get",
        "/api/admin/hooks",
        Admin,
        "Hook subscribers in call order",
    ),
    (
        "get",
        "/api/admin/events",
        Admin,
        "Event subscribers and their counters",
    ),
    (
        "get",
        "/api/admin/replicas",
        Admin,
        "The replicas sharing the database",
    ),
    (
        "get",
        "/api/admin/accounts",
        Admin,
        "Accounts that can sign in",
    ),
    (
        "post",
        "/api/admin/accounts",
        Admin,
        "Creates an account with a password",
    ),
    ("get", "/api/admin/settings", Admin, "Host settings"),
    ("put", "/api/admin/settings", Admin, "Changes host settings"),
    ("get", "/api/admin/users", Admin, "Users"),
    ("post", "/api/admin/users", Admin, "Creates a user"),
    ("get", "/api/admin/users/{id}", Admin, "One user"),
    ("patch", "/api/admin/users/{id}", Admin, "Changes a user"),
    ("delete", "/api/admin/users/{id}", Admin, "Deletes a user"),
    (
        "post",
        "/api/admin/users/{id}/login",
        Admin,
        "Fires the login hooks for a user",
    ),
    (
        "post",
        "/api/admin/users/{id}/logout",
        Admin,
        "Fires the logout hooks for a user",
    ),
];

/// The document for the routes live in `rt` now, as `caller` may see it.
pub fn document(rt: &Runtime, caller: &Caller) -> Value {
    let admin = caller.role() == plugboard_frontend_manifest::Role::Admin;
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut tags = vec![json!({ "name": "host", "description": "Plugboard's own API" })];
    for (method, path, access, summary) in HOST_API {
        if *access == Admin && !admin {
            continue;
        }
        let mut op = json!({
            "tags": ["host"],
            "summary": summary,
            "operationId": operation_id("host", method, path),
            "responses": { "default": { "description": "A JSON answer; errors are {\"error\": {\"code\", \"message\"}}" } },
        });
        secure(&mut op, *access != Public);
        add(&mut paths, path, method, op);
    }
    for (slug, routes) in rt.routes().documented() {
        let entry = rt.plugin(&slug);
        let declared = entry
            .as_ref()
            .map(|e| e.manifest().permissions.clone())
            .unwrap_or_default();
        let as_plugin_sees = caller.for_plugin(rt.grants(), &slug, &declared);
        let routes: Vec<DocumentedRoute> = routes
            .into_iter()
            .filter(|r| crate::access::check(&r.access, &as_plugin_sees).is_ok())
            .collect();
        if routes.is_empty() {
            continue;
        }
        let description = entry.as_ref().map(|e| {
            let m = e.manifest();
            format!(
                "{} {} — {}",
                m.name.as_deref().unwrap_or(&slug),
                m.version,
                m.description.as_deref().unwrap_or("")
            )
        });
        tags.push(json!({ "name": slug, "description": description.unwrap_or_default() }));
        for route in routes {
            let path = format!("/api/plugins/{slug}{}", route.pattern);
            let op = plugin_operation(&slug, &route, &mut schemas);
            add(
                &mut paths,
                &path,
                &route.method.as_str().to_ascii_lowercase(),
                op,
            );
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Plugboard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The host's API and the routes of every active plugin. A plugin route's `x-plugboard-access` is its access level: public, user, admin or permission:{name}.",
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "adminToken": { "type": "http", "scheme": "bearer", "description": "The operator's admin token" },
                "session": { "type": "apiKey", "in": "cookie", "name": super::auth::SESSION_COOKIE, "description": "A signed-in browser session (writes also need X-CSRF-Token)" },
            },
        },
    })
}

fn add(paths: &mut Map<String, Value>, path: &str, method: &str, mut op: Value) {
    let params: Vec<Value> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    let item = paths
        .entry(path.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    item[method] = op;
}

fn secure(op: &mut Value, signed_in: bool) {
    op["security"] = if signed_in {
        json!([{ "adminToken": [] }, { "session": [] }])
    } else {
        json!([])
    };
}

/// Unique per operation: a method and a path are (`guestbook.get./entries/{id}`).
fn operation_id(scope: &str, method: &str, path: &str) -> String {
    let path = path
        .strip_prefix(&format!("/api/plugins/{scope}"))
        .unwrap_or(path);
    format!("{scope}.{method}.{path}")
}

fn plugin_operation(
    slug: &str,
    route: &DocumentedRoute,
    schemas: &mut Map<String, Value>,
) -> Value {
    let method = route.method.as_str().to_ascii_lowercase();
    let access = route.access.to_string();
    let who = match &route.access {
        Access::Public => "Anyone may call it.".to_string(),
        Access::User => "A signed-in account or the admin token may call it.".to_string(),
        Access::Admin => "Admins and the admin token may call it.".to_string(),
        Access::Permission(p) => format!(
            "Accounts whose role was granted `{p}`, admins and the admin token may call it."
        ),
    };
    let doc = route.doc.as_deref().cloned().unwrap_or_default();
    let mut op = json!({
        "tags": [slug],
        "operationId": operation_id(slug, &method, &route.pattern),
        "x-plugboard-access": access,
    });
    if let Some(s) = &doc.summary {
        op["summary"] = json!(s);
    }
    op["description"] = json!(match &doc.description {
        Some(d) => format!("{d}\n\n{who}"),
        None => who,
    });
    secure(&mut op, route.access != Access::Public);
    if let Some(schema) = doc.request {
        op["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": hoist(slug, schema, schemas) } },
        });
    }
    let mut responses = Map::new();
    for (status, schema) in doc.responses {
        let mut response = json!({ "description": reason(&status) });
        if !schema.is_null() {
            response["content"] =
                json!({ "application/json": { "schema": hoist(slug, schema, schemas) } });
        }
        responses.insert(status, response);
    }
    if responses.is_empty() {
        responses.insert(
            "default".into(),
            json!({ "description": "The plugin's answer (undocumented)" }),
        );
    }
    if route.access != Access::Public {
        responses.insert("401".into(), json!({ "description": "Nobody signed in" }));
        responses.insert(
            "403".into(),
            json!({ "description": "The caller lacks the access level" }),
        );
    }
    op["responses"] = Value::Object(responses);
    op
}

fn reason(status: &str) -> String {
    let text = status
        .parse::<u16>()
        .ok()
        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason());
    text.unwrap_or("Answer").to_string()
}

/// Moves a schema's `$defs` into `components/schemas` as `{slug}.{Name}`
/// and points its references there; drops `$schema` (the document's dialect
/// is JSON Schema 2020-12 already).
fn hoist(slug: &str, mut schema: Value, schemas: &mut Map<String, Value>) -> Value {
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("$schema");
        if let Some(Value::Object(defs)) = obj.remove("$defs") {
            for (name, mut def) in defs {
                rewrite_refs(slug, &mut def);
                let key = format!("{slug}.{name}");
                match schemas.get(&key) {
                    // Two routes naming different types alike: the first
                    // keeps the name, and this schema's references point
                    // to it; told in the log, the document stays valid.
                    Some(existing) if *existing != def => {
                        tracing::warn!(plugin = slug, "two route types are both named {name}; the OpenAPI document shows the first");
                    }
                    _ => {
                        schemas.insert(key, def);
                    }
                }
            }
        }
    }
    rewrite_refs(slug, &mut schema);
    schema
}

fn rewrite_refs(slug: &str, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "$ref" {
                    if let Some(name) = v.as_str().and_then(|r| r.strip_prefix("#/$defs/")) {
                        *v = json!(format!("#/components/schemas/{slug}.{name}"));
                    }
                } else {
                    rewrite_refs(slug, v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(slug, v)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_move_to_components_and_references_follow() {
        let mut schemas = Map::new();
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": { "note": { "$ref": "#/$defs/Note" } },
            "$defs": { "Note": { "type": "object", "properties": { "tag": { "$ref": "#/$defs/Tag" } } }, "Tag": { "type": "string" } }
        });
        let out = hoist("notes", schema, &mut schemas);
        assert_eq!(
            out["properties"]["note"]["$ref"],
            "#/components/schemas/notes.Note"
        );
        assert!(out.get("$schema").is_none() && out.get("$defs").is_none());
        assert_eq!(
            schemas["notes.Note"]["properties"]["tag"]["$ref"],
            "#/components/schemas/notes.Tag"
        );
        assert_eq!(schemas["notes.Tag"], json!({"type": "string"}));
    }

    #[test]
    fn the_host_table_lists_every_route_the_http_modules_register() {
        // The admin modules' routes are registered inside `/api/admin`.
        let scoped = [
            "admin.rs",
            "marketplace.rs",
            "access.rs",
            "settings.rs",
            "users.rs",
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let mut registered = Vec::new();
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if ["shell.rs", "plugin_routes.rs"].contains(&name.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices(".route(\"") {
                let rest = &text[i + 8..];
                let route = &rest[..rest.find('"').unwrap()];
                let after = &rest[rest.find('"').unwrap()..];
                let method = after
                    .split("web::")
                    .nth(1)
                    .unwrap()
                    .split("()")
                    .next()
                    .unwrap();
                let in_admin_scope = scoped.contains(&name.as_str())
                    || (name == "session.rs" && route.starts_with("/accounts"));
                let full = if in_admin_scope {
                    format!("/api/admin{route}")
                } else {
                    route.to_string()
                };
                if full.starts_with("/plugins/{slug}/assets") || method == "head" {
                    continue;
                }
                registered.push((method.to_string(), full));
            }
        }
        // The metrics server of `--metrics-bind` registers `/metrics` again.
        registered.sort();
        registered.dedup();
        let mut listed: Vec<(String, String)> = HOST_API
            .iter()
            .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
            .collect();
        listed.sort();
        let missing: Vec<_> = registered.iter().filter(|r| !listed.contains(r)).collect();
        let extra: Vec<_> = listed.iter().filter(|l| !registered.contains(l)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "not in HOST_API: {missing:?}; in HOST_API but not registered: {extra:?}"
        );
    }
}
