//! The `routes` capability: HTTP routes under `/api/plugins/{slug}/`, each
//! with the access level its manifest gives it.

use std::sync::Arc;

use super::{denied, staged, HostCapability, Pending, Staged, StepFailed, Subject};
use crate::{
    capabilities::{Capabilities, Capability},
    exec::PointKind,
    registry::PluginEntry,
    routes::{self, RouteEntry},
};

pub(crate) struct Routes;

impl HostCapability for Routes {
    fn name(&self) -> &'static str {
        "routes"
    }
    fn granted(&self, capabilities: &Capabilities) -> bool {
        capabilities.routes
    }
    fn prepare(&self, subject: &Subject<'_>) -> Result<Option<Staged>, StepFailed> {
        let entry = subject.entry;
        let specs = entry
            .object()
            .routes()
            .map_err(|e| StepFailed::new("routes()", e))?;
        if !specs.is_empty() && !entry.capabilities().routes {
            return Err(denied(entry, Capability::Routes));
        }
        let mut compiled = routes::compile(&specs).map_err(|e| StepFailed::new("routes()", e))?;
        crate::access::assign(&mut compiled, &entry.manifest().routes)
            .map_err(|e| StepFailed::new("routes", e))?;
        // Documentation is optional: a plugin whose docs cannot be read
        // serves its routes undocumented.
        let docs = entry.object().route_docs().unwrap_or_else(|e| {
            tracing::warn!(plugin = entry.slug(), "route docs unreadable: {e}");
            Vec::new()
        });
        for r in &mut compiled {
            r.doc = docs.get(r.index as usize).cloned().map(Arc::new);
            let deadline = entry.deadlines().own(r.deadline_ms);
            r.point = Some(entry.point(
                PointKind::Route,
                &format!("{} {}", r.method.as_str(), r.pattern.as_str()),
                deadline,
            ));
        }
        Ok(Some(Box::new(compiled)))
    }
    fn go_live<'a>(
        &'a self,
        host: &'a super::Host<'a>,
        entry: &'a Arc<PluginEntry>,
        prepared: Option<Staged>,
    ) -> Pending<'a, Result<(), StepFailed>> {
        let compiled: Vec<RouteEntry> = staged(prepared).unwrap_or_default();
        host.routes
            .publish(entry.slug(), compiled, Arc::clone(entry));
        Box::pin(async { Ok(()) })
    }
    fn take_offline(&self, host: &super::Host<'_>, slug: &str) {
        host.routes.withdraw(slug);
    }
    fn describe<'a>(
        &'a self,
        host: &'a super::Host<'a>,
        slug: &'a str,
        _capabilities: &'a crate::capabilities::Capabilities,
    ) -> Pending<'a, Result<Option<serde_json::Value>, sea_orm::DbErr>> {
        let count = host.routes.list(slug).len();
        Box::pin(async move { Ok((count > 0).then(|| serde_json::json!({ "served": count }))) })
    }
}
