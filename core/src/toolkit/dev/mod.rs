//! `plugboard dev`: the inner loop. On every save the plugin crate is
//! built, checked (`plugin check`), packed, signed with a development key
//! and added to a development catalog, then installed on the development
//! server through the marketplace's update path (verification, load check,
//! hot reload with drain: the same path an operator's update takes). A
//! build error or a failed check is printed and the running version keeps
//! serving.
//!
//! Everything it keeps is in `<crate>/target/plugboard-dev/`: the key
//! (`dev.key.json`), the catalog and its bundles, and the data folder of
//! the server it starts (`data/`).

pub mod server;
pub mod surface;
pub mod watch;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;

use crate::{
    inspect::Inspector,
    manifest::{Manifest, ManifestFile},
    marketplace::{
        author::{self, Listing},
        catalog::{Catalog, CatalogIo},
        check::{self, CheckOptions},
        signing::KeyPair,
    },
};
use server::DevServer;
use surface::Surface;
use watch::Snapshot;

/// How often the crate's files are compared.
pub const POLL: Duration = Duration::from_millis(150);

/// What one save led to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The new build serves.
    Reloaded {
        /// The plugin.
        slug: String,
        /// Its version.
        version: String,
        /// `cargo build`.
        build: Duration,
        /// The check, pack, signature and catalog entry.
        prepare: Duration,
        /// From the install request to the new build serving (catalog
        /// sync, verification, load check, hot reload).
        reload: Duration,
        /// What changed in capabilities, routes, hooks, jobs, UI (`+`/`-`
        /// lines); empty when nothing did.
        changes: Vec<String>,
    },
    /// The build failed (cargo printed why); the running version serves.
    BuildFailed,
    /// `plugin check` found problems; not reloaded.
    CheckFailed(Vec<String>),
    /// The server refused the build; the running version serves.
    Refused(String),
    /// The server already runs this very build (same bundle digest).
    Unchanged {
        /// The plugin.
        slug: String,
        /// Its version.
        version: String,
    },
}

/// The development session for one crate.
pub struct Session {
    crate_dir: PathBuf,
    state: PathBuf,
    release: bool,
    key: PathBuf,
    catalog: PathBuf,
    inspector: Inspector,
    server: DevServer,
    surface: Option<Surface>,
}

impl Session {
    /// Where a crate's development files go.
    pub fn state_dir(crate_dir: &Path) -> PathBuf {
        crate_dir.join("target").join("plugboard-dev")
    }

    /// A session for the crate at `crate_dir` on `server`: the development
    /// key (made on first use) trusted there and the development catalog
    /// listed as a source. `release` builds with `--release`.
    pub fn new(
        crate_dir: &Path,
        server: DevServer,
        inspector: Inspector,
        release: bool,
    ) -> anyhow::Result<Session> {
        let crate_dir = crate_dir
            .canonicalize()
            .with_context(|| format!("{}", crate_dir.display()))?;
        Manifest::read(&crate_dir).context("reading the plugin's manifest")?;
        let state = Self::state_dir(&crate_dir);
        std::fs::create_dir_all(&state).with_context(|| format!("{}", state.display()))?;
        let key = state.join("dev.key.json");
        if !key.exists() {
            let pair = KeyPair::generate()?;
            crate::private_files::create_private_file(&key)?;
            std::fs::write(&key, serde_json::to_string_pretty(&pair)?)?;
        }
        let pair: KeyPair = serde_json::from_str(&std::fs::read_to_string(&key)?)
            .with_context(|| format!("{} is not a key file", key.display()))?;
        let catalog = state.join("catalog.json");
        if !catalog.exists() {
            // Listed as a source before the first build: empty, not absent.
            Catalog::default().write(&catalog)?;
        }
        server.prepare(&pair.public_key, &catalog)?;
        Ok(Session {
            crate_dir,
            state,
            release,
            key,
            catalog,
            inspector,
            server,
            surface: None,
        })
    }

    /// The server.
    pub fn server(&self) -> &DevServer {
        &self.server
    }

    /// The crate's folder.
    pub fn crate_dir(&self) -> &Path {
        &self.crate_dir
    }

    /// Builds, checks, publishes and reloads once.
    pub fn cycle(&mut self) -> Outcome {
        let started = Instant::now();
        let library = match author::build_profile(&self.crate_dir, self.release) {
            Ok(l) => l,
            Err(_) => return Outcome::BuildFailed,
        };
        let build = started.elapsed();
        let prepared = Instant::now();
        let options = CheckOptions {
            library: Some(&library),
            published: None,
        };
        let report = check::check(&self.inspector, &self.crate_dir, options);
        if !report.problems.is_empty() {
            return Outcome::CheckFailed(
                report
                    .problems
                    .iter()
                    .map(|p| format!("{}: {}", p.code, p.message))
                    .collect(),
            );
        }
        let published = self.publish(&library);
        let (manifest, sha256) = match published {
            Ok(p) => p,
            Err(e) => return Outcome::Refused(format!("{e:#}")),
        };
        let prepare = prepared.elapsed();
        let running = self.server.plugin(&manifest.slug).ok();
        if running
            .is_some_and(|p| p["bundle"]["sha256"] == sha256.as_str() && p["state"] == "active")
        {
            self.surface = Some(Surface::of(&manifest, &report.declared.unwrap_or_default()));
            return Outcome::Unchanged {
                slug: manifest.slug.to_string(),
                version: manifest.version,
            };
        }
        let reload = match self.server.publish(&manifest.slug, &manifest.version) {
            Ok(d) => d,
            Err(e) => return Outcome::Refused(e.to_string()),
        };
        let surface = Surface::of(&manifest, &report.declared.unwrap_or_default());
        let changes = match &self.surface {
            Some(old) => old.diff(&surface),
            None => Vec::new(),
        };
        self.surface = Some(surface);
        Outcome::Reloaded {
            slug: manifest.slug.to_string(),
            version: manifest.version.clone(),
            build,
            prepare,
            reload,
            changes,
        }
    }

    /// Packs `library` with the crate's manifest and assets, signs the
    /// bundle and writes its entry in the development catalog.
    fn publish(&self, library: &Path) -> anyhow::Result<(Manifest, String)> {
        let packed = author::pack_fast(&self.crate_dir, library, &self.state)?;
        author::sign(&packed.path, &self.key)?;
        author::catalog_add(
            &self.inspector,
            &self.catalog,
            &packed.path,
            Listing {
                author: "plugboard dev".into(),
                ..Listing::default()
            },
        )?;
        Ok((packed.manifest, packed.sha256))
    }

    /// Waits for the next save (files added, removed or changed under the
    /// crate, `target/` aside), then for the writes to settle; the files.
    pub fn wait_for_change(&self, since: &mut Snapshot) -> Vec<PathBuf> {
        loop {
            std::thread::sleep(POLL);
            let now = Snapshot::take(&self.crate_dir);
            let changed = since.changed(&now);
            if changed.is_empty() {
                continue;
            }
            // An editor may write in several steps: wait until one poll
            // sees nothing new.
            let mut settled = now;
            loop {
                std::thread::sleep(POLL / 3);
                let again = Snapshot::take(&self.crate_dir);
                if again == settled {
                    break;
                }
                settled = again;
            }
            let changed = since.changed(&settled);
            *since = settled;
            if !changed.is_empty() {
                return changed;
            }
        }
    }

    /// A snapshot of the crate's files now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::take(&self.crate_dir)
    }

    /// The development files' folder.
    pub fn state(&self) -> &Path {
        &self.state
    }
}
