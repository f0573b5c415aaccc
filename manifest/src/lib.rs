//! Plugboard's plugin manifest: the types, checks and JSON Schemas of
//! `plugin.json`, its capabilities and route access, the marketplace
//! catalog, what a plugin asks for in words (`consent`), and event patterns. No I/O: text in, typed values or typed
//! errors out. The host (`plugboard-core`) and the `plugboard` CLI use it;
//! plugin authors can check a manifest with it alone:
//!
//! ```
//! use plugboard_manifest::{library::Target, Manifest, ManifestError};
//!
//! let text = r#"{
//!   "slug": "guestbook", "version": "0.1.0", "name": "Guestbook",
//!   "library": "guestbook",
//!   "capabilities": { "kv": true, "sql": true, "routes": true,
//!                     "events": { "emit": ["plugin.guestbook.*"] } },
//!   "routes": [{ "method": "GET", "path": "/entries", "access": "public" }]
//! }"#;
//! let manifest: Manifest = Manifest::from_json(text)?;
//! assert!(manifest.capabilities.allows_emit("plugin.guestbook.signed"));
//! let linux = Target::known("linux-x86_64").unwrap();
//! assert_eq!(manifest.library_for(&linux)?.as_str(), "libguestbook.so");
//!
//! let bad = r#"{ "slug": "guestbook", "version": "0.1.0",
//!                "capabilities": { "events": { "emit": ["user.created"] } } }"#;
//! let err = Manifest::from_json(bad).unwrap_err();
//! assert!(matches!(err, ManifestError::Capabilities(_)));
//! assert!(err.to_string().contains("outside the plugin's namespace plugin.guestbook.*"));
//! # Ok::<(), ManifestError>(())
//! ```
//!
//! Features: `full` (default) is all of the above. Without it the crate is
//! only [`Pattern`], the event matcher `plugboard-plugin-api` shares with
//! the host, and depends on nothing but `thiserror`.

pub mod pattern;
pub use pattern::{Pattern, PatternError};

#[cfg(feature = "full")]
pub mod access;
#[cfg(feature = "full")]
pub mod capabilities;
#[cfg(feature = "full")]
pub mod catalog;
#[cfg(feature = "full")]
pub mod consent;
#[cfg(feature = "full")]
pub mod library;
#[cfg(feature = "full")]
pub mod limits;
#[cfg(feature = "full")]
pub mod manifest;
#[cfg(feature = "full")]
pub mod schema;
#[cfg(feature = "full")]
pub mod slug;

#[cfg(feature = "full")]
pub use crate::{
    capabilities::{
        Capabilities, CapabilitiesError, Capability, CapabilityDenied, Declared, EventCapabilities,
    },
    catalog::{Catalog, CatalogEntry, Requirements},
    library::{Library, LibraryError, LibraryPath, Target},
    manifest::{
        is_valid_slug, Dependency, DependencyError, Manifest, ManifestError, UiDeclaration,
        MANIFEST_FILE,
    },
    slug::{Slug, SlugError},
};
