//! Noticing a save: the crate's files are compared by size and modification
//! time every poll (a small crate's few dozen files cost microseconds; no
//! file-watching dependency, and the same behaviour on every platform and
//! file system, network mounts and containers included).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::SystemTime,
};

/// What is watched: everything under the crate but build output, VCS data
/// and bundles.
const SKIPPED: [&str; 4] = ["target", ".git", "dist", "node_modules"];

/// Files the build itself writes (cargo updates the lock file).
const WRITTEN_BY_THE_BUILD: [&str; 1] = ["Cargo.lock"];

/// A snapshot of the watched files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<PathBuf, (u64, Option<SystemTime>)>);

impl Snapshot {
    /// The files under `dir` now.
    pub fn take(dir: &Path) -> Snapshot {
        let mut files = BTreeMap::new();
        walk(dir, dir, &mut files);
        Snapshot(files)
    }

    /// The files that were added, removed or changed since `self`.
    pub fn changed(&self, now: &Snapshot) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = now
            .0
            .iter()
            .filter(|(p, meta)| self.0.get(*p) != Some(meta))
            .map(|(p, _)| p.clone())
            .collect();
        out.extend(self.0.keys().filter(|p| !now.0.contains_key(*p)).cloned());
        out
    }
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, (u64, Option<SystemTime>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            if dir == root && SKIPPED.iter().any(|s| name == *s) {
                continue;
            }
            walk(root, &path, files);
        } else if meta.is_file()
            && !(dir == root && WRITTEN_BY_THE_BUILD.iter().any(|s| name == *s))
        {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            files.insert(rel, (meta.len(), meta.modified().ok()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_is_seen_and_build_output_is_not() {
        let dir = std::env::temp_dir().join(format!("watch-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("target/debug")).unwrap();
        std::fs::write(dir.join("src/lib.rs"), "fn a() {}").unwrap();
        let before = Snapshot::take(&dir);
        std::fs::write(dir.join("target/debug/lib.so"), "x").unwrap();
        assert!(before.changed(&Snapshot::take(&dir)).is_empty());
        std::fs::write(dir.join("src/lib.rs"), "fn a() { 1; }").unwrap();
        std::fs::write(dir.join("plugin.json"), "{}").unwrap();
        let changed = before.changed(&Snapshot::take(&dir));
        assert_eq!(
            changed,
            [PathBuf::from("plugin.json"), PathBuf::from("src/lib.rs")]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
