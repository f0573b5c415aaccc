//! The UI contract between Plugboard, its plugins and the admin shell.
//!
//! * A plugin **declares** its contributions in the `ui` section of its
//!   manifest ([`UiDeclaration`]): widgets, pages, admin pages, menu items and
//!   admin widgets, each naming an ES module from the plugin's `assets/` and
//!   the custom element it defines, the versioned slot it fills, and the
//!   roles that may see it.
//! * The host **serves** what the signed-in user may see as one
//!   [`UiManifest`] (`GET /api/ui/manifest`), filtered on the server, with
//!   each module's URL (keyed by the plugin's version) and its
//!   [subresource-integrity](https://www.w3.org/TR/SRI/) hash.
//! * The shell renders each [`Contribution`] into its slot with dynamic
//!   `import()` of the module, then the custom element.
//!
//! ```
//! use plugboard_frontend_manifest::UiDeclaration;
//! let ui: UiDeclaration = serde_json::from_str(r#"{
//!   "widgets": [{ "name": "latest", "title": "Latest entries",
//!                 "slot": "dashboard/widgets/v1", "module": "widget.js",
//!                 "element": "guestbook-latest", "width": "medium" }],
//!   "pages": [{ "name": "book", "title": "Guestbook", "path": "/",
//!               "module": "page.js", "element": "guestbook-page" }],
//!   "menu_items": [{ "name": "book", "label": "Guestbook", "href": "/" }]
//! }"#).unwrap();
//! assert_eq!(ui.widgets[0].slot, "dashboard/widgets/v1");
//! ui.validate("guestbook").unwrap();
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The slots a contribution may name, by kind. A slot's version changes
/// when what the shell passes to the element changes.
pub mod slots {
    /// Widgets on the user dashboard.
    pub const DASHBOARD_WIDGETS: &str = "dashboard/widgets/v1";
    /// Widgets on the admin dashboard.
    pub const ADMIN_DASHBOARD_WIDGETS: &str = "admin/dashboard/widgets/v1";
    /// Pages under `/plugins/{slug}/…`.
    pub const PAGES: &str = "pages/v1";
    /// Pages under `/admin/plugins/{slug}/…`.
    pub const ADMIN_PAGES: &str = "admin/pages/v1";
    /// The navigation menu.
    pub const MENU: &str = "nav/menu/v1";
}

/// Roles, from least to most privileged.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A signed-in user.
    User,
    /// An administrator (sees everything a user sees).
    Admin,
}

impl Role {
    /// `user` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
    /// Parses `user` / `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// How wide a widget is on a dashboard grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Width {
    /// A quarter.
    Small,
    /// Half.
    #[default]
    Medium,
    /// Three quarters.
    Large,
    /// The whole row.
    Full,
}

/// A widget a plugin declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetDecl {
    /// Unique within the plugin (letters, digits, `-`).
    pub name: String,
    /// Shown above it.
    pub title: String,
    /// [`slots::DASHBOARD_WIDGETS`] (or, for admin widgets,
    /// [`slots::ADMIN_DASHBOARD_WIDGETS`]).
    pub slot: String,
    /// The ES module, a path inside the plugin's `assets/`.
    pub module: String,
    /// The custom element the module defines (contains a `-`).
    pub element: String,
    /// Order on the dashboard (smaller first).
    #[serde(default)]
    pub position: i32,
    /// Width on the grid.
    #[serde(default)]
    pub width: Width,
    /// The least role that sees it (admin widgets: always admin).
    #[serde(default = "user")]
    pub role: Role,
}

/// A page a plugin declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageDecl {
    /// Unique within the plugin.
    pub name: String,
    /// The page title.
    pub title: String,
    /// Path below `/plugins/{slug}` (or `/admin/plugins/{slug}`), starting with `/`.
    pub path: String,
    /// The ES module, a path inside the plugin's `assets/`.
    pub module: String,
    /// The custom element the module defines.
    pub element: String,
    /// The least role that sees it (admin pages: always admin).
    #[serde(default = "user")]
    pub role: Role,
}

/// A navigation menu item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuItemDecl {
    /// Unique within the plugin.
    pub name: String,
    /// The text.
    pub label: String,
    /// An icon of the shell's set (`book`, `shield`, `puzzle`, `chart`,
    /// `settings`, `user`, `users`, `bell`, `calendar`, `clock`, `mail`,
    /// `message`, `home`, `list`, `star`, `globe`, `lock`, `file`, `link`);
    /// other names, or none, show the label's first letter.
    #[serde(default)]
    pub icon: Option<String>,
    /// Order in the menu (smaller first).
    #[serde(default)]
    pub order: i32,
    /// One of the plugin's page paths; with `admin: true`, an admin page.
    pub href: String,
    /// Points at an admin page.
    #[serde(default)]
    pub admin: bool,
    /// The least role that sees it.
    #[serde(default = "user")]
    pub role: Role,
}

fn user() -> Role {
    Role::User
}

/// The `ui` section of a plugin manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UiDeclaration {
    /// Widgets on the user dashboard.
    #[serde(default)]
    pub widgets: Vec<WidgetDecl>,
    /// Widgets on the admin dashboard.
    #[serde(default)]
    pub admin_widgets: Vec<WidgetDecl>,
    /// Pages under `/plugins/{slug}/…`.
    #[serde(default)]
    pub pages: Vec<PageDecl>,
    /// Pages under `/admin/plugins/{slug}/…`.
    #[serde(default)]
    pub admin_pages: Vec<PageDecl>,
    /// Navigation menu items.
    #[serde(default)]
    pub menu_items: Vec<MenuItemDecl>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_element(s: &str) -> bool {
    s.contains('-')
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

fn valid_asset(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.contains('\\')
        && s.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
        && s.ends_with(".js")
}

fn valid_path(s: &str) -> bool {
    s.starts_with('/')
        && !s.contains("//")
        && s.split('/').all(|p| p != "." && p != "..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c))
}

impl UiDeclaration {
    /// Whether it declares nothing.
    pub fn is_empty(&self) -> bool {
        self.widgets.is_empty()
            && self.admin_widgets.is_empty()
            && self.pages.is_empty()
            && self.admin_pages.is_empty()
            && self.menu_items.is_empty()
    }

    /// Checks names, slots, modules, elements and paths; refuses two
    /// contributions of one kind with one name, two pages on one path, and a
    /// menu item that points at no page.
    pub fn validate(&self, slug: &str) -> Result<(), String> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        let check_name = |kind: &str, n: &str| -> Result<(), String> {
            if valid_name(n) {
                Ok(())
            } else {
                Err(format!(
                    "ui: {kind} name {n:?} must be lower-case letters, digits and '-'"
                ))
            }
        };
        for (kind, list, slot) in [
            ("widget", &self.widgets, slots::DASHBOARD_WIDGETS),
            (
                "admin widget",
                &self.admin_widgets,
                slots::ADMIN_DASHBOARD_WIDGETS,
            ),
        ] {
            for w in list.iter() {
                check_name(kind, &w.name)?;
                if w.slot != slot {
                    return Err(format!(
                        "ui: {kind} {:?} names slot {:?}; this host offers {slot:?}",
                        w.name, w.slot
                    ));
                }
                if !valid_asset(&w.module) {
                    return Err(format!(
                        "ui: {kind} {:?}: module {:?} must be a .js path inside assets/",
                        w.name, w.module
                    ));
                }
                if !valid_element(&w.element) {
                    return Err(format!(
                        "ui: {kind} {:?}: {:?} is not a custom element name",
                        w.name, w.element
                    ));
                }
                if seen.contains(&(kind, w.name.as_str())) {
                    return Err(format!(
                        "ui: two {kind}s named {:?} in plugin {slug:?}",
                        w.name
                    ));
                }
                seen.push((kind, w.name.as_str()));
            }
        }
        for (kind, list) in [("page", &self.pages), ("admin page", &self.admin_pages)] {
            let mut paths: Vec<&str> = Vec::new();
            for p in list.iter() {
                check_name(kind, &p.name)?;
                if !valid_path(&p.path) {
                    return Err(format!("ui: {kind} {:?}: path {:?} must start with '/' and use letters, digits, '-', '_', '.'", p.name, p.path));
                }
                if !valid_asset(&p.module) {
                    return Err(format!(
                        "ui: {kind} {:?}: module {:?} must be a .js path inside assets/",
                        p.name, p.module
                    ));
                }
                if !valid_element(&p.element) {
                    return Err(format!(
                        "ui: {kind} {:?}: {:?} is not a custom element name",
                        p.name, p.element
                    ));
                }
                if seen.contains(&(kind, p.name.as_str())) {
                    return Err(format!(
                        "ui: two {kind}s named {:?} in plugin {slug:?}",
                        p.name
                    ));
                }
                if paths.contains(&p.path.as_str()) {
                    return Err(format!(
                        "ui: two {kind}s on path {:?} in plugin {slug:?}",
                        p.path
                    ));
                }
                seen.push((kind, p.name.as_str()));
                paths.push(&p.path);
            }
        }
        for m in &self.menu_items {
            check_name("menu item", &m.name)?;
            if seen.contains(&("menu item", m.name.as_str())) {
                return Err(format!(
                    "ui: two menu items named {:?} in plugin {slug:?}",
                    m.name
                ));
            }
            seen.push(("menu item", m.name.as_str()));
            let pages = if m.admin {
                &self.admin_pages
            } else {
                &self.pages
            };
            if !pages.iter().any(|p| p.path == m.href) {
                return Err(format!(
                    "ui: menu item {:?} points at {:?}, which is none of the plugin's {}pages",
                    m.name,
                    m.href,
                    if m.admin { "admin " } else { "" }
                ));
            }
        }
        Ok(())
    }
}

/// What kind of contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A dashboard widget.
    Widget,
    /// An admin dashboard widget.
    AdminWidget,
    /// A page.
    Page,
    /// An admin page.
    AdminPage,
    /// A menu item.
    MenuItem,
}

/// An ES module to load, with its integrity hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Module {
    /// Its URL (`/plugins/{slug}/assets/{version}/{path}`).
    pub url: String,
    /// `sha384-…` (subresource integrity) of the file.
    pub integrity: String,
}

/// One contribution as the shell receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Contribution {
    /// `{slug}:{kind}:{name}`: unique across plugins.
    pub id: String,
    /// The plugin.
    pub plugin: String,
    /// Its version.
    pub plugin_version: String,
    /// What it is.
    pub kind: Kind,
    /// The versioned slot it fills.
    pub slot: String,
    /// Title (widgets, pages) or label (menu items).
    pub title: String,
    /// The route it lives at (pages) or points to (menu items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The module to import (widgets, pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<Module>,
    /// The custom element to create (widgets, pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    /// Position or order.
    pub order: i32,
    /// Widgets' width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<Width>,
    /// Menu items' icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// The least role that sees it.
    pub role: Role,
}

/// The signed-in user, as the manifest carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Viewer {
    /// The username.
    pub username: String,
    /// The role.
    pub role: Role,
}

/// Everything the signed-in user may see (`GET /api/ui/manifest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UiManifest {
    /// The format's version (1).
    pub format: u32,
    /// Who it was filtered for.
    pub viewer: Viewer,
    /// The contributions, by slot then order.
    pub contributions: Vec<Contribution>,
}

/// The JSON Schema of [`UiManifest`].
pub fn manifest_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(UiManifest)).unwrap_or_default()
}

/// The JSON Schema of [`UiDeclaration`] (the manifest's `ui` section).
pub fn declaration_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(UiDeclaration)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(json: serde_json::Value) -> UiDeclaration {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn bad_declarations_are_refused_with_the_reason() {
        let page = serde_json::json!({"name": "p", "title": "P", "path": "/", "module": "p.js", "element": "x-p"});
        let cases = [
            (
                serde_json::json!({"pages": [page, page]}),
                "two pages named",
            ),
            (
                serde_json::json!({"pages": [{"name": "p", "title": "P", "path": "/", "module": "../p.js", "element": "x-p"}]}),
                "inside assets",
            ),
            (
                serde_json::json!({"pages": [{"name": "p", "title": "P", "path": "/", "module": "p.js", "element": "nodash"}]}),
                "custom element",
            ),
            (
                serde_json::json!({"widgets": [{"name": "w", "title": "W", "slot": "dashboard/widgets/v9", "module": "w.js", "element": "x-w"}]}),
                "this host offers",
            ),
            (
                serde_json::json!({"pages": [page], "menu_items": [{"name": "m", "label": "M", "href": "/nowhere"}]}),
                "none of the plugin's pages",
            ),
            (
                serde_json::json!({"pages": [{"name": "p", "title": "P", "path": "/../x", "module": "p.js", "element": "x-p"}]}),
                "path",
            ),
        ];
        for (json, expect) in cases {
            let err = decl(json.clone()).validate("g").unwrap_err();
            assert!(err.contains(expect), "{json}: {err}");
        }
        assert!(decl(serde_json::json!({"pages": [page], "menu_items": [{"name": "m", "label": "M", "href": "/"}]})).validate("g").is_ok());
    }

    #[test]
    fn checked_in_schemas_match_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        for (file, schema) in [
            ("ui-manifest.schema.json", manifest_schema()),
            ("ui-declaration.schema.json", declaration_schema()),
        ] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let checked_in: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                checked_in,
                schema,
                "run `plugboard schema {}` > frontend-manifest/schema/{file}",
                file.trim_end_matches(".schema.json")
            );
        }
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin > Role::User);
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
    }
}
