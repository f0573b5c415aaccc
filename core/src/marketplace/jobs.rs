//! Install jobs: an install started over the API runs in the background and
//! reports its stage and download progress here, for the caller to follow.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Mutex,
};

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde::Serialize;

/// Where an install is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Accepted, not started yet.
    Queued,
    /// Fetching the bundle.
    Downloading,
    /// Checking digest and signature.
    Verifying,
    /// Unpacking into staging.
    Extracting,
    /// Manifest and load check.
    Checking,
    /// Moving into place and recording it.
    Installing,
    /// Enabling it.
    Enabling,
    /// Finished.
    Done,
    /// Refused or failed; nothing was changed.
    Failed,
}

/// Progress reports from the pipeline.
pub type Progress = Arc<dyn Fn(Stage, u64, Option<u64>) + Send + Sync>;

/// An install as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InstallJob {
    /// Its id.
    pub id: u64,
    /// The plugin.
    pub slug: String,
    /// The version being installed.
    pub version: String,
    /// Where it is.
    pub stage: Stage,
    /// Every plugin this job installs, dependencies first (`slug version`).
    pub plan: Vec<String>,
    /// The plugin the stage refers to.
    pub current: String,
    /// Bytes downloaded so far.
    pub downloaded: u64,
    /// The bundle's size, when known.
    pub total: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// The install jobs of this process.
#[derive(Default)]
pub struct InstallJobs {
    next: AtomicU64,
    jobs: DashMap<u64, Arc<Mutex<InstallJob>>>,
}

impl InstallJobs {
    /// A new job and the progress callback that updates it.
    pub fn start(&self, slug: &str, version: &str) -> (u64, Progress) {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let job = Arc::new(Mutex::new(InstallJob {
            id,
            slug: slug.to_string(),
            version: version.to_string(),
            stage: Stage::Queued,
            plan: vec![format!("{slug} {version}")],
            current: slug.to_string(),
            downloaded: 0,
            total: None,
            error: None,
            started_at: Utc::now(),
            finished_at: None,
        }));
        self.jobs.insert(id, Arc::clone(&job));
        let progress: Progress = Arc::new(move |stage, downloaded, total| {
            let mut j = job.lock().unwrap_or_else(|p| p.into_inner());
            j.stage = stage;
            if stage == Stage::Downloading {
                j.downloaded = downloaded;
                j.total = total;
            }
        });
        (id, progress)
    }

    /// Records the plan of job `id` (dependencies first).
    pub fn set_plan(&self, id: u64, plan: Vec<String>) {
        if let Some(job) = self.jobs.get(&id) {
            job.lock().unwrap_or_else(|p| p.into_inner()).plan = plan;
        }
    }

    /// Records which plugin of its plan job `id` is working on.
    pub fn set_current(&self, id: u64, slug: &str) {
        if let Some(job) = self.jobs.get(&id) {
            let mut j = job.lock().unwrap_or_else(|p| p.into_inner());
            j.current = slug.to_string();
            j.downloaded = 0;
            j.total = None;
        }
    }

    /// Records the end of job `id`.
    pub fn finish(&self, id: u64, error: Option<String>) {
        if let Some(job) = self.jobs.get(&id) {
            let mut j = job.lock().unwrap_or_else(|p| p.into_inner());
            j.stage = if error.is_some() {
                Stage::Failed
            } else {
                Stage::Done
            };
            j.error = error;
            j.finished_at = Some(Utc::now());
        }
    }

    /// One job.
    pub fn get(&self, id: u64) -> Option<InstallJob> {
        self.jobs
            .get(&id)
            .map(|j| j.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Every job, newest first.
    pub fn list(&self) -> Vec<InstallJob> {
        let mut all: Vec<InstallJob> = self
            .jobs
            .iter()
            .map(|j| j.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        all.sort_by_key(|j| std::cmp::Reverse(j.id));
        all
    }
}
