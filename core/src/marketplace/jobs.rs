//! Install jobs: an install started over the API runs in the background and
//! reports its stage and download progress here, for the caller to follow.
//!
//! With several replicas on PostgreSQL ([`InstallJobs::shared`]), a job's
//! id comes from the database (`install_jobs`) and every change of it is
//! written there in the background (the latest state per job, coalesced),
//! so any replica answers for any job.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Mutex,
};

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use sea_orm::ConnectionTrait;
use serde::Serialize;

/// Where an install is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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
    /// The replica running it (several replicas on PostgreSQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
}

/// Where jobs are shared with the other replicas.
struct Mirror {
    db: crate::db::Db,
    replica: String,
    tx: tokio::sync::mpsc::UnboundedSender<InstallJob>,
}

/// The install jobs of this process.
#[derive(Default)]
pub struct InstallJobs {
    next: AtomicU64,
    jobs: DashMap<u64, Arc<Mutex<InstallJob>>>,
    mirror: Option<Mirror>,
}

impl InstallJobs {
    /// Jobs shared through `db` (PostgreSQL) as replica `replica`: a writer
    /// task on the database's runtime keeps `install_jobs` current.
    pub(crate) fn shared(db: &crate::db::Db, replica: &str) -> InstallJobs {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<InstallJob>();
        let conn = db.conn().clone();
        db.spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut latest = std::collections::BTreeMap::new();
                latest.insert(first.id, first);
                while let Ok(job) = rx.try_recv() {
                    latest.insert(job.id, job);
                }
                for (id, job) in latest {
                    let text = serde_json::to_string(&job).unwrap_or_default();
                    let write = conn
                        .execute_raw(crate::shared_state::pg(
                            "UPDATE install_jobs SET job = $2, updated_at = now() WHERE id = $1",
                            [(id as i64).into(), text.into()],
                        ))
                        .await;
                    if let Err(e) = write {
                        tracing::warn!(job = id, "cannot share an install job's progress: {e}");
                    }
                }
            }
        });
        InstallJobs {
            mirror: Some(Mirror {
                db: db.clone(),
                replica: replica.to_string(),
                tx,
            }),
            ..Default::default()
        }
    }

    /// A new job's id: the database's when shared, else this process's.
    fn new_id(&self, slug: &str) -> u64 {
        let local = || self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let Some(m) = &self.mirror else {
            return local();
        };
        let (replica, conn_slug) = (m.replica.clone(), slug.to_string());
        let id = m.db.block_on(move |conn| async move {
            let row = conn
                .query_one_raw(crate::shared_state::pg(
                    "INSERT INTO install_jobs (replica, job, updated_at) VALUES ($1, $2, now()) RETURNING id",
                    [replica.into(), serde_json::json!({ "slug": conn_slug }).to_string().into()],
                ))
                .await?
                .ok_or_else(|| sea_orm::DbErr::Custom("no id returned".into()))?;
            row.try_get::<i64>("", "id")
        });
        match id {
            Ok(id) => id as u64,
            Err(e) => {
                tracing::warn!(
                    "install jobs: no shared id ({e}); this job is shown by this replica only"
                );
                local()
            }
        }
    }

    fn publish(&self, job: &InstallJob) {
        if let Some(m) = &self.mirror {
            let _ = m.tx.send(job.clone());
        }
    }

    /// A new job and the progress callback that updates it.
    pub fn start(&self, slug: &str, version: &str) -> (u64, Progress) {
        let id = self.new_id(slug);
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
            replica: self.mirror.as_ref().map(|m| m.replica.clone()),
        }));
        self.jobs.insert(id, Arc::clone(&job));
        self.publish(&job.lock().unwrap_or_else(|p| p.into_inner()));
        let tx = self.mirror.as_ref().map(|m| m.tx.clone());
        let progress: Progress = Arc::new(move |stage, downloaded, total| {
            let mut j = job.lock().unwrap_or_else(|p| p.into_inner());
            j.stage = stage;
            if stage == Stage::Downloading {
                j.downloaded = downloaded;
                j.total = total;
            }
            if let Some(tx) = &tx {
                let _ = tx.send(j.clone());
            }
        });
        (id, progress)
    }

    fn changed(&self, id: u64, change: impl FnOnce(&mut InstallJob)) {
        if let Some(job) = self.jobs.get(&id) {
            let mut j = job.lock().unwrap_or_else(|p| p.into_inner());
            change(&mut j);
            self.publish(&j);
        }
    }

    /// Records the plan of job `id` (dependencies first).
    pub fn set_plan(&self, id: u64, plan: Vec<String>) {
        self.changed(id, |j| j.plan = plan);
    }

    /// Records which plugin of its plan job `id` is working on.
    pub fn set_current(&self, id: u64, slug: &str) {
        self.changed(id, |j| {
            j.current = slug.to_string();
            j.downloaded = 0;
            j.total = None;
        });
    }

    /// Records the end of job `id`.
    pub fn finish(&self, id: u64, error: Option<String>) {
        self.changed(id, |j| {
            j.stage = if error.is_some() {
                Stage::Failed
            } else {
                Stage::Done
            };
            j.error = error;
            j.finished_at = Some(Utc::now());
        });
    }

    /// One job.
    pub fn get(&self, id: u64) -> Option<InstallJob> {
        self.jobs
            .get(&id)
            .map(|j| j.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// One job, also one another replica runs (read from the database).
    pub async fn find(&self, id: u64) -> Result<Option<InstallJob>, sea_orm::DbErr> {
        if let Some(job) = self.get(id) {
            return Ok(Some(job));
        }
        let Some(m) = &self.mirror else {
            return Ok(None);
        };
        let row =
            m.db.conn()
                .query_one_raw(crate::shared_state::pg(
                    "SELECT job FROM install_jobs WHERE id = $1",
                    [(id as i64).into()],
                ))
                .await?;
        Ok(row
            .and_then(|r| r.try_get::<String>("", "job").ok())
            .and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// The newest 100 jobs of every replica (this one's from memory),
    /// newest first.
    pub async fn list_everywhere(&self) -> Result<Vec<InstallJob>, sea_orm::DbErr> {
        let mut all = self.list();
        if let Some(m) = &self.mirror {
            let rows = m
                .db
                .conn()
                .query_all_raw(crate::shared_state::pg(
                    "SELECT job FROM install_jobs WHERE replica <> $1 ORDER BY id DESC LIMIT 100",
                    [m.replica.clone().into()],
                ))
                .await?;
            all.extend(
                rows.iter()
                    .filter_map(|r| r.try_get::<String>("", "job").ok())
                    .filter_map(|text| serde_json::from_str::<InstallJob>(&text).ok()),
            );
            all.sort_by_key(|j| std::cmp::Reverse(j.id));
            all.truncate(100);
        }
        Ok(all)
    }

    /// Every job of this process, newest first.
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
