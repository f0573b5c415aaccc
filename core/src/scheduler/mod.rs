//! Plugin cron jobs on tokio-cron-scheduler.
//!
//! Schedules: 5-field cron (`*/5 * * * *`), `@hourly` / `@daily` / `@weekly` /
//! `@monthly`, or `every <n>s|m|h`. tokio-cron-scheduler works in whole
//! seconds, so intervals are at least 1 s; its ticker is patched
//! (`vendor/README.md`) to wake just after each second instead of every
//! 500 ms, so runs start a few milliseconds after their due time (see
//! BENCHMARKS.md). A job still running when its next tick
//! comes is not started again (that tick is recorded as `skipped`). Every run
//! is recorded in `plugin_job_runs` (start, duration, outcome, error). A
//! plugin's jobs exist only while it is enabled.
//!
//! With a [`manual`] clock (test hosts: `RuntimeConfig::manual_clock`), jobs
//! are not given to tokio-cron-scheduler: they fire, in time order, only
//! when [`Scheduler::advance_to`] moves the clock past their times, through
//! the same run path (records, deadlines, fault policy).

pub mod manual;

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::{
    background::Background,
    db::Db,
    entity::plugin_job_run,
    exec::{Admission, Call, CallPoint, ExecError, Executor, PointKind},
    fault::FaultPolicy,
    registry::{CallError, PluginEntry, PluginKind, Tripper},
    shared_state::{
        ticks::{self, Claim},
        Replica,
    },
};

/// The scheduler's id of a job.
type JobId = uuid::Uuid;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A cron expression with seconds (as the scheduler takes it).
    Cron(String),
    /// A fixed interval.
    Every(Duration),
}

/// A schedule string that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

/// Why jobs could not be scheduled.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The scheduler's runtime has stopped.
    #[error("the scheduler is shut down")]
    ShutDown,
    /// [`Scheduler::advance_to`] on a scheduler that follows the wall clock.
    #[error("this scheduler follows the wall clock; only a manual clock can be moved")]
    NotManual,
    /// The scheduler refused a job.
    #[error("job {name}: {cause}")]
    Job {
        /// The job.
        name: String,
        /// Why.
        cause: String,
    },
}

impl Schedule {
    /// Parses a plugin's schedule.
    ///
    /// ```
    /// use plugboard_core::scheduler::Schedule;
    /// use std::time::Duration;
    /// assert_eq!(Schedule::parse("*/5 * * * *").unwrap(), Schedule::Cron("0 */5 * * * *".into()));
    /// assert_eq!(Schedule::parse("@daily").unwrap(), Schedule::Cron("0 0 0 * * *".into()));
    /// assert_eq!(Schedule::parse("every 30s").unwrap(), Schedule::Every(Duration::from_secs(30)));
    /// assert!(Schedule::parse("every 250ms").is_err());
    /// assert!(Schedule::parse("61 * * * *").is_err());
    /// assert!(Schedule::parse("every 0s").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Schedule, ScheduleError> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("every ") {
            let rest = rest.trim();
            let split = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let (n, unit) = rest.split_at(split);
            let n: u64 = n
                .parse()
                .map_err(|_| ScheduleError(format!("bad interval {s:?} (e.g. every 30s)")))?;
            let unit_secs = match unit.trim() {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => {
                    return Err(ScheduleError(format!(
                        "bad interval unit in {s:?} (s, m or h)"
                    )))
                }
            };
            // At most a year: beyond, the scheduler's clock arithmetic
            // overflows (and such a job never runs anyway).
            let d = n
                .checked_mul(unit_secs)
                .filter(|secs| *secs <= 366 * 24 * 3600)
                .map(Duration::from_secs)
                .ok_or_else(|| ScheduleError(format!("interval {s:?} is longer than a year")))?;
            if d < Duration::from_secs(1) {
                return Err(ScheduleError(format!("interval {s:?} is shorter than 1s")));
            }
            return Ok(Schedule::Every(d));
        }
        let cron = match s {
            "@hourly" => "0 0 * * * *".to_string(),
            "@daily" | "@midnight" => "0 0 0 * * *".to_string(),
            "@weekly" => "0 0 0 * * 0".to_string(),
            "@monthly" => "0 0 0 1 * *".to_string(),
            other if other.split_whitespace().count() == 5 => format!("0 {other}"),
            other => {
                return Err(ScheduleError(format!(
                    "bad schedule {other:?}: use 5-field cron, @hourly, @daily, @weekly, @monthly or `every 30s`"
                )))
            }
        };
        parse_cron(&cron).map_err(|e| ScheduleError(format!("bad cron expression {s:?}: {e}")))?;
        Ok(Schedule::Cron(cron))
    }
}

/// A cron expression with seconds, as [`Schedule::Cron`] holds it.
fn parse_cron(expr: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
}

struct Scheduled {
    name: String,
    schedule: String,
    id: JobId,
    running: Arc<AtomicBool>,
}

/// A job as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobInfo {
    /// The name.
    pub name: String,
    /// The schedule as declared.
    pub schedule: String,
    /// When it runs next.
    pub next_run: Option<DateTime<Utc>>,
    /// Whether a run is in progress.
    pub running: bool,
    /// The most recent runs, newest first.
    pub recent_runs: Vec<JobRun>,
}

/// One recorded run.
#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// `ok`, `error`, `panic`, `deadline` (still running at its deadline)
    /// or `skipped`.
    pub outcome: String,
    /// The error, if any.
    pub error: Option<String>,
    /// The replica that ran it.
    pub replica: Option<String>,
}

/// The scheduler. Owned by the runtime; runs on a runtime of its own.
pub struct Scheduler {
    sched: JobScheduler,
    jobs: DashMap<String, Vec<Scheduled>>,
    rt: Background,
    db: Db,
    policy: FaultPolicy,
    exec: Executor,
    tripper: Arc<OnceLock<Tripper>>,
    /// Set by [`Scheduler::stop`]: nothing is scheduled any more.
    stopped: std::sync::atomic::AtomicBool,
    /// This process among the replicas: names the runs it records.
    replica: Arc<Replica>,
    /// Whether ticks are claimed at the database (several replicas on
    /// PostgreSQL), so each runs on one replica only.
    shared: bool,
    /// A clock the caller moves instead of the wall clock.
    manual: Option<manual::ManualClock>,
}

impl Scheduler {
    /// Starts a scheduler. With `shared`, every tick is claimed at the
    /// database first and runs on the one replica that wins it
    /// ([`crate::shared_state::ticks`]). With `manual_clock`, jobs fire only
    /// when [`Scheduler::advance_to`] moves the clock, which starts there.
    pub async fn start(
        db: Db,
        policy: FaultPolicy,
        exec: Executor,
        replica: Replica,
        shared: bool,
        manual_clock: Option<DateTime<Utc>>,
    ) -> std::io::Result<Scheduler> {
        let rt = Background::new("plugboard-cron", 1)?;
        let sched = rt
            .spawn(async {
                let s = JobScheduler::new().await?;
                s.start().await?;
                Ok::<_, tokio_cron_scheduler::JobSchedulerError>(s)
            })
            .ok_or_else(|| std::io::Error::other("cron runtime missing"))?
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Scheduler {
            sched,
            jobs: DashMap::new(),
            rt,
            db,
            policy,
            exec,
            tripper: Arc::new(OnceLock::new()),
            stopped: Default::default(),
            replica: Arc::new(replica),
            shared,
            manual: manual_clock.map(manual::ManualClock::new),
        })
    }

    /// The scheduler's time: the manual clock's, or the wall clock's.
    pub fn now(&self) -> DateTime<Utc> {
        self.manual.as_ref().map_or_else(Utc::now, |m| m.now())
    }

    /// Moves the manual clock to `to`, running every job due on the way in
    /// time order (each run awaited); the runs, in the order they fired.
    /// Refused without a manual clock.
    pub async fn advance_to(
        &self,
        to: DateTime<Utc>,
    ) -> Result<Vec<manual::Fired>, SchedulerError> {
        let clock = self.manual.as_ref().ok_or(SchedulerError::NotManual)?;
        let mut fired = Vec::new();
        while let Some((due, run)) = clock.next_due(to) {
            let at = due.at;
            let handle = self.rt.spawn(run(at)).ok_or(SchedulerError::ShutDown)?;
            handle.await.map_err(|e| SchedulerError::Job {
                name: due.job.clone(),
                cause: e.to_string(),
            })?;
            fired.push(due);
        }
        clock.set(to);
        Ok(fired)
    }

    /// What to do when a job trips the fault policy (set once by the
    /// runtime).
    pub(crate) fn tripper(&self) -> &OnceLock<Tripper> {
        &self.tripper
    }

    /// Schedules every job of `entry` (replacing earlier ones).
    pub async fn schedule(
        &self,
        entry: &Arc<PluginEntry>,
        specs: &[(String, Schedule, String)],
    ) -> Result<(), SchedulerError> {
        self.unschedule(entry.slug());
        if self.stopped.load(std::sync::atomic::Ordering::Acquire) {
            return Err(SchedulerError::ShutDown);
        }
        let mut scheduled = Vec::new();
        for (index, (name, schedule, raw)) in specs.iter().enumerate() {
            let running = Arc::new(AtomicBool::new(false));
            let run = make_run(JobRunner {
                point: entry.point(PointKind::Job, name, entry.deadlines().job),
                entry: Arc::clone(entry),
                index: index as u32,
                name: name.clone(),
                running: Arc::clone(&running),
                db: self.db.clone(),
                policy: self.policy,
                exec: self.exec.clone(),
                tripper: Arc::clone(&self.tripper),
                replica: Arc::clone(&self.replica),
                shared: self.shared,
                tick_rule: match schedule {
                    Schedule::Every(d) => TickRule::Every(d.as_secs().max(1)),
                    Schedule::Cron(expr) => parse_cron(expr)
                        .map(|c| TickRule::Cron(Box::new(c)))
                        .unwrap_or(TickRule::Second),
                },
            });
            if let Some(clock) = &self.manual {
                let id = JobId::new_v4();
                clock.add(entry.slug(), name, id, schedule, run);
                scheduled.push(Scheduled {
                    name: name.clone(),
                    schedule: raw.clone(),
                    id,
                    running,
                });
                continue;
            }
            let job = match schedule {
                Schedule::Cron(expr) => Job::new_async(expr.as_str(), move |_, _| run(Utc::now())),
                Schedule::Every(d) => Job::new_repeated_async(*d, move |_, _| run(Utc::now())),
            }
            .map_err(|e| SchedulerError::Job {
                name: name.clone(),
                cause: e.to_string(),
            })?;
            let sched = self.sched.clone();
            let id = self
                .rt
                .spawn(async move { sched.add(job).await })
                .ok_or(SchedulerError::ShutDown)?
                .await
                .map_err(|e| SchedulerError::Job {
                    name: name.clone(),
                    cause: e.to_string(),
                })?
                .map_err(|e| SchedulerError::Job {
                    name: name.clone(),
                    cause: e.to_string(),
                })?;
            scheduled.push(Scheduled {
                name: name.clone(),
                schedule: raw.clone(),
                id,
                running,
            });
        }
        self.jobs.insert(entry.slug().to_string(), scheduled);
        Ok(())
    }

    /// Stops scheduling: every job is removed and [`Scheduler::schedule`]
    /// refuses from now on (the runtime stops it when it shuts down, so a
    /// plugin enabled during the shutdown gets no jobs that outlive it).
    pub fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::Release);
        let slugs: Vec<String> = self.jobs.iter().map(|e| e.key().clone()).collect();
        for slug in slugs {
            self.unschedule(&slug);
        }
    }

    /// Removes every job of `slug`.
    pub fn unschedule(&self, slug: &str) {
        if let Some(clock) = &self.manual {
            clock.remove(slug);
        }
        if let Some((_, jobs)) = self.jobs.remove(slug) {
            let sched = self.sched.clone();
            self.rt.spawn(async move {
                for j in jobs {
                    let _ = sched.remove(&j.id).await;
                }
            });
        }
    }

    /// The jobs of `slug` with their next run and recent runs.
    pub async fn list(&self, slug: &str, recent: u64) -> Vec<JobInfo> {
        let jobs: Vec<(String, String, JobId, bool)> = self
            .jobs
            .get(slug)
            .map(|j| {
                j.iter()
                    .map(|s| {
                        (
                            s.name.clone(),
                            s.schedule.clone(),
                            s.id,
                            s.running.load(Ordering::Relaxed),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut out = Vec::new();
        for (name, schedule, id, running) in jobs {
            let sched = self.sched.clone();
            let next_run = match self.manual.as_ref() {
                Some(clock) => clock.next_of(id),
                None => match self
                    .rt
                    .spawn(async move { sched.clone().next_tick_for_job(id).await })
                {
                    Some(h) => h.await.ok().and_then(|r| r.ok()).flatten(),
                    None => None,
                },
            };
            let runs = plugin_job_run::Entity::find()
                .filter(plugin_job_run::Column::Plugin.eq(slug))
                .filter(plugin_job_run::Column::Job.eq(name.as_str()))
                .order_by_desc(plugin_job_run::Column::Id)
                .limit(recent)
                .all(self.db.conn())
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|m| JobRun {
                    started_at: m.started_at,
                    duration_ms: m.duration_ms,
                    outcome: m.outcome,
                    error: m.error,
                    replica: m.replica,
                })
                .collect();
            out.push(JobInfo {
                name,
                schedule,
                next_run,
                running,
                recent_runs: runs,
            });
        }
        out
    }
}

type RunFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// What one job's runs need.
struct JobRunner {
    entry: Arc<PluginEntry>,
    point: Arc<CallPoint>,
    index: u32,
    name: String,
    running: Arc<AtomicBool>,
    db: Db,
    policy: FaultPolicy,
    exec: Executor,
    tripper: Arc<OnceLock<Tripper>>,
    replica: Arc<Replica>,
    shared: bool,
    tick_rule: TickRule,
}

/// How a firing names its tick (the same on every replica).
enum TickRule {
    /// The slot of this many seconds since the epoch.
    Every(u64),
    /// The schedule's latest instant at or before the firing.
    Cron(Box<croner::Cron>),
    /// The whole second (a schedule that could not be parsed again).
    Second,
}

impl TickRule {
    fn tick(&self, now: DateTime<Utc>) -> i64 {
        match self {
            TickRule::Every(d) => ticks::tick_of(now, Some(*d)),
            TickRule::Cron(cron) => cron
                .find_previous_occurrence(&now, true)
                .map(|t| t.timestamp())
                .unwrap_or_else(|_| ticks::tick_of(now, None)),
            TickRule::Second => ticks::tick_of(now, None),
        }
    }
}

/// The run of one job, given the time it fires at.
pub(crate) type RunJob = Arc<dyn Fn(DateTime<Utc>) -> RunFuture + Send + Sync>;

fn make_run(runner: JobRunner) -> RunJob {
    let runner = Arc::new(runner);
    Arc::new(move |started_at: DateTime<Utc>| {
        let r = Arc::clone(&runner);
        Box::pin(async move {
            if !r.entry.is_live() {
                return;
            }
            let tick = match r.claim(started_at).await {
                Ok(tick) => tick,
                Err(()) => return,
            };
            let was_running = r.running.swap(true, Ordering::AcqRel);
            if was_running || tick.is_some_and(|(_, c)| c == Claim::Skip) {
                r.record(
                    started_at,
                    0.0,
                    "skipped",
                    Some("the previous run is still going"),
                )
                .await;
                r.finish(tick).await;
                if !was_running {
                    r.running.store(false, Ordering::Release);
                }
                return;
            }
            let t = Instant::now();
            let (e, point, policy, index) = (
                Arc::clone(&r.entry),
                Arc::clone(&r.point),
                r.policy,
                r.index,
            );
            let call = Call {
                lane: Arc::clone(r.entry.lane()),
                point: Arc::clone(&r.point),
                admission: Admission::Counted,
                journaled: r.entry.kind() == PluginKind::Dynamic,
            };
            // `running` is cleared when the call really ends (or is dropped
            // unmade), so a job stuck past its deadline is not started
            // again beside itself: its next ticks are `skipped`.
            let running = ClearOnDrop(Arc::clone(&r.running));
            let result = r
                .exec
                .run(call, move || {
                    let _running = running;
                    e.call_at(Some(&point), policy, true, |p, ctx| p.run_job(ctx, index))
                })
                .await;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let (outcome, error) = match result {
                Ok(Ok(())) => ("ok", None),
                Ok(Err(CallError::Unavailable(_))) => return,
                Ok(Err(CallError::Plugin { error, tripped, .. })) => {
                    if tripped {
                        r.trip(error.to_string());
                    }
                    let panicked = error.kind() == plugboard_plugin_api::ErrorKind::Panicked;
                    (
                        if panicked { "panic" } else { "error" },
                        Some(error.to_string()),
                    )
                }
                Ok(Err(e @ CallError::Exec(_))) => ("error", Some(e.to_string())),
                Err(e @ ExecError::Deadline { .. }) => {
                    if r.entry.record_stuck(r.policy) {
                        r.trip(e.to_string());
                    }
                    ("deadline", Some(e.to_string()))
                }
                Err(e) => ("error", Some(e.to_string())),
            };
            r.record(started_at, ms, outcome, error.as_deref()).await;
            r.finish(tick).await;
        })
    })
}

/// Clears a job's `running` flag when dropped.
struct ClearOnDrop(Arc<AtomicBool>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl JobRunner {
    /// With several replicas: claims this firing's tick at the database.
    /// `Ok(None)`: one process, run it; `Ok(Some((tick, claim)))`: this
    /// replica has the tick; `Err(())`: another replica has it (or the
    /// database cannot say, and the tick is left to the others).
    async fn claim(&self, now: DateTime<Utc>) -> Result<Option<(i64, Claim)>, ()> {
        if !self.shared {
            return Ok(None);
        }
        let tick = self.tick_rule.tick(now);
        let deadline = self.point.deadline();
        match ticks::claim(
            self.db.conn(),
            &self.replica,
            self.entry.slug(),
            &self.name,
            tick,
            deadline,
        )
        .await
        {
            Ok(Claim::Taken) => Err(()),
            Ok(claim) => Ok(Some((tick, claim))),
            Err(e) => {
                tracing::warn!(plugin = self.entry.slug(), job = %self.name, "cannot claim a tick: {e}");
                Err(())
            }
        }
    }

    /// Marks a claimed tick done.
    async fn finish(&self, tick: Option<(i64, Claim)>) {
        if let Some((tick, _)) = tick {
            if let Err(e) = ticks::finish(self.db.conn(), self.entry.slug(), &self.name, tick).await
            {
                tracing::warn!(plugin = self.entry.slug(), job = %self.name, "cannot finish a tick: {e}");
            }
        }
    }

    async fn record(&self, started_at: DateTime<Utc>, ms: f64, outcome: &str, error: Option<&str>) {
        let row = plugin_job_run::ActiveModel {
            plugin: Set(self.entry.slug().to_string()),
            job: Set(self.name.clone()),
            started_at: Set(started_at),
            duration_ms: Set(ms),
            outcome: Set(outcome.to_string()),
            error: Set(error.map(str::to_string)),
            replica: Set(Some(self.replica.name.clone())),
            ..Default::default()
        };
        if let Err(e) = row.insert(self.db.conn()).await {
            tracing::error!(plugin = self.entry.slug(), job = %self.name, "cannot record a job run: {e}");
        }
    }

    fn trip(&self, reason: String) {
        if let Some(trip) = self.tripper.get() {
            trip(&self.entry, reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn a_late_cron_firing_names_the_tick_it_was_for() {
        let minutely = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse("0 * * * * *")
            .unwrap();
        let rule = TickRule::Cron(Box::new(minutely));
        let on_time = rule.tick(at("2026-12-06T12:01:00.001Z"));
        // A replica whose scheduler woke 1.5 s late claims the same tick.
        assert_eq!(rule.tick(at("2026-12-06T12:01:01.500Z")), on_time);
        assert_eq!(on_time, at("2026-12-06T12:01:00Z").timestamp());
        assert_ne!(rule.tick(at("2026-12-06T12:02:00.001Z")), on_time);
    }
}
