//! Where a dynamic plugin's library is: the manifest's `library`.
//!
//! Three forms:
//!
//! * a **base name**, `"guestbook"` (no `/`, no `.`): the file this
//!   target's loader names it — `libguestbook.so` (Linux and other unix),
//!   `libguestbook.dylib` (macOS), `guestbook.dll` (Windows) — next to the
//!   manifest (the original form, read as before);
//! * a **relative path** inside the plugin's folder or bundle,
//!   `"lib/libguestbook.so"`: `/`-separated, not absolute, no `..`, naming
//!   a shared library (`.so`, `.dylib` or `.dll`);
//! * a **map from target to such a path**, so one bundle carries several
//!   platforms:
//!
//! ```json
//! "library": {
//!   "linux-x86_64":   "linux-x86_64/libguestbook.so",
//!   "linux-aarch64":  "linux-aarch64/libguestbook.so",
//!   "macos-aarch64":  "macos/libguestbook.dylib",
//!   "windows-x86_64": "windows/guestbook.dll"
//! }
//! ```
//!
//! The host never guesses a file name for the last two forms. A target is
//! `{os}-{arch}` as Rust names them ([`Target::current`]); the map's keys
//! are the targets in [`Target::KNOWN`].

use std::{
    borrow::Cow,
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// The shared-library extensions a library path may end with.
pub const SHARED_LIBRARY_EXTENSIONS: [&str; 3] = [".so", ".dylib", ".dll"];

/// A platform, `{os}-{arch}` as Rust's `std::env::consts` name them
/// (`linux-x86_64`, `macos-aarch64`, `windows-x86_64`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target(Cow<'static, str>);

impl Target {
    /// The targets a `library` map may name.
    pub const KNOWN: [&'static str; 5] = [
        "linux-x86_64",
        "linux-aarch64",
        "macos-aarch64",
        "macos-x86_64",
        "windows-x86_64",
    ];

    /// The target this program was built for.
    ///
    /// ```
    /// let t = plugboard_manifest::library::Target::current();
    /// assert_eq!(t.as_str(), format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH));
    /// ```
    pub fn current() -> Target {
        Target::new(std::env::consts::OS, std::env::consts::ARCH)
    }

    /// The target of `os` and `arch` (any names; only [`Target::KNOWN`]
    /// ones may be keys of a `library` map).
    pub fn new(os: &str, arch: &str) -> Target {
        Target(Cow::Owned(format!("{os}-{arch}")))
    }

    /// One of [`Target::KNOWN`], or `None`.
    ///
    /// ```
    /// use plugboard_manifest::library::Target;
    /// assert_eq!(Target::known("linux-aarch64").unwrap().os(), "linux");
    /// assert!(Target::known("linux-riscv64").is_none());
    /// ```
    pub fn known(name: &str) -> Option<Target> {
        Target::KNOWN
            .iter()
            .find(|k| **k == name)
            .map(|k| Target(Cow::Borrowed(k)))
    }

    /// `{os}-{arch}`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The operating system part.
    pub fn os(&self) -> &str {
        self.0.split_once('-').map_or(&self.0, |(os, _)| os)
    }

    /// The file name this target's loader gives the library `name`
    /// (`libname.so`, `libname.dylib`, `name.dll`).
    ///
    /// ```
    /// use plugboard_manifest::library::Target;
    /// assert_eq!(Target::new("linux", "x86_64").file_name("gb"), "libgb.so");
    /// assert_eq!(Target::new("macos", "aarch64").file_name("gb"), "libgb.dylib");
    /// assert_eq!(Target::new("windows", "x86_64").file_name("gb"), "gb.dll");
    /// assert_eq!(Target::new("freebsd", "x86_64").file_name("gb"), "libgb.so");
    /// ```
    pub fn file_name(&self, name: &str) -> String {
        match self.os() {
            "windows" => format!("{name}.dll"),
            "macos" | "ios" => format!("lib{name}.dylib"),
            _ => format!("lib{name}.so"),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
        let text = Cow::<'de, str>::deserialize(d)?;
        Target::known(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown target {text:?} (targets: {})",
                Target::KNOWN.join(", ")
            ))
        })
    }
}

/// A `/`-separated relative path inside a plugin's folder or bundle,
/// naming a shared library: not empty, not absolute, no `\`, `:` or NUL, no
/// empty, `.` or `..` component, ending in `.so`, `.dylib` or `.dll`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LibraryPath(String);

impl LibraryPath {
    /// Checks `text`.
    ///
    /// ```
    /// use plugboard_manifest::library::LibraryPath;
    /// assert_eq!(LibraryPath::parse("lib/libgb.so").unwrap().as_str(), "lib/libgb.so");
    /// for bad in ["../libgb.so", "/usr/lib/libgb.so", "lib\\gb.dll", "lib//gb.so", "gb.txt", "C:/gb.dll"] {
    ///     assert!(LibraryPath::parse(bad).is_err(), "{bad}");
    /// }
    /// ```
    pub fn parse(text: &str) -> Result<LibraryPath, LibraryError> {
        let bad = |why| LibraryError::Path {
            path: text.to_string(),
            why,
        };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if text.starts_with('/') {
            return Err(bad("it is absolute"));
        }
        if text.contains(['\\', ':', '\0']) {
            return Err(bad(
                "it holds '\\', ':' or NUL (separate components with '/')",
            ));
        }
        for component in text.split('/') {
            if component.is_empty() {
                return Err(bad("it has an empty component"));
            }
            if component.chars().all(|c| c == '.') {
                return Err(bad("it has a '.' or '..' component"));
            }
        }
        let file = text.rsplit('/').next().unwrap_or(text);
        let shared = SHARED_LIBRARY_EXTENSIONS
            .iter()
            .any(|ext| file.len() > ext.len() && file.ends_with(ext));
        if !shared {
            return Err(LibraryError::NotShared {
                path: text.to_string(),
            });
        }
        Ok(LibraryPath(text.to_string()))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file inside `dir` (path arithmetic only: nothing is read).
    ///
    /// ```
    /// use std::path::Path;
    /// use plugboard_manifest::library::LibraryPath;
    /// let p = LibraryPath::parse("lib/libgb.so").unwrap();
    /// assert_eq!(p.in_dir(Path::new("/plugins/gb")), Path::new("/plugins/gb/lib/libgb.so"));
    /// ```
    pub fn in_dir(&self, dir: &Path) -> PathBuf {
        self.0.split('/').fold(dir.to_path_buf(), |p, c| p.join(c))
    }
}

impl fmt::Display for LibraryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The manifest's `library`, as written (checked by
/// [`Library::validate`], which [`crate::Manifest::from_json`] runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Library {
    /// A base name (no `/`, no `.`): the file this target names it.
    Name(String),
    /// A relative path, the same on every target.
    Path(String),
    /// A relative path per target.
    PerTarget(BTreeMap<Target, String>),
}

/// Why `library` is refused or cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryError {
    /// A base name starting with `-` or empty.
    #[error("library {0:?} must be a base name (no path, no extension), a relative path to a shared library, or a map from target to such a path")]
    Name(String),
    /// A path that is not a relative path inside the plugin's folder.
    #[error("library {path:?} must be a relative path inside the plugin's folder: {why}")]
    Path {
        /// The path.
        path: String,
        /// The rule it breaks.
        why: &'static str,
    },
    /// A path that does not name a shared library.
    #[error("library {path:?}: a shared library (`.so`, `.dylib`, `.dll`) is required")]
    NotShared {
        /// The path.
        path: String,
    },
    /// An empty map.
    #[error("library: the map from target to path names no target")]
    NoTargets,
    /// The map has no entry for the running target.
    #[error("library: no build for the running target {target} (the manifest offers {})", offered_list(.offered))]
    NoBuildFor {
        /// The running target.
        target: Target,
        /// The targets the map names.
        offered: Vec<Target>,
    },
}

fn offered_list(offered: &[Target]) -> String {
    offered
        .iter()
        .map(Target::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Library {
    /// Checks every path (and a base name's spelling).
    pub fn validate(&self) -> Result<(), LibraryError> {
        match self {
            Library::Name(name) => {
                if name.is_empty() || name.starts_with('-') {
                    return Err(LibraryError::Name(name.clone()));
                }
            }
            Library::Path(path) => {
                LibraryPath::parse(path)?;
            }
            Library::PerTarget(map) => {
                if map.is_empty() {
                    return Err(LibraryError::NoTargets);
                }
                for path in map.values() {
                    LibraryPath::parse(path)?;
                }
            }
        }
        Ok(())
    }

    /// The library file for `target`, relative to the plugin's folder.
    ///
    /// ```
    /// use plugboard_manifest::library::{Library, Target};
    /// let linux = Target::new("linux", "x86_64");
    /// assert_eq!(Library::Name("gb".into()).file_for(&linux).unwrap().as_str(), "libgb.so");
    /// assert_eq!(Library::Path("lib/gb.so".into()).file_for(&linux).unwrap().as_str(), "lib/gb.so");
    /// ```
    pub fn file_for(&self, target: &Target) -> Result<LibraryPath, LibraryError> {
        match self {
            Library::Name(name) => {
                self.validate()?;
                Ok(LibraryPath(target.file_name(name)))
            }
            Library::Path(path) => LibraryPath::parse(path),
            Library::PerTarget(map) => match map.get(target) {
                Some(path) => LibraryPath::parse(path),
                None => Err(LibraryError::NoBuildFor {
                    target: target.clone(),
                    offered: map.keys().cloned().collect(),
                }),
            },
        }
    }
}

impl Serialize for Library {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Library::Name(text) | Library::Path(text) => s.serialize_str(text),
            Library::PerTarget(map) => map.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Library {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Library, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Library;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a library base name, a relative path to a shared library, or a map from target to such a path")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Library, E> {
                Ok(if v.contains(['/', '\\', '.']) {
                    Library::Path(v.to_string())
                } else {
                    Library::Name(v.to_string())
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Library, A::Error> {
                let mut map = BTreeMap::new();
                while let Some((target, path)) = a.next_entry::<Target, String>()? {
                    if map.insert(target.clone(), path).is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "target {target} is named twice"
                        )));
                    }
                }
                Ok(Library::PerTarget(map))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The pattern of a relative library path in the JSON Schema: the checks of
/// [`LibraryPath::parse`] but the one on NUL: components of anything but `/`,
/// `\` and `:`, not all dots, the last one a shared library's name.
const PATH_PATTERN: &str = r"^([^/\\:]*[^/\\:.][^/\\:]*/)*[^/\\:]+\.(so|dylib|dll)$";

impl schemars::JsonSchema for Library {
    fn schema_name() -> Cow<'static, str> {
        "Library".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let path = schemars::json_schema!({
            "description": "A relative path inside the plugin's folder or bundle, `/`-separated, no `..`, naming a shared library (`.so`, `.dylib`, `.dll`).",
            "type": "string",
            "pattern": PATH_PATTERN,
        });
        schemars::json_schema!({
            "anyOf": [
                {
                    "description": "The library's base name (no `lib` prefix, no extension): the host loads the file this platform names it (`libNAME.so`, `libNAME.dylib`, `NAME.dll`) next to the manifest.",
                    "type": "string",
                    "pattern": r"^[^-./\\][^./\\]*$",
                },
                path.clone(),
                {
                    "description": "A relative path per target (`{os}-{arch}`).",
                    "type": "object",
                    "propertyNames": { "enum": Target::KNOWN },
                    "additionalProperties": path,
                    "minProperties": 1,
                },
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(json: &str) -> Library {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_three_forms_resolve_and_the_bare_name_keeps_its_platform_names() {
        let targets = Target::KNOWN.map(|t| Target::known(t).unwrap());
        let names: Vec<String> = targets
            .iter()
            .map(|t| lib(r#""gb""#).file_for(t).unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "libgb.so",
                "libgb.so",
                "libgb.dylib",
                "libgb.dylib",
                "gb.dll"
            ]
        );
        assert_eq!(
            Target::current().file_name("gb"),
            format!(
                "{}gb{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ),
            "the bare name resolves as the host always did"
        );
        for t in &targets {
            assert_eq!(
                lib(r#""lib/libgb.so""#).file_for(t).unwrap().as_str(),
                "lib/libgb.so",
                "a path is never guessed at"
            );
        }
        let map = lib(r#"{"linux-x86_64": "x86/libgb.so", "macos-aarch64": "mac/libgb.dylib"}"#);
        map.validate().unwrap();
        assert_eq!(map.file_for(&targets[0]).unwrap().as_str(), "x86/libgb.so");
        assert_eq!(
            map.file_for(&targets[2]).unwrap().as_str(),
            "mac/libgb.dylib"
        );
    }

    #[test]
    fn a_map_without_the_running_target_names_it_and_the_offers() {
        let map = lib(r#"{"macos-aarch64": "mac/libgb.dylib", "windows-x86_64": "win/gb.dll"}"#);
        let err = map
            .file_for(&Target::known("linux-aarch64").unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "library: no build for the running target linux-aarch64 (the manifest offers macos-aarch64, windows-x86_64)"
        );
        let err = map.file_for(&Target::new("linux", "riscv64")).unwrap_err();
        assert!(err.to_string().contains("linux-riscv64"), "{err}");
    }

    #[test]
    fn anything_but_a_shared_library_inside_the_folder_is_refused() {
        for (text, why) in [
            (
                r#""guestbook.txt""#,
                "a shared library (`.so`, `.dylib`, `.dll`) is required",
            ),
            (
                r#""lib/guestbook""#,
                "a shared library (`.so`, `.dylib`, `.dll`) is required",
            ),
            (r#""libgb.so.1""#, "a shared library"),
            (r#""lib/.so""#, "a shared library"),
            (r#""../libgb.so""#, "'.' or '..' component"),
            (r#""lib/../../libgb.so""#, "'.' or '..' component"),
            (r#""./libgb.so""#, "'.' or '..' component"),
            (r#""/usr/lib/libgb.so""#, "absolute"),
            (r#""C:/gb.dll""#, "':'"),
            (r#""lib\\gb.dll""#, "'\\'"),
            (r#""lib//gb.so""#, "empty component"),
            (r#""-gb""#, "must be a base name"),
            (r#""""#, "must be a base name"),
            (r#"{}"#, "names no target"),
            (r#"{"linux-x86_64": "gb.exe"}"#, "a shared library"),
            (r#"{"linux-x86_64": "../gb.so"}"#, "'..'"),
        ] {
            let err = lib(text).validate().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err} (wanted {why})");
        }
        for ok in [
            r#""gb""#,
            r#""libgb.so""#,
            r#""lib/libgb.dylib""#,
            r#""a/b/gb.dll""#,
            r#"{"windows-x86_64": "win/gb.dll"}"#,
        ] {
            lib(ok).validate().unwrap();
        }
    }

    #[test]
    fn map_keys_are_known_targets_and_the_form_reads_back() {
        let err = serde_json::from_str::<Library>(r#"{"linux-x86-64": "libgb.so"}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown target \"linux-x86-64\"")
                && err.to_string().contains("linux-x86_64, linux-aarch64"),
            "{err}"
        );
        let err = serde_json::from_str::<Library>("7").unwrap_err();
        assert!(err.to_string().contains("a library base name"), "{err}");
        for text in [
            r#""gb""#,
            r#""lib/libgb.so""#,
            r#"{"linux-aarch64":"a/libgb.so","linux-x86_64":"b/libgb.so"}"#,
        ] {
            assert_eq!(serde_json::to_string(&lib(text)).unwrap(), text);
        }
    }

    #[test]
    fn in_dir_joins_component_by_component() {
        let p = LibraryPath::parse("a/b/libgb.so").unwrap();
        assert_eq!(
            p.in_dir(Path::new("plugins/gb")),
            Path::new("plugins/gb").join("a").join("b").join("libgb.so")
        );
    }
}
