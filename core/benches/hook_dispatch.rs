//! A no-op hook dispatched through the registry (`Runtime::notify`), panic
//! guard and metrics included: the same plugin code as a built-in and as a
//! dynamic `.so`. Prints ns per dispatch (median of 7 rounds of 2 M calls).
//!
//! Run: `scripts/bench hook_dispatch`

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Instant;

use plugboard_core::{Runtime, RuntimeConfig};
use plugboard_plugin_api::{builtin, BuiltinPlugin, HookCall, User};

const CALLS: u32 = 2_000_000;

fn ns_per_dispatch(runtime: &Runtime, user: &User) -> f64 {
    let mut rounds = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        for _ in 0..CALLS {
            let failures = runtime.notify(&mut HookCall::UserLogin(std::hint::black_box(user)));
            std::hint::black_box(failures);
        }
        rounds.push(start.elapsed().as_nanos() as f64 / CALLS as f64);
    }
    common::median(rounds)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let builtin_dir = tempfile::tempdir().unwrap();
    let dynamic_dir = tempfile::tempdir().unwrap();
    common::stage_noop(dynamic_dir.path());
    let (as_builtin, as_dynamic) = rt.block_on(async {
        let b = Runtime::start(
            RuntimeConfig::new(builtin_dir.path()),
            &[BuiltinPlugin {
                manifest: include_str!("../../dynamic-plugins/fixtures/noop/plugin.json"),
                make: || builtin(fixture_noop::Noop),
            }],
        )
        .await
        .unwrap();
        let d = Runtime::start(RuntimeConfig::new(dynamic_dir.path()), &[])
            .await
            .unwrap();
        d.enable("noop", "bench").await.unwrap();
        (b, d)
    });
    let user = User {
        id: 1,
        username: "bench".into(),
        role: "user".into(),
    };
    // Warm up both, then measure alternately.
    ns_per_dispatch(&as_builtin, &user);
    ns_per_dispatch(&as_dynamic, &user);
    let b = ns_per_dispatch(&as_builtin, &user);
    let d = ns_per_dispatch(&as_dynamic, &user);
    let calls_b = as_builtin
        .plugin("noop")
        .unwrap()
        .metrics()
        .snapshot()
        .calls;
    let calls_d = as_dynamic
        .plugin("noop")
        .unwrap()
        .metrics()
        .snapshot()
        .calls;
    assert!(
        calls_b >= 4 * CALLS as u64 && calls_d >= 4 * CALLS as u64,
        "every dispatch reached the plugin"
    );
    println!("no-op hook via registry, built-in : {b:6.1} ns/dispatch");
    println!("no-op hook via registry, dynamic  : {d:6.1} ns/dispatch");
    println!("dynamic / built-in                : {:6.2}x", d / b);
}
