//! The `plugboard` binary in pipelines: a reader that goes away early
//! (`plugboard … | head -1`) ends a command quietly with status 0; an error
//! is one `error: …` line with its causes, without a backtrace.

use std::{
    io::Read,
    path::Path,
    process::{Command, Output, Stdio},
};

use crate::support::{staged, tempdir};

fn plugboard() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugboard"));
    command
        .env("RUST_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env_remove("PLUGBOARD_ADMIN_PASSWORD")
        .env_remove("PLUGBOARD_ADMIN_TOKEN");
    command
}

/// Runs `args` with standard output a pipe whose read end is closed before
/// the command writes anything (`| head -c0`).
fn with_stdout_closed(args: &[&str]) -> Output {
    let mut child = plugboard()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

/// Runs `args`, reads one byte of its output and closes the pipe
/// (`| head -c1`).
fn with_stdout_closed_after_a_byte(args: &[&str]) -> Output {
    let mut child = plugboard()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).unwrap();
    drop(stdout);
    child.wait_with_output().unwrap()
}

fn assert_quiet(what: &str, out: &Output) {
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (Some(0), ""),
        "{what}: status and stderr"
    );
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every kind of subcommand: its output closed before it prints, or after
/// its first byte; each exits 0 with nothing on standard error.
#[test]
fn every_command_exits_quietly_when_its_output_is_closed_early() {
    let work = tempdir();
    let w = work.path();
    let gb = staged().join("guestbook");
    let library = gb.join("libguestbook.so");
    let key = w.join("publisher.json");
    let dist = w.join("dist");
    let catalog = dist.join("catalog.json");

    assert_quiet("--help", &with_stdout_closed(&["--help"]));
    assert_quiet("--version", &with_stdout_closed(&["--version"]));
    for what in ["manifest", "catalog", "ui-manifest", "ui-declaration"] {
        assert_quiet(what, &with_stdout_closed(&["schema", what]));
        assert_quiet(what, &with_stdout_closed_after_a_byte(&["schema", what]));
    }
    let out = with_stdout_closed(&["keys", "new", "--out", s(&key)]);
    assert_quiet("keys new", &out);
    assert!(
        key.is_file(),
        "the key is written before anything is printed"
    );
    let pack = [
        "plugin",
        "pack",
        s(&gb),
        "--library",
        s(&library),
        "--out",
        s(&dist),
    ];
    assert_quiet("plugin pack", &with_stdout_closed(&pack));
    // As scripts/publish-examples used it: `| head -1`.
    assert_quiet("plugin pack", &with_stdout_closed_after_a_byte(&pack));
    let bundle = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .expect("the bundle was written");
    let sign = ["plugin", "sign", "--key", s(&key), s(&bundle)];
    assert_quiet("plugin sign", &with_stdout_closed(&sign));
    let add = ["catalog", "add", "--catalog", s(&catalog), s(&bundle)];
    assert_quiet("catalog add", &with_stdout_closed(&add));
    assert!(std::fs::read_to_string(&catalog)
        .unwrap()
        .contains("guestbook"));

    let public = std::fs::read_to_string(&key).unwrap();
    let public: serde_json::Value = serde_json::from_str(&public).unwrap();
    let data = w.join("data");
    let install = [
        "plugin",
        "install",
        "--data-dir",
        s(&data),
        "--catalog",
        s(&catalog),
        "--trusted-key",
        public["public_key"].as_str().unwrap(),
        "guestbook",
    ];
    assert_quiet("plugin install", &with_stdout_closed(&install));
    assert!(
        data.join("plugins/guestbook/plugin.json").is_file(),
        "the install finished before its report was printed"
    );

    // `serve` prints its address first; with nobody reading, it shuts the
    // runtime down and exits rather than serving unseen.
    let serve = ["serve", "--data-dir", s(&data), "--bind", "127.0.0.1:0"];
    assert_quiet("serve", &with_stdout_closed(&serve));
}

/// A failing command prints one line, `error: ` and the causes, and no
/// backtrace; its status is 1. Also when its output is closed.
#[test]
fn an_error_is_one_line_without_a_backtrace() {
    let work = tempdir();
    let key = work.path().join("key.json");
    std::fs::write(&key, "{}").unwrap();
    let missing = work.path().join("missing.json");
    let cases: [(&[&str], &str); 2] = [
        (
            &["keys", "new", "--out", s(&key)],
            "exists; not overwriting",
        ),
        (
            &["plugin", "sign", "--key", s(&missing), s(&key)],
            "No such file",
        ),
    ];
    for (args, cause) in cases {
        for out in [
            plugboard().args(args).output().unwrap(),
            with_stdout_closed(args),
        ] {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
            assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
            assert!(stderr.contains(cause), "{args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "{}", "key kept");
}

/// Output that cannot be written for another reason (a full disk) is an
/// error, not a silent success.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_behind_the_output_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = plugboard()
        .args(["schema", "manifest"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: writing to standard output: No space left on device (os error 28)"
    );
}

/// `plugboard plugin check`: a manifest that omits a capability the code
/// uses or lists a route the code does not serve, a UI module missing from
/// `assets/` and `panic = "abort"` are each found (all of them, with `--json` for tools, exit code 1), and `plugin
/// pack` refuses what fails the check; the guestbook passes, folder and
/// bundle alike.
#[test]
fn plugin_check_lists_every_problem_and_pack_refuses_a_failing_plugin() {
    let dir = tempdir();
    let good = dir.path().join("good");
    crate::support::copy_dir(&staged().join("guestbook"), &good);
    let out = plugboard()
        .args(["plugin", "check", s(&good)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("guestbook 0.1.0: no problem found"));
    let dist = dir.path().join("dist");
    let lib = good.join("libguestbook.so");
    let packed = plugboard()
        .args([
            "plugin",
            "pack",
            s(&good),
            "--library",
            s(&lib),
            "--out",
            s(&dist),
        ])
        .output()
        .unwrap();
    assert!(
        packed.status.success(),
        "{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    let bundle = std::fs::read_dir(&dist)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = plugboard()
        .args(["plugin", "check", s(&bundle)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bundle: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Once published, the same version is flagged: servers would not offer it.
    let catalog = dir.path().join("catalog.json");
    let added = plugboard()
        .args(["catalog", "add", "--catalog", s(&catalog), s(&bundle)])
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    for target in [&good, &bundle] {
        let out = plugboard()
            .args(["plugin", "check", s(target), "--catalog", s(&catalog)])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains("version_not_newer: version 0.1.0 is not newer than 0.1.0"),
            "{said}"
        );
    }

    // The same plugin with three mistakes.
    let bad = dir.path().join("bad");
    crate::support::copy_dir(&staged().join("guestbook"), &bad);
    let path = bad.join("plugin.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest["capabilities"]["cron"] = false.into();
    manifest["filters"] = serde_json::json!({"user.before_create": {"on_failure": "skip"}});
    manifest["routes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"method": "GET", "path": "/nowhere", "access": "public"}));
    std::fs::write(&path, manifest.to_string()).unwrap();
    std::fs::remove_file(bad.join("assets/widget.js")).unwrap();
    std::fs::write(
        bad.join("Cargo.toml"),
        "[package]\nname = \"guestbook\"\n\n[profile.release]\npanic = \"abort\"\n",
    )
    .unwrap();
    let out = plugboard()
        .args([
            "plugin",
            "check",
            s(&bad),
            "--library",
            s(&bad.join("libguestbook.so")),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "ui_module_missing",
            "panic_abort",
            "capability_missing",
            "filter_unknown",
            "route_unknown"
        ],
        "{report}"
    );
    let cron = &report["problems"][2]["message"];
    assert!(cron.as_str().unwrap().contains("`cron`"), "{report}");
    let refused_dist = dir.path().join("refused");
    let out = plugboard()
        .args([
            "plugin",
            "pack",
            s(&bad),
            "--library",
            s(&bad.join("libguestbook.so")),
            "--out",
            s(&refused_dist),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not packed") && err.contains("capability_missing"),
        "{err}"
    );
    assert!(!refused_dist.exists(), "nothing written");
}
