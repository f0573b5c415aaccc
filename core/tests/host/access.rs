//! Route access enforced by the host, the caller a plugin receives, and
//! permissions granted to roles — over real HTTP with real sessions and the
//! bearer token, against the `gatekeeper` fixture (a real library), on
//! SQLite and PostgreSQL.

use plugboard_plugin_api::builtin;
use serde_json::{json, Value};

use crate::support::{event_probe::EventProbe, send, stage, tempdir, Host, Options, TOKEN};

/// A signed-in account: its id, session cookie pair and CSRF token.
pub(crate) struct Session {
    pub(crate) id: i64,
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

pub(crate) fn account(host: &Host, username: &str, role: &str) -> Session {
    let password = format!("{username}-pass-1");
    let (s, v) = host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": username, "password": password, "role": role})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, hs, v) = send(
        host,
        "POST",
        "/api/auth/login",
        &[],
        Some(json!({"username": username, "password": password})),
    );
    assert_eq!(s, 200, "{v}");
    let set = hs
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.clone())
        .unwrap();
    Session {
        id: v["account_id"]
            .as_i64()
            .expect("the session names its account"),
        cookie: set.split(';').next().unwrap().to_string(),
        csrf: v["csrf_token"].as_str().unwrap().to_string(),
    }
}

#[derive(Clone, Copy)]
enum Who<'a> {
    Nobody,
    As(&'a Session),
    Token,
}

fn call(host: &Host, who: Who<'_>, method: &str, path: &str) -> (u16, Value) {
    let bearer = format!("Bearer {TOKEN}");
    let headers: Vec<(&str, &str)> = match who {
        Who::Nobody => vec![],
        Who::As(s) => vec![
            ("cookie", s.cookie.as_str()),
            ("x-csrf-token", s.csrf.as_str()),
        ],
        Who::Token => vec![("authorization", bearer.as_str())],
    };
    let (s, _, v) = send(host, method, path, &headers, None);
    (s, v)
}

fn runs(host: &Host) -> Value {
    let (s, v) = host.public("GET", "/api/plugins/gatekeeper/runs", None);
    assert_eq!(s, 200, "{v}");
    v
}

fn gatekeeper_host(dir: &std::path::Path, database_url: Option<String>) -> Host {
    stage(dir, &["gatekeeper"]);
    let host = Host::start_with(
        dir,
        Options {
            database_url,
            ..Options::default()
        },
    );
    let (s, v) = host.enable("gatekeeper");
    assert_eq!(s, 200, "{v}");
    host
}

per_database! {
    fn each_access_level_admits_exactly_its_callers_and_refusals_never_reach_the_plugin(db, url) {
    let dir = tempdir();
    let host = gatekeeper_host(dir.path(), url);
    let ann = account(&host, "ann", "user");
    let boss = account(&host, "boss", "admin");
    let callers = [
        ("anonymous", Who::Nobody),
        ("ann", Who::As(&ann)),
        ("boss", Who::As(&boss)),
        ("token", Who::Token),
    ];
    // Expected statuses for anonymous, ann (user), boss (admin), token.
    let table: [(&str, [u16; 4]); 5] = [
        ("/public", [200, 200, 200, 200]),
        ("/user", [401, 200, 200, 200]),
        ("/default", [401, 200, 200, 200]),
        ("/admin", [401, 403, 200, 200]),
        ("/moderate", [401, 403, 200, 200]),
    ];
    for (route, want) in table {
        for ((name, who), want) in callers.iter().zip(want) {
            let (s, v) = call(
                &host,
                *who,
                "GET",
                &format!("/api/plugins/gatekeeper{route}"),
            );
            assert_eq!(s, want, "{db}: {name} GET {route}: {v}");
            if s == 401 {
                assert_eq!(v["error"]["code"], "unauthorized", "{v}");
            }
            if s == 403 {
                assert_eq!(v["error"]["code"], "forbidden", "{v}");
            }
        }
    }
    // Only the admitted calls ran (each counts itself in the plugin's KV).
    assert_eq!(
        runs(&host),
        json!({"GET /public": 4, "GET /user": 3, "GET /default": 3, "GET /admin": 2, "GET /moderate": 2}),
        "{db}"
    );

    // The caller the plugin sees is who signed in.
    let (_, v) = call(&host, Who::As(&ann), "GET", "/api/plugins/gatekeeper/user");
    assert_eq!(
        v["caller"],
        json!({"kind": "account", "id": ann.id, "username": "ann", "role": "user",
               "permissions": [], "admin": false}),
        "{db}"
    );
    let (_, v) = call(&host, Who::As(&boss), "GET", "/api/plugins/gatekeeper/user");
    assert_eq!(
        (
            &v["caller"]["id"],
            &v["caller"]["username"],
            &v["caller"]["permissions"]
        ),
        (&json!(boss.id), &json!("boss"), &json!(["moderate"])),
        "{db}: an admin holds every permission the plugin declares"
    );
    assert_ne!(ann.id, boss.id);
    let (_, v) = call(&host, Who::Token, "GET", "/api/plugins/gatekeeper/public");
    assert_eq!(v["caller"], json!({"kind": "token", "admin": true}));
    let (_, v) = call(&host, Who::Nobody, "GET", "/api/plugins/gatekeeper/public");
    assert_eq!(v["caller"], json!({"kind": "anonymous"}));

    // Granting `moderate` to the user role lets ann in; revoking shuts her out.
    let (s, v) = host.admin(
        "PUT",
        "/api/admin/plugins/gatekeeper/permissions",
        Some(json!({"grants": {"moderate": ["user"]}})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["permissions"],
        json!([{"name": "moderate", "description": "Call the moderation route", "roles": ["user"]}])
    );
    let (s, v) = call(
        &host,
        Who::As(&ann),
        "GET",
        "/api/plugins/gatekeeper/moderate",
    );
    assert_eq!(s, 200, "{db}: {v}");
    assert_eq!(v["caller"]["permissions"], json!(["moderate"]));
    let (s, _) = host.admin(
        "PUT",
        "/api/admin/plugins/gatekeeper/permissions",
        Some(json!({"grants": {}})),
    );
    assert_eq!(s, 200);
    let (s, _) = call(
        &host,
        Who::As(&ann),
        "GET",
        "/api/plugins/gatekeeper/moderate",
    );
    assert_eq!(s, 403, "{db}: revoked");
    assert_eq!(runs(&host)["GET /moderate"], 3, "{db}");
    }
}

per_database! {
    fn grants_are_validated_audited_admin_only_and_survive_a_restart(db, url) {
    let dir = tempdir();
    let host = gatekeeper_host(dir.path(), url.clone());
    let ann = account(&host, "ann", "user");
    let path = "/api/admin/plugins/gatekeeper/permissions";
    let (s, v) = host.admin("GET", path, None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["permissions"][0]["roles"], json!([]));
    assert_eq!(v["grantable_roles"], json!(["user"]));

    for (body, why) in [
        (
            json!({"grants": {"delete-everything": ["user"]}}),
            "no permission",
        ),
        (json!({"grants": {"moderate": ["admin"]}}), "not a role"),
        (json!({"grants": {"moderate": ["root"]}}), "not a role"),
        (
            json!({"grants": {"moderate": ["user"]}, "extra": 1}),
            "unknown field",
        ),
        (json!({"grants": {"moderate": "user"}}), "invalid"),
    ] {
        let (s, v) = host.admin("PUT", path, Some(body.clone()));
        assert_eq!(s, 422, "{db}: {body}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(why),
            "{db}: {body}: {v}"
        );
    }
    let (_, v) = host.admin("GET", path, None);
    assert_eq!(
        v["permissions"][0]["roles"],
        json!([]),
        "{db}: nothing changed"
    );

    // A user's session may not grant; nor may a session without its CSRF token.
    let (s, _, _) = send(
        &host,
        "PUT",
        path,
        &[("cookie", &ann.cookie), ("x-csrf-token", &ann.csrf)],
        Some(json!({"grants": {"moderate": ["user"]}})),
    );
    assert_eq!(s, 403);
    let boss = account(&host, "boss", "admin");
    let (s, _, v) = send(
        &host,
        "PUT",
        path,
        &[("cookie", &boss.cookie)],
        Some(json!({"grants": {"moderate": ["user"]}})),
    );
    assert_eq!((s, &v["error"]["code"]), (403, &json!("csrf_failed")));
    let (s, _, v) = send(
        &host,
        "PUT",
        path,
        &[("cookie", &boss.cookie), ("x-csrf-token", &boss.csrf)],
        Some(json!({"grants": {"moderate": ["user", "user"]}})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["permissions"][0]["roles"], json!(["user"]));
    assert_eq!(
        host.admin("GET", "/api/admin/plugins/nope/permissions", None)
            .0,
        404
    );

    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=gatekeeper", None);
    let last = &audit["entries"][0];
    assert_eq!(
        (&last["actor"], &last["error"]),
        (
            &json!(format!("account {} (boss)", boss.id)),
            &json!("permissions granted: moderate: admins, user")
        ),
        "{db}: {audit}"
    );
    host.stop();

    let host = Host::start_with(
        dir.path(),
        Options {
            database_url: url,
            ..Options::default()
        },
    );
    let (_, v) = host.admin("GET", path, None);
    assert_eq!(v["permissions"][0]["roles"], json!(["user"]), "{db}: kept");
    let (s, hs, v) = send(
        &host,
        "POST",
        "/api/auth/login",
        &[],
        Some(json!({"username": "ann", "password": "ann-pass-1"})),
    );
    assert_eq!(s, 200, "{v}");
    let cookie = hs
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .unwrap()
        .1
        .clone();
    let cookie = cookie.split(';').next().unwrap();
    let (s, _, v) = send(
        &host,
        "GET",
        "/api/plugins/gatekeeper/moderate",
        &[("cookie", cookie)],
        None,
    );
    assert_eq!(s, 200, "{db}: the grant applies after a restart: {v}");
    }
}

#[test]
fn session_writes_need_the_csrf_token_even_on_public_routes() {
    let dir = tempdir();
    let host = gatekeeper_host(dir.path(), None);
    let ann = account(&host, "ann", "user");
    let cookie = ("cookie", ann.cookie.as_str());
    for route in [
        "/api/plugins/gatekeeper/user",
        "/api/plugins/gatekeeper/public",
    ] {
        let (s, _, v) = send(&host, "POST", route, &[cookie], None);
        assert_eq!(
            (s, &v["error"]["code"]),
            (403, &json!("csrf_failed")),
            "{route}: {v}"
        );
        let (s, _, v) = send(
            &host,
            "POST",
            route,
            &[
                cookie,
                ("x-csrf-token", &ann.csrf),
                ("origin", "http://evil.example"),
            ],
            None,
        );
        assert_eq!(
            (s, &v["error"]["code"]),
            (403, &json!("csrf_failed")),
            "{route}: {v}"
        );
        let (s, _, v) = send(
            &host,
            "POST",
            route,
            &[cookie, ("x-csrf-token", "0000")],
            None,
        );
        assert_eq!(s, 403, "{route}: a wrong token: {v}");
    }
    assert_eq!(runs(&host), json!({}), "no refused write ran");
    let (s, _, v) = send(
        &host,
        "POST",
        "/api/plugins/gatekeeper/user",
        &[cookie, ("x-csrf-token", &ann.csrf)],
        None,
    );
    assert_eq!((s, &v["caller"]["username"]), (200, &json!("ann")), "{v}");
    // Without a session there is nothing to forge: anyone may write to a public route.
    let (s, _, _) = send(&host, "POST", "/api/plugins/gatekeeper/public", &[], None);
    assert_eq!(s, 200);
    // Reads need no token.
    let (s, _, _) = send(
        &host,
        "GET",
        "/api/plugins/gatekeeper/user",
        &[cookie],
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(
        runs(&host),
        json!({"POST /user": 1, "POST /public": 1, "GET /user": 1})
    );
}

#[test]
fn credentials_never_reach_the_plugin_and_it_cannot_set_the_session_cookie() {
    let dir = tempdir();
    let host = gatekeeper_host(dir.path(), None);
    let ann = account(&host, "ann", "user");
    let (s, _, v) = send(
        &host,
        "GET",
        "/api/plugins/gatekeeper/headers",
        &[
            ("cookie", &format!("{}; theme=dark", ann.cookie)),
            ("x-csrf-token", &ann.csrf),
            ("proxy-authorization", "Basic c2VjcmV0OnNlY3JldA=="),
            ("x-probe", "kept"),
        ],
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["headers"]["x-probe"], "kept");
    for gone in [
        "cookie",
        "authorization",
        "proxy-authorization",
        "x-csrf-token",
    ] {
        assert!(
            v["headers"].get(gone).is_none(),
            "{gone} reached the plugin: {v}"
        );
    }
    assert_eq!(v["caller"]["username"], "ann", "but the caller did");

    let bearer = format!("Bearer {TOKEN}");
    let (s, _, v) = send(
        &host,
        "GET",
        "/api/plugins/gatekeeper/headers",
        &[("authorization", &bearer), ("cookie", &ann.cookie)],
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert!(v["headers"].get("authorization").is_none(), "{v}");
    assert!(v["headers"].get("cookie").is_none(), "{v}");
    assert_eq!(v["caller"]["kind"], "token");

    // A plugin's Set-Cookie is dropped (it could replace the admin's session).
    let (s, hs, _) = send(
        &host,
        "GET",
        "/api/plugins/gatekeeper/set-cookie",
        &[("cookie", &ann.cookie)],
        None,
    );
    assert_eq!(s, 200);
    assert!(!hs.iter().any(|(k, _)| k == "set-cookie"), "{hs:?}");
    assert!(
        hs.iter().any(|(k, v)| k == "x-plugin" && v == "kept"),
        "{hs:?}"
    );

    // A wrong token is refused even for a public route, before the plugin runs;
    // a session that ended counts as nobody.
    let (s, _, _) = send(
        &host,
        "GET",
        "/api/plugins/gatekeeper/public",
        &[("authorization", "Bearer not-the-token")],
        None,
    );
    assert_eq!(s, 401);
    let (s, _, _) = send(
        &host,
        "POST",
        "/api/auth/logout",
        &[("cookie", &ann.cookie), ("x-csrf-token", &ann.csrf)],
        None,
    );
    assert_eq!(s, 204);
    let (s, _, v) = send(
        &host,
        "GET",
        "/api/plugins/gatekeeper/public",
        &[("cookie", &ann.cookie)],
        None,
    );
    assert_eq!((s, &v["caller"]["kind"]), (200, &json!("anonymous")), "{v}");
    let (s, _, _) = send(
        &host,
        "GET",
        "/api/plugins/gatekeeper/user",
        &[("cookie", &ann.cookie)],
        None,
    );
    assert_eq!(s, 401);
    assert_eq!(
        runs(&host)["GET /public"],
        1,
        "only the ended session's call ran"
    );
}

#[test]
fn the_admin_api_shows_each_routes_access_and_a_1_0_plugin_gets_the_default() {
    let dir = tempdir();
    stage(dir.path(), &["gatekeeper", "legacy"]);
    let host = Host::start(dir.path());
    assert_eq!(host.enable("gatekeeper").0, 200);
    assert_eq!(host.enable("legacy").0, 200);
    let (_, v) = host.admin("GET", "/api/admin/plugins/gatekeeper", None);
    let access = |path: &str, method: &str| {
        v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == path && r["method"] == method)
            .map(|r| r["access"].clone())
            .unwrap_or_else(|| panic!("{method} {path} in {v}"))
    };
    assert_eq!(access("/api/plugins/gatekeeper/admin", "GET"), "admin");
    assert_eq!(
        access("/api/plugins/gatekeeper/moderate", "GET"),
        "permission:moderate"
    );
    assert_eq!(access("/api/plugins/gatekeeper/public", "POST"), "public");
    assert_eq!(access("/api/plugins/gatekeeper/default", "GET"), "user");

    let (_, legacy) = host.admin("GET", "/api/admin/plugins/legacy", None);
    assert_eq!(legacy["api_version"], "1.0.0");
    assert_eq!(legacy["routes"][0]["access"], "user", "{legacy}");
    assert_eq!(
        host.public("GET", "/api/plugins/legacy/counter", None).0,
        401
    );
    let (s, v) = host.admin("GET", "/api/plugins/legacy/counter", None);
    assert_eq!((s, &v["counter"]), (200, &json!(1)), "{v}");
    let ann = account(&host, "ann", "user");
    let (s, v) = call(&host, Who::As(&ann), "GET", "/api/plugins/legacy/counter");
    assert_eq!(
        (s, &v["counter"]),
        (200, &json!(2)),
        "a 1.0 plugin serves signed-in users: {v}"
    );
}

#[test]
fn a_manifest_giving_access_to_a_route_the_code_does_not_serve_fails_the_enable() {
    use plugboard_plugin_api::BuiltinPlugin;
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: vec![BuiltinPlugin {
                manifest: r#"{"slug": "kv-a", "version": "1.0.0",
                    "capabilities": {"kv": true, "routes": true},
                    "routes": [{"method": "GET", "path": "/kv/{name}", "access": "public"}]}"#,
                make: || builtin(crate::support::builtins::KvProbe("kv-a")),
            }],
            ..Options::default()
        },
    );
    assert_eq!(host.state("kv-a"), "errored");
    let (_, v) = host.admin("GET", "/api/admin/plugins/kv-a", None);
    let error = v["last_error"].as_str().unwrap();
    assert!(
        error.contains("GET /kv/{name}, a route the plugin does not serve"),
        "{error}"
    );
    assert_eq!(host.public("GET", "/api/plugins/kv-a/keys", None).0, 404);
}

#[test]
fn user_events_and_audit_rows_name_who_acted() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[|| {
                builtin(EventProbe {
                    slug: "listener",
                    patterns: &["user.*"],
                    delay_ms: 0,
                    misbehave: None,
                })
            }]),
            ..Options::default()
        },
    );
    let boss = account(&host, "boss", "admin");
    let (s, v) = host.admin(
        "POST",
        "/api/admin/users",
        Some(json!({"username": "carol"})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, _, v) = send(
        &host,
        "DELETE",
        &format!("/api/admin/users/{}", v["id"]),
        &[("cookie", &boss.cookie), ("x-csrf-token", &boss.csrf)],
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert!(host
        .runtime
        .events()
        .drain(std::time::Duration::from_secs(20)));
    let (_, rows) = host.admin("GET", "/api/plugins/listener/seen", None);
    // Carol's events (the accounts signed in above fired theirs too).
    let payload = |name: &str| -> Value {
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["name"] == name)
            .map(|r| serde_json::from_str::<Value>(r["payload"].as_str().unwrap()).unwrap())
            .find(|p| p["username"] == "carol")
            .unwrap_or_else(|| panic!("{name} of carol in {rows}"))
    };
    let created = payload("user.created");
    assert_eq!(created["username"], "carol", "the existing fields stay");
    assert_eq!(
        created["actor"],
        json!({"id": null, "username": "admin token", "role": "admin"})
    );
    assert_eq!(
        payload("user.deleted")["actor"],
        json!({"id": boss.id, "username": "boss", "role": "admin"})
    );

    let (s, _, _) = send(
        &host,
        "POST",
        "/api/admin/plugins/listener/disable",
        &[("cookie", &boss.cookie), ("x-csrf-token", &boss.csrf)],
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(host.enable("listener").0, 200);
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=listener", None);
    let actors: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        ["admin token", &format!("account {} (boss)", boss.id)]
    );
}

#[test]
fn uninstalling_with_its_data_removes_the_plugins_grants_and_keeping_keeps_them() {
    for (data, roles_after) in [("keep", json!(["user"])), ("remove", json!([]))] {
        let dir = tempdir();
        let host = gatekeeper_host(dir.path(), None);
        let path = "/api/admin/plugins/gatekeeper/permissions";
        let (s, _) = host.admin("PUT", path, Some(json!({"grants": {"moderate": ["user"]}})));
        assert_eq!(s, 200);
        let (s, v) = host.admin(
            "DELETE",
            &format!("/api/admin/plugins/gatekeeper?data={data}"),
            None,
        );
        assert_eq!(s, 200, "{v}");
        stage(dir.path(), &["gatekeeper"]);
        host.stop();
        let host = Host::start(dir.path());
        let (_, v) = host.admin("GET", path, None);
        assert_eq!(
            v["permissions"][0]["roles"], roles_after,
            "data={data}: {v}"
        );
    }
}

#[test]
fn the_api_description_lists_only_what_the_caller_may_call() {
    let dir = tempdir();
    let host = gatekeeper_host(dir.path(), None);
    let ann = account(&host, "ann", "user");
    let paths = |who: Who<'_>| -> Vec<String> {
        let (s, doc) = call(&host, who, "GET", "/api/openapi.json");
        assert_eq!(s, 200, "{doc}");
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.push(format!("{} {path}", method.to_uppercase()));
            }
        }
        out
    };
    let (s, _) = call(&host, Who::Nobody, "GET", "/api/openapi.json");
    assert_eq!(s, 401);
    let everything = paths(Who::Token);
    for route in [
        "GET /api/plugins/gatekeeper/public",
        "GET /api/plugins/gatekeeper/user",
        "GET /api/plugins/gatekeeper/admin",
        "GET /api/plugins/gatekeeper/moderate",
        "POST /api/admin/plugins/{slug}/enable",
    ] {
        assert!(
            everything.iter().any(|p| p == route),
            "{route} missing for the token"
        );
    }
    let for_ann = paths(Who::As(&ann));
    assert!(for_ann
        .iter()
        .any(|p| p == "GET /api/plugins/gatekeeper/public"));
    assert!(for_ann
        .iter()
        .any(|p| p == "GET /api/plugins/gatekeeper/user"));
    for hidden in [
        "GET /api/plugins/gatekeeper/admin",
        "GET /api/plugins/gatekeeper/moderate",
        "POST /api/admin/plugins/{slug}/enable",
    ] {
        assert!(
            !for_ann.iter().any(|p| p == hidden),
            "{hidden} shown to a user"
        );
    }
    // Granted the permission, ann sees its route.
    let (s, v) = host.admin(
        "PUT",
        "/api/admin/plugins/gatekeeper/permissions",
        Some(json!({"grants": {"moderate": ["user"]}})),
    );
    assert_eq!(s, 200, "{v}");
    assert!(paths(Who::As(&ann))
        .iter()
        .any(|p| p == "GET /api/plugins/gatekeeper/moderate"));
}
