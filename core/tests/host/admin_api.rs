//! The admin API's authentication and error shape.

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
