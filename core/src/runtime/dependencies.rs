//! Dependencies between installed plugins: a plugin is enabled only when
//! the plugins it depends on are active at matching versions; a plugin that
//! active plugins depend on is disabled or uninstalled only with `cascade`,
//! which disables those dependents first (dependents before dependencies).

use std::sync::Arc;

use super::{OpsGuard, Runtime, RuntimeError};
use crate::registry::PluginEntry;

impl Runtime {
    /// Why `entry` cannot be enabled now, if a dependency is not active at
    /// a matching version.
    pub(super) fn unmet_dependency(&self, entry: &PluginEntry) -> Option<String> {
        entry.manifest().dependencies.iter().find_map(|dep| {
            let req = match dep.requirement() {
                Ok(r) => r,
                Err(e) => return Some(e.to_string()),
            };
            match self.plugin(&dep.slug) {
                Some(d) if d.is_live() => {
                    let ok = semver::Version::parse(d.version()).is_ok_and(|v| req.matches(&v));
                    (!ok).then(|| {
                        format!(
                            "{} needs {} {}, but {} is active",
                            entry.slug(),
                            dep.slug,
                            dep.version,
                            d.version()
                        )
                    })
                }
                _ => Some(format!(
                    "{} needs {} {}, which is not active",
                    entry.slug(),
                    dep.slug,
                    dep.version
                )),
            }
        })
    }

    /// The active plugins that depend on `slug`, directly or through
    /// others, ordered so each comes before what it depends on.
    pub fn active_dependents(&self, slug: &str) -> Vec<Arc<PluginEntry>> {
        let live: Vec<_> = self.entries().into_iter().filter(|e| e.is_live()).collect();
        let mut found: Vec<String> = Vec::new();
        let mut frontier = vec![slug.to_string()];
        while let Some(s) = frontier.pop() {
            for e in &live {
                let depends = e.manifest().dependencies.iter().any(|d| d.slug == s);
                if depends && e.slug() != slug && !found.iter().any(|f| f == e.slug()) {
                    found.push(e.slug().to_string());
                    frontier.push(e.slug().to_string());
                }
            }
        }
        let mut order = self.dependency_order(&found);
        order.reverse();
        order.iter().filter_map(|s| self.plugin(s)).collect()
    }

    /// `slugs` with dependencies first.
    pub(super) fn dependency_order(&self, slugs: &[String]) -> Vec<String> {
        dependency_order(slugs, |s| {
            self.plugin(s)
                .map(|e| {
                    e.manifest()
                        .dependencies
                        .iter()
                        .map(|d| d.slug.clone())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Refuses (without `cascade`) or disables (with it) the active plugins
    /// that depend on `slug`. The ops lock must be held.
    pub(super) async fn release_dependents(
        &self,
        ops: &OpsGuard<'_>,
        slug: &str,
        cascade: bool,
        actor: &str,
    ) -> Result<Vec<String>, RuntimeError> {
        let dependents = self.active_dependents(slug);
        if dependents.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<String> = dependents.iter().map(|e| e.slug().to_string()).collect();
        if !cascade {
            return Err(RuntimeError::HasDependents {
                slug: slug.to_string(),
                dependents: names,
            });
        }
        for name in &names {
            self.disable_locked(ops, name, actor).await?;
        }
        Ok(names)
    }
}

/// `slugs` ordered so every plugin comes after the plugins it depends on
/// (ties and plugins in a cycle by slug). `deps_of` gives a plugin's
/// dependencies' slugs.
///
/// ```
/// use plugboard_core::runtime::dependency_order;
/// let deps = |s: &str| if s == "a" { vec!["b".to_string()] } else { vec![] };
/// assert_eq!(dependency_order(&["a".into(), "b".into()], deps), ["b", "a"]);
/// ```
pub fn dependency_order(slugs: &[String], deps_of: impl Fn(&str) -> Vec<String>) -> Vec<String> {
    let mut sorted: Vec<String> = slugs.to_vec();
    sorted.sort();
    let mut out: Vec<String> = Vec::new();
    fn place(
        s: &str,
        all: &[String],
        deps_of: &dyn Fn(&str) -> Vec<String>,
        out: &mut Vec<String>,
        stack: &mut Vec<String>,
    ) {
        if out.iter().any(|o| o == s) || stack.iter().any(|o| o == s) {
            return;
        }
        stack.push(s.to_string());
        let mut deps = deps_of(s);
        deps.sort();
        for d in deps.iter().filter(|d| all.contains(d)) {
            place(d, all, deps_of, out, stack);
        }
        stack.pop();
        out.push(s.to_string());
    }
    for s in &sorted {
        place(s, &sorted, &deps_of, &mut out, &mut Vec::new());
    }
    out
}
