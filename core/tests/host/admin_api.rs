//! The admin API's authentication, error shape and metrics history.

use crate::support::{request, tempdir, Host};

#[test]
fn admin_endpoints_require_the_bearer_token() {
    let dir = tempdir();
    let host = Host::start(dir.path());
    for path in [
        "/api/admin/plugins",
        "/api/admin/audit",
        "/api/admin/users",
        "/api/admin/hooks",
    ] {
        let (status, v) = request("GET", &host.url(path), None, None);
        assert_eq!(status, 401, "{path}: {v}");
        assert_eq!(v["error"]["code"], "unauthorized");
        let (status, _) = request("GET", &host.url(path), Some("wrong"), None);
        assert_eq!(status, 401, "{path}");
        assert_eq!(host.admin("GET", path, None).0, 200, "{path}");
    }
    let (status, _) = request(
        "POST",
        &host.url("/api/admin/plugins/activity/disable"),
        None,
        None,
    );
    assert_eq!(status, 401);
    assert_eq!(
        host.state("activity"),
        "active",
        "an unauthenticated request changes nothing"
    );
    assert_eq!(request("GET", &host.url("/healthz"), None, None).0, 200);
}

#[test]
fn errors_are_json_with_the_right_status() {
    let dir = tempdir();
    let host = Host::start(dir.path());
    let (status, v) = host.admin("GET", "/api/admin/plugins/nope", None);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    let (status, v) = host.admin("POST", "/api/admin/plugins/activity/enable", None);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("invalid_transition")),
        "{v}"
    );
    let (status, v) = host.admin(
        "POST",
        "/api/admin/users",
        Some(serde_json::json!({"username": 5})),
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("invalid")),
        "{v}"
    );
    let (status, v) = host.admin("GET", "/api/admin/nothing-here", None);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
}

#[test]
fn a_generated_admin_token_is_written_with_mode_0600() {
    let dir = tempdir();
    let (token, source) =
        plugboard_core::http::AdminToken::load_or_create(dir.path(), None).unwrap();
    assert_eq!(source, plugboard_core::http::auth::TokenSource::Generated);
    assert_eq!(token.value().len(), 48);
    let path = dir.path().join("admin-token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (again, source) =
        plugboard_core::http::AdminToken::load_or_create(dir.path(), None).unwrap();
    assert_eq!(
        (again.value(), source),
        (token.value(), plugboard_core::http::auth::TokenSource::File)
    );
    let (env, source) =
        plugboard_core::http::AdminToken::load_or_create(dir.path(), Some("from-env".into()))
            .unwrap();
    assert_eq!(
        (env.value(), source),
        (
            "from-env",
            plugboard_core::http::auth::TokenSource::Environment
        )
    );
}

/// The plugin detail carries what the plugin did per sampling interval
/// (calls, errors, p99); the list does not.
#[test]
fn the_plugin_detail_has_a_metrics_history_per_interval() {
    use plugboard_plugin_api::builtin;

    use crate::support::{event_probe::EventProbe, Options};
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            builtins: crate::support::probes(&[|| {
                builtin(EventProbe {
                    slug: "probe",
                    patterns: &["nothing.*"],
                    delay_ms: 0,
                    misbehave: None,
                })
            }]),
            ..Options::default()
        },
    );
    let history = || {
        let (s, v) = host.admin("GET", "/api/admin/plugins/probe", None);
        assert_eq!(s, 200, "{v}");
        v["metrics_history"].as_array().unwrap().clone()
    };
    host.services.history.sample();
    let start = history().len();
    for _ in 0..3 {
        assert_eq!(host.admin("GET", "/api/plugins/probe/seen", None).0, 200);
    }
    host.services.history.sample();
    for _ in 0..2 {
        assert_eq!(host.admin("GET", "/api/plugins/probe/seen", None).0, 200);
    }
    let (s, _) = host.admin(
        "POST",
        "/api/plugins/probe/emit",
        Some(serde_json::json!({"name": "elsewhere.x"})),
    );
    assert_eq!(s, 403, "an emit outside its namespace is an error");
    host.services.history.sample();
    let samples = history();
    let new = &samples[start..];
    assert!(new.len() >= 2, "{samples:?}");
    let total = |key: &str| new.iter().map(|s| s[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (total("calls"), total("errors"), total("panics")),
        (6, 1, 0),
        "{new:?}"
    );
    assert!(
        new.iter().any(|s| s["p99_us"].as_f64().unwrap() > 0.0),
        "{new:?}"
    );
    assert!(new.iter().all(|s| s["at"].is_string()), "{new:?}");
    let (_, list) = host.admin("GET", "/api/admin/plugins", None);
    let listed = list["plugins"].as_array().unwrap();
    assert!(listed.iter().all(|p| p.get("metrics_history").is_none()));
}
