//! The plugin on the Plugboard test host: the real host's checks (access
//! levels, SQL, capabilities, events), in-process, with a clock for jobs.

use std::time::Duration;

use plugboard_test_host::TestHost;
use serde_json::{json, Value};
use {{lib_name}}::{{struct_name}};

fn host() -> TestHost {
    // Reads ./plugin.json, enables the plugin, fails with the host's reason.
    TestHost::of::<{{struct_name}}>().start().expect("the plugin starts")
}

#[test]
fn signed_in_accounts_write_notes_that_anyone_reads() {
    let host = host();
    let anonymous = host.post("/notes").json(&json!({"body": "hi"})).send();
    assert_eq!(anonymous.status(), 401, "the route's access is `user`");

    let res = host.post("/notes").as_user("ann").json(&json!({"body": "hello"})).send();
    assert_eq!(res.status(), 201, "{}", res.text());
    let empty = host.post("/notes").as_user("ann").json(&json!({"body": " "})).send();
    assert_eq!(empty.status(), 422);

    let list: Value = host.get("/notes").send().json();
    let authors: Vec<&str> = list["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["author"].as_str().unwrap())
        .collect();
    // ann's note, and the welcome note the subscription wrote for her.
    assert_eq!(authors, ["ann", "{{slug}}"]);
    assert_eq!(list["written"], 1);
    assert!(host.events().iter().any(|e| e.name == "plugin.{{slug}}.note_created"));
}

#[test]
fn only_moderators_delete() {
    let host = TestHost::of::<{{struct_name}}>().grant("moderate").start().unwrap();
    host.post("/notes").as_user("ann").json(&json!({"body": "hello"})).send();
    let id = host.query("SELECT id FROM notes WHERE author = 'ann'", &[]).unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    // `user` holds `moderate` here (granted above); anonymous callers do not.
    assert_eq!(host.delete(&format!("/notes/{id}")).send().status(), 401);
    assert_eq!(host.delete(&format!("/notes/{id}")).as_user("ann").send().status(), 204);
    assert_eq!(host.delete(&format!("/notes/{id}")).as_user("ann").send().status(), 404);
}

#[test]
fn the_hourly_job_keeps_the_configured_number_of_notes() {
    let host = TestHost::of::<{{struct_name}}>()
        .config(json!({"max_notes": 2}))
        .start()
        .unwrap();
    for body in ["one", "two", "three"] {
        host.post("/notes").as_user("ann").json(&json!({ "body": body })).send();
    }
    let fired = host.advance(Duration::from_secs(3600)).unwrap();
    assert_eq!(fired.len(), 1);
    let rows = host.query("SELECT body FROM notes ORDER BY id", &[]).unwrap();
    assert_eq!(rows, [json!({"body": "two"}), json!({"body": "three"})]);
}

#[test]
fn configuration_outside_the_schema_is_refused() {
    let host = host();
    assert!(host.set_config(json!({"max_notes": 0})).is_err());
    assert!(host.set_config(json!({"greeting": "Hello"})).is_ok());
}
