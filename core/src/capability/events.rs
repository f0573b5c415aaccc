//! The `events` capability: the patterns a plugin may emit (checked at each
//! emit, in `scope.rs`) and subscribe to (checked here, when it goes live).

use std::sync::Arc;

use super::{denied, staged, HostCapability, Pending, Staged, StepFailed, Subject};
use crate::{
    capabilities::{Capabilities, Capability},
    registry::PluginEntry,
};

pub(crate) struct Events;

impl HostCapability for Events {
    fn name(&self) -> &'static str {
        "events"
    }
    fn granted(&self, capabilities: &Capabilities) -> bool {
        !capabilities.events.emit.is_empty() || !capabilities.events.subscribe.is_empty()
    }
    fn prepare(&self, subject: &Subject<'_>) -> Result<Option<Staged>, StepFailed> {
        let entry = subject.entry;
        let patterns = entry
            .object()
            .subscriptions()
            .map_err(|e| StepFailed::new("subscriptions()", e))?;
        for p in &patterns {
            crate::events::Pattern::parse(p).map_err(|e| StepFailed::new("subscriptions()", e))?;
            if !entry.capabilities().allows_subscription(p) {
                return Err(denied(entry, Capability::Subscribe(p.clone())));
            }
        }
        Ok(Some(Box::new(patterns)))
    }
    fn go_live<'a>(
        &'a self,
        host: &'a super::Host<'a>,
        entry: &'a Arc<PluginEntry>,
        prepared: Option<Staged>,
    ) -> Pending<'a, Result<(), StepFailed>> {
        let patterns: Vec<String> = staged(prepared).unwrap_or_default();
        let result = host
            .events
            .subscribe(entry, &patterns)
            .map_err(|e| StepFailed::new("subscriptions", e));
        Box::pin(async move { result })
    }
    fn take_offline(&self, host: &super::Host<'_>, slug: &str) {
        host.events.unsubscribe(slug);
    }
}
