//! A no-op hook through the registry, panic guard and metrics included: the
//! same plugin code as a built-in and as a dynamic `.so`.
//!
//! Three figures:
//! - **per plugin call**: what each plugin of a hook's chain costs on the
//!   executor's thread (`PluginEntry::call_at` with the entry point's
//!   metrics; median of 7 rounds of 2 M calls);
//! - **dispatch**: `Runtime::notify(..).await` for one plugin, from a tokio
//!   task: the handoff to the executor and back included (20 000 calls);
//! - **chain of 100**: the same with 100 built-in plugins on the hook; the
//!   difference to one plugin, per plugin, is the marginal cost of a plugin
//!   in a chain (one handoff per chain, not per plugin).
//!
//! Run: `scripts/bench hook_dispatch`

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        OnceLock,
    },
    time::Instant,
};

use plugboard_core::{exec::PointKind, runtime::HookPayload, Runtime, RuntimeConfig};
use plugboard_plugin_api::{builtin, prelude::*, BuiltinPlugin, HookCall};

const CALLS: u32 = 2_000_000;
const DISPATCHES: u32 = 20_000;
const CHAIN: usize = 100;

fn ns_per_call(runtime: &Runtime, user: &User) -> f64 {
    let entry = runtime.plugin("noop").unwrap();
    let point = entry.point(PointKind::Hook, "user.login", entry.deadlines().call);
    let policy = runtime.fault_policy();
    let mut rounds = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        for _ in 0..CALLS {
            let r = entry.call_at(Some(&point), policy, true, |p, ctx| {
                p.call_hook(ctx, &mut HookCall::UserLogin(std::hint::black_box(user)))
            });
            std::hint::black_box(r).unwrap();
        }
        rounds.push(start.elapsed().as_nanos() as f64 / CALLS as f64);
    }
    common::median(rounds)
}

async fn ns_per_dispatch(runtime: &Runtime, user: &User) -> f64 {
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..DISPATCHES {
            let failures = runtime.notify(HookPayload::UserLogin(user.clone())).await;
            assert!(failures.is_empty());
        }
        rounds.push(start.elapsed().as_nanos() as f64 / DISPATCHES as f64);
    }
    common::median(rounds)
}

fn slugs() -> &'static Vec<String> {
    static SLUGS: OnceLock<Vec<String>> = OnceLock::new();
    SLUGS.get_or_init(|| (0..CHAIN).map(|i| format!("hook-{i}")).collect())
}

/// Built-ins are made in list order: each `make` takes the next slug.
static NEXT: AtomicUsize = AtomicUsize::new(0);

struct LoginHook(&'static str);

impl Plugin for LoginHook {
    fn slug(&self) -> &str {
        self.0
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
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let builtin_dir = tempfile::tempdir().unwrap();
    let dynamic_dir = tempfile::tempdir().unwrap();
    let chain_dir = tempfile::tempdir().unwrap();
    common::stage_noop(dynamic_dir.path());
    let chain: Vec<BuiltinPlugin> = slugs()
        .iter()
        .map(|slug| {
            common::builtin_with(slug, serde_json::json!({}), || {
                builtin(LoginHook(&slugs()[NEXT.fetch_add(1, Ordering::Relaxed)]))
            })
        })
        .collect();
    let (as_builtin, as_dynamic, hundred) = rt.block_on(async {
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
        let h = Runtime::start(RuntimeConfig::new(chain_dir.path()), &chain)
            .await
            .unwrap();
        (b, d, h)
    });
    let user = User {
        id: 1,
        username: "bench".into(),
        role: "user".into(),
    };
    // Warm up both, then measure alternately.
    ns_per_call(&as_builtin, &user);
    ns_per_call(&as_dynamic, &user);
    let b = ns_per_call(&as_builtin, &user);
    let d = ns_per_call(&as_dynamic, &user);
    let (db, dd, d100) = rt.block_on(async {
        ns_per_dispatch(&as_builtin, &user).await;
        (
            ns_per_dispatch(&as_builtin, &user).await,
            ns_per_dispatch(&as_dynamic, &user).await,
            ns_per_dispatch(&hundred, &user).await,
        )
    });
    for (runtime, at_least) in [
        (&as_builtin, 4 * CALLS as u64),
        (&as_dynamic, 4 * CALLS as u64),
    ] {
        let calls = runtime.plugin("noop").unwrap().metrics().snapshot().calls;
        assert!(calls >= at_least, "every call reached the plugin");
    }
    let last = hundred.plugin(&slugs()[CHAIN - 1]).unwrap();
    let login = last
        .points()
        .into_iter()
        .find(|p| p.name() == "user.login")
        .unwrap();
    assert_eq!(
        login.metrics().snapshot().calls,
        5 * DISPATCHES as u64,
        "every dispatch reached the last plugin of the chain"
    );
    println!("no-op hook, per plugin call, built-in : {b:8.1} ns");
    println!("no-op hook, per plugin call, dynamic  : {d:8.1} ns");
    println!("dynamic / built-in                    : {:8.2}x", d / b);
    println!(
        "notify, 1 plugin, built-in            : {:8.1} ns (handoff included)",
        db
    );
    println!(
        "notify, 1 plugin, dynamic (journaled) : {:8.1} ns (handoff included)",
        dd
    );
    println!("notify, chain of {CHAIN} built-ins       : {:8.1} ns", d100);
    println!(
        "  per plugin in the chain             : {:8.1} ns",
        (d100 - db) / (CHAIN - 1) as f64
    );
}
