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
//! the catalog's own location.
//!
//! The types are `plugboard-manifest`'s ([`plugboard_manifest::catalog`],
//! re-exported here); reading and writing catalog files is here
//! ([`CatalogIo`]).

use std::path::Path;

pub use plugboard_manifest::catalog::{
    current_platform, newer, Catalog, CatalogEntry, Dependency, Requirements, Screenshot,
};

/// Reading and writing a catalog file.
pub trait CatalogIo: Sized {
    /// Reads a catalog file (an absent file is an empty catalog).
    fn read(path: &Path) -> anyhow::Result<Self>;
    /// Writes it (pretty JSON), replacing the file atomically.
    fn write(&self, path: &Path) -> anyhow::Result<()>;
}

impl CatalogIo for Catalog {
    fn read(path: &Path) -> anyhow::Result<Catalog> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not a valid catalog: {e}", path.display()))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Catalog::default()),
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    fn write(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(self)? + "\n")?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}
