//! Route access: who may call each plugin route, checked by the host before
//! the plugin runs.
//!
//! A plugin's manifest says it, next to its capabilities, so an operator
//! reads it before installing and plugins built against any plugin-api 1.x
//! (the 1.0 ABI has no way to say it in code) can state it:
//!
//! ```json
//! "permissions": [{ "name": "moderate", "description": "Hide and delete entries" }],
//! "routes": [
//!   { "method": "GET",    "path": "/entries",      "access": "public" },
//!   { "method": "DELETE", "path": "/entries/{id}", "access": "admin" },
//!   { "method": "POST",   "path": "/entries/{id}/hide", "access": "permission:moderate" }
//! ]
//! ```
//!
//! * `public`: anyone, signed in or not;
//! * `user` (a route the manifest does not list): any signed-in account or
//!   the admin token;
//! * `admin`: an admin account or the admin token;
//! * `permission:{name}`: a permission the manifest declares, held by the
//!   caller's role through a grant ([`grants`]); admins hold every one.
//!
//! Each entry must name a route the code serves (checked when the plugin is
//! enabled), so a typo cannot silently leave a route at its default.
//!
//! The declarations and their checks are `plugboard-manifest`'s
//! ([`plugboard_manifest::access`]); the host's side is here: [`check`]ing a
//! caller, [`assign`]ing access to compiled routes, [`grants`].

pub mod grants;

use plugboard_plugin_api::Caller;

use crate::routes::RouteEntry;

pub use grants::{GrantError, Grants};
/// The manifest's side (`permissions`, `routes`, their checks) is
/// `plugboard-manifest`'s.
pub use plugboard_manifest::access::{
    is_valid_permission, validate, Access, AccessError, PermissionDecl, RouteAccess,
};

/// Whether `caller` may call a route with `access`: `Ok`, or why not.
///
/// ```
/// use plugboard_core::access::{check, Access, Denied};
/// use plugboard_plugin_api::Caller;
/// let ann = Caller::account(2, "ann", "user").with_permissions(&["moderate"]);
/// assert_eq!(check(&Access::User, &Caller::Anonymous), Err(Denied::SignIn));
/// assert!(matches!(check(&Access::Admin, &ann), Err(Denied::Forbidden(_))));
/// assert_eq!(check(&Access::parse("permission:moderate").unwrap(), &ann), Ok(()));
/// assert_eq!(check(&Access::Public, &Caller::Anonymous), Ok(()));
/// ```
pub fn check(access: &Access, caller: &Caller) -> Result<(), Denied> {
    match access {
        Access::Public => Ok(()),
        _ if caller.is_anonymous() => Err(Denied::SignIn),
        Access::User => Ok(()),
        Access::Admin if caller.is_admin() => Ok(()),
        Access::Admin => Err(Denied::Forbidden("only admins may call this route".into())),
        Access::Permission(p) if caller.has_permission(p) => Ok(()),
        Access::Permission(p) => Err(Denied::Forbidden(format!(
            "this route needs the permission {p:?}, which your role was not granted"
        ))),
    }
}

/// Why the host refused a call before the plugin ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// Nobody is signed in (HTTP 401).
    #[error("sign in (session cookie) or send Authorization: Bearer … to call this route")]
    SignIn,
    /// The caller is known but not allowed (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
}

/// A manifest's access entry names a route the plugin's code does not serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the manifest gives access to {method} {path}, a route the plugin does not serve")]
pub struct UnservedRoute {
    /// The entry's method.
    pub method: String,
    /// The entry's path.
    pub path: String,
}

/// Gives each compiled route the access its manifest lists (others keep
/// `user`); an entry naming no route the code serves is an error.
pub fn assign(entries: &mut [RouteEntry], declared: &[RouteAccess]) -> Result<(), UnservedRoute> {
    for d in declared {
        let route = entries
            .iter_mut()
            .find(|e| e.method.as_str() == d.method && e.pattern.as_str() == d.path)
            .ok_or_else(|| UnservedRoute {
                method: d.method.to_string(),
                path: d.path.to_string(),
            })?;
        route.access = d.access.clone();
        route.deadline_ms = d.deadline_ms;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_plugin_api::abi::RouteSpec;

    fn access(method: &str, path: &str, access: &str) -> RouteAccess {
        RouteAccess {
            method: method.into(),
            path: path.into(),
            access: Access::parse(access).unwrap(),
            deadline_ms: None,
        }
    }

    #[test]
    fn manifest_access_reaches_the_compiled_routes_and_unknown_routes_are_refused() {
        let spec = |m: &str, p: &str| RouteSpec {
            method: m.into(),
            path: p.into(),
        };
        let mut entries =
            crate::routes::compile(&[spec("GET", "/entries"), spec("DELETE", "/entries/{id}")])
                .unwrap();
        assign(&mut entries, &[access("DELETE", "/entries/{id}", "admin")]).unwrap();
        let of = |m: &str| {
            entries
                .iter()
                .find(|e| e.method.as_str() == m)
                .unwrap()
                .access
                .clone()
        };
        assert_eq!((of("GET"), of("DELETE")), (Access::User, Access::Admin));
        let err = assign(&mut entries, &[access("DELETE", "/entries/{key}", "admin")]).unwrap_err();
        assert!(err.to_string().contains("does not serve"), "{err}");
    }
}
