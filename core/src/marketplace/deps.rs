//! Dependency resolution: which catalog entries to install, in which order,
//! for one plugin; and the order plugins come up and go down in.
//!
//! A dependency is satisfied by an installed plugin at a matching version,
//! else by the newest catalog entry for this platform that matches. An
//! installed plugin at a version that does not match, or two requirements
//! on one plugin that the chosen version does not both meet, is a conflict;
//! a plugin that needs itself through others is a cycle. Both are refused
//! before anything is downloaded.

use std::collections::HashMap;

use super::catalog::{current_platform, CatalogEntry};
use crate::manifest::Dependency;

/// Why a plugin's dependencies cannot be satisfied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// A requirement is not valid semver.
    #[error("{0}")]
    BadRequirement(String),
    /// Neither installed nor offered by a catalog at a matching version.
    #[error(
        "{needed_by} needs {slug} {version}, which is not installed and no catalog source offers"
    )]
    Missing {
        /// The plugin that needs it.
        needed_by: String,
        /// The missing plugin.
        slug: String,
        /// The requirement.
        version: String,
    },
    /// Two requirements that one version cannot meet.
    #[error("conflict: {needed_by} needs {slug} {version}, but {slug} {chosen} is {why}")]
    Conflict {
        /// The plugin that needs it.
        needed_by: String,
        /// The plugin required.
        slug: String,
        /// The requirement.
        version: String,
        /// The version installed or already chosen.
        chosen: String,
        /// `installed` or `required by …`.
        why: String,
    },
    /// The plugins need each other.
    #[error("dependency cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
}

struct Planner<'a> {
    available: &'a [CatalogEntry],
    installed: &'a HashMap<String, semver::Version>,
    chosen: Vec<(CatalogEntry, String)>,
    stack: Vec<String>,
}

impl Planner<'_> {
    fn visit(&mut self, entry: &CatalogEntry) -> Result<(), DependencyError> {
        self.stack.push(entry.slug.to_string());
        for dep in &entry.dependencies {
            self.require(&entry.slug, dep)?;
        }
        self.stack.pop();
        Ok(())
    }

    fn require(&mut self, needed_by: &str, dep: &Dependency) -> Result<(), DependencyError> {
        let req = dep
            .requirement()
            .map_err(|e| DependencyError::BadRequirement(e.to_string()))?;
        if let Some(i) = self.stack.iter().position(|s| *s == dep.slug) {
            let mut cycle = self.stack[i..].to_vec();
            cycle.push(dep.slug.clone());
            return Err(DependencyError::Cycle(cycle));
        }
        let conflict = |chosen: &str, why: String| DependencyError::Conflict {
            needed_by: needed_by.to_string(),
            slug: dep.slug.clone(),
            version: dep.version.clone(),
            chosen: chosen.to_string(),
            why,
        };
        if let Some(have) = self.installed.get(&dep.slug) {
            return if req.matches(have) {
                Ok(())
            } else {
                Err(conflict(&have.to_string(), "installed".into()))
            };
        }
        if let Some((e, by)) = self.chosen.iter().find(|(e, _)| e.slug == dep.slug) {
            let ok = semver::Version::parse(&e.version).is_ok_and(|v| req.matches(&v));
            return if ok {
                Ok(())
            } else {
                Err(conflict(&e.version, format!("required by {by}")))
            };
        }
        let platform = current_platform();
        let best = self
            .available
            .iter()
            .filter(|e| e.slug == dep.slug && e.platform == platform)
            .filter_map(|e| Some((semver::Version::parse(&e.version).ok()?, e)))
            .filter(|(v, _)| req.matches(v))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, e)| e.clone())
            .ok_or_else(|| DependencyError::Missing {
                needed_by: needed_by.to_string(),
                slug: dep.slug.clone(),
                version: dep.version.clone(),
            })?;
        self.visit(&best)?;
        self.chosen.push((best, needed_by.to_string()));
        Ok(())
    }
}

/// The entries to install before `root`, dependencies first (`root` is not
/// included). `available` is every catalog entry; `installed` the plugins
/// present with their versions.
///
/// ```
/// use std::collections::HashMap;
/// use plugboard_core::marketplace::{catalog::CatalogEntry, deps::plan};
/// let entry = |slug: &str, deps: &[(&str, &str)]| CatalogEntry {
///     dependencies: deps.iter().map(|(s, v)| plugboard_core::manifest::Dependency {
///         slug: s.to_string(), version: v.to_string() }).collect(),
///     ..CatalogEntry::new(slug.parse().unwrap(), "1.0.0")
/// };
/// let (a, b, c) = (entry("a", &[("b", "^1")]), entry("b", &[("c", "^1")]), entry("c", &[]));
/// let order = plan(&a, &[b.clone(), c.clone()], &HashMap::new()).unwrap();
/// assert_eq!(order.iter().map(|e| e.slug.as_str()).collect::<Vec<_>>(), ["c", "b"]);
/// ```
pub fn plan(
    root: &CatalogEntry,
    available: &[CatalogEntry],
    installed: &HashMap<String, semver::Version>,
) -> Result<Vec<CatalogEntry>, DependencyError> {
    let mut planner = Planner {
        available,
        installed,
        chosen: Vec::new(),
        stack: Vec::new(),
    };
    planner.visit(root)?;
    Ok(planner.chosen.into_iter().map(|(e, _)| e).collect())
}

pub use crate::runtime::dependency_order;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(slug: &str, version: &str, deps: &[(&str, &str)]) -> CatalogEntry {
        CatalogEntry {
            dependencies: deps
                .iter()
                .map(|(s, v)| Dependency {
                    slug: s.to_string(),
                    version: v.to_string(),
                })
                .collect(),
            ..CatalogEntry::new(slug.parse().unwrap(), version)
        }
    }

    #[test]
    fn the_newest_matching_version_is_chosen_and_installed_ones_are_reused() {
        let root = entry("app", "1.0.0", &[("lib", "^1"), ("base", ">=2")]);
        let avail = [
            entry("lib", "1.0.0", &[]),
            entry("lib", "1.4.0", &[("base", "^2")]),
            entry("lib", "2.0.0", &[]),
            entry("base", "2.1.0", &[]),
        ];
        let installed = HashMap::from([("base".to_string(), semver::Version::new(2, 0, 5))]);
        let order = plan(&root, &avail, &installed).unwrap();
        assert_eq!(
            order
                .iter()
                .map(|e| (e.slug.as_str(), e.version.as_str()))
                .collect::<Vec<_>>(),
            [("lib", "1.4.0")]
        );
    }

    #[test]
    fn cycles_conflicts_and_missing_plugins_are_refused() {
        let a = entry("a", "1.0.0", &[("b", "^1")]);
        let b = entry("b", "1.0.0", &[("a", "^1")]);
        assert_eq!(
            plan(&a, &[b], &HashMap::new()).unwrap_err(),
            DependencyError::Cycle(vec!["a".into(), "b".into(), "a".into()])
        );
        let installed = HashMap::from([("b".to_string(), semver::Version::new(2, 0, 0))]);
        let err = plan(&a, &[], &installed).unwrap_err();
        assert!(
            err.to_string()
                .contains("a needs b ^1, but b 2.0.0 is installed"),
            "{err}"
        );
        let root = entry("app", "1.0.0", &[("x", "^1"), ("y", "^1")]);
        let avail = [
            entry("x", "1.0.0", &[("z", "^1")]),
            entry("y", "1.0.0", &[("z", "^2")]),
            entry("z", "1.0.0", &[]),
            entry("z", "2.0.0", &[]),
        ];
        let err = plan(&root, &avail, &HashMap::new()).unwrap_err();
        assert!(matches!(err, DependencyError::Conflict { .. }), "{err}");
        assert!(err.to_string().contains("required by x"), "{err}");
        let err = plan(
            &entry("app", "1.0.0", &[("nowhere", "^1")]),
            &[],
            &HashMap::new(),
        )
        .unwrap_err();
        assert!(matches!(err, DependencyError::Missing { .. }), "{err}");
    }

    #[test]
    fn start_order_puts_dependencies_first() {
        let deps = |s: &str| match s {
            "a" => vec!["c".to_string()],
            "c" => vec!["b".to_string()],
            _ => vec![],
        };
        let order = dependency_order(&["a".into(), "b".into(), "c".into(), "d".into()], deps);
        assert_eq!(order, ["b", "c", "a", "d"]);
    }
}
