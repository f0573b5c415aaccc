//! `plugboard plugin check`: what the server would refuse, found before a
//! bundle leaves the author's machine. Every problem is listed (not only
//! the first), each with a stable code for tools.
//!
//! Checked, for a plugin crate or folder, or a bundle (`.tar.gz`):
//! * the manifest parses and validates (the schema's rules);
//! * the library loads (in a child process) and its code reports the
//!   manifest's slug and version;
//! * what the code declares is granted by the manifest's capabilities:
//!   routes, jobs (`cron`), migrations (`sql`), each subscription
//!   (`events.subscribe`); a manifest without capabilities is flagged;
//! * the manifest gives an access level to every route the code serves,
//!   and lists no route the code does not serve;
//! * every `filters` policy names a hook the code implements;
//! * every UI module the manifest names is in `assets/`;
//! * no `panic = "abort"` in the crate's `Cargo.toml` (a panic would then
//!   end the host instead of failing one call);
//! * with a catalog to compare with ([`CheckOptions::published`]), the
//!   version is newer than every version of the plugin it already lists
//!   (servers offer an update only for a newer version).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
    bundle::{self, Limits},
    catalog::{newer, Catalog},
};
use crate::{
    inspect::Inspector,
    manifest::{Manifest, ManifestFile},
};

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A stable name for tools (`capability_missing`, `slug_mismatch`, …).
    pub code: &'static str,
    /// What is wrong, and where.
    pub message: String,
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// The manifest's slug, when it could be read.
    pub slug: Option<String>,
    /// The manifest's version, when it could be read.
    pub version: Option<String>,
    /// Every problem (none: the plugin passes).
    pub problems: Vec<Problem>,
    /// What the library's code declares, when it could be loaded.
    pub declared: Option<crate::inspect::DeclaredByCode>,
}

impl CheckReport {
    fn problem(&mut self, code: &'static str, message: impl Into<String>) {
        self.problems.push(Problem {
            code,
            message: message.into(),
        });
    }
}

/// What to check against, beyond the plugin itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions<'a> {
    /// The built library to check (by default, the one the manifest names;
    /// a crate without one is built with `cargo build --release`).
    pub library: Option<&'a Path>,
    /// The catalog the plugin is published in: its version must be newer
    /// than every version listed there.
    pub published: Option<&'a Catalog>,
}

/// Checks the plugin at `target` (a crate or plugin folder, or a bundle).
pub fn check(inspector: &Inspector, target: &Path, options: CheckOptions<'_>) -> CheckReport {
    let mut report = if target.is_file() {
        check_bundle(inspector, target)
    } else {
        check_dir(inspector, target, options.library)
    };
    if let (Some(catalog), Some(slug), Some(version)) =
        (options.published, &report.slug, &report.version)
    {
        if let Some(listed) = catalog.find(slug, None) {
            if !newer(version, &listed.version) {
                let message = format!(
                    "version {version} is not newer than {}, which the catalog already lists: raise the version (in Cargo.toml and plugin.json)",
                    listed.version
                );
                report.problem("version_not_newer", message);
            }
        }
    }
    report
}

fn check_dir(inspector: &Inspector, target: &Path, library: Option<&Path>) -> CheckReport {
    let mut report = CheckReport::default();
    let manifest = match Manifest::read(target) {
        Ok(m) => m,
        Err(e) => {
            report.problem("manifest_invalid", e.to_string());
            return report;
        }
    };
    report.slug = Some(manifest.slug.to_string());
    report.version = Some(manifest.version.clone());
    let library = match library {
        Some(l) => Some(l.to_path_buf()),
        None => match manifest.library_file(target) {
            Ok(l) if l.exists() => Some(l),
            _ if target.join("Cargo.toml").exists() => match super::author::build(target) {
                Ok(l) => Some(l),
                Err(e) => {
                    report.problem("build_failed", format!("{e:#}"));
                    None
                }
            },
            Ok(l) => {
                report.problem(
                    "library_missing",
                    format!(
                        "no library at {} and no Cargo.toml to build one",
                        l.display()
                    ),
                );
                None
            }
            Err(e) => {
                report.problem("library_missing", e.to_string());
                None
            }
        },
    };
    check_folder(
        inspector,
        target,
        &manifest,
        library.as_deref(),
        &mut report,
    );
    report
}

fn check_bundle(inspector: &Inspector, bundle_path: &Path) -> CheckReport {
    let mut report = CheckReport::default();
    let unpacked = match scratch_dir() {
        Ok(d) => d,
        Err(e) => {
            report.problem("bundle_invalid", format!("cannot unpack: {e}"));
            return report;
        }
    };
    let extracted = std::fs::read(bundle_path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            bundle::extract(&bytes, &unpacked.0, Limits::default()).map_err(|e| e.to_string())
        });
    if let Err(e) = extracted {
        report.problem("bundle_invalid", e);
        return report;
    }
    let mut inner = check_dir(inspector, &unpacked.0, None);
    if inner.problems.iter().any(|p| p.code == "build_failed") {
        inner.problems.retain(|p| p.code != "build_failed");
        inner.problem("library_missing", "the bundle holds no library");
    }
    inner
}

/// A scratch folder removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dir() -> std::io::Result<Scratch> {
    let dir = std::env::temp_dir().join(format!(
        "plugboard-check-{}-{}",
        std::process::id(),
        crate::runtime::unique()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(Scratch(dir))
}

fn check_folder(
    inspector: &Inspector,
    folder: &Path,
    manifest: &Manifest,
    library: Option<&Path>,
    report: &mut CheckReport,
) {
    let caps = &manifest.capabilities;
    if caps.is_inferred() {
        report.problem(
            "capabilities_missing",
            "the manifest declares no `capabilities`: list what the plugin may use (hosts infer them only for plugins written before capabilities existed)",
        );
    }
    for (kind, module) in ui_modules(manifest) {
        if !folder.join("assets").join(&module).is_file() {
            report.problem(
                "ui_module_missing",
                format!("the manifest's {kind} module {module:?} is not in assets/"),
            );
        }
    }
    if let Ok(cargo) = std::fs::read_to_string(folder.join("Cargo.toml")) {
        if aborts_on_panic(&cargo) {
            report.problem(
                "panic_abort",
                "Cargo.toml sets panic = \"abort\": a panic in the plugin would end the host instead of failing one call; remove it (plugins need panic = \"unwind\")",
            );
        }
    }
    let Some(library) = library else { return };
    let found = match inspector.inspect(library) {
        Ok(r) => r,
        Err(e) => {
            report.problem("load_failed", e.to_string());
            return;
        }
    };
    report.declared = Some(found.declared.clone());
    if found.slug != manifest.slug.as_str() {
        report.problem(
            "slug_mismatch",
            format!(
                "the code says slug {:?}, the manifest {:?}",
                found.slug, manifest.slug
            ),
        );
    }
    if found.version != manifest.version {
        report.problem(
            "version_mismatch",
            format!(
                "the code says version {}, the manifest {}",
                found.version, manifest.version
            ),
        );
    }
    let declared = &found.declared;
    let mut missing = |granted: bool, what: String, capability: &str| {
        if !granted {
            report.problem(
                "capability_missing",
                format!("the code declares {what} but the manifest's capabilities do not grant `{capability}`"),
            );
        }
    };
    if declared.routes > 0 {
        missing(
            caps.routes,
            format!("{} route(s)", declared.routes),
            "routes",
        );
    }
    if declared.jobs > 0 {
        missing(caps.cron, format!("{} job(s)", declared.jobs), "cron");
    }
    if declared.migrations > 0 {
        missing(
            caps.sql,
            format!("{} migration(s)", declared.migrations),
            "sql",
        );
    }
    for pattern in &declared.subscriptions {
        missing(
            caps.allows_subscription(pattern),
            format!("a subscription to {pattern:?}"),
            "events.subscribe",
        );
    }
    let same =
        |m: &str, p: &str, method: &str, path: &str| m.eq_ignore_ascii_case(method) && p == path;
    for (method, path) in &declared.route_list {
        if !manifest
            .routes
            .iter()
            .any(|r| same(&r.method, &r.path, method, path))
        {
            report.problem(
                "route_access_missing",
                format!("the code serves {method} {path}, which the manifest's `routes` gives no access level"),
            );
        }
    }
    for hook in manifest.filters.keys() {
        if !declared.hooks.iter().any(|h| h == hook) {
            report.problem(
                "filter_unknown",
                format!("the manifest's `filters` sets a failure policy for {hook:?}, a hook the code does not implement"),
            );
        }
    }
    for r in &manifest.routes {
        if !declared
            .route_list
            .iter()
            .any(|(method, path)| same(&r.method, &r.path, method, path))
        {
            report.problem(
                "route_unknown",
                format!(
                    "the manifest's `routes` lists {} {}, which the code does not serve",
                    r.method, r.path
                ),
            );
        }
    }
}

/// Every UI module the manifest names: (kind, file under `assets/`).
fn ui_modules(manifest: &Manifest) -> Vec<(&'static str, String)> {
    let ui = &manifest.ui;
    let widgets = ui
        .widgets
        .iter()
        .chain(&ui.admin_widgets)
        .map(|w| ("widget", w.module.clone()));
    let pages = ui
        .pages
        .iter()
        .chain(&ui.admin_pages)
        .map(|p| ("page", p.module.clone()));
    widgets.chain(pages).collect()
}

/// Whether a `Cargo.toml` sets `panic = "abort"` in one of its profiles.
fn aborts_on_panic(cargo_toml: &str) -> bool {
    let mut in_profile = false;
    for line in cargo_toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_profile = line.starts_with("[profile");
            continue;
        }
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if in_profile && compact.starts_with("panic=\"abort\"") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_that_aborts_on_panic_is_found() {
        assert!(aborts_on_panic(
            "[package]\nname = \"x\"\n[profile.release]\npanic = \"abort\"\n"
        ));
        assert!(aborts_on_panic("[profile.dev]\n  panic=\"abort\" # no\n"));
        assert!(!aborts_on_panic("[profile.release]\npanic = \"unwind\"\n"));
        assert!(!aborts_on_panic("[package.metadata]\npanic = \"abort\"\n"));
    }
}
