//! The manifest format evolves as compatibly as the ABI: a manifest written
//! for an older host still works (capabilities inferred), and `library` may
//! be a relative path or a map from target to path, never guessed at.

use std::path::Path;

use serde_json::{json, Value};

use crate::support::{fresh_postgres_database, stage, tempdir, Host, Options};

fn start(data_dir: &Path, database_url: Option<String>) -> Host {
    Host::start_with(
        data_dir,
        Options {
            database_url,
            ..Options::default()
        },
    )
}

fn edit_manifest(folder: &Path, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let path = folder.join("plugin.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(manifest.as_object_mut().unwrap());
    std::fs::write(&path, manifest.to_string()).unwrap();
}

/// The `legacy` fixture (built against plugin-api 1.0) with the manifest of
/// the first release: no `capabilities`, which became mandatory later.
fn first_release_manifest_is_enabled_with_inferred_capabilities(database_url: Option<String>) {
    let dir = tempdir();
    stage(dir.path(), &["legacy", "guestbook"]);
    edit_manifest(&dir.path().join("plugins/legacy"), |m| {
        assert!(m.remove("capabilities").is_some());
    });
    let host = start(dir.path(), database_url.clone());
    let (status, v) = host.enable("legacy");
    assert_eq!(status, 200, "{v}");
    let (_, first) = host.admin("GET", "/api/plugins/legacy/counter", None);
    assert_eq!(
        first,
        json!({"counter": 1, "api": "1.0.0"}),
        "its route and its KV (in its own namespace) are granted"
    );
    let (status, detail) = host.admin("GET", "/api/admin/plugins/legacy", None);
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["capabilities_inferred"], true, "{detail}");
    assert_eq!(
        detail["capabilities"],
        json!({
            "kv": true, "sql": false, "routes": true, "cron": false, "ui": false,
            "events": {"emit": [], "subscribe": []}, "network": [], "files": false
        }),
        "what its code declares plus kv; never emit or network"
    );
    // A manifest with capabilities is read as written.
    assert_eq!(host.enable("guestbook").0, 200);
    let (_, gb) = host.admin("GET", "/api/admin/plugins/guestbook", None);
    assert_eq!(gb["capabilities_inferred"], false, "{gb}");
    assert_eq!(gb["capabilities"]["network"], json!([]));

    // After a restart it comes back enabled, with the same inference.
    host.stop();
    let host = start(dir.path(), database_url);
    assert_eq!(host.state("legacy"), "active");
    let (_, second) = host.admin("GET", "/api/plugins/legacy/counter", None);
    assert_eq!(second["counter"], 2);
    let (_, detail) = host.admin("GET", "/api/admin/plugins/legacy", None);
    assert_eq!(detail["capabilities_inferred"], true, "{detail}");
}

#[test]
fn a_first_release_manifest_without_capabilities_is_enabled_with_inferred_ones_sqlite() {
    first_release_manifest_is_enabled_with_inferred_capabilities(None);
}

#[test]
fn a_first_release_manifest_without_capabilities_is_enabled_with_inferred_ones_postgres() {
    first_release_manifest_is_enabled_with_inferred_capabilities(Some(fresh_postgres_database()));
}

#[test]
fn a_library_per_target_loads_this_platforms_build_and_never_a_guessed_one() {
    let here = format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH);
    let elsewhere = if here == "windows-x86_64" {
        "macos-aarch64"
    } else {
        "windows-x86_64"
    };
    let dir = tempdir();
    let plugins = dir.path().join("plugins");
    stage(dir.path(), &["guestbook"]);
    // One bundle, several platforms: this platform's build in a folder of
    // its own, the manifest mapping each target to its file.
    let gb = plugins.join("guestbook");
    let file = format!(
        "{}guestbook{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    std::fs::create_dir_all(gb.join("build").join(&here)).unwrap();
    std::fs::rename(gb.join(&file), gb.join("build").join(&here).join(&file)).unwrap();
    edit_manifest(&gb, |m| {
        m.insert(
            "library".into(),
            json!({
                &here: format!("build/{here}/{file}"),
                elsewhere: "build/elsewhere/guestbook.dll",
            }),
        );
    });
    // A map without this platform: refused, naming it and what is offered
    // (and not looked for under a guessed name).
    std::fs::create_dir_all(plugins.join("other-platforms")).unwrap();
    std::fs::write(
        plugins.join("other-platforms/plugin.json"),
        json!({
            "slug": "other-platforms", "version": "1.0.0", "capabilities": {},
            "library": {elsewhere: "lib/other.dll"}
        })
        .to_string(),
    )
    .unwrap();
    std::fs::copy(
        gb.join("build").join(&here).join(&file),
        plugins.join("other-platforms").join(&file),
    )
    .unwrap();
    // Something that is not a shared library.
    std::fs::create_dir_all(plugins.join("not-a-library")).unwrap();
    std::fs::write(
        plugins.join("not-a-library/plugin.json"),
        r#"{"slug": "not-a-library", "version": "1.0.0", "library": "bin/run.sh"}"#,
    )
    .unwrap();

    let host = Host::start(dir.path());
    let (status, v) = host.enable("guestbook");
    assert_eq!(status, 200, "{v}");
    let (status, v) = host.admin("GET", "/api/plugins/guestbook/entries", None);
    assert_eq!(status, 200, "{v}");

    let (_, v) = host.admin("GET", "/api/admin/plugins", None);
    let problems: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["error"].as_str())
        .collect();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    let other = problems
        .iter()
        .find(|e| e.contains("other-platforms"))
        .unwrap();
    assert!(
        other.contains(&format!(
            "library: no build for the running target {here} (the manifest offers {elsewhere})"
        )),
        "{other}"
    );
    assert_eq!(
        host.state("other-platforms"),
        "errored",
        "known by its manifest"
    );
    let not_lib = problems
        .iter()
        .find(|e| e.contains("not-a-library"))
        .unwrap();
    assert!(
        not_lib.contains(
            "library \"bin/run.sh\": a shared library (`.so`, `.dylib`, `.dll`) is required"
        ),
        "{not_lib}"
    );
}
