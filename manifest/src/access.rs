//! Route access as a manifest declares it: who may call each plugin route.
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
//!   caller's role through a grant; admins hold every one.
//!
//! The host checks a caller against an [`Access`] before the plugin runs,
//! and checks when the plugin is enabled that each entry names a route its
//! code serves.

use std::{fmt, sync::Arc};

use serde::{Deserialize, Serialize};

/// The HTTP methods plugin routes may use.
pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

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

/// Why route access or permissions were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Not `public`, `user`, `admin` or `permission:{name}`.
    #[error("access {0:?} is not public, user, admin or permission:{{name}}")]
    Unknown(String),
    /// `permission:` with a bad name.
    #[error("{0:?} is not a valid permission name")]
    PermissionName(String),
    /// A declared permission with a bad name.
    #[error("permission {0:?} is not valid (lower-case letters, digits, '_' and '-', starting with a letter, at most 40)")]
    BadPermission(String),
    /// A permission declared twice.
    #[error("permission {0:?} is declared twice")]
    DuplicatePermission(String),
    /// A permission's description is too long.
    #[error("permission {0:?}: the description is longer than 200 characters")]
    LongDescription(String),
    /// A route entry with a method plugins may not use.
    #[error("routes: {0:?} is not GET, POST, PUT, PATCH or DELETE")]
    Method(String),
    /// A route entry whose path is not a route pattern.
    #[error("routes: {0}")]
    Path(#[from] RoutePathError),
    /// A route listed twice.
    #[error("routes: {method} {path} is listed twice")]
    Twice {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// A route needing a permission the manifest does not declare.
    #[error("routes: {method} {path} needs permission {permission:?}, which `permissions` does not declare")]
    Undeclared {
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// The permission.
        permission: String,
    },
}

impl Access {
    /// Parses `public`, `user`, `admin` or `permission:{name}`.
    ///
    /// ```
    /// use plugboard_manifest::access::Access;
    /// assert_eq!(Access::parse("admin"), Ok(Access::Admin));
    /// assert_eq!(Access::parse("permission:moderate").unwrap().to_string(), "permission:moderate");
    /// assert!(Access::parse("root").is_err());
    /// assert!(Access::parse("permission:").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Access, AccessError> {
        Ok(match text {
            "public" => Access::Public,
            "user" => Access::User,
            "admin" => Access::Admin,
            other => match other.strip_prefix("permission:") {
                Some(name) if is_valid_permission(name) => Access::Permission(name.into()),
                Some(name) => return Err(AccessError::PermissionName(name.to_string())),
                None => return Err(AccessError::Unknown(other.to_string())),
            },
        })
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
    /// Milliseconds a call may take (else the plugin's deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

/// Checks the manifest's `permissions` and `routes` on their own: valid,
/// unique names; methods and patterns that parse; no route listed twice;
/// every `permission:` naming a declared permission.
pub fn validate(permissions: &[PermissionDecl], routes: &[RouteAccess]) -> Result<(), AccessError> {
    for (i, p) in permissions.iter().enumerate() {
        if !is_valid_permission(&p.name) {
            return Err(AccessError::BadPermission(p.name.clone()));
        }
        if permissions[..i].iter().any(|q| q.name == p.name) {
            return Err(AccessError::DuplicatePermission(p.name.clone()));
        }
        if p.description.chars().count() > 200 {
            return Err(AccessError::LongDescription(p.name.clone()));
        }
    }
    for (i, r) in routes.iter().enumerate() {
        if !METHODS.contains(&r.method.as_str()) {
            return Err(AccessError::Method(r.method.clone()));
        }
        parse_route_path(&r.path)?;
        if routes[..i]
            .iter()
            .any(|q| q.method == r.method && q.path == r.path)
        {
            return Err(AccessError::Twice {
                method: r.method.clone(),
                path: r.path.clone(),
            });
        }
        if let Access::Permission(p) = &r.access {
            if !permissions.iter().any(|d| *d.name == **p) {
                return Err(AccessError::Undeclared {
                    method: r.method.clone(),
                    path: r.path.clone(),
                    permission: p.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteSegment {
    /// Text the path must hold.
    Literal(String),
    /// `{name}`: any non-empty segment, captured as `name`.
    Param(String),
}

/// Why a route pattern is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route pattern {pattern:?} is invalid: {why}")]
pub struct RoutePathError {
    /// The pattern.
    pub pattern: String,
    /// The rule it breaks.
    pub why: &'static str,
}

/// Parses a route pattern such as `/entries/{id}` into its segments: it
/// starts with `/`, has no empty segment, and each `{name}` (letters, digits
/// and `_`, each name once) is a whole segment. The host's route table is
/// built from these.
///
/// ```
/// use plugboard_manifest::access::{parse_route_path, RouteSegment};
/// assert_eq!(
///     parse_route_path("/entries/{id}").unwrap(),
///     [RouteSegment::Literal("entries".into()), RouteSegment::Param("id".into())]
/// );
/// assert!(parse_route_path("/").unwrap().is_empty());
/// assert!(parse_route_path("entries").unwrap_err().to_string().contains("must start with '/'"));
/// ```
pub fn parse_route_path(source: &str) -> Result<Vec<RouteSegment>, RoutePathError> {
    let bad = |why| RoutePathError {
        pattern: source.to_string(),
        why,
    };
    let rest = source
        .strip_prefix('/')
        .ok_or_else(|| bad("must start with '/'"))?;
    let mut segments = Vec::new();
    let mut names = Vec::new();
    if !rest.is_empty() {
        for seg in rest.split('/') {
            if seg.is_empty() {
                return Err(bad("empty segment"));
            }
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(bad("parameter names are letters, digits and '_'"));
                }
                if names.contains(&name) {
                    return Err(bad("duplicate parameter"));
                }
                names.push(name);
                segments.push(RouteSegment::Param(name.to_string()));
            } else if seg.contains(['{', '}']) {
                return Err(bad("a parameter must be a whole segment"));
            } else {
                segments.push(RouteSegment::Literal(seg.to_string()));
            }
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(method: &str, path: &str, access: &str) -> RouteAccess {
        RouteAccess {
            method: method.into(),
            path: path.into(),
            access: Access::parse(access).unwrap(),
            deadline_ms: None,
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
            let err = validate(&permissions, &routes).unwrap_err().to_string();
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
    fn access_reads_back_as_written() {
        for text in ["public", "user", "admin", "permission:export-csv"] {
            let a: Access = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::json!(text));
        }
        assert!(serde_json::from_value::<Access>(serde_json::json!("Admin")).is_err());
        assert!(serde_json::from_value::<Access>(serde_json::json!("permission:a b")).is_err());
    }

    #[test]
    fn route_paths_are_checked_with_the_reason() {
        for (bad, why) in [
            ("a", "must start"),
            ("/a//b", "empty segment"),
            ("/{}", "parameter names"),
            ("/{a-b}", "parameter names"),
            ("/{id}/{id}", "duplicate"),
            ("/x{id}", "whole segment"),
        ] {
            let err = parse_route_path(bad).unwrap_err();
            assert!(err.why.contains(why), "{bad}: {err}");
        }
    }
}
