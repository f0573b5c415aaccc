//! Consent: what an admin accepts before a plugin is installed, and what an
//! update that asks for more must have approved.
//!
//! The words come from `plugboard-manifest` ([`asks`]). Three checks use
//! them:
//!
//! * **Before an install** (browser sessions must send `accept`): every
//!   plugin of the plan (dependencies included) must have each of its
//!   catalog entry's asks accepted ([`Accepted::missing`]).
//! * **After the download**, on the bundle's own manifest: a catalog can
//!   understate what a bundle asks for, so the staged manifest must ask for
//!   nothing beyond what was accepted ([`beyond`]). This is the check that
//!   counts; the catalog's list is the preview.
//! * **An update** whose catalog entry asks for more than the running
//!   version waits as `needs_approval` until an admin approves the
//!   difference (`super::updates`), and its bundle too is checked against
//!   what the running version had plus what was approved.

use std::collections::{BTreeMap, BTreeSet};

pub use plugboard_manifest::consent::{added, asks, Ask};
use serde::{Deserialize, Serialize};

use super::catalog::CatalogEntry;
use crate::manifest::Manifest;

/// What the admin accepted: per plugin slug, the ids of its asks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Accepted(pub BTreeMap<String, BTreeSet<String>>);

impl Accepted {
    /// The asks of `slug` not accepted.
    pub fn missing(&self, slug: &str, asked: &[Ask]) -> Vec<Ask> {
        let empty = BTreeSet::new();
        let given = self.0.get(slug).unwrap_or(&empty);
        asked
            .iter()
            .filter(|a| !given.contains(&a.id))
            .cloned()
            .collect()
    }

    /// The ids accepted for `slug`.
    pub fn of(&self, slug: &str) -> BTreeSet<String> {
        self.0.get(slug).cloned().unwrap_or_default()
    }
}

/// What a catalog entry says its plugin asks for.
pub fn of_entry(e: &CatalogEntry) -> Vec<Ask> {
    asks(e.slug.as_str(), &e.capabilities, &e.permissions)
}

/// What a manifest asks for.
pub fn of_manifest(m: &Manifest) -> Vec<Ask> {
    asks(m.slug.as_str(), &m.capabilities, &m.permissions)
}

/// The asks of `asked` outside `allowed` (ids).
pub fn beyond(asked: &[Ask], allowed: &BTreeSet<String>) -> Vec<Ask> {
    asked
        .iter()
        .filter(|a| !allowed.contains(&a.id))
        .cloned()
        .collect()
}

/// The words of `asks`, joined for a message or an audit row.
pub fn words(asks: &[Ask]) -> String {
    asks.iter()
        .map(|a| a.words.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Plugins and the asks of theirs nobody accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The plugin.
    pub slug: String,
    /// What it asks for that was not accepted.
    pub asks: Vec<Ask>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_not_accepted_is_missing() {
        let asked = vec![
            Ask {
                id: "kv".into(),
                words: "kv".into(),
            },
            Ask {
                id: "network:x".into(),
                words: "net".into(),
            },
        ];
        let accepted: Accepted =
            serde_json::from_value(serde_json::json!({ "p": ["kv"] })).unwrap();
        let missing = accepted.missing("p", &asked);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].id, "network:x");
        assert_eq!(accepted.missing("other", &asked).len(), 2);
        assert!(beyond(&asked, &accepted.of("p"))
            .iter()
            .all(|a| a.id != "kv"));
    }
}
