//! The threads plugin calls run on: a pool that always has a thread for a
//! queued call.
//!
//! A call that never returns keeps its thread for ever (Rust cannot stop a
//! thread), so the pool never makes a call wait for a thread another call
//! holds: each queued job is matched either with an idle thread that was
//! woken for it or with a new thread. Idle threads above [`WARM`] leave
//! after [`KEEP_ALIVE`]. How many calls one plugin may have running is the
//! lanes' business ([`super::Lane`]), so the number of threads is bounded
//! by the sum of the plugins' capacities (and by [`MAX_THREADS`]).

use std::{
    collections::VecDeque,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    time::Duration,
};

use super::journal::{Journal, Slot};

/// A job gets its thread's journal slot (none when the runtime keeps no
/// journal, or every slot is taken).
pub(super) type Job = Box<dyn FnOnce(Option<&mut Slot>) + Send + 'static>;

/// Threads kept even when idle.
pub(super) const WARM: usize = 4;
/// How long an idle thread above [`WARM`] stays.
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// A hard ceiling, far above any sum of capacities an operator would set.
pub(super) const MAX_THREADS: usize = 4096;

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    /// Idle threads already woken for a queued job.
    woken: usize,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    journal: Option<Arc<Journal>>,
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
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
                journal,
            }),
        }
    }

    /// Runs `job` on a pool thread; never waits behind another job.
    pub(super) fn submit(&self, job: Job) -> Result<(), NoThread> {
        let mut state = self.shared.lock();
        state.queue.push_back(job);
        if state.idle > state.woken {
            state.woken += 1;
            drop(state);
            self.shared.wake.notify_one();
            return Ok(());
        }
        if state.threads >= MAX_THREADS {
            state.queue.pop_back();
            return Err(NoThread(format!("{MAX_THREADS} threads are busy")));
        }
        state.threads += 1;
        drop(state);
        let shared = Arc::clone(&self.shared);
        std::thread::Builder::new()
            .name("plugin-call".into())
            .spawn(move || work(&shared))
            .map(|_| ())
            .map_err(|e| {
                let mut state = self.shared.lock();
                state.threads -= 1;
                state.queue.pop_back();
                NoThread(e.to_string())
            })
    }

    /// Threads now in the pool, and how many of them are idle.
    pub(super) fn threads(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.threads, state.idle)
    }
}

fn work(shared: &Shared) {
    let mut slot = shared.journal.as_ref().and_then(|j| j.slot());
    let mut state = shared.lock();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            job(slot.as_mut());
            state = shared.lock();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_job_never_waits_behind_one_that_does_not_return() {
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
