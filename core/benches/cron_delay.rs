//! Cron firing delay: how late a plugin's job starts after its scheduled
//! time, over at least 100 ticks, through the whole path (tokio-cron-scheduler
//! ticker → the host's overlap guard → `spawn_blocking` → the registry's
//! guarded call). Ten `every 1s` jobs; their ticks are whole seconds, so the
//! delay of a run is how far past the second it started.
//!
//! Run with `scripts/bench cron_delay`.

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::{
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use plugboard_core::{Runtime, RuntimeConfig};
use plugboard_plugin_api::{builtin, prelude::*};

const JOBS: usize = 10;
const TICKS: usize = 200;

static DELAYS_US: Mutex<Vec<f64>> = Mutex::new(Vec::new());

struct Punctual;

impl Punctual {
    fn run(&self, _ctx: &Context) -> PluginResult {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let late = now.subsec_nanos() as f64 / 1_000.0;
        DELAYS_US.lock().unwrap().push(late);
        Ok(())
    }
}

impl Plugin for Punctual {
    fn slug(&self) -> &str {
        "punctual"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn jobs(&self) -> Vec<Job<Self>> {
        (0..JOBS)
            .map(|i| Job::new(format!("job-{i}"), "every 1s", Self::run))
            .collect()
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = rt.block_on(async {
        Runtime::start(
            RuntimeConfig::new(dir.path()),
            &[common::builtin_with(
                "punctual",
                serde_json::json!({"cron": true}),
                || builtin(Punctual),
            )],
        )
        .await
        .unwrap()
    });
    assert_eq!(runtime.plugin("punctual").map(|p| p.is_live()), Some(true));
    while DELAYS_US.lock().unwrap().len() < TICKS {
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut d = DELAYS_US.lock().unwrap().clone();
    let n = d.len();
    let p50 = common::percentile(&mut d, 50.0);
    let p99 = common::percentile(&mut d, 99.0);
    let max = common::percentile(&mut d, 100.0);
    println!(
        "cron firing delay over {n} runs of {JOBS} `every 1s` jobs: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p50 / 1000.0,
        p99 / 1000.0,
        max / 1000.0
    );
    drop(runtime);
}
