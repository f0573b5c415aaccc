//! User accounts fire the user hooks; filters may transform or refuse; hook
//! order is resolved and explained; cycles are refused at enable.

use plugboard_plugin_api::builtin;
use serde_json::json;

use crate::support::{builtins::Ordered, stage, tempdir, Host, Options};

#[test]
fn user_changes_fire_hooks_and_the_filter_can_transform_or_refuse() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook", "faulty"]);
    let host = Host::start(dir.path());
    assert_eq!(host.enable("guestbook").0, 200);
    assert_eq!(host.enable("faulty").0, 200);

    // Refused by the username-policy filter: 422 with the plugin's message.
    let (status, v) = host.admin(
        "POST",
        "/api/admin/users",
        Some(json!({"username": "Root"})),
    );
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "refused");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the user name \"root\" is reserved"),
        "{v}"
    );
    let (status, v) = host.admin("POST", "/api/admin/users", Some(json!({"username": "al"})));
    assert_eq!(status, 422, "{v}");

    // Transformed by the filter; created although faulty's user.created hook fails.
    let (status, user) = host.admin(
        "POST",
        "/api/admin/users",
        Some(json!({"username": "  Alice ", "role": "admin"})),
    );
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["username"], "alice");
    let id = user["id"].as_i64().unwrap();
    assert_eq!(
        host.admin(
            "POST",
            "/api/admin/users",
            Some(json!({"username": "alice"}))
        )
        .0,
        409
    );
    assert_eq!(
        host.admin(
            "POST",
            "/api/admin/users",
            Some(json!({"username": "bob", "role": "king"}))
        )
        .0,
        422
    );

    // guestbook's user.created hook ran.
    let (_, entries) = host.admin("GET", "/api/plugins/guestbook/entries", None);
    assert_eq!(
        entries["entries"][0]["message"], "Welcome, alice!",
        "{entries}"
    );

    let (status, v) = host.admin(
        "PATCH",
        &format!("/api/admin/users/{id}"),
        Some(json!({"role": "user", "password": "alice-password"})),
    );
    assert_eq!((status, v["role"].as_str()), (200, Some("user")));
    // faulty's login hook panics: the sign-in still succeeds, the panic is
    // counted. An admin ending the user's sessions is the sign-out.
    let (status, v) = host.public(
        "POST",
        "/api/auth/login",
        Some(json!({"username": "alice", "password": "alice-password"})),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = host.admin("POST", &format!("/api/admin/users/{id}/logout"), None);
    assert_eq!((status, &v["sessions_ended"]), (200, &json!(1)), "{v}");
    assert_eq!(
        host.admin("DELETE", &format!("/api/admin/users/{id}"), None)
            .0,
        200
    );
    assert_eq!(
        host.admin("GET", &format!("/api/admin/users/{id}"), None).0,
        404
    );

    let (_, recent) = host.admin("GET", "/api/plugins/activity/recent", None);
    let hooks: Vec<&str> = recent["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["hook"].as_str())
        .take(5)
        .collect();
    assert_eq!(
        hooks,
        [
            "user.deleted",
            "user.logout",
            "user.login",
            "user.updated",
            "user.created"
        ]
    );
    let (_, faulty) = host.admin("GET", "/api/admin/plugins/faulty", None);
    assert_eq!(faulty["metrics"]["panics"], 1, "{faulty}");
    assert_eq!(
        faulty["state"], "active",
        "one panic does not trip the default policy"
    );
}

#[test]
fn hook_order_is_resolved_explained_and_cycles_are_refused() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[
                || {
                    builtin(Ordered {
                        slug: "cycle-a",
                        before: "cycle-b",
                    })
                },
                || {
                    builtin(Ordered {
                        slug: "cycle-b",
                        before: "cycle-a",
                    })
                },
                || {
                    builtin(Ordered {
                        slug: "zz-first",
                        before: "guestbook",
                    })
                },
            ]),
            ..Options::default()
        },
    );
    // cycle-a came up at start; cycle-b would close a cycle, so it did not.
    assert_eq!(host.state("cycle-a"), "active");
    assert_eq!(host.state("cycle-b"), "installed");
    let (status, v) = host.enable("cycle-b");
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "hook_cycle");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cycle among cycle-a, cycle-b"),
        "{v}"
    );
    assert_eq!(
        host.state("cycle-b"),
        "installed",
        "a refused enable changes nothing"
    );

    assert_eq!(host.enable("guestbook").0, 200);
    let (_, hooks) = host.admin("GET", "/api/admin/hooks", None);
    let created = hooks["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hook"] == "user.created")
        .unwrap();
    let order: Vec<&str> = created["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["slug"].as_str().unwrap())
        .collect();
    // zz-first sorts last by slug but must run before guestbook.
    assert_eq!(order, ["cycle-a", "zz-first", "guestbook"], "{created}");
    assert_eq!(created["order"][1]["before"], json!(["guestbook"]));
}

#[test]
fn system_startup_and_shutdown_hooks_fire() {
    use crate::support::system_probe::SystemProbe;
    let dir = tempdir();
    let options = || Options {
        builtins: crate::support::probes(&[|| builtin(SystemProbe)]),
        ..Options::default()
    };
    let host = Host::start_with(dir.path(), options());
    let (_, seen) = host.admin("GET", "/api/plugins/system-probe/events", None);
    assert_eq!(seen, json!(["startup"]));
    host.stop();
    let host = Host::start_with(dir.path(), options());
    let (_, seen) = host.admin("GET", "/api/plugins/system-probe/events", None);
    assert_eq!(
        seen,
        json!(["startup", "shutdown", "startup"]),
        "shutdown fired before the first host stopped"
    );
}
