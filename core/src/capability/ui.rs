//! The `ui` capability: widgets, pages and menu items a plugin contributes
//! to the browser shell, from its manifest and its `assets/` folder.

use std::sync::Arc;

use super::{denied, staged, HostCapability, Pending, Staged, StepFailed, Subject};
use crate::{
    capabilities::{Capabilities, Capability},
    registry::PluginEntry,
};

pub(crate) struct Ui;

impl HostCapability for Ui {
    fn name(&self) -> &'static str {
        "ui"
    }
    fn granted(&self, capabilities: &Capabilities) -> bool {
        capabilities.ui
    }
    fn prepare(&self, subject: &Subject<'_>) -> Result<Option<Staged>, StepFailed> {
        let entry = subject.entry;
        let ui = &entry.manifest().ui;
        let declared = ui.widgets.len()
            + ui.admin_widgets.len()
            + ui.pages.len()
            + ui.admin_pages.len()
            + ui.menu_items.len();
        if declared > 0 && !entry.capabilities().ui {
            return Err(denied(entry, Capability::Ui));
        }
        let contributions = crate::ui::contributions(
            entry.slug(),
            entry.version(),
            ui,
            subject
                .folder
                .map(|f| f.join("assets"))
                .as_deref()
                .or(entry.assets_dir()),
        )
        .map_err(|e| StepFailed::new("ui", e))?;
        Ok(Some(Box::new(contributions)))
    }
    fn go_live<'a>(
        &'a self,
        host: &'a super::Host<'a>,
        entry: &'a Arc<PluginEntry>,
        prepared: Option<Staged>,
    ) -> Pending<'a, Result<(), StepFailed>> {
        let contributions: Vec<plugboard_frontend_manifest::Contribution> =
            staged(prepared).unwrap_or_default();
        host.ui.publish(entry.slug(), contributions);
        Box::pin(async { Ok(()) })
    }
    fn take_offline(&self, host: &super::Host<'_>, slug: &str) {
        host.ui.withdraw(slug);
    }
}
