//! Sign-in, sessions, CSRF and the sign-in limiter; the UI registry and
//! plugin assets — over real HTTP on loopback.

use serde_json::{json, Value};
use sha2::{Digest, Sha384};

use crate::support::{send as call, stage, tempdir, Host};

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
        // (as an admin: the username-policy filter keeps "root" for admins)
        Some(json!({"username": "root", "password": "another-pass", "role": "admin"})),
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
    // By slot, then order, then id.
    assert_eq!(
        ids,
        [
            "guestbook:admin_widget:moderation",
            "guestbook:admin_page:moderation",
            "guestbook:widget:latest",
            "guestbook:menu_item:book",
            "guestbook:menu_item:moderation",
            "guestbook:page:book"
        ]
    );
    assert_eq!(live[1]["route"], "/admin/plugins/guestbook");
    assert_eq!(live[1]["role"], "admin");
    let widget = &live[2];
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
    // HEAD answers the same headers without the body.
    let head = ureq::head(&host.url(url)).call().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-type"].to_str().unwrap(),
        "text/javascript; charset=utf-8"
    );
    assert!(head.into_body().read_to_vec().unwrap().is_empty());
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

/// Starts the real binary on `dir` (admin token `t`); its URL and the
/// one-time password it printed, if any.
/// `plugboard serve` in a child process on `dir` with the admin token `t`:
/// the child, its URL, and the one-time password it printed (if any).
pub(crate) fn serve(dir: &std::path::Path) -> (std::process::Child, String, Option<String>) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args([
            "serve",
            "--data-dir",
            dir.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
        ])
        .env_remove("PLUGBOARD_ADMIN_PASSWORD")
        .env("PLUGBOARD_ADMIN_TOKEN", "t")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = None;
    let mut password = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("plugboard listening on ") {
            url = Some(u.to_string());
        }
        if let Some(rest) = line.split("one-time password ").nth(1) {
            password = Some(rest.split_whitespace().next().unwrap().to_string());
        }
        if line.starts_with("admin token") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    (child, url.unwrap(), password)
}

/// The first `plugboard serve` creates `admin` with a one-time password it
/// prints; that password only allows choosing a new one.
#[test]
fn the_first_start_prints_a_one_time_admin_password_that_must_be_changed() {
    let dir = tempdir();
    let (mut child, url, password) = serve(dir.path());
    let password = password.expect("a one-time password is printed");
    let post = |path: &str, headers: &[(&str, &str)], body: Value| {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{url}{path}"))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = agent.run(req.body(body.to_string()).unwrap()).unwrap();
        let status = resp.status().as_u16();
        let cookie = resp
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
        let text = resp.into_body().read_to_string().unwrap_or_default();
        (
            status,
            cookie,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    };
    let (s, cookie, session) = post(
        "/api/auth/login",
        &[],
        json!({"username": "admin", "password": password}),
    );
    assert_eq!(
        (s, &session["must_change_password"]),
        (200, &json!(true)),
        "{session}"
    );
    let (cookie, csrf) = (
        cookie.unwrap(),
        session["csrf_token"].as_str().unwrap().to_string(),
    );
    let h = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let (s, _, v) = post("/api/admin/plugins/activity/disable", &h, json!(null));
    assert_eq!(
        (s, &v["error"]["code"]),
        (403, &json!("password_change_required")),
        "{v}"
    );
    let (s, _, v) = post(
        "/api/auth/password",
        &h,
        json!({"current_password": "wrong", "new_password": "my-own-password"}),
    );
    assert_eq!(s, 401, "{v}");
    let (s, _, v) = post(
        "/api/auth/password",
        &h,
        json!({"current_password": password, "new_password": "my-own-password"}),
    );
    assert_eq!(s, 204, "{v}");
    let (s, _, v) = post("/api/admin/plugins/activity/disable", &h, json!(null));
    assert_eq!(s, 200, "{v}");
    child.kill().unwrap();
    child.wait().unwrap();

    // The next start prints no password; the chosen one works.
    let (mut child, url2, again) = serve(dir.path());
    assert!(again.is_none());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let s = agent
        .post(format!("{url2}/api/auth/login"))
        .send_json(json!({"username": "admin", "password": "my-own-password"}))
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(s, 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Ctrl-C (SIGINT) or SIGTERM while a browser tab holds the live stream
/// open: the server ends the stream itself (a complete chunked response,
/// not a cut connection) and exits cleanly.
#[cfg(unix)]
#[test]
fn stopping_the_server_ends_open_live_streams() {
    for signal in ["-INT", "-TERM"] {
        stop_with_an_open_stream(signal);
    }
}

#[cfg(unix)]
fn stop_with_an_open_stream(signal: &str) {
    use std::io::{Read, Write};
    let dir = tempdir();
    let (mut child, url, _) = serve(dir.path());
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "GET /api/admin/stream HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer t\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");
    let kill = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert!(
        rest.ends_with(b"0\r\n\r\n"),
        "{signal}: the stream was cut, not ended: {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert!(child.wait().unwrap().success(), "{signal}: exit status");
}
