//! Capabilities: what a manifest does not declare is refused, by name, at
//! the call (KV, SQL, emit, outbound network) or at enable (routes, jobs,
//! migrations, subscriptions); the admin API shows each plugin's.

use plugboard_plugin_api::builtin;
use serde_json::json;

use crate::support::{
    builtins::KvProbe, event_probe::EventProbe, fetcher::Fetcher, granted, jobs::Ticker,
    receiver::Receiver, sql_probe::SqlProbe, stage, tempdir, Host, Options,
};

#[test]
fn calls_outside_the_declared_set_are_refused_naming_the_capability() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: vec![
                // Routes but no KV.
                granted(|| builtin(KvProbe("no-kv")), json!({"routes": true})),
                // May emit one event name only.
                granted(
                    || {
                        builtin(EventProbe {
                            slug: "narrow",
                            patterns: &[],
                            delay_ms: 0,
                            misbehave: None,
                        })
                    },
                    json!({"routes": true, "sql": true,
                           "events": {"emit": ["plugin.narrow.allowed"]}}),
                ),
                // May reach 127.0.0.1 only.
                granted(
                    || builtin(Fetcher),
                    json!({"routes": true, "network": ["127.0.0.1"]}),
                ),
            ],
            ..Default::default()
        },
    );
    for slug in ["no-kv", "narrow", "fetcher"] {
        assert_eq!(host.state(slug), "active", "built-ins come up enabled");
    }

    let (status, v) = host.admin("PUT", "/api/plugins/no-kv/kv/a", Some(json!(1)));
    assert_eq!(status, 403, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("missing capability `kv`"),
        "the refusal names the capability: {message}"
    );

    let (status, v) = host.admin(
        "POST",
        "/api/plugins/narrow/emit",
        Some(json!({"name": "plugin.narrow.allowed"})),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = host.admin(
        "POST",
        "/api/plugins/narrow/emit",
        Some(json!({"name": "plugin.narrow.other"})),
    );
    assert_eq!(status, 403, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`events.emit` for \"plugin.narrow.other\""),
        "{v}"
    );

    let receiver = Receiver::start(&[]);
    let (status, v) = host.admin(
        "POST",
        "/api/plugins/fetcher/fetch",
        Some(json!({"url": receiver.url})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], 200);
    assert_eq!(v["body"], "received 0");
    let port = receiver.url.split(':').nth(2).unwrap();
    let (status, v) = host.admin(
        "POST",
        "/api/plugins/fetcher/fetch",
        Some(json!({"url": format!("http://localhost:{port}")})),
    );
    assert_eq!(status, 403, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`network` for host \"localhost\""),
        "{v}"
    );
    let (status, v) = host.admin(
        "POST",
        "/api/plugins/fetcher/fetch",
        Some(json!({"url": "file:///etc/passwd"})),
    );
    assert_eq!(status, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only http"),
        "{v}"
    );
    assert_eq!(receiver.received().len(), 1, "refused requests never left");
}

#[test]
fn code_that_declares_more_than_the_manifest_grants_is_refused_at_enable() {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: vec![
                granted(|| builtin(KvProbe("no-routes")), json!({"kv": true})),
                granted(|| builtin(Ticker), json!({"routes": true, "kv": true})),
                granted(|| builtin(SqlProbe("no-sql")), json!({"routes": true})),
                granted(
                    || {
                        builtin(EventProbe {
                            slug: "wide-ears",
                            patterns: &["user.*", "plugin.guestbook.*"],
                            delay_ms: 0,
                            misbehave: None,
                        })
                    },
                    json!({"routes": true, "sql": true,
                           "events": {"subscribe": ["plugin.guestbook.*"]}}),
                ),
            ],
            ..Default::default()
        },
    );
    for (slug, capability) in [
        ("no-routes", "`routes`"),
        ("ticker", "`cron`"),
        ("no-sql", "`sql`"),
        ("wide-ears", "`events.subscribe` for \"user.*\""),
    ] {
        // Built-ins are enabled at first start: each was refused then.
        assert_eq!(host.state(slug), "errored", "{slug}");
        // And again on an explicit enable after a reset.
        assert_eq!(
            host.admin("POST", &format!("/api/admin/plugins/{slug}/reset"), None)
                .0,
            200
        );
        let (status, v) = host.enable(slug);
        assert_eq!(status, 422, "{slug}: {v}");
        assert_eq!(v["error"]["code"], "plugin_failed", "{slug}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(capability),
            "{slug}: {v}"
        );
        assert_eq!(host.state(slug), "errored", "{slug}");
        let (_, p) = host.admin("GET", &format!("/api/admin/plugins/{slug}"), None);
        let error = p["last_error"].as_str().unwrap();
        assert!(
            error.starts_with("capabilities: ") && error.contains(capability),
            "{slug}: {error}"
        );
        assert!(
            p["routes"].as_array().unwrap().is_empty(),
            "{slug}: nothing went live"
        );
    }
    assert!(
        !host
            .runtime
            .events()
            .subscribers()
            .iter()
            .any(|s| s.plugin == "wide-ears"),
        "no subscription was made"
    );
}

#[test]
fn the_admin_api_shows_each_plugins_capabilities() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let host = Host::start(dir.path());
    let (status, v) = host.admin("GET", "/api/admin/plugins/guestbook", None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["name"], "Guestbook");
    assert_eq!(
        v["capabilities"],
        json!({"kv": false, "sql": true, "routes": true, "cron": true, "ui": true, "files": false,
               "events": {"emit": ["plugin.guestbook.*"], "subscribe": []}, "network": []})
    );
    let (_, v) = host.admin("GET", "/api/admin/plugins/webhooks", None);
    assert_eq!(v["capabilities"]["network"], json!(["*"]));
    assert_eq!(v["capabilities"]["events"]["subscribe"], json!(["*"]));
}
