//! Scheduled jobs: runs recorded with outcome, no overlap, panics isolated,
//! bad schedules refused, jobs gone while disabled.

use std::time::Duration;

use plugboard_plugin_api::{builtin, prelude::*};
use serde_json::Value;

use crate::support::{
    jobs::{BadSchedule, Boom, Ticker},
    tempdir, Host, Options,
};

fn jobs(host: &Host, slug: &str) -> Vec<Value> {
    let (s, v) = host.admin("GET", &format!("/api/admin/plugins/{slug}/jobs"), None);
    assert_eq!(s, 200, "{v}");
    v["jobs"].as_array().unwrap().clone()
}

fn job<'a>(jobs: &'a [Value], name: &str) -> &'a Value {
    jobs.iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name}: {jobs:?}"))
}

fn outcomes(job: &Value) -> Vec<String> {
    job["recent_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect()
}

fn host() -> (tempfile::TempDir, Host) {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[
                || builtin(Ticker),
                || builtin(Boom),
                || builtin(BadSchedule),
            ]),
            ..Options::default()
        },
    );
    (dir, host)
}

#[test]
fn jobs_run_on_schedule_are_recorded_and_never_overlap() {
    let (_dir, host) = host();
    let ok_runs = |job: &Value| outcomes(job).iter().filter(|o| *o == "ok").count();
    let list = crate::support::eventually(
        "three ticks and a finished, overlapped slow run",
        Duration::from_secs(20),
        || {
            let list = jobs(&host, "ticker");
            let slow = outcomes(job(&list, "slow"));
            let done = ok_runs(job(&list, "tick")) >= 3
                && slow.iter().any(|o| o == "skipped")
                && slow.iter().any(|o| o == "ok");
            done.then_some(list)
        },
    );
    let tick = job(&list, "tick");
    assert_eq!(tick["schedule"], "every 1s");
    assert!(tick["next_run"].is_string(), "{tick}");
    assert!(ok_runs(tick) >= 3, "tick ran repeatedly: {tick}");
    let slow = job(&list, "slow");
    let runs = slow["recent_runs"].as_array().unwrap();
    let skipped = runs.iter().filter(|r| r["outcome"] == "skipped").count();
    let finished: Vec<f64> = runs
        .iter()
        .filter(|r| r["outcome"] == "ok")
        .map(|r| r["duration_ms"].as_f64().unwrap())
        .collect();
    assert!(
        skipped >= 1,
        "ticks during a run are skipped, not started twice: {slow}"
    );
    assert!(
        !finished.is_empty() && finished.iter().all(|ms| *ms >= 1490.0),
        "{slow}"
    );
    // Runs of `slow` never overlap: each started after the previous one ended.
    let mut starts: Vec<(chrono::DateTime<chrono::Utc>, f64)> = runs
        .iter()
        .filter(|r| r["outcome"] == "ok")
        .map(|r| {
            (
                r["started_at"].as_str().unwrap().parse().unwrap(),
                r["duration_ms"].as_f64().unwrap(),
            )
        })
        .collect();
    starts.sort_by_key(|(t, _)| *t);
    for w in starts.windows(2) {
        let end = w[0].0 + chrono::Duration::milliseconds(w[0].1 as i64);
        assert!(w[1].0 >= end, "overlapping runs: {w:?}");
    }
}

#[test]
fn a_panicking_job_is_recorded_and_isolated() {
    let (_dir, host) = host();
    let runs = crate::support::eventually("a run of boom", Duration::from_secs(10), || {
        let runs = job(&jobs(&host, "boom"), "boom")["recent_runs"]
            .as_array()
            .unwrap()
            .clone();
        (!runs.is_empty()).then_some(runs)
    });
    assert_eq!(runs[0]["outcome"], "panic");
    assert!(runs[0]["error"]
        .as_str()
        .unwrap()
        .contains("job panicked on purpose"));
    // The other plugin's jobs keep running.
    crate::support::wait_until("a tick after the panic", Duration::from_secs(10), || {
        outcomes(job(&jobs(&host, "ticker"), "tick"))
            .iter()
            .any(|o| o == "ok")
    });
}

#[test]
fn a_bad_schedule_is_a_clear_error_at_registration() {
    let (_dir, host) = host();
    let (_, p) = host.admin("GET", "/api/admin/plugins/bad-schedule", None);
    assert_eq!(p["state"], "errored", "{p}");
    let err = p["last_error"].as_str().unwrap();
    assert!(
        err.contains("job never: bad cron expression \"99 * * * *\""),
        "{err}"
    );
}

#[test]
fn jobs_stop_while_the_plugin_is_disabled_and_come_back() {
    let (_dir, host) = host();
    let ticks = |h: &Host| -> u64 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(plugboard_core::kv::get(
            h.runtime.db().conn(),
            "ticker",
            "ticks",
        ))
        .unwrap()
        .map(|t| t.parse().unwrap())
        .unwrap_or(0)
    };
    crate::support::wait_until("a first tick", Duration::from_secs(10), || ticks(&host) > 0);
    assert_eq!(
        host.admin("POST", "/api/admin/plugins/ticker/disable", None)
            .0,
        200
    );
    assert!(jobs(&host, "ticker").is_empty(), "no jobs while disabled");
    // A run already started when it was disabled may still finish.
    std::thread::sleep(Duration::from_millis(300));
    let before = ticks(&host);
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(ticks(&host), before, "no run while disabled");
    assert_eq!(host.enable("ticker").0, 200);
    crate::support::wait_until("a tick after enable", Duration::from_secs(10), || {
        ticks(&host) > before
    });
}

/// A plugin with a route and a job, for the go-live failure.
struct Routed;

impl Routed {
    fn ping(&self, _ctx: &Context, _req: &Request) -> PluginResult<Response> {
        Ok(Response::json(&serde_json::json!({"pong": true})))
    }
    fn tick(&self, _ctx: &Context) -> PluginResult {
        Ok(())
    }
}

impl Plugin for Routed {
    fn slug(&self) -> &str {
        "routed"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn routes(&self) -> Vec<Route<Self>> {
        vec![Route::get("/ping", Self::ping)]
    }
    fn jobs(&self) -> Vec<Job<Self>> {
        vec![Job::new("tick", "every 1s", Self::tick)]
    }
}

/// When a capability cannot go live (here the scheduler refuses: it was
/// stopped, as at shutdown), the enable fails with the cause, the plugin
/// ends `Errored`, and nothing of it is live: its route answers 404.
#[test]
fn a_plugin_whose_jobs_cannot_be_scheduled_ends_errored_with_nothing_live() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[|| builtin(Routed)]),
            ..Options::default()
        },
    );
    assert_eq!(host.admin("GET", "/api/plugins/routed/ping", None).0, 200);
    let (s, v) = host.admin("POST", "/api/admin/plugins/routed/disable", None);
    assert_eq!(s, 200, "{v}");
    host.runtime.scheduler().stop();

    let (s, v) = host.admin("POST", "/api/admin/plugins/routed/enable", None);
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "plugin_failed", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the scheduler is shut down"),
        "{v}"
    );
    assert_eq!(host.state("routed"), "errored");
    let (_, p) = host.admin("GET", "/api/admin/plugins/routed", None);
    assert!(
        p["last_error"]
            .as_str()
            .unwrap()
            .contains("the scheduler is shut down"),
        "{p}"
    );
    assert_eq!(host.admin("GET", "/api/plugins/routed/ping", None).0, 404);
    assert!(jobs(&host, "routed").is_empty());
}
