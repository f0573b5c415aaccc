//! `GET /metrics`: the Prometheus text exposition, read back with a
//! Prometheus text-format parser.

use std::collections::HashMap;

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::Value;

use crate::support::{stage, tempdir, Host};

fn scrape(host: &Host) -> Scrape {
    let (status, body) = host.admin("GET", "/metrics", None);
    assert_eq!(status, 200, "{body}");
    let Value::String(text) = body else {
        panic!("not text: {body}")
    };
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("valid exposition")
}

/// The value of `metric` for `plugin`.
fn value(scrape: &Scrape, metric: &str, plugin: &str) -> Option<Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get("plugin") == Some(plugin))
        .map(|s| s.value.clone())
}

fn counter(scrape: &Scrape, metric: &str, plugin: &str) -> f64 {
    match value(scrape, metric, plugin) {
        Some(Sample::Counter(v)) | Some(Sample::Untyped(v)) | Some(Sample::Gauge(v)) => v,
        other => panic!("{metric} for {plugin}: {other:?}"),
    }
}

#[test]
fn metrics_are_exposed_per_plugin_in_the_prometheus_text_format_to_admins_only() {
    let dir = tempdir();
    stage(dir.path(), &["faulty", "guestbook"]);
    let host = Host::start(dir.path());
    assert_eq!(host.enable("faulty").0, 200);

    let before = scrape(&host);
    let calls_before = counter(&before, "plugboard_plugin_calls_total", "faulty");
    for _ in 0..4 {
        assert_eq!(host.admin("GET", "/api/plugins/faulty/ok", None).0, 200);
    }
    assert_eq!(host.admin("GET", "/api/plugins/faulty/error", None).0, 500);
    assert_eq!(host.admin("GET", "/api/plugins/faulty/panic", None).0, 500);

    let after = scrape(&host);
    let calls = counter(&after, "plugboard_plugin_calls_total", "faulty");
    assert_eq!(calls - calls_before, 6.0);
    assert!(counter(&after, "plugboard_plugin_errors_total", "faulty") >= 2.0);
    assert_eq!(
        counter(&after, "plugboard_plugin_panics_total", "faulty"),
        1.0
    );
    // The histogram: cumulative buckets ending at +Inf, with the call count.
    match value(&after, "plugboard_plugin_call_duration_seconds", "faulty") {
        Some(Sample::Histogram(buckets)) => {
            assert!(
                buckets
                    .windows(2)
                    .all(|w| w[0].count <= w[1].count && w[0].less_than < w[1].less_than),
                "{buckets:?}"
            );
            let last = buckets.last().unwrap();
            assert!(last.less_than.is_infinite(), "{buckets:?}");
            assert_eq!(last.count, calls, "{buckets:?}");
        }
        other => panic!("no histogram: {other:?}"),
    }
    // States, for every recorded plugin (guestbook is installed, not enabled).
    let states: HashMap<String, String> = after
        .samples
        .iter()
        .filter(|s| s.metric == "plugboard_plugin_state")
        .map(|s| {
            (
                s.labels.get("plugin").unwrap().to_string(),
                s.labels.get("state").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(states.get("faulty").map(String::as_str), Some("active"));
    assert_eq!(
        states.get("guestbook").map(String::as_str),
        Some("installed")
    );
    assert!(after
        .samples
        .iter()
        .any(|s| s.metric == "process_resident_memory_bytes"));

    // An admin's browser session may read it; a signed-in user may not.
    for (name, role, expected) in [("ops", "admin", 200), ("ann", "user", 403)] {
        let password = format!("{name}-password-1");
        let (s, v) = host.admin(
            "POST",
            "/api/admin/accounts",
            Some(serde_json::json!({"username": name, "password": password, "role": role})),
        );
        assert_eq!(s, 201, "{v}");
        let (s, headers, v) = crate::support::send(
            &host,
            "POST",
            "/api/auth/login",
            &[],
            Some(serde_json::json!({"username": name, "password": password})),
        );
        assert_eq!(s, 200, "{v}");
        let cookie = headers
            .iter()
            .find(|(k, _)| k == "set-cookie")
            .and_then(|(_, v)| v.split(';').next())
            .unwrap()
            .to_string();
        let (s, _, v) =
            crate::support::send(&host, "GET", "/metrics", &[("cookie", &cookie)], None);
        assert_eq!(s, expected, "{role}: {v}");
    }

    // Not for anyone else.
    let (status, _) = crate::support::request("GET", &host.url("/metrics"), None, None);
    assert_eq!(status, 401);
    let (status, _) = crate::support::request("GET", &host.url("/metrics"), Some("wrong"), None);
    assert_eq!(status, 401);
}

/// The value of `metric` for one entry point of `plugin`.
fn at(scrape: &Scrape, metric: &str, plugin: &str, kind: &str, name: &str) -> Option<Sample> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == metric
                && s.labels.get("plugin") == Some(plugin)
                && s.labels.get("kind") == Some(kind)
                && s.labels.get("name") == Some(name)
        })
        .map(|s| s.value.clone())
}

fn number(v: Option<Sample>) -> f64 {
    match v {
        Some(Sample::Counter(v)) | Some(Sample::Gauge(v)) | Some(Sample::Untyped(v)) => v,
        other => panic!("not a number: {other:?}"),
    }
}

/// Per route (and hook, job, …): calls, errors, panics, deadline hits and
/// stuck, with a latency histogram; per plugin: capacity and calls in
/// flight and stuck now.
#[test]
fn metrics_per_entry_point_count_deadlines_and_capacity() {
    let dir = tempdir();
    stage(dir.path(), &["faulty", "segfault-route"]);
    let host = Host::start(dir.path());
    assert_eq!(host.enable("faulty").0, 200);
    assert_eq!(host.enable("segfault-route").0, 200);
    for _ in 0..3 {
        assert_eq!(host.admin("GET", "/api/plugins/faulty/ok", None).0, 200);
    }
    assert_eq!(host.admin("GET", "/api/plugins/faulty/panic", None).0, 500);
    let (s, v) = host.admin(
        "GET",
        "/api/plugins/segfault-route/sleep-briefly?ms=1500",
        None,
    );
    assert_eq!(s, 504, "{v}");

    let m = scrape(&host);
    let route =
        |metric: &str, plugin: &str, name: &str| number(at(&m, metric, plugin, "route", name));
    assert_eq!(route("plugboard_call_total", "faulty", "GET /ok"), 3.0);
    assert_eq!(
        route("plugboard_call_errors_total", "faulty", "GET /ok"),
        0.0
    );
    assert_eq!(
        route("plugboard_call_panics_total", "faulty", "GET /panic"),
        1.0
    );
    let brief = "GET /sleep-briefly";
    assert_eq!(
        route(
            "plugboard_call_deadline_hits_total",
            "segfault-route",
            brief
        ),
        1.0
    );
    assert_eq!(
        route("plugboard_call_stuck_total", "segfault-route", brief),
        1.0
    );
    match at(
        &m,
        "plugboard_call_duration_seconds",
        "faulty",
        "route",
        "GET /ok",
    ) {
        Some(Sample::Histogram(b)) => assert_eq!(b.last().unwrap().count, 3.0),
        other => panic!("no histogram: {other:?}"),
    }
    // The slow call is still running: it holds one of the 2 places.
    assert_eq!(
        counter(&m, "plugboard_plugin_capacity", "segfault-route"),
        2.0
    );
    assert_eq!(
        counter(&m, "plugboard_plugin_calls_in_flight", "segfault-route"),
        1.0
    );
    assert_eq!(
        counter(&m, "plugboard_plugin_calls_stuck", "segfault-route"),
        1.0
    );
    // Lifecycle calls have their own series.
    assert!(
        number(at(
            &m,
            "plugboard_call_total",
            "faulty",
            "lifecycle",
            "on_enable"
        )) >= 1.0
    );
    assert!(m
        .samples
        .iter()
        .any(|s| s.metric == "plugboard_executor_threads"));
}
