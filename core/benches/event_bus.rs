//! Event bus: one emitter (app code through `Runtime::emit`), 100 subscribed
//! plugins: 99 built-in and the dynamic `noop` fixture (one library loads
//! under one slug only, so the dynamic side is one plugin; its per-call FFI
//! cost is what `hook_dispatch` measures). Reports async emit latency
//! (p50/p99 per call) and deliveries per second; emits in rounds that fit the
//! queues (1024 per subscriber) so nothing is dropped, and checks that.
//!
//! Run with `scripts/bench event_bus`.

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        OnceLock,
    },
    time::{Duration, Instant},
};

use plugboard_core::{Runtime, RuntimeConfig};
use plugboard_plugin_api::{builtin, prelude::*, BuiltinPlugin};

const BUILTIN_SUBSCRIBERS: usize = 99;
const ROUNDS: usize = 20;
const PER_ROUND: usize = 1000;

fn slugs() -> &'static Vec<String> {
    static SLUGS: OnceLock<Vec<String>> = OnceLock::new();
    SLUGS.get_or_init(|| {
        (0..BUILTIN_SUBSCRIBERS)
            .map(|i| format!("sink-{i}"))
            .collect()
    })
}

/// Built-ins are made in list order: each `make` takes the next slug.
static NEXT: AtomicUsize = AtomicUsize::new(0);

struct Sink(&'static str);

impl Plugin for Sink {
    fn slug(&self) -> &str {
        self.0
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn subscriptions(&self) -> Vec<String> {
        vec!["bench.*".into()]
    }
    fn on_event(&self, _ctx: &Context, _event: &Event) -> PluginResult {
        Ok(())
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    common::stage_noop(dir.path());
    let builtins: Vec<BuiltinPlugin> = slugs()
        .iter()
        .map(|slug| {
            common::builtin_with(
                slug,
                serde_json::json!({"events": {"subscribe": ["bench.*"]}}),
                || builtin(Sink(&slugs()[NEXT.fetch_add(1, Ordering::Relaxed)])),
            )
        })
        .collect();
    let runtime = rt.block_on(async {
        let r = Runtime::start(RuntimeConfig::new(dir.path()), &builtins)
            .await
            .unwrap();
        r.enable("noop", "bench").await.unwrap();
        r
    });
    let subscribers = runtime.events().subscribers();
    assert_eq!(subscribers.len(), BUILTIN_SUBSCRIBERS + 1, "all subscribed");

    let mut latencies_ns = Vec::with_capacity(ROUNDS * PER_ROUND);
    let mut busy = Duration::ZERO;
    for round in 0..ROUNDS {
        let start = Instant::now();
        for i in 0..PER_ROUND {
            let payload = serde_json::json!({"round": round, "i": i});
            let t = Instant::now();
            runtime.emit("bench.tick", &payload);
            latencies_ns.push(t.elapsed().as_nanos() as f64);
        }
        assert!(runtime.events().drain(Duration::from_secs(60)));
        busy += start.elapsed();
    }
    let subs = runtime.events().subscribers();
    let delivered: u64 = subs.iter().map(|s| s.delivered).sum();
    let dropped: u64 = subs.iter().map(|s| s.dropped).sum();
    let failed: u64 = subs.iter().map(|s| s.failed).sum();
    assert_eq!(dropped + failed, 0, "no event dropped or failed");
    assert_eq!(delivered as usize, ROUNDS * PER_ROUND * subs.len());
    let p50 = common::percentile(&mut latencies_ns, 50.0);
    let p99 = common::percentile(&mut latencies_ns, 99.0);
    println!(
        "event bus, {} subscribers ({} built-in + 1 dynamic), {} events: async emit p50 {:.2} µs, p99 {:.2} µs; {:.2} M deliveries/s ({} deliveries in {:.3} s)",
        subs.len(),
        BUILTIN_SUBSCRIBERS,
        ROUNDS * PER_ROUND,
        p50 / 1000.0,
        p99 / 1000.0,
        delivered as f64 / busy.as_secs_f64() / 1e6,
        delivered,
        busy.as_secs_f64()
    );
}
