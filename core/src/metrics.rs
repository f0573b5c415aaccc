//! Per-plugin call metrics: calls, errors, panics and latency, lock-free;
//! and a short history of them per plugin ([`History`]) for the admin's
//! charts.

use std::{
    collections::VecDeque,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Duration,
};

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde::Serialize;

const BUCKETS: usize = 40;

/// Counters for every call into one plugin (hooks, routes, lifecycle).
pub struct Metrics {
    errors: AtomicU64,
    panics: AtomicU64,
    total_ns: AtomicU64,
    max_ns: AtomicU64,
    /// Bucket `i` counts calls that took `[2^i, 2^(i+1))` ns.
    buckets: [AtomicU64; BUCKETS],
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            errors: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            total_ns: AtomicU64::new(0),
            max_ns: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// A snapshot of [`Metrics`], as the admin API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricsSnapshot {
    /// Calls made.
    pub calls: u64,
    /// Calls that returned an error (panics included).
    pub errors: u64,
    /// Calls that panicked.
    pub panics: u64,
    /// Mean latency in microseconds.
    pub mean_us: f64,
    /// Median latency (upper bound of its power-of-two bucket), microseconds.
    pub p50_us: f64,
    /// 99th percentile latency (upper bound of its bucket), microseconds.
    pub p99_us: f64,
    /// Slowest call, microseconds.
    pub max_us: f64,
}

/// The raw counters of [`Metrics`], for an exposition format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCounts {
    /// `buckets[i]` counts calls that took `[2^i, 2^(i+1))` ns (the last
    /// one: that long or longer).
    pub buckets: Vec<u64>,
    /// Calls that returned an error (panics included).
    pub errors: u64,
    /// Calls that panicked.
    pub panics: u64,
    /// Time spent in calls, nanoseconds.
    pub total_ns: u64,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It returned normally.
    Ok,
    /// It returned an error.
    Error,
    /// It panicked (caught).
    Panic,
}

impl Metrics {
    /// Records one call.
    #[inline]
    pub fn record(&self, elapsed_ns: u64, outcome: Outcome) {
        // The hot path touches two counters; `calls` is the histogram's sum.
        match outcome {
            Outcome::Ok => {}
            Outcome::Error => {
                self.errors.fetch_add(1, Relaxed);
            }
            Outcome::Panic => {
                self.errors.fetch_add(1, Relaxed);
                self.panics.fetch_add(1, Relaxed);
            }
        }
        self.total_ns.fetch_add(elapsed_ns, Relaxed);
        if elapsed_ns > self.max_ns.load(Relaxed) {
            self.max_ns.fetch_max(elapsed_ns, Relaxed);
        }
        let bucket = (64 - elapsed_ns.max(1).leading_zeros() as usize - 1).min(BUCKETS - 1);
        self.buckets[bucket].fetch_add(1, Relaxed);
    }

    /// The latency histogram and the error and panic counters, read once each.
    fn counters(&self) -> Counters {
        Counters {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Relaxed)),
            errors: self.errors.load(Relaxed),
            panics: self.panics.load(Relaxed),
        }
    }

    /// The raw counters (each read once).
    pub fn raw(&self) -> RawCounts {
        let counters = self.counters();
        RawCounts {
            buckets: counters.buckets.to_vec(),
            errors: counters.errors,
            panics: counters.panics,
            total_ns: self.total_ns.load(Relaxed),
        }
    }

    /// A consistent-enough snapshot (each counter is read once).
    pub fn snapshot(&self) -> MetricsSnapshot {
        let counts = self.counters().buckets;
        let calls: u64 = counts.iter().sum();
        let quantile = |q: f64| quantile_us(&counts, q);
        MetricsSnapshot {
            calls,
            errors: self.errors.load(Relaxed),
            panics: self.panics.load(Relaxed),
            mean_us: if calls == 0 {
                0.0
            } else {
                self.total_ns.load(Relaxed) as f64 / calls as f64 / 1000.0
            },
            p50_us: quantile(0.50),
            p99_us: quantile(0.99),
            max_us: self.max_ns.load(Relaxed) as f64 / 1000.0,
        }
    }
}

/// The `q` quantile of a histogram (upper bound of its bucket), µs; 0 when empty.
fn quantile_us(counts: &[u64; BUCKETS], q: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let rank = (q * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return (1u64 << (i + 1)) as f64 / 1000.0;
        }
    }
    0.0
}

#[derive(Clone, Copy)]
struct Counters {
    buckets: [u64; BUCKETS],
    errors: u64,
    panics: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            buckets: [0; BUCKETS],
            errors: 0,
            panics: 0,
        }
    }
}

/// What one plugin did during one sampling interval.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sample {
    /// When the interval ended.
    pub at: DateTime<Utc>,
    /// Calls that ended in the interval.
    pub calls: u64,
    /// Of those, errors (panics included).
    pub errors: u64,
    /// Of those, panics.
    pub panics: u64,
    /// Their 99th percentile latency, µs (0 without calls).
    pub p99_us: f64,
}

/// The last [`History::LEN`] samples of each plugin, one per
/// [`History::EVERY`] (the runtime samples in the background).
#[derive(Default)]
pub struct History {
    series: DashMap<String, Series>,
}

#[derive(Default)]
struct Series {
    last: Counters,
    samples: VecDeque<Sample>,
}

impl History {
    /// Samples kept per plugin.
    pub const LEN: usize = 60;
    /// How often the runtime samples.
    pub const EVERY: Duration = Duration::from_secs(10);

    /// Records what `metrics` counted since `slug`'s previous sample. A
    /// counter that went down means new metrics (a reloaded generation):
    /// the interval then counts from zero.
    pub fn sample(&self, slug: &str, metrics: &Metrics, at: DateTime<Utc>) {
        let now = metrics.counters();
        let mut series = self.series.entry(slug.to_string()).or_default();
        let last = series.last;
        let reset = now.errors < last.errors
            || now.panics < last.panics
            || now.buckets.iter().zip(&last.buckets).any(|(n, l)| n < l);
        let since = if reset { Counters::default() } else { last };
        let delta: [u64; BUCKETS] = std::array::from_fn(|i| now.buckets[i] - since.buckets[i]);
        let sample = Sample {
            at,
            calls: delta.iter().sum(),
            errors: now.errors - since.errors,
            panics: now.panics - since.panics,
            p99_us: quantile_us(&delta, 0.99),
        };
        series.last = now;
        if series.samples.len() == Self::LEN {
            series.samples.pop_front();
        }
        series.samples.push_back(sample);
    }

    /// `slug`'s samples, oldest first.
    pub fn of(&self, slug: &str) -> Vec<Sample> {
        self.series
            .get(slug)
            .map(|s| s.samples.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Keeps only the plugins for which `keep` says yes.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.series.retain(|slug, _| keep(slug));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_counts_each_interval_and_restarts_with_new_metrics() {
        let history = History::default();
        let m = Metrics::default();
        let at = Utc::now();
        for _ in 0..3 {
            m.record(1_000, Outcome::Ok);
        }
        history.sample("p", &m, at);
        m.record(1_000_000, Outcome::Panic);
        history.sample("p", &m, at);
        history.sample("p", &m, at);
        let fresh = Metrics::default();
        fresh.record(1_000, Outcome::Error);
        history.sample("p", &fresh, at);
        let got: Vec<(u64, u64, u64, f64)> = history
            .of("p")
            .iter()
            .map(|s| (s.calls, s.errors, s.panics, s.p99_us))
            .collect();
        assert_eq!(
            got,
            [
                (3, 0, 0, 1.024),
                (1, 1, 1, 1048.576),
                (0, 0, 0, 0.0),
                (1, 1, 0, 1.024)
            ]
        );
        for _ in 0..History::LEN + 5 {
            history.sample("p", &fresh, at);
        }
        assert_eq!(history.of("p").len(), History::LEN);
        history.retain(|slug| slug != "p");
        assert!(history.of("p").is_empty());
    }

    #[test]
    fn counts_and_quantiles_follow_the_recorded_calls() {
        let m = Metrics::default();
        for _ in 0..98 {
            m.record(1_000, Outcome::Ok); // bucket [1024..2048) ns → upper bound 2.048 µs
        }
        m.record(1_000_000, Outcome::Error);
        m.record(3_000, Outcome::Panic);
        let s = m.snapshot();
        assert_eq!((s.calls, s.errors, s.panics), (100, 2, 1));
        assert_eq!(s.p50_us, 1.024);
        assert_eq!(s.p99_us, 4.096);
        assert_eq!(s.max_us, 1000.0);
    }
}
