//! Several replicas on one PostgreSQL database (issue 13), two runtimes in
//! this process, each with its own data folder and its own cluster tasks,
//! exactly as two `plugboard serve` processes would run them:
//!
//! * propagation: 100 changes (disable / enable) made on replica A; the
//!   delay from the call returning on A to the plugin's new state being
//!   live on B;
//! * cluster events: 500 events appended on A; the delay from the append
//!   to the subscriber's call on each replica (both deliver through the
//!   database);
//! * what cluster mode adds to the no-op hook: `notify(user.login)` to the
//!   probe's no-op hook on B (PostgreSQL, cluster tasks running) against a
//!   runtime on SQLite without any (median of 7 alternating rounds of
//!   20 000);
//! * where a replica gets a bundle it never had: from the database
//!   (`plugin_bundles`, what the replicas do) or again from the catalog
//!   source over loopback HTTP, for a 7 MiB bundle (median of 10).
//!
//! Run with `scripts/bench cluster` (it starts the private PostgreSQL).

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::{
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use plugboard_core::{cluster::Cluster, runtime::HookPayload, Runtime, RuntimeConfig, Services};
use plugboard_plugin_api::{builtin, prelude::*};

const CHANGES: usize = 100;
const EVENTS: usize = 500;

static DELAYS_US: Mutex<Vec<f64>> = Mutex::new(Vec::new());

fn now_us() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as f64
        / 1_000.0
}

struct Probe;

impl Plugin for Probe {
    fn slug(&self) -> &str {
        "probe"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn hooks(&self) -> Vec<HookSpec> {
        vec![HookSpec::new(Hook::UserLogin)]
    }
    fn on_user_login(&self, _ctx: &Context, _user: &User) -> PluginResult {
        Ok(())
    }
    fn subscriptions(&self) -> Vec<String> {
        vec!["plugin.probe.*".into()]
    }
    fn on_event(&self, _ctx: &Context, event: &Event) -> PluginResult {
        let sent: f64 = event.payload::<serde_json::Value>()?["at_us"]
            .as_f64()
            .unwrap_or(0.0);
        DELAYS_US.lock().unwrap().push(now_us() - sent);
        Ok(())
    }
}

fn main() {
    let base = std::env::var("PLUGBOARD_TEST_POSTGRES_URL")
        .expect("PLUGBOARD_TEST_POSTGRES_URL: run it with scripts/bench cluster");
    let url = common::fresh_postgres_database(&base);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let probe = common::builtin_with(
        "probe",
        serde_json::json!({"events": {"emit": ["plugin.probe.*"], "subscribe": ["plugin.probe.*"],
                                      "cluster": ["plugin.probe.*"]}}),
        || builtin(Probe),
    );
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let replicas: Vec<(Runtime, Cluster)> = ["a", "b"]
        .iter()
        .zip(&dirs)
        .map(|(name, dir)| {
            rt.block_on(async {
                let mut config = RuntimeConfig::new(dir.path());
                config.database_url = Some(url.clone());
                config.replica = plugboard_core::shared_state::Replica::named(*name);
                let runtime = Runtime::start(config, std::slice::from_ref(&probe))
                    .await
                    .unwrap();
                let services = Services::new(runtime.clone());
                let cluster = Cluster::start(&runtime, &services.marketplace, None)
                    .await
                    .unwrap()
                    .expect("PostgreSQL is shared");
                (runtime, cluster)
            })
        })
        .collect();
    let (a, b) = (&replicas[0].0, &replicas[1].0);
    let live_on_b = |want: bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while b.plugin("probe").is_some_and(|p| p.is_live()) != want {
            assert!(Instant::now() < deadline, "B never followed");
            std::thread::sleep(Duration::from_micros(200));
        }
    };
    live_on_b(true);

    let mut propagation_ms = Vec::new();
    for i in 0..CHANGES {
        let enable = i % 2 == 1;
        rt.block_on(async {
            if enable {
                a.enable("probe", "bench").await.unwrap();
            } else {
                a.disable("probe", "bench").await.unwrap();
            }
        });
        let t = Instant::now();
        live_on_b(enable);
        propagation_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    if !b.plugin("probe").unwrap().is_live() {
        rt.block_on(a.enable("probe", "bench")).unwrap();
        live_on_b(true);
    }

    DELAYS_US.lock().unwrap().clear();
    let db = a.db().conn().clone();
    let replica = a.replica().clone();
    let t = Instant::now();
    rt.block_on(async {
        for _ in 0..EVENTS {
            let payload = serde_json::json!({ "at_us": now_us() }).to_string();
            plugboard_core::shared_state::events::append(
                &db,
                &replica,
                "probe",
                "plugin.probe.ping",
                &payload,
            )
            .await
            .unwrap();
        }
    });
    let append_s = t.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(30);
    while DELAYS_US.lock().unwrap().len() < 2 * EVENTS {
        assert!(Instant::now() < deadline, "events never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut delays_ms: Vec<f64> = DELAYS_US
        .lock()
        .unwrap()
        .iter()
        .map(|d| d / 1000.0)
        .collect();

    println!(
        "propagation over {CHANGES} changes (A's call returned → live state on B): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        common::percentile(&mut propagation_ms, 50.0),
        common::percentile(&mut propagation_ms, 99.0),
        common::percentile(&mut propagation_ms, 100.0),
    );
    println!(
        "cluster events: {EVENTS} appended in {:.2} s ({:.0}/s, serialised at the database); delivery to the subscriber on both replicas p50 {:.1} ms, p99 {:.1} ms",
        append_s,
        EVENTS as f64 / append_s,
        common::percentile(&mut delays_ms, 50.0),
        common::percentile(&mut delays_ms, 99.0),
    );

    // The no-op hook: B (cluster) against one process on SQLite.
    let solo_dir = tempfile::tempdir().unwrap();
    let solo = rt
        .block_on(Runtime::start(
            RuntimeConfig::new(solo_dir.path()),
            std::slice::from_ref(&probe),
        ))
        .unwrap();
    let user = User {
        id: 1,
        username: "bench".into(),
        role: "user".into(),
    };
    let dispatch_ns = |runtime: &Runtime| {
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..20_000 {
                let failures = runtime.notify(HookPayload::UserLogin(user.clone())).await;
                assert!(failures.is_empty());
            }
            start.elapsed().as_nanos() as f64 / 20_000.0
        })
    };
    dispatch_ns(b);
    dispatch_ns(&solo);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        with.push(dispatch_ns(b));
        without.push(dispatch_ns(&solo));
    }
    let (with, without) = (common::median(with), common::median(without));
    println!(
        "no-op hook, notify(user.login) to one plugin: {with:.0} ns on a replica with its cluster tasks (PostgreSQL), {without:.0} ns on one process (SQLite): {:+.1} %",
        (with / without - 1.0) * 100.0
    );
    rt.block_on(solo.shutdown());

    // A bundle a replica never had: from the database or from the source.
    let mut bundle = vec![0u8; 7 << 20];
    getrandom::fill(&mut bundle).unwrap();
    let sha = plugboard_core::marketplace::signing::sha256_hex(&bundle);
    let conn = b.db().conn().clone();
    rt.block_on(plugboard_core::shared_state::bundles::keep(
        &conn, &sha, "big", "1.0.0", "{}", &bundle,
    ))
    .unwrap();
    let url = common::serve(bundle.clone());
    let (mut from_db, mut from_source) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let t = Instant::now();
        let got = rt
            .block_on(plugboard_core::shared_state::bundles::fetch(&conn, &sha))
            .unwrap()
            .unwrap();
        from_db.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(got.content.len(), bundle.len());
        let t = Instant::now();
        let from =
            plugboard_core::marketplace::download::locate("http://127.0.0.1/catalog.json", &url)
                .unwrap();
        let got = plugboard_core::marketplace::download::fetch(&from, &|_, _| {}).unwrap();
        from_source.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(got.len(), bundle.len());
    }
    println!(
        "a 7 MiB bundle a replica never had: {:.1} ms from the database, {:.1} ms again from a loopback HTTP source (medians of 10)",
        common::median(from_db),
        common::median(from_source)
    );
    for (runtime, cluster) in replicas {
        drop(cluster);
        rt.block_on(runtime.shutdown());
    }
}
