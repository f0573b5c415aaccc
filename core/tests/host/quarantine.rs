//! Crash quarantine: a plugin that takes the whole process down (an abort
//! in `on_enable`, a segfault in a route, an abort in its library's
//! constructor) kills the first host; the next start finds it in the
//! in-flight journal, sets it `Errored` with what it was doing, does not
//! enable it, and serves everything else. Each host is the real
//! `plugboard serve`, as a child process (so is the host of the trace test
//! at the end, whose log lines are read).

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use serde_json::Value;

use crate::support::{request, stage, tempdir, wait_until};

pub(crate) const TOKEN: &str = "quarantine-test-token";

/// `plugboard serve` on a free port with `extra` flags, logging at
/// `rust_log` to `stderr`; its standard output up to the first line that
/// starts with `until` (all of it, if it dies first). The rest is drained
/// so that it never blocks on a full pipe.
pub(crate) fn spawn_serve(
    data: &Path,
    extra: &[&str],
    rust_log: &str,
    stderr: Stdio,
    until: &str,
) -> (Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        .env("PLUGBOARD_ADMIN_TOKEN", TOKEN)
        .env("PLUGBOARD_ADMIN_PASSWORD", "quarantine-admin-pw")
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let Ok(line) = line else { break };
        let done = line.starts_with(until);
        printed.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    (child, printed)
}

/// What follows `prefix` on the first printed line that starts with it.
pub(crate) fn printed_after(printed: &[String], prefix: &str) -> Option<String> {
    printed
        .iter()
        .find_map(|l| l.strip_prefix(prefix).map(str::to_string))
}

pub(crate) const LISTENING: &str = "plugboard listening on ";

/// A `plugboard serve` on a free port, and its address once it listens
/// (`None` if it died before).
fn serve(data: &Path, extra: &[&str]) -> (Child, Option<String>) {
    let (child, printed) = spawn_serve(data, extra, "warn", Stdio::null(), LISTENING);
    (child, printed_after(&printed, LISTENING))
}

fn wait_for_exit(child: &mut Child) -> ExitStatus {
    let mut status = None;
    wait_until("the host to exit", Duration::from_secs(30), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn admin(base: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    request(method, &format!("{base}{path}"), Some(TOKEN), body)
}

fn plugin(base: &str, slug: &str) -> Value {
    let (s, v) = admin(base, "GET", &format!("/api/admin/plugins/{slug}"), None);
    assert_eq!(s, 200, "{v}");
    v
}

#[cfg(unix)]
fn killed_by(status: ExitStatus, signal: i32) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(signal)
}

/// `abort-enable` aborts in `on_enable`: the start that enables it dies
/// (SIGABRT); the next one quarantines it and serves.
#[test]
fn a_plugin_that_aborts_in_on_enable_is_quarantined_at_the_next_start() {
    let dir = tempdir();
    let data = dir.path();
    // First start: installed, not enabled; the admin enables it, and the
    // process dies in the middle of the request.
    stage(data, &["abort-enable", "faulty"]);
    let (mut first, addr) = serve(data, &[]);
    let base = addr.expect("the first host listens");
    enable(&base, "faulty");
    let url = format!("{base}/api/admin/plugins/abort-enable/enable");
    assert_eq!(
        status_or_none("POST", &url, Some(TOKEN)),
        0,
        "no answer: the host died"
    );
    let died = wait_for_exit(&mut first);
    #[cfg(unix)]
    assert!(killed_by(died, libc_sigabrt()), "{died:?}");

    // Second start: serves; the plugin is Errored with what it was doing.
    let (second, addr) = serve(data, &[]);
    let base = addr.expect("the second host listens");
    let p = plugin(&base, "abort-enable");
    assert_eq!(p["state"], "errored", "{p}");
    assert_eq!(
        p["last_error"], "the host process died while calling its on_enable",
        "{p}"
    );
    // The other plugin came back as it was.
    assert_eq!(plugin(&base, "faulty")["state"], "active");
    let (s, _) = request(
        "GET",
        &format!("{base}/api/plugins/faulty/ok"),
        Some(TOKEN),
        None,
    );
    assert_eq!(s, 200);
    let (_, audit) = admin(
        &base,
        "GET",
        "/api/admin/audit?plugin=abort-enable&limit=1",
        None,
    );
    assert_eq!(audit["entries"][0]["actor"], "crash-quarantine", "{audit}");
    stop(second);
}

/// `segfault-route` dies in `GET /segfault` (SIGSEGV): the next start
/// quarantines it with the route's name, and a third start (nothing in
/// flight any more) keeps it Errored until an admin resets it.
#[test]
fn a_plugin_that_segfaults_in_a_route_is_quarantined_at_the_next_start() {
    let dir = tempdir();
    let data = dir.path();
    stage(data, &["segfault-route"]);
    let (mut first, addr) = serve(data, &[]);
    let base = addr.expect("the first host listens");
    enable(&base, "segfault-route");
    assert_eq!(get_status(&base, "/api/plugins/segfault-route/ok"), 200);
    let url = format!("{base}/api/plugins/segfault-route/segfault");
    assert_eq!(
        status_or_none("GET", &url, None),
        0,
        "no answer: the host died"
    );
    let died = wait_for_exit(&mut first);
    #[cfg(unix)]
    assert!(killed_by(died, 11), "{died:?}");

    for _ in 0..2 {
        let (host, addr) = serve(data, &[]);
        let base = addr.expect("the host listens");
        let p = plugin(&base, "segfault-route");
        assert_eq!(p["state"], "errored", "{p}");
        assert_eq!(
            p["last_error"], "the host process died while calling its route GET /segfault",
            "{p}"
        );
        assert_eq!(
            get_status(&base, "/api/plugins/segfault-route/ok"),
            404,
            "not enabled"
        );
        stop(host);
    }

    // Reset and enable: it serves again (its library was loaded all along).
    let (host, addr) = serve(data, &[]);
    let base = addr.unwrap();
    assert_eq!(
        admin(
            &base,
            "POST",
            "/api/admin/plugins/segfault-route/reset",
            None
        )
        .0,
        200
    );
    enable(&base, "segfault-route");
    assert_eq!(get_status(&base, "/api/plugins/segfault-route/ok"), 200);
    stop(host);
}

/// `crash-new` aborts in its library's constructor, while the host loads
/// it at start: the first start dies before it serves; the next start does
/// not load that library again, and serves.
#[test]
fn a_library_whose_constructor_aborts_is_not_loaded_again() {
    let dir = tempdir();
    let data = dir.path();
    stage(data, &["crash-new", "faulty"]);
    let (mut first, addr) = serve(data, &[]);
    assert!(addr.is_none(), "the first host died before it listened");
    let died = wait_for_exit(&mut first);
    #[cfg(unix)]
    assert!(killed_by(died, libc_sigabrt()), "{died:?}");

    let (host, addr) = serve(data, &[]);
    let base = addr.expect("the second host listens");
    let p = plugin(&base, "crash-new");
    assert_eq!(p["state"], "errored", "{p}");
    assert_eq!(
        p["last_error"],
        "the host process died while calling its library's constructor (loading 0.1.0)",
        "{p}"
    );
    assert_eq!(plugin(&base, "faulty")["state"], "installed");
    stop(host);
}

/// Safe mode with a crashing plugin recorded Active: nothing dynamic is
/// loaded, so the host serves; the recorded state is left as it was.
#[test]
fn safe_mode_serves_past_a_plugin_recorded_active_that_crashes_at_start() {
    let dir = tempdir();
    let data = dir.path();
    stage(data, &["segfault-route"]);
    let (first, addr) = serve(data, &[]);
    let base = addr.unwrap();
    enable(&base, "segfault-route");
    stop(first);
    let (host, addr) = serve(data, &["--safe-mode"]);
    let base = addr.expect("the safe-mode host listens");
    let (s, health) = request("GET", &format!("{base}/healthz"), None, None);
    assert_eq!((s, &health["safe_mode"]), (200, &Value::Bool(true)));
    assert_eq!(
        plugin(&base, "segfault-route")["state"],
        "active",
        "recorded state kept"
    );
    assert_eq!(
        get_status(&base, "/api/plugins/segfault-route/ok"),
        404,
        "not loaded in safe mode"
    );
    stop(host);
}

/// A host stopped normally (SIGTERM) leaves no in-flight journal behind:
/// nothing at the next start looks like a crash.
#[cfg(unix)]
#[test]
fn a_normal_stop_leaves_no_journal() {
    let dir = tempdir();
    let data = dir.path();
    stage(data, &["faulty"]);
    let (mut host, addr) = serve(data, &[]);
    let base = addr.unwrap();
    enable(&base, "faulty");
    let journals = || {
        std::fs::read_dir(data)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".journal"))
            .count()
    };
    assert_eq!(journals(), 1, "the live host's journal");
    let term = Command::new("kill")
        .args(["-TERM", &host.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = wait_for_exit(&mut host);
    assert_eq!(status.code(), Some(0));
    assert_eq!(journals(), 0);
    let (again, addr) = serve(data, &[]);
    assert_eq!(plugin(&addr.unwrap(), "faulty")["state"], "active");
    stop(again);
}

/// `--metrics-bind`: `/metrics` on an address of its own, without a token
/// and with nothing else; the main address still asks for the token.
#[test]
fn metrics_on_their_own_address_need_no_token_and_serve_nothing_else() {
    let dir = tempdir();
    let metrics_line = "metrics (no token): ";
    let (child, printed) = spawn_serve(
        dir.path(),
        &["--metrics-bind", "127.0.0.1:0"],
        "warn",
        Stdio::null(),
        metrics_line,
    );
    let base = printed_after(&printed, LISTENING).unwrap();
    let metrics = printed_after(&printed, metrics_line).unwrap();
    let (s, text) = request("GET", &metrics, None, None);
    assert_eq!(s, 200);
    let Value::String(text) = text else {
        panic!("not text: {text}")
    };
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric == "plugboard_plugins_loaded"));
    let other = metrics.replace("/metrics", "/healthz");
    assert_eq!(request("GET", &other, None, None).0, 404);
    assert_eq!(get_status(&base, "/metrics"), 401);
    stop(child);
}

/// A plugin's own log line, written during a call, carries the plugin and
/// the request's id (the client's `X-Request-Id`), in the call's span.
#[test]
fn a_plugins_log_lines_carry_its_slug_and_the_request_id() {
    let dir = tempdir();
    let log = dir.path().join("server.log");
    let stderr = Stdio::from(std::fs::File::create(&log).unwrap());
    let (child, printed) = spawn_serve(&dir.path().join("data"), &[], "info", stderr, LISTENING);
    let base = printed_after(&printed, LISTENING).expect("the host listens");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .put(format!("{base}/api/plugins/username-policy/rules"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("x-request-id", "trace-test-7")
        .send_json(serde_json::json!({"min_length": 3, "reserved": ["root"]}))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let line = crate::support::eventually("the plugin's log line", Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .find(|l| l.contains("rules updated: 1 reserved names"))
            .map(str::to_string)
    });
    stop(child);
    // Without the terminal colours.
    let mut plain = String::new();
    let mut rest = line.as_str();
    while let Some(i) = rest.find('\x1b') {
        plain.push_str(&rest[..i]);
        rest = &rest[i..];
        rest = &rest[rest.find('m').map_or(rest.len(), |m| m + 1)..];
    }
    plain.push_str(rest);
    assert!(
        plain.contains(
            "plugin_call{plugin=username-policy call=its route PUT /rules request_id=trace-test-7}"
        ),
        "{plain}"
    );
}

#[cfg(unix)]
fn libc_sigabrt() -> i32 {
    6
}

/// A request whose connection may die with the server: its status, or 0
/// when no answer came.
fn status_or_none(method: &str, url: &str, token: Option<&str>) -> u16 {
    crate::support::try_request(method, url, token, None).map_or(0, |(s, _)| s)
}

/// Enables `slug` through the admin API.
fn enable(base: &str, slug: &str) {
    let (s, v) = admin(
        base,
        "POST",
        &format!("/api/admin/plugins/{slug}/enable"),
        None,
    );
    assert_eq!(s, 200, "{v}");
}

/// An anonymous GET's status.
fn get_status(base: &str, path: &str) -> u16 {
    request("GET", &format!("{base}{path}"), None, None).0
}
