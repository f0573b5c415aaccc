//! Updates, hot reload, rollback, downgrades and dependencies, with real
//! signed bundles of three versions of one plugin (`notes` 1.0.0, 2.0.0 and
//! a 3.0.0 whose migration fails) served over loopback HTTP.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use plugboard_core::marketplace::{author, signing::KeyPair};
use serde_json::{json, Value};

use crate::{
    marketplace::wait_for_job,
    support::{copy_dir, file_server, staged, tempdir, Host},
};

/// A publisher: a signing key, a catalog file served over HTTP, bundles.
pub(crate) struct Publisher {
    dir: tempfile::TempDir,
    key_file: PathBuf,
    pub(crate) public: String,
    pub(crate) base: String,
}

impl Publisher {
    pub(crate) fn new() -> Publisher {
        let dir = tempdir();
        let key = KeyPair::generate().unwrap();
        let key_file = dir.path().join("key.json");
        std::fs::write(&key_file, serde_json::to_string(&key).unwrap()).unwrap();
        let base = file_server::serve(dir.path().to_path_buf());
        Publisher {
            public: key.public().public_key,
            dir,
            key_file,
            base,
        }
    }

    /// Packs the plugin folder `folder`, signs it, and lists it (in
    /// `subdir` of the served folder, so two bundles of one version can
    /// coexist).
    pub(crate) fn publish_folder(&self, folder: &Path, subdir: &str) -> String {
        let out = self.dir.path().join(subdir);
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("plugin.json")).unwrap())
                .unwrap();
        let lib = format!("lib{}.so", manifest["library"].as_str().unwrap());
        let packed = author::pack(folder, Some(&folder.join(lib)), &out).unwrap();
        author::sign(&packed.path, &self.key_file).unwrap();
        let name = packed.path.file_name().unwrap().to_string_lossy();
        let entry = author::catalog_add(
            &crate::support::inspector(),
            &self.dir.path().join("catalog.json"),
            &packed.path,
            author::Listing {
                download_url: Some(format!("{subdir}/{name}")),
                category: "testing".into(),
                ..Default::default()
            },
        )
        .unwrap();
        entry.sha256
    }

    /// The served folder (the catalog is `catalog.json` in it).
    pub(crate) fn folder(&self) -> &Path {
        self.dir.path()
    }

    /// Publishes the staged fixture `fixture` (e.g. `notes-v2`).
    pub(crate) fn publish(&self, fixture: &str) -> String {
        self.publish_folder(&staged().join(fixture), fixture)
    }

    /// Publishes `fixture` with its manifest edited by `edit`.
    fn publish_edited(&self, fixture: &str, subdir: &str, edit: impl Fn(&mut Value)) -> String {
        let work = self.dir.path().join("work").join(subdir);
        copy_dir(&staged().join(fixture), &work);
        let path = work.join("plugin.json");
        let mut manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut manifest);
        std::fs::write(&path, manifest.to_string()).unwrap();
        self.publish_folder(&work, subdir)
    }

    /// Points `host` at this catalog and trusts the key.
    pub(crate) fn connect(&self, host: &Host) {
        let (s, v) = host.admin(
            "POST",
            "/api/admin/trusted-keys",
            Some(json!({"public_key": self.public, "name": "tests"})),
        );
        assert_eq!(s, 201, "{v}");
        let (s, v) = host.admin(
            "POST",
            "/api/admin/catalog/sources",
            Some(json!({"location": format!("{}/catalog.json", self.base)})),
        );
        assert_eq!(s, 201, "{v}");
    }
}

pub(crate) fn install(host: &Host, body: Value) -> Value {
    let (s, v) = host.admin("POST", "/api/admin/plugins/install", Some(body));
    assert_eq!(s, 202, "{v}");
    wait_for_job(host, v["id"].as_u64().unwrap())
}

fn sync(host: &Host) {
    let (s, v) = host.admin("POST", "/api/admin/catalog/sync", None);
    assert_eq!(s, 200, "{v}");
}

fn updates(host: &Host) -> Value {
    let (s, v) = host.admin("GET", "/api/admin/updates", None);
    assert_eq!(s, 200, "{v}");
    v
}

fn pending(host: &Host) -> Vec<Value> {
    updates(host)["updates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["state"] == "pending" || u["state"] == "needs_approval")
        .cloned()
        .collect()
}

fn version(host: &Host) -> String {
    let (s, v) = host.public("GET", "/api/plugins/notes/version", None);
    assert_eq!(s, 200, "{v}");
    v["version"].as_str().unwrap().to_string()
}

/// Requests `GET /api/plugins/notes/version` from `threads` keep-alive
/// clients until stopped; (status, version) of each answer.
/// Requests in a loop until stopped, one thread per URL: (status, the
/// `version` answered).
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(u16, String)>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(host: &Host, threads: usize) -> Load {
        Load::on(vec![host.url("/api/plugins/notes/version"); threads])
    }

    pub(crate) fn on(urls: Vec<String>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let threads = urls
            .into_iter()
            .map(|url| {
                let (stop, seen) = (Arc::clone(&stop), Arc::clone(&seen));
                std::thread::spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(10)))
                        .build()
                        .into();
                    while !stop.load(Ordering::Relaxed) {
                        let answer = match agent.get(&url).call() {
                            Ok(r) => {
                                let status = r.status().as_u16();
                                let body: Value = r.into_body().read_json().unwrap_or(Value::Null);
                                (status, body["version"].as_str().unwrap_or("").to_string())
                            }
                            Err(e) => (0, e.to_string()),
                        };
                        seen.lock().unwrap().push(answer);
                    }
                })
            })
            .collect();
        Load {
            stop,
            seen,
            threads,
        }
    }

    pub(crate) fn stop(self) -> Vec<(u16, String)> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        Arc::try_unwrap(self.seen).unwrap().into_inner().unwrap()
    }
}

/// A host with `notes` 1.0.0 installed from a catalog and enabled, and
/// the publisher of that catalog (the data folder lives as long as it is
/// held).
fn notes_v1_installed() -> (Publisher, tempfile::TempDir, Host) {
    let publisher = Publisher::new();
    publisher.publish("notes-v1");
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);
    let job = install(&host, json!({"slug": "notes", "enable": true}));
    assert_eq!(job["stage"], "done", "{job}");
    (publisher, data, host)
}

#[test]
fn an_update_hot_reloads_the_plugin_under_load_without_a_failed_request() {
    let (publisher, data, host) = notes_v1_installed();
    for i in 0..3 {
        let (s, v) = host.public(
            "POST",
            "/api/plugins/notes/notes",
            Some(json!({"body": format!("note {i}")})),
        );
        assert_eq!(s, 201, "{v}");
    }
    assert!(pending(&host).is_empty());

    // The catalog offers 2.0.0: one pending update, found by a sync.
    publisher.publish("notes-v2");
    sync(&host);
    let queue = pending(&host);
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(
        (&queue[0]["from_version"], &queue[0]["to_version"]),
        (&json!("1.0.0"), &json!("2.0.0"))
    );
    sync(&host);
    assert_eq!(
        pending(&host).len(),
        1,
        "at most one pending row per plugin"
    );
    let id = queue[0]["id"].as_i64().unwrap();

    let load = Load::start(&host, 4);
    std::thread::sleep(Duration::from_millis(300));
    // What a call running on 1.0.0 during the cutover holds: the generation
    // it looked up. (Held here rather than by a slow HTTP request, so the
    // test does not depend on how long the update takes.)
    let old = host.runtime.plugin("notes").unwrap();
    let (s, swapped) = host.admin("POST", &format!("/api/admin/updates/{id}/apply"), None);
    assert_eq!(s, 200, "{swapped}");
    assert_eq!(swapped["to_version"], "2.0.0");
    std::thread::sleep(Duration::from_millis(300));
    let answers = load.stop();

    let failed: Vec<_> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    let first_new = answers.iter().position(|(_, v)| v == "2.0.0").unwrap();
    assert!(answers[..first_new].iter().all(|(_, v)| v == "1.0.0"));
    assert!(answers.len() > 100, "{} requests", answers.len());
    assert_eq!(version(&host), "2.0.0");

    // The old generation is still callable while held, and drains after.
    let draining = updates(&host)["draining"].clone();
    assert_eq!(draining[0]["version"], "1.0.0", "{draining}");
    assert_eq!(draining[0]["generation"], json!(old.generation()));
    let request = plugboard_core::runtime::OwnedRequest {
        method: "GET".into(),
        path: "/version".into(),
        query: String::new(),
        headers: Vec::new(),
        params: Vec::new(),
        body: Default::default(),
    };
    let point = old.point(
        plugboard_core::exec::PointKind::Route,
        "GET /version",
        old.deadlines().call,
    );
    let answer = crate::support::block_on(host.runtime.call_route(
        &old,
        point,
        0,
        request,
        plugboard_plugin_api::Caller::Anonymous,
    ))
    .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(answer.body()).unwrap()["version"],
        "1.0.0"
    );
    assert_ne!(
        host.runtime.plugin("notes").unwrap().generation(),
        old.generation()
    );
    drop(old);
    crate::support::wait_until(
        "the old generation to drain",
        Duration::from_secs(10),
        || updates(&host)["draining"].as_array().unwrap().is_empty(),
    );
    // on_upgrade ran on 2.0.0, after its migration added the column.
    let (_, up) = host.public("GET", "/api/plugins/notes/upgraded", None);
    assert_eq!(up, json!({"from": "1.0.0", "notes_seen_by_upgrade": 3}));
    let (_, plugin) = host.admin("GET", "/api/admin/plugins/notes", None);
    assert_eq!(
        (&plugin["version"], &plugin["state"]),
        (&json!("2.0.0"), &json!("active"))
    );
    let all = updates(&host)["updates"].clone();
    assert_eq!(all[0]["state"], "applied", "{all}");
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=notes", None);
    assert!(
        audit.to_string().contains("updated 1.0.0 → 2.0.0"),
        "{audit}"
    );

    // The new version survives a restart.
    host.stop();
    let host = Host::start(data.path());
    assert_eq!(version(&host), "2.0.0");
}

#[test]
fn a_failing_release_leaves_the_old_version_serving_and_rollback_and_downgrade_are_explicit() {
    let publisher = Publisher::new();
    publisher.publish("notes-v1");
    publisher.publish("notes-v2");
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);
    let job = install(
        &host,
        json!({"slug": "notes", "version": "1.0.0", "enable": true}),
    );
    assert_eq!(job["stage"], "done", "{job}");
    let id = pending(&host)[0]["id"].as_i64().unwrap();
    let (s, v) = host.admin("POST", &format!("/api/admin/updates/{id}/apply"), None);
    assert_eq!(s, 200, "{v}");

    // 3.0.0 asks for one more capability (`files`): it waits for an admin's
    // approval, with the difference shown, and cannot be applied before.
    publisher.publish("notes-v3");
    sync(&host);
    let queue = pending(&host);
    assert_eq!(queue[0]["to_version"], "3.0.0", "{queue:?}");
    assert_eq!(queue[0]["state"], "needs_approval", "{queue:?}");
    assert_eq!(queue[0]["asks_added"][0]["id"], "files", "{queue:?}");
    let id = queue[0]["id"].as_i64().unwrap();
    let (s, v) = host.admin("POST", &format!("/api/admin/updates/{id}/apply"), None);
    assert_eq!(
        (s, &v["error"]["code"]),
        (409, &json!("needs_approval")),
        "{v}"
    );
    assert_eq!(v["error"]["details"]["asks"][0]["id"], "files", "{v}");
    let sha = queue[0]["to_sha256"].as_str().unwrap().to_string();
    // An approval names the bundle it was given for.
    let (s, v) = host.admin(
        "POST",
        &format!("/api/admin/updates/{id}/approve"),
        Some(json!({"to_sha256": "0".repeat(64)})),
    );
    assert_eq!((s, &v["error"]["code"]), (409, &json!("retargeted")), "{v}");
    let (s, v) = host.admin(
        "POST",
        &format!("/api/admin/updates/{id}/approve"),
        Some(json!({"to_sha256": sha})),
    );
    assert_eq!((s, &v["state"]), (200, &json!("pending")), "{v}");
    assert_eq!(v["approved"], json!(["files"]), "{v}");
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=notes", None);
    assert!(
        audit
            .to_string()
            .contains("granted by approving the update to 3.0.0: Store its own files"),
        "{audit}"
    );
    // Approving twice is refused: it is no longer waiting.
    let (s, _) = host.admin(
        "POST",
        &format!("/api/admin/updates/{id}/approve"),
        Some(json!({"to_sha256": sha})),
    );
    assert_eq!(s, 409);

    // 3.0.0's migration fails: 2.0.0 keeps serving, the failure is reported.
    let (s, v) = host.admin("POST", &format!("/api/admin/updates/{id}/apply"), None);
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "update_failed", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("0003_broken"),
        "{v}"
    );
    assert_eq!(version(&host), "2.0.0");
    assert_eq!(host.state("notes"), "active");
    let queue = pending(&host);
    assert!(queue[0]["error"].as_str().unwrap().contains("0003_broken"));
    assert!(std::fs::read_dir(data.path().join(".staging"))
        .unwrap()
        .next()
        .is_none());

    // Dismissed: that offer is not proposed again.
    let (s, v) = host.admin("POST", &format!("/api/admin/updates/{id}/dismiss"), None);
    assert_eq!((s, &v["state"]), (200, &json!("dismissed")), "{v}");
    sync(&host);
    assert!(pending(&host).is_empty());
    let (s, _) = host.admin("POST", &format!("/api/admin/updates/{id}/apply"), None);
    assert_eq!(s, 409);

    // Rollback is one step, and a second one goes forward again.
    let (s, v) = host.admin("POST", "/api/admin/plugins/notes/rollback", None);
    assert_eq!((s, &v["to_version"]), (200, &json!("1.0.0")), "{v}");
    assert_eq!(version(&host), "1.0.0");
    let (s, v) = host.admin("POST", "/api/admin/plugins/notes/rollback", None);
    assert_eq!((s, &v["to_version"]), (200, &json!("2.0.0")), "{v}");
    assert_eq!(version(&host), "2.0.0");

    // An older version only when asked for explicitly.
    let (s, v) = host.admin(
        "POST",
        "/api/admin/plugins/install",
        Some(json!({"slug": "notes", "version": "1.0.0"})),
    );
    assert_eq!(
        (s, &v["error"]["code"]),
        (409, &json!("downgrade_refused")),
        "{v}"
    );
    let job = install(
        &host,
        json!({"slug": "notes", "version": "1.0.0", "downgrade": true}),
    );
    assert_eq!(job["stage"], "done", "{job}");
    assert_eq!(version(&host), "1.0.0");
    let (_, audit) = host.admin("GET", "/api/admin/audit?plugin=notes", None);
    assert!(
        audit.to_string().contains("downgraded 2.0.0 → 1.0.0"),
        "{audit}"
    );
    // A catalog never offers the older version as an update.
    assert!(pending(&host).iter().all(|u| u["to_version"] != "1.0.0"));
}

#[test]
fn the_same_version_with_another_digest_is_drift() {
    let publisher = Publisher::new();
    let first = publisher.publish("notes-v1");
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);
    assert_eq!(install(&host, json!({"slug": "notes"}))["stage"], "done");
    assert!(pending(&host).is_empty());
    // Republished: same version, one more file, another digest.
    let work = publisher.dir.path().join("work/republished");
    copy_dir(&staged().join("notes-v1"), &work);
    std::fs::create_dir_all(work.join("assets")).unwrap();
    std::fs::write(work.join("assets/readme.txt"), "hello").unwrap();
    let second = publisher.publish_folder(&work, "republished");
    assert_ne!(first, second);
    sync(&host);
    let queue = pending(&host);
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0]["from_version"], queue[0]["to_version"]);
    assert_eq!(queue[0]["from_sha256"], json!(first));
    assert_eq!(queue[0]["to_sha256"], json!(second));
}

/// Only a unique violation means "already queued": any other failure of the
/// insert (here a trigger refuses it, as a lost connection or a full disk
/// would) reaches the admin as a 500 and is not taken for a queued update.
#[test]
fn a_failed_queue_insert_is_an_error_not_an_update_already_queued() {
    use sea_orm::ConnectionTrait;
    let publisher = Publisher::new();
    publisher.publish("notes-v1");
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);
    assert_eq!(install(&host, json!({"slug": "notes"}))["stage"], "done");
    publisher.publish("notes-v2");
    let url = plugboard_core::db::sqlite_url(&data.path().join("plugboard.db"));
    crate::support::block_on(async {
        let conn = sea_orm::Database::connect(url.as_str()).await.unwrap();
        conn.execute_unprepared(
            "CREATE TRIGGER refuse_updates BEFORE INSERT ON plugin_updates \
             BEGIN SELECT RAISE(ABORT, 'the disk is gone'); END",
        )
        .await
        .unwrap();
    });
    let (s, v) = host.admin("POST", "/api/admin/catalog/sync", None);
    assert_eq!(s, 500, "{v}");
    assert!(v["error"]["id"].is_string(), "{v}");
    // The queue (which detects too) says so as well, rather than "nothing".
    let (s, v) = host.admin("GET", "/api/admin/updates", None);
    assert_eq!(s, 500, "{v}");

    crate::support::block_on(async {
        let conn = sea_orm::Database::connect(url.as_str()).await.unwrap();
        conn.execute_unprepared("DROP TRIGGER refuse_updates")
            .await
            .unwrap();
    });
    sync(&host);
    assert_eq!(pending(&host).len(), 1);
    // A second detection with one already pending is quiet.
    sync(&host);
    assert_eq!(pending(&host).len(), 1);
}

#[test]
fn dependencies_are_installed_first_protect_what_needs_them_and_order_the_start() {
    let publisher = Publisher::new();
    publisher.publish("notes-v1");
    publisher.publish("notes-v2");
    publisher.publish_edited("guestbook", "guestbook", |m| {
        m["dependencies"] = json!([{"slug": "notes", "version": "^1"}]);
    });
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);

    // notes ^1 is installed first (1.0.0, though 2.0.0 is newer), both enabled.
    let job = install(&host, json!({"slug": "guestbook", "enable": true}));
    assert_eq!(job["stage"], "done", "{job}");
    assert_eq!(job["plan"], json!(["notes 1.0.0", "guestbook 0.1.0"]));
    assert_eq!(host.state("notes"), "active");
    assert_eq!(host.state("guestbook"), "active");

    // What an active plugin needs is not disabled or removed silently.
    let (s, v) = host.admin("POST", "/api/admin/plugins/notes/disable", None);
    assert_eq!(
        (s, &v["error"]["code"]),
        (409, &json!("has_dependents")),
        "{v}"
    );
    assert_eq!(v["error"]["details"]["dependents"], json!(["guestbook"]));
    let (s, v) = host.admin("DELETE", "/api/admin/plugins/notes?data=remove", None);
    assert_eq!(
        (s, &v["error"]["code"]),
        (409, &json!("has_dependents")),
        "{v}"
    );
    // An update the dependents do not accept is refused.
    let id = pending(&host)
        .iter()
        .find(|u| u["slug"] == "notes")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, v) = host.admin("POST", &format!("/api/admin/updates/{id}/apply"), None);
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("guestbook needs notes ^1"),
        "{v}"
    );
    assert_eq!(version(&host), "1.0.0");

    // The start order follows dependencies ("guestbook" sorts before "notes").
    host.stop();
    let host = Host::start(data.path());
    assert_eq!(host.state("notes"), "active");
    assert_eq!(host.state("guestbook"), "active");

    // Cascade: dependents first, then the plugin.
    let (s, v) = host.admin(
        "POST",
        "/api/admin/plugins/notes/disable?cascade=true",
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(host.state("guestbook"), "inactive");
    let (s, v) = host.enable("guestbook");
    assert_eq!(
        (s, &v["error"]["code"]),
        (409, &json!("dependency_inactive")),
        "{v}"
    );
    assert_eq!(host.enable("notes").0, 200);
    assert_eq!(host.enable("guestbook").0, 200);
    let (_, audit) = host.admin("GET", "/api/admin/audit", None);
    let disabled: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["to"] == "inactive")
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    // Newest first: guestbook went down before notes.
    assert_eq!(disabled, ["notes", "guestbook"], "{audit}");
}

#[test]
fn dependency_cycles_are_refused_before_anything_is_fetched() {
    let publisher = Publisher::new();
    publisher.publish_edited("notes-v2", "notes", |m| {
        m["dependencies"] = json!([{"slug": "guestbook", "version": ">=0.1"}]);
    });
    publisher.publish_edited("guestbook", "guestbook", |m| {
        m["dependencies"] = json!([{"slug": "notes", "version": "^2"}]);
    });
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);
    let (s, v) = host.admin(
        "POST",
        "/api/admin/plugins/install",
        Some(json!({"slug": "guestbook"})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "dependencies_unresolvable");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("dependency cycle: guestbook → notes → guestbook"),
        "{v}"
    );
    assert!(!data.path().join("plugins/notes").exists());
    assert!(!data.path().join("plugins/guestbook").exists());
}

#[test]
fn a_start_after_a_crash_between_the_update_renames_puts_the_plugin_back() {
    let publisher = Publisher::new();
    publisher.publish("notes-v1");
    publisher.publish("notes-v2");
    let data = tempdir();
    let host = Host::start(data.path());
    publisher.connect(&host);
    assert_eq!(
        install(
            &host,
            json!({"slug": "notes", "version": "1.0.0", "enable": true})
        )["stage"],
        "done"
    );
    let id = pending(&host)[0]["id"].as_i64().unwrap();
    assert_eq!(
        host.admin("POST", &format!("/api/admin/updates/{id}/apply"), None)
            .0,
        200
    );
    host.stop();
    // The state a crash between "plugins/notes → previous/notes" and
    // "staged → plugins/notes" leaves.
    let plugins = data.path().join("plugins/notes");
    let previous = data.path().join("previous/notes");
    std::fs::remove_dir_all(&previous).unwrap();
    std::fs::rename(&plugins, &previous).unwrap();
    let host = Host::start(data.path());
    assert!(plugins.join("plugin.json").exists());
    assert_eq!(version(&host), "2.0.0");
    assert_eq!(host.state("notes"), "active");
}

/// `plugboard plugin install` (server stopped) takes the same plan as the
/// API: missing dependencies first, from the same catalog; an unresolvable
/// one is refused before anything is installed.
#[test]
fn the_cli_installs_dependencies_first_and_refuses_what_it_cannot_resolve() {
    let cli = |data: &Path, catalog: &Path, key: &str, slug: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .args(["plugin", "install", "--data-dir"])
            .arg(data)
            .arg("--catalog")
            .arg(catalog)
            .args(["--trusted-key", key, "--enable", slug])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let publisher = Publisher::new();
    publisher.publish("notes-v1");
    publisher.publish_edited("guestbook", "guestbook", |m| {
        m["dependencies"] = json!([{"slug": "notes", "version": "^1"}]);
    });
    let catalog = publisher.dir.path().join("catalog.json");
    let data = tempdir();
    let (ok, out, err) = cli(data.path(), &catalog, &publisher.public, "guestbook");
    assert!(ok, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("installed notes 1.0.0 (active)"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("installed guestbook 0.1.0 (active)"),
        "{out}"
    );
    let host = Host::start(data.path());
    assert_eq!(host.state("notes"), "active");
    assert_eq!(host.state("guestbook"), "active");
    host.stop();

    // A dependency no catalog entry satisfies: refused, nothing installed.
    let other = Publisher::new();
    other.publish_edited("guestbook", "guestbook", |m| {
        m["dependencies"] = json!([{"slug": "notes", "version": "^7"}]);
    });
    let data = tempdir();
    let catalog = other.dir.path().join("catalog.json");
    let (ok, out, err) = cli(data.path(), &catalog, &other.public, "guestbook");
    assert!(!ok, "{out}");
    assert!(err.contains("notes"), "{err}");
    let plugins = data.path().join("plugins");
    let left: Vec<_> = std::fs::read_dir(&plugins)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// Flip-flops between two versions map each library once: reloading a
/// build already mapped reuses its image (issue 16). In a `plugboard serve`
/// of its own, so that no other test's loads are counted.
#[test]
fn flipping_between_two_versions_maps_each_library_once() {
    let publisher = Publisher::new();
    publisher.publish("notes-v1");
    let data = tempdir();
    let (mut child, url, _) = crate::ui_and_auth::serve(data.path());
    let call = |method: &str, path: &str, body: Option<Value>| {
        crate::support::request(method, &format!("{url}{path}"), Some("t"), body)
    };
    let (s, v) = call(
        "POST",
        "/api/admin/trusted-keys",
        Some(json!({"public_key": publisher.public})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = call(
        "POST",
        "/api/admin/catalog/sources",
        Some(json!({"location": format!("{}/catalog.json", publisher.base)})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = call(
        "POST",
        "/api/admin/plugins/install",
        Some(json!({"slug": "notes", "enable": true})),
    );
    assert_eq!(s, 202, "{v}");
    let id = v["id"].as_u64().unwrap();
    crate::support::wait_until("the install", Duration::from_secs(60), || {
        call("GET", &format!("/api/admin/installs/{id}"), None).1["stage"] == "done"
    });
    publisher.publish("notes-v2");
    call("POST", "/api/admin/catalog/sync", None);
    let (_, queue) = call("GET", "/api/admin/updates", None);
    let update = queue["updates"][0]["id"].as_i64().unwrap();
    let (s, v) = call("POST", &format!("/api/admin/updates/{update}/apply"), None);
    assert_eq!(s, 200, "{v}");
    let mapped = || call("GET", "/api/admin/plugins/notes", None).1["mapped_images"].clone();
    assert_eq!(mapped(), json!(2));
    for flip in 0..10 {
        let (s, v) = call("POST", "/api/admin/plugins/notes/rollback", None);
        assert_eq!(s, 200, "flip {flip}: {v}");
    }
    // Ten hot reloads later: still the two images, and each flip served
    // its version.
    assert_eq!(mapped(), json!(2));
    let (s, v) = crate::support::request(
        "GET",
        &format!("{url}/api/plugins/notes/version"),
        None,
        None,
    );
    assert_eq!((s, &v["version"]), (200, &json!("2.0.0")), "{v}");
    let metrics = ureq::get(&format!("{url}/metrics"))
        .header("authorization", "Bearer t")
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("plugboard_plugin_mapped_images{plugin=\"notes\"} 2"),
        "{metrics}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// An approval is for what ran when it was given: after a rollback, an
/// open update that now asks for more than what runs waits again, and
/// applying it is refused (issue 15's review).
#[test]
fn a_rollback_makes_an_update_that_now_asks_for_more_wait_for_approval_again() {
    let (publisher, _data, host) = notes_v1_installed();
    // 2.0.0 asks for `files` as well: approved, applied.
    publisher.publish_edited("notes-v2", "v2-files", |m| {
        m["capabilities"]["files"] = json!(true);
    });
    sync(&host);
    let row = pending(&host)[0].clone();
    assert_eq!(row["state"], "needs_approval", "{row}");
    let id = row["id"].as_i64().unwrap();
    let (s, v) = host.admin(
        "POST",
        &format!("/api/admin/updates/{id}/approve"),
        Some(json!({"to_sha256": row["to_sha256"]})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = host.admin("POST", &format!("/api/admin/updates/{id}/apply"), None);
    assert_eq!(s, 200, "{v}");
    // 3.0.0 asks for nothing beyond 2.0.0: pending.
    publisher.publish("notes-v3");
    sync(&host);
    let row = pending(&host)[0].clone();
    assert_eq!(
        (&row["to_version"], &row["state"]),
        (&json!("3.0.0"), &json!("pending")),
        "{row}"
    );
    let id = row["id"].as_i64().unwrap();
    // Back to 1.0.0, which had no `files`: 3.0.0 now asks for more.
    let (s, v) = host.admin("POST", "/api/admin/plugins/notes/rollback", None);
    assert_eq!(s, 200, "{v}");
    let (s, v) = host.admin("POST", &format!("/api/admin/updates/{id}/apply"), None);
    assert_eq!(
        (s, &v["error"]["code"]),
        (409, &json!("needs_approval")),
        "{v}"
    );
    assert_eq!(v["error"]["details"]["asks"][0]["id"], "files", "{v}");
    let row = pending(&host)[0].clone();
    assert_eq!(row["state"], "needs_approval", "{row}");
}
