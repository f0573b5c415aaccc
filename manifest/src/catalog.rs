//! The catalog: a JSON document listing installable plugin versions.
//!
//! ```json
//! { "entries": [ {
//!     "slug": "guestbook", "version": "0.1.0", "name": "Guestbook",
//!     "description": "…", "author": "Plugboard", "category": "community",
//!     "tags": ["example"], "icon_url": null,
//!     "download_url": "guestbook-0.1.0-linux-x86_64.tar.gz",
//!     "sha256": "<64 hex>", "signature": "<128 hex>", "key_id": "<16 hex>",
//!     "requires": { "host": ">=0.1.0", "plugin_api": "^1.0" },
//!     "platform": "linux-x86_64",
//!     "capabilities": { … }, "config_schema": null,
//!     "dependencies": [ { "slug": "activity", "version": ">=0.1" } ]
//! } ] }
//! ```
//!
//! `download_url` is absolute (`http(s)://…`, `file://…`) or relative to
//! the catalog's own location. These are the types; fetching, reading and
//! writing catalogs is the host's (`plugboard_core::marketplace`).

use serde::{Deserialize, Serialize};

use crate::{access::PermissionDecl, capabilities::Capabilities, library::Target, slug::Slug};

/// The catalog document.
#[derive(Debug, Clone, Default, PartialEq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Every plugin version offered.
    #[serde(default)]
    pub entries: Vec<CatalogEntry>,
}

/// One plugin version.
#[derive(Debug, Clone, PartialEq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// The plugin's slug: lower-case letters, digits and single `-`,
    /// starting with a letter, at most 40 (a catalog with an invalid slug
    /// is refused whole).
    pub slug: Slug,
    /// Its version (semver).
    pub version: String,
    /// Display name.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Who publishes it.
    #[serde(default)]
    pub author: String,
    /// A category for browsing.
    #[serde(default)]
    pub category: String,
    /// Free tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// An icon (square; PNG, JPEG, GIF or WebP): absolute, or relative to
    /// the catalog's location. The admin shows it through the host, which
    /// fetches it once and checks that it is an image.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Where the bundle is.
    pub download_url: String,
    /// The bundle's SHA-256 (hex).
    pub sha256: String,
    /// ed25519 signature of the SHA-256 (hex); absent when unsigned.
    #[serde(default)]
    pub signature: Option<String>,
    /// The publisher key that signed it.
    #[serde(default)]
    pub key_id: Option<String>,
    /// Version ranges it needs.
    #[serde(default)]
    pub requires: Requirements,
    /// `{os}-{arch}` the library is built for (e.g. `linux-x86_64`).
    pub platform: String,
    /// What its manifest declares.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Its configuration schema.
    #[serde(default)]
    pub config_schema: Option<serde_json::Value>,
    /// Plugins it needs.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// The permissions its manifest defines (shown before installing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<PermissionDecl>,
    /// Its readme, in Markdown (`catalog add` copies the bundle's
    /// `README.md`). Rendered as text: raw HTML is shown, never run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readme: Option<String>,
    /// Its changelog, in Markdown (`catalog add` copies the bundle's
    /// `CHANGELOG.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<String>,
    /// Pictures of it at work: PNG, JPEG, GIF or WebP, absolute or relative
    /// to the catalog's location (like `icon_url`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub screenshots: Vec<Screenshot>,
    /// Its web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Its licence (an SPDX expression such as `MIT OR Apache-2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// A picture of a plugin, with what it shows.
#[derive(Debug, Clone, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Screenshot {
    /// The image: absolute, or relative to the catalog's location.
    pub url: String,
    /// What it shows (the image's text alternative).
    #[serde(default)]
    pub caption: String,
}

impl CatalogEntry {
    /// A bare entry offering `slug` at `version` for this platform, every
    /// other field empty (tools and tests fill in the rest).
    pub fn new(slug: Slug, version: &str) -> CatalogEntry {
        CatalogEntry {
            name: slug.to_string(),
            slug,
            version: version.to_string(),
            description: String::new(),
            author: String::new(),
            category: String::new(),
            tags: Vec::new(),
            icon_url: None,
            download_url: String::new(),
            sha256: String::new(),
            signature: None,
            key_id: None,
            requires: Requirements::default(),
            platform: current_platform(),
            capabilities: Capabilities::default(),
            config_schema: None,
            dependencies: Vec::new(),
            permissions: Vec::new(),
            readme: None,
            changelog: None,
            screenshots: Vec::new(),
            homepage: None,
            license: None,
        }
    }
}

/// Version ranges (semver requirements) an entry needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// The host (`plugboard-core`) version.
    #[serde(default)]
    pub host: Option<String>,
    /// The plugin-api version the host provides.
    #[serde(default)]
    pub plugin_api: Option<String>,
}

pub use crate::manifest::Dependency;

/// Whether version `a` is newer than `b` (both semver; false otherwise).
///
/// ```
/// use plugboard_manifest::catalog::newer;
/// assert!(newer("1.10.0", "1.9.0"));
/// assert!(!newer("1.0.0", "1.0.0") && !newer("x", "1.0.0"));
/// ```
pub fn newer(a: &str, b: &str) -> bool {
    matches!((semver::Version::parse(a), semver::Version::parse(b)), (Ok(x), Ok(y)) if x > y)
}

/// This machine's platform string, `{os}-{arch}` ([`Target::current`]).
///
/// ```
/// assert!(plugboard_manifest::catalog::current_platform().contains('-'));
/// ```
pub fn current_platform() -> String {
    Target::current().to_string()
}

impl Catalog {
    /// Adds `entry`, replacing the one with the same slug and version.
    pub fn upsert(&mut self, entry: CatalogEntry) {
        self.entries
            .retain(|e| !(e.slug == entry.slug && e.version == entry.version));
        self.entries.push(entry);
        self.entries.sort_by(|a, b| {
            a.slug.cmp(&b.slug).then_with(|| {
                match (
                    semver::Version::parse(&a.version),
                    semver::Version::parse(&b.version),
                ) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => a.version.cmp(&b.version),
                }
            })
        });
    }

    /// The entry for `slug`: `version` if given, else the newest.
    pub fn find(&self, slug: &str, version: Option<&str>) -> Option<&CatalogEntry> {
        self.entries
            .iter()
            .filter(|e| e.slug == slug && version.is_none_or(|v| e.version == v))
            .max_by(|a, b| {
                match (
                    semver::Version::parse(&a.version),
                    semver::Version::parse(&b.version),
                ) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => std::cmp::Ordering::Equal,
                }
            })
    }
}
