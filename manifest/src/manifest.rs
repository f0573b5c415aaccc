//! The manifest of a plugin: `plugin.json` in a dynamic plugin's folder or
//! bundle, or the same JSON compiled into a built-in plugin.
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
//! `library` (dynamic plugins only) says where the library is: a base name,
//! a relative path, or a map from target to path (see [`crate::library`]).
//! `capabilities` is everything the plugin may use (see
//! [`crate::capabilities`]); nothing is granted that is not listed — and a
//! manifest without `capabilities` (written for an older host) is read with
//! [inferred](crate::Capabilities::inferred) ones. `config_schema` is the
//! JSON Schema of its configuration; when absent, the plugin's code may
//! provide one. `permissions` and `routes` say who may call each route (see
//! [`crate::access`]).

use serde::{Deserialize, Serialize};

use crate::{
    access::{self, AccessError, PermissionDecl, RouteAccess},
    capabilities::{Capabilities, CapabilitiesError, Declared},
    library::{Library, LibraryError, LibraryPath, Target},
    limits::{Filters, Limits, NotAFilter, ZeroLimit},
    slug::Slug,
};
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
    /// Where the library is (dynamic plugins only): its base name (the host
    /// loads `libNAME.so`, `libNAME.dylib` or `NAME.dll`), a relative path
    /// to it inside the plugin's folder, or a map from target
    /// (`linux-x86_64`, …) to such a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<Library>,
    /// What the plugin may use. When absent (a manifest written for a host
    /// older than capabilities), the host grants what the plugin's code
    /// declares plus `kv`, and marks them inferred.
    #[serde(
        default = "absent_capabilities",
        skip_serializing_if = "Capabilities::is_inferred"
    )]
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
    pub permissions: Vec<PermissionDecl>,
    /// Who may call each route; unlisted: `user`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteAccess>,
    /// Its own call deadlines and capacity (capped by the operator).
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
    /// What each of its filters' failure means (`reject` unless listed).
    #[serde(default, skip_serializing_if = "Filters::is_empty")]
    pub filters: Filters,
}

/// What a manifest without `capabilities` starts with (refined by
/// [`Manifest::from_json`] and [`Manifest::infer_capabilities`]).
fn absent_capabilities() -> Capabilities {
    Capabilities::inferred(&Declared::default())
}

/// A plugin another one needs: its slug and a semver requirement.
///
/// ```
/// let d: plugboard_manifest::Dependency =
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

/// A dependency whose version is not a semver requirement.
#[derive(Debug, thiserror::Error)]
#[error("dependency {slug}: {version:?} is not a semver requirement: {source}")]
pub struct DependencyError {
    /// The dependency's slug.
    pub slug: String,
    /// The requirement as written.
    pub version: String,
    /// Why it does not parse.
    pub source: semver::Error,
}

impl Dependency {
    /// The parsed requirement.
    pub fn requirement(&self) -> Result<semver::VersionReq, DependencyError> {
        semver::VersionReq::parse(&self.version).map_err(|source| DependencyError {
            slug: self.slug.clone(),
            version: self.version.clone(),
            source,
        })
    }
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or unknown, missing or mistyped fields (a bad slug too).
    #[error("not a valid manifest: {0}")]
    Json(#[from] serde_json::Error),
    /// `version` is not semver.
    #[error("version {version:?} is not semver: {source}")]
    Version {
        /// The version as written.
        version: String,
        /// Why it does not parse.
        source: semver::Error,
    },
    /// A dynamic plugin's manifest without `library`.
    #[error("a dynamic plugin's manifest needs `library`")]
    NoLibrary,
    /// `library` is refused, or names no file for the target.
    #[error(transparent)]
    Library(#[from] LibraryError),
    /// `capabilities` is refused.
    #[error(transparent)]
    Capabilities(#[from] CapabilitiesError),
    /// The `ui` section is refused (the UI contract's message).
    #[error("{0}")]
    Ui(String),
    /// A dependency on an invalid slug or on the plugin itself.
    #[error("dependency {0:?} is not another plugin's slug")]
    DependencySlug(String),
    /// A dependency's version requirement does not parse.
    #[error(transparent)]
    Dependency(#[from] DependencyError),
    /// `permissions` or `routes` is refused.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// `routes` lists route access, but `capabilities` has no `routes`.
    #[error("`routes` gives routes access, but the `routes` capability is not declared")]
    RoutesWithoutCapability,
    /// `filters` names a hook that is not a filter.
    #[error(transparent)]
    Filters(#[from] NotAFilter),
    /// A deadline or capacity of zero.
    #[error(transparent)]
    Limits(#[from] ZeroLimit),
    /// A route's `deadline_ms` of zero.
    #[error("routes: {method} {path}: deadline_ms must be at least 1")]
    ZeroRouteDeadline {
        /// The route's method.
        method: String,
        /// The route's path.
        path: String,
    },
    /// `config_schema` is not a JSON Schema (the validator's message).
    #[error("config_schema is not a valid JSON Schema: {0}")]
    ConfigSchema(String),
}

/// Whether `slug` is a valid plugin slug: lower-case letters, digits and
/// single `-` between them, starting with a letter, at most 40 characters.
/// (`--` and a trailing `-` are refused so that SQL table prefixes,
/// `plugin_{slug with _}__`, are unambiguous.)
///
/// ```
/// use plugboard_manifest::is_valid_slug;
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
    /// Reads and checks manifest text (a `plugin.json`'s content): the
    /// fields, then every value ([`Manifest::validate`]). A manifest without
    /// `capabilities` comes back with inferred ones (`kv`, and `ui` if it
    /// declares UI contributions; the host adds what the code declares when
    /// it loads the library).
    ///
    /// ```
    /// use plugboard_manifest::{library::Target, Manifest, ManifestError};
    /// let text = r#"{
    ///   "slug": "guestbook", "version": "0.1.0",
    ///   "library": { "linux-x86_64": "linux/libguestbook.so", "windows-x86_64": "win/guestbook.dll" },
    ///   "capabilities": { "kv": true, "routes": true },
    ///   "routes": [{ "method": "GET", "path": "/entries", "access": "public" }]
    /// }"#;
    /// let m = Manifest::from_json(text).unwrap();
    /// assert_eq!(m.slug, "guestbook");
    /// let linux = Target::known("linux-x86_64").unwrap();
    /// assert_eq!(m.library_for(&linux).unwrap().as_str(), "linux/libguestbook.so");
    /// let mac = Target::known("macos-aarch64").unwrap();
    /// assert!(m.library_for(&mac).unwrap_err().to_string().contains("macos-aarch64"));
    ///
    /// let err = Manifest::from_json(r#"{"slug": "a", "version": "1", "library": "a"}"#).unwrap_err();
    /// assert!(matches!(err, ManifestError::Version { .. }));
    /// assert!(err.to_string().starts_with("version \"1\" is not semver: "));
    /// let err = Manifest::from_json(r#"{"slug": "a", "version": "1.0.0", "library": "a.txt"}"#).unwrap_err();
    /// assert!(err.to_string().contains("a shared library (`.so`, `.dylib`, `.dll`) is required"));
    /// ```
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        let mut manifest: Manifest = serde_json::from_str(text)?;
        manifest.infer_capabilities(&Declared::default());
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks every field's value.
    pub fn validate(&self) -> Result<(), ManifestError> {
        semver::Version::parse(&self.version).map_err(|source| ManifestError::Version {
            version: self.version.clone(),
            source,
        })?;
        if let Some(library) = &self.library {
            library.validate()?;
        }
        self.capabilities.validate(&self.slug)?;
        self.ui.validate(&self.slug).map_err(ManifestError::Ui)?;
        for d in &self.dependencies {
            if !is_valid_slug(&d.slug) || self.slug == d.slug {
                return Err(ManifestError::DependencySlug(d.slug.clone()));
            }
            d.requirement()?;
        }
        access::validate(&self.permissions, &self.routes)?;
        crate::limits::validate_filters(&self.filters)?;
        crate::limits::validate_limits(&self.limits, &self.filters)?;
        if let Some(r) = self.routes.iter().find(|r| r.deadline_ms == Some(0)) {
            return Err(ManifestError::ZeroRouteDeadline {
                method: r.method.clone(),
                path: r.path.clone(),
            });
        }
        if !self.routes.is_empty() && !self.capabilities.routes && !self.capabilities.inferred {
            return Err(ManifestError::RoutesWithoutCapability);
        }
        if let Some(schema) = &self.config_schema {
            jsonschema::validator_for(schema)
                .map_err(|e| ManifestError::ConfigSchema(e.to_string()))?;
        }
        Ok(())
    }

    /// The library file for `target`, relative to the plugin's folder:
    /// the base name as that target names it, or the path the manifest
    /// gives (for the target, with a map). An error for a built-in
    /// plugin's manifest (no `library`) and for a map without `target`.
    pub fn library_for(&self, target: &Target) -> Result<LibraryPath, ManifestError> {
        let library = self.library.as_ref().ok_or(ManifestError::NoLibrary)?;
        Ok(library.file_for(target)?)
    }

    /// How many UI contributions the `ui` section declares.
    pub fn ui_contributions(&self) -> usize {
        let ui = &self.ui;
        ui.widgets.len()
            + ui.admin_widgets.len()
            + ui.pages.len()
            + ui.admin_pages.len()
            + ui.menu_items.len()
    }

    /// For a manifest without `capabilities`: sets them to what `code`
    /// declares (its routes, jobs, migrations and subscriptions) and the
    /// manifest's UI contributions, plus `kv` ([`Capabilities::inferred`]).
    /// Written capabilities are left as they are.
    pub fn infer_capabilities(&mut self, code: &Declared<'_>) {
        if self.capabilities.inferred {
            self.capabilities = Capabilities::inferred(&Declared {
                ui: self.ui_contributions(),
                ..*code
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_refused() {
        let err =
            Manifest::from_json(r#"{"slug":"a","version":"1.0.0","library":"a","colour":"red"}"#)
                .unwrap_err();
        assert!(matches!(err, ManifestError::Json(_)), "{err:?}");
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn a_bad_slug_is_refused_where_it_is_read() {
        let err = Manifest::from_json(r#"{"slug":"Bad Slug","version":"1.0.0"}"#).unwrap_err();
        assert!(
            err.to_string().contains("slug \"Bad Slug\" is not valid"),
            "{err}"
        );
    }

    #[test]
    fn library_is_checked_and_resolved() {
        let err = Manifest::from_json(r#"{"slug":"a","version":"1.0.0","library":"../evil"}"#)
            .unwrap_err();
        assert!(
            matches!(
                err,
                ManifestError::Library(LibraryError::Path { why, .. }) if why.contains("'..'")
            ),
            "{err:?}"
        );
        let err = Manifest::from_json(r#"{"slug":"a","version":"1.0.0","library":"lib/a.jar"}"#)
            .unwrap_err();
        assert!(
            matches!(err, ManifestError::Library(LibraryError::NotShared { .. })),
            "{err:?}"
        );
        let builtin = Manifest::from_json(r#"{"slug":"a","version":"1.0.0"}"#).unwrap();
        assert!(matches!(
            builtin.library_for(&Target::current()),
            Err(ManifestError::NoLibrary)
        ));
        let bare = Manifest::from_json(r#"{"slug":"a","version":"1.0.0","library":"a"}"#).unwrap();
        assert_eq!(
            bare.library_for(&Target::known("linux-x86_64").unwrap())
                .unwrap()
                .as_str(),
            "liba.so"
        );
    }

    #[test]
    fn capabilities_and_schema_are_checked() {
        let err = Manifest::from_json(
            r#"{"slug":"a","version":"1.0.0","capabilities":{"events":{"emit":["user.created"]}}}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("outside the plugin's namespace"),
            "{err}"
        );
        let err = Manifest::from_json(
            r#"{"slug":"a","version":"1.0.0","config_schema":{"type":"nonsense"}}"#,
        )
        .unwrap_err();
        assert!(matches!(err, ManifestError::ConfigSchema(_)), "{err}");
        let ok = Manifest::from_json(
            r#"{"slug":"a","version":"1.0.0","capabilities":{"kv":true},"config_schema":{"type":"object"}}"#,
        )
        .unwrap();
        assert!(ok.capabilities.kv && !ok.capabilities.sql && !ok.capabilities.inferred);
        let err = Manifest::from_json(
            r#"{"slug":"a","version":"1.0.0","capabilities":{},"routes":[{"method":"GET","path":"/a","access":"public"}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(err, ManifestError::RoutesWithoutCapability),
            "{err}"
        );
        let err = Manifest::from_json(
            r#"{"slug":"a","version":"1.0.0","dependencies":[{"slug":"b","version":"two"}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, ManifestError::Dependency(_)), "{err}");
    }

    #[test]
    fn a_manifest_without_capabilities_is_read_with_inferred_ones() {
        // The shape of a first-release manifest: no `capabilities`, route
        // access given for its code's routes.
        let mut m = Manifest::from_json(
            r#"{"slug":"old","version":"0.1.0","library":"old",
                "routes":[{"method":"GET","path":"/counter","access":"public"}]}"#,
        )
        .unwrap();
        assert!(m.capabilities.inferred && m.capabilities.kv);
        assert!(!m.capabilities.routes, "nothing declared by code yet");
        let subs = vec!["user.*".to_string()];
        m.infer_capabilities(&Declared {
            routes: 1,
            jobs: 1,
            subscriptions: &subs,
            ..Default::default()
        });
        let c = &m.capabilities;
        assert!(c.inferred && c.kv && c.routes && c.cron && !c.sql && !c.ui);
        assert!(c.events.emit.is_empty() && c.network.is_empty());
        assert_eq!(c.events.subscribe, subs);
        // It is written back without `capabilities`, so it stays inferred.
        let text = serde_json::to_string(&m).unwrap();
        assert!(!text.contains("capabilities"), "{text}");
        assert!(Manifest::from_json(&text).unwrap().capabilities.inferred);
        // Written capabilities are never replaced.
        let mut written =
            Manifest::from_json(r#"{"slug":"a","version":"1.0.0","capabilities":{"kv":true}}"#)
                .unwrap();
        written.infer_capabilities(&Declared {
            routes: 3,
            ..Default::default()
        });
        assert!(!written.capabilities.routes && !written.capabilities.inferred);
    }
}
