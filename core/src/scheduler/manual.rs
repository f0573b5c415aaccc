//! A clock the caller moves (test hosts): jobs fire when
//! [`Scheduler::advance_to`](super::Scheduler::advance_to) passes their
//! times, never on their own.
//!
//! The firing times are the real scheduler's: a cron job at each instant
//! its expression names, an `every` job each interval after it was
//! scheduled (as tokio-cron-scheduler repeats it).

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{parse_cron, JobId, RunJob, Schedule};

/// One job run the clock caused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fired {
    /// The plugin.
    pub plugin: String,
    /// The job's name.
    pub job: String,
    /// The time it fired at (the clock's, not the wall clock's).
    pub at: DateTime<Utc>,
}

enum Firing {
    Every(chrono::Duration),
    Cron(Box<croner::Cron>),
}

impl Firing {
    fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Firing::Every(d) => t.checked_add_signed(*d),
            Firing::Cron(c) => c.find_next_occurrence(&t, false).ok(),
        }
    }
}

struct ManualJob {
    plugin: String,
    name: String,
    id: JobId,
    firing: Firing,
    next: Option<DateTime<Utc>>,
    run: RunJob,
}

struct State {
    now: DateTime<Utc>,
    jobs: Vec<ManualJob>,
}

/// The manual clock and the jobs it drives.
pub(crate) struct ManualClock(Mutex<State>);

impl ManualClock {
    pub(crate) fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(State {
            now: start,
            jobs: Vec::new(),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half
        // written (each change is one assignment), so a poisoned lock is
        // still consistent.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.state().now
    }

    pub(crate) fn set(&self, to: DateTime<Utc>) {
        let mut state = self.state();
        if to > state.now {
            state.now = to;
        }
    }

    /// Adds a job; its first firing is the first after the clock's time.
    pub(crate) fn add(
        &self,
        plugin: &str,
        name: &str,
        id: JobId,
        schedule: &Schedule,
        run: RunJob,
    ) {
        let firing = match schedule {
            Schedule::Every(d) => {
                Firing::Every(chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::MAX))
            }
            Schedule::Cron(expr) => match parse_cron(expr) {
                Ok(c) => Firing::Cron(Box::new(c)),
                // `Schedule::parse` checked it: nothing to fire otherwise.
                Err(_) => return,
            },
        };
        let mut state = self.state();
        let next = firing.next_after(state.now);
        state.jobs.push(ManualJob {
            plugin: plugin.to_string(),
            name: name.to_string(),
            id,
            firing,
            next,
            run,
        });
    }

    pub(crate) fn remove(&self, plugin: &str) {
        self.state().jobs.retain(|j| j.plugin != plugin);
    }

    pub(crate) fn next_of(&self, id: JobId) -> Option<DateTime<Utc>> {
        self.state().jobs.iter().find(|j| j.id == id)?.next
    }

    /// The earliest firing at or before `to`: the clock moves to it and the
    /// job's next firing is set; the caller runs it.
    pub(crate) fn next_due(&self, to: DateTime<Utc>) -> Option<(Fired, RunJob)> {
        let mut state = self.state();
        let job = state
            .jobs
            .iter_mut()
            .filter(|j| j.next.is_some_and(|n| n <= to))
            .min_by_key(|j| j.next)?;
        let at = job.next?;
        job.next = job.firing.next_after(at);
        let due = (
            Fired {
                plugin: job.plugin.clone(),
                job: job.name.clone(),
                at,
            },
            job.run.clone(),
        );
        // Never backwards (two callers moving the clock at once).
        if at > state.now {
            state.now = at;
        }
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn jobs_fire_in_time_order_at_their_own_times() {
        let clock = ManualClock::new(at("2026-01-01T00:00:00Z"));
        let run = || -> RunJob { Arc::new(|_| Box::pin(async {})) };
        let every = Schedule::parse("every 90s").unwrap();
        let cron = Schedule::parse("*/2 * * * *").unwrap();
        clock.add("p", "fast", JobId::new_v4(), &every, run());
        clock.add("p", "even", JobId::new_v4(), &cron, run());
        let to = at("2026-01-01T00:04:00Z");
        let mut fired = Vec::new();
        while let Some((f, _)) = clock.next_due(to) {
            fired.push((f.job, f.at.format("%M:%S").to_string()));
        }
        let fired: Vec<(&str, &str)> = fired
            .iter()
            .map(|(j, t)| (j.as_str(), t.as_str()))
            .collect();
        assert_eq!(
            fired,
            [
                ("fast", "01:30"),
                ("even", "02:00"),
                ("fast", "03:00"),
                ("even", "04:00"),
            ]
        );
        assert_eq!(clock.now(), at("2026-01-01T00:04:00Z"));
        clock.remove("p");
        assert!(clock.next_due(at("2027-01-01T00:00:00Z")).is_none());
    }
}
