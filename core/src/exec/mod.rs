//! Running calls into plugins: off the HTTP workers, each with a deadline,
//! at most a plugin's capacity at once, and journaled for crash quarantine.
//!
//! ```text
//! caller (HTTP worker, event task, cron task, lifecycle)
//!   │  Lane::admit ── full ─▶ ExecError::Busy (a route answers 503 + Retry-After)
//!   ▼
//! Pool thread: set the call's deadline (SQL and outbound HTTP read it),
//!   journal "slug, entry point" (dynamic plugins), call, clear, release
//!   │
//!   ▼  oneshot
//! caller waits until the deadline ── past it ─▶ ExecError::Deadline (504),
//!   the call is counted `stuck` until it returns (it keeps its thread and
//!   its share of the plugin's capacity), and the runtime counts it toward
//!   the plugin's circuit breaker.
//! ```
//!
//! Why this model, and what it costs, is in ARCHITECTURE.md ("Calls into
//! plugins"); the figures are in BENCHMARKS.md.

mod chain;
mod deadline;
mod journal;
mod pool;
mod trace;

use std::{
    fmt,
    sync::{
        atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

pub use chain::{Step, StepFn, StepOutcome};
pub use deadline::{bounded, remaining};
pub use journal::{InFlight, Journal, JournalError};
pub use trace::{request_id, with_request_id};

use crate::metrics::Metrics;

/// Deadlines and capacities: the host's defaults and the operator's caps.
/// A plugin's manifest may set its own (`limits`, `routes[].deadline_ms`,
/// `filters`), never above the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Routes, hooks, filters and event deliveries (default 30 s).
    pub deadline: Duration,
    /// Cron jobs (default 10 min).
    pub job_deadline: Duration,
    /// Load, enable, disable, configure, upgrade, uninstall (default 60 s).
    pub lifecycle_deadline: Duration,
    /// No deadline may be longer (default 15 min).
    pub max_deadline: Duration,
    /// Calls one plugin may have running at once (default 64).
    pub capacity: u32,
    /// No plugin's capacity may be larger (default 1024).
    pub max_capacity: u32,
}

impl Default for CallLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30),
            job_deadline: Duration::from_secs(600),
            lifecycle_deadline: Duration::from_secs(60),
            max_deadline: Duration::from_secs(900),
            capacity: 64,
            max_capacity: 1024,
        }
    }
}

impl CallLimits {
    /// A deadline a manifest asked for (milliseconds), or `default`, within
    /// the operator's cap (and at least a millisecond).
    pub fn deadline_or(&self, asked_ms: Option<u64>, default: Duration) -> Duration {
        asked_ms
            .map(Duration::from_millis)
            .unwrap_or(default)
            .clamp(Duration::from_millis(1), self.max_deadline)
    }
    /// A capacity a manifest asked for, or the default, within the cap.
    pub fn capacity_or(&self, asked: Option<u32>) -> u32 {
        asked.unwrap_or(self.capacity).clamp(1, self.max_capacity)
    }
}

/// What kind of entry point a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PointKind {
    /// An HTTP route.
    Route,
    /// An action hook.
    Hook,
    /// A filter hook.
    Filter,
    /// Event delivery to its subscription.
    Event,
    /// A cron job.
    Job,
    /// A lifecycle phase, `configure`, `on_upgrade`, or loading the library.
    Lifecycle,
}

impl PointKind {
    /// `route`, `hook`, `filter`, `event`, `job` or `lifecycle`.
    pub fn as_str(self) -> &'static str {
        match self {
            PointKind::Route => "route",
            PointKind::Hook => "hook",
            PointKind::Filter => "filter",
            PointKind::Event => "event",
            PointKind::Job => "job",
            PointKind::Lifecycle => "lifecycle",
        }
    }
}

/// One entry point of one plugin (`route GET /entries`, `hook
/// user.created`, …): its deadline and its own metrics.
pub struct CallPoint {
    slug: String,
    kind: PointKind,
    name: String,
    label: String,
    deadline: Duration,
    metrics: Metrics,
    deadline_hits: AtomicU64,
    stuck: AtomicU64,
    busy: AtomicU64,
}

impl CallPoint {
    /// An entry point named `name` (`GET /entries`, `user.created`,
    /// `on_enable`, …) of plugin `slug`.
    pub fn new(slug: &str, kind: PointKind, name: &str, deadline: Duration) -> Self {
        let label = match kind {
            PointKind::Lifecycle => format!("its {name}"),
            PointKind::Event => format!("its event handler ({name})"),
            k => format!("its {} {name}", k.as_str()),
        };
        Self {
            slug: slug.to_string(),
            kind,
            name: name.to_string(),
            label,
            deadline,
            metrics: Metrics::default(),
            deadline_hits: AtomicU64::new(0),
            stuck: AtomicU64::new(0),
            busy: AtomicU64::new(0),
        }
    }
    /// The plugin.
    pub fn slug(&self) -> &str {
        &self.slug
    }
    /// Its kind.
    pub fn kind(&self) -> PointKind {
        self.kind
    }
    /// Its name within the kind.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// How messages name it: `its route GET /x`, `its on_enable`, ….
    pub fn label(&self) -> &str {
        &self.label
    }
    /// How long a call may take.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
    /// Its calls, errors, panics and latency.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    /// Calls that were still running at their deadline.
    pub fn deadline_hits(&self) -> u64 {
        self.deadline_hits.load(Ordering::Relaxed)
    }
    /// Calls refused because the plugin's capacity was in use.
    pub fn busy(&self) -> u64 {
        self.busy.load(Ordering::Relaxed)
    }
    /// Calls counted stuck (past their deadline and still running then).
    pub fn stuck(&self) -> u64 {
        self.stuck.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for CallPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.slug, self.label)
    }
}

/// How many calls one plugin has running, against its capacity.
#[derive(Debug)]
pub struct Lane {
    capacity: u32,
    in_use: AtomicU32,
    stuck: AtomicU32,
}

/// Whether a call counts against the plugin's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Refused when the capacity is in use (routes, hooks, events, jobs).
    Counted,
    /// Always runs (lifecycle: an admin must be able to disable a plugin
    /// whose capacity is held by stuck calls); still shown as in use.
    Exempt,
}

impl Lane {
    /// A lane for `capacity` calls at once.
    pub fn new(capacity: u32) -> Self {
        Self {
            capacity,
            in_use: AtomicU32::new(0),
            stuck: AtomicU32::new(0),
        }
    }
    /// Its capacity.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }
    /// Calls running now (stuck ones included).
    pub fn in_use(&self) -> u32 {
        self.in_use.load(Ordering::Relaxed)
    }
    /// Calls running past their deadline now.
    pub fn stuck_now(&self) -> u32 {
        self.stuck.load(Ordering::Relaxed)
    }
    #[inline]
    fn admit(&self, admission: Admission) -> bool {
        let before = self.in_use.fetch_add(1, Ordering::AcqRel);
        if admission == Admission::Counted && before >= self.capacity {
            self.in_use.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }
    #[inline]
    fn release(&self) {
        self.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a call did not return a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The plugin's capacity is in use.
    #[error("plugin {slug:?} is busy: all {capacity} of its calls are in use")]
    Busy {
        /// The plugin.
        slug: String,
        /// Its capacity.
        capacity: u32,
    },
    /// The call was still running at its deadline (it is counted `stuck`
    /// until it returns).
    #[error("plugin {slug:?} did not return from {what} within {}", humanize(*after))]
    Deadline {
        /// The plugin.
        slug: String,
        /// What was called (`its route GET /x`).
        what: String,
        /// The deadline.
        after: Duration,
    },
    /// No thread could be started for the call, or the call's thread died.
    #[error("plugin {slug:?}: {reason}")]
    NoThread {
        /// The plugin.
        slug: String,
        /// Why.
        reason: String,
    },
}

fn humanize(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// One call to run: the plugin's lane, the entry point, and how.
pub struct Call {
    /// The plugin's capacity.
    pub lane: Arc<Lane>,
    /// The entry point (deadline, metrics, label).
    pub point: Arc<CallPoint>,
    /// Whether it is refused when the capacity is in use.
    pub admission: Admission,
    /// Whether it is journaled (calls into dynamic plugins).
    pub journaled: bool,
}

const RUNNING: u8 = 0;
const DONE: u8 = 1;
const ABANDONED: u8 = 2;

/// Runs plugin calls on its pool. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    pool: pool::Pool,
    journal: Option<Arc<Journal>>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (threads, idle) = self.pool.threads();
        write!(f, "Executor({threads} threads, {idle} idle)")
    }
}

impl Executor {
    /// An executor writing its in-flight records to `journal` (if any).
    pub fn new(journal: Option<Arc<Journal>>) -> Self {
        Self {
            pool: pool::Pool::new(journal.clone()),
            journal,
        }
    }

    /// After a normal shutdown: clears the in-flight journal and removes
    /// its file (see [`Journal`]).
    pub fn retire_journal(&self) {
        if let Some(journal) = &self.journal {
            journal.retire();
        }
    }

    /// Threads in the pool, and how many are idle.
    pub fn threads(&self) -> (usize, usize) {
        self.pool.threads()
    }

    /// Runs `f` as `call` on a pool thread and waits for it until the
    /// entry point's deadline.
    pub async fn run<T: Send + 'static>(
        &self,
        call: Call,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ExecError> {
        let Call {
            lane,
            point,
            admission,
            journaled,
        } = call;
        if !lane.admit(admission) {
            point.busy.fetch_add(1, Ordering::Relaxed);
            return Err(ExecError::Busy {
                slug: point.slug.clone(),
                capacity: lane.capacity,
            });
        }
        let state = Arc::new(AtomicU8::new(RUNNING));
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let deadline = point.deadline;
        let until = Instant::now() + deadline;
        let (job_state, job_lane, job_point) =
            (Arc::clone(&state), Arc::clone(&lane), Arc::clone(&point));
        let span = trace::span(&point, request_id().as_deref());
        let submitted = self.pool.submit(Box::new(move |slot| {
            let _span = span.enter();
            let finish = Finish {
                state: &job_state,
                lane: &job_lane,
                point: &job_point,
                started: Instant::now(),
            };
            if job_state.load(Ordering::Acquire) == ABANDONED {
                // The caller gave up while the call waited for a thread:
                // it is not made at all.
                return;
            }
            let _deadline = deadline::set(until);
            let value = match slot {
                Some(slot) if journaled => {
                    let _entered = slot.enter(&job_point.slug, &job_point.label);
                    f()
                }
                _ => f(),
            };
            drop(finish);
            let _ = tx.send(value);
        }));
        if let Err(e) = submitted {
            lane.release();
            return Err(ExecError::NoThread {
                slug: point.slug.clone(),
                reason: e.to_string(),
            });
        }
        match tokio::time::timeout(deadline, &mut rx).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(lost(&point)),
            Err(_) => {
                // Counted before the swap, so that the call's own `Finish`
                // (which takes it back) never sees it below zero.
                lane.stuck.fetch_add(1, Ordering::AcqRel);
                if state
                    .compare_exchange(RUNNING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    Err(abandoned(&point))
                } else {
                    lane.stuck.fetch_sub(1, Ordering::AcqRel);
                    // It returned as the deadline passed.
                    rx.await.map_err(|_| lost(&point))
                }
            }
        }
    }
}

/// Marks a call finished on its thread (also when it unwinds): releases
/// its capacity, and if the caller gave up on it, says so.
struct Finish<'a> {
    state: &'a AtomicU8,
    lane: &'a Lane,
    point: &'a CallPoint,
    started: Instant,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.lane.release();
        if self
            .state
            .compare_exchange(RUNNING, DONE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            self.lane.stuck.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!(
                plugin = %self.point.slug,
                "{} ended after {:.1} s, past its deadline of {}",
                self.point.label,
                self.started.elapsed().as_secs_f64(),
                humanize(self.point.deadline),
            );
        }
    }
}

/// Counts a call the caller stopped waiting for (its lane's stuck count
/// was raised before the caller won the swap).
fn abandoned(point: &CallPoint) -> ExecError {
    point.deadline_hits.fetch_add(1, Ordering::Relaxed);
    point.stuck.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        plugin = %point.slug,
        "stuck: {} is still running at its deadline of {}",
        point.label,
        humanize(point.deadline),
    );
    ExecError::Deadline {
        slug: point.slug.clone(),
        what: point.label.clone(),
        after: point.deadline,
    }
}

fn lost(point: &CallPoint) -> ExecError {
    ExecError::NoThread {
        slug: point.slug.clone(),
        reason: format!("the thread running {} ended without an answer", point.label),
    }
}
