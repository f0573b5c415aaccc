//! The manifest of a plugin: `plugin.json` in a dynamic plugin's folder, or
//! the same JSON compiled into a built-in plugin.
//!
//! ```json
//! {
//!   "slug": "guestbook",
//!   "version": "0.1.0",
//!   "name": "Guestbook",
//!   "description": "Visitors leave messages.",
//!   "library": "guestbook",
//!   "capabilities": { "sql": true, "routes": true, "cron": true,
//!                     "events": { "emit": ["plugin.guestbook.*"] } },
//!   "config_schema": { "type": "object", "properties": {} },
//!   "permissions": [{ "name": "moderate", "description": "Delete entries" }],
//!   "routes": [{ "method": "GET", "path": "/entries", "access": "public" }]
//! }
//! ```
//!
//! `library` (dynamic plugins only) is the library's base name; the host
//! looks for the file this platform uses (`libguestbook.so`, `guestbook.dll`,
//! `libguestbook.dylib`) next to the manifest, so one folder may carry
//! several platforms' builds. `capabilities` is everything the plugin may use
//! (see [`crate::capabilities`]); nothing is granted that is not listed.
//! `config_schema` is the JSON Schema of its configuration; when absent, the
//! plugin's code may provide one. `permissions` and `routes` say who may
//! call each route (see [`crate::access`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{capabilities::Capabilities, slug::Slug};
pub use plugboard_frontend_manifest::UiDeclaration;

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "plugin.json";

/// A plugin manifest.
#[derive(Debug, Clone, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique slug: lower-case letters, digits and single `-`, starting
    /// with a letter, at most 40 (checked when read).
    pub slug: Slug,
    /// Semver version; must equal what the library reports.
    pub version: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// One-line description.
    #[serde(default)]
    pub description: Option<String>,
    /// The library's base name (no `lib` prefix, no extension); dynamic
    /// plugins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// What the plugin may use.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// The JSON Schema of its configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<serde_json::Value>,
    /// Other plugins it needs, active, at matching versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// What it adds to the browser UI (ES modules from its `assets/`).
    #[serde(default, skip_serializing_if = "UiDeclaration::is_empty")]
    pub ui: UiDeclaration,
    /// Permissions its routes may require; admins grant them to roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<crate::access::PermissionDecl>,
    /// Who may call each route (see [`crate::access`]); unlisted: `user`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<crate::access::RouteAccess>,
}

/// A plugin another one needs: its slug and a semver requirement.
///
/// ```
/// let d: plugboard_core::manifest::Dependency =
///     serde_json::from_str(r#"{"slug": "notes", "version": "^2"}"#).unwrap();
/// assert!(d.requirement().unwrap().matches(&semver::Version::new(2, 3, 0)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, schemars::JsonSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// Its slug.
    pub slug: String,
    /// A semver requirement on its version (`^2`, `>=1.2, <3`).
    pub version: String,
}

impl Dependency {
    /// The parsed requirement.
    pub fn requirement(&self) -> Result<semver::VersionReq, String> {
        semver::VersionReq::parse(&self.version).map_err(|e| {
            format!(
                "dependency {}: {:?} is not a semver requirement: {e}",
                self.slug, self.version
            )
        })
    }
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

/// Whether `slug` is a valid plugin slug: lower-case letters, digits and
/// single `-` between them, starting with a letter, at most 40 characters.
/// (`--` and a trailing `-` are refused so that SQL table prefixes,
/// `plugin_{slug with _}__`, are unambiguous.)
///
/// ```
/// use plugboard_core::manifest::is_valid_slug;
/// assert!(is_valid_slug("guestbook"));
/// assert!(is_valid_slug("user-policy2"));
/// assert!(!is_valid_slug("Guestbook"));
/// assert!(!is_valid_slug("../etc"));
/// assert!(!is_valid_slug(""));
/// assert!(!is_valid_slug("a--b"));
/// assert!(!is_valid_slug("a-"));
/// ```
pub fn is_valid_slug(slug: &str) -> bool {
    Slug::is_valid(slug)
}

impl Manifest {
    /// Reads and validates `dir/plugin.json`.
    pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest = Self::parse(&text, &path)?;
        if manifest.library.is_none() {
            return Err(ManifestError::Invalid {
                path,
                message: "a dynamic plugin's manifest needs `library`".into(),
            });
        }
        Ok(manifest)
    }

    /// Parses and validates manifest text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Manifest, ManifestError> {
        let manifest: Manifest =
            serde_json::from_str(text).map_err(|source| ManifestError::Parse {
                path: origin.to_path_buf(),
                source,
            })?;
        manifest
            .validate()
            .map_err(|message| ManifestError::Invalid {
                path: origin.to_path_buf(),
                message,
            })?;
        Ok(manifest)
    }

    /// Checks every field's value.
    pub fn validate(&self) -> Result<(), String> {
        semver::Version::parse(&self.version)
            .map_err(|e| format!("version {:?} is not semver: {e}", self.version))?;
        if let Some(library) = &self.library {
            if library.is_empty() || library.contains(['/', '\\', '.']) || library.starts_with('-')
            {
                return Err(format!(
                    "library {library:?} must be a base name without path or extension"
                ));
            }
        }
        self.capabilities.validate(&self.slug)?;
        self.ui.validate(&self.slug)?;
        for d in &self.dependencies {
            if !is_valid_slug(&d.slug) || self.slug == d.slug {
                return Err(format!(
                    "dependency {:?} is not another plugin's slug",
                    d.slug
                ));
            }
            d.requirement()?;
        }
        crate::access::validate(&self.permissions, &self.routes)?;
        if !self.routes.is_empty() && !self.capabilities.routes {
            return Err(
                "`routes` gives routes access, but the `routes` capability is not declared".into(),
            );
        }
        if let Some(schema) = &self.config_schema {
            jsonschema::validator_for(schema)
                .map_err(|e| format!("config_schema is not a valid JSON Schema: {e}"))?;
        }
        Ok(())
    }

    /// The library file for this platform inside `dir` (`None` for a
    /// built-in plugin's manifest).
    pub fn library_path(&self, dir: &Path) -> Option<PathBuf> {
        self.library.as_ref().map(|library| {
            dir.join(format!(
                "{}{}{}",
                std::env::consts::DLL_PREFIX,
                library,
                std::env::consts::DLL_SUFFIX
            ))
        })
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
            slug: "a".parse().unwrap(),
            version: "1.0.0".into(),
            name: None,
            description: None,
            library: Some("../evil".into()),
            capabilities: Capabilities::default(),
            config_schema: None,
            dependencies: Vec::new(),
            ui: Default::default(),
            permissions: Vec::new(),
            routes: Vec::new(),
        };
        assert!(m.validate().unwrap_err().contains("base name"));
    }

    #[test]
    fn capabilities_and_schema_are_checked() {
        let origin = Path::new("plugin.json");
        let err = Manifest::parse(
            r#"{"slug":"a","version":"1.0.0","capabilities":{"events":{"emit":["user.created"]}}}"#,
            origin,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("outside the plugin's namespace"),
            "{err}"
        );
        let err = Manifest::parse(
            r#"{"slug":"a","version":"1.0.0","config_schema":{"type":"nonsense"}}"#,
            origin,
        )
        .unwrap_err();
        assert!(err.to_string().contains("config_schema"), "{err}");
        let ok = Manifest::parse(
            r#"{"slug":"a","version":"1.0.0","capabilities":{"kv":true},"config_schema":{"type":"object"}}"#,
            origin,
        )
        .unwrap();
        assert!(ok.capabilities.kv && !ok.capabilities.sql);
    }
}
