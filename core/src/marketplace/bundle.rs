//! Plugin bundles: a `.tar.gz` holding `plugin.json`, the plugin's library
//! for one platform, and optional files under `assets/`.
//!
//! Extraction is the untrusted side: only regular files and folders, no
//! absolute paths, no `..`, no links, no more than [`Limits`] allow; and a
//! `plugin.json` at the root.

use std::{
    io::Read,
    path::{Component, Path, PathBuf},
};

use flate2::{read::GzDecoder, write::GzEncoder, Compression};

use crate::manifest::MANIFEST_FILE;

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Not a gzip'd tar, or truncated.
    #[error("not a valid .tar.gz bundle: {0}")]
    Corrupt(String),
    /// An entry that could escape or is not a plain file or folder.
    #[error("unsafe entry {path:?} in bundle: {why}")]
    Unsafe {
        /// The entry's path as written in the archive.
        path: String,
        /// Why.
        why: &'static str,
    },
    /// The bundle is larger than allowed.
    #[error("bundle too large: {0}")]
    TooLarge(String),
    /// No `plugin.json` at the root.
    #[error("bundle has no plugin.json at its root")]
    NoManifest,
    /// Writing the files failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Extraction limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total bytes once unpacked.
    pub max_unpacked: u64,
    /// Entries.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_unpacked: 256 << 20,
            max_entries: 2_000,
        }
    }
}

/// Packs `files` (path inside the bundle, bytes) into a `.tar.gz`.
pub fn pack(files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, path, bytes.as_slice())?;
    }
    tar.into_inner()?.finish()
}

/// The relative path an entry may be written to, or why not.
fn safe_path(raw: &Path) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for c in raw.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("`..` in its path"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path"),
        }
    }
    if out.as_os_str().is_empty() {
        return Err("empty path");
    }
    Ok(out)
}

/// Unpacks `bytes` into `dest` (which must exist and be empty).
pub fn extract(bytes: &[u8], dest: &Path, limits: Limits) -> Result<(), BundleError> {
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| BundleError::Corrupt(e.to_string()))?;
    let (mut total, mut count, mut has_manifest) = (0u64, 0usize, false);
    for entry in entries {
        let mut entry = entry.map_err(|e| BundleError::Corrupt(e.to_string()))?;
        count += 1;
        if count > limits.max_entries {
            return Err(BundleError::TooLarge(format!(
                "more than {} entries",
                limits.max_entries
            )));
        }
        let raw = entry
            .path()
            .map_err(|e| BundleError::Corrupt(e.to_string()))?
            .into_owned();
        let shown = raw.display().to_string();
        let rel = safe_path(&raw).map_err(|why| BundleError::Unsafe {
            path: shown.clone(),
            why,
        })?;
        let target = dest.join(&rel);
        let io = |source| BundleError::Io {
            path: target.clone(),
            source,
        };
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(io)?;
                continue;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                return Err(BundleError::Unsafe {
                    path: shown,
                    why: "links are not allowed",
                })
            }
            _ => {
                return Err(BundleError::Unsafe {
                    path: shown,
                    why: "only regular files and folders are allowed",
                })
            }
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| BundleError::Corrupt(e.to_string()))?;
        total = total.saturating_add(size);
        if total > limits.max_unpacked {
            return Err(BundleError::TooLarge(format!(
                "more than {} bytes unpacked",
                limits.max_unpacked
            )));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        if target.exists() {
            return Err(BundleError::Unsafe {
                path: shown,
                why: "duplicate entry",
            });
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| BundleError::Corrupt(e.to_string()))?;
        std::fs::write(&target, &data).map_err(io)?;
        has_manifest |= rel == Path::new(MANIFEST_FILE);
    }
    if has_manifest {
        Ok(())
    } else {
        Err(BundleError::NoManifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let ok = pack(&[
            ("plugin.json".into(), b"{}".to_vec()),
            ("assets/app.js".into(), b"x".to_vec()),
        ])
        .unwrap();
        extract(&ok, dir.path(), Limits::default()).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("assets/app.js")).unwrap(),
            b"x"
        );

        let no_manifest = pack(&[("lib.so".into(), vec![1])]).unwrap();
        let d2 = tempfile::tempdir().unwrap();
        assert!(matches!(
            extract(&no_manifest, d2.path(), Limits::default()),
            Err(BundleError::NoManifest)
        ));
        let d3 = tempfile::tempdir().unwrap();
        assert!(matches!(
            extract(b"not gzip at all", d3.path(), Limits::default()),
            Err(BundleError::Corrupt(_))
        ));
        let big = pack(&[("plugin.json".into(), vec![b' '; 2048])]).unwrap();
        let d4 = tempfile::tempdir().unwrap();
        let tight = Limits {
            max_unpacked: 1024,
            max_entries: 10,
        };
        assert!(matches!(
            extract(&big, d4.path(), tight),
            Err(BundleError::TooLarge(_))
        ));
    }
}
