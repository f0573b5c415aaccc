//! What the admin's catalog view answers: the matching entries of every
//! source, each with what this installation has of it, and the search that
//! picks them.
//!
//! A [`Browse`] holds the sources (whose parsed catalogs are shared, never
//! copied) and one small [`Hit`] per match; it serializes straight to the
//! answer's JSON (`{"entries": [...], "sources": [...]}`) without building a
//! copy of the catalog or a JSON tree first.

use serde::{ser::SerializeMap, Serialize, Serializer};

use super::{catalog::CatalogEntry, sources::Source};

/// One catalog entry with what this installation has of it.
#[derive(Debug, Clone, Serialize)]
pub struct Listing<'a> {
    /// The entry.
    #[serde(flatten)]
    pub entry: &'a CatalogEntry,
    /// The source it comes from.
    pub source_id: i64,
    /// The installed version, if any.
    pub installed_version: Option<&'a str>,
    /// The installed plugin's state, if any.
    pub state: Option<&'a str>,
    /// Whether this entry is the pending update of the installed plugin
    /// (a newer version, or the same version with another digest).
    pub update_available: bool,
}

/// A match: where the entry is, and what is installed of it.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// Index into the sources.
    pub(crate) source: usize,
    /// Index into that source's entries.
    pub(crate) entry: usize,
    pub(crate) installed_version: Option<String>,
    pub(crate) state: Option<&'static str>,
    pub(crate) update_available: bool,
}

/// The answer of a browse or search.
#[derive(Debug, Clone)]
pub struct Browse {
    sources: Vec<Source>,
    hits: Vec<Hit>,
}

impl Browse {
    pub(crate) fn new(sources: Vec<Source>, hits: Vec<Hit>) -> Self {
        Self { sources, hits }
    }

    /// The sources, as synced for this answer.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// How many entries matched.
    pub fn len(&self) -> usize {
        self.hits.len()
    }

    /// Whether nothing matched.
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    /// The matching entries, in source order.
    pub fn listings(&self) -> impl Iterator<Item = Listing<'_>> {
        self.hits.iter().map(|h| {
            let source = &self.sources[h.source];
            Listing {
                entry: &source.entries()[h.entry],
                source_id: source.id,
                installed_version: h.installed_version.as_deref(),
                state: h.state,
                update_available: h.update_available,
            }
        })
    }
}

impl Serialize for Browse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Entries<'a>(&'a Browse);
        impl Serialize for Entries<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.listings())
            }
        }
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("entries", &Entries(self))?;
        map.serialize_entry("sources", &self.sources)?;
        map.end()
    }
}

/// Search and filters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Text in slug, name, description or tags (case-insensitive).
    pub q: Option<String>,
    /// Exact category.
    pub category: Option<String>,
    /// Exact tag.
    pub tag: Option<String>,
}

impl Query {
    /// Whether `e` matches; `q` is the search text already lower-cased.
    pub(crate) fn matches(&self, q: Option<&str>, e: &CatalogEntry) -> bool {
        let text_ok = q.is_none_or(|q| {
            [e.slug.as_str(), &e.name, &e.description]
                .iter()
                .any(|f| contains_lowercase(f, q))
                || e.tags.iter().any(|t| contains_lowercase(t, q))
        });
        text_ok
            && self.category.as_deref().is_none_or(|c| e.category == c)
            && self
                .tag
                .as_deref()
                .is_none_or(|t| e.tags.iter().any(|x| x == t))
    }
}

/// Whether `text`, lower-cased, contains `needle` (lower-case): without
/// allocating for ASCII text, the common case.
fn contains_lowercase(text: &str, needle: &str) -> bool {
    if text.is_ascii() && needle.is_ascii() {
        let (t, n) = (text.as_bytes(), needle.as_bytes());
        n.is_empty()
            || t.windows(n.len())
                .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
    } else {
        text.to_lowercase().contains(needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_is_case_insensitive_with_or_without_ascii() {
        for (text, needle, found) in [
            ("Guestbook", "guest", true),
            ("GUESTBOOK", "book", true),
            ("Guestbook", "", true),
            ("Gästebuch", "gäste", true),
            ("Guestbook", "notes", false),
            ("ab", "abc", false),
        ] {
            assert_eq!(contains_lowercase(text, needle), found, "{text} {needle}");
        }
    }
}
