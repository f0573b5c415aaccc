//! The event bus: plugins subscribe by name or pattern; plugins emit in their
//! own namespace, the host and app code emit anywhere.
//!
//! * **Async emit** returns at once: the event goes on the bus's bounded
//!   intake queue ([`EventBus::INTAKE_CAPACITY`]); a dispatcher task puts it
//!   on each matching subscriber's bounded queue
//!   ([`EventBus::QUEUE_CAPACITY`]), and one task per subscriber delivers
//!   its queue in order. (Fanning out on the emitter's thread cost one task
//!   wake-up per subscriber: p99 28.8 µs with 100 subscribers; see
//!   BENCHMARKS.md.)
//! * **Queue full policy**: when a subscriber's queue is full, the new event
//!   is dropped *for that subscriber only* and counted in its `dropped`
//!   counter; other subscribers are unaffected. When the intake itself is
//!   full (the dispatcher is `INTAKE_CAPACITY` events behind), the new event
//!   is dropped and counted in the bus's `intake_dropped`. The emitter never
//!   blocks.
//! * **Sync emit** delivers to every matching subscriber on the caller's
//!   thread, in subscription order, and returns their failures.
//! * A handler's error or panic is caught (the plugin call guard), counted
//!   per plugin, and never reaches the emitter or other subscribers.
//! * Subscriptions end when the plugin is disabled or unloaded.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc, OnceLock,
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::{
    background::Background,
    exec::{CallPoint, Executor, PointKind, Step, StepFn, StepOutcome},
    fault::FaultPolicy,
    registry::{CallError, PluginEntry, PluginKind, Tripper},
};

/// Event patterns and names: one matcher, shared with plugins
/// (`plugboard_plugin_api::event_matches`), in `plugboard-manifest`.
pub use plugboard_manifest::pattern::{is_valid_name, Pattern, PatternError};

/// Where a bus copies every event emitted: `(name, payload JSON)`.
pub type Tap = std::sync::mpsc::Sender<(String, String)>;

struct Event {
    name: String,
    payload: String,
}

struct Subscriber {
    entry: Arc<PluginEntry>,
    patterns: Vec<Pattern>,
    raw_patterns: Vec<String>,
    queue: mpsc::Sender<Arc<Event>>,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Stats {
    queued: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

/// A subscriber as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriberInfo {
    /// The plugin.
    pub plugin: String,
    /// Its patterns.
    pub patterns: Vec<String>,
    /// Events put on its queue.
    pub queued: u64,
    /// Events its handler accepted.
    pub delivered: u64,
    /// Events dropped because its queue was full.
    pub dropped: u64,
    /// Events its handler failed on or panicked on.
    pub failed: u64,
    /// Events waiting in its queue.
    pub backlog: usize,
}

/// The bus's intake counters.
#[derive(Default)]
struct Intake {
    accepted: AtomicU64,
    dispatched: AtomicU64,
    dropped: AtomicU64,
}

/// The intake as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct IntakeInfo {
    /// Events accepted by async emits.
    pub accepted: u64,
    /// Events handed to the subscribers' queues.
    pub dispatched: u64,
    /// Events dropped because the intake was full.
    pub intake_dropped: u64,
}

/// The bus. Owned by the runtime.
pub struct EventBus {
    subscribers: Arc<ArcSwap<Vec<Arc<Subscriber>>>>,
    intake: mpsc::Sender<Arc<Event>>,
    intake_stats: Arc<Intake>,
    runtime: Background,
    policy: FaultPolicy,
    tripper: Arc<OnceLock<Tripper>>,
    exec: Executor,
    /// Where every event emitted is copied (`RuntimeConfig::event_tap`).
    tap: Option<Tap>,
}

impl EventBus {
    /// Events a subscriber's queue holds before new ones are dropped for it.
    pub const QUEUE_CAPACITY: usize = 1024;
    /// Events the intake holds before new ones are dropped.
    pub const INTAKE_CAPACITY: usize = 16_384;

    /// A bus with its own delivery threads; every event emitted, async or
    /// sync, by plugins or the host, is also copied to `tap` in emit order
    /// (test hosts capture events with it).
    pub fn new(policy: FaultPolicy, exec: Executor, tap: Option<Tap>) -> std::io::Result<Self> {
        let runtime = Background::new("plugboard-events", 2)?;
        let subscribers: Arc<ArcSwap<Vec<Arc<Subscriber>>>> =
            Arc::new(ArcSwap::from_pointee(Vec::new()));
        let intake_stats = Arc::new(Intake::default());
        let (intake, mut rx) = mpsc::channel::<Arc<Event>>(Self::INTAKE_CAPACITY);
        let (subs, stats) = (Arc::clone(&subscribers), Arc::clone(&intake_stats));
        runtime.spawn(async move {
            let mut batch = Vec::with_capacity(256);
            while rx.recv_many(&mut batch, 256).await > 0 {
                let current = subs.load();
                for ev in batch.drain(..) {
                    fan_out(&current, ev);
                    stats.dispatched.fetch_add(1, Relaxed);
                }
            }
        });
        Ok(Self {
            subscribers,
            intake,
            intake_stats,
            runtime,
            policy,
            tripper: Arc::new(OnceLock::new()),
            exec,
            tap,
        })
    }

    fn copy_to_tap(&self, name: &str, payload: &str) {
        if let Some(tap) = &self.tap {
            let _ = tap.send((name.to_string(), payload.to_string()));
        }
    }

    /// What to do when a handler trips the fault policy (set once by the
    /// runtime).
    pub(crate) fn tripper(&self) -> &OnceLock<Tripper> {
        &self.tripper
    }

    /// Subscribes `entry` with `patterns`, replacing earlier subscriptions.
    pub fn subscribe(
        &self,
        entry: &Arc<PluginEntry>,
        patterns: &[String],
    ) -> Result<(), plugboard_manifest::pattern::PatternError> {
        let parsed = patterns
            .iter()
            .map(|p| Pattern::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        if parsed.is_empty() {
            self.unsubscribe(entry.slug());
            return Ok(());
        }
        let (tx, mut rx) = mpsc::channel::<Arc<Event>>(Self::QUEUE_CAPACITY);
        let stats = Arc::new(Stats::default());
        let sub = Arc::new(Subscriber {
            entry: Arc::clone(entry),
            patterns: parsed,
            raw_patterns: patterns.to_vec(),
            queue: tx,
            stats: Arc::clone(&stats),
        });
        let slug = entry.slug().to_string();
        let delivery = Delivery {
            point: entry.point(
                PointKind::Event,
                &patterns.join(" "),
                entry.deadlines().call,
            ),
            target: Arc::clone(entry),
            policy: self.policy,
            tripper: Arc::clone(&self.tripper),
            stats,
            exec: self.exec.clone(),
        };
        self.runtime.spawn(async move {
            let mut batch = Vec::with_capacity(DELIVERY_BATCH);
            while rx.recv_many(&mut batch, DELIVERY_BATCH).await > 0 {
                delivery.deliver(std::mem::take(&mut batch)).await;
            }
        });
        // One swap: the previous subscription (an older generation of the
        // plugin, after an update) is replaced without a gap; events already
        // on its queue are still delivered to it.
        self.subscribers.rcu(|subs| {
            let mut v: Vec<_> = subs
                .iter()
                .filter(|s| s.entry.slug() != slug)
                .cloned()
                .collect();
            v.push(Arc::clone(&sub));
            v
        });
        Ok(())
    }

    /// Ends every subscription of `slug` (its queue is discarded).
    pub fn unsubscribe(&self, slug: &str) {
        self.subscribers.rcu(|subs| {
            subs.iter()
                .filter(|s| s.entry.slug() != slug)
                .cloned()
                .collect::<Vec<_>>()
        });
    }

    /// Queues an event for the matching subscribers and returns at once.
    pub fn emit(&self, name: &str, payload: &str) {
        self.copy_to_tap(name, payload);
        let event = Arc::new(Event {
            name: name.to_string(),
            payload: payload.to_string(),
        });
        match self.intake.try_send(event) {
            Ok(()) => self.intake_stats.accepted.fetch_add(1, Relaxed),
            Err(_) => self.intake_stats.dropped.fetch_add(1, Relaxed),
        };
    }

    /// Counts `n` events lost before they reached the intake (cluster
    /// events pruned before this replica read them).
    pub(crate) fn count_dropped(&self, n: u64) {
        self.intake_stats.dropped.fetch_add(n, Relaxed);
    }

    /// The intake's counters.
    pub fn intake(&self) -> IntakeInfo {
        IntakeInfo {
            accepted: self.intake_stats.accepted.load(Relaxed),
            dispatched: self.intake_stats.dispatched.load(Relaxed),
            intake_dropped: self.intake_stats.dropped.load(Relaxed),
        }
    }

    /// Delivers to every matching subscriber now, in order; their failures.
    pub fn emit_sync(&self, name: &str, payload: &str) -> Vec<(String, String)> {
        self.copy_to_tap(name, payload);
        let subs = self.subscribers.load();
        let ev = Event {
            name: name.to_string(),
            payload: payload.to_string(),
        };
        let mut failures = Vec::new();
        for s in subs
            .iter()
            .filter(|s| s.patterns.iter().any(|p| p.matches(name)))
        {
            if let Some(e) = deliver(&s.entry, self.policy, &self.tripper, &s.stats, &ev) {
                failures.push((s.entry.slug().to_string(), e));
            }
        }
        failures
    }

    /// Every subscriber with its counters.
    pub fn subscribers(&self) -> Vec<SubscriberInfo> {
        self.subscribers
            .load()
            .iter()
            .map(|s| SubscriberInfo {
                plugin: s.entry.slug().to_string(),
                patterns: s.raw_patterns.clone(),
                queued: s.stats.queued.load(Relaxed),
                delivered: s.stats.delivered.load(Relaxed),
                dropped: s.stats.dropped.load(Relaxed),
                failed: s.stats.failed.load(Relaxed),
                backlog: Self::QUEUE_CAPACITY - s.queue.capacity(),
            })
            .collect()
    }

    /// Waits until every queue is empty (tests, shutdown), at most `timeout`.
    pub fn drain(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let stats = &self.intake_stats;
            let busy = stats.accepted.load(Relaxed) > stats.dispatched.load(Relaxed)
                || self.subscribers.load().iter().any(|s| {
                    s.queue.capacity() < Self::QUEUE_CAPACITY
                        || s.stats.queued.load(Relaxed)
                            > s.stats.delivered.load(Relaxed) + s.stats.failed.load(Relaxed)
                });
            if !busy {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Puts `ev` on each matching subscriber's queue (dropping it for a full one).
fn fan_out(subs: &[Arc<Subscriber>], ev: Arc<Event>) {
    for s in subs
        .iter()
        .filter(|s| s.patterns.iter().any(|p| p.matches(&ev.name)))
    {
        match s.queue.try_send(Arc::clone(&ev)) {
            Ok(()) => {
                s.stats.queued.fetch_add(1, Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                s.stats.dropped.fetch_add(1, Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// Events handed to the executor as one chain (one handoff).
const DELIVERY_BATCH: usize = 64;

/// One subscription's deliveries, on the executor.
struct Delivery {
    target: Arc<PluginEntry>,
    point: Arc<CallPoint>,
    policy: FaultPolicy,
    tripper: Arc<OnceLock<Tripper>>,
    stats: Arc<Stats>,
    exec: Executor,
}

impl Delivery {
    /// Delivers `events` in order, each with the subscription's deadline.
    async fn deliver(&self, events: Vec<Arc<Event>>) {
        let events: Arc<[Arc<Event>]> = events.into();
        let steps: Arc<[Step]> = events
            .iter()
            .map(|_| Step {
                lane: Arc::clone(self.target.lane()),
                point: Arc::clone(&self.point),
                journaled: self.target.kind() == PluginKind::Dynamic,
                halt_on_failure: false,
            })
            .collect();
        let call: StepFn<(), Result<(), CallError>> = {
            let (target, point, policy, events) = (
                Arc::clone(&self.target),
                Arc::clone(&self.point),
                self.policy,
                Arc::clone(&events),
            );
            Arc::new(move |i, _| {
                target.call_at(Some(&point), policy, true, |p, ctx| {
                    p.on_event(ctx, &events[i].name, &events[i].payload)
                })
            })
        };
        let (_, outcomes) = self.exec.chain(steps, (), call, |_| false).await;
        for outcome in outcomes {
            let result = match outcome {
                StepOutcome::Done(r) => r,
                StepOutcome::Busy(e) => Err(CallError::Exec(e)),
                StepOutcome::Deadline(e) => {
                    if self.target.record_stuck(self.policy) {
                        if let Some(trip) = self.tripper.get() {
                            trip(&self.target, e.to_string());
                        }
                    }
                    Err(CallError::Exec(e))
                }
                StepOutcome::Lost(e) => Err(CallError::Exec(e)),
                StepOutcome::NotReached => Err(CallError::Unavailable(self.target.slug().into())),
            };
            outcome_counted(&self.target, &self.tripper, &self.stats, result);
        }
    }
}

/// Counts one delivery's outcome; trips the plugin if its panic did.
fn outcome_counted(
    entry: &Arc<PluginEntry>,
    tripper: &OnceLock<Tripper>,
    stats: &Stats,
    result: Result<(), CallError>,
) -> Option<String> {
    match result {
        Ok(()) => {
            stats.delivered.fetch_add(1, Relaxed);
            None
        }
        Err(CallError::Unavailable(_)) => {
            // Disabled meanwhile: the event is discarded with its queue.
            stats.failed.fetch_add(1, Relaxed);
            None
        }
        Err(CallError::Plugin { error, tripped, .. }) => {
            stats.failed.fetch_add(1, Relaxed);
            if tripped {
                if let Some(trip) = tripper.get() {
                    trip(entry, error.to_string());
                }
            }
            Some(error.to_string())
        }
        Err(e @ CallError::Exec(_)) => {
            stats.failed.fetch_add(1, Relaxed);
            Some(e.to_string())
        }
    }
}

/// Delivers one event on the caller's thread (`emit_sync`: the caller is
/// itself a plugin call on the executor, or the host at shutdown).
fn deliver(
    entry: &Arc<PluginEntry>,
    policy: FaultPolicy,
    tripper: &OnceLock<Tripper>,
    stats: &Stats,
    ev: &Event,
) -> Option<String> {
    let result = entry.call(policy, true, |p, ctx| {
        p.on_event(ctx, &ev.name, &ev.payload)
    });
    outcome_counted(entry, tripper, stats, result)
}

impl crate::scope::Emitter for EventBus {
    fn emit(&self, name: &str, payload_json: &str) {
        EventBus::emit(self, name, payload_json)
    }
    fn emit_sync(&self, name: &str, payload_json: &str) -> Vec<(String, String)> {
        EventBus::emit_sync(self, name, payload_json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// When the dispatcher is a whole intake behind (here: both of the
    /// bus's threads held), new events are dropped at the intake and
    /// counted; the emitter never waits, and dispatching resumes after.
    #[test]
    fn a_full_intake_drops_new_events_and_counts_them() {
        let bus = EventBus::new(FaultPolicy::default(), Executor::new(None), None).unwrap();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(std::sync::Mutex::new(held));
        let holding = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let (held, holding) = (Arc::clone(&held), Arc::clone(&holding));
            bus.runtime.spawn(async move {
                holding.fetch_add(1, Relaxed);
                // One waits in `recv`, the other on the lock.
                let _ = held.lock().unwrap().recv();
            });
        }
        let start = std::time::Instant::now();
        while holding.load(Relaxed) < 2 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "threads not held"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let capacity = EventBus::INTAKE_CAPACITY as u64;
        for i in 0..capacity + 10 {
            bus.emit("bulk.item", &format!("{{\"i\": {i}}}"));
        }
        let full = bus.intake();
        assert_eq!((full.accepted, full.intake_dropped), (capacity, 10));
        drop(release);
        while bus.intake().dispatched < capacity {
            assert!(start.elapsed() < Duration::from_secs(20), "not dispatched");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}
