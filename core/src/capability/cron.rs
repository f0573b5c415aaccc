//! The `cron` capability: the jobs a plugin declares, scheduled while it is
//! active; their run history is removed with its data.

use std::sync::Arc;

use super::{denied, staged, HostCapability, Pending, Staged, StepFailed, Subject};
use crate::{
    capabilities::{Capabilities, Capability},
    registry::PluginEntry,
    scheduler::Schedule,
};

pub(crate) struct Cron;

type Jobs = Vec<(String, Schedule, String)>;

impl HostCapability for Cron {
    fn name(&self) -> &'static str {
        "cron"
    }
    fn granted(&self, capabilities: &Capabilities) -> bool {
        capabilities.cron
    }
    fn prepare(&self, subject: &Subject<'_>) -> Result<Option<Staged>, StepFailed> {
        let entry = subject.entry;
        let specs = entry
            .object()
            .jobs()
            .map_err(|e| StepFailed::new("jobs()", e))?;
        let jobs = specs
            .iter()
            .map(|j| {
                Schedule::parse(&j.schedule)
                    .map(|s| (j.name.to_string(), s, j.schedule.to_string()))
                    .map_err(|e| StepFailed::new("jobs()", format!("job {}: {e}", j.name)))
            })
            .collect::<Result<Jobs, _>>()?;
        if !jobs.is_empty() && !entry.capabilities().cron {
            return Err(denied(entry, Capability::Cron));
        }
        Ok(Some(Box::new(jobs)))
    }
    fn go_live<'a>(
        &'a self,
        host: &'a super::Host<'a>,
        entry: &'a Arc<PluginEntry>,
        prepared: Option<Staged>,
    ) -> Pending<'a, Result<(), StepFailed>> {
        let jobs: Jobs = staged(prepared).unwrap_or_default();
        Box::pin(async move {
            host.scheduler
                .schedule(entry, &jobs)
                .await
                .map_err(|e| StepFailed::new("jobs", e))
        })
    }
    fn take_offline(&self, host: &super::Host<'_>, slug: &str) {
        host.scheduler.unschedule(slug);
    }
    fn purge<'a>(
        &'a self,
        conn: &'a sea_orm::DatabaseTransaction,
        slug: &'a str,
    ) -> Pending<'a, Result<u64, sea_orm::DbErr>> {
        Box::pin(super::kv::delete_rows(conn, "plugin_job_runs", slug))
    }
}
