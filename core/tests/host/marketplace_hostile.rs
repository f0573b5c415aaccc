//! The marketplace under hostile input, tried from outside as an attacker
//! would: slugs that are paths, downloads that name local files, bundles
//! whose metadata is a memory bomb, and catalogs large enough to matter.

use std::path::{Path, PathBuf};

use plugboard_core::marketplace::{
    catalog::{current_platform, CatalogEntry},
    install::{InstallError, TrustPolicy},
    signing::sha256_hex,
};
use serde_json::{json, Value};

use crate::{
    marketplace::{nothing_left, Shop},
    support::{copy_dir, file_server, staged, tempdir, Host},
};

/// Installs `entry` as if listed in the catalog at `catalog` (on a thread
/// of its own, as the admin API would).
fn install_from(
    host: &Host,
    catalog: &Path,
    entry: &CatalogEntry,
    trust: &TrustPolicy,
) -> Result<String, InstallError> {
    let market = host.services.marketplace.clone();
    let (entry, catalog, trust) = (entry.clone(), catalog.display().to_string(), trust.clone());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                market
                    .install(&entry, &catalog, &trust, false, "test")
                    .await
            })
            .map(|i| i.plugin.state.as_str().to_string())
    })
    .join()
    .unwrap()
}

/// The names directly in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn wait_for_job(host: &Host, id: u64) -> Value {
    crate::marketplace::wait_for_job(host, id)
}

#[test]
fn hostile_slugs_in_a_catalog_are_refused_and_nothing_is_written_outside_the_data_dir() {
    let shop = Shop::new();
    let root = tempdir();
    let data = root.path().join("data");
    let host = Host::start(&data);
    let base = file_server::serve(shop.dir.path().to_path_buf());
    let (s, v) = host.admin(
        "POST",
        "/api/admin/trusted-keys",
        Some(json!({"public_key": shop.key.public_key, "name": "shop"})),
    );
    assert_eq!(s, 201, "{v}");
    for location in [format!("{base}/catalog.json"), shop.catalog()] {
        let (s, v) = host.admin(
            "POST",
            "/api/admin/catalog/sources",
            Some(json!({ "location": location })),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["entries"], 1, "{v}");
    }
    let good = serde_json::to_value(&shop.good).unwrap();
    let absolute = root.path().join("x").display().to_string();
    let hostile = [
        "../../x".to_string(),
        "../../../../../../tmp/plugboard-hostile-x".into(),
        absolute.clone(),
        "/tmp/plugboard-hostile-x".into(),
        "%2E%2E%2F%2E%2E%2Fx".into(),
        "..%2F..%2Fx".into(),
        "..".into(),
        "x/../../y".into(),
        "gu\u{0435}stbook".into(), // a Cyrillic е
        "guestbook\u{200b}".into(),
        String::new(),
        "a".repeat(41),
    ];
    for slug in &hostile {
        // The hostile entry next to the good one: the whole catalog is
        // refused, the last good copy stays.
        let mut bad = good.clone();
        bad["slug"] = json!(slug);
        bad["download_url"] = json!(format!("{slug}.tar.gz"));
        std::fs::write(
            shop.dir.path().join("catalog.json"),
            json!({ "entries": [good, bad] }).to_string(),
        )
        .unwrap();
        let (s, v) = host.admin("POST", "/api/admin/catalog/sync", None);
        assert_eq!(s, 200, "{v}");
        for source in v["sources"].as_array().unwrap() {
            let error = source["last_error"].as_str().unwrap_or_default();
            assert!(error.contains("is not valid"), "{slug:?}: {source}");
            assert_eq!(source["entries"], 1, "{slug:?}: {source}");
        }
        let (_, v) = host.admin("GET", "/api/admin/catalog", None);
        let slugs: Vec<&str> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["guestbook", "guestbook"], "{slug:?}");
        // Asking for it by name is refused before anything happens.
        let (s, v) = host.admin(
            "POST",
            "/api/admin/plugins/install",
            Some(json!({ "slug": slug, "enable": true })),
        );
        assert_eq!(s, 422, "{slug:?}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("is not valid"),
            "{v}"
        );
    }
    let (_, v) = host.admin("GET", "/api/admin/installs", None);
    assert_eq!(v["installs"], json!([]), "no job was started");
    assert_eq!(
        names_in(root.path()),
        ["data"],
        "nothing beside the data dir"
    );
    assert!(!Path::new("/tmp/plugboard-hostile-x").exists());
    assert!(!Path::new(&absolute).exists());
    let staging = data.join(".staging");
    assert!(!staging.exists() || names_in(&staging).is_empty());
    // The good entry still installs.
    std::fs::write(
        shop.dir.path().join("catalog.json"),
        json!({ "entries": [good] }).to_string(),
    )
    .unwrap();
    host.admin("POST", "/api/admin/catalog/sync", None);
    let (s, job) = host.admin(
        "POST",
        "/api/admin/plugins/install",
        Some(json!({"slug": "guestbook"})),
    );
    assert_eq!(s, 202, "{job}");
    let done = wait_for_job(&host, job["id"].as_u64().unwrap());
    assert_eq!(done["stage"], "done", "{done}");
}

/// Percent-encodes every `/` (and `.` when asked): what an attacker sends
/// to smuggle a path into one path segment.
fn encoded(path: &str, dots: bool) -> String {
    let mut out = path.replace('/', "%2F");
    if dots {
        out = out.replace('.', "%2E");
    }
    out
}

#[test]
fn admin_paths_with_an_encoded_slug_are_refused_and_nothing_is_loaded() {
    let root = tempdir();
    let data = root.path().join("data");
    // An unsigned plugin folder outside the data dir: what a rollback of
    // "../../evil" or "/…/evil" would have hot-loaded.
    let evil = root.path().join("evil");
    copy_dir(&staged().join("guestbook"), &evil);
    let host = Host::start(&data);
    let absolute = evil.display().to_string();
    let attempts = [
        encoded(&absolute, false),
        encoded(&absolute, true),
        encoded("../../evil", false),
        encoded("../../evil", true),
        encoded("../../../evil", false),
        "%252F..%252F..%252Fevil".to_string(),
        "%2E%2E".into(),
        "evil%00".into(),
        "EVIL".into(),
        "gu%D0%B5stbook".into(),
    ];
    for slug in &attempts {
        for (method, path) in [
            ("POST", format!("/api/admin/plugins/{slug}/rollback")),
            ("POST", format!("/api/admin/plugins/{slug}/enable")),
            ("POST", format!("/api/admin/plugins/{slug}/disable")),
            ("POST", format!("/api/admin/plugins/{slug}/reset")),
            ("DELETE", format!("/api/admin/plugins/{slug}?data=remove")),
            ("GET", format!("/api/admin/plugins/{slug}")),
            ("GET", format!("/api/admin/plugins/{slug}/config")),
            ("GET", format!("/api/admin/plugins/{slug}/jobs")),
        ] {
            let (s, v) = host.admin(method, &path, None);
            assert!(s == 400 || s == 404, "{method} {path}: {s} {v}");
            let message = v["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("is not valid"),
                "{method} {path}: refused by the slug check: {v}"
            );
        }
    }
    // A previous/ folder holding another plugin is not swapped in either.
    copy_dir(&staged().join("guestbook"), &data.join("previous/notes"));
    let (s, v) = host.admin("POST", "/api/admin/plugins/notes/rollback", None);
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"]["code"], "no_previous_version", "{v}");
    assert!(data.join("previous/notes/plugin.json").is_file());

    assert!(
        evil.join("plugin.json").is_file(),
        "the folder was not moved"
    );
    assert!(evil.join("libguestbook.so").is_file());
    let (_, v) = host.admin("GET", "/api/admin/plugins", None);
    let loaded: Vec<&str> = v["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert!(!loaded.contains(&"guestbook"), "{loaded:?}");
    let (s, _) = host.admin("GET", "/api/admin/plugins/guestbook", None);
    assert_eq!(s, 404);
    assert_eq!(names_in(root.path()), ["data", "evil"]);
}

#[test]
fn an_http_catalog_naming_a_file_download_is_refused_without_revealing_anything() {
    let shop = Shop::new();
    let root = tempdir();
    // A local file an attacker wants to learn about (here: a real bundle,
    // so the old pipeline would even have installed it from disk).
    let secret = root.path().join("secret.tar.gz");
    std::fs::copy(shop.dir.path().join(&shop.good.download_url), &secret).unwrap();
    let secret_sha = sha256_hex(&std::fs::read(&secret).unwrap());
    let web = root.path().join("web");
    std::fs::create_dir_all(&web).unwrap();
    let catalog_with = |download_url: String, sha256: &str| {
        let mut entry = serde_json::to_value(&shop.good).unwrap();
        entry["download_url"] = json!(download_url);
        entry["sha256"] = json!(sha256);
        std::fs::write(
            web.join("catalog.json"),
            json!({ "entries": [entry] }).to_string(),
        )
        .unwrap();
    };
    let guess = sha256_hex(b"a guess");
    let data = root.path().join("data");
    let host = Host::start(&data);
    host.admin(
        "POST",
        "/api/admin/trusted-keys",
        Some(json!({"public_key": shop.key.public_key})),
    );
    let base = file_server::serve(web.clone());
    let mut errors = Vec::new();
    for (url, sha) in [
        (format!("file://{}", secret.display()), guess.as_str()),
        (format!("file://{}", secret.display()), secret_sha.as_str()),
        (format!("FILE://{}", secret.display()), secret_sha.as_str()),
        (
            format!("file://{}", root.path().join("missing.tar.gz").display()),
            guess.as_str(),
        ),
        ("ftp://127.0.0.1/secret.tar.gz".to_string(), guess.as_str()),
    ] {
        catalog_with(url.clone(), sha);
        let (s, v) = host.admin(
            "POST",
            "/api/admin/catalog/sources",
            Some(json!({"location": format!("{base}/catalog.json")})),
        );
        assert!(s == 201, "{v}");
        host.admin("POST", "/api/admin/catalog/sync", None);
        let (s, job) = host.admin(
            "POST",
            "/api/admin/plugins/install",
            Some(json!({"slug": "guestbook", "enable": true})),
        );
        assert_eq!(s, 202, "{job}");
        let done = wait_for_job(&host, job["id"].as_u64().unwrap());
        assert_eq!(done["stage"], "failed", "{url}: {done}");
        assert_eq!(done["downloaded"], 0, "{url}: nothing was read: {done}");
        let error = done["error"].as_str().unwrap().to_string();
        assert!(
            error.contains("only name http(s) downloads"),
            "{url}: {error}"
        );
        assert!(!error.contains(&secret_sha), "{error}");
        assert!(!error.to_lowercase().contains("sha256"), "{error}");
        errors.push(error.replace(&url, "<url>"));
        nothing_left(&host, &data, "guestbook");
    }
    errors.dedup();
    assert_eq!(errors.len(), 1, "the same words every time: {errors:?}");
}

#[test]
fn a_file_catalog_naming_a_download_outside_its_folder_is_refused() {
    let shop = Shop::new();
    let root = tempdir();
    let folder = root.path().join("shop");
    std::fs::create_dir_all(&folder).unwrap();
    let catalog = folder.join("catalog.json");
    let bytes = std::fs::read(shop.dir.path().join(&shop.good.download_url)).unwrap();
    std::fs::write(root.path().join("outside.tar.gz"), &bytes).unwrap();
    std::fs::write(folder.join("inside.tar.gz"), &bytes).unwrap();
    std::os::unix::fs::symlink(
        root.path().join("outside.tar.gz"),
        folder.join("link.tar.gz"),
    )
    .unwrap();
    let outside = root.path().join("outside.tar.gz").display().to_string();
    let data = root.path().join("data");
    let host = Host::start(&data);
    for url in [
        "../outside.tar.gz".to_string(),
        "./../outside.tar.gz".into(),
        "sub/../../outside.tar.gz".into(),
        outside.clone(),
        format!("file://{outside}"),
        "link.tar.gz".into(),
        "../missing.tar.gz".into(),
    ] {
        let entry = CatalogEntry {
            download_url: url.clone(),
            ..shop.good.clone()
        };
        let err = install_from(&host, &catalog, &entry, &shop.trust()).expect_err(&url);
        assert!(
            matches!(err, InstallError::DownloadRefused(_)),
            "{url}: {err}"
        );
        assert!(
            err.to_string().contains("inside its folder"),
            "{url}: {err}"
        );
        nothing_left(&host, &data, "guestbook");
    }
    // The same bundle inside the folder installs.
    let entry = CatalogEntry {
        download_url: "inside.tar.gz".into(),
        ..shop.good.clone()
    };
    assert_eq!(
        install_from(&host, &catalog, &entry, &shop.trust()).unwrap(),
        "installed"
    );
}

/// Raw deflate of `data`, ended by `flush` (a full flush makes the piece
/// byte-aligned and independent of what came before, so pieces can be
/// repeated).
fn deflated(data: &[u8], flush: flate2::FlushCompress) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let mut out = Vec::with_capacity(64 << 10);
    loop {
        let read = c.total_in() as usize;
        c.compress_vec(&data[read..], &mut out, flush).unwrap();
        if c.total_in() as usize == data.len() && out.len() < out.capacity() {
            return out;
        }
        out.reserve(64 << 10);
    }
}

/// A `.tar.gz` of about 2 MiB whose first member is an extension header
/// of `kind` declaring (and holding) `mib` MiB: a GNU long name or PAX
/// header bomb. The gzip trailer's CRC is left zero: a reader that gets
/// that far has lost already.
fn metadata_bomb(kind: tar::EntryType, mib: u64) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
    header.set_entry_type(kind);
    header.set_size(mib << 20);
    header.set_mode(0o644);
    header.set_cksum();
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gz.extend(deflated(header.as_bytes(), flate2::FlushCompress::Full));
    let mib_of_a = deflated(&vec![b'a'; 1 << 20], flate2::FlushCompress::Full);
    for _ in 0..mib {
        gz.extend_from_slice(&mib_of_a);
    }
    gz.extend(deflated(&[], flate2::FlushCompress::Finish));
    gz.extend_from_slice(&[0; 8]);
    gz
}

/// Linux: the peak resident set since the last reset, and the current one.
fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn bundles_with_metadata_bombs_are_refused_at_their_header_with_bounded_memory() {
    let shop = Shop::new();
    let data = tempdir();
    let host = Host::start(data.path());
    for (kind, what) in [
        (tar::EntryType::GNULongName, "GNU long name"),
        (tar::EntryType::XHeader, "PAX"),
        (tar::EntryType::XGlobalHeader, "PAX global"),
    ] {
        let bomb = metadata_bomb(kind, 2300);
        assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
        let entry = shop.offer("bomb.tar.gz", &bomb);
        // The peak is reset, so it measures this install alone (plus
        // whatever other tests do meanwhile).
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let before = if reset {
            rss_kib("VmRSS:")
        } else {
            rss_kib("VmHWM:")
        };
        let err = install_from(&host, &PathBuf::from(shop.catalog()), &entry, &shop.trust())
            .expect_err(what);
        let growth_mib = rss_kib("VmHWM:").saturating_sub(before) / 1024;
        let expected = format!("a {what} header of {} bytes", 2300u64 << 20);
        assert!(
            matches!(err, InstallError::Bundle(_)) && err.to_string().contains(&expected),
            "{what}: {err}"
        );
        assert!(
            growth_mib < 200,
            "{what}: the refusal cost {growth_mib} MiB of memory"
        );
        nothing_left(&host, data.path(), "guestbook");
    }
}

/// An admin GET whose answer may be larger than the 10 MB `ureq` reads by
/// default (the whole listing of 20 000 entries is about 12 MB).
fn big_get(url: &str) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let mut res = agent
        .get(url)
        .header("authorization", format!("Bearer {}", crate::support::TOKEN))
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let text = res
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_catalog_of_20000_entries_browses_and_searches() {
    let dir = tempdir();
    let n = 20_000usize;
    let entries: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "slug": format!("p{i:05}"),
                "version": "1.0.0",
                "name": format!("Plugin {i}"),
                "description": "A generated entry.",
                "category": format!("cat-{}", i % 7),
                "tags": [format!("t{}", i % 10)],
                "download_url": format!("p{i:05}.tar.gz"),
                "sha256": "0".repeat(64),
                "platform": current_platform(),
            })
        })
        .collect();
    let catalog = dir.path().join("catalog.json");
    std::fs::write(&catalog, json!({ "entries": entries }).to_string()).unwrap();
    let data = tempdir();
    let host = Host::start(data.path());
    let (s, v) = host.admin(
        "POST",
        "/api/admin/catalog/sources",
        Some(json!({"location": catalog.display().to_string()})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["entries"], n, "{v}");
    let count = |query: &str| {
        let v = big_get(&host.url(&format!("/api/admin/catalog{query}")));
        v["entries"]
            .as_array()
            .unwrap_or_else(|| panic!("{query}: {v}"))
            .len()
    };
    assert_eq!(count(""), n);
    assert_eq!(count("?q=p01234"), 1);
    // "Plugin 1234" and "Plugin 12340" … "Plugin 12349".
    assert_eq!(count("?q=PLUGIN%201234"), 11);
    assert_eq!(
        count("?category=cat-3"),
        (0..n).filter(|i| i % 7 == 3).count()
    );
    assert_eq!(count("?tag=t5"), n / 10);
    assert_eq!(
        count("?tag=t5&category=cat-3&q=plugin"),
        (0..n).filter(|i| i % 7 == 3 && i % 10 == 5).count()
    );
    assert_eq!(count("?q=nothing-like-it"), 0);
    let (_, v) = host.admin("GET", "/api/admin/catalog?q=p19999", None);
    assert_eq!(v["entries"][0]["slug"], "p19999", "{v}");
    assert_eq!(v["entries"][0]["installed_version"], Value::Null);
}
