//! Plugin configuration: schema validation listing every violation, nothing
//! saved on failure, defaults, masked passwords, on_config_changed.

use plugboard_plugin_api::builtin;
use serde_json::json;

use crate::support::{builtins::KvProbe, configurable::Configurable, tempdir, Host, Options};

fn host() -> (tempfile::TempDir, Host) {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[
                || builtin(Configurable),
                || builtin(KvProbe("no-config")),
            ]),
            ..Options::default()
        },
    );
    (dir, host)
}

#[test]
fn invalid_configs_list_every_violation_and_change_nothing() {
    let (_dir, host) = host();
    let (s, v) = host.admin("GET", "/api/admin/plugins/configurable/config", None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["config"],
        json!({"retries": 3, "mode": "safe"}),
        "defaults shown"
    );
    assert_eq!(v["schema"]["properties"]["api_key"]["format"], "password");

    let (s, v) = host.admin(
        "PUT",
        "/api/admin/plugins/configurable/config",
        Some(json!({"retries": 42, "mode": "turbo", "targets": [{"url": "ftp://nope"}], "colour": "red"})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "invalid_config");
    let paths: Vec<&str> = v["error"]["details"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .collect();
    for p in ["/retries", "/mode", "/targets/0/url", ""] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
    let (_, v) = host.admin("GET", "/api/admin/plugins/configurable/config", None);
    assert_eq!(
        v["config"],
        json!({"retries": 3, "mode": "safe"}),
        "nothing saved"
    );
    let (_, seen) = host.admin("GET", "/api/plugins/configurable/config", None);
    assert_eq!(seen["applied"], json!(null), "on_config_changed not called");
}

#[test]
fn a_valid_config_is_saved_with_defaults_and_passwords_never_come_back() {
    let (_dir, host) = host();
    let (s, v) = host.admin(
        "PUT",
        "/api/admin/plugins/configurable/config",
        Some(json!({"api_key": "sk-live-123", "targets": [{"url": "https://hooks.example/x", "events": ["user.*"]}]})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["config"]["api_key"], "********");
    assert_eq!(v["config"]["retries"], 3);
    assert!(!v.to_string().contains("sk-live-123"));
    let (_, v) = host.admin("GET", "/api/admin/plugins/configurable/config", None);
    assert!(!v.to_string().contains("sk-live-123"), "{v}");
    // The plugin itself reads the real value, and was told about the change.
    let (_, seen) = host.admin("GET", "/api/plugins/configurable/config", None);
    assert_eq!(seen["config"]["api_key"], "sk-live-123");
    assert_eq!(seen["applied"]["mode"], "safe");
    // Sending the mask back keeps the stored secret.
    let mut edited = v["config"].clone();
    edited["retries"] = json!(5);
    let (s, _) = host.admin(
        "PUT",
        "/api/admin/plugins/configurable/config",
        Some(edited),
    );
    assert_eq!(s, 200);
    let (_, seen) = host.admin("GET", "/api/plugins/configurable/config", None);
    assert_eq!(
        (
            seen["config"]["api_key"].as_str(),
            seen["config"]["retries"].as_i64()
        ),
        (Some("sk-live-123"), Some(5))
    );
}

#[test]
fn a_plugin_without_a_schema_takes_no_config() {
    let (_dir, host) = host();
    let (s, v) = host.admin(
        "PUT",
        "/api/admin/plugins/no-config/config",
        Some(json!({"a": 1})),
    );
    assert_eq!(s, 422, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("declares no configuration"));
    assert_eq!(
        host.admin("GET", "/api/admin/plugins/missing/config", None)
            .0,
        404
    );
}
