//! Where a catalog entry's bundle may be downloaded from, decided before
//! anything is read, and reading it within bounds.
//!
//! | catalog | `download_url` | allowed |
//! |---|---|---|
//! | `http(s)://…` | `http(s)://…` or relative (to the catalog's URL) | yes |
//! | `http(s)://…` | `file://…`, any other scheme | no |
//! | a file (path or `file://`) | `http(s)://…` | yes |
//! | a file | relative path or `file://` path **inside the catalog's folder** | yes |
//! | a file | `..`, an absolute path elsewhere, a symlink leading out, any other scheme | no |
//!
//! A refusal happens before the disk or the network is touched for that
//! entry, and it reads the same whether or not the named file exists, so a
//! hostile catalog learns nothing about the host's files (no digest, no
//! size, no "not found").

use std::{
    io::Read,
    path::{Component, Path, PathBuf},
    time::Duration,
};

/// The largest bundle downloaded.
pub const MAX_BUNDLE: u64 = 64 << 20;
/// How long a download may take.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A bundle location that passed the rules above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Download {
    /// An `http(s)` URL.
    Remote(String),
    /// A file inside a file catalog's folder (canonical path).
    Local(PathBuf),
}

impl std::fmt::Display for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Download::Remote(url) => f.write_str(url),
            Download::Local(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why a download was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The location breaks the rules (nothing was read).
    #[error("download {url:?} refused: {why}")]
    Refused {
        /// The entry's `download_url`, as written in the catalog.
        url: String,
        /// Which rule.
        why: &'static str,
    },
    /// Reading it failed.
    #[error("cannot fetch {url}: {why}")]
    Fetch {
        /// Where from.
        url: String,
        /// Why.
        why: String,
    },
}

/// The URL scheme of `text` (`http`, `file`, …), lower-cased, if it has
/// one (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`, then `:`).
fn scheme(text: &str) -> Option<String> {
    let (head, _) = text.split_once(':')?;
    let mut chars = head.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then(|| head.to_ascii_lowercase())
}

fn is_http(scheme: Option<&str>) -> bool {
    matches!(scheme, Some("http" | "https"))
}

/// Where `catalog`'s entry with `download_url` is read from, or why not.
///
/// ```
/// use plugboard_core::marketplace::download::{locate, Download};
/// let remote = "https://plugins.example/catalog.json";
/// assert_eq!(
///     locate(remote, "b/x.tar.gz").unwrap(),
///     Download::Remote("https://plugins.example/b/x.tar.gz".into())
/// );
/// assert!(locate(remote, "file:///etc/passwd").is_err());
/// assert!(locate("/srv/catalog/catalog.json", "../outside.tar.gz").is_err());
/// assert!(locate("/srv/catalog/catalog.json", "/etc/passwd").is_err());
/// ```
pub fn locate(catalog: &str, download_url: &str) -> Result<Download, DownloadError> {
    let refuse = |why| DownloadError::Refused {
        url: download_url.chars().take(200).collect(),
        why,
    };
    let url_scheme = scheme(download_url);
    if is_http(url_scheme.as_deref()) {
        return Ok(Download::Remote(download_url.to_string()));
    }
    if is_http(scheme(catalog).as_deref()) {
        if url_scheme.is_some() {
            return Err(refuse(
                "a catalog served over http(s) may only name http(s) downloads",
            ));
        }
        // Relative to the catalog's URL: still on http(s).
        let base = catalog.rfind('/').map_or(catalog, |i| &catalog[..i]);
        return Ok(Download::Remote(format!(
            "{base}/{}",
            download_url.trim_start_matches('/')
        )));
    }
    let relative = match url_scheme.as_deref() {
        None => download_url,
        Some("file") => download_url
            .get("file://".len()..)
            .filter(|_| download_url[..7].eq_ignore_ascii_case("file://"))
            .ok_or_else(|| refuse("a file URL must be file://<path>"))?,
        Some(_) => return Err(refuse("only http(s) and paths inside the catalog's folder")),
    };
    let folder = catalog_folder(catalog);
    let inside = "a file catalog's downloads must be files inside its folder";
    let path = Path::new(relative);
    if relative.is_empty() || relative.contains('\0') {
        return Err(refuse(inside));
    }
    // `file://` URLs are absolute: allowed when they point into the folder.
    let candidate = if path.is_absolute() {
        path.to_path_buf()
    } else {
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(refuse(inside));
        }
        folder.join(path)
    };
    // Symlinks resolved: the file itself must be inside the folder. Missing,
    // outside and not-a-file read the same (nothing is revealed).
    let (Ok(root), Ok(real)) = (folder.canonicalize(), candidate.canonicalize()) else {
        return Err(refuse(inside));
    };
    if real.starts_with(&root) && real.is_file() {
        Ok(Download::Local(real))
    } else {
        Err(refuse(inside))
    }
}

/// The folder a file catalog lives in.
fn catalog_folder(catalog: &str) -> PathBuf {
    let path = Path::new(
        catalog
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("file://"))
            .map_or(catalog, |_| &catalog[7..]),
    );
    if path.is_dir() {
        path.to_path_buf()
    } else {
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// Reads the bundle, refusing more than [`MAX_BUNDLE`] bytes, reporting
/// (bytes so far, total if known) as it reads.
pub fn fetch(from: &Download, report: &dyn Fn(u64, Option<u64>)) -> Result<Vec<u8>, DownloadError> {
    fetch_within(from, MAX_BUNDLE, DOWNLOAD_TIMEOUT, true, report)
}

/// [`fetch`] with another size limit and timeout, and redirects followed
/// or not (catalog images: not).
pub fn fetch_within(
    from: &Download,
    max: u64,
    timeout: Duration,
    follow_redirects: bool,
    report: &dyn Fn(u64, Option<u64>),
) -> Result<Vec<u8>, DownloadError> {
    let fail = |why: String| DownloadError::Fetch {
        url: from.to_string(),
        why,
    };
    let too_big = || fail(format!("larger than {max} bytes"));
    match from {
        Download::Remote(url) => {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .max_redirects(if follow_redirects { 10 } else { 0 })
                .build()
                .into();
            let mut res = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
            let total = res.body().content_length();
            if total.is_some_and(|t| t > max) {
                return Err(too_big());
            }
            let mut reader = res.body_mut().as_reader().take(max + 1);
            read_all(&mut reader, total, report).map_err(|e| fail(e.to_string()))
        }
        Download::Local(path) => {
            let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
            let total = file.metadata().map_err(|e| fail(e.to_string()))?.len();
            if total > max {
                return Err(too_big());
            }
            read_all(&mut file.take(max + 1), Some(total), report).map_err(|e| fail(e.to_string()))
        }
    }
    .and_then(|bytes| {
        if bytes.len() as u64 > max {
            Err(too_big())
        } else {
            Ok(bytes)
        }
    })
}

fn read_all(
    reader: &mut dyn Read,
    total: Option<u64>,
    report: &dyn Fn(u64, Option<u64>),
) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..n]);
        report(out.len() as u64, total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_catalogs_keep_downloads_inside_their_folder() {
        let root = tempfile::tempdir().unwrap();
        let shop = root.path().join("shop");
        std::fs::create_dir_all(shop.join("b")).unwrap();
        std::fs::write(shop.join("b/x.tar.gz"), b"x").unwrap();
        std::fs::write(root.path().join("outside.tar.gz"), b"secret").unwrap();
        let catalog = shop.join("catalog.json").display().to_string();
        let real = shop.join("b/x.tar.gz").canonicalize().unwrap();
        assert_eq!(
            locate(&catalog, "b/x.tar.gz").unwrap(),
            Download::Local(real.clone())
        );
        assert_eq!(
            locate(&catalog, "./b/x.tar.gz").unwrap(),
            Download::Local(real.clone())
        );
        let absolute = format!("file://{}", real.display());
        assert_eq!(locate(&catalog, &absolute).unwrap(), Download::Local(real));
        let file_catalog = format!("file://{catalog}");
        assert!(locate(&file_catalog, "b/x.tar.gz").is_ok());

        #[cfg(unix)]
        std::os::unix::fs::symlink(root.path().join("outside.tar.gz"), shop.join("link.tar.gz"))
            .unwrap();
        let outside = root.path().join("outside.tar.gz").display().to_string();
        let missing = root.path().join("missing.tar.gz").display().to_string();
        let mut refused = vec![
            "../outside.tar.gz".to_string(),
            "b/../../outside.tar.gz".into(),
            outside.clone(),
            format!("file://{outside}"),
            missing.clone(),
            format!("file://{missing}"),
            "../missing.tar.gz".into(),
            "b".into(),
            "".into(),
            "ftp://example.com/x.tar.gz".into(),
            "data:application/gzip;base64,AAAA".into(),
            "file:relative".into(),
        ];
        if cfg!(unix) {
            refused.push("link.tar.gz".into());
        }
        let mut messages = std::collections::HashSet::new();
        for url in &refused {
            let err = locate(&catalog, url).expect_err(url);
            let DownloadError::Refused { why, .. } = err else {
                panic!("{url}: {err}");
            };
            if !url.contains(':') || url.starts_with("file://") {
                messages.insert(why);
            }
        }
        // Existing and missing files outside read the same.
        assert_eq!(messages.len(), 1, "{messages:?}");
    }

    #[test]
    fn http_catalogs_name_http_downloads_only() {
        let catalog = "http://127.0.0.1:9/shop/catalog.json";
        assert_eq!(
            locate(catalog, "guestbook.tar.gz").unwrap(),
            Download::Remote("http://127.0.0.1:9/shop/guestbook.tar.gz".into())
        );
        assert_eq!(
            locate(catalog, "HTTPS://cdn.example/x.tar.gz").unwrap(),
            Download::Remote("HTTPS://cdn.example/x.tar.gz".into())
        );
        for url in [
            "file:///etc/passwd",
            "FILE:///etc/passwd",
            "file:/etc/passwd",
            "ftp://example.com/x",
            "gopher://example.com/x",
            "data:,x",
        ] {
            let err = locate(catalog, url).expect_err(url);
            assert!(
                err.to_string().contains("only name http(s)"),
                "{url}: {err}"
            );
        }
        // A path is joined onto the catalog's URL: still http.
        assert_eq!(
            locate(catalog, "/etc/passwd").unwrap(),
            Download::Remote("http://127.0.0.1:9/shop/etc/passwd".into())
        );
    }
}
