//! Several `plugboard serve` replicas on one PostgreSQL database (issue
//! 13): real processes on loopback, the private PostgreSQL server of
//! `scripts/postgres`, and changes made on one replica observed on the
//! others through their own HTTP answers.

use std::{
    path::Path,
    process::{Child, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

use crate::{
    quarantine::{printed_after, spawn_serve, LISTENING, TOKEN},
    support::{eventually, fresh_postgres_database, request, stage, tempdir, wait_until},
    updates::{Load, Publisher},
};

/// One replica: its process, address, name and data folder.
struct Replica {
    child: Child,
    base: String,
    name: &'static str,
    data: std::path::PathBuf,
}

impl Replica {
    fn start(name: &'static str, data: &Path, url: &str, extra: &[&str]) -> Replica {
        let mut args = vec!["--database-url", url, "--replica", name];
        args.extend_from_slice(extra);
        let (child, printed) = spawn_serve(data, &args, "warn", Stdio::inherit(), LISTENING);
        let base = printed_after(&printed, LISTENING)
            .unwrap_or_else(|| panic!("replica {name} did not start: {printed:?}"));
        Replica {
            child,
            base,
            name,
            data: data.to_path_buf(),
        }
    }
    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        request(method, &format!("{}{path}", self.base), Some(TOKEN), body)
    }
    fn public(&self, method: &str, path: &str) -> (u16, Value) {
        request(method, &format!("{}{path}", self.base), None, None)
    }
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const WITHIN: Duration = Duration::from_secs(15);

fn wait_status(replicas: &[&Replica], path: &str, want: u16) {
    for r in replicas {
        wait_until(
            &format!("{path} to answer {want} on replica {}", r.name),
            WITHIN,
            || r.public("GET", path).0 == want,
        );
    }
}

fn ok(r: &Replica, method: &str, path: &str, body: Option<Value>) -> Value {
    let (s, v) = r.admin(method, path, body);
    assert!(
        (200..300).contains(&s),
        "{method} {path} on {}: {s} {v}",
        r.name
    );
    v
}

fn install(r: &Replica, slug: &str) -> u64 {
    let job = ok(
        r,
        "POST",
        "/api/admin/plugins/install",
        Some(json!({"slug": slug, "enable": true})),
    );
    let id = job["id"].as_u64().unwrap();
    let done = eventually("the install job to end", WITHIN, || {
        let (_, j) = r.admin("GET", &format!("/api/admin/installs/{id}"), None);
        matches!(j["stage"].as_str(), Some("done" | "failed")).then_some(j)
    });
    assert_eq!(done["stage"], "done", "{done}");
    id
}

fn connect(r: &Replica, publisher: &Publisher) {
    ok(
        r,
        "POST",
        "/api/admin/trusted-keys",
        Some(json!({"public_key": publisher.public, "name": "tests"})),
    );
    ok(
        r,
        "POST",
        "/api/admin/catalog/sources",
        Some(json!({"location": format!("{}/catalog.json", publisher.base)})),
    );
}

fn three(url: &str, dirs: &[tempfile::TempDir; 3], staged: &[&str]) -> [Replica; 3] {
    for d in dirs {
        stage(d.path(), staged);
    }
    // Started together: they migrate one at a time (an advisory lock).
    let names = ["a", "b", "c"];
    let handles: Vec<_> = names
        .iter()
        .zip(dirs)
        .map(|(name, d)| {
            let (name, data, url) = (*name, d.path().to_path_buf(), url.to_string());
            std::thread::spawn(move || Replica::start(name, &data, &url, &[]))
        })
        .collect();
    let mut started: Vec<Replica> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let c = started.pop().unwrap();
    let b = started.pop().unwrap();
    let a = started.pop().unwrap();
    [a, b, c]
}

#[test]
fn every_change_on_one_replica_reaches_the_others() {
    let url = fresh_postgres_database();
    let dirs = [tempdir(), tempdir(), tempdir()];
    // `cluster-probe` was copied into every replica's folder by hand;
    // `notes` comes from a catalog, installed on one replica only.
    let [a, b, c] = three(&url, &dirs, &["cluster-probe", "faulty"]);
    let probe = "/api/plugins/cluster-probe/ok";

    // Wrong passwords spread over the replicas count together: guesses
    // alternating between A and B are throttled on B before B itself has
    // seen the three a pair may fail (its own count alone would let a
    // fourth through).
    let login = |r: &Replica| {
        request(
            "POST",
            &format!("{}/api/auth/login", r.base),
            None,
            Some(json!({"username": "admin", "password": "a-wrong-guess"})),
        )
    };
    let mut failed_on_b = 0;
    let mut throttled_on_b = None;
    for i in 0..12 {
        let r = if i % 2 == 0 { &a } else { &b };
        let (s, v) = login(r);
        assert!(s == 401 || s == 429, "{s} {v}");
        if r.name == "b" {
            if s == 429 {
                throttled_on_b = Some(failed_on_b);
                break;
            }
            failed_on_b += 1;
        }
    }
    let seen = throttled_on_b.expect("B throttled the pair");
    assert!(
        seen < 3,
        "B throttled only after {seen} failures of its own"
    );

    // Enable on A: B and C serve the route too.
    ok(&a, "POST", "/api/admin/plugins/cluster-probe/enable", None);
    wait_status(&[&a, &b, &c], probe, 200);
    // Disable on B: gone everywhere; enable on C: back everywhere.
    ok(&b, "POST", "/api/admin/plugins/cluster-probe/disable", None);
    wait_status(&[&a, &b, &c], probe, 404);
    ok(&c, "POST", "/api/admin/plugins/cluster-probe/enable", None);
    wait_status(&[&a, &b, &c], probe, 200);

    // A plugin that keeps panicking on C trips the fault policy there: it
    // is out of service on every replica; a reset on A and an enable on B
    // bring it back everywhere.
    ok(&a, "POST", "/api/admin/plugins/faulty/enable", None);
    wait_status(&[&a, &b, &c], "/api/plugins/faulty/ok", 200);
    for _ in 0..5 {
        c.public("GET", "/api/plugins/faulty/panic");
    }
    wait_status(&[&a, &b, &c], "/api/plugins/faulty/ok", 404);
    let (_, v) = b.admin("GET", "/api/admin/plugins/faulty", None);
    assert_eq!(v["state"], "errored", "{v}");
    ok(&a, "POST", "/api/admin/plugins/faulty/reset", None);
    ok(&b, "POST", "/api/admin/plugins/faulty/enable", None);
    wait_status(&[&a, &b, &c], "/api/plugins/faulty/ok", 200);
    // C forgot the panics counted before the reset: four more do not trip it.
    for _ in 0..4 {
        c.public("GET", "/api/plugins/faulty/panic");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(c.public("GET", "/api/plugins/faulty/ok").0, 200);

    // Config on B reaches A's copy of the plugin.
    ok(
        &b,
        "PUT",
        "/api/admin/plugins/cluster-probe/config",
        Some(json!({"greeting": "from b"})),
    );
    for r in [&a, &c] {
        eventually(&format!("the greeting on {}", r.name), WITHIN, || {
            let (_, v) = r.public("GET", "/api/plugins/cluster-probe/greeting");
            (v["greeting"] == "from b").then_some(())
        });
    }

    // A cluster event emitted on A reaches the subscriber on every replica
    // once, in order.
    let (s, v) = request(
        "POST",
        &format!("{}/api/plugins/cluster-probe/emit?tag=x&n=20", a.base),
        None,
        None,
    );
    assert_eq!(s, 200, "{v}");
    let want: Vec<String> = (0..20).map(|i| format!("x/{i}")).collect();
    for r in [&a, &b, &c] {
        let got = eventually(&format!("20 pings on {}", r.name), WITHIN, || {
            let (_, v) = r.public("GET", "/api/plugins/cluster-probe/received");
            let got: Vec<String> = serde_json::from_value(v["received"].clone()).ok()?;
            (got.len() >= 20).then_some(got)
        });
        assert_eq!(got, want, "on {}", r.name);
    }
    // Past the readers' 1 s poll: nothing came twice.
    std::thread::sleep(Duration::from_millis(2500));
    for r in [&a, &b, &c] {
        let (_, v) = r.public("GET", "/api/plugins/cluster-probe/received");
        let again: Vec<String> = serde_json::from_value(v["received"].clone()).unwrap();
        assert_eq!(again, want, "nothing twice on {}", r.name);
    }

    // Install on A from a catalog: C, whose folder never saw the plugin,
    // fetches the bundle by digest, verifies it and serves it.
    let publisher = Publisher::new();
    let sha = publisher.publish("notes-v1");
    connect(&a, &publisher);
    let job = install(&a, "notes");
    // The job and its outcome can be read on any replica.
    // (The state is written in the background: C sees "done" shortly after A.)
    let seen = eventually("the install job's end seen on C", WITHIN, || {
        let (s, seen) = c.admin("GET", &format!("/api/admin/installs/{job}"), None);
        (s == 200 && seen["stage"] == "done").then_some(seen)
    });
    assert_eq!(seen["replica"], "a", "{seen}");
    assert_eq!(seen["plan"], json!(["notes 1.0.0"]), "{seen}");
    let (_, all) = b.admin("GET", "/api/admin/installs", None);
    assert!(
        all["installs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == job),
        "{all}"
    );
    wait_status(&[&a, &b, &c], "/api/plugins/notes/version", 200);
    for r in [&b, &c] {
        let info: Value = serde_json::from_slice(
            &std::fs::read(r.data.join("plugins/notes/.bundle.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(info["sha256"], sha.as_str(), "on {}", r.name);
    }
    // The admin shows each replica and what it runs.
    let replicas = eventually("every replica to report notes 1.0.0", WITHIN, || {
        let (_, v) = a.admin("GET", "/api/admin/replicas", None);
        let list = v["replicas"].as_array()?.clone();
        let all = list.len() == 3
            && list.iter().all(|r| {
                r["alive"] == true
                    && r["plugins"].as_array().is_some_and(|p| {
                        p.iter().any(|p| {
                            p["slug"] == "notes" && p["version"] == "1.0.0" && p["live"] == true
                        })
                    })
            });
        all.then_some(v)
    });
    assert_eq!(replicas["shared"], true);
    assert_eq!(replicas["this"], "a");

    // An update under load spread over the three replicas: no request fails.
    publisher.publish("notes-v2");
    ok(&a, "POST", "/api/admin/catalog/sync", None);
    let (_, queue) = a.admin("GET", "/api/admin/updates", None);
    let id = queue["updates"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["state"] == "pending"))
        .and_then(|u| u["id"].as_i64())
        .unwrap_or_else(|| panic!("one pending update: {queue}"));
    let load = Load::on(
        [&a, &b, &c]
            .iter()
            .map(|r| format!("{}/api/plugins/notes/version", r.base))
            .collect(),
    );
    std::thread::sleep(Duration::from_millis(300));
    ok(&a, "POST", &format!("/api/admin/updates/{id}/apply"), None);
    for r in [&a, &b, &c] {
        eventually(&format!("2.0.0 on {}", r.name), WITHIN, || {
            let (_, v) = r.public("GET", "/api/plugins/notes/version");
            (v["version"] == "2.0.0").then_some(())
        });
    }
    std::thread::sleep(Duration::from_millis(300));
    let answers = load.stop();
    let failed: Vec<_> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert!(answers.len() > 100, "{} requests", answers.len());

    // Uninstall on B: withdrawn from A and C, folders gone.
    ok(&b, "DELETE", "/api/admin/plugins/notes?data=remove", None);
    wait_status(&[&a, &b, &c], "/api/plugins/notes/version", 404);
    for r in [&a, &c] {
        wait_until(&format!("notes' folder gone on {}", r.name), WITHIN, || {
            !r.data.join("plugins/notes").exists()
        });
    }
}

#[test]
fn a_job_runs_once_per_tick_across_three_replicas_while_one_is_killed_and_restarted() {
    let url = fresh_postgres_database();
    let dirs = [tempdir(), tempdir(), tempdir()];
    let [a, b, c] = three(&url, &dirs, &["cluster-probe"]);
    ok(&a, "POST", "/api/admin/plugins/cluster-probe/enable", None);
    wait_status(&[&a, &b, &c], "/api/plugins/cluster-probe/ok", 200);
    // A second live process under A's name is refused.
    let twin = tempdir();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--replica",
            "a",
            "--database-url",
            &url,
        ])
        .arg("--data-dir")
        .arg(twin.path())
        .env("PLUGBOARD_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("replica name \"a\" is in use"), "{err}");
    std::thread::sleep(Duration::from_secs(20));
    let b_data = b.data.clone();
    b.kill();
    std::thread::sleep(Duration::from_secs(10));
    let b = Replica::start("b", &b_data, &url, &[]);
    wait_status(&[&b], "/api/plugins/cluster-probe/ok", 200);
    std::thread::sleep(Duration::from_secs(30));
    drop((a, b, c));

    let runs: Vec<(i64, String, String)> = crate::support::block_on(async {
        use sea_orm::{ConnectionTrait, Statement};
        let conn = sea_orm::Database::connect(url.clone()).await.unwrap();
        let rows = conn
            .query_all_raw(Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT floor(extract(epoch FROM started_at))::bigint AS tick, replica, outcome \
                 FROM plugin_job_runs WHERE plugin = 'cluster-probe' AND job = 'tick' ORDER BY started_at",
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.try_get::<i64>("", "tick").unwrap(),
                    r.try_get::<Option<String>>("", "replica")
                        .unwrap()
                        .unwrap_or_default(),
                    r.try_get::<String>("", "outcome").unwrap(),
                )
            })
            .collect()
    });
    assert!(runs.len() >= 55, "{} runs: {runs:?}", runs.len());
    let mut ticks: Vec<i64> = runs.iter().map(|r| r.0).collect();
    ticks.dedup();
    assert_eq!(ticks.len(), runs.len(), "a tick ran twice: {runs:?}");
    let (first, last) = (ticks[0], ticks[ticks.len() - 1]);
    let missed = (last - first + 1) as usize - ticks.len();
    assert!(missed <= 1, "{missed} ticks missed: {runs:?}");
    // A run cut short by the kill can leave its tick unfinished: the next
    // ticks are `skipped` until B's heartbeat is 3 s old.
    assert!(
        runs.iter().all(|r| r.2 == "ok" || r.2 == "skipped")
            && runs.iter().filter(|r| r.2 == "skipped").count() <= 4,
        "{runs:?}"
    );
    let mut by: Vec<&str> = runs.iter().map(|r| r.1.as_str()).collect();
    by.sort();
    by.dedup();
    assert!(by.len() >= 2, "ran on {by:?} only");
}

#[test]
fn a_second_process_on_one_sqlite_database_is_refused_with_the_first_ones_pid() {
    let dir = tempdir();
    let (first, printed) = spawn_serve(dir.path(), &[], "warn", Stdio::null(), LISTENING);
    assert!(printed_after(&printed, LISTENING).is_some(), "{printed:?}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("PLUGBOARD_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    let mut first = first;
    let _ = first.kill();
    let pid = first.id();
    let _ = first.wait();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by another plugboard process")
            && err.contains(&format!("pid {pid}"))
            && err.contains("PostgreSQL"),
        "{err}"
    );
}
