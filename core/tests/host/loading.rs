//! Discovery and loading: every bad plugin gets a clear error naming it and
//! its cause, and the host and the other plugins keep running.

use serde_json::Value;

use crate::support::{copy_dir, stage, staged, tempdir, Host};

fn problem_for<'a>(problems: &'a [Value], needle: &str) -> &'a str {
    problems
        .iter()
        .filter_map(|p| p["error"].as_str())
        .find(|e| e.contains(needle))
        .unwrap_or_else(|| panic!("no problem mentions {needle:?}: {problems:#?}"))
}

#[test]
fn builtins_and_dynamic_plugins_are_discovered_with_kind_and_state() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    let host = Host::start(dir.path());
    let (status, v) = host.admin("GET", "/api/admin/plugins", None);
    assert_eq!(status, 200);
    let plugins = v["plugins"].as_array().unwrap();
    let find = |slug: &str| {
        plugins
            .iter()
            .find(|p| p["slug"] == slug)
            .unwrap_or_else(|| panic!("{slug} missing: {v}"))
    };
    assert_eq!(find("activity")["kind"], "builtin");
    assert_eq!(
        find("activity")["state"],
        "active",
        "built-ins start enabled"
    );
    assert_eq!(find("username-policy")["state"], "active");
    let gb = find("guestbook");
    assert_eq!(gb["kind"], "dynamic");
    assert_eq!(
        gb["state"], "installed",
        "dynamic plugins wait for an operator"
    );
    assert_eq!(gb["version"], "0.1.0");
    assert_eq!(gb["api_version"], plugboard_plugin_api::abi::API_VERSION);
    assert!(v["problems"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn each_bad_plugin_gets_a_clear_error_and_the_rest_keep_working() {
    let dir = tempdir();
    stage(
        dir.path(),
        &["guestbook", "not-a-plugin", "bad-abi", "abort-build"],
    );
    let plugins = dir.path().join("plugins");
    // A manifest whose library is missing.
    std::fs::create_dir_all(plugins.join("no-library")).unwrap();
    std::fs::write(
        plugins.join("no-library/plugin.json"),
        r#"{"slug":"no-library","version":"1.0.0","library":"nothing_here"}"#,
    )
    .unwrap();
    // A manifest that is not JSON.
    std::fs::create_dir_all(plugins.join("broken-json")).unwrap();
    std::fs::write(plugins.join("broken-json/plugin.json"), "{ slug: oops").unwrap();
    std::fs::create_dir_all(plugins.join("bad-capability")).unwrap();
    std::fs::write(
        plugins.join("bad-capability/plugin.json"),
        r#"{"slug":"bad-capability","version":"1.0.0","library":"x","capabilities":{"filesystem":true}}"#,
    )
    .unwrap();
    // A manifest with an invalid slug.
    std::fs::create_dir_all(plugins.join("bad-slug")).unwrap();
    std::fs::write(
        plugins.join("bad-slug/plugin.json"),
        r#"{"slug":"Bad Slug","version":"1.0.0","library":"x"}"#,
    )
    .unwrap();
    // Manifest and library disagree on the version.
    copy_dir(
        &staged().join("guestbook"),
        &plugins.join("zz-version-mismatch"),
    );
    let m = plugins.join("zz-version-mismatch/plugin.json");
    let text = std::fs::read_to_string(&m)
        .unwrap()
        .replace("0.1.0", "9.9.9")
        .replace("\"slug\": \"guestbook\"", "\"slug\": \"gb-wrong\"")
        .replace("plugin.guestbook.", "plugin.gb-wrong.");
    std::fs::write(&m, text).unwrap();
    // A second folder with the slug of an existing plugin.
    copy_dir(&staged().join("guestbook"), &plugins.join("zz-duplicate"));

    let host = Host::start(dir.path());
    let (_, v) = host.admin("GET", "/api/admin/plugins", None);
    let problems = v["problems"].as_array().unwrap().clone();

    let e = problem_for(&problems, "no-library");
    assert!(
        e.contains("libnothing_here") && e.contains("is missing"),
        "{e}"
    );
    let e = problem_for(&problems, "broken-json");
    assert!(e.contains("not a valid manifest"), "{e}");
    let e = problem_for(&problems, "bad-capability");
    assert!(
        e.contains("unknown field `filesystem`"),
        "unknown capabilities are refused: {e}"
    );
    let e = problem_for(&problems, "bad-slug");
    assert!(e.contains("slug \"Bad Slug\" is not valid"), "{e}");
    let e = problem_for(&problems, "not-a-plugin");
    assert!(e.contains("is not a Plugboard plugin"), "{e}");
    let e = problem_for(&problems, "\"bad-abi\"");
    assert!(e.contains("ABI mismatch: Error:"), "{e}");
    assert!(
        e.len() < 2000,
        "only the Error: lines, not the whole report: {e}"
    );
    let e = problem_for(&problems, "abort-build");
    assert!(e.contains("panic = \"abort\""), "{e}");
    let e = problem_for(&problems, "gb-wrong");
    assert!(
        e.contains("manifest says gb-wrong 9.9.9 but the library is guestbook 0.1.0"),
        "{e}"
    );
    let e = problem_for(&problems, "duplicate slug");
    assert!(
        e.starts_with("duplicate slug \"guestbook\": already provided by "),
        "{e}"
    );
    assert!(e.ends_with("/plugins/guestbook"), "{e}");

    // Plugins known by a readable manifest are recorded as errored, with the cause.
    assert_eq!(host.state("abort-build"), "errored");
    let (_, ab) = host.admin("GET", "/api/admin/plugins/abort-build", None);
    assert!(ab["last_error"]
        .as_str()
        .unwrap()
        .contains("panic = \"abort\""));
    // Enabling an unloadable plugin is refused with a clear answer.
    let (_, _) = host.admin("POST", "/api/admin/plugins/abort-build/reset", None);
    let (status, v) = host.enable("abort-build");
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "not_loaded");

    // The good plugin still loads and serves.
    assert_eq!(host.enable("guestbook").0, 200);
    let (status, _) = host.admin("GET", "/api/plugins/guestbook/entries", None);
    assert_eq!(status, 200);
}

#[test]
fn a_plugin_built_against_plugin_api_1_0_loads_into_the_current_host() {
    let dir = tempdir();
    stage(dir.path(), &["legacy"]);
    let host = Host::start(dir.path());
    let (status, v) = host.enable("legacy");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["api_version"], "1.0.0");
    let (_, first) = host.admin("GET", "/api/plugins/legacy/counter", None);
    let (_, second) = host.admin("GET", "/api/plugins/legacy/counter", None);
    assert_eq!(first, serde_json::json!({"counter": 1, "api": "1.0.0"}));
    assert_eq!(
        second["counter"], 2,
        "its KV calls reach the newer host's services"
    );
}

/// `--safe-mode`: no dynamic plugin is loaded or enabled, their recorded
/// states stay as they were, built-ins run; the next normal start brings
/// them back.
#[test]
fn safe_mode_starts_without_dynamic_plugins_and_changes_no_recorded_state() {
    let dir = tempdir();
    stage(dir.path(), &["guestbook", "faulty"]);
    let host = Host::start(dir.path());
    assert_eq!(host.enable("guestbook").0, 200);
    let (s, v) = host.public(
        "POST",
        "/api/plugins/guestbook/entries",
        Some(serde_json::json!({"author": "a", "message": "before"})),
    );
    assert_eq!(s, 201, "{v}");
    host.stop();

    let safe = Host::start_with(
        dir.path(),
        crate::support::Options {
            safe_mode: true,
            ..Default::default()
        },
    );
    let (_, health) = safe.public("GET", "/healthz", None);
    assert_eq!(health["safe_mode"], true, "{health}");
    assert_eq!(
        safe.public("GET", "/api/plugins/guestbook/entries", None).0,
        404,
        "not served in safe mode"
    );
    let (_, list) = safe.admin("GET", "/api/admin/plugins", None);
    assert_eq!(list["safe_mode"], true);
    let plugins = list["plugins"].as_array().unwrap();
    let find = |slug: &str| plugins.iter().find(|p| p["slug"] == slug).unwrap().clone();
    let guestbook = find("guestbook");
    assert_eq!(
        guestbook["state"], "active",
        "recorded state kept: {guestbook}"
    );
    assert_eq!(guestbook["loaded"], false, "{guestbook}");
    assert_eq!(find("faulty")["state"], "installed");
    assert_eq!(find("activity")["state"], "active", "built-ins run");
    safe.stop();

    let host = Host::start(dir.path());
    assert_eq!(host.state("guestbook"), "active");
    let (s, v) = host.public("GET", "/api/plugins/guestbook/entries", None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["entries"][0]["message"], "before");
}

#[test]
fn a_later_folder_with_the_same_slug_loads_when_the_earlier_one_cannot() {
    let dir = tempdir();
    // Folders load in name order: `a-notes` (notes 1.0.0 without its
    // library) comes first, `b-notes` (notes 2.0.0, whole) second.
    let broken = dir.path().join("plugins/a-notes");
    copy_dir(&staged().join("notes-v1"), &broken);
    for e in std::fs::read_dir(&broken).unwrap() {
        let path = e.unwrap().path();
        if path
            .extension()
            .is_some_and(|x| x == "so" || x == "dylib" || x == "dll")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    copy_dir(
        &staged().join("notes-v2"),
        &dir.path().join("plugins/b-notes"),
    );
    let host = Host::start(dir.path());
    let (status, v) = host.admin("GET", "/api/admin/plugins", None);
    assert_eq!(status, 200, "{v}");
    let problems = v["problems"].as_array().unwrap();
    assert!(
        problem_for(problems, "a-notes").contains("notes"),
        "{problems:?}"
    );
    assert!(
        !problems
            .iter()
            .any(|p| p["error"].as_str().unwrap_or("").contains("duplicate")),
        "the earlier folder never loaded, so the later one is no duplicate: {problems:?}"
    );
    let (status, v) = host.admin("GET", "/api/admin/plugins/notes", None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["version"], "2.0.0", "the record says what runs: {v}");
    assert!(
        v["source"].as_str().unwrap_or("").ends_with("b-notes"),
        "{v}"
    );
}

#[test]
fn a_record_this_host_cannot_read_does_not_stop_the_others_from_starting() {
    use sea_orm::ConnectionTrait;
    let dir = tempdir();
    stage(dir.path(), &["guestbook"]);
    {
        let host = Host::start(dir.path());
        assert_eq!(host.enable("guestbook").0, 200);
        host.stop();
    }
    // A plugin this host has no folder for, in a state a newer version wrote.
    let url = plugboard_core::db::sqlite_url(&dir.path().join("plugboard.db"));
    crate::support::block_on(async {
        let conn = sea_orm::Database::connect(url.as_str()).await.unwrap();
        conn.execute_unprepared(
            "INSERT INTO plugins (slug, version, kind, state, row_version, installed_at, updated_at) \
             SELECT 'from-the-future', '9.0.0', 'dynamic', 'hibernating', 0, installed_at, updated_at \
             FROM plugins WHERE slug = 'guestbook'",
        )
        .await
        .unwrap();
    });
    let host = Host::start(dir.path());
    assert_eq!(host.state("guestbook"), "active");
}

#[test]
fn copies_of_libraries_left_by_a_process_that_died_are_removed_at_start() {
    let dir = tempdir();
    stage(dir.path(), &["noop"]);
    let loaded = dir.path().join(".loaded");
    std::fs::create_dir_all(&loaded).unwrap();
    // No process can have this id (above Linux's pid_max).
    let dead = loaded.join("999999999-1-0-libleft_behind.so");
    std::fs::write(&dead, b"a copy nobody maps").unwrap();
    let unrelated = loaded.join("notes.txt");
    std::fs::write(&unrelated, b"not a copy").unwrap();
    // A link named like a copy, pointing outside: the link goes, never
    // what it points to.
    let outside = tempdir();
    let precious = outside.path().join("precious.db");
    std::fs::write(&precious, b"someone's data").unwrap();
    let link = loaded.join("999999998-1-0-libevil.so");
    std::os::unix::fs::symlink(&precious, &link).unwrap();
    let host = Host::start(dir.path());
    assert_eq!(host.enable("noop").0, 200);
    assert!(!dead.exists(), "the dead process's copy is gone");
    assert!(
        unrelated.exists(),
        "only copies named by a process id are touched"
    );
    assert!(link.symlink_metadata().is_err(), "the link is removed");
    assert_eq!(std::fs::read(&precious).unwrap(), b"someone's data");
}
