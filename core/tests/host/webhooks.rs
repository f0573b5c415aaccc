//! The built-in `webhooks` plugin against a real HTTP receiver on loopback:
//! matching events are POSTed as JSON, failures retried with backoff, every
//! attempt recorded in its own table; on SQLite and PostgreSQL.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{receiver::Receiver, tempdir, Host, Options};

fn deliveries(host: &Host, query: &str) -> Vec<Value> {
    let (status, v) = host.admin(
        "GET",
        &format!("/api/plugins/webhooks/deliveries{query}"),
        None,
    );
    assert_eq!(status, 200, "{v}");
    v["deliveries"].as_array().unwrap().clone()
}

fn wait_for(what: &str, done: impl FnMut() -> bool) {
    crate::support::wait_until(what, Duration::from_secs(30), done)
}

fn configure(host: &Host, config: Value) {
    let (status, v) = host.admin("PUT", "/api/admin/plugins/webhooks/config", Some(config));
    assert_eq!(status, 200, "{v}");
}

fn create_user(host: &Host, name: &str) -> i64 {
    let (status, v) = host.admin("POST", "/api/admin/users", Some(json!({"username": name})));
    assert_eq!(status, 201, "{v}");
    v["id"].as_i64().unwrap()
}

per_database! {
    fn matching_events_are_posted_with_retries_and_every_attempt_is_recorded(db, url) {
    let dir = tempdir();
    let host = Host::start_with(
        dir.path(),
        Options {
            database_url: url,
            ..Default::default()
        },
    );
    // Fails twice, then accepts.
    let receiver = Receiver::start(&[500, 503]);
    configure(
        &host,
        json!({"targets": [{"url": receiver.url, "events": ["user.created"]}],
               "backoff_secs": 1, "max_attempts": 5}),
    );
    create_user(&host, "zoe");
    wait_for("the delivery", || {
        deliveries(&host, "?status=delivered").len() == 1
    });
    let zoe = deliveries(&host, "").pop().unwrap();
    assert_eq!(zoe["event"], "user.created", "{db}");
    assert_eq!(zoe["attempts"], 3, "{db}: {zoe}");
    assert_eq!(zoe["last_status"], 200, "{db}");
    assert!(zoe["last_error"].is_null(), "{db}: {zoe}");

    // Another matching event, and a non-matching one (user.deleted).
    let amy = create_user(&host, "amy");
    let (status, _) = host.admin("DELETE", &format!("/api/admin/users/{amy}"), None);
    assert_eq!(status, 200, "{db}");
    wait_for("the second delivery", || {
        deliveries(&host, "?status=delivered").len() == 2
    });
    assert!(host.runtime.events().drain(Duration::from_secs(10)));
    let all = deliveries(&host, "");
    assert_eq!(all.len(), 2, "{db}: user.deleted did not match: {all:#?}");

    let (_, detail) = host.admin(
        "GET",
        &format!("/api/plugins/webhooks/deliveries/{}", zoe["id"]),
        None,
    );
    let attempts = detail["attempts"].as_array().unwrap();
    let statuses: Vec<i64> = attempts
        .iter()
        .map(|a| a["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![500, 503, 200], "{db}: {detail}");
    assert_eq!(attempts[0]["error"], "HTTP 500", "{db}");
    let gaps: Vec<i64> = attempts
        .windows(2)
        .map(|w| w[1]["at"].as_i64().unwrap() - w[0]["at"].as_i64().unwrap())
        .collect();
    for (i, gap) in gaps.iter().enumerate() {
        let backoff = 1000 << i;
        assert!(
            *gap >= backoff,
            "{db}: retry {i} after {gap} ms, backoff {backoff} ms"
        );
    }

    let got = receiver.received();
    let first = got
        .iter()
        .find(|r| r.body.contains("zoe"))
        .expect("the receiver got zoe's event");
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body["event"], "user.created");
    assert_eq!(body["payload"]["username"], "zoe");
    assert_eq!(body["delivery"], zoe["id"]);
    assert_eq!(first.path, "/hook");
    assert!(first
        .headers
        .iter()
        .any(|(k, v)| k == "x-plugboard-event" && v == "user.created"));
    assert!(first
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v == "application/json"));
    assert_eq!(got.len(), 3 + 1, "{db}: zoe's three tries and amy's one");
    host.stop();
    }
}

#[test]
fn a_target_that_never_answers_fails_after_max_attempts_and_others_still_get_theirs() {
    let dir = tempdir();
    let host = Host::start(dir.path());
    // A port with nothing listening.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/gone", l.local_addr().unwrap())
    };
    let live = Receiver::start(&[]);
    configure(
        &host,
        json!({"targets": [
                  {"url": dead, "events": ["user.*"]},
                  {"url": live.url, "events": ["user.*"]}],
               "backoff_secs": 1, "max_attempts": 2}),
    );
    create_user(&host, "bob");
    wait_for("the dead target to fail", || {
        deliveries(&host, "?status=failed").len() == 1
    });
    let failed = &deliveries(&host, "?status=failed")[0];
    assert_eq!(failed["attempts"], 2);
    assert!(
        failed["last_error"].as_str().unwrap().contains("/gone"),
        "{failed}"
    );
    assert_eq!(deliveries(&host, "?status=delivered").len(), 1);
    assert_eq!(live.received().len(), 1);
}

#[test]
fn a_bad_webhooks_config_is_refused_and_nothing_is_saved() {
    let dir = tempdir();
    let host = Host::start(dir.path());
    let (status, v) = host.admin(
        "PUT",
        "/api/admin/plugins/webhooks/config",
        Some(json!({"targets": [{"url": "ftp://x", "events": []}], "max_attempts": 0})),
    );
    assert_eq!(status, 422, "{v}");
    let paths: Vec<&str> = v["error"]["details"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/targets/0/url"), "{v}");
    assert!(paths.contains(&"/targets/0/events"), "{v}");
    assert!(paths.contains(&"/max_attempts"), "{v}");
    let (_, v) = host.admin("GET", "/api/admin/plugins/webhooks/config", None);
    assert_eq!(v["config"]["targets"], json!([]), "{v}");
}
