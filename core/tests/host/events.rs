//! The event bus: subscriptions by pattern, namespaced emits, per-subscriber
//! order, sync emit failures, queue-full and intake-full policy, cleanup on
//! disable.

use std::time::{Duration, Instant};

use plugboard_plugin_api::builtin;
use serde_json::json;

use crate::support::{event_probe::EventProbe, stage, tempdir, Host, Options};

fn seen_names(host: &Host, slug: &str) -> Vec<String> {
    let (status, v) = host.admin("GET", &format!("/api/plugins/{slug}/seen"), None);
    assert_eq!(status, 200, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

fn drain(host: &Host) {
    assert!(
        host.runtime.events().drain(Duration::from_secs(20)),
        "queues drained"
    );
}

#[test]
fn subscribers_get_platform_events_other_plugins_events_and_app_events_in_order() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[
                || {
                    builtin(EventProbe {
                        slug: "listener",
                        patterns: &["user.*", "plugin.guestbook.*", "app.order.placed"],
                        delay_ms: 0,
                        misbehave: None,
                    })
                },
                || {
                    builtin(EventProbe {
                        slug: "emitter",
                        patterns: &[],
                        delay_ms: 0,
                        misbehave: None,
                    })
                },
                || {
                    builtin(EventProbe {
                        slug: "orderly",
                        patterns: &["plugin.emitter.*"],
                        delay_ms: 0,
                        misbehave: None,
                    })
                },
            ]),
            ..Options::default()
        },
    );
    assert_eq!(host.enable("guestbook").0, 200);
    assert_eq!(
        host.admin(
            "POST",
            "/api/admin/users",
            Some(json!({"username": "erin"}))
        )
        .0,
        201
    );
    assert_eq!(
        host.admin(
            "POST",
            "/api/plugins/guestbook/entries",
            Some(json!({"author": "erin", "message": "hey"}))
        )
        .0,
        201
    );
    host.runtime.emit("app.order.placed", &json!({"order": 42}));
    host.runtime
        .emit("app.order.shipped", &json!({"order": 42}));
    // Many events from one emitter arrive in emit order.
    for i in 0..200 {
        let (s, v) = host.admin(
            "POST",
            "/api/plugins/emitter/emit",
            Some(json!({"name": format!("plugin.emitter.tick{i}"), "payload": {"i": i}})),
        );
        assert_eq!(s, 200, "{v}");
    }
    drain(&host);
    let names = seen_names(&host, "listener");
    assert_eq!(
        names,
        [
            "user.created",
            "plugin.guestbook.signed",
            "app.order.placed"
        ],
        "only matching events, in order"
    );
    let (_, rows) = host.admin("GET", "/api/plugins/listener/seen", None);
    let payload: serde_json::Value =
        serde_json::from_str(rows[0]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["username"], "erin");

    let ticks: Vec<String> = (0..200)
        .map(|i| format!("plugin.emitter.tick{i}"))
        .collect();
    assert_eq!(
        seen_names(&host, "orderly"),
        ticks,
        "one subscriber receives one emitter's events in emit order"
    );
}

#[test]
fn emits_outside_the_plugins_namespace_are_refused() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[|| {
                builtin(EventProbe {
                    slug: "emitter",
                    patterns: &[],
                    delay_ms: 0,
                    misbehave: None,
                })
            }]),
            ..Options::default()
        },
    );
    for name in [
        "user.created",
        "plugin.guestbook.signed",
        "plugin.emitter",
        "plugin.emitter.",
        "plugin.emitter.a b",
    ] {
        let (s, v) = host.admin(
            "POST",
            "/api/plugins/emitter/emit",
            Some(json!({"name": name})),
        );
        assert_eq!(s, 403, "{name}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("may emit only events named plugin.emitter."),
            "{v}"
        );
    }
}

#[test]
fn sync_emit_returns_subscriber_failures_and_isolates_them() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[
                || {
                    builtin(EventProbe {
                        slug: "emitter",
                        patterns: &[],
                        delay_ms: 0,
                        misbehave: None,
                    })
                },
                || {
                    builtin(EventProbe {
                        slug: "fails",
                        patterns: &["plugin.emitter.*"],
                        delay_ms: 0,
                        misbehave: Some("error"),
                    })
                },
                || {
                    builtin(EventProbe {
                        slug: "panics",
                        patterns: &["plugin.emitter.*"],
                        delay_ms: 0,
                        misbehave: Some("panic"),
                    })
                },
                || {
                    builtin(EventProbe {
                        slug: "works",
                        patterns: &["plugin.emitter.*"],
                        delay_ms: 0,
                        misbehave: None,
                    })
                },
            ]),
            ..Options::default()
        },
    );
    let (s, v) = host.admin(
        "POST",
        "/api/plugins/emitter/emit",
        Some(json!({"name": "plugin.emitter.x", "wait": true})),
    );
    assert_eq!(s, 200, "{v}");
    let mut failed: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["plugin"].as_str().unwrap().to_string(),
                f["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    failed.sort();
    assert_eq!(failed.len(), 2, "{v}");
    assert_eq!(failed[0].0, "fails");
    assert!(failed[0].1.contains("failed on purpose"));
    assert_eq!(failed[1].0, "panics");
    assert!(failed[1].1.contains("panicked on purpose"));
    assert_eq!(
        seen_names(&host, "works"),
        ["plugin.emitter.x"],
        "the others still got it"
    );
    let (_, p) = host.admin("GET", "/api/admin/plugins/panics", None);
    assert_eq!(p["metrics"]["panics"], 1, "{p}");
    let (_, p) = host.admin("GET", "/api/admin/plugins/fails", None);
    assert_eq!(p["metrics"]["errors"], 1, "{p}");
}

#[test]
fn a_full_queue_drops_new_events_for_that_subscriber_only_and_counts_them() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[
                || {
                    builtin(EventProbe {
                        slug: "slow",
                        patterns: &["app.*"],
                        delay_ms: 50,
                        misbehave: None,
                    })
                },
                || {
                    builtin(EventProbe {
                        slug: "fast",
                        patterns: &["app.*"],
                        delay_ms: 0,
                        misbehave: None,
                    })
                },
            ]),
            ..Options::default()
        },
    );
    let stats = |slug: &str| {
        let (_, v) = host.admin("GET", "/api/admin/events", None);
        v["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["plugin"] == slug)
            .unwrap()
            .clone()
    };
    let (rounds, per_round) = (15, 100);
    for round in 0..rounds {
        let started = Instant::now();
        for i in 0..per_round {
            host.runtime
                .emit("app.burst", &json!({ "i": round * per_round + i }));
        }
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "async emit never waits for handlers"
        );
        // Let the fast subscriber keep up; the slow one (50 ms an event) cannot.
        crate::support::wait_until(
            "the fast subscriber to keep up",
            Duration::from_secs(20),
            || {
                let fast = stats("fast");
                fast["backlog"] == 0 && fast["delivered"] == (round + 1) * per_round
            },
        );
    }
    let total = (rounds * per_round) as u64;
    let slow = stats("slow");
    let dropped = slow["dropped"].as_u64().unwrap();
    assert!(
        dropped > 0,
        "the slow subscriber's queue overflowed: {slow}"
    );
    assert_eq!(slow["queued"].as_u64().unwrap() + dropped, total, "{slow}");
    let fast = stats("fast");
    assert_eq!(
        (fast["dropped"].as_u64(), fast["delivered"].as_u64()),
        (Some(0), Some(total)),
        "{fast}"
    );
    // Disabling the slow one discards its backlog rather than waiting for it.
    assert_eq!(
        host.admin("POST", "/api/admin/plugins/slow/disable", None)
            .0,
        200
    );
}

#[test]
fn disabling_a_plugin_ends_its_subscriptions_and_enabling_restores_them() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[|| {
                builtin(EventProbe {
                    slug: "listener",
                    patterns: &["app.*"],
                    delay_ms: 0,
                    misbehave: None,
                })
            }]),
            ..Options::default()
        },
    );
    host.runtime.emit("app.one", &json!({}));
    drain(&host);
    assert_eq!(
        host.admin("POST", "/api/admin/plugins/listener/disable", None)
            .0,
        200
    );
    let (_, v) = host.admin("GET", "/api/admin/events", None);
    assert_eq!(
        v["subscribers"],
        json!([]),
        "no subscription while disabled"
    );
    host.runtime.emit("app.two", &json!({}));
    assert_eq!(host.enable("listener").0, 200);
    host.runtime.emit("app.three", &json!({}));
    drain(&host);
    assert_eq!(seen_names(&host, "listener"), ["app.one", "app.three"]);
}

/// A handler that blocks until the test opens the gate.
mod gate {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Condvar, Mutex,
    };

    use plugboard_plugin_api::prelude::*;

    pub static STARTED: AtomicUsize = AtomicUsize::new(0);
    static OPEN: Mutex<bool> = Mutex::new(false);
    static OPENED: Condvar = Condvar::new();

    pub fn open() {
        *OPEN.lock().unwrap() = true;
        OPENED.notify_all();
    }

    pub struct Gate(pub &'static str);

    impl Plugin for Gate {
        fn slug(&self) -> &str {
            self.0
        }
        fn version(&self) -> &str {
            "1.0.0"
        }
        fn subscriptions(&self) -> Vec<String> {
            vec!["gate.hold".into()]
        }
        fn on_event(&self, _ctx: &Context, _event: &Event) -> PluginResult {
            STARTED.fetch_add(1, Ordering::SeqCst);
            let mut open = OPEN.lock().unwrap();
            while !*open {
                open = OPENED.wait(open).unwrap();
            }
            Ok(())
        }
    }
}

/// Handlers that hold their calls (both gate plugins block in `on_event`)
/// hold executor threads, not the bus: the dispatcher keeps taking events
/// in, and nothing is dropped at the intake. (That a full intake drops and
/// counts is `events::tests::a_full_intake_drops_new_events_and_counts_them`.)
#[test]
fn handlers_that_hold_their_calls_do_not_hold_the_bus() {
    use std::sync::atomic::Ordering;
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[
                || builtin(gate::Gate("gate-a")),
                || builtin(gate::Gate("gate-b")),
            ]),
            ..Options::default()
        },
    );
    let intake = || {
        let (_, v) = host.admin("GET", "/api/admin/events", None);
        v["intake"].clone()
    };
    let counter = |v: &serde_json::Value, name: &str| v[name].as_u64().unwrap();
    drain(&host);
    let before = intake();
    host.runtime.emit("gate.hold", &json!({}));
    crate::support::wait_until("the gate handlers to run", Duration::from_secs(20), || {
        gate::STARTED.load(Ordering::SeqCst) >= 2
    });
    // Twice the intake's capacity, in four parts, each taken in while both
    // handlers are still held.
    let capacity = plugboard_core::events::EventBus::INTAKE_CAPACITY as u64;
    for part in 1..=4u64 {
        for i in 0..capacity / 2 {
            host.runtime.emit("bulk.item", &json!({ "i": i }));
        }
        crate::support::wait_until("the part to be dispatched", Duration::from_secs(20), || {
            // The gate event, and the parts so far.
            counter(&intake(), "dispatched") - counter(&before, "dispatched") > part * capacity / 2
        });
    }
    let held = intake();
    assert_eq!(gate::STARTED.load(Ordering::SeqCst), 2, "still held");
    assert_eq!(
        counter(&held, "intake_dropped"),
        counter(&before, "intake_dropped"),
        "{held}"
    );
    gate::open();
    drain(&host);
    let after = intake();
    assert_eq!(
        counter(&after, "dispatched"),
        counter(&after, "accepted"),
        "{after}"
    );
}
