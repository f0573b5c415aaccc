//! `/api/plugins/{slug}/…`: requests to plugin routes, across the boundary.
//!
//! Before the plugin runs, the host finds the route, works out who is
//! calling ([`optional_caller`]: bearer token, session with CSRF checked, or
//! nobody) and applies the route's access level (401 / 403). The plugin gets
//! the caller, never the credentials: the headers in [`CREDENTIAL_HEADERS`]
//! are not passed on, and `Set-Cookie` from a plugin is dropped (it could
//! overwrite the session cookie, and no cookie ever reaches a plugin).

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use plugboard_plugin_api::{Caller, PluginError};

use super::{auth::optional_caller, error::ApiError};
use crate::{
    registry::CallError,
    routes::Lookup,
    runtime::{OwnedRequest, Runtime},
};

/// Registers the catch-all for plugin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // A scope with a default service: a prefix check, no per-request regex.
    cfg.service(web::scope(PREFIX).default_service(web::to(serve)));
}

const PREFIX: &str = "/api/plugins";

/// Request headers that carry credentials; never passed to a plugin (header
/// names arrive in lower case).
pub const CREDENTIAL_HEADERS: [&str; 4] = [
    "cookie",
    "authorization",
    "proxy-authorization",
    "x-csrf-token",
];

/// Splits `/api/plugins/{slug}/{rest}` into the slug and `/{rest}`.
fn split_path(full: &str) -> Option<(&str, &str)> {
    let rest = full.strip_prefix(PREFIX)?.strip_prefix('/')?;
    Some(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

/// A request that names no route of an active plugin.
#[derive(Debug, thiserror::Error)]
pub enum RouteMiss {
    /// `/api/plugins/` alone.
    #[error("no plugin named in the path")]
    NoPluginInPath,
    /// No active plugin has that slug.
    #[error("no active plugin {0:?}")]
    NoActivePlugin(String),
    /// The plugin serves no such path.
    #[error("plugin {slug:?} has no route {path}")]
    NoRoute {
        /// The plugin.
        slug: String,
        /// The path below its prefix.
        path: String,
    },
    /// The path exists for other methods.
    #[error("plugin {slug:?} does not serve {method} {path}")]
    MethodNotAllowed {
        /// The plugin.
        slug: String,
        /// The method asked.
        method: String,
        /// The path below its prefix.
        path: String,
    },
}

/// A plugin route answered with an error.
#[derive(Debug, thiserror::Error)]
#[error("plugin {slug:?}: {error}")]
pub struct PluginRouteFailed {
    /// The plugin.
    pub slug: String,
    /// Its error (kind and message).
    pub error: PluginError,
}

async fn serve(
    req: HttpRequest,
    rt: web::Data<Runtime>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some((slug, path)) = split_path(req.path()) else {
        return Err(RouteMiss::NoPluginInPath.into());
    };
    let method = req.method().as_str();
    let no_plugin = || ApiError::from(RouteMiss::NoActivePlugin(slug.to_string()));
    let (index, params, access, point, entry) = match rt.routes().lookup(slug, method, path) {
        Lookup::Found {
            index,
            params,
            access,
            point,
            target,
        } => (index, params, access, point, target),
        Lookup::NoPlugin => return Err(no_plugin()),
        Lookup::NoRoute => {
            return Err(RouteMiss::NoRoute {
                slug: slug.into(),
                path: path.into(),
            }
            .into())
        }
        Lookup::MethodNotAllowed => {
            return Err(RouteMiss::MethodNotAllowed {
                slug: slug.into(),
                method: method.into(),
                path: path.into(),
            }
            .into())
        }
    };
    let caller = match optional_caller(&req).await? {
        Some(c) => c.for_plugin(rt.grants(), slug, &entry.manifest().permissions),
        None => Caller::Anonymous,
    };
    crate::access::check(&access, &caller)?;
    let point = point.unwrap_or_else(|| {
        entry.point(
            crate::exec::PointKind::Route,
            &format!("{method} {path}"),
            entry.deadlines().call,
        )
    });
    let request = OwnedRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: req.query_string().to_string(),
        headers: req
            .headers()
            .iter()
            .filter(|(k, _)| !CREDENTIAL_HEADERS.contains(&k.as_str()))
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        params,
        body,
    };
    match rt.call_route(&entry, point, index, request, caller).await {
        Ok(response) => {
            let status = StatusCode::from_u16(response.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut out = HttpResponse::build(status);
            for (k, v) in response.headers() {
                if !k.eq_ignore_ascii_case("set-cookie") {
                    out.append_header((k, v));
                }
            }
            Ok(out.body(response.body().to_vec()))
        }
        Err(CallError::Unavailable(_)) => Err(no_plugin()),
        Err(CallError::Exec(e)) => Err(e.into()),
        Err(CallError::Plugin { error, .. }) => Err(PluginRouteFailed {
            slug: slug.to_string(),
            error,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::split_path;

    #[test]
    fn the_slug_and_the_plugin_path_are_split_off_the_prefix() {
        assert_eq!(
            split_path("/api/plugins/guestbook/entries/7"),
            Some(("guestbook", "/entries/7"))
        );
        assert_eq!(
            split_path("/api/plugins/guestbook"),
            Some(("guestbook", "/"))
        );
        assert_eq!(
            split_path("/api/plugins/guestbook/"),
            Some(("guestbook", "/"))
        );
        assert_eq!(split_path("/api/pluginsx/a"), None);
    }
}
