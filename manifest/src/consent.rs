//! What a plugin asks for, in plain words: the list an admin accepts before
//! installing it, and the difference an update must have approved.
//!
//! Each [`Ask`] has a stable `id` (what an install request's `accept`
//! names, what an update's difference is computed on) and `words` for the
//! admin. The ids are `kv`, `sql`, `routes`, `cron`, `ui`, `files`,
//! `emit:{pattern}`, `subscribe:{pattern}`, `cluster:{pattern}`,
//! `network:{host}` and `permission:{name}`.
//!
//! ```
//! use plugboard_manifest::{capabilities::Capabilities, consent::asks};
//!
//! let caps: Capabilities = serde_json::from_value(serde_json::json!({
//!     "kv": true, "network": ["api.example.com"],
//!     "events": { "subscribe": ["user.*"] }
//! })).unwrap();
//! let asks = asks("weather", &caps, &[]);
//! let ids: Vec<&str> = asks.iter().map(|a| a.id.as_str()).collect();
//! assert_eq!(ids, ["kv", "subscribe:user.*", "network:api.example.com"]);
//! assert_eq!(asks[2].words, "Connect to api.example.com");
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{access::PermissionDecl, capabilities::Capabilities};

/// One thing a plugin asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ask {
    /// Stable identifier (see the module docs).
    pub id: String,
    /// The same, in words for an admin.
    pub words: String,
}

impl Ask {
    fn new(id: impl Into<String>, words: impl Into<String>) -> Ask {
        Ask {
            id: id.into(),
            words: words.into(),
        }
    }
}

/// Everything plugin `slug` asks for with `caps` and `permissions`, in a
/// fixed order (storage first, the network last).
pub fn asks(slug: &str, caps: &Capabilities, permissions: &[PermissionDecl]) -> Vec<Ask> {
    let mut out = Vec::new();
    let flags = [
        (caps.kv, "kv", "Keep its own key-value data".to_string()),
        (
            caps.sql,
            "sql",
            "Create and change its own database tables".to_string(),
        ),
        (caps.files, "files", "Store its own files".to_string()),
        (
            caps.routes,
            "routes",
            format!("Answer web requests under /api/plugins/{slug}/"),
        ),
        (
            caps.cron,
            "cron",
            "Run scheduled jobs in the background".to_string(),
        ),
        (
            caps.ui,
            "ui",
            "Add pages, widgets and menu items to the admin and the dashboard (its code runs in the admin's browser, with the admin's rights)".to_string(),
        ),
    ];
    for (on, id, words) in flags {
        if on {
            out.push(Ask::new(id, words));
        }
    }
    for p in &caps.events.emit {
        out.push(Ask::new(
            format!("emit:{p}"),
            format!("Send events {}", events(p)),
        ));
    }
    for p in &caps.events.cluster {
        out.push(Ask::new(
            format!("cluster:{p}"),
            format!("Send events {} to every replica", events(p)),
        ));
    }
    for p in &caps.events.subscribe {
        out.push(Ask::new(
            format!("subscribe:{p}"),
            format!("Receive {}", received(p)),
        ));
    }
    for host in &caps.network {
        let words = match host.as_str() {
            "*" => "Connect to any address on the network or the internet".to_string(),
            h if h.starts_with("*.") => format!("Connect to any host under {}", &h[2..]),
            h => format!("Connect to {h}"),
        };
        out.push(Ask::new(format!("network:{host}"), words));
    }
    for p in permissions {
        let what = if p.description.is_empty() {
            String::new()
        } else {
            format!(" ({})", p.description)
        };
        out.push(Ask::new(
            format!("permission:{}", p.name),
            format!(
                "Define the permission “{}”{what}, which admins grant to roles",
                p.name
            ),
        ));
    }
    out
}

fn events(pattern: &str) -> String {
    match pattern.strip_suffix(".*") {
        Some(prefix) => format!("named {prefix}.…"),
        None if pattern == "*" => "of any name".to_string(),
        None => format!("named {pattern}"),
    }
}

fn received(pattern: &str) -> String {
    match pattern {
        "*" => "every event on the bus, from every plugin and the host".to_string(),
        "user.*" => {
            "account events (created, changed, deleted, signed in) with the account's name and role"
                .to_string()
        }
        "plugin.*" => "every plugin's events".to_string(),
        "system.*" => "the host's start and stop events".to_string(),
        p => format!("events {}", events(p)),
    }
}

/// The asks in `new` that `old` did not have (by id), in `new`'s order.
pub fn added(old: &[Ask], new: &[Ask]) -> Vec<Ask> {
    let had: BTreeSet<&str> = old.iter().map(|a| a.id.as_str()).collect();
    new.iter()
        .filter(|a| !had.contains(a.id.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(v: serde_json::Value) -> Capabilities {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_capability_is_named_in_words() {
        let c = caps(serde_json::json!({
            "kv": true, "sql": true, "routes": true, "cron": true, "ui": true, "files": true,
            "events": { "emit": ["plugin.gb.*"], "subscribe": ["*"], "cluster": ["plugin.gb.*"] },
            "network": ["*", "*.example.org", "api.example.com"]
        }));
        let perms = [PermissionDecl {
            name: "moderate".into(),
            description: "Delete entries".into(),
        }];
        let asks = asks("gb", &c, &perms);
        let ids: Vec<&str> = asks.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "kv",
                "sql",
                "files",
                "routes",
                "cron",
                "ui",
                "emit:plugin.gb.*",
                "cluster:plugin.gb.*",
                "subscribe:*",
                "network:*",
                "network:*.example.org",
                "network:api.example.com",
                "permission:moderate"
            ]
        );
        let words: Vec<&str> = asks.iter().map(|a| a.words.as_str()).collect();
        assert!(words.contains(&"Answer web requests under /api/plugins/gb/"));
        assert!(words.contains(&"Send events named plugin.gb.…"));
        assert!(words.contains(&"Receive every event on the bus, from every plugin and the host"));
        assert!(words.contains(&"Connect to any host under example.org"));
        assert!(words.contains(
            &"Define the permission “moderate” (Delete entries), which admins grant to roles"
        ));
        // No ask is left as a raw key.
        assert!(asks.iter().all(|a| a.words != a.id));
    }

    #[test]
    fn the_difference_is_what_the_new_version_adds() {
        let old = asks(
            "n",
            &caps(serde_json::json!({"kv": true, "sql": true})),
            &[],
        );
        let new = asks(
            "n",
            &caps(serde_json::json!({"kv": true, "files": true, "network": ["x.example"]})),
            &[],
        );
        let ids: Vec<String> = added(&old, &new).into_iter().map(|a| a.id).collect();
        assert_eq!(ids, ["files", "network:x.example"]);
        assert!(added(&new, &new).is_empty());
    }
}
