//! Panic isolation and the fault policy.

use std::time::Duration;

use plugboard_core::fault::FaultPolicy;
use plugboard_plugin_api::builtin;

use crate::support::{builtins::KvProbe, stage, tempdir, Host, Options};

#[test]
fn a_panicking_route_answers_500_with_an_error_id_and_the_server_keeps_serving() {
    let dir = tempdir();
    stage(dir.path(), &["faulty"]);
    let host = Host::start(dir.path());
    assert_eq!(host.enable("faulty").0, 200);
    let (status, v) = host.admin("GET", "/api/plugins/faulty/panic", None);
    assert_eq!(status, 500, "{v}");
    assert_eq!(v["error"]["code"], "plugin_panicked");
    let id = v["error"]["id"].as_str().unwrap();
    assert_eq!(id.len(), 16, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("panicked on purpose"));
    // Same process, still serving, same plugin still answering.
    let (status, v) = host.admin("GET", "/api/plugins/faulty/ok", None);
    assert_eq!((status, v), (200, serde_json::json!({"ok": true})));
    let (status, v) = host.admin("GET", "/api/plugins/faulty/error", None);
    assert_eq!(status, 500);
    assert_eq!(v["error"]["code"], "plugin_error");
    // Counted per plugin.
    let (_, p) = host.admin("GET", "/api/admin/plugins/faulty", None);
    let m = &p["metrics"];
    assert_eq!(m["panics"], 1, "{p}");
    assert!(m["errors"].as_u64().unwrap() >= 2, "{p}");
    assert!(m["calls"].as_u64().unwrap() >= 3, "{p}");
}

#[test]
fn a_panicking_builtin_route_is_caught_on_the_host_side() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[|| builtin(KvProbe("probe"))]),
            ..Options::default()
        },
    );
    let (status, v) = host.admin("GET", "/api/plugins/probe/boom", None);
    assert_eq!(status, 500, "{v}");
    assert_eq!(v["error"]["code"], "plugin_panicked");
    assert_eq!(host.admin("GET", "/api/plugins/probe/keys", None).0, 200);
}

#[test]
fn repeated_panics_move_the_plugin_to_errored_until_an_admin_resets_it() {
    let dir = tempdir();
    stage(dir.path(), &["faulty"]);
    let host = Host::start_with(
        dir.path(),
        Options {
            fault_policy: FaultPolicy {
                max_panics: 3,
                window: Duration::from_secs(60),
            },
            ..Options::default()
        },
    );
    assert_eq!(host.enable("faulty").0, 200);
    for _ in 0..3 {
        assert_eq!(host.admin("GET", "/api/plugins/faulty/panic", None).0, 500);
    }
    // Out of service at once: its routes are gone.
    let (status, v) = host.admin("GET", "/api/plugins/faulty/ok", None);
    assert_eq!(status, 404, "{v}");
    // Errored is recorded (in the background) with the reason.
    crate::support::wait_until("faulty to be errored", Duration::from_secs(10), || {
        host.state("faulty") == "errored"
    });
    let (_, p) = host.admin("GET", "/api/admin/plugins/faulty", None);
    let err = p["last_error"].as_str().unwrap();
    assert!(
        err.contains(
            "fault policy: 3 faults (panics, calls stuck past their deadline) within 60 s"
        ) && err.contains("panicked on purpose"),
        "{err}"
    );
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=faulty&limit=1", None);
    assert_eq!(audit["entries"][0]["actor"], "fault-policy");
    // Reset, enable: serving again.
    assert_eq!(
        host.admin("POST", "/api/admin/plugins/faulty/reset", None)
            .0,
        200
    );
    assert_eq!(host.enable("faulty").0, 200);
    assert_eq!(host.admin("GET", "/api/plugins/faulty/ok", None).0, 200);
}
