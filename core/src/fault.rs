//! The fault policy: a plugin that panics too often is taken out of service.

use std::{
    collections::VecDeque,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How many panics within which window move a plugin to `Errored`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPolicy {
    /// Panics that trip the policy.
    pub max_panics: u32,
    /// The sliding window they must fall in.
    pub window: Duration,
}

impl Default for FaultPolicy {
    /// 5 panics within 60 s.
    fn default() -> Self {
        Self {
            max_panics: 5,
            window: Duration::from_secs(60),
        }
    }
}

/// The recent panics of one plugin.
#[derive(Default)]
pub struct PanicWindow {
    times: Mutex<VecDeque<Instant>>,
}

impl PanicWindow {
    /// Records a panic at `now`; `true` when the policy trips.
    pub fn record(&self, policy: FaultPolicy, now: Instant) -> bool {
        let mut times = self.times.lock().unwrap_or_else(|p| p.into_inner());
        times.push_back(now);
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > policy.window)
        {
            times.pop_front();
        }
        times.len() >= policy.max_panics as usize
    }

    /// Forgets every recorded panic (on reset).
    pub fn clear(&self) {
        self.times.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_on_the_fifth_panic_within_the_window() {
        let policy = FaultPolicy::default();
        let w = PanicWindow::default();
        let t0 = Instant::now();
        for i in 0..4 {
            assert!(!w.record(policy, t0 + Duration::from_secs(i)));
        }
        assert!(w.record(policy, t0 + Duration::from_secs(4)));
    }

    #[test]
    fn panics_spread_wider_than_the_window_never_trip() {
        let policy = FaultPolicy::default();
        let w = PanicWindow::default();
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(!w.record(policy, t0 + Duration::from_secs(i * 20)));
        }
    }
}
