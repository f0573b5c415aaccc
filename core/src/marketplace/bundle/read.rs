//! Reading a bundle's tar stream within [`Limits`]: the byte budget under
//! the decompressor, raw members (extension headers read here, their size
//! checked first), entry names, and file bodies streamed to disk.

use std::{
    cell::Cell,
    io::{Read, Write},
    path::{Component, Path, PathBuf},
};

use super::{BundleError, Limits};
use crate::manifest::MANIFEST_FILE;

/// The longest component of an entry name, in bytes.
const MAX_COMPONENT: usize = 255;

/// A reader that fails once more than `left` bytes came through (and says
/// so in `tripped`, as the tar reader turns errors into its own).
pub(super) struct Budget<'a, R> {
    pub(super) inner: R,
    pub(super) left: u64,
    pub(super) tripped: &'a Cell<bool>,
}

impl<R: Read> Read for Budget<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            self.tripped.set(true);
            return Err(std::io::Error::other("decompressed size limit reached"));
        }
        self.left -= n as u64;
        Ok(n)
    }
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

/// An entry name as text, cut for error messages.
fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(name).chars().take(200).collect()
}

/// Checks an entry name (bytes from the header, a GNU long name or a PAX
/// `path`) and turns it into a relative path.
fn checked_name(name: &[u8], limits: &Limits) -> Result<PathBuf, BundleError> {
    let unsafe_entry = |why| BundleError::Unsafe {
        path: shown(name),
        why,
    };
    if name.len() > limits.max_name {
        return Err(unsafe_entry("name too long"));
    }
    if name.contains(&0) {
        return Err(unsafe_entry("NUL in its name"));
    }
    let text = std::str::from_utf8(name).map_err(|_| unsafe_entry("name is not UTF-8"))?;
    let rel = safe_path(Path::new(text)).map_err(unsafe_entry)?;
    if rel.components().count() > limits.max_depth {
        return Err(unsafe_entry("path too deep"));
    }
    if rel
        .components()
        .any(|c| c.as_os_str().len() > MAX_COMPONENT)
    {
        return Err(unsafe_entry("a path component is longer than 255 bytes"));
    }
    Ok(rel)
}

/// What extension headers said about the next member.
#[derive(Default)]
pub(super) struct Pending {
    /// Its name (GNU long name or PAX `path`).
    pub(super) name: Option<Vec<u8>>,
    /// Its size according to PAX.
    pub(super) pax_size: Option<u64>,
}

/// The running totals of one extraction.
pub(super) struct Extraction<'a> {
    pub(super) dest: &'a Path,
    pub(super) limits: Limits,
    pub(super) tripped: &'a Cell<bool>,
    pub(super) entries: usize,
    pub(super) unpacked: u64,
    pub(super) metadata: u64,
    pub(super) pending: Pending,
    pub(super) has_manifest: bool,
}

impl Extraction<'_> {
    /// A read error: the budget, or a corrupt stream.
    pub(super) fn corrupt(&self, e: std::io::Error) -> BundleError {
        if self.tripped.get() {
            BundleError::TooLarge(format!(
                "more than {} bytes once decompressed",
                self.limits.max_stream()
            ))
        } else {
            BundleError::Corrupt(e.to_string())
        }
    }

    /// Reads an extension header's body, after checking its declared size.
    fn extension<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        what: &str,
    ) -> Result<Vec<u8>, BundleError> {
        let size = entry.size();
        if size > self.limits.max_extension {
            return Err(BundleError::TooLarge(format!(
                "a {what} header of {size} bytes (at most {})",
                self.limits.max_extension
            )));
        }
        self.metadata += size;
        if self.metadata > self.limits.max_metadata {
            return Err(BundleError::TooLarge(format!(
                "more than {} bytes of extension headers",
                self.limits.max_metadata
            )));
        }
        let mut body = Vec::with_capacity(size as usize);
        entry
            .take(size)
            .read_to_end(&mut body)
            .map_err(|e| self.corrupt(e))?;
        if body.len() as u64 != size {
            return Err(BundleError::Corrupt(format!("truncated {what} header")));
        }
        Ok(body)
    }

    /// One raw member of the archive.
    pub(super) fn member<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
    ) -> Result<(), BundleError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(BundleError::TooLarge(format!(
                "more than {} entries",
                self.limits.max_entries
            )));
        }
        let kind = entry.header().entry_type();
        let header_name = entry.header().path_bytes().into_owned();
        let refuse = |why| BundleError::Unsafe {
            path: shown(&header_name),
            why,
        };
        match kind {
            tar::EntryType::GNULongName => {
                let mut name = self.extension(&mut entry, "GNU long name")?;
                while name.last() == Some(&0) {
                    name.pop();
                }
                if self.pending.name.replace(name).is_some() {
                    return Err(refuse("two long names for one entry"));
                }
                Ok(())
            }
            tar::EntryType::XHeader => {
                let body = self.extension(&mut entry, "PAX")?;
                self.pax(&body, &header_name)
            }
            tar::EntryType::XGlobalHeader => self.extension(&mut entry, "PAX global").map(drop),
            tar::EntryType::GNULongLink | tar::EntryType::Symlink | tar::EntryType::Link => {
                Err(refuse("links are not allowed"))
            }
            tar::EntryType::GNUSparse => Err(refuse("sparse files are not allowed")),
            tar::EntryType::Directory | tar::EntryType::Regular | tar::EntryType::Continuous => {
                let pending = std::mem::take(&mut self.pending);
                let name = pending.name.unwrap_or(header_name);
                let rel = checked_name(&name, &self.limits)?;
                let size = entry.size();
                if pending.pax_size.is_some_and(|s| s != size) {
                    return Err(BundleError::Unsafe {
                        path: shown(&name),
                        why: "its PAX size differs from its header's",
                    });
                }
                if kind == tar::EntryType::Directory {
                    let target = self.dest.join(&rel);
                    return std::fs::create_dir_all(&target).map_err(|source| BundleError::Io {
                        path: target,
                        source,
                    });
                }
                self.file(&mut entry, &name, &rel, size)
            }
            _ => Err(refuse("only regular files and folders are allowed")),
        }
    }

    /// The records of a PAX header: `path` names the next member, `size`
    /// must agree with its header; links and sparse files are refused.
    fn pax(&mut self, body: &[u8], header_name: &[u8]) -> Result<(), BundleError> {
        let refuse = |why| BundleError::Unsafe {
            path: shown(header_name),
            why,
        };
        for record in tar::PaxExtensions::new(body) {
            let record = record.map_err(|e| BundleError::Corrupt(format!("PAX header: {e}")))?;
            let key = record.key().map_err(|_| refuse("PAX key is not UTF-8"))?;
            match key {
                "path" if self.pending.name.is_some() => {
                    return Err(refuse("two long names for one entry"));
                }
                "path" => self.pending.name = Some(record.value_bytes().to_vec()),
                "size" => {
                    let size = record
                        .value()
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok())
                        .ok_or_else(|| refuse("PAX size is not a number"))?;
                    self.pending.pax_size = Some(size);
                }
                "linkpath" => return Err(refuse("links are not allowed")),
                k if k.starts_with("GNU.sparse") => {
                    return Err(refuse("sparse files are not allowed"))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Streams one file's body to disk.
    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &[u8],
        rel: &Path,
        size: u64,
    ) -> Result<(), BundleError> {
        self.unpacked = self.unpacked.saturating_add(size);
        if self.unpacked > self.limits.max_unpacked {
            return Err(BundleError::TooLarge(format!(
                "more than {} bytes unpacked",
                self.limits.max_unpacked
            )));
        }
        let target = self.dest.join(rel);
        let io = |source| BundleError::Io {
            path: target.clone(),
            source,
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut out = match std::fs::File::create_new(&target) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BundleError::Unsafe {
                    path: shown(name),
                    why: "duplicate entry",
                })
            }
            Err(e) => return Err(io(e)),
        };
        let mut body = entry.take(size);
        let mut chunk = vec![0u8; 64 << 10];
        let mut written = 0u64;
        loop {
            let n = body.read(&mut chunk).map_err(|e| self.corrupt(e))?;
            if n == 0 {
                break;
            }
            out.write_all(&chunk[..n]).map_err(io)?;
            written += n as u64;
        }
        if written != size {
            return Err(BundleError::Corrupt(format!(
                "{} is truncated",
                shown(name)
            )));
        }
        self.has_manifest |= rel == Path::new(MANIFEST_FILE);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{read::GzDecoder, write::GzEncoder, Compression};

    use super::*;
    use crate::marketplace::bundle::{extract, pack, BundleError, Limits};

    /// A raw tar member: `name` in the header, `kind`, `data` as its body.
    fn member(tar: &mut Vec<u8>, name: &str, kind: tar::EntryType, data: &[u8]) {
        let mut h = tar::Header::new_ustar();
        h.as_ustar_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.extend_from_slice(h.as_bytes());
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }

    fn gz(mut tar: Vec<u8>) -> Vec<u8> {
        tar.resize(tar.len() + 1024, 0);
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    fn pax(records: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in records {
            let body = format!(" {k}={v}\n");
            let mut len = body.len() + 1;
            while format!("{len}{body}").len() != len {
                len += 1;
            }
            out.extend_from_slice(format!("{len}{body}").as_bytes());
        }
        out
    }

    fn refused(bytes: &[u8], limits: Limits) -> BundleError {
        let dir = tempfile::tempdir().unwrap();
        extract(bytes, dir.path(), limits).unwrap_err()
    }

    #[test]
    fn long_names_are_followed_within_bounds() {
        let long = format!("assets/{}/app.js", "d".repeat(150));
        let ok = pack(&[
            ("plugin.json".into(), b"{}".to_vec()),
            (long.clone(), b"x".to_vec()),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        extract(&ok, dir.path(), Limits::default()).unwrap();
        assert_eq!(std::fs::read(dir.path().join(&long)).unwrap(), b"x");

        // PAX `path` names the next member.
        let mut tar = Vec::new();
        member(&mut tar, "plugin.json", tar::EntryType::Regular, b"{}");
        member(
            &mut tar,
            "pax",
            tar::EntryType::XHeader,
            &pax(&[("path", &long), ("mtime", "1.5")]),
        );
        member(&mut tar, "short", tar::EntryType::Regular, b"y");
        let dir = tempfile::tempdir().unwrap();
        extract(&gz(tar), dir.path(), Limits::default()).unwrap();
        assert_eq!(std::fs::read(dir.path().join(&long)).unwrap(), b"y");
    }

    #[test]
    fn hostile_names_and_extension_headers_are_refused() {
        let limits = Limits::default();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            // A long name longer than a name may be (it fits the extension bound).
            (
                {
                    let mut t = Vec::new();
                    member(
                        &mut t,
                        "././@LongLink",
                        tar::EntryType::GNULongName,
                        &[b'a'; 2000],
                    );
                    member(&mut t, "x", tar::EntryType::Regular, b"x");
                    t
                },
                "name too long",
            ),
            // A long name header larger than an extension may be.
            (
                {
                    let mut t = Vec::new();
                    member(
                        &mut t,
                        "././@LongLink",
                        tar::EntryType::GNULongName,
                        &vec![b'a'; 70_000],
                    );
                    t
                },
                "GNU long name header of 70000 bytes",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(&mut t, "pax", tar::EntryType::XHeader, &vec![b'a'; 70_000]);
                    t
                },
                "PAX header of 70000 bytes",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(
                        &mut t,
                        "g",
                        tar::EntryType::XGlobalHeader,
                        &vec![b'a'; 70_000],
                    );
                    t
                },
                "PAX global header of 70000 bytes",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(
                        &mut t,
                        "pax",
                        tar::EntryType::XHeader,
                        &pax(&[("size", "5")]),
                    );
                    member(&mut t, "x", tar::EntryType::Regular, b"x");
                    t
                },
                "PAX size differs",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(
                        &mut t,
                        "pax",
                        tar::EntryType::XHeader,
                        &pax(&[("path", "../up")]),
                    );
                    member(&mut t, "x", tar::EntryType::Regular, b"x");
                    t
                },
                "`..` in its path",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(
                        &mut t,
                        "pax",
                        tar::EntryType::XHeader,
                        &pax(&[("linkpath", "/etc")]),
                    );
                    t
                },
                "links are not allowed",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(
                        &mut t,
                        "pax",
                        tar::EntryType::XHeader,
                        &pax(&[("GNU.sparse.map", "0,1")]),
                    );
                    t
                },
                "sparse",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(&mut t, "l", tar::EntryType::GNULongLink, b"/etc/passwd");
                    t
                },
                "links are not allowed",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(
                        &mut t,
                        "././@LongLink",
                        tar::EntryType::GNULongName,
                        b"a\0b",
                    );
                    member(&mut t, "x", tar::EntryType::Regular, b"x");
                    t
                },
                "NUL in its name",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(&mut t, "././@LongLink", tar::EntryType::GNULongName, b"a");
                    member(&mut t, "././@LongLink", tar::EntryType::GNULongName, b"b");
                    t
                },
                "two long names",
            ),
            (
                {
                    let mut t = Vec::new();
                    let deep = vec!["d"; 40].join("/");
                    member(
                        &mut t,
                        "././@LongLink",
                        tar::EntryType::GNULongName,
                        deep.as_bytes(),
                    );
                    member(&mut t, "x", tar::EntryType::Regular, b"x");
                    t
                },
                "path too deep",
            ),
            (
                {
                    let mut t = Vec::new();
                    let wide = format!("a/{}", "c".repeat(300));
                    member(
                        &mut t,
                        "././@LongLink",
                        tar::EntryType::GNULongName,
                        wide.as_bytes(),
                    );
                    member(&mut t, "x", tar::EntryType::Regular, b"x");
                    t
                },
                "longer than 255 bytes",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(
                        &mut t,
                        "././@LongLink",
                        tar::EntryType::GNULongName,
                        b"orphan",
                    );
                    t
                },
                "describes no entry",
            ),
            (
                {
                    let mut t = Vec::new();
                    member(&mut t, "s", tar::EntryType::GNUSparse, b"");
                    t
                },
                "sparse files are not allowed",
            ),
        ];
        for (tar, needle) in cases {
            let err = refused(&gz(tar), limits);
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
        // Many small extension headers: the total is bounded too.
        let mut t = Vec::new();
        for _ in 0..40 {
            member(
                &mut t,
                "g",
                tar::EntryType::XGlobalHeader,
                &vec![b'a'; 60_000],
            );
        }
        let err = refused(&gz(t), limits);
        assert!(
            err.to_string().contains("bytes of extension headers"),
            "{err}"
        );
        // Members are counted, extension headers included.
        let mut t = Vec::new();
        for _ in 0..2_001 {
            member(&mut t, "g", tar::EntryType::XGlobalHeader, b"");
        }
        let err = refused(&gz(t), limits);
        assert!(err.to_string().contains("more than 2000 entries"), "{err}");
    }

    #[test]
    fn the_decompressed_stream_is_bounded() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&vec![0u8; 4 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        let tripped = Cell::new(false);
        let mut reader = Budget {
            inner: GzDecoder::new(bomb.as_slice()),
            left: 1 << 20,
            tripped: &tripped,
        };
        let err = std::io::copy(&mut reader, &mut std::io::sink()).unwrap_err();
        assert!(tripped.get(), "{err}");
        let limits = Limits::default();
        assert!(limits.max_stream() < (260 << 20), "{}", limits.max_stream());
    }
}
