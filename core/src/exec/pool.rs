//! The threads plugin calls run on.
//!
//! A call that never returns keeps its thread for ever (Rust cannot stop a
//! thread), so no job may wait long behind another. But a thread per job
//! is what made the first handoff slow: under load every job woke (or
//! made) a thread of its own. So the pool works like Go's scheduler with
//! its system monitor:
//!
//! * up to as many threads as the machine has cores are made on
//!   demand, and jobs queue for them: a thread takes the next job as soon
//!   as it finishes one, without sleeping in between, so a busy pool costs
//!   no wake-up per job;
//! * a monitor thread watches the queue while it is not empty: when its
//!   oldest job has waited [`PATIENCE`] with no thread free (the threads
//!   are all in long or stuck calls), it adds a thread. A job therefore
//!   waits at most about [`PATIENCE`] behind calls that do not return.
//!
//! Idle threads above [`WARM`] leave after [`KEEP_ALIVE`]. How many calls
//! one plugin may have running is the lanes' business ([`super::Lane`]),
//! so the number of threads is bounded by the sum of the plugins'
//! capacities (and by [`MAX_THREADS`]).

use std::{
    collections::VecDeque,
    sync::{atomic::Ordering, Arc, Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use super::journal::{Journal, Slot};

/// A job gets its thread's journal slot (none when the runtime keeps no
/// journal, or every slot is taken).
pub(super) type Job = Box<dyn FnOnce(Option<&mut Slot>) + Send + 'static>;

/// Threads kept even when idle.
pub(super) const WARM: usize = 4;
/// How long an idle thread above [`WARM`] stays.
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// How long a queued job waits for a busy thread before the monitor adds
/// one.
pub(super) const PATIENCE: Duration = Duration::from_millis(1);
/// How long a thread that ran out of jobs looks for the next one before
/// it sleeps (a job it finds this way costs no wake-up).
const SPIN: Duration = Duration::from_micros(50);
/// A hard ceiling, far above any sum of capacities an operator would set.
pub(super) const MAX_THREADS: usize = 4096;

#[derive(Default)]
struct State {
    /// Queued jobs: (sequence number, when queued, the job).
    queue: VecDeque<(u64, Instant, Job)>,
    next_seq: u64,
    threads: usize,
    idle: usize,
    /// Idle threads already woken for a queued job.
    woken: usize,
    /// Threads looking for the next job before they sleep.
    spinning: usize,
    /// Whether the monitor is watching the queue (else it sleeps until
    /// woken).
    watching: bool,
    monitor_started: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Jobs in the queue, readable without the lock (for spinning threads).
    queued: std::sync::atomic::AtomicUsize,
    wake: Condvar,
    monitor: Condvar,
    journal: Option<Arc<Journal>>,
    parallelism: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A job never runs under the lock, so the lock cannot be poisoned
        // by a plugin; recover anyway rather than stop serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A pool of threads for plugin calls. Cheap to clone.
#[derive(Clone)]
pub(super) struct Pool {
    shared: Arc<Shared>,
}

/// The pool could not start a thread for a job (the job was dropped).
#[derive(Debug, thiserror::Error)]
#[error("no thread for a plugin call: {0}")]
pub(super) struct NoThread(String);

impl Pool {
    pub(super) fn new(journal: Option<Arc<Journal>>) -> Self {
        let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                queued: Default::default(),
                wake: Condvar::new(),
                monitor: Condvar::new(),
                journal,
                parallelism,
            }),
        }
    }

    /// Runs `job` on a pool thread.
    pub(super) fn submit(&self, job: Job) -> Result<(), NoThread> {
        let mut state = self.shared.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.queue.push_back((seq, Instant::now(), job));
        self.shared.queued.fetch_add(1, Ordering::Release);
        if state.spinning >= state.queue.len() {
            // Threads that just finished a job take the queued ones, one
            // each, unwoken.
            return Ok(());
        }
        if state.idle > state.woken {
            state.woken += 1;
            drop(state);
            self.shared.wake.notify_one();
            return Ok(());
        }
        if state.threads < self.shared.parallelism {
            match spawn(&self.shared, state) {
                Ok(()) => return Ok(()),
                // The job stays queued; the monitor tries again.
                Err(e) => {
                    tracing::warn!("{e}");
                    state = self.shared.lock();
                }
            }
        }
        // Every thread is busy: the job waits for one, and the monitor
        // adds a thread if none comes free in time.
        if !state.watching {
            state.watching = true;
            if !state.monitor_started {
                state.monitor_started = true;
                let shared = Arc::clone(&self.shared);
                let started = std::thread::Builder::new()
                    .name("plugin-call-monitor".into())
                    .spawn(move || monitor(&shared));
                if let Err(e) = started {
                    // Without a monitor a job could wait for ever: refuse it,
                    // unless a thread took it meanwhile (then it runs).
                    state.monitor_started = false;
                    state.watching = false;
                    if state.threads == 0 {
                        if let Some(i) = state.queue.iter().position(|(s, ..)| *s == seq) {
                            state.queue.remove(i);
                            self.shared.queued.fetch_sub(1, Ordering::Release);
                            return Err(NoThread(e.to_string()));
                        }
                        return Ok(());
                    }
                    tracing::error!("cannot start the plugin-call monitor: {e}");
                }
            } else {
                drop(state);
                self.shared.monitor.notify_one();
            }
        }
        Ok(())
    }

    /// Threads now in the pool, and how many of them are idle.
    pub(super) fn threads(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.threads, state.idle)
    }
}

/// Starts one more thread (the caller holds the lock, passed in).
fn spawn(shared: &Arc<Shared>, mut state: MutexGuard<'_, State>) -> Result<(), NoThread> {
    if state.threads >= MAX_THREADS {
        return Err(NoThread(format!("{MAX_THREADS} threads are busy")));
    }
    state.threads += 1;
    drop(state);
    let for_thread = Arc::clone(shared);
    std::thread::Builder::new()
        .name("plugin-call".into())
        .spawn(move || work(&for_thread))
        .map(|_| ())
        .map_err(|e| {
            shared.lock().threads -= 1;
            NoThread(e.to_string())
        })
}

fn work(shared: &Shared) {
    let mut slot = shared.journal.as_ref().and_then(|j| j.slot());
    let mut state = shared.lock();
    loop {
        if let Some((_, _, job)) = state.queue.pop_front() {
            shared.queued.fetch_sub(1, Ordering::Release);
            drop(state);
            // A job's own guards release what it holds if it unwinds; the
            // thread goes on (a panic here is a host bug, not a plugin's:
            // plugin panics are caught at the boundary).
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(slot.as_mut())))
                .is_err()
            {
                tracing::error!("a plugin-call job panicked in the host");
            }
            state = shared.lock();
            if state.queue.is_empty() {
                state = spin(shared, state);
            }
            continue;
        }
        state.idle += 1;
        let (next, waited) = shared
            .wake
            .wait_timeout(state, KEEP_ALIVE)
            .unwrap_or_else(|p| p.into_inner());
        state = next;
        state.idle -= 1;
        if state.woken > 0 {
            state.woken -= 1;
        }
        if waited.timed_out() && state.queue.is_empty() && state.threads > WARM {
            state.threads -= 1;
            return;
        }
    }
}

/// Looks for a next job for [`SPIN`] without the lock, then returns the
/// lock (the caller takes a job if one came).
fn spin<'a>(shared: &'a Shared, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
    state.spinning += 1;
    drop(state);
    let start = Instant::now();
    let mut rounds = 0u32;
    while shared.queued.load(Ordering::Acquire) == 0 {
        std::hint::spin_loop();
        rounds += 1;
        if rounds.is_multiple_of(64) {
            if start.elapsed() > SPIN {
                break;
            }
            std::thread::yield_now();
        }
    }
    let mut state = shared.lock();
    state.spinning -= 1;
    state
}

/// Adds a thread whenever the oldest queued job has waited [`PATIENCE`]
/// with no thread free; sleeps while the queue is empty.
fn monitor(shared: &Arc<Shared>) {
    let mut state = shared.lock();
    loop {
        while !state.watching {
            state = shared
                .monitor
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        let Some(&(_, queued_at, _)) = state.queue.front() else {
            state.watching = false;
            continue;
        };
        let waited = queued_at.elapsed();
        if waited < PATIENCE {
            state = shared
                .monitor
                .wait_timeout(state, PATIENCE - waited)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            continue;
        }
        if state.idle > state.woken {
            // A thread is free and will take it.
            state.woken += 1;
            shared.wake.notify_one();
        } else {
            if let Err(e) = spawn(shared, state) {
                tracing::error!("plugin calls are waiting: {e}");
                std::thread::sleep(PATIENCE);
            }
            state = shared.lock();
        }
        // Give the new (or woken) thread its job before looking again.
        state = shared
            .monitor
            .wait_timeout(state, PATIENCE)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_job_does_not_wait_for_ever_behind_jobs_that_do_not_return() {
        let pool = Pool::new(None);
        // Held jobs wait for a message that never comes, until the sender
        // is dropped at the end (one waits in `recv`, the others on the lock).
        let (hold_tx, hold_rx) = mpsc::channel::<()>();
        let hold_rx = Arc::new(Mutex::new(hold_rx));
        let (started_tx, started_rx) = mpsc::channel();
        for _ in 0..WARM + 2 {
            let (hold_rx, started_tx) = (Arc::clone(&hold_rx), started_tx.clone());
            pool.submit(Box::new(move |_| {
                started_tx.send(()).unwrap();
                let _ = hold_rx.lock().unwrap().recv();
            }))
            .unwrap();
        }
        for _ in 0..WARM + 2 {
            started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        let (done_tx, done_rx) = mpsc::channel();
        pool.submit(Box::new(move |_| done_tx.send(42).unwrap()))
            .unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)).unwrap(), 42);
        let (threads, _) = pool.threads();
        assert!(threads > WARM + 2, "the monitor added a thread: {threads}");
        drop(hold_tx);
    }

    #[test]
    fn idle_threads_are_reused() {
        let pool = Pool::new(None);
        for _ in 0..100 {
            let (tx, rx) = mpsc::channel();
            pool.submit(Box::new(move |_| tx.send(()).unwrap()))
                .unwrap();
            rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        let (threads, _) = pool.threads();
        assert!(
            threads <= 2,
            "{threads} threads for calls made one at a time"
        );
    }
}
