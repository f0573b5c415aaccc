//! `plugboard plugin new`: a standalone plugin crate that builds and passes
//! its own tests with no edits.
//!
//! Two templates (`templates/` beside this file, compiled in):
//! * [`Template::Minimal`]: one public route;
//! * [`Template::Full`]: a route per access level, KV, a table with a
//!   migration, a subscription, a job, configuration with a schema and a
//!   dashboard widget, each exercised by a test on the test host.
//!
//! The crate is its own Cargo workspace (`[workspace]`), so it builds
//! wherever it is made. It depends on `plugboard-plugin-api` and (for its
//! tests) `plugboard-test-host` by version and, when the Plugboard sources
//! are known, by path too; with the sources, their `Cargo.lock` is copied
//! in, so the plugin builds with the versions Plugboard was tested with.
//!
//! ```
//! use plugboard_core::toolkit::scaffold::{scaffold, Sources, Template};
//! let dir = std::env::temp_dir().join(format!("scaffold-doc-{}", std::process::id()));
//! let made = scaffold("hello-world", &dir, Template::Minimal, &Sources::of_this_build()).unwrap();
//! assert!(made.iter().any(|f| f.ends_with("plugin.json")));
//! let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
//! assert!(lib.contains("pub struct HelloWorldPlugin;"));
//! let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
//! assert!(cargo.contains("name = \"hello_world\""));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::path::{Path, PathBuf};

use crate::slug::Slug;

/// Which template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// One public route.
    Minimal,
    /// Every capability an author usually needs, with tests.
    Full,
}

impl std::str::FromStr for Template {
    type Err = ScaffoldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "minimal" => Ok(Template::Minimal),
            "full" => Ok(Template::Full),
            other => Err(ScaffoldError::Template(other.to_string())),
        }
    }
}

/// Where the crates the plugin depends on come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The `plugin-api` crate's folder (a path dependency beside the version).
    pub plugin_api: Option<PathBuf>,
    /// The `test-host` crate's folder.
    pub test_host: Option<PathBuf>,
    /// A `Cargo.lock` to start from (the versions Plugboard was tested with).
    pub lock_file: Option<PathBuf>,
}

impl Sources {
    /// By version only (crates.io).
    pub fn none() -> Sources {
        Sources::default()
    }

    /// The crates of the Plugboard source tree at `root` (`plugin-api/`,
    /// `test-host/`, `Cargo.lock`), those that exist.
    pub fn tree(root: &Path) -> Sources {
        let existing = |p: PathBuf| p.exists().then_some(p);
        Sources {
            plugin_api: existing(root.join("plugin-api")),
            test_host: existing(root.join("test-host")),
            lock_file: existing(root.join("Cargo.lock")),
        }
    }

    /// The source tree this binary was built from, if it is still there.
    pub fn of_this_build() -> Sources {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        match root.canonicalize() {
            Ok(root) if root.join("plugin-api/Cargo.toml").is_file() => Sources::tree(&root),
            _ => Sources::none(),
        }
    }

    /// `plugin-api` at `path`, and the `test-host` and `Cargo.lock` of the
    /// tree it is in, when there.
    pub fn with_plugin_api(path: &Path) -> Sources {
        let mut sources = path
            .parent()
            .map(Sources::tree)
            .unwrap_or_else(Sources::none);
        sources.plugin_api = Some(path.to_path_buf());
        sources
    }
}

/// Why no crate was made.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The slug is not one a server accepts.
    #[error(transparent)]
    Slug(#[from] plugboard_manifest::slug::SlugError),
    /// No such template.
    #[error("no template {0:?}: use minimal or full")]
    Template(String),
    /// The folder exists (nothing is overwritten).
    #[error("{0} exists; choose another --dir (nothing was written)")]
    Exists(PathBuf),
    /// A dependency's folder has no `Cargo.toml`.
    #[error("{0} is not a crate (no Cargo.toml)")]
    NotACrate(PathBuf),
    /// No Plugboard sources to depend on.
    #[error("no Plugboard sources found: plugboard-test-host (which the tests use) is not on crates.io; give --plugin-api-path <plugboard checkout>/plugin-api (nothing was written)")]
    NoSources,
    /// The slug makes a crate name Cargo or Rust refuses.
    #[error("slug {0:?} cannot name a Rust crate (a Rust keyword or a name Cargo reserves); choose another")]
    ReservedName(String),
    /// Writing failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

const PLUGIN_API_VERSION: &str = plugboard_plugin_api::abi::API_VERSION;
/// `test-host/Cargo.toml`'s version (a unit test keeps them equal).
const TEST_HOST_VERSION: &str = "0.1.0";

/// Rust keywords and names Cargo refuses for a package or library.
const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "alloc",
    "core",
    "std",
    "test",
    "proc_macro",
    "proc-macro",
    "build",
    "deps",
    "examples",
    "incremental",
];

/// Makes the crate for plugin `slug` in `dir` (which must not exist); the
/// files written.
pub fn scaffold(
    slug: &str,
    dir: &Path,
    template: Template,
    sources: &Sources,
) -> Result<Vec<PathBuf>, ScaffoldError> {
    let slug: Slug = slug.parse()?;
    let lib_name = slug.as_str().replace('-', "_");
    if RESERVED.contains(&slug.as_str()) || RESERVED.contains(&lib_name.as_str()) {
        return Err(ScaffoldError::ReservedName(slug.to_string()));
    }
    if sources.test_host.is_none() {
        return Err(ScaffoldError::NoSources);
    }
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir.to_path_buf()));
    }
    for path in [&sources.plugin_api, &sources.test_host]
        .into_iter()
        .flatten()
    {
        if !path.join("Cargo.toml").is_file() {
            return Err(ScaffoldError::NotACrate(path.clone()));
        }
    }
    let names = Names::of(&slug);
    let full = template == Template::Full;
    // The template's own files, then what both share.
    let own: &[(&str, &str)] = if full {
        &[
            ("plugin.json", include_str!("templates/full/plugin.json")),
            ("src/lib.rs", include_str!("templates/full/src/lib.rs")),
            (
                "tests/plugin.rs",
                include_str!("templates/full/tests/plugin.rs"),
            ),
            (
                "assets/widget.js",
                include_str!("templates/full/assets/widget.js"),
            ),
        ]
    } else {
        &[
            ("plugin.json", include_str!("templates/minimal/plugin.json")),
            ("src/lib.rs", include_str!("templates/minimal/src/lib.rs")),
            (
                "tests/plugin.rs",
                include_str!("templates/minimal/tests/plugin.rs"),
            ),
        ]
    };
    let mut files: Vec<(&str, String)> = vec![("Cargo.toml", cargo_toml(&names, sources, full))];
    files.extend(own.iter().map(|(rel, text)| (*rel, text.to_string())));
    files.push((".gitignore", include_str!("templates/gitignore").into()));
    files.push(("README.md", readme(full)));
    let mut written = Vec::new();
    let write = |rel: &str, text: &[u8]| -> Result<PathBuf, ScaffoldError> {
        let path = dir.join(rel);
        let made = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        made.map(|()| path.clone())
            .map_err(|source| ScaffoldError::Write { path, source })
    };
    for (rel, text) in files {
        written.push(write(rel, names.fill(&text).as_bytes())?);
    }
    if let Some(lock) = &sources.lock_file {
        let bytes = std::fs::read(lock).map_err(|source| ScaffoldError::Write {
            path: lock.clone(),
            source,
        })?;
        written.push(write("Cargo.lock", &bytes)?);
    }
    Ok(written)
}

/// The names derived from a slug.
struct Names {
    slug: String,
    lib_name: String,
    struct_name: String,
    name: String,
}

impl Names {
    fn of(slug: &Slug) -> Names {
        let words: Vec<String> = slug
            .as_str()
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        Names {
            slug: slug.to_string(),
            lib_name: slug.as_str().replace('-', "_"),
            // `Plugin` as a suffix: no slug can then collide with the
            // prelude (`Plugin`, `Context`, `Route`…) or the template's
            // own types (`Note`, `Settings`…).
            struct_name: words.concat() + "Plugin",
            name: words.join(" "),
        }
    }

    fn fill(&self, text: &str) -> String {
        text.replace("{{slug}}", &self.slug)
            .replace("{{lib_name}}", &self.lib_name)
            .replace("{{struct_name}}", &self.struct_name)
            .replace("{{name}}", &self.name)
    }
}

fn dependency(name: &str, version: &str, path: Option<&PathBuf>) -> String {
    match path {
        Some(p) => format!(
            "{name} = {{ version = \"{version}\", path = \"{}\" }}",
            p.display().to_string().replace('\\', "/")
        ),
        None => format!("{name} = \"{version}\""),
    }
}

fn cargo_toml(names: &Names, sources: &Sources, full: bool) -> String {
    let api = dependency(
        "plugboard-plugin-api",
        PLUGIN_API_VERSION,
        sources.plugin_api.as_ref(),
    );
    let host = dependency(
        "plugboard-test-host",
        TEST_HOST_VERSION,
        sources.test_host.as_ref(),
    );
    let serde = if full {
        "schemars = \"1\"\nserde = { version = \"1\", features = [\"derive\"] }\n"
    } else {
        ""
    };
    format!(
        r#"[package]
name = "{slug}"
version = "0.1.0"
edition = "2021"
publish = false

# A Plugboard plugin is a cdylib (the library the host loads) and an rlib
# (what the tests link). The library's file is named after `[lib] name`:
# lib{lib}.so, {lib}.dll, lib{lib}.dylib; plugin.json's "library" says
# "{lib}".
[lib]
name = "{lib}"
crate-type = ["cdylib", "rlib"]

[dependencies]
{api}
{serde}serde_json = "1"

[dev-dependencies]
{host}

# Panics must unwind: the host catches them at the plugin boundary and fails
# one call. With panic = "abort" a panic would end the host's process (and
# `plugboard plugin check` refuses it). The rest makes the smallest library
# that still unwinds (what `plugboard plugin pack` builds with anyway).
[profile.release]
panic = "unwind"
debug = false
strip = true
codegen-units = 1

# Its own workspace: the crate builds wherever it is.
[workspace]
"#,
        slug = names.slug,
        lib = names.lib_name,
    )
}

fn readme(full: bool) -> String {
    let (manifest_note, layout_note) = if full {
        (
            ", the permissions it declares, its configuration schema and its dashboard widget",
            "* `assets/widget.js`: the widget's module (a custom element), served to\n  the admin shell.\n",
        )
    } else {
        ("", "")
    };
    include_str!("templates/README.md")
        .replace("{{full_manifest_note}}", manifest_note)
        .replace("{{full_layout_note}}", layout_note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_slug_or_an_existing_folder_is_refused_and_nothing_is_written() {
        let dir = std::env::temp_dir().join(format!("scaffold-test-{}", std::process::id()));
        let sources = Sources::of_this_build();
        let err = scaffold("Hello", &dir, Template::Full, &sources).unwrap_err();
        assert!(err.to_string().contains("lower-case"), "{err}");
        for reserved in ["test", "fn", "self", "proc-macro"] {
            let err = scaffold(reserved, &dir, Template::Full, &sources).unwrap_err();
            assert!(
                matches!(err, ScaffoldError::ReservedName(_)),
                "{reserved}: {err}"
            );
        }
        let err = scaffold("hello", &dir, Template::Full, &Sources::none()).unwrap_err();
        assert!(matches!(err, ScaffoldError::NoSources), "{err}");
        assert!(!dir.exists());
        std::fs::create_dir_all(&dir).unwrap();
        let err = scaffold("hello", &dir, Template::Full, &sources).unwrap_err();
        assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_follow_the_slug() {
        let n = Names::of(&"my-2nd-plugin".parse().unwrap());
        assert_eq!(n.lib_name, "my_2nd_plugin");
        assert_eq!(n.struct_name, "My2ndPluginPlugin");
        assert_eq!(n.name, "My 2nd Plugin");
        let toml = cargo_toml(&n, &Sources::none(), false);
        assert!(toml.contains(&format!("plugboard-plugin-api = \"{PLUGIN_API_VERSION}\"")));
        assert!(!toml.contains("path ="));
    }

    #[test]
    fn the_test_host_version_is_the_crates() {
        let toml = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../test-host/Cargo.toml"
        ))
        .unwrap();
        assert!(toml.contains(&format!("\nversion = \"{TEST_HOST_VERSION}\"\n")));
    }
}
