//! Uninstall with and without data, on SQLite and PostgreSQL: "keep" leaves
//! the tables, KV and migration records for a reinstall; "remove" drops the
//! plugin's tables and deletes its rows; built-ins cannot be uninstalled.

use serde_json::json;

use crate::support::{stage, tempdir, Host, Options};

fn tables(host: &Host, slug: &str) -> Vec<String> {
    host.runtime.db().plugin_tables(slug).unwrap()
}

fn start(dir: &std::path::Path, url: &Option<String>) -> Host {
    Host::start_with(
        dir,
        Options {
            database_url: url.clone(),
            ..Default::default()
        },
    )
}

fn entries(host: &Host) -> usize {
    let (status, v) = host.admin("GET", "/api/plugins/guestbook/entries", None);
    assert_eq!(status, 200, "{v}");
    v["entries"].as_array().unwrap().len()
}

per_database! {
    fn uninstall_keeps_or_removes_the_plugins_data(db, url) {
    let dir = tempdir();
    stage(dir.path(), &["guestbook", "legacy"]);
    let host = start(dir.path(), &url);
    for slug in ["guestbook", "legacy"] {
        assert_eq!(host.enable(slug).0, 200, "{db} {slug}");
    }
    let (status, v) = host.admin(
        "POST",
        "/api/plugins/guestbook/entries",
        Some(json!({"author": "ann", "message": "hello"})),
    );
    assert_eq!(status, 201, "{db}: {v}");
    assert_eq!(
        host.admin("GET", "/api/plugins/legacy/counter", None).0,
        200
    );
    assert_eq!(
        tables(&host, "guestbook"),
        ["plugin_guestbook__entries"],
        "{db}"
    );

    // Keep: the plugin and its files go, its data stays.
    let (status, v) = host.admin("DELETE", "/api/admin/plugins/guestbook?data=keep", None);
    assert_eq!(status, 200, "{db}: {v}");
    assert_eq!(v["data"], "keep");
    assert!(v["removed"].is_null());
    assert_eq!(
        host.admin("GET", "/api/admin/plugins/guestbook", None).0,
        404
    );
    assert_eq!(
        host.admin("GET", "/api/plugins/guestbook/entries", None).0,
        404
    );
    assert!(
        !dir.path().join("plugins/guestbook").exists(),
        "{db}: files removed"
    );
    assert_eq!(
        tables(&host, "guestbook"),
        ["plugin_guestbook__entries"],
        "{db}"
    );
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=guestbook", None);
    let last = &audit["entries"][0];
    assert_eq!(last["to"], "uninstalled", "{db}: {audit}");
    assert_eq!(last["error"], "data kept", "{db}");

    // Reinstall: the entries are still there.
    host.stop();
    stage(dir.path(), &["guestbook"]);
    let host = start(dir.path(), &url);
    assert_eq!(host.state("guestbook"), "installed", "{db}");
    assert_eq!(host.enable("guestbook").0, 200, "{db}");
    assert_eq!(entries(&host), 1, "{db}: kept data is back");

    // Remove: tables dropped, KV and migration records deleted. An
    // active plugin is disabled first.
    let (status, v) = host.admin("DELETE", "/api/admin/plugins/guestbook?data=remove", None);
    assert_eq!(status, 200, "{db}: {v}");
    assert_eq!(
        v["removed"]["tables"],
        json!(["plugin_guestbook__entries"]),
        "{db}"
    );
    assert!(tables(&host, "guestbook").is_empty(), "{db}");
    let (status, v) = host.admin("DELETE", "/api/admin/plugins/legacy?data=remove", None);
    assert_eq!(status, 200, "{db}: {v}");
    assert_eq!(v["removed"]["kv_entries"], 1, "{db}: {v}");

    // Reinstall: a fresh, empty table (the migration ran again).
    host.stop();
    stage(dir.path(), &["guestbook", "legacy"]);
    let host = start(dir.path(), &url);
    assert_eq!(host.enable("guestbook").0, 200, "{db}");
    assert_eq!(entries(&host), 0, "{db}: removed data stays removed");
    assert_eq!(host.enable("legacy").0, 200, "{db}");
    let (_, v) = host.admin("GET", "/api/plugins/legacy/counter", None);
    assert_eq!(v["counter"], 1, "{db}: the KV counter started over");
    host.stop();
    }
}

#[test]
fn built_ins_cannot_be_uninstalled_and_bad_requests_change_nothing() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let host = Host::start(dir.path());
    let (status, v) = host.admin("DELETE", "/api/admin/plugins/activity", None);
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "built_in");
    assert_eq!(host.state("activity"), "active");

    let (status, v) = host.admin(
        "DELETE",
        "/api/admin/plugins/guestbook?data=everything",
        None,
    );
    assert_eq!(status, 422, "{v}");
    assert_eq!(host.state("guestbook"), "installed");
    assert!(dir.path().join("plugins/guestbook/plugin.json").is_file());

    let (status, _) = host.admin("DELETE", "/api/admin/plugins/nope", None);
    assert_eq!(status, 404);
}
