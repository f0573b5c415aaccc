//! The UI registry: the contributions of every enabled plugin, built from
//! the `ui` section of its manifest when it is enabled and withdrawn when it
//! is disabled, and the manifest each viewer receives (filtered here, on the
//! server, by role). Module URLs carry the plugin's version, so browsers
//! may cache them for ever; each module's SRI hash is computed from the file.

use std::path::{Component, Path, PathBuf};

use base64::Engine;
use dashmap::DashMap;
use plugboard_frontend_manifest::{
    slots, Contribution, Kind, Module, Role, UiDeclaration, UiManifest, Viewer,
};
use sha2::{Digest, Sha384};

/// The contributions of the enabled plugins.
#[derive(Default)]
pub struct UiRegistry {
    by_plugin: DashMap<String, Vec<Contribution>>,
}

/// `sha384-<base64>` of `bytes`.
pub fn integrity(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
    )
}

/// The file `relative` inside `assets`, if it is one (no `..`, no absolute
/// path, no link leaving the folder).
pub fn asset_path(assets: &Path, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let root = assets.canonicalize().ok()?;
    let full = root.join(rel).canonicalize().ok()?;
    (full.starts_with(&root) && full.is_file()).then_some(full)
}

/// Why a plugin's UI declaration cannot be published.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// A module named in the manifest is not a file in `assets/`.
    #[error("ui: module {0:?} is not a file in the plugin's assets/")]
    MissingModule(String),
    /// A module could not be read.
    #[error("ui: {path}: {source}")]
    Unreadable {
        /// The module's path in `assets/`.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Builds the contributions a plugin declares; `assets` is its `assets/`
/// folder (none for built-ins). Every module must exist there.
pub fn contributions(
    slug: &str,
    version: &str,
    ui: &UiDeclaration,
    assets: Option<&Path>,
) -> Result<Vec<Contribution>, UiError> {
    let module = |path: &str| -> Result<Module, UiError> {
        let file = assets
            .and_then(|a| asset_path(a, path))
            .ok_or_else(|| UiError::MissingModule(path.into()))?;
        let bytes = std::fs::read(&file).map_err(|source| UiError::Unreadable {
            path: path.into(),
            source,
        })?;
        Ok(Module {
            url: format!("/plugins/{slug}/assets/{version}/{path}"),
            integrity: integrity(&bytes),
        })
    };
    let mut out = Vec::new();
    for (kind, list, least) in [
        (Kind::Widget, &ui.widgets, Role::User),
        (Kind::AdminWidget, &ui.admin_widgets, Role::Admin),
    ] {
        for w in list {
            out.push(Contribution {
                id: format!("{slug}:{}:{}", kind_name(kind), w.name),
                plugin: slug.into(),
                plugin_version: version.into(),
                kind,
                slot: w.slot.clone(),
                title: w.title.clone(),
                route: None,
                module: Some(module(&w.module)?),
                element: Some(w.element.clone()),
                order: w.position,
                width: Some(w.width),
                icon: None,
                role: w.role.max(least),
            });
        }
    }
    for (kind, list, least, prefix, slot) in [
        (Kind::Page, &ui.pages, Role::User, "/plugins", slots::PAGES),
        (
            Kind::AdminPage,
            &ui.admin_pages,
            Role::Admin,
            "/admin/plugins",
            slots::ADMIN_PAGES,
        ),
    ] {
        for p in list {
            out.push(Contribution {
                id: format!("{slug}:{}:{}", kind_name(kind), p.name),
                plugin: slug.into(),
                plugin_version: version.into(),
                kind,
                slot: slot.into(),
                title: p.title.clone(),
                route: Some(route(prefix, slug, &p.path)),
                module: Some(module(&p.module)?),
                element: Some(p.element.clone()),
                order: 0,
                width: None,
                icon: None,
                role: p.role.max(least),
            });
        }
    }
    for m in &ui.menu_items {
        let (prefix, least) = if m.admin {
            ("/admin/plugins", Role::Admin)
        } else {
            ("/plugins", Role::User)
        };
        out.push(Contribution {
            id: format!("{slug}:menu_item:{}", m.name),
            plugin: slug.into(),
            plugin_version: version.into(),
            kind: Kind::MenuItem,
            slot: slots::MENU.into(),
            title: m.label.clone(),
            route: Some(route(prefix, slug, &m.href)),
            module: None,
            element: None,
            order: m.order,
            width: None,
            icon: m.icon.clone(),
            role: m.role.max(least),
        });
    }
    Ok(out)
}

fn route(prefix: &str, slug: &str, path: &str) -> String {
    if path == "/" {
        format!("{prefix}/{slug}")
    } else {
        format!("{prefix}/{slug}{path}")
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Widget => "widget",
        Kind::AdminWidget => "admin_widget",
        Kind::Page => "page",
        Kind::AdminPage => "admin_page",
        Kind::MenuItem => "menu_item",
    }
}

impl UiRegistry {
    /// Makes `slug`'s contributions visible (replacing earlier ones).
    pub fn publish(&self, slug: &str, contributions: Vec<Contribution>) {
        if contributions.is_empty() {
            self.by_plugin.remove(slug);
        } else {
            self.by_plugin.insert(slug.to_string(), contributions);
        }
    }

    /// Removes `slug`'s contributions.
    pub fn withdraw(&self, slug: &str) {
        self.by_plugin.remove(slug);
    }

    /// The contributions of `slug`.
    pub fn of(&self, slug: &str) -> Vec<Contribution> {
        self.by_plugin
            .get(slug)
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// What `viewer` may see, by slot then order then id.
    pub fn manifest_for(&self, viewer: Viewer) -> UiManifest {
        let mut contributions: Vec<Contribution> = self
            .by_plugin
            .iter()
            .flat_map(|e| e.value().clone())
            .filter(|c| viewer.role >= c.role)
            .collect();
        contributions.sort_by(|a, b| {
            (a.slot.as_str(), a.order, a.id.as_str()).cmp(&(
                b.slot.as_str(),
                b.order,
                b.id.as_str(),
            ))
        });
        UiManifest {
            format: 1,
            viewer,
            contributions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_assets_folder() {
        let dir = tempfile::tempdir().unwrap();
        let assets = dir.path().join("assets");
        std::fs::create_dir_all(assets.join("js")).unwrap();
        std::fs::write(assets.join("js/a.js"), "export {}").unwrap();
        std::fs::write(dir.path().join("secret"), "no").unwrap();
        assert!(asset_path(&assets, "js/a.js").is_some());
        assert!(asset_path(&assets, "../secret").is_none());
        assert!(asset_path(&assets, "/etc/passwd").is_none());
        assert!(asset_path(&assets, "js/../../secret").is_none());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret"), assets.join("link")).unwrap();
            assert!(asset_path(&assets, "link").is_none());
        }
    }

    #[test]
    fn the_manifest_is_filtered_by_role() {
        let ui: UiDeclaration = serde_json::from_value(serde_json::json!({
            "widgets": [{"name": "w", "title": "W", "slot": "dashboard/widgets/v1", "module": "w.js", "element": "x-w"}],
            "admin_pages": [{"name": "a", "title": "A", "path": "/", "module": "w.js", "element": "x-a"}]
        }))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.js"), "export {}").unwrap();
        let reg = UiRegistry::default();
        reg.publish(
            "g",
            contributions("g", "1.0.0", &ui, Some(dir.path())).unwrap(),
        );
        let user = reg.manifest_for(Viewer {
            username: "u".into(),
            role: Role::User,
        });
        assert_eq!(user.contributions.len(), 1);
        assert_eq!(user.contributions[0].id, "g:widget:w");
        let module = user.contributions[0].module.as_ref().unwrap();
        assert_eq!(module.url, "/plugins/g/assets/1.0.0/w.js");
        assert!(module.integrity.starts_with("sha384-"));
        let admin = reg.manifest_for(Viewer {
            username: "a".into(),
            role: Role::Admin,
        });
        assert_eq!(admin.contributions.len(), 2);
        assert_eq!(
            admin.contributions[0].route.as_deref(),
            Some("/admin/plugins/g")
        );
        assert!(contributions("g", "1", &ui, None)
            .unwrap_err()
            .to_string()
            .contains("not a file"));
    }
}
