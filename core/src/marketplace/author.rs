//! The author's side: packing a plugin crate into a bundle, signing it, and
//! adding it to a catalog (`plugboard plugin pack|sign`, `plugboard catalog
//! add`, `plugboard keys new`).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _};

use super::{
    bundle,
    catalog::{current_platform, Catalog, CatalogEntry, CatalogIo, Requirements, Screenshot},
    signing::{sha256_hex, KeyPair},
};
use crate::{
    inspect::Inspector,
    manifest::{Manifest, ManifestFile, Target, MANIFEST_FILE},
};

/// A packed bundle.
#[derive(Debug, Clone)]
pub struct Packed {
    /// The `.tar.gz` written.
    pub path: PathBuf,
    /// Its SHA-256.
    pub sha256: String,
    /// The manifest it holds.
    pub manifest: Manifest,
}

/// Builds the plugin crate in `crate_dir` (release) unless `library` is
/// given, and writes `<out>/<slug>-<version>-<platform>.tar.gz` with its
/// `plugin.json`, the library and everything under `assets/`.
pub fn pack(crate_dir: &Path, library: Option<&Path>, out: &Path) -> anyhow::Result<Packed> {
    pack_with(crate_dir, library, out, bundle::pack)
}

/// [`pack`] with the fastest compression, for development builds
/// (`plugboard dev`).
pub fn pack_fast(crate_dir: &Path, library: &Path, out: &Path) -> anyhow::Result<Packed> {
    pack_with(crate_dir, Some(library), out, bundle::pack_fast)
}

/// The documents a bundle carries beside the manifest (Markdown, read as
/// text, at most [`MAX_DOCUMENT`] bytes each when read back).
pub const DOCUMENTS: [&str; 2] = ["README.md", "CHANGELOG.md"];

/// The most of a bundle's readme or changelog the host reads.
pub const MAX_DOCUMENT: u64 = 256 * 1024;

/// A bundle document in `dir` (see [`DOCUMENTS`]), when present and
/// readable as UTF-8 text within [`MAX_DOCUMENT`].
pub fn read_document(dir: &Path, name: &str) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(dir.join(name)).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_DOCUMENT).read_to_string(&mut text).ok()?;
    Some(text)
}

/// Packs a bundle's files (name, bytes) into its bytes.
type Compress = fn(&[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>>;

fn pack_with(
    crate_dir: &Path,
    library: Option<&Path>,
    out: &Path,
    compress: Compress,
) -> anyhow::Result<Packed> {
    let manifest = Manifest::read(crate_dir).context("reading the plugin's manifest")?;
    let library = match library {
        Some(path) => path.to_path_buf(),
        None => build(crate_dir)?,
    };
    let lib_name = manifest
        .library_for(&Target::current())
        .context("the manifest's `library`")?;
    let mut files = vec![
        (
            MANIFEST_FILE.to_string(),
            std::fs::read(crate_dir.join(MANIFEST_FILE))?,
        ),
        (
            lib_name.to_string(),
            std::fs::read(&library).with_context(|| format!("reading {}", library.display()))?,
        ),
    ];
    // The readme and changelog travel with the bundle: `catalog add` copies
    // them into the catalog, and an installed plugin's page shows them.
    for doc in DOCUMENTS {
        match std::fs::read(crate_dir.join(doc)) {
            Ok(bytes) => files.push((doc.to_string(), bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(anyhow::Error::from(e).context(format!("reading {doc}"))),
        }
    }
    let assets = crate_dir.join("assets");
    if assets.is_dir() {
        collect(&assets, "assets", &mut files)?;
    }
    let bytes = compress(&files)?;
    std::fs::create_dir_all(out)?;
    let path = out.join(format!(
        "{}-{}-{}.tar.gz",
        manifest.slug,
        manifest.version,
        current_platform()
    ));
    std::fs::write(&path, &bytes)?;
    Ok(Packed {
        path,
        sha256: sha256_hex(&bytes),
        manifest,
    })
}

fn collect(dir: &Path, prefix: &str, files: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = format!("{prefix}/{}", e.file_name().to_string_lossy());
        let kind = e.file_type()?;
        if kind.is_dir() {
            collect(&e.path(), &name, files)?;
        } else if kind.is_file() {
            files.push((name, std::fs::read(e.path())?));
        } else {
            bail!("{} is neither a file nor a folder", e.path().display());
        }
    }
    Ok(())
}

/// `cargo build --release` of the crate; the cdylib it produced.
pub fn build(crate_dir: &Path) -> anyhow::Result<PathBuf> {
    build_profile(crate_dir, true)
}

/// What a release build of a plugin library is given on top of its crate's
/// own `[profile.release]` (as `--config` overrides): the smallest library
/// that still unwinds panics. Measured on the guestbook (BENCHMARKS.md,
/// "Library and binary sizes"): 9.8 MB with the workspace's old profile,
/// 1.09 MB without debug info, 819 kB stripped, 765 kB with one codegen
/// unit; LTO changed nothing and `opt-level` "s"/"z" saved under 2 kB at
/// the cost of speed, so neither is used. `panic` is left to the crate:
/// `plugin check` refuses `abort`.
pub const PACK_PROFILE: [&str; 3] = [
    "profile.release.debug=false",
    "profile.release.strip=true",
    "profile.release.codegen-units=1",
];

/// [`build`] in the release profile (with [`PACK_PROFILE`]) or (`release`
/// false) the dev profile; the compiler's messages go to standard error as
/// cargo renders them.
pub fn build_profile(crate_dir: &Path, release: bool) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.arg("build");
    if release {
        command.arg("--release");
        for setting in PACK_PROFILE {
            command.args(["--config", setting]);
        }
    }
    let output = command
        .args([
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(crate_dir.join("Cargo.toml"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo")?;
    if !output.status.success() {
        bail!("cargo build failed");
    }
    let suffix = std::env::consts::DLL_SUFFIX;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "cdylib"))
        })
        .flat_map(|m| {
            m["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.as_str().map(PathBuf::from))
        })
        .rfind(|f| f.to_string_lossy().ends_with(suffix))
        .context("cargo built no cdylib (is crate-type = [\"cdylib\"] set?)")
}

/// A detached signature, written next to the bundle as `<bundle>.sig`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DetachedSignature {
    /// The bundle's SHA-256.
    pub sha256: String,
    /// The signing key's id.
    pub key_id: String,
    /// The signature (hex).
    pub signature: String,
}

/// Signs the bundle at `bundle` with the key in `key_file`; writes and
/// returns the detached signature.
pub fn sign(bundle: &Path, key_file: &Path) -> anyhow::Result<DetachedSignature> {
    let key: KeyPair = serde_json::from_str(
        &std::fs::read_to_string(key_file)
            .with_context(|| format!("reading {}", key_file.display()))?,
    )
    .context("not a key file")?;
    let sha256 = sha256_hex(&std::fs::read(bundle)?);
    let sig = DetachedSignature {
        signature: key.sign(&sha256)?,
        key_id: key.key_id,
        sha256,
    };
    std::fs::write(sig_path(bundle), serde_json::to_string_pretty(&sig)? + "\n")?;
    Ok(sig)
}

fn sig_path(bundle: &Path) -> PathBuf {
    let mut p = bundle.as_os_str().to_owned();
    p.push(".sig");
    PathBuf::from(p)
}

/// What `catalog add` records besides what the bundle says.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The download URL (default: the bundle's file name, relative to the catalog).
    pub download_url: Option<String>,
    /// Author.
    pub author: String,
    /// Category.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Icon.
    pub icon_url: Option<String>,
    /// Screenshots.
    pub screenshots: Vec<Screenshot>,
    /// Web site.
    pub homepage: Option<String>,
    /// Licence (SPDX).
    pub license: Option<String>,
}

/// Writes or updates the entry for `bundle` in the catalog file; uses
/// `<bundle>.sig` when present (and checks it is for this bundle).
///
/// `requires.plugin_api` is `^` + the plugin-api version the bundle's
/// library was built against, read from the library by `inspector` (in a
/// child process), so hosts from that version on accept it.
pub fn catalog_add(
    inspector: &Inspector,
    catalog: &Path,
    bundle_path: &Path,
    listing: Listing,
) -> anyhow::Result<CatalogEntry> {
    let bytes = std::fs::read(bundle_path)?;
    let sha256 = sha256_hex(&bytes);
    let dir = tempfile_dir()?;
    let read = bundle::extract(&bytes, &dir, bundle::Limits::default())
        .map_err(anyhow::Error::from)
        .and_then(|_| {
            let manifest = Manifest::read(&dir)?;
            let library = manifest.library_file(&dir)?;
            let report = inspector
                .inspect(&library)
                .with_context(|| format!("{}: the library", bundle_path.display()))?;
            crate::loader::check_identity(&manifest, &report.slug, &report.version)?;
            semver::Version::parse(&report.api_version).with_context(|| {
                format!("the library reports plugin-api {:?}", report.api_version)
            })?;
            let docs = (
                read_document(&dir, DOCUMENTS[0]),
                read_document(&dir, DOCUMENTS[1]),
            );
            Ok((manifest, report, docs))
        });
    let _ = std::fs::remove_dir_all(&dir);
    let (manifest, report, (readme, changelog)) = read?;
    let sig = match std::fs::read_to_string(sig_path(bundle_path)) {
        Ok(text) => {
            let s: DetachedSignature = serde_json::from_str(&text).context("bad .sig file")?;
            if s.sha256 != sha256 {
                bail!("{}.sig is for another bundle", bundle_path.display());
            }
            Some(s)
        }
        Err(_) => None,
    };
    let file_name = bundle_path
        .file_name()
        .context("bundle path has no file name")?
        .to_string_lossy()
        .into_owned();
    let entry = CatalogEntry {
        name: manifest
            .name
            .clone()
            .unwrap_or_else(|| manifest.slug.to_string()),
        description: manifest.description.clone().unwrap_or_default(),
        slug: manifest.slug,
        version: manifest.version,
        author: listing.author,
        category: listing.category,
        tags: listing.tags,
        icon_url: listing.icon_url,
        download_url: listing.download_url.unwrap_or(file_name),
        sha256,
        signature: sig.as_ref().map(|s| s.signature.clone()),
        key_id: sig.map(|s| s.key_id),
        requires: Requirements {
            host: None,
            plugin_api: Some(format!("^{}", report.api_version)),
        },
        platform: current_platform(),
        capabilities: manifest.capabilities,
        config_schema: manifest.config_schema,
        dependencies: manifest.dependencies,
        permissions: manifest.permissions,
        readme,
        changelog,
        screenshots: listing.screenshots,
        homepage: listing.homepage,
        license: listing.license,
    };
    let mut cat = Catalog::read(catalog)?;
    cat.upsert(entry.clone());
    cat.write(catalog)?;
    Ok(entry)
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!(
        "plugboard-catalog-add-{}-{stamp}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
