//! The manifest of a plugin: `plugin.json` in a dynamic plugin's folder, or
//! the same JSON compiled into a built-in plugin.
//!
//! The format — types, checks, JSON Schema — is the `plugboard-manifest`
//! crate's ([`plugboard_manifest::manifest`], re-exported here so the
//! host's imports stay `crate::manifest::…`). What is here touches files:
//! reading `plugin.json` from a folder and finding the library in it
//! ([`ManifestFile`]).
//!
//! ```json
//! {
//!   "slug": "guestbook",
//!   "version": "0.1.0",
//!   "name": "Guestbook",
//!   "library": "guestbook",
//!   "capabilities": { "sql": true, "routes": true,
//!                     "events": { "emit": ["plugin.guestbook.*"] } },
//!   "routes": [{ "method": "GET", "path": "/entries", "access": "public" }]
//! }
//! ```
//!
//! `library` is the library's base name (the host loads the file this
//! platform names it, `libguestbook.so`, `libguestbook.dylib` or
//! `guestbook.dll`), a relative path inside the folder
//! (`"lib/libguestbook.so"`), or a map from target (`linux-x86_64`, …) to
//! such a path; see [`plugboard_manifest::library`].

use std::path::{Path, PathBuf};

pub use plugboard_manifest::{
    library::{Library, LibraryError, LibraryPath, Target},
    limits::{FilterPolicy, Limits, OnFailure},
    manifest::{
        is_valid_slug, Dependency, DependencyError, Manifest, ManifestError, UiDeclaration,
        MANIFEST_FILE,
    },
};

/// Why a manifest file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestFileError {
    /// The file is missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The manifest is refused (or names no library for this platform).
    #[error("{path}: {source}")]
    Invalid {
        /// The manifest path (or `<built-in manifest>`).
        path: PathBuf,
        /// What is wrong.
        source: ManifestError,
    },
}

/// Reading a manifest from a plugin's folder, and finding its library there.
///
/// ```
/// use plugboard_core::manifest::{Manifest, ManifestFile};
/// let dir = std::env::temp_dir().join(format!("pb-manifest-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("plugin.json"),
///     r#"{"slug": "gb", "version": "1.0.0", "library": {"linux-x86_64": "x86/libgb.so",
///         "linux-aarch64": "arm/libgb.so", "macos-aarch64": "mac/libgb.dylib",
///         "macos-x86_64": "mac/libgb.dylib", "windows-x86_64": "win/gb.dll"}}"#).unwrap();
/// let m = Manifest::read(&dir).unwrap();
/// assert!(m.library_file(&dir).unwrap().starts_with(&dir));
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub trait ManifestFile: Sized {
    /// Reads and checks `dir/plugin.json`, which must name a `library`.
    fn read(dir: &Path) -> Result<Self, ManifestFileError>;
    /// Checks manifest text; `origin` names it in errors.
    fn parse(text: &str, origin: &Path) -> Result<Self, ManifestFileError>;
    /// The library file inside `dir` for the platform the host runs on
    /// ([`Target::current`]): never guessed for a path or a map; an error
    /// for a built-in plugin's manifest and for a map without this
    /// platform (naming it and the targets offered).
    fn library_file(&self, dir: &Path) -> Result<PathBuf, ManifestFileError>;
}

impl ManifestFile for Manifest {
    fn read(dir: &Path) -> Result<Manifest, ManifestFileError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestFileError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest = Self::parse(&text, &path)?;
        if manifest.library.is_none() {
            return Err(ManifestFileError::Invalid {
                path,
                source: ManifestError::NoLibrary,
            });
        }
        Ok(manifest)
    }

    fn parse(text: &str, origin: &Path) -> Result<Manifest, ManifestFileError> {
        Manifest::from_json(text).map_err(|source| ManifestFileError::Invalid {
            path: origin.to_path_buf(),
            source,
        })
    }

    fn library_file(&self, dir: &Path) -> Result<PathBuf, ManifestFileError> {
        self.library_for(&Target::current())
            .map(|file| file.in_dir(dir))
            .map_err(|source| ManifestFileError::Invalid {
                path: dir.join(MANIFEST_FILE),
                source,
            })
    }
}

/// What the install pipeline records next to a plugin's files
/// (`<folder>/.bundle.json`): which bundle it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BundleInfo {
    /// The plugin.
    pub slug: String,
    /// Its version.
    pub version: String,
    /// The bundle's SHA-256.
    pub sha256: String,
    /// The key that signed it.
    pub key_id: Option<String>,
}

/// The file name of [`BundleInfo`] in a plugin's folder.
pub const BUNDLE_INFO: &str = ".bundle.json";

impl BundleInfo {
    /// Reads the record in `folder` (absent for plugins copied by hand).
    pub fn read(folder: &Path) -> Option<BundleInfo> {
        serde_json::from_slice(&std::fs::read(folder.join(BUNDLE_INFO)).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_a_manifest_or_library_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = Manifest::read(dir.path()).unwrap_err();
        assert!(matches!(err, ManifestFileError::Read { .. }), "{err}");
        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            r#"{"slug":"a","version":"1.0.0"}"#,
        )
        .unwrap();
        let err = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("plugin.json: a dynamic plugin's manifest needs `library`"),
            "{err}"
        );
        std::fs::write(dir.path().join(MANIFEST_FILE), "{ slug: oops").unwrap();
        let err = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("plugin.json: not a valid manifest"), "{err}");
    }

    #[test]
    fn the_library_file_is_the_running_targets() {
        let dir = Path::new("/data/plugins/gb");
        let here = Target::current();
        let bare = Manifest::parse(
            r#"{"slug":"gb","version":"1.0.0","library":"gb"}"#,
            Path::new("p"),
        )
        .unwrap();
        assert_eq!(
            bare.library_file(dir).unwrap(),
            dir.join(format!(
                "{}gb{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ))
        );
        let map = Manifest::parse(
            r#"{"slug":"gb","version":"1.0.0","library":{"windows-x86_64":"w/gb.dll","macos-aarch64":"m/libgb.dylib"}}"#,
            Path::new("p"),
        )
        .unwrap();
        if here.as_str() != "windows-x86_64" && here.as_str() != "macos-aarch64" {
            let err = map.library_file(dir).unwrap_err().to_string();
            assert!(
                err.contains(&format!("running target {here}"))
                    && err.contains("offers macos-aarch64, windows-x86_64"),
                "{err}"
            );
        }
    }
}
