//! Sign-in, sessions, CSRF and the sign-in limiter; the UI registry and
//! plugin assets — over real HTTP on loopback.

use serde_json::{json, Value};
use sha2::{Digest, Sha384};

use crate::support::{stage, tempdir, Host};

/// A request with explicit headers: (status, headers, JSON body).
fn call(
    host: &Host,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Vec<(String, String)>, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(host.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = match body {
        Some(b) => agent.run(
            req.header("content-type", "application/json")
                .body(b.to_string())
                .unwrap(),
        ),
        None => agent.run(req.body(()).unwrap()),
    }
    .unwrap();
    let status = resp.status().as_u16();
    let hs = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    (
        status,
        hs,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn header<'a>(hs: &'a [(String, String)], name: &str) -> &'a str {
    hs.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn login(host: &Host, user: &str, password: &str) -> (u16, String, Value) {
    let (s, hs, v) = call(
        host,
        "POST",
        "/api/auth/login",
        &[],
        Some(json!({"username": user, "password": password})),
    );
    let cookie = header(&hs, "set-cookie").to_string();
    (s, cookie, v)
}

#[test]
fn sessions_need_the_csrf_token_roles_are_enforced_and_failed_sign_ins_are_slowed() {
    let dir = tempdir();
    let host = Host::start(dir.path());
    let (s, v) = host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": "root", "password": "root-pass-1", "role": "admin"})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": "root", "password": "another-pass"})),
    );
    assert_eq!((s, &v["error"]["code"]), (409, &json!("exists")));
    let (s, _) = host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": "short", "password": "1234"})),
    );
    assert_eq!(s, 422);

    // Three wrong passwords are free; then each attempt must wait.
    for _ in 0..3 {
        assert_eq!(login(&host, "root", "wrong-password").0, 401);
    }
    let (s, _, v) = login(&host, "root", "root-pass-1");
    assert_eq!(
        (s, &v["error"]["code"]),
        (429, &json!("too_many_attempts")),
        "{v}"
    );
    assert!(v["error"]["details"]["retry_after"].as_u64().unwrap() >= 1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (s, cookie, session) = login(&host, "root", "root-pass-1");
    assert_eq!(s, 200, "{session}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP here: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let csrf = session["csrf_token"].as_str().unwrap().to_string();

    let as_root = |method: &str, path: &str, extra: &[(&str, &str)]| {
        let mut h: Vec<(&str, &str)> = vec![("cookie", pair.as_str())];
        h.extend_from_slice(extra);
        let (s, _, v) = call(&host, method, path, &h, None);
        (s, v)
    };
    assert_eq!(as_root("GET", "/api/admin/plugins", &[]).0, 200);
    let disable = "/api/admin/plugins/activity/disable";
    for extra in [
        vec![],
        vec![("x-csrf-token", "0000")],
        vec![
            ("x-csrf-token", csrf.as_str()),
            ("origin", "http://evil.example"),
        ],
    ] {
        let (s, v) = as_root("POST", disable, &extra);
        assert_eq!(
            (s, &v["error"]["code"]),
            (403, &json!("csrf_failed")),
            "{extra:?}: {v}"
        );
    }
    assert_eq!(host.state("activity"), "active", "nothing changed");
    let (s, v) = as_root("POST", disable, &[("x-csrf-token", &csrf)]);
    assert_eq!(s, 200, "{v}");
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=activity&limit=1", None);
    assert_eq!(audit["entries"][0]["to"], "inactive");

    // Signed out: the cookie no longer works.
    let (s, hs, _) = call(
        &host,
        "POST",
        "/api/auth/logout",
        &[("cookie", &pair), ("x-csrf-token", &csrf)],
        None,
    );
    assert_eq!(s, 204);
    assert!(header(&hs, "set-cookie").contains("Max-Age=0"));
    assert_eq!(as_root("GET", "/api/admin/plugins", &[]).0, 401);

    // A user is not an admin.
    host.admin(
        "POST",
        "/api/admin/accounts",
        Some(json!({"username": "ursula", "password": "user-pass-1"})),
    );
    let (s, cookie, v) = login(&host, "ursula", "user-pass-1");
    assert_eq!((s, &v["role"]), (200, &json!("user")));
    let pair = cookie.split(';').next().unwrap().to_string();
    let (s, _, v) = call(
        &host,
        "GET",
        "/api/admin/plugins",
        &[("cookie", &pair)],
        None,
    );
    assert_eq!((s, &v["error"]["code"]), (403, &json!("forbidden")), "{v}");
    let (s, _, v) = call(&host, "GET", "/api/ui/manifest", &[("cookie", &pair)], None);
    assert_eq!((s, &v["viewer"]["role"]), (200, &json!("user")), "{v}");
    // The bearer token keeps working for scripts.
    assert_eq!(host.admin("GET", "/api/admin/plugins", None).0, 200);
}

#[test]
fn contributions_follow_the_plugin_and_assets_are_served_by_version_and_never_outside() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let host = Host::start(dir.path());
    let contributions = |host: &Host| {
        let (s, v) = host.admin("GET", "/api/ui/manifest", None);
        assert_eq!(s, 200, "{v}");
        v["contributions"].as_array().unwrap().clone()
    };
    assert!(contributions(&host).is_empty());
    assert_eq!(host.enable("guestbook").0, 200);
    let live = contributions(&host);
    let ids: Vec<&str> = live.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "guestbook:widget:latest",
            "guestbook:menu_item:book",
            "guestbook:page:book"
        ]
    );
    let widget = &live[0];
    assert_eq!(widget["slot"], "dashboard/widgets/v1");
    let url = widget["module"]["url"].as_str().unwrap();
    assert_eq!(url, "/plugins/guestbook/assets/0.1.0/widget.js");
    let (s, hs, _) = call(&host, "GET", url, &[], None);
    assert_eq!(s, 200);
    assert_eq!(
        header(&hs, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(header(&hs, "cache-control").contains("immutable"));
    let body = ureq::get(&host.url(url))
        .call()
        .unwrap()
        .into_body()
        .read_to_vec()
        .unwrap();
    let sri = format!(
        "sha384-{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            Sha384::digest(&body)
        )
    );
    assert_eq!(widget["module"]["integrity"], json!(sri));
    for bad in [
        "/plugins/guestbook/assets/9.9.9/widget.js",
        "/plugins/guestbook/assets/0.1.0/..%2Fplugin.json",
        "/plugins/guestbook/assets/0.1.0/%2E%2E/plugin.json",
        "/plugins/guestbook/assets/0.1.0/nothing.js",
        "/plugins/nobody/assets/0.1.0/widget.js",
    ] {
        assert_eq!(call(&host, "GET", bad, &[], None).0, 404, "{bad}");
    }
    assert_eq!(
        host.admin("POST", "/api/admin/plugins/guestbook/disable", None)
            .0,
        200
    );
    assert!(contributions(&host).is_empty());
}

#[test]
fn a_plugin_declaring_ui_without_the_capability_is_refused_at_enable() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let manifest = dir.path().join("plugins/guestbook/plugin.json");
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["capabilities"]["ui"] = json!(false);
    std::fs::write(&manifest, m.to_string()).unwrap();
    let host = Host::start(dir.path());
    let (s, v) = host.enable("guestbook");
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("`ui`"),
        "{v}"
    );
    assert_eq!(host.state("guestbook"), "errored");
}
