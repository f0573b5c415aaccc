//! The plugin on the Plugboard test host (the real host, in-process).

use plugboard_test_host::TestHost;
use serde_json::{json, Value};
use {{lib_name}}::{{struct_name}};

#[test]
fn greets_whoever_calls() {
    // Reads ./plugin.json, enables the plugin, fails with the host's reason.
    let host = TestHost::of::<{{struct_name}}>().start().expect("the plugin starts");
    let res = host.get("/hello").send();
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.json::<Value>(), json!({"hello": "stranger"}));
    let res = host.get("/hello").as_user("ann").send();
    assert_eq!(res.json::<Value>(), json!({"hello": "ann"}));
}
