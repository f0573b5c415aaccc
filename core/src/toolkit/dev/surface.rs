//! What a plugin shows the host, as lines a person compares: capabilities,
//! routes with their access, hooks, jobs, subscriptions and UI
//! contributions; and the difference between two builds.
//!
//! ```
//! use plugboard_core::toolkit::dev::surface::Surface;
//! let old = Surface { lines: vec!["route GET /notes (public)".into(), "job prune @hourly".into()] };
//! let new = Surface { lines: vec!["route GET /notes (public)".into(), "job prune every 10m".into()] };
//! assert_eq!(old.diff(&new), ["- job prune @hourly", "+ job prune every 10m"]);
//! ```

use std::collections::BTreeSet;

use crate::{inspect::DeclaredByCode, manifest::Manifest};

/// A plugin's surface: one line per thing, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Surface {
    /// `capability kv`, `route POST /notes (user)`, `hook user.created`,
    /// `job prune @hourly`, `subscription user.*`, `ui widget latest`, …
    pub lines: Vec<String>,
}

impl Surface {
    /// The surface of a manifest and what its library's code declares.
    pub fn of(manifest: &Manifest, declared: &DeclaredByCode) -> Surface {
        let mut lines = BTreeSet::new();
        if let Ok(caps) = serde_json::to_value(&manifest.capabilities) {
            flatten("capability", &caps, &mut lines);
        }
        for (method, path) in &declared.route_list {
            let access = manifest
                .routes
                .iter()
                .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == *path)
                .map_or_else(|| "user".to_string(), |r| r.access.to_string());
            lines.insert(format!("route {method} {path} ({access})"));
        }
        for hook in &declared.hooks {
            lines.insert(format!("hook {hook}"));
        }
        for (name, schedule) in &declared.job_list {
            lines.insert(format!("job {name} {schedule}"));
        }
        for pattern in &declared.subscriptions {
            lines.insert(format!("subscription {pattern}"));
        }
        if declared.migrations > 0 {
            lines.insert(format!("migrations {}", declared.migrations));
        }
        let ui = &manifest.ui;
        let named = [
            (
                "widget",
                ui.widgets.iter().map(|w| &w.name).collect::<Vec<_>>(),
            ),
            (
                "admin widget",
                ui.admin_widgets.iter().map(|w| &w.name).collect(),
            ),
            ("page", ui.pages.iter().map(|p| &p.name).collect()),
            (
                "admin page",
                ui.admin_pages.iter().map(|p| &p.name).collect(),
            ),
            ("menu item", ui.menu_items.iter().map(|m| &m.name).collect()),
        ];
        for (kind, names) in named {
            for name in names {
                lines.insert(format!("ui {kind} {name}"));
            }
        }
        for p in &manifest.permissions {
            lines.insert(format!("permission {}", p.name));
        }
        Surface {
            lines: lines.into_iter().collect(),
        }
    }

    /// What changed from `self` to `new`: `- line` removed, `+ line` added.
    pub fn diff(&self, new: &Surface) -> Vec<String> {
        let old: BTreeSet<&String> = self.lines.iter().collect();
        let now: BTreeSet<&String> = new.lines.iter().collect();
        let removed = old.difference(&now).map(|l| format!("- {l}"));
        let added = now.difference(&old).map(|l| format!("+ {l}"));
        removed.chain(added).collect()
    }
}

/// `capability kv`, `capability events.emit plugin.x.*`, … from the
/// capabilities as JSON (false, empty and bookkeeping fields left out).
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
    use serde_json::Value;
    match value {
        Value::Bool(true) => {
            out.insert(prefix.to_string());
        }
        Value::String(s) => {
            out.insert(format!("{prefix} {s}"));
        }
        Value::Number(n) => {
            out.insert(format!("{prefix} {n}"));
        }
        Value::Array(items) => {
            for item in items {
                flatten(prefix, item, out);
            }
        }
        Value::Object(fields) => {
            for (k, v) in fields {
                if k == "inferred" {
                    continue;
                }
                let sep = if prefix == "capability" { " " } else { "." };
                flatten(&format!("{prefix}{sep}{k}"), v, out);
            }
        }
        Value::Bool(false) | Value::Null => {}
    }
}
