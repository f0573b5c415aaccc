//! Plugin routes go live and vanish without a restart; KV is per plugin.

use plugboard_plugin_api::builtin;
use serde_json::json;

use crate::support::{builtins::KvProbe, stage, tempdir, Host, Options};

#[test]
fn routes_appear_on_enable_and_vanish_on_disable() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let host = Host::start(dir.path());
    let (status, v) = host.admin("GET", "/api/plugins/guestbook/entries", None);
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "not_found", "a JSON error: {v}");

    let (status, v) = host.enable("guestbook");
    assert_eq!(status, 200);
    let routes: Vec<String> = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        routes.contains(&"GET /api/plugins/guestbook/entries/{id}".to_string()),
        "{routes:?}"
    );

    let (status, created) = host.admin(
        "POST",
        "/api/plugins/guestbook/entries",
        Some(json!({"author": "bo", "message": "hello"})),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_u64().unwrap();
    let (status, got) = host.admin("GET", &format!("/api/plugins/guestbook/entries/{id}"), None);
    assert_eq!((status, got["message"].as_str()), (200, Some("hello")));
    // Path parameters, plugin-chosen statuses, and bad input.
    assert_eq!(
        host.admin("GET", "/api/plugins/guestbook/entries/999", None)
            .0,
        404
    );
    assert_eq!(
        host.admin("GET", "/api/plugins/guestbook/entries/abc", None)
            .0,
        422
    );
    let (status, v) = host.admin(
        "POST",
        "/api/plugins/guestbook/entries",
        Some(json!({"nope": 1})),
    );
    assert_eq!(status, 422, "{v}");
    assert_eq!(
        host.admin("PATCH", "/api/plugins/guestbook/entries", None)
            .0,
        405
    );
    assert_eq!(
        host.admin(
            "DELETE",
            &format!("/api/plugins/guestbook/entries/{id}"),
            None
        )
        .0,
        204
    );

    assert_eq!(
        host.admin("POST", "/api/admin/plugins/guestbook/disable", None)
            .0,
        200
    );
    let (status, v) = host.admin("GET", "/api/plugins/guestbook/entries", None);
    assert_eq!(status, 404, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no active plugin \"guestbook\""));
    assert_eq!(host.admin("GET", "/api/plugins/unknown/x", None).0, 404);
}

per_database! {
    fn kv_is_namespaced_per_plugin_and_supports_prefixes_and_clear(db, url) {
    eprintln!("database: {db}");
    kv_namespaced(url);
    }
}

fn kv_namespaced(database_url: Option<String>) {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[
                || builtin(KvProbe("kv-a")),
                || builtin(KvProbe("kv-b")),
            ]),
            database_url,
            ..Options::default()
        },
    );
    let put = |plugin: &str, key: &str, value: serde_json::Value| {
        let (s, v) = host.admin(
            "PUT",
            &format!("/api/plugins/{plugin}/kv/{key}"),
            Some(value),
        );
        assert_eq!(s, 204, "{v}");
    };
    put("kv-a", "count", json!(1));
    put("kv-b", "count", json!({"other": true}));
    put("kv-a", "user_1", json!("x"));
    put("kv-a", "userX1", json!("y"));
    put("kv-a", "user%2", json!("z"));

    assert_eq!(
        host.admin("GET", "/api/plugins/kv-a/kv/count", None),
        (200, json!(1))
    );
    assert_eq!(
        host.admin("GET", "/api/plugins/kv-b/kv/count", None),
        (200, json!({"other": true}))
    );
    // `_` and `%` in a prefix are literal characters, not wildcards.
    let (_, keys) = host.admin("GET", "/api/plugins/kv-a/keys?prefix=user_", None);
    assert_eq!(keys, json!(["user_1"]));
    let (_, keys) = host.admin("GET", "/api/plugins/kv-a/keys?prefix=user%25", None);
    assert_eq!(keys, json!(["user%2"]));
    let (_, keys) = host.admin("GET", "/api/plugins/kv-b/keys", None);
    assert_eq!(keys, json!(["count"]), "kv-b sees only its own keys");

    let (_, v) = host.admin("DELETE", "/api/plugins/kv-a/kv/count", None);
    assert_eq!(v, json!({"existed": true}));
    let (_, v) = host.admin("DELETE", "/api/plugins/kv-a/kv/count", None);
    assert_eq!(v, json!({"existed": false}));
    let (_, v) = host.admin("POST", "/api/plugins/kv-a/clear", None);
    assert_eq!(v, json!({"cleared": 3}));
    assert_eq!(
        host.admin("GET", "/api/plugins/kv-b/kv/count", None).0,
        200,
        "clear is per plugin"
    );
}

/// Captures every log line of this test process (installed once).
fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    use std::sync::{Mutex, OnceLock};
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        struct Sink(&'static Mutex<Vec<u8>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || Sink(buffer))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
}

#[test]
fn plugin_log_lines_are_tagged_with_the_plugin() {
    let logs = captured_logs();
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let host = Host::start(dir.path());
    assert_eq!(host.enable("guestbook").0, 200);
    let (status, _) = host.admin(
        "POST",
        "/api/plugins/guestbook/entries",
        Some(json!({"author": "logan", "message": "log me"})),
    );
    assert_eq!(status, 201);
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains("by logan"))
        .unwrap_or_else(|| panic!("no log line from guestbook in:\n{text}"));
    assert!(
        line.contains("INFO") && line.contains("plugin=\"guestbook\""),
        "{line}"
    );
}
