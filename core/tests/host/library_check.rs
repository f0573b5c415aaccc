//! The install check opens a bundle's library in a child process (the
//! hidden `plugboard __inspect-library`): a constructor that crashes ends
//! the child, not the host; the host maps an installed library once; and
//! `catalog add` reads the plugin-api version from the library.

use std::{path::Path, process::Command};

use plugboard_core::{
    inspect::InspectError,
    marketplace::{author, catalog::CatalogEntry, install::InstallError, signing::sha256_hex},
};
use serde_json::Value;

use crate::{
    marketplace::{install, nothing_left, Shop},
    support::{inspector, staged, tempdir, Host},
};

/// Packs the staged fixture `slug` into `out`; returns the bundle's path.
fn pack(slug: &str, library: &str, out: &Path) -> std::path::PathBuf {
    let folder = staged().join(slug);
    author::pack(&folder, Some(&folder.join(library)), out)
        .unwrap()
        .path
}

#[test]
fn a_library_whose_constructor_crashes_fails_the_install_and_the_host_keeps_serving() {
    let shop = Shop::new();
    let bundle = pack("crash-new", "libfixture_crash_new.so", shop.dir.path());
    let bytes = std::fs::read(&bundle).unwrap();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(staged().join("crash-new/plugin.json")).unwrap(),
    )
    .unwrap();
    let entry = CatalogEntry {
        slug: "crash-new".parse().unwrap(),
        version: "0.1.0".into(),
        capabilities: serde_json::from_value(manifest["capabilities"].clone()).unwrap(),
        ..shop.offer("crash-new.tar.gz", &bytes)
    };
    assert_eq!(entry.sha256, sha256_hex(&bytes));
    let data = tempdir();
    let host = Host::start(data.path());
    let err = install(&host, &shop, &entry, &shop.trust()).unwrap_err();
    assert!(
        matches!(err, InstallError::Load(InspectError::Crashed { .. })),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("ended the checking process") && text.contains("crash-new: aborting"),
        "{text}"
    );
    nothing_left(&host, data.path(), "crash-new");
    // The host is alive and still installs good bundles.
    assert_eq!(host.admin("GET", "/healthz", None).0, 200);
    assert_eq!(
        install(&host, &shop, &shop.good, &shop.trust()).unwrap(),
        "active"
    );

    // `catalog add` refuses it with the same words.
    let err = author::catalog_add(
        &inspector(),
        &shop.dir.path().join("catalog.json"),
        &bundle,
        Default::default(),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("ended the checking process"),
        "{err:#}"
    );
}

/// Every mapping of a file under `data/.loaded` (where the host maps plugin
/// libraries from), by file.
#[cfg(target_os = "linux")]
fn libraries_mapped_from(data: &Path) -> std::collections::BTreeSet<String> {
    let loaded = data.canonicalize().unwrap().join(".loaded");
    let loaded = loaded.to_string_lossy();
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5).map(str::to_string))
        .filter(|path| path.starts_with(loaded.as_ref()))
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn an_installed_library_is_mapped_into_the_host_once() {
    let shop = Shop::new();
    let data = tempdir();
    let host = Host::start(data.path());
    assert!(libraries_mapped_from(data.path()).is_empty());
    assert_eq!(
        install(&host, &shop, &shop.good, &shop.trust()).unwrap(),
        "active"
    );
    // The check ran in a child process; the host maps the library once.
    // (Other tests in this process may have mapped the same bytes first:
    // then this install reused that image and mapped nothing from its own
    // data folder.)
    let mapped = libraries_mapped_from(data.path());
    assert!(mapped.len() <= 1, "{mapped:?}");
    assert!(
        mapped.iter().all(|m| m.contains("libguestbook.so")),
        "{mapped:?}"
    );
    assert_eq!(plugboard_core::loader::mapped_images("guestbook"), 1);
}

#[test]
fn catalog_add_requires_the_plugin_api_the_library_was_built_against() {
    let dir = tempdir();
    let catalog = dir.path().join("catalog.json");
    let legacy = pack("legacy", "libfixture_legacy.so", dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["catalog", "add", "--catalog"])
        .arg(&catalog)
        .arg(&legacy)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let guestbook = pack("guestbook", "libguestbook.so", dir.path());
    author::catalog_add(&inspector(), &catalog, &guestbook, Default::default()).unwrap();

    let written: Value = serde_json::from_str(&std::fs::read_to_string(&catalog).unwrap()).unwrap();
    let requires = |slug: &str| {
        written["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["slug"] == slug)
            .unwrap()["requires"]["plugin_api"]
            .clone()
    };
    assert_eq!(requires("legacy"), "^1.0.0", "{written}");
    assert_eq!(
        requires("guestbook"),
        format!("^{}", plugboard_plugin_api::abi::API_VERSION).as_str(),
        "{written}"
    );
}

#[test]
fn the_library_check_reports_what_the_code_declares_and_refuses_what_the_loader_refuses() {
    let report = inspector()
        .inspect(&staged().join("legacy/libfixture_legacy.so"))
        .unwrap();
    assert_eq!(
        (report.slug.as_str(), report.version.as_str()),
        ("legacy", "0.1.0")
    );
    assert_eq!(report.api_version, "1.0.0");
    assert!(report.declared.routes >= 1, "{report:?}");
    let err = inspector()
        .inspect(&staged().join("bad-abi/libfixture_bad_abi.so"))
        .unwrap_err();
    assert!(
        matches!(&err, InspectError::Refused(m) if m.contains("ABI mismatch")),
        "{err:?}"
    );
    let err = inspector()
        .inspect(&staged().join("guestbook/plugin.json"))
        .unwrap_err();
    assert!(matches!(&err, InspectError::Refused(_)), "{err:?}");
}
