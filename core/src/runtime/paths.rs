//! The data directory's folders that are named after a plugin. Each takes a
//! checked [`Slug`], so no path is ever built from unchecked text: a slug is
//! one plain path component and cannot leave the folder it is joined to.
//!
//! ```text
//! <data>/plugins/<slug>                 the installed plugin
//! <data>/previous/<slug>                the version a rollback goes back to
//! <data>/.staging/<slug>[-<tag>]-<n>    a bundle being installed, a rollback
//! <data>/.trash/<slug>[-<tag>]-<n>      a folder on its way out
//! <data>/.loaded/                       libraries copied to a unique path to be mapped
//! <data>/plugin-sql/                    each plugin's SQLite file (SQLite only)
//! <data>/in-flight-<pid>-<n>.journal    what each plugin-call thread of a live runtime is running
//! ```
//!
//! Each folder's name is written once, here.

use std::path::PathBuf;

use super::{unique, RuntimeConfig};
use crate::slug::Slug;

/// Installed dynamic plugins.
const PLUGINS: &str = "plugins";
/// Versions kept for a rollback.
const PREVIOUS: &str = "previous";
/// Bundles being installed, rollbacks being staged (emptied at start).
const STAGING: &str = ".staging";
/// Folders on their way out (emptied at start).
const TRASH: &str = ".trash";
/// Library copies the loader maps (see `loader::load_library`).
const LOADED: &str = ".loaded";
/// Each plugin's own SQLite file.
const PLUGIN_SQL: &str = "plugin-sql";

/// `<slug>-<n>` or `<slug>-<tag>-<n>`: unique scratch names.
fn scratch_name(slug: &Slug, tag: &'static str) -> String {
    if tag.is_empty() {
        format!("{slug}-{}", unique())
    } else {
        format!("{slug}-{tag}-{}", unique())
    }
}

/// The slug of a scratch folder named by [`RuntimeConfig::staging_dir`]
/// with `tag` (non-empty), or `None` for any other name. The suffix is
/// all digits, so the last `-<tag>-` is the separator even when the slug
/// itself holds `-<tag>-` (`a-rollback-b`).
pub(crate) fn scratch_slug(name: &str, tag: &str) -> Option<Slug> {
    let (slug, n) = name.rsplit_once(&format!("-{tag}-"))?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Slug::parse(slug).ok()
}

impl RuntimeConfig {
    /// `<data>/plugins/<slug>`: where an installed dynamic plugin lives.
    pub fn plugin_dir(&self, slug: &Slug) -> PathBuf {
        self.plugins_dir().join(slug.as_str())
    }

    /// `<data>/plugins`: the folder scanned for dynamic plugins.
    pub fn plugins_dir(&self) -> PathBuf {
        self.data_dir.join(PLUGINS)
    }

    /// `<data>/previous`: every previous version kept for rollback.
    pub fn previous_root(&self) -> PathBuf {
        self.data_dir.join(PREVIOUS)
    }

    /// `<data>/previous/<slug>`: the previous version kept for rollback.
    pub fn previous_dir(&self, slug: &Slug) -> PathBuf {
        self.previous_root().join(slug.as_str())
    }

    /// `<data>/.loaded`: where libraries are copied to be mapped.
    pub fn loaded_dir(&self) -> PathBuf {
        self.data_dir.join(LOADED)
    }

    /// `<data>/plugin-sql`: the plugins' own SQLite files.
    pub fn plugin_sql_dir(&self) -> PathBuf {
        self.data_dir.join(PLUGIN_SQL)
    }

    /// `<data>/.trash`: folders on their way out (emptied at start).
    pub fn trash_root(&self) -> PathBuf {
        self.data_dir.join(TRASH)
    }

    /// `<data>/.staging`: scratch space for installs (emptied at start).
    pub fn staging_root(&self) -> PathBuf {
        self.data_dir.join(STAGING)
    }

    /// A fresh folder name under [`RuntimeConfig::staging_root`] for
    /// `slug`, `tag` naming the purpose (`""` for an install).
    pub fn staging_dir(&self, slug: &Slug, tag: &'static str) -> PathBuf {
        self.staging_root().join(scratch_name(slug, tag))
    }

    /// A fresh folder name under `<data>/.trash` for `slug`.
    pub fn trash_dir(&self, slug: &Slug, tag: &'static str) -> PathBuf {
        self.trash_root().join(scratch_name(slug, tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_folder_stays_one_level_under_its_parent() {
        let config = RuntimeConfig::new("/data");
        let slug = Slug::parse("notes").unwrap();
        assert_eq!(
            config.plugin_dir(&slug),
            PathBuf::from("/data/plugins/notes")
        );
        assert_eq!(
            config.previous_dir(&slug),
            PathBuf::from("/data/previous/notes")
        );
        let staged = config.staging_dir(&slug, "rollback");
        assert_eq!(staged.parent().unwrap(), PathBuf::from("/data/.staging"));
        let name = staged.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("notes-rollback-"), "{name}");
        for slug in ["notes", "a-rollback-b", "x-rollback-1"] {
            let slug = Slug::parse(slug).unwrap();
            let staged = config.staging_dir(&slug, "rollback");
            let name = staged.file_name().unwrap().to_str().unwrap();
            assert_eq!(scratch_slug(name, "rollback"), Some(slug.clone()), "{name}");
            // An install's staging folder is not a rollback's.
            let staged = config.staging_dir(&slug, "");
            let name = staged.file_name().unwrap().to_str().unwrap();
            assert_eq!(scratch_slug(name, "rollback"), None, "{name}");
        }
        assert_eq!(scratch_slug("..-rollback-1", "rollback"), None);
        let trash = config.trash_dir(&slug, "");
        assert_eq!(trash.parent().unwrap(), PathBuf::from("/data/.trash"));
    }
}
