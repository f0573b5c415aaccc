//! The plugin route table: patterns per plugin, matched below
//! `/api/plugins/{slug}`. Routes are added when a plugin is enabled and
//! removed when it is disabled, without a restart.

use dashmap::DashMap;

use plugboard_manifest::access::Access;
// Parsed by the same rules a manifest's `routes` are checked with.
use plugboard_manifest::access::RouteSegment as Segment;
use plugboard_plugin_api::{abi::RouteSpec, Method, RouteDoc};
use serde::Serialize;
use std::sync::Arc;

use crate::exec::CallPoint;

/// A route pattern: literal segments and `{name}` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    segments: Vec<Segment>,
}

/// Why a route was refused at registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The method is not one plugins may use.
    #[error("route {path:?}: unsupported method {method:?}")]
    Method {
        /// The method given.
        method: String,
        /// The path.
        path: String,
    },
    /// The pattern is malformed.
    #[error("route pattern {0:?} is invalid: {1}")]
    Pattern(String, String),
    /// Two routes of the plugin would match the same requests.
    #[error("route {method} {path:?} conflicts with {method} {other:?}")]
    Conflict {
        /// The method.
        method: &'static str,
        /// The new route.
        path: String,
        /// The route already there.
        other: String,
    },
}

impl Pattern {
    /// Parses a pattern such as `/entries/{id}`.
    ///
    /// ```
    /// use plugboard_core::routes::Pattern;
    /// let p = Pattern::parse("/entries/{id}").unwrap();
    /// assert_eq!(p.matches("/entries/7"), Some(vec![("id".to_string(), "7".to_string())]));
    /// assert_eq!(p.matches("/entries"), None);
    /// assert!(Pattern::parse("entries").is_err());
    /// ```
    pub fn parse(source: &str) -> Result<Pattern, RouteError> {
        let segments = plugboard_manifest::access::parse_route_path(source)
            .map_err(|e| RouteError::Pattern(e.pattern, e.why.to_string()))?;
        Ok(Pattern {
            source: source.to_string(),
            segments,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The captured parameters if `path` matches.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let rest = path.strip_prefix('/')?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let parts: Vec<&str> = if rest.is_empty() {
            vec![]
        } else {
            rest.split('/').collect()
        };
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (seg, part) in self.segments.iter().zip(parts) {
            match seg {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => params.push((name.clone(), part.to_string())),
            }
        }
        Some(params)
    }

    /// Whether some path matches both patterns (same shape, literals agree).
    fn overlaps(&self, other: &Pattern) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|(a, b)| match (a, b) {
                    (Segment::Literal(x), Segment::Literal(y)) => x == y,
                    _ => true,
                })
    }

    /// Literal segments beat parameters when both match.
    fn specificity(&self) -> Vec<bool> {
        self.segments
            .iter()
            .map(|s| matches!(s, Segment::Literal(_)))
            .collect()
    }
}

/// One registered route.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    /// The method.
    pub method: Method,
    /// The pattern.
    pub pattern: Pattern,
    /// The index the plugin gave it.
    pub index: u32,
    /// Who may call it (from the manifest; `user` unless listed).
    pub access: Access,
    /// Its own deadline from the manifest, in milliseconds.
    pub deadline_ms: Option<u64>,
    /// Its entry point (deadline and metrics), once the plugin's routes are
    /// prepared.
    pub point: Option<Arc<CallPoint>>,
    /// What the plugin documents about it (since plugin-api 1.7).
    pub doc: Option<Arc<RouteDoc>>,
}

/// A route as the admin API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RouteInfo {
    /// The method.
    pub method: &'static str,
    /// The full path pattern.
    pub path: String,
    /// Who may call it: `public`, `user`, `admin` or `permission:{name}`.
    pub access: String,
    /// Its one-line summary, when the plugin documents it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A live route with everything the API description needs.
#[derive(Debug, Clone)]
pub struct DocumentedRoute {
    /// The method.
    pub method: Method,
    /// The pattern below the plugin's prefix (`/entries/{id}`).
    pub pattern: String,
    /// Who may call it.
    pub access: Access,
    /// What the plugin documents about it.
    pub doc: Option<Arc<RouteDoc>>,
}

/// Compiles a plugin's declared routes, refusing bad and conflicting ones.
/// Exact duplicates conflict; `/a/{x}` and `/a/b` do not (the literal wins).
pub fn compile(specs: &[RouteSpec]) -> Result<Vec<RouteEntry>, RouteError> {
    let mut out: Vec<RouteEntry> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let method = Method::parse(spec.method.as_str()).ok_or_else(|| RouteError::Method {
            method: spec.method.to_string(),
            path: spec.path.to_string(),
        })?;
        let pattern = Pattern::parse(spec.path.as_str())?;
        if let Some(other) = out.iter().find(|r| {
            r.method == method
                && r.pattern.overlaps(&pattern)
                && r.pattern.specificity() == pattern.specificity()
        }) {
            return Err(RouteError::Conflict {
                method: method.as_str(),
                path: pattern.as_str().to_string(),
                other: other.pattern.as_str().to_string(),
            });
        }
        out.push(RouteEntry {
            method,
            pattern,
            index: i as u32,
            access: Access::User,
            deadline_ms: None,
            point: None,
            doc: None,
        });
    }
    // Most specific first, so `/entries/latest` wins over `/entries/{id}`.
    out.sort_by_key(|r| std::cmp::Reverse(r.pattern.specificity()));
    Ok(out)
}

/// The live routes of every enabled plugin, each set published with the
/// target that serves it (the runtime uses the plugin generation), so a
/// lookup and the code it reaches always come from one publication: an
/// update swaps both at once.
pub struct RouteTable<T = ()> {
    by_plugin: DashMap<String, Arc<(Vec<RouteEntry>, T)>>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        Self {
            by_plugin: DashMap::new(),
        }
    }
}

/// The result of looking a request up.
pub enum Lookup<T = ()> {
    /// The plugin has no live routes (unknown or disabled).
    NoPlugin,
    /// The plugin is live but no route matches.
    NoRoute,
    /// The path matches, but not with this method.
    MethodNotAllowed,
    /// A route matched.
    Found {
        /// The plugin's route index.
        index: u32,
        /// Captured parameters.
        params: Vec<(String, String)>,
        /// Who may call the route.
        access: Access,
        /// Its entry point.
        point: Option<Arc<CallPoint>>,
        /// What the routes were published with.
        target: T,
    },
}

impl<T: Clone> RouteTable<T> {
    /// Makes `routes` live for `slug`, served by `target`, replacing any
    /// previous set in one step.
    pub fn publish(&self, slug: &str, routes: Vec<RouteEntry>, target: T) {
        self.by_plugin
            .insert(slug.to_string(), Arc::new((routes, target)));
    }
    /// Removes every route of `slug`.
    pub fn withdraw(&self, slug: &str) {
        self.by_plugin.remove(slug);
    }
    /// The live routes of `slug`, for display.
    pub fn list(&self, slug: &str) -> Vec<RouteInfo> {
        self.by_plugin
            .get(slug)
            .map(|r| {
                r.0.iter()
                    .map(|e| RouteInfo {
                        method: e.method.as_str(),
                        path: format!("/api/plugins/{slug}{}", e.pattern.as_str()),
                        access: e.access.to_string(),
                        summary: e.doc.as_ref().and_then(|d| d.summary.clone()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Every plugin with live routes, sorted by slug, with its routes in
    /// their declared order (for the API description).
    pub fn documented(&self) -> Vec<(String, Vec<DocumentedRoute>)> {
        let mut out: Vec<(String, Vec<DocumentedRoute>)> = self
            .by_plugin
            .iter()
            .map(|r| {
                let mut routes: Vec<&RouteEntry> = r.value().0.iter().collect();
                routes.sort_by_key(|e| e.index);
                let routes = routes
                    .into_iter()
                    .map(|e| DocumentedRoute {
                        method: e.method,
                        pattern: e.pattern.as_str().to_string(),
                        access: e.access.clone(),
                        doc: e.doc.clone(),
                    })
                    .collect();
                (r.key().clone(), routes)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
    /// Finds the route for a request to `slug`.
    pub fn lookup(&self, slug: &str, method: &str, path: &str) -> Lookup<T> {
        let Some(published) = self.by_plugin.get(slug).map(|r| Arc::clone(&r)) else {
            return Lookup::NoPlugin;
        };
        let mut path_matched = false;
        for r in published.0.iter() {
            if let Some(params) = r.pattern.matches(path) {
                if r.method.as_str() == method {
                    return Lookup::Found {
                        index: r.index,
                        params,
                        access: r.access.clone(),
                        point: r.point.clone(),
                        target: published.1.clone(),
                    };
                }
                path_matched = true;
            }
        }
        if path_matched {
            Lookup::MethodNotAllowed
        } else {
            Lookup::NoRoute
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(m: &str, p: &str) -> RouteSpec {
        RouteSpec {
            method: m.into(),
            path: p.into(),
        }
    }

    #[test]
    fn literal_routes_win_over_parameters() {
        let t = RouteTable::default();
        t.publish(
            "g",
            compile(&[spec("GET", "/entries/{id}"), spec("GET", "/entries/latest")]).unwrap(),
            (),
        );
        match t.lookup("g", "GET", "/entries/latest") {
            Lookup::Found { index, params, .. } => assert_eq!((index, params.len()), (1, 0)),
            _ => panic!("no match"),
        }
        match t.lookup("g", "GET", "/entries/9") {
            Lookup::Found { index, params, .. } => {
                assert_eq!(index, 0);
                assert_eq!(params, vec![("id".to_string(), "9".to_string())]);
            }
            _ => panic!("no match"),
        }
        assert!(matches!(
            t.lookup("g", "DELETE", "/entries/9"),
            Lookup::MethodNotAllowed
        ));
        assert!(matches!(t.lookup("g", "GET", "/nothing"), Lookup::NoRoute));
        assert!(matches!(
            t.lookup("x", "GET", "/entries/9"),
            Lookup::NoPlugin
        ));
    }

    #[test]
    fn duplicates_and_bad_patterns_are_refused() {
        let err = compile(&[spec("GET", "/a/{x}"), spec("GET", "/a/{y}")]).unwrap_err();
        assert!(matches!(err, RouteError::Conflict { .. }), "{err}");
        assert!(compile(&[spec("GET", "/a/{x}"), spec("POST", "/a/{y}")]).is_ok());
        assert!(matches!(
            compile(&[spec("TRACE", "/a")]),
            Err(RouteError::Method { .. })
        ));
        assert!(matches!(
            compile(&[spec("GET", "/a/x{y}")]),
            Err(RouteError::Pattern(..))
        ));
        assert!(matches!(
            compile(&[spec("GET", "/a//b")]),
            Err(RouteError::Pattern(..))
        ));
    }
}
