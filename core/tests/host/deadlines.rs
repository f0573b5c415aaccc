//! Deadlines and bounded execution: every call into a plugin runs on the
//! executor with a deadline and within the plugin's capacity. A slow
//! plugin holds its own capacity only; past its deadline a route answers
//! 504, the call is counted stuck and toward the circuit breaker; hooks,
//! filters (with their failure policy), events, jobs and lifecycle calls
//! have deadlines too.

use std::{
    sync::atomic::{AtomicU8, Ordering},
    time::Duration,
};

use plugboard_core::{exec::CallLimits, fault::FaultPolicy, runtime::HookPayload};
use plugboard_plugin_api::{builtin, prelude::*};
use serde_json::{json, Value};

use crate::support::{block_on, eventually, probe_with, stage, tempdir, wait_until, Host, Options};

/// Sends a request on a thread; its (status, Retry-After, body).
fn get(host: &Host, path: &str) -> (u16, Option<String>, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let resp = agent
        .get(host.url(path))
        .header("authorization", format!("Bearer {}", crate::support::TOKEN))
        .call()
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.into_body().read_to_string().unwrap_or_default();
    (
        status,
        retry,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

fn dynamic_host(options: Options) -> (tempfile::TempDir, Host) {
    let dir = tempdir();
    stage(dir.path(), &["segfault-route", "faulty"]);
    let host = Host::start_with(dir.path(), options);
    assert_eq!(host.enable("segfault-route").0, 200);
    assert_eq!(host.enable("faulty").0, 200);
    (dir, host)
}

/// Four concurrent requests to a plugin route that sleeps (the issue's
/// report): two run (its capacity is 2), two get 503 with Retry-After at
/// once; meanwhile `/healthz`, the admin API and another plugin's route
/// answer, while both slow calls are still running.
#[test]
fn a_slow_plugin_holds_only_its_own_capacity() {
    let (_dir, host) = dynamic_host(Options::default());
    let entry = host.runtime.plugin("segfault-route").unwrap();
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let url = host.url("/api/plugins/segfault-route/sleep?ms=8000");
            std::thread::spawn(move || crate::support::request("GET", &url, None, None).0)
        })
        .collect();
    wait_until("both slow calls to run", Duration::from_secs(10), || {
        entry.lane().in_use() == 2
    });
    for _ in 0..2 {
        let (status, retry, body) = get(&host, "/api/plugins/segfault-route/sleep?ms=1");
        assert_eq!((status, retry.as_deref()), (503, Some("1")), "{body}");
        assert_eq!(body["error"]["code"], "plugin_busy", "{body}");
    }
    assert_eq!(host.public("GET", "/healthz", None).0, 200);
    assert_eq!(host.admin("GET", "/api/admin/plugins", None).0, 200);
    let (s, headers, _) = crate::support::send(
        &host,
        "GET",
        "/api/plugins/faulty/ok",
        &[("x-request-id", "trace-me-42")],
        None,
    );
    assert_eq!(s, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-request-id" && v == "trace-me-42"),
        "the request id is echoed: {headers:?}"
    );
    assert_eq!(
        entry.lane().in_use(),
        2,
        "the slow calls were still running while the others answered"
    );
    for t in slow {
        assert_eq!(t.join().unwrap(), 200);
    }
    assert_eq!(entry.lane().in_use(), 0);
    assert_eq!(get(&host, "/api/plugins/segfault-route/sleep?ms=1").0, 200);
}

/// A route past its deadline (300 ms in the manifest) answers 504; the call
/// is counted stuck until it returns, and in the route's own metrics.
#[test]
fn a_route_past_its_deadline_answers_504_and_is_counted_stuck() {
    let (_dir, host) = dynamic_host(Options::default());
    let entry = host.runtime.plugin("segfault-route").unwrap();
    let (status, _, body) = get(&host, "/api/plugins/segfault-route/sleep-briefly?ms=1500");
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "plugin_deadline");
    assert_eq!(
        body["error"]["message"],
        "plugin \"segfault-route\" did not return from its route GET /sleep-briefly within 300 ms"
    );
    assert_eq!(entry.lane().stuck_now(), 1, "still running");
    wait_until("the stuck call to return", Duration::from_secs(10), || {
        entry.lane().stuck_now() == 0 && entry.lane().in_use() == 0
    });
    let point = entry
        .points()
        .into_iter()
        .find(|p| p.name() == "GET /sleep-briefly")
        .unwrap();
    assert_eq!((point.deadline_hits(), point.stuck()), (1, 1));
    assert_eq!(
        point.metrics().snapshot().calls,
        1,
        "its duration is recorded"
    );
    // Within its deadline, it answers.
    assert_eq!(
        get(&host, "/api/plugins/segfault-route/sleep-briefly?ms=10").0,
        200
    );
}

/// Calls stuck past their deadline count toward the circuit breaker, like
/// panics: the plugin ends Errored, naming the call.
#[test]
fn stuck_calls_trip_the_circuit_breaker() {
    let (_dir, host) = dynamic_host(Options {
        fault_policy: FaultPolicy {
            max_panics: 2,
            window: Duration::from_secs(60),
        },
        ..Options::default()
    });
    for _ in 0..2 {
        let (status, _, _) = get(&host, "/api/plugins/segfault-route/sleep-briefly?ms=1000");
        assert_eq!(status, 504);
    }
    wait_until("the plugin to be errored", Duration::from_secs(10), || {
        host.state("segfault-route") == "errored"
    });
    let (_, p) = host.admin("GET", "/api/admin/plugins/segfault-route", None);
    let err = p["last_error"].as_str().unwrap();
    assert!(
        err.contains("did not return from its route GET /sleep-briefly within 300 ms"),
        "{err}"
    );
    // The other plugin never noticed.
    assert_eq!(get(&host, "/api/plugins/faulty/ok").0, 200);
}

/// What the probes of the filter test and of the hook test do (one each:
/// tests run in parallel).
static FILTER_MODE: AtomicU8 = AtomicU8::new(FINE);
static HOOK_MODE: AtomicU8 = AtomicU8::new(FINE);
const FINE: u8 = 0;
const PANIC: u8 = 1;
const FAIL: u8 = 2;
const SLOW: u8 = 3;

fn misbehave(mode: &AtomicU8) -> PluginResult {
    match mode.load(Ordering::SeqCst) {
        PANIC => panic!("the probe panicked on purpose"),
        FAIL => Err(PluginError::failed("the probe failed on purpose")),
        SLOW => {
            std::thread::sleep(Duration::from_millis(1500));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A plugin with a filter and a hook, each doing what its mode says.
struct Probe(&'static str, &'static AtomicU8);

impl Plugin for Probe {
    fn slug(&self) -> &str {
        self.0
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn hooks(&self) -> Vec<HookSpec> {
        vec![
            HookSpec::new(Hook::BeforeUserCreate),
            HookSpec::new(Hook::UserLogin),
        ]
    }
    fn before_user_create(&self, _ctx: &Context, user: &mut NewUser) -> PluginResult {
        user.username = format!("{}-{}", user.username, self.0).into();
        misbehave(self.1)
    }
    fn on_user_login(&self, _ctx: &Context, _user: &User) -> PluginResult {
        misbehave(self.1)
    }
}

/// A host with the probes `strict` (filter policy `reject`, the default)
/// and `lenient` (`skip`), both active (built-ins start enabled), doing
/// what `mode` says; each call's deadline is 300 ms.
fn probe_host(
    strict: crate::support::Factory,
    lenient: crate::support::Factory,
) -> (tempfile::TempDir, Host) {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: vec![
                probe_with(strict, json!({"limits": {"deadline_ms": 300}})),
                probe_with(
                    lenient,
                    json!({
                        "limits": {"deadline_ms": 300},
                        "filters": {"user.before_create": {"on_failure": "skip"}}
                    }),
                ),
            ],
            ..Options::default()
        },
    );
    (dir, host)
}

fn create_user(host: &Host, name: &str) -> (u16, Value) {
    host.admin(
        "POST",
        "/api/admin/users",
        Some(json!({ "username": name })),
    )
}

/// `reject` (the default) refuses the user when its filter panics, fails
/// or passes its deadline; `skip` goes on as if the filter were not there
/// (its change to the user is not kept). The admin shows each policy.
#[test]
fn filter_failures_follow_each_filters_policy() {
    let (_dir, host) = probe_host(
        || builtin(Probe("strict", &FILTER_MODE)),
        || builtin(Probe("lenient", &FILTER_MODE)),
    );
    let disable_strict = || {
        assert_eq!(
            host.admin("POST", "/api/admin/plugins/strict/disable", None)
                .0,
            200
        )
    };
    disable_strict();
    let (s, v) = create_user(&host, "ann");
    assert_eq!((s, &v["username"]), (201, &json!("ann-lenient")), "{v}");
    for (i, mode) in [PANIC, FAIL, SLOW].into_iter().enumerate() {
        FILTER_MODE.store(mode, Ordering::SeqCst);
        // Only the lenient filter: the user is created, unchanged by it.
        let name = format!("skip{i}");
        let (s, v) = create_user(&host, &name);
        assert_eq!((s, &v["username"]), (201, &json!(name)), "mode {mode}: {v}");
        // With the strict one too: refused, naming it.
        assert_eq!(host.enable("strict").0, 200);
        let (s, v) = create_user(&host, &format!("reject{i}"));
        assert_eq!(
            (s, &v["error"]["code"]),
            (422, &json!("refused")),
            "mode {mode}: {v}"
        );
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("\"strict\"") && message.contains("on_failure: reject"),
            "{message}"
        );
        disable_strict();
    }
    FILTER_MODE.store(FINE, Ordering::SeqCst);
    assert_eq!(host.enable("strict").0, 200);
    let (_, hooks) = host.admin("GET", "/api/admin/hooks", None);
    let filter = hooks["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hook"] == "user.before_create")
        .unwrap()
        .clone();
    let policy = |slug: &str| {
        filter["order"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["slug"] == slug)
            .unwrap()["on_failure"]
            .clone()
    };
    assert_eq!(
        (policy("strict"), policy("lenient")),
        (json!("reject"), json!("skip"))
    );
}

/// An action hook past its deadline is abandoned (a failure, counted
/// stuck); the hooks after it still run.
#[test]
fn a_hook_past_its_deadline_is_abandoned_and_the_others_run() {
    let (_dir, host) = probe_host(
        || builtin(Probe("strict", &HOOK_MODE)),
        || builtin(Probe("lenient", &HOOK_MODE)),
    );
    HOOK_MODE.store(SLOW, Ordering::SeqCst);
    let user = User {
        id: 1,
        username: "u".into(),
        role: "user".into(),
    };
    let failures = block_on(host.runtime.notify(HookPayload::UserLogin(user)));
    HOOK_MODE.store(FINE, Ordering::SeqCst);
    let slugs: Vec<_> = failures.iter().map(|f| f.slug.as_str()).collect();
    assert_eq!(slugs, ["lenient", "strict"], "{failures:?}");
    assert!(failures[0]
        .error
        .contains("did not return from its hook user.login within 300 ms"));
    for slug in ["lenient", "strict"] {
        let entry = host.runtime.plugin(slug).unwrap();
        let point = entry
            .points()
            .into_iter()
            .find(|p| p.name() == "user.login")
            .unwrap();
        assert_eq!(point.deadline_hits(), 1, "{slug}");
    }
}

struct SlowSubscriber;

impl Plugin for SlowSubscriber {
    fn slug(&self) -> &str {
        "slow-subscriber"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn subscriptions(&self) -> Vec<String> {
        vec!["slow.*".into()]
    }
    fn on_event(&self, ctx: &Context, event: &Event) -> PluginResult {
        if event.name() == "slow.hold" {
            std::thread::sleep(Duration::from_millis(1500));
        }
        ctx.kv().set("last", event.name())?;
        Ok(())
    }
    fn jobs(&self) -> Vec<Job<Self>> {
        vec![Job::new("sleepy", "every 1s", Self::sleepy)]
    }
}

impl SlowSubscriber {
    fn sleepy(&self, _ctx: &Context) -> PluginResult {
        std::thread::sleep(Duration::from_millis(1500));
        Ok(())
    }
}

/// An event delivery past its deadline fails (counted) and the next event
/// is delivered; a job past its deadline is recorded as `deadline`.
#[test]
fn events_and_jobs_past_their_deadline() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: vec![probe_with(
                || builtin(SlowSubscriber),
                json!({"limits": {"deadline_ms": 300, "job_deadline_ms": 300}}),
            )],
            ..Options::default()
        },
    );
    host.runtime.emit("slow.hold", &json!({}));
    host.runtime.emit("slow.next", &json!({}));
    let subscriber = eventually("both deliveries", Duration::from_secs(10), || {
        let (_, v) = host.admin("GET", "/api/admin/events", None);
        let s = v["subscribers"][0].clone();
        (s["failed"] == 1 && s["delivered"] == 1).then_some(s)
    });
    assert_eq!(subscriber["plugin"], "slow-subscriber");
    let runs = eventually("a job run", Duration::from_secs(15), || {
        let (_, v) = host.admin("GET", "/api/admin/plugins/slow-subscriber/jobs", None);
        let runs = v["jobs"][0]["recent_runs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (!runs.is_empty()).then_some(runs)
    });
    assert_eq!(runs[0]["outcome"], "deadline", "{runs:?}");
    assert!(runs[0]["error"]
        .as_str()
        .unwrap()
        .contains("did not return from its job sleepy within 300 ms"));
}

struct SlowStart;

impl Plugin for SlowStart {
    fn slug(&self) -> &str {
        "slow-start"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn on_enable(&self, _ctx: &Context) -> PluginResult {
        std::thread::sleep(Duration::from_millis(1500));
        Ok(())
    }
}

/// `on_enable` past the lifecycle deadline: the enable fails and the
/// plugin is Errored, naming the call.
#[test]
fn a_lifecycle_call_past_its_deadline_fails_the_operation() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[|| builtin(SlowStart)]),
            limits: CallLimits {
                lifecycle_deadline: Duration::from_millis(300),
                ..CallLimits::default()
            },
            ..Options::default()
        },
    );
    let (s, v) = host.enable("slow-start");
    assert_ne!(s, 200, "{v}");
    assert_eq!(host.state("slow-start"), "errored");
    let (_, p) = host.admin("GET", "/api/admin/plugins/slow-start", None);
    let err = p["last_error"].as_str().unwrap();
    assert!(
        err.contains("did not return from its on_enable within 300 ms"),
        "{err}"
    );
}

/// Inputs nobody listed: a request id a client made up to inject into
/// logs or headers is replaced, not echoed; a manifest that asks for more
/// time and capacity than the operator allows gets the operator's caps.
#[test]
fn hostile_request_ids_and_greedy_limits_are_contained() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: vec![probe_with(
                || builtin(SlowStart),
                json!({"limits": {"deadline_ms": u64::MAX, "job_deadline_ms": u64::MAX, "capacity": u32::MAX}}),
            )],
            limits: CallLimits {
                lifecycle_deadline: Duration::from_secs(5),
                ..CallLimits::default()
            },
            ..Options::default()
        },
    );
    for hostile in ["a b", "x\tSet-Cookie: y", &"a".repeat(65), "<script>"] {
        let (s, headers, _) =
            crate::support::send(&host, "GET", "/healthz", &[("x-request-id", hostile)], None);
        assert_eq!(s, 200);
        let id = headers
            .iter()
            .find(|(k, _)| k == "x-request-id")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_ne!(id, hostile);
        assert!(
            id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{id}"
        );
    }
    let entry = host.runtime.plugin("slow-start").unwrap();
    let caps = CallLimits::default();
    assert_eq!(entry.deadlines().call, caps.max_deadline);
    assert_eq!(entry.deadlines().job, caps.max_deadline);
    assert_eq!(entry.lane().capacity(), caps.max_capacity);
}
