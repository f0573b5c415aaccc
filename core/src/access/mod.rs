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

pub mod grants;

use std::{fmt, sync::Arc};

use plugboard_plugin_api::{Caller, Method};
use serde::{Deserialize, Serialize};

use crate::routes::{Pattern, RouteEntry};

pub use grants::{GrantError, Grants};

/// Who may call a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Access {
    /// Anyone.
    Public,
    /// Any signed-in account or the admin token (the default).
    #[default]
    User,
    /// Admins only.
    Admin,
    /// Callers whose role was granted this permission of the plugin (and admins).
    Permission(Arc<str>),
}

impl Access {
    /// Parses `public`, `user`, `admin` or `permission:{name}`.
    ///
    /// ```
    /// use plugboard_core::access::Access;
    /// assert_eq!(Access::parse("admin"), Ok(Access::Admin));
    /// assert_eq!(Access::parse("permission:moderate").unwrap().to_string(), "permission:moderate");
    /// assert!(Access::parse("root").is_err());
    /// assert!(Access::parse("permission:").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Access, String> {
        Ok(match text {
            "public" => Access::Public,
            "user" => Access::User,
            "admin" => Access::Admin,
            other => match other.strip_prefix("permission:") {
                Some(name) if is_valid_permission(name) => Access::Permission(name.into()),
                Some(name) => return Err(format!("{name:?} is not a valid permission name")),
                None => {
                    return Err(format!(
                        "access {other:?} is not public, user, admin or permission:{{name}}"
                    ))
                }
            },
        })
    }

    /// Whether `caller` may call a route with this access: `Ok`, or why not.
    ///
    /// ```
    /// use plugboard_core::access::{Access, Denied};
    /// use plugboard_plugin_api::Caller;
    /// let ann = Caller::account(2, "ann", "user").with_permissions(&["moderate"]);
    /// assert_eq!(Access::User.check(&Caller::Anonymous), Err(Denied::SignIn));
    /// assert!(matches!(Access::Admin.check(&ann), Err(Denied::Forbidden(_))));
    /// assert_eq!(Access::parse("permission:moderate").unwrap().check(&ann), Ok(()));
    /// assert_eq!(Access::Public.check(&Caller::Anonymous), Ok(()));
    /// ```
    pub fn check(&self, caller: &Caller) -> Result<(), Denied> {
        match self {
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
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Public => f.write_str("public"),
            Access::User => f.write_str("user"),
            Access::Admin => f.write_str("admin"),
            Access::Permission(p) => write!(f, "permission:{p}"),
        }
    }
}

impl Serialize for Access {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Access {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Access::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Access {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Access".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(public|user|admin|permission:[a-z][a-z0-9_-]{0,39})$"
        })
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

/// Whether `name` is a valid permission name: lower-case letters, digits,
/// `_` and `-`, starting with a letter, at most 40 characters.
pub fn is_valid_permission(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 40
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
}

/// A permission a plugin declares in its manifest.
#[derive(Debug, Clone, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionDecl {
    /// Its name (`[a-z][a-z0-9_-]*`, at most 40).
    pub name: String,
    /// What it lets a caller do, for the admin who grants it.
    #[serde(default)]
    pub description: String,
}

/// The access the manifest gives one route.
#[derive(Debug, Clone, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteAccess {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The route's pattern exactly as the plugin's code declares it.
    pub path: String,
    /// Who may call it.
    pub access: Access,
}

/// Checks the manifest's `permissions` and `routes` on their own: valid,
/// unique names; methods and patterns that parse; no route listed twice;
/// every `permission:` naming a declared permission.
pub fn validate(permissions: &[PermissionDecl], routes: &[RouteAccess]) -> Result<(), String> {
    for (i, p) in permissions.iter().enumerate() {
        if !is_valid_permission(&p.name) {
            return Err(format!(
                "permission {:?} is not valid (lower-case letters, digits, '_' and '-', starting with a letter, at most 40)",
                p.name
            ));
        }
        if permissions[..i].iter().any(|q| q.name == p.name) {
            return Err(format!("permission {:?} is declared twice", p.name));
        }
        if p.description.chars().count() > 200 {
            return Err(format!(
                "permission {:?}: the description is longer than 200 characters",
                p.name
            ));
        }
    }
    for (i, r) in routes.iter().enumerate() {
        if Method::parse(&r.method).is_none() {
            return Err(format!(
                "routes: {:?} is not GET, POST, PUT, PATCH or DELETE",
                r.method
            ));
        }
        Pattern::parse(&r.path).map_err(|e| format!("routes: {e}"))?;
        if routes[..i]
            .iter()
            .any(|q| q.method == r.method && q.path == r.path)
        {
            return Err(format!("routes: {} {} is listed twice", r.method, r.path));
        }
        if let Access::Permission(p) = &r.access {
            if !permissions.iter().any(|d| *d.name == **p) {
                return Err(format!(
                    "routes: {} {} needs permission {p:?}, which `permissions` does not declare",
                    r.method, r.path
                ));
            }
        }
    }
    Ok(())
}

/// Gives each compiled route the access its manifest lists (others keep
/// `user`); an entry naming no route the code serves is an error.
pub fn assign(entries: &mut [RouteEntry], declared: &[RouteAccess]) -> Result<(), String> {
    for d in declared {
        let route = entries
            .iter_mut()
            .find(|e| e.method.as_str() == d.method && e.pattern.as_str() == d.path)
            .ok_or_else(|| {
                format!(
                    "the manifest gives access to {} {}, a route the plugin does not serve",
                    d.method, d.path
                )
            })?;
        route.access = d.access.clone();
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
        }
    }

    fn perm(name: &str) -> PermissionDecl {
        PermissionDecl {
            name: name.into(),
            description: String::new(),
        }
    }

    #[test]
    fn bad_declarations_are_refused_with_the_reason() {
        let cases: Vec<(Vec<PermissionDecl>, Vec<RouteAccess>, &str)> = vec![
            (vec![perm("Moderate")], vec![], "not valid"),
            (vec![perm("")], vec![], "not valid"),
            (vec![perm("a"), perm("a")], vec![], "twice"),
            (
                vec![],
                vec![access("GET", "/a", "permission:nope")],
                "does not declare",
            ),
            (vec![], vec![access("TRACE", "/a", "public")], "not GET"),
            (vec![], vec![access("GET", "a", "public")], "must start"),
            (
                vec![],
                vec![access("GET", "/a", "public"), access("GET", "/a", "admin")],
                "listed twice",
            ),
        ];
        for (permissions, routes, why) in cases {
            let err = validate(&permissions, &routes).unwrap_err();
            assert!(err.contains(why), "{err} (wanted {why})");
        }
        assert!(validate(
            &[perm("moderate")],
            &[
                access("GET", "/a", "public"),
                access("POST", "/a", "permission:moderate")
            ]
        )
        .is_ok());
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
        assert!(err.contains("does not serve"), "{err}");
    }

    #[test]
    fn access_reads_back_as_written() {
        for text in ["public", "user", "admin", "permission:export-csv"] {
            let a: Access = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::json!(text));
        }
        assert!(serde_json::from_value::<Access>(serde_json::json!("Admin")).is_err());
        assert!(serde_json::from_value::<Access>(serde_json::json!("permission:a b")).is_err());
    }
}
