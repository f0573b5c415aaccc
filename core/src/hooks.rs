//! Hook ordering: priority, then `before` / `after` constraints, then slug.
//!
//! The order is a topological sort of the constraint graph that always picks,
//! among the plugins whose constraints are satisfied, the one with the lowest
//! `(priority, slug)`. It is therefore deterministic, and explainable: each
//! position follows from the listed priorities and constraints. Constraints
//! naming a plugin that does not implement the hook are ignored; a cycle is an
//! error naming the plugins in it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use plugboard_plugin_api::HookSpec;
use serde::Serialize;

/// One plugin's declaration for one hook.
#[derive(Debug, Clone, Serialize)]
pub struct HookDecl {
    /// The plugin.
    pub slug: String,
    /// Its priority (lower runs first).
    pub priority: i32,
    /// Plugins it must run before.
    pub before: Vec<String>,
    /// Plugins it must run after.
    pub after: Vec<String>,
    /// For a filter: what its failure means (`reject` or `skip`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<&'static str>,
}

impl HookDecl {
    /// From a plugin's [`HookSpec`].
    pub fn from_spec(slug: &str, spec: &HookSpec) -> Self {
        Self {
            slug: slug.to_string(),
            priority: spec.priority_value(),
            before: spec.before_slugs().map(str::to_string).collect(),
            after: spec.after_slugs().map(str::to_string).collect(),
            on_failure: None,
        }
    }
}

/// The constraints cannot be satisfied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hook {hook}: before/after constraints form a cycle among {}", members.join(", "))]
pub struct HookCycle {
    /// The hook's name.
    pub hook: String,
    /// The plugins on the cycle (sorted).
    pub members: Vec<String>,
}

/// Orders the declarations of one hook; returns indices into `decls`.
pub fn resolve_order(hook: &str, decls: &[HookDecl]) -> Result<Vec<usize>, HookCycle> {
    let index: BTreeMap<&str, usize> = decls
        .iter()
        .enumerate()
        .map(|(i, d)| (d.slug.as_str(), i))
        .collect();
    let mut succ: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); decls.len()];
    for (i, d) in decls.iter().enumerate() {
        for b in &d.before {
            if let Some(&j) = index.get(b.as_str()) {
                succ[i].insert(j);
            }
        }
        for a in &d.after {
            if let Some(&j) = index.get(a.as_str()) {
                succ[j].insert(i);
            }
        }
    }
    let mut indeg = vec![0usize; decls.len()];
    for s in &succ {
        for &j in s {
            indeg[j] += 1;
        }
    }
    let key = |i: usize| Reverse((decls[i].priority, decls[i].slug.clone(), i));
    let mut ready: BinaryHeap<_> = (0..decls.len())
        .filter(|&i| indeg[i] == 0)
        .map(key)
        .collect();
    let mut order = Vec::with_capacity(decls.len());
    while let Some(Reverse((_, _, i))) = ready.pop() {
        order.push(i);
        for &j in &succ[i] {
            indeg[j] -= 1;
            if indeg[j] == 0 {
                ready.push(key(j));
            }
        }
    }
    if order.len() == decls.len() {
        Ok(order)
    } else {
        let mut members: Vec<String> = (0..decls.len())
            .filter(|&i| indeg[i] > 0)
            .map(|i| decls[i].slug.clone())
            .collect();
        members.sort();
        Err(HookCycle {
            hook: hook.to_string(),
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(slug: &str, priority: i32, before: &[&str], after: &[&str]) -> HookDecl {
        HookDecl {
            slug: slug.into(),
            priority,
            before: before.iter().map(|s| s.to_string()).collect(),
            after: after.iter().map(|s| s.to_string()).collect(),
            on_failure: None,
        }
    }

    fn names(decls: &[HookDecl]) -> Vec<&str> {
        resolve_order("h", decls)
            .unwrap()
            .into_iter()
            .map(|i| decls[i].slug.as_str())
            .collect()
    }

    #[test]
    fn priority_then_slug_without_constraints() {
        let d = [
            decl("b", 0, &[], &[]),
            decl("a", 0, &[], &[]),
            decl("c", -5, &[], &[]),
        ];
        assert_eq!(names(&d), ["c", "a", "b"]);
    }

    #[test]
    fn constraints_override_priority() {
        // "z" has the worst priority but must run before "a".
        let d = [
            decl("a", 0, &[], &[]),
            decl("z", 10, &["a"], &[]),
            decl("m", 5, &[], &["a"]),
        ];
        assert_eq!(names(&d), ["z", "a", "m"]);
    }

    #[test]
    fn constraints_on_absent_plugins_are_ignored() {
        let d = [decl("a", 0, &["ghost"], &["phantom"])];
        assert_eq!(names(&d), ["a"]);
    }

    #[test]
    fn a_cycle_names_its_members() {
        let d = [
            decl("a", 0, &["b"], &[]),
            decl("b", 0, &["c"], &[]),
            decl("c", 0, &["a"], &[]),
            decl("free", 0, &[], &[]),
        ];
        let err = resolve_order("user.created", &d).unwrap_err();
        assert_eq!(err.members, ["a", "b", "c"]);
        assert!(err.to_string().contains("cycle among a, b, c"));
    }
}
