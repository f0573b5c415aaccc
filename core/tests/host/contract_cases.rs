//! The shared case list of the `contract-cases` fixture (`cases.json`)
//! against a server loading the fixture's library: the answers the test
//! host (`plugboard-test-host`, whose tests run the same list through the
//! fixture's rlib) must give too.

use serde_json::Value;

use crate::{
    access::account,
    support::{send, stage, tempdir, Host, TOKEN},
};

#[test]
fn every_shared_case_gets_the_listed_answer_from_a_server() {
    let dir = tempdir();
    stage(dir.path(), &["contract-cases"]);
    let host = Host::start(dir.path());
    let (s, v) = host.enable("contract-cases");
    assert_eq!(s, 200, "{v}");
    let ann = account(&host, "ann", "user");
    let root = account(&host, "root", "admin");
    let list: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../dynamic-plugins/fixtures/contract-cases/cases.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let cases = list["cases"].as_array().unwrap();
    assert!(cases.len() > 30);
    let bearer = format!("Bearer {TOKEN}");
    for case in cases {
        let (method, path) = case["request"].as_str().unwrap().split_once(' ').unwrap();
        let headers: Vec<(&str, &str)> = match case["as"].as_str().unwrap() {
            "anonymous" => vec![],
            "ann" => vec![("cookie", &ann.cookie), ("x-csrf-token", &ann.csrf)],
            "root" => vec![("cookie", &root.cookie), ("x-csrf-token", &root.csrf)],
            "token" => vec![("authorization", &bearer)],
            other => panic!("unknown caller {other}"),
        };
        let (status, _, body) = send(
            &host,
            method,
            &format!("/api/plugins/contract-cases{path}"),
            &headers,
            None,
        );
        let what = format!("{case}: got {status} {body}");
        assert_eq!(status as u64, case["status"].as_u64().unwrap(), "{what}");
        if let Some(expected) = case.get("body") {
            assert_eq!(&body, expected, "{what}");
        } else {
            assert_eq!(body["error"]["code"], case["code"], "{what}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(case["message"].as_str().unwrap()),
                "{what}"
            );
        }
    }
}
