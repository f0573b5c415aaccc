//! The persisted lifecycle: compare-and-swap transitions, audit, restarts,
//! and failures in `on_load` / `on_enable`.

use std::sync::Arc;

use plugboard_core::{
    lifecycle::{LifecycleError, LifecycleStore, PluginState, Transition},
    Runtime, RuntimeConfig,
};

use crate::support::{copy_dir, request, stage, staged, tempdir, Host, TOKEN};

#[test]
fn sixty_four_concurrent_enables_over_http_exactly_one_wins() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let host = Host::start(dir.path());
    let url = host.url("/api/admin/plugins/guestbook/enable");
    let barrier = Arc::new(std::sync::Barrier::new(64));
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let (url, barrier) = (url.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                request("POST", &url, Some(TOKEN), None)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let won = results.iter().filter(|(s, _)| *s == 200).count();
    let refused: Vec<_> = results.iter().filter(|(s, _)| *s == 409).collect();
    assert_eq!(won, 1, "{results:?}");
    assert_eq!(refused.len(), 63, "{results:?}");
    for (_, v) in refused {
        assert_eq!(v["error"]["code"], "invalid_transition");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("cannot enable plugin \"guestbook\" while it is active"),
            "{v}"
        );
    }
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=guestbook", None);
    let enables = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["to"] == "active")
        .count();
    assert_eq!(enables, 1, "exactly one transition audited: {audit}");
}

per_database! {
    fn sixty_four_racing_transitions_at_the_database_exactly_one_wins(db, url) {
    eprintln!("database: {db}");
    racing_transitions(url);
    }
}

fn racing_transitions(url: Option<String>) {
    // No in-process lock here: 64 tasks race straight at the database, as
    // several replicas would.
    let dir = tempdir();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = RuntimeConfig::new(dir.path());
        config.database_url = url;
        let runtime = Runtime::start(config, &[]).await.unwrap();
        let store = runtime.store().clone();
        store.ensure("racer", "1.0.0", "dynamic").await.unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let store: LifecycleStore = store.clone();
                tokio::spawn(async move {
                    store
                        .transition("racer", Transition::Enable, &format!("caller-{i}"), None)
                        .await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) => {
                    assert_eq!(r.state, PluginState::Active);
                    ok += 1;
                }
                Err(LifecycleError::InvalidTransition { from, .. }) => {
                    assert_eq!(from, PluginState::Active)
                }
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert_eq!(ok, 1);
        let record = store.get("racer").await.unwrap();
        assert_eq!(record.row_version, 2, "one change after the insert");
        let audit = store.audit(Some("racer"), 100).await.unwrap();
        assert_eq!(audit.len(), 2, "installed + one enable: {audit:?}");
    });
}

#[test]
fn every_transition_is_audited_with_actor_and_error() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook", "enable-error"]);
    let host = Host::start(dir.path());
    assert_eq!(host.enable("guestbook").0, 200);
    assert_eq!(
        host.admin("POST", "/api/admin/plugins/guestbook/disable", None)
            .0,
        200
    );
    let (status, v) = host.enable("enable-error");
    assert_eq!(status, 422, "{v}");
    let (_, audit) = host.admin("GET", "/api/admin/audit", None);
    let entries = audit["entries"].as_array().unwrap();
    let find = |slug: &str, from: &str, to: &str| {
        entries
            .iter()
            .find(|e| e["slug"] == slug && e["from"] == from && e["to"] == to)
            .unwrap_or_else(|| panic!("no {slug} {from}->{to} in {audit}"))
            .clone()
    };
    assert_eq!(
        find("guestbook", "installed", "active")["actor"],
        "admin token"
    );
    assert_eq!(
        find("guestbook", "active", "inactive")["actor"],
        "admin token"
    );
    let failed = find("enable-error", "installed", "errored");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("refuses to start on purpose"),
        "{failed}"
    );
    assert!(failed["at"].as_str().is_some());
}

#[test]
fn failing_or_panicking_on_enable_leaves_the_plugin_errored_and_the_host_serving() {
    let dir = tempdir();
    stage(dir.path(), &["enable-error", "guestbook"]);
    let host = Host::start(dir.path());
    // First attempt: on_enable returns an error.
    let (status, v) = host.enable("enable-error");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("plugin_failed")),
        "{v}"
    );
    assert_eq!(host.state("enable-error"), "errored");
    let (_, p) = host.admin("GET", "/api/admin/plugins/enable-error", None);
    assert!(
        p["last_error"].as_str().unwrap().starts_with("on_enable: "),
        "{p}"
    );
    assert!(p["error_at"].is_string());
    // Errored cannot be enabled without a reset.
    assert_eq!(host.enable("enable-error").0, 409);
    assert_eq!(
        host.admin("POST", "/api/admin/plugins/enable-error/reset", None)
            .0,
        200
    );
    assert_eq!(host.state("enable-error"), "inactive");
    // Second attempt: on_enable panics.
    let (status, v) = host.enable("enable-error");
    assert_eq!(status, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("panicked in on_enable on purpose"),
        "{v}"
    );
    assert_eq!(host.state("enable-error"), "errored");
    // The host keeps serving.
    assert_eq!(host.public("GET", "/healthz", None).0, 200);
    assert_eq!(host.enable("guestbook").0, 200);
}

#[test]
fn panicking_on_load_leaves_the_plugin_errored_at_start() {
    let dir = tempdir();
    stage(dir.path(), &["load-panic", "guestbook"]);
    let host = Host::start(dir.path());
    let (_, p) = host.admin("GET", "/api/admin/plugins/load-panic", None);
    assert_eq!(p["state"], "errored");
    assert!(
        p["last_error"].as_str().unwrap().contains("on_load: "),
        "{p}"
    );
    assert!(
        p["last_error"]
            .as_str()
            .unwrap()
            .contains("panicked in on_load on purpose"),
        "{p}"
    );
    assert_eq!(
        host.enable("guestbook").0,
        200,
        "the other plugins keep working"
    );
}

#[test]
fn states_survive_a_restart() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    {
        let host = Host::start(dir.path());
        assert_eq!(host.enable("guestbook").0, 200);
        let (status, _) = host.admin(
            "POST",
            "/api/plugins/guestbook/entries",
            Some(serde_json::json!({"author": "ann", "message": "before restart"})),
        );
        assert_eq!(status, 201);
        assert_eq!(
            host.admin("POST", "/api/admin/plugins/activity/disable", None)
                .0,
            200
        );
        host.stop();
    }
    let host = Host::start(dir.path());
    assert_eq!(host.state("guestbook"), "active");
    assert_eq!(
        host.state("activity"),
        "inactive",
        "a disabled built-in stays disabled"
    );
    let (status, v) = host.admin("GET", "/api/plugins/guestbook/entries", None);
    assert_eq!(status, 200);
    assert_eq!(
        v["entries"][0]["message"], "before restart",
        "KV data persisted: {v}"
    );
    assert_eq!(
        host.admin("GET", "/api/plugins/activity/recent", None).0,
        404
    );
}

/// How many times the activity log says `slug` was enabled.
fn enabled_in_activity(host: &Host, slug: &str) -> usize {
    let (status, v) = host.admin("GET", "/api/plugins/activity/recent", None);
    assert_eq!(status, 200, "{v}");
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["hook"] == "plugin.lifecycle" && e["subject"] == format!("{slug} enabled"))
        .count()
}

#[test]
fn a_restart_brings_active_plugins_back_without_announcing_them_again() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook", "noop"]);
    {
        let host = Host::start(dir.path());
        assert_eq!(host.enable("guestbook").0, 200);
        assert_eq!(host.enable("noop").0, 200);
        assert_eq!(enabled_in_activity(&host, "guestbook"), 1);
        host.stop();
    }
    let host = Host::start(dir.path());
    assert_eq!(host.state("guestbook"), "active");
    assert_eq!(host.state("noop"), "active");
    assert_eq!(
        enabled_in_activity(&host, "guestbook"),
        1,
        "coming back at start is not a change: the log keeps its history"
    );
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=guestbook", None);
    let enables = audit["entries"]
        .as_array()
        .map(|rows| rows.iter().filter(|r| r["to"] == "active").count());
    assert_eq!(enables, Some(1), "nothing recorded by the restart: {audit}");
    // A change after the restart is announced as before.
    assert_eq!(
        host.admin("POST", "/api/admin/plugins/guestbook/disable", None)
            .0,
        200
    );
    assert_eq!(host.enable("guestbook").0, 200);
    assert_eq!(enabled_in_activity(&host, "guestbook"), 2);
}

#[test]
fn a_folder_replaced_by_hand_while_stopped_is_recorded_as_what_it_holds() {
    let dir = tempdir();
    let folder = dir.path().join("plugins/notes");
    copy_dir(&staged().join("notes-v1"), &folder);
    {
        let host = Host::start(dir.path());
        assert_eq!(host.enable("notes").0, 200);
        host.stop();
    }
    std::fs::remove_dir_all(&folder).unwrap();
    copy_dir(&staged().join("notes-v2"), &folder);
    let host = Host::start(dir.path());
    let (status, v) = host.admin("GET", "/api/admin/plugins/notes", None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["version"], "2.0.0", "{v}");
    assert_eq!(v["state"], "active", "{v}");
    let (status, v) = host.admin("GET", "/api/plugins/notes/version", None);
    assert_eq!((status, v["version"].as_str()), (200, Some("2.0.0")));
}
