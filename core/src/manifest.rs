//! The manifest of a dynamic plugin: `plugin.json` in the plugin's folder.
//!
//! ```json
//! {
//!   "slug": "guestbook",
//!   "version": "0.1.0",
//!   "name": "Guestbook",
//!   "description": "Visitors leave messages.",
//!   "library": "guestbook"
//! }
//! ```
//!
//! `library` is the library's base name; the host looks for the file this
//! platform uses (`libguestbook.so`, `guestbook.dll`, `libguestbook.dylib`)
//! next to the manifest, so one folder may carry several platforms' builds.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "plugin.json";

/// A plugin manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique slug: lower-case letters, digits and `-`, starting with a letter.
    pub slug: String,
    /// Semver version; must equal what the library reports.
    pub version: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// One-line description.
    #[serde(default)]
    pub description: Option<String>,
    /// The library's base name (no `lib` prefix, no extension).
    pub library: String,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file is missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid JSON or has unknown or missing fields.
    #[error("{path} is not a valid manifest: {source}")]
    Parse {
        /// The manifest path.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A field has a bad value.
    #[error("{path}: {message}")]
    Invalid {
        /// The manifest path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Whether `slug` is a valid plugin slug.
///
/// ```
/// use plugboard_core::manifest::is_valid_slug;
/// assert!(is_valid_slug("guestbook"));
/// assert!(is_valid_slug("user-policy2"));
/// assert!(!is_valid_slug("Guestbook"));
/// assert!(!is_valid_slug("../etc"));
/// assert!(!is_valid_slug(""));
/// ```
pub fn is_valid_slug(slug: &str) -> bool {
    let mut chars = slug.chars();
    matches!(chars.next(), Some('a'..='z'))
        && slug.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
}

impl Manifest {
    /// Reads and validates `dir/plugin.json`.
    pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|source| ManifestError::Parse {
                path: path.clone(),
                source,
            })?;
        manifest
            .validate()
            .map_err(|message| ManifestError::Invalid { path, message })?;
        Ok(manifest)
    }

    /// Checks every field's value.
    pub fn validate(&self) -> Result<(), String> {
        if !is_valid_slug(&self.slug) {
            return Err(format!(
                "slug {:?} is not valid (lower-case letters, digits and '-', starting with a letter)",
                self.slug
            ));
        }
        semver::Version::parse(&self.version)
            .map_err(|e| format!("version {:?} is not semver: {e}", self.version))?;
        if self.library.is_empty()
            || self.library.contains(['/', '\\', '.'])
            || self.library.starts_with('-')
        {
            return Err(format!(
                "library {:?} must be a base name without path or extension",
                self.library
            ));
        }
        Ok(())
    }

    /// The library file for this platform inside `dir`.
    pub fn library_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!(
            "{}{}{}",
            std::env::consts::DLL_PREFIX,
            self.library,
            std::env::consts::DLL_SUFFIX
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<Manifest>(
            r#"{"slug":"a","version":"1.0.0","library":"a","colour":"red"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn library_must_be_a_base_name() {
        let m = Manifest {
            slug: "a".into(),
            version: "1.0.0".into(),
            name: None,
            description: None,
            library: "../evil".into(),
        };
        assert!(m.validate().unwrap_err().contains("base name"));
    }
}
