//! Per-plugin call metrics: calls, errors, panics and latency, lock-free.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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

    /// A consistent-enough snapshot (each counter is read once).
    pub fn snapshot(&self) -> MetricsSnapshot {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let calls: u64 = counts.iter().sum();
        let quantile = |q: f64| -> f64 {
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
        };
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

#[cfg(test)]
mod tests {
    use super::*;

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
