//! The `files` capability end to end, on SQLite and PostgreSQL: a dynamic
//! plugin (`gatekeeper`) stores, reads, lists and deletes its files through
//! `ctx.files()`; limits and quota hold; the admin detail lists them with
//! sizes; uninstalling with `data=remove` deletes them. A plugin without
//! the grant is refused. Also: an error kind no plugin-api names crosses
//! the boundary as an ordinary value.

use plugboard_core::capability::files::FileLimits;
use plugboard_plugin_api::prelude::*;
use serde_json::{json, Value};

use crate::support::{granted, stage, tempdir, Host, Options};

fn start(dir: &std::path::Path, url: &Option<String>) -> Host {
    Host::start_with(
        dir,
        Options {
            database_url: url.clone(),
            files: FileLimits {
                max_file: 16,
                quota: 24,
                max_files: 3,
            },
            ..Options::default()
        },
    )
}

/// `body` as the JSON string the test client sends (its size is len + 2).
fn text(body: &str) -> Option<Value> {
    Some(Value::String(body.into()))
}

per_database! {
    fn a_plugin_keeps_its_files_within_limits_and_loses_them_with_its_data(db, url) {
    let dir = tempdir();
    stage(dir.path(), &["gatekeeper"]);
    let host = start(dir.path(), &url);
    assert_eq!(host.enable("gatekeeper").0, 200, "{db}");
    let files = "/api/plugins/gatekeeper/files";

    let (s, v) = host.admin("PUT", &format!("{files}/a.txt"), text("hello"));
    assert_eq!((s, &v["size"]), (200, &json!(7)), "{db}: {v}");
    let (s, v) = host.admin("PUT", &format!("{files}/b.txt"), text("world!"));
    assert_eq!(s, 200, "{db}: {v}");
    let (s, v) = host.admin("GET", &format!("{files}/a.txt"), None);
    assert_eq!((s, v), (200, json!("hello")), "{db}");
    let (s, v) = host.admin("GET", files, None);
    assert_eq!(s, 200, "{db}");
    assert_eq!(
        v,
        json!([{ "name": "a.txt", "size": 7 }, { "name": "b.txt", "size": 8 }]),
        "{db}"
    );

    // One file past the per-file limit; a new file past the quota (15
    // stored + 10 > 24); replacing a file counts only its new size.
    let (s, v) = host.admin("PUT", &format!("{files}/big.txt"), text(&"x".repeat(15)));
    assert_eq!(s, 422, "{db}: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 16 bytes"),
        "{db}: {v}"
    );
    let (s, v) = host.admin("PUT", &format!("{files}/c.txt"), text("12345678"));
    assert_eq!(s, 403, "{db}: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("quota of 24 bytes"),
        "{db}: {v}"
    );
    let (s, v) = host.admin("PUT", &format!("{files}/a.txt"), text("12345678901234"));
    assert_eq!(s, 200, "{db}: replacing a.txt (16 + 8 = 24) fits: {v}");
    let (s, v) = host.admin("PUT", &format!("{files}/bad%20name"), text("x"));
    assert_eq!(s, 422, "{db}: {v}");
    let (s, _) = host.admin("GET", &format!("{files}/c.txt"), None);
    assert_eq!(s, 404, "{db}: the refused file was not stored");

    // The admin's detail lists them with sizes.
    let (s, v) = host.admin("GET", "/api/admin/plugins/gatekeeper", None);
    assert_eq!(s, 200, "{db}");
    let usage = &v["capability_usage"]["files"];
    assert_eq!(usage["granted"], true, "{db}: {v}");
    assert_eq!(usage["detail"]["count"], 2, "{db}: {usage}");
    assert_eq!(usage["detail"]["total_bytes"], 24, "{db}: {usage}");
    assert_eq!(
        usage["detail"]["files"],
        json!([{ "name": "a.txt", "size": 16 }, { "name": "b.txt", "size": 8 }]),
        "{db}"
    );
    assert_eq!(v["capability_usage"]["sql"]["granted"], false, "{db}: {v}");

    let (s, v) = host.admin("DELETE", &format!("{files}/b.txt"), None);
    assert_eq!((s, &v["deleted"]), (200, &json!(true)), "{db}: {v}");

    // Files cost a row even when empty: at most three (16 + 2 + 2 bytes
    // fit the quota; a fourth file does not fit the count).
    for name in ["e", "f"] {
        let (s, v) = host.admin("PUT", &format!("{files}/{name}"), text(""));
        assert_eq!(s, 200, "{db}: {v}");
    }
    let (s, v) = host.admin("PUT", &format!("{files}/g"), text(""));
    assert_eq!(s, 403, "{db}: {v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("3 files"),
        "{db}: {v}"
    );
    let (s, v) = host.admin("PUT", &format!("{files}/e"), text("1"));
    assert_eq!(s, 200, "{db}: replacing one of three is fine: {v}");
    for name in ["e", "f"] {
        assert_eq!(host.admin("DELETE", &format!("{files}/{name}"), None).0, 200);
    }

    // Uninstall keeping data: the files stay for a reinstall.
    let (s, v) = host.admin("DELETE", "/api/admin/plugins/gatekeeper", None);
    assert_eq!(s, 200, "{db}: {v}");
    host.stop();
    stage(dir.path(), &["gatekeeper"]);
    let host = start(dir.path(), &url);
    assert_eq!(host.enable("gatekeeper").0, 200, "{db}");
    let (_, v) = host.admin("GET", files, None);
    assert_eq!(v, json!([{ "name": "a.txt", "size": 16 }]), "{db}: kept");

    // Uninstall removing data: the files go with it.
    let (s, v) = host.admin("DELETE", "/api/admin/plugins/gatekeeper?data=remove", None);
    assert_eq!(s, 200, "{db}: {v}");
    assert_eq!(v["removed"]["files"], 1, "{db}: {v}");
    host.stop();
    stage(dir.path(), &["gatekeeper"]);
    let host = start(dir.path(), &url);
    assert_eq!(host.enable("gatekeeper").0, 200, "{db}");
    let (_, v) = host.admin("GET", files, None);
    assert_eq!(v, json!([]), "{db}: removed files stay removed");
    host.stop();
    }
}

#[derive(Default)]
struct Hoarder;
impl Hoarder {
    fn keep(&self, ctx: &Context, _req: &Request) -> PluginResult<Response> {
        ctx.files().put("note.txt", b"kept")?;
        Ok(Response::text("ok"))
    }
}
impl Plugin for Hoarder {
    fn slug(&self) -> &str {
        "hoarder"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn routes(&self) -> Vec<Route<Self>> {
        vec![Route::post("/keep", Self::keep)]
    }
}

#[test]
fn files_without_the_grant_are_refused_naming_the_capability() {
    let dir = tempdir();
    let make = || plugboard_plugin_api::builtin(Hoarder);
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: vec![granted(make, json!({ "routes": true }))],
            ..Options::default()
        },
    );
    let (s, v) = host.admin("POST", "/api/plugins/hoarder/keep", None);
    assert_eq!(s, 403, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing capability `files`"),
        "{v}"
    );
    host.stop();
}

#[test]
fn an_error_kind_the_host_does_not_know_is_read_as_a_failure() {
    let dir = tempdir();
    stage(dir.path(), &["gatekeeper"]);
    let host = Host::start(dir.path());
    assert_eq!(host.enable("gatekeeper").0, 200);
    let (s, v) = host.admin("GET", "/api/plugins/gatekeeper/unknown-kind", None);
    assert_eq!(s, 500, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("a kind from the future"),
        "{v}"
    );
    assert_eq!(host.state("gatekeeper"), "active", "an error, not a fault");
    host.stop();
}
