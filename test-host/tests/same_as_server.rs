//! The test host answers as a server does: the shared case list of the
//! `contract-cases` fixture (`cases.json`; the host's own tests run the
//! same list against a server loading the fixture's library).

use plugboard_test_host::TestHost;
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../dynamic-plugins/fixtures/contract-cases"
);

#[test]
fn every_shared_case_gets_the_servers_answer() {
    let host = TestHost::of::<fixture_contract_cases::ContractCases>()
        .manifest_dir(FIXTURE)
        .start()
        .expect("the fixture starts");
    let list: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURE}/cases.json")).unwrap())
            .unwrap();
    let cases = list["cases"].as_array().unwrap();
    assert!(cases.len() > 30);
    for case in cases {
        let (method, path) = case["request"].as_str().unwrap().split_once(' ').unwrap();
        let call = host.request(method, path);
        let call = match case["as"].as_str().unwrap() {
            "anonymous" => call,
            "ann" => call.as_user("ann"),
            "root" => call.as_admin("root"),
            "token" => call.with_admin_token(),
            other => panic!("unknown caller {other}"),
        };
        let res = call.send();
        let what = format!("{case}: got {} {}", res.status(), res.text());
        assert_eq!(
            res.status() as u64,
            case["status"].as_u64().unwrap(),
            "{what}"
        );
        if let Some(body) = case.get("body") {
            assert_eq!(&res.json::<Value>(), body, "{what}");
        } else {
            assert_eq!(res.error_code().as_deref(), case["code"].as_str(), "{what}");
            let message = res.error_message().unwrap_or_default();
            assert!(
                message.contains(case["message"].as_str().unwrap()),
                "{what}"
            );
        }
    }
}
