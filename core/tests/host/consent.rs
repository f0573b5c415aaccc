//! Consent before installing (issue 15): a browser session must accept what
//! each plugin of the plan asks for, the bundle's own manifest is checked
//! against what was accepted, the audit names who accepted; and the
//! catalog page of a plugin: versions, publisher and signature, pictures
//! served by the host only when the catalog names them and they are images.

use serde_json::{json, Value};

use crate::{
    access::account,
    marketplace::wait_for_job,
    support::{send, tempdir, Host},
    updates::{install, Publisher},
};

fn catalog(publisher: &Publisher) -> Value {
    serde_json::from_str(&std::fs::read_to_string(publisher.folder().join("catalog.json")).unwrap())
        .unwrap()
}

fn write_catalog(publisher: &Publisher, catalog: &Value) {
    std::fs::write(
        publisher.folder().join("catalog.json"),
        serde_json::to_string_pretty(catalog).unwrap(),
    )
    .unwrap();
}

fn ids(asks: &Value) -> Vec<String> {
    asks.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_browser_install_needs_consent_to_everything_asked_and_the_audit_names_who_gave_it() {
    let publisher = Publisher::new();
    publisher.publish("gatekeeper");
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);
    let boss = account(&host, "boss", "admin");
    let session = [
        ("cookie", boss.cookie.as_str()),
        ("x-csrf-token", boss.csrf.as_str()),
    ];
    let path = "/api/admin/plugins/install";

    // Nothing accepted: refused before any download, with the list to accept.
    let (s, _, v) = send(
        &host,
        "POST",
        path,
        &session,
        Some(json!({"slug": "gatekeeper", "enable": true})),
    );
    assert_eq!(
        (s, &v["error"]["code"]),
        (409, &json!("consent_required")),
        "{v}"
    );
    let missing = &v["error"]["details"]["missing"][0];
    assert_eq!(missing["slug"], "gatekeeper");
    let asked = ids(&missing["asks"]);
    assert_eq!(
        asked,
        ["kv", "files", "routes", "permission:moderate"],
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Keep its own key-value data"),
        "{v}"
    );
    // Part of it accepted: still refused, naming only the rest.
    let (s, _, v) = send(
        &host,
        "POST",
        path,
        &session,
        Some(json!({"slug": "gatekeeper", "accept": {"gatekeeper": ["kv", "routes"]}})),
    );
    assert_eq!(s, 409, "{v}");
    assert_eq!(
        ids(&v["error"]["details"]["missing"][0]["asks"]),
        ["files", "permission:moderate"]
    );
    let (s, _) = host.admin("GET", "/api/admin/plugins/gatekeeper", None);
    assert_eq!(s, 404, "nothing was installed");

    // Everything accepted: installed and enabled.
    let (s, _, v) = send(
        &host,
        "POST",
        path,
        &session,
        Some(json!({"slug": "gatekeeper", "enable": true, "accept": {"gatekeeper": asked}})),
    );
    assert_eq!(s, 202, "{v}");
    let job = wait_for_job(&host, v["id"].as_u64().unwrap());
    assert_eq!(job["stage"], "done", "{job}");
    assert_eq!(host.state("gatekeeper"), "active");

    // The audit names the account, for the install and for the consent.
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=gatekeeper", None);
    let rows = audit["entries"].as_array().unwrap();
    let who = format!("account {} (boss)", boss.id);
    let installed = rows
        .iter()
        .find(|r| r["to"] == "installed" && r["from"].is_null())
        .unwrap();
    assert_eq!(installed["actor"], json!(who), "{audit}");
    let granted = rows
        .iter()
        .find(|r| {
            r["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("granted on install: "))
        })
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(granted["actor"], json!(who));
    assert!(granted["error"]
        .as_str()
        .unwrap()
        .contains("Define the permission “moderate”"));
    let enabled = rows.iter().find(|r| r["to"] == "active").unwrap();
    assert_eq!(enabled["actor"], json!(who), "{audit}");
}

#[test]
fn a_bundle_asking_for_more_than_its_catalog_entry_showed_is_refused_after_consent() {
    let publisher = Publisher::new();
    publisher.publish("gatekeeper");
    // The catalog hides the permission the bundle's manifest defines.
    let mut cat = catalog(&publisher);
    cat["entries"][0]
        .as_object_mut()
        .unwrap()
        .remove("permissions");
    write_catalog(&publisher, &cat);
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);
    let boss = account(&host, "boss", "admin");
    let session = [
        ("cookie", boss.cookie.as_str()),
        ("x-csrf-token", boss.csrf.as_str()),
    ];
    let (s, _, v) = send(
        &host,
        "POST",
        "/api/admin/plugins/install",
        &session,
        Some(json!({"slug": "gatekeeper", "accept": {"gatekeeper": ["kv", "files", "routes"]}})),
    );
    assert_eq!(s, 202, "the catalog's list was accepted whole: {v}");
    let job = wait_for_job(&host, v["id"].as_u64().unwrap());
    assert_eq!(job["stage"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("the bundle of gatekeeper asks for more than was accepted: Define the permission “moderate”"),
        "{job}"
    );
    let (s, _) = host.admin("GET", "/api/admin/plugins/gatekeeper", None);
    assert_eq!(s, 404, "nothing was installed");
    assert!(!data.path().join("plugins/gatekeeper").exists());

    // The admin token takes the manifest as it is (automation, like `apt -y`).
    let job = install(&host, json!({"slug": "gatekeeper"}));
    assert_eq!(job["stage"], "done", "{job}");
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=gatekeeper", None);
    assert!(audit.to_string().contains("admin token"), "{audit}");
}

/// A picture from the host, raw: status, content type, CSP, bytes.
fn image(host: &Host, source: i64, url: &str) -> (u16, String, String, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("source", &source.to_string())
        .append_pair("url", url);
    let mut res = agent
        .get(&host.url(&format!("/api/admin/catalog/image?{}", query.finish())))
        .header("authorization", format!("Bearer {}", crate::support::TOKEN))
        .call()
        .unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (kind, csp) = (header("content-type"), header("content-security-policy"));
    let status = res.status().as_u16();
    let bytes = res.body_mut().read_to_vec().unwrap();
    (status, kind, csp, bytes)
}

#[test]
fn the_catalog_page_shows_versions_publisher_and_asks_and_serves_only_named_images() {
    let publisher = Publisher::new();
    publisher.publish("notes-v2");
    publisher.publish("notes-v3");
    // Pictures: a PNG beside the catalog, an SVG (refused: it can carry
    // scripts), and a path leading out of the catalog's folder.
    let png = include_bytes!("../../../dynamic-plugins/guestbook/listing/icon.png");
    std::fs::write(publisher.folder().join("icon.png"), png).unwrap();
    std::fs::write(
        publisher.folder().join("evil.svg"),
        b"<svg><script>alert(1)</script></svg>",
    )
    .unwrap();
    let mut cat = catalog(&publisher);
    for e in cat["entries"].as_array_mut().unwrap() {
        e["icon_url"] = json!("icon.png");
        e["screenshots"] = json!([
            {"url": "evil.svg", "caption": "not an image"},
            {"url": "../outside.png", "caption": "outside"}
        ]);
        e["readme"] = json!("# Notes\n\nKeeps notes.");
    }
    write_catalog(&publisher, &cat);
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);

    let (s, v) = host.admin("GET", "/api/admin/catalog/entries/notes", None);
    assert_eq!(s, 200, "{v}");
    let versions = v["versions"].as_array().unwrap();
    let listed: Vec<&str> = versions
        .iter()
        .map(|x| x["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["3.0.0", "2.0.0"], "newest first");
    let newest = &versions[0];
    assert_eq!(newest["publisher"]["signature"], "verified", "{newest}");
    assert_eq!(newest["publisher"]["name"], "tests");
    assert_eq!(newest["readme"], "# Notes\n\nKeeps notes.");
    assert!(ids(&newest["asks"]).contains(&"files".to_string()));
    assert!(v["installed"].is_null());
    let source = newest["source_id"].as_i64().unwrap();
    assert_eq!(
        newest["icon"],
        json!(format!(
            "/api/admin/catalog/image?source={source}&url=icon.png"
        ))
    );
    let (s, _) = host.admin("GET", "/api/admin/catalog/entries/nothing-here", None);
    assert_eq!(s, 404);

    // Once 2.0.0 is installed, 3.0.0 shows what it adds.
    let job = install(&host, json!({"slug": "notes", "version": "2.0.0"}));
    assert_eq!(job["stage"], "done", "{job}");
    let (_, v) = host.admin("GET", "/api/admin/catalog/entries/notes", None);
    assert_eq!(v["installed"]["version"], "2.0.0");
    assert_eq!(ids(&v["versions"][0]["asks_added"]), ["files"]);
    assert_eq!(ids(&v["versions"][1]["asks_added"]), Vec::<String>::new());

    // The icon: an image that can do nothing but be shown.
    let (s, kind, csp, bytes) = image(&host, source, "icon.png");
    assert_eq!((s, kind.as_str()), (200, "image/png"));
    assert!(csp.contains("sandbox"), "{csp}");
    assert_eq!(bytes, png);
    // An SVG is refused; a path above the catalog's folder resolves on its
    // server (an HTTP catalog), which does not serve it; a picture no entry
    // names is not fetched at all. (File catalogs keep pictures inside
    // their folder: the rules of `marketplace::download`, tested there.)
    std::fs::write(
        publisher.folder().parent().unwrap().join("outside.png"),
        png,
    )
    .ok();
    for (url, status) in [
        ("evil.svg", 422),
        ("../outside.png", 502),
        ("other.png", 404),
        ("/etc/passwd", 404),
    ] {
        let (s, _, _, body) = image(&host, source, url);
        assert_eq!(s, status, "{url}: {}", String::from_utf8_lossy(&body));
        assert_ne!(body, png, "{url}");
    }
    let (s, _, _, _) = image(&host, source + 100, "icon.png");
    assert_eq!(s, 404);

    // A picture on another server (an internal address, say) is refused
    // without being fetched: the host is not a proxy for catalogs.
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let elsewhere = crate::support::file_server::loopback(move |_, _| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let inside = format!("{elsewhere}/icon.png");
    let mut cat = catalog(&publisher);
    cat["entries"][0]["screenshots"] = json!([{"url": inside, "caption": "elsewhere"}]);
    write_catalog(&publisher, &cat);
    let (s, v) = host.admin("POST", "/api/admin/catalog/sync", None);
    assert_eq!(s, 200, "{v}");
    let (s, _, _, body) = image(&host, source, &inside);
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("the catalog's own server"));
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was fetched"
    );
}
