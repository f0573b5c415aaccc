//! One plugin of the catalogs as its page shows it before installing:
//! every version offered (newest first), each with its publisher and
//! signature status, what it asks for in words, its pictures as host URLs;
//! and what this installation runs of it.
//!
//! Pictures (`icon_url`, `screenshots`) are fetched by the host, never by
//! the browser from a catalog's server ([`Marketplace::catalog_image`]):
//! only URLs the source's catalog names, placed by the bundle rules of
//! [`super::download`] (a file catalog's pictures stay inside its folder),
//! at most [`MAX_IMAGE`] bytes, and only PNG, JPEG, GIF or WebP by their
//! first bytes. SVG is refused: it can carry scripts.

use std::{collections::HashMap, time::Duration};

use serde::Serialize;

use super::{
    catalog::{current_platform, newer, CatalogEntry},
    consent::{self, Ask},
    download::{self, DownloadError},
    signing,
    sources::{Source, Sources},
    Marketplace,
};

/// The largest catalog picture the host serves.
pub const MAX_IMAGE: u64 = 2 << 20;
/// How long fetching one may take.
pub const IMAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// A plugin of the catalogs.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogDetail {
    /// The plugin.
    pub slug: String,
    /// Every version offered for this platform and others, newest first.
    pub versions: Vec<OfferedVersion>,
    /// What this installation has of it.
    pub installed: Option<InstalledVersion>,
}

/// The installed version.
#[derive(Debug, Clone, Serialize)]
pub struct InstalledVersion {
    /// Its version.
    pub version: String,
    /// Its lifecycle state.
    pub state: String,
    /// What it asks for.
    pub asks: Vec<Ask>,
}

/// One version offered.
#[derive(Debug, Clone, Serialize)]
pub struct OfferedVersion {
    /// The catalog entry as published.
    #[serde(flatten)]
    pub entry: CatalogEntry,
    /// The source offering it.
    pub source_id: i64,
    /// The icon, through the host (`None`: the entry has none).
    pub icon: Option<String>,
    /// The screenshots, through the host.
    pub pictures: Vec<Picture>,
    /// Who publishes it, and whether the signature holds.
    pub publisher: Publisher,
    /// What it asks for, in words.
    pub asks: Vec<Ask>,
    /// What it asks for beyond the installed version.
    pub asks_added: Vec<Ask>,
    /// Built for this host's platform.
    pub for_this_platform: bool,
}

/// A screenshot, through the host.
#[derive(Debug, Clone, Serialize)]
pub struct Picture {
    /// The host URL.
    pub url: String,
    /// What it shows.
    pub caption: String,
}

/// The publisher of a version and its signature's status.
#[derive(Debug, Clone, Serialize)]
pub struct Publisher {
    /// `verified` (signed by a trusted key, the signature holds),
    /// `unsigned`, `untrusted_key` (signed, by a key this host does not
    /// trust) or `invalid` (the signature does not verify).
    pub signature: &'static str,
    /// The signing key's id.
    pub key_id: Option<String>,
    /// The trusted key's name, when verified.
    pub name: Option<String>,
    /// The `author` the catalog states (not verified).
    pub author: String,
}

/// Why a catalog picture is not served.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// No such source.
    #[error("no catalog source {0}")]
    NoSource(i64),
    /// The source's catalog does not name this picture.
    #[error("catalog source {0} names no picture {1:?}")]
    NotNamed(i64, String),
    /// Its location breaks the rules, or it could not be read.
    #[error(transparent)]
    Download(#[from] DownloadError),
    /// Not a PNG, JPEG, GIF or WebP image.
    #[error("{0:?} is not a PNG, JPEG, GIF or WebP image")]
    NotAnImage(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
}

/// The host URL of picture `url` of source `source`.
fn picture_url(source: i64, url: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("source", &source.to_string());
    query.append_pair("url", url);
    format!("/api/admin/catalog/image?{}", query.finish())
}

/// The content type of an image by its first bytes.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

impl Marketplace {
    /// Plugin `slug` as the catalogs offer it (`None`: no source does).
    pub async fn catalog_detail(
        &self,
        slug: &str,
    ) -> Result<Option<CatalogDetail>, sea_orm::DbErr> {
        let sources = self.sources().sync(false).await?;
        let keys: HashMap<String, super::sources::TrustedKey> = self
            .sources()
            .keys()
            .await?
            .into_iter()
            .map(|k| (k.key_id.clone(), k))
            .collect();
        let installed = match self.runtime().store().get(slug).await {
            Ok(record) => Some(InstalledVersion {
                version: record.version,
                state: record.state.as_str().to_string(),
                asks: self.running_asks(slug),
            }),
            Err(_) => None,
        };
        let platform = current_platform();
        let mut versions: Vec<OfferedVersion> = Sources::offers(&sources)
            .filter(|(_, e)| e.slug == slug)
            .map(|(source, e)| {
                let asks = consent::of_entry(e);
                let asks_added = installed
                    .as_ref()
                    .map(|i| consent::added(&i.asks, &asks))
                    .unwrap_or_default();
                OfferedVersion {
                    icon: e.icon_url.as_deref().map(|u| picture_url(source.id, u)),
                    pictures: e
                        .screenshots
                        .iter()
                        .map(|s| Picture {
                            url: picture_url(source.id, &s.url),
                            caption: s.caption.clone(),
                        })
                        .collect(),
                    publisher: publisher(e, &keys),
                    for_this_platform: e.platform == platform,
                    source_id: source.id,
                    asks,
                    asks_added,
                    entry: e.clone(),
                }
            })
            .collect();
        if versions.is_empty() {
            return Ok(None);
        }
        versions.sort_by(|a, b| {
            if newer(&a.entry.version, &b.entry.version) {
                std::cmp::Ordering::Less
            } else if newer(&b.entry.version, &a.entry.version) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        Ok(Some(CatalogDetail {
            slug: slug.to_string(),
            versions,
            installed,
        }))
    }

    /// Picture `url` as source `source_id`'s catalog names it (an icon or
    /// a screenshot): its bytes and content type.
    pub async fn catalog_image(
        &self,
        source_id: i64,
        url: &str,
    ) -> Result<(Vec<u8>, &'static str), ImageError> {
        let sources = self.sources().sync(false).await?;
        let source: Source = sources
            .into_iter()
            .find(|s| s.id == source_id)
            .ok_or(ImageError::NoSource(source_id))?;
        let named = source.entries().iter().any(|e| {
            e.icon_url.as_deref() == Some(url) || e.screenshots.iter().any(|s| s.url == url)
        });
        if !named {
            return Err(ImageError::NotNamed(source_id, url.to_string()));
        }
        let from = download::locate(&source.location, url)?;
        // A picture comes from the catalog's own server (or folder): a
        // catalog cannot make the host fetch other addresses, internal
        // ones included, merely because an admin opened the marketplace.
        if let download::Download::Remote(resolved) = &from {
            if origin(resolved) != origin(&source.location) {
                return Err(ImageError::Download(DownloadError::Refused {
                    url: url.to_string(),
                    why: "a catalog's pictures must come from the catalog's own server",
                }));
            }
        }
        let bytes = tokio::task::spawn_blocking(move || {
            // No redirects: the server must not send the host elsewhere.
            download::fetch_within(&from, MAX_IMAGE, IMAGE_TIMEOUT, false, &|_, _| {})
        })
        .await
        .map_err(|e| {
            ImageError::Download(DownloadError::Fetch {
                url: url.to_string(),
                why: e.to_string(),
            })
        })??;
        let kind = image_type(&bytes).ok_or_else(|| ImageError::NotAnImage(url.to_string()))?;
        Ok((bytes, kind))
    }
}

/// `scheme://host:port` of an http(s) URL (lower-cased), or `None`.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    // User info is not part of the origin, and never trusted.
    let host = authority.rsplit('@').next()?.to_ascii_lowercase();
    let default = if scheme == "http" { ":80" } else { ":443" };
    let host = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        && !host.ends_with(']')
    {
        host
    } else {
        format!("{host}{default}")
    };
    Some(format!("{scheme}://{host}"))
}

fn publisher(e: &CatalogEntry, keys: &HashMap<String, super::sources::TrustedKey>) -> Publisher {
    let (signature, name) = match (&e.signature, &e.key_id) {
        (Some(sig), Some(key_id)) => match keys.get(key_id) {
            Some(k) => {
                let key = signing::PublicKey {
                    key_id: k.key_id.clone(),
                    public_key: k.public_key.clone(),
                };
                if signing::verify(&key, &e.sha256, sig).is_ok() {
                    ("verified", Some(k.name.clone()).filter(|n| !n.is_empty()))
                } else {
                    ("invalid", None)
                }
            }
            None => ("untrusted_key", None),
        },
        _ => ("unsigned", None),
    };
    Publisher {
        signature,
        key_id: e.key_id.clone(),
        name,
        author: e.author.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_raster_images_are_recognised() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a..."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        for not in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"[..],
            b"<html>",
            b"",
            b"RIFF\0\0\0\0WAVE",
        ] {
            assert_eq!(image_type(not), None);
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let o = |u| origin(u);
        assert_eq!(
            o("https://shop.example/c/catalog.json"),
            o("https://SHOP.example:443/img/a.png")
        );
        assert_ne!(
            o("https://shop.example/c.json"),
            o("http://shop.example/a.png")
        );
        assert_ne!(
            o("https://shop.example/c.json"),
            o("https://shop.example:8443/a.png")
        );
        assert_ne!(
            o("https://shop.example/c.json"),
            o("https://shop.example@169.254.169.254/x")
        );
        assert_ne!(
            o("https://shop.example/c.json"),
            o("http://127.0.0.1/a.png")
        );
        assert_eq!(o("/srv/catalog.json"), None);
    }

    #[test]
    fn picture_urls_are_encoded() {
        assert_eq!(
            picture_url(3, "img/a b.png?x=1&y"),
            "/api/admin/catalog/image?source=3&url=img%2Fa+b.png%3Fx%3D1%26y"
        );
    }
}
